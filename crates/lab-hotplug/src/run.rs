//! A run of the lab: every strategy of a scenario on a fresh machine, and
//! what each leaves to show: the requests' results (errno as
//! mm/memory_hotplug.c returns it, or the page fault the teardown takes),
//! the hot-added sections and what backs their memmap, the counters after
//! the adds, the removal's kernel calls struct page by struct page, and
//! the kernel log.
//!
//! Deviation: a removal of what was never hot-added is refused by the lab
//! ([`OpResult::refused`]): the kernel would WARN and go on.

use crate::machine::Machine;
use crate::scenario::HotplugScenario;
use crate::section::{page_to_pfn, pfn_to_page, PAGES_PER_SECTION};
use crate::strategy::rfc_2018::RfcHead;
use crate::strategy::MemmapVariant;
use kexec_common::errno::Errno;
use kexec_core::gfp::Zone;

/// What backs a section's memmap (its 2 MiB of struct pages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backing {
    /// An order-9 page from the page allocator (boot memory).
    Ordinary,
    /// Pages carved from the added range through an altmap.
    Altmap,
}

/// A hot-added section after add and online.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SectionView {
    /// Section number.
    pub nr: u64,
    /// Index of the `__add_memory` call (range) that added it.
    pub range: usize,
    /// NUMA node.
    pub node: u32,
    /// The zone it was onlined to, if online.
    pub zone: Option<Zone>,
    /// First pfn of the 512 pages backing its memmap.
    pub backing_pfn: u64,
    /// Where those come from.
    pub backing: Backing,
    /// Pages of this section that hold memmap (at its start).
    pub donated: u64,
    /// Pages of it given to the buddy allocator.
    pub buddy: u64,
    /// Pages of it counted present.
    pub present: u64,
    /// Removed by a later request (without fault).
    pub removed: bool,
}

impl SectionView {
    /// First pfn.
    pub fn start_pfn(&self) -> u64 {
        self.nr * PAGES_PER_SECTION
    }

    /// Virtual address of its first struct page.
    pub fn memmap_va(&self) -> u64 {
        pfn_to_page(self.start_pfn())
    }
}

/// A struct page read during teardown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Read {
    /// Its address.
    pub va: u64,
    /// Who reads it and why (the kernel function).
    pub why: String,
    /// Whether its vmemmap PMD was still mapped.
    pub mapped: bool,
}

impl Read {
    /// The pfn the struct page describes.
    pub fn pfn(&self) -> u64 {
        page_to_pfn(self.va)
    }
}

/// One kernel call of a removal, for the stepper.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeardownStep {
    /// Index of the removal request.
    pub remove: usize,
    /// The call, e.g. `vmemmap_free(section 0x21)`.
    pub call: String,
    /// Struct pages it reads, in order (stops at the first unmapped one).
    pub reads: Vec<Read>,
    /// The section whose vmemmap PMD it clears.
    pub clears: Option<u64>,
    /// What else happens.
    pub note: String,
}

impl TeardownStep {
    /// A call of removal `remove` that reads nothing and clears nothing
    /// yet.
    pub(crate) fn new(remove: usize, call: String) -> TeardownStep {
        TeardownStep {
            remove,
            call,
            reads: Vec::new(),
            clears: None,
            note: String::new(),
        }
    }

    /// The read that faulted, if any.
    pub fn fault(&self) -> Option<&Read> {
        self.reads.iter().find(|r| !r.mapped)
    }
}

/// The page fault that ended a variant's run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// Index into the teardown steps.
    pub step: usize,
    /// The struct page address read.
    pub va: u64,
    /// The call that faulted.
    pub during: String,
    /// The section whose vmemmap holds the struct page.
    pub section: u64,
    /// The teardown step that cleared that section's vmemmap PMD.
    pub cleared_at: Option<usize>,
    /// The explanation.
    pub why: String,
}

