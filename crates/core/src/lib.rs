//! The kexec core: Linux's kexec image loading on a simulated machine.
//!
//! A machine (i386, i386 with PAE, x86_64, ARM with LPAE: zones, the lowmem
//! line, a page allocator with deterministic policies) on which the
//! kexec_load path of kernel/kexec_core.c runs as the kernel runs it, with
//! the entry list kept by one of several designs ([`design`]): upstream's
//! pointer-based list, Eric Biederman's 2020 position-based RFC as posted
//! and fixed, Xen's kimage, and the alternatives argued in that thread. The
//! same segments and allocator give the same entry words the kernel would
//! write; what the kernel could not survive is a [`design::Fault`]. Then
//! [`relocate`] checks what `kexec -e` would do with the list, and
//! [`run`] what `kimage_free` gives back. Around the model: the scenario
//! file and its links ([`scenario`], [`link`], [`KimageKind`]), the
//! counterexample explorer ([`explore`]), reports ([`report`],
//! [`summary`]), presets ([`presets`]) and where each kernel function
//! is defined ([`source`]).
//!
//! The core knows no lab: the labs are crates of their own that may use
//! the machine defined here (zones, memory blocks). Pure Rust: no IO, no
//! randomness but seeded, no unsafe.
//!
//! Feature `small`: the hot paths' helpers that are otherwise always
//! inlined (the allocator's one-page path, entry words, the page store's
//! accessors) are left to the compiler, for the page's first-load module,
//! which is built for size; same answers.
//!
//! ```
//! use kexec_core::{presets, run};
//! let p = presets::find("swap-path").unwrap();
//! let runs = run::run(&p.scenario, run::RunOptions { relocate: true, ..Default::default() });
//! assert!(runs.iter().all(|r| r.exit_status() == 0));
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod arch;
pub mod design;
pub mod entry;
pub mod explore;
pub mod gfp;
pub mod jobs;
pub mod kimage;
pub mod link;
pub mod memory;
pub mod memory_block;
pub mod page_alloc;
pub mod presets;
pub mod relocate;
pub mod report;
pub mod run;
pub mod sanity;
pub mod scenario;
pub mod source;
pub mod sparse;
pub mod summary;
pub mod trace;

mod kind;
pub use kind::KimageKind;

pub use kexec_common::errno;
