//! The model side of the Web Worker: runs scenarios and answers step queries.
//!
//! Pure logic over [`Request`]/[`Response`] so it can be tested without a
//! worker; `src/bin/worker.rs` wires it to `postMessage`.

use crate::protocol::{Request, Response};
use kexec_core::arch::PAGE_SIZE;
use kexec_core::design::Variant;
use kexec_core::report;
use kexec_core::run::{
    run_variant_observed, run_variant_with, KernelRunner, NoKernels, ProgressHook, RunOptions,
    VariantRun,
};
use kexec_core::scenario::Scenario;
use kexec_core::summary::{entry_words, step_starts, step_text, summarize, RunSummary, Summaries};
use std::cell::Cell;
use std::rc::Rc;

/// Images up to this many pages per run are traced at once; larger ones
/// are run keeping only the timeline's step 0 (the verdicts come twice as
/// fast; [`RunOptions::first_step`]) and traced again when the timeline
/// first asks for a later step (the model is deterministic, so the traced
/// run is the same run).
pub const TRACE_AT_ONCE_PAGES: u64 = 65_536;

/// A run's progress is posted at most this many times per worker (each
/// post is a message and a render of the page on its main thread, 1-5 ms
/// plus a frame here, and the main thread shares the machine's cores with
/// the run and with V8's compiles of its code). Eight, not 32: the
/// huge-initrd link's run in a fresh worker, posted to result, 738 -> 655
/// and 676 -> 601 ms (medians of 10 and 8 loads alternated, issue 16's
/// eleventh session); the bar moves in eighths of the worker's part.
pub const PROGRESS_STEPS: u64 = 8;

/// The pages a run of `sc` loads, as its progress counts them: every
/// design loads the whole image (the page shows this total from the
/// run's start, the worker's progress posts it).
pub fn run_pages(sc: &Scenario) -> u64 {
    sc.image_pages().saturating_mul(sc.variants.len() as u64)
}

/// What the worker keeps between requests: the last runs, for step
/// queries, and who runs kernel builds (nobody in the model worker; the
/// kernel worker, `kexec-web-kernel`, brings its own runner).
pub struct WorkerState {
    runs: Vec<(VariantRun, Vec<usize>)>,
    untraced: Option<Scenario>,
    trace_at_once: u64,
    kernels: Box<dyn KernelRunner>,
    explorer: Option<Explorer>,
    helper: Option<Box<dyn Helper>>,
    part: bool,
    pending: Option<Pending>,
    /// What warms the worker up before its first big run ([`warm_up`]
    /// in the explore module's workers), taken when it runs.
    warm_up: Option<WarmUp>,
}

/// A second model worker that a big run's designs are split with. The
/// worker the page sends big runs to (on the explore module) starts one
/// once it has answered its first image of more than
/// [`TRACE_AT_ONCE_PAGES`] pages (not sooner: a fresh page's first run
/// shares the two cores with the page's first render and V8's compiles,
/// and a second fresh worker made it slower, not faster, in the page's
/// module and again in the explore module; the browser's helper waits
/// half a second more, while the page renders the answer); from the next
/// such run with two designs or more, once the second worker is ready, it
/// runs the first half of the designs while the second worker runs the
/// rest.
pub trait Helper {
    /// Whether the second worker runs (a split can go to it).
    fn ready(&self) -> bool;
    /// Start the second worker, if that was not asked before (it may be
    /// [`Helper::ready`] only later).
    fn start(&mut self);
    /// Post `req` to the second worker; its answers come back through
    /// [`part_answered`].
    fn send(&mut self, req: &Request);
}

/// A split run waiting for the second worker's part.
struct Pending {
    id: u32,
    sc: Scenario,
    /// This worker's runs' summaries, sections and entry words: the
    /// first half of the scenario's designs.
    summaries: Vec<RunSummary>,
    sections: Vec<String>,
    words: Vec<Vec<u64>>,
}

