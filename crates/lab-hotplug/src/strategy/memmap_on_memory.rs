//! 6.1 booted with `memory_hotplug.memmap_on_memory=1`: the memmap of a
//! memory block carved from the block itself.
//!
//! drivers/acpi/acpi_memhotplug.c `acpi_memory_enable_device` asks for
//! MHP_MEMMAP_ON_MEMORY when mm/memory_hotplug.c
//! `mhp_supports_memmap_on_memory(size)` holds (the range is exactly one
//! memory block, its memmap whole PMDs, the rest whole pageblocks); then
//! `add_memory_resource` builds an altmap over the range and
//! `vmemmap_populate_hugepages` carves the memmap from its first pages.
//! A range that fails a condition gets its memmap from ordinary memory.
//! `memory_block_online` (drivers/base/memory.c) runs
//! `mhp_init_memmap_on_memory`: the first `nr_vmemmap_pages` are marked
//! VmemmapSelfHosted and counted present, the rest is onlined.
//! `try_remove_memory` refuses a range holding self-hosted memmap that is
//! not exactly one block (-EINVAL, "wrong granularity"); removal frees
//! the carved memmap by counter only (`vmem_altmap_free`): no struct page
//! is read, so the teardown order does not matter.

use super::{MemmapStrategy, MemmapVariant};
use crate::machine::Machine;
use crate::section::{memmap_on_memory_rules, PAGES_PER_SECTION};
use crate::vmem_altmap::VmemAltmap;
use kexec_common::text::size_exact as size_text;
use kexec_common::units::PAGE_SIZE;

/// 6.1's self-hosted memmap.
#[derive(Debug, Clone, Copy, Default)]
pub struct MemmapOnMemory;

impl MemmapStrategy for MemmapOnMemory {
    fn variant(&self) -> MemmapVariant {
        MemmapVariant::MemmapOnMemory
    }

    fn altmap(
        &mut self,
        start: u64,
        size: u64,
        block: u64,
        notes: &mut Vec<String>,
    ) -> Option<VmemAltmap> {
        let rules = memmap_on_memory_rules(true, size, block);
        if rules.iter().all(|r| r.holds) {
            notes.push(format!(
                "acpi_memory_enable_device: mhp_supports_memmap_on_memory({}) holds, MHP_MEMMAP_ON_MEMORY",
                size_text(size)
            ));
            return Some(VmemAltmap::new(start / PAGE_SIZE, size / PAGE_SIZE));
        }
        let failed: Vec<String> = rules
            .iter()
            .filter(|r| !r.holds)
            .map(|r| format!("{} ({})", r.rule, r.detail))
            .collect();
        notes.push(format!(
            "not self-hosted: mhp_supports_memmap_on_memory fails: {}; the memmap comes from ordinary memory",
            failed.join("; ")
        ));
        None
    }

    fn range_added(
        &mut self,
        _start_pfn: u64,
        _nsec: u64,
        altmap: Option<VmemAltmap>,
        notes: &mut Vec<String>,
    ) -> Option<VmemAltmap> {
        let a = altmap?;
        notes.push(format!(
            "altmap alloc = {} pages: nr_vmemmap_pages of the memory block",
            a.alloc
        ));
        Some(a)
    }

    /// `mhp_init_memmap_on_memory` leaves the block's first nr_vmemmap
    /// pages out of `online_pages`; `adjust_present_page_count` counts
    /// them present all the same.
    fn online_pages(&self, self_hosted: u64, _marked: u64) -> (u64, u64) {
        (PAGES_PER_SECTION - self_hosted, PAGES_PER_SECTION)
    }

    /// The block's first nr_vmemmap pages become VmemmapSelfHosted, in the
    /// block's zone.
    fn mhp_init_memmap_on_memory(&self, m: &mut Machine, block_pfn: u64, nr_vmemmap: u64) {
        if nr_vmemmap > 0 {
            m.mark(block_pfn, block_pfn + nr_vmemmap);
        }
    }

