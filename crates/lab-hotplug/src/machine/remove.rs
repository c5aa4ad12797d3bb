//! Offline and remove, as 6.1 does them, struct page by struct page.
//!
//! Mirrors mm/memory_hotplug.c `offline_and_remove_memory` (offline every
//! block, then `try_remove_memory`; on failure the blocks are onlined
//! again), `try_remove_memory` and `__remove_pages` (section by section,
//! ascending), arch/x86/mm/init_64.c `vmemmap_free` →
//! `remove_pagetable` → `free_hugepage_table` / `free_pagetable` (with an
//! altmap only mm/memremap.c `vmem_altmap_free`'s counter moves) and
//! `free_pmd_table`, and kernel/resource.c
//! `release_mem_region_adjustable`. The strategy may refuse the removal
//! and may free the vmemmap its own way (the 2018 RFC).
//!
//! Every struct page a teardown call reads is checked against the vmemmap
//! PMDs cleared so far: reading one whose PMD is gone is the page fault
//! the kernel would take, and ends the run.
//!
//! Deviations: a removal of memory that was never hot-added (or is gone)
//! is refused by the lab instead of WARNing in
//! `remove_memory_block_devices` and `__remove_section`; offlining always
//! succeeds; the `backwards` teardown order is a what-if that runs
//! `__remove_pages`' loop from the last section.

use super::{Machine, RangeRec};
use crate::run::{Backing, OpResult, TeardownStep};
use crate::scenario::{Online, Teardown};
use crate::section::{
    boot_pmd_tables, pfn_to_page, pmd_table_of_section, MEMMAP_PAGES_PER_SECTION,
    PAGES_PER_SECTION, PMD_TABLE_SPAN, SECTION_SIZE, VMEMMAP_BASE,
};
use crate::strategy::MemmapStrategy;
use kexec_common::errno::Errno;
use kexec_common::text::size_exact as size_text;
use kexec_common::units::{PAGE_SIZE, PMD_SIZE};
use std::collections::BTreeSet;
use std::ops::Range;

impl Machine {
    /// `offline_and_remove_memory(start, size)`.
    pub(crate) fn offline_and_remove_memory(
        &mut self,
        s: &mut dyn MemmapStrategy,
        request: usize,
        start: u64,
        size: u64,
    ) {
        let mut op = OpResult::new("remove", request, start, size);
        if size == 0 || (start | size) & (self.block - 1) != 0 {
            op.errno = Some(Errno::EINVAL);
            op.detail = format!(
                "offline_and_remove_memory: start and size must be non-zero multiples of the memory block size {}",
                size_text(self.block)
            );
            self.ops.push(op);
            return;
        }
        let per_block = self.block / PAGE_SIZE;
        let block_pfns: Vec<u64> = (0..size / self.block)
            .map(|b| start / PAGE_SIZE + b * per_block)
            .collect();
        if let Some(missing) = block_pfns.iter().find(|p| !self.blocks.contains_key(p)) {
            op.refused = true;
            op.detail = format!(
                "refused by the lab: no hot-added memory block at 0x{:x}; the lab removes only what was hot-added and is still present (the kernel would WARN in remove_memory_block_devices and __remove_section and return 0)",
                missing * PAGE_SIZE
            );
            self.ops.push(op);
            return;
        }
        if let Err(detail) = s.try_remove_memory(self, start, size, &block_pfns) {
            op.errno = Some(Errno::EINVAL);
            op.detail = detail;
            self.ops.push(op);
            return;
        }
        let mut notes = vec![self.offline_blocks(&block_pfns)];
        // arch_remove_memory → __remove_pages.
        let sections = start / SECTION_SIZE..(start + size) / SECTION_SIZE;
        let steps_before = self.steps.len();
        if !s.remove_pages(self, request, sections.clone()) {
            op.oops = true;
            op.detail = format!(
                "page fault in the vmemmap teardown: {}",
                self.fault.as_ref().map_or("", |f| f.why.as_str())
            );
            self.ops.push(op);
            return;
        }
        notes.push(format!(
            "{} teardown call(s)",
            self.steps.len() - steps_before
        ));
        self.remove_sections(s, sections.clone(), &block_pfns);
        notes.extend(self.unplugged_under_live_memmap(start, size));
        self.free_pmd_tables(sections, &mut notes);
        self.release_mem_region_adjustable(start, size);
        notes.extend(s.removal_note());
        op.detail = notes.join(". ");
        self.ops.push(op);
    }

    /// `memory_block_offline` / `offline_pages` for every block: what it
    /// found.
    fn offline_blocks(&self, block_pfns: &[u64]) -> String {
        let offlined = block_pfns
            .iter()
            .filter(|p| self.blocks[p].online != Online::Offline)
            .count();
        format!(
            "{} block(s) offlined, {} already offline",
            offlined,
            block_pfns.len() - offlined
        )
    }

    /// 6.1's `__remove_pages`: `vmemmap_free` per section, in
    /// `__remove_pages` order (or from the last section, backwards);
    /// false when the teardown faulted.
    pub(crate) fn remove_pages(&mut self, request: usize, sections: Range<u64>) -> bool {
        let mut order: Vec<u64> = sections.collect();
        if self.teardown == Teardown::Backwards {
            order.reverse();
        }
        order.into_iter().all(|nr| self.vmemmap_free(request, nr))
    }

