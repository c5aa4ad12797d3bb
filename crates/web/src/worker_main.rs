//! The model's side of the Web Worker, in the page's own wasm module and
//! in the explore module (the Explore panel's workers and big runs').
//!
//! The worker (`www/worker.js`, a module worker) imports the page's JS glue
//! and instantiates its wasm — the module the page compiled, sent to it, so
//! the model is shipped and compiled once —
//! or the explore module's (`explore.js`, `explore_bg.wasm`: the model plus
//! the explorer, fetched when a search first starts), and calls the
//! exported `worker_main`, which lands here: requests arrive
//! as JSON text, responses go back as JSON text plus transferable entry
//! buffers.

use crate::protocol::{Request, Response};
use crate::worker::{handle, part_answered, Helper, Post, WorkerState};
use crate::worker_client::WorkerClient;
use js_sys::{Array, BigUint64Array, Object, Reflect};
use std::cell::RefCell;
use std::rc::{Rc, Weak};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent, MessagePort};

/// Responses to the page from this worker: JSON text plus the entry words
/// as transferable buffers (the kernel worker, `kexec-web-kernel`, posts
/// the same way). With `progress` (a split run's second worker), progress
/// goes to that port, which the page listens to, and the rest to the
/// worker that started this one.
pub fn poster(progress: Option<MessagePort>) -> Post {
    let poster: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    Rc::new(move |resp: Response, words: Vec<Vec<u64>>| {
        if let (Some(port), Response::Progress { .. }) = (&progress, &resp) {
            let msg = Object::new();
            let json = serde_json::to_string(&resp).unwrap_or_default();
            let _ = Reflect::set(&msg, &"json".into(), &json.into());
            let _ = port.post_message(&msg);
            return;
        }
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

/// How a worker reads a request's JSON text: [`crate::protocol::every_request`],
/// or the page's own module's [`crate::protocol::model_requests`] (runs and
/// steps).
pub type Parse = fn(&str) -> Result<Request, Response>;

/// How long after the model worker's first big result its second worker
/// is started: not while the page renders that result (booting the second
/// worker then took the render's main-thread task from about 25 to 36-57
/// ms in bench.mjs (c), over the 50 ms budget), well before a user's next
/// edit runs.
const HELPER_DELAY_MS: u32 = 500;

/// The second worker of split runs, started by the boot script's `spawn`
/// ([`crate::worker::Helper`] says when).
struct JsHelper {
    spawn: js_sys::Function,
    asked: bool,
    client: Rc<RefCell<Option<WorkerClient>>>,
    state: Weak<RefCell<WorkerState>>,
    post: Post,
}

impl Helper for JsHelper {
    fn ready(&self) -> bool {
        self.client.borrow().is_some()
    }

    fn start(&mut self) {
        if std::mem::replace(&mut self.asked, true) {
            return;
        }
        let (spawn, client) = (self.spawn.clone(), self.client.clone());
        let (state, post) = (self.state.clone(), self.post.clone());
        gloo::timers::callback::Timeout::new(HELPER_DELAY_MS, move || {
            let Ok(w) = spawn.call0(&JsValue::NULL) else {
                return;
            };
            let on = yew::Callback::from(move |(resp, words)| {
                if let Some(st) = state.upgrade() {
                    part_answered(&mut st.borrow_mut(), resp, words, &post);
                }
            });
            *client.borrow_mut() = Some(WorkerClient::listen(w.unchecked_into(), Some(on)));
        })
        .forget();
    }

    fn send(&mut self, req: &Request) {
        if let Some(c) = self.client.borrow().as_ref() {
            c.send(req);
        }
    }
}

/// Serve requests in this worker with `state`, read by `parse`, until it
/// is terminated (the page's own module's worker: no second worker, so
/// neither its code nor the split's merge is in the first load).
pub fn serve(state: WorkerState, parse: Parse) {
    listen(Rc::new(RefCell::new(state)), parse, poster(None));
}

/// [`serve`], for the explore module's workers. With `spawn` (the boot
/// script's way to start a second model worker on the same compiled
/// module, handing it the port to the page the page gave this worker;
/// only the worker big runs go to has it), big runs are split with that
/// worker ([`crate::worker::Helper`]). With `progress` (that second
/// worker), progress goes to the page through that port.
pub fn serve_split(
    state: WorkerState,
    parse: Parse,
    spawn: Option<js_sys::Function>,
    progress: Option<MessagePort>,
) {
    let post = poster(progress);
    let state = Rc::new(RefCell::new(state));
    if let Some(spawn) = spawn {
        let mut st = state.borrow_mut();
        let taken = std::mem::take(&mut *st);
        *st = taken.with_helper(Box::new(JsHelper {
            spawn,
            asked: false,
            client: Rc::default(),
            state: Rc::downgrade(&state),
            post: post.clone(),
        }));
    }
    listen(state, parse, post);
}

/// Hand every request to [`handle`] with `state`, answering through
/// `post`, and say Ready.
fn listen(state: Rc<RefCell<WorkerState>>, parse: Parse, post: Post) {
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
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
