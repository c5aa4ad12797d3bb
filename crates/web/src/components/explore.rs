//! The Explore panel: "is there ANY machine and allocation order on which
//! this design breaks, or differs from another?" The candidate stream is
//! split into chunks handed to one worker per core (as the browser
//! reports); the lowest hit wins, so the answer is the one `kexec-sim
//! explore` gives for the same base, goal, seed and budget. The hit is
//! shrunk in a worker and shown in the panes, with its link.

use crate::protocol::{Request, Response};
use crate::util;
use crate::worker_client::WorkerClient;
use kexec_core::design::{Variant, ALL_VARIANTS};
use kexec_core::explore::{Goal, MAX_BUDGET};
use kexec_core::link;
use kexec_core::scenario::Scenario;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use yew::prelude::*;

/// Candidates per request.
const CHUNK: u64 = 100;

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
    /// Found and shrunk.
    Found {
        /// The hit's index.
        index: u64,
        /// Its share link.
        link: String,
        /// What it is, in a line.
        what: String,
    },
    /// Budget used up.
    NotFound(u64),
}

struct Run {
    workers: Vec<WorkerClient>,
    base: String,
    goal: String,
    seed: u64,
    budget: u64,
    next: u64,
    tried: u64,
    best: Option<u64>,
    outstanding: HashMap<u32, usize>,
    next_id: u32,
}

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
}

/// Props of [`ExplorePanel`].
#[derive(Properties, PartialEq, Clone)]
pub struct ExplorePanelProps {
    /// The scenario to start from.
    pub base: Scenario,
    /// Show a shrunk case in the panes.
    pub on_found: Callback<Scenario>,
}

fn goal_text(kind: &str, a: Variant, b: Variant) -> String {
    if kind == "fault" {
        format!("fault:{a}")
    } else {
        format!("{kind}:{a},{b}")
    }
}

