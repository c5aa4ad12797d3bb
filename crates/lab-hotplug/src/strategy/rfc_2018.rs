//! Oscar Salvador's November 2018 RFC, "allocate memmap from the added
//! memory range for sparse-vmemmap", as posted against 4.20.
//!
//! `add_memory_resource` sets MHP_MEMMAP_FROM_RANGE and builds one altmap
//! over the whole added range. After each section, `sparse_add_one_section`
//! calls the altmap's `flush_alloc_pfns`, the RFC's `mark_vmemmap_pages`:
//! the pages just carved become PageVmemmap, the altmap's base moves past
//! them, and the first vmemmap page of the range (found from the carved
//! page's PMD less `nr_sects` PMDs) counts one more section. Onlining
//! (`online_pages_range`) skips PageVmemmap pages, so a section that holds
//! nothing but memmap is not onlined at all.
//!
//! Removal runs `__kfree_section_memmap` per section, ascending: it tests
//! PageVmemmap on the section's first struct page, remembers the first
//! such page as `current_vmemmap_page` and drops its refcount
//! (`vmemmap_dec_and_test`); only when the count reaches zero does
//! `free_vmemmap_range` free the deferred sections' vmemmap, from the last
//! section down. `free_pagetable` tests PageVmemmap on the page backing
//! each chunk, a struct page that may live in a section whose vmemmap is
//! already gone: freed in any other order (the `forwards` teardown) the
//! read is a page fault.
//!
//! Deviations, where the RFC leaves things unsaid: the memmap is zeroed
//! before `mark_vmemmap_pages` (with DEBUG_VM, `page_init_poison` makes
//! the first refcount wrap to 0 and the head lookup of later sections land
//! 2 MiB low), the altmap's `reserve` is 0 (its `__add_pages` leaves that
//! field uninitialised), and the runs are narrated with 6.1's removal path
//! (`offline_and_remove_memory`); in the RFC's 4.20 tree `remove_memory`
//! BUG()s on an online block instead.

use super::{MemmapStrategy, MemmapVariant};
use crate::machine::Machine;
use crate::run::TeardownStep;
use crate::scenario::Teardown;
use crate::section::{pfn_to_page, section_of_va, MEMMAP_PAGES_PER_SECTION, PAGES_PER_SECTION};
use crate::vmem_altmap::VmemAltmap;
use kexec_common::units::{PAGE_SIZE, PMD_SIZE};
use std::collections::BTreeMap;
use std::ops::Range;

/// The RFC's bookkeeping for one altmap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RfcHead {
    /// The struct page holding the refcount.
    pub head_va: u64,
    /// Its refcount after the adds.
    pub refcount: u64,
    /// nr_sects after the adds.
    pub nr_sects: u64,
    /// Sections using the altmap.
    pub sections: u64,
    /// The donated pfns `[first, last]`.
    pub donated: (u64, u64),
}

/// The RFC's strategy and its state.
#[derive(Debug, Clone, Default)]
pub struct Rfc2018 {
    /// Struct page refcounts the RFC keeps (VA → count); other marked
    /// pages have count 1 (init_page_count).
    refs: BTreeMap<u64, u64>,
    /// One head per range added.
    heads: Vec<RfcHead>,
    /// The global `current_vmemmap_page`.
    current: Option<u64>,
    /// The altmap's `nr_sects` in the range being added.
    nr_sects: u64,
    /// The head of the range being added.
    head_va: Option<u64>,
}

