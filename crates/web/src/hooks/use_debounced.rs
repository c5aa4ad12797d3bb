//! Debouncing the work a scenario revision starts (a run, the URL): while
//! the user types, only the last revision of a burst is acted on.

use gloo::timers::callback::Timeout;
use yew::prelude::*;

/// Debounce of reruns while typing, in ms.
pub const DEBOUNCE_MS: u32 = 120;

/// Call `f` [`DEBOUNCE_MS`] after `revision` last changed, or at once for
/// the first revision (the page's first run must not wait); `f` is told
/// whether it is the first. A newer revision cancels a pending call.
#[hook]
pub fn use_debounced<F>(revision: u64, f: F)
where
    F: FnOnce(bool) + 'static,
{
    let first = use_mut_ref(|| true);
    use_effect_with(revision, move |_| {
        let initial = std::mem::replace(&mut *first.borrow_mut(), false);
        let delay = if initial { 0 } else { DEBOUNCE_MS };
        let timeout = Timeout::new(delay, move || f(initial));
        move || drop(timeout)
    });
}
