//! The simulated machine: an x86_64 box with SPARSEMEM_VMEMMAP whose
//! memory is hot-added, onlined and removed as 6.1 does it, whatever the
//! memmap strategy ([`crate::strategy`]) in use.
//!
//! Mirrors mm/memory_hotplug.c, drivers/base/memory.c,
//! drivers/acpi/acpi_memhotplug.c, mm/sparse.c and arch/x86/mm/init_64.c
//! as of 6.1: [`add`] has the add and online path
//! (`acpi_memory_enable_device`, `add_memory_resource`, `__add_pages` →
//! `sparse_add_section` → `vmemmap_populate`, `memory_block_online`),
//! [`remove`] the removal path (`offline_and_remove_memory`,
//! `try_remove_memory`, `__remove_pages` → `vmemmap_free` →
//! `free_pagetable`, `free_pmd_table`, `release_mem_region_adjustable`).
//! This file keeps the machine's state: sections and whether their
//! vmemmap PMD is still mapped, memory blocks, the System RAM resources,
//! the marked (PageVmemmap / VmemmapSelfHosted) pages, the vmemmap PMD
//! tables, and the ordinary allocator the memmap falls back on.
//!
//! Model choices, not kernel facts: boot memory is `[0, boot_mem_end)` on
//! node 0 with its memmap always mapped; the ordinary allocator hands out
//! order-9 blocks top-down from the end of boot memory down to 64 MiB
//! (the kernel's buddy allocator would pick from its free lists);
//! offlining always succeeds (no page in the model is pinned).

pub mod add;
pub mod remove;

use crate::run::{Counters, Fault, OpResult, Read, SectionView, TeardownStep};
use crate::scenario::{HotplugScenario, Online, Teardown};
use crate::section::{boot_pmd_tables, page_to_pfn, section_of_va, PAGES_PER_SECTION};
use crate::vmem_altmap::VmemAltmap;
use kexec_common::units::{MIB, PAGE_SIZE, PMD_SIZE};
use std::collections::{BTreeMap, BTreeSet};

/// The model's ordinary allocator stops here (the running kernel below).
const ORDINARY_FLOOR: u64 = 64 * MIB;

/// A hot-added section.
pub(crate) struct Sec {
    /// What the run shows of it.
    pub(crate) view: SectionView,
    /// Its vmemmap PMD is mapped.
    pub(crate) mapped: bool,
}

/// A memory block device.
pub(crate) struct Block {
    /// Self-hosted memmap pages at its start (6.1's memmap_on_memory).
    pub(crate) nr_vmemmap: u64,
    /// How it is onlined.
    pub(crate) online: Online,
}

/// A hot-added System RAM resource.
pub(crate) struct RangeRec {
    pub(crate) start: u64,
    pub(crate) size: u64,
    /// 6.1 self-hosted: the altmap's alloc after the add.
    pub(crate) self_hosted: Option<VmemAltmap>,
}

/// The machine a strategy works on (opaque outside the crate).
pub struct Machine {
    pub(crate) boot_end: u64,
    /// memory_block_size_bytes().
    pub(crate) block: u64,
    pub(crate) teardown: Teardown,
    pub(crate) secs: BTreeMap<u64, Sec>,
    /// Memory blocks by first pfn.
    pub(crate) blocks: BTreeMap<u64, Block>,
    pub(crate) ranges: Vec<RangeRec>,
    /// PageVmemmap / VmemmapSelfHosted pfn ranges, start → end, merged.
    marked: BTreeMap<u64, u64>,
    /// Ordinary order-9 allocator: next chunk top-down, and freed chunks.
    ordinary_next: u64,
    pub(crate) ordinary_free: Vec<u64>,
    /// PMD tables of the vmemmap (index = VA offset / 1 GiB).
    pmd_tables: BTreeSet<u64>,
    pub(crate) counters: Counters,
    pub(crate) ops: Vec<OpResult>,
    pub(crate) steps: Vec<TeardownStep>,
    pub(crate) fault: Option<Fault>,
    pub(crate) log: Vec<String>,
    /// The teardown step that cleared each section's vmemmap PMD.
    cleared_at: BTreeMap<u64, usize>,
    /// Nodes with memory in a kernel zone (node 0's boot memory, and
    /// blocks onlined to ZONE_NORMAL): where vmemmap_alloc_block finds
    /// node-local pages.
    kernel_nodes: BTreeSet<u32>,
}

