//! The model worker as the kimage view uses it: spawned for the first run,
//! sent every scenario revision (debounced while typing), asked for the
//! timeline's current step, its responses turned into [`Action`]s.
//! Cancelling terminates it (the model runs synchronously, nothing short
//! of that stops it); the next run spawns a fresh one.

use super::use_debounced;
use crate::protocol::{Request, Response};
use crate::state::{Action, RunResult, State};
use crate::worker_client::WorkerClient;
use kexec_core::scenario::Scenario;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use yew::prelude::*;

/// The scenarios of the runs sent and not answered yet, by request id.
type Sent = Rc<RefCell<HashMap<u32, Scenario>>>;

/// The worker, when one is running.
type Slot = Rc<RefCell<Option<WorkerClient>>>;

/// The worker's responses as actions; a result keeps the scenario it ran.
fn responses(
    dispatch: UseReducerDispatcher<State>,
    sent: Sent,
) -> Callback<(Response, Vec<Vec<u64>>)> {
    Callback::from(move |(resp, words): (Response, Vec<Vec<u64>>)| match resp {
        Response::Progress { id, done, total } => {
            dispatch.dispatch(Action::Progress { id, done, total })
        }
        Response::Result { id, summaries } => {
            let Some(scenario) = sent.borrow_mut().remove(&id) else {
                return;
            };
            let words = words.into_iter().map(Rc::new).collect();
            dispatch.dispatch(Action::Finished(Rc::new(RunResult {
                id,
                scenario,
                summaries,
                words,
            })));
        }
        Response::Step { step, texts, .. } => dispatch.dispatch(Action::StepTexts(step, texts)),
        Response::Error { id, message } => dispatch.dispatch(Action::Failed(id, message)),
        Response::Ready
        | Response::Explored { .. }
        | Response::Shrunk { .. }
        | Response::Checking { .. }
        | Response::Checked { .. } => {}
    })
}

/// Send `scenario` to the worker (spawning one if none runs) as request
/// `id`.
fn send_run(
    worker: &Slot,
    sent: &Sent,
    dispatch: &UseReducerDispatcher<State>,
    id: u32,
    scenario: Scenario,
) {
    if worker.borrow().is_none() {
        match WorkerClient::spawn(responses(dispatch.clone(), sent.clone())) {
            Ok(w) => *worker.borrow_mut() = Some(w),
            Err(e) => dispatch.dispatch(Action::Notice(Some(e))),
        }
    }
    let json = scenario.to_json();
    sent.borrow_mut().insert(id, scenario);
    if let Some(w) = worker.borrow().as_ref() {
        w.send(&Request::Run { id, scenario: json });
        dispatch.dispatch(Action::Started(id));
    }
}

/// Run every revision of the store's scenario and fetch the current
/// step's events; returns the cancel callback (terminate the worker).
#[hook]
pub fn use_model_worker(store: &UseReducerHandle<State>) -> Callback<()> {
    let worker: Slot = use_mut_ref(|| None);
    let sent: Sent = use_mut_ref(HashMap::new);
    let next_id = use_mut_ref(|| 0u32);
    {
        let (worker, sent, dispatch) = (worker.clone(), sent.clone(), store.dispatcher());
        let scenario = store.scenario.clone();
        use_debounced(store.revision, move |_| {
            let id = {
                let mut n = next_id.borrow_mut();
                *n += 1;
                *n
            };
            send_run(&worker, &sent, &dispatch, id, scenario);
        });
    }
    {
        let worker = worker.clone();
        let result_id = store.result.as_ref().map(|r| r.id);
        use_effect_with((store.step, result_id), move |&(step, id)| {
            if let (Some(id), Some(w)) = (id, worker.borrow().as_ref()) {
                w.send(&Request::Step { id, step });
            }
        });
    }
    let dispatch = store.dispatcher();
    Callback::from(move |()| {
        if let Some(w) = worker.borrow_mut().take() {
            w.terminate();
        }
        dispatch.dispatch(Action::Cancel);
    })
}
