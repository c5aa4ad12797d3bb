//! The page's end of the model worker: spawn, send, receive, terminate.
//!
//! The model worker starts before the page first renders
//! ([`WorkerClient::prespawn`], from `main`) with the page's compiled
//! module (`wasm_bindgen::module()`, structured-cloned: nothing is fetched
//! or compiled again), so it boots while the page renders; the page's
//! first run is posted to it from the render's start
//! (`hooks::use_model_worker`). The boot scripts (`www/worker.js`,
//! `www/kernel-worker.js`) keep the requests that arrive while their module
//! instantiates, so requests are posted at once, with no round trip
//! through the page's main thread for the worker's Ready.
//!
//! Cancelling a run terminates the worker (the model runs synchronously, so
//! nothing short of that stops it) and spawns a fresh one.

use crate::protocol::{Request, Response};
use js_sys::{Array, BigUint64Array, Reflect};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{MessageChannel, MessageEvent, MessagePort, Worker, WorkerOptions, WorkerType};
use yew::Callback;

/// The worker's boot script (a module worker; `www/worker.js`).
pub const WORKER_URL: &str = "./worker.js";
/// The kernel worker's boot script (`www/kernel-worker.js`): it loads the
/// kernel-build module (`kexec-web-kernel`: `kernel.js`,
/// `kernel_bg.wasm`), fetched only when a kernel build is first chosen.
pub const KERNEL_WORKER_URL: &str = "./kernel-worker.js";

/// A worker-type module's JS glue and wasm (`NAME.js`, `NAME_bg.wasm`),
/// next to the page.
fn module_urls_of(name: &str) -> Result<(String, String), String> {
    let doc = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("no document")?;
    let base = doc
        .base_uri()
        .ok()
        .flatten()
        .ok_or("the page has no base URI")?;
    let url = |name: &str| {
        web_sys::Url::new_with_base(name, &base)
            .map(|u| u.href())
            .map_err(|_| format!("cannot resolve {name}"))
    };
    Ok((
        url(&format!("{name}.js"))?,
        url(&format!("{name}_bg.wasm"))?,
    ))
}

/// The URL of the page's own JS glue, from the module preload link Trunk
/// writes into index.html (the wasm goes to the worker compiled).
fn page_js() -> Result<String, String> {
    web_sys::window()
        .and_then(|w| w.document())
        .and_then(|doc| doc.query_selector("link[rel=modulepreload]").ok()?)
        .map(|el| el.unchecked_into::<web_sys::HtmlLinkElement>().href())
        .ok_or_else(|| "the page's module preload link is missing".into())
}

/// Where a worker's responses go (none yet for the prespawned one:
/// nothing is asked of it before it is taken over, and its Ready is not
/// needed, the boot scripts keep early requests).
type OnResponse = Rc<RefCell<Option<Callback<(Response, Vec<Vec<u64>>)>>>>;

thread_local! {
    /// The model worker [`WorkerClient::prespawn`] started, until the
    /// first run takes it.
    static PRESPAWNED: RefCell<Option<WorkerClient>> = const { RefCell::new(None) };
}

/// A running model worker.
pub struct WorkerClient {
    worker: Worker,
    on_response: OnResponse,
    _onmessage: Closure<dyn FnMut(MessageEvent)>,
    /// The page's end of the channel a split run's second worker posts its
    /// progress to (listened to as the worker is).
    _port: Option<MessagePort>,
}

impl WorkerClient {
    /// Start the model worker before the page first renders (from
    /// `main`): it instantiates the page's compiled module (nothing is
    /// fetched or compiled again) while the page renders, and the first
    /// [`WorkerClient::spawn`] takes it.
    pub fn prespawn() {
        if let Ok(w) = Self::spawn_model(None) {
            PRESPAWNED.with(|p| *p.borrow_mut() = Some(w));
        }
    }

    fn spawn_model(
        on_response: Option<Callback<(Response, Vec<Vec<u64>>)>>,
    ) -> Result<Self, String> {
        Self::spawn_at(
            WORKER_URL,
            page_js()?,
            wasm_bindgen::module(),
            on_response,
            false,
        )
    }

    /// The model worker (the prespawned one, or a new one); every
    /// response goes to `on_response`.
    pub fn spawn(on_response: Callback<(Response, Vec<Vec<u64>>)>) -> Result<Self, String> {
        match PRESPAWNED.with(|p| p.borrow_mut().take()) {
            Some(w) => {
                *w.on_response.borrow_mut() = Some(on_response);
                Ok(w)
            }
            None => Self::spawn_model(Some(on_response)),
        }
    }

    /// Start the worker big runs go to (`hooks::use_model_worker`), on the
    /// explore module, with its second worker.
    pub fn spawn_big(on_response: Callback<(Response, Vec<Vec<u64>>)>) -> Result<Self, String> {
        Self::spawn_explore_module(Some(on_response), true)
    }

    /// Start a kernel worker (the model plus kernel builds, in the
    /// kernel-build module).
    pub fn spawn_kernel(on_response: Callback<(Response, Vec<Vec<u64>>)>) -> Result<Self, String> {
        let (js, wasm) = module_urls_of("kernel")?;
        Self::spawn_at(KERNEL_WORKER_URL, js, wasm.into(), Some(on_response), false)
    }

