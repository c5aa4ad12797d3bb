//! The Explore panel: "is there ANY machine and allocation order on which
//! this design breaks, or differs from another?" The panel holds the
//! goal, variants, budget and seed; the search itself (one worker per
//! core, the lowest hit wins, the hit shrunk) is `hooks::use_explore`. The
//! shrunk case is shown in the panes, with its link.

use super::{input_value, select_value};
pub use crate::hooks::use_explore::ExploreView;
use crate::hooks::use_explore::{use_explore, Search, DEFAULT_MAX_CALLS};
use kexec_core::design::{Variant, ALL_VARIANTS};
use kexec_core::scenario::Scenario;
use yew::prelude::*;

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

/// A variant picker bound to `state`.
fn variant_select(id: &'static str, state: UseStateHandle<Variant>) -> Html {
    let value = *state;
    let onchange = Callback::from(move |e: Event| {
        state.set(Variant::from_name(&select_value(&e)).unwrap_or(Variant::Pointer));
    });
    html! {
        <select {id} {onchange} aria-label={id}>
            { for ALL_VARIANTS.iter().map(|v| html! { <option value={v.name()} selected={*v == value}>{ v.name() }</option> }) }
        </select>
    }
}

/// The status line.
fn status(view: &ExploreView) -> Html {
    match view {
        ExploreView::Idle(None) => {
            html! { <span>{ "Random: candidates vary the allocator policy and seed, RAM around the lowmem and 4 GiB lines, and segments around zone and 511/1023-entry boundaries. Every order: each allocation order of up to max calls on this machine, one page per class (zone, lowmem, 4 GiB and limit lines; each destination page). \"Same pages\": the second design replays the first's allocation order. Hits are shrunk to a replay of the exact order." }</span> }
        }
        ExploreView::Idle(Some(m)) => html! { <span class="field-error">{ m }</span> },
        ExploreView::Running {
            tried,
            budget,
            workers,
        } => html! {
            <>
                <progress max={budget.to_string()} value={tried.to_string()} aria-label="candidates tried"></progress>
                <span>{ format!(" {tried} of {budget} candidates, {workers} workers") }</span>
            </>
        },
        ExploreView::Shrinking(i) => {
            html! { <span>{ format!("candidate {i} meets the goal; shrinking…") }</span> }
        }
        ExploreView::Found { index, link, what } => html! {
            <span>{ format!("found: {index}, shrunk to {what}; now in the panes. ") }
                <a id="explore-link" href={link.clone()}>{ "link to this case" }</a></span>
        },
        ExploreView::Checking { stats, shrinking } => html! {
            <span id="explore-stats">{ if *shrinking {
                format!("an order meets the goal ({stats}); shrinking…")
            } else {
                format!("checking every order: {stats}")
            } }</span>
        },
        ExploreView::Claimed { claim, stats, link } => html! {
            <span><strong id="explore-claim">{ claim.clone() }</strong>
                { format!(" ({stats}). ") }
                <a id="explore-link" href={link.clone()}>{ "link to this machine" }</a></span>
        },
        ExploreView::NotFound(n) => {
            html! { <span>{ format!("no candidate among {n} met the goal") }</span> }
        }
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
    let mode = use_state(|| "random".to_string());
    let max_calls = use_state(|| DEFAULT_MAX_CALLS.to_string());
    let seed = use_state(|| "1".to_string());
    let explore = use_explore(props.on_found.clone());
    let start = {
        let (kind, a, b, budget, seed, mode, max_calls) = (
            kind.clone(),
            a.clone(),
            b.clone(),
            budget.clone(),
            seed.clone(),
            mode.clone(),
            max_calls.clone(),
        );
        let base = props.base.clone();
        explore.start.reform(move |_: MouseEvent| Search {
            base: base.clone(),
            goal: goal_text(&kind, *a, *b),
            budget: (*budget).clone(),
            seed: (*seed).clone(),
            max_calls: (*mode == "exhaustive").then(|| (*max_calls).clone()),
        })
    };
    let on_mode = {
        let mode = mode.clone();
        Callback::from(move |e: Event| mode.set(select_value(&e)))
    };
    let on_calls = {
        let max_calls = max_calls.clone();
        Callback::from(move |e: InputEvent| max_calls.set(input_value(&e)))
    };
    let cancel = explore.cancel.reform(|_: MouseEvent| ());
    let on_kind = {
        let kind = kind.clone();
        Callback::from(move |e: Event| kind.set(select_value(&e)))
    };
    let on_budget = {
        let budget = budget.clone();
        Callback::from(move |e: InputEvent| budget.set(input_value(&e)))
    };
    let on_seed = {
        let seed = seed.clone();
        Callback::from(move |e: InputEvent| seed.set(input_value(&e)))
    };
    let running = matches!(
        explore.view,
        ExploreView::Running { .. } | ExploreView::Shrinking(_) | ExploreView::Checking { .. }
    );
    let exhaustive = *mode == "exhaustive";
    html! {
        <details class="explore" id="explore">
            <summary>{ "Explore: search machines and allocation orders for a failing or diverging load" }</summary>
            <div class="explore-controls">
                <label>{ "mode " }
                    <select id="explore-mode" onchange={on_mode}>
                        <option value="random" selected={!exhaustive}>{ "random candidates" }</option>
                        <option value="exhaustive" selected={exhaustive}>{ "every order (this machine)" }</option>
                    </select>
                </label>
                <label>{ " goal " }
                    <select id="explore-goal" onchange={on_kind}>
                        <option value="fault" selected={*kind == "fault"}>{ "faults or fails relocation" }</option>
                        <option value="differ" selected={*kind == "differ"}>{ "entry lists differ (same pages)" }</option>
                        <option value="verdict" selected={*kind == "verdict"}>{ "verdicts differ (same pages)" }</option>
                        if !exhaustive {
                            <option value="differ-policy" selected={*kind == "differ-policy"}>{ "entry lists differ (own allocator each)" }</option>
                            <option value="verdict-policy" selected={*kind == "verdict-policy"}>{ "verdicts differ (own allocator each)" }</option>
                        }
                    </select>
                </label>
                { variant_select("explore-a", a.clone()) }
                if *kind != "fault" {
                    <span>{ " vs " }</span>{ variant_select("explore-b", b.clone()) }
                }
                if exhaustive {
                    <label>{ " max calls " }<input id="explore-calls" class="short" value={(*max_calls).clone()} oninput={on_calls} /></label>
                } else {
                    <label>{ " budget " }<input id="explore-budget" class="short" value={(*budget).clone()} oninput={on_budget} /></label>
                    <label>{ " seed " }<input id="explore-seed" class="short" value={(*seed).clone()} oninput={on_seed} /></label>
                }
                if running {
                    <button id="explore-cancel" onclick={cancel}>{ "cancel" }</button>
                } else {
                    <button id="explore-start" onclick={start}>{ "explore" }</button>
                }
            </div>
            if let Some(n) = &explore.note {
                <p class="field-error" id="explore-note">{ n }</p>
            }
            <div class="explore-status" role="status" id="explore-status">
                { status(&explore.view) }
            </div>
        </details>
    }
}
