//! Property tests over random small machines and scenarios.
//!
//! Every property runs with a fixed seed (the same cases on every run) and
//! no failure-persistence file, so the suite is deterministic.

use kexec_core::arch::{Arch, PAGE_SIZE};
use kexec_core::design::{Variant, ALL_VARIANTS};
use kexec_core::entry::{decode, EntryKind, IND_SOURCE};
use kexec_core::errno::Errno;
use kexec_core::kimage::{Segment, Stop};
use kexec_core::link;
use kexec_core::page_alloc::Policy;
use kexec_core::presets;
use kexec_core::relocate::Relocation;
use kexec_core::run::{run_variant, Outcome, RunOptions, Unload, VariantRun};
use kexec_core::scenario::Scenario;
use kexec_core::summary::{summarize, MAP_ROLES};
use kexec_core::trace::{Event, Pos};
use proptest::prelude::*;
use proptest::test_runner::RngSeed;
use serde_json::Value;
use std::collections::{HashMap, HashSet};

use kexec_common::units::GIB;
use kexec_common::units::MIB;
const PAIR: [Variant; 2] = [Variant::Pointer, Variant::RfcFixed];

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        rng_seed: RngSeed::Fixed(0x6b65_7865_635f_7369),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------
// Scenario generation
// ---------------------------------------------------------------------

/// The raw numbers a scenario is built from (shrinks well, prints well).
#[derive(Debug, Clone)]
struct Params {
    arch: Arch,
    /// Total RAM in MiB (16..=512).
    total_mib: u64,
    /// Optional second RAM range: (where: 0 after a gap, 1 at 1 GiB,
    /// 2 at 4 GiB or 1 GiB on i386; percent of RAM in the first range; gap MiB).
    hole: Option<(u8, u64, u64)>,
    /// Which RAM range the segments start in, where in it (percent), and how
    /// many pages before that point (so segments may start below RAM).
    anchor: (usize, u64, u64),
    /// Per segment: (pages 0..=600, bufsz percent of memsz, gap pages before).
    segs: Vec<(u64, u64, u64)>,
    /// Rotate the segment order by this much (segments need not be sorted).
    rotate: usize,
    policy: Policy,
}

fn arch_strategy() -> impl Strategy<Value = Arch> {
    prop_oneof![Just(Arch::I386), Just(Arch::I386Pae), Just(Arch::X86_64)]
}

fn policy_strategy() -> impl Strategy<Value = Policy> {
    prop_oneof![
        Just(Policy::LowestFirst),
        Just(Policy::HighestFirst),
        any::<u64>().prop_map(Policy::Random),
        any::<u64>().prop_map(Policy::Adversarial),
    ]
}

fn params(max_mib: u64, max_pages: u64) -> impl Strategy<Value = Params> {
    (
        arch_strategy(),
        // Small machines often, so rule 6 (more than half of RAM) triggers.
        prop_oneof![16..=18u64, 16..=max_mib],
        proptest::option::of((0u8..3, 5u64..=95, 1u64..=64)),
        (0usize..2, 0u64..=100, 0u64..=64),
        proptest::collection::vec(
            (
                prop_oneof![0..=max_pages, max_pages * 5 / 6..=max_pages],
                0u64..=100,
                0u64..=64,
            ),
            1..=4,
        ),
        0usize..4,
        policy_strategy(),
    )
        .prop_map(
            |(arch, total_mib, hole, anchor, segs, rotate, policy)| Params {
                arch,
                total_mib,
                hole,
                anchor,
                segs,
                rotate,
                policy,
            },
        )
}

impl Params {
    fn ram(&self) -> Vec<(u64, u64)> {
        let t = self.total_mib;
        match self.hole {
            None => vec![(0, t * MIB)],
            Some((kind, pct, gap)) => {
                let a = (t * pct / 100).clamp(8, t - 8);
                let b = t - a;
                let start2 = match (kind, self.arch) {
                    (0, _) => (a + gap) * MIB,
                    (1, _) | (_, Arch::I386) => GIB,
                    _ => 4 * GIB,
                };
                vec![(0, a * MIB), (start2, start2 + b * MIB)]
            }
        }
    }

