//! Xen's kimage and the thread's what-ifs: hand-worked entry lists, each
//! new preset's documented verdict, IND_ZERO in the relocation check, and
//! the arch/variant combinations.

use kexec_core::arch::{Arch, PAGE_SIZE};
use kexec_core::design::Variant;
use kexec_core::errno::Errno;
use kexec_core::kimage::Stop;
use kexec_core::page_alloc::Policy;
use kexec_core::presets;
use kexec_core::relocate::Relocation;
use kexec_core::report;
use kexec_core::run::{run_variant, Outcome, RunOptions, Unload, VariantRun};
use kexec_core::scenario::Scenario;
use proptest::prelude::*;

const OPTS: RunOptions = RunOptions {
    relocate: true,
    unload: true,
    trace: false,
    first_step: false,
};

fn x86_64(ram_end: u64, segments: &[(u64, u64, u64)], policy: Policy) -> Scenario {
    Scenario::new(
        Arch::X86_64,
        &[(0, ram_end)],
        segments,
        policy,
        &[Variant::Xen, Variant::XenFixed],
    )
}

fn lines(r: &VariantRun) -> Vec<String> {
    report::entries(r).lines().map(str::to_string).collect()
}

fn preset_runs(name: &str) -> Vec<VariantRun> {
    let sc = presets::find(name).unwrap().scenario;
    sc.variants
        .iter()
        .map(|&v| run_variant(&sc, v, OPTS))
        .collect()
}

#[test]
fn xen_first_page_up_front_and_an_ind_zero_tail() {
    // Control code page 0x2000 (below 4 GiB), the first indirection page
    // 0x2001 (head = its bare address), one source page for the one page
    // of buffer, two IND_ZERO entries for the rest of the destination.
    let sc = x86_64(
        64 << 20,
        &[(0x1000, 0x10_0000, 0x3000)],
        Policy::Replay(vec![0x2000, 0x2001, 0x2002]),
    );
    for v in [Variant::Xen, Variant::XenFixed] {
        let r = run_variant(&sc, v, OPTS);
        assert_eq!(
            r.kimage.head(),
            0x200_1000,
            "no IND_INDIRECTION bit in head"
        );
        assert_eq!(r.kimage.control_code_page, Some(0x2000));
        assert_eq!(r.kimage.swap_page, None, "Xen has no swap page");
        assert_eq!(
            lines(&r),
            [
                "0x0000000000100001",
                "0x0000000002002008",
                "0x0000000000000010",
                "0x0000000000000010",
                "0x0000000000000004",
            ]
        );
        assert_eq!(r.kimage.counters.zero_entries, 2);
        assert_eq!(r.kimage.counters.source_pages, 1);
        assert_eq!(
            r.relocation,
            Some(Relocation::Ok { copies: 1 }),
            "IND_ZERO clears the page"
        );
        assert!(
            matches!(r.unload, Some(Unload::Ok { .. })),
            "{:?}",
            r.unload
        );
    }
}

#[test]
fn xen_second_indirection_page() {
    // 511 source pages: slot 0 DEST, slots 1..510 the first 510 SOURCE
    // entries, slot 511 the link to 0x2002, whose slot 0 holds the last
    // SOURCE entry and slot 1 IND_DONE.
    let mut replay = vec![0x2000, 0x2001];
    replay.extend((0..511).map(|j| 0x3000 + j));
    replay.push(0x2002);
    let sc = x86_64(
        64 << 20,
        &[(511 * PAGE_SIZE, 0x10_0000, 511 * PAGE_SIZE)],
        Policy::Replay(replay),
    );
    let r = run_variant(&sc, Variant::XenFixed, OPTS);
    let l = lines(&r);
    assert_eq!(l.len(), 1 + 510 + 1 + 1 + 1);
    assert_eq!(l[0], "0x0000000000100001");
    assert_eq!(l[510], "0x00000000031fd008");
    assert_eq!(l[511], "0x0000000002002002");
    assert_eq!(l[512], "0x00000000031fe008");
    assert_eq!(l[513], "0x0000000000000004");
    assert_eq!(r.kimage.counters.indirection_pages, 2);
    assert_eq!(r.relocation, Some(Relocation::Ok { copies: 511 }));
}

