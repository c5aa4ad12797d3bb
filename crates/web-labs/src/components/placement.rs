//! The Placement view (scenario kind "placement"): the machine and the
//! kexec_file load edited here, placed by the lab crate
//! (`kexec_lab_placement::run`) with two variants side by side: the
//! physical map with nodes, zones, reservations, each buffer's slot and
//! every memory block's hot-remove verdict, the error kexec_file_load
//! returns (placement's, or `sanity_check_segment_list`'s with its rule
//! and the segment's row marked, the placements still shown), and "load
//! this placement" into the kimage view, refused with the load's errno
//! when the load failed. The form's state is
//! [`crate::state::placement`]'s reducer; this renders it and dispatches
//! edits.

use super::findings::tables;
use super::lab_share::LabShare;
use crate::state::placement::{Action, Field, State};
use kexec_core::memory_block::Removal;
use kexec_core::sanity::Rule;
use kexec_core::scenario::Scenario;
use kexec_lab_placement::grammar::{num_text, optional_text};
use kexec_lab_placement::{
    presets, report_text, try_to_kimage, NoKimage, PlaceVariant, PlacementRun, PlacementScenario,
    VariantPlacement, ALL_PLACE_VARIANTS,
};
use kexec_playground::link;
use kexec_playground::Document;
use kexec_web::components::source_text::SourceText;
use kexec_web::components::{
    checkbox_checked, field_error, input_value, select_value, textarea_value,
};
use kexec_web::util;
use std::rc::Rc;
use yew::prelude::*;

/// Props of [`PlacementView`].
#[derive(Properties, PartialEq)]
pub struct PlacementProps {
    /// The scenario shown.
    pub scenario: Rc<PlacementScenario>,
    /// A new valid scenario from an edit or a preset.
    pub on_change: Callback<PlacementScenario>,
    /// "load this placement": the kimage scenario of one variant's load.
    pub on_load: Callback<Scenario>,
}

const WIDTH: f64 = 1000.0;

fn removal_class(r: Removal) -> &'static str {
    match r {
        Removal::Removable => "removable",
        Removal::ReloadNeeded => "reload",
        Removal::NotGuaranteed => "unsure",
        Removal::Refused(_) => "refused",
    }
}

