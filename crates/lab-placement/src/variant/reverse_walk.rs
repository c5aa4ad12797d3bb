//! System RAM walked from the top: Baoquan He's proposal in the seed
//! thread.
//!
//! `kexec_locate_mem_hole` walks the System RAM resources from the highest
//! down (as `walk_system_ram_res_rev` would), so a top-down buffer goes to
//! the top of all RAM rather than to the top of the first range that fits.
//! The search inside a range keeps 6.1's arithmetic, off-by-one included
//! ([`super::top_down`]). Not in any kernel the lab models.

use super::top_down::TopDown;
use super::HoleSearch;

/// The reverse walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReverseWalk;

impl HoleSearch for ReverseWalk {
    fn top_down_start(&self, end: u64, memsz: u64) -> u64 {
        TopDown.top_down_start(end, memsz)
    }

    fn reverse_walk(&self) -> bool {
        true
    }
}
