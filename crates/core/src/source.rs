//! Where each kernel function the core mirrors (and names in its events,
//! errors and faults) is defined in Linux 6.1: the table the page's links,
//! the plain-text report's footnotes and the findings' code paths use.
//! Checked line by line against Debian's linux-source-6.1 by
//! `crates/cli/tests/source_lines.rs`.
//!
//! Xen's designs run Xen's kimage (xen/common/kimage.c), whose functions
//! share Linux's names but not its lines: their runs link to Xen's tree
//! ([`XEN_TABLE`], [`tables_for`]), checked by the same test when a Xen
//! tree is at hand (`KEXEC_XEN_SOURCE`).

use crate::design::Variant;
use kexec_common::source::{linux as at, xen, SourceRef};

const CORE: &str = "kernel/kexec_core.c";

/// The kernel functions of the kexec core, in the v6.1 tree.
pub static TABLE: &[SourceRef] = &[
    at("kexec_load", "kernel/kexec.c", 228),
    at("do_kexec_load", "kernel/kexec.c", 87),
    at("kimage_alloc_init", "kernel/kexec.c", 22),
    at("sanity_check_segment_list", CORE, 149),
    at("do_kimage_alloc_init", CORE, 255),
    at("kimage_is_destination_range", CORE, 282),
    at("kimage_alloc_pages", CORE, 300),
    at("kimage_free_pages", CORE, 327),
    at("kimage_free_page_list", CORE, 341),
    at("kimage_alloc_normal_control_pages", CORE, 351),
    at("kimage_alloc_control_pages", CORE, 484),
    at("kimage_add_entry", CORE, 535),
    at("kimage_set_destination", CORE, 561),
    at("kimage_add_page", CORE, 573),
    at("kimage_free_extra_pages", CORE, 584),
    at("kimage_terminate", CORE, 594),
    at("for_each_kimage_entry", CORE, 602),
    at("kimage_free_entry", CORE, 607),
    at("kimage_free", CORE, 615),
    at("kimage_dst_used", CORE, 661),
    at("kimage_alloc_page", CORE, 680),
    at("kimage_load_normal_segment", CORE, 776),
    at("kimage_load_segment", CORE, 912),
    at("page_to_boot_pfn", "include/linux/kexec.h", 448),
    at("boot_pfn_to_page", "include/linux/kexec.h", 455),
    at(
        "machine_kexec_prepare",
        "arch/x86/kernel/machine_kexec_32.c",
        135,
    ),
    at(
        "relocate_kernel",
        "arch/x86/kernel/relocate_kernel_32.S",
        40,
    ),
    at("alloc_pages", "include/linux/gfp.h", 269),
    at("kmap_local_page", "include/linux/highmem-internal.h", 71),
    at("kmap_atomic", "include/linux/highmem-internal.h", 108),
    at("page_address", "mm/highmem.c", 741),
    at("clear_highpage", "include/linux/highmem.h", 239),
    at("copy_highpage", "include/linux/highmem.h", 350),
    at("memory_block_offline", "drivers/base/memory.c", 231),
    at("offline_pages", "mm/memory_hotplug.c", 1798),
    at("start_isolate_page_range", "mm/page_isolation.c", 529),
];

const XEN_KIMAGE: &str = "xen/common/kimage.c";

/// Xen's kimage functions the `xen` and `xen-fixed` designs mirror, at
/// [`kexec_common::source::XEN_COMMIT`].
pub static XEN_TABLE: &[SourceRef] = &[
    xen("kimage_alloc_zeroed_page", XEN_KIMAGE, 69),
    xen("do_kimage_alloc", XEN_KIMAGE, 82),
    xen("kimage_alloc_normal_control_page", XEN_KIMAGE, 285),
    xen("kimage_alloc_control_page", XEN_KIMAGE, 413),
    xen("kimage_add_entry", XEN_KIMAGE, 430),
    xen("kimage_terminate", XEN_KIMAGE, 477),
    xen("kimage_free", XEN_KIMAGE, 535),
    xen("kimage_dst_used", XEN_KIMAGE, 547),
    xen("kimage_alloc_page", XEN_KIMAGE, 569),
    xen("kimage_load_normal_segment", XEN_KIMAGE, 666),
    xen("kimage_load_segment", XEN_KIMAGE, 766),
    xen("machine_kexec_add_page", "xen/arch/x86/machine_kexec.c", 34),
    xen("kexec_reloc", "xen/arch/x86/x86_64/kexec_reloc.S", 38),
];

/// The tables whose names a run of `variant` links: Linux's for every
/// design of Linux's code, its patches and what-ifs; Xen's for Xen's.
pub fn tables_for(variant: Variant) -> &'static [&'static [SourceRef]] {
    static LINUX: &[&[SourceRef]] = &[TABLE];
    static XEN: &[&[SourceRef]] = &[XEN_TABLE];
    match variant {
        Variant::Xen | Variant::XenFixed => XEN,
        _ => LINUX,
    }
}

/// The same, by the variant's name (what the page's summaries carry);
/// unknown names get Linux's table.
pub fn tables_for_name(name: &str) -> &'static [&'static [SourceRef]] {
    tables_for(Variant::from_name(name).unwrap_or(Variant::Pointer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_function_once() {
        for t in [TABLE, XEN_TABLE] {
            for (i, r) in t.iter().enumerate() {
                assert!(
                    t[..i].iter().all(|o| o.function != r.function),
                    "{} twice",
                    r.function
                );
            }
        }
    }
}

#[cfg(test)]
mod report_tests {
    use crate::{presets, report, run};

    #[test]
    fn the_text_report_lists_the_functions_it_names() {
        let p = presets::find("bad-enomem").unwrap();
        let runs = run::run(&p.scenario, run::RunOptions::default());
        let t = report::text_with_sources(&p.scenario, &runs);
        assert!(t.starts_with(&report::text(&p.scenario, &runs)));
        assert!(t.contains("\n[1] kexec_load kernel/kexec.c:228\n"), "{t}");
        assert!(t.lines().all(|l| l.len() <= 72), "{t}");
        let x = presets::find("xen-swap-path").unwrap();
        let runs = run::run(&x.scenario, run::RunOptions::default());
        let t = report::text_with_sources(&x.scenario, &runs);
        assert!(
            t.contains("] kimage_dst_used xen/common/kimage.c:547\n"),
            "{t}"
        );
        assert!(!t.contains("Linux 6.1"), "{t}");
    }
}