    fn scenario(&self) -> Scenario {
        let ram = self.ram();
        // 32-bit: segments start in a range below 4 GiB.
        let eligible: Vec<(u64, u64)> = ram
            .iter()
            .copied()
            .filter(|&(_, e)| self.arch != Arch::I386Pae || e <= 4 * GIB)
            .collect();
        let (s, e) = eligible[self.anchor.0 % eligible.len()];
        let (sp, ep) = (s / PAGE_SIZE, e / PAGE_SIZE);
        let mut cursor = (sp + (ep - sp) * self.anchor.1 / 100).saturating_sub(self.anchor.2);
        let mut segments = Vec::new();
        for &(pages, pct, gap) in &self.segs {
            cursor += gap;
            let memsz = pages * PAGE_SIZE;
            segments.push(Segment {
                bufsz: memsz * pct / 100,
                mem: cursor * PAGE_SIZE,
                memsz,
            });
            cursor += pages;
        }
        let n = segments.len();
        segments.rotate_left(self.rotate % n);
        Scenario {
            arch: self.arch,
            ram,
            movable: vec![],
            lowmem_end: None,
            segments,
            policy: self.policy.clone(),
            variants: PAIR.to_vec(),
            source_movable: false,
            kernels: vec![],
        }
    }
}

fn is_ram(sc: &Scenario, addr: u64) -> bool {
    sc.ram.iter().any(|&(s, e)| s <= addr && addr < e)
}

/// Every destination page of every segment is RAM.
fn all_destinations_ram(sc: &Scenario) -> bool {
    sc.segments
        .iter()
        .all(|g| (0..g.memsz / PAGE_SIZE).all(|j| is_ram(sc, g.mem + j * PAGE_SIZE)))
}

/// sanity_check_segment_list rule 6, the only rule generated scenarios can
/// break.
fn more_than_half(sc: &Scenario) -> bool {
    let half = sc.ram.iter().map(|(s, e)| (e - s) / PAGE_SIZE).sum::<u64>() / 2;
    let pages: Vec<u64> = sc.segments.iter().map(|g| g.memsz / PAGE_SIZE).collect();
    pages.iter().any(|&p| p > half) || pages.iter().sum::<u64>() > half
}

fn in_any_segment(sc: &Scenario, addr: u64) -> bool {
    sc.segments
        .iter()
        .any(|g| g.mem <= addr && addr < g.mem + g.memsz)
}

fn destinations(r: &VariantRun) -> Vec<u64> {
    r.entries
        .iter()
        .filter_map(|(_, e)| match decode(e) {
            EntryKind::Destination(a) => Some(a),
            _ => None,
        })
        .collect()
}

// ---------------------------------------------------------------------
// Loading, relocation, arch limits, unload
// ---------------------------------------------------------------------

