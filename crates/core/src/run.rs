//! Running a scenario: each variant on a fresh machine with the same
//! allocator policy, then the relocation and unload checks.
//!
//! The load is kexec_load's path (kernel/kexec.c: the KEXEC_SEGMENT_MAX
//! check, nr_segments 0 as an unload, then do_kexec_load through
//! [`crate::kimage`]); the unload check runs kimage_free and says which
//! pages never came back and why (a faulted load never reaches
//! kimage_free; a zero image->head gives its walk nothing to free). The
//! exit statuses are the CLI's.

use crate::arch::{KEXEC_SEGMENT_MAX, PAGE_SHIFT};
use crate::design::{EntryList, Variant};
use crate::entry::Walked;
use crate::errno::Errno;
use crate::kimage::{Kimage, Role, Stop};
use crate::memory::Machine;
use crate::relocate::{relocate, Relocation};
use crate::scenario::Scenario;
use crate::trace::Counters;

pub use crate::kimage::MAX_IMAGE_PAGES;

/// What to do besides loading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RunOptions {
    /// Run the relocation check on a loaded image.
    pub relocate: bool,
    /// Unload (kimage_free) and check every page came back.
    pub unload: bool,
    /// Keep the event trace.
    pub trace: bool,
    /// Without `trace`: keep the events of the timeline's step 0 only,
    /// up to the first page loaded (kimage_alloc_init's pages, the first
    /// DESTINATION entry), a handful whatever the image's size
    /// ([`crate::trace::Trace::first_step_only`]). The web worker runs a
    /// big image so: the page shows step 0 with the result, and the
    /// worker runs the image again with its whole trace only when a later
    /// step is asked for. A kernel build's run keeps no trace with it.
    pub first_step: bool,
}

/// How the load ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// kexec_load returned 0 with an image.
    Loaded,
    /// nr_segments == 0: kexec_load unloads and returns 0.
    Unloaded,
    /// It stopped: errno, fault, replay error or model limit.
    Stopped(Stop),
}

/// Result of the unload check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unload {
    /// Every page handed out is free again.
    Ok {
        /// Pages kimage_free gave back.
        freed: u64,
    },
    /// Pages that never came back, and why.
    Leak {
        /// How many pages.
        pages: u64,
        /// Which and why.
        detail: String,
    },
    /// kimage_free itself faulted.
    Fault(String),
}

/// One variant's run.
pub struct VariantRun {
    /// The variant.
    pub variant: Variant,
    /// Its name in reports (`kernel:NAME` for a kernel build).
    pub label: String,
    /// How the load ended.
    pub outcome: Outcome,
    /// The list as the walk sees it (loaded images): (position, word), head
    /// first (Xen: slot 0 of head's page first).
    pub entries: Walked,
    /// The word that ended the walk (IND_DONE, or 0).
    pub end_word: u64,
    /// The relocation check, when asked and loaded.
    pub relocation: Option<Relocation>,
    /// The unload check, when asked.
    pub unload: Option<Unload>,
    /// The counters at the end of the load (before the model's own display
    /// walk, the relocation check and the unload).
    pub counters: Counters,
    /// The kimage, for maps and counters. After a relocation check
    /// without the unload check, its page store is memory as the stub
    /// left it (the check moves the store's page words rather than copy
    /// them: nothing reads the load's memory after it then).
    pub kimage: Kimage,
    /// The kernel log of a kernel build's run (printk), one line each.
    pub log: Vec<String>,
}

impl VariantRun {
    /// `k`'s run as it ended, with its counters as they stand: no list
    /// walked, no checks run (what [`finish`] then adds).
    fn bare(sc: &Scenario, k: Kimage, outcome: Outcome) -> VariantRun {
        let variant = k.design().variant();
        VariantRun {
            counters: k.counters.clone(),
            label: sc.variant_name(variant),
            variant,
            outcome,
            entries: Walked::default(),
            end_word: 0,
            relocation: None,
            unload: None,
            kimage: k,
            log: Vec::new(),
        }
    }
}

