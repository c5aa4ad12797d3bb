//! The share bar's actions: copy the link or the report, download the
//! scenario or the memory map, and the view controls it carries (first
//! difference, fold, theme, help); with the line saying what was just done.

use crate::components::share_bar::ShareAction;
use crate::state::{Action, State};
use crate::util;
use yew::prelude::*;

/// The share bar's callback and its feedback line.
pub struct Share {
    /// What the bar asks for.
    pub on_action: Callback<ShareAction>,
    /// What was just done ("link copied").
    pub feedback: Option<AttrValue>,
}

/// What the share bar's actions act on.
pub struct ShareTargets {
    /// The share-link fragment of the scenario.
    pub fragment: String,
    /// The memory map's `<svg>`.
    pub map: NodeRef,
    /// Jump to the first difference.
    pub on_first_difference: Callback<()>,
    /// Switch the theme.
    pub on_theme: Callback<()>,
}

/// The share bar's actions on the store's scenario and result.
#[hook]
pub fn use_share(store: &UseReducerHandle<State>, targets: ShareTargets) -> Share {
    let feedback = use_state(|| None::<AttrValue>);
    let on_action = {
        let (store, feedback) = (store.clone(), feedback.clone());
        Callback::from(move |a: ShareAction| match a {
            ShareAction::CopyLink => {
                util::copy(&util::playground_url(&targets.fragment));
                feedback.set(Some("link copied".into()));
            }
            ShareAction::CopyText => {
                if let Some(r) = &store.result {
                    util::copy(&r.summaries.report);
                    feedback.set(Some("report copied".into()));
                }
            }
            ShareAction::DownloadJson => util::download(
                "kexec-scenario.json",
                "application/json",
                &store.scenario.to_json_pretty(),
            ),
            ShareAction::ExportSvg => {
                if let Some(svg) = targets.map.cast::<web_sys::Element>() {
                    util::download("kexec-memory-map.svg", "image/svg+xml", &svg.outer_html());
                }
            }
            ShareAction::FirstDifference => targets.on_first_difference.emit(()),
            ShareAction::Fold => store.dispatch(Action::ToggleFold),
            ShareAction::Theme => targets.on_theme.emit(()),
            ShareAction::Help => store.dispatch(Action::Help(true)),
        })
    };
    Share {
        on_action,
        feedback: (*feedback).clone(),
    }
}
