//! The Page tables view (scenario kind "pgtable"): a script of ioremap,
//! iounmap and CPU accesses, run by the lab crate (kexec_lab_pgtable) with
//! two ways of freeing page-table pages side by side. A stepper walks the
//! script; each column shows the step's effect, the tree of table pages,
//! every CPU's TLB and paging-structure caches, and the translation each
//! CPU gets for a VA next to what the page table says. The state is
//! [`crate::state::pgtable`]'s reducer; this file renders and dispatches.

use super::findings::tables;
use super::lab_share::LabShare;
use crate::state::pgtable::{Action, Edit, Flag, State};
use kexec_lab_pgtable::pgtable::CpuCaches;
use kexec_lab_pgtable::script::OPS;
use kexec_lab_pgtable::{
    access_text, presets, probe, read_text, report_text, truth_text, Access, FreeVariant, Outcome,
    PgtableRun, PgtableScenario, Snapshot, ALL_FREE_VARIANTS,
};
use kexec_playground::link;
use kexec_playground::Document;
use kexec_web::components::source_text::SourceText;
use kexec_web::components::{checkbox_checked, input_value, select_value, textarea_value};
use kexec_web::util;
use std::rc::Rc;
use yew::prelude::*;

/// Props of [`PgtableView`].
#[derive(Properties, PartialEq)]
pub struct PgtableProps {
    /// The scenario shown.
    pub scenario: Rc<PgtableScenario>,
    /// A new valid scenario from an edit or a preset.
    pub on_change: Callback<PgtableScenario>,
}

fn outcome_class(a: &Access) -> &'static str {
    match a.outcome {
        Outcome::Correct(_) => "ok",
        Outcome::Unmapped => "unmapped",
        Outcome::Bogus { .. } => "bogus",
        Outcome::SpuriousFault { .. } => "spurious",
    }
}

fn access_view(a: &Access) -> Html {
    html! {
        <div class={classes!("access", outcome_class(a))} data-cpu={a.cpu.to_string()}>
            <p class="access-line">{ access_text(a) }</p>
            <ul class="reads">
                { for a.reads.iter().map(|(level, pfn, i, e, role)| html! {
                    <li class={if role.contains("NOT A TABLE") || role.starts_with("FREE") { "stale" } else { "" }}>
                        { read_text(*level, *pfn, *i, *e, role) }
                    </li>
                }) }
            </ul>
        </div>
    }
}

fn tables_view(s: &Snapshot) -> Html {
    html! {
        <ul class="pt-tree" aria-label="table pages">
            { for s.tables.iter().map(|t| html! {
                <li style={format!("padding-left: {}em", t.depth * 2)} data-level={t.level.name()} data-pfn={format!("0x{:x}", t.pfn)}>
                    <b>{ format!("{} page 0x{:x}", t.level.name(), t.pfn) }</b>
                    { format!(" at 0x{:x}: {} present", t.va, t.present) }
                    if !t.sample.is_empty() {
                        <span class="muted">{ format!(" [{}]", t.sample.iter().map(|(i, e)| format!("{i}: 0x{e:x}")).collect::<Vec<_>>().join(", ")) }</span>
                    }
                </li>
            }) }
            { for s.leaked.iter().map(|p| html! {
                <li class="leaked">{ format!("page 0x{p:x}: unlinked, never freed (leaked)") }</li>
            }) }
        </ul>
    }
}

fn caches_view(cpus: &[CpuCaches]) -> Html {
    let list = |m: Vec<String>| {
        if m.is_empty() {
            "—".to_string()
        } else {
            m.join(", ")
        }
    };
    html! {
        <table class="pt-caches">
            <thead><tr><th>{ "CPU" }</th><th>{ "TLB" }</th><th>{ "PML4E" }</th><th>{ "PDPTE" }</th><th>{ "PDE cache" }</th></tr></thead>
            <tbody>
                { for cpus.iter().enumerate().map(|(i, c)| html! {
                    <tr data-cpu={i.to_string()}>
                        <td>{ format!("cpu{i}") }</td>
                        <td>{ list(c.tlb.iter().map(|(&(size, va), pa)| format!("0x{va:x}→0x{pa:x} ({}K)", size >> 10)).collect()) }</td>
                        <td>{ list(c.pml4e.iter().map(|(k, p)| format!("0x{:x}→page 0x{p:x}", k << 39)).collect()) }</td>
                        <td>{ list(c.pdpte.iter().map(|(k, p)| format!("0x{:x}→page 0x{p:x}", k << 30)).collect()) }</td>
                        <td class="pde">{ list(c.pde.iter().map(|(k, p)| format!("0x{:x}→page 0x{p:x}", k << 21)).collect()) }</td>
                    </tr>
                }) }
            </tbody>
        </table>
    }
}

