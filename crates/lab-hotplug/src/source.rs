//! Where each kernel function the hotplug lab mirrors is defined in Linux 6.1 (Debian's
//! linux-source-6.1): the table the page's links, the findings' code paths
//! and the reports' footnotes use; checked line by line against the real
//! files by `crates/cli/tests/source_lines.rs`. Functions that only a
//! patch or an RFC has (not 6.1) are not listed.

use kexec_common::source::{linux as at, SourceRef};

/// The lab's kernel functions, in the v6.1 tree.
pub static TABLE: &[SourceRef] = &[
    at("add_memory_resource", "mm/memory_hotplug.c", 1320),
    at("register_memory_resource", "mm/memory_hotplug.c", 187),
    at("check_hotplug_memory_range", "mm/memory_hotplug.c", 1257),
    at("mhp_supports_memmap_on_memory", "mm/memory_hotplug.c", 1276),
    at("mhp_init_memmap_on_memory", "mm/memory_hotplug.c", 1026),
    at("offline_and_remove_memory", "mm/memory_hotplug.c", 2231),
    at("try_remove_memory", "mm/memory_hotplug.c", 2068),
    at("__remove_pages", "mm/memory_hotplug.c", 518),
    at("add_pages", "arch/x86/mm/init_64.c", 968),
    at("arch_remove_memory", "arch/x86/mm/init_64.c", 1290),
    at("remove_pagetable", "arch/x86/mm/init_64.c", 1250),
    at("vmemmap_free", "arch/x86/mm/init_64.c", 1272),
    at("free_pagetable", "arch/x86/mm/init_64.c", 1007),
    at("free_hugepage_table", "arch/x86/mm/init_64.c", 1027),
    at("free_pte_table", "arch/x86/mm/init_64.c", 1036),
    at("free_pmd_table", "arch/x86/mm/init_64.c", 1054),
    at("remove_pmd_table", "arch/x86/mm/init_64.c", 1134),
    at("set_memory_block_size_order", "arch/x86/mm/init_64.c", 1462),
    at("probe_memory_block_size", "arch/x86/mm/init_64.c", 1473),
    at("memory_block_size_bytes", "arch/x86/mm/init_64.c", 1510),
    at("vmemmap_populate_hugepages", "arch/x86/mm/init_64.c", 1526),
    at("vmemmap_alloc_block", "mm/sparse-vmemmap.c", 49),
    at("section_activate", "mm/sparse.c", 829),
    at("section_deactivate", "mm/sparse.c", 780),
    at("sparse_remove_section", "mm/sparse.c", 926),
    at("depopulate_section_memmap", "mm/sparse.c", 639),
    at("fill_subsection_map", "mm/sparse.c", 682),
    at("vmem_altmap_free", "mm/memremap.c", 433),
    at("remove_memory_block_devices", "drivers/base/memory.c", 864),
    at("page_ref_dec_and_test", "include/linux/page_ref.h", 208),
];
