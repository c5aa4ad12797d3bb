//! The page's kernel-build module: the model worker's requests served with
//! kernel builds as designs.
//!
//! Built by Trunk as a third wasm module (`kernel.js`, `kernel_bg.wasm`),
//! run only in the kernel worker (`www/kernel-worker.js`) that the page
//! starts the first time a scenario names a kernel build, so neither the
//! kernel builds' interpreter (wasmi) nor this crate is in the page's
//! first load. It answers the same [`Request`]s as the model worker
//! (`kexec_web::worker::handle`, which runs the Rust designs), plus
//! [`Request::LoadKernel`]: a kernel-build file (`kexec-sim kernel build`'s
//! output, `kexec_kernel::build_file`) kept in the worker and run through
//! the core's `KernelRunner` (`kexec_kernel::wasmi_engine`) whenever a
//! scenario names it. Nothing here re-implements a model or a kernel
//! behaviour.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use kexec_core::design::Variant;
use kexec_core::run::{KernelRunner, RunOptions, VariantRun};
use kexec_core::scenario::Scenario;
use kexec_kernel::build_file::KernelBuild;
use kexec_kernel::wasmi_engine::WasmiKernels;
use kexec_web::protocol::{Request, Response};
use kexec_web::worker::{handle, Post, WorkerState};
use std::cell::RefCell;
use std::rc::Rc;

/// The kernel builds this worker holds, shared by the worker's state (its
/// runner) and the request that loads another.
#[derive(Clone, Default)]
pub struct Builds(Rc<RefCell<Loaded>>);

#[derive(Default)]
struct Loaded {
    builds: Vec<KernelBuild>,
    runner: Option<WasmiKernels>,
}

impl Builds {
    /// Add a build (a build with the same id replaces the one held).
    pub fn add(&self, b: KernelBuild) {
        let mut l = self.0.borrow_mut();
        l.builds.retain(|x| x.meta.id != b.meta.id);
        l.builds.push(b);
        l.runner = None;
    }
}

impl KernelRunner for Builds {
    fn run(
        &self,
        sc: &Scenario,
        v: Variant,
        opts: RunOptions,
        prefix: &[u64],
    ) -> Option<VariantRun> {
        let mut l = self.0.borrow_mut();
        let builds = l.builds.clone();
        l.runner
            .get_or_insert_with(|| WasmiKernels::new(builds))
            .run(sc, v, opts, prefix)
    }
}

/// The kernel worker: the model worker's state with a kernel runner.
pub struct KernelWorker {
    state: WorkerState,
    builds: Builds,
}

impl Default for KernelWorker {
    fn default() -> Self {
        let builds = Builds::default();
        KernelWorker {
            state: WorkerState::with_kernels(Box::new(builds.clone())).with_explorer(),
            builds,
        }
    }
}

impl KernelWorker {
    /// Serve one request (JSON text, as the page posts it).
    pub fn request(&mut self, text: &str, post: Post) {
        let req = match kexec_web::protocol::every_request(text) {
            Ok(r) => r,
            Err(resp) => return post(resp, vec![]),
        };
        match req {
            Request::LoadKernel { id, text } => match KernelBuild::from_json(&text) {
                Ok(b) => {
                    let spec = b.meta.spec();
                    let info = b.meta.info_text();
                    self.builds.add(b);
                    post(Response::KernelLoaded { id, spec, info }, vec![]);
                }
                Err(e) => post(
                    Response::Error {
                        id,
                        message: format!("not a kernel build this page can run: {e}"),
                    },
                    vec![],
                ),
            },
            other => handle(&mut self.state, other, post),
        }
    }
}