/// The outcome a valid generated scenario must have, checked in full.
fn check_outcome(sc: &Scenario, r: &VariantRun) -> Result<(), TestCaseError> {
    let v = r.variant;
    match &r.outcome {
        Outcome::Loaded => {
            prop_assert!(!more_than_half(sc), "{v}: loaded past rule 6");
            prop_assert_eq!(r.end_word, 4, "{}: no IND_DONE", v);
            let rel = r.relocation.as_ref().expect("relocation ran");
            if all_destinations_ram(sc) {
                let pages = sc.segments.iter().map(|g| g.memsz / PAGE_SIZE).sum();
                prop_assert_eq!(rel, &Relocation::Ok { copies: pages }, "{}", v);
            } else {
                // A segment placed (partly) outside RAM loads and fails here.
                match rel {
                    Relocation::Fail(why) => {
                        prop_assert!(why.contains("is not RAM"), "{}: {}", v, why)
                    }
                    ok => prop_assert!(false, "{v}: destination outside RAM, got {ok:?}"),
                }
            }
        }
        Outcome::Stopped(Stop::Errno { errno, reason }) => {
            if more_than_half(sc) {
                prop_assert_eq!(*errno, Errno::EINVAL, "{}: {}", v, reason);
                prop_assert!(reason.contains("more than half"), "{v}: {reason}");
            } else {
                // Nothing else in a generated scenario breaks a rule; the
                // only other way out is running out of pages.
                prop_assert_eq!(*errno, Errno::ENOMEM, "{}: {}", v, reason);
            }
        }
        other => prop_assert!(false, "{v}: {other:?}"),
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(64))]

    /// pointer and rfc-fixed each load and relocate correctly or stop with
    /// a kernel errno, never a fault; when both load, the lists have the
    /// same length and the same DESTINATION entries.
    #[test]
    fn pointer_and_rfc_fixed_load_or_stop_with_errno(p in params(512, 600)) {
        let sc = p.scenario();
        let opts = RunOptions { relocate: true, ..Default::default() };
        let a = run_variant(&sc, Variant::Pointer, opts);
        let b = run_variant(&sc, Variant::RfcFixed, opts);
        check_outcome(&sc, &a)?;
        check_outcome(&sc, &b)?;
        if a.outcome == Outcome::Loaded && b.outcome == Outcome::Loaded {
            prop_assert_eq!(a.entries.len(), b.entries.len());
            prop_assert_eq!(
                a.kimage.counters.indirection_pages,
                b.kimage.counters.indirection_pages
            );
            let da = destinations(&a);
            prop_assert_eq!(&da, &destinations(&b));
            let want: Vec<u64> = sc.segments.iter().map(|g| g.mem).collect();
            prop_assert_eq!(da, want);
        }
        // rule 6 is decided before any page is asked: both or neither.
        prop_assert_eq!(
            a.errno() == Some(Errno::EINVAL),
            b.errno() == Some(Errno::EINVAL)
        );
    }

    /// No entry word holds an address the arch cannot: 32-bit entries fit
    /// in 32 bits and name no page at or above 4 GiB (KEXEC_SOURCE_MEMORY_
    /// LIMIT); x86_64 entries stay below 2^46 (MAXMEM).
    #[test]
    fn entries_stay_within_arch_limits(p in params(512, 600)) {
        let sc = p.scenario();
        for v in PAIR {
            let r = run_variant(&sc, v, RunOptions::default());
            prop_assert!(!matches!(r.outcome, Outcome::Stopped(Stop::Fault(_))));
            for &e in r.entries.words() {
                if sc.arch == Arch::X86_64 {
                    prop_assert!(e < 1 << 46, "{v}: 0x{e:x}");
                } else {
                    prop_assert!(e <= 0xffff_ffff, "{v}: 0x{e:x}");
                    if let EntryKind::Source(a) | EntryKind::Indirection(a) = decode(e) {
                        prop_assert!(a < 4 * GIB, "{v}: 0x{e:x}");
                    }
                }
            }
            // Every page above the limit that was handed out went on
            // unusable_pages, and only there.
            if sc.arch != Arch::X86_64 {
                let above = r.kimage.roles.iter().filter(|&(p, _)| p > 0xfffff).count() as u64;
                prop_assert_eq!(above, r.kimage.counters.unusable_pages, "{}", v);
            }
        }
    }

    /// After a successful load, kimage_free gives every page back.
    #[test]
    fn unload_after_load_frees_everything(p in params(512, 600)) {
        let sc = p.scenario();
        for v in PAIR {
            let r = run_variant(&sc, v, RunOptions { unload: true, ..Default::default() });
            match (&r.outcome, &r.unload) {
                (Outcome::Loaded, Some(Unload::Ok { freed })) => {
                    // Everything the image held: sources, indirection pages,
                    // control pages, dest_pages left over, unusable pages.
                    prop_assert!(*freed >= r.kimage.counters.source_pages + 3);
                    prop_assert!(r.kimage.outstanding().is_empty());
                }
                (Outcome::Loaded, u) => prop_assert!(false, "{v}: {u:?}"),
                (Outcome::Stopped(Stop::Errno { errno: Errno::EINVAL, .. }), u) => {
                    prop_assert_eq!(u, &Some(Unload::Ok { freed: 0 }));
                }
                _ => {}
            }
        }
    }
}

