//! Xen's kimage with the swap path's entry rewritten as Linux does it.
//!
//! Identical to [`super::xen`] except that kimage_alloc_page, after copying
//! an old source page into the new page, rewrites the SOURCE entry as the
//! new page's address with the old entry's flags, so the entry names the
//! page that now holds the data. The design wraps [`Xen`] and keeps every
//! answer but `swap_entry`, which is the trait's (Linux's) rewrite.

use super::xen::Xen;
use super::{EntryList, Variant};
use crate::arch::ArchProfile;

/// Xen's kimage, Linux's swap-path rewrite.
#[derive(Debug, Clone)]
pub struct XenFixed {
    inner: Xen,
}

impl XenFixed {
    /// A fresh image.
    pub fn new(arch: &'static ArchProfile) -> Self {
        XenFixed {
            inner: Xen::new(arch),
        }
    }
}

impl EntryList for XenFixed {
    fn variant(&self) -> Variant {
        Variant::XenFixed
    }

    crate::delegate_list!(inner;
        indirection_gfp, source_gfp, old_page_check,
        parks_unusable, setup, head_is_page, zero_tail,
    );
}
