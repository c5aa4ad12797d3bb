//! The page's end of the model worker: spawn, send, receive, terminate.
//!
//! Cancelling a run terminates the worker (the model runs synchronously, so
//! nothing short of that stops it) and spawns a fresh one.

use crate::protocol::{Request, Response};
use js_sys::{Array, BigUint64Array, Reflect};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{MessageEvent, Worker, WorkerOptions, WorkerType};
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

/// The URLs of the page's own JS glue and wasm, from the preload links
/// Trunk writes into index.html.
fn module_urls() -> Result<(String, String), String> {
    let doc = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("no document")?;
    let href = |sel: &str| -> Option<String> {
        let el = doc.query_selector(sel).ok()??;
        Some(el.unchecked_into::<web_sys::HtmlLinkElement>().href())
    };
    let js = href("link[rel=modulepreload]").ok_or("the page's module preload link is missing")?;
    let wasm =
        href("link[rel=preload][as=fetch]").ok_or("the page's wasm preload link is missing")?;
    Ok((js, wasm))
}

/// A running model worker.
pub struct WorkerClient {
    worker: Worker,
    /// Requests waiting for the worker's Ready; `None` once it came.
    queue: Rc<RefCell<Option<Vec<String>>>>,
    _onmessage: Closure<dyn FnMut(MessageEvent)>,
}

impl WorkerClient {
    /// Start a worker; every response goes to `on_response`.
    pub fn spawn(on_response: Callback<(Response, Vec<Vec<u64>>)>) -> Result<Self, String> {
        Self::spawn_at(WORKER_URL, module_urls()?, on_response)
    }

    /// Start a kernel worker (the model plus kernel builds, in the
    /// kernel-build module).
    pub fn spawn_kernel(on_response: Callback<(Response, Vec<Vec<u64>>)>) -> Result<Self, String> {
        Self::spawn_at(KERNEL_WORKER_URL, module_urls_of("kernel")?, on_response)
    }

    /// Start an explorer worker (the model plus the explorer, in the
    /// explore module, fetched when the first search starts).
    pub fn spawn_explorer(
        on_response: Callback<(Response, Vec<Vec<u64>>)>,
    ) -> Result<Self, String> {
        Self::spawn_at(WORKER_URL, module_urls_of("explore")?, on_response)
    }

    fn spawn_at(
        script: &str,
        (js, wasm): (String, String),
        on_response: Callback<(Response, Vec<Vec<u64>>)>,
    ) -> Result<Self, String> {
        let opts = WorkerOptions::new();
        opts.set_type(WorkerType::Module);
        let worker = Worker::new_with_options(script, &opts)
            .map_err(|e| format!("cannot start the model worker: {e:?}"))?;
        let queue: Rc<RefCell<Option<Vec<String>>>> = Rc::new(RefCell::new(Some(Vec::new())));
        let (q, w) = (queue.clone(), worker.clone());
        let onmessage = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
            let data = ev.data();
            let json = Reflect::get(&data, &"json".into())
                .ok()
                .and_then(|j| j.as_string())
                .unwrap_or_default();
            let Ok(resp) = serde_json::from_str::<Response>(&json) else {
                return;
            };
            if resp == Response::Ready {
                for text in q.borrow_mut().take().unwrap_or_default() {
                    let _ = w.post_message(&text.into());
                }
                return;
            }
            let words = Reflect::get(&data, &"words".into())
                .ok()
                .map(|w| w.unchecked_into::<Array>())
                .map(|arr| {
                    arr.iter()
                        .map(|b| b.unchecked_into::<BigUint64Array>().to_vec())
                        .collect()
                })
                .unwrap_or_default();
            on_response.emit((resp, words));
        });
        worker.set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
        let boot = js_sys::Object::new();
        let _ = Reflect::set(&boot, &"js".into(), &js.into());
        let _ = Reflect::set(&boot, &"wasm".into(), &wasm.into());
        worker
            .post_message(&boot)
            .map_err(|e| format!("cannot start the model worker: {e:?}"))?;
        Ok(WorkerClient {
            worker,
            queue,
            _onmessage: onmessage,
        })
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
        match self.queue.borrow_mut().as_mut() {
            Some(waiting) => waiting.push(text),
            None => {
                let _ = self.worker.post_message(&text.into());
            }
        }
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
