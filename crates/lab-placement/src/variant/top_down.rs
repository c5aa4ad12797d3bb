//! 6.1's placement, as `bzImage64_load` asks it.
//!
//! Mirrors kernel/kexec_file.c in 6.1: `kexec_locate_mem_hole` walks the
//! top-level System RAM resources in ascending order (x86 keeps no
//! memblock after boot, so `kexec_walk_resources`); the first resource
//! with a fit wins, and inside it `locate_mem_hole_top_down` starts at
//! `end - memsz`, where `end` is the resource's inclusive last byte: the
//! buffer's last byte is one below the range's, so an aligned buffer that
//! would end exactly at the top misses it by one alignment unit. There is
//! no underflow guard: a range at physical 0 exactly `memsz` long wraps.

use super::HoleSearch;

/// 6.1's hole search.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TopDown;

impl HoleSearch for TopDown {
    fn top_down_start(&self, end: u64, memsz: u64) -> u64 {
        end.wrapping_sub(memsz)
    }
}
