//! The timeline: a step slider through the load (kimage_alloc_init, then
//! one step per page loaded, then kimage_terminate), both panes in lockstep,
//! each step's events in words in an aria-live region, each kernel
//! function named linked to its line.

use crate::components::source_text::SourceText;
use crate::state::Action;
use kexec_core::source::tables_for_name;
use yew::prelude::*;

/// Props of [`Timeline`].
#[derive(Properties, PartialEq, Clone)]
pub struct TimelineProps {
    /// The current step.
    pub step: usize,
    /// How many steps.
    pub steps: usize,
    /// Variant names, one per run.
    pub variants: Vec<String>,
    /// The step's events per run, when they have arrived.
    pub texts: Option<Vec<Vec<String>>>,
    /// Actions.
    pub dispatch: Callback<Action>,
}

/// The timeline.
#[component]
pub fn Timeline(props: &TimelineProps) -> Html {
    let last = props.steps.saturating_sub(1);
    let oninput = props.dispatch.reform(|e: InputEvent| {
        let v = e
            .target_unchecked_into::<web_sys::HtmlInputElement>()
            .value();
        Action::StepTo(v.parse().unwrap_or(0))
    });
    let label = match props.step {
        0 => "step 0: kimage_alloc_init (control code page, swap page)".to_string(),
        s if s == last && last > 0 => format!("step {s}: the last page and kimage_terminate"),
        s => format!("step {s} of {last}: page {s} loaded"),
    };
    html! {
        <section class="timeline" aria-label="timeline">
            <div class="controls">
                <button onclick={props.dispatch.reform(|_| Action::StepTo(0))} aria-label="first step" title="Home">{ "«" }</button>
                <button onclick={props.dispatch.reform(|_| Action::StepBy(-1))} aria-label="previous step" title="←">{ "‹" }</button>
                <input type="range" min="0" max={last.to_string()} value={props.step.to_string()} {oninput}
                    aria-label="step" id="step-slider" />
                <button onclick={props.dispatch.reform(|_| Action::StepBy(1))} aria-label="next step" title="→">{ "›" }</button>
                <button onclick={props.dispatch.reform(|_| Action::StepTo(usize::MAX))} aria-label="last step" title="End">{ "»" }</button>
                <span class="step-label" id="step-label">{ label }</span>
            </div>
            <div class="step-log" aria-live="polite">
                { for props.variants.iter().enumerate().map(|(i, v)| html! {
                    <div class="step-events">
                        <h3>{ v }</h3>
                        // It scrolls when the step has many events: a tab stop, so
                        // keys scroll it too.
                        <ol tabindex="0" aria-label={format!("{v}: this step's events")}>
                            { for props.texts.as_ref().and_then(|t| t.get(i)).into_iter().flatten().map(|t| html! { <li><SourceText text={t.clone()} tables={tables_for_name(v)} /></li> }) }
                        </ol>
                    </div>
                }) }
            </div>
        </section>
    }
}
