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
//! canonical representative.
//!
//! Level by level with a visited set: each prefix's designs are run to
//! their next allocator call and stopped there, and their kimages, hashed
//! ([`state_key`]), are the prefix's canonical state. Orders that reach
//! one state of a level (pages parked on dest_pages in another order, say)
//! are merged: the state is expanded once and its orders counted once per
//! prefix reaching it. Each level is expanded on `jobs` threads and merged
//! in order.
//!
//! Deterministic: the same base gives the same counts and the same first
//! counterexample on any machine and any number of threads.

use super::goal::{key, lists_differ, Check, Goal, Key};
use crate::design::Variant;
use crate::gfp::{Gfp, Zone};
use crate::kimage::Kimage;
use crate::memory::Machine;
use crate::page_alloc::Policy;
use crate::run::{machine, run_variant, run_variant_to_choice_in, Outcome, RunOptions, VariantRun};
use crate::scenario::Scenario;
use rustc_hash::FxHashMap;
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};

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
    /// Merge the orders that reach one canonical state (true), or search
    /// every prefix (the soundness test's reference).
    pub visited: bool,
    /// Threads (1: the caller's own; the result is the same on any
    /// number).
    pub jobs: usize,
}

impl Default for ExhaustiveOptions {
    fn default() -> Self {
        ExhaustiveOptions {
            max_calls: 20,
            classes: true,
            visited: true,
            jobs: 1,
        }
    }
}

/// TLC-like statistics, growing as the search runs. Counts of orders
/// (and of cut orders and ineligible choices, per order) saturate at
/// `u64::MAX`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Complete allocation orders covered (every design's load ended):
    /// judged, or below a state met before (counted with that state's
    /// subtree).
    pub orders: u64,
    /// Orders the search ran and judged itself.
    pub judged: u64,
    /// Distinct canonical states visited.
    pub states: u64,
    /// States met again and skipped (their subtree's counts added).
    pub seen: u64,
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

/// A 128-bit hash: the words fed are gathered, then hashed in one pass
/// by SipHash-1-3 with its 128-bit output ([`sip128`]; one long write:
/// many small writes cost more than the hashing). The buffer is the
/// worker's, reused from state to state.
struct Fingerprint<'a>(&'a mut Vec<u8>);

impl<'a> Fingerprint<'a> {
    fn new(buf: &'a mut Vec<u8>) -> Self {
        buf.clear();
        Fingerprint(buf)
    }

    fn value(&self) -> u128 {
        sip128::<1, 3>(0x6b65_7865_635f_7370, 0x6578_6861_7573_7476, self.0)
    }
}

/// SipHash-c-d of `msg` under the key (k0, k1) with the 128-bit output
/// (Aumasson and Bernstein's reference: v1 ^= 0xee at the start, v2 ^= 0xee
/// and v1 ^= 0xdd before the two halves of the finalization), as one
/// u128, first half in the high bits. Rust's std keeps its own SipHash
/// private and 64-bit; this gives the fingerprint 128 bits in one pass
/// (two 64-bit passes cost twice as much).
fn sip128<const C: usize, const D: usize>(k0: u64, k1: u64, msg: &[u8]) -> u128 {
    let mut v = [
        k0 ^ 0x736f_6d65_7073_6575,
        k1 ^ 0x646f_7261_6e64_6f6d ^ 0xee,
        k0 ^ 0x6c79_6765_6e65_7261,
        k1 ^ 0x7465_6462_7974_6573,
    ];
    let round = |v: &mut [u64; 4]| {
        v[0] = v[0].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(13) ^ v[0];
        v[0] = v[0].rotate_left(32);
        v[2] = v[2].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(16) ^ v[2];
        v[0] = v[0].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(21) ^ v[0];
        v[2] = v[2].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(17) ^ v[2];
        v[2] = v[2].rotate_left(32);
    };
    let compress = |v: &mut [u64; 4], m: u64| {
        v[3] ^= m;
        for _ in 0..C {
            round(v);
        }
        v[0] ^= m;
    };
    let words = msg.chunks_exact(8);
    let tail = words.remainder();
    for w in words {
        compress(&mut v, u64::from_le_bytes(w.try_into().expect("8 bytes")));
    }
    let mut last = (msg.len() as u64) << 56;
    for (i, &b) in tail.iter().enumerate() {
        last |= u64::from(b) << (8 * i);
    }
    compress(&mut v, last);
    v[2] ^= 0xee;
    for _ in 0..D {
        round(&mut v);
    }
    let hi = v[0] ^ v[1] ^ v[2] ^ v[3];
    v[1] ^= 0xdd;
    for _ in 0..D {
        round(&mut v);
    }
    let lo = v[0] ^ v[1] ^ v[2] ^ v[3];
    u128::from(hi) << 64 | u128::from(lo)
}

