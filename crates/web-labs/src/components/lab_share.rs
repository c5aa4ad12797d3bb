//! The share bar of a lab view: copy the view's link, copy its 72-column
//! report.

use kexec_web::util;
use yew::prelude::*;

/// Props of [`LabShare`].
#[derive(Properties, PartialEq)]
pub struct LabShareProps {
    /// Prefix of the buttons' ids (`place`, `hp`, `pt`).
    pub prefix: AttrValue,
    /// The scenario's link fragment.
    pub fragment: AttrValue,
    /// The plain-text report.
    pub report: AttrValue,
}

/// Copy link and copy as plain text, with a status line.
#[component]
pub fn LabShare(props: &LabShareProps) -> Html {
    let feedback = use_state(|| None::<&'static str>);
    let copy_link = {
        let (fragment, feedback) = (props.fragment.clone(), feedback.clone());
        Callback::from(move |_| {
            util::copy(&util::playground_url(&fragment));
            feedback.set(Some("link copied"));
        })
    };
    let copy_text = {
        let (report, feedback) = (props.report.clone(), feedback.clone());
        Callback::from(move |_| {
            util::copy(&report);
            feedback.set(Some("report copied"));
        })
    };
    html! {
        <div class="share-bar">
            <button id={format!("{}-copy-link", props.prefix)} onclick={copy_link}>{ "copy link" }</button>
            <button id={format!("{}-copy-text", props.prefix)} onclick={copy_text}>{ "copy as plain text" }</button>
            if let Some(f) = *feedback {
                <span class="feedback" role="status">{ f }</span>
            }
        </div>
    }
}
