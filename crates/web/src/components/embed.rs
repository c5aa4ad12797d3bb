//! The compact view for `?embed=1`: both verdicts (their kernel functions
//! linked to their lines) and the main counters of the linked scenario,
//! and a link that opens the exact state in the full playground. Sized for
//! an iframe in documentation.

use super::source_text::SourceText;
use crate::state::{State, Status};
use kexec_core::source::tables_for_name;
use yew::prelude::*;

/// Props of [`EmbedView`].
#[derive(Properties, PartialEq, Clone)]
pub struct EmbedViewProps {
    /// The state.
    pub state: std::rc::Rc<State>,
    /// The playground URL of this exact scenario.
    pub open_url: AttrValue,
}

/// The embed.
#[component]
pub fn EmbedView(props: &EmbedViewProps) -> Html {
    let s = &props.state;
    let title = s
        .preset
        .as_deref()
        .and_then(kexec_core::presets::find)
        .map_or_else(
            || format!("{} scenario", s.scenario.arch.name()),
            |p| p.title.to_string(),
        );
    html! {
        <main class="embed">
            <header>
                <strong>{ "kexec playground" }</strong>{ format!(" · {title}") }
                <a id="open-in-playground" href={props.open_url.clone()} target="_blank" rel="noopener">{ "open in playground ↗" }</a>
            </header>
            if let Some(n) = &s.notice {
                <p class="notice" role="alert">{ n }</p>
            }
            if let Status::Running { done, total, .. } = s.status {
                <p class="progress">{ format!("loading {done} / {total} pages…") }</p>
            }
            <div class="embed-panes">
                { for s.result.iter().flat_map(|r| r.summaries.runs.iter()).map(|run| html! {
                    <section class="pane">
                        <h2 class="variant">{ &run.variant }</h2>
                        <p class={classes!("verdict", if run.status == 0 { "ok" } else if run.kind == "fault" { "fault" } else { "error" })}>
                            <SourceText text={run.verdict.clone()} tables={tables_for_name(&run.variant)} />
                        </p>
                        <p class="mini">{ format!(
                            "{} source, {} indirection, {} dest_pages, {} unusable, {} swaps, {} highmem frees, kmap {}",
                            run.counters.source_pages, run.counters.indirection_pages, run.counters.dest_pages,
                            run.counters.unusable_pages, run.counters.swaps, run.counters.highmem_frees, run.counters.kmap
                        ) }</p>
                    </section>
                }) }
            </div>
        </main>
    }
}