/// The machine a scenario describes.
pub fn machine(sc: &Scenario) -> Machine {
    let pfns = |r: &[(u64, u64)]| {
        r.iter()
            .map(|&(s, e)| (s >> PAGE_SHIFT, e >> PAGE_SHIFT))
            .collect()
    };
    Machine::new(sc.arch.profile(), pfns(&sc.ram), pfns(&sc.movable)).with_lowmem_end(sc.lowmem_end)
}

/// Runs kernel builds: the kernel's own code, which the core cannot run
/// itself (the CLI runs them with an interpreter, the page with the
/// browser's WebAssembly).
pub trait KernelRunner {
    /// Run the kernel build the scenario's [`Variant::Kernel`] `v` names,
    /// or `None` when this runner does not have it. Its first allocator
    /// calls get `prefix`, one pfn per call, before the scenario's policy
    /// continues (the explorer's same-order goals; empty for a plain run).
    fn run(
        &self,
        sc: &Scenario,
        v: Variant,
        opts: RunOptions,
        prefix: &[u64],
    ) -> Option<VariantRun>;
}

/// A runner without kernel builds: a kernel variant is reported as not
/// loaded.
pub struct NoKernels;

impl KernelRunner for NoKernels {
    fn run(&self, _: &Scenario, _: Variant, _: RunOptions, _: &[u64]) -> Option<VariantRun> {
        None
    }
}

/// Run every variant the scenario names.
pub fn run(sc: &Scenario, opts: RunOptions) -> Vec<VariantRun> {
    run_with_kernels(sc, opts, &NoKernels)
}

/// Run every variant the scenario names, kernel builds through `kernels`.
pub fn run_with_kernels(
    sc: &Scenario,
    opts: RunOptions,
    kernels: &dyn KernelRunner,
) -> Vec<VariantRun> {
    sc.variants
        .iter()
        .map(|&v| run_variant_with(sc, v, opts, kernels))
        .collect()
}

/// [`run_with_kernels`] with the variants spread over up to `jobs`
/// threads (natively; each run is independent of the others and the
/// results come back in the scenario's order, so the output does not
/// depend on `jobs`).
#[cfg(not(target_arch = "wasm32"))]
pub fn run_with_kernels_jobs(
    sc: &Scenario,
    opts: RunOptions,
    kernels: &(dyn KernelRunner + Sync),
    jobs: usize,
) -> Vec<VariantRun> {
    crate::jobs::map(
        &sc.variants,
        jobs,
        || (),
        |_, &v| run_variant_with(sc, v, opts, kernels),
    )
}

/// The progress hook a run calls ([`Kimage::load_observed`]).
pub type ProgressHook = Box<dyn FnMut(u64)>;

/// `Send` natively (a design lives in a [`Kimage`], which a threaded run
/// hands back), nothing on wasm.
#[cfg(not(target_arch = "wasm32"))]
pub trait MaybeSend: Send {}
#[cfg(not(target_arch = "wasm32"))]
impl<T: Send> MaybeSend for T {}
/// `Send` natively, nothing on wasm.
#[cfg(target_arch = "wasm32")]
pub trait MaybeSend {}
#[cfg(target_arch = "wasm32")]
impl<T> MaybeSend for T {}

/// Run one variant (a kernel build is reported as not loaded).
pub fn run_variant(sc: &Scenario, variant: Variant, opts: RunOptions) -> VariantRun {
    run_variant_observed(sc, variant, opts, None)
}

/// Kimages kept from finished runs for the next ones: a run made in a
/// workshop takes a spare kimage and [`Kimage::renew`]s it for its
/// scenario instead of making a new one, so its tables (page contents,
/// roles, the allocator's bitmap, the dst index) keep their allocations.
/// The random explorer runs thousands of short loads on different
/// machines; each fresh kimage grew its tables from nothing, section by
/// section, and dropped them again. A run in a workshop is the same run
/// as without one: `renew` leaves nothing of the run before.
#[derive(Default)]
pub struct Workshop {
    spare: Vec<Kimage>,
}

