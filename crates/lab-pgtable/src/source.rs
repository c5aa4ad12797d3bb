//! Where each kernel function the page-table lab mirrors is defined in Linux 6.1 (Debian's
//! linux-source-6.1): the table the page's links, the findings' code paths
//! and the reports' footnotes use; checked line by line against the real
//! files by `crates/cli/tests/source_lines.rs`. Functions that only a
//! patch or an RFC has (not 6.1) are not listed.

use kexec_common::source::{linux as at, SourceRef};

/// The lab's kernel functions, in the v6.1 tree.
pub static TABLE: &[SourceRef] = &[
    at("ioremap", "arch/x86/mm/ioremap.c", 338),
    at("iounmap", "arch/x86/mm/ioremap.c", 451),
    at("ioremap_page_range", "mm/vmalloc.c", 372),
    at("vmap_range_noflush", "mm/vmalloc.c", 343),
    at("vmap_pmd_range", "mm/vmalloc.c", 182),
    at("vmap_try_huge_pmd", "mm/vmalloc.c", 134),
    at("vunmap_range_noflush", "mm/vmalloc.c", 501),
    at("free_vm_area", "mm/vmalloc.c", 3761),
    at("pmd_set_huge", "arch/x86/mm/pgtable.c", 744),
    at("pud_free_pmd_page", "arch/x86/mm/pgtable.c", 808),
    at("pmd_free_pte_page", "arch/x86/mm/pgtable.c", 853),
    at("flush_tlb_kernel_range", "arch/x86/mm/tlb.c", 1093),
    at("vmalloc_sync_one", "arch/x86/mm/fault.c", 173),
    at("pmd_alloc", "include/linux/mm.h", 2428),
    at("pte_alloc_kernel", "include/linux/mm.h", 2544),
];