/// The physical map: nodes, zones, reservations, then per variant the
/// buffers' slots and the blocks' verdicts.
fn map(sc: &PlacementScenario, run: &PlacementRun) -> Html {
    let end = sc.ram.iter().map(|r| r.end).max().unwrap_or(1).max(1);
    let x = |a: u64| a as f64 / end as f64 * WIDTH;
    let w = |s: u64, e: u64| (x(e) - x(s)).max(1.5);
    let rows = 3 + 2 * run.results.len();
    let height = 24.0 * rows as f64 + 24.0;
    let label_w = 120.0;
    let mut reserved: Vec<(u64, u64, String, &str)> = sc
        .reserved
        .iter()
        .map(|r| (r.start, r.end, r.label.clone(), "memblock"))
        .collect();
    if let Some(c) = &run.crash {
        if let Some((s, e)) = c.crash {
            reserved.push((s, e, "crashk_res".into(), "crash"));
        }
        if let Some((s, e)) = c.low {
            reserved.push((s, e, "crashk_low_res".into(), "crash"));
        }
    }
    let gib = 1u64 << 30;
    let step = (end / gib / 8).max(1) * gib;
    let ticks: Vec<u64> = (0..=end / step).map(|i| i * step).collect();
    html! {
        <svg class="placement-map" viewBox={format!("{} 0 {} {height}", -label_w, WIDTH + label_w + 10.0)}
            role="img" aria-label="physical memory: nodes, zones, reservations, buffers and memory blocks">
            <text x={(-label_w + 4.0).to_string()} y="16" class="rowlabel">{ "SRAT nodes" }</text>
            { for sc.ram.iter().map(|r| html! {
                <rect x={x(r.start).to_string()} y="4" width={w(r.start, r.end).to_string()} height="18"
                    class={classes!("node", format!("node{}", r.node % 4), r.hotpluggable.then_some("hotplug"), r.driver_managed.then_some("driver"))}>
                    <title>{ format!("0x{:x}-0x{:x} node {}{}{}", r.start, r.end - 1, r.node,
                        if r.hotpluggable { ", hot-pluggable" } else { "" },
                        if r.driver_managed { ", driver-managed" } else { "" }) }</title>
                </rect>
            }) }
            <text x={(-label_w + 4.0).to_string()} y="40" class="rowlabel">{ "zones" }</text>
            { for run.zones.iter().map(|z| html! {
                <g>
                    <rect x={x(z.0).to_string()} y="28" width={w(z.0, z.1).to_string()} height="18"
                        class={classes!("zone", z.2.name().to_lowercase())}>
                        <title>{ format!("ZONE_{} 0x{:x}-0x{:x}", z.2.name().to_uppercase(), z.0, z.1 - 1) }</title>
                    </rect>
                    if w(z.0, z.1) > 50.0 {
                        <text x={(x(z.0) + 3.0).to_string()} y="41" class="zonelabel">{ z.2.name() }</text>
                    }
                </g>
            }) }
            <text x={(-label_w + 4.0).to_string()} y="64" class="rowlabel">{ "reserved" }</text>
            { for reserved.iter().map(|(s, e, what, kind)| html! {
                <rect x={x(*s).to_string()} y="52" width={w(*s, *e).to_string()} height="18" class={classes!("reserved", *kind)}>
                    <title>{ format!("{what} 0x{s:x}-0x{:x}", e - 1) }</title>
                </rect>
            }) }
            { for run.results.iter().enumerate().map(|(i, v)| {
                let y = 76.0 + 48.0 * i as f64;
                html! {
                    <g class="variant-rows" data-variant={v.variant.name()}>
                        <text x={(-label_w + 4.0).to_string()} y={(y + 12.0).to_string()} class="rowlabel">{ format!("{} buffers", v.variant.name()) }</text>
                        { for v.placed.iter().enumerate().map(|(i, p)| {
                            // A segment past the map's end (6.1's top-down
                            // underflow wraps to the top of the address
                            // space) is a sliver at its right edge.
                            let s = p.mem.min(end);
                            let e = p.mem.saturating_add(p.memsz).min(end);
                            let refused = refused_segments(v).contains(&i);
                            html! {
                                <rect x={x(s).to_string()} y={y.to_string()} width={w(s, e).to_string()} height="18"
                                    class={classes!("buffer", p.name.clone(), refused.then_some("refused-segment"))}
                                    style={refused.then_some("stroke: var(--fg); stroke-width: 2; stroke-dasharray: 4 2")}>
                                    <title>{ p.to_string() }{ if p.mem >= end { " (beyond the map)" } else { "" } }</title>
                                </rect>
                            }
                        }) }
                        <text x={(-label_w + 4.0).to_string()} y={(y + 36.0).to_string()} class="rowlabel">{ "blocks" }</text>
                        { for v.blocks.iter().map(|b| html! {
                            <rect x={x(b.start).to_string()} y={(y + 24.0).to_string()} width={(w(b.start, b.end) - 0.5).max(1.0).to_string()} height="18"
                                class={classes!("block", removal_class(b.removal))}>
                                <title>{ format!("memory{} 0x{:x}-0x{:x}: {}\n{}", b.index, b.start, b.end - 1, b.removal.name(), b.reasons.join("\n")) }</title>
                            </rect>
                        }) }
                    </g>
                }
            }) }
            { for ticks.iter().map(|&t| html! {
                <g>
                    <line x1={x(t).to_string()} x2={x(t).to_string()} y1="0" y2={(height - 16.0).to_string()} class="tick" />
                    <text x={(x(t) + 2.0).to_string()} y={(height - 4.0).to_string()} class="ticklabel">{ format!("{} GiB", t / gib) }</text>
                </g>
            }) }
        </svg>
    }
}