/// Most kimages a workshop keeps (a goal runs two designs at a time).
const WORKSHOP_SPARES: usize = 2;

impl Workshop {
    /// A kimage as [`Kimage::with_design`] makes it: a spare one renewed,
    /// or a new one.
    fn kimage(
        &mut self,
        sc: &Scenario,
        m: Machine,
        design: Box<dyn EntryList>,
        trace: bool,
    ) -> Kimage {
        match self.spare.pop() {
            Some(mut k) => {
                let mut segments = std::mem::take(&mut k.segments);
                segments.clone_from(&sc.segments);
                k.renew(m, segments, design, &sc.policy, trace);
                k
            }
            None => Kimage::with_design(m, sc.segments.clone(), design, sc.policy.clone(), trace),
        }
    }

    /// Keep `r`'s kimage for a later run (the run is done with).
    pub fn give_back(&mut self, r: VariantRun) {
        if self.spare.len() < WORKSHOP_SPARES {
            self.spare.push(r.kimage);
        }
    }
}

/// Run one variant, a kernel build through `kernels`.
pub fn run_variant_with(
    sc: &Scenario,
    variant: Variant,
    opts: RunOptions,
    kernels: &dyn KernelRunner,
) -> VariantRun {
    run_variant_prefixed_with(sc, variant, opts, Vec::new(), kernels)
}

/// [`run_variant_prefixed_with`] in `ws`: the model's designs run in a
/// renewed spare kimage (a kernel build as without a workshop), leaving
/// out what `reads` does not read (a kernel build's run has everything).
pub fn run_variant_prefixed_in(
    reads: Reads,
    ws: &mut Workshop,
    sc: &Scenario,
    variant: Variant,
    opts: RunOptions,
    prefix: Vec<u64>,
    kernels: &dyn KernelRunner,
) -> VariantRun {
    match variant {
        Variant::Kernel(_) => kernels
            .run(sc, variant, opts, &prefix)
            .unwrap_or_else(|| not_loaded(sc, variant)),
        v => {
            let m = machine(sc);
            let design = v.build(&m);
            run_with(reads, ws, sc, m, design, opts, None, prefix)
        }
    }
}

/// [`run_variant_prefixed`] for any variant, a kernel build through
/// `kernels`.
pub fn run_variant_prefixed_with(
    sc: &Scenario,
    variant: Variant,
    opts: RunOptions,
    prefix: Vec<u64>,
    kernels: &dyn KernelRunner,
) -> VariantRun {
    let mut ws = Workshop::default();
    run_variant_prefixed_in(Reads::All, &mut ws, sc, variant, opts, prefix, kernels)
}

/// The run of a kernel build nobody loaded: the scenario names it, this
/// front end does not have it.
fn not_loaded(sc: &Scenario, variant: Variant) -> VariantRun {
    let what = sc
        .kernel(variant)
        .map_or_else(|| "?".into(), |k| k.describe());
    let k = kernel_kimage(sc, variant, false);
    let outcome = Outcome::Stopped(Stop::NotLoaded(format!(
        "kernel build {what} is not loaded here: load that build (kexec-sim --variant kernel:FILE, or the page's \"load a kernel build\") to run it"
    )));
    finish(sc, k, outcome, RunOptions::default())
}

/// A fresh kimage for a kernel build's run: the scenario's machine,
/// segments and allocator, and a design that reads back the list the
/// kernel's code leaves.
pub fn kernel_kimage(sc: &Scenario, variant: Variant, trace: bool) -> Kimage {
    let m = machine(sc);
    let design = variant.build(&m);
    let mut k = Kimage::with_design(m, sc.segments.clone(), design, sc.policy.clone(), trace);
    k.source_movable = sc.source_movable;
    k
}

/// Run one variant, calling `progress` with the pages loaded so far (every
/// [`crate::kimage::PROGRESS_EVERY`] pages).
pub fn run_variant_observed(
    sc: &Scenario,
    variant: Variant,
    opts: RunOptions,
    progress: Option<ProgressHook>,
) -> VariantRun {
    run_fresh(sc, variant, opts, progress, Vec::new())
}

