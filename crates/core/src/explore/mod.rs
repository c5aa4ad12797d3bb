//! The counterexample explorer: is there any machine and allocation order
//! on which a design faults, or behaves differently from another?
//!
//! [`candidate`] derives the `i`-th candidate scenario from a base scenario
//! and a seed (allocator policies and seeds, RAM sizes around the lowmem and
//! 4 GiB lines, segment sizes around the 511/1023-entry page boundaries,
//! destinations near zone boundaries); every candidate depends only on
//! `(base, seed, i)`, so ranges of candidates can be searched in any order,
//! on any number of threads or workers, and the first hit (lowest index) is
//! the same. [`shrink`] then reduces a hit — segments, sizes, RAM, then a
//! replay list of the exact allocation order and that list itself — while
//! the goal still holds, to a case a person can read.
//!
//! Pure and single-threaded; the CLI and the page parallelize over ranges.

mod exhaustive;
mod goal;
mod same_order;
mod shrink;

pub use exhaustive::{
    claim, classes, exhaustive, Classes, Exhaustive, ExhaustiveOptions, Stats, MAX_CALLS,
};
pub use goal::{Check, Goal};
pub use same_order::{as_replay, as_replay_with, same_order, same_order_with, SameOrder};
pub use shrink::{shrink, shrink_bounded, shrink_with, MAX_SHRINK_CHECKS};

use crate::arch::{Arch, PAGE_SIZE};
use crate::design::Variant;
use crate::kimage::Segment;
use crate::page_alloc::{Policy, SplitMix64};
use crate::run::{run_variant_with, KernelRunner, NoKernels, RunOptions, Workshop};
use crate::scenario::Scenario;
use std::rc::Rc;

/// Most candidates one search may try.
pub const MAX_BUDGET: u64 = 10_000_000;

use kexec_common::units::{GIB, MIB};

/// A search in general form: the variants its candidates name, whether a
/// scenario meets it, and the allocation orders worth trying as a replay
/// when shrinking. [`Goal::search`] makes one; a test can make one around a
/// design that is not among the variants.
pub struct Search {
    /// The variants the candidates name.
    pub variants: Vec<Variant>,
    /// Whether a scenario meets the search's goal.
    pub holds: Holds,
    /// Allocation orders (one per design run) to try as a replay list.
    pub orders: Orders,
}

/// Whether a scenario meets a goal.
pub type Holds = Box<dyn Fn(&Scenario) -> bool>;
/// The allocation orders of a scenario, one per design run.
pub type Orders = Box<dyn Fn(&Scenario) -> Vec<Vec<u64>>>;

impl Goal {
    /// The goal as a [`Search`].
    pub fn search(self) -> Search {
        self.search_with(Rc::new(NoKernels))
    }

    /// The goal as a [`Search`], kernel builds run through `kernels`.
    pub fn search_with(self, kernels: Rc<dyn KernelRunner>) -> Search {
        let k = Rc::clone(&kernels);
        Search {
            variants: self.variants(),
            holds: Box::new(move |sc| self.check_with(sc, &*k) == Check::Hit),
            orders: Box::new(move |sc| match self {
                Goal::Differ(a, b) | Goal::Verdict(a, b) => {
                    match same_order_with(sc, a, b, RunOptions::default(), &*kernels) {
                        SameOrder::Runs { order, .. } => vec![order],
                        SameOrder::Ineligible(_) => Vec::new(),
                    }
                }
                _ => self
                    .variants()
                    .into_iter()
                    .map(|v| allocation_order_with(sc, v, &*kernels))
                    .collect(),
            }),
        }
    }
}

fn pick<T: Copy>(r: &mut SplitMix64, xs: &[T]) -> T {
    xs[r.below(xs.len() as u64) as usize]
}

/// The `index`-th candidate derived from `base` and `seed` (index 0 is the
/// base itself), naming the goal's variants.
pub fn candidate(base: &Scenario, goal: &Goal, seed: u64, index: u64) -> Scenario {
    candidate_for(base, &goal.variants(), seed, index)
}

