//! A sentence in the kernel's words with every kernel function it names
//! linked to the line of its definition (the tables of
//! `kexec_core::source` and the labs'; `kexec_common::source::split`
//! finds the names). Used by the panes' verdicts, the timeline and the
//! labs' module.

use kexec_common::source::{split, Piece, SourceRef};
use yew::prelude::*;

/// Props of [`SourceText`].
#[derive(Properties, PartialEq, Clone)]
pub struct SourceTextProps {
    /// The sentence.
    pub text: AttrValue,
    /// The tables whose names are linked (none: plain text).
    pub tables: &'static [&'static [SourceRef]],
}

/// The sentence, its function names as links (`a.src`, in a new tab).
#[component]
pub fn SourceText(props: &SourceTextProps) -> Html {
    html! {
        <>
        { for split(&props.text, props.tables).into_iter().map(|p| match p {
            Piece::Text(t) => html! { { t.to_string() } },
            Piece::Ref(name, r) => html! {
                <a class="src" href={r.url()} target="_blank" rel="noopener"
                    title={r.location()}>{ name.to_string() }</a>
            },
        }) }
        </>
    }
}