impl Hasher for Fingerprint<'_> {
    fn write(&mut self, bytes: &[u8]) {
        self.0.extend_from_slice(bytes);
        // The length too: two writes never read as one.
        self.0
            .extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    }

    fn write_u8(&mut self, x: u8) {
        self.0.push(x);
    }

    fn write_u32(&mut self, x: u32) {
        self.0.extend_from_slice(&x.to_le_bytes());
    }

    fn write_u64(&mut self, x: u64) {
        self.0.extend_from_slice(&x.to_le_bytes());
    }

    fn write_usize(&mut self, x: usize) {
        self.write_u64(x as u64);
    }

    fn finish(&self) -> u64 {
        (self.value() >> 64) as u64
    }
}

/// The canonical state after `depth` calls: per design, where it waits
/// (the next call's gfp and order, and [`crate::kimage::Kimage::hash_state`]
/// of its kimage stopped at that call), or how it ended (its verdict and,
/// loaded, its list: all a goal reads of a finished run).
///
/// Why the orders reaching one state can be merged: the designs and the
/// allocator are deterministic, so what the rest of a load does with the
/// pages it is handed is a function of the hashed state (see
/// [`crate::kimage::Kimage::hash_state`] for what it holds and why the
/// rest is not read); the choices the next call gets ([`choices`]) are a
/// function of the pages in use, their roles and the classes, all hashed;
/// and states are merged within one level (one depth), so the call bound
/// cuts the same orders below both. Every extension of one prefix is
/// therefore judged as the same extension of the other: same verdicts,
/// same hits, and a merged state's counts are its first prefix's times the
/// number of prefixes reaching it. The state kept is the first prefix's in
/// level order, so the first counterexample is the one the search without
/// merging finds. `tests/exhaustive.rs` checks both searches give the
/// same answer, counterexample and counts on small machines for every
/// goal kind. A 128-bit hash stands for the state: two states that differ
/// share one with odds of about n^2 / 2^129 for n states.
fn state_key(depth: usize, nodes: &[Node], buf: &mut Vec<u8>) -> u128 {
    let mut h = Fingerprint::new(buf);
    depth.hash(&mut h);
    for n in nodes {
        match n.next {
            Some((gfp, order)) => {
                (1u8, gfp, order).hash(&mut h);
                n.run.kimage.hash_state(&mut h);
            }
            None => {
                (
                    2u8,
                    key(&n.run).to_string(),
                    n.run.outcome == Outcome::Loaded,
                )
                    .hash(&mut h);
                for w in n.run.entries.words() {
                    w.hash(&mut h);
                }
                n.run.end_word.hash(&mut h);
            }
        }
    }
    h.value()
}

/// One allocator call's page: its first pfn and order.
type Call = (u64, u32);

/// A state to expand: its prefix and the next call's choices.
type Work<'a> = (Vec<Call>, &'a [Call]);

/// What a state's runs say about where the search goes from it.
enum Info {
    /// Every design's load ended, or no page is left for the next call
    /// (the allocation fails, as the kernel's would): an order, judged.
    Leaf {
        /// Each design's verdict.
        verdicts: Vec<String>,
        /// Whether the goal holds.
        hit: bool,
    },
    /// The next call's choices, and how many blocks only some waiting
    /// designs could take (ineligible).
    Inner {
        choices: Vec<(u64, u32)>,
        skipped: u64,
    },
}

/// A distinct state of the level being built: how it was first reached
/// (its parent's index in the level above and the page the call got), how
/// many orders reach it, and what its runs say.
struct Open {
    parent: u32,
    choice: (u64, u32),
    paths: u64,
    info: Info,
}

/// One worker's own: the scenario its runs replay (its policy the prefix
/// being run), the fingerprint buffer, and the kimages of its finished
/// runs, recycled by the next ones ([`Kimage::recycle`]: a run of a few
/// pages otherwise spends most of its time making and dropping tables).
struct Worker {
    sc: Scenario,
    fp: Vec<u8>,
    pool: Vec<Kimage>,
}

impl Worker {
    fn new(base: &Scenario) -> Self {
        Worker {
            sc: base.clone(),
            fp: Vec::with_capacity(2048),
            pool: Vec::new(),
        }
    }

    /// Take back the kimages of runs the worker is done with.
    fn recycle(&mut self, nodes: Vec<Node>) {
        self.pool.extend(nodes.into_iter().map(|n| n.run.kimage));
    }
}

/// What the workers share: the machine, the goal and the options.
struct Ctx<'a> {
    base: Scenario,
    goal: &'a Goal,
    m: Machine,
    cls: Classes,
    run_opts: RunOptions,
    opts: ExhaustiveOptions,
}

