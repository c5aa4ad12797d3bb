//! 6.1 with the top-down off-by-one fixed.
//!
//! Mirrors the later kernel/kexec_file.c, whose `locate_mem_hole_top_down`
//! starts at `end - memsz + 1` (the buffer's last byte is the range's
//! inclusive `end`); everything else as [`super::top_down`].

use super::HoleSearch;

/// The fixed top-down search.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TopDownFixed;

impl HoleSearch for TopDownFixed {
    fn top_down_start(&self, end: u64, memsz: u64) -> u64 {
        end.wrapping_sub(memsz).wrapping_add(1)
    }
}
