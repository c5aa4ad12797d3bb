//! The explore module (Trunk's worker-type binary `explore`: `explore.js`,
//! `explore_bg.wasm`): the model worker's requests plus the explorer's
//! (`crate::explorer`), for the workers the Explore panel starts
//! (`www/worker.js` loads it as it loads the page's own module). The page
//! fetches it only when a search first starts or a run's image is big
//! (more than [`kexec_web::worker::TRACE_AT_ONCE_PAGES`] pages: this
//! module's model is built at opt-level 3, twice as fast as the page's own
//! at "z"), so neither is in the first load.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen::prelude::*;

fn main() {}

/// Entry point of an explorer worker, or of the worker big runs go to:
/// with `spawn` (from `www/worker.js`, for the worker big runs go to), it
/// starts a second worker after its first big run and splits the next big
/// runs' designs with it; that second worker is booted as a `part`
/// ([`kexec_web::worker::WorkerState::as_part`]) with `progress`, its
/// port to the page for its progress.
#[cfg(target_arch = "wasm32")]
#[wasm_bindgen]
pub fn worker_main(
    spawn: Option<js_sys::Function>,
    part: bool,
    progress: Option<web_sys::MessagePort>,
) {
    let state = kexec_web::worker::WorkerState::default()
        .with_explorer()
        .with_warm_up();
    let state = if part { state.as_part() } else { state };
    kexec_web::worker_main::serve_split(state, kexec_web::protocol::every_request, spawn, progress);
}