/// A model design's whole run in a kimage of its own.
fn run_fresh(
    sc: &Scenario,
    variant: Variant,
    opts: RunOptions,
    progress: Option<ProgressHook>,
    prefix: Vec<u64>,
) -> VariantRun {
    let m = machine(sc);
    let design = variant.build(&m);
    let mut ws = Workshop::default();
    run_with(Reads::All, &mut ws, sc, m, design, opts, progress, prefix)
}

/// Run one variant whose first allocator calls get `prefix`, one pfn per
/// call, before the scenario's policy continues (the explorer's same-order
/// goals: another design's allocation order, replayed).
pub fn run_variant_prefixed(
    sc: &Scenario,
    variant: Variant,
    opts: RunOptions,
    prefix: Vec<u64>,
) -> VariantRun {
    run_fresh(sc, variant, opts, None, prefix)
}

/// [`run_variant`] (not a kernel build) that stops where its replay list
/// runs out, its kimage as it was at that call, instead of failing the
/// call: the exhaustive explorer's choice points
/// ([`crate::page_alloc::PageAllocator::stop_at_ran_out`]).
pub fn run_variant_to_choice(sc: &Scenario, variant: Variant, opts: RunOptions) -> VariantRun {
    run_variant_to_choice_in(sc, variant, opts, None)
}

/// [`run_variant_to_choice`] in `reuse`, the kimage of an earlier run of
/// this scenario's machine and segments (any policy, any variant),
/// [`Kimage::recycle`]d: the same run, without making its tables again.
pub fn run_variant_to_choice_in(
    sc: &Scenario,
    variant: Variant,
    opts: RunOptions,
    reuse: Option<Kimage>,
) -> VariantRun {
    let mut k = match reuse {
        Some(mut k) => {
            debug_assert!(k.segments == sc.segments && k.machine == machine(sc));
            let design = variant.build(&k.machine);
            k.recycle(design, &sc.policy, opts.trace);
            k
        }
        None => {
            let m = machine(sc);
            let design = variant.build(&m);
            Kimage::with_design(
                m,
                sc.segments.clone(),
                design,
                sc.policy.clone(),
                opts.trace,
            )
        }
    };
    k.allocator_mut().stop_at_ran_out();
    k.source_movable = sc.source_movable;
    let outcome = load(&mut k, None);
    if k.allocator().replay_ran_out().is_none() {
        return finish(sc, k, outcome, opts);
    }
    // Stopped at the choice point: the explorer reads the kimage only (no
    // held-page counts, no walk).
    VariantRun::bare(sc, k, outcome)
}

/// Run a design that is not one of the [`Variant`]s (a test's deliberately
/// wrong one, say); the run reports the variant the design names.
pub fn run_design(sc: &Scenario, design: Box<dyn EntryList>, opts: RunOptions) -> VariantRun {
    run_with(
        Reads::All,
        &mut Workshop::default(),
        sc,
        machine(sc),
        design,
        opts,
        None,
        Vec::new(),
    )
}

#[allow(clippy::too_many_arguments)]
fn run_with(
    reads: Reads,
    ws: &mut Workshop,
    sc: &Scenario,
    m: Machine,
    design: Box<dyn EntryList>,
    opts: RunOptions,
    progress: Option<ProgressHook>,
    prefix: Vec<u64>,
) -> VariantRun {
    let mut k = ws.kimage(sc, m, design, opts.trace || opts.first_step);
    k.trace.allocs_only = reads != Reads::All;
    k.trace.first_step_only = opts.first_step && !opts.trace;
    if !prefix.is_empty() {
        k.allocator_mut().set_prefix(prefix);
    }
    k.source_movable = sc.source_movable;
    let outcome = load(&mut k, progress);
    let mut r = finish_in(sc, k, outcome, opts, reads);
    if opts.unload {
        r.unload = unload_check(&mut r);
    }
    r
}

