//! The explore module (Trunk's worker-type binary `explore`: `explore.js`,
//! `explore_bg.wasm`): the model worker's requests plus the explorer's
//! (`crate::explorer`), for the workers the Explore panel starts
//! (`www/worker.js` loads it as it loads the page's own module). The page
//! fetches it only when a search first starts, so the explorer's engine is
//! not in the first load.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen::prelude::*;

fn main() {}

/// Entry point of an explorer worker.
#[cfg(target_arch = "wasm32")]
#[wasm_bindgen]
pub fn worker_main() {
    kexec_web::worker_main::serve(
        kexec_web::worker::WorkerState::default().with_explorer(),
        kexec_web::protocol::every_request,
        None,
    );
}
