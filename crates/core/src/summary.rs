//! Serializable summaries of runs, for the web playground and its worker:
//! verdicts, counters, the indirection pages, a bucketed memory map, and
//! every trace event in words.

use crate::arch::PAGE_SHIFT;
use crate::entry::{describe as describe_entry, IND_INDIRECTION};
use crate::gfp::Zone;
use crate::kimage::{Kimage, Role, Stop};
use crate::memory::Machine;
use crate::run::{Outcome, VariantRun};
use crate::trace::{Counters, Event, Pos};
use serde::{Deserialize, Serialize};

/// Roles in map order (index into [`MapBucket::counts`]); the last slot
/// counts destination pages (a segment's target, whoever holds it).
pub const MAP_ROLES: [Role; 7] = [
    Role::Source,
    Role::Indirection,
    Role::DestPages,
    Role::Unusable,
    Role::Freed,
    Role::ControlCode,
    Role::Swap,
];

/// The index of `role` in [`MAP_ROLES`] (and [`MapBucket::counts`]).
const fn map_slot(role: Role) -> usize {
    match role {
        Role::Source => 0,
        Role::Indirection => 1,
        Role::DestPages => 2,
        Role::Unusable => 3,
        Role::Freed => 4,
        Role::ControlCode => 5,
        Role::Swap => 6,
    }
}

/// Index of "destination" in [`MapBucket::counts`].
pub const MAP_DEST: usize = 7;

/// Buckets of the memory map.
pub const MAP_BUCKETS: u64 = 256;

/// One indirection page of a list, in walk order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageInfo {
    /// Its pfn.
    pub pfn: u64,
    /// Its zone.
    pub zone: String,
    /// Whether it lacks a direct mapping.
    pub highmem: bool,
    /// Index (in the entries array, head = 0) of its slot 0.
    pub first: usize,
}

impl PageInfo {
    /// Indirection page `pfn` of machine `m`, its slot 0 at entry `first`.
    pub fn new(m: &Machine, pfn: u64, first: usize) -> PageInfo {
        PageInfo {
            pfn,
            zone: m.zone_name(pfn).to_string(),
            highmem: m.page_highmem(pfn),
            first,
        }
    }
}

/// A run of pages of the memory map, counted by role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MapBucket {
    /// Pages per role (in [`MAP_ROLES`] order), then destination pages.
    pub counts: [u32; 8],
}

/// A zone's span on the map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZoneSpan {
    /// Zone name.
    pub zone: String,
    /// First pfn.
    pub start: u64,
    /// End pfn (exclusive).
    pub end: u64,
}

/// The physical memory of a run, bucketed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemMap {
    /// pfns per bucket.
    pub bucket_pages: u64,
    /// End pfn of the map (max pfn of RAM or destinations).
    pub end_pfn: u64,
    /// max_low_pfn (the lowmem line), if the arch has highmem.
    pub lowmem_pfn: Option<u64>,
    /// Zones.
    pub zones: Vec<ZoneSpan>,
    /// RAM ranges (pfns).
    pub ram: Vec<(u64, u64)>,
    /// The buckets.
    pub buckets: Vec<MapBucket>,
}

/// A run, summarized.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunSummary {
    /// Variant name.
    pub variant: String,
    /// One-sentence verdict.
    pub verdict: String,
    /// kexec-sim exit status.
    pub status: i32,
    /// loaded, unloaded, error, fault, replay-error, limit.
    pub kind: String,
    /// The errno name, for errors.
    pub errno: Option<String>,
    /// The segment sanity_check_segment_list rejected.
    pub bad_segment: Option<usize>,
    /// The `relocate:` line, when checked.
    pub relocation: Option<String>,
    /// Counters at the end of the load.
    pub counters: Counters,
    /// image->head.
    pub head: u64,
    /// Indirection pages in walk order.
    pub pages: Vec<PageInfo>,
    /// The memory map.
    pub map: MemMap,
    /// Number of timeline steps (alloc_init, one per page loaded, terminate).
    pub steps: usize,
    /// Entry width in bytes.
    pub entry_bytes: u64,
}

/// The word list of a run: head first (Xen: slot 0 of head's page), then
/// every entry, then the word that ended the walk (IND_DONE for a loaded
/// image); empty when nothing loaded.
pub fn entry_words(r: &VariantRun) -> Vec<u64> {
    if r.outcome != Outcome::Loaded {
        return Vec::new();
    }
    let mut v: Vec<u64> = r.entries.words().to_vec();
    v.push(r.end_word);
    v
}

