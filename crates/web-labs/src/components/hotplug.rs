//! The Hotplug view (scenario kind "hotplug"): memory hot-add and removal
//! edited here and run by the model's `hotplug` lab with two memmap
//! strategies side by side: the added range section by section with the
//! pages holding memmap, the vmemmap address ranges and what backs them,
//! and a teardown stepper per strategy that shows which struct page each
//! call reads and which vmemmap PMD it clears, up to the page fault.
//!
//! It renders [`crate::state::hotplug::State`] and dispatches its
//! actions; the form's text grammar is the lab's
//! ([`kexec_lab_hotplug::grammar`]).

use super::findings::tables;
use super::lab_share::LabShare;
use crate::state::hotplug::{Action, Edit, State};
use kexec_common::text::memparse_text as size;
use kexec_common::units::PMD_SIZE;
use kexec_lab_hotplug::{
    self as hotplug, Backing, HotplugRun, HotplugScenario, SectionView, ALL_MEMMAP_VARIANTS,
    PAGES_PER_SECTION,
};
use kexec_playground::link;
use kexec_playground::Document;
use kexec_web::components::source_text::SourceText;
use kexec_web::components::{
    checkbox_checked, field_error, input_value, select_value, textarea_value,
};
use kexec_web::util;
use std::collections::BTreeSet;
use std::rc::Rc;
use yew::prelude::*;

/// Props of [`HotplugView`].
#[derive(Properties, PartialEq)]
pub struct HotplugProps {
    /// The scenario shown.
    pub scenario: Rc<HotplugScenario>,
    /// A new valid scenario from an edit or a preset.
    pub on_change: Callback<HotplugScenario>,
}

const WIDTH: f64 = 1000.0;

