//! Share and view controls: copy link, copy as plain text, download the
//! scenario, first difference, fold, theme, help.

use yew::prelude::*;

/// Something the bar asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShareAction {
    /// Copy the share link.
    CopyLink,
    /// Copy the 72-column report.
    CopyText,
    /// Download the scenario JSON.
    DownloadJson,
    /// Download the memory map as SVG.
    ExportSvg,
    /// Jump to the first difference.
    FirstDifference,
    /// Fold / unfold SOURCE runs.
    Fold,
    /// Switch light / dark.
    Theme,
    /// Keyboard help.
    Help,
}

/// Props of [`ShareBar`].
#[derive(Properties, PartialEq, Clone)]
pub struct ShareBarProps {
    /// Where the lists first differ (None: identical).
    pub difference: Option<Option<usize>>,
    /// Folding on.
    pub fold: bool,
    /// What was just done ("link copied").
    pub feedback: Option<AttrValue>,
    /// Actions.
    pub on_action: Callback<ShareAction>,
}

/// The bar.
#[component]
pub fn ShareBar(props: &ShareBarProps) -> Html {
    let b = |id: &'static str, label: &'static str, a: ShareAction, title: &'static str| {
        html! { <button {id} onclick={props.on_action.reform(move |_| a)} {title}>{ label }</button> }
    };
    let diff = match props.difference {
        Some(Some(i)) => format!("lists differ from entry #{i}"),
        Some(None) => "identical entry lists".to_string(),
        None => "only one pane has a list".to_string(),
    };
    html! {
        <nav class="share-bar" aria-label="share and view">
            { b("copy-link", "copy link", ShareAction::CopyLink, "the URL holds the whole scenario") }
            { b("copy-text", "copy as plain text", ShareAction::CopyText, "the 72-column report, for email") }
            { b("download-json", "download scenario JSON", ShareAction::DownloadJson, "the scenario file, for kexec-sim") }
            { b("export-svg", "export map SVG", ShareAction::ExportSvg, "the memory map as an SVG file") }
            <span class="sep"></span>
            <button id="first-diff" onclick={props.on_action.reform(|_| ShareAction::FirstDifference)}
                disabled={!matches!(props.difference, Some(Some(_)))} title="d">{ "first difference" }</button>
            <span class="diff-note" id="diff-note">{ diff }</span>
            <label class="fold"><input type="checkbox" checked={props.fold} onchange={props.on_action.reform(|_| ShareAction::Fold)} />{ " fold SOURCE runs" }</label>
            <span class="sep"></span>
            { b("theme", "◐ theme", ShareAction::Theme, "light / dark") }
            { b("help", "? keys", ShareAction::Help, "keyboard help") }
            if let Some(f) = &props.feedback {
                <span class="feedback" role="status">{ f.clone() }</span>
            }
        </nav>
    }
}