// ---------------------------------------------------------------------
// kimage_dst_used: the index against a real walk
// ---------------------------------------------------------------------

fn small_params() -> impl Strategy<Value = Params> {
    (
        arch_strategy(),
        16u64..=64,
        (0usize..1, 0u64..=60, 0u64..=0),
        proptest::collection::vec((0u64..=200, 0u64..=100, 0u64..=8), 1..=4),
        0usize..4,
        prop_oneof![
            3 => any::<u64>().prop_map(Policy::Adversarial),
            1 => any::<u64>().prop_map(Policy::Random),
        ],
    )
        .prop_map(|(arch, total_mib, anchor, segs, rotate, policy)| Params {
            arch,
            total_mib,
            hole: None,
            anchor,
            segs,
            rotate,
            policy,
        })
}

fn check_swaps(sc: &Scenario, v: Variant) -> Result<u64, TestCaseError> {
    let r = run_variant(
        sc,
        v,
        RunOptions {
            trace: true,
            relocate: true,
            ..Default::default()
        },
    );
    match &r.outcome {
        Outcome::Loaded => {}
        Outcome::Stopped(Stop::Errno { .. }) => return Ok(0),
        o => {
            prop_assert!(false, "{v}: {o:?}");
        }
    }
    prop_assert!(
        matches!(r.relocation, Some(Relocation::Ok { .. })),
        "{}",
        r.verdict()
    );

    // 1. Replay the events in order. Entry events arrive in list order, so
    // the SOURCE entries written so far, each with the destination a walk
    // would track for it, are exactly what the kernel's kimage_dst_used
    // would see at that moment.
    let mut used: HashMap<u64, Pos> = HashMap::new();
    let mut cur = None;
    let mut swaps = Vec::new();
    for e in &r.kimage.trace.events {
        match *e {
            Event::Entry { pos, value } => match decode(value) {
                EntryKind::Destination(a) => cur = Some(a),
                EntryKind::Source(_) => {
                    let d = cur.expect("SOURCE after a DESTINATION");
                    prop_assert!(
                        used.insert(d, pos).is_none(),
                        "two SOURCE entries for 0x{d:x}"
                    );
                    cur = Some(d + PAGE_SIZE);
                }
                k => prop_assert!(false, "data entry {k:?}"),
            },
            Event::Swap {
                new_pfn, dest, pos, ..
            } => {
                prop_assert_eq!(new_pfn * PAGE_SIZE, dest);
                prop_assert_eq!(used.get(&dest), Some(&pos), "{}: swap for 0x{:x}", v, dest);
                swaps.push((dest, pos));
            }
            Event::DestPageFiled { pfn } => {
                // kimage_dst_used found no SOURCE entry for this page.
                prop_assert!(
                    !used.contains_key(&(pfn * PAGE_SIZE)),
                    "{v}: filed 0x{pfn:x}"
                );
                prop_assert!(in_any_segment(sc, pfn * PAGE_SIZE));
            }
            _ => {}
        }
    }
    prop_assert_eq!(swaps.len() as u64, r.kimage.counters.swaps);

    // 2. Walk the final list ourselves.
    let mut cur = None;
    let mut final_src: HashMap<Pos, (u64, u64)> = HashMap::new();
    let mut pages_seen = HashSet::new();
    for (pos, e) in r.entries.iter() {
        match decode(e) {
            EntryKind::Destination(a) => cur = Some(a),
            EntryKind::Source(src) => {
                let d = cur.expect("SOURCE after a DESTINATION");
                final_src.insert(pos, (d, e));
                // The kernel invariant: a source page is its own destination
                // or no destination at all.
                prop_assert!(
                    src == d || !in_any_segment(sc, src),
                    "{v}: source 0x{src:x} for 0x{d:x} is another destination"
                );
                prop_assert!(pages_seen.insert(src), "{v}: page 0x{src:x} twice");
                cur = Some(d + PAGE_SIZE);
            }
            EntryKind::Indirection(a) => {
                prop_assert!(!in_any_segment(sc, a), "{v}: indirection page 0x{a:x}");
                prop_assert!(pages_seen.insert(a), "{v}: page 0x{a:x} twice");
            }
            k => prop_assert!(false, "{v}: {k:?} in the walk"),
        }
    }
    for (dest, pos) in swaps.iter().copied() {
        // The rewritten entry still names its own destination.
        prop_assert_eq!(final_src.get(&pos), Some(&(dest, dest | IND_SOURCE)));
    }
    let pages: u64 = sc.segments.iter().map(|g| g.memsz / PAGE_SIZE).sum();
    prop_assert_eq!(final_src.len() as u64, pages);
    Ok(r.kimage.counters.swaps)
}