/// The `index`-th candidate, naming `variants`: the base with, drawn in
/// this order from one stream, maybe another RAM size, an allocator, and
/// maybe new segments.
pub fn candidate_for(base: &Scenario, variants: &[Variant], seed: u64, index: u64) -> Scenario {
    let mut sc = base.clone();
    sc.variants = variants.to_vec();
    if index == 0 {
        return sc;
    }
    let mut r = SplitMix64::new(
        seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ index.rotate_left(17) ^ 0x5851_f42d,
    );
    if r.below(3) != 0 {
        let p = sc.arch.profile();
        let sizes = ram_sizes(sc.arch);
        sc.ram = vec![(p.phys_offset, p.phys_offset + pick(&mut r, &sizes))];
        sc.movable.clear();
    }
    sc.policy = candidate_policy(&mut r);
    if !(pages(base) <= 4096 && r.below(4) == 0) {
        sc.segments = candidate_segments(&sc, &mut r);
    }
    sc
}

/// Where `arch` starts to need highmem: the lowmem line, or 4 GiB.
fn lowmem_end(arch: Arch) -> u64 {
    arch.profile().lowmem_end.unwrap_or(4 * GIB)
}

/// RAM sizes worth trying on `arch`: around the lowmem line and 4 GiB.
fn ram_sizes(arch: Arch) -> Vec<u64> {
    let lowmem = lowmem_end(arch);
    match arch {
        Arch::I386 => vec![
            64 * MIB,
            256 * MIB,
            lowmem - 16 * MIB,
            lowmem,
            lowmem + 16 * MIB,
            GIB,
            2 * GIB,
            4 * GIB,
        ],
        Arch::I386Pae => vec![
            64 * MIB,
            lowmem,
            lowmem + 16 * MIB,
            2 * GIB,
            4 * GIB - 16 * MIB,
            4 * GIB,
            4 * GIB + 16 * MIB,
            6 * GIB,
            8 * GIB,
        ],
        Arch::X86_64 => vec![
            64 * MIB,
            512 * MIB,
            4 * GIB - 16 * MIB,
            4 * GIB,
            4 * GIB + 16 * MIB,
            8 * GIB,
        ],
        // From PHYS_OFFSET (2 GiB): lowmem ends 768 MiB in, 4 GiB is
        // 2 GiB in.
        Arch::ArmLpae => vec![
            256 * MIB,
            752 * MIB,
            768 * MIB,
            784 * MIB,
            2 * GIB - 16 * MIB,
            2 * GIB,
            2 * GIB + 16 * MIB,
            6 * GIB,
        ],
    }
}

/// An allocator policy: mostly seeded random or adversarial orders.
fn candidate_policy(r: &mut SplitMix64) -> Policy {
    match r.below(20) {
        0..=2 => Policy::LowestFirst,
        3..=5 => Policy::HighestFirst,
        6..=11 => Policy::Random(r.next_u64() >> 16),
        _ => Policy::Adversarial(r.next_u64() >> 16),
    }
}

/// One to three segments inside `sc`'s RAM: page counts around the
/// 511/1023-entry page boundaries or small, destinations near zone lines.
fn candidate_segments(sc: &Scenario, r: &mut SplitMix64) -> Vec<Segment> {
    let p = sc.arch.profile();
    let lowmem = lowmem_end(sc.arch);
    let last = p.last_slot();
    let counts = [
        1,
        2,
        3,
        5,
        8,
        last - 1,
        last,
        last + 1,
        2 * last - 1,
        2 * last,
        2 * last + 1,
    ];
    let ram_end = sc.ram.last().map_or(64 * MIB, |x| x.1);
    let o = p.phys_offset;
    let places = [
        o + MIB,
        o + 16 * MIB,
        o + 32 * MIB,
        lowmem.saturating_sub(32 * MIB),
        lowmem,
        o + GIB,
        o + 3 * GIB,
        o + (ram_end - o) / 2,
    ];
    let n = 1 + r.below(3) as usize;
    let mut next_free = 0u64;
    // Destinations stay inside RAM: one past the end fails relocation
    // for every design, which is the user's mistake, not a design's.
    (0..n)
        .filter_map(|_| {
            let pages = if r.below(3) == 0 {
                pick(r, &counts)
            } else {
                1 + r.below(16)
            };
            let memsz = pages * PAGE_SIZE;
            let want = pick(r, &places).max(next_free) & !(PAGE_SIZE - 1);
            let mem = if want + memsz <= ram_end {
                want
            } else {
                next_free.max(o + MIB)
            };
            if mem + memsz > ram_end {
                return None;
            }
            next_free = mem + memsz;
            let bufsz = if r.below(2) == 0 {
                memsz
            } else {
                memsz.saturating_sub(r.below(memsz.max(1)))
            };
            Some(Segment { bufsz, mem, memsz })
        })
        .collect()
}

