//! Every preset's documented outcome (its `expect` text), under all four
//! designs where that means something, with the relocation and unload checks.

use kexec_core::design::{Variant, KERNEL_VARIANTS as ALL_VARIANTS};
use kexec_core::entry::{decode, EntryKind};
use kexec_core::errno::Errno;
use kexec_core::kimage::Stop;
use kexec_core::link;
use kexec_core::presets::{self, Preset};
use kexec_core::relocate::Relocation;
use kexec_core::report;
use kexec_core::run::{run, run_variant, Outcome, RunOptions, Unload, VariantRun};
use kexec_core::scenario::Scenario;

const OPTS: RunOptions = RunOptions {
    relocate: true,
    unload: true,
    trace: false,
    first_step: false,
};

fn preset(name: &str) -> Preset {
    presets::find(name).unwrap_or_else(|| panic!("no preset {name}"))
}

/// The preset's scenario run under `variants`.
fn runs(name: &str, variants: &[Variant]) -> Vec<VariantRun> {
    let sc = preset(name).scenario;
    variants
        .iter()
        .map(|&v| run_variant(&sc, v, OPTS))
        .collect()
}

fn lines(r: &VariantRun) -> Vec<String> {
    report::entries(r).lines().map(str::to_string).collect()
}

/// Loaded, relocated fine with `copies` pages, unloaded with nothing left.
fn assert_good(r: &VariantRun, copies: u64) {
    assert_eq!(r.outcome, Outcome::Loaded, "{}: {}", r.variant, r.verdict());
    assert_eq!(
        r.relocation,
        Some(Relocation::Ok { copies }),
        "{}: {}",
        r.variant,
        r.verdict()
    );
    assert!(
        matches!(r.unload, Some(Unload::Ok { .. })),
        "{}: {:?}",
        r.variant,
        r.unload
    );
    assert_eq!(r.end_word, 4, "{}: the walk ends on IND_DONE", r.variant);
    assert_eq!(r.exit_status(), 0);
}

/// rfc-posted's first kimage_add_entry writes the link at
/// KIMAGE_ENTRY_POS_INVALID ((unsigned long)-2: pfn all ones, slot 4094):
/// a fault, exit status 3; kimage_free never runs, so every page handed out
/// so far (control, swap, the new indirection page, and any unusable pages
/// filed on the way) is still held. Returns the leak count.
fn assert_rfc_posted_fault(r: &VariantRun, word_bits: u32) -> u64 {
    assert_eq!(r.variant, Variant::RfcPosted);
    match &r.outcome {
        Outcome::Stopped(Stop::Fault(f)) => {
            assert_eq!(f.function, "kimage_add_entry");
            let invalid_pfn = if word_bits == 64 {
                (u64::MAX - 1) >> 12
            } else {
                0xffff_fffe >> 12
            };
            assert_eq!(f.pfn, Some(invalid_pfn));
            assert!(
                f.reason.contains("KIMAGE_ENTRY_POS_INVALID"),
                "{}",
                f.reason
            );
            assert!(f.reason.contains("slot 4094"), "{}", f.reason);
        }
        o => panic!("rfc-posted: expected a fault, got {o:?}"),
    }
    assert_eq!(r.exit_status(), 3);
    assert_eq!(r.relocation, None);
    assert!(report::entries(r).starts_with("fault: kimage_add_entry: "));
    assert_eq!(r.kimage.head(), 0, "image->head is never set");
    match &r.unload {
        Some(Unload::Leak { pages, detail }) => {
            assert!(detail.contains("kimage_free never runs"), "{detail}");
            *pages
        }
        u => panic!("rfc-posted: expected a leak, got {u:?}"),
    }
}

/// A kernel errno from every design, exit status 2, and nothing left held.
fn assert_errno(name: &str, errno: Errno, reason_has: &str) {
    for r in runs(name, &ALL_VARIANTS) {
        match &r.outcome {
            Outcome::Stopped(Stop::Errno { errno: e, reason }) => {
                assert_eq!(*e, errno, "{name} {}", r.variant);
                assert!(reason.contains(reason_has), "{name}: {reason}");
            }
            o => panic!("{name} {}: expected {errno}, got {o:?}", r.variant),
        }
        assert_eq!(r.errno(), Some(errno));
        assert_eq!(r.exit_status(), 2);
        assert_eq!(report::entries(&r), format!("error: {}\n", errno.name()));
        assert_eq!(r.relocation, None);
        // Nothing was allocated: the check comes before kimage_alloc_init's
        // control pages.
        assert_eq!(r.kimage.alloc_calls(), 0, "{name} {}", r.variant);
        assert_eq!(r.unload, Some(Unload::Ok { freed: 0 }), "{name}");
    }
}

