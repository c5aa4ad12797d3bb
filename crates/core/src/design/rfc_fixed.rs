//! The RFC with the minimal fix: KIMAGE_ENTRY_POS_INVALID stands for
//! image->head.
//!
//! Identical to [`super::rfc_posted`] except that kimage_write_entry and
//! kimage_read_entry at the invalid position store into / load from
//! image->head, so the first link and an empty image's IND_DONE land in
//! head, as the pointer-based list puts them. Nothing else changes: the
//! design is the posted RFC's code over a [`super::position::PositionList`]
//! with the fix set, and every answer but its name is the posted RFC's.

use super::rfc_posted::RfcPosted;
use super::{EntryList, Variant};
use crate::arch::ArchProfile;

/// The RFC with the head fix.
#[derive(Debug, Clone)]
pub struct RfcFixed {
    inner: RfcPosted,
}

impl RfcFixed {
    /// A fresh list.
    pub fn new(arch: &'static ArchProfile) -> Self {
        RfcFixed {
            inner: RfcPosted::with_head_fix(arch),
        }
    }
}

impl EntryList for RfcFixed {
    fn variant(&self) -> Variant {
        Variant::RfcFixed
    }

    crate::delegate_list!(inner; indirection_gfp, source_gfp, old_page_check);
}
