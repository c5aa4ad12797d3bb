//! The keyboard help overlay (`?`).

use yew::prelude::*;

/// Props of [`Help`].
#[derive(Properties, PartialEq, Clone)]
pub struct HelpProps {
    /// Close it.
    pub on_close: Callback<()>,
}

/// The overlay.
#[component]
pub fn Help(props: &HelpProps) -> Html {
    let keys = [
        ("← / →", "previous / next step of the timeline"),
        ("Home / End", "first / last step"),
        ("d", "jump both lists to the first difference"),
        ("f", "fold / unfold runs of consecutive SOURCE pages"),
        ("?", "this help"),
        ("Esc", "close"),
    ];
    html! {
        <div class="overlay" role="dialog" aria-modal="true" aria-label="keyboard help" onclick={props.on_close.reform(|_| ())}>
            <div class="help">
                <h2>{ "Keys" }</h2>
                <table>
                    { for keys.iter().map(|(k, v)| html! { <tr><th><kbd>{ *k }</kbd></th><td>{ *v }</td></tr> }) }
                </table>
                <p>{ "Keys are ignored while typing in a field." }</p>
                <button onclick={props.on_close.reform(|_| ())}>{ "close" }</button>
            </div>
        </div>
    }
}
