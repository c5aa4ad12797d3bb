//! What happened during a run: typed events (recorded only when asked)
//! and counters (always kept), with each counter's row for the reports.
//! Positions ([`Pos`]) name an entry slot or `image->head`, whatever the
//! design calls them. Model bookkeeping, not kernel code.

use crate::gfp::Gfp;
use serde::{Deserialize, Serialize};

/// A position in the entry list: `image->head`, or a slot of an indirection
/// page. The pointer design holds it as a kernel pointer, the RFC as
/// `entry_pos` (page address | slot index); both name the same slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pos {
    /// `image->head`, inside struct kimage.
    Head,
    /// Slot `idx` of the indirection page at `pfn`.
    Slot {
        /// The indirection page.
        pfn: u64,
        /// The slot index.
        idx: u32,
    },
}

/// One step of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The page allocator was called (kimage_alloc_pages → alloc_pages).
    Alloc {
        /// 1-based call number.
        call: u64,
        /// The gfp asked.
        gfp: Gfp,
        /// The order asked.
        order: u8,
        /// The first pfn handed out.
        pfn: u64,
    },
    /// The allocator had nothing for the call.
    AllocFailed {
        /// The gfp asked.
        gfp: Gfp,
        /// The order asked.
        order: u8,
    },
    /// kimage_alloc_normal_control_pages put a block on its extra list.
    ControlRejected {
        /// First pfn.
        pfn: u64,
        /// Order.
        order: u8,
        /// Why: true when above the control limit, false when a destination.
        over_limit: bool,
    },
    /// A control block was kept (control code page, or the swap page).
    ControlPage {
        /// First pfn.
        pfn: u64,
        /// Order.
        order: u8,
        /// True for image->swap_page.
        swap: bool,
    },
    /// kimage_load_normal_segment starts loading one page.
    LoadPage {
        /// Segment index.
        seg: u8,
        /// Page index within the segment.
        page: u32,
        /// Destination address.
        dest: u64,
    },
    /// kimage_alloc_page filed a page on image->dest_pages.
    DestPageFiled {
        /// The page.
        pfn: u64,
    },
    /// kimage_alloc_page took a page back from image->dest_pages.
    DestPageReused {
        /// The page.
        pfn: u64,
    },
    /// kimage_alloc_page filed a page above KEXEC_SOURCE_MEMORY_LIMIT on unusable_pages.
    Unusable {
        /// The page.
        pfn: u64,
    },
    /// kimage_alloc_page swapped: `new_pfn` took over the data of `old_pfn`
    /// (the source of destination `dest`), and the entry was rewritten.
    Swap {
        /// The page just allocated (it is destination `dest`).
        new_pfn: u64,
        /// The old source page, now free for the caller.
        old_pfn: u64,
        /// The destination address.
        dest: u64,
        /// Where the rewritten entry lives.
        pos: Pos,
    },
    /// The swapped-out old page failed the caller's highmem test and was freed.
    HighmemFree {
        /// The page.
        pfn: u64,
    },
    /// What-if skip-reuse: the swapped-out old page of an indirection-page
    /// request was freed instead of handed back.
    ReuseFree {
        /// The page.
        pfn: u64,
    },
    /// A new indirection page was linked into the list.
    Indirection {
        /// The page.
        pfn: u64,
    },
    /// kimage_add_entry stored an entry.
    Entry {
        /// Where.
        pos: Pos,
        /// The word.
        value: u64,
    },
    /// kimage_terminate wrote IND_DONE.
    Terminate {
        /// Where.
        pos: Pos,
    },
    /// A page went back to the allocator (kimage_free_pages).
    Free {
        /// First pfn.
        pfn: u64,
        /// Order.
        order: u8,
    },
}

/// Counters of one run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    /// Calls to the page allocator.
    pub alloc_calls: u64,
    /// Source pages in the list.
    pub source_pages: u64,
    /// Indirection pages linked.
    pub indirection_pages: u64,
    /// Control blocks rejected by kimage_alloc_normal_control_pages.
    pub control_rejected: u64,
    /// Pages filed on dest_pages.
    pub dest_pages: u64,
    /// Pages taken back from dest_pages.
    pub dest_pages_reused: u64,
    /// Pages filed on unusable_pages.
    pub unusable_pages: u64,
    /// Swaps in kimage_alloc_page.
    pub swaps: u64,
    /// Swapped-out old pages freed by the highmem test.
    pub highmem_frees: u64,
    /// Swapped-out old pages freed because an indirection page was asked
    /// for (the skip-reuse what-if).
    #[serde(default)]
    pub reuse_frees: u64,
    /// IND_ZERO entries (Xen): destination pages with no source page.
    #[serde(default)]
    pub zero_entries: u64,
    /// kmap-family calls (kmap_local_page, kmap_atomic, clear/copy_highpage).
    pub kmap: u64,
    /// Of those, calls on highmem pages (a real PTE set and TLB flush).
    pub kmap_highmem: u64,
    /// Entry words read by list walks (head and the terminating word included).
    pub entry_reads: u64,
    /// Entry words written.
    pub entry_writes: u64,
    /// Entries the kernel's kimage_dst_used walks would read in all (the
    /// model answers through an index instead).
    pub kernel_walk_steps: u64,
    /// Pages freed (kimage_free_pages calls' pages).
    pub pages_freed: u64,
    /// Pages held by the image at the end of the load that are lowmem.
    pub lowmem_held: u64,
    /// Pages held by the image at the end of the load that are highmem.
    pub highmem_held: u64,
}

