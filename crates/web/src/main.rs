//! The playground's wasm module (Trunk's main binary). On the page it
//! renders the app; in the model worker (`www/worker.js`) the same module is
//! loaded and `worker_main` serves the model instead (without the explorer:
//! its searches run in the explore module's workers, `src/explore_main.rs`).

#[cfg(target_arch = "wasm32")]
use wasm_bindgen::prelude::*;

fn main() {
    #[cfg(target_arch = "wasm32")]
    if let Some(doc) = web_sys::window().and_then(|w| w.document()) {
        // The model worker boots while the page first renders, unless the
        // URL's scenario is big: that runs in the explore module's worker,
        // and booting this one meanwhile would take CPU from its run.
        let first = kexec_web::hooks::use_url_sync::boot_state().scenario;
        if !kexec_web::hooks::use_model_worker::is_big(&first) {
            kexec_web::worker_client::WorkerClient::prespawn();
        }
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

/// Entry point of the model worker. Big runs do not come here (the page
/// sends them to a worker on the explore module, whose model is built for
/// speed: `hooks::use_model_worker`), so it splits none with a second
/// worker and ignores the `spawn` `www/worker.js` hands it.
#[cfg(target_arch = "wasm32")]
#[wasm_bindgen]
pub fn worker_main() {
    kexec_web::worker_main::serve(
        kexec_web::worker::WorkerState::default(),
        kexec_web::protocol::model_requests,
    );
}
