//! Runs made in a [`Workshop`] (a spare kimage renewed for each run, the
//! random explorer's way) are the same runs as on a fresh kimage: every
//! field a goal, a report or the unload check reads, for sequences of
//! explorer candidates on different machines, segments, policies and
//! designs, with and without a replay prefix; with [`Reads`] leaving
//! out the list or the held-page counters, everything else the same.
//!
//! Fixed seed, no persistence file: the same cases on every run.

use kexec_core::design::{Variant, ALL_VARIANTS};
use kexec_core::explore::candidate_for;
use kexec_core::presets;
use kexec_core::run::{
    run_variant_prefixed, run_variant_prefixed_in, NoKernels, Reads, RunOptions, VariantRun,
    Workshop,
};
use kexec_core::scenario::check_arch_variants;
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
    let entries = if reads == Reads::Verdict {
        Vec::new()
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
        k.trace.events,
        k.roles.iter().collect::<Vec<_>>(),
        (k.control_code_page, k.swap_page, k.head()),
        k.outstanding(),
        k.alloc_calls(),
    )
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
            let opts = RunOptions { relocate, unload, trace: true };
            let fresh = run_variant_prefixed(&sc, variant, opts, Vec::new());
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
