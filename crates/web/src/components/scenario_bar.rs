//! The scenario bar: preset, arch, RAM map, segments, allocator, and the two
//! variants compared. Every edit reruns both sides.

use super::segments_table::SegmentsTable;
use super::{checkbox_checked, field_error, input_value, select_value, textarea_value};
use crate::form::Form;
use crate::state::Edit;
use kexec_common::InputError;
use kexec_core::arch::{Arch, ALL_ARCHES};
use kexec_core::design::{Variant, ALL_VARIANTS};
use kexec_core::presets;
use yew::prelude::*;

/// Props of [`ScenarioBar`].
#[derive(Properties, PartialEq, Clone)]
pub struct ScenarioBarProps {
    /// The form.
    pub form: Form,
    /// Its first problem.
    pub input_error: Option<InputError>,
    /// The kernel's complaint about a segment.
    pub kernel_error: Option<(usize, String)>,
    /// The preset shown, if the scenario still is one.
    pub preset: Option<String>,
    /// Edits.
    pub on_edit: Callback<Edit>,
    /// Preset picked.
    pub on_preset: Callback<String>,
}

/// The variant picker of the left (0) or right (1) pane.
fn variant_select(f: &Form, side: usize, on_edit: &Callback<Edit>) -> Html {
    let on_change = on_edit.reform(move |e: Event| {
        Edit::Variant(
            side,
            Variant::from_name(&select_value(&e)).unwrap_or(Variant::Pointer),
        )
    });
    let label = if side == 0 {
        "left variant"
    } else {
        "right variant"
    };
    html! {
        <select onchange={on_change} aria-label={label} id={format!("variant-{side}")}>
            { for ALL_VARIANTS.iter().map(|v| html! {
                <option value={v.name()} selected={f.variants[side] == *v} title={v.summary()}>{ v.name() }</option>
            }) }
        </select>
    }
}

/// The bar.
#[component]
pub fn ScenarioBar(props: &ScenarioBarProps) -> Html {
    let f = &props.form;
    let err_for = |prefix: &str| field_error(props.input_error.as_ref(), prefix);
    let on_preset = props.on_preset.reform(|e: Event| select_value(&e));
    let on_arch = props
        .on_edit
        .reform(|e: Event| Edit::Arch(Arch::from_name(&select_value(&e)).unwrap_or(Arch::I386)));
    let on_ram = props
        .on_edit
        .reform(|e: InputEvent| Edit::Ram(input_value(&e)));
    let on_movable = props
        .on_edit
        .reform(|e: InputEvent| Edit::Movable(input_value(&e)));
    let on_policy = props
        .on_edit
        .reform(|e: Event| Edit::Policy(select_value(&e)));
    let on_source_movable = props
        .on_edit
        .reform(|e: Event| Edit::SourceMovable(checkbox_checked(&e)));
    let on_seed = props
        .on_edit
        .reform(|e: InputEvent| Edit::Seed(input_value(&e)));
    let on_replay = props
        .on_edit
        .reform(|e: InputEvent| Edit::Replay(textarea_value(&e)));
    let seg_error = props
        .input_error
        .as_ref()
        .filter(|e| e.field.starts_with("segments["))
        .map(|e| (e.field.clone(), e.message.clone()));
    let general_error = props.input_error.as_ref().filter(|e| {
        !["segments[", "ram", "movable", "allocator"]
            .iter()
            .any(|p| e.field.starts_with(p))
    });
    html! {
        <form class="scenario-bar" onsubmit={Callback::from(|e: SubmitEvent| e.prevent_default())} aria-label="scenario">
            <fieldset class="machine">
                <legend>{ "machine" }</legend>
                <label>{ "preset " }
                    <select id="preset" onchange={on_preset}>
                        <option value="" selected={props.preset.is_none()}>{ "(edited)" }</option>
                        { for presets::all().iter().map(|p| html! {
                            <option value={p.name} selected={props.preset.as_deref() == Some(p.name)} title={p.expect}>{ p.title }</option>
                        }) }
                    </select>
                </label>
                <label>{ "arch " }
                    <select id="arch" onchange={on_arch}>
                        { for ALL_ARCHES.iter().map(|a| html! {
                            <option value={a.name()} selected={f.arch == *a} title={a.profile().config}>{ a.name() }</option>
                        }) }
                    </select>
                </label>
                <label class="wide">{ "RAM " }
                    <input id="ram" value={f.ram.clone()} oninput={on_ram} spellcheck="false"
                        placeholder="0x0-0x200000000" aria-invalid={err_for("ram").is_some().to_string()} />
                </label>
                { err_for("ram").unwrap_or_default() }
                <label class="wide">{ "ZONE_MOVABLE " }
                    <input id="movable" value={f.movable.clone()} oninput={on_movable} spellcheck="false" placeholder="none" />
                </label>
                { err_for("movable").unwrap_or_default() }
            </fieldset>
            <fieldset class="segs">
                <legend>{ "segments (kexec_load)" }</legend>
                <SegmentsTable segments={f.segments.clone()} input_error={seg_error}
                    kernel_error={props.kernel_error.clone()} on_edit={props.on_edit.clone()} />
            </fieldset>
            <fieldset class="alloc">
                <legend>{ "page allocator" }</legend>
                <label>{ "policy " }
                    <select id="policy" onchange={on_policy}>
                        { for ["lowest-first", "highest-first", "random", "adversarial", "replay"].iter().map(|p| html! {
                            <option value={*p} selected={f.policy == *p}>{ *p }</option>
                        }) }
                    </select>
                </label>
                if f.policy == "random" || f.policy == "adversarial" {
                    <label>{ "seed " }<input id="seed" class="short" value={f.seed.clone()} oninput={on_seed} /></label>
                }
                if f.policy == "replay" {
                    <label class="wide">{ "pfns, one per allocator call " }
                        <textarea id="replay" rows="3" value={f.replay.clone()} oninput={on_replay} spellcheck="false" />
                    </label>
                }
                <label title="not in any kernel: source pages asked with __GFP_MOVABLE added, as on Joonsoo Kim's CMA-in-ZONE_MOVABLE machine, so they may come from ZONE_MOVABLE">
                    <input type="checkbox" id="source-movable" checked={f.source_movable} onchange={on_source_movable} />
                    { " what-if: source pages GFP_HIGHUSER_MOVABLE" }
                </label>
                { err_for("allocator").unwrap_or_default() }
            </fieldset>
            <fieldset class="variants">
                <legend>{ "compare" }</legend>
                { variant_select(f, 0, &props.on_edit) }<span>{ " vs " }</span>{ variant_select(f, 1, &props.on_edit) }
            </fieldset>
            if let Some(e) = general_error {
                <p class="field-error" role="alert">{ e.to_string() }</p>
            }
        </form>
    }
}