/// The first index in `range` whose candidate meets the goal.
pub fn search_range(
    base: &Scenario,
    goal: &Goal,
    seed: u64,
    range: std::ops::Range<u64>,
) -> Option<u64> {
    search_range_counted(base, goal, seed, range).hit
}

/// What searching a range found: the first hit, and how many candidates a
/// same-order goal could not judge.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Found {
    /// The lowest index whose candidate meets the goal.
    pub hit: Option<u64>,
    /// Candidates before the hit (or in the range) that were ineligible:
    /// B's request could not take a page A got.
    pub ineligible: u64,
}

/// [`search_range`], counting the ineligible candidates.
pub fn search_range_counted(
    base: &Scenario,
    goal: &Goal,
    seed: u64,
    range: std::ops::Range<u64>,
) -> Found {
    search_range_counted_with(base, goal, seed, range, &NoKernels)
}

/// [`search_range_counted`], kernel builds run through `kernels`.
pub fn search_range_counted_with(
    base: &Scenario,
    goal: &Goal,
    seed: u64,
    range: std::ops::Range<u64>,
    kernels: &dyn KernelRunner,
) -> Found {
    search_range_in(&mut Workshop::default(), base, goal, seed, range, kernels)
}

/// [`search_range_counted_with`] in `ws`: every candidate's runs reuse the
/// kimages of the runs before, also those of earlier ranges searched in
/// the same workshop (the CLI's threads and the page's worker keep one
/// for the whole search: a new one grows its tables again).
pub fn search_range_in(
    ws: &mut Workshop,
    base: &Scenario,
    goal: &Goal,
    seed: u64,
    range: std::ops::Range<u64>,
    kernels: &dyn KernelRunner,
) -> Found {
    let variants = goal.variants();
    let mut found = Found::default();
    for i in range {
        match goal.check_in(ws, &candidate_for(base, &variants, seed, i), kernels) {
            Check::Hit => {
                found.hit = Some(i);
                break;
            }
            Check::Ineligible(_) => found.ineligible += 1,
            Check::Miss => {}
        }
    }
    found
}

/// A hit as the explorer shows it: for a same-order goal, the candidate
/// with its allocator replaced by the one order both designs got (values,
/// never a seed); otherwise the candidate's own allocation order as a
/// replay when that still meets the goal.
pub fn as_values(goal: &Goal, sc: &Scenario) -> Scenario {
    as_values_with(goal, sc, &NoKernels)
}

/// [`as_values`], kernel builds run through `kernels`.
pub fn as_values_with(goal: &Goal, sc: &Scenario, kernels: &dyn KernelRunner) -> Scenario {
    if let Goal::Differ(a, b) | Goal::Verdict(a, b) = *goal {
        if let Some(t) = as_replay_with(sc, a, b, kernels) {
            return t;
        }
    }
    if !matches!(sc.policy, Policy::Replay(_)) {
        for v in goal.variants() {
            let mut t = sc.clone();
            t.policy = Policy::Replay(allocation_order_with(sc, v, kernels));
            if goal.check_with(&t, kernels) == Check::Hit {
                return t;
            }
        }
    }
    sc.clone()
}

/// The first index in `range` whose candidate meets the search.
pub fn search_range_with(
    base: &Scenario,
    s: &Search,
    seed: u64,
    range: std::ops::Range<u64>,
) -> Option<u64> {
    range
        .into_iter()
        .find(|&i| (s.holds)(&candidate_for(base, &s.variants, seed, i)))
}

