//! Property tests of kexec_file placement (kernel/kexec_file.c, 6.1 and
//! every other placement variant: the later top-down fix, bottom-up, the
//! reverse walk), and of what kexec_file_load does next: the placed
//! segments meet kernel/kexec_core.c `sanity_check_segment_list`, whose
//! rules are the kexec core's.

use kexec_common::units::MIB;
use kexec_common::Num;
use kexec_core::arch::Arch;
use kexec_core::kimage::Segment;
use kexec_core::sanity::{sanity_check_segment_list, ImageType, RuleSet};
use kexec_lab_placement::placement::{kexec_add_buffer, KexecBuf, Placed, SystemRam};
use kexec_lab_placement::{
    run, BuffersSpec, ExtraSpec, LoadError, Mode, PlacementFile, PlacementScenario, RamSpec,
    ReservedSpec, ALL_PLACE_VARIANTS,
};
use proptest::prelude::*;

fn machine() -> impl Strategy<Value = Vec<SystemRam>> {
    // Sorted, disjoint, page-aligned ranges above page 0 (x86 never reports
    // page 0 as System RAM), some driver-managed.
    prop::collection::vec((1u64..64, 1u64..4096, any::<bool>()), 1..6).prop_map(|parts| {
        let mut at = 0x1000u64;
        parts
            .into_iter()
            .map(|(gap, pages, dm)| {
                let start = at + gap * 0x10_0000;
                let end = start + pages * 0x1000 * 64 - 1;
                at = end + 1;
                SystemRam {
                    start,
                    end,
                    driver_managed: dm && pages % 3 == 0,
                }
            })
            .collect()
    })
}