/// The panel.
#[component]
pub fn ExplorePanel(props: &ExplorePanelProps) -> Html {
    let kind = use_state(|| "fault".to_string());
    let a = use_state(|| {
        props
            .base
            .variants
            .get(1)
            .copied()
            .unwrap_or(Variant::RfcPosted)
    });
    let b = use_state(|| {
        props
            .base
            .variants
            .first()
            .copied()
            .unwrap_or(Variant::Pointer)
    });
    let budget = use_state(|| "20000".to_string());
    let seed = use_state(|| "1".to_string());
    let view = use_state(|| ExploreView::Idle(None));
    let budget_note = use_state(|| None::<String>);
    let run: Rc<RefCell<Option<Run>>> = use_mut_ref(|| None);

    let start = {
        let (kind, a, b, budget, seed, view, run) = (
            kind.clone(),
            a.clone(),
            b.clone(),
            budget.clone(),
            seed.clone(),
            view.clone(),
            run.clone(),
        );
        let budget_note = budget_note.clone();
        let (base, on_found) = (props.base.clone(), props.on_found.clone());
        Callback::from(move |_| {
            let goal = goal_text(&kind, *a, *b);
            if let Err(e) = Goal::parse(&goal) {
                view.set(ExploreView::Idle(Some(e)));
                return;
            }
            let (mut n, mut note) = match budget.trim().parse::<u64>() {
                Ok(n) => (n, None),
                Err(_) => {
                    return view.set(ExploreView::Idle(Some(format!(
                        "budget \"{}\" is not a number",
                        *budget
                    ))))
                }
            };
            if n == 0 {
                n = 1;
                note = Some("a budget of 0 tries nothing; using 1".to_string());
            } else if n > MAX_BUDGET {
                n = MAX_BUDGET;
                note = Some(format!("budget capped at {MAX_BUDGET}"));
            }
            let Ok(seed) = kexec_common::input::parse_num(&seed) else {
                return view.set(ExploreView::Idle(Some(format!(
                    "seed \"{}\" is not a number",
                    *seed
                ))));
            };
            let cores = util::window().navigator().hardware_concurrency() as usize;
            let count = cores.clamp(1, 8);
            *run.borrow_mut() = None;
            let mut workers = Vec::new();
            for w in 0..count {
                let (run2, view2, on_found2) = (run.clone(), view.clone(), on_found.clone());
                let cb = Callback::from(move |(resp, _): (Response, Vec<Vec<u64>>)| {
                    let mut guard = run2.borrow_mut();
                    let Some(r) = guard.as_mut() else { return };
                    match resp {
                        Response::Explored { id, tried, hit } => {
                            r.outstanding.remove(&id);
                            r.tried += tried;
                            if let Some(h) = hit {
                                r.best = Some(r.best.map_or(h, |b| b.min(h)));
                            }
                            r.assign(w);
                            view2.set(ExploreView::Running {
                                tried: r.tried.min(r.budget),
                                budget: r.budget,
                                workers: r.workers.len(),
                            });
                            if r.outstanding.is_empty() {
                                match r.best {
                                    Some(index) => {
                                        r.next_id += 1;
                                        r.workers[0].send(&Request::Shrink {
                                            id: r.next_id,
                                            base: r.base.clone(),
                                            goal: r.goal.clone(),
                                            seed: r.seed,
                                            index,
                                        });
                                        view2.set(ExploreView::Shrinking(index));
                                    }
                                    None => {
                                        view2.set(ExploreView::NotFound(r.tried));
                                        *guard = None;
                                    }
                                }
                            }
                        }
                        Response::Shrunk { scenario, .. } => {
                            let index = r.best.unwrap_or(0);
                            *guard = None;
                            match Scenario::from_json(&scenario) {
                                Ok(sc) => {
                                    let what = format!(
                                        "{} segment(s), {} pages, {}",
                                        sc.segments.len(),
                                        sc.segments.iter().map(|s| s.memsz / 4096).sum::<u64>(),
                                        sc.policy
                                    );
                                    let link = util::playground_url(&link::encode_fragment(&sc));
                                    view2.set(ExploreView::Found { index, link, what });
                                    on_found2.emit(sc);
                                }
                                Err(e) => view2.set(ExploreView::Idle(Some(e.to_string()))),
                            }
                        }
                        Response::Error { message, .. } => {
                            *guard = None;
                            view2.set(ExploreView::Idle(Some(message)));
                        }
                        _ => {}
                    }
                });
                match WorkerClient::spawn(cb) {
                    Ok(c) => workers.push(c),
                    Err(e) => return view.set(ExploreView::Idle(Some(e))),
                }
            }
            let mut r = Run {
                workers,
                base: base.to_json(),
                goal,
                seed,
                budget: n,
                next: 0,
                tried: 0,
                best: None,
                outstanding: HashMap::new(),
                next_id: 0,
            };
            for w in 0..count {
                r.assign(w);
            }
            *run.borrow_mut() = Some(r);
            view.set(ExploreView::Running {
                tried: 0,
                budget: n,
                workers: count,
            });
            budget_note.set(note);
        })
    };
    let cancel = {
        let (run, view) = (run.clone(), view.clone());
        Callback::from(move |_| {
            *run.borrow_mut() = None;
            view.set(ExploreView::Idle(Some("exploration cancelled".into())));
        })
    };
    let select = |id: &'static str, value: Variant, state: UseStateHandle<Variant>| {
        let onchange = Callback::from(move |e: Event| {
            let v = e
                .target_unchecked_into::<web_sys::HtmlSelectElement>()
                .value();
            state.set(Variant::from_name(&v).unwrap_or(Variant::Pointer));
        });
        html! {
            <select {id} {onchange} aria-label={id}>
                { for ALL_VARIANTS.iter().map(|v| html! { <option value={v.name()} selected={*v == value}>{ v.name() }</option> }) }
            </select>
        }
    };
    let on_kind = {
        let kind = kind.clone();
        Callback::from(move |e: Event| {
            kind.set(
                e.target_unchecked_into::<web_sys::HtmlSelectElement>()
                    .value(),
            )
        })
    };
    let on_budget = {
        let budget = budget.clone();
        Callback::from(move |e: InputEvent| {
            budget.set(
                e.target_unchecked_into::<web_sys::HtmlInputElement>()
                    .value(),
            )
        })
    };
    let on_seed = {
        let seed = seed.clone();
        Callback::from(move |e: InputEvent| {
            seed.set(
                e.target_unchecked_into::<web_sys::HtmlInputElement>()
                    .value(),
            )
        })
    };
    let running = matches!(
        *view,
        ExploreView::Running { .. } | ExploreView::Shrinking(_)
    );
    html! {
        <details class="explore" id="explore">
            <summary>{ "Explore: search machines and allocation orders for a failing or diverging load" }</summary>
            <div class="explore-controls">
                <label>{ "goal " }
                    <select id="explore-goal" onchange={on_kind}>
                        <option value="fault" selected={*kind == "fault"}>{ "faults or fails relocation" }</option>
                        <option value="differ" selected={*kind == "differ"}>{ "entry lists differ" }</option>
                        <option value="verdict" selected={*kind == "verdict"}>{ "verdicts differ" }</option>
                    </select>
                </label>
                { select("explore-a", *a, a.clone()) }
                if *kind != "fault" {
                    <span>{ " vs " }</span>{ select("explore-b", *b, b.clone()) }
                }
                <label>{ " budget " }<input id="explore-budget" class="short" value={(*budget).clone()} oninput={on_budget} /></label>
                <label>{ " seed " }<input id="explore-seed" class="short" value={(*seed).clone()} oninput={on_seed} /></label>
                if running {
                    <button id="explore-cancel" onclick={cancel}>{ "cancel" }</button>
                } else {
                    <button id="explore-start" onclick={start}>{ "explore" }</button>
                }
            </div>
            if let Some(n) = &*budget_note {
                <p class="field-error" id="explore-note">{ n }</p>
            }
            <div class="explore-status" role="status" id="explore-status">
                { match &*view {
                    ExploreView::Idle(None) => html! { <span>{ "Candidates vary the allocator policy and seed, RAM around the lowmem and 4 GiB lines, and segments around zone and 511/1023-entry boundaries; the hit is shrunk to a replay of the exact allocation order." }</span> },
                    ExploreView::Idle(Some(m)) => html! { <span class="field-error">{ m }</span> },
                    ExploreView::Running { tried, budget, workers } => html! {
                        <>
                            <progress max={budget.to_string()} value={tried.to_string()} aria-label="candidates tried"></progress>
                            <span>{ format!(" {tried} of {budget} candidates, {workers} workers") }</span>
                        </>
                    },
                    ExploreView::Shrinking(i) => html! { <span>{ format!("candidate {i} meets the goal; shrinking…") }</span> },
                    ExploreView::Found { index, link, what } => html! {
                        <span>{ format!("found: candidate {index}, shrunk to {what}; now in the panes. ") }
                            <a id="explore-link" href={link.clone()}>{ "link to this case" }</a></span>
                    },
                    ExploreView::NotFound(n) => html! { <span>{ format!("no candidate among {n} met the goal") }</span> },
                } }
            </div>
        </details>
    }
}
