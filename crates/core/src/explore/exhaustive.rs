//! Exhaustive checking of small machines: every allocation order of up to
//! `max_calls` allocator calls, as TLC checks a bounded model.
//!
//! Pages no rule of the kimage code or the allocator can tell apart form a
//! class: never handed out, same zone, same side of the lowmem line,
//! KEXEC_SOURCE_MEMORY_LIMIT, the control and destination limits, 4 GiB
//! and the word-limit ceiling, and not a destination page. Each
//! destination page is its own class, and so is each page handed out
//! before (freed again, it is free but remembered). At each call the
//! search tries one page per class (its lowest free block): the class's
//! canonical representative, so every prefix it visits is a distinct
//! canonical state and no two orders it counts are the same up to
//! renaming pages within a class.
//!
//! Depth-first, in pfn order, deterministic: the same base gives the same
//! counts and the same first counterexample on any machine.

use super::goal::{key, lists_differ, Check, Goal, Key};
use crate::design::Variant;
use crate::gfp::{Gfp, Zone};
use crate::memory::Machine;
use crate::page_alloc::Policy;
use crate::run::{machine, run_variant, Outcome, RunOptions, VariantRun};
use crate::scenario::Scenario;
use std::collections::BTreeMap;

/// Most calls an exhaustive search may go deep.
pub const MAX_CALLS: usize = 64;

/// The search's bounds.
#[derive(Debug, Clone, Copy)]
pub struct ExhaustiveOptions {
    /// Orders of up to this many allocator calls.
    pub max_calls: usize,
    /// One page per class (true), or every free page (the soundness
    /// test's brute force, for tiny machines only).
    pub classes: bool,
}

impl Default for ExhaustiveOptions {
    fn default() -> Self {
        ExhaustiveOptions {
            max_calls: 20,
            classes: true,
        }
    }
}

/// TLC-like statistics, growing as the search runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Complete allocation orders judged (every design's load ended).
    pub orders: u64,
    /// Distinct canonical states (prefixes) visited.
    pub states: u64,
    /// Page classes of the machine before the first call.
    pub classes: usize,
    /// Deepest prefix reached (allocator calls).
    pub depth: usize,
    /// Orders cut at `max_calls` (a design wanted more pages): not judged.
    pub cut: u64,
    /// Choices one design's call could take and another's could not
    /// (same-order goals): skipped, never judged.
    pub ineligible: u64,
    /// Per design, how many judged orders ended with each verdict.
    pub verdicts: Vec<(Variant, BTreeMap<String, u64>)>,
}

/// How an exhaustive search ended.
#[derive(Debug, Clone)]
pub enum Exhaustive {
    /// The first order (depth-first) on which the goal holds, as a replay
    /// scenario (unshrunk).
    Found(Scenario, Stats),
    /// Every order of up to `max_calls` calls was judged: the goal holds on
    /// none.
    Claim(Stats),
    /// The caller stopped it (clock or cancel) before the end.
    Stopped(Stats),
}

impl Exhaustive {
    /// The statistics.
    pub fn stats(&self) -> &Stats {
        match self {
            Exhaustive::Found(_, s) | Exhaustive::Claim(s) | Exhaustive::Stopped(s) => s,
        }
    }
}

/// A class of pages: its key and pfn ranges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classes {
    /// Each class's pfn ranges, in key order.
    pub ranges: Vec<Vec<(u64, u64)>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum ClassKey {
    Fresh { zone: Zone, sides: u8 },
    Dest(u64),
}

