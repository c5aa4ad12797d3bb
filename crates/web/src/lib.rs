//! The kexec playground's page: the kexec core compiled to wasm, two
//! entry-list designs side by side, the model worker, the explorer, and
//! the shared pieces the labs' module (`kexec-web-labs`) builds on. Renders
//! and edits; every kernel behaviour comes from `kexec-core` (this crate
//! never re-implements one, and never links a lab).

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