fn buffer() -> impl Strategy<Value = KexecBuf> {
    (
        1u64..8192,
        12u32..24,
        0u64..0x400_0000,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(pages, shift, min, top, capped)| {
            let memsz = pages * 0x100 + 1; // unaligned on purpose: kexec_add_buffer rounds it
            KexecBuf {
                name: "b".into(),
                memsz,
                buf_min: min,
                buf_max: if capped {
                    min + 0x1000_0000 + memsz
                } else {
                    u64::MAX
                },
                align: 1 << shift,
                top_down: top,
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn placed_buffers_fit(ram in machine(), bufs in prop::collection::vec(buffer(), 1..8), variant in prop::sample::select(ALL_PLACE_VARIANTS.to_vec())) {
        let search = variant.search();
        let mut segs: Vec<Placed> = Vec::new();
        for b in &bufs {
            let before = segs.clone();
            let Ok(mem) = kexec_add_buffer(&ram, &mut segs, b, search) else {
                prop_assert_eq!(&segs, &before, "a failed add places nothing");
                continue;
            };
            let memsz = b.memsz.div_ceil(0x1000) * 0x1000;
            let last = mem + memsz - 1;
            prop_assert!(ram.iter().any(|r| !r.driver_managed && r.start <= mem && last <= r.end),
                "inside one usable System RAM range: {mem:#x}-{last:#x}");
            prop_assert!(mem >= b.buf_min && last <= b.buf_max);
            prop_assert_eq!(mem % b.align.max(0x1000), 0);
            prop_assert!(before.iter().all(|s| last < s.mem || mem >= s.mem + s.memsz), "no overlap");
        }
    }
}

/// A small machine (an optional low range below 640 KiB, then ranges from
/// 1 MiB up), a normal or kdump load with a kernel that may be more than
/// half of RAM, and extra buffers whose buf_max may be below their memsz
/// (the top-down underflow).
fn scenario() -> impl Strategy<Value = PlacementFile> {
    let ranges = prop::collection::vec((0u64..64, 1u64..512, any::<bool>()), 1..4);
    let extra = prop::collection::vec((1u64..32, 0u64..0x40, any::<bool>(), any::<bool>()), 0..3);
    let variants = (0usize..4, 1usize..4);
    (
        any::<bool>(),
        ranges,
        1u64..96,
        0u64..48,
        extra,
        any::<bool>(),
        variants,
    )
        .prop_map(|(low, ranges, kernel, initrd, extra, kdump, (a, d))| {
            let mut ram = Vec::new();
            if low {
                ram.push(ram_spec(0x1000, 0xA_0000, false));
            }
            let mut at = MIB;
            for (gap, mib, hot) in ranges {
                let start = at + gap * MIB;
                at = start + mib * MIB;
                ram.push(ram_spec(start, at, hot));
            }
            let extra = extra
                .into_iter()
                .enumerate()
                .map(|(i, (pages, max_pages, top_down, capped))| ExtraSpec {
                    name: format!("extra{i}"),
                    memsz: Num(pages * 0x1000),
                    align: Num(0x1000),
                    buf_min: Num(0),
                    buf_max: capped.then_some(Num(max_pages * 0x1000 + 0xfff)),
                    top_down,
                })
                .collect();
            let names: Vec<String> = [a, (a + d) % 4]
                .iter()
                .map(|&i| ALL_PLACE_VARIANTS[i].name().to_string())
                .collect();
            PlacementFile {
                version: 1,
                kind: "placement".into(),
                arch: "x86_64".into(),
                ram,
                reserved: vec![ReservedSpec {
                    start: Num(0),
                    end: Num(MIB),
                    what: String::new(),
                }],
                movable_node: true,
                crashkernel: kdump.then(|| "64M".to_string()),
                crashkernel_low: None,
                mode: if kdump { "kdump" } else { "normal" }.into(),
                buffers: BuffersSpec {
                    purgatory: Num(0x5000),
                    purgatory_align: Num(0x1000),
                    boot_params: Num(0x3000),
                    kernel: Num(kernel * MIB),
                    kernel_align: Num(2 * MIB),
                    initrd: Num(initrd * MIB),
                    elf_headers: Num(0x1000),
                    extra,
                },
                memory_block_size: None,
                variants: names,
            }
        })
}

fn ram_spec(start: u64, end: u64, hotpluggable: bool) -> RamSpec {
    RamSpec {
        start: Num(start),
        end: Num(end),
        node: u32::from(hotpluggable),
        hotpluggable,
        driver_managed: false,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// Every load the lab reports as placed passes the kexec core's
    /// sanity_check_segment_list (the rules kexec_load also runs), on
    /// segments made here from the placements; every load it refuses
    /// there is refused by that check with the same rule and segment, and
    /// still shows all its placements.
    #[test]
    fn placed_loads_pass_the_shared_sanity_check(f in scenario()) {
        let Ok(sc) = PlacementScenario::from_file(&f) else {
            return Ok(());
        };
        let r = run(&sc);
        let image = match (sc.mode, r.crash.as_ref().and_then(|c| c.crash)) {
            (Mode::Normal, _) => ImageType::Normal,
            (Mode::Kdump, Some((s, e))) => ImageType::Crash { start: s, end: e - 1 },
            (Mode::Kdump, None) => ImageType::Crash { start: 0, end: 0 },
        };
        let boot: u64 = sc.ram.iter().map(|x| (x.end - x.start) / 0x1000).sum();
        prop_assert!(r.totalram.pages() <= boot);
        for v in &r.results {
            let segs: Vec<Segment> = v
                .placed
                .iter()
                .zip(&sc.buffers)
                .map(|(p, b)| Segment { bufsz: b.memsz, mem: p.mem, memsz: p.memsz })
                .collect();
            let shared = sanity_check_segment_list(
                &segs,
                image,
                Arch::X86_64.profile(),
                r.totalram.pages(),
                RuleSet::Linux,
            );
            match &v.error {
                None => {
                    prop_assert_eq!(v.placed.len(), sc.buffers.len());
                    prop_assert_eq!(shared, Ok(()), "{} placed a load the kernel refuses", v.variant.name());
                }
                Some(LoadError::Sanity { refusal, .. }) => {
                    prop_assert_eq!(v.placed.len(), sc.buffers.len(), "placements still shown");
                    prop_assert_eq!(shared, Err(*refusal));
                }
                Some(LoadError::Placement(_)) => {
                    prop_assert!(v.placed.len() < sc.buffers.len());
                }
            }
        }
    }
}