impl Ctx<'_> {
    /// Every design on `prefix`, each stopped at its next call (`stop`) or
    /// failing it as the kernel's allocator would.
    fn run(&self, w: &mut Worker, prefix: &[(u64, u32)], stop: bool) -> Vec<Node> {
        match &mut w.sc.policy {
            Policy::Replay(list) => {
                list.clear();
                list.extend(prefix.iter().map(|p| p.0));
            }
            p => *p = Policy::Replay(prefix.iter().map(|p| p.0).collect()),
        }
        let sc = &w.sc;
        let pool = &mut w.pool;
        sc.variants
            .iter()
            .map(|&v| {
                let run = if stop {
                    run_variant_to_choice_in(sc, v, self.run_opts, pool.pop())
                } else {
                    run_variant(sc, v, self.run_opts)
                };
                let next = run.kimage.allocator().replay_ran_out();
                Node { run, next }
            })
            .collect()
    }

    /// The state `prefix` reaches: its key (with the visited set) and what
    /// its runs say.
    fn expand(&self, w: &mut Worker, prefix: &[(u64, u32)]) -> (u128, Info) {
        let mut nodes = self.run(w, prefix, true);
        let state = if self.opts.visited {
            state_key(prefix.len(), &nodes, &mut w.fp)
        } else {
            0
        };
        let waiting: Vec<usize> = (0..nodes.len())
            .filter(|&i| nodes[i].next.is_some())
            .collect();
        if !waiting.is_empty() {
            let (choices, skipped) = choices(
                &self.m,
                &self.cls,
                prefix,
                &mut nodes,
                &waiting,
                self.opts.classes,
            );
            if !choices.is_empty() {
                w.recycle(nodes);
                return (state, Info::Inner { choices, skipped });
            }
            let stopped = std::mem::replace(&mut nodes, self.run(w, prefix, false));
            w.recycle(stopped);
        }
        let verdicts = nodes.iter().map(|n| key(&n.run).to_string()).collect();
        let hit = judge(self.goal, &nodes) == Check::Hit;
        w.recycle(nodes);
        (state, Info::Leaf { verdicts, hit })
    }

    /// Expand every choice of the states `parents` (prefix, choices), in
    /// order, on `jobs` threads; the result does not depend on `jobs`.
    fn expand_all(&self, parents: &[Work], jobs: usize) -> Vec<Vec<(u128, Info)>> {
        let one = |w: &mut Worker, (prefix, choices): &Work| {
            let mut p = prefix.clone();
            choices
                .iter()
                .map(|&c| {
                    p.push(c);
                    let r = self.expand(w, &p);
                    p.pop();
                    r
                })
                .collect::<Vec<_>>()
        };
        crate::jobs::map(parents, jobs, || Worker::new(&self.base), one)
    }
}

/// Parents expanded per batch (per thread): between batches the caller's
/// `keep_going` may stop the search.
const BATCH: usize = 256;