/// The result of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpResult {
    /// "add" or "remove".
    pub op: &'static str,
    /// Index of the request in the file.
    pub request: usize,
    /// First byte.
    pub start: u64,
    /// Bytes.
    pub size: u64,
    /// The errno, if it failed.
    pub errno: Option<Errno>,
    /// The call oopsed (a page fault in its teardown).
    pub oops: bool,
    /// The lab refused the request (no kernel errno: the kernel would WARN
    /// and go on).
    pub refused: bool,
    /// What happened (one or more sentences).
    pub detail: String,
}

impl OpResult {
    /// A request that has not failed yet, with no detail.
    pub(crate) fn new(op: &'static str, request: usize, start: u64, size: u64) -> OpResult {
        OpResult {
            op,
            request,
            start,
            size,
            errno: None,
            oops: false,
            refused: false,
            detail: String::new(),
        }
    }
}

/// Counters after the adds and onlines (before removals).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counters {
    /// Pages hot-added.
    pub added: u64,
    /// Memmap pages in all (512 per section).
    pub memmap: u64,
    /// Memmap pages carved from the added ranges.
    pub memmap_in_range: u64,
    /// Memmap pages taken from ordinary memory.
    pub memmap_ordinary: u64,
    /// vmemmap page-table pages (PMD tables) taken from ordinary memory.
    pub pgtable_pages: u64,
    /// Pages marked PageVmemmap (RFC) or VmemmapSelfHosted (6.1).
    pub marked: u64,
    /// Added pages handed to the buddy allocator.
    pub buddy: u64,
    /// Added pages counted present.
    pub present: u64,
}

impl Counters {
    /// Net memory the machine gained, in pages: buddy pages of the added
    /// ranges minus ordinary pages the memmap and its page tables took.
    pub fn net_gain(&self) -> i64 {
        self.buddy as i64 - (self.memmap_ordinary + self.pgtable_pages) as i64
    }
}

/// One strategy's run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HotplugRun {
    /// The strategy.
    pub variant: MemmapVariant,
    /// Every request's result, adds then removes.
    pub ops: Vec<OpResult>,
    /// Hot-added sections (state after add and online; `removed` from the
    /// removals).
    pub sections: Vec<SectionView>,
    /// RFC heads.
    pub heads: Vec<RfcHead>,
    /// Counters after adds and onlines.
    pub counters: Counters,
    /// The removals' kernel calls.
    pub teardown: Vec<TeardownStep>,
    /// The fault, if the teardown took one (nothing runs after it).
    pub fault: Option<Fault>,
    /// Kernel log lines.
    pub log: Vec<String>,
}

impl HotplugRun {
    /// "ok", "errno" or "page fault".
    pub fn verdict(&self) -> String {
        if let Some(f) = &self.fault {
            return format!("page fault at 0x{:x}", f.va);
        }
        let errs: Vec<String> = self
            .ops
            .iter()
            .filter_map(|o| match (o.errno, o.refused) {
                (Some(e), _) => Some(format!("{} -{}", o.op, e.name())),
                (None, true) => Some(format!("{} refused", o.op)),
                _ => None,
            })
            .collect();
        if errs.is_empty() {
            "ok".into()
        } else {
            errs.join(", ")
        }
    }

    /// 0 ok, 2 errno or fault.
    pub fn exit_status(&self) -> i32 {
        if self.fault.is_some() || self.ops.iter().any(|o| o.errno.is_some() || o.refused) {
            2
        } else {
            0
        }
    }
}

/// Both runs' common facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HotplugLab {
    /// memory_block_size_bytes().
    pub block_size: u64,
    /// Each variant's run, in the scenario's order.
    pub runs: Vec<HotplugRun>,
}

/// Run every variant of a scenario.
pub fn run(sc: &HotplugScenario) -> HotplugLab {
    let runs = sc.variants.iter().map(|&v| run_variant(sc, v)).collect();
    HotplugLab {
        block_size: sc.block_size(),
        runs,
    }
}