fn count(r: &VariantRun, f: impl Fn(EntryKind) -> bool) -> usize {
    r.entries.iter().filter(|(_, e)| f(decode(*e))).count()
}

#[test]
fn rfc_i386_pae() {
    let p = preset("rfc-i386-pae");
    assert_eq!(
        p.scenario.variants,
        vec![Variant::Pointer, Variant::RfcPosted]
    );
    let rs = runs("rfc-i386-pae", &ALL_VARIANTS);
    // 4718592 / 4096 = 1152 and 20013056 / 4096 = 4886 source pages.
    let copies = 1152 + 4886;
    for r in rs.iter().filter(|r| r.variant != Variant::RfcPosted) {
        assert_good(r, copies);
        // 2 DESTINATION + 6038 SOURCE = 6040 data entries: ceil(6040 / 1023)
        // = 6 indirection pages, so head + 6040 + 5 links.
        assert_eq!(r.entries.len(), 1 + 6040 + 5);
        assert_eq!(r.kimage.counters.indirection_pages, 6);
        // 8 GiB: the random allocator hands out pages above 4 GiB, which are
        // filed on unusable_pages.
        assert!(r.kimage.counters.unusable_pages > 0);
        // No entry names an address at or above 4 GiB.
        assert!(r.entries.iter().all(|(_, e)| e <= 0xffff_ffff));
    }
    let leak = assert_rfc_posted_fault(&rs[2], 32);
    assert!(leak >= 3, "control, swap, indirection: {leak}");
    // pointer and highmem-zone share the allocator stream and checks here.
    assert_eq!(rs[0].entries, rs[1].entries);
}

#[test]
fn swap_path() {
    let rs = runs("swap-path", &ALL_VARIANTS);
    let want = [
        "0x02002002", // head -> indirection page 0x2002
        "0x01000001", // DESTINATION 16 MiB
        "0x01000008", // page 0: rewritten to its own destination by the swap
        "0x02003008", // page 1: the old page 0x2003
        "0x00000004",
    ];
    for r in rs.iter().filter(|r| r.variant != Variant::RfcPosted) {
        assert_good(r, 2);
        assert_eq!(lines(r), want, "{}", r.variant);
        assert_eq!(r.kimage.counters.swaps, 1);
        assert_eq!(r.kimage.alloc_calls(), 5);
    }
    assert_eq!(assert_rfc_posted_fault(&rs[2], 32), 3);
}

#[test]
fn highmem_retry() {
    let rs = runs("highmem-retry", &ALL_VARIANTS);
    for r in rs.iter().filter(|r| r.variant != Variant::RfcPosted) {
        assert_good(r, 1023);
        let l = lines(r);
        assert_eq!(l.len(), 1027);
        assert_eq!(l[2], "0x01000008", "page 0's entry after the swap");
        assert_eq!(r.kimage.counters.swaps, 1);
    }
    let (p, z, f) = (&rs[0], &rs[1], &rs[3]);
    // Line 1024 is the link in slot 1023 of the first page.
    assert_eq!(
        lines(p)[1024],
        "0x02003002",
        "pointer frees 0x40000, takes 0x2003"
    );
    assert_eq!(lines(z)[1024], "0x02003002", "PageHighMemZone agrees");
    assert_eq!(lines(f)[1024], "0x40000002", "rfc-fixed keeps 0x40000");
    assert_eq!(p.kimage.counters.highmem_frees, 1);
    assert_eq!(z.kimage.counters.highmem_frees, 1);
    assert_eq!(f.kimage.counters.highmem_frees, 0);
    let (lp, lf) = (lines(p), lines(f));
    let differ: Vec<usize> = (0..lp.len()).filter(|&i| lp[i] != lf[i]).collect();
    assert_eq!(differ, vec![1024]);
    assert_eq!(assert_rfc_posted_fault(&rs[2], 32), 3);
}

