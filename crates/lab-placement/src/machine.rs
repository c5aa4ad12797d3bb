//! The machine a placement scenario describes, as the running kernel sees
//! it when kexec_file_load is called.
//!
//! * System RAM resources (kernel/resource.c, arch/x86/kernel/e820.c
//!   `e820__reserve_resources`): adjacent boot RAM ranges merged, as e820
//!   merges entries of one type; driver-managed RAM (dax/kmem,
//!   virtio-mem, added after boot through `add_memory_driver_managed`) a
//!   resource of its own.
//! * memblock (mm/memblock.c) as `setup_arch` leaves it before
//!   `reserve_crashkernel`: boot RAM with its node and MEMBLOCK_HOTPLUG
//!   flag, the file's reservations ([`crate::memblock`]).
//! * Zones as mm/page_alloc.c `find_zone_movable_pfns_for_nodes` computes
//!   them under `movable_node`: ZONE_MOVABLE of a node starts at its
//!   lowest hot-pluggable address, rounded up to MAX_ORDER_NR_PAGES
//!   (4 MiB), and runs to the node's end; below it ZONE_DMA (16 MiB),
//!   ZONE_DMA32 (4 GiB) and ZONE_NORMAL. Driver-managed RAM is taken as
//!   onlined to ZONE_MOVABLE (the lab does not model `online_kernel`).
//! * The memory block size of drivers/base/memory.c: arch/x86/mm/init_64.c
//!   `probe_memory_block_size` on bare metal, or the file's override.
//! * `totalram_pages()` (include/linux/mm.h), what
//!   `sanity_check_segment_list` halves ([`Totalram`]): the pages
//!   mm/memblock.c `memblock_free_all` gives the buddy allocator (boot
//!   System RAM less memblock's reservations: the file's, crashk_res and
//!   crashk_low_res), less the struct page array mm/sparse.c `sparse_init`
//!   takes from memblock (x86_64 vmemmap: 2 MiB per present 128 MiB
//!   section), plus driver-managed RAM as `online_pages` adds it. Model
//!   choice: the running kernel's other boot allocations (page tables,
//!   per-cpu areas, swiotlb, firmware tables, the kernel image unless the
//!   file reserves it) and what it frees later (init sections, the initrd)
//!   are unknown to the lab and counted as RAM, so the kernel's count is
//!   lower than the lab's, rarely higher.

use crate::memblock::{Memblock, Region};
use crate::placement::SystemRam;
use crate::scenario::PlacementScenario;
use kexec_common::units::{GIB, MIB, PAGE_SIZE};
use kexec_core::gfp::Zone;
use kexec_core::memory_block;
use std::collections::BTreeSet;

/// MAX_ORDER_NR_PAGES on x86_64, in bytes.
const MAX_ORDER_BYTES: u64 = 1024 * PAGE_SIZE;
/// Nodes a scenario may use (the file's check refuses node 64 and up).
const MAX_NODES: usize = 64;
/// A memory section on x86_64 (SECTION_SIZE_BITS 27).
const SECTION_SIZE: u64 = 128 * MIB;
/// The memmap of one section in pages: PAGES_PER_SECTION struct pages of
/// 64 bytes, 2 MiB (section_map_size, PMD-aligned).
const MEMMAP_PAGES_PER_SECTION: u64 = 2 * MIB / PAGE_SIZE;

/// totalram_pages() of the running kernel when kexec_file_load is called,
/// as the lab counts it (see the module's doc for what it cannot know).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Totalram {
    /// Pages of boot System RAM (memblock.memory).
    pub ram: u64,
    /// Of those, pages memblock_free_all never frees: inside or touching
    /// a memblock reservation (the file's, crashk_res, crashk_low_res).
    pub reserved: u64,
    /// The struct pages of boot memory, taken from memblock by sparse_init.
    pub memmap: u64,
    /// Driver-managed RAM, onlined after boot.
    pub hotplugged: u64,
}

impl Totalram {
    /// totalram_pages().
    pub fn pages(&self) -> u64 {
        (self.ram - self.reserved).saturating_sub(self.memmap) + self.hotplugged
    }

    /// One sentence: the count and where it comes from.
    pub fn text(&self) -> String {
        format!(
            "totalram_pages() {}: {} pages of boot System RAM, less {} memblock keeps reserved and {} of memmap (2 MiB per 128 MiB section), plus {} driver-managed; the lab does not know the running kernel's other boot allocations, so the kernel's count is likely lower",
            self.pages(),
            self.ram,
            self.reserved,
            self.memmap,
            self.hotplugged
        )
    }
}