impl Machine {
    /// The machine after boot: boot memory's memmap and its PMD tables.
    pub(crate) fn new(sc: &HotplugScenario) -> Machine {
        let block = sc.block_size();
        Machine {
            boot_end: sc.boot_mem_end,
            block,
            teardown: sc.teardown,
            secs: BTreeMap::new(),
            blocks: BTreeMap::new(),
            ranges: Vec::new(),
            marked: BTreeMap::new(),
            ordinary_next: sc.boot_mem_end & !(PMD_SIZE - 1),
            ordinary_free: Vec::new(),
            pmd_tables: (0..boot_pmd_tables(sc.boot_mem_end)).collect(),
            counters: Counters::default(),
            ops: Vec::new(),
            steps: Vec::new(),
            fault: None,
            log: vec![format!("x86/mm: Memory block size: {}MB", block >> 20)],
            cleared_at: BTreeMap::new(),
            kernel_nodes: BTreeSet::from([0]),
        }
    }

    /// Whether `pfn` is marked.
    pub(crate) fn is_marked(&self, pfn: u64) -> bool {
        self.marked
            .range(..=pfn)
            .next_back()
            .is_some_and(|(_, &e)| pfn < e)
    }

    /// Marked pages in `[lo, hi)`.
    fn marked_in(&self, lo: u64, hi: u64) -> u64 {
        self.marked
            .range(..hi)
            .rev()
            .take_while(|(_, &e)| e > lo)
            .map(|(&s, &e)| e.min(hi) - s.max(lo))
            .sum()
    }

    /// Mark `[s, e)`, merging with a range that ends at `s`.
    pub(crate) fn mark(&mut self, s: u64, e: u64) {
        let prev = self
            .marked
            .range(..=s)
            .next_back()
            .filter(|(_, &pe)| pe == s)
            .map(|(&ps, _)| ps);
        match prev {
            Some(ps) => {
                self.marked.insert(ps, e);
            }
            None => {
                self.marked.insert(s, e);
            }
        }
    }

    /// Drop marks inside `[lo, hi)` (a removed range; marks never straddle
    /// a removal boundary since both are block aligned).
    fn unmark(&mut self, lo: u64, hi: u64) {
        let inside: Vec<u64> = self.marked.range(lo..hi).map(|(&s, _)| s).collect();
        for s in inside {
            self.marked.remove(&s);
        }
    }

    /// Whether the struct page at `va` is mapped now.
    fn mapped(&self, va: u64) -> bool {
        let pfn = page_to_pfn(va);
        if pfn < self.boot_end / PAGE_SIZE {
            return true;
        }
        self.secs
            .get(&(pfn / PAGES_PER_SECTION))
            .is_some_and(|s| s.mapped)
    }

    /// An order-9 page of ordinary memory (`vmemmap_alloc_block`).
    fn ordinary_chunk(&mut self) -> Option<u64> {
        if let Some(p) = self.ordinary_free.pop() {
            return Some(p);
        }
        if self.ordinary_next < ORDINARY_FLOOR + PMD_SIZE {
            return None;
        }
        self.ordinary_next -= PMD_SIZE;
        Some(self.ordinary_next / PAGE_SIZE)
    }

    /// Read a struct page: whether its vmemmap is still mapped.
    pub(crate) fn read(&self, va: u64, why: impl Into<String>) -> Read {
        Read {
            va,
            why: why.into(),
            mapped: self.mapped(va),
        }
    }

    /// Record a teardown call: the PMD it clears, and the page fault if
    /// one of its reads found no mapping (then false: nothing runs after).
    pub(crate) fn push_step(&mut self, step: TeardownStep) -> bool {
        let fault = step.fault().cloned();
        let idx = self.steps.len();
        let during = step.call.clone();
        if let Some(c) = step.clears {
            self.cleared_at.insert(c, idx);
            if let Some(s) = self.secs.get_mut(&c) {
                s.mapped = false;
            }
        }
        self.steps.push(step);
        let Some(r) = fault else {
            return true;
        };
        let sec = section_of_va(r.va);
        let cleared_at = self.cleared_at.get(&sec).copied();
        let when = match cleared_at {
            Some(i) => format!("cleared at step {} ({})", i + 1, self.steps[i].call),
            None => "never mapped".into(),
        };
        let why = format!(
            "{during} → {}: the struct page of pfn 0x{:x} is at 0x{:x}, in the vmemmap of section 0x{sec:x}, whose PMD was {when}",
            r.why,
            r.pfn(),
            r.va
        );
        self.log.push(format!(
            "BUG: unable to handle page fault for address: {:016x}",
            r.va
        ));
        self.log
            .push("#PF: supervisor read access in kernel mode".into());
        self.fault = Some(Fault {
            step: idx,
            va: r.va,
            during,
            section: sec,
            cleared_at,
            why,
        });
        false
    }
}

