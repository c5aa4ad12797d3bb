//! The model's side of the Web Worker, in the page's own wasm module and
//! in the explore module.
//!
//! The worker (`www/worker.js`, a module worker) imports the page's JS glue
//! and instantiates its wasm — the module the page compiled, sent to it, so
//! the model is shipped and compiled once —
//! or the explore module's (`explore.js`, `explore_bg.wasm`: the model plus
//! the explorer, fetched when a search first starts), and calls the
//! exported `worker_main`, which lands here: requests arrive
//! as JSON text, responses go back as JSON text plus transferable entry
//! buffers.

use crate::protocol::{ModelOnly, Request, Response};
use crate::worker::{handle, Post, WorkerState};
use js_sys::{Array, BigUint64Array, Object, Reflect};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

/// Responses to the page from this worker: JSON text plus the entry words
/// as transferable buffers (the kernel worker, `kexec-web-kernel`, posts
/// the same way).
pub fn poster() -> Post {
    let poster: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    Rc::new(move |resp: Response, words: Vec<Vec<u64>>| {
        let msg = Object::new();
        let json = serde_json::to_string(&resp).unwrap_or_default();
        let _ = Reflect::set(&msg, &"json".into(), &json.into());
        let bufs = Array::new();
        let transfer = Array::new();
        for w in &words {
            let arr = BigUint64Array::from(&w[..]);
            transfer.push(&arr.buffer());
            bufs.push(&arr);
        }
        let _ = Reflect::set(&msg, &"words".into(), &bufs);
        let _ = poster.post_message_with_transfer(&msg, &transfer);
    })
}

/// How a worker reads a request's JSON text: [`every_request`], or the
/// page's own module's [`crate::protocol::model_request`] (runs and steps).
pub type Parse = fn(&str) -> Result<Request, Response>;

/// Every kind of request, with [`Request`]'s own parser (the explore
/// module's worker).
pub fn every_request(text: &str) -> Result<Request, Response> {
    serde_json::from_str::<Request>(text).map_err(|e| Response::Error {
        id: 0,
        message: format!("bad request: {e}"),
    })
}

/// Runs and steps: the page's own module's model worker, whose module
/// carries neither the explorer nor kernel builds (another kind is
/// answered with an error naming the worker that serves it).
pub fn model_requests(text: &str) -> Result<Request, Response> {
    crate::protocol::model_request(text).map_err(|e| match e {
        ModelOnly::Bad(why) => Response::Error {
            id: 0,
            message: format!("bad request: {why}"),
        },
        ModelOnly::Other { id, kind } => Response::Error {
            id,
            message: format!(
                "the model worker serves runs and steps, not {kind} (the explore module's and the kernel worker do)"
            ),
        },
    })
}

/// Serve requests in this worker with `state`, read by `parse`, until it
/// is terminated.
pub fn serve(state: WorkerState, parse: Parse) {
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let state = Rc::new(RefCell::new(state));
    let post = poster();
    let ready = post.clone();
    let onmessage = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
        let Some(text) = ev.data().as_string() else {
            return;
        };
        match parse(&text) {
            Ok(req) => handle(&mut state.borrow_mut(), req, post.clone()),
            Err(resp) => post(resp, vec![]),
        }
    });
    scope.set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
    onmessage.forget();
    ready(Response::Ready, vec![]);
}
