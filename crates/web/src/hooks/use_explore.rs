//! The explorer's worker pool: the candidate stream split into chunks of
//! [`CHUNK`] handed to one worker per core (as the browser reports, at
//! most 8), two at a time; the lowest hit wins, so the answer is the one
//! `kexec-sim explore` gives for the same base, goal, seed and budget. The
//! hit is shrunk in a worker and handed to the page. Exhaustive mode runs
//! in one worker (the search is depth-first and sequential), whose
//! statistics arrive as it goes; the claim or the shrunk counterexample
//! ends it. Dropping the run (cancel, a new search) terminates its
//! workers.

use crate::protocol::{InFlight, Request, Response};
use crate::util;
use crate::worker_client::WorkerClient;
use kexec_core::explore::{MAX_BUDGET, MAX_CALLS};
use kexec_core::scenario::Scenario;
use std::cell::RefCell;
use std::rc::Rc;
use yew::prelude::*;

/// Candidates per request.
pub const CHUNK: u64 = 100;

/// Requests each worker holds at once.
const IN_FLIGHT: usize = 2;

/// What the panel shows.
#[derive(Debug, Clone, PartialEq)]
pub enum ExploreView {
    /// Nothing running.
    Idle(Option<String>),
    /// Searching.
    Running {
        /// Candidates tried.
        tried: u64,
        /// Of how many.
        budget: u64,
        /// Workers.
        workers: usize,
    },
    /// Shrinking the hit.
    Shrinking(u64),
    /// Exhaustive mode: the statistics so far.
    Checking {
        /// Distinct states, orders judged, classes, depth, cut, ineligible.
        stats: String,
        /// Whether the counterexample is being shrunk.
        shrinking: bool,
    },
    /// Exhaustive mode found no order meeting the goal.
    Claimed {
        /// The claim.
        claim: String,
        /// The final statistics.
        stats: String,
        /// The link to the machine the claim is about.
        link: String,
    },
    /// Found and shrunk.
    Found {
        /// Which candidate (random) or "the first order" (exhaustive).
        index: String,
        /// Its share link.
        link: String,
        /// What it is, in a line.
        what: String,
    },
    /// Budget used up.
    NotFound(u64),
}

/// A search, as the user asked for it (the panel's fields, unchecked).
#[derive(Debug, Clone, PartialEq)]
pub struct Search {
    /// The scenario to start from.
    pub base: Scenario,
    /// The goal (`fault:V`, `differ:A,B`, `verdict:A,B`).
    pub goal: String,
    /// The budget field.
    pub budget: String,
    /// The seed field.
    pub seed: String,
    /// Exhaustive mode's call bound field; None: random candidates.
    pub max_calls: Option<String>,
}

/// Exhaustive mode's default call bound (the CLI's).
pub const DEFAULT_MAX_CALLS: usize = 20;

/// A checked search: budget (clamped to `1..=MAX_BUDGET`, with a note
/// saying so) and seed. The goal is checked where it runs: the explore
/// module's workers answer a bad one with the parser's error, shown as
/// any error is (`Goal::parse` is not in the page's first load).
fn check(s: &Search) -> Result<(u64, Option<String>, u64), String> {
    let n = s
        .budget
        .trim()
        .parse::<u64>()
        .map_err(|_| format!("budget \"{}\" is not a number", s.budget))?;
    let (n, note) = if n == 0 {
        (1, Some("a budget of 0 tries nothing; using 1".to_string()))
    } else if n > MAX_BUDGET {
        (MAX_BUDGET, Some(format!("budget capped at {MAX_BUDGET}")))
    } else {
        (n, None)
    };
    let seed = kexec_common::input::parse_num(&s.seed)
        .map_err(|_| format!("seed \"{}\" is not a number", s.seed))?;
    Ok((n, note, seed))
}

struct Run {
    workers: Vec<WorkerClient>,
    /// Exhaustive mode's final statistics, once in.
    checked: Option<String>,
    base: String,
    goal: String,
    seed: u64,
    budget: u64,
    next: u64,
    tried: u64,
    best: Option<u64>,
    outstanding: InFlight<usize>,
    next_id: u32,
}

