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

use crate::arch::{Arch, PAGE_SIZE};
use crate::design::{Variant, ALL_VARIANTS};
use crate::errno::Errno;
use crate::kimage::{Segment, Stop};
use crate::page_alloc::{Policy, SplitMix64};
use crate::relocate::Relocation;
use crate::run::{run_variant, Outcome, RunOptions, VariantRun};
use crate::scenario::Scenario;
use crate::trace::Event;
use std::fmt;

/// Most candidates one search may try.
pub const MAX_BUDGET: u64 = 10_000_000;

use kexec_common::units::GIB;
use kexec_common::units::MIB;

/// What the search looks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Goal {
    /// The variant faults or fails the relocation check.
    Fault(Variant),
    /// Both variants load, and their entry lists differ.
    Differ(Variant, Variant),
    /// The two variants reach different verdicts.
    Verdict(Variant, Variant),
}

impl fmt::Display for Goal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Goal::Fault(v) => write!(f, "fault:{v}"),
            Goal::Differ(a, b) => write!(f, "differ:{a},{b}"),
            Goal::Verdict(a, b) => write!(f, "verdict:{a},{b}"),
        }
    }
}

fn variant(name: &str) -> Result<Variant, String> {
    Variant::from_name(name.trim()).ok_or_else(|| {
        let valid: Vec<_> = ALL_VARIANTS.iter().map(|v| v.name()).collect();
        format!("unknown variant \"{name}\" (valid: {})", valid.join(", "))
    })
}

impl Goal {
    /// Whether the goal's variants exist on `arch` (Xen's kimage is x86_64
    /// only); the message names the valid combinations.
    pub fn check_arch(&self, arch: crate::arch::Arch) -> Result<(), String> {
        crate::scenario::check_arch_variants(arch, &self.variants()).map_err(|e| e.message)
    }

    /// Parse `fault:VARIANT`, `differ:A,B` or `verdict:A,B`.
    pub fn parse(s: &str) -> Result<Goal, String> {
        const USAGE: &str = "goals are fault:VARIANT, differ:A,B or verdict:A,B";
        let (kind, rest) = s
            .split_once(':')
            .ok_or_else(|| format!("\"{s}\": {USAGE}"))?;
        let pair = || -> Result<(Variant, Variant), String> {
            let (a, b) = rest
                .split_once(',')
                .ok_or_else(|| format!("\"{s}\" needs two variants: {USAGE}"))?;
            let (a, b) = (variant(a)?, variant(b)?);
            if a == b {
                return Err(format!("\"{s}\" compares {a} with itself"));
            }
            Ok((a, b))
        };
        match kind {
            "fault" => Ok(Goal::Fault(variant(rest)?)),
            "differ" => pair().map(|(a, b)| Goal::Differ(a, b)),
            "verdict" => pair().map(|(a, b)| Goal::Verdict(a, b)),
            _ => Err(format!("unknown goal \"{kind}\": {USAGE}")),
        }
    }

    /// The variants the goal runs.
    pub fn variants(&self) -> Vec<Variant> {
        match *self {
            Goal::Fault(v) => vec![v],
            Goal::Differ(a, b) | Goal::Verdict(a, b) => vec![a, b],
        }
    }

