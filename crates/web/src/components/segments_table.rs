//! The segments table: bufsz, mem, memsz per segment, add and remove rows,
//! input errors and the kernel's verdict shown on the row they concern.

use crate::form::SegmentForm;
use crate::state::{Edit, SegField};
use yew::prelude::*;

/// Props of [`SegmentsTable`].
#[derive(Properties, PartialEq, Clone)]
pub struct SegmentsTableProps {
    /// The rows.
    pub segments: Vec<SegmentForm>,
    /// An input error `(field, message)` of a segment field.
    pub input_error: Option<(String, String)>,
    /// The kernel's complaint about a segment: (index, "-EINVAL: why").
    pub kernel_error: Option<(usize, String)>,
    /// Edits.
    pub on_edit: Callback<Edit>,
}

/// The table.
#[component]
pub fn SegmentsTable(props: &SegmentsTableProps) -> Html {
    let cell = |i: usize, f: SegField, name: &'static str, value: &str| {
        let on_edit = props.on_edit.clone();
        let oninput = Callback::from(move |e: InputEvent| {
            let v = e
                .target_unchecked_into::<web_sys::HtmlInputElement>()
                .value();
            on_edit.emit(Edit::Segment(i, f, v));
        });
        let field = format!("segments[{i}].{name}");
        let bad = props.input_error.as_ref().is_some_and(|(f, _)| *f == field);
        html! {
            <td>
                <input class={classes!(bad.then_some("invalid"))} value={value.to_string()} {oninput}
                    aria-label={format!("segment {i} {name}")} aria-invalid={bad.to_string()} spellcheck="false"
                    data-field={field} />
            </td>
        }
    };
    html! {
        <table class="segments">
            <thead><tr><th>{ "#" }</th><th>{ "bufsz" }</th><th>{ "mem" }</th><th>{ "memsz" }</th><th><span class="sr-only">{ "remove" }</span></th></tr></thead>
            <tbody>
                { for props.segments.iter().enumerate().map(|(i, s)| {
                    let remove = {
                        let on_edit = props.on_edit.clone();
                        Callback::from(move |_| on_edit.emit(Edit::RemoveSegment(i)))
                    };
                    let input_msg = props.input_error.as_ref()
                        .filter(|(f, _)| f.starts_with(&format!("segments[{i}].")))
                        .map(|(f, m)| format!("{f}: {m}"));
                    let kernel_msg = props.kernel_error.as_ref().filter(|(k, _)| *k == i).map(|(_, m)| m.clone());
                    html! {
                        <>
                        <tr class={classes!(kernel_msg.is_some().then_some("rejected"))}>
                            <td class="segno">{ i }</td>
                            { cell(i, SegField::Bufsz, "bufsz", &s.bufsz) }
                            { cell(i, SegField::Mem, "mem", &s.mem) }
                            { cell(i, SegField::Memsz, "memsz", &s.memsz) }
                            <td><button class="icon" onclick={remove} aria-label={format!("remove segment {i}")} title="remove">{ "×" }</button></td>
                        </tr>
                        if let Some(m) = input_msg.or(kernel_msg) {
                            <tr class="row-error"><td></td><td colspan="4" role="alert">{ m }</td></tr>
                        }
                        </>
                    }
                }) }
            </tbody>
            <tfoot><tr><td colspan="5">
                <button onclick={props.on_edit.reform(|_| Edit::AddSegment)}
                    disabled={props.segments.len() >= 17}>{ "+ segment" }</button>
            </td></tr></tfoot>
        </table>
    }
}
