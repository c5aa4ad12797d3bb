//! What kexec_file_load does with the placed segments before it allocates
//! anything: the sanity check, and the error a load ends with.
//!
//! Mirrors kernel/kexec_file.c `kimage_file_alloc_init`: once the image
//! loader (`bzImage64_load`, whose `kexec_add_buffer` calls
//! [`crate::placement`] models) has returned, kernel/kexec_core.c
//! `sanity_check_segment_list` runs on `image->segment[]`. The rules are
//! the kexec core's ([`kexec_core::sanity`]), not written again here:
//! this module makes the segments, says the image type (crashk_res for a
//! kdump load) and how much RAM ([`crate::machine::Totalram`]), and names
//! the failure ([`LoadError`]) with the buffer each segment holds.
//!
//! Deviations: `bufsz` is the buffer's size as the file gives it (the
//! memsz `kexec_add_buffer` rounds up to a page), so rule 5 never fires,
//! as for bzImage64_load's buffers in the kernel. What follows the check
//! (the control code page and swap page, `machine_kexec_prepare`, loading
//! each segment) is the kimage core's, reached through
//! [`crate::to_kimage`]; the lab stops after the check.

use crate::crashkernel::Reservation;
use crate::placement::{KexecBuf, Placed};
use crate::scenario::Mode;
use kexec_common::errno::Errno;
use kexec_core::arch::Arch;
use kexec_core::kimage::{Segment, Stop};
use kexec_core::sanity::{self, ImageType, Refusal, RuleSet};
use std::fmt;

/// Why a variant's kexec_file_load fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadError {
    /// The image loader failed: `kexec_add_buffer` found no hole, or was
    /// given a 17th segment or a bad alignment. Nothing after it was
    /// placed.
    Placement(Stop),
    /// Every buffer was placed, then `sanity_check_segment_list` refused
    /// the segments.
    Sanity {
        /// The rule and the segment.
        refusal: Refusal,
        /// The buffer each segment holds, in segment order.
        names: Vec<String>,
    },
}

impl LoadError {
    /// The errno kexec_file_load returns, if it returns one.
    pub fn errno(&self) -> Option<Errno> {
        match self {
            LoadError::Placement(Stop::Errno { errno, .. }) => Some(*errno),
            LoadError::Placement(_) => None,
            LoadError::Sanity { refusal, .. } => Some(refusal.errno()),
        }
    }

    /// The sanity check's refusal, if that is what failed.
    pub fn refusal(&self) -> Option<&Refusal> {
        match self {
            LoadError::Sanity { refusal, .. } => Some(refusal),
            LoadError::Placement(_) => None,
        }
    }

    /// "segment 3 (initrd)": a segment with its buffer.
    fn label(names: &[String], i: usize) -> String {
        match names.get(i) {
            Some(n) => format!("segment {i} ({n})"),
            None => format!("segment {i}"),
        }
    }

    /// The rule and the segment in a few words ("rule 1 (wrap-around),
    /// segment 3 (x)"), or the function that failed.
    pub fn short(&self) -> String {
        match self {
            LoadError::Placement(_) => "kexec_add_buffer".into(),
            LoadError::Sanity { refusal, names } => {
                let r = refusal.rule;
                let mut s = format!(
                    "sanity_check_segment_list rule {} ({})",
                    r.number(),
                    r.name()
                );
                if let Some(i) = refusal.segment {
                    s.push_str(&format!(", {}", LoadError::label(names, i)));
                }
                s
            }
        }
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Placement(stop) => write!(f, "{stop}"),
            LoadError::Sanity { refusal, names } => {
                let r = refusal.rule;
                write!(
                    f,
                    "-{}: sanity_check_segment_list rule {} ({}) refuses the placed segments: {}",
                    refusal.errno(),
                    r.number(),
                    r.name(),
                    refusal.describe(&|i| LoadError::label(names, i))
                )
            }
        }
    }
}

/// `image->type` of a load in `mode`: crashk_res (zero when nothing was
/// reserved, as the kernel's static resource is) for kdump.
pub fn image_type(mode: Mode, crash: Option<&Reservation>) -> ImageType {
    match mode {
        Mode::Normal => ImageType::Normal,
        Mode::Kdump => match crash.and_then(|r| r.crash) {
            Some((start, end)) => ImageType::Crash {
                start,
                end: end - 1,
            },
            None => ImageType::Crash { start: 0, end: 0 },
        },
    }
}

/// `image->segment[]` after placement: each buffer where it went, its size
/// as given for bufsz.
pub fn segments(placed: &[Placed], buffers: &[KexecBuf]) -> Vec<Segment> {
    placed
        .iter()
        .zip(buffers)
        .map(|(p, b)| Segment {
            bufsz: b.memsz,
            mem: p.mem,
            memsz: p.memsz,
        })
        .collect()
}

/// sanity_check_segment_list on the placed buffers (x86_64, every rule).
pub fn check(
    placed: &[Placed],
    buffers: &[KexecBuf],
    image: ImageType,
    totalram_pages: u64,
) -> Result<(), LoadError> {
    let segs = segments(placed, buffers);
    let arch = Arch::X86_64.profile();
    sanity::sanity_check_segment_list(&segs, image, arch, totalram_pages, RuleSet::Linux).map_err(
        |refusal| LoadError::Sanity {
            refusal,
            names: placed.iter().map(|p| p.name.clone()).collect(),
        },
    )
}
