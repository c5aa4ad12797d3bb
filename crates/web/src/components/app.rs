//! The page: lays the components out and wires the hooks that own its
//! effects (`crate::hooks`): the URL (boot, fragment, hashchange, the view
//! switch), the model worker, the keyboard, the theme, the embed's height
//! and the labs' module.

use super::embed::EmbedView;
use super::explore::ExplorePanel;
use super::help::Help;
use super::memory_map::MemoryMap;
use super::pane::Pane;
use super::progress::Progress;
use super::scenario_bar::ScenarioBar;
use super::share_bar::ShareBar;
use super::tabs::Tabs;
use super::timeline::Timeline;
use super::{first_difference, Words};
use crate::hooks::use_share::ShareTargets;
use crate::hooks::use_url_sync::{boot_state, is_embed};
use crate::hooks::*;
use crate::labs::View;
use crate::state::{Action, RunResult, State, Status};
use crate::util;
use kexec_core::memory::Machine;
use kexec_core::{presets, run};
use std::rc::Rc;
use yew::prelude::*;

/// The line under the title in the kimage view.
pub const TAGLINE: &str = "kexec_load's kimage loading (kernel/kexec_core.c) on a simulated i386, PAE, x86_64 or ARM LPAE machine, two entry lists side by side from the same segments and the same allocator stream: upstream's pointer list (also with Joonsoo Kim's PageHighMemZone patch), Biederman's 2020 position-based RFC as posted and fixed, Xen's kimage, and the thread's what-ifs";

/// The line under the title while a lab is shown but not yet named.
const LAB_TAGLINE: &str = "a lab of the kexec playground: the same simulated machines, another mechanism from the seed threads";

/// Both lists, when there are two to compare (a run that loaded nothing has
/// no list to compare against).
fn comparable(r: &RunResult) -> Option<(&[u64], &[u64])> {
    match &r.words[..] {
        [a, b] if !a.is_empty() && !b.is_empty() => Some((a, b)),
        _ => None,
    }
}

fn header(tagline: &'static str) -> Html {
    html! {
        <header class="top">
            <h1>{ "kexec playground" }</h1>
            <p class="tagline">{ tagline }</p>
            <a class="findings-link" id="findings-link" href="?findings">{ "findings" }</a>
            <a class="findings-link" id="import-link" href="?import">{ "import a capture" }</a>
        </header>
    }
}

/// The phone layout's part in the results: whether the page is narrow,
/// and which pane's list it shows (0 left, 1 right; both verdicts always
/// show, the other list is a tap on the switch away).
struct Phone {
    narrow: bool,
    shown: usize,
    on_show: Callback<usize>,
}

/// The switch between the panes' lists on a phone (hidden by the
/// stylesheet on wider screens, where both lists show).
fn pane_switch(runs: &[Rc<kexec_core::summary::RunSummary>], phone: &Phone) -> Html {
    if runs.len() < 2 {
        return html! {};
    }
    html! {
        <div class="pane-switch" role="group" aria-label="entry list shown">
            { for runs.iter().enumerate().map(|(i, s)| html! {
                <button type="button" aria-pressed={(phone.shown == i).to_string()}
                    onclick={phone.on_show.reform(move |_| i)}>
                    { format!("{} list", s.variant) }
                </button>
            }) }
        </div>
    }
}

/// The scenario in one line, the summary the scenario bar folds into on a
/// phone: the preset (or "edited"), the machine, the segments, the two
/// designs.
fn scenario_summary(state: &State) -> String {
    let sc = &state.scenario;
    let ram: u64 = sc.ram.iter().map(|(a, b)| b.saturating_sub(*a)).sum();
    let designs: Vec<String> = sc
        .variants
        .iter()
        .map(|&v| {
            sc.kernel(v)
                .map_or_else(|| v.name().to_string(), |k| k.name.clone())
        })
        .collect();
    let n = sc.segments.len();
    format!(
        "scenario: {} · {}, {} RAM · {n} segment{} · {}",
        state.preset.as_deref().unwrap_or("edited"),
        sc.arch.name(),
        kexec_common::text::size(ram),
        if n == 1 { "" } else { "s" },
        designs.join(" vs "),
    )
}

