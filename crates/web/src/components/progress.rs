//! Progress of a run in the worker, with a cancel button.

use yew::prelude::*;

/// Props of [`Progress`].
#[derive(Properties, PartialEq, Clone)]
pub struct ProgressProps {
    /// Pages loaded.
    pub done: u64,
    /// Pages to load.
    pub total: u64,
    /// Cancel the run.
    pub on_cancel: Callback<()>,
}

/// The bar.
#[component]
pub fn Progress(props: &ProgressProps) -> Html {
    let pct = (props.done * 100)
        .checked_div(props.total)
        .unwrap_or(0)
        .min(100);
    html! {
        <div class="progress" role="status">
            <progress max="100" value={pct.to_string()} aria-label="pages loaded"></progress>
            <span>{ format!("loading: {} of {} pages ({pct}%)", props.done, props.total) }</span>
            <button id="cancel" onclick={props.on_cancel.reform(|_| ())}>{ "cancel" }</button>
        </div>
    }
}
