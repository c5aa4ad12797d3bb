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
    run_variant_prefixed_in, KernelRunner, NoKernels, Outcome, Reads, RunOptions, VariantRun,
    Workshop,
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
    // At most one pfn per allocator call: room for all at once.
    let mut order = Vec::with_capacity(r.kimage.alloc_calls().min(1 << 21) as usize);
    order.extend(r.kimage.trace.events.iter().filter_map(|e| match e {
        Event::Alloc { pfn, .. } => Some(*pfn),
        _ => None,
    }));
    order
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
    match runs_in(
        Reads::All,
        &mut Workshop::default(),
        sc,
        a,
        b,
        opts,
        opts,
        kernels,
    ) {
        Err(why) => SameOrder::Ineligible(why),
        Ok((ra, rb, oa)) => {
            let ob = order_of(&rb);
            let oa = oa.unwrap_or_else(|| order_of(&ra));
            let order = if ob.len() > oa.len() { ob } else { oa };
            SameOrder::Runs {
                a: Box::new(ra),
                b: Box::new(rb),
                order,
            }
        }
    }
}

/// A's and B's runs under one order, in `ws`, A with `opts_a` (its
/// trace on: its order is read from it) and B with `opts_b`, both
/// leaving out what `reads` does not read; with A's order when it was
/// read for B's prefix. `Err`: the candidate is ineligible, and why.
#[allow(clippy::type_complexity, clippy::too_many_arguments)]
pub(crate) fn runs_in(
    reads: Reads,
    ws: &mut Workshop,
    sc: &Scenario,
    a: Variant,
    b: Variant,
    opts_a: RunOptions,
    opts_b: RunOptions,
    kernels: &dyn KernelRunner,
) -> Result<(VariantRun, VariantRun, Option<Vec<u64>>), String> {
    debug_assert!(opts_a.trace);
    let ra = run_variant_prefixed_in(reads, ws, sc, a, opts_a, Vec::new(), kernels);
    let (rb, oa) = if let Policy::Replay(_) = sc.policy {
        (
            run_variant_prefixed_in(reads, ws, sc, b, opts_b, Vec::new(), kernels),
            None,
        )
    } else {
        let oa = order_of(&ra);
        (
            run_variant_prefixed_in(reads, ws, sc, b, opts_b, oa.clone(), kernels),
            Some(oa),
        )
    };
    if let Some(why) = replay_error(&ra).or_else(|| replay_error(&rb)) {
        ws.give_back(ra);
        ws.give_back(rb);
        return Err(why);
    }
    Ok((ra, rb, oa))
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
