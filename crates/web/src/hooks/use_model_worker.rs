//! The model worker as the kimage view uses it: started before the page
//! first renders (`WorkerClient::prespawn`, from `main`) and taken over by
//! the first run, sent every scenario revision (debounced while typing),
//! asked for the timeline's current step, its responses turned into
//! [`Action`]s.
//! Cancelling terminates it (the model runs synchronously, nothing short
//! of that stops it); the next run spawns a fresh one.
//!
//! A big image (more than [`TRACE_AT_ONCE_PAGES`] pages per run) runs in a
//! worker on the explore module instead, started by the first big run:
//! its model is built at opt-level 3, where the page's own module is
//! built for size and runs such an image half as fast. That worker splits
//! big runs' designs with a second worker ([`crate::worker::Helper`]) and
//! serves their steps. Cancelling terminates both model workers.
//!
//! A scenario naming a kernel build runs in the kernel worker instead (the
//! kernel-build module, `kexec-web-kernel`, fetched the first time): it
//! holds the builds the user picked (the shipped one, fetched next to the
//! page; dropped files, kept here to load again into a fresh worker after
//! a cancel) and runs both panes.

use super::use_debounced;
use crate::protocol::{InFlight, Request, Response};
use crate::state::{Action, KernelSource, LoadedKernel, RunResult, State, SHIPPED_KERNEL};
use crate::worker::TRACE_AT_ONCE_PAGES;
use crate::worker_client::WorkerClient;
use kexec_core::scenario::Scenario;
use std::cell::RefCell;
use std::rc::Rc;
use yew::prelude::*;

/// The scenarios of the runs sent and not answered yet, by request id.
type Sent = Rc<RefCell<InFlight<Scenario>>>;

/// The worker, when one is running.
type Slot = Rc<RefCell<Option<WorkerClient>>>;

/// The model workers: the page module's (small runs) and the explore
/// module's (big runs, [`is_big`]).
#[derive(Clone, Default)]
struct Workers {
    page: Slot,
    big: Slot,
}

/// The kernel-build loads sent and not answered yet: the pane each is for.
type Picks = Rc<RefCell<InFlight<Option<usize>>>>;

/// The kernel worker and what it must hold: the dropped builds' texts
/// (sent again to a fresh worker), the loads in flight.
#[derive(Default)]
struct Kernel {
    worker: Option<WorkerClient>,
    files: Vec<Rc<String>>,
    picks: Picks,
}

type KernelSlot = Rc<RefCell<Kernel>>;

/// Request ids of kernel-build loads (apart from the runs').
const LOAD_IDS: u32 = 1 << 30;

/// The worker's responses as actions; a result keeps the scenario it ran.
fn responses(
    dispatch: UseReducerDispatcher<State>,
    sent: Sent,
    picks: Picks,
) -> Callback<(Response, Vec<Vec<u64>>)> {
    Callback::from(move |(resp, words): (Response, Vec<Vec<u64>>)| match resp {
        Response::Progress {
            id,
            done,
            total,
            part,
        } => dispatch.dispatch(Action::Progress {
            id,
            done,
            total,
            part,
        }),
        Response::Result { id, summaries } => {
            let Some(scenario) = sent.borrow_mut().remove(id) else {
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
        Response::Step { id, step, texts } => dispatch.dispatch(Action::StepTexts(id, step, texts)),
        Response::KernelLoaded { id, spec, info } => {
            let side = picks.borrow_mut().remove(id).flatten();
            dispatch.dispatch(Action::KernelLoaded(LoadedKernel { spec, info }, side));
        }
        Response::Error { id, message } if id >= LOAD_IDS => {
            if picks.borrow_mut().remove(id).flatten().is_some() {
                dispatch.dispatch(Action::Notice(Some(message)));
            }
        }
        Response::Error { id, message } => dispatch.dispatch(Action::Failed(id, message)),
        Response::Ready
        | Response::Explored { .. }
        | Response::Shrunk { .. }
        | Response::Checking { .. }
        | Response::Checked { .. } => {}
    })
}

/// The next load's request id.
fn load_id() -> u32 {
    thread_local! {
        static NEXT: std::cell::Cell<u32> = const { std::cell::Cell::new(LOAD_IDS) };
    }
    NEXT.with(|n| {
        n.set(n.get() + 1);
        n.get()
    })
}

/// The kernel worker, spawned (with the shipped build and every dropped
/// one loaded into it) when none runs.
fn kernel_worker<'a>(
    k: &'a mut Kernel,
    sent: &Sent,
    dispatch: &UseReducerDispatcher<State>,
) -> Option<&'a WorkerClient> {
    if k.worker.is_none() {
        let on = responses(dispatch.clone(), sent.clone(), k.picks.clone());
        match WorkerClient::spawn_kernel(on) {
            Ok(w) => {
                let id = load_id();
                k.picks.borrow_mut().insert(id, None);
                w.fetch_kernel(id, SHIPPED_KERNEL.2);
                for text in &k.files {
                    let id = load_id();
                    k.picks.borrow_mut().insert(id, None);
                    w.send(&Request::LoadKernel {
                        id,
                        text: (**text).clone(),
                    });
                }
                k.worker = Some(w);
            }
            Err(e) => dispatch.dispatch(Action::Notice(Some(e))),
        }
    }
    k.worker.as_ref()
}