type RunSlot = Rc<RefCell<Option<Run>>>;

impl Run {
    /// Give worker `w` the next chunk below the best hit so far.
    fn assign(&mut self, w: usize) {
        if self.next >= self.budget || self.best.is_some_and(|b| self.next >= b) {
            return;
        }
        let (start, end) = (self.next, (self.next + CHUNK).min(self.budget));
        self.next = end;
        self.next_id += 1;
        self.outstanding.insert(self.next_id, w);
        self.workers[w].send(&Request::Explore {
            id: self.next_id,
            base: self.base.clone(),
            goal: self.goal.clone(),
            seed: self.seed,
            start,
            end,
        });
    }

    /// Worker `w` searched its chunk: keep it busy, and when every chunk
    /// is in, shrink the best hit (or say there was none).
    fn explored(&mut self, w: usize, id: u32, tried: u64, hit: Option<u64>) -> ExploreView {
        self.outstanding.remove(id);
        self.tried += tried;
        if let Some(h) = hit {
            self.best = Some(self.best.map_or(h, |b| b.min(h)));
        }
        self.assign(w);
        if !self.outstanding.is_empty() {
            return ExploreView::Running {
                tried: self.tried.min(self.budget),
                budget: self.budget,
                workers: self.workers.len(),
            };
        }
        let Some(index) = self.best else {
            return ExploreView::NotFound(self.tried);
        };
        self.next_id += 1;
        self.workers[0].send(&Request::Shrink {
            id: self.next_id,
            base: self.base.clone(),
            goal: self.goal.clone(),
            seed: self.seed,
            index,
        });
        ExploreView::Shrinking(index)
    }
}

/// The shrunk case (its share fragment made by the explorer's worker),
/// shown and handed on.
fn shrunk(
    scenario: &str,
    fragment: &str,
    index: String,
    on_found: &Callback<Scenario>,
) -> ExploreView {
    match Scenario::from_json(scenario) {
        Ok(sc) => {
            let what = format!(
                "{} segment(s), {} pages, {}",
                sc.segments.len(),
                sc.segments.iter().map(|s| s.memsz / 4096).sum::<u64>(),
                sc.policy
            );
            let link = util::playground_url(fragment);
            on_found.emit(sc);
            ExploreView::Found { index, link, what }
        }
        Err(e) => ExploreView::Idle(Some(e.to_string())),
    }
}

/// Worker `w`'s responses, applied to the run.
fn responses(
    w: usize,
    run: RunSlot,
    view: UseStateHandle<ExploreView>,
    on_found: Callback<Scenario>,
) -> Callback<(Response, Vec<Vec<u64>>)> {
    Callback::from(move |(resp, _): (Response, Vec<Vec<u64>>)| {
        let mut guard = run.borrow_mut();
        let Some(r) = guard.as_mut() else { return };
        let next = match resp {
            Response::Explored { id, tried, hit } => {
                let next = r.explored(w, id, tried, hit);
                if matches!(next, ExploreView::NotFound(_)) {
                    *guard = None;
                }
                next
            }
            Response::Shrunk {
                scenario, fragment, ..
            } => {
                let index = match &r.checked {
                    Some(stats) => format!("the first order of the exhaustive search ({stats})"),
                    None => format!("candidate {}", r.best.unwrap_or(0)),
                };
                *guard = None;
                shrunk(&scenario, &fragment, index, &on_found)
            }
            Response::Checking { stats, .. } => ExploreView::Checking {
                stats,
                shrinking: false,
            },
            Response::Checked {
                stats,
                claim: Some(claim),
                fragment,
                ..
            } => {
                let link = util::playground_url(&fragment);
                *guard = None;
                ExploreView::Claimed { claim, stats, link }
            }
            Response::Checked {
                stats, claim: None, ..
            } => {
                r.checked = Some(stats.clone());
                ExploreView::Checking {
                    stats,
                    shrinking: true,
                }
            }
            Response::Error { message, .. } => {
                *guard = None;
                ExploreView::Idle(Some(message))
            }
            _ => return,
        };
        view.set(next);
    })
}

