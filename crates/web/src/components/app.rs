//! The page: boots from the URL (`#s=…`, `?preset=NAME`, `?embed=1`), owns
//! the model worker, reruns both sides on every edit, keeps the URL in step
//! with the scenario, and lays the components out.

use super::embed::EmbedView;
use super::explore::ExplorePanel;
use super::help::Help;
use super::memory_map::MemoryMap;
use super::pane::Pane;
use super::progress::Progress;
use super::scenario_bar::ScenarioBar;
use super::share_bar::{ShareAction, ShareBar};
use super::timeline::Timeline;
use super::{first_difference, Words};
use crate::labs::{view_of, View, LABS, LAB_EVENT};
use crate::protocol::{Request, Response};
use crate::state::{Action, RunResult, State, Status};
use crate::util;
use crate::worker_client::WorkerClient;
use gloo::events::EventListener;
use gloo::timers::callback::Timeout;
use kexec_core::{link, presets, run};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use wasm_bindgen::JsCast;
use yew::prelude::*;

/// Debounce of reruns while typing, in ms.
const DEBOUNCE_MS: u32 = 120;

/// Both lists, when there are two to compare (a run that loaded nothing has
/// no list to compare against).
fn comparable(r: &RunResult) -> Option<(&[u64], &[u64])> {
    match &r.words[..] {
        [a, b] if !a.is_empty() && !b.is_empty() => Some((a, b)),
        _ => None,
    }
}

/// The initial state from the URL, and whether this is an embed.
pub fn boot() -> (State, bool) {
    let embed = util::query_param("embed").is_some_and(|v| v == "1");
    let href = util::href();
    let default = || State::new(State::default_scenario(), Some("rfc-i386-pae".into()), None);
    let state = if view_of(&href) != View::Kimage {
        default()
    } else if href.contains('#') && href.split_once('#').is_some_and(|(_, f)| !f.is_empty()) {
        match link::decode(&href) {
            Ok(sc) => State::new(sc, None, None),
            Err(e) => {
                let mut s = default();
                s.notice = Some(format!(
                    "This link could not be opened ({e}); showing the default scenario instead."
                ));
                s
            }
        }
    } else if let Some(name) = util::query_param("preset") {
        match presets::find(&name) {
            Some(p) => State::new(p.scenario, Some(name), None),
            None => {
                let mut s = default();
                s.notice = Some(format!(
                    "There is no preset \"{name}\"; showing the default scenario instead."
                ));
                s
            }
        }
    } else {
        default()
    };
    (state, embed)
}

fn set_theme(theme: &str) {
    if let Some(el) = util::window().document().and_then(|d| d.document_element()) {
        let _ = el.set_attribute("data-theme", theme);
    }
}

fn preferred_theme() -> String {
    util::load_pref("kexec-playground-theme").unwrap_or_else(|| {
        let dark = util::window()
            .match_media("(prefers-color-scheme: dark)")
            .ok()
            .flatten()
            .is_some_and(|m| m.matches());
        if dark { "dark" } else { "light" }.to_string()
    })
}

