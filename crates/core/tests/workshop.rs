//! Runs made in a [`Workshop`] (a spare kimage renewed for each run, the
//! random explorer's way) are the same runs as on a fresh kimage: every
//! field a goal, a report or the unload check reads, for sequences of
//! explorer candidates on different machines, segments, policies and
//! designs, with and without a replay prefix; with [`Reads`] leaving
//! out the list, the held-page counters or the trace's events other
//! than the allocator calls, everything else the same;
//! and the explorer's goal checks in one workshop against checks made
//! from plain runs. Also runs in the tables a dropped kimage leaves its
//! thread (every run's, workshop or not) against runs on a new thread,
//! whose kimages start from empty tables.
//!
//! Fixed seed, no persistence file: the same cases on every run.

use kexec_core::design::{Variant, ALL_VARIANTS};
use kexec_core::explore::{candidate, candidate_for, same_order, Check, Goal, SameOrder};
use kexec_core::kimage::Stop;
use kexec_core::presets;
use kexec_core::relocate::Relocation;
use kexec_core::run::{
    run_variant, run_variant_prefixed, run_variant_prefixed_in, NoKernels, Outcome, Reads,
    RunOptions, VariantRun, Workshop,
};
use kexec_core::scenario::{check_arch_variants, Scenario};
use kexec_core::trace::Event;
use proptest::prelude::*;
use proptest::test_runner::RngSeed;

const BASES: [&str; 6] = [
    "swap-path",
    "highmem-retry",
    "long-list",
    "rfc-i386-pae",
    "many-small-segments",
    "highmem-vs-zone-cma",
];

/// Everything of a run the explorer, the reports and the unload check
/// read, as text; what `reads` leaves out blanked (in both runs).
fn fingerprint(r: &VariantRun, reads: Reads) -> String {
    let k = &r.kimage;
    let mut counters = r.counters.clone();
    let mut kc = k.counters.clone();
    if reads != Reads::All {
        for c in [&mut counters, &mut kc] {
            c.lowmem_held = 0;
            c.highmem_held = 0;
        }
    }
    let events: Vec<&Event> = k
        .trace
        .events
        .iter()
        .filter(|e| reads == Reads::All || matches!(e, Event::Alloc { .. }))
        .collect();
    let entries = if reads == Reads::Verdict {
        Default::default()
    } else {
        r.entries.clone()
    };
    format!(
        "{:?}|{:?}|{:x}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{}",
        r.outcome,
        entries,
        r.end_word,
        r.relocation,
        r.unload,
        counters,
        kc,
        events,
        k.roles.iter().collect::<Vec<_>>(),
        (k.control_code_page, k.swap_page, k.head()),
        k.outstanding(),
        k.alloc_calls(),
    )
}

/// `f`'s run on a thread of its own: a kimage there starts from new
/// tables, none left by an earlier run (the reference every kept-table
/// run here is compared against).
fn on_new_thread(f: impl FnOnce() -> String + Send) -> String {
    std::thread::scope(|s| s.spawn(f).join().expect("the run does not panic"))
}

