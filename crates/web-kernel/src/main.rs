//! The kernel-build module's entry points (Trunk's worker-type binary):
//! `www/kernel-worker.js` calls `kernel_worker_main` once, then
//! `kernel_request` for each message, in order.

#[cfg(target_arch = "wasm32")]
mod glue {
    use kexec_web::protocol::Response;
    use kexec_web_kernel::KernelWorker;
    use std::cell::RefCell;
    use wasm_bindgen::prelude::*;

    thread_local! {
        static WORKER: RefCell<KernelWorker> = RefCell::new(KernelWorker::default());
    }

    /// Start serving: tell the page the worker listens.
    #[wasm_bindgen]
    pub fn kernel_worker_main() {
        kexec_web::worker_main::poster(None)(Response::Ready, vec![]);
    }

    /// Serve one request (the page's JSON text).
    #[wasm_bindgen]
    pub fn kernel_request(text: String) {
        let post = kexec_web::worker_main::poster(None);
        WORKER.with(|w| w.borrow_mut().request(&text, post));
    }
}

fn main() {}
