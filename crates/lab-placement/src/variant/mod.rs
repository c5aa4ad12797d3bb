//! Placement variants: how the hole search of `kexec_add_buffer` differs
//! from 6.1's.
//!
//! One trait, [`HoleSearch`], and one implementation per file:
//!
//! * [`top_down`]: 6.1 as `bzImage64_load` calls it (kernel/kexec_file.c
//!   `kexec_locate_mem_hole` through `kexec_walk_resources`: System RAM in
//!   ascending order, first fit, `locate_mem_hole_top_down` inside the
//!   range with its off-by-one);
//! * [`top_down_fixed`]: the same with the later upstream fix of that
//!   off-by-one;
//! * [`bottom_up`]: every buffer searched bottom-up (`top_down = false`);
//! * [`reverse_walk`]: the seed thread's proposal, System RAM walked from
//!   the top (6.1's arithmetic otherwise); not in any kernel.
//!
//! [`crate::placement`] runs the kernel's search and asks the variant only
//! what differs: where a top-down search starts, which way System RAM is
//! walked, and whether a buffer is searched top-down. [`PlaceVariant`] is
//! only the variants' names, as files, links and the command line spell
//! them.

pub mod bottom_up;
pub mod reverse_walk;
pub mod top_down;
pub mod top_down_fixed;

use crate::placement::KexecBuf;

/// The placement variants the lab compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PlaceVariant {
    /// 6.1: top_down as bzImage64_load passes it, ascending first fit, the
    /// off-by-one.
    TopDown,
    /// 6.1 with the later fix of the top-down off-by-one.
    TopDownFixed,
    /// Every buffer bottom-up.
    BottomUp,
    /// Baoquan He's proposal: walk System RAM from the top (6.1's
    /// arithmetic otherwise).
    ReverseWalk,
}

/// Every placement variant.
pub const ALL_PLACE_VARIANTS: [PlaceVariant; 4] = [
    PlaceVariant::TopDown,
    PlaceVariant::TopDownFixed,
    PlaceVariant::BottomUp,
    PlaceVariant::ReverseWalk,
];

impl PlaceVariant {
    /// The name in files and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            PlaceVariant::TopDown => "top-down",
            PlaceVariant::TopDownFixed => "top-down-fixed",
            PlaceVariant::BottomUp => "bottom-up",
            PlaceVariant::ReverseWalk => "reverse-walk",
        }
    }

    /// One line on what it is.
    pub fn summary(self) -> &'static str {
        match self {
            PlaceVariant::TopDown => {
                "6.1: top-down inside the first System RAM range that fits, with the off-by-one"
            }
            PlaceVariant::TopDownFixed => {
                "6.1 with the top-down off-by-one fixed (end - memsz + 1)"
            }
            PlaceVariant::BottomUp => "every buffer bottom-up (top_down = false)",
            PlaceVariant::ReverseWalk => {
                "System RAM walked from the top (the seed's proposal): top of all RAM first"
            }
        }
    }

    /// By name.
    pub fn from_name(s: &str) -> Option<PlaceVariant> {
        ALL_PLACE_VARIANTS.into_iter().find(|v| v.name() == s)
    }

    /// The variant's hole search.
    pub fn search(self) -> &'static dyn HoleSearch {
        match self {
            PlaceVariant::TopDown => &top_down::TopDown,
            PlaceVariant::TopDownFixed => &top_down_fixed::TopDownFixed,
            PlaceVariant::BottomUp => &bottom_up::BottomUp,
            PlaceVariant::ReverseWalk => &reverse_walk::ReverseWalk,
        }
    }
}

/// A placement variant's hole search: what [`crate::placement`]'s
/// `kexec_add_buffer` asks it.
pub trait HoleSearch {
    /// `locate_mem_hole_top_down`'s first candidate for a buffer of `memsz`
    /// bytes in a resource whose last usable byte is `end` (before
    /// aligning down). Arithmetic is `unsigned long`: it may wrap.
    fn top_down_start(&self, end: u64, memsz: u64) -> u64;

    /// Whether `kexec_locate_mem_hole` walks System RAM from the top
    /// instead of ascending.
    fn reverse_walk(&self) -> bool {
        false
    }

    /// Whether `kbuf` is searched top-down (the loader's `kbuf.top_down`).
    fn top_down(&self, kbuf: &KexecBuf) -> bool {
        kbuf.top_down
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back() {
        for v in ALL_PLACE_VARIANTS {
            assert_eq!(PlaceVariant::from_name(v.name()), Some(v));
        }
        assert_eq!(PlaceVariant::from_name("sideways"), None);
    }
}
