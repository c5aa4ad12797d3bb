//! The view tabs: the kimage view and one per lab. A lab's tab is a
//! navigation (`#lab=KIND`) that the labs' module follows; the kimage tab
//! returns to the kimage view's own link.

use crate::labs::{View, LABS};
use crate::util;
use yew::prelude::*;

/// Props of [`Tabs`].
#[derive(Properties, PartialEq, Clone)]
pub struct TabsProps {
    /// The view shown.
    pub view: View,
    /// Back to the kimage view.
    pub on_kimage: Callback<()>,
}

/// The tabs.
#[component]
pub fn Tabs(props: &TabsProps) -> Html {
    let shown = match props.view {
        View::Lab(Some(t)) => Some(t.kind),
        _ => None,
    };
    html! {
        <nav class="tabs" aria-label="views">
            <button id="tab-kimage" aria-pressed={(props.view == View::Kimage).to_string()} onclick={props.on_kimage.reform(|_| ())}>{ "kimage entry list" }</button>
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
}