/// The physical row and the vmemmap row of one run, with `applied`
/// teardown steps done.
fn map(run: &HotplugRun, applied: usize) -> Html {
    let secs = &run.sections;
    if secs.is_empty() {
        return html! { <p class="muted">{ "nothing was hot-added" }</p> };
    }
    let n = secs.len() as f64;
    let cw = WIDTH / n;
    let cleared: BTreeSet<u64> = run.teardown[..applied.min(run.teardown.len())]
        .iter()
        .filter_map(|t| t.clears)
        .collect();
    let current = applied.checked_sub(1).and_then(|i| run.teardown.get(i));
    let index_of = |nr: u64| secs.iter().position(|s| s.nr == nr);
    let pfn_x = |pfn: u64| {
        let nr = pfn / PAGES_PER_SECTION;
        index_of(nr).map(|i| {
            i as f64 * cw + (pfn % PAGES_PER_SECTION) as f64 / PAGES_PER_SECTION as f64 * cw
        })
    };
    let removed_now = |s: &SectionView| s.removed && applied >= run.teardown.len();
    let cell = |i: usize, s: &SectionView| {
        let x = i as f64 * cw;
        let dw = s.donated as f64 / PAGES_PER_SECTION as f64 * cw;
        let bw = s.buddy as f64 / PAGES_PER_SECTION as f64 * cw;
        let title = format!(
            "section 0x{:x} (pfn 0x{:x}): {} memmap pages inside, {} to the buddy allocator, zone {}",
            s.nr,
            s.start_pfn(),
            s.donated,
            s.buddy,
            s.zone.map_or("none (offline)", |z| z.name())
        );
        html! {
            <g class={classes!("sec", removed_now(s).then_some("removed"))} data-section={format!("0x{:x}", s.nr)}>
                <title>{ title }</title>
                <rect class="sec-bg" x={format!("{x:.2}")} y="22" width={format!("{:.2}", cw.max(0.6))} height="30" />
                if s.buddy > 0 {
                    <rect class="buddy" x={format!("{:.2}", x + cw - bw)} y="22" width={format!("{:.2}", bw.max(0.4))} height="30" />
                }
                if s.donated > 0 {
                    <rect class="memmap" x={format!("{x:.2}")} y="22" width={format!("{:.2}", dw.max(0.6))} height="30" />
                }
            </g>
        }
    };
    let chunk = |i: usize, s: &SectionView| {
        let x = i as f64 * cw;
        let gone = cleared.contains(&s.nr);
        let class = classes!(
            "chunk",
            match s.backing {
                Backing::Altmap => "carved",
                Backing::Ordinary => "ordinary",
            },
            gone.then_some("cleared"),
            current
                .and_then(|t| t.clears)
                .filter(|&c| c == s.nr)
                .map(|_| "current"),
        );
        let title = format!(
            "vmemmap 0x{:x}-0x{:x}: struct pages of section 0x{:x}, a 2 MiB PMD mapping of pfn 0x{:x} ({}){}",
            s.memmap_va(),
            s.memmap_va() + PMD_SIZE - 1,
            s.nr,
            s.backing_pfn,
            match s.backing {
                Backing::Altmap => "carved from the added range",
                Backing::Ordinary => "ordinary memory",
            },
            if gone { "; PMD cleared" } else { "" }
        );
        html! {
            <rect class={class} data-section={format!("0x{:x}", s.nr)} x={format!("{x:.2}")} y="84"
                width={format!("{:.2}", cw.max(0.6))} height="22"><title>{ title }</title></rect>
        }
    };
    // The current step's reads: a mark on the vmemmap row, and a line to the
    // pfn the struct page describes.
    let reads = current.map(|t| {
        t.reads
            .iter()
            .filter_map(|r| {
                let sec_x = pfn_x(r.pfn())?;
                let (va_sec, off) = (r.pfn() / PAGES_PER_SECTION, r.pfn() % PAGES_PER_SECTION);
                let vx = index_of(va_sec)? as f64 * cw
                    + off as f64 / PAGES_PER_SECTION as f64 * cw;
                let class = if r.mapped { "read ok" } else { "read fault" };
                Some(html! {
                    <g class={class}>
                        <title>{ format!("{}: struct page 0x{:x} (pfn 0x{:x}){}", r.why, r.va, r.pfn(), if r.mapped { "" } else { " — unmapped: page fault" }) }</title>
                        <line x1={format!("{vx:.2}")} y1="84" x2={format!("{sec_x:.2}")} y2="52" />
                        <circle cx={format!("{vx:.2}")} cy="95" r="4" />
                    </g>
                })
            })
            .collect::<Html>()
    });
    let first = &secs[0];
    let last = &secs[secs.len() - 1];
    html! {
        <svg class="hotplug-map" viewBox={format!("0 0 {WIDTH} 124")} role="img"
            aria-label={format!("{}: sections 0x{:x}-0x{:x} and their vmemmap", run.variant.name(), first.nr, last.nr)}>
            <text class="rowlabel" x="0" y="16">{ format!("physical: sections 0x{:x}-0x{:x} (pfn 0x{:x}-0x{:x})", first.nr, last.nr, first.start_pfn(), last.start_pfn() + PAGES_PER_SECTION - 1) }</text>
            { for secs.iter().enumerate().map(|(i, s)| cell(i, s)) }
            <text class="rowlabel" x="0" y="76">{ format!("vmemmap: 0x{:x}-0x{:x} (2 MiB PMD per section)", first.memmap_va(), last.memmap_va() + PMD_SIZE - 1) }</text>
            { for secs.iter().enumerate().map(|(i, s)| chunk(i, s)) }
            { reads.unwrap_or_default() }
        </svg>
    }
}

fn verdict_class(r: &HotplugRun) -> &'static str {
    if r.fault.is_some() {
        "fault"
    } else if r.ops.iter().any(|o| o.errno.is_some()) {
        "error"
    } else {
        "ok"
    }
}

