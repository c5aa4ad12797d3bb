//! The kexec playground: the model compiled to wasm, two entry-list designs
//! side by side. Renders and edits; every kernel behaviour comes from
//! `kexec-model` (this crate never re-implements one).

pub mod form;
pub mod protocol;
pub mod state;
pub mod worker;

#[cfg(target_arch = "wasm32")]
pub mod components;
#[cfg(target_arch = "wasm32")]
pub mod util;
#[cfg(target_arch = "wasm32")]
pub mod worker_client;
#[cfg(target_arch = "wasm32")]
pub mod worker_main;