/// Summarize a run.
pub fn summarize(r: &VariantRun) -> RunSummary {
    let k = &r.kimage;
    let m = &k.machine;
    let (kind, errno) = match &r.outcome {
        Outcome::Loaded => ("loaded", None),
        Outcome::Unloaded => ("unloaded", None),
        Outcome::Stopped(Stop::Errno { errno, .. }) => ("error", Some(errno.name().to_string())),
        Outcome::Stopped(Stop::Fault(_)) => ("fault", None),
        Outcome::Stopped(Stop::Replay(_)) => ("replay-error", None),
        Outcome::Stopped(Stop::Limit(_)) => ("limit", None),
        Outcome::Stopped(Stop::NotLoaded(_)) => ("not-loaded", None),
    };
    let mut pages = Vec::new();
    if k.design().head_is_page() && k.head() != 0 {
        // Xen: head names the first page; the list starts in it.
        let pfn = k.head() >> PAGE_SHIFT;
        pages.push(PageInfo::new(m, pfn, 0));
    }
    for (i, &e) in r.entries.words().iter().enumerate() {
        if e & IND_INDIRECTION != 0 {
            let pfn = e >> PAGE_SHIFT;
            pages.push(PageInfo::new(m, pfn, i + 1));
        }
    }
    RunSummary {
        variant: r.label.clone(),
        verdict: r.verdict(),
        status: r.exit_status(),
        kind: kind.to_string(),
        errno,
        bad_segment: k.bad_segment,
        relocation: r.relocation.as_ref().map(crate::report::relocate_line),
        counters: r.counters.clone(),
        head: k.head(),
        pages,
        map: mem_map(k),
        steps: k.pages_started as usize + 1,
        entry_bytes: m.arch.entry_bytes(),
    }
}

fn mem_map(k: &Kimage) -> MemMap {
    let m = &k.machine;
    let dest_end = k
        .segments
        .iter()
        .map(|s| (s.mem.saturating_add(s.memsz)) >> PAGE_SHIFT)
        .max()
        .unwrap_or(0)
        .min(m.arch.max_phys >> PAGE_SHIFT);
    let end_pfn = m.max_pfn().max(dest_end).max(1);
    let bucket_pages = end_pfn.div_ceil(MAP_BUCKETS).max(1);
    let n = end_pfn.div_ceil(bucket_pages) as usize;
    let mut buckets = vec![MapBucket { counts: [0; 8] }; n];
    if cfg!(feature = "small") {
        // The page's module: a call per page. Its runs are small, and the
        // count below costs it 0.8 KiB of its gzipped bytes.
        for (pfn, role) in k.roles.iter() {
            if let Some(bucket) = buckets.get_mut((pfn / bucket_pages) as usize) {
                bucket.counts[map_slot(role)] += 1 << k.order_of(pfn);
            }
        }
    } else {
        // A page of every role a design holds (262,144 of them for a
        // 1 GiB image): counted over the role table's bytes a bucket at a
        // time, a block's other pages (1 << order) added from the few
        // blocks of a higher order.
        k.roles.count_per_range(bucket_pages, |b, role, pages| {
            if let Some(bucket) = buckets.get_mut(b as usize) {
                bucket.counts[map_slot(role)] += pages as u32;
            }
        });
        for (pfn, order) in k.higher_orders() {
            let bucket = buckets.get_mut((pfn / bucket_pages) as usize);
            if let (Some(bucket), Some(role)) = (bucket, k.roles.get(pfn)) {
                bucket.counts[map_slot(role)] += (1 << order) - 1;
            }
        }
    }
    for s in &k.segments {
        let start = s.mem >> PAGE_SHIFT;
        let end = (s.mem.saturating_add(s.memsz) >> PAGE_SHIFT).min(end_pfn);
        let mut p = start;
        while p < end {
            let b = (p / bucket_pages) as usize;
            let bend = ((b as u64 + 1) * bucket_pages).min(end);
            if let Some(bucket) = buckets.get_mut(b) {
                bucket.counts[MAP_DEST] += (bend - p) as u32;
            }
            p = bend;
        }
    }
    let mut zones = Vec::new();
    for z in [
        Zone::Dma,
        Zone::Dma32,
        Zone::Normal,
        Zone::HighMem,
        Zone::Movable,
    ] {
        for (start, end) in m.zone_ranges(z) {
            zones.push(ZoneSpan {
                zone: z.name().to_string(),
                start,
                end,
            });
        }
    }
    zones.sort_by_key(|z| z.start);
    MemMap {
        bucket_pages,
        end_pfn,
        lowmem_pfn: m.lowmem_end().map(|l| (l >> PAGE_SHIFT).min(end_pfn)),
        zones,
        ram: m.ram().to_vec(),
        buckets,
    }
}

