//! `struct vmem_altmap`: memory that donates the pages of its own memmap.
//!
//! Mirrors include/linux/memremap.h (the struct), mm/sparse-vmemmap.c
//! (`vmem_altmap_next_pfn`, `vmem_altmap_nr_free`,
//! `altmap_alloc_block_buf`) and mm/memremap.c (`vmem_altmap_offset`,
//! `vmem_altmap_free`) as 6.1 has them. The 2018 RFC's additions to the
//! struct (`nr_sects` and the `flush_alloc_pfns` callback) live with the
//! RFC's strategy in [`crate::strategy::rfc_2018`].

use kexec_common::units::PAGE_SIZE;

/// `struct vmem_altmap`. All counts are in pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VmemAltmap {
    /// First pfn of the donating range.
    pub base_pfn: u64,
    /// One past the last pfn of the donating range (0 when unset, as in
    /// memory hotplug's altmap).
    pub end_pfn: u64,
    /// Pages at the start that must not be handed out.
    pub reserve: u64,
    /// Pages available for the memmap.
    pub free: u64,
    /// Pages skipped so far to align requests.
    pub align: u64,
    /// Pages handed out so far.
    pub alloc: u64,
}

impl VmemAltmap {
    /// The altmap `add_memory_resource` builds for a range of `nr_pages`
    /// pages at `base_pfn`: everything free, nothing reserved, `end_pfn`
    /// left 0 as 6.1 leaves it (the 2018 struct had no `end_pfn`).
    pub fn new(base_pfn: u64, nr_pages: u64) -> VmemAltmap {
        VmemAltmap {
            base_pfn,
            end_pfn: 0,
            reserve: 0,
            free: nr_pages,
            align: 0,
            alloc: 0,
        }
    }

    /// `vmem_altmap_next_pfn`: base + reserve + alloc + align.
    pub fn next_pfn(&self) -> u64 {
        self.base_pfn + self.reserve + self.alloc + self.align
    }

    /// `vmem_altmap_nr_free`: free − (alloc + align), never below zero.
    pub fn nr_free(&self) -> u64 {
        self.free.saturating_sub(self.alloc + self.align)
    }

    /// `altmap_alloc_block_buf`: hand out `size` bytes as whole pages,
    /// aligned to the lowest set bit of the page count; the first pfn, or
    /// `None` when the size is not a page multiple or does not fit (x86's
    /// `vmemmap_populate_hugepages` then fails with -ENOMEM: no fallback).
    ///
    /// Deviation: a zero-byte request is refused here; the kernel never
    /// makes one (its alignment would be `1 << BITS_PER_LONG`).
    pub fn alloc_block_buf(&mut self, size: u64) -> Option<u64> {
        if size & (PAGE_SIZE - 1) != 0 || size == 0 {
            return None;
        }
        let pfn = self.next_pfn();
        let nr_pfns = size / PAGE_SIZE;
        let align_to = 1u64 << nr_pfns.trailing_zeros();
        let nr_align = pfn.next_multiple_of(align_to) - pfn;
        if nr_pfns + nr_align > self.nr_free() {
            return None;
        }
        self.alloc += nr_pfns;
        self.align += nr_align;
        Some(pfn + nr_align)
    }

    /// `vmem_altmap_free`: only the counter goes down; no page is touched.
    /// (The kernel's subtraction would wrap below zero; the model stops at
    /// zero.)
    pub fn free_pages(&mut self, nr_pfns: u64) {
        self.alloc = self.alloc.saturating_sub(nr_pfns);
    }

    /// `vmem_altmap_offset`: pfns from the base where `pfn_to_page` is
    /// valid, reserve + free.
    pub fn offset(&self) -> u64 {
        self.reserve + self.free
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequential_pmd_chunks_from_the_start() {
        let mut a = VmemAltmap::new(0x100000, 32768);
        assert_eq!(a.next_pfn(), 0x100000);
        assert_eq!(a.alloc_block_buf(2 << 20), Some(0x100000));
        assert_eq!(a.alloc_block_buf(2 << 20), Some(0x100200));
        assert_eq!((a.alloc, a.align, a.nr_free()), (1024, 0, 31744));
        assert_eq!(a.next_pfn(), 0x100400);
        assert_eq!(a.offset(), 32768);
    }

    #[test]
    fn alignment_is_the_lowest_set_bit_of_the_request() {
        let mut a = VmemAltmap::new(0x100001, 4096);
        // 512 pages: aligned to 512, so 511 pages are skipped.
        assert_eq!(a.alloc_block_buf(512 * PAGE_SIZE), Some(0x100200));
        assert_eq!((a.alloc, a.align), (512, 511));
        // 3 pages: lowest set bit 1, no alignment.
        assert_eq!(a.alloc_block_buf(3 * PAGE_SIZE), Some(0x100400));
        assert_eq!(a.align, 511);
        // 12 pages: lowest set bit 4; next pfn 0x100403 → 0x100404.
        assert_eq!(a.alloc_block_buf(12 * PAGE_SIZE), Some(0x100404));
        assert_eq!(a.align, 512);
    }

    #[test]
    fn refusals() {
        let mut a = VmemAltmap::new(0, 1024);
        assert_eq!(a.alloc_block_buf(100), None);
        assert_eq!(a.alloc_block_buf(0), None);
        assert_eq!(a.alloc_block_buf(8 << 20), None, "2048 pages do not fit");
        assert_eq!(a.alloc_block_buf(2 << 20), Some(0));
        assert_eq!(a.alloc_block_buf(2 << 20), Some(512));
        assert_eq!(a.alloc_block_buf(PAGE_SIZE), None, "full");
        a.free_pages(512);
        assert_eq!(a.alloc, 512);
        a.free_pages(4096);
        assert_eq!(a.alloc, 0);
    }
}
