//! The kexec playground's page: kexec-core compiled to wasm, running
//! kexec_load's kimage loading (kernel/kexec_core.c) on a simulated i386,
//! PAE, x86_64 or ARM LPAE machine with two entry-list designs side by side
//! (upstream's pointer list, also with Joonsoo Kim's PageHighMemZone
//! patch; Biederman's 2020 position-based RFC as posted and fixed; Xen's
//! kimage; the thread's what-ifs), the model worker, the explorer, and the shared pieces the
//! labs' module (`kexec-web-labs`) builds on. Renders and edits; every
//! kernel behaviour comes from `kexec-core` (this crate never
//! re-implements one, and never links a lab).

pub mod explorer;
pub mod form;
pub mod labs;
pub mod protocol;
pub mod state;
pub mod worker;

#[cfg(target_arch = "wasm32")]
pub mod components;
#[cfg(target_arch = "wasm32")]
pub mod hooks;
#[cfg(target_arch = "wasm32")]
pub mod util;
#[cfg(target_arch = "wasm32")]
pub mod worker_client;
#[cfg(target_arch = "wasm32")]
pub mod worker_main;
