//! Sections and their memmap: the geometry every strategy shares.
//!
//! x86_64 with SPARSEMEM_VMEMMAP as 6.1 has it: 128 MiB sections
//! (`SECTION_SIZE_BITS` 27, arch/x86/include/asm/sparsemem.h), a 64-byte
//! `struct page`, the virtual memmap at `VMEMMAP_START` without KASLR
//! (4-level paging), so one section's memmap is 2 MiB: one PMD mapping
//! made by arch/x86/mm/init_64.c `vmemmap_populate_hugepages`, and one
//! PMD table (a page-table page) maps 1 GiB of vmemmap. Mirrors
//! include/asm-generic/memory_model.h (`pfn_to_page`, `page_to_pfn` with
//! SPARSEMEM_VMEMMAP) and mm/memory_hotplug.c
//! `mhp_supports_memmap_on_memory`, whose conditions
//! [`memmap_on_memory_rules`] lists one by one.
//!
//! Deviation: the pageblock order is fixed at 9 (CONFIG_HUGETLB_PAGE);
//! without it the kernel's order is 10 and 128 MiB blocks would not be
//! eligible for memmap_on_memory.

use kexec_common::text::size_exact as size_text;
use kexec_common::units::{PAGE_SIZE, PMD_SIZE};

/// SECTION_SIZE_BITS on x86_64.
pub const SECTION_SIZE_BITS: u32 = 27;
/// A memory section: 128 MiB.
pub const SECTION_SIZE: u64 = 1 << SECTION_SIZE_BITS;
/// PAGES_PER_SECTION: 32768.
pub const PAGES_PER_SECTION: u64 = SECTION_SIZE / PAGE_SIZE;
/// sizeof(struct page) in the standard configurations.
pub const STRUCT_PAGE_SIZE: u64 = 64;
/// VMEMMAP_START without KASLR (4-level paging).
pub const VMEMMAP_BASE: u64 = 0xffff_ea00_0000_0000;
/// Pages of memmap per section: 32768 × 64 B = 2 MiB = 512 pages.
pub const MEMMAP_PAGES_PER_SECTION: u64 = PAGES_PER_SECTION * STRUCT_PAGE_SIZE / PAGE_SIZE;
/// pageblock_nr_pages (order 9).
pub const PAGEBLOCK_NR_PAGES: u64 = 512;
/// Virtual bytes of vmemmap one PMD table maps (512 × 2 MiB).
pub(crate) const PMD_TABLE_SPAN: u64 = 512 * PMD_SIZE;

/// The address of the struct page of `pfn` (`pfn_to_page`).
pub fn pfn_to_page(pfn: u64) -> u64 {
    VMEMMAP_BASE + STRUCT_PAGE_SIZE * pfn
}

/// The pfn a struct page address describes (`page_to_pfn`).
pub fn page_to_pfn(va: u64) -> u64 {
    (va - VMEMMAP_BASE) / STRUCT_PAGE_SIZE
}

/// The section whose memmap holds the struct page at `va`.
pub(crate) fn section_of_va(va: u64) -> u64 {
    page_to_pfn(va) / PAGES_PER_SECTION
}

/// The vmemmap PMD table (index = its 1 GiB of vmemmap) that maps the
/// memmap of section `nr`.
pub(crate) fn pmd_table_of_section(nr: u64) -> u64 {
    nr * PMD_SIZE / PMD_TABLE_SPAN
}

/// The PMD tables boot memory's memmap fills: `[0, boot_pmd_tables)`.
pub(crate) fn boot_pmd_tables(boot_mem_end: u64) -> u64 {
    (boot_mem_end.div_ceil(SECTION_SIZE) * PMD_SIZE).div_ceil(PMD_TABLE_SPAN)
}

/// One of `mhp_supports_memmap_on_memory`'s conditions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The condition.
    pub rule: &'static str,
    /// Whether it holds.
    pub holds: bool,
    /// The numbers.
    pub detail: String,
}

/// `mhp_supports_memmap_on_memory(size)` condition by condition: the
/// feature is on, the range is exactly one memory block, its memmap spans
/// whole PMDs, and what is left covers whole pageblocks.
pub fn memmap_on_memory_rules(enabled: bool, size: u64, block_size: u64) -> [Rule; 4] {
    let nr_vmemmap_pages = size / PAGE_SIZE;
    let vmemmap_size = nr_vmemmap_pages * STRUCT_PAGE_SIZE;
    let remaining = size.saturating_sub(vmemmap_size);
    let pageblock = PAGEBLOCK_NR_PAGES * PAGE_SIZE;
    [
        Rule {
            rule: "memory_hotplug.memmap_on_memory is on",
            holds: enabled,
            detail: if enabled { "on" } else { "off" }.into(),
        },
        Rule {
            rule: "size == memory_block_size_bytes()",
            holds: size == block_size,
            detail: format!("{} vs block {}", size_text(size), size_text(block_size)),
        },
        Rule {
            rule: "memmap size is a multiple of PMD_SIZE",
            holds: vmemmap_size & (PMD_SIZE - 1) == 0,
            detail: format!("{} memmap", size_text(vmemmap_size)),
        },
        Rule {
            rule: "the rest is a multiple of the pageblock size",
            holds: remaining & (pageblock - 1) == 0,
            detail: format!("{} left", size_text(remaining)),
        },
    ]
}

/// `mhp_supports_memmap_on_memory`.
pub fn mhp_supports_memmap_on_memory(enabled: bool, size: u64, block_size: u64) -> bool {
    memmap_on_memory_rules(enabled, size, block_size)
        .iter()
        .all(|r| r.holds)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kexec_common::units::{GIB, MIB};

    #[test]
    fn eligibility_rules() {
        let r = memmap_on_memory_rules(true, 128 * MIB, 128 * MIB);
        assert!(r.iter().all(|x| x.holds));
        assert!(mhp_supports_memmap_on_memory(true, 2 * GIB, 2 * GIB));
        assert!(!mhp_supports_memmap_on_memory(false, 128 * MIB, 128 * MIB));
        let r = memmap_on_memory_rules(true, 10 * GIB, 128 * MIB);
        assert_eq!(r.iter().filter(|x| !x.holds).count(), 1);
        assert!(!r[1].holds);
        // A size whose memmap is not whole PMDs (64 MiB → 1 MiB of memmap).
        let r = memmap_on_memory_rules(true, 64 * MIB, 64 * MIB);
        assert!(!r[2].holds);
        // 192 MiB: 3 MiB of memmap, not whole PMDs, and 189 MiB left is not
        // whole pageblocks.
        let r = memmap_on_memory_rules(true, 192 * MIB, 192 * MIB);
        assert!(!r[2].holds && !r[3].holds);
    }

    #[test]
    fn struct_page_addresses() {
        assert_eq!(pfn_to_page(0x100000), 0xffff_ea00_0400_0000);
        assert_eq!(page_to_pfn(0xffff_ea00_0400_8000), 0x100200);
        assert_eq!(section_of_va(pfn_to_page(0x100200)), 0x20);
        assert_eq!(MEMMAP_PAGES_PER_SECTION, 512);
        assert_eq!(boot_pmd_tables(4 * GIB), 1);
        assert_eq!(boot_pmd_tables(64 * GIB), 1);
        assert_eq!(pmd_table_of_section(511), 0);
        assert_eq!(pmd_table_of_section(512), 1);
    }
}