/// After a load (the model's or the kernel's own code): the counters, the
/// list as the walk sees it, the relocation check. The unload check is
/// the caller's (the model runs kimage_free; a kernel build runs its own).
pub fn finish(sc: &Scenario, k: Kimage, outcome: Outcome, opts: RunOptions) -> VariantRun {
    finish_in(sc, k, outcome, opts, Reads::All)
}

/// What the caller of a run reads of it, besides its outcome and its
/// relocation and unload checks (which every run has).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reads {
    /// Everything a plain run has.
    All,
    /// Also the list as walked ([`VariantRun::entries`]), not the held
    /// pages' counters (`lowmem_held`, `highmem_held` stay 0); a trace
    /// keeps only the allocator calls ([`crate::trace::Trace::allocs_only`]).
    Lists,
    /// Only the verdict: the walk still runs (its fault is an outcome)
    /// but keeps no entries, the held pages are not counted, and a trace
    /// keeps only the allocator calls.
    Verdict,
}

/// [`finish`], leaving out what `reads` does not read.
fn finish_in(
    sc: &Scenario,
    mut k: Kimage,
    outcome: Outcome,
    opts: RunOptions,
    reads: Reads,
) -> VariantRun {
    if reads == Reads::All {
        k.count_held();
    }
    let mut r = VariantRun::bare(sc, k, outcome);
    if r.outcome == Outcome::Loaded {
        let walked = if reads == Reads::Verdict {
            r.kimage
                .walk(&mut |_, _| {})
                .map(|end| (Walked::default(), end))
        } else {
            r.kimage.entries()
        };
        match walked {
            Ok((list, end)) => {
                r.entries = list;
                r.end_word = end;
            }
            Err(f) => r.outcome = Outcome::Stopped(Stop::Fault(f)),
        }
    }
    if opts.relocate && r.outcome == Outcome::Loaded {
        // Nothing reads the load's memory after the check unless
        // kimage_free walks the list in it (the unload check, the model's
        // or a kernel build's own).
        r.relocation = Some(relocate(&mut r.kimage, opts.unload));
    }
    r
}

fn load(k: &mut Kimage, progress: Option<ProgressHook>) -> Outcome {
    let n = k.segments.len();
    if n > KEXEC_SEGMENT_MAX {
        return Outcome::Stopped(Stop::Errno {
            errno: Errno::EINVAL,
            reason: format!(
                "nr_segments {n} is more than KEXEC_SEGMENT_MAX ({KEXEC_SEGMENT_MAX}) (kexec_load)"
            ),
        });
    }
    if n == 0 {
        return Outcome::Unloaded;
    }
    let r = match progress {
        Some(mut p) => k.load_observed(&mut *p),
        None => k.load(),
    };
    match r {
        Ok(()) => Outcome::Loaded,
        Err(e) => Outcome::Stopped(e),
    }
}

fn unload_check(r: &mut VariantRun) -> Option<Unload> {
    let before = r.kimage.counters.pages_freed;
    if r.outcome == Outcome::Loaded {
        if let Err(f) = r.kimage.free() {
            return Some(Unload::Fault(f.to_string()));
        }
    }
    unload_verdict(r, before)
}