proptest! {
    #![proptest_config(config(64))]

    /// Every swap names the SOURCE entry a real walk would find; every page
    /// filed on dest_pages had none; the final list keeps the kernel's
    /// invariant (a source page is its own destination or no destination).
    #[test]
    fn dst_used_index_agrees_with_walk(p in small_params()) {
        let sc = p.scenario();
        for v in PAIR {
            check_swaps(&sc, v)?;
        }
    }
}

/// The property above is not vacuous: over the same kind of scenarios the
/// swap path runs often.
#[test]
fn dst_used_property_exercises_the_swap_path() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::new(config(1));
    let mut swaps = 0;
    for _ in 0..16 {
        let sc = small_params()
            .new_tree(&mut runner)
            .unwrap()
            .current()
            .scenario();
        swaps += check_swaps(&sc, Variant::Pointer).unwrap();
    }
    assert!(swaps > 10, "only {swaps} swaps in 16 scenarios");
}

// ---------------------------------------------------------------------
// Hostile input never panics
// ---------------------------------------------------------------------

const BASE_DOCS: [&str; 2] = [
    r#"{
      "version": 1,
      "arch": "i386-pae",
      "ram": [{ "start": "0x0", "end": "0x200000000" }],
      "segments": [
        { "bufsz": 4718592, "mem": "0x1000000", "memsz": 4718592 },
        { "bufsz": 20000000, "mem": "0x4000000", "memsz": 20013056 }
      ],
      "allocator": { "policy": "random", "seed": 7 },
      "variants": ["pointer", "rfc-fixed"]
    }"#,
    r#"{
      "version": 1,
      "arch": "x86_64",
      "ram": [{ "start": 0, "end": "0x4000000" }, { "start": "0x100000000", "end": "0x140000000" }],
      "movable": [{ "start": "0x100000000", "end": "0x120000000" }],
      "segments": [{ "bufsz": 100, "mem": 16777216, "memsz": "0x2000" }],
      "allocator": { "replay": [8192, "0x2002", 8195, 8196] },
      "variants": ["highmem-zone", "rfc-posted"]
    }"#,
];

