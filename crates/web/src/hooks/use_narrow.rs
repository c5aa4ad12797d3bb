//! Whether the page is phone-narrow (`NARROW_QUERY`, the stylesheet's
//! one-column width), followed on resize. The phone layout differs in
//! more than CSS: the memory map is drawn for the width, and the scenario
//! starts folded into its summary.

use crate::util;
use gloo::events::EventListener;
use yew::prelude::*;

/// The media query of the phone layout (www/style.css uses the same width).
pub const NARROW_QUERY: &str = "(max-width: 600px)";

/// Whether the page is narrow now.
pub fn is_narrow() -> bool {
    util::window()
        .match_media(NARROW_QUERY)
        .ok()
        .flatten()
        .is_some_and(|m| m.matches())
}

/// The page's narrowness, updated when the window is resized.
#[hook]
pub fn use_narrow() -> bool {
    let narrow = use_state_eq(is_narrow);
    {
        let narrow = narrow.clone();
        use_effect_with((), move |_| {
            let listener =
                EventListener::new(&util::window(), "resize", move |_| narrow.set(is_narrow()));
            move || drop(listener)
        });
    }
    *narrow
}
