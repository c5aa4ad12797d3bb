//! The Page tables view (scenario kind "pgtable"): a script of ioremap,
//! iounmap and CPU accesses, run by the model's `pgtable_lab` with two ways
//! of freeing page-table pages side by side. A stepper walks the script;
//! each column shows the step's effect, the tree of table pages, every
//! CPU's TLB and paging-structure caches, and the translation each CPU
//! gets for a VA next to what the page table says.

use super::lab_share::LabShare;
use kexec_common::input::parse_num;
use kexec_common::InputError;
use kexec_lab_pgtable::pgtable::CpuCaches;
use kexec_lab_pgtable::{
    self as pgtable_lab, access_text, Access, FreeVariant, Op, Outcome, PgtableFile, PgtableRun,
    PgtableScenario, Snapshot, ALL_FREE_VARIANTS,
};
use kexec_playground::link;
use kexec_playground::Document;
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

/// An edit of the form.
enum Field {
    Arch(String),
    Cpus(String),
    Flag(&'static str, bool),
    Script(String),
    Variant(usize, String),
}

fn apply(f: &mut PgtableFile, field: Field) -> Result<(), InputError> {
    match field {
        Field::Arch(a) => f.arch = a,
        Field::Cpus(t) => {
            f.cpus = t.trim().parse().map_err(|_| InputError {
                field: "cpus".into(),
                message: format!("\"{t}\": a number of CPUs"),
            })?
        }
        Field::Flag(name, b) => match name {
            "gbpages" => f.gbpages = b,
            "pse" => f.pse = b,
            "nohugeiomap" => f.nohugeiomap = b,
            _ => f.mtrr_uniform = b,
        },
        Field::Script(t) => {
            f.script = t
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(String::from)
                .collect()
        }
        Field::Variant(side, v) => {
            while f.variants.len() < 2 {
                f.variants.push("flush".into());
            }
            f.variants[side.min(1)] = v;
        }
    }
    Ok(())
}

/// The step the view opens at: the first access where a CPU and the page
/// table disagree, else the last step.
fn initial_step(runs: &[PgtableRun], n: usize) -> usize {
    (0..n)
        .find(|&i| {
            runs.iter().any(|r| {
                r.steps[i]
                    .access
                    .as_ref()
                    .is_some_and(|a| !a.outcome.agrees())
            })
        })
        .map_or(n, |i| i + 1)
}

/// The VA probed by default: the last access's, else the first ioremap's.
fn default_probe(sc: &PgtableScenario) -> u64 {
    sc.ops
        .iter()
        .rev()
        .find_map(|o| match *o {
            Op::Access { va, .. } => Some(va),
            _ => None,
        })
        .or_else(|| {
            sc.ops.iter().find_map(|o| match *o {
                Op::Ioremap { va, .. } => Some(va),
                _ => None,
            })
        })
        .unwrap_or(sc.paging.vmalloc_area().0)
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
                        { format!("{}[{i}] of page 0x{pfn:x} = 0x{e:x} ({role})", level.name()) }
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

/// The view.
#[component]
pub fn PgtableView(props: &PgtableProps) -> Html {
    let sc = props.scenario.clone();
    let file = sc.to_file();
    let script = use_state(|| file.script.join("\n"));
    let error = use_state(|| None::<InputError>);
    let runs = use_memo(sc.clone(), |sc| pgtable_lab::run(sc));
    let n = sc.ops.len();
    let step = use_state(|| initial_step(&runs, n));
    let probe_text = use_state(|| format!("0x{:x}", default_probe(&sc)));
    {
        let (script, error, step, runs, probe_text) = (
            script.clone(),
            error.clone(),
            step.clone(),
            runs.clone(),
            probe_text.clone(),
        );
        use_effect_with(sc.clone(), move |sc| {
            script.set(sc.to_file().script.join("\n"));
            error.set(None);
            step.set(initial_step(&runs, sc.ops.len()));
            probe_text.set(format!("0x{:x}", default_probe(sc)));
            util::set_fragment(&link::encode_document_fragment(&Document::Pgtable(
                (**sc).clone(),
            )));
        });
    }
    let edit = {
        let (sc, on_change, error, script) = (
            sc.clone(),
            props.on_change.clone(),
            error.clone(),
            script.clone(),
        );
        Callback::from(move |field: Field| {
            let mut f = sc.to_file();
            if let Field::Script(t) = &field {
                script.set(t.clone());
            } else {
                let _ = apply(&mut f, Field::Script((*script).clone()));
            }
            match apply(&mut f, field).and_then(|_| PgtableScenario::from_file(&f)) {
                Ok(s) => {
                    error.set(None);
                    on_change.emit(s);
                }
                Err(e) => error.set(Some(e)),
            }
        })
    };
    let on_preset = {
        let on_change = props.on_change.clone();
        Callback::from(move |e: Event| {
            if let Some(p) = pgtable_lab::find_preset(&select_value(&e)) {
                on_change.emit(p.scenario);
            }
        })
    };
    let preset = pgtable_lab::presets()
        .into_iter()
        .find(|p| p.scenario == *sc)
        .map(|p| p.name);
    let flag = |id: &'static str, name: &'static str, label: &'static str, value: bool| {
        let edit = edit.clone();
        html! {
            <label>
                <input type="checkbox" {id} checked={value}
                    onchange={Callback::from(move |e: Event| edit.emit(Field::Flag(name, checkbox_checked(&e))))} />
                { format!(" {label}") }
            </label>
        }
    };
    let variant_select = |side: usize| {
        let edit = edit.clone();
        let cur = file.variants.get(side).cloned().unwrap_or_default();
        html! {
            <select id={format!("pt-variant-{side}")} aria-label={if side == 0 { "left variant" } else { "right variant" }}
                onchange={Callback::from(move |e: Event| edit.emit(Field::Variant(side, select_value(&e))))}>
                { for ALL_FREE_VARIANTS.iter().map(|v: &FreeVariant| html! {
                    <option value={v.name()} selected={cur == v.name()} title={v.summary()}>{ v.name() }</option>
                }) }
            </select>
        }
    };
    let go = |to: usize| {
        let step = step.clone();
        Callback::from(move |_| step.set(to.min(n)))
    };
    let cur = (*step).min(n);
    let probe_va = parse_num(&probe_text).ok();
    let report = pgtable_lab::report_text(&sc, &runs);
    let column = |r: &PgtableRun| {
        let st = cur.checked_sub(1).and_then(|i| r.steps.get(i));
        let probe = probe_va.map(|va| pgtable_lab::probe(&sc, r.variant, cur, va));
        let bad = r.exit_status() != 0;
        html! {
            <section class="pane pt-pane" data-variant={r.variant.name()} aria-label={r.variant.name()}>
                <h2>{ r.variant.name() }</h2>
                <p class="muted">{ r.variant.summary() }</p>
                <p class={classes!("verdict", if bad { "fault" } else { "ok" })}>{ r.verdict() }</p>
                if let Some(st) = st {
                    <div class="pt-step">
                        <code class="call">{ format!("{}. {}", cur, st.op) }</code>
                        if let Some(e) = &st.error {
                            <p class="field-error" role="alert">{ format!("{e}; the table is unchanged") }</p>
                        }
                        if let Some(e) = st.errno {
                            <p class="field-error">{ format!("-{} ({})", e.name(), e.number()) }</p>
                        }
                        <ul class="pt-log">{ for st.log.iter().map(|l| html! { <li>{ l }</li> }) }</ul>
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
                    <p class="muted pt-truth">{ match truth { Some(t) => format!("the page table: 0x{:x} ({} KiB page)", t.pa, t.size >> 10), None => "the page table: not mapped".into() } }</p>
                    <div class="pt-probe">{ for accs.iter().map(access_view) }</div>
                }
            </section>
        }
    };
    let general = error.as_ref().filter(|e| !e.field.starts_with("script"));
    html! {
        <div class="pgtable">
            <form class="scenario-bar pgtable-bar" aria-label="page-table scenario"
                onsubmit={Callback::from(|e: SubmitEvent| e.prevent_default())}>
                <fieldset>
                    <legend>{ "machine" }</legend>
                    <label>{ "preset " }
                        <select id="pt-preset" onchange={on_preset}>
                            <option value="" selected={preset.is_none()}>{ "(edited)" }</option>
                            { for pgtable_lab::presets().iter().map(|p| html! {
                                <option value={p.name} selected={preset == Some(p.name)} title={p.expect}>{ p.title }</option>
                            }) }
                        </select>
                    </label>
                    <label>{ "arch " }
                        <select id="pt-arch" onchange={edit.reform(move |e: Event| Field::Arch(select_value(&e)))}>
                            <option value="x86_64" selected={file.arch == "x86_64"}>{ "x86_64 (4-level)" }</option>
                            <option value="i386-pae" selected={file.arch == "i386-pae"}>{ "i386 PAE" }</option>
                        </select>
                    </label>
                    <label>{ "CPUs " }
                        <input id="pt-cpus" class="short" type="number" min="1" max="8" value={file.cpus.to_string()}
                            oninput={edit.reform(|e: InputEvent| Field::Cpus(input_value(&e)))} />
                    </label>
                    { flag("pt-gbpages", "gbpages", "GBPAGES", file.gbpages) }
                    { flag("pt-pse", "pse", "PSE", file.pse) }
                    { flag("pt-nohugeiomap", "nohugeiomap", "nohugeiomap", file.nohugeiomap) }
                    { flag("pt-mtrr", "mtrr", "MTRRs uniform", file.mtrr_uniform) }
                </fieldset>
                <fieldset>
                    <legend>{ "script, one operation per line" }</legend>
                    <label class="wide">{ "ioremap VA PA SIZE · iounmap VA · access VA cpu=N · speculate VA cpu=N · reuse [fill=WORD] · fail-next-alloc" }
                        <textarea id="pt-script" rows="7" spellcheck="false" value={(*script).clone()}
                            oninput={edit.reform(|e: InputEvent| Field::Script(textarea_value(&e)))} />
                    </label>
                    if let Some(e) = error.as_ref().filter(|e| e.field.starts_with("script")) {
                        <p class="field-error" role="alert">{ e.to_string() }</p>
                    }
                </fieldset>
                <fieldset>
                    <legend>{ "compare" }</legend>
                    { variant_select(0) }<span>{ " vs " }</span>{ variant_select(1) }
                </fieldset>
                if let Some(e) = general {
                    <p class="field-error" role="alert">{ e.to_string() }</p>
                }
            </form>
            <LabShare prefix="pt" report={report.clone()}
                fragment={link::encode_document_fragment(&Document::Pgtable((*sc).clone()))} />
            <section class="pt-stepper" id="pt-stepper" aria-label="script stepper">
                <div class="step-buttons">
                    <button class="first" aria-label="before the first step" disabled={cur == 0} onclick={go(0)}>{ "«" }</button>
                    <button class="prev" aria-label="previous step" disabled={cur == 0} onclick={go(cur.saturating_sub(1))}>{ "‹" }</button>
                    <span class="step-no" aria-live="polite">{ format!("step {cur} of {n}") }</span>
                    <button class="next" aria-label="next step" disabled={cur >= n} onclick={go(cur + 1)}>{ "›" }</button>
                    <button class="last" aria-label="after the last step" disabled={cur >= n} onclick={go(n)}>{ "»" }</button>
                    <label>{ " translate VA " }
                        <input id="pt-probe" class="short" value={(*probe_text).clone()} spellcheck="false"
                            oninput={{ let p = probe_text.clone(); Callback::from(move |e: InputEvent| p.set(input_value(&e))) }} />
                    </label>
                </div>
                <ol class="pt-script">
                    { for sc.ops.iter().enumerate().map(|(i, o)| html! {
                        <li class={classes!((i + 1 == cur).then_some("current"), (i + 1 > cur).then_some("later"))}
                            onclick={go(i + 1)}>{ o.line() }</li>
                    }) }
                </ol>
            </section>
            <main class="panes pt-panes">
                { for runs.iter().map(column) }
            </main>
            <details class="report">
                <summary>{ "plain text (72 columns)" }</summary>
                <pre id="pt-report">{ report }</pre>
            </details>
        </div>
    }
}
