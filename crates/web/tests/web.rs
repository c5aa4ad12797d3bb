//! Browser tests of the components and the worker protocol, in headless
//! Chromium (`cargo xtask test` runs them through wasm-bindgen-test-runner).
#![cfg(target_arch = "wasm32")]

use kexec_core::presets;
use kexec_core::run::machine;
use kexec_core::summary::{entry_words, summarize};
use kexec_web::components::entry_list::{EntryList, EntryListProps, ROW_H, VIEW_H};
use kexec_web::components::memory_map::{MemoryMap, MemoryMapProps};
use kexec_web::components::pane::{Pane, PaneProps};
use kexec_web::components::segments_table::{SegmentsTable, SegmentsTableProps};
use kexec_web::components::Words;
use kexec_web::form::Form;
use kexec_web::protocol::{Request, Response};
use kexec_web::worker::{handle, WorkerState};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen_test::*;
use web_sys::Element;
use yew::{Callback, NodeRef};

wasm_bindgen_test_configure!(run_in_browser);

fn root() -> Element {
    let doc = web_sys::window().unwrap().document().unwrap();
    let div = doc.create_element("div").unwrap();
    doc.body().unwrap().append_child(&div).unwrap();
    div
}

fn run_preset(
    name: &str,
) -> (
    Vec<kexec_core::summary::RunSummary>,
    Vec<Vec<u64>>,
    kexec_core::scenario::Scenario,
) {
    let sc = presets::find(name).unwrap().scenario;
    let opts = kexec_core::run::RunOptions {
        relocate: true,
        unload: false,
        trace: true,
        first_step: false,
    };
    let runs = kexec_core::run::run(&sc, opts);
    (
        runs.iter().map(summarize).collect(),
        runs.iter().map(entry_words).collect(),
        sc,
    )
}

#[wasm_bindgen_test]
fn the_model_runs_in_wasm_through_the_worker_protocol() {
    let mut st = WorkerState::default();
    let out = Rc::new(RefCell::new(Vec::new()));
    let o = out.clone();
    let scenario = presets::find("swap-path").unwrap().scenario.to_json();
    handle(
        &mut st,
        Request::Run { id: 9, scenario },
        Rc::new(move |r, w| o.borrow_mut().push((r, w))),
    );
    let out = out.borrow();
    let (Response::Result { id, summaries }, words) = &out[0] else {
        panic!("{:?}", out[0].0)
    };
    assert_eq!(*id, 9);
    // The same words as natively (tests/golden.rs derives them by hand).
    assert_eq!(
        words[0],
        vec![0x0200_2002, 0x0100_0001, 0x0100_0008, 0x0200_3008, 4]
    );
    assert!(summaries.runs.iter().all(|r| r.status == 0));
}

#[wasm_bindgen_test]
async fn entry_list_is_virtualized_and_marks_differences() {
    let (sums, words, sc) = run_preset("highmem-retry");
    let div = root();
    let props = EntryListProps {
        words: Words(Rc::new(words[0].clone())),
        other: Some(Words(Rc::new(words[1].clone()))),
        pages: Rc::new(sums[0].pages.clone()),
        machine: Rc::new(machine(&sc)),
        digits: 8,
        fold: false,
        jump: None,
        label: "test".into(),
    };
    yew::Renderer::<EntryList>::with_root_and_props(div.clone(), props).render();
    yew::scheduler::flush().await;
    let rows = div.query_selector_all(".row").unwrap().length() as i32;
    // 1,027 words + 2 page headers, but only a screenful (plus margin) in the DOM.
    assert!(
        rows > 0 && rows <= VIEW_H / ROW_H + 30,
        "{rows} rows rendered"
    );
    let head = div.query_selector(".row[data-index='0']").unwrap().unwrap();
    assert!(head.text_content().unwrap().contains("IND  0x02002000"));
    // The rows are inserted as one text: each entry row is still a div
    // of four spans (index, slot, word, what), parsed as HTML elements.
    let entries = div.query_selector_all(".row[data-index]").unwrap().length();
    let spans = div
        .query_selector_all(".row[data-index] > span.idx + span.slot + span.word + span.what")
        .unwrap()
        .length();
    assert!(
        entries > 0 && spans == entries,
        "{spans} of {entries} rows have their four spans"
    );
    let word = div
        .query_selector(".row[data-index='0'] > span.word")
        .unwrap()
        .unwrap();
    assert_eq!(word.text_content().unwrap(), "0x02002002");
    assert!(
        div.query_selector(".row.diff").unwrap().is_none(),
        "the first screen is identical"
    );
}

#[wasm_bindgen_test]
async fn jumping_shows_the_first_difference() {
    let (sums, words, sc) = run_preset("highmem-retry");
    let div = root();
    let props = EntryListProps {
        words: Words(Rc::new(words[1].clone())),
        other: Some(Words(Rc::new(words[0].clone()))),
        pages: Rc::new(sums[1].pages.clone()),
        machine: Rc::new(machine(&sc)),
        digits: 8,
        fold: false,
        jump: Some((1, 1024)),
        label: "test".into(),
    };
    yew::Renderer::<EntryList>::with_root_and_props(div.clone(), props).render();
    yew::scheduler::flush().await;
    yew::scheduler::flush().await;
    let row = div
        .query_selector(".row.diff[data-index='1024']")
        .unwrap()
        .expect("row 1024 rendered after the jump");
    assert!(row.text_content().unwrap().contains("0x40000002"));
    assert!(row.text_content().unwrap().contains("HighMem"));
}

