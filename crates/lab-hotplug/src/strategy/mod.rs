//! Memmap strategies: where the memmap (struct page array) of hot-added
//! memory comes from, and how it goes away again.
//!
//! One trait, [`MemmapStrategy`], and one implementation per file:
//!
//! * [`ordinary`]: 6.1 without `memory_hotplug.memmap_on_memory`: every
//!   section's 2 MiB of memmap is an order-9 page of ordinary memory
//!   (mm/sparse-vmemmap.c `vmemmap_alloc_block`), freed by
//!   arch/x86/mm/init_64.c `free_pagetable`;
//! * [`rfc_2018`]: Oscar Salvador's November 2018 RFC ("allocate memmap
//!   from the added memory range for sparse-vmemmap"): one altmap over the
//!   whole added range, PageVmemmap marks, a refcount in the first
//!   vmemmap page, and a teardown that defers until the refcount drops;
//! * [`memmap_on_memory`]: 6.1 booted with
//!   `memory_hotplug.memmap_on_memory=1`: one altmap per memory block when
//!   `mhp_supports_memmap_on_memory` holds, VmemmapSelfHosted pages, and a
//!   counter-only teardown (`vmem_altmap_free`).
//!
//! The machine ([`crate::machine`]) runs mm/memory_hotplug.c's add,
//! online and remove paths and asks the strategy only what differs: the
//! altmap of a range, the step after each section is populated, what a
//! block's onlining gives the buddy allocator, whether a removal is
//! refused, how the vmemmap of removed sections is freed, and what
//! survives it.

pub mod memmap_on_memory;
pub mod ordinary;
pub mod rfc_2018;

use crate::machine::Machine;
use crate::vmem_altmap::VmemAltmap;
use rfc_2018::RfcHead;
use std::ops::Range;

/// The strategies, by name: what files, links and the command line say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MemmapVariant {
    /// 6.1 without memmap_on_memory: `vmemmap_alloc_block` from the page
    /// allocator (boot memory).
    Ordinary,
    /// The November 2018 RFC: one altmap over the whole added range.
    Rfc2018,
    /// 6.1 booted with `memory_hotplug.memmap_on_memory=1`.
    MemmapOnMemory,
}

/// Every strategy.
pub const ALL_MEMMAP_VARIANTS: [MemmapVariant; 3] = [
    MemmapVariant::Ordinary,
    MemmapVariant::Rfc2018,
    MemmapVariant::MemmapOnMemory,
];

impl MemmapVariant {
    /// The name in files and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            MemmapVariant::Ordinary => "ordinary",
            MemmapVariant::Rfc2018 => "rfc-2018",
            MemmapVariant::MemmapOnMemory => "memmap-on-memory",
        }
    }

    /// One line on what it is.
    pub fn summary(self) -> &'static str {
        match self {
            MemmapVariant::Ordinary => {
                "6.1 default: memmap from ordinary memory (vmemmap_alloc_block)"
            }
            MemmapVariant::Rfc2018 => {
                "2018 RFC: memmap carved from the start of the whole added range, refcounted"
            }
            MemmapVariant::MemmapOnMemory => {
                "6.1 memory_hotplug.memmap_on_memory=1: self-hosted memmap, one block at a time"
            }
        }
    }

    /// By name.
    pub fn from_name(s: &str) -> Option<MemmapVariant> {
        ALL_MEMMAP_VARIANTS.into_iter().find(|v| v.name() == s)
    }

    /// A fresh strategy of this variant, for one run.
    pub fn build(self) -> Box<dyn MemmapStrategy> {
        match self {
            MemmapVariant::Ordinary => Box::new(ordinary::Ordinary),
            MemmapVariant::Rfc2018 => Box::new(rfc_2018::Rfc2018::default()),
            MemmapVariant::MemmapOnMemory => Box::new(memmap_on_memory::MemmapOnMemory),
        }
    }
}

/// A memmap strategy.
///
/// For each `__add_memory` range the machine asks [`MemmapStrategy::altmap`],
/// populates the vmemmap section by section (from the altmap while it
/// lasts, else from ordinary memory) calling
/// [`MemmapStrategy::sparse_add_section`] after each, then
/// [`MemmapStrategy::range_added`]; each block it onlines asks
/// [`MemmapStrategy::online_pages`] per section. A removal asks
/// [`MemmapStrategy::try_remove_memory`], then has
/// [`MemmapStrategy::remove_pages`] free the vmemmap.
pub trait MemmapStrategy {
    /// Which variant this is.
    fn variant(&self) -> MemmapVariant;

    /// `add_memory_resource` for a range of `size` bytes at `start` with
    /// memory blocks of `block` bytes: the altmap its memmap is carved
    /// from, if any, with a note on why. Starts the strategy's per-range
    /// state.
    fn altmap(
        &mut self,
        start: u64,
        size: u64,
        block: u64,
        notes: &mut Vec<String>,
    ) -> Option<VmemAltmap>;

    /// After `sparse_add_section` populated one section's memmap (from
    /// `altmap` when there is one).
    fn sparse_add_section(&mut self, _m: &mut Machine, _altmap: Option<&mut VmemAltmap>) {}

    /// After every section of a range of `nsec` sections at `start_pfn`
    /// is populated: notes on the range, and the altmap the range keeps
    /// for its teardown (6.1's self-hosted memmap), if any.
    fn range_added(
        &mut self,
        _start_pfn: u64,
        _nsec: u64,
        _altmap: Option<VmemAltmap>,
        _notes: &mut Vec<String>,
    ) -> Option<VmemAltmap> {
        None
    }

    /// Onlining one section of a block: `(buddy, present)` pages, given
    /// the block's self-hosted memmap pages in the section and the marked
    /// pages in it.
    fn online_pages(&self, self_hosted: u64, marked: u64) -> (u64, u64);

    /// After a block at `block_pfn` with `nr_vmemmap` self-hosted memmap
    /// pages is onlined (6.1's `mhp_init_memmap_on_memory`).
    fn mhp_init_memmap_on_memory(&self, _m: &mut Machine, _block_pfn: u64, _nr_vmemmap: u64) {}

    /// `try_remove_memory`'s refusals before anything is removed: the
    /// detail of the -EINVAL, if it refuses.
    fn try_remove_memory(
        &self,
        _m: &mut Machine,
        _start: u64,
        _size: u64,
        _block_pfns: &[u64],
    ) -> Result<(), String> {
        Ok(())
    }

    /// Free the vmemmap of the removed `sections` (6.1: `__remove_pages`
    /// → `vmemmap_free` per section); false when the teardown faulted.
    fn remove_pages(&mut self, m: &mut Machine, request: usize, sections: Range<u64>) -> bool {
        m.remove_pages(request, sections)
    }

    /// Whether the marks of a removed section stay while its struct pages
    /// do (the RFC never clears PageVmemmap; 6.1 clears VmemmapSelfHosted
    /// at offline, `mhp_deinit_memmap_on_memory`).
    fn marks_outlive_removal(&self) -> bool {
        false
    }

    /// What a removal leaves pending in the strategy's own state.
    fn removal_note(&self) -> Option<String> {
        None
    }

    /// The RFC's refcount heads, one per altmap.
    fn heads(&self) -> Vec<RfcHead> {
        Vec::new()
    }

    /// The page flag the run's marked pages carry.
    fn mark_name(&self) -> &'static str {
        "VmemmapSelfHosted"
    }
}