#[test]
fn xen_swap_path_preset() {
    let rs = preset_runs("xen-swap-path");
    let (xen, fixed) = (&rs[0], &rs[1]);
    assert_eq!(xen.kimage.counters.swaps, 1);
    // Xen keeps only the in-page bits: IND_SOURCE at machine address 0.
    assert_eq!(
        lines(xen),
        [
            "0x0000000001000001",
            "0x0000000000000008",
            "0x0000000002002008",
            "0x0000000000000010",
            "0x0000000000000010",
            "0x0000000000000004",
        ]
    );
    match &xen.relocation {
        Some(Relocation::Fail(m)) => {
            assert!(
                m.contains("source 0x0") && m.contains("page fault in the stub"),
                "{m}"
            )
        }
        other => panic!("{other:?}"),
    }
    assert!(
        matches!(&xen.unload, Some(Unload::Fault(f)) if f.contains("kimage_free")),
        "{:?}",
        xen.unload
    );
    assert_eq!(lines(fixed)[1], "0x0000000001000008");
    assert_eq!(fixed.relocation, Some(Relocation::Ok { copies: 2 }));
    assert_eq!(fixed.exit_status(), 0);
}

#[test]
fn xen_long_list_next_to_the_rfc() {
    let rs = preset_runs("xen-long-list");
    let (rfc, xen) = (&rs[0], &rs[1]);
    assert_eq!(rfc.kimage.counters.source_pages, 1100);
    assert_eq!(xen.kimage.counters.source_pages, 1001);
    assert_eq!(xen.kimage.counters.zero_entries, 99);
    assert_eq!(rfc.relocation, Some(Relocation::Ok { copies: 1100 }));
    assert_eq!(xen.relocation, Some(Relocation::Ok { copies: 1001 }));
}

#[test]
fn skip_reuse_swap_preset() {
    let rs = preset_runs("skip-reuse-swap");
    let (p, s) = (&rs[0], &rs[1]);
    assert_eq!(p.kimage.counters.reuse_frees, 0);
    assert_eq!(s.kimage.counters.reuse_frees, 1);
    // pointer's second indirection page is the old source page 0x3000;
    // skip-reuse's is 0x2003.
    assert!(
        lines(p).contains(&"0x03000002".to_string()),
        "{:?}",
        &lines(p)[1020..]
    );
    assert!(lines(s).contains(&"0x02003002".to_string()));
    for r in &rs {
        assert_eq!(
            r.relocation,
            Some(Relocation::Ok { copies: 1023 }),
            "{}",
            r.variant
        );
        assert!(matches!(r.unload, Some(Unload::Ok { .. })));
    }
}

#[test]
fn dma32_runs_out_of_lowmem() {
    let rs = preset_runs("dma32-i386-2g");
    assert_eq!(rs[0].relocation, Some(Relocation::Ok { copies: 900 * 256 }));
    assert!(rs[0].kimage.counters.highmem_held > 0);
    match &rs[1].outcome {
        Outcome::Stopped(Stop::Errno { errno, .. }) => assert_eq!(*errno, Errno::ENOMEM),
        o => panic!("{o:?}"),
    }
    assert_eq!(
        rs[1].kimage.counters.kmap_highmem, 0,
        "GFP_DMA32 never reaches highmem on i386"
    );
}

#[test]
fn word_limit_parks_nothing() {
    let rs = preset_runs("word-limit-rfc");
    assert!(rs[0].kimage.counters.unusable_pages > 0);
    assert_eq!(rs[1].kimage.counters.unusable_pages, 0);
    for r in &rs {
        assert!(
            matches!(r.relocation, Some(Relocation::Ok { .. })),
            "{}: {:?}",
            r.variant,
            r.relocation
        );
    }
}

#[test]
fn rfc_on_arm_lpae() {
    let rs = preset_runs("rfc-arm-lpae");
    assert!(matches!(rs[0].relocation, Some(Relocation::Ok { .. })));
    assert!(
        rs[0].kimage.counters.unusable_pages > 0,
        "pages above 0xffffffff"
    );
    assert!(
        matches!(rs[1].outcome, Outcome::Stopped(Stop::Fault(ref f)) if f.function == "kimage_add_entry")
    );
}

#[test]
fn xen_on_i386_is_refused_with_the_valid_combinations() {
    let mut f = presets::find("swap-path").unwrap().scenario.to_file();
    f.variants = vec!["pointer".into(), "xen".into()];
    let e = Scenario::from_file(&f).unwrap_err();
    assert_eq!(e.field, "variants[1]");
    assert!(e.message.contains("runs on x86_64 only"), "{e}");
    assert!(
        e.message
            .contains("on i386 the variants are pointer, highmem-zone"),
        "{e}"
    );
    f.arch = "arm-lpae".into();
    f.ram = vec![];
    assert!(Scenario::from_file(&f).is_err());
    let goal = kexec_core::explore::Goal::parse("differ:pointer,xen").unwrap();
    assert!(goal.check_arch(Arch::I386Pae).is_err());
    assert!(goal.check_arch(Arch::X86_64).is_ok());
}

