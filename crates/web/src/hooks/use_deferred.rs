//! Rendering in two tasks: a value that follows another one task later, so
//! what depends on it renders after the rest of the page has painted (the
//! memory map of a 1 GiB result must not lengthen the panes' task).

use gloo::timers::callback::Timeout;
use yew::prelude::*;

/// `value` as it was one task ago (`T::default()` before the first task).
#[hook]
pub fn use_deferred<T>(value: T) -> T
where
    T: Clone + Default + PartialEq + 'static,
{
    let later = use_state(T::default);
    {
        let later = later.clone();
        use_effect_with(value, move |value| {
            let value = value.clone();
            let t = Timeout::new(0, move || later.set(value));
            move || drop(t)
        });
    }
    (*later).clone()
}