#[test]
fn long_list() {
    let rs = runs("long-list", &ALL_VARIANTS);
    for r in rs.iter().filter(|r| r.variant != Variant::RfcPosted) {
        assert_good(r, 1100);
        // 1 DESTINATION + 1100 SOURCE = 1101 entries, 511 per page: 3 pages.
        assert_eq!(r.kimage.counters.indirection_pages, 3);
        assert_eq!(r.entries.len(), 1 + 1101 + 2);
        assert_eq!(count(r, |k| matches!(k, EntryKind::Source(_))), 1100);
        // lowest-first: control block 0x1000-0x1001, swap 0x1002, first
        // indirection page 0x1003, 510 sources, the 511th source 0x1202,
        // then the second indirection page 0x1203; likewise 0x1403.
        assert_eq!(lines(r)[0], "0x0000000001003002");
        assert_eq!(r.entries.words()[512], 0x1203002);
        assert_eq!(r.entries.words()[1024], 0x1403002);
    }
    assert_eq!(rs[0].entries, rs[3].entries, "same list");
    assert_eq!(assert_rfc_posted_fault(&rs[2], 64), 4);
}

#[test]
fn highmem_vs_zone() {
    let p = preset("highmem-vs-zone");
    assert_eq!(
        p.scenario.variants,
        vec![Variant::Pointer, Variant::HighmemZone]
    );
    assert_eq!(p.scenario.movable, vec![(256 << 20, 512 << 20)]);
    let rs = runs("highmem-vs-zone", &ALL_VARIANTS);
    // 3 MiB + 40 MiB = 768 + 10240 source pages.
    for r in rs.iter().filter(|r| r.variant != Variant::RfcPosted) {
        assert_good(r, 768 + 10240);
        // The adversarial allocator drives the swap path.
        assert!(r.kimage.counters.swaps > 0);
        // No source page comes from ZONE_MOVABLE (GFP_HIGHUSER lacks
        // __GFP_MOVABLE).
        for &e in r.entries.words() {
            if let EntryKind::Source(a) = decode(e) {
                let pfn = a >> 12;
                assert!(
                    !(0x10000..0x20000).contains(&pfn),
                    "{}: source pfn 0x{pfn:x} in ZONE_MOVABLE",
                    r.variant
                );
            }
        }
    }
    let (pt, hz) = (&rs[0], &rs[1]);
    assert_eq!(
        pt.entries, hz.entries,
        "the two checks give the same answer"
    );
    assert_eq!(pt.kimage.counters, hz.kimage.counters);
    assert!(pt.kimage.counters.highmem_frees > 0);
    assert!(assert_rfc_posted_fault(&rs[2], 32) >= 3);
}

#[test]
fn highmem_vs_zone_cma() {
    let p = preset("highmem-vs-zone-cma");
    assert!(p.scenario.source_movable);
    let rs = runs(
        "highmem-vs-zone-cma",
        &[Variant::Pointer, Variant::HighmemZone],
    );
    for r in &rs {
        assert_good(r, 1100);
    }
    let (pt, hz) = (&rs[0], &rs[1]);
    assert_ne!(pt.entries, hz.entries, "the two checks disagree");
    // pointer links a lowmem ZONE_MOVABLE page as its second indirection
    // page: the old page the swap path handed back.
    let movable_ind = |r: &VariantRun| {
        r.entries.iter().any(|(_, e)| {
            matches!(decode(e), EntryKind::Indirection(a) if (0x10000..0x20000).contains(&(a >> 12)))
        })
    };
    assert!(movable_ind(pt));
    assert!(
        !movable_ind(hz),
        "highmem-zone frees such a page and retries"
    );
    assert!(hz.kimage.counters.highmem_frees > pt.kimage.counters.highmem_frees);
}

#[test]
fn many_small_segments() {
    let p = preset("many-small-segments");
    assert_eq!(p.scenario.segments.len(), 16);
    let rs = runs("many-small-segments", &ALL_VARIANTS);
    for r in rs.iter().filter(|r| r.variant != Variant::RfcPosted) {
        // 16 x 3 pages; the tails past bufsz must be zeros after relocation
        // (the relocation check verifies each destination page).
        assert_good(r, 48);
        assert_eq!(count(r, |k| matches!(k, EntryKind::Destination(_))), 16);
        assert_eq!(count(r, |k| matches!(k, EntryKind::Source(_))), 48);
        let dests: Vec<u64> = r
            .entries
            .iter()
            .filter_map(|(_, e)| match decode(e) {
                EntryKind::Destination(a) => Some(a),
                _ => None,
            })
            .collect();
        let want: Vec<u64> = (0..16).map(|i| 0x100_0000 + i * (1 << 20)).collect();
        assert_eq!(dests, want);
    }
    assert_eq!(rs[0].entries, rs[3].entries);
    assert_eq!(assert_rfc_posted_fault(&rs[2], 64), 4);
}