#[test]
fn old_links_keep_their_meaning() {
    // A file without the new fields is the same scenario as before.
    for p in presets::all() {
        let f = p.scenario.to_file();
        assert_eq!(Scenario::from_file(&f).unwrap(), p.scenario, "{}", p.name);
    }
}

fn segments() -> impl Strategy<Value = Vec<(u64, u64, u64)>> {
    prop::collection::vec((1u64..40, 0u64..40, 0u64..4096), 1..4).prop_map(|v| {
        let mut at = 0x100_0000;
        v.into_iter()
            .map(|(pages, gap, cut)| {
                let memsz = pages * PAGE_SIZE;
                let mem = at + gap * PAGE_SIZE;
                at = mem + memsz;
                (memsz.saturating_sub(cut), mem, memsz)
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// xen-fixed and pointer leave the same bytes at every destination
    /// (both relocation checks pass on the same segments and allocator).
    #[test]
    fn xen_fixed_and_pointer_relocate_alike(segs in segments(), seed in 0u64..1000, adversarial in any::<bool>()) {
        let policy = if adversarial { Policy::Adversarial(seed) } else { Policy::Random(seed) };
        let sc = x86_64(64 << 20, &segs, policy);
        let p = run_variant(&sc, Variant::Pointer, OPTS);
        let x = run_variant(&sc, Variant::XenFixed, OPTS);
        prop_assert!(matches!(p.relocation, Some(Relocation::Ok { .. })), "pointer: {}", p.verdict());
        prop_assert!(matches!(x.relocation, Some(Relocation::Ok { .. })), "xen-fixed: {}", x.verdict());
        prop_assert!(matches!(x.unload, Some(Unload::Ok { .. })), "xen-fixed: {:?}", x.unload);
    }
}

#[test]
fn the_explorer_finds_xens_swap_path() {
    use kexec_core::explore::{candidate, search_range, shrink, Goal};
    let base = presets::find("long-list").unwrap().scenario;
    let goal = Goal::parse("verdict:xen,xen-fixed").unwrap();
    goal.check_arch(base.arch).unwrap();
    let i = search_range(&base, &goal, 1, 0..2000).expect("a swap within 2000 candidates");
    let small = shrink(&goal, &candidate(&base, &goal, 1, i));
    assert!(goal.holds(&small));
    let xen = run_variant(&small, Variant::Xen, OPTS);
    assert!(xen.kimage.counters.swaps > 0);
    assert!(matches!(xen.relocation, Some(Relocation::Fail(_))));
}

#[test]
fn xen_loses_a_segment_error_and_terminates() {
    // The replay runs out at segment 0's second page: Xen's
    // kimage_load_segment drops the -ENOMEM, segment 1 fails the same way,
    // and the list is terminated: loaded, and relocation finds the hole.
    let sc = x86_64(
        64 << 20,
        &[(0x2000, 0x10_0000, 0x2000), (0x1000, 0x20_0000, 0x1000)],
        Policy::Replay(vec![0x2000, 0x2001, 0x2002]),
    );
    let r = run_variant(&sc, Variant::Xen, OPTS);
    assert_eq!(r.outcome, Outcome::Loaded, "{}", r.verdict());
    assert_eq!(r.kimage.ignored.len(), 2, "{:?}", r.kimage.ignored);
    assert!(r.kimage.ignored[0].contains("machine_kexec_add_page"));
    assert!(matches!(r.relocation, Some(Relocation::Fail(_))));
}

#[test]
fn xen_frees_the_control_page_when_the_first_page_fails() {
    let sc = x86_64(
        64 << 20,
        &[(0x1000, 0x10_0000, 0x1000)],
        Policy::Replay(vec![0x2000]),
    );
    let r = run_variant(&sc, Variant::Xen, OPTS);
    assert!(matches!(
        r.outcome,
        Outcome::Stopped(Stop::Errno {
            errno: Errno::ENOMEM,
            ..
        })
    ));
    assert!(
        matches!(r.unload, Some(Unload::Ok { .. })),
        "{:?}",
        r.unload
    );
}

#[test]
fn xen_maps_a_page_once_per_walk() {
    // One kmap per entry stored (kimage_add_entry maps the current page),
    // none for the link's new page, one per page for each walk.
    let sc = x86_64(
        64 << 20,
        &[(0x1000, 0x10_0000, 0x3000)],
        Policy::Replay(vec![0x2000, 0x2001, 0x2002]),
    );
    let r = run_variant(
        &sc,
        Variant::Xen,
        RunOptions {
            relocate: false,
            unload: false,
            trace: false,
            first_step: false,
        },
    );
    // DEST, SOURCE, 2 ZERO, DONE: 5 stores; the source page's copy maps it
    // once; the entries() walk maps the one page once.
    assert_eq!(r.kimage.counters.kmap, 5 + 1 + 1);
}