impl PlacementScenario {
    /// The System RAM resources kexec_file walks: adjacent boot RAM merged
    /// as e820 merges same-type entries; driver-managed RAM on its own.
    pub fn resources(&self) -> Vec<SystemRam> {
        let mut out: Vec<SystemRam> = Vec::new();
        for r in &self.ram {
            match out.last_mut() {
                Some(l) if !r.driver_managed && !l.driver_managed && l.end + 1 == r.start => {
                    l.end = r.end - 1
                }
                _ => out.push(SystemRam {
                    start: r.start,
                    end: r.end - 1,
                    driver_managed: r.driver_managed,
                }),
            }
        }
        out
    }

    /// memblock as setup_arch leaves it before reserve_crashkernel.
    pub fn memblock(&self) -> Memblock {
        let mut mb = Memblock {
            memory: self
                .ram
                .iter()
                .filter(|r| !r.driver_managed)
                .map(|r| Region {
                    base: r.start,
                    size: r.end - r.start,
                    nid: r.node,
                    hotplug: r.hotpluggable,
                })
                .collect(),
            reserved: Vec::new(),
            movable_node: self.movable_node,
        };
        for r in &self.reserved {
            mb.reserve(r.start, r.end - r.start);
        }
        mb
    }

    /// zone_movable_pfn per node (as an address): under movable_node, the
    /// node's lowest hot-pluggable boot RAM rounded up to
    /// MAX_ORDER_NR_PAGES, if that is below the node's end.
    fn zone_movable_starts(&self) -> Vec<Option<u64>> {
        let mut movable_start: Vec<Option<u64>> = vec![None; MAX_NODES];
        if !self.movable_node {
            return movable_start;
        }
        for r in self
            .ram
            .iter()
            .filter(|r| r.hotpluggable && !r.driver_managed)
        {
            let m = &mut movable_start[r.node as usize];
            *m = Some(m.map_or(r.start, |x| x.min(r.start)));
        }
        for (nid, m) in movable_start.iter_mut().enumerate() {
            let node_end = self
                .ram
                .iter()
                .filter(|r| r.node as usize == nid && !r.driver_managed)
                .map(|r| r.end)
                .max()
                .unwrap_or(0);
            *m = m
                .map(|x| x.div_ceil(MAX_ORDER_BYTES) * MAX_ORDER_BYTES)
                .filter(|&x| x < node_end);
        }
        movable_start
    }

    /// totalram_pages() with memblock `mb` as `reserve_crashkernel` left it.
    pub fn totalram(&self, mb: &Memblock) -> Totalram {
        let ram = mb.memory.iter().map(|r| r.size / PAGE_SIZE).sum::<u64>();
        let sections: BTreeSet<u64> = mb
            .memory
            .iter()
            .flat_map(|r| r.base / SECTION_SIZE..=(r.end() - 1) / SECTION_SIZE)
            .collect();
        Totalram {
            ram,
            reserved: ram - mb.free_all_pages(),
            memmap: sections.len() as u64 * MEMMAP_PAGES_PER_SECTION,
            hotplugged: self
                .ram
                .iter()
                .filter(|r| r.driver_managed)
                .map(|r| (r.end - r.start) / PAGE_SIZE)
                .sum(),
        }
    }

    /// Zone spans `[start, end)` of the RAM.
    pub fn zones(&self) -> Vec<(u64, u64, Zone)> {
        let movable_start = self.zone_movable_starts();
        let mut out: Vec<(u64, u64, Zone)> = Vec::new();
        for r in &self.ram {
            let mv = if r.driver_managed {
                Some(0)
            } else {
                movable_start[r.node as usize]
            };
            let mut cuts = vec![r.start, r.end, 16 * MIB, 4 * GIB];
            if let Some(m) = mv {
                cuts.push(m);
            }
            cuts.retain(|&c| c >= r.start && c <= r.end);
            cuts.sort_unstable();
            cuts.dedup();
            for w in cuts.windows(2) {
                let (s, e) = (w[0], w[1]);
                let z = if mv.is_some_and(|m| s >= m) {
                    Zone::Movable
                } else if s < 16 * MIB {
                    Zone::Dma
                } else if s < 4 * GIB {
                    Zone::Dma32
                } else {
                    Zone::Normal
                };
                match out.last_mut() {
                    Some(l) if l.1 == s && l.2 == z => l.1 = e,
                    _ => out.push((s, e, z)),
                }
            }
        }
        out
    }

    /// The memory block size: the override or probe_memory_block_size.
    pub fn block_size(&self) -> u64 {
        self.memory_block_size.unwrap_or_else(|| {
            let boot_end = self
                .ram
                .iter()
                .filter(|r| !r.driver_managed)
                .map(|r| r.end)
                .max()
                .unwrap_or(0);
            memory_block::probe_memory_block_size(boot_end)
        })
    }
}
