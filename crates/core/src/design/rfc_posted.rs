//! Eric Biederman's RFC "kexec: Teach indirect pages how to live in high
//! memory" (May 2020), exactly as posted.
//!
//! Mirrors the posted kimage_add_entry / kimage_terminate /
//! for_each_kimage_entry / kimage_dst_used over [`PositionList`]: every
//! access through kmap_atomic, GFP_HIGHUSER for indirection and source
//! pages alike, no highmem test on the swap path. Its defect: the first
//! kimage_add_entry writes the link at KIMAGE_ENTRY_POS_INVALID (pfn all
//! ones, slot 4094) instead of into image->head, which is never set. The
//! model stops there with a [`super::Fault`].

use super::position::PositionList;
use super::{EntryList, HighmemCheck, Variant};
use crate::arch::ArchProfile;
use crate::gfp::{Gfp, GFP_HIGHUSER};

/// The RFC as posted.
#[derive(Debug, Clone)]
pub struct RfcPosted {
    list: PositionList,
}

impl RfcPosted {
    /// A fresh list.
    pub fn new(arch: &'static ArchProfile) -> Self {
        RfcPosted {
            list: PositionList::new(arch, false),
        }
    }

    /// A fresh list of the RFC's code with the head fix (the invalid
    /// position stands for `image->head`): what [`super::rfc_fixed`] wraps.
    pub(super) fn with_head_fix(arch: &'static ArchProfile) -> Self {
        RfcPosted {
            list: PositionList::new(arch, true),
        }
    }
}

impl EntryList for RfcPosted {
    fn variant(&self) -> Variant {
        Variant::RfcPosted
    }

    fn indirection_gfp(&self) -> Gfp {
        GFP_HIGHUSER
    }

    fn source_gfp(&self) -> Gfp {
        GFP_HIGHUSER
    }

    fn old_page_check(&self) -> Option<HighmemCheck> {
        None
    }

    crate::delegate_list!(list);
}