impl Rfc2018 {
    /// `__kfree_section_memmap` of section `nr`; false when it faulted.
    fn kfree_section_memmap(&mut self, m: &mut Machine, request: usize, nr: u64) -> bool {
        if !m.secs.contains_key(&nr) {
            return true;
        }
        let memmap = pfn_to_page(nr * PAGES_PER_SECTION);
        let mut step =
            TeardownStep::new(request, format!("__kfree_section_memmap(section 0x{nr:x})"));
        let r = m.read(memmap, "__kfree_section_memmap: PageVmemmap(memmap)");
        let ok = r.mapped;
        step.reads.push(r);
        if !ok {
            return m.push_step(step);
        }
        let vm = m.is_marked(nr * PAGES_PER_SECTION);
        if vm && self.current.is_none() {
            self.current = Some(memmap);
        }
        let Some(cur) = self.current else {
            step.note = "not PageVmemmap and nothing deferred: vmemmap_free now".into();
            return m.push_step(step) && self.free_chunk(m, request, nr);
        };
        let r = m.read(
            cur,
            "vmemmap_dec_and_test: page_ref_dec_and_test(current_vmemmap_page)",
        );
        let ok = r.mapped;
        step.reads.push(r);
        if !ok {
            return m.push_step(step);
        }
        let count = self.refs.entry(cur).or_insert(1);
        *count = count.saturating_sub(1);
        let left = *count;
        if left > 0 {
            step.note = format!("refcount at 0x{cur:x} now {left}: vmemmap_free deferred");
            return m.push_step(step);
        }
        self.refs.remove(&cur);
        self.current = None;
        let limit = section_of_va(cur);
        step.note = if m.teardown == Teardown::Forwards {
            format!(
                "refcount at 0x{cur:x} reaches 0: free_vmemmap_range, turned round, frees sections 0x{limit:x} up to 0x{nr:x}"
            )
        } else {
            format!(
                "refcount at 0x{cur:x} reaches 0: free_vmemmap_range(0x{cur:x}, section 0x{nr:x}) frees sections 0x{nr:x} down to 0x{limit:x}"
            )
        };
        m.push_step(step) && self.free_vmemmap_range(m, request, limit, nr)
    }

    /// `free_vmemmap_range`: the deferred sections `limit..=nr`, from the
    /// last down (or turned round, forwards).
    fn free_vmemmap_range(&self, m: &mut Machine, request: usize, limit: u64, nr: u64) -> bool {
        let mut range: Vec<u64> = (limit..=nr).rev().collect();
        if m.teardown == Teardown::Forwards {
            range.reverse();
        }
        range.into_iter().all(|j| self.free_chunk(m, request, j))
    }

    /// `vmemmap_free(chunk, NULL)` → `free_pagetable`, which tests
    /// PageVmemmap on the page backing the chunk.
    fn free_chunk(&self, m: &mut Machine, request: usize, nr: u64) -> bool {
        let Some(s) = m.secs.get(&nr) else {
            return true;
        };
        let mut step = TeardownStep::new(request, format!("vmemmap_free(section 0x{nr:x})"));
        if !s.mapped {
            step.note = "pmd_none: already unmapped, nothing to do".into();
            return m.push_step(step);
        }
        let bpfn = s.view.backing_pfn;
        let r = m.read(
            pfn_to_page(bpfn),
            "free_pagetable: PageVmemmap(page) of the page backing this memmap",
        );
        let ok = r.mapped;
        step.reads.push(r);
        if !ok {
            return m.push_step(step);
        }
        if m.is_marked(bpfn) {
            step.note = format!(
                "pfn 0x{bpfn:x} is PageVmemmap: not freed (it lies in the added range); PMD cleared"
            );
        } else {
            step.note = format!("free_pages(pfn 0x{bpfn:x}, order 9); PMD cleared");
            m.ordinary_free.push(bpfn);
        }
        step.clears = Some(nr);
        m.push_step(step)
    }
}

impl MemmapStrategy for Rfc2018 {
    fn variant(&self) -> MemmapVariant {
        MemmapVariant::Rfc2018
    }

    fn altmap(
        &mut self,
        start: u64,
        size: u64,
        _: u64,
        notes: &mut Vec<String>,
    ) -> Option<VmemAltmap> {
        self.nr_sects = 0;
        self.head_va = None;
        notes.push(
            "add_memory_resource sets MHP_MEMMAP_FROM_RANGE: one altmap over the range".to_string(),
        );
        Some(VmemAltmap::new(start / PAGE_SIZE, size / PAGE_SIZE))
    }

