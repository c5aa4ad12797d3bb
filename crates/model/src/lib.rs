//! The kexec playground's kernel model.
//!
//! A simulated machine (i386, i386 with PAE, x86_64: zones, the lowmem
//! line, a page allocator with deterministic policies) on which Linux's
//! kexec image loading runs as kernel/kexec_core.c does it, with the entry
//! list kept by one of several designs ([`design`]): today's pointer-based
//! list, and Eric Biederman's 2020 position-based RFC as posted and fixed.
//! The same segments and allocator give the same entry words the kernel
//! would write; what the kernel could not survive is a [`design::Fault`].
//!
//! Pure Rust: no IO, no randomness but seeded, no unsafe. The CLI
//! (`kexec-sim`) and the web playground are thin fronts over it.
//!
//! ```
//! use kexec_model::{presets, run};
//! let p = presets::find("swap-path").unwrap();
//! let runs = run::run(&p.scenario, run::RunOptions { relocate: true, ..Default::default() });
//! assert!(runs.iter().all(|r| r.exit_status() == 0));
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod arch;
pub mod crashkernel;
pub mod design;
pub mod entry;
pub mod errno;
pub mod explore;
pub mod gfp;
pub mod hotplug;
pub mod ioremap;
pub mod kimage;
pub mod link;
pub mod memblock;
pub mod memory;
pub mod memory_block;
pub mod page_alloc;
pub mod pgtable;
pub mod pgtable_lab;
pub mod placement;
pub mod placement_lab;
pub mod presets;
pub mod relocate;
pub mod report;
pub mod run;
pub mod scenario;
pub mod summary;
pub mod trace;
pub mod vmem_altmap;