/// Load a picked kernel build into the kernel worker, for pane `side`.
fn load_kernel(
    kernel: &KernelSlot,
    sent: &Sent,
    dispatch: &UseReducerDispatcher<State>,
    side: usize,
    source: &KernelSource,
) {
    let mut k = kernel.borrow_mut();
    if let KernelSource::File(text) = source {
        if !k.files.iter().any(|t| t == text) {
            k.files.push(text.clone());
        }
    }
    let picks = k.picks.clone();
    let id = load_id();
    if let Some(w) = kernel_worker(&mut k, sent, dispatch) {
        picks.borrow_mut().insert(id, Some(side));
        match source {
            KernelSource::Shipped => w.fetch_kernel(id, SHIPPED_KERNEL.2),
            KernelSource::File(text) => w.send(&Request::LoadKernel {
                id,
                text: (**text).clone(),
            }),
        }
    }
}

/// Whether `sc` runs in the worker on the explore module (its image is
/// more than [`TRACE_AT_ONCE_PAGES`] pages per run: the runs the model
/// workers do not trace at once, whose time is the model's).
pub fn is_big(sc: &Scenario) -> bool {
    sc.image_pages() > TRACE_AT_ONCE_PAGES
}

/// Send `scenario` to the worker (spawning one if none runs) as request
/// `id`: the kernel worker when the scenario names a kernel build, the
/// worker on the explore module when it [`is_big`].
fn send_run(
    workers: &Workers,
    kernel: &KernelSlot,
    sent: &Sent,
    dispatch: &UseReducerDispatcher<State>,
    id: u32,
    scenario: Scenario,
) {
    let json = scenario.to_json();
    let req = Request::Run { id, scenario: json };
    if !scenario.kernels.is_empty()
        && scenario
            .variants
            .iter()
            .any(|v| scenario.kernel(*v).is_some())
    {
        sent.borrow_mut().insert(id, scenario);
        let mut k = kernel.borrow_mut();
        if let Some(w) = kernel_worker(&mut k, sent, dispatch) {
            w.send(&req);
            dispatch.dispatch(Action::Started(id));
        }
        return;
    }
    let big = is_big(&scenario);
    let worker = if big { &workers.big } else { &workers.page };
    if worker.borrow().is_none() {
        let picks = kernel.borrow().picks.clone();
        let on = responses(dispatch.clone(), sent.clone(), picks);
        let spawned = if big {
            WorkerClient::spawn_big(on)
        } else {
            WorkerClient::spawn(on)
        };
        match spawned {
            Ok(w) => *worker.borrow_mut() = Some(w),
            Err(e) => dispatch.dispatch(Action::Notice(Some(e))),
        }
    }
    sent.borrow_mut().insert(id, scenario);
    if let Some(w) = worker.borrow().as_ref() {
        w.send(&req);
        dispatch.dispatch(Action::Started(id));
    }
}

/// Run every revision of the store's scenario and fetch the current
/// step's events; returns the cancel callback (terminate the worker).
#[hook]
pub fn use_model_worker(store: &UseReducerHandle<State>) -> Callback<()> {
    let workers = (*use_mut_ref(Workers::default)).borrow().clone();
    let kernel: KernelSlot = use_mut_ref(Kernel::default);
    let sent: Sent = use_mut_ref(InFlight::default);
    let next_id = use_mut_ref(|| 0u32);
    {
        let (kernel, sent, dispatch) = (kernel.clone(), sent.clone(), store.dispatcher());
        let pick = store.kernel_pick.clone();
        use_effect_with(pick.as_ref().map(|p| p.0), move |_| {
            if let Some((_, side, source)) = pick {
                load_kernel(&kernel, &sent, &dispatch, side, &source);
            }
        });
    }
    {
        let (workers, sent, dispatch) = (workers.clone(), sent.clone(), store.dispatcher());
        let kernel = kernel.clone();
        let scenario = store.scenario.clone();
        use_debounced(store.revision, move |_| {
            let id = {
                let mut n = next_id.borrow_mut();
                *n += 1;
                *n
            };
            send_run(&workers, &kernel, &sent, &dispatch, id, scenario);
        });
    }
    {
        let (workers, kernel) = (workers.clone(), kernel.clone());
        let result_id = store.result.as_ref().map(|r| r.id);
        let big = store.result.as_ref().is_some_and(|r| is_big(&r.scenario));
        let in_kernel = store.result.as_ref().is_some_and(|r| {
            r.scenario
                .variants
                .iter()
                .any(|v| r.scenario.kernel(*v).is_some())
        });
        use_effect_with((store.step, result_id), move |&(step, id)| {
            let Some(id) = id else { return };
            let req = Request::Step { id, step };
            if in_kernel {
                if let Some(w) = kernel.borrow().worker.as_ref() {
                    w.send(&req);
                }
            } else {
                let worker = if big { &workers.big } else { &workers.page };
                if let Some(w) = worker.borrow().as_ref() {
                    w.send(&req);
                }
            }
        });
    }
    let dispatch = store.dispatcher();
    Callback::from(move |()| {
        for slot in [&workers.page, &workers.big] {
            if let Some(w) = slot.borrow_mut().take() {
                w.terminate();
            }
        }
        if let Some(w) = kernel.borrow_mut().worker.take() {
            w.terminate();
        }
        dispatch.dispatch(Action::Cancel);
    })
}
