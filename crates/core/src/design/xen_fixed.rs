//! Xen's kimage with the swap path's entry rewritten as Linux does it.
//!
//! Identical to [`super::xen`] except that kimage_alloc_page, after copying
//! an old source page into the new page, rewrites the SOURCE entry as the
//! new page's address with the old entry's flags, so the entry names the
//! page that now holds the data.

use super::xen::XenList;
use super::{EntryList, Variant};
use crate::arch::ArchProfile;

/// Xen's kimage, Linux's swap-path rewrite.
#[derive(Debug, Clone)]
pub struct XenFixed {
    list: XenList,
}

impl XenFixed {
    /// A fresh image.
    pub fn new(arch: &'static ArchProfile) -> Self {
        XenFixed {
            list: XenList::new(arch),
        }
    }
}

impl EntryList for XenFixed {
    fn variant(&self) -> Variant {
        Variant::XenFixed
    }

    crate::xen_common!(list);
}
