//! Presets: named kimage scenarios (the swap path, the highmem
//! free-and-retry, the RFC's head fault, long lists and a 1 GiB image, Xen
//! and the what-ifs, segments sanity_check_segment_list rejects), each
//! with its documented outcome, which the tests assert.

use crate::arch::Arch;
use crate::design::Variant;
use crate::page_alloc::Policy;
use crate::scenario::Scenario;

use kexec_common::units::GIB;
use kexec_common::units::MIB;

/// A kimage preset.
pub type Preset = kexec_common::Preset<Scenario>;

use Variant::{
    Dma32, HighmemZone, Pointer, RfcFixed, RfcPosted, SkipReuse, WordLimit, Xen, XenFixed,
};

/// The swap path: the second source page is the first one's destination.
fn swap_path() -> Scenario {
    Scenario::new(
        Arch::I386,
        &[(0, 64 * MIB)],
        &[(0x2000, 0x100_0000, 0x2000)],
        Policy::Replay(vec![0x2000, 0x2001, 0x2002, 0x2003, 0x1000]),
        &[Pointer, RfcFixed],
    )
}

/// Xen's swap path on x86_64: the control code page, the first
/// indirection page (allocated up front), page 0's source, then pfn 0x1000
/// (page 0's destination) for page 1: kimage_dst_used finds page 0's
/// SOURCE entry and the swap path rewrites it. Two more pages past the
/// buffer are IND_ZERO.
fn xen_swap_path() -> Scenario {
    Scenario::new(
        Arch::X86_64,
        &[(0, 64 * MIB)],
        &[(0x2000, 0x100_0000, 0x4000)],
        Policy::Replay(vec![0x2000, 0x2001, 0x2002, 0x1000]),
        &[Xen, XenFixed],
    )
}

/// The second indirection page is asked for when the 1023rd SOURCE entry
/// is added, and the allocator hands out pfn 0x1000, the destination of
/// page 0, whose source 0x3000 is lowmem: pointer reuses 0x3000 as the
/// indirection page, skip-reuse frees it and takes 0x2003.
fn skip_reuse_swap() -> Scenario {
    let mut replay = vec![0x2000, 0x2001, 0x2002];
    replay.extend((0..1023).map(|j| 0x3000 + j));
    replay.extend([0x1000, 0x2003, 0x2004]);
    Scenario::new(
        Arch::I386,
        &[(0, 64 * MIB)],
        &[(0x3ff000, 0x100_0000, 0x3ff000)],
        Policy::Replay(replay),
        &[Pointer, SkipReuse],
    )
}

/// 1023 pages at 16 MiB: the SOURCE entry of the last page needs a second
/// indirection page, and that request is handed destination 0x1000000,
/// whose source (pfn 0x40000) is highmem.
fn highmem_retry() -> Scenario {
    let mut replay = vec![0x2000, 0x2001, 0x2002];
    replay.extend((0..1023).map(|j| 0x40000 + j));
    replay.extend([0x1000, 0x2003]);
    Scenario::new(
        Arch::I386,
        &[(0, 2 * GIB)],
        &[(0x3ff000, 0x100_0000, 0x3ff000)],
        Policy::Replay(replay),
        &[Pointer, RfcFixed],
    )
}

/// The replay runs out when the last SOURCE entry needs a second
/// indirection page: -ENOMEM, and the source page already allocated leaks.
fn enomem() -> Scenario {
    let mut replay = vec![0x2000, 0x2001, 0x2002];
    replay.extend((0..1023).map(|j| 0x2003 + j));
    Scenario::new(
        Arch::I386,
        &[(0, 64 * MIB)],
        &[(0x3ff000, 0x100_0000, 0x3ff000)],
        Policy::Replay(replay),
        &[Pointer, RfcFixed],
    )
}

