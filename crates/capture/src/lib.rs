//! kexec-capture: a real machine's kexec load turned into a kimage
//! scenario, IO-free (every reader takes the text; the CLI reads files).
//!
//! * [`trace`]: the tracefs text of `kmem:mm_page_alloc`, `mm_page_free`
//!   and `mm_page_free_batched` with stack traces, as `cat trace` and as
//!   `trace-cmd report` print it. An allocation belongs to the kimage code
//!   when `kimage_alloc_pages` is on its stack (every page kexec_core.c
//!   asks for goes through it); every other one is dropped and counted by
//!   its caller.
//! * [`raw`]: the same events from the ring buffer's own pages
//!   (`trace_pipe_raw`) with the format files and /proc/kallsyms, for
//!   captures too large to print as text in reasonable time.
//! * [`machine`]: the segments (kexec-tools `-d` output or a hand list),
//!   RAM from /proc/iomem, the lowmem line from dmesg or /proc/zoneinfo.
//! * [`import`]: all of it into a [`kexec_core::scenario::Scenario`] whose
//!   replay list is the captured order.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod import;
pub mod machine;
pub mod raw;
pub mod trace;
pub mod verify;

pub use import::{import, Capture, ImportInput};
