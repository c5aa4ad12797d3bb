//! Every buffer bottom-up.
//!
//! `kbuf.top_down = false` for every buffer (kernel/kexec_file.c
//! `locate_mem_hole_bottom_up`, the search 6.1 uses for the ELF core
//! headers of a crash image only): each buffer goes as low as its
//! `buf_min` and the ranges allow. Not what any kernel does for a normal
//! bzImage load; the lab's what-if for keeping the image out of
//! hot-pluggable memory at the top of RAM.

use super::top_down::TopDown;
use super::HoleSearch;
use crate::placement::KexecBuf;

/// Bottom-up for every buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BottomUp;

impl HoleSearch for BottomUp {
    /// Never used (no buffer is searched top-down); 6.1's.
    fn top_down_start(&self, end: u64, memsz: u64) -> u64 {
        TopDown.top_down_start(end, memsz)
    }

    fn top_down(&self, _kbuf: &KexecBuf) -> bool {
        false
    }
}