/// Who answers the explorer's requests ([`Request::Explore`],
/// [`Request::Shrink`], [`Request::Exhaustive`]): `crate::explorer::serve`
/// in the explore module's worker and the kernel worker; nobody in the
/// page's own module, so the explorer's engine is not in the first load.
pub type Explorer = fn(Request, Post);

impl Default for WorkerState {
    fn default() -> Self {
        WorkerState::with_trace_threshold(TRACE_AT_ONCE_PAGES)
    }
}

impl WorkerState {
    /// A worker that traces images of up to `pages` pages per run at once.
    pub fn with_trace_threshold(pages: u64) -> Self {
        WorkerState {
            runs: Vec::new(),
            untraced: None,
            trace_at_once: pages,
            kernels: Box::new(NoKernels),
            explorer: None,
            helper: None,
            part: false,
            pending: None,
            warm_up: None,
        }
    }

    /// This worker also serves the explorer's requests (the explore
    /// module's `worker_main`, the kernel worker).
    pub fn with_explorer(self) -> Self {
        WorkerState {
            explorer: Some(crate::explorer::serve),
            ..self
        }
    }

    /// A worker that warms up before its first big run ([`warm_up`]:
    /// the explore module's, which big runs go to; not the page's own
    /// module, whose bytes are counted).
    pub fn with_warm_up(self) -> Self {
        WorkerState {
            warm_up: Some(warm_up),
            ..self
        }
    }

    /// A worker that splits its big runs with `helper`.
    pub fn with_helper(self, helper: Box<dyn Helper>) -> Self {
        WorkerState {
            helper: Some(helper),
            ..self
        }
    }

    /// The second worker of a split: it answers each run's sections
    /// instead of a report ([`Summaries::sections`]) and splits nothing.
    pub fn as_part(self) -> Self {
        WorkerState { part: true, ..self }
    }

    /// A worker whose kernel-build variants run through `kernels`.
    pub fn with_kernels(kernels: Box<dyn KernelRunner>) -> Self {
        WorkerState {
            kernels,
            ..WorkerState::default()
        }
    }
}

/// One variant's run: a kernel build through the worker's runner, a
/// Rust design with progress. The worker reads the run's summary, report,
/// entry words and step texts, never its load's tables: those are let go
/// at once ([`kexec_core::kimage::Kimage::release_load_tables`]), so the
/// next design reuses their memory (four designs of huge-initrd: 76 MB of
/// wasm memory, 42 without them).
fn run_one(
    state: &WorkerState,
    sc: &Scenario,
    v: Variant,
    opts: RunOptions,
    progress: Option<ProgressHook>,
) -> VariantRun {
    let mut r = match v {
        Variant::Kernel(_) => run_variant_with(sc, v, opts, &*state.kernels),
        _ => run_variant_observed(sc, v, opts, progress),
    };
    r.kimage.release_load_tables();
    r
}

/// A worker's warm-up before its first big run: the worker, the run's
/// scenario, how many of its designs this worker runs.
pub type WarmUp = fn(&WorkerState, &Scenario, usize);

/// Pages per design of the warm-up run a worker makes before its first
/// big run ([`warm_up`]), shared out among the scenario's segments.
pub const WARM_UP_PAGES: u64 = 2048;

/// Run the designs of `sc` this worker runs, on a copy of `sc` cut to
/// [`WARM_UP_PAGES`], through what a run's answer takes (load,
/// relocation check, summary, entry words, report section), and drop
/// the results: the first big run a worker makes then starts on code V8
/// has begun to optimize (TurboFan) and whose calls through the design's
/// trait have met every design it will run. Without it the first run's
/// first design loads its first pages in the baseline compiler's code
/// (Liftoff), and each later design meets code optimized for the
/// designs before it, which V8 drops (a deopt) and optimizes again. The
/// cut scenario is the user's (same machine, allocator, designs), so it
/// takes the same paths; the model is deterministic and keeps nothing
/// between runs but its spare tables, so the real run's answer is the
/// same.
fn warm_up(state: &WorkerState, sc: &Scenario, mine: usize) {
    let mut small = sc.clone();
    let per_segment = (WARM_UP_PAGES / small.segments.len().max(1) as u64).max(1);
    for s in &mut small.segments {
        s.memsz = s.memsz.min(per_segment * PAGE_SIZE);
        s.bufsz = s.bufsz.min(s.memsz);
    }
    let opts = RunOptions {
        relocate: true,
        unload: false,
        trace: false,
        first_step: false,
    };
    for &v in &sc.variants[..mine] {
        if matches!(v, Variant::Kernel(_)) {
            continue;
        }
        let r = run_one(state, &small, v, opts, None);
        std::hint::black_box((summarize(&r), entry_words(&r), report::section(&r)));
    }
}

