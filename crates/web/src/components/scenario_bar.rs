//! The scenario bar: preset, arch, RAM map, segments, allocator, and the two
//! variants compared. Every edit reruns both sides.

use super::segments_table::SegmentsTable;
use super::{checkbox_checked, field_error, input_value, select_value, textarea_value};
use crate::form::Form;
use crate::state::{Edit, KernelSource, SHIPPED_KERNEL};
use kexec_common::InputError;
use kexec_core::arch::{Arch, ALL_ARCHES};
use kexec_core::design::{KernelId, Variant, ALL_VARIANTS};
use kexec_core::presets;
use std::rc::Rc;
use wasm_bindgen::JsCast;
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
    /// A kernel build picked for a pane (the shipped one, or a file).
    pub on_kernel: Callback<(usize, KernelSource)>,
}

/// Read the first file of a list (a pick or a drop) as text, for a pane.
fn read_kernel_file(
    files: Option<web_sys::FileList>,
    side: usize,
    on_kernel: Callback<(usize, KernelSource)>,
) {
    let Some(file) = files.and_then(|f| f.get(0)) else {
        return;
    };
    wasm_bindgen_futures::spawn_local(async move {
        if let Ok(text) = wasm_bindgen_futures::JsFuture::from(file.text()).await {
            if let Some(text) = text.as_string() {
                on_kernel.emit((side, KernelSource::File(Rc::new(text))));
            }
        }
    });
}

/// The variant picker of the left (0) or right (1) pane: the Rust
/// designs, the kernel builds the scenario names, the shipped kernel
/// build, and "load a kernel build…" (a file; it stays in the browser).
/// A kernel-build file dropped on the picker loads too.
fn variant_select(
    f: &Form,
    side: usize,
    on_edit: &Callback<Edit>,
    on_kernel: &Callback<(usize, KernelSource)>,
) -> Html {
    let file_id = format!("kernel-file-{side}");
    let current = match f.variants[side] {
        Variant::Kernel(KernelId(i)) => f
            .kernels
            .get(usize::from(i))
            .map_or_else(|| "kernel:?".into(), |k| format!("kernel:{}", k.name)),
        v => v.name().to_string(),
    };
    let on_change = {
        let (on_edit, on_kernel, kernels) = (on_edit.clone(), on_kernel.clone(), f.kernels.clone());
        let (file_id, current) = (file_id.clone(), current.clone());
        Callback::from(move |e: Event| {
            let value = select_value(&e);
            if value == "@file" {
                e.target_unchecked_into::<web_sys::HtmlSelectElement>()
                    .set_value(&current);
                if let Some(input) = web_sys::window()
                    .and_then(|w| w.document())
                    .and_then(|d| d.get_element_by_id(&file_id))
                {
                    input.unchecked_into::<web_sys::HtmlElement>().click();
                }
            } else if value == "@shipped" {
                on_kernel.emit((side, KernelSource::Shipped));
            } else if let Some(name) = value.strip_prefix("kernel:") {
                if let Some(i) = kernels.iter().position(|k| k.name == name) {
                    on_edit.emit(Edit::Variant(side, Variant::Kernel(KernelId(i as u8))));
                }
            } else {
                on_edit.emit(Edit::Variant(
                    side,
                    Variant::from_name(&value).unwrap_or(Variant::Pointer),
                ));
            }
        })
    };
    let on_file = {
        let on_kernel = on_kernel.clone();
        Callback::from(move |e: Event| {
            let input = e.target_unchecked_into::<web_sys::HtmlInputElement>();
            read_kernel_file(input.files(), side, on_kernel.clone());
            input.set_value("");
        })
    };
    let on_drop = {
        let on_kernel = on_kernel.clone();
        Callback::from(move |e: DragEvent| {
            e.prevent_default();
            read_kernel_file(
                e.data_transfer().and_then(|d| d.files()),
                side,
                on_kernel.clone(),
            );
        })
    };
    let on_dragover = Callback::from(|e: DragEvent| e.prevent_default());
    let label = if side == 0 {
        "left variant"
    } else {
        "right variant"
    };
    let shipped_named = f.kernels.iter().any(|k| k.name == SHIPPED_KERNEL.0);
    html! {
        <span class="design-pick" ondrop={on_drop} ondragover={on_dragover}
            title="a design, or a kernel build: pick one, or drop a kernel-build file here (it stays in this browser)">
            <select onchange={on_change} aria-label={label} id={format!("variant-{side}")}>
                { for ALL_VARIANTS.iter().map(|v| html! {
                    <option value={v.name()} selected={f.variants[side] == *v} title={v.summary()}>{ v.name() }</option>
                }) }
                <optgroup label="the kernel's own code">
                    { for f.kernels.iter().map(|k| {
                        let value = format!("kernel:{}", k.name);
                        html! {
                            <option selected={value == current} title={k.describe()} value={value.clone()}>{ value }</option>
                        }
                    }) }
                    if !shipped_named {
                        <option value="@shipped" title="kernel/kexec_core.c and kernel/kexec.c of Debian's linux-source-6.1, unpatched, compiled against the playground's shim (GPL-2.0)">{ SHIPPED_KERNEL.1 }</option>
                    }
                    <option value="@file">{ "load a kernel build…" }</option>
                </optgroup>
            </select>
            <input type="file" id={file_id} hidden=true accept=".kbuild,.json" onchange={on_file}
                aria-label={format!("kernel-build file for the {label}")} />
        </span>
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
                        { for ["lowest-first", "highest-first", "random", "adversarial", "buddy", "replay"].iter().map(|p| html! {
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
                { variant_select(f, 0, &props.on_edit, &props.on_kernel) }<span>{ " vs " }</span>{ variant_select(f, 1, &props.on_edit, &props.on_kernel) }
            </fieldset>
            if let Some(e) = general_error {
                <p class="field-error" role="alert">{ e.to_string() }</p>
            }
        </form>
    }
}
