//! The capture import view (`?import`): a real machine's kexec load read
//! into a kimage scenario as `kexec-sim import` reads it
//! ([`kexec_capture::import`]), from files picked or dropped here: the
//! trace (`cat trace` or `trace-cmd report` output of kmem:mm_page_alloc /
//! mm_page_free with stack traces, plain or gzip), the segments
//! (`kexec -d` output or a hand list), /proc/iomem and the lowmem line
//! (dmesg or /proc/zoneinfo). Nothing is uploaded: the files are read and
//! imported in this page. The result is the import's summary (what was
//! kept, what was dropped and by which caller) and the scenario's link,
//! which opens the load in the panes, replayable under every design.
//!
//! Rendered by the labs' module, which links the importer, so the page's
//! first load does not.

use kexec_capture::import::{import, text_of, ImportInput};
use kexec_core::arch::{Arch, ALL_ARCHES};
use kexec_core::link;
use kexec_web::util;
use std::rc::Rc;
use wasm_bindgen::JsCast;
use yew::prelude::*;

/// The four files of a capture, in `kexec-sim import`'s order.
const INPUTS: [(&str, &str, &str); 4] = [
    (
        "trace",
        "trace",
        "cat trace or trace-cmd report output (kmem:mm_page_alloc, mm_page_free with stacks), plain or .gz",
    ),
    (
        "segments",
        "segments",
        "kexec -d output, or one segment per line: bufsz mem memsz",
    ),
    ("iomem", "/proc/iomem", "the machine's RAM map"),
    (
        "lowmem",
        "lowmem line",
        "dmesg (\"LOWMEM available\", the zone ranges) or /proc/zoneinfo; not needed for x86_64",
    ),
];

/// A file read: its name and text (gzip already inflated).
#[derive(Clone, PartialEq)]
struct Read {
    name: String,
    text: Rc<String>,
}

/// What the import gave.
#[derive(Clone, PartialEq)]
enum Outcome {
    /// The summary, the scenario's link and its file.
    Imported {
        summary: String,
        link: String,
        json: String,
    },
    /// Why not (the input and the line).
    Failed(String),
}

/// Read a file's bytes into text (a gzip file is inflated).
async fn read_file(file: web_sys::File) -> Result<Read, String> {
    let name = file.name();
    let buf = wasm_bindgen_futures::JsFuture::from(file.array_buffer())
        .await
        .map_err(|_| format!("{name}: the browser could not read the file"))?;
    let bytes = js_sys::Uint8Array::new(&buf).to_vec();
    let text = text_of(&bytes).map_err(|e| format!("{name}: {e}"))?;
    Ok(Read {
        name,
        text: Rc::new(text),
    })
}

fn file_input(
    i: usize,
    files: &UseStateHandle<[Option<Read>; 4]>,
    error: &UseStateHandle<Option<String>>,
) -> Html {
    let (id, label, help) = INPUTS[i];
    let onchange = {
        let files = files.clone();
        let error = error.clone();
        Callback::from(move |e: Event| {
            let Some(input) = e
                .target()
                .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
            else {
                return;
            };
            let Some(file) = input.files().and_then(|f| f.get(0)) else {
                return;
            };
            let files = files.clone();
            let error = error.clone();
            wasm_bindgen_futures::spawn_local(async move {
                match read_file(file).await {
                    Ok(r) => {
                        let mut now = (*files).clone();
                        now[i] = Some(r);
                        files.set(now);
                        error.set(None);
                    }
                    Err(e) => error.set(Some(e)),
                }
            });
        })
    };
    let have = files[i]
        .as_ref()
        .map(|r| format!("{}: {} lines", r.name, r.text.lines().count()));
    html! {
        <div class="capture-input">
            <label for={format!("capture-{id}")}>{ label }</label>
            <input type="file" id={format!("capture-{id}")} {onchange} aria-describedby={format!("capture-{id}-help")} />
            <span class="hint" id={format!("capture-{id}-help")}>{ have.unwrap_or_else(|| help.to_string()) }</span>
        </div>
    }
}

/// Import the capture: the summary and link, or the import's error.
fn run_import(files: &[Option<Read>; 4], arch: Arch, empty_ok: bool) -> Outcome {
    let text = |i: usize| files[i].as_ref().map_or("", |r| r.text.as_str());
    match import(ImportInput {
        trace: text(0),
        segments: text(1),
        iomem: text(2),
        lowmem: text(3),
        arch,
        empty_ok,
    }) {
        Ok(c) => Outcome::Imported {
            summary: c.summary(),
            link: util::playground_url(&link::encode_fragment(&c.scenario)),
            json: format!("{}\n", c.scenario.to_json_pretty()),
        },
        Err(e) => Outcome::Failed(e.to_string()),
    }
}

