//! memblock, the boot-time allocator, as far as the crashkernel reservation
//! needs it.
//!
//! Mirrors mm/memblock.c in 6.1: `memblock_find_in_range_node` (never below
//! PAGE_SIZE; top-down, the direction x86 is in again once `numa_init` has
//! parsed SRAT), `__memblock_find_range_top_down` over the free ranges
//! (memory minus reserved) in reverse, `should_skip_region` (with
//! `movable_node`, regions flagged MEMBLOCK_HOTPLUG are skipped), and
//! `memblock_phys_alloc_range` (find, then reserve; 0 means failure).
//! Node-specific requests and mirrored memory are not modelled: every
//! caller here passes NUMA_NO_NODE and no machine has mirrored memory.

use kexec_common::units::PAGE_SIZE;

/// A `memblock.memory` region: `[base, base + size)` on one node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    /// First byte.
    pub base: u64,
    /// Bytes.
    pub size: u64,
    /// The node SRAT puts it on.
    pub nid: u32,
    /// MEMBLOCK_HOTPLUG: SRAT marks it hot-pluggable.
    pub hotplug: bool,
}

impl Region {
    /// One past the last byte.
    pub fn end(&self) -> u64 {
        self.base + self.size
    }
}

/// memblock: memory, reserved, and the movable_node switch.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Memblock {
    /// memblock.memory, sorted.
    pub memory: Vec<Region>,
    /// memblock.reserved as `[start, end)`, sorted and merged.
    pub reserved: Vec<(u64, u64)>,
    /// `movable_node` on the command line.
    pub movable_node: bool,
}