/// The page.
#[component]
pub fn App() -> Html {
    let embed = use_memo((), |_| boot().1);
    let store = use_reducer(|| boot().0);
    let worker: Rc<RefCell<Option<WorkerClient>>> = use_mut_ref(|| None);
    let sent: Rc<RefCell<HashMap<u32, kexec_core::scenario::Scenario>>> = use_mut_ref(HashMap::new);
    let next_id = use_mut_ref(|| 0u32);
    let first_revision = use_mut_ref(|| true);
    let jump = use_state(|| None::<(u32, usize)>);
    let feedback = use_state(|| None::<AttrValue>);
    let theme = use_state(preferred_theme);
    let map_node = use_node_ref();
    let latest_diff = use_mut_ref(|| None::<usize>);
    // The memory map of a new result renders one task after the panes, so a
    // 1 GiB result does not become one long main-thread task.
    let map_for = use_state(|| None::<u32>);
    // The Placement view, when shown (its scenario), and a flag the
    // kimage side reads before it writes the URL.
    let lab = use_state(|| view_of(&util::href()));
    let placement_shown = use_mut_ref(|| false);
    *placement_shown.borrow_mut() = *lab != View::Kimage;

    // Responses from the worker become actions.
    let on_response = {
        let dispatch = store.dispatcher();
        let sent = sent.clone();
        Callback::from(move |(resp, words): (Response, Vec<Vec<u64>>)| match resp {
            Response::Progress { id, done, total } => {
                dispatch.dispatch(Action::Progress { id, done, total })
            }
            Response::Result { id, summaries } => {
                let Some(scenario) = sent.borrow_mut().remove(&id) else {
                    return;
                };
                let words = words.into_iter().map(Rc::new).collect();
                dispatch.dispatch(Action::Finished(Rc::new(RunResult {
                    id,
                    scenario,
                    summaries,
                    words,
                })));
            }
            Response::Step { step, texts, .. } => dispatch.dispatch(Action::StepTexts(step, texts)),
            Response::Error { id, message } => dispatch.dispatch(Action::Failed(id, message)),
            Response::Ready | Response::Explored { .. } | Response::Shrunk { .. } => {}
        })
    };
    let ensure_worker = {
        let (worker, on_response, dispatch) =
            (worker.clone(), on_response.clone(), store.dispatcher());
        Rc::new(move || {
            if worker.borrow().is_none() {
                match WorkerClient::spawn(on_response.clone()) {
                    Ok(w) => *worker.borrow_mut() = Some(w),
                    Err(e) => dispatch.dispatch(Action::Notice(Some(e))),
                }
            }
        })
    };

    // Every new scenario: (debounced) run it and put it in the URL.
    {
        let (worker, sent, next_id, ensure) = (
            worker.clone(),
            sent.clone(),
            next_id.clone(),
            ensure_worker.clone(),
        );
        let (dispatch, scenario, first) = (
            store.dispatcher(),
            store.scenario.clone(),
            first_revision.clone(),
        );
        let preset_ok = store.preset.is_some() && store.preset == util::query_param("preset");
        let embed = *embed;
        let placement_shown = placement_shown.clone();
        use_effect_with(store.revision, move |_| {
            let initial = std::mem::replace(&mut *first.borrow_mut(), false);
            let delay = if initial { 0 } else { DEBOUNCE_MS };
            let timeout = Timeout::new(delay, move || {
                ensure();
                let id = {
                    let mut n = next_id.borrow_mut();
                    *n += 1;
                    *n
                };
                sent.borrow_mut().insert(id, scenario.clone());
                if let Some(w) = worker.borrow().as_ref() {
                    w.send(&Request::Run {
                        id,
                        scenario: scenario.to_json(),
                    });
                    dispatch.dispatch(Action::Started(id));
                }
                let keep_short_link = initial && util::query_param("preset").is_some() && preset_ok;
                if !keep_short_link && !embed && !*placement_shown.borrow() {
                    util::set_fragment(&link::encode_fragment(&scenario));
                }
            });
            move || drop(timeout)
        });
    }

    // Ask for the current step's events.
    {
        let worker = worker.clone();
        let result_id = store.result.as_ref().map(|r| r.id);
        use_effect_with((store.step, result_id), move |(step, id)| {
            if let (Some(id), Some(w)) = (id, worker.borrow().as_ref()) {
                w.send(&Request::Step {
                    id: *id,
                    step: *step,
                });
            }
        });
    }

    {
        let map_for = map_for.clone();
        let id = store.result.as_ref().map(|r| r.id);
        use_effect_with(id, move |id| {
            let id = *id;
            let t = Timeout::new(0, move || map_for.set(id));
            move || drop(t)
        });
    }

    // A link pasted over the playground (only the fragment changes: no
    // reload) opens its scenario. history.replaceState fires no hashchange,
    // so the page's own URL updates do not come back here.
    {
        let dispatch = store.dispatcher();
        let lab = lab.setter();
        use_effect_with((), move |_| {
            let listener = EventListener::new(&util::window(), "hashchange", move |_| {
                let href = util::href();
                let view = view_of(&href);
                if view != View::Kimage {
                    lab.set(view);
                    return;
                }
                match link::decode(&href) {
                    Ok(sc) => {
                        lab.set(View::Kimage);
                        dispatch.dispatch(Action::Load {
                            scenario: sc,
                            preset: None,
                        })
                    }
                    Err(e) => dispatch.dispatch(Action::Notice(Some(format!(
                        "This link could not be opened ({e})."
                    )))),
                }
            });
            move || drop(listener)
        });
    }

    // Theme.
    use_effect_with((*theme).clone(), |t| set_theme(t));

    // Keyboard: ←/→ Home/End d f ? Esc, ignored while typing in a field.
    {
        let (dispatch, jump, latest_diff) = (store.dispatcher(), jump.clone(), latest_diff.clone());
        use_effect_with((), move |_| {
            let listener = util::window().document().map(|doc| {
                EventListener::new(&doc, "keydown", move |e| {
                    let Some(e) = e.dyn_ref::<web_sys::KeyboardEvent>() else {
                        return;
                    };
                    if e.ctrl_key() || e.meta_key() || e.alt_key() {
                        return;
                    }
                    let typing = e
                        .target()
                        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                        .is_some_and(|el| {
                            matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT")
                        });
                    if typing {
                        return;
                    }
                    let action = match e.key().as_str() {
                        "ArrowRight" => Some(Action::StepBy(1)),
                        "ArrowLeft" => Some(Action::StepBy(-1)),
                        "Home" => Some(Action::StepTo(0)),
                        "End" => Some(Action::StepTo(usize::MAX)),
                        "?" => Some(Action::Help(true)),
                        "Escape" => Some(Action::Help(false)),
                        "f" => Some(Action::ToggleFold),
                        "d" => {
                            if let Some(i) = *latest_diff.borrow() {
                                let token = jump.as_ref().map_or(1, |(t, _)| t + 1);
                                jump.set(Some((token, i)));
                            }
                            None
                        }
                        _ => return,
                    };
                    e.prevent_default();
                    if let Some(a) = action {
                        dispatch.dispatch(a);
                    }
                })
            });
            move || drop(listener)
        });
    }

    let state = (*store).clone();
    let result = state.result.clone();
    let difference = result
        .as_ref()
        .and_then(|r| comparable(r))
        .map(|(a, b)| first_difference(a, b));
    *latest_diff.borrow_mut() = difference.flatten();
    let fragment = link::encode_fragment(&state.scenario);

    // Embed: report the height to the parent page after every render.
    {
        let embed = *embed;
        use_effect(move || {
            if embed {
                let w = util::window();
                let h = w
                    .document()
                    .and_then(|d| d.document_element())
                    .map_or(0, |e| e.scroll_height());
                if let Ok(Some(parent)) = w.parent() {
                    let msg = js_sys::Object::new();
                    let _ = js_sys::Reflect::set(
                        &msg,
                        &"type".into(),
                        &"kexec-playground-height".into(),
                    );
                    let _ = js_sys::Reflect::set(&msg, &"height".into(), &h.into());
                    let _ = parent.post_message(&msg, "*");
                }
            }
        });
    }
    let machine = use_memo(result.as_ref().map(|r| r.id), {
        let sc = result.as_ref().map(|r| r.scenario.clone());
        move |_| sc.as_ref().map(run::machine).map(Rc::new)
    });
    // The labs' module says which lab it shows (a `?preset=` link of a
    // lab is known only there).
    // A `?preset=` that is no lab's either is the kimage view's notice.
    {
        let lab = lab.clone();
        let dispatch = store.dispatcher();
        use_effect_with(*lab, move |&now| {
            let listener = EventListener::new(&util::window(), LAB_EVENT, move |e| {
                let kind = e
                    .dyn_ref::<web_sys::CustomEvent>()
                    .and_then(|c| c.detail().as_string())
                    .unwrap_or_default();
                if let Some(t) = crate::labs::tab(&kind) {
                    lab.set(View::Lab(Some(t)));
                } else if now == View::Lab(None) {
                    lab.set(View::Kimage);
                    let name = util::query_param("preset").unwrap_or_default();
                    dispatch.dispatch(Action::Notice(Some(format!(
                        "There is no preset \"{name}\"; showing the default scenario instead."
                    ))));
                }
            });
            move || drop(listener)
        });
    }
    let tabs = {
        let to_kimage = {
            let (lab, fragment) = (lab.clone(), fragment.clone());
            Callback::from(move |_| {
                lab.set(View::Kimage);
                // A navigation: the labs' module hides its view too.
                util::go_to_fragment(&fragment);
            })
        };
        let shown = match *lab {
            View::Lab(Some(t)) => Some(t.kind),
            _ => None,
        };
        html! {
            <nav class="tabs" aria-label="views">
                <button id="tab-kimage" aria-pressed={(*lab == View::Kimage).to_string()} onclick={to_kimage}>{ "kimage entry list" }</button>
                { for LABS.iter().map(|t| {
                    let onclick = Callback::from(move |_| {
                        if shown != Some(t.kind) {
                            util::go_to_fragment(&format!("lab={}", t.kind));
                        }
                    });
                    html! {
                        <button id={format!("tab-{}", t.kind)} aria-pressed={(shown == Some(t.kind)).to_string()} {onclick}>{ t.label }</button>
                    }
                }) }
            </nav>
        }
    };
    // The labs live in their own module, under #lab-root.
    {
        let shown = *lab != View::Kimage;
        use_effect_with(shown, |&shown| {
            if shown {
                util::load_labs();
            }
            util::show_lab_root(shown);
        });
    }
    if let View::Lab(tab) = *lab {
        let tagline = tab.map_or(
            "a lab of the kexec playground: the same simulated machines, another mechanism from the seed threads",
            |t| t.tagline,
        );
        return html! {
            <>
            <header class="top">
                <h1>{ "kexec playground" }</h1>
                <p class="tagline">{ tagline }</p>
            </header>
            { tabs }
            if let Some(n) = &state.notice {
                <p class="notice" role="alert" id="notice">{ n }</p>
            }
            </>
        };
    }
    if *embed {
        return html! { <EmbedView state={Rc::new(state)} open_url={util::playground_url(&fragment)} /> };
    }

    let act: Callback<Action> = {
        let d = store.dispatcher();
        Callback::from(move |a| d.dispatch(a))
    };
    let on_edit = act.reform(Action::Edit);
    let on_preset = {
        let dispatch = store.dispatcher();
        Callback::from(move |name: String| {
            if let Some(p) = presets::find(&name) {
                dispatch.dispatch(Action::Load {
                    scenario: p.scenario,
                    preset: Some(name),
                });
            }
        })
    };
    let on_cancel = {
        let (worker, dispatch) = (worker.clone(), store.dispatcher());
        Callback::from(move |_| {
            if let Some(w) = worker.borrow_mut().take() {
                w.terminate();
            }
            dispatch.dispatch(Action::Cancel);
        })
    };
    let on_share = {
        let (state, jump, feedback, theme, map_node) = (
            state.clone(),
            jump.clone(),
            feedback.clone(),
            theme.clone(),
            map_node.clone(),
        );
        let dispatch = store.dispatcher();
        let fragment = fragment.clone();
        Callback::from(move |a: ShareAction| match a {
            ShareAction::CopyLink => {
                util::copy(&util::playground_url(&fragment));
                feedback.set(Some("link copied".into()));
            }
            ShareAction::CopyText => {
                if let Some(r) = &state.result {
                    util::copy(&r.summaries.report);
                    feedback.set(Some("report copied".into()));
                }
            }
            ShareAction::DownloadJson => util::download(
                "kexec-scenario.json",
                "application/json",
                &state.scenario.to_json_pretty(),
            ),
            ShareAction::ExportSvg => {
                if let Some(svg) = map_node.cast::<web_sys::Element>() {
                    util::download("kexec-memory-map.svg", "image/svg+xml", &svg.outer_html());
                }
            }
            ShareAction::FirstDifference => {
                if let Some(Some(i)) = state
                    .result
                    .as_ref()
                    .and_then(|r| comparable(r))
                    .map(|(a, b)| first_difference(a, b))
                {
                    let token = jump.as_ref().map_or(1, |(t, _)| t + 1);
                    jump.set(Some((token, i)));
                }
            }
            ShareAction::Fold => dispatch.dispatch(Action::ToggleFold),
            ShareAction::Theme => {
                let t = if *theme == "dark" { "light" } else { "dark" };
                util::save_pref("kexec-playground-theme", t);
                theme.set(t.to_string());
            }
            ShareAction::Help => dispatch.dispatch(Action::Help(true)),
        })
    };
    let kernel_error = result
        .as_ref()
        .filter(|r| r.scenario == state.scenario)
        .and_then(|r| {
            let s = r.summaries.runs.first()?;
            Some((s.bad_segment?, s.verdict.clone()))
        });
    let runs: Vec<Rc<kexec_core::summary::RunSummary>> = result
        .iter()
        .flat_map(|r| r.summaries.runs.iter().cloned().map(Rc::new))
        .collect();
    let stale = result
        .as_ref()
        .is_some_and(|r| r.scenario != state.scenario);

    html! {
        <>
        <header class="top">
            <h1>{ "kexec playground" }</h1>
            <p class="tagline">{ "kernel/kexec_core.c image loading on a simulated machine: today's pointer-based kimage list against the 2020 position-based RFC, same segments, same allocator stream" }</p>
        </header>
        { tabs }
        if let Some(n) = &state.notice {
            <p class="notice" role="alert" id="notice">
                { n }
                <button class="icon" aria-label="dismiss" onclick={act.reform(|_| Action::Notice(None))}>{ "×" }</button>
            </p>
        }
        <ScenarioBar form={state.form.clone()} input_error={state.input_error.clone()} {kernel_error}
            preset={state.preset.clone()} {on_edit} {on_preset} />
        if let Status::Running { done, total, .. } = state.status {
            <Progress {done} {total} on_cancel={on_cancel.clone()} />
        }
        if let Status::Failed(m) = &state.status {
            <p class="notice" role="alert">{ m }</p>
        }
        <ExplorePanel base={state.scenario.clone()}
            on_found={act.reform(|scenario| Action::Load { scenario, preset: None })} />
        <ShareBar {difference} fold={state.fold} feedback={(*feedback).clone()} on_action={on_share} />
        <main class={classes!("panes", stale.then_some("stale"))} aria-busy={matches!(state.status, Status::Running { .. }).to_string()}>
            if let (Some(r), Some(m)) = (&result, machine.as_ref().as_ref()) {
                { for runs.iter().enumerate().map(|(i, s)| {
                    let words = Words(r.words.get(i).cloned().unwrap_or_default());
                    let other = comparable(r).map(|_| Words(r.words[1 - i.min(1)].clone()));
                    html! {
                        <Pane side={i} summary={s.clone()} {words} {other} machine={m.clone()}
                            fold={state.fold} jump={*jump} />
                    }
                }) }
            } else {
                <p class="loading">{ "running the model…" }</p>
            }
        </main>
        if !runs.is_empty() && *map_for == result.as_ref().map(|r| r.id) {
            <section class="map" aria-label="memory map">
                <h2>{ "memory map" }</h2>
                <MemoryMap runs={runs.clone()} node={map_node.clone()} />
            </section>
            <Timeline step={state.step} steps={state.steps()}
                variants={runs.iter().map(|s| s.variant.clone()).collect::<Vec<_>>()}
                texts={state.step_texts.as_ref().filter(|(k, _)| *k == state.step).map(|(_, t)| t.clone())}
                dispatch={act.clone()} />
        }
        if state.help {
            <Help on_close={act.reform(|_| Action::Help(false))} />
        }
        <footer>
            <a href="./embed.html">{ "embedding in documentation" }</a>
            { " · the model: kexec-model (also the kexec-sim CLI) · nothing leaves this page" }
        </footer>
        </>
    }
}