/// The big one: run once (its two variants), plus rfc-posted, which faults
/// before it allocates more than a few pages.
#[test]
fn huge_initrd() {
    let p = preset("huge-initrd");
    assert_eq!(
        p.scenario.variants,
        vec![Variant::Pointer, Variant::RfcFixed]
    );
    let rs = run(&p.scenario, OPTS);
    assert_eq!(rs.len(), 2);
    for r in &rs {
        assert_good(r, 262_144);
        let c = &r.kimage.counters;
        // 2 DESTINATION + 262144 SOURCE = 262146 entries: 257 pages.
        assert_eq!(c.indirection_pages, 257);
        assert_eq!(r.entries.len(), 1 + 262_146 + 256);
        assert!(
            c.dest_pages > 1000,
            "{}: dest_pages {}",
            r.variant,
            c.dest_pages
        );
        assert!(c.swaps > 1000, "{}: swaps {}", r.variant, c.swaps);
        assert!(
            c.unusable_pages > 1000,
            "{}: unusable {}",
            r.variant,
            c.unusable_pages
        );
        assert!(
            c.kernel_walk_steps > 1_000_000_000,
            "{}: walk {}",
            r.variant,
            c.kernel_walk_steps
        );
        assert!(r.entries.iter().all(|(_, e)| e <= 0xffff_ffff));
    }
    assert!(rs[0].kimage.counters.highmem_frees > 0);
    assert_eq!(rs[1].kimage.counters.highmem_frees, 0);
    let posted = run_variant(&p.scenario, Variant::RfcPosted, OPTS);
    assert!(assert_rfc_posted_fault(&posted, 32) >= 3);
}

#[test]
fn past_end_of_ram() {
    let rs = runs("past-end-of-ram", &ALL_VARIANTS);
    for r in rs.iter().filter(|r| r.variant != Variant::RfcPosted) {
        // Nothing at load time checks that a destination is RAM.
        assert_eq!(r.outcome, Outcome::Loaded);
        assert_eq!(
            r.relocation,
            Some(Relocation::Fail("destination 0x8000000 is not RAM".into()))
        );
        assert_eq!(r.exit_status(), 4);
        assert_eq!(r.unload, Some(Unload::Ok { freed: 7 }));
        let l = lines(r);
        assert_eq!(l[1], "0x08000001");
        assert_eq!(l.len(), 1 + 1 + 4 + 1);
    }
    assert_eq!(assert_rfc_posted_fault(&rs[2], 32), 3);
}

#[test]
fn bad_wrap() {
    assert_errno("bad-wrap", Errno::EADDRNOTAVAIL, "wraps");
}

#[test]
fn bad_unaligned() {
    assert_errno("bad-unaligned", Errno::EADDRNOTAVAIL, "0x1000800 or");
}

#[test]
fn bad_limit() {
    assert_errno(
        "bad-limit",
        Errno::EADDRNOTAVAIL,
        "end 0x400000000000 is not below KEXEC_DESTINATION_MEMORY_LIMIT",
    );
}

#[test]
fn bad_overlap() {
    assert_errno("bad-overlap", Errno::EINVAL, "segment 1 overlaps segment 0");
}

#[test]
fn bad_bufsz() {
    assert_errno(
        "bad-bufsz",
        Errno::EINVAL,
        "bufsz 0x2000 is larger than memsz 0x1000",
    );
}

#[test]
fn bad_half_ram() {
    // 40 MiB = 10240 pages > 16384 / 2.
    assert_errno(
        "bad-half-ram",
        Errno::EINVAL,
        "10240 pages is more than half",
    );
}

#[test]
fn bad_too_many() {
    assert_eq!(preset("bad-too-many").scenario.segments.len(), 17);
    assert_errno("bad-too-many", Errno::EINVAL, "KEXEC_SEGMENT_MAX (16)");
}