/// The never-handed-out classes of `m` with destination pfn ranges `dests`.
pub fn classes(m: &Machine, dests: &[(u64, u64)]) -> Classes {
    let a = m.arch;
    let mut lines: Vec<u64> = vec![
        a.lowmem_end.unwrap_or(u64::MAX) >> 12,
        (a.source_limit >> 12).saturating_add(1),
        (a.control_limit >> 12).saturating_add(1),
        (a.destination_limit >> 12).saturating_add(1),
        1 << 20,
    ];
    if a.word_bits < 64 {
        lines.push((a.word_mask() >> 12) + 1);
    }
    let mut map: BTreeMap<ClassKey, Vec<(u64, u64)>> = BTreeMap::new();
    for zone in [
        Zone::Dma,
        Zone::Dma32,
        Zone::Normal,
        Zone::HighMem,
        Zone::Movable,
    ] {
        for (s, e) in m.zone_ranges(zone) {
            let mut cuts: Vec<u64> = lines
                .iter()
                .copied()
                .chain(dests.iter().flat_map(|&(ds, de)| [ds, de]))
                .filter(|&c| c > s && c < e)
                .collect();
            cuts.push(s);
            cuts.push(e);
            cuts.sort_unstable();
            cuts.dedup();
            for w in cuts.windows(2) {
                let (ps, pe) = (w[0], w[1]);
                if dests.iter().any(|&(ds, de)| ps >= ds && ps < de) {
                    for p in ps..pe {
                        map.entry(ClassKey::Dest(p)).or_default().push((p, p + 1));
                    }
                } else {
                    let sides = lines
                        .iter()
                        .enumerate()
                        .fold(0u8, |acc, (i, &l)| acc | (u8::from(ps >= l) << i));
                    map.entry(ClassKey::Fresh { zone, sides })
                        .or_default()
                        .push((ps, pe));
                }
            }
        }
    }
    Classes {
        ranges: map.into_values().collect(),
    }
}

/// One design's run on a prefix: ended, or waiting for the next call.
struct Node {
    run: VariantRun,
    /// The next call's gfp and order, when the prefix ran out.
    next: Option<(Gfp, u32)>,
}

/// Check `goal` over every allocation order of up to `opts.max_calls` calls
/// on `base`'s machine and segments. `keep_going` sees the statistics as
/// they grow (every 256 states) and stops the search by returning false.
pub fn exhaustive(
    base: &Scenario,
    goal: &Goal,
    opts: ExhaustiveOptions,
    keep_going: &mut dyn FnMut(&Stats) -> bool,
) -> Result<Exhaustive, String> {
    if matches!(goal, Goal::DifferPolicy(..) | Goal::VerdictPolicy(..)) {
        return Err(format!(
            "{goal}: each design with its own allocator stream has no one order to enumerate; exhaustive mode checks fault:V, differ:A,B and verdict:A,B"
        ));
    }
    let max_calls = opts.max_calls.clamp(1, MAX_CALLS);
    let variants = goal.variants();
    let m = machine(base);
    let dests: Vec<(u64, u64)> = base
        .segments
        .iter()
        .filter(|s| s.memsz > 0)
        .map(|s| (s.mem >> 12, (s.mem + s.memsz).div_ceil(4096)))
        .collect();
    let cls = classes(&m, &dests);
    let run_opts = RunOptions {
        relocate: !matches!(goal, Goal::Differ(..)),
        ..Default::default()
    };
    let mut stats = Stats {
        classes: cls.ranges.len(),
        verdicts: variants.iter().map(|&v| (v, BTreeMap::new())).collect(),
        ..Default::default()
    };
    let mut sc = base.clone();
    sc.variants = variants.clone();
    // The stack holds prefixes of (pfn, order) to visit, last on top.
    let mut stack: Vec<Vec<(u64, u32)>> = vec![Vec::new()];
    while let Some(prefix) = stack.pop() {
        stats.states += 1;
        stats.depth = stats.depth.max(prefix.len());
        if stats.states.is_multiple_of(256) && !keep_going(&stats) {
            return Ok(Exhaustive::Stopped(stats));
        }
        sc.policy = Policy::Replay(prefix.iter().map(|p| p.0).collect());
        let mut nodes: Vec<Node> = variants
            .iter()
            .map(|&v| {
                let run = run_variant(&sc, v, run_opts);
                let next = run.kimage.allocator().replay_ran_out();
                Node { run, next }
            })
            .collect();
        let waiting: Vec<usize> = (0..nodes.len())
            .filter(|&i| nodes[i].next.is_some())
            .collect();
        if !waiting.is_empty() {
            let (children, skipped) =
                choices(&m, &cls, &prefix, &mut nodes, &waiting, opts.classes);
            if !children.is_empty() {
                stats.ineligible += skipped;
                if prefix.len() >= max_calls {
                    stats.cut += 1;
                    continue;
                }
                for c in children.into_iter().rev() {
                    let mut p = prefix.clone();
                    p.push(c);
                    stack.push(p);
                }
                continue;
            }
            // No page is left for the call: the allocation fails, as the
            // kernel's would, and the runs as they are are the outcome.
        }
        stats.orders += 1;
        for (i, n) in nodes.iter().enumerate() {
            *stats.verdicts[i]
                .1
                .entry(key(&n.run).to_string())
                .or_default() += 1;
        }
        if judge(goal, &nodes) == Check::Hit {
            return Ok(Exhaustive::Found(sc, stats));
        }
    }
    Ok(Exhaustive::Claim(stats))
}