    /// Start an explorer worker (the model plus the explorer, in the
    /// explore module, fetched when the first search starts).
    pub fn spawn_explorer(
        on_response: Callback<(Response, Vec<Vec<u64>>)>,
    ) -> Result<Self, String> {
        Self::spawn_explore_module(Some(on_response), false)
    }

    /// A worker on the explore module (the model, built for speed, plus
    /// the explorer): an explorer worker, or big runs' worker (`helper`:
    /// it starts its second worker at once, `www/worker.js`).
    fn spawn_explore_module(
        on_response: Option<Callback<(Response, Vec<Vec<u64>>)>>,
        helper: bool,
    ) -> Result<Self, String> {
        let (js, wasm) = module_urls_of("explore")?;
        Self::spawn_at(WORKER_URL, js, wasm.into(), on_response, helper)
    }

    /// Start `script` with a module's JS glue and its wasm (a URL, or the
    /// compiled module), and with `helper`, the boot script's word to
    /// start a second worker (`www/worker.js`). The boot scripts keep the
    /// requests posted while their module instantiates, so requests go
    /// out at once. (Never inlined: its callers are many, the first load
    /// counts every copy.)
    #[inline(never)]
    fn spawn_at(
        script: &str,
        js: String,
        wasm: JsValue,
        on_response: Option<Callback<(Response, Vec<Vec<u64>>)>>,
        helper: bool,
    ) -> Result<Self, String> {
        let start = || -> Result<(Worker, Option<MessagePort>), JsValue> {
            let opts = WorkerOptions::new();
            opts.set_type(WorkerType::Module);
            let worker = Worker::new_with_options(script, &opts)?;
            let boot = js_sys::Object::new();
            Reflect::set(&boot, &"js".into(), &js.into())?;
            Reflect::set(&boot, &"wasm".into(), &wasm)?;
            let transfer = Array::new();
            // A worker with a second worker: the second one's progress
            // comes to the page through a channel of its own (the first
            // runs its part meanwhile and reads nothing).
            let port = if helper {
                let channel = MessageChannel::new()?;
                Reflect::set(&boot, &"port".into(), &channel.port2())?;
                transfer.push(&channel.port2());
                Some(channel.port1())
            } else {
                None
            };
            worker.post_message_with_transfer(&boot, &transfer)?;
            Ok((worker, port))
        };
        let (worker, port) =
            start().map_err(|e| format!("cannot start the model worker: {e:?}"))?;
        let mut w = Self::listen(worker, on_response);
        if let Some(p) = &port {
            p.set_onmessage(Some(w._onmessage.as_ref().unchecked_ref()));
        }
        w._port = port;
        Ok(w)
    }

    /// A worker already started, its responses (JSON text plus entry
    /// buffers) to `on_response`: also a model worker's own second worker
    /// ([`crate::worker::Helper`]).
    pub fn listen(
        worker: Worker,
        on_response: Option<Callback<(Response, Vec<Vec<u64>>)>>,
    ) -> Self {
        let on_response: OnResponse = Rc::new(RefCell::new(on_response));
        let to = on_response.clone();
        let onmessage = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
            let data = ev.data();
            let json = Reflect::get(&data, &"json".into())
                .ok()
                .and_then(|j| j.as_string())
                .unwrap_or_default();
            let Ok(resp) = serde_json::from_str::<Response>(&json) else {
                return;
            };
            // (A progress message through a port carries no words.)
            let words = Reflect::get(&data, &"words".into())
                .ok()
                .and_then(|w| w.dyn_into::<Array>().ok())
                .map(|arr| {
                    arr.iter()
                        .map(|b| b.unchecked_into::<BigUint64Array>().to_vec())
                        .collect()
                })
                .unwrap_or_default();
            let Some(cb) = to.borrow().clone() else {
                return;
            };
            cb.emit((resp, words));
        });
        worker.set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
        WorkerClient {
            worker,
            on_response,
            _onmessage: onmessage,
            _port: None,
        }
    }

    /// Send a request.
    pub fn send(&self, req: &Request) {
        let Ok(text) = serde_json::to_string(req) else {
            return;
        };
        self.send_text(text);
    }

    /// Ask the kernel worker to fetch a kernel build from `url` (the
    /// shipped one, next to the page) and load it, as request `id`.
    pub fn fetch_kernel(&self, id: u32, url: &str) {
        // serde_json's Value would cost the first load; a string's JSON
        // text is all the URL needs.
        let url = serde_json::to_string(url).unwrap_or_default();
        self.send_text(format!(
            "{{\"fetch-kernel\":{{\"id\":{id},\"url\":{url}}}}}"
        ));
    }

    fn send_text(&self, text: String) {
        let _ = self.worker.post_message(&text.into());
    }

    /// Stop the worker at once.
    pub fn terminate(&self) {
        self.worker.terminate();
    }
}

impl Drop for WorkerClient {
    fn drop(&mut self) {
        self.worker.terminate();
    }
}