    /// `flush_alloc_pfns` = `mark_vmemmap_pages`: mark the pages just
    /// carved, count the section in the head's refcount, move the altmap's
    /// base past them.
    fn sparse_add_section(&mut self, m: &mut Machine, altmap: Option<&mut VmemAltmap>) {
        let a = altmap.expect("the RFC always has an altmap");
        let pfn = a.base_pfn + a.reserve;
        let n = a.alloc;
        let head = (pfn_to_page(pfn) & !(PMD_SIZE - 1)) - PMD_SIZE * self.nr_sects;
        // page_ref_inc(head). The first call then marks the head itself,
        // and init_page_count sets its count to 1: the same as counting
        // from 0 on a zeroed memmap (the assumption in the module doc).
        // Other marked pages keep count 1.
        let count = self.refs.entry(head).or_insert(0);
        *count += 1;
        if (*count * PAGES_PER_SECTION) & (PMD_SIZE - 1) == 0 {
            self.nr_sects += 1;
        }
        m.mark(pfn, pfn + n);
        a.alloc = 0;
        a.base_pfn += n + a.reserve;
        a.free -= n;
        self.head_va.get_or_insert(head);
    }

    fn range_added(
        &mut self,
        start_pfn: u64,
        nsec: u64,
        _altmap: Option<VmemAltmap>,
        notes: &mut Vec<String>,
    ) -> Option<VmemAltmap> {
        let head = self.head_va.expect("at least one section");
        let refcount = self.refs.get(&head).copied().unwrap_or(0);
        self.heads.push(RfcHead {
            head_va: head,
            refcount,
            nr_sects: self.nr_sects,
            sections: nsec,
            donated: (start_pfn, start_pfn + nsec * MEMMAP_PAGES_PER_SECTION - 1),
        });
        notes.push(format!(
            "mark_vmemmap_pages: {} pages PageVmemmap, refcount {refcount} at 0x{head:x}, nr_sects {}",
            nsec * MEMMAP_PAGES_PER_SECTION,
            self.nr_sects
        ));
        None
    }

    /// `online_pages_range` strips PageVmemmap pages.
    fn online_pages(&self, _self_hosted: u64, marked: u64) -> (u64, u64) {
        (PAGES_PER_SECTION - marked, PAGES_PER_SECTION - marked)
    }

    /// `__kfree_section_memmap` for each section, ascending, whatever the
    /// teardown order (the RFC has no other).
    fn remove_pages(&mut self, m: &mut Machine, request: usize, sections: Range<u64>) -> bool {
        sections
            .into_iter()
            .all(|nr| self.kfree_section_memmap(m, request, nr))
    }

    /// The RFC never clears PageVmemmap: the marks go only with the struct
    /// pages, when a section's vmemmap is freed.
    fn marks_outlive_removal(&self) -> bool {
        true
    }

    fn removal_note(&self) -> Option<String> {
        let c = self.current?;
        let left = self.refs.get(&c).copied().unwrap_or(0);
        Some(format!(
            "current_vmemmap_page stays 0x{c:x} with refcount {left}: the vmemmap of the sections it defers is not freed"
        ))
    }

    fn heads(&self) -> Vec<RfcHead> {
        self.heads.clone()
    }

    fn mark_name(&self) -> &'static str {
        "PageVmemmap"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::presets::{find_preset, preset_run};
    use crate::run::run;
    use crate::section::page_to_pfn;
    use kexec_common::units::{GIB, MIB};

