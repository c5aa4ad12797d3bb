//! What the explorer looks for: a fault, or two designs parting, either
//! under one allocation order (`differ`, `verdict`) or each with its own
//! allocator stream (`differ-policy`, `verdict-policy`).

use super::same_order::runs_in;
use crate::design::{Variant, ALL_VARIANTS};
use crate::errno::Errno;
use crate::kimage::Stop;
use crate::relocate::Relocation;
use crate::run::{
    run_variant_prefixed_in, KernelRunner, NoKernels, Outcome, Reads, RunOptions, VariantRun,
    Workshop,
};
use crate::scenario::Scenario;
use std::fmt;

/// What the search looks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Goal {
    /// The variant faults or fails the relocation check.
    Fault(Variant),
    /// Given the same pages from the allocator (B replays A's order), both
    /// variants load and their entry lists differ.
    Differ(Variant, Variant),
    /// Given the same pages from the allocator, the two variants reach
    /// different verdicts.
    Verdict(Variant, Variant),
    /// Each design with its own allocator stream: both load and the lists
    /// differ (also when only the pages they were handed differ).
    DifferPolicy(Variant, Variant),
    /// Each design with its own allocator stream: different verdicts.
    VerdictPolicy(Variant, Variant),
}

/// What one candidate says about a goal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// The goal holds.
    Hit,
    /// It does not.
    Miss,
    /// A same-order goal cannot be judged: B's request could not take a
    /// page A got (its gfp forbids the zone, or the page is still B's).
    /// Counted and reported, never a hit.
    Ineligible(String),
}

impl fmt::Display for Goal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<String> = self.variants().iter().map(|v| v.to_string()).collect();
        write!(f, "{}:{}", self.kind(), names.join(","))
    }
}

fn variant(name: &str) -> Result<Variant, String> {
    Variant::from_name(name.trim()).ok_or_else(|| {
        let valid: Vec<_> = ALL_VARIANTS.iter().map(|v| v.name()).collect();
        format!("unknown variant \"{name}\" (valid: {})", valid.join(", "))
    })
}

/// The goals' forms, for messages and help.
pub const USAGE: &str = "goals are fault:VARIANT, differ:A,B, verdict:A,B (same allocation order), differ-policy:A,B or verdict-policy:A,B (each design with its own allocator stream)";

impl Goal {
    /// Whether the goal's variants exist on `arch` (Xen's kimage is x86_64
    /// only); the message names the valid combinations.
    pub fn check_arch(&self, arch: crate::arch::Arch) -> Result<(), String> {
        crate::scenario::check_arch_variants(arch, &self.variants()).map_err(|e| e.message)
    }

    /// Parse `fault:VARIANT`, `differ:A,B`, `verdict:A,B`,
    /// `differ-policy:A,B` or `verdict-policy:A,B`.
    pub fn parse(s: &str) -> Result<Goal, String> {
        Goal::parse_with(s, &mut variant)
    }

    /// [`Goal::parse`], each variant's name read by `variant` (the CLI's
    /// reads `kernel:FILE|NAME` as a kernel build it adds to the scenario).
    pub fn parse_with(
        s: &str,
        variant: &mut dyn FnMut(&str) -> Result<Variant, String>,
    ) -> Result<Goal, String> {
        let (kind, rest) = s
            .split_once(':')
            .ok_or_else(|| format!("\"{s}\": {USAGE}"))?;
        let make: fn(Variant, Variant) -> Goal = match kind {
            "fault" => return Ok(Goal::Fault(variant(rest)?)),
            "differ" => Goal::Differ,
            "verdict" => Goal::Verdict,
            "differ-policy" => Goal::DifferPolicy,
            "verdict-policy" => Goal::VerdictPolicy,
            _ => return Err(format!("unknown goal \"{kind}\": {USAGE}")),
        };
        // The last comma: a kernel build's file name may hold one.
        let (a, b) = rest
            .rsplit_once(',')
            .ok_or_else(|| format!("\"{s}\" needs two variants: {USAGE}"))?;
        let (a, b) = (variant(a)?, variant(b)?);
        if a == b {
            return Err(format!("\"{s}\" compares {a} with itself"));
        }
        Ok(make(a, b))
    }