/// Where responses go: the response and, for a result, each run's entry words.
pub type Post = Rc<dyn Fn(Response, Vec<Vec<u64>>)>;

/// A run with the index of each timeline step's first event.
fn with_steps(r: VariantRun) -> (VariantRun, Vec<usize>) {
    let s = step_starts(&r.kimage.trace.events);
    (r, s)
}

/// Serve one request.
pub fn handle(state: &mut WorkerState, req: Request, post: Post) {
    match req {
        Request::Run { id, scenario } => {
            let sc = match Scenario::from_json(&scenario) {
                Ok(s) => s,
                Err(e) => {
                    return post(
                        Response::Error {
                            id,
                            message: e.to_string(),
                        },
                        vec![],
                    )
                }
            };
            let per_run = sc.image_pages();
            state.runs.clear();
            state.pending = None;
            let trace = per_run <= state.trace_at_once;
            state.untraced = (!trace).then(|| sc.clone());
            // A big run's second half of the designs goes to the second
            // worker at once; this one runs the first half.
            let mut mine = sc.variants.len();
            if let Some(h) = state
                .helper
                .as_mut()
                .filter(|h| !trace && mine > 1 && h.ready())
            {
                mine = mine.div_ceil(2);
                let mut rest = sc.clone();
                rest.variants.drain(..mine);
                h.send(&Request::Run {
                    id,
                    scenario: rest.to_json(),
                });
            }
            // Progress is posted per 1/PROGRESS_STEPS of this worker's
            // part, as pages of the whole run (a split run's other part
            // reaches the page from the second worker).
            let share = per_run.saturating_mul(mine as u64);
            let total = run_pages(&sc);
            let part = u8::from(state.part);
            let base = Rc::new(Cell::new(0u64));
            let shown = Rc::new(Cell::new(0u64));
            // A big run keeps step 0's events (the page asks for the
            // timeline's step 0 with the result) and no others.
            let opts = RunOptions {
                relocate: true,
                unload: false,
                trace,
                first_step: !trace,
            };
            // A big run's worker warms up once, before its first big
            // run (posted to result for the huge-initrd link, medians of
            // 4 loads alternated: 475 -> 427 ms).
            if !trace {
                if let Some(warm_up) = state.warm_up.take() {
                    warm_up(state, &sc, mine);
                }
            }
            let mut runs = Vec::new();
            for &v in &sc.variants[..mine] {
                let (p, b, shown) = (post.clone(), base.clone(), shown.clone());
                let progress: ProgressHook = Box::new(move |done| {
                    let done = b.get() + done;
                    let step = done.saturating_mul(PROGRESS_STEPS) / share.max(1);
                    if step > shown.get() {
                        shown.set(step);
                        p(
                            Response::Progress {
                                id,
                                done,
                                total,
                                part,
                            },
                            vec![],
                        );
                    }
                });
                let r = run_one(state, &sc, v, opts, Some(progress));
                base.set(base.get() + per_run);
                runs.push(r);
            }
            let summaries: Vec<RunSummary> = runs.iter().map(summarize).collect();
            let words = runs.iter().map(entry_words).collect();
            if mine < sc.variants.len() || state.part {
                let sections = runs.iter().map(report::section).collect();
                if state.part {
                    let summaries = Summaries {
                        runs: summaries,
                        report: String::new(),
                        sections,
                    };
                    return post(Response::Result { id, summaries }, words);
                }
                state.pending = Some(Pending {
                    id,
                    sc,
                    summaries,
                    sections,
                    words,
                });
                return;
            }
            let summaries = Summaries {
                runs: summaries,
                report: report::text_with_sources(&sc, &runs),
                sections: Vec::new(),
            };
            state.runs = runs.into_iter().map(with_steps).collect();
            post(Response::Result { id, summaries }, words);
            if let Some(h) = state.helper.as_mut().filter(|_| !trace) {
                h.start();
            }
        }
        req @ (Request::Explore { .. } | Request::Shrink { .. } | Request::Exhaustive { .. }) => {
            match state.explorer {
                Some(serve) => serve(req, post),
                None => post(
                    Response::Error {
                        id: req.id(),
                        message: "this worker runs no explorer (the explore module's worker does)"
                            .into(),
                    },
                    vec![],
                ),
            }
        }
        Request::LoadKernel { id, .. } => post(
            Response::Error {
                id,
                message: "the model worker runs no kernel builds (the kernel worker does)".into(),
            },
            vec![],
        ),
        Request::Step { id, step } => {
            // An untraced run is run again with its whole trace, unless
            // step 0 is asked and this worker ran every design with step
            // 0's events (not a split run's first half, not a kernel
            // build's run, which keeps none).
            let first_step_kept = |sc: &Scenario| {
                step == 0
                    && state.runs.len() == sc.variants.len()
                    && !sc.variants.iter().any(|v| matches!(v, Variant::Kernel(_)))
            };
            if let Some(sc) = state.untraced.take_if(|sc| !first_step_kept(sc)) {
                let opts = RunOptions {
                    relocate: false,
                    unload: false,
                    trace: true,
                    first_step: false,
                };
                state.runs = sc
                    .variants
                    .iter()
                    .map(|&v| with_steps(run_one(state, &sc, v, opts, None)))
                    .collect();
            }
            let texts = state
                .runs
                .iter()
                .map(|(r, s)| step_text(&r.kimage, s, step))
                .collect();
            post(Response::Step { id, step, texts }, vec![]);
        }
    }
}