/// Check `goal` over every allocation order of up to `opts.max_calls` calls
/// on `base`'s machine and segments. `keep_going` sees the statistics as
/// they grow (every 256 distinct states) and stops the search by returning
/// false.
///
/// Level by level (the states after 0, 1, 2, ... calls), as TLC does:
/// each level's states are expanded in order, on `opts.jobs` threads, and
/// their children merged in that order into the next level, a child whose
/// canonical state is already there adding its orders to it (the visited
/// set). The order of a level is that of the first prefix reaching each
/// state, so the result, the counts and the counterexample (the first
/// order meeting the goal among the shortest) do not depend on the
/// number of threads.
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
    let variants = goal.variants();
    let m = machine(base);
    let dests: Vec<(u64, u64)> = base
        .segments
        .iter()
        .filter(|s| s.memsz > 0)
        .map(|s| (s.mem >> 12, (s.mem + s.memsz).div_ceil(4096)))
        .collect();
    let cls = classes(&m, &dests);
    let mut sc = base.clone();
    sc.variants = variants.clone();
    let max_calls = opts.max_calls.clamp(1, MAX_CALLS);
    let jobs = opts.jobs.max(1);
    let mut stats = Stats {
        classes: cls.ranges.len(),
        verdicts: variants.iter().map(|&v| (v, BTreeMap::new())).collect(),
        ..Default::default()
    };
    let ctx = Ctx {
        base: sc.clone(),
        goal,
        m,
        cls,
        run_opts: RunOptions {
            relocate: !matches!(goal, Goal::Differ(..)),
            ..Default::default()
        },
        opts,
    };
    // back[d][i]: the parent (in level d - 1) and choice of level d's
    // state i, to rebuild its prefix.
    let mut back: Vec<Vec<(u32, (u64, u32))>> = Vec::new();
    let prefix_of = |back: &[Vec<(u32, (u64, u32))>], d: usize, mut i: usize| {
        let mut p = Vec::with_capacity(d);
        for level in back[1..=d].iter().rev() {
            let (parent, c) = level[i];
            p.push(c);
            i = parent as usize;
        }
        p.reverse();
        p
    };
    let (_, info) = ctx.expand(&mut Worker::new(&sc), &[]);
    let mut level = vec![Open {
        parent: 0,
        choice: (0, 0),
        paths: 1,
        info,
    }];
    stats.states = 1;
    for depth in 0.. {
        back.push(level.iter().map(|o| (o.parent, o.choice)).collect());
        stats.depth = depth;
        // Judge this level's orders, count its cuts; the rest are parents.
        let mut parents: Vec<(usize, u64, &[Call])> = Vec::new();
        for (i, o) in level.iter().enumerate() {
            match &o.info {
                Info::Leaf { verdicts, hit } => {
                    stats.orders = stats.orders.saturating_add(o.paths);
                    stats.judged += 1;
                    for (k, v) in verdicts.iter().enumerate() {
                        let n = stats.verdicts[k].1.entry(v.clone()).or_default();
                        *n = n.saturating_add(o.paths);
                    }
                    if *hit {
                        let mut found = sc.clone();
                        found.policy = Policy::Replay(
                            prefix_of(&back, depth, i).iter().map(|p| p.0).collect(),
                        );
                        return Ok(Exhaustive::Found(found, stats));
                    }
                }
                Info::Inner { choices, skipped } => {
                    stats.ineligible = stats
                        .ineligible
                        .saturating_add(skipped.saturating_mul(o.paths));
                    if depth >= max_calls {
                        stats.cut = stats.cut.saturating_add(o.paths);
                    } else {
                        parents.push((i, o.paths, choices));
                    }
                }
            }
        }
        if parents.is_empty() {
            return Ok(Exhaustive::Claim(stats));
        }
        let mut next: Vec<Open> = Vec::new();
        let mut seen: FxHashMap<u128, u32> = FxHashMap::default();
        for batch in parents.chunks(BATCH * jobs) {
            let work: Vec<Work> = batch
                .iter()
                .map(|&(i, _, choices)| (prefix_of(&back, depth, i), choices))
                .collect();
            let results = ctx.expand_all(&work, jobs);
            for (&(i, paths, choices), children) in batch.iter().zip(results) {
                for (&c, (key, info)) in choices.iter().zip(children) {
                    if opts.visited {
                        if let Some(&j) = seen.get(&key) {
                            let p = &mut next[j as usize].paths;
                            *p = p.saturating_add(paths);
                            stats.seen += 1;
                            continue;
                        }
                        seen.insert(key, next.len() as u32);
                    }
                    next.push(Open {
                        parent: i as u32,
                        choice: c,
                        paths,
                        info,
                    });
                    stats.states += 1;
                    if stats.states.is_multiple_of(256) && !keep_going(&stats) {
                        return Ok(Exhaustive::Stopped(stats));
                    }
                }
            }
        }
        level = next;
    }
    unreachable!("the call bound ends the levels")
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
        let mut fit = 0;
        for &i in waiting {
            let (gfp, o) = nodes[i].next.expect("waiting");
            let alloc = nodes[i].run.kimage.allocator_mut();
            fit += usize::from(alloc.fits_at_ran_out(m, gfp, o, x));
        }
        if fit == waiting.len() {
            out.push((x, order));
        } else if fit > 0 {
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

#[cfg(test)]
mod tests {
    use super::sip128;

    /// The reference's first 128-bit test vector (key 00..0f, empty
    /// message) for SipHash-2-4: the same code with C = 1, D = 3 is the
    /// fingerprint.
    #[test]
    fn sip128_matches_the_reference() {
        let k0 = u64::from_le_bytes([0, 1, 2, 3, 4, 5, 6, 7]);
        let k1 = u64::from_le_bytes([8, 9, 10, 11, 12, 13, 14, 15]);
        let out = sip128::<2, 4>(k0, k1, &[]);
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&((out >> 64) as u64).to_le_bytes());
        bytes[8..].copy_from_slice(&(out as u64).to_le_bytes());
        assert_eq!(
            bytes,
            [
                0xa3, 0x81, 0x7f, 0x04, 0xba, 0x25, 0xa8, 0xe6, 0x6d, 0xf6, 0x72, 0x14, 0xc7, 0x55,
                0x02, 0x93
            ]
        );
    }
}
