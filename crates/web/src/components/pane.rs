//! One side of the comparison: the verdict, the counters, the entry list.

use super::entry_list::EntryList;
use super::source_text::SourceText;
use super::Words;
use kexec_core::design::kernel_code::KernelSpec;
use kexec_core::memory::Machine;
use kexec_core::source::tables_for_name;
use kexec_core::summary::RunSummary;
use std::rc::Rc;
use yew::prelude::*;

/// Props of [`Pane`].
#[derive(Properties, PartialEq, Clone)]
pub struct PaneProps {
    /// 0 left, 1 right.
    pub side: usize,
    /// The run.
    pub summary: Rc<RunSummary>,
    /// Its words.
    pub words: Words,
    /// The other pane's words.
    pub other: Option<Words>,
    /// The machine.
    pub machine: Rc<Machine>,
    /// Fold SOURCE runs.
    pub fold: bool,
    /// Scroll target (token, entry index).
    pub jump: Option<(u32, usize)>,
    /// For a kernel build's pane: the build the scenario names, and what
    /// it was built from when the page holds it.
    #[prop_or_default]
    pub kernel: Option<(KernelSpec, Option<String>)>,
}

/// What a kernel build's pane says of the build under its name: the
/// source version and patch hashes, and (when the page holds the build)
/// everything `kexec-sim kernel info` prints; else how to get it.
fn kernel_info((spec, info): &(KernelSpec, Option<String>)) -> Html {
    match info {
        Some(info) => html! {
            <details class="kernel-info">
                <summary>{ spec.describe() }</summary>
                <pre>{ info }</pre>
                <p>{ "The kernel's code is GPL-2.0; " }<a href="SOURCE.txt">{ "the source of the shipped build" }</a>{ "." }</p>
            </details>
        },
        None => html! {
            <p class="kernel-info missing" role="note">
                { format!("This link names kernel build {}, which this page does not have. Load that build (\"load a kernel build…\" in the design menu, or drop its file there; kexec-sim kernel build makes one), or pick another design.", spec.describe()) }
            </p>
        },
    }
}

fn verdict_class(s: &RunSummary) -> &'static str {
    match s.kind.as_str() {
        "loaded" if s.status == 0 => "ok",
        "loaded" => "fail",
        "fault" => "fault",
        _ => "error",
    }
}

/// One pane.
#[component]
pub fn Pane(props: &PaneProps) -> Html {
    let s = &props.summary;
    let c = &s.counters;
    let counters = c.rows();
    let digits = (s.entry_bytes * 2) as usize;
    let side = if props.side == 0 { "left" } else { "right" };
    html! {
        <section class={classes!("pane", side)} aria-label={format!("{} pane: {}", side, s.variant)}>
            <h2 class="variant">{ &s.variant }</h2>
            if let Some(k) = &props.kernel {
                { kernel_info(k) }
            }
            <p class={classes!("verdict", verdict_class(s))} data-kind={s.kind.clone()}>
                <SourceText text={s.verdict.clone()} tables={tables_for_name(&s.variant)} />
            </p>
            if let Some(r) = &s.relocation {
                <p class="relocation"><SourceText text={r.clone()} tables={tables_for_name(&s.variant)} /></p>
            }
            <dl class="counters">
                { for counters.iter().map(|r| html! {
                    <div title={r.about}><dt>{ r.name }</dt><dd>{ r.value.clone() }</dd></div>
                }) }
            </dl>
            if props.words.0.is_empty() {
                <p class="empty">{ "No entry list: nothing was loaded." }</p>
            } else {
                <EntryList words={props.words.clone()} other={props.other.clone()}
                    pages={Rc::new(s.pages.clone())} machine={props.machine.clone()} {digits}
                    fold={props.fold} jump={props.jump} label={format!("entry list of {}", s.variant)} />
            }
        </section>
    }
}