/// Start exhaustive mode: one worker, the call bound checked first.
fn start_exhaustive(
    s: &Search,
    calls: &str,
    run: &RunSlot,
    view: &UseStateHandle<ExploreView>,
    note: &UseStateHandle<Option<String>>,
    on_found: &Callback<Scenario>,
) {
    let max_calls = match calls.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_CALLS).contains(&n) => n,
        _ => {
            return view.set(ExploreView::Idle(Some(format!(
                "max calls \"{calls}\": from 1 to {MAX_CALLS} allocator calls"
            ))))
        }
    };
    *run.borrow_mut() = None;
    let cb = responses(0, run.clone(), view.clone(), on_found.clone());
    let worker = match WorkerClient::spawn_explorer(cb) {
        Ok(c) => c,
        Err(e) => return view.set(ExploreView::Idle(Some(e))),
    };
    let base = s.base.to_json();
    worker.send(&Request::Exhaustive {
        id: 1,
        base: base.clone(),
        goal: s.goal.clone(),
        max_calls,
    });
    *run.borrow_mut() = Some(Run {
        workers: vec![worker],
        checked: None,
        base,
        goal: s.goal.clone(),
        seed: 0,
        budget: 0,
        next: 0,
        tried: 0,
        best: None,
        outstanding: InFlight::default(),
        next_id: 1,
    });
    view.set(ExploreView::Checking {
        stats: "starting".into(),
        shrinking: false,
    });
    note.set(None);
}

/// The explorer's state and controls.
pub struct Explore {
    /// What the panel shows.
    pub view: ExploreView,
    /// What the last search's budget was changed to, and why.
    pub note: Option<String>,
    /// Start a search (dropping the one running).
    pub start: Callback<Search>,
    /// Stop the search.
    pub cancel: Callback<()>,
}

/// The explorer; a shrunk hit goes to `on_found`.
#[hook]
pub fn use_explore(on_found: Callback<Scenario>) -> Explore {
    let view = use_state(|| ExploreView::Idle(None));
    let note = use_state(|| None::<String>);
    let run: RunSlot = use_mut_ref(|| None);
    let start = {
        let (view, note, run) = (view.clone(), note.clone(), run.clone());
        Callback::from(move |s: Search| {
            if let Some(calls) = &s.max_calls {
                return start_exhaustive(&s, calls, &run, &view, &note, &on_found);
            }
            let (budget, budget_note, seed) = match check(&s) {
                Ok(x) => x,
                Err(e) => return view.set(ExploreView::Idle(Some(e))),
            };
            let cores = util::window().navigator().hardware_concurrency() as usize;
            let count = cores.clamp(1, 8);
            *run.borrow_mut() = None;
            let mut workers = Vec::new();
            for w in 0..count {
                let cb = responses(w, run.clone(), view.clone(), on_found.clone());
                match WorkerClient::spawn_explorer(cb) {
                    Ok(c) => workers.push(c),
                    Err(e) => return view.set(ExploreView::Idle(Some(e))),
                }
            }
            let mut r = Run {
                workers,
                checked: None,
                base: s.base.to_json(),
                goal: s.goal,
                seed,
                budget,
                next: 0,
                tried: 0,
                best: None,
                outstanding: InFlight::default(),
                next_id: 0,
            };
            // Two chunks in flight per worker: the next waits in the
            // worker's queue while it searches one, so the worker does not
            // idle for the answer's round trip through the page.
            for _ in 0..IN_FLIGHT {
                for w in 0..count {
                    r.assign(w);
                }
            }
            *run.borrow_mut() = Some(r);
            view.set(ExploreView::Running {
                tried: 0,
                budget,
                workers: count,
            });
            note.set(budget_note);
        })
    };
    let cancel = {
        let (run, view) = (run.clone(), view.clone());
        Callback::from(move |()| {
            *run.borrow_mut() = None;
            view.set(ExploreView::Idle(Some("exploration cancelled".into())));
        })
    };
    Explore {
        view: (*view).clone(),
        note: (*note).clone(),
        start,
        cancel,
    }
}