/// The capture import view.
#[component]
pub fn CaptureView() -> Html {
    let files = use_state(|| [None, None, None, None]);
    let arch = use_state(|| Arch::I386Pae);
    let empty_ok = use_state(|| false);
    let error = use_state(|| None::<String>);
    let outcome = use_state(|| None::<Outcome>);
    let busy = use_state(|| false);
    // The lowmem line only where the arch has highmem (not x86_64).
    let ready = files[..3].iter().all(Option::is_some)
        && (files[3].is_some() || arch.profile().lowmem_end.is_none());
    let on_arch = {
        let arch = arch.clone();
        Callback::from(move |e: Event| {
            if let Some(s) = e
                .target()
                .and_then(|t| t.dyn_into::<web_sys::HtmlSelectElement>().ok())
            {
                if let Some(a) = Arch::from_name(&s.value()) {
                    arch.set(a);
                }
            }
        })
    };
    let on_empty = {
        let empty_ok = empty_ok.clone();
        Callback::from(move |_| empty_ok.set(!*empty_ok))
    };
    let on_import = {
        let (files, arch, empty_ok, outcome, busy) = (
            files.clone(),
            arch.clone(),
            empty_ok.clone(),
            outcome.clone(),
            busy.clone(),
        );
        Callback::from(move |_| {
            busy.set(true);
            let (files, arch, empty_ok, outcome, busy) = (
                files.clone(),
                *arch,
                *empty_ok,
                outcome.clone(),
                busy.clone(),
            );
            // Let "importing…" show before the import holds the thread.
            gloo::timers::callback::Timeout::new(0, move || {
                outcome.set(Some(run_import(&files, arch, empty_ok)));
                busy.set(false);
            })
            .forget();
        })
    };
    html! {
        <section class="capture" aria-label="import a capture">
            <h2>{ "A real machine's kexec load, as a link" }</h2>
            <p>{ "Pick the four files (three for x86_64, which has no lowmem line) of a capture made as the README's \"A capture of your own machine\" says (as root: ftrace's page-allocator events with stacks for the kexec process, kexec -d, /proc/iomem, dmesg). They are read in this page; nothing is uploaded. The pages kimage_alloc_pages got become a replay list: the load, replayable under every design." }</p>
            <div class="capture-form">
                { for (0..4).map(|i| file_input(i, &files, &error)) }
                <div class="capture-input">
                    <label for="capture-arch">{ "arch" }</label>
                    <select id="capture-arch" onchange={on_arch}>
                        { for ALL_ARCHES.iter().map(|a| html! {
                            <option value={a.name()} selected={*a == *arch}>{ a.name() }</option>
                        }) }
                    </select>
                </div>
                <div class="capture-input">
                    <input type="checkbox" id="capture-empty-ok" checked={*empty_ok} onchange={on_empty} />
                    <label for="capture-empty-ok">{ "the load failed before asking for a page (sanity_check_segment_list's errno): accept a trace without kimage allocations" }</label>
                </div>
                <button type="button" id="capture-import" disabled={!ready || *busy} onclick={on_import}>
                    { if *busy { "importing…" } else { "import" } }
                </button>
            </div>
            if let Some(e) = &*error {
                <p class="notice" role="alert">{ e.clone() }</p>
            }
            { match &*outcome {
                None => html! {},
                Some(Outcome::Failed(e)) => html! {
                    <p class="notice" role="alert" id="capture-error">{ e.clone() }</p>
                },
                Some(Outcome::Imported { summary, link, json }) => {
                    let copy = {
                        let l = link.clone();
                        Callback::from(move |_| util::copy(&l))
                    };
                    let save = {
                        let j = json.clone();
                        Callback::from(move |_| util::download("capture.json", "application/json", &j))
                    };
                    html! {
                        <div class="capture-result">
                            <pre id="capture-summary" tabindex="0">{ summary.clone() }</pre>
                            <p>
                                <a id="capture-open" href={link.clone()}>{ "open the load in the panes" }</a>
                                { " · " }
                                <button type="button" onclick={copy}>{ "copy the link" }</button>
                                { " · " }
                                <button type="button" onclick={save}>{ "save the scenario" }</button>
                            </p>
                            <p class="hint">{ format!("link: {} bytes", link.len()) }</p>
                        </div>
                    }
                }
            } }
            <footer>{ "the importer: kexec-capture (also kexec-sim import) · nothing leaves this page" }</footer>
        </section>
    }
}