    /// 6.1's `vmemmap_free` of one section: counter-only with an altmap
    /// (`free_hugepage_table` → `vmem_altmap_free`), `free_pagetable` of
    /// the order-9 page without, which reads its struct page.
    fn vmemmap_free(&mut self, request: usize, nr: u64) -> bool {
        let Some(sec) = self.secs.get(&nr) else {
            return true;
        };
        if !sec.mapped {
            return true;
        }
        let (backing, bpfn) = (sec.view.backing, sec.view.backing_pfn);
        let mut step = TeardownStep::new(request, format!("vmemmap_free(section 0x{nr:x})"));
        step.clears = Some(nr);
        match backing {
            Backing::Altmap => {
                let (before, after) = self.vmem_altmap_free(nr);
                step.note = format!(
                    "free_hugepage_table with the altmap: vmem_altmap_free, alloc {before} → {after}; no struct page read; PMD cleared"
                );
            }
            Backing::Ordinary => {
                step.reads.push(self.read(
                    pfn_to_page(bpfn),
                    "free_pagetable: PageReserved(page) of the memmap's order-9 page",
                ));
                step.note = format!(
                    "free_pagetable(order 9): pfns 0x{bpfn:x}-0x{:x} back to the buddy allocator; PMD cleared",
                    bpfn + MEMMAP_PAGES_PER_SECTION - 1
                );
                self.ordinary_free.push(bpfn);
            }
        }
        self.push_step(step)
    }

    /// `vmem_altmap_free` of one section's memmap in the altmap of the
    /// range holding section `nr`: its alloc before and after.
    fn vmem_altmap_free(&mut self, nr: u64) -> (u64, u64) {
        let pfn = nr * PAGES_PER_SECTION;
        let altmap = self
            .ranges
            .iter_mut()
            .find(|r| r.start / PAGE_SIZE <= pfn && pfn < (r.start + r.size) / PAGE_SIZE)
            .and_then(|r| r.self_hosted.as_mut());
        match altmap {
            Some(a) => {
                let before = a.alloc;
                a.free_pages(MEMMAP_PAGES_PER_SECTION);
                (before, a.alloc)
            }
            None => (0, 0),
        }
    }

    /// The sections and blocks leave; the memory goes back to the
    /// firmware. The marks go too, unless the strategy's outlive the
    /// removal while their struct pages are still mapped.
    fn remove_sections(
        &mut self,
        s: &dyn MemmapStrategy,
        sections: Range<u64>,
        block_pfns: &[u64],
    ) {
        for nr in sections.clone() {
            if let Some(sec) = self.secs.get_mut(&nr) {
                sec.view.removed = true;
            }
        }
        for p in block_pfns {
            self.blocks.remove(p);
        }
        for nr in sections {
            let lo = nr * PAGES_PER_SECTION;
            let gone = self.secs.get(&nr).is_none_or(|sec| !sec.mapped);
            if !s.marks_outlive_removal() || gone {
                self.unmark(lo, lo + PAGES_PER_SECTION);
            }
        }
    }

    /// Pages of the removed range that still back the memmap of sections
    /// that stay: unplugged under live struct pages.
    fn unplugged_under_live_memmap(&self, start: u64, size: u64) -> Option<String> {
        let (start_pfn, end_pfn) = (start / PAGE_SIZE, (start + size) / PAGE_SIZE);
        let live: Vec<u64> = self
            .secs
            .values()
            .filter(|x| {
                !x.view.removed
                    && x.view.backing == Backing::Altmap
                    && x.view.backing_pfn >= start_pfn
                    && x.view.backing_pfn < end_pfn
            })
            .map(|x| x.view.nr)
            .collect();
        let (a, b) = (live.first()?, live.last()?);
        Some(format!(
            "the removed range still backs the memmap of section(s) 0x{a:x}-0x{b:x}, which stay present: that memory is unplugged under live struct pages"
        ))
    }

    /// `free_pmd_table`: a hot-added vmemmap PMD table left with no
    /// mapping is freed.
    fn free_pmd_tables(&mut self, sections: Range<u64>, notes: &mut Vec<String>) {
        let boot_tables = boot_pmd_tables(self.boot_end);
        let tables: BTreeSet<u64> = sections
            .map(pmd_table_of_section)
            .filter(|&t| t >= boot_tables)
            .collect();
        for t in tables {
            let lo = t * PMD_TABLE_SPAN / PMD_SIZE;
            let hi = lo + PMD_TABLE_SPAN / PMD_SIZE;
            if !self.secs.range(lo..hi).any(|(_, s)| s.mapped) && self.pmd_tables.remove(&t) {
                notes.push(format!(
                    "free_pmd_table: the vmemmap PMD table for 0x{:x} is empty and freed",
                    VMEMMAP_BASE + t * PMD_TABLE_SPAN
                ));
            }
        }
    }

    /// `release_mem_region_adjustable`: shrink or drop the System RAM
    /// resources the removal covers.
    fn release_mem_region_adjustable(&mut self, start: u64, size: u64) {
        let (s, e) = (start, start + size);
        let mut kept = Vec::new();
        for r in self.ranges.drain(..) {
            let (rs, re) = (r.start, r.start + r.size);
            if e <= rs || re <= s {
                kept.push(r);
                continue;
            }
            if rs < s {
                kept.push(RangeRec {
                    start: rs,
                    size: s - rs,
                    self_hosted: r.self_hosted,
                });
            }
            if e < re {
                kept.push(RangeRec {
                    start: e,
                    size: re - e,
                    self_hosted: r.self_hosted,
                });
            }
        }
        self.ranges = kept;
    }
}