/// Every preset, in picker order.
pub fn all() -> Vec<Preset> {
    let rfc = Scenario::new(
        Arch::I386Pae,
        &[(0, 8 * GIB)],
        &[
            (4_718_592, 0x100_0000, 4_718_592),
            (20_000_000, 0x400_0000, 20_013_056),
        ],
        Policy::Random(7),
        &[Pointer, RfcPosted],
    );
    let mut movable = Scenario::new(
        Arch::I386,
        &[(0, 2 * GIB)],
        &[
            (3 * MIB, 0x100_0000, 3 * MIB),
            (40 * MIB, 0x400_0000, 40 * MIB),
        ],
        Policy::Adversarial(3),
        &[Pointer, HighmemZone],
    );
    movable.movable = vec![(256 * MIB, 512 * MIB)];
    // Joonsoo Kim's plan put CMA areas, possibly in lowmem, into
    // ZONE_MOVABLE; with source pages that may use them, the swapped-out
    // old page can be a lowmem ZONE_MOVABLE page, where the two tests
    // disagree.
    let mut cma = Scenario::new(
        Arch::I386,
        &[(0, 2 * GIB)],
        &[(1100 * 4096, 0x400_0000, 1100 * 4096)],
        Policy::Adversarial(3),
        &[Pointer, HighmemZone],
    );
    cma.movable = vec![(256 * MIB, 512 * MIB)];
    cma.source_movable = true;
    let many: Vec<(u64, u64, u64)> = (0..16)
        .map(|i| (0x2000 + 100 * i, 0x100_0000 + i * MIB, 0x3000))
        .collect();
    let mut word = rfc.clone();
    word.variants = vec![RfcFixed, WordLimit];
    let mut xen_long = Scenario::new(
        Arch::X86_64,
        &[(0, 2 * GIB)],
        &[(1000 * 4096 + 100, 0x10_0000, 1100 * 4096)],
        Policy::LowestFirst,
        &[RfcFixed, XenFixed],
    );
    xen_long.policy = Policy::Random(7);
    vec![
        Preset {
            name: "rfc-i386-pae",
            title: "RFC on 32-bit PAE, 8 GiB",
            expect: "rfc-posted faults in its first kimage_add_entry (the link is written at KIMAGE_ENTRY_POS_INVALID); pointer and rfc-fixed load and relocate fine",
            scenario: rfc,
        },
        Preset {
            name: "swap-path",
            title: "swap path in kimage_alloc_page",
            expect: "the second source page is pfn 0x1000, the first page's destination: kimage_dst_used finds the first SOURCE entry, the data moves to pfn 0x1000, the entry becomes 0x01000008 and the old page 0x2003 serves page 1; both designs relocate fine",
            scenario: swap_path(),
        },
        Preset {
            name: "highmem-retry",
            title: "highmem free-and-retry on the swap path",
            expect: "the second indirection page is asked when the 1023rd source entry is added; the allocator hands out 0x1000, destination of page 0, whose source 0x40000 is highmem: pointer frees it and takes 0x2003, rfc-fixed uses 0x40000 as its indirection page; both relocate fine, the lists differ",
            scenario: highmem_retry(),
        },
        Preset {
            name: "long-list",
            title: "a list longer than one indirection page",
            expect: "1101 entries on x86_64 (511 per page) need 3 indirection pages; both designs build the same list and relocate fine",
            scenario: Scenario::new(
                Arch::X86_64,
                &[(0, 2 * GIB)],
                &[(1000 * 4096 + 100, 0x10_0000, 1100 * 4096)],
                Policy::LowestFirst,
                &[Pointer, RfcFixed],
            ),
        },
        Preset {
            name: "highmem-vs-zone",
            title: "PageHighMem vs PageHighMemZone",
            expect: "256-512 MiB is lowmem in ZONE_MOVABLE, where PageHighMem (no direct map) and PageHighMemZone disagree; the swapped-out old page is a GFP_HIGHUSER source page, which never comes from ZONE_MOVABLE, so both checks give the same answer and the lists are identical",
            scenario: movable,
        },
        Preset {
            name: "highmem-vs-zone-cma",
            title: "PageHighMem vs PageHighMemZone, CMA what-if",
            expect: "what-if (not in any kernel): source pages asked with GFP_HIGHUSER_MOVABLE on the machine with lowmem ZONE_MOVABLE at 256-512 MiB; when the second indirection page is asked, the swap path hands back a lowmem ZONE_MOVABLE old page: pointer (PageHighMem, no direct map) takes it, highmem-zone (PageHighMemZone) frees it and retries, so the lists differ; both relocate fine",
            scenario: cma,
        },
        Preset {
            name: "many-small-segments",
            title: "many small segments",
            expect: "16 segments (KEXEC_SEGMENT_MAX) of 3 pages each, partly filled: loads and relocates with the tails zeroed",
            scenario: Scenario::new(Arch::X86_64, &[(0, 4 * GIB)], &many, Policy::Random(11), &[Pointer, RfcFixed]),
        },
        Preset {
            name: "huge-initrd",
            title: "huge initrd: 1 GiB on 8 GiB PAE, adversarial",
            expect: "a 16 MiB kernel at 16 MiB and a 1008 MiB initrd at 1 GiB (262,144 source pages) with the adversarial allocator: many dest_pages, swaps and unusable pages, and kimage_dst_used walks costing billions of entry reads; pointer and rfc-fixed relocate fine",
            scenario: Scenario::new(
                Arch::I386Pae,
                &[(0, 8 * GIB)],
                &[(16 * MIB, 0x100_0000, 16 * MIB), (GIB - 16 * MIB, 0x4000_0000, GIB - 16 * MIB)],
                Policy::Adversarial(1),
                &[Pointer, RfcFixed],
            ),
        },
        Preset {
            name: "past-end-of-ram",
            title: "segment past the end of RAM",
            expect: "a destination at 128 MiB on a 64 MiB machine loads fine (nothing checks it is RAM) and fails in relocation",
            scenario: Scenario::new(Arch::I386, &[(0, 64 * MIB)], &[(0x4000, 0x800_0000, 0x4000)], Policy::LowestFirst, &[Pointer, RfcFixed]),
        },
        Preset {
            name: "bad-wrap",
            title: "bad segment: mem + memsz wraps",
            expect: "-EADDRNOTAVAIL: 0xfffff000 + 0x2000 wraps past 4 GiB (sanity_check_segment_list rule 1)",
            scenario: Scenario::new(Arch::I386, &[(0, 64 * MIB)], &[(0x1000, 0xffff_f000, 0x2000)], Policy::LowestFirst, &[Pointer, RfcFixed]),
        },
        Preset {
            name: "bad-unaligned",
            title: "bad segment: not page aligned",
            expect: "-EADDRNOTAVAIL: mem 0x1000800 is not page aligned (rule 2)",
            scenario: Scenario::new(Arch::I386, &[(0, 64 * MIB)], &[(0x1000, 0x100_0800, 0x1000)], Policy::LowestFirst, &[Pointer, RfcFixed]),
        },
        Preset {
            name: "bad-limit",
            title: "bad segment: beyond KEXEC_DESTINATION_MEMORY_LIMIT",
            expect: "-EADDRNOTAVAIL: the segment ends at 2^46, not below MAXMEM - 1 (rule 3)",
            scenario: Scenario::new(
                Arch::X86_64,
                &[(0, 4 * GIB)],
                &[(0x1000, (1 << 46) - 0x1000, 0x1000)],
                Policy::LowestFirst,
                &[Pointer, RfcFixed],
            ),
        },
        Preset {
            name: "bad-overlap",
            title: "bad segments: overlapping",
            expect: "-EINVAL: segment 1 overlaps segment 0 (rule 4)",
            scenario: Scenario::new(
                Arch::I386,
                &[(0, 64 * MIB)],
                &[(0x2000, 0x100_0000, 0x2000), (0x1000, 0x100_1000, 0x1000)],
                Policy::LowestFirst,
                &[Pointer, RfcFixed],
            ),
        },
        Preset {
            name: "bad-bufsz",
            title: "bad segment: bufsz > memsz",
            expect: "-EINVAL: bufsz 0x2000 is larger than memsz 0x1000 (rule 5)",
            scenario: Scenario::new(Arch::I386, &[(0, 64 * MIB)], &[(0x2000, 0x100_0000, 0x1000)], Policy::LowestFirst, &[Pointer, RfcFixed]),
        },
        Preset {
            name: "bad-half-ram",
            title: "bad segment: more than half of RAM",
            expect: "-EINVAL: 40 MiB is more than half of a 64 MiB machine's totalram_pages (rule 6)",
            scenario: Scenario::new(Arch::I386, &[(0, 64 * MIB)], &[(0x1000, 0x100_0000, 40 * MIB)], Policy::LowestFirst, &[Pointer, RfcFixed]),
        },
        Preset {
            name: "bad-too-many",
            title: "bad: 17 segments",
            expect: "-EINVAL: kexec_load refuses more than KEXEC_SEGMENT_MAX (16) segments",
            scenario: Scenario::new(
                Arch::I386,
                &[(0, 64 * MIB)],
                &(0..17).map(|i| (0x1000, 0x100_0000 + i * 0x1000, 0x1000)).collect::<Vec<_>>(),
                Policy::LowestFirst,
                &[Pointer, RfcFixed],
            ),
        },
        Preset {
            name: "xen-swap-path",
            title: "Xen swap path (x86_64)",
            expect: "the second source page is pfn 0x1000, page 0's destination: Xen rewrites page 0's SOURCE entry as 0x0000000000000008 (IND_SOURCE, address 0): kexec_reloc copies from address 0, which its page tables do not map (FAIL), and kimage_free would free machine page 0; xen-fixed writes 0x1000008 and relocates fine; both lists start at head's page and end in two IND_ZERO entries",
            scenario: xen_swap_path(),
        },
        Preset {
            name: "xen-long-list",
            title: "Xen next to the RFC on the same segments",
            expect: "1000 pages of buffer in a 1100-page destination: rfc-fixed loads 1100 source pages, xen-fixed 1001 source pages and 99 IND_ZERO entries, its first indirection page allocated up front as a control page; both relocate fine",
            scenario: xen_long,
        },
        Preset {
            name: "skip-reuse-swap",
            title: "skip-reuse: the swap path on an indirection request",
            expect: "the second indirection page is asked for and the allocator hands out pfn 0x1000, destination of page 0: pointer reuses the old source page 0x3000 as its indirection page, skip-reuse frees it (reuse frees 1) and takes 0x2003; both relocate fine, the lists differ",
            scenario: skip_reuse_swap(),
        },
        Preset {
            name: "dma32-i386-2g",
            title: "DMA32 on a 2 GiB i386 box",
            expect: "a 900 MiB image: pointer takes highmem source pages and loads; dma32 asks GFP_DMA32, which on i386 (no ZONE_DMA32) means lowmem only, and gets -ENOMEM when lowmem runs out",
            scenario: Scenario::new(
                Arch::I386,
                &[(0, 2 * GIB)],
                &[(900 * MIB, 0x100_0000, 900 * MIB)],
                Policy::HighestFirst,
                &[Pointer, Dma32],
            ),
        },
        Preset {
            name: "word-limit-rfc",
            title: "word-limit on the RFC box (8 GiB PAE)",
            expect: "rfc-fixed parks every page above 4 GiB on unusable_pages; word-limit allocates below 4 GiB only (highmem included), so nothing is parked; both relocate fine",
            scenario: word,
        },
        Preset {
            name: "rfc-arm-lpae",
            title: "RFC on ARM LPAE, 8 GiB",
            expect: "ARM32 LPAE with RAM at 0x80000000 crossing 4 GiB: rfc-posted faults in its first kimage_add_entry as on i386 PAE; pointer parks pages above 0xffffffff on unusable_pages and relocates fine",
            scenario: Scenario::new(
                Arch::ArmLpae,
                &[(0x8000_0000, 0x8000_0000 + 8 * GIB)],
                &[(16 * MIB, 0x8100_0000, 16 * MIB), (64 * MIB, 0x8400_0000, 64 * MIB)],
                Policy::Adversarial(5),
                &[Pointer, RfcPosted],
            ),
        },
        Preset {
            name: "real-8g-pae",
            title: "real 8 GiB PAE box (a capture's machine)",
            expect: "a 5.7 MB kernel loaded as on the captured Debian 686-pae box, with the buddy allocator calibrated on it: every GFP_HIGHUSER source request is first handed a page above 4 GiB, 1024-page blocks from the top down, and all 1,310,720 of them are parked on unusable_pages (as on the real box) before highmem below 4 GiB serves the load from 0xbf800 up, as the real list does; kernel requests start at the bottom of ZONE_NORMAL, where the model holds no running kernel, so pointer's first indirection page search meets the 16 MiB segment's destinations (1402 dest_pages; the real kernel sits there); both designs load and relocate fine",
            scenario: real_8g_pae(),
        },
        Preset {
            name: "bad-enomem",
            title: "ENOMEM while adding an entry",
            expect: "-ENOMEM: the replay list runs out when the last SOURCE entry needs a second indirection page; kimage_free releases the rest, but the source page just allocated leaks (unload: LEAK 1 page)",
            scenario: enomem(),
        },
    ]
}