/// One strategy's column.
fn column(side: usize, r: &HotplugRun, applied: usize, on_step: Callback<(usize, usize)>) -> Html {
    let c = &r.counters;
    let n = r.teardown.len();
    let step = |to: usize| {
        let on_step = on_step.clone();
        Callback::from(move |_| on_step.emit((side, to)))
    };
    let current = applied.checked_sub(1).and_then(|i| r.teardown.get(i));
    html! {
        <section class="pane hotplug-pane" data-variant={r.variant.name()} aria-label={r.variant.name()}>
            <h2>{ r.variant.name() }</h2>
            <p class="muted">{ r.variant.summary() }</p>
            <p class={classes!("verdict", verdict_class(r))}><SourceText text={r.verdict()} tables={tables()} /></p>
            <ul class="ops">
                { for r.ops.iter().map(|o| html! {
                    <li class={classes!(o.errno.map(|_| "error"), o.oops.then_some("fault"))}>
                        <b>{ format!("{}[{}] 0x{:x} +{}: {}", o.op, o.request, o.start, size(o.size),
                            match (o.errno, o.oops) { (Some(e), _) => format!("-{} ({})", e.name(), e.number()), (None, true) => "Oops".into(), _ => "ok".into() }) }</b>
                        <span>{ format!(" {}", o.detail) }</span>
                    </li>
                }) }
            </ul>
            <dl class="counters">
                <div><dt>{ "pages added" }</dt><dd>{ c.added }</dd></div>
                <div><dt>{ "memmap pages (512 per section)" }</dt><dd>{ c.memmap }</dd></div>
                <div><dt>{ "… carved from the added range" }</dt><dd class="n-in-range">{ c.memmap_in_range }</dd></div>
                <div><dt>{ "… from ordinary memory" }</dt><dd class="n-ordinary">{ c.memmap_ordinary }</dd></div>
                <div><dt>{ "vmemmap PMD table pages (ordinary)" }</dt><dd>{ c.pgtable_pages }</dd></div>
                <div><dt>{ format!("{} pages", r.variant.build().mark_name()) }</dt><dd class="n-marked">{ c.marked }</dd></div>
                <div><dt>{ "buddy pages (added range)" }</dt><dd class="n-buddy">{ c.buddy }</dd></div>
                <div><dt>{ "present pages" }</dt><dd>{ c.present }</dd></div>
                <div><dt>{ "net gain (pages)" }</dt><dd>{ c.net_gain() }</dd></div>
            </dl>
            { for r.heads.iter().map(|h| html! {
                <p class="rfc-head">{ format!("refcount {} at 0x{:x} (first vmemmap page), nr_sects {}; donated pfns 0x{:x}-0x{:x}, struct pages 0x{:x}-0x{:x}",
                    h.refcount, h.head_va, h.nr_sects, h.donated.0, h.donated.1,
                    hotplug::pfn_to_page(h.donated.0), hotplug::pfn_to_page(h.donated.1)) }</p>
            }) }
            if n > 0 {
                <div class="stepper" id={format!("hp-stepper-{side}")}>
                    <h3>{ "teardown" }</h3>
                    <div class="step-buttons">
                        <button class="first" aria-label="before the first call" disabled={applied == 0} onclick={step(0)}>{ "«" }</button>
                        <button class="prev" aria-label="previous call" disabled={applied == 0} onclick={step(applied.saturating_sub(1))}>{ "‹" }</button>
                        <span class="step-no" aria-live="polite">{ format!("call {applied} of {n}") }</span>
                        <button class="next" aria-label="next call" disabled={applied >= n} onclick={step(applied + 1)}>{ "›" }</button>
                        <button class="last" aria-label="after the last call" disabled={applied >= n} onclick={step(n)}>{ "»" }</button>
                        if let Some(f) = &r.fault {
                            <button class="to-fault" onclick={step(f.step + 1)}>{ "to the fault" }</button>
                        }
                    </div>
                    if let Some(t) = current {
                        <div class={classes!("step", t.fault().map(|_| "faulted"))}>
                            <code class="call">{ &t.call }</code>
                            <ul class="reads">
                                { for t.reads.iter().map(|x| html! {
                                    <li class={if x.mapped { "ok" } else { "fault" }}>
                                        { format!("reads struct page 0x{:x} (pfn 0x{:x}): {} — {}", x.va, x.pfn(), x.why,
                                            if x.mapped { "mapped" } else { "NOT MAPPED: page fault" }) }
                                    </li>
                                }) }
                            </ul>
                            if !t.note.is_empty() {
                                <p class="note">{ &t.note }</p>
                            }
                        </div>
                    } else {
                        <p class="muted">{ "before the first removal call" }</p>
                    }
                    if let Some(f) = r.fault.as_ref().filter(|f| f.step < applied) {
                        <p class="fault-box" role="alert">{ format!("Oops: {}", f.why) }</p>
                    }
                </div>
            }
            <details class="log">
                <summary>{ "kernel log" }</summary>
                <pre><SourceText text={r.log.join("\n")} tables={tables()} /></pre>
            </details>
        </section>
    }
}