#[test]
fn bad_enomem() {
    let rs = runs("bad-enomem", &ALL_VARIANTS);
    for r in rs.iter().filter(|r| r.variant != Variant::RfcPosted) {
        assert_eq!(r.errno(), Some(Errno::ENOMEM), "{}", r.variant);
        assert_eq!(r.exit_status(), 2, "the errno comes before the leak");
        assert_eq!(report::entries(r), "error: ENOMEM\n");
        // Calls: control 0x2000, swap 0x2001, indirection 0x2002, sources
        // 0x2003..=0x2401 for pages 0..=1022. Page 1022's SOURCE needs a
        // second indirection page and the replay is exhausted: -ENOMEM.
        // kimage_free gives back everything on the list, but 0x2401 was never
        // added to it.
        assert_eq!(r.kimage.alloc_calls(), 3 + 1023 + 1);
        match &r.unload {
            Some(Unload::Leak { pages, detail }) => {
                assert_eq!(*pages, 1);
                assert!(detail.starts_with("pfn 0x2401, "), "{detail}");
            }
            u => panic!("{}: expected a leak, got {u:?}", r.variant),
        }
        let line = report::unload_line(r.unload.as_ref().unwrap());
        assert!(line.starts_with("unload: LEAK 1 pages ("), "{line}");
    }
    assert_eq!(assert_rfc_posted_fault(&rs[2], 32), 3);
}

/// The real 8 GiB PAE box with the buddy allocator: every page above
/// 4 GiB parked on unusable_pages first, then highmem below 4 GiB from
/// the top whole block (0xbf800) up, as in the capture's list.
#[test]
fn real_8g_pae() {
    let p = preset("real-8g-pae");
    assert_eq!(p.scenario.policy, kexec_core::page_alloc::Policy::Buddy);
    let rs = run(&p.scenario, OPTS);
    for r in &rs {
        assert_eq!(r.outcome, Outcome::Loaded, "{}", r.variant);
        let c = &r.kimage.counters;
        assert_eq!(c.unusable_pages, 1_310_720, "{}", r.variant);
        assert_eq!(c.swaps, 0, "{}", r.variant);
        // The first SOURCE entry is pfn 0xbf800, as in the real list
        // (rfc-fixed's GFP_HIGHUSER head indirection page takes 0xbf800,
        // its first source the page after).
        let first = r.entries.iter().map(|e| e.1).find(|w| w & 0xf == 0x8);
        let want = match r.variant {
            Variant::RfcFixed => 0xbf80_1008,
            _ => 0xbf80_0008,
        };
        assert_eq!(first, Some(want), "{}", r.variant);
        assert!(
            matches!(r.relocation, Some(Relocation::Ok { .. })),
            "{}",
            r.variant
        );
    }
    assert_eq!(rs[0].kimage.counters.dest_pages, 1402);
}

/// Every preset has its own test above; a new preset must add one.
#[test]
fn every_preset_is_covered() {
    let tested = [
        "rfc-i386-pae",
        "swap-path",
        "highmem-retry",
        "long-list",
        "highmem-vs-zone",
        "highmem-vs-zone-cma",
        "many-small-segments",
        "huge-initrd",
        "past-end-of-ram",
        "bad-wrap",
        "bad-unaligned",
        "bad-limit",
        "bad-overlap",
        "bad-bufsz",
        "bad-half-ram",
        "bad-too-many",
        "xen-swap-path",
        "xen-long-list",
        "skip-reuse-swap",
        "dma32-i386-2g",
        "word-limit-rfc",
        "rfc-arm-lpae",
        "real-8g-pae",
        "bad-enomem",
    ];
    // The Xen and what-if presets are asserted in tests/designs.rs.
    assert_eq!(presets::names(), tested);
    for p in presets::all() {
        assert!(!p.expect.is_empty() && !p.title.is_empty(), "{}", p.name);
        assert_eq!(presets::find(p.name).map(|q| q.name), Some(p.name));
    }
    assert!(presets::find("no-such-preset").is_none());
}

#[test]
fn share_links_round_trip() {
    for p in presets::all() {
        let l = link::encode(&p.scenario, link::DEFAULT_BASE);
        assert!(l.starts_with("http://127.0.0.1:8080/#s=1."), "{l}");
        assert_eq!(link::decode(&l).unwrap(), p.scenario, "{}", p.name);
        // Another base, and the bare fragment, decode the same.
        let l2 = link::encode(&p.scenario, "https://example.org/kexec/?x=1#old");
        assert!(
            l2.starts_with("https://example.org/kexec/?x=1#s=1."),
            "{l2}"
        );
        assert_eq!(link::decode(&l2).unwrap(), p.scenario, "{}", p.name);
        let frag = link::encode_fragment(&p.scenario);
        assert_eq!(link::decode(&frag).unwrap(), p.scenario, "{}", p.name);
        // The preset link names the same scenario.
        let short = format!("https://example.org/?preset={}", p.name);
        assert_eq!(link::decode(&short).unwrap(), p.scenario, "{}", p.name);
        // And the canonical JSON round-trips too.
        assert_eq!(
            Scenario::from_json(&p.scenario.to_json()).unwrap(),
            p.scenario
        );
    }
}