/// The allocator stream of `v` on `sc`: the pfn each allocator call got.
pub fn allocation_order(sc: &Scenario, v: Variant) -> Vec<u64> {
    allocation_order_with(sc, v, &NoKernels)
}

/// [`allocation_order`], a kernel build run through `kernels`.
pub fn allocation_order_with(sc: &Scenario, v: Variant, kernels: &dyn KernelRunner) -> Vec<u64> {
    let opts = RunOptions {
        trace: true,
        ..Default::default()
    };
    let r = run_variant_with(sc, v, opts, kernels);
    same_order::order_of(&r)
}

/// Pages of `sc`'s segments.
pub(crate) fn pages(sc: &Scenario) -> u64 {
    sc.segments.iter().map(|s| s.memsz / PAGE_SIZE).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::presets;

    #[test]
    fn pointer_never_fails_on_candidates() {
        // Candidates stay inside RAM, so the upstream design relocates every one.
        let base = presets::find("swap-path").unwrap().scenario;
        assert_eq!(
            search_range(&base, &Goal::Fault(Variant::Pointer), 7, 0..300),
            None
        );
    }

    #[test]
    fn goals_parse_and_reject_nonsense() {
        assert_eq!(
            Goal::parse("fault:rfc-posted"),
            Ok(Goal::Fault(Variant::RfcPosted))
        );
        assert_eq!(
            Goal::parse("differ:pointer,rfc-fixed"),
            Ok(Goal::Differ(Variant::Pointer, Variant::RfcFixed))
        );
        assert!(Goal::parse("differ:pointer")
            .unwrap_err()
            .contains("two variants"));
        assert!(Goal::parse("fault:rfc")
            .unwrap_err()
            .contains("valid: pointer"));
        assert!(Goal::parse("crash:pointer")
            .unwrap_err()
            .contains("goals are"));
        assert!(Goal::parse("verdict:pointer,pointer")
            .unwrap_err()
            .contains("itself"));
    }

    #[test]
    fn candidates_are_deterministic() {
        let base = presets::find("swap-path").unwrap().scenario;
        let g = Goal::Fault(Variant::RfcPosted);
        for i in 0..50 {
            assert_eq!(candidate(&base, &g, 3, i), candidate(&base, &g, 3, i));
        }
        assert_ne!(candidate(&base, &g, 3, 5), candidate(&base, &g, 4, 5));
    }

    #[test]
    fn finds_and_shrinks_rfc_posted_fault() {
        let base = presets::find("long-list").unwrap().scenario;
        let g = Goal::Fault(Variant::RfcPosted);
        let i = search_range(&base, &g, 1, 0..100).unwrap();
        let small = shrink(&g, &candidate(&base, &g, 1, i));
        assert!(g.holds(&small));
        assert_eq!(small.segments.len(), 1);
        assert_eq!(small.segments[0].memsz, PAGE_SIZE);
        assert_eq!(
            shrink(&g, &candidate(&base, &g, 1, i)),
            small,
            "deterministic"
        );
        // Monotone: never bigger than what it started from.
        let found = candidate(&base, &g, 1, i);
        assert!(small.segments.len() <= found.segments.len());
        assert!(pages(&small) <= pages(&found));
        assert!(small.ram_bytes() <= found.ram_bytes());
    }

    #[test]
    fn shrinks_the_highmem_retry_difference_to_a_minimal_replay() {
        let sc = presets::find("highmem-retry").unwrap().scenario;
        let g = Goal::Differ(Variant::Pointer, Variant::RfcFixed);
        assert!(g.holds(&sc));
        let small = shrink(&g, &sc);
        assert!(g.holds(&small));
        assert!(small.segments.len() <= 2);
        let Policy::Replay(list) = &small.policy else {
            panic!("{:?}", small.policy)
        };
        // 1-minimal: dropping any one pfn loses the difference.
        for i in 0..list.len() {
            let mut t = small.clone();
            let mut l = list.clone();
            l.remove(i);
            t.policy = Policy::Replay(l);
            assert!(!g.holds(&t), "pfn #{i} could go");
        }
    }
}
