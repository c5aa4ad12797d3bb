//! What-if (the allocation Eric Biederman asked for in 2020: "memory whose
//! physical address fits in the native word size"): the RFC's
//! position-based list (fixed, so head works), with indirection and source
//! pages from GFP_HIGHUSER restricted to addresses below the word limit.
//! On 32-bit that is any page below 4 GiB, highmem included, so nothing
//! is ever parked on unusable_pages; on x86_64 it is all memory. Not in
//! any kernel: the limit is a model-only gfp bit
//! ([`crate::gfp::GFP_WORD_LIMIT_BIT`]).

use super::rfc_fixed::RfcFixed;
use super::{EntryList, HighmemCheck, Variant};
use crate::arch::ArchProfile;
use crate::gfp::{Gfp, GFP_HIGHUSER, GFP_WORD_LIMIT_BIT};

/// The RFC's list with pages below the native word limit.
#[derive(Debug, Clone)]
pub struct WordLimit {
    inner: RfcFixed,
}

impl WordLimit {
    /// A fresh list.
    pub fn new(arch: &'static ArchProfile) -> Self {
        WordLimit {
            inner: RfcFixed::new(arch),
        }
    }
}

impl EntryList for WordLimit {
    fn variant(&self) -> Variant {
        Variant::WordLimit
    }

    fn indirection_gfp(&self) -> Gfp {
        Gfp(GFP_HIGHUSER.0 | GFP_WORD_LIMIT_BIT)
    }

    fn source_gfp(&self) -> Gfp {
        Gfp(GFP_HIGHUSER.0 | GFP_WORD_LIMIT_BIT)
    }

    fn old_page_check(&self) -> Option<HighmemCheck> {
        None
    }

    crate::delegate_list!(inner);
}