/// The designs spread over threads give the report the designs give one
/// after another, for every preset.
#[test]
fn threaded_runs_report_as_sequential_ones() {
    use kexec_core::run::{run_with_kernels_jobs, NoKernels};
    for p in presets::all() {
        let mut sc = p.scenario.clone();
        sc.variants = ALL_VARIANTS.to_vec();
        let one = run(&sc, OPTS);
        for jobs in [2, 3] {
            let many = run_with_kernels_jobs(&sc, OPTS, &NoKernels, jobs);
            assert_eq!(
                report::text(&sc, &many),
                report::text(&sc, &one),
                "{} with {jobs} threads",
                p.name
            );
        }
    }
}

/// `Kimage::release_load_tables` (the web worker lets go of each design's
/// page store, bitmap and dst index before the next runs) leaves every
/// preset's summaries, report, entry words and step texts as they were.
#[test]
fn released_load_tables_leave_what_a_run_reports() {
    use kexec_core::summary::{entry_words, step_starts, step_text, summarize};
    for p in presets::all() {
        let sc = p.scenario;
        let opts = RunOptions {
            relocate: true,
            unload: false,
            trace: sc.image_pages() <= 65_536,
            first_step: false,
        };
        let kept: Vec<VariantRun> = sc
            .variants
            .iter()
            .map(|&v| run_variant(&sc, v, opts))
            .collect();
        let released: Vec<VariantRun> = sc
            .variants
            .iter()
            .map(|&v| {
                let mut r = run_variant(&sc, v, opts);
                r.kimage.release_load_tables();
                r
            })
            .collect();
        assert_eq!(
            report::text_with_sources(&sc, &kept),
            report::text_with_sources(&sc, &released),
            "{}",
            p.name
        );
        for (a, b) in kept.iter().zip(&released) {
            assert_eq!(summarize(a), summarize(b), "{} {}", p.name, a.variant);
            assert_eq!(entry_words(a), entry_words(b), "{} {}", p.name, a.variant);
            let starts = step_starts(&a.kimage.trace.events);
            for step in 0..=starts.len().min(64) {
                assert_eq!(
                    step_text(&a.kimage, &starts, step),
                    step_text(&b.kimage, &starts, step),
                    "{} {} step {step}",
                    p.name,
                    a.variant
                );
            }
        }
    }
}

/// A run that keeps step 0's events only (`RunOptions::first_step`, how
/// the web worker runs a big image) has the traced run's events up to
/// its first page loaded, and the same step 0 text, summary, entry words
/// and report; with `trace` too it keeps the whole trace.
#[test]
fn first_step_runs_keep_step_0_of_the_trace() {
    use kexec_core::summary::{entry_words, step_starts, step_text, summarize};
    use kexec_core::trace::Event;
    let opts = |trace, first_step| RunOptions {
        relocate: true,
        unload: false,
        trace,
        first_step,
    };
    for p in presets::all() {
        let sc = p.scenario;
        if sc.image_pages() > 65_536 {
            continue;
        }
        for &v in &sc.variants {
            let traced = run_variant(&sc, v, opts(true, false));
            let first = run_variant(&sc, v, opts(false, true));
            let both = run_variant(&sc, v, opts(true, true));
            let all = &traced.kimage.trace.events;
            let to = all
                .iter()
                .position(|e| matches!(e, Event::LoadPage { .. }))
                .unwrap_or(all.len());
            assert_eq!(first.kimage.trace.events, all[..to], "{} {v}", p.name);
            assert_eq!(&both.kimage.trace.events, all, "{} {v}", p.name);
            let starts = step_starts(&traced.kimage.trace.events);
            assert_eq!(
                step_text(&first.kimage, &step_starts(&first.kimage.trace.events), 0),
                step_text(&traced.kimage, &starts, 0),
                "{} {v}",
                p.name
            );
            assert_eq!(summarize(&first), summarize(&traced), "{} {v}", p.name);
            assert_eq!(entry_words(&first), entry_words(&traced), "{} {v}", p.name);
            assert_eq!(
                report::section(&first),
                report::section(&traced),
                "{} {v}",
                p.name
            );
        }
    }
}
