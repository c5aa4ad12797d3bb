//! The playground's wasm module (Trunk's main binary). On the page it
//! renders the app; in the model worker (`www/worker.js`) the same module is
//! loaded and `worker_main` serves the model instead (without the explorer:
//! its searches run in the explore module's workers, `src/explore_main.rs`).

#[cfg(target_arch = "wasm32")]
use wasm_bindgen::prelude::*;

fn main() {
    #[cfg(target_arch = "wasm32")]
    if let Some(doc) = web_sys::window().and_then(|w| w.document()) {
        // The model worker boots while the page first renders.
        kexec_web::worker_client::WorkerClient::prespawn();
        match doc.get_element_by_id("app") {
            Some(root) => {
                yew::Renderer::<kexec_web::components::app::App>::with_root(root).render();
            }
            None => {
                yew::Renderer::<kexec_web::components::app::App>::new().render();
            }
        }
    }
}

/// Entry point of the model worker: `spawn` (from `www/worker.js`) starts
/// its second worker, which big runs are split with; the second worker
/// itself gets none ([`kexec_web::worker::WorkerState::as_part`]).
#[cfg(target_arch = "wasm32")]
#[wasm_bindgen]
pub fn worker_main(spawn: Option<js_sys::Function>) {
    let state = kexec_web::worker::WorkerState::default();
    let state = match spawn {
        Some(_) => state,
        None => state.as_part(),
    };
    kexec_web::worker_main::serve(state, kexec_web::protocol::model_requests, spawn);
}