/// Indices of the LoadPage events (each starts a timeline step).
pub fn step_starts(events: &[Event]) -> Vec<usize> {
    events
        .iter()
        .enumerate()
        .filter(|(_, e)| matches!(e, Event::LoadPage { .. }))
        .map(|(i, _)| i)
        .collect()
}

/// The events of timeline step `k` in words: step 0 is kimage_alloc_init,
/// step i (1-based) is the i-th page loaded, the last step runs to the end.
pub fn step_text(k: &Kimage, starts: &[usize], step: usize) -> Vec<String> {
    let events = &k.trace.events;
    let from = if step == 0 {
        0
    } else {
        starts.get(step - 1).copied().unwrap_or(events.len())
    };
    let to = starts.get(step).copied().unwrap_or(events.len());
    events[from.min(to)..to]
        .iter()
        .map(|e| describe(k, e))
        .collect()
}

fn page(k: &Kimage, pfn: u64) -> String {
    let m = &k.machine;
    format!("pfn 0x{pfn:x} ({}, {})", m.zone_name(pfn), m.map_name(pfn))
}

fn at(k: &Kimage, pos: Pos) -> String {
    k.design().fmt_pos(pos)
}

/// One event in words, with the kernel's names.
pub fn describe(k: &Kimage, e: &Event) -> String {
    let arch = k.machine.arch;
    match *e {
        Event::Alloc { call, gfp, order, pfn } => {
            format!("alloc_pages({gfp}, order {order}) #{call} -> {}", page(k, pfn))
        }
        Event::AllocFailed { gfp, order } => format!("alloc_pages({gfp}, order {order}) fails: no page"),
        Event::ControlRejected { pfn, over_limit, .. } => format!(
            "kimage_alloc_normal_control_pages: {} {}; onto the extra list",
            page(k, pfn),
            if over_limit { "ends at or above KEXEC_CONTROL_MEMORY_LIMIT" } else { "is a destination" }
        ),
        Event::ControlPage { pfn, swap, .. } => format!(
            "{} = {}",
            if swap { "image->swap_page" } else { "image->control_code_page" },
            page(k, pfn)
        ),
        Event::LoadPage { seg, page: p, dest } => format!(
            "kimage_load_normal_segment: segment {seg} page {p}, destination 0x{dest:x}"
        ),
        Event::DestPageFiled { pfn } => format!(
            "kimage_alloc_page: {} is another page's destination with no source yet: onto image->dest_pages",
            page(k, pfn)
        ),
        Event::DestPageReused { pfn } => format!("kimage_alloc_page: takes {} back from image->dest_pages", page(k, pfn)),
        Event::Unusable { pfn } => format!(
            "kimage_alloc_page: {} is above KEXEC_SOURCE_MEMORY_LIMIT 0x{:x}: onto image->unusable_pages",
            page(k, pfn),
            arch.source_limit
        ),
        Event::Swap { new_pfn, old_pfn, dest, pos } => format!(
            "kimage_alloc_page: {} is destination 0x{dest:x}, whose source is {}: copy_highpage, the entry at {} becomes {}, the old page is handed out",
            page(k, new_pfn),
            page(k, old_pfn),
            at(k, pos),
            describe_entry(arch, k.design().swap_entry(dest, crate::entry::IND_SOURCE))
        ),
        Event::ReuseFree { pfn } => format!(
            "kimage_alloc_page (skip-reuse what-if): an indirection page was asked for, so the old page {} is freed, not handed back; try again",
            page(k, pfn)
        ),
        Event::HighmemFree { pfn } => format!(
            "kimage_alloc_page: the old page {} fails the caller's highmem test (no __GFP_HIGHMEM): freed, try again",
            page(k, pfn)
        ),
        Event::Indirection { pfn } => format!("kimage_add_entry: new indirection page {}", page(k, pfn)),
        Event::Entry { pos, value } => format!("kimage_add_entry: {} at {}", describe_entry(arch, value), at(k, pos)),
        Event::Terminate { pos } => format!("kimage_terminate: IND_DONE at {}", at(k, pos)),
        Event::Free { pfn, order } => format!("kimage_free_pages: {} (order {order})", page(k, pfn)),
    }
}

/// A set of runs: summaries plus the email report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summaries {
    /// One per variant.
    pub runs: Vec<RunSummary>,
    /// The 72-column text report.
    pub report: String,
    /// Instead of the report, each run's section of it
    /// ([`crate::report::section`]): a part of a big run's designs run in
    /// a second worker, which the first assembles with its own.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sections: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_slot_is_the_index_in_map_roles() {
        for (i, &role) in MAP_ROLES.iter().enumerate() {
            assert_eq!(map_slot(role), i, "{role:?}");
        }
    }
}