/// The panes, and once they have painted (`show_map`), the memory map and
/// the timeline.
fn results(
    state: &State,
    machine: Option<&Rc<Machine>>,
    jump: Option<(u32, usize)>,
    (map, show_map): (&NodeRef, bool),
    phone: &Phone,
    act: &Callback<Action>,
) -> Html {
    let result = state.result.as_ref();
    let runs: Vec<Rc<kexec_core::summary::RunSummary>> = result
        .iter()
        .flat_map(|r| r.summaries.runs.iter().cloned().map(Rc::new))
        .collect();
    let stale = result.is_some_and(|r| r.scenario != state.scenario);
    let running = matches!(state.status, Status::Running { .. });
    html! {
        <>
        <main class={classes!("panes", stale.then_some("stale"), if phone.shown == 0 { "show-left" } else { "show-right" })}
            aria-busy={running.to_string()}>
            if let (Some(r), Some(m)) = (result, machine) {
                { pane_switch(&runs, phone) }
                { for runs.iter().enumerate().map(|(i, s)| {
                    let words = Words(r.words.get(i).cloned().unwrap_or_default());
                    let other = comparable(r).map(|_| Words(r.words[1 - i.min(1)].clone()));
                    let kernel = r
                        .scenario
                        .variants
                        .get(i)
                        .and_then(|&v| state.kernel_of(&r.scenario, v));
                    html! {
                        <Pane side={i} summary={s.clone()} {words} {other} machine={m.clone()}
                            fold={state.fold} {jump} {kernel} />
                    }
                }) }
            } else {
                <p class="loading">{ "running the model…" }</p>
            }
        </main>
        if !runs.is_empty() && show_map {
            <section class="map" aria-label="memory map">
                <h2>{ "memory map" }</h2>
                <MemoryMap runs={runs.clone()} node={map.clone()} narrow={phone.narrow} />
            </section>
            <Timeline step={state.step} steps={state.steps()}
                variants={runs.iter().map(|s| s.variant.clone()).collect::<Vec<_>>()}
                texts={state.step_texts.as_ref().filter(|(k, _)| *k == state.step).map(|(_, t)| t.clone())}
                dispatch={act.clone()} />
        }
        </>
    }
}

/// Images of more pages than this take a kernel build a long time (its
/// list walks are quadratic in the pages); the page says so.
const SLOW_KERNEL_PAGES: u64 = 16_384;

/// The image's pages when the scenario runs a kernel build on an image
/// that large.
fn slow_kernel_pages(sc: &kexec_core::scenario::Scenario) -> Option<u64> {
    let pages = sc.image_pages();
    let kernel = sc.variants.iter().any(|&v| sc.kernel(v).is_some());
    (kernel && pages > SLOW_KERNEL_PAGES).then_some(pages)
}