    /// Whether the goal holds on `sc`.
    pub fn holds(&self, sc: &Scenario) -> bool {
        let opts = RunOptions {
            relocate: true,
            ..Default::default()
        };
        match *self {
            Goal::Fault(v) => {
                let r = run_variant(sc, v, opts);
                matches!(key(&r), Key::Fault(_) | Key::RelocFail)
            }
            Goal::Differ(a, b) => {
                let ra = run_variant(sc, a, RunOptions::default());
                if ra.outcome != Outcome::Loaded {
                    return false;
                }
                let rb = run_variant(sc, b, RunOptions::default());
                rb.outcome == Outcome::Loaded
                    && (ra.entries.len() != rb.entries.len()
                        || ra.entries.iter().zip(&rb.entries).any(|(x, y)| x.1 != y.1)
                        || ra.end_word != rb.end_word)
            }
            Goal::Verdict(a, b) => {
                let (ka, kb) = (
                    key(&run_variant(sc, a, opts)),
                    key(&run_variant(sc, b, opts)),
                );
                ka != kb && ka != Key::Model && kb != Key::Model
            }
        }
    }
}

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
        Search {
            variants: self.variants(),
            holds: Box::new(move |sc| self.holds(sc)),
            orders: Box::new(move |sc| {
                self.variants()
                    .into_iter()
                    .map(|v| allocation_order(sc, v))
                    .collect()
            }),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Key {
    Ok,
    RelocFail,
    Fault(std::borrow::Cow<'static, str>),
    Errno(Errno),
    /// Not a kernel outcome (replay error, model limit): never a verdict.
    Model,
}

fn key(r: &VariantRun) -> Key {
    match &r.outcome {
        Outcome::Loaded | Outcome::Unloaded => match r.relocation {
            Some(Relocation::Fail(_)) => Key::RelocFail,
            _ => Key::Ok,
        },
        Outcome::Stopped(Stop::Fault(f)) => Key::Fault(f.function.clone()),
        Outcome::Stopped(Stop::Errno { errno, .. }) => Key::Errno(*errno),
        Outcome::Stopped(_) => Key::Model,
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
    search_range_with(base, &goal.search(), seed, range)
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
    let r = run_variant(
        sc,
        v,
        RunOptions {
            trace: true,
            ..Default::default()
        },
    );
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

fn pages(sc: &Scenario) -> u64 {
    sc.segments.iter().map(|s| s.memsz / PAGE_SIZE).sum()
}

/// Drop list elements while the goal holds, until no single element can go
/// (1-minimal), trying halves, quarters, … first.
fn minimize_list(holds: &dyn Fn(&Scenario) -> bool, sc: &mut Scenario) {
    let Policy::Replay(list) = &sc.policy else {
        return;
    };
    let mut list = list.clone();
    let try_list = |l: &[u64], sc: &Scenario| {
        let mut t = sc.clone();
        t.policy = Policy::Replay(l.to_vec());
        holds(&t)
    };
    let mut chunk = list.len() / 2;
    while chunk >= 1 {
        let mut i = 0;
        while i < list.len() {
            let end = (i + chunk).min(list.len());
            let mut t = list.clone();
            t.drain(i..end);
            if try_list(&t, sc) {
                list = t;
            } else {
                i += chunk;
            }
        }
        chunk /= 2;
    }
    sc.policy = Policy::Replay(list);
}

/// Reduce a scenario on which `goal` holds to a small one on which it
/// still holds. Deterministic; every accepted step makes the case smaller.
pub fn shrink(goal: &Goal, found: &Scenario) -> Scenario {
    shrink_with(&goal.search(), found)
}

/// [`shrink`] for any [`Search`].
pub fn shrink_with(search: &Search, found: &Scenario) -> Scenario {
    let holds = |sc: &Scenario| (search.holds)(sc);
    let mut cur = found.clone();
    cur.variants = search.variants.clone();
    debug_assert!(holds(&cur));
    for _round in 0..4 {
        let before = (
            cur.segments.len(),
            pages(&cur),
            cur.ram.clone(),
            replay_len(&cur),
        );
        // Fewer segments.
        let mut i = 0;
        while i < cur.segments.len() && cur.segments.len() > 1 {
            let mut t = cur.clone();
            t.segments.remove(i);
            if holds(&t) {
                cur = t;
            } else {
                i += 1;
            }
        }
        // Smaller segments: halve, then one page less.
        for i in 0..cur.segments.len() {
            loop {
                let s = cur.segments[i];
                let pages = s.memsz / PAGE_SIZE;
                let mut done = true;
                for smaller in [pages / 2, pages.saturating_sub(1)] {
                    if smaller == 0 || smaller >= pages {
                        continue;
                    }
                    let mut t = cur.clone();
                    t.segments[i].memsz = smaller * PAGE_SIZE;
                    t.segments[i].bufsz = s.bufsz.min(smaller * PAGE_SIZE);
                    if holds(&t) {
                        cur = t;
                        done = false;
                        break;
                    }
                }
                if done {
                    break;
                }
            }
        }
        // Less RAM: drop ranges, then halve the last one while it still
        // covers every destination.
        let mut i = 0;
        while cur.ram.len() > 1 && i < cur.ram.len() {
            let mut t = cur.clone();
            t.ram.remove(i);
            if holds(&t) {
                cur = t;
            } else {
                i += 1;
            }
        }
        while let Some(&(s, e)) = cur.ram.last() {
            let need = cur
                .segments
                .iter()
                .map(|g| g.mem + g.memsz)
                .max()
                .unwrap_or(0)
                .max(s + 16 * MIB);
            // Round up: never below the end of a destination.
            let half = ((s + (e - s) / 2).max(need) + MIB - 1) & !(MIB - 1);
            if half <= s || half >= e {
                break;
            }
            let mut t = cur.clone();
            let n = t.ram.len();
            t.ram[n - 1].1 = half;
            t.movable.retain(|m| m.1 <= half);
            if holds(&t) {
                cur = t;
            } else {
                break;
            }
        }
        // The exact allocation order as a replay list, then shorten it.
        if !matches!(cur.policy, Policy::Replay(_)) {
            for order in (search.orders)(&cur) {
                let mut t = cur.clone();
                t.policy = Policy::Replay(order);
                if holds(&t) {
                    cur = t;
                    break;
                }
            }
        }
        minimize_list(&holds, &mut cur);
        if (
            cur.segments.len(),
            pages(&cur),
            cur.ram.clone(),
            replay_len(&cur),
        ) == before
        {
            break;
        }
    }
    cur
}

fn replay_len(sc: &Scenario) -> usize {
    match &sc.policy {
        Policy::Replay(l) => l.len(),
        _ => usize::MAX,
    }
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
