//! What-if (Eric Biederman's second option in the 2020 thread): the
//! pointer-based list whose kimage_alloc_page notices an indirection-page
//! request (destination KIMAGE_NO_DEST) and, on the swap path, never hands
//! the old source page back: it does the swap, frees the old page and
//! loops, whatever zone the old page is in. Source-page requests keep
//! Linux's swap path. Not in any kernel.

use super::pointer::Pointer;
use super::{EntryList, Variant};
use crate::arch::ArchProfile;
use crate::entry::KIMAGE_NO_DEST;

/// The pointer-based list that never reuses an old page for indirection.
#[derive(Debug, Clone)]
pub struct SkipReuse {
    inner: Pointer,
}

impl SkipReuse {
    /// A fresh list.
    pub fn new(arch: &'static ArchProfile) -> Self {
        SkipReuse {
            inner: Pointer::new(arch),
        }
    }
}

impl EntryList for SkipReuse {
    fn variant(&self) -> Variant {
        Variant::SkipReuse
    }

    fn swap_skips_reuse(&self, destination: u64) -> bool {
        destination == KIMAGE_NO_DEST
    }

    crate::delegate_list!(inner; indirection_gfp, source_gfp, old_page_check);
}