/// The unload verdict once kimage_free ran (the model's, or the kernel
/// build's own unload): `freed_before` is the pages freed before it ran.
pub fn unload_verdict(r: &VariantRun, freed_before: u64) -> Option<Unload> {
    let mut why_all: Option<String> = None;
    match &r.outcome {
        Outcome::Loaded => {
            if r.kimage.outstanding().is_empty() {
                return Some(Unload::Ok {
                    freed: r.kimage.counters.pages_freed - freed_before,
                });
            }
            if r.kimage.head() == 0 {
                why_all = Some("image->head is 0, so kimage_free's walk visits nothing".into());
            }
        }
        Outcome::Unloaded => return Some(Unload::Ok { freed: 0 }),
        Outcome::Stopped(Stop::Errno { .. }) => {
            // do_kexec_load already ran kimage_free on the failed image.
        }
        Outcome::Stopped(Stop::Fault(f)) => {
            why_all = Some(format!(
                "the load faulted in {}: the task dies holding kexec_lock and kimage_free never runs",
                f.function
            ));
        }
        Outcome::Stopped(_) => return None,
    }
    let out = r.kimage.outstanding();
    if out.is_empty() {
        return Some(Unload::Ok {
            freed: r.kimage.counters.pages_freed,
        });
    }
    let k = &r.kimage;
    let pages: u64 = out.iter().map(|&(p, _)| 1u64 << k.order_of(p)).sum();
    let mut parts = Vec::new();
    if let Some(w) = why_all {
        parts.push(w);
    }
    let mut dropped: Vec<_> = out
        .iter()
        .filter_map(|(p, _)| k.dropped.get(p).map(|w| (*p, w)))
        .collect();
    dropped.sort_unstable_by_key(|x| x.0);
    for (p, w) in &dropped {
        parts.push(format!("pfn 0x{p:x}, {w}"));
    }
    let mut by_role: Vec<(Role, u64)> = Vec::new();
    for &(p, role) in &out {
        if k.dropped.contains_key(&p) {
            continue;
        }
        match by_role.iter_mut().find(|(r2, _)| *r2 == role) {
            Some(x) => x.1 += 1,
            None => by_role.push((role, 1)),
        }
    }
    if !by_role.is_empty() {
        let held: Vec<_> = by_role
            .iter()
            .map(|(r2, n)| format!("{n} {}", r2.label()))
            .collect();
        parts.push(format!("still held: {}", held.join(", ")));
    }
    Some(Unload::Leak {
        pages,
        detail: parts.join("; "),
    })
}

impl VariantRun {
    /// The verdict in one sentence.
    pub fn verdict(&self) -> String {
        match &self.outcome {
            Outcome::Unloaded => {
                "nr_segments is 0: kexec_load unloads the current image and returns 0".into()
            }
            Outcome::Stopped(Stop::Errno { errno, reason }) => {
                format!("kexec_load returns -{errno}: {reason}")
            }
            Outcome::Stopped(Stop::Fault(f)) => format!("fault in {f}"),
            Outcome::Stopped(Stop::Replay(r)) => format!("{r}"),
            Outcome::Stopped(Stop::Limit(s)) => format!("model limit: {s}"),
            Outcome::Stopped(Stop::NotLoaded(s)) => s.clone(),
            Outcome::Loaded => {
                let ind = self.counters.indirection_pages;
                let ind = format!("{ind} indirection page{}", if ind == 1 { "" } else { "s" });
                let n = self.entries.len();
                match &self.relocation {
                    Some(Relocation::Ok { copies }) => format!(
                        "loaded ({n} entries, {ind}); relocation ok: {copies} pages copied to their destinations"
                    ),
                    Some(Relocation::Fail(why)) => format!("loaded, but relocation fails: {why}"),
                    None => format!("loaded: {n} entries in {ind}"),
                }
            }
        }
    }

    /// The kexec-sim exit status of this run (0 when all went well).
    pub fn exit_status(&self) -> i32 {
        match &self.outcome {
            Outcome::Stopped(Stop::Errno { .. }) => 2,
            Outcome::Stopped(Stop::Fault(_)) => 3,
            Outcome::Stopped(Stop::Replay(_)) => 5,
            Outcome::Stopped(Stop::Limit(_) | Stop::NotLoaded(_)) => 1,
            _ if matches!(self.relocation, Some(Relocation::Fail(_))) => 4,
            _ if matches!(self.unload, Some(Unload::Leak { .. } | Unload::Fault(_))) => 6,
            _ => 0,
        }
    }

    /// Whether the outcome is a kernel errno, and which.
    pub fn errno(&self) -> Option<Errno> {
        match &self.outcome {
            Outcome::Stopped(Stop::Errno { errno, .. }) => Some(*errno),
            _ => None,
        }
    }
}

/// The kexec-sim exit status of several variants' runs: the first one that
/// is not 0.
pub fn exit_status(runs: &[VariantRun]) -> u8 {
    runs.iter()
        .map(|r| r.exit_status())
        .find(|&s| s != 0)
        .unwrap_or(0) as u8
}