#[cfg(test)]
mod tests {
    use crate::presets::{add, find_preset};
    use crate::run::run;
    use crate::scenario::{HotplugScenario, Online, Teardown};
    use crate::strategy::MemmapVariant;
    use kexec_common::errno::Errno;
    use kexec_common::units::{GIB, MIB};

    #[test]
    fn errnos_of_bad_requests() {
        let mut sc = find_preset("hotplug-wrong-granularity").unwrap().scenario;
        let lab = run(&sc);
        let m = &lab.runs[1];
        assert_eq!(m.ops[2].errno, Some(Errno::EINVAL));
        assert!(m.log.iter().any(|l| l.contains("wrong granularity")));
        assert_eq!(lab.runs[0].ops[2].errno, None);
        // Unaligned, zero-size, overlapping boot RAM, overlapping an add.
        sc.adds = vec![
            add(4 * GIB + 4096, 128 * MIB, Online::Movable, None),
            add(5 * GIB, 0, Online::Movable, None),
            add(3 * GIB, 256 * MIB, Online::Movable, None),
            add(4 * GIB, 256 * MIB, Online::Movable, None),
            add(4 * GIB + 128 * MIB, 128 * MIB, Online::Movable, None),
        ];
        sc.removes = vec![(4 * GIB, 64 * MIB), (8 * GIB, 128 * MIB)];
        let lab = run(&sc);
        for r in &lab.runs {
            let e: Vec<_> = r.ops.iter().map(|o| o.errno).collect();
            assert_eq!(
                e,
                vec![
                    Some(Errno::EINVAL),
                    Some(Errno::EINVAL),
                    Some(Errno::EEXIST),
                    None,
                    Some(Errno::EEXIST),
                    Some(Errno::EINVAL),
                    None
                ]
            );
            assert!(
                r.ops[6].refused,
                "removing what is not there is the lab's refusal"
            );
            assert!(r.ops.iter().all(|o| !o.detail.is_empty()));
            assert!(r
                .log
                .iter()
                .any(|l| l == "acpi_memory_enable_device: device is empty"));
        }
        // register_memory_resource comes first: unaligned and overlapping
        // boot RAM is -EEXIST, with no "Block size" line.
        sc.adds = vec![add(3 * GIB + 4096, 128 * MIB, Online::Movable, None)];
        sc.removes.clear();
        let r = &run(&sc).runs[0];
        assert_eq!(r.ops[0].errno, Some(Errno::EEXIST));
        assert!(!r.log.iter().any(|l| l.contains("Block size")));
    }

    #[test]
    fn a_failed_add_leaves_its_sections_behind() {
        // 128 MiB of boot memory has 32 order-9 pages above 64 MiB: the
        // memmap of the 33rd section of an ordinary add finds none.
        let sc = HotplugScenario {
            boot_mem_end: 128 * MIB,
            hypervisor: false,
            memory_block_size: None,
            adds: vec![
                add(GIB, 8 * GIB, Online::Movable, None),
                add(GIB, 128 * MIB, Online::Movable, None),
            ],
            removes: vec![],
            teardown: Teardown::AsPosted,
            variants: vec![MemmapVariant::Ordinary],
        };
        let r = &run(&sc).runs[0];
        assert_eq!(r.ops[0].errno, Some(Errno::ENOMEM));
        assert!(r.ops[0]
            .detail
            .contains("32 section(s) populated before it stay present"));
        assert!(r
            .log
            .iter()
            .any(|l| l.contains("vmemmap alloc failure: order:9")));
        assert_eq!(r.ops[1].errno, Some(Errno::EEXIST), "{}", r.ops[1].detail);
    }
}
