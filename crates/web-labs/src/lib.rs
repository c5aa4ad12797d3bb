//! The labs' page module: the placement, hotplug and page-table views.
//! Built as its own wasm module, fetched by the page only when a lab is
//! first opened, so the page's first load does not carry the labs. It
//! renders and edits; every lab behaviour comes from the lab crates (this
//! crate never re-implements one).

pub mod state;

#[cfg(target_arch = "wasm32")]
pub mod components;