/// One variant's column at the stepper's step.
fn column(state: &State, r: &PgtableRun) -> Html {
    let (sc, cur) = (&state.scenario, state.step);
    let st = cur.checked_sub(1).and_then(|i| r.steps.get(i));
    let probe_va = state.probe_va();
    let probe = probe_va.map(|va| probe(sc, r.variant, cur, va));
    let bad = r.exit_status() != 0;
    html! {
        <section class="pane pt-pane" data-variant={r.variant.name()} aria-label={r.variant.name()}>
            <h2>{ r.variant.name() }</h2>
            <p class="muted">{ r.variant.summary() }</p>
            <p class={classes!("verdict", if bad { "fault" } else { "ok" })}><SourceText text={r.verdict()} tables={tables()} /></p>
            if let Some(st) = st {
                <div class="pt-step">
                    <code class="call">{ format!("{}. {}", cur, st.op) }</code>
                    if let Some(e) = &st.error {
                        <p class="field-error" role="alert">{ format!("{e}; the table is unchanged") }</p>
                    }
                    if let Some(e) = st.errno {
                        <p class="field-error">{ format!("-{} ({})", e.name(), e.number()) }</p>
                    }
                    <ul class="pt-log">{ for st.log.iter().map(|l| html! { <li><SourceText text={l.clone()} tables={tables()} /></li> }) }</ul>
                    if let Some(a) = &st.access {
                        { access_view(a) }
                    }
                </div>
            } else {
                <p class="muted">{ "before the first step: only the boot-time tables" }</p>
            }
            <h3>{ "table pages" }</h3>
            { st.map(|s| tables_view(&s.after)).unwrap_or_default() }
            <h3>{ "TLB and paging-structure caches" }</h3>
            { st.map(|s| caches_view(&s.after.cpus)).unwrap_or_else(|| caches_view(&vec![CpuCaches::default(); sc.cpus])) }
            if let Some((accs, truth)) = probe {
                <h3>{ format!("each CPU's translation of 0x{:x} now", probe_va.unwrap_or(0)) }</h3>
                <p class="muted pt-truth">{ truth_text(truth) }</p>
                <div class="pt-probe">{ for accs.iter().map(access_view) }</div>
            }
        </section>
    }
}

/// The scenario bar: preset, machine, script, variants.
fn form_view(state: &State, dispatch: &UseReducerDispatcher<State>) -> Html {
    let file = state.scenario.to_file();
    let edit = {
        let d = dispatch.clone();
        Callback::from(move |e: Edit| d.dispatch(Action::Edit(e)))
    };
    let on_preset = {
        let d = dispatch.clone();
        Callback::from(move |e: Event| d.dispatch(Action::Preset(select_value(&e))))
    };
    let flag = |id: &'static str, flag: Flag, label: &'static str, value: bool| {
        let edit = edit.clone();
        html! {
            <label>
                <input type="checkbox" {id} checked={value}
                    onchange={Callback::from(move |e: Event| edit.emit(Edit::Flag(flag, checkbox_checked(&e))))} />
                { format!(" {label}") }
            </label>
        }
    };
    let variant_select = |side: usize| {
        let edit = edit.clone();
        let cur = file.variants.get(side).cloned().unwrap_or_default();
        html! {
            <select id={format!("pt-variant-{side}")} aria-label={if side == 0 { "left variant" } else { "right variant" }}
                onchange={Callback::from(move |e: Event| edit.emit(Edit::Variant(side, select_value(&e))))}>
                { for ALL_FREE_VARIANTS.iter().map(|v: &FreeVariant| html! {
                    <option value={v.name()} selected={cur == v.name()} title={v.summary()}>{ v.name() }</option>
                }) }
            </select>
        }
    };
    let preset = state.preset;
    html! {
        <form class="scenario-bar pgtable-bar" aria-label="page-table scenario"
            onsubmit={Callback::from(|e: SubmitEvent| e.prevent_default())}>
            <fieldset>
                <legend>{ "machine" }</legend>
                <label>{ "preset " }
                    <select id="pt-preset" onchange={on_preset}>
                        <option value="" selected={preset.is_none()}>{ "(edited)" }</option>
                        { for presets().iter().map(|p| html! {
                            <option value={p.name} selected={preset == Some(p.name)} title={p.expect}>{ p.title }</option>
                        }) }
                    </select>
                </label>
                <label>{ "arch " }
                    <select id="pt-arch" onchange={edit.reform(move |e: Event| Edit::Arch(select_value(&e)))}>
                        <option value="x86_64" selected={file.arch == "x86_64"}>{ "x86_64 (4-level)" }</option>
                        <option value="i386-pae" selected={file.arch == "i386-pae"}>{ "i386 PAE" }</option>
                    </select>
                </label>
                <label>{ "CPUs " }
                    <input id="pt-cpus" class="short" type="number" min="1" max="8" value={file.cpus.to_string()}
                        oninput={edit.reform(|e: InputEvent| Edit::Cpus(input_value(&e)))} />
                </label>
                { flag("pt-gbpages", Flag::Gbpages, "GBPAGES", file.gbpages) }
                { flag("pt-pse", Flag::Pse, "PSE", file.pse) }
                { flag("pt-nohugeiomap", Flag::Nohugeiomap, "nohugeiomap", file.nohugeiomap) }
                { flag("pt-mtrr", Flag::MtrrUniform, "MTRRs uniform", file.mtrr_uniform) }
            </fieldset>
            <fieldset>
                <legend>{ "script, one operation per line" }</legend>
                <label class="wide">{ OPS.join(" · ") }
                    <textarea id="pt-script" rows="7" spellcheck="false" value={state.script.clone()}
                        oninput={edit.reform(|e: InputEvent| Edit::Script(textarea_value(&e)))} />
                </label>
                if let Some(e) = state.script_error() {
                    <p class="field-error" role="alert">{ e.to_string() }</p>
                }
            </fieldset>
            <fieldset>
                <legend>{ "compare" }</legend>
                { variant_select(0) }<span>{ " vs " }</span>{ variant_select(1) }
            </fieldset>
            if let Some(e) = state.other_error() {
                <p class="field-error" role="alert">{ e.to_string() }</p>
            }
        </form>
    }
}