/// One counter as reports and the page show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterRow {
    /// Short name.
    pub name: &'static str,
    /// The value, as text.
    pub value: String,
    /// What it counts, in the kernel's terms.
    pub about: &'static str,
}

impl Counters {
    /// The counters in display order, named and explained.
    pub fn rows(&self) -> Vec<CounterRow> {
        let row = |name, value: String, about| CounterRow { name, value, about };
        vec![
            row(
                "alloc calls",
                self.alloc_calls.to_string(),
                "calls to the page allocator (kimage_alloc_pages)",
            ),
            row(
                "source",
                self.source_pages.to_string(),
                "IND_SOURCE entries added",
            ),
            row(
                "indirection",
                self.indirection_pages.to_string(),
                "pages linked by IND_INDIRECTION",
            ),
            row(
                "dest_pages",
                format!("{} (reused {})", self.dest_pages, self.dest_pages_reused),
                "pages parked on image->dest_pages, and taken back",
            ),
            row(
                "unusable",
                self.unusable_pages.to_string(),
                "pages above KEXEC_SOURCE_MEMORY_LIMIT",
            ),
            row(
                "swaps",
                self.swaps.to_string(),
                "kimage_dst_used hits: data moved to its destination page",
            ),
            row(
                "highmem frees",
                self.highmem_frees.to_string(),
                "old pages freed by the swap path's highmem test",
            ),
            row(
                "reuse frees",
                self.reuse_frees.to_string(),
                "old pages freed because an indirection page was asked for (skip-reuse what-if)",
            ),
            row(
                "zero entries",
                self.zero_entries.to_string(),
                "IND_ZERO entries: destination pages cleared with no source page (Xen)",
            ),
            row(
                "control rejected",
                self.control_rejected.to_string(),
                "control blocks put on the extra list",
            ),
            row(
                "kmap",
                format!("{} ({} highmem)", self.kmap, self.kmap_highmem),
                "kmap_local_page / kmap_atomic / clear_highpage / copy_highpage",
            ),
            row(
                "entry writes",
                self.entry_writes.to_string(),
                "entry words written",
            ),
            row(
                "entry reads",
                self.entry_reads.to_string(),
                "entry words read by list walks",
            ),
            row(
                "kimage_dst_used walk",
                self.kernel_walk_steps.to_string(),
                "entries the kernel's linear kimage_dst_used walks would read",
            ),
            row(
                "held lowmem",
                self.lowmem_held.to_string(),
                "pages the image holds in lowmem",
            ),
            row(
                "held highmem",
                self.highmem_held.to_string(),
                "pages the image holds in highmem",
            ),
        ]
    }
}

/// The events of a run, when recorded.
#[derive(Debug, Clone, Default)]
pub struct Trace {
    /// Whether events are kept (counters always are).
    pub enabled: bool,
    /// Keep only [`Event::Alloc`]: the allocation order, all a same-order
    /// goal reads of its first design's run.
    pub allocs_only: bool,
    /// Keep the events up to the first [`Event::LoadPage`] only (the
    /// timeline's step 0), then none: the trace turns itself off there.
    pub first_step_only: bool,
    /// The events, in order.
    pub events: Vec<Event>,
}

impl Trace {
    /// Record an event.
    #[inline]
    pub fn push(&mut self, e: Event) {
        if !self.enabled {
            return;
        }
        // Step 0 ends at the first page loaded, whichever events are kept.
        if self.first_step_only && matches!(e, Event::LoadPage { .. }) {
            self.enabled = false;
            return;
        }
        if !self.allocs_only || matches!(e, Event::Alloc { .. }) {
            self.events.push(e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gfp::GFP_KERNEL;

    fn alloc(call: u64) -> Event {
        Event::Alloc {
            call,
            gfp: GFP_KERNEL,
            order: 0,
            pfn: call,
        }
    }

    /// Step 0 ends at the first LoadPage whatever else the trace drops:
    /// a trace keeping only the allocator calls keeps none after it.
    #[test]
    fn first_step_ends_at_the_first_page_with_allocs_only_too() {
        for allocs_only in [false, true] {
            let mut t = Trace {
                enabled: true,
                allocs_only,
                first_step_only: true,
                events: Vec::new(),
            };
            t.push(alloc(1));
            t.push(Event::LoadPage {
                seg: 0,
                page: 0,
                dest: 0x1000,
            });
            t.push(alloc(2));
            assert_eq!(t.events, vec![alloc(1)], "allocs_only {allocs_only}");
            assert!(!t.enabled);
        }
    }
}