    #[test]
    fn the_rfc_worked_example_number_by_number() {
        let lab = preset_run("hotplug-rfc-10g");
        assert_eq!(lab.block_size, 128 * MIB);
        let r = &lab.runs[0];
        assert_eq!(r.variant, MemmapVariant::Rfc2018);
        // 10 GiB / 128 MiB = 80 sections, 512 memmap pages each.
        assert_eq!(r.sections.len(), 80);
        assert_eq!(r.counters.memmap, 40960);
        assert_eq!(r.counters.memmap * PAGE_SIZE, 160 * MIB);
        assert_eq!(r.counters.memmap_in_range, 40960);
        assert_eq!(r.counters.marked, 40960);
        // The donated pfns are 0x100000..0x109fff.
        let first = &r.sections[0];
        let last = &r.sections[79];
        assert_eq!(first.start_pfn(), 0x100000);
        assert_eq!(first.backing_pfn, 0x100000);
        assert_eq!(last.backing_pfn + MEMMAP_PAGES_PER_SECTION - 1, 0x109fff);
        // Section 0 holds 64 memmaps, section 1's first 8192 pages the rest.
        assert_eq!(first.donated, 32768);
        assert_eq!(r.sections[1].donated, 8192);
        assert!(r.sections[2..].iter().all(|s| s.donated == 0));
        assert_eq!(r.sections[63].backing_pfn, 0x107e00);
        assert_eq!(r.sections[64].backing_pfn, 0x108000);
        // Their struct pages: 0xffffea0004000000 to 0xffffea000427ffc0.
        assert_eq!(pfn_to_page(0x100000), 0xffff_ea00_0400_0000);
        assert_eq!(pfn_to_page(0x109fff), 0xffff_ea00_0427_ffc0);
        assert_eq!(pfn_to_page(0x108000), 0xffff_ea00_0420_0000);
        // Refcount 80 in the first vmemmap page, nr_sects 1.
        assert_eq!(
            r.heads,
            vec![RfcHead {
                head_va: 0xffff_ea00_0400_0000,
                refcount: 80,
                nr_sects: 1,
                sections: 80,
                donated: (0x100000, 0x109fff),
            }]
        );
        // Online: section 0 not at all, section 1 from pfn 0x10a000.
        assert_eq!((first.buddy, first.present), (0, 0));
        assert_eq!(r.sections[1].buddy, 24576);
        assert_eq!(r.counters.buddy, 80 * 32768 - 40960);
        // Torn down as posted: deferred 80 times, then freed from the end.
        assert_eq!(r.fault, None);
        assert_eq!(r.teardown.len(), 160);
        assert!(r.teardown[..79].iter().all(|t| t.note.contains("deferred")));
        assert_eq!(r.teardown[80].call, "vmemmap_free(section 0x6f)");
        assert_eq!(r.teardown[159].call, "vmemmap_free(section 0x20)");
        assert_eq!(r.exit_status(), 0);
        // 6.1: ten gigabytes are not one block.
        let m = &lab.runs[1];
        assert!(
            m.ops[0].detail.contains("not self-hosted"),
            "{}",
            m.ops[0].detail
        );
        assert_eq!(m.counters.memmap_ordinary, 40960);
        assert_eq!(m.counters.marked, 0);
        assert_eq!(m.fault, None);
    }

    #[test]
    fn forwards_faults_in_the_rfc_and_not_in_6_1() {
        let lab = preset_run("hotplug-rfc-forwards");
        let r = &lab.runs[0];
        let f = r.fault.as_ref().expect("the RFC faults forwards");
        assert_eq!(f.va, 0xffff_ea00_0400_8000);
        assert_eq!(page_to_pfn(f.va), 0x100200);
        assert_eq!(f.section, 0x20);
        assert_eq!(f.during, "vmemmap_free(section 0x21)");
        assert_eq!(
            r.teardown[f.cleared_at.unwrap()].call,
            "vmemmap_free(section 0x20)"
        );
        assert!(f.why.contains("PageVmemmap"), "{}", f.why);
        assert!(r.log.iter().any(|l| l.contains("ffffea0004008000")));
        assert_eq!(r.exit_status(), 2);
        assert!(r.ops[1].oops);
        assert_eq!(lab.runs[1].fault, None);
    }

    #[test]
    fn partial_rfc_removal_leaves_the_refcount_pending() {
        let mut sc = find_preset("hotplug-rfc-10g").unwrap().scenario;
        sc.removes = vec![(4 * GIB, GIB)];
        let r = &run(&sc).runs[0];
        assert_eq!(r.fault, None);
        assert!(
            r.ops[1].detail.contains("refcount 72"),
            "{}",
            r.ops[1].detail
        );
        assert!(
            r.ops[1]
                .detail
                .contains("still backs the memmap of section(s) 0x28-0x6f"),
            "{}",
            r.ops[1].detail
        );
        // The RFC never clears PageVmemmap: removing the rest later frees
        // nothing it does not own.
        let mut sc2 = sc.clone();
        sc2.removes.push((5 * GIB, 9 * GIB));
        let r2 = &run(&sc2).runs[0];
        assert!(r2.teardown.iter().all(|t| !t.note.contains("free_pages")));
        assert!(r.teardown.iter().all(|t| t.clears.is_none()));
    }
}
