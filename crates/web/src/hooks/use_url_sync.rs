//! The URL and the page, both ways. On boot the URL opens a scenario
//! (`#s=…`, `?preset=NAME`, the timeline at `?step=N|last`) or says why
//! it could not; then the fragment
//! follows the scenario (`history.replaceState`, debounced with the runs);
//! a link pasted over the page (a `hashchange`) opens its scenario; and
//! the view switches between the kimage view and the labs, from the URL
//! ([`view_of`]) and from the labs' module (the [`LAB_EVENT`] it sends).

use super::use_debounced::DEBOUNCE_MS;
use crate::labs::{tab, view_of, View, LAB_EVENT};
use crate::state::{Action, State};
use crate::util;
use gloo::events::EventListener;
use gloo::timers::callback::Timeout;
use kexec_common::input::quoted;
use kexec_core::{link, presets};
use wasm_bindgen::JsCast;
use yew::prelude::*;

/// Whether the page is an embed (`?embed=1`).
pub fn is_embed() -> bool {
    util::query_param("embed").is_some_and(|v| v == "1")
}

fn no_preset(name: &str) -> String {
    format!(
        "There is no preset {}; showing the default scenario instead.",
        quoted(name)
    )
}

/// The initial state from the URL: a link's scenario, a preset, or the
/// default with a notice saying what could not be opened. A lab's URL
/// leaves the kimage view on the default.
pub fn boot_state() -> State {
    let mut s = boot_scenario();
    if let Some(step) = util::query_param("step").and_then(|v| step_param(&v)) {
        // Clamped to the last step when the runs arrive.
        s.step = step;
    }
    s
}

/// `?step=N` (a timeline step, from 0) or `?step=last`.
fn step_param(v: &str) -> Option<usize> {
    match v {
        "last" => Some(usize::MAX),
        n => n.parse().ok(),
    }
}

fn boot_scenario() -> State {
    let href = util::href();
    let default = || State::new(State::default_scenario(), Some("rfc-i386-pae".into()), None);
    let with_notice = |notice: String| {
        let mut s = default();
        s.notice = Some(notice);
        s
    };
    if view_of(&href) != View::Kimage {
        default()
    } else if href.split_once('#').is_some_and(|(_, f)| !f.is_empty()) {
        match link::decode(&href) {
            Ok(sc) => State::new(sc, None, None),
            Err(e) => with_notice(format!(
                "This link could not be opened ({e}); showing the default scenario instead."
            )),
        }
    } else if let Some(name) = util::query_param("preset") {
        match presets::find(&name) {
            Some(p) => State::new(p.scenario, Some(name), None),
            None => with_notice(no_preset(&name)),
        }
    } else {
        default()
    }
}

/// The view shown and the URL's side of the page.
#[derive(Clone)]
pub struct UrlSync {
    /// The view the URL opened (or a tab picked).
    pub view: View,
    /// The share-link fragment of the current scenario.
    pub fragment: String,
    /// Back to the kimage view (a navigation: the labs' module hides its
    /// view too).
    pub to_kimage: Callback<()>,
}

/// Open a link pasted over the page. `history.replaceState` fires no
/// `hashchange`, so the page's own URL updates do not come back here.
fn on_hashchange(dispatch: &UseReducerDispatcher<State>, view: &UseStateHandle<View>) {
    let href = util::href();
    let v = view_of(&href);
    if v != View::Kimage {
        view.set(v);
        return;
    }
    match link::decode(&href) {
        Ok(sc) => {
            view.set(View::Kimage);
            dispatch.dispatch(Action::Load {
                scenario: sc,
                preset: None,
            })
        }
        Err(e) => dispatch.dispatch(Action::Notice(Some(format!(
            "This link could not be opened ({e})."
        )))),
    }
}

/// The labs' module says which lab it shows (a lab's `?preset=` link is
/// known only there); a `?preset=` that is no lab's either is the kimage
/// view's notice.
fn on_lab_event(
    e: &Event,
    now: View,
    dispatch: &UseReducerDispatcher<State>,
    view: &UseStateHandle<View>,
) {
    let kind = e
        .dyn_ref::<web_sys::CustomEvent>()
        .and_then(|c| c.detail().as_string())
        .unwrap_or_default();
    if let Some(t) = tab(&kind) {
        view.set(View::Lab(Some(t)));
    } else if now == View::Lab(None) {
        view.set(View::Kimage);
        let name = util::query_param("preset").unwrap_or_default();
        dispatch.dispatch(Action::Notice(Some(no_preset(&name))));
    }
}

/// Keep the URL and the store in step, and follow the view.
#[hook]
pub fn use_url_sync(store: &UseReducerHandle<State>, embed: bool) -> UrlSync {
    let view = use_state(|| view_of(&util::href()));
    // Read when the debounced write fires: a lab shown since keeps the URL.
    let lab_shown = use_mut_ref(|| false);
    *lab_shown.borrow_mut() = *view != View::Kimage;
    // The fragment of the newest revision, deflated by the browser (an
    // asynchronous call: empty until the first is made, and a revision
    // overtaken by a newer one is not written).
    let fragment = use_state(String::new);
    let newest = use_mut_ref(|| 0u64);
    {
        let (set, newest) = (fragment.setter(), newest.clone());
        let (sc, revision) = (store.scenario.clone(), store.revision);
        use_effect_with(revision, move |_| {
            *newest.borrow_mut() = revision;
            wasm_bindgen_futures::spawn_local(async move {
                if let Ok(f) = util::share_fragment(&sc).await {
                    if *newest.borrow() == revision {
                        set.set(f);
                    }
                }
            });
        });
    }
    let fragment = (*fragment).clone();
    {
        let preset_ok = store.preset.is_some() && store.preset == util::query_param("preset");
        let first = use_mut_ref(|| true);
        // Debounced with the runs: typing replaces the pending write.
        use_effect_with(fragment.clone(), move |f| {
            let f = f.clone();
            let write = (!f.is_empty()).then(|| {
                // A `?preset=` link stays short until the first edit.
                let initial = std::mem::replace(&mut *first.borrow_mut(), false);
                let keep_short_link = initial && preset_ok;
                let delay = if initial { 0 } else { DEBOUNCE_MS };
                Timeout::new(delay, move || {
                    if !keep_short_link && !embed && !*lab_shown.borrow() {
                        util::set_fragment(&f);
                    }
                })
            });
            move || drop(write)
        });
    }
    {
        let (dispatch, view) = (store.dispatcher(), view.clone());
        use_effect_with((), move |_| {
            let listener = EventListener::new(&util::window(), "hashchange", move |_| {
                on_hashchange(&dispatch, &view)
            });
            move || drop(listener)
        });
    }
    {
        let (dispatch, view) = (store.dispatcher(), view.clone());
        use_effect_with(*view, move |&now| {
            let listener = EventListener::new(&util::window(), LAB_EVENT, move |e| {
                on_lab_event(e, now, &dispatch, &view)
            });
            move || drop(listener)
        });
    }
    let to_kimage = {
        let (view, fragment) = (view.clone(), fragment.clone());
        Callback::from(move |()| {
            view.set(View::Kimage);
            util::go_to_fragment(&fragment);
        })
    };
    UrlSync {
        view: *view,
        fragment,
        to_kimage,
    }
}