/// The stepper: buttons, the probe field, the script's lines.
fn stepper_view(state: &State, dispatch: &UseReducerDispatcher<State>) -> Html {
    let (cur, n) = (state.step, state.steps());
    let go = |to: usize| {
        let d = dispatch.clone();
        Callback::from(move |_| d.dispatch(Action::StepTo(to)))
    };
    let on_probe = {
        let d = dispatch.clone();
        Callback::from(move |e: InputEvent| d.dispatch(Action::Probe(input_value(&e))))
    };
    html! {
        <section class="pt-stepper" id="pt-stepper" aria-label="script stepper">
            <div class="step-buttons">
                <button class="first" aria-label="before the first step" disabled={cur == 0} onclick={go(0)}>{ "«" }</button>
                <button class="prev" aria-label="previous step" disabled={cur == 0} onclick={go(cur.saturating_sub(1))}>{ "‹" }</button>
                <span class="step-no" aria-live="polite">{ format!("step {cur} of {n}") }</span>
                <button class="next" aria-label="next step" disabled={cur >= n} onclick={go(cur + 1)}>{ "›" }</button>
                <button class="last" aria-label="after the last step" disabled={cur >= n} onclick={go(n)}>{ "»" }</button>
                <label>{ " translate VA " }
                    <input id="pt-probe" class="short" value={state.probe.clone()} spellcheck="false"
                        oninput={on_probe} />
                </label>
            </div>
            <ol class="pt-script">
                { for state.scenario.ops.iter().enumerate().map(|(i, o)| html! {
                    <li class={classes!((i + 1 == cur).then_some("current"), (i + 1 > cur).then_some("later"))}
                        onclick={go(i + 1)}>{ o.line() }</li>
                }) }
            </ol>
        </section>
    }
}

/// The view.
#[component]
pub fn PgtableView(props: &PgtableProps) -> Html {
    let state = use_reducer({
        let sc = props.scenario.clone();
        move || State::new(sc)
    });
    {
        // A scenario from the parent (a link, a preset, an edit echoed back).
        let d = state.dispatcher();
        use_effect_with(props.scenario.clone(), move |sc| {
            d.dispatch(Action::Load(sc.clone()))
        });
    }
    {
        // The scenario shown: the link, and the parent when it is new.
        let (shown, on_change) = (props.scenario.clone(), props.on_change.clone());
        use_effect_with(state.scenario.clone(), move |sc| {
            util::set_fragment(&link::encode_document_fragment(&Document::Pgtable(
                (**sc).clone(),
            )));
            if **sc != *shown {
                on_change.emit((**sc).clone());
            }
        });
    }
    let dispatch = state.dispatcher();
    let report = report_text(&state.scenario, &state.runs);
    html! {
        <div class="pgtable">
            { form_view(&state, &dispatch) }
            <LabShare prefix="pt" report={kexec_playground::with_sources(&report)}
                fragment={link::encode_document_fragment(&Document::Pgtable((*state.scenario).clone()))} />
            { stepper_view(&state, &dispatch) }
            <main class="panes pt-panes">
                { for state.runs.iter().map(|r| column(&state, r)) }
            </main>
            <details class="report">
                <summary>{ "plain text (72 columns)" }</summary>
                <pre id="pt-report"><SourceText text={report} tables={tables()} /></pre>
            </details>
        </div>
    }
}