/// The segments a sanity-check refusal names (the segment, and the one
/// it overlaps).
fn refused_segments(v: &VariantPlacement) -> Vec<usize> {
    let Some(r) = v.error.as_ref().and_then(|e| e.refusal()) else {
        return Vec::new();
    };
    let mut out: Vec<usize> = r.segment.into_iter().collect();
    if let Rule::Overlap { other } = r.rule {
        out.push(other);
    }
    out
}

/// What follows the verdict of a load the sanity check refused: nothing is
/// loaded, and how totalram_pages() was counted when that was the rule.
fn refusal_notes(v: &VariantPlacement, run: &PlacementRun) -> Html {
    let Some(r) = v.error.as_ref().and_then(|e| e.refusal()) else {
        return Html::default();
    };
    let half = matches!(
        r.rule,
        Rule::SegmentOverHalf { .. } | Rule::TotalOverHalf { .. }
    );
    html! {
        <>
            <p class="muted refusal-note">{ "nothing is loaded (kimage_file_alloc_init frees the image); the table shows where kexec_add_buffer placed each buffer before the check" }</p>
            if half {
                <p class="muted totalram">{ run.totalram.text() }</p>
            }
        </>
    }
}

/// "load this placement": a button handing the load to the kimage view, a
/// disabled one with the load's errno when it failed, a note for kdump.
fn load_button(
    v: &VariantPlacement,
    sc: &PlacementScenario,
    run: &PlacementRun,
    on_load: &Callback<Scenario>,
) -> Html {
    const LABEL: &str = "load this placement into the kimage view";
    match try_to_kimage(sc, run, v) {
        Ok(k) => {
            let on_load = on_load.clone();
            html! {
                <button class="load-kimage" onclick={Callback::from(move |_| on_load.emit(k.clone()))}
                    title="run this load through the entry-list designs (pointer vs rfc-fixed) in the kimage view">
                    { LABEL }
                </button>
            }
        }
        Err(why @ NoKimage::Failed(_)) => {
            let id = format!("load-refused-{}", v.variant.name());
            html! {
                <>
                    <button class="load-kimage" disabled=true aria-describedby={id.clone()}>{ LABEL }</button>
                    <p class="field-error load-refused" id={id} role="note">{ why.to_string() }</p>
                </>
            }
        }
        Err(why @ NoKimage::Kdump) => html! {
            <p class="muted">{ format!("{why}: no intermediate pages") }</p>
        },
    }
}

fn column(
    v: &VariantPlacement,
    sc: &PlacementScenario,
    run: &PlacementRun,
    on_load: &Callback<Scenario>,
) -> Html {
    let c = v.counts();
    let refused = refused_segments(v);
    html! {
        <section class="pane placement-pane" data-variant={v.variant.name()}>
            <h2 class="variant">{ v.variant.name() }</h2>
            <p class="muted">{ v.variant.summary() }</p>
            <p class={classes!("verdict", if v.error.is_some() { "error" } else { "ok" })}><SourceText text={v.verdict()} tables={tables()} /></p>
            { refusal_notes(v, run) }
            <div style="overflow-x: auto">
                <table class="placed">
                    <thead><tr><th>{ "buffer" }</th><th>{ "mem" }</th><th>{ "last byte" }</th><th>{ "memsz" }</th></tr></thead>
                    <tbody>
                        { for v.placed.iter().enumerate().map(|(i, p)| html! {
                            <tr class={classes!(refused.contains(&i).then_some("row-error"))} title={format!("segment {i}")}>
                                <td>{ &p.name }</td><td>{ format!("0x{:x}", p.mem) }</td>
                                <td>{ format!("0x{:x}", p.mem.wrapping_add(p.memsz).wrapping_sub(1)) }</td><td>{ format!("0x{:x}", p.memsz) }</td>
                            </tr>
                        }) }
                    </tbody>
                </table>
            </div>
            <p class="counts">{ format!("hot-remove, {} blocks: {} removable · {} removable, reload kexec · {} not guaranteed · {} refused", v.blocks.len(), c[0], c[1], c[2], c[3]) }</p>
            <ul class="block-notes">
                { for v.blocks.iter().filter(|b| matches!(b.removal, Removal::ReloadNeeded | Removal::Refused(_))).take(12).map(|b| html! {
                    <li class={removal_class(b.removal)}>
                        <b>{ format!("memory{} 0x{:x}-0x{:x} {}: {}", b.index, b.start, b.end - 1,
                            b.zone.map_or("(zones)", |z| z.name()),
                            match b.removal { Removal::Refused(e) => format!("refused ({e})"), o => o.name().to_string() }) }</b>
                        <ul>{ for b.reasons.iter().map(|r| html! { <li><SourceText text={r.clone()} tables={tables()} /></li> }) }</ul>
                    </li>
                }) }
            </ul>
            { load_button(v, sc, run, on_load) }
        </section>
    }
}