/// The second worker's answer to its part of a split run: with this
/// worker's part, the run's result (the report assembled from both
/// workers' sections, the same text one worker writes), or its error.
/// Anything else (its progress, an answer to a run since replaced) is
/// dropped.
pub fn part_answered(state: &mut WorkerState, resp: Response, words: Vec<Vec<u64>>, post: &Post) {
    let Some(id) = state.pending.as_ref().map(|p| p.id) else {
        return;
    };
    match resp {
        Response::Result { id: i, summaries } if i == id => {
            let Some(mut p) = state.pending.take() else {
                return;
            };
            p.summaries.extend(summaries.runs);
            p.words.extend(words);
            let sections = p.sections.iter().chain(&summaries.sections);
            let report = report::assemble(
                &p.sc,
                p.sc.variants
                    .iter()
                    .copied()
                    .zip(sections.map(String::as_str)),
            );
            let summaries = Summaries {
                runs: p.summaries,
                report,
                sections: Vec::new(),
            };
            post(Response::Result { id, summaries }, p.words);
        }
        Response::Error { id: i, message } if i == id => {
            state.pending = None;
            post(Response::Error { id, message }, vec![]);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kexec_core::presets;
    use std::cell::RefCell;

    fn collect(state: &mut WorkerState, req: Request) -> Vec<(Response, Vec<Vec<u64>>)> {
        let out = Rc::new(RefCell::new(Vec::new()));
        let o = out.clone();
        handle(state, req, Rc::new(move |r, w| o.borrow_mut().push((r, w))));
        let v = out.borrow().clone();
        v
    }

    #[test]
    fn runs_a_preset_and_serves_steps() {
        let mut st = WorkerState::default();
        let sc = presets::find("swap-path").unwrap().scenario.to_json();
        let out = collect(
            &mut st,
            Request::Run {
                id: 1,
                scenario: sc,
            },
        );
        let (Response::Result { id, summaries }, words) = &out[0] else {
            panic!("{out:?}")
        };
        assert_eq!(*id, 1);
        assert_eq!(summaries.runs.len(), 2);
        assert_eq!(
            words[0],
            vec![0x0200_2002, 0x0100_0001, 0x0100_0008, 0x0200_3008, 4]
        );
        assert!(summaries.report.contains("== pointer"));
        let out = collect(&mut st, Request::Step { id: 2, step: 2 });
        let Response::Step { texts, .. } = &out[0].0 else {
            panic!()
        };
        assert!(
            texts[0]
                .iter()
                .any(|t| t.contains("kimage_dst_used") || t.contains("copy_highpage")),
            "{texts:?}"
        );
    }

    /// The second worker, served in this thread: its answers wait in
    /// `answers` until the test hands them to [`part_answered`].
    type Answers = Rc<RefCell<Vec<(Response, Vec<Vec<u64>>)>>>;

    struct Inline {
        started: bool,
        part: WorkerState,
        answers: Answers,
    }

    impl Helper for Inline {
        fn ready(&self) -> bool {
            self.started
        }
        fn start(&mut self) {
            self.started = true;
        }
        fn send(&mut self, req: &Request) {
            assert!(self.started);
            let a = self.answers.clone();
            handle(
                &mut self.part,
                req.clone(),
                Rc::new(move |r, w| a.borrow_mut().push((r, w))),
            );
        }
    }

    /// A big run split between two workers answers what one worker does
    /// (from the second big run: the first starts the second worker):
    /// the same summaries, report (sections assembled, footnotes
    /// renumbered) and entry words, for every preset with two designs or
    /// more (every image is big with a threshold of one page); a step
    /// after it is served by the first worker alone.
    #[test]
    fn a_split_run_answers_what_one_worker_does() {
        let mut split = 0;
        // (The big presets and real-8g-pae, whose replayed capture is
        // 1.3 M allocator calls, are left to bench.mjs and e2e: seconds
        // in a debug build, the step after tracing every design again.)
        for p in presets::all()
            .into_iter()
            .filter(|p| p.scenario.image_pages() < 16_384 && p.name != "real-8g-pae")
        {
            let mut sc = p.scenario.clone();
            // More designs (those the machine has), so that the halves
            // are of two and more.
            for v in ["highmem-zone", "rfc-posted", "xen"] {
                let v = Variant::from_name(v).unwrap();
                if !sc.variants.contains(&v) {
                    let mut more = sc.clone();
                    more.variants.push(v);
                    if Scenario::from_json(&more.to_json()).is_ok() {
                        sc = more;
                    }
                }
            }
            let req = Request::Run {
                id: 9,
                scenario: sc.to_json(),
            };
            let mut one = WorkerState::with_trace_threshold(1);
            let want = collect(&mut one, req.clone());
            let answers = Rc::new(RefCell::new(Vec::new()));
            let mut two = WorkerState::with_trace_threshold(1).with_helper(Box::new(Inline {
                started: false,
                part: WorkerState::with_trace_threshold(1).as_part(),
                answers: answers.clone(),
            }));
            // The first big run is not split; it starts the second
            // worker, and the next is.
            assert_eq!(collect(&mut two, req.clone()), want, "{}", p.name);
            assert!(answers.borrow().is_empty());
            let mut got = collect(&mut two, req);
            let parts = std::mem::take(&mut *answers.borrow_mut());
            if parts.is_empty() {
                // Not split: an image of one page or none (a rejected load).
                assert_eq!(got, want, "{}", p.name);
                continue;
            }
            assert!(
                got.iter()
                    .all(|(r, _)| matches!(r, Response::Progress { .. })),
                "{}: the first worker answered before the second: {got:?}",
                p.name
            );
            split += 1;
            let out = Rc::new(RefCell::new(Vec::new()));
            let o = out.clone();
            let post: Post = Rc::new(move |r, w| o.borrow_mut().push((r, w)));
            for (r, w) in parts {
                part_answered(&mut two, r, w, &post);
            }
            got.extend(out.borrow().iter().cloned());
            let last = |v: &[(Response, Vec<Vec<u64>>)]| v.last().cloned().unwrap();
            assert_eq!(last(&got), last(&want), "{}", p.name);
            let step = Request::Step { id: 10, step: 1 };
            assert_eq!(
                collect(&mut two, step.clone()),
                collect(&mut one, step),
                "{}",
                p.name
            );
        }
        assert!(split >= 10, "{split} presets split");
    }

    #[test]
    fn a_late_answer_of_the_second_worker_is_dropped() {
        let mut st = WorkerState::default();
        let out = Rc::new(RefCell::new(Vec::new()));
        let o = out.clone();
        let post: Post = Rc::new(move |r, w| o.borrow_mut().push((r, w)));
        let summaries = Summaries {
            runs: vec![],
            report: String::new(),
            sections: vec![],
        };
        part_answered(
            &mut st,
            Response::Result { id: 1, summaries },
            vec![],
            &post,
        );
        assert!(out.borrow().is_empty());
    }

    #[test]
    fn a_warmed_up_workers_first_big_run_answers_as_a_cold_one() {
        // Every preset of up to 20,000 pages, taken for big: the warm-up
        // (a cut copy of each design's run) changes no byte of the answer.
        for p in presets::all() {
            if p.scenario.image_pages() > 20_000 {
                continue;
            }
            let (sc, pages) = (p.scenario.to_json(), p.scenario.image_pages());
            let answer = |warm: bool| {
                let mut st = WorkerState::with_trace_threshold(1);
                if warm {
                    st = st.with_warm_up();
                }
                let out = collect(
                    &mut st,
                    Request::Run {
                        id: 1,
                        scenario: sc.clone(),
                    },
                );
                // (A one-page image is traced at once: not big here.)
                assert_eq!(st.warm_up.is_none(), !warm || pages > 1, "{}", p.name);
                out
            };
            let (warm, cold) = (answer(true), answer(false));
            assert!(
                warm.iter()
                    .any(|(r, _)| matches!(r, Response::Result { .. })),
                "{}",
                p.name
            );
            // (Compared as text: the answers hold 1 GiB-run-sized lists,
            // too long for a failure message.)
            assert!(
                format!("{warm:?}") == format!("{cold:?}"),
                "{}: a warmed-up worker answers otherwise",
                p.name
            );
        }
    }

    #[test]
    fn large_images_are_traced_when_the_timeline_asks() {
        let mut st = WorkerState::with_trace_threshold(1);
        let sc = presets::find("swap-path").unwrap().scenario.to_json();
        let out = collect(
            &mut st,
            Request::Run {
                id: 1,
                scenario: sc,
            },
        );
        let Response::Result { summaries, .. } = &out[0].0 else {
            panic!()
        };
        assert_eq!(summaries.runs[0].steps, 3, "alloc_init, two pages");
        let out = collect(&mut st, Request::Step { id: 2, step: 2 });
        let Response::Step { texts, .. } = &out[0].0 else {
            panic!()
        };
        assert!(
            texts[0].iter().any(|t| t.contains("copy_highpage")),
            "{texts:?}"
        );
    }

    /// A big run's step 0 comes from the events the run kept (no second
    /// run: the scenario stays untraced), the same texts as a traced
    /// run's; a later step runs it again with its whole trace.
    #[test]
    fn step_0_of_a_large_image_needs_no_second_run() {
        let sc = presets::find("swap-path").unwrap().scenario.to_json();
        let run = |st: &mut WorkerState| {
            collect(
                st,
                Request::Run {
                    id: 1,
                    scenario: sc.clone(),
                },
            );
        };
        let texts = |st: &mut WorkerState, step| {
            let out = collect(st, Request::Step { id: 2, step });
            let Response::Step { texts, .. } = &out[0].0 else {
                panic!("{out:?}")
            };
            texts.clone()
        };
        let mut traced = WorkerState::default();
        run(&mut traced);
        let mut big = WorkerState::with_trace_threshold(1);
        run(&mut big);
        assert!(big.untraced.is_some());
        let step0 = texts(&mut big, 0);
        assert_eq!(step0, texts(&mut traced, 0));
        assert!(
            step0[0].iter().any(|t| t.contains("alloc_pages")),
            "{step0:?}"
        );
        assert!(big.untraced.is_some(), "step 0 ran the image again");
        assert_eq!(texts(&mut big, 2), texts(&mut traced, 2));
        assert!(big.untraced.is_none());
        assert_eq!(texts(&mut big, 0), step0);
    }

    #[test]
    fn explores_and_shrinks() {
        let mut st = WorkerState::default().with_explorer();
        let base = presets::find("swap-path").unwrap().scenario.to_json();
        let goal = "fault:rfc-posted".to_string();
        let out = collect(
            &mut st,
            Request::Explore {
                id: 3,
                base: base.clone(),
                goal: goal.clone(),
                seed: 1,
                start: 0,
                end: 50,
            },
        );
        assert_eq!(
            out[0].0,
            Response::Explored {
                id: 3,
                tried: 1,
                hit: Some(0)
            }
        );
        let out = collect(
            &mut st,
            Request::Shrink {
                id: 4,
                base,
                goal,
                seed: 1,
                index: 0,
            },
        );
        let Response::Shrunk { scenario, .. } = &out[0].0 else {
            panic!("{out:?}")
        };
        let sc = Scenario::from_json(scenario).unwrap();
        assert_eq!(sc.segments.len(), 1);
        assert_eq!(sc.segments[0].memsz, 4096);
        let bad = collect(
            &mut st,
            Request::Explore {
                id: 5,
                base: "{}".into(),
                goal: "x".into(),
                seed: 1,
                start: 0,
                end: 1,
            },
        );
        assert!(matches!(&bad[0].0, Response::Error { id: 5, .. }));
    }

    #[test]
    fn exhaustive_mode_claims_or_shrinks() {
        let mut st = WorkerState::default().with_explorer();
        let base = presets::find("swap-path").unwrap().scenario.to_json();
        let out = collect(
            &mut st,
            Request::Exhaustive {
                id: 8,
                base: base.clone(),
                goal: "verdict:pointer,rfc-fixed".into(),
                max_calls: 10,
            },
        );
        let stats: Vec<_> = out
            .iter()
            .filter(|(r, _)| matches!(r, Response::Checking { .. }))
            .collect();
        assert!(stats.is_empty(), "one line per 4096 states, and 578 states");
        let (Response::Checked { stats, claim, .. }, _) = out.last().unwrap() else {
            panic!("{out:?}")
        };
        assert!(
            stats.starts_with("578 distinct states, 4400 orders judged"),
            "{stats}"
        );
        assert_eq!(
            claim.as_deref(),
            Some("no verdict difference for goal verdict:pointer,rfc-fixed over all 4400 orders of up to 10 calls on this machine")
        );
        let out = collect(
            &mut st,
            Request::Exhaustive {
                id: 9,
                base,
                goal: "fault:rfc-posted".into(),
                max_calls: 20,
            },
        );
        assert!(matches!(&out[0].0, Response::Checked { claim: None, .. }));
        let (Response::Shrunk { scenario, .. }, _) = &out[1] else {
            panic!("{out:?}")
        };
        assert!(scenario.contains("\"replay\""), "{scenario}");
    }

    #[test]
    fn the_page_module_s_worker_runs_no_explorer() {
        let mut st = WorkerState::default();
        let base = presets::find("swap-path").unwrap().scenario.to_json();
        let out = collect(
            &mut st,
            Request::Explore {
                id: 6,
                base,
                goal: "fault:rfc-posted".into(),
                seed: 1,
                start: 0,
                end: 1,
            },
        );
        assert!(
            matches!(&out[0].0, Response::Error { id: 6, message } if message.contains("explore module")),
            "{out:?}"
        );
    }

    #[test]
    fn bad_scenario_is_an_error() {
        let mut st = WorkerState::default();
        let out = collect(
            &mut st,
            Request::Run {
                id: 5,
                scenario: "{".into(),
            },
        );
        assert!(
            matches!(&out[0].0, Response::Error { id: 5, message } if message.contains("JSON"))
        );
    }

    #[test]
    fn progress_for_large_images() {
        let mut st = WorkerState::default();
        let mut sc = presets::find("long-list").unwrap().scenario;
        sc.segments[0].memsz = 9000 * 4096;
        sc.segments[0].bufsz = 9000 * 4096;
        let out = collect(
            &mut st,
            Request::Run {
                id: 7,
                scenario: sc.to_json(),
            },
        );
        let progress: Vec<_> = out
            .iter()
            .filter_map(|(r, _)| match r {
                Response::Progress { done, total, .. } => Some((*done, *total)),
                _ => None,
            })
            .collect();
        assert_eq!(
            progress,
            vec![(4096, 18000), (8192, 18000), (13096, 18000), (17192, 18000)]
        );
        assert!(matches!(out.last().unwrap().0, Response::Result { .. }));
    }

    /// A run long enough for many progress hooks (32 here, one per
    /// PROGRESS_EVERY pages) posts one per eighth of the worker's part
    /// ([`PROGRESS_STEPS`]), the last at the part's end.
    #[test]
    fn a_long_run_posts_progress_in_eighths() {
        let mut st = WorkerState::default();
        let mut sc = presets::find("long-list").unwrap().scenario;
        sc.segments[0].memsz = 65536 * 4096;
        sc.segments[0].bufsz = 65536 * 4096;
        let out = collect(
            &mut st,
            Request::Run {
                id: 8,
                scenario: sc.to_json(),
            },
        );
        let done: Vec<u64> = out
            .iter()
            .filter_map(|(r, _)| match r {
                Response::Progress { done, .. } => Some(*done),
                _ => None,
            })
            .collect();
        // Eighths of the two designs' 131,072 pages (not every hook's
        // 4,096: each post is a render on the page's main thread).
        let want: Vec<u64> = (1..=8).map(|k| k * 16384).collect();
        assert_eq!(done, want);
        assert!(matches!(out.last().unwrap().0, Response::Result { .. }));
    }

    /// A split run's progress: each worker posts its own part's pages
    /// loaded, the first as pages of the whole run (its part 0), the
    /// second of its own designs (part 1); the page adds them up.
    #[test]
    fn a_split_run_posts_each_parts_progress() {
        let mut sc = presets::find("long-list").unwrap().scenario;
        sc.segments[0].memsz = 9000 * 4096;
        sc.segments[0].bufsz = 9000 * 4096;
        let answers = Rc::new(RefCell::new(Vec::new()));
        let mut two = WorkerState::with_trace_threshold(1).with_helper(Box::new(Inline {
            started: false,
            part: WorkerState::with_trace_threshold(1).as_part(),
            answers: answers.clone(),
        }));
        let req = Request::Run {
            id: 3,
            scenario: sc.to_json(),
        };
        collect(&mut two, req.clone());
        let progress = |out: &[(Response, Vec<Vec<u64>>)]| -> Vec<(u64, u64, u8)> {
            out.iter()
                .filter_map(|(r, _)| match r {
                    Response::Progress {
                        done, total, part, ..
                    } => Some((*done, *total, *part)),
                    _ => None,
                })
                .collect()
        };
        let first = progress(&collect(&mut two, req));
        let second = progress(&answers.borrow());
        assert_eq!(
            first,
            vec![(4096, 18000, 0), (8192, 18000, 0)],
            "the first worker: pointer of both designs"
        );
        assert_eq!(
            second,
            vec![(4096, 9000, 1), (8192, 9000, 1)],
            "the second worker: rfc-fixed alone"
        );
    }
}
