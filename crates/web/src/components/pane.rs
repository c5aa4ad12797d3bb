//! One side of the comparison: the verdict, the counters, the entry list.

use super::entry_list::EntryList;
use super::Words;
use kexec_model::memory::Machine;
use kexec_model::summary::RunSummary;
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
    let counters: [(&str, String, &str); 14] = [
        (
            "alloc calls",
            c.alloc_calls.to_string(),
            "calls to the page allocator (kimage_alloc_pages)",
        ),
        (
            "source pages",
            c.source_pages.to_string(),
            "IND_SOURCE entries added",
        ),
        (
            "indirection pages",
            c.indirection_pages.to_string(),
            "pages linked by IND_INDIRECTION",
        ),
        (
            "dest_pages",
            format!("{} (reused {})", c.dest_pages, c.dest_pages_reused),
            "pages parked on image->dest_pages",
        ),
        (
            "unusable_pages",
            c.unusable_pages.to_string(),
            "pages above KEXEC_SOURCE_MEMORY_LIMIT",
        ),
        (
            "swaps",
            c.swaps.to_string(),
            "kimage_dst_used hits: data moved to its destination page",
        ),
        (
            "highmem frees",
            c.highmem_frees.to_string(),
            "old pages freed by the swap path's highmem test",
        ),
        (
            "control rejected",
            c.control_rejected.to_string(),
            "control blocks put on the extra list",
        ),
        (
            "kmap",
            format!("{} ({} highmem)", c.kmap, c.kmap_highmem),
            "kmap_local_page / kmap_atomic / clear_highpage / copy_highpage",
        ),
        (
            "entry writes",
            c.entry_writes.to_string(),
            "entry words written",
        ),
        (
            "entry reads",
            c.entry_reads.to_string(),
            "entry words read by list walks",
        ),
        (
            "kimage_dst_used walk",
            c.kernel_walk_steps.to_string(),
            "entries the kernel's linear walks would read",
        ),
        (
            "held lowmem",
            c.lowmem_held.to_string(),
            "pages the image holds in lowmem",
        ),
        (
            "held highmem",
            c.highmem_held.to_string(),
            "pages the image holds in highmem",
        ),
    ];
    let digits = (s.entry_bytes * 2) as usize;
    let side = if props.side == 0 { "left" } else { "right" };
    html! {
        <section class={classes!("pane", side)} aria-label={format!("{} pane: {}", side, s.variant)}>
            <h2 class="variant">{ &s.variant }</h2>
            <p class={classes!("verdict", verdict_class(s))} data-kind={s.kind.clone()}>
                { &s.verdict }
            </p>
            if let Some(r) = &s.relocation {
                <p class="relocation">{ r }</p>
            }
            <dl class="counters">
                { for counters.iter().map(|(k, v, t)| html! {
                    <div title={*t}><dt>{ *k }</dt><dd>{ v }</dd></div>
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
