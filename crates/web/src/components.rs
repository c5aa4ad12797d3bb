//! The page's components, one per file.

pub mod app;
pub mod embed;
pub mod entry_list;
pub mod explore;
pub mod help;
pub mod memory_map;
pub mod pane;
pub mod progress;
pub mod scenario_bar;
pub mod segments_table;
pub mod share_bar;
pub mod source_text;
pub mod tabs;
pub mod timeline;

use kexec_common::InputError;
use std::rc::Rc;
use yew::prelude::*;

/// The value of the `<select>` an event came from.
pub fn select_value(e: &Event) -> String {
    e.target_unchecked_into::<web_sys::HtmlSelectElement>()
        .value()
}

/// The value of the `<input>` an event came from.
pub fn input_value(e: &InputEvent) -> String {
    e.target_unchecked_into::<web_sys::HtmlInputElement>()
        .value()
}

/// The value of the `<textarea>` an event came from.
pub fn textarea_value(e: &InputEvent) -> String {
    e.target_unchecked_into::<web_sys::HtmlTextAreaElement>()
        .value()
}

/// Whether the checkbox an event came from is checked.
pub fn checkbox_checked(e: &Event) -> bool {
    e.target_unchecked_into::<web_sys::HtmlInputElement>()
        .checked()
}

/// The error line under a field, when the input error is about a field
/// starting with `prefix`.
pub fn field_error(error: Option<&InputError>, prefix: &str) -> Option<Html> {
    error
        .filter(|e| e.field.starts_with(prefix))
        .map(|e| html! { <p class="field-error" role="alert">{ e.to_string() }</p> })
}

/// Entry words of a run, compared by identity (a 1 GiB list is 262,144
/// words: props must not compare them by value on every render).
#[derive(Clone, Debug)]
pub struct Words(pub Rc<Vec<u64>>);

impl PartialEq for Words {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

/// The index of the first entry where two lists differ (a missing entry
/// counts), or `None` when they are identical.
pub fn first_difference(a: &[u64], b: &[u64]) -> Option<usize> {
    let n = a.len().min(b.len());
    (0..n)
        .find(|&i| a[i] != b[i])
        .or((a.len() != b.len()).then_some(n))
}
