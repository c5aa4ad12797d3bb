//! The kernel's own kexec code as a design of the playground.
//!
//! A kernel build ([`build_file`]) is kernel/kexec_core.c and
//! kernel/kexec.c from a tree, with a patch or none, compiled to
//! WebAssembly against the playground's kernel-API shim (`shim/kshim.h`,
//! `shim/kshim.c`). This crate is the host side of that shim: it answers
//! the module's page allocations with the model's allocator, keeps page
//! contents in the model's store, and reads the list the C code left in
//! memory back into a run the model checks as it checks its own designs.
//! Pure Rust (the CLI runs modules with wasmi behind the `wasmi` feature;
//! the page with the browser's WebAssembly).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod build_file;
pub mod host;
pub mod run;
#[cfg(feature = "wasmi")]
pub mod wasmi_engine;