/// The scenario form: machine, hot-add and removal texts, teardown
/// order, strategies; each field's problem beside it.
fn scenario_form(state: &State, edit: &Callback<Edit>, on_preset: Callback<Event>) -> Html {
    let sc = &state.scenario;
    let file = sc.to_file();
    let preset = state.preset();
    let error = &state.error;
    let err_for = |prefix: &str| field_error(error.as_ref(), prefix);
    let variant_select = |side: usize| {
        let edit = edit.clone();
        let cur = file.variants.get(side).cloned().unwrap_or_default();
        html! {
            <select id={format!("hp-variant-{side}")} aria-label={if side == 0 { "left strategy" } else { "right strategy" }}
                onchange={Callback::from(move |e: Event| edit.emit(Edit::Variant(side, select_value(&e))))}>
                { for ALL_MEMMAP_VARIANTS.iter().map(|v| html! {
                    <option value={v.name()} selected={cur == v.name()} title={v.summary()}>{ v.name() }</option>
                }) }
            </select>
        }
    };
    let general = error.as_ref().filter(|e| {
        !["add", "remove", "boot_mem_end", "memory_block_size"]
            .iter()
            .any(|p| e.field.starts_with(p))
    });
    html! {
        <form class="scenario-bar hotplug-bar" aria-label="hotplug scenario"
            onsubmit={Callback::from(|e: SubmitEvent| e.prevent_default())}>
            <fieldset>
                <legend>{ "machine (x86_64, SPARSEMEM_VMEMMAP)" }</legend>
                <label>{ "preset " }
                    <select id="hp-preset" onchange={on_preset}>
                        <option value="" selected={preset.is_none()}>{ "(edited)" }</option>
                        { for hotplug::presets().iter().map(|p| html! {
                            <option value={p.name} selected={preset == Some(p.name)} title={p.expect}>{ p.title }</option>
                        }) }
                    </select>
                </label>
                <label>{ "boot memory ends at " }
                    <input id="hp-boot" class="short" value={size(file.boot_mem_end.0)} spellcheck="false"
                        oninput={edit.reform(move |e: InputEvent| Edit::Boot(input_value(&e)))} />
                </label>
                { err_for("boot_mem_end").unwrap_or_default() }
                <label>
                    <input type="checkbox" id="hp-hypervisor" checked={sc.hypervisor}
                        onchange={edit.reform(|e: Event| Edit::Hypervisor(checkbox_checked(&e)))} />
                    { " X86_FEATURE_HYPERVISOR" }
                </label>
                <label>{ "memory block " }
                    <input id="hp-block" class="short" value={file.memory_block_size.map(|b| size(b.0)).unwrap_or_default()}
                        placeholder={format!("probe: {}", size(state.lab.block_size))} spellcheck="false"
                        oninput={edit.reform(move |e: InputEvent| Edit::Block(input_value(&e)))} />
                </label>
                { err_for("memory_block_size").unwrap_or_default() }
            </fieldset>
            <fieldset>
                <legend>{ "hot-add: one ACPI memory device per line" }</legend>
                <label class="wide">{ "START SIZE [node=N] [online=offline|kernel|movable] [ranges=SIZE]" }
                    <textarea id="hp-add" rows="3" spellcheck="false" value={state.adds.clone()}
                        oninput={edit.reform(move |e: InputEvent| Edit::Adds(textarea_value(&e)))} />
                </label>
                { err_for("add").unwrap_or_default() }
            </fieldset>
            <fieldset>
                <legend>{ "offline_and_remove_memory, in order" }</legend>
                <label class="wide">{ "START SIZE" }
                    <textarea id="hp-remove" rows="3" spellcheck="false" value={state.removes.clone()}
                        oninput={edit.reform(move |e: InputEvent| Edit::Removes(textarea_value(&e)))} />
                </label>
                { err_for("remove").unwrap_or_default() }
                <label>{ "teardown order " }
                    <select id="hp-teardown" onchange={edit.reform(move |e: Event| Edit::Teardown(select_value(&e)))}>
                        <option value="as-posted" selected={file.teardown == "as-posted"}>{ "as posted (RFC: from the end; 6.1: __remove_pages order)" }</option>
                        <option value="forwards" selected={file.teardown == "forwards"}>{ "forwards (lowest section first)" }</option>
                        <option value="backwards" selected={file.teardown == "backwards"}>{ "backwards (highest section first)" }</option>
                    </select>
                </label>
            </fieldset>
            <fieldset>
                <legend>{ "compare" }</legend>
                { variant_select(0) }<span>{ " vs " }</span>{ variant_select(1) }
            </fieldset>
            if let Some(e) = general {
                <p class="field-error" role="alert">{ e.to_string() }</p>
            }
        </form>
    }
}