#[wasm_bindgen_test]
async fn pane_shows_the_fault() {
    let (sums, words, sc) = run_preset("rfc-i386-pae");
    let div = root();
    let props = PaneProps {
        side: 1,
        summary: Rc::new(sums[1].clone()),
        words: Words(Rc::new(words[1].clone())),
        other: None,
        machine: Rc::new(machine(&sc)),
        fold: true,
        jump: None,
        kernel: None,
    };
    yew::Renderer::<Pane>::with_root_and_props(div.clone(), props).render();
    yew::scheduler::flush().await;
    let v = div
        .query_selector(".verdict.fault")
        .unwrap()
        .expect("a fault verdict");
    assert!(v
        .text_content()
        .unwrap()
        .contains("KIMAGE_ENTRY_POS_INVALID"));
    assert_eq!(
        div.query_selector("h2.variant")
            .unwrap()
            .unwrap()
            .text_content()
            .unwrap(),
        "rfc-posted"
    );
    assert!(div.query_selector(".entry-list").unwrap().is_none());
}

#[wasm_bindgen_test]
async fn memory_map_has_a_strip_per_run_and_the_lowmem_line() {
    let (sums, _, _) = run_preset("highmem-retry");
    let runs: Vec<Rc<_>> = sums.into_iter().map(Rc::new).collect();
    // Wide, and drawn for a phone's width (names above the strips).
    for (narrow, width) in [(false, "1000.0"), (true, "360.0")] {
        let div = root();
        let props = MemoryMapProps {
            runs: runs.clone(),
            node: NodeRef::default(),
            narrow,
        };
        yew::Renderer::<MemoryMap>::with_root_and_props(div.clone(), props).render();
        yew::scheduler::flush().await;
        let svg = div.query_selector("svg.memory-map").unwrap().unwrap();
        let view_box = svg.get_attribute("viewBox").unwrap();
        assert_eq!(view_box.split(' ').nth(2), Some(width), "{view_box}");
        assert_eq!(div.query_selector_all("g.strip").unwrap().length(), 2);
        assert!(div.query_selector("g.lowmem-line").unwrap().is_some());
        assert!(div
            .query_selector("rect[data-role='indirection']")
            .unwrap()
            .is_some());
        let title = div
            .query_selector("rect[data-role='indirection'] title")
            .unwrap()
            .unwrap();
        assert!(
            title.text_content().unwrap().contains("indirection"),
            "hover names the role"
        );
    }
}

#[wasm_bindgen_test]
async fn segments_table_shows_errors_on_their_row() {
    let form = Form::from_scenario(&presets::find("bad-overlap").unwrap().scenario);
    let edits = Rc::new(RefCell::new(Vec::new()));
    let e = edits.clone();
    let div = root();
    let props = SegmentsTableProps {
        segments: form.segments.clone(),
        input_error: None,
        kernel_error: Some((
            1,
            "kexec_load returns -EINVAL: segment 1 overlaps segment 0".into(),
        )),
        on_edit: Callback::from(move |x| e.borrow_mut().push(x)),
    };
    yew::Renderer::<SegmentsTable>::with_root_and_props(div.clone(), props).render();
    yew::scheduler::flush().await;
    let err = div.query_selector(".row-error").unwrap().unwrap();
    assert!(err.text_content().unwrap().contains("-EINVAL"));
    assert!(div.query_selector("tr.rejected").unwrap().is_some());
    let add: web_sys::HtmlElement = div
        .query_selector("tfoot button")
        .unwrap()
        .unwrap()
        .dyn_into()
        .unwrap();
    add.click();
    assert_eq!(edits.borrow().len(), 1);
}

use wasm_bindgen::JsCast;

#[yew::component]
fn JumpProbe() -> yew::Html {
    let jump = kexec_web::hooks::use_jump();
    let onclick = {
        let jump = jump.clone();
        Callback::from(move |_| jump.to(7))
    };
    yew::html! { <button {onclick}>{ format!("{:?}", jump.target()) }</button> }
}

#[wasm_bindgen_test]
async fn jumping_to_the_same_entry_again_is_a_new_jump() {
    let div = root();
    yew::Renderer::<JumpProbe>::with_root(div.clone()).render();
    yew::scheduler::flush().await;
    let button: web_sys::HtmlElement = div
        .query_selector("button")
        .unwrap()
        .unwrap()
        .dyn_into()
        .unwrap();
    assert_eq!(button.text_content().unwrap(), "None");
    button.click();
    yew::scheduler::flush().await;
    assert_eq!(button.text_content().unwrap(), "Some((1, 7))");
    // The lists scroll again when the token changes (`d` pressed twice,
    // the list scrolled away in between).
    button.click();
    yew::scheduler::flush().await;
    assert_eq!(button.text_content().unwrap(), "Some((2, 7))");
}
