//! What-if (argued in the 2020 thread): the pointer-based list with every
//! indirection and source page asked with GFP_DMA32. On x86_64 that is
//! ZONE_DMA32 and below (under 4 GiB); on i386 there is no ZONE_DMA32 and
//! the bit degrades to ZONE_NORMAL, so it means lowmem only: a large image
//! runs out of lowmem and gets -ENOMEM. Not in any kernel.

use super::pointer::Pointer;
use super::{EntryList, Variant};
use crate::arch::ArchProfile;
use crate::gfp::{Gfp, GFP_DMA32};

/// The pointer-based list, all pages GFP_DMA32.
#[derive(Debug, Clone)]
pub struct Dma32 {
    inner: Pointer,
}

impl Dma32 {
    /// A fresh list.
    pub fn new(arch: &'static ArchProfile) -> Self {
        Dma32 {
            inner: Pointer::new(arch),
        }
    }
}

impl EntryList for Dma32 {
    fn variant(&self) -> Variant {
        Variant::Dma32
    }

    fn indirection_gfp(&self) -> Gfp {
        GFP_DMA32
    }

    fn source_gfp(&self) -> Gfp {
        GFP_DMA32
    }

    crate::delegate_list!(inner; old_page_check);
}