/// The view.
#[component]
pub fn PlacementView(props: &PlacementProps) -> Html {
    let state = use_reducer(|| State::new(props.scenario.clone()));
    {
        // A scenario from outside (preset, link, the page's copy of an
        // edit): the form follows it.
        let state = state.clone();
        use_effect_with(props.scenario.clone(), move |sc| {
            state.dispatch(Action::Show(sc.clone()));
            util::set_fragment(&link::encode_document_fragment(&Document::Placement(
                (**sc).clone(),
            )));
        });
    }
    {
        // A new scenario of the form's own: hand it to the page.
        let (on_change, shown) = (props.on_change.clone(), props.scenario.clone());
        let sc = state.scenario.clone();
        use_effect_with(state.revision, move |_| {
            if sc != shown {
                on_change.emit((*sc).clone());
            }
        });
    }
    let sc = state.scenario.clone();
    let file = sc.to_file();
    let run = use_memo(sc.clone(), |sc| kexec_lab_placement::run(sc));
    let edit = {
        let state = state.clone();
        Callback::from(move |field: Field| state.dispatch(Action::Edit(field)))
    };
    let on_preset = {
        let state = state.clone();
        Callback::from(move |e: Event| state.dispatch(Action::Preset(select_value(&e))))
    };
    let preset = state.preset();
    let err_for = |prefix: &str| field_error(state.error.as_ref(), prefix);
    let variant_select = |side: usize| {
        let edit = edit.clone();
        let cur = file.variants.get(side).cloned().unwrap_or_default();
        html! {
            <select id={format!("place-variant-{side}")} aria-label={if side == 0 { "left placement" } else { "right placement" }}
                onchange={Callback::from(move |e: Event| edit.emit(Field::Variant(side, select_value(&e))))}>
                { for ALL_PLACE_VARIANTS.iter().map(|v: &PlaceVariant| html! {
                    <option value={v.name()} selected={cur == v.name()} title={v.summary()}>{ v.name() }</option>
                }) }
            </select>
        }
    };
    let report = report_text(&sc, &run);
    let general = state.general_error();
    html! {
        <div class="placement">
            <form class="scenario-bar placement-bar" aria-label="placement scenario"
                onsubmit={Callback::from(|e: SubmitEvent| e.prevent_default())}>
                <fieldset>
                    <legend>{ "machine (x86_64, e820 + SRAT)" }</legend>
                    <label>{ "preset " }
                        <select id="place-preset" onchange={on_preset}>
                            <option value="" selected={preset.is_none()}>{ "(edited)" }</option>
                            { for presets().iter().map(|p| html! {
                                <option value={p.name} selected={preset == Some(p.name)} title={p.expect}>{ p.title }</option>
                            }) }
                        </select>
                    </label>
                    <label class="wide">{ "System RAM, one range per line: start-end [node=N] [hotpluggable] [driver-managed]" }
                        <textarea id="place-ram" rows="4" spellcheck="false" value={state.ram.clone()}
                            oninput={edit.reform(|e: InputEvent| Field::Ram(textarea_value(&e)))} />
                    </label>
                    { err_for("ram").unwrap_or_default() }
                    <label>
                        <input type="checkbox" id="place-movable-node" checked={sc.movable_node}
                            onchange={edit.reform(|e: Event| Field::MovableNode(checkbox_checked(&e)))} />
                        { " movable_node" }
                    </label>
                </fieldset>
                <fieldset>
                    <legend>{ "kdump reservation (reserve_crashkernel)" }</legend>
                    <label>{ "crashkernel=" }
                        <input id="place-crashkernel" class="short" value={optional_text(&file.crashkernel)}
                            placeholder="none" spellcheck="false" oninput={edit.reform(move |e: InputEvent| Field::Crash(input_value(&e)))} />
                    </label>
                    <label>{ "crashkernel=" }
                        <input id="place-crashkernel-low" class="short" value={optional_text(&file.crashkernel_low)}
                            placeholder="default" spellcheck="false" oninput={edit.reform(move |e: InputEvent| Field::CrashLow(input_value(&e)))} />
                        { ",low" }
                    </label>
                    { err_for("crashkernel").unwrap_or_default() }
                </fieldset>
                <fieldset>
                    <legend>{ "kexec_file_load (bzImage64_load)" }</legend>
                    <label>{ "mode " }
                        <select id="place-mode" onchange={edit.reform(move |e: Event| Field::Mode(select_value(&e)))}>
                            <option value="normal" selected={file.mode == "normal"}>{ "normal" }</option>
                            <option value="kdump" selected={file.mode == "kdump"}>{ "kdump (KEXEC_FILE_ON_CRASH)" }</option>
                        </select>
                    </label>
                    <label>{ "kernel init_size " }
                        <input id="place-kernel" class="short" value={num_text(file.buffers.kernel)}
                            oninput={edit.reform(move |e: InputEvent| Field::Kernel(input_value(&e)))} />
                    </label>
                    <label>{ "initrd " }
                        <input id="place-initrd" class="short" value={num_text(file.buffers.initrd)}
                            oninput={edit.reform(move |e: InputEvent| Field::Initrd(input_value(&e)))} />
                    </label>
                    { err_for("buffers").unwrap_or_default() }
                    { err_for("mode").unwrap_or_default() }
                </fieldset>
                <fieldset>
                    <legend>{ "compare" }</legend>
                    { variant_select(0) }<span>{ " vs " }</span>{ variant_select(1) }
                </fieldset>
                if let Some(e) = general {
                    <p class="field-error" role="alert">{ e.to_string() }</p>
                }
            </form>
            <LabShare prefix="place" report={kexec_playground::with_sources(&report)}
                fragment={link::encode_document_fragment(&Document::Placement((*sc).clone()))} />
            if let Some(c) = &run.crash {
                <ul class="crash-log" aria-label="reserve_crashkernel log">
                    { for c.log.iter().map(|l| html! { <li><SourceText text={l.clone()} tables={tables()} /></li> }) }
                </ul>
            }
            <section class="map" aria-label="placement map">
                <h2>{ format!("physical map, memory blocks of {} MiB", run.block_size >> 20) }</h2>
                <div class="lab-map-scroll" tabindex="0" role="region" aria-label="physical map (scrolls sideways on a narrow screen)">{ map(&sc, &run) }</div>
                <p class="legend">
                    <span class="key removable">{ "removable" }</span>
                    <span class="key reload">{ "removable, reload kexec" }</span>
                    <span class="key unsure">{ "not guaranteed (kernel zone)" }</span>
                    <span class="key refused">{ "refused (holes, zones, reserved)" }</span>
                    <span class="key hotplug">{ "hot-pluggable node" }</span>
                    <span class="key crash">{ "crashkernel" }</span>
                </p>
            </section>
            <main class="panes placement-panes">
                { for run.results.iter().map(|v| column(v, &sc, &run, &props.on_load)) }
            </main>
            <details class="report">
                <summary>{ "plain text (72 columns)" }</summary>
                <pre id="place-report"><SourceText text={report} tables={tables()} /></pre>
            </details>
        </div>
    }
}