    /// `get_nr_vmemmap_pages_cb` finds the first block with self-hosted
    /// pages; a range holding any must be exactly one memory block.
    fn try_remove_memory(
        &self,
        m: &mut Machine,
        start: u64,
        size: u64,
        block_pfns: &[u64],
    ) -> Result<(), String> {
        let nr_vmemmap = block_pfns
            .iter()
            .map(|p| m.blocks[p].nr_vmemmap)
            .find(|&n| n > 0)
            .unwrap_or(0);
        if nr_vmemmap == 0 || size == m.block {
            return Ok(());
        }
        m.log.push(format!(
            "Refuse to remove 0x{start:x} - 0x{:x},wrong granularity",
            start + size
        ));
        m.log
            .push("offline_and_remove_memory: Failed to remove memory: -22".into());
        Err(format!(
            "the blocks are offlined, then try_remove_memory finds {nr_vmemmap} self-hosted memmap pages in a range of {}, not one memory block ({}), and refuses; offline_and_remove_memory onlines the blocks again",
            size_text(size),
            size_text(m.block)
        ))
    }
}

#[cfg(test)]
mod tests {
    use crate::presets::{find_preset, preset_run};
    use crate::run::run;
    use crate::scenario::{Online, Teardown};
    use kexec_common::units::GIB;

    #[test]
    fn memmap_on_memory_is_order_independent() {
        let mut sc = find_preset("hotplug-per-block").unwrap().scenario;
        for t in [Teardown::AsPosted, Teardown::Forwards, Teardown::Backwards] {
            sc.teardown = t;
            sc.removes = vec![(4 * GIB, 10 * GIB)];
            sc.adds[0].range_size = None;
            // One 10 GiB range is not eligible; per block it is.
            let lab = run(&sc);
            assert!(lab.runs.iter().all(|r| r.fault.is_none()));
        }
        let lab = preset_run("hotplug-per-block");
        let m = &lab.runs[1];
        assert_eq!(m.counters.memmap_in_range, 40960);
        assert_eq!(m.counters.marked, 40960);
        assert_eq!(m.counters.present, 80 * 32768, "vmemmap pages are present");
        assert_eq!(m.counters.buddy, 80 * (32768 - 512));
        assert!(m.sections.iter().all(|s| s.donated == 512));
        assert!(m.teardown.iter().all(|t| t.reads.is_empty()));
        let o = &lab.runs[0];
        assert_eq!(o.counters.memmap_ordinary, 40960);
        assert_eq!(o.counters.buddy, 80 * 32768);
        assert!(m.ops.iter().all(|o| o.errno.is_none()));
    }

    #[test]
    fn two_gib_blocks() {
        let lab = preset_run("hotplug-2g-blocks");
        assert_eq!(lab.block_size, 2 * GIB);
        let m = &lab.runs[1];
        assert!(m.ops[0].detail.contains("holds"), "{}", m.ops[0].detail);
        assert_eq!(m.sections[0].donated, 8192);
        assert_eq!(m.counters.marked, 8192);
        assert_eq!(m.fault, None);
        // Boot memory of 64 GiB fills one PMD table; the add needs a second.
        assert_eq!(m.counters.pgtable_pages, 1);
        assert_eq!(
            kexec_core::memory_block::probe_memory_block_size_on(65 * GIB, true),
            GIB
        );
        assert_eq!(
            kexec_core::memory_block::probe_memory_block_size_on(65 * GIB, false),
            2 * GIB
        );
    }

    #[test]
    fn self_hosted_marks_come_with_online() {
        let mut sc = find_preset("hotplug-per-block").unwrap().scenario;
        sc.adds[0].online = Online::Offline;
        sc.removes.clear();
        let m = &run(&sc).runs[1];
        assert_eq!(
            m.counters.marked, 0,
            "mhp_init_memmap_on_memory runs at online"
        );
        assert_eq!(m.counters.memmap_in_range, 40960);
    }
}