/// What a mutation puts in place of a value.
#[derive(Debug, Clone)]
enum Repl {
    Json(Value),
    /// Raw text (numbers serde_json::Value cannot hold).
    Raw(&'static str),
}

fn repl_strategy() -> impl Strategy<Value = Repl> {
    prop_oneof![
        Just(Repl::Json(Value::Null)),
        any::<bool>().prop_map(|b| Repl::Json(Value::Bool(b))),
        any::<i64>().prop_map(|n| Repl::Json(Value::from(n))),
        any::<u64>().prop_map(|n| Repl::Json(Value::from(n))),
        Just(Repl::Json(Value::from(u64::MAX))),
        Just(Repl::Json(Value::from(-1))),
        Just(Repl::Json(Value::from(1.5))),
        "[a-z0-9x_-]{0,12}".prop_map(|s| Repl::Json(Value::String(s))),
        Just(Repl::Json(Value::String("0xffffffffffffffff".into()))),
        Just(Repl::Json(Value::String("0x1_0000_0000_0000_0000".into()))),
        Just(Repl::Json(Value::String("-0x10".into()))),
        Just(Repl::Json(Value::Array(vec![]))),
        Just(Repl::Json(serde_json::json!({}))),
        Just(Repl::Json(serde_json::json!([{ "start": 0, "end": 1 }]))),
        Just(Repl::Raw("18446744073709551616")),
        Just(Repl::Raw("340282366920938463463374607431768211456")),
        Just(Repl::Raw("-9223372036854775809")),
        Just(Repl::Raw("1e400")),
        Just(Repl::Raw("-0")),
        Just(Repl::Raw("4096.0")),
    ]
}

#[derive(Debug, Clone)]
enum Mutation {
    Delete(usize),
    Rename(usize, String),
    Replace(usize, Repl),
    Duplicate(usize),
}

fn mutation_strategy() -> impl Strategy<Value = Mutation> {
    let names = prop_oneof![
        Just("version".to_string()),
        Just("arch".to_string()),
        Just("ram".to_string()),
        Just("movable".to_string()),
        Just("segments".to_string()),
        Just("allocator".to_string()),
        Just("variants".to_string()),
        Just("mem".to_string()),
        Just("seed".to_string()),
        Just("replay".to_string()),
        "[a-z_]{1,8}",
    ];
    prop_oneof![
        any::<usize>().prop_map(Mutation::Delete),
        (any::<usize>(), names).prop_map(|(i, n)| Mutation::Rename(i, n)),
        (any::<usize>(), repl_strategy()).prop_map(|(i, r)| Mutation::Replace(i, r)),
        any::<usize>().prop_map(Mutation::Duplicate),
    ]
}

/// JSON pointers of every node below the root.
fn paths(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let p = format!("{at}/{k}");
                out.push(p.clone());
                paths(x, p, out);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                let p = format!("{at}/{i}");
                out.push(p.clone());
                paths(x, p, out);
            }
        }
        _ => {}
    }
}

fn split_ptr(p: &str) -> (&str, &str) {
    p.rsplit_once('/').expect("pointer has a parent")
}

/// Apply mutations; returns the JSON text.
fn mutate(base: &str, muts: &[Mutation]) -> String {
    let mut v: Value = serde_json::from_str(base).unwrap();
    let mut raws: Vec<&'static str> = Vec::new();
    let mut dups: Vec<(String, String)> = Vec::new();
    for m in muts {
        let mut all = Vec::new();
        paths(&v, String::new(), &mut all);
        if all.is_empty() {
            break;
        }
        let pick = |i: usize| all[i % all.len()].clone();
        match m {
            Mutation::Delete(i) => {
                let p = pick(*i);
                let (parent, key) = split_ptr(&p);
                match v.pointer_mut(parent) {
                    Some(Value::Object(o)) => {
                        o.remove(key);
                    }
                    Some(Value::Array(a)) => {
                        let idx: usize = key.parse().unwrap();
                        a.remove(idx);
                    }
                    _ => {}
                }
            }
            Mutation::Rename(i, name) => {
                let p = pick(*i);
                let (parent, key) = split_ptr(&p);
                if let Some(Value::Object(o)) = v.pointer_mut(parent) {
                    if let Some(x) = o.remove(key) {
                        o.insert(name.clone(), x);
                    }
                }
            }
            Mutation::Replace(i, r) => {
                let p = pick(*i);
                let new = match r {
                    Repl::Json(j) => j.clone(),
                    Repl::Raw(t) => {
                        raws.push(t);
                        Value::String(format!("@@RAW{}@@", raws.len() - 1))
                    }
                };
                if let Some(x) = v.pointer_mut(&p) {
                    *x = new;
                }
            }
            Mutation::Duplicate(i) => {
                let p = pick(*i);
                let (parent, key) = split_ptr(&p);
                if let Some(Value::Object(o)) = v.pointer(parent) {
                    if let Some(x) = o.get(key) {
                        dups.push((key.to_string(), x.to_string()));
                    }
                }
            }
        }
    }
    let mut text = v.to_string();
    for (i, t) in raws.iter().enumerate() {
        text = text.replace(&format!("\"@@RAW{i}@@\""), t);
    }
    for (k, x) in dups {
        let needle = format!("{}:", Value::String(k));
        text = text.replacen(&needle, &format!("{needle}{x},{needle}"), 1);
    }
    text
}

