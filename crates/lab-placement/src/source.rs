//! Where each kernel function the placement lab mirrors is defined in Linux 6.1 (Debian's
//! linux-source-6.1): the table the page's links, the findings' code paths
//! and the reports' footnotes use; checked line by line against the real
//! files by `crates/cli/tests/source_lines.rs`. Functions that only a
//! patch or an RFC has (not 6.1) are not listed.

use kexec_common::source::{linux as at, SourceRef};

/// The lab's kernel functions, in the v6.1 tree.
pub static TABLE: &[SourceRef] = &[
    at("kexec_file_load", "kernel/kexec_file.c", 325),
    at("kexec_add_buffer", "kernel/kexec_file.c", 630),
    at("kexec_locate_mem_hole", "kernel/kexec_file.c", 604),
    at("kexec_walk_resources", "kernel/kexec_file.c", 584),
    at("kexec_walk_memblock", "kernel/kexec_file.c", 519),
    at("locate_mem_hole_callback", "kernel/kexec_file.c", 491),
    at("locate_mem_hole_top_down", "kernel/kexec_file.c", 419),
    at("locate_mem_hole_bottom_up", "kernel/kexec_file.c", 457),
    at("walk_system_ram_res", "kernel/resource.c", 439),
    at("insert_resource", "kernel/resource.c", 902),
    at("setup_arch", "arch/x86/kernel/setup.c", 860),
    at("reserve_crashkernel", "arch/x86/kernel/setup.c", 549),
    at("memblock_phys_alloc_range", "mm/memblock.c", 1442),
    at("memblock_find_in_range_node", "mm/memblock.c", 288),
    at("__memblock_find_range_top_down", "mm/memblock.c", 250),
    at("probe_memory_block_size", "arch/x86/mm/init_64.c", 1473),
];
