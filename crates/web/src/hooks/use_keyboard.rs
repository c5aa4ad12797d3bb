//! The page's keys: ←/→ step the timeline, Home/End go to its ends, `?`
//! and Esc open and close the help, `f` folds SOURCE runs, `d` jumps to
//! the first difference. Ignored while typing in a field and with
//! Ctrl/Meta/Alt held (the browser's own shortcuts).

use crate::state::{Action, State};
use gloo::events::EventListener;
use wasm_bindgen::JsCast;
use web_sys::KeyboardEvent;
use yew::prelude::*;

/// What a key asks for.
enum Command {
    /// A state change.
    Act(Action),
    /// Jump to the first difference.
    FirstDifference,
}

fn command(key: &str) -> Option<Command> {
    Some(Command::Act(match key {
        "ArrowRight" => Action::StepBy(1),
        "ArrowLeft" => Action::StepBy(-1),
        "Home" => Action::StepTo(0),
        "End" => Action::StepTo(usize::MAX),
        "?" => Action::Help(true),
        "Escape" => Action::Help(false),
        "f" => Action::ToggleFold,
        "d" => return Some(Command::FirstDifference),
        _ => return None,
    }))
}

/// Whether the key went to a form field.
fn typing(e: &KeyboardEvent) -> bool {
    e.target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .is_some_and(|el| matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT"))
}

/// Listen for the page's keys on the document for the component's
/// lifetime; `on_first_difference` is the latest render's (the listener
/// is registered once).
#[hook]
pub fn use_keyboard(dispatch: UseReducerDispatcher<State>, on_first_difference: Callback<()>) {
    let latest = use_mut_ref(|| on_first_difference.clone());
    *latest.borrow_mut() = on_first_difference;
    use_effect_with((), move |_| {
        let listener = crate::util::window().document().map(|doc| {
            EventListener::new(&doc, "keydown", move |e| {
                let Some(e) = e.dyn_ref::<KeyboardEvent>() else {
                    return;
                };
                if e.ctrl_key() || e.meta_key() || e.alt_key() || typing(e) {
                    return;
                }
                let Some(c) = command(&e.key()) else {
                    return;
                };
                e.prevent_default();
                match c {
                    Command::Act(a) => dispatch.dispatch(a),
                    Command::FirstDifference => latest.borrow().emit(()),
                }
            })
        });
        move || drop(listener)
    });
}