/// The page.
#[component]
pub fn App() -> Html {
    let embed = *use_memo((), |_| is_embed());
    let narrow = use_narrow();
    let shown = use_state_eq(|| 0usize);
    let store = use_reducer(boot_state);
    let url = use_url_sync(&store, embed);
    use_labs_view(url.view != View::Kimage);
    use_embed_height(embed);
    let on_cancel = use_model_worker(&store);
    let on_theme = use_theme();
    let jump = use_jump();
    let map = use_node_ref();
    let result = store.result.clone();
    let difference = result
        .as_deref()
        .and_then(comparable)
        .map(|(a, b)| first_difference(a, b));
    let on_first_difference = {
        let (jump, i) = (jump.clone(), difference.flatten());
        Callback::from(move |()| i.into_iter().for_each(|i| jump.to(i)))
    };
    use_keyboard(store.dispatcher(), on_first_difference.clone());
    let share = use_share(
        &store,
        ShareTargets {
            fragment: url.fragment.clone(),
            map: map.clone(),
            on_first_difference,
            on_theme,
        },
    );
    // The memory map of a new result renders one task after the panes, so
    // a 1 GiB result does not become one long main-thread task.
    let map_for = use_deferred(result.as_ref().map(|r| r.id));
    let machine = use_memo(result.as_ref().map(|r| r.id), {
        let sc = result.as_ref().map(|r| r.scenario.clone());
        move |_| sc.as_ref().map(run::machine).map(Rc::new)
    });
    let kernel_error = result
        .as_ref()
        .filter(|r| r.scenario == store.scenario)
        .and_then(|r| {
            let s = r.summaries.runs.first()?;
            Some((s.bad_segment?, s.verdict.clone()))
        });
    // On a phone the scenario starts as its one-line summary, and opens
    // into the editor when something in it needs fixing (or the page
    // gets wide); it never closes by itself under the reader's fingers.
    let editor_open = use_state_eq(|| !narrow);
    {
        let wants = !narrow || store.input_error.is_some() || kernel_error.is_some();
        let editor_open = editor_open.clone();
        use_effect_with(wants, move |&wants| {
            if wants {
                editor_open.set(true);
            }
        });
    }
    let tabs = html! { <Tabs view={url.view} on_kimage={url.to_kimage.clone()} /> };
    if let View::Lab(tab) = url.view {
        return html! {
            <>
            { header(tab.map_or(LAB_TAGLINE, |t| t.tagline)) }
            { tabs }
            if let Some(n) = &store.notice {
                <p class="notice" role="alert" id="notice">{ n }</p>
            }
            </>
        };
    }
    if embed {
        let open_url = util::playground_url(&url.fragment);
        return html! { <EmbedView state={Rc::new((*store).clone())} {open_url} /> };
    }
    let act: Callback<Action> = store.dispatcher().into();
    let on_preset = {
        let dispatch = store.dispatcher();
        Callback::from(move |name: String| {
            // "(edited)" is no preset: picking it changes nothing.
            if let Some(p) = presets::find(&name) {
                dispatch.dispatch(Action::Load {
                    scenario: p.scenario,
                    preset: Some(name),
                });
            }
        })
    };
    let show_map = map_for == result.as_ref().map(|r| r.id);
    let phone = Phone {
        narrow,
        shown: *shown,
        on_show: Callback::from(move |i| shown.set(i)),
    };
    html! {
        <>
        { header(TAGLINE) }
        { tabs }
        if let Some(n) = &store.notice {
            <p class="notice" role="alert" id="notice">
                { n }
                <button class="icon" aria-label="dismiss" onclick={act.reform(|_| Action::Notice(None))}>{ "×" }</button>
            </p>
        }
        <details class="scenario" open={*editor_open}>
            <summary>{ scenario_summary(&store) }</summary>
            <ScenarioBar form={store.form.clone()} input_error={store.input_error.clone()} {kernel_error}
                preset={store.preset.clone()} on_edit={act.reform(Action::Edit)} {on_preset}
                on_kernel={act.reform(|(side, source)| Action::PickKernel(side, source))} />
        </details>
        if let Some(pages) = slow_kernel_pages(&store.scenario) {
            <p class="notice kernel-slow" role="note">
                { format!("A kernel build runs this {pages}-page image with the kernel's own list walks (kimage_dst_used and friends walk the whole list for every page: quadratic), in an interpreter: it takes minutes. The page stays usable; Cancel stops the run.") }
            </p>
        }
        if let Status::Running { done, total, .. } = store.status {
            <Progress {done} {total} {on_cancel} />
        }
        if let Status::Failed(m) = &store.status {
            <p class="notice" role="alert">{ m }</p>
        }
        <ExplorePanel base={store.scenario.clone()}
            on_found={act.reform(|scenario| Action::Load { scenario, preset: None })} />
        <ShareBar {difference} fold={store.fold} feedback={share.feedback} on_action={share.on_action} />
        { results(&store, machine.as_ref().as_ref(), jump.target(), (&map, show_map), &phone, &act) }
        if store.help {
            <Help on_close={act.reform(|_| Action::Help(false))} />
        }
        <footer>
            <a href="./embed.html">{ "embedding in documentation" }</a>
            { " · the model: kexec-core (also the kexec-sim CLI) · nothing leaves this page" }
        </footer>
        </>
    }
}
