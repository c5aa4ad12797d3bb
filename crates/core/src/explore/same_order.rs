//! Two designs under one allocation order: A runs with the scenario's
//! allocator while its order (the pfn each kimage_alloc_pages call got) is
//! recorded, and B is handed exactly that order, call by call; where B asks
//! for more, the scenario's policy continues. The pair of runs is then the
//! same as both designs on one replay list, which is how every result is
//! written: values, never a seed.

use crate::design::Variant;
use crate::kimage::Stop;
use crate::page_alloc::Policy;
use crate::run::{
    run_variant_prefixed_with, run_variant_with, KernelRunner, NoKernels, Outcome, RunOptions,
    VariantRun,
};
use crate::scenario::Scenario;
use crate::trace::Event;

/// Two designs' runs under one order, or why there is none.
pub enum SameOrder {
    /// Both ran on `order`.
    Runs {
        /// A's run.
        a: Box<VariantRun>,
        /// B's run.
        b: Box<VariantRun>,
        /// The one allocation order both got (the longer of the two runs'
        /// orders; the other run's is a prefix of it).
        order: Vec<u64>,
    },
    /// A page of the order cannot go to the design's request (its gfp
    /// forbids the zone, or the page is still in use there): the candidate
    /// cannot be judged under one order.
    Ineligible(String),
}

/// The pfns a run's allocator calls got, in order (from its trace).
pub(crate) fn order_of(r: &VariantRun) -> Vec<u64> {
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

fn replay_error(r: &VariantRun) -> Option<String> {
    match &r.outcome {
        Outcome::Stopped(Stop::Replay(e)) => Some(format!("{}: {e}", r.variant)),
        _ => None,
    }
}

/// Run `a` and `b` on `sc` under one allocation order. A scenario whose
/// policy is already a replay list is that order for both.
pub fn same_order(sc: &Scenario, a: Variant, b: Variant, opts: RunOptions) -> SameOrder {
    same_order_with(sc, a, b, opts, &NoKernels)
}

/// [`same_order`], kernel builds run through `kernels` (a build is handed
/// the order through its allocator, as a design is).
pub fn same_order_with(
    sc: &Scenario,
    a: Variant,
    b: Variant,
    opts: RunOptions,
    kernels: &dyn KernelRunner,
) -> SameOrder {
    let opts = RunOptions {
        trace: true,
        ..opts
    };
    let (ra, rb) = if let Policy::Replay(_) = sc.policy {
        (
            run_variant_with(sc, a, opts, kernels),
            run_variant_with(sc, b, opts, kernels),
        )
    } else {
        let ra = run_variant_with(sc, a, opts, kernels);
        let rb = run_variant_prefixed_with(sc, b, opts, order_of(&ra), kernels);
        (ra, rb)
    };
    if let Some(why) = replay_error(&ra).or_else(|| replay_error(&rb)) {
        return SameOrder::Ineligible(why);
    }
    let (oa, ob) = (order_of(&ra), order_of(&rb));
    let order = if ob.len() > oa.len() { ob } else { oa };
    SameOrder::Runs {
        a: Box::new(ra),
        b: Box::new(rb),
        order,
    }
}

/// `sc` as the replay scenario both designs' runs under one order are:
/// the scenario with [`Policy::Replay`] of that order. None when the
/// candidate is ineligible.
pub fn as_replay(sc: &Scenario, a: Variant, b: Variant) -> Option<Scenario> {
    as_replay_with(sc, a, b, &NoKernels)
}

/// [`as_replay`], kernel builds run through `kernels`.
pub fn as_replay_with(
    sc: &Scenario,
    a: Variant,
    b: Variant,
    kernels: &dyn KernelRunner,
) -> Option<Scenario> {
    match same_order_with(sc, a, b, RunOptions::default(), kernels) {
        SameOrder::Runs { order, .. } => {
            let mut t = sc.clone();
            t.policy = Policy::Replay(order);
            Some(t)
        }
        SameOrder::Ineligible(_) => None,
    }
}
