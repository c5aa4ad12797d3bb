//! Light or dark: the stored choice, else the system's
//! `prefers-color-scheme`, set as `data-theme` on the root element.
//! Storage is guarded (`util::load_pref`): a sandboxed iframe without
//! storage gets the system's theme and forgets a switch.

use crate::util;
use yew::prelude::*;

/// The storage key of the chosen theme.
pub const THEME_KEY: &str = "kexec-playground-theme";

fn preferred_theme() -> String {
    util::load_pref(THEME_KEY).unwrap_or_else(|| {
        let dark = util::window()
            .match_media("(prefers-color-scheme: dark)")
            .ok()
            .flatten()
            .is_some_and(|m| m.matches());
        if dark { "dark" } else { "light" }.to_string()
    })
}

fn set_theme(theme: &str) {
    if let Some(el) = util::window().document().and_then(|d| d.document_element()) {
        let _ = el.set_attribute("data-theme", theme);
    }
}

/// Apply the theme; the callback switches it and stores the choice.
#[hook]
pub fn use_theme() -> Callback<()> {
    let theme = use_state(preferred_theme);
    use_effect_with((*theme).clone(), |t| set_theme(t));
    Callback::from(move |()| {
        let t = if *theme == "dark" { "light" } else { "dark" };
        util::save_pref(THEME_KEY, t);
        theme.set(t.to_string());
    })
}