/// Run one strategy: every hot-add request in order, then the removals
/// until one faults.
pub fn run_variant(sc: &HotplugScenario, variant: MemmapVariant) -> HotplugRun {
    let mut s = variant.build();
    let mut m = Machine::new(sc);
    for (i, a) in sc.adds.iter().enumerate() {
        m.acpi_memory_enable_device(s.as_mut(), i, a);
    }
    let heads = s.heads();
    let counters = m.counters;
    let sections_after_add: Vec<u64> = m.secs.keys().copied().collect();
    for (i, &(start, size)) in sc.removes.iter().enumerate() {
        if m.fault.is_some() {
            break;
        }
        m.offline_and_remove_memory(s.as_mut(), i, start, size);
    }
    let sections = sections_after_add
        .iter()
        .map(|nr| m.secs[nr].view.clone())
        .collect();
    HotplugRun {
        variant,
        ops: m.ops,
        sections,
        heads,
        counters,
        teardown: m.steps,
        fault: m.fault,
        log: m.log,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{Add, Online, Teardown};
    use crate::section::MEMMAP_PAGES_PER_SECTION;
    use crate::strategy::ALL_MEMMAP_VARIANTS;
    use kexec_common::units::GIB;

    mod props {
        use super::*;
        use proptest::prelude::*;

        fn scenario() -> impl Strategy<Value = HotplugScenario> {
            (
                prop::sample::select(vec![4 * GIB, 16 * GIB, 64 * GIB]),
                prop::collection::vec((0u64..64, 1u64..24, any::<bool>(), 0u8..3), 1..4),
                0usize..3,
            )
                .prop_map(|(boot, adds, split)| HotplugScenario {
                    boot_mem_end: boot,
                    hypervisor: false,
                    memory_block_size: None,
                    adds: adds
                        .into_iter()
                        .map(|(at, n, s, on)| {
                            let bs = kexec_core::memory_block::probe_memory_block_size(boot);
                            Add {
                                start: boot + at * bs,
                                size: n * bs,
                                node: 0,
                                online: [Online::Movable, Online::Kernel, Online::Offline]
                                    [on as usize],
                                range_size: (s && split > 0).then_some(bs),
                            }
                        })
                        .collect(),
                    removes: Vec::new(),
                    teardown: Teardown::AsPosted,
                    variants: ALL_MEMMAP_VARIANTS.to_vec(),
                })
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(48))]

            #[test]
            fn carved_memmap_never_overlaps_buddy_pages(sc in scenario()) {
                for r in run(&sc).runs {
                    for s in &r.sections {
                        // The carved pages sit at the section's start, the
                        // buddy pages after them.
                        prop_assert!(s.donated + s.buddy <= PAGES_PER_SECTION);
                        if s.backing == Backing::Altmap {
                            let lo = s.backing_pfn;
                            let hi = lo + MEMMAP_PAGES_PER_SECTION;
                            let sec = r.sections.iter().find(|x| {
                                x.start_pfn() <= lo && lo < x.start_pfn() + PAGES_PER_SECTION
                            });
                            let sec = sec.expect("carved pages lie in an added section");
                            prop_assert!(hi <= sec.start_pfn() + sec.donated);
                        }
                    }
                }
            }

            #[test]
            fn accounted_is_added_minus_memmap(sc in scenario()) {
                let all_online: bool = sc.adds.iter().all(|a| a.online != Online::Offline);
                for r in run(&sc).runs {
                    let c = r.counters;
                    prop_assert_eq!(c.memmap, c.memmap_in_range + c.memmap_ordinary);
                    prop_assert_eq!(c.memmap * PAGES_PER_SECTION, c.added * MEMMAP_PAGES_PER_SECTION);
                    if all_online {
                        prop_assert_eq!(
                            c.buddy as i64 - c.memmap_ordinary as i64,
                            c.added as i64 - c.memmap as i64
                        );
                    }
                }
            }

            #[test]
            fn removing_everything_never_faults_as_posted(sc in scenario()) {
                let mut sc = sc;
                sc.removes = sc.adds.iter().map(|a| (a.start, a.size)).collect();
                for r in run(&sc).runs {
                    prop_assert!(r.fault.is_none(), "{:?}", r.fault);
                }
            }
        }
    }
}
