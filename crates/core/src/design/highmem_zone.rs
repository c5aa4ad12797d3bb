//! The pointer-based list with the swap path's test made zone-based.
//!
//! Mirrors Joonsoo Kim's "[PATCH v2 03/10] kexec: separate PageHighMem() and
//! PageHighMemZone() use case": kimage_alloc_page frees a swapped-out old
//! page when the caller's gfp lacks __GFP_HIGHMEM and `PageHighMemZone(old)`
//! (its zone is ZONE_HIGHMEM, or ZONE_MOVABLE carved from it) rather than
//! when it has no direct mapping. Everything else is [`Pointer`].

use super::pointer::Pointer;
use super::{EntryList, HighmemCheck, Variant};
use crate::arch::ArchProfile;

/// The pointer-based list with the PageHighMemZone test.
#[derive(Debug, Clone)]
pub struct HighmemZone {
    inner: Pointer,
}

impl HighmemZone {
    /// A fresh list.
    pub fn new(arch: &'static ArchProfile) -> Self {
        HighmemZone {
            inner: Pointer::new(arch),
        }
    }
}

impl EntryList for HighmemZone {
    fn variant(&self) -> Variant {
        Variant::HighmemZone
    }

    fn old_page_check(&self) -> Option<HighmemCheck> {
        Some(HighmemCheck::PageHighMemZone)
    }

    crate::delegate_list!(inner; indirection_gfp, source_gfp);
}