/// The view.
#[component]
pub fn HotplugView(props: &HotplugProps) -> Html {
    let state = use_reducer(|| State::new((*props.scenario).clone()));
    {
        // A scenario from outside (a link): show it.
        let dispatcher = state.dispatcher();
        use_effect_with(props.scenario.clone(), move |sc| {
            dispatcher.dispatch(Action::Load((**sc).clone()));
        });
    }
    {
        // A new scenario shown: the URL holds it and the parent keeps it.
        let (on_change, shown) = (props.on_change.clone(), props.scenario.clone());
        use_effect_with(state.scenario.clone(), move |sc| {
            util::set_fragment(&link::encode_document_fragment(&Document::Hotplug(
                (**sc).clone(),
            )));
            if **sc != *shown {
                on_change.emit((**sc).clone());
            }
        });
    }
    let edit = {
        let dispatcher = state.dispatcher();
        Callback::from(move |e: Edit| dispatcher.dispatch(Action::Edit(e)))
    };
    let on_preset = {
        let dispatcher = state.dispatcher();
        Callback::from(move |e: Event| dispatcher.dispatch(Action::Preset(select_value(&e))))
    };
    let on_step = {
        let dispatcher = state.dispatcher();
        Callback::from(move |(side, to): (usize, usize)| {
            dispatcher.dispatch(Action::Step { side, to })
        })
    };
    let sc = state.scenario.clone();
    let lab = state.lab.clone();
    let report = hotplug::report_text(&sc, &lab);
    let steps = &state.steps;
    html! {
        <div class="hotplug">
            { scenario_form(&state, &edit, on_preset) }
            <LabShare prefix="hp" report={kexec_playground::with_sources(&report)}
                fragment={link::encode_document_fragment(&Document::Hotplug((*sc).clone()))} />
            <section class="map" aria-label="hotplug map">
                <h2>{ format!("hot-added sections (128 MiB) and their vmemmap; memory blocks of {}", size(lab.block_size)) }</h2>
                { for lab.runs.iter().enumerate().map(|(i, r)| html! {
                    <div class="hotplug-map-row" data-variant={r.variant.name()}>
                        <h3>{ r.variant.name() }</h3>
                        <div class="lab-map-scroll" tabindex="0" role="region" aria-label={format!("{} map (scrolls sideways on a narrow screen)", r.variant.name())}>{ map(r, steps.get(i).copied().unwrap_or(0)) }</div>
                    </div>
                }) }
                <p class="legend">
                    <span class="key memmap">{ "pages holding memmap (PageVmemmap / VmemmapSelfHosted)" }</span>
                    <span class="key buddy">{ "buddy allocator" }</span>
                    <span class="key offline">{ "not onlined" }</span>
                    <span class="key carved">{ "vmemmap backed by the added range" }</span>
                    <span class="key ordinary">{ "vmemmap backed by ordinary memory" }</span>
                    <span class="key cleared">{ "vmemmap PMD cleared" }</span>
                </p>
            </section>
            <main class="panes hotplug-panes">
                { for lab.runs.iter().enumerate().map(|(i, r)| column(i, r, steps.get(i).copied().unwrap_or(0), on_step.clone())) }
            </main>
            <details class="report">
                <summary>{ "plain text (72 columns)" }</summary>
                <pre id="hp-report"><SourceText text={report} tables={tables()} /></pre>
            </details>
        </div>
    }
}