/// from_json never panics; what it accepts is a scenario whose canonical
/// JSON reads back as the same scenario.
fn check_json(text: &str) -> Result<(), TestCaseError> {
    match Scenario::from_json(text) {
        Ok(sc) => {
            let again = Scenario::from_json(&sc.to_json());
            prop_assert_eq!(again.as_ref(), Ok(&sc));
            let pretty = Scenario::from_json(&sc.to_json_pretty());
            prop_assert_eq!(pretty.as_ref(), Ok(&sc));
        }
        Err(e) => prop_assert!(!e.message.is_empty()),
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn from_json_never_panics_on_any_string(s in any::<String>()) {
        check_json(&s)?;
    }

    #[test]
    fn from_json_never_panics_on_json_like_text(s in r#"[{}\[\]":,0-9a-fx_ -]{0,80}"#) {
        check_json(&s)?;
        check_json(&format!("{{\"version\":1,{s}"))?;
    }

    #[test]
    fn from_json_never_panics_on_mutated_scenarios(
        base in 0usize..BASE_DOCS.len(),
        muts in proptest::collection::vec(mutation_strategy(), 1..=3),
        cut in proptest::option::weighted(0.1, any::<usize>()),
    ) {
        let mut text = mutate(BASE_DOCS[base], &muts);
        if let Some(c) = cut {
            let mut at = c % (text.len() + 1);
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            text.truncate(at);
        }
        check_json(&text)?;
    }

    #[test]
    fn link_decode_never_panics(s in any::<String>()) {
        let _ = link::decode(&s);
        let _ = link::decode(&format!("#s=1.{s}"));
        let _ = link::decode(&format!("http://x/?preset={s}"));
    }

    #[test]
    fn link_decode_never_panics_on_base64(s in "[A-Za-z0-9_=-]{0,300}", v in "[0-9.]{0,3}") {
        let _ = link::decode(&format!("#s=1.{s}"));
        let _ = link::decode(&format!("s={v}.{s}"));
    }

    #[test]
    fn link_decode_never_panics_on_damaged_links(
        which in 0usize..16,
        at in any::<usize>(),
        c in proptest::char::range('-', 'z'),
        cut in any::<bool>(),
    ) {
        let all = presets::all();
        let sc = &all[which % all.len()].scenario;
        let good = link::encode(sc, link::DEFAULT_BASE);
        let back = link::decode(&good);
        prop_assert_eq!(back.as_ref(), Ok(sc));
        let start = good.find("#s=1.").unwrap() + 5;
        let i = start + at % (good.len() - start);
        let mut bad: String = good.clone();
        if cut {
            bad.truncate(i);
        } else {
            bad.replace_range(i..=i, &c.to_string());
        }
        if let Ok(got) = link::decode(&bad) {
            // Whatever decodes is a checked scenario.
            let again = Scenario::from_json(&got.to_json());
            prop_assert_eq!(again.as_ref(), Ok(&got));
        }
    }
}

#[test]
fn mutation_helper_really_mutates() {
    // Guard against a mutate() that silently does nothing.
    let t = mutate(BASE_DOCS[0], &[Mutation::Replace(0, Repl::Raw("1e400"))]);
    assert!(t.contains("1e400"), "{t}");
    assert!(Scenario::from_json(&t).is_err());
    let t = mutate(BASE_DOCS[0], &[Mutation::Duplicate(0)]);
    assert!(Scenario::from_json(BASE_DOCS[0]).is_ok());
    assert_ne!(
        t,
        serde_json::from_str::<Value>(BASE_DOCS[0])
            .unwrap()
            .to_string()
    );
    let t = mutate(BASE_DOCS[1], &[Mutation::Rename(0, "colour".into())]);
    let e = Scenario::from_json(&t).unwrap_err().to_string();
    assert!(e.contains("colour") || e.starts_with("version"), "{e}");
}

/// The generator reaches every kind of outcome the first property accepts.
#[test]
fn generator_covers_the_outcomes() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::new(config(1));
    let (mut ok, mut not_ram, mut einval, mut enomem, mut unusable, mut swaps, mut multi) =
        (0, 0, 0, 0, 0, 0, 0);
    for _ in 0..64 {
        let p = params(512, 600).new_tree(&mut runner).unwrap().current();
        let sc = p.scenario();
        let r = run_variant(
            &sc,
            Variant::Pointer,
            RunOptions {
                relocate: true,
                ..Default::default()
            },
        );
        match (&r.outcome, &r.relocation) {
            (Outcome::Loaded, Some(Relocation::Ok { .. })) => ok += 1,
            (Outcome::Loaded, Some(Relocation::Fail(_))) => not_ram += 1,
            _ if r.errno() == Some(Errno::EINVAL) => einval += 1,
            _ if r.errno() == Some(Errno::ENOMEM) => enomem += 1,
            _ => {}
        }
        unusable += u32::from(r.counters.unusable_pages > 0);
        swaps += u32::from(r.counters.swaps > 0);
        multi += u32::from(r.counters.indirection_pages > 1);
    }
    eprintln!("ok {ok} not-RAM {not_ram} EINVAL {einval} ENOMEM {enomem} unusable {unusable} swaps {swaps} multi-page {multi}");
    assert!(ok >= 16, "{ok}");
    assert!(not_ram >= 1 && einval >= 1, "{not_ram} {einval}");
    assert!(
        unusable >= 1 && swaps >= 4 && multi >= 4,
        "{unusable} {swaps} {multi}"
    );
}

