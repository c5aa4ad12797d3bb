//! 6.1's default: the memmap of hot-added memory from ordinary memory.
//!
//! Without `memory_hotplug.memmap_on_memory`, mm/memory_hotplug.c
//! `add_memory_resource` passes no altmap: arch/x86/mm/init_64.c
//! `vmemmap_populate_hugepages` takes each section's 2 MiB of memmap from
//! `vmemmap_alloc_block` (mm/sparse-vmemmap.c), an order-9 page of the
//! page allocator, node-local when the node has memory in a kernel zone.
//! Onlining gives every page of the added range to the buddy allocator;
//! removal frees each section's page again (`vmemmap_free` →
//! `remove_pagetable` → `free_pagetable`), in `__remove_pages` order.
//!
//! Deviation: the model's allocator hands out order-9 blocks top-down
//! from the end of boot memory (see [`crate::machine`]).

use super::{MemmapStrategy, MemmapVariant};
use crate::section::PAGES_PER_SECTION;
use crate::vmem_altmap::VmemAltmap;

/// The memmap from ordinary memory.
#[derive(Debug, Clone, Copy, Default)]
pub struct Ordinary;

impl MemmapStrategy for Ordinary {
    fn variant(&self) -> MemmapVariant {
        MemmapVariant::Ordinary
    }

    fn altmap(&mut self, _: u64, _: u64, _: u64, _: &mut Vec<String>) -> Option<VmemAltmap> {
        None
    }

    fn online_pages(&self, _self_hosted: u64, _marked: u64) -> (u64, u64) {
        (PAGES_PER_SECTION, PAGES_PER_SECTION)
    }
}