/// The real 8 GiB PAE box of `tests/real-kernel/plain-8g` (Debian's
/// 686-pae 6.1 under QEMU): its RAM map (/proc/iomem's System RAM), its
/// lowmem line (max_low_pfn 0x36ffe), the five segments kexec-tools
/// loaded a 5.7 MB kernel with, and the `buddy` allocator, calibrated on
/// that capture. `kexec-sim import` of the capture gives the exact order.
fn real_8g_pae() -> Scenario {
    let mut sc = Scenario::new(
        Arch::I386Pae,
        &[
            (0x1000, 0x9_f000),
            (0x10_0000, 0xbffd_d000),
            (0x1_0000_0000, 0x2_4000_0000),
        ],
        &[
            (20590, 0x3000, 0x6000),
            (48, 0x10_0000, 0x1000),
            (5_740_480, 0x100_0000, 0x57_a000),
            (911, 0x7fff_7000, 0x1000),
            (24704, 0x7fff_8000, 0x8000),
        ],
        Policy::Buddy,
        &[Pointer, RfcFixed],
    );
    sc.lowmem_end = Some(0x36ff_e000);
    sc
}

/// The preset called `name`.
pub fn find(name: &str) -> Option<Preset> {
    kexec_common::preset::find(all(), name)
}

/// Every preset's name.
pub fn names() -> Vec<&'static str> {
    all().iter().map(|p| p.name).collect()
}