/// The mutation fuzzing reaches both answers: some mutated files are still
/// valid (and go through the round-trip check), most are errors.
#[test]
fn mutations_reach_ok_and_err() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::new(config(1));
    let strat = (
        0usize..BASE_DOCS.len(),
        proptest::collection::vec(mutation_strategy(), 1..=3),
    );
    let (mut ok, mut err) = (0, 0);
    for _ in 0..256 {
        let (base, muts) = strat.new_tree(&mut runner).unwrap().current();
        match Scenario::from_json(&mutate(BASE_DOCS[base], &muts)) {
            Ok(_) => ok += 1,
            Err(_) => err += 1,
        }
    }
    eprintln!("mutations: ok {ok} err {err}");
    assert!(ok >= 10 && err >= 100, "ok {ok} err {err}");
}

proptest! {
    #![proptest_config(config(48))]

    /// The summary's memory map (the page's map bar) counts every page a
    /// design holds as the plain per-page reference does: each pfn with a
    /// role, `1 << order` pages of its role in bucket `pfn / bucket_pages`
    /// (summarize's own loop steps buckets and adds blocks of a higher
    /// order apart, for speed).
    #[test]
    fn the_summary_map_counts_each_role_page_as_the_reference(p in params(512, 600), which in 0usize..ALL_VARIANTS.len()) {
        let sc = p.scenario();
        let r = run_variant(&sc, ALL_VARIANTS[which], RunOptions { relocate: true, ..Default::default() });
        let map = summarize(&r).map;
        let k = &r.kimage;
        let mut want = vec![[0u32; 7]; map.buckets.len()];
        for (pfn, role) in k.roles.iter() {
            let slot = MAP_ROLES.iter().position(|x| *x == role).expect("a mapped role");
            if let Some(b) = want.get_mut((pfn / map.bucket_pages) as usize) {
                b[slot] += 1 << k.order_of(pfn);
            }
        }
        let got: Vec<[u32; 7]> = map
            .buckets
            .iter()
            .map(|b| b.counts[..7].try_into().expect("seven roles"))
            .collect();
        prop_assert_eq!(got, want);
    }
}