/// The goal on one order's finished runs.
fn judge(goal: &Goal, nodes: &[Node]) -> Check {
    let hit = |b: bool| if b { Check::Hit } else { Check::Miss };
    match goal {
        Goal::Fault(_) => hit(matches!(key(&nodes[0].run), Key::Fault(_) | Key::RelocFail)),
        Goal::Differ(..) => {
            hit(nodes[0].run.outcome == Outcome::Loaded
                && lists_differ(&nodes[0].run, &nodes[1].run))
        }
        _ => {
            let (ka, kb) = (key(&nodes[0].run), key(&nodes[1].run));
            hit(ka != kb && ka != Key::Model && kb != Key::Model)
        }
    }
}

/// The next call's choices: one block per class that every waiting design's
/// call may take now, in pfn order; and how many blocks only some could take.
fn choices(
    m: &Machine,
    cls: &Classes,
    prefix: &[(u64, u32)],
    nodes: &mut [Node],
    waiting: &[usize],
    classes: bool,
) -> (Vec<(u64, u32)>, u64) {
    let order = waiting
        .iter()
        .map(|&i| nodes[i].next.expect("waiting").1)
        .max()
        .unwrap_or(0);
    let n = 1u64 << order;
    let handed = |p: u64| prefix.iter().any(|&(q, o)| p < q + (1 << o) && q < p + n);
    let mut cand: Vec<u64> = Vec::new();
    for ranges in &cls.ranges {
        'class: for &(s, e) in ranges {
            let mut x = s.next_multiple_of(n);
            while x + n <= e {
                if !handed(x) {
                    cand.push(x);
                    if classes {
                        break 'class;
                    }
                }
                x += n;
            }
        }
    }
    // Pages handed out before: each its own class (tried if free now).
    for &(q, _) in prefix {
        let x = q - q % n;
        cand.push(x);
    }
    cand.sort_unstable();
    cand.dedup();
    let mut out = Vec::new();
    let mut skipped = 0;
    for x in cand {
        let ok: Vec<bool> = waiting
            .iter()
            .map(|&i| {
                let (gfp, o) = nodes[i].next.expect("waiting");
                let alloc = nodes[i].run.kimage.allocator_mut();
                alloc.problem_at_ran_out(m, gfp, o, x).is_none()
            })
            .collect();
        if ok.iter().all(|&b| b) {
            out.push((x, order));
        } else if ok.iter().any(|&b| b) {
            skipped += 1;
        }
    }
    (out, skipped)
}

/// The claim an exhaustive search that found nothing makes.
pub fn claim(goal: &Goal, opts: ExhaustiveOptions, stats: &Stats) -> String {
    let cut = if stats.cut > 0 {
        format!(
            " ({} longer orders cut at {} calls, not judged)",
            stats.cut, opts.max_calls
        )
    } else {
        String::new()
    };
    format!(
        "no {} for goal {goal} over all {} orders of up to {} calls on this machine{cut}",
        match goal {
            Goal::Fault(_) => "fault",
            Goal::Differ(..) => "difference",
            _ => "verdict difference",
        },
        stats.orders,
        opts.max_calls
    )
}
