//! The kernel worker on Debian's linux-source-6.1 (installed by `cargo
//! xtask` when missing): the unpatched build loads, a scenario naming it
//! runs it beside `pointer` with the same entry list, and a scenario naming
//! a build the worker does not hold says so.

use kexec_core::design::kernel_code::KernelSpec;
use kexec_core::design::Variant;
use kexec_core::presets;
use kexec_kernel_build::{build, Origin, Request as BuildRequest};
use kexec_web::protocol::{Request, Response};
use kexec_web_kernel::KernelWorker;
use std::cell::RefCell;
use std::rc::Rc;

type Out = Rc<RefCell<Vec<(Response, Vec<Vec<u64>>)>>>;

fn ask(w: &mut KernelWorker, req: &Request) -> Vec<(Response, Vec<Vec<u64>>)> {
    let out: Out = Rc::new(RefCell::new(Vec::new()));
    let o = out.clone();
    w.request(
        &serde_json::to_string(req).unwrap(),
        Rc::new(move |r, words| o.borrow_mut().push((r, words))),
    );
    let v = out.borrow().clone();
    v
}

fn linux_6_1() -> String {
    let origin =
        Origin::default_tarball().expect("Debian's linux-source-6.1 (cargo xtask installs it)");
    build(&BuildRequest {
        origin,
        patches: vec![],
        fuzzy: false,
        skip_other_files: false,
        name: Some("6.1".into()),
    })
    .expect("the unpatched 6.1 build")
    .to_json()
}

#[test]
fn runs_the_shipped_build_beside_pointer() {
    let mut w = KernelWorker::default();
    let out = ask(
        &mut w,
        &Request::LoadKernel {
            id: 1,
            text: linux_6_1(),
        },
    );
    let Response::KernelLoaded { id: 1, spec, info } = &out[0].0 else {
        panic!("{out:?}")
    };
    assert_eq!(spec.name, "6.1");
    assert!(info.contains("patches: none"), "{info}");
    assert!(info.contains("GPL-2.0"), "{info}");

    let mut sc = presets::find("swap-path").unwrap().scenario;
    let k = sc.add_kernel(spec.clone());
    sc.variants = vec![Variant::Pointer, k];
    let out = ask(
        &mut w,
        &Request::Run {
            id: 2,
            scenario: sc.to_json(),
        },
    );
    let (Response::Result { summaries, .. }, words) = out.last().unwrap() else {
        panic!("{out:?}")
    };
    assert_eq!(summaries.runs[1].variant, "kernel:6.1");
    assert_eq!(summaries.runs[0].verdict, summaries.runs[1].verdict);
    assert_eq!(words[0], words[1], "the same entry list");
    assert!(!words[0].is_empty());
    // The timeline of the kernel build's run is served too.
    let out = ask(&mut w, &Request::Step { id: 3, step: 0 });
    assert!(matches!(out[0].0, Response::Step { .. }), "{out:?}");

    // A build the worker does not hold: the pane says so, nothing else
    // runs in its place.
    let mut other = presets::find("swap-path").unwrap().scenario;
    let k = other.add_kernel(KernelSpec {
        id: "0000000000000000".into(),
        ..spec.clone()
    });
    other.variants = vec![Variant::Pointer, k];
    let out = ask(
        &mut w,
        &Request::Run {
            id: 4,
            scenario: other.to_json(),
        },
    );
    let (Response::Result { summaries, .. }, _) = out.last().unwrap() else {
        panic!("{out:?}")
    };
    assert!(
        summaries.runs[1].verdict.contains("is not loaded here"),
        "{}",
        summaries.runs[1].verdict
    );
}

#[test]
fn a_file_that_is_not_a_build_is_an_error() {
    let mut w = KernelWorker::default();
    let out = ask(
        &mut w,
        &Request::LoadKernel {
            id: 7,
            text: "{\"hello\":1}".into(),
        },
    );
    assert!(
        matches!(&out[0].0, Response::Error { id: 7, message } if message.contains("not a kernel build")),
        "{out:?}"
    );
}