    /// The goal's kind as written: `fault`, `differ`, `verdict`,
    /// `differ-policy` or `verdict-policy`.
    pub fn kind(&self) -> &'static str {
        match self {
            Goal::Fault(_) => "fault",
            Goal::Differ(..) => "differ",
            Goal::Verdict(..) => "verdict",
            Goal::DifferPolicy(..) => "differ-policy",
            Goal::VerdictPolicy(..) => "verdict-policy",
        }
    }

    /// The variants the goal runs.
    pub fn variants(&self) -> Vec<Variant> {
        match *self {
            Goal::Fault(v) => vec![v],
            Goal::Differ(a, b)
            | Goal::Verdict(a, b)
            | Goal::DifferPolicy(a, b)
            | Goal::VerdictPolicy(a, b) => vec![a, b],
        }
    }

    /// Whether both designs get one allocation order.
    pub fn same_order(&self) -> bool {
        matches!(self, Goal::Differ(..) | Goal::Verdict(..))
    }

    /// Whether the goal holds on `sc`.
    pub fn holds(&self, sc: &Scenario) -> bool {
        self.check(sc) == Check::Hit
    }

    /// What `sc` says about the goal.
    pub fn check(&self, sc: &Scenario) -> Check {
        self.check_with(sc, &NoKernels)
    }

    /// [`Goal::check`], kernel builds run through `kernels`.
    pub fn check_with(&self, sc: &Scenario, kernels: &dyn KernelRunner) -> Check {
        self.check_in(&mut Workshop::default(), sc, kernels)
    }

    /// [`Goal::check_with`], the runs made in `ws` and their kimages
    /// given back to it (the random search checks every candidate in one
    /// workshop).
    pub fn check_in(&self, ws: &mut Workshop, sc: &Scenario, kernels: &dyn KernelRunner) -> Check {
        let reloc = RunOptions {
            relocate: true,
            ..Default::default()
        };
        // The differ goals compare the lists; the others read verdicts
        // only (`key`). No goal reads the held-page counters.
        let reads = match self {
            Goal::Differ(..) | Goal::DifferPolicy(..) => Reads::Lists,
            _ => Reads::Verdict,
        };
        let mut run_variant = |sc: &Scenario, v: Variant, opts: RunOptions| {
            run_variant_prefixed_in(reads, ws, sc, v, opts, Vec::new(), kernels)
        };
        let hit = |b: bool| if b { Check::Hit } else { Check::Miss };
        let (ra, rb, check) = match *self {
            Goal::Fault(v) => {
                let r = run_variant(sc, v, reloc);
                let c = hit(matches!(key(&r), Key::Fault(_) | Key::RelocFail));
                ws.give_back(r);
                return c;
            }
            Goal::DifferPolicy(a, b) => {
                let ra = run_variant(sc, a, RunOptions::default());
                if ra.outcome != Outcome::Loaded {
                    ws.give_back(ra);
                    return Check::Miss;
                }
                let rb = run_variant(sc, b, RunOptions::default());
                let c = hit(lists_differ(&ra, &rb));
                (ra, rb, c)
            }
            Goal::VerdictPolicy(a, b) => {
                let ra = run_variant(sc, a, reloc);
                let rb = run_variant(sc, b, reloc);
                let (ka, kb) = (key(&ra), key(&rb));
                let c = hit(ka != kb && ka != Key::Model && kb != Key::Model);
                (ra, rb, c)
            }
            Goal::Differ(a, b) | Goal::Verdict(a, b) => {
                let opts = if matches!(self, Goal::Verdict(..)) {
                    reloc
                } else {
                    RunOptions::default()
                };
                // Only A's order is read (B's prefix): B runs without a
                // trace, which changes nothing else in a model run (a
                // kernel build keeps it).
                let opts_a = RunOptions {
                    trace: true,
                    ..opts
                };
                let opts_b = RunOptions {
                    trace: matches!(b, Variant::Kernel(_)),
                    ..opts
                };
                match runs_in(reads, ws, sc, a, b, opts_a, opts_b, kernels) {
                    Err(why) => return Check::Ineligible(why),
                    Ok((ra, rb, _)) => {
                        let c = if matches!(self, Goal::Differ(..)) {
                            hit(lists_differ(&ra, &rb))
                        } else {
                            let (ka, kb) = (key(&ra), key(&rb));
                            hit(ka != kb && ka != Key::Model && kb != Key::Model)
                        };
                        (ra, rb, c)
                    }
                }
            }
        };
        ws.give_back(ra);
        ws.give_back(rb);
        check
    }
}

/// Both loaded and their walks differ (a word, the length, or the end).
pub(crate) fn lists_differ(ra: &VariantRun, rb: &VariantRun) -> bool {
    ra.outcome == Outcome::Loaded
        && rb.outcome == Outcome::Loaded
        && (ra.entries.words() != rb.entries.words() || ra.end_word != rb.end_word)
}

/// A run's verdict, as the goals compare it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Key {
    Ok,
    RelocFail,
    Fault(std::borrow::Cow<'static, str>),
    Errno(Errno),
    /// Not a kernel outcome (replay error, model limit): never a verdict.
    Model,
}

pub(crate) fn key(r: &VariantRun) -> Key {
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

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Key::Ok => f.write_str("ok"),
            Key::RelocFail => f.write_str("relocation FAIL"),
            Key::Fault(func) => write!(f, "fault in {func}"),
            Key::Errno(e) => write!(f, "{e}"),
            Key::Model => f.write_str("model stop"),
        }
    }
}