impl Memblock {
    /// memblock_reserve: add `[base, base + size)` to reserved.
    pub fn reserve(&mut self, base: u64, size: u64) {
        self.reserved.push((base, base.saturating_add(size)));
        self.reserved.sort_unstable();
        let mut merged: Vec<(u64, u64)> = Vec::with_capacity(self.reserved.len());
        for &(s, e) in &self.reserved {
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        self.reserved = merged;
    }

    /// memblock_phys_free: drop `[base, base + size)` from reserved.
    pub fn phys_free(&mut self, base: u64, size: u64) {
        let end = base.saturating_add(size);
        let mut out = Vec::with_capacity(self.reserved.len() + 1);
        for &(s, e) in &self.reserved {
            if e <= base || s >= end {
                out.push((s, e));
                continue;
            }
            if s < base {
                out.push((s, base));
            }
            if e > end {
                out.push((end, e));
            }
        }
        self.reserved = out;
    }

    /// memblock_phys_mem_size: bytes of memory.
    pub fn phys_mem_size(&self) -> u64 {
        self.memory.iter().map(|r| r.size).sum()
    }

    /// The free ranges (memory minus reserved) of the regions
    /// `should_skip_region` lets through, highest first
    /// (for_each_free_mem_range_reverse).
    pub fn free_ranges_reverse(&self) -> Vec<(u64, u64)> {
        self.free_ranges_rev(self.movable_node)
    }

    /// The pages memblock_free_all gives the buddy allocator
    /// (free_low_memory_core_early: `memblock_clear_hotplug` first, so no
    /// region is skipped, then each free range's whole pages, PFN_UP of
    /// its start to PFN_DOWN of its end).
    pub fn free_all_pages(&self) -> u64 {
        self.free_ranges_rev(false)
            .iter()
            .map(|&(s, e)| (e / PAGE_SIZE).saturating_sub(s.div_ceil(PAGE_SIZE)))
            .sum()
    }

    /// The free ranges, highest first, skipping MEMBLOCK_HOTPLUG regions
    /// if `skip_hotplug`.
    fn free_ranges_rev(&self, skip_hotplug: bool) -> Vec<(u64, u64)> {
        let mut out = Vec::new();
        for r in self.memory.iter().rev() {
            if skip_hotplug && r.hotplug {
                continue;
            }
            // Subtract reserved from [r.base, r.end()), walking down.
            let mut hi = r.end();
            for &(s, e) in self.reserved.iter().rev() {
                if s >= hi || e <= r.base {
                    continue;
                }
                if e < hi {
                    out.push((e, hi));
                }
                hi = s.max(r.base);
                if hi <= r.base {
                    break;
                }
            }
            if hi > r.base {
                out.push((r.base, hi));
            }
        }
        out
    }

    /// memblock_find_in_range_node, top-down, NUMA_NO_NODE: the highest
    /// `align`-aligned `[cand, cand + size)` inside one free range and inside
    /// `[start, end)`; 0 when there is none.
    pub fn find_in_range(&self, size: u64, align: u64, start: u64, end: u64) -> u64 {
        let start = start.max(PAGE_SIZE);
        let end = end.max(start);
        for (s, e) in self.free_ranges_reverse() {
            let this_start = s.clamp(start, end);
            let this_end = e.clamp(start, end);
            if this_end < size {
                continue;
            }
            let cand = (this_end - size) & !(align - 1);
            if cand >= this_start {
                return cand;
            }
        }
        0
    }

    /// memblock_phys_alloc_range: find and reserve; 0 on failure.
    pub fn phys_alloc_range(&mut self, size: u64, align: u64, start: u64, end: u64) -> u64 {
        let found = self.find_in_range(size, align, start, end);
        if found != 0 {
            self.reserve(found, size);
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use kexec_common::units::GIB;
    use kexec_common::units::MIB;

    fn mb(movable_node: bool) -> Memblock {
        Memblock {
            memory: vec![
                Region {
                    base: 0x1000,
                    size: 0x9_e000,
                    nid: 0,
                    hotplug: false,
                },
                Region {
                    base: MIB,
                    size: 3 * GIB - MIB,
                    nid: 0,
                    hotplug: false,
                },
                Region {
                    base: 4 * GIB,
                    size: 4 * GIB,
                    nid: 1,
                    hotplug: true,
                },
            ],
            reserved: vec![(0, MIB), (16 * MIB, 80 * MIB)],
            movable_node,
        }
    }

    #[test]
    fn top_down_takes_the_highest_aligned_free_slot() {
        let m = mb(false);
        assert_eq!(
            m.find_in_range(256 * MIB, 16 * MIB, 16 * MIB, 4 * GIB),
            3 * GIB - 256 * MIB
        );
        assert_eq!(
            m.find_in_range(256 * MIB, 16 * MIB, 16 * MIB, 1 << 46),
            8 * GIB - 256 * MIB
        );
        // Exclusive ends: no off-by-one (unlike kexec_file's top-down).
        assert_eq!(
            m.find_in_range(16 * MIB, 16 * MIB, 0, 3 * GIB),
            3 * GIB - 16 * MIB
        );
    }

    #[test]
    fn movable_node_skips_hotplug_regions() {
        let m = mb(true);
        assert_eq!(
            m.find_in_range(256 * MIB, 16 * MIB, 16 * MIB, 1 << 46),
            3 * GIB - 256 * MIB
        );
    }

    #[test]
    fn reserved_memory_is_not_free_and_failure_is_zero() {
        let mut m = mb(false);
        // Only [80 MiB, 3 GiB) and node 1 are free above 16 MiB.
        assert_eq!(m.find_in_range(64 * MIB, MIB, 16 * MIB, 80 * MIB), 0);
        assert_eq!(
            m.phys_alloc_range(64 * MIB, MIB, 80 * MIB, 144 * MIB),
            80 * MIB
        );
        assert_eq!(
            m.phys_alloc_range(64 * MIB, MIB, 80 * MIB, 144 * MIB),
            0,
            "now taken"
        );
        m.phys_free(80 * MIB, 64 * MIB);
        assert_eq!(m.reserved, vec![(0, MIB), (16 * MIB, 80 * MIB)]);
        // The first MiB is reserved (as x86 setup_arch does).
        assert_eq!(m.find_in_range(0x1000, 0x1000, 0, 0x2000), 0);
    }

    #[test]
    fn free_all_counts_whole_free_pages_hotplug_included() {
        let mut m = mb(true);
        let all = (15 * MIB + 3 * GIB - 80 * MIB + 4 * GIB) / PAGE_SIZE;
        assert_eq!(
            m.free_all_pages(),
            all,
            "movable_node does not hide node 1 here"
        );
        // A reservation that is not page aligned takes its partial pages.
        m.reserve(100 * MIB + 0x800, 0x1000);
        assert_eq!(m.free_all_pages(), all - 2);
    }
}
