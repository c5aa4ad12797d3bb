//! What every crate of the kexec playground shares, and nothing that is
//! about one kernel mechanism: input errors and numbers ([`input`]),
//! reading any kind's JSON file with the field of every problem
//! ([`json`]), units
//! ([`units`]), 72-column text ([`text`]), the kernel's errnos ([`errno`]),
//! the seeded RNG ([`rng`]), the share-link codec ([`codec`]), presets
//! ([`preset`]), references to a kernel tree's lines ([`source`]) and the [`kind::Kind`] trait every scenario kind
//! implements.
//!
//! Pure Rust: no IO, no unsafe, deterministic.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod codec;
pub mod errno;
pub mod input;
pub mod json;
pub mod kind;
pub mod preset;
pub mod rng;
pub mod source;
pub mod text;
pub mod units;

pub use errno::Errno;
pub use input::{InputError, Num};
pub use kind::Kind;
pub use preset::Preset;