fn order(r: &VariantRun) -> Vec<u64> {
    r.kimage
        .trace
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Alloc { pfn, .. } => Some(*pfn),
            _ => None,
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 24,
        rng_seed: RngSeed::Fixed(0x776f_726b_7368_6f70),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn workshop_runs_are_fresh_runs(
        base in 0..BASES.len(),
        seed in 0u64..1000,
        steps in prop::collection::vec(
            (0u64..2000, 0usize..9, any::<bool>(), any::<bool>(), 0usize..3),
            1..8,
        ),
    ) {
        let sc0 = presets::find(BASES[base]).unwrap().scenario;
        let mut ws = Workshop::default();
        for (index, v, relocate, unload, reads) in steps {
            let reads = [Reads::All, Reads::Lists, Reads::Verdict][reads];
            let variant = ALL_VARIANTS[v];
            if check_arch_variants(sc0.arch, &[variant]).is_err() {
                continue;
            }
            let sc = candidate_for(&sc0, &[variant], seed, index);
            let opts = RunOptions { relocate, unload, trace: true, first_step: false };
            let fresh = run_variant_prefixed(&sc, variant, opts, Vec::new());
            let new = on_new_thread(|| {
                fingerprint(&run_variant_prefixed(&sc, variant, opts, Vec::new()), reads)
            });
            prop_assert_eq!(&new, &fingerprint(&fresh, reads));
            let kept = run_variant_prefixed_in(reads, &mut ws, &sc, variant, opts, Vec::new(), &NoKernels);
            prop_assert_eq!(fingerprint(&fresh, reads), fingerprint(&kept, reads));
            if reads == Reads::Verdict {
                prop_assert!(kept.entries.is_empty());
            }
            // The same order replayed to the pointer design, as a
            // same-order goal hands B A's order.
            let prefix = order(&fresh);
            let b = Variant::Pointer;
            let fresh_b = run_variant_prefixed(&sc, b, opts, prefix.clone());
            ws.give_back(kept);
            let kept_b = run_variant_prefixed_in(reads, &mut ws, &sc, b, opts, prefix, &NoKernels);
            prop_assert_eq!(fingerprint(&fresh_b, reads), fingerprint(&kept_b, reads));
            ws.give_back(kept_b);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 16,
        rng_seed: RngSeed::Fixed(0x6b65_7074_7461_626c),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Plain runs one after another on one thread, each in the tables the
    /// one before left (another base, machine, design and policy), are the
    /// runs a new thread makes: nothing of a run is left in the tables
    /// the next one takes.
    #[test]
    fn runs_in_kept_tables_are_runs_in_new_ones(
        steps in prop::collection::vec(
            (0..BASES.len(), 0u64..1000, 0u64..2000, 0usize..9, any::<bool>(), any::<bool>(), any::<bool>()),
            2..10,
        ),
    ) {
        // The kimage's whole state too (page contents, pages in use,
        // roles, the page lists), which a report reads only in part.
        let state = |r: &VariantRun| {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            r.kimage.hash_state(&mut h);
            format!("{}|{:x}", fingerprint(r, Reads::All), std::hash::Hasher::finish(&h))
        };
        for (base, seed, index, v, relocate, unload, trace) in steps {
            let sc0 = presets::find(BASES[base]).unwrap().scenario;
            let variant = ALL_VARIANTS[v];
            if check_arch_variants(sc0.arch, &[variant]).is_err() {
                continue;
            }
            let sc = candidate_for(&sc0, &[variant], seed, index);
            let opts = RunOptions { relocate, unload, trace, first_step: false };
            let kept = state(&run_variant(&sc, variant, opts));
            let new = on_new_thread(|| state(&run_variant(&sc, variant, opts)));
            prop_assert_eq!(kept, new, "{} seed {} candidate {} {}", BASES[base], seed, index, variant.name());
        }
    }
}

/// A goal judged the plain way, from public runs on fresh kimages with
/// everything kept (what `Goal::check` did before workshops): the
/// reference for the explorer's own check.
fn reference_check(goal: &Goal, sc: &Scenario) -> Check {
    #[derive(PartialEq)]
    enum K {
        Ok,
        RelocFail,
        Fault(String),
        Errno(String),
        Model,
    }
    let key = |r: &VariantRun| match &r.outcome {
        Outcome::Loaded | Outcome::Unloaded => match r.relocation {
            Some(Relocation::Fail(_)) => K::RelocFail,
            _ => K::Ok,
        },
        Outcome::Stopped(Stop::Fault(f)) => K::Fault(f.function.to_string()),
        Outcome::Stopped(Stop::Errno { errno, .. }) => K::Errno(errno.to_string()),
        Outcome::Stopped(_) => K::Model,
    };
    let differ = |a: &VariantRun, b: &VariantRun| {
        a.outcome == Outcome::Loaded
            && b.outcome == Outcome::Loaded
            && (a.entries.words() != b.entries.words() || a.end_word != b.end_word)
    };
    let verdicts = |a: &VariantRun, b: &VariantRun| {
        let (ka, kb) = (key(a), key(b));
        ka != kb && ka != K::Model && kb != K::Model
    };
    let hit = |b: bool| if b { Check::Hit } else { Check::Miss };
    let reloc = RunOptions {
        relocate: true,
        ..RunOptions::default()
    };
    match *goal {
        Goal::Fault(v) => hit(matches!(
            key(&run_variant(sc, v, reloc)),
            K::Fault(_) | K::RelocFail
        )),
        Goal::DifferPolicy(a, b) => {
            let ra = run_variant(sc, a, RunOptions::default());
            hit(ra.outcome == Outcome::Loaded
                && differ(&ra, &run_variant(sc, b, RunOptions::default())))
        }
        Goal::VerdictPolicy(a, b) => hit(verdicts(
            &run_variant(sc, a, reloc),
            &run_variant(sc, b, reloc),
        )),
        Goal::Differ(a, b) | Goal::Verdict(a, b) => {
            let opts = if matches!(goal, Goal::Verdict(..)) {
                reloc
            } else {
                RunOptions::default()
            };
            match same_order(sc, a, b, opts) {
                SameOrder::Ineligible(why) => Check::Ineligible(why),
                SameOrder::Runs { a: ra, b: rb, .. } => hit(if matches!(goal, Goal::Differ(..)) {
                    differ(&ra, &rb)
                } else {
                    verdicts(&ra, &rb)
                }),
            }
        }
    }
}

/// The explorer's check of every goal kind, one workshop across a
/// candidate stream, gives what the plain runs give (ineligible reasons
/// included).
#[test]
fn workshop_checks_are_plain_checks() {
    let cases = [
        ("swap-path", "verdict:pointer,rfc-fixed", 120),
        ("long-list", "verdict:pointer,dma32", 120),
        ("highmem-retry", "differ:pointer,rfc-fixed", 60),
        ("swap-path", "differ-policy:pointer,dma32", 60),
        ("highmem-retry", "verdict-policy:pointer,skip-reuse", 60),
        ("long-list", "fault:rfc-posted", 60),
        ("rfc-i386-pae", "verdict:pointer,rfc-posted", 40),
        ("highmem-vs-zone-cma", "differ:pointer,highmem-zone", 60),
    ];
    let mut kinds = [0u32; 3];
    for (base, goal, n) in cases {
        let sc0 = presets::find(base).unwrap().scenario;
        let goal = Goal::parse(goal).unwrap();
        let mut ws = Workshop::default();
        for i in 0..n {
            let sc = candidate(&sc0, &goal, 5, i);
            let got = goal.check_in(&mut ws, &sc, &NoKernels);
            kinds[match got {
                Check::Hit => 0,
                Check::Miss => 1,
                Check::Ineligible(_) => 2,
            }] += 1;
            assert_eq!(
                got,
                reference_check(&goal, &sc),
                "{base} {goal} candidate {i}"
            );
        }
    }
    // Every answer is exercised.
    assert!(kinds.iter().all(|&k| k > 0), "{kinds:?}");
}
