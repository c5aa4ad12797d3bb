//! The findings view (`?findings`, `?finding=NAME`): every finding of
//! `kexec_playground::findings`, the one named opened: what happens (its
//! function names linked to their lines), the code path linked line by
//! line, the link that reproduces it (the panes or the lab on its preset),
//! the command, how sure we are, and the 72-column write-up with a copy
//! button. Rendered by the labs' module, which carries the findings' text,
//! so the page's first load does not.

use kexec_playground::findings::{Finding, Tree, FINDINGS};
use kexec_playground::SOURCE_TABLES;
use kexec_web::components::source_text::SourceText;
use kexec_web::util;
use yew::prelude::*;

/// The playground's own URL (origin and path, no query or fragment): the
/// base of the write-ups' links.
fn base() -> String {
    let loc = util::window().location();
    format!(
        "{}{}",
        loc.origin().unwrap_or_default(),
        loc.pathname().unwrap_or_default()
    )
}

/// Every kind's source table (the labs' views link their kernel
/// functions through these too).
pub fn tables() -> &'static [&'static [kexec_common::source::SourceRef]] {
    static T: [&[kexec_common::source::SourceRef]; 4] = [
        SOURCE_TABLES[0].1,
        SOURCE_TABLES[1].1,
        SOURCE_TABLES[2].1,
        SOURCE_TABLES[3].1,
    ];
    &T
}

fn entry(f: &'static Finding, open: bool) -> Html {
    let base = base();
    let write_up = f.write_up(&base);
    let copy = {
        let w = write_up.clone();
        Callback::from(move |_| util::copy(&w))
    };
    html! {
        <article class="finding" id={format!("finding-{}", f.name)}>
            <h2><a href={format!("?finding={}", f.name)}>{ f.title }</a></h2>
            if open {
                <p class="finding-what"><SourceText text={f.what} tables={tables()} /></p>
                <h3>{ "Code path" }</h3>
                <ol class="code-path">
                    { for f.path.iter().map(|st| match (st.source(), st.tree) {
                        (Some(r), _) => html! {
                            <li><a class="src" href={r.url()} target="_blank" rel="noopener">{ st.function }</a>{ format!(" {}", r.location()) }</li>
                        },
                        (None, Tree::Xen(file)) => html! { <li>{ format!("{} (Xen, {file})", st.function) }</li> },
                        (None, _) => html! { <li>{ st.text() }</li> },
                    }) }
                </ol>
                <h3>{ "Reproduce" }</h3>
                <p>
                    if let Some(l) = f.link("") {
                        <a class="reproduce" id="finding-reproduce" href={l}>{ format!("open {}", f.designs.join(" vs ")) }</a>{ " · " }
                    }
                    <code>{ f.command() }</code>
                </p>
                <p class="confidence">{ f.confidence.text() }</p>
                <h3>{ "Write-up for a reply" }</h3>
                <button class="copy-write-up" id="copy-write-up" onclick={copy}>{ "copy" }</button>
                <pre class="write-up" id="finding-write-up" tabindex="0">{ write_up }</pre>
            }
        </article>
    }
}

/// Props of [`FindingsView`].
#[derive(Properties, PartialEq, Clone)]
pub struct FindingsViewProps {
    /// The finding opened (`?finding=NAME`), if any.
    pub open: Option<AttrValue>,
}

/// The findings.
#[component]
pub fn FindingsView(props: &FindingsViewProps) -> Html {
    let open = props.open.as_deref();
    let unknown = open.filter(|n| FINDINGS.iter().all(|f| f.name != *n));
    html! {
        <section class="findings" aria-label="findings">
            if let Some(n) = unknown {
                <p class="notice" role="alert">{ format!("There is no finding \"{n}\"; here are all of them.") }</p>
            }
            { for FINDINGS.iter().map(|f| entry(f, open == Some(f.name) || open.is_none())) }
            <footer>{ "the model: kexec-playground's findings (also kexec-sim findings) · nothing leaves this page" }</footer>
        </section>
    }
}
