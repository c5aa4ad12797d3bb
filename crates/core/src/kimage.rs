//! The kimage: loading a normal (non-crash) image as kexec_load does.
//!
//! Mirrors kernel/kexec.c `kimage_alloc_init` / `do_kexec_load` and
//! kernel/kexec_core.c `sanity_check_segment_list` (whose rules are
//! [`crate::sanity`]'s),
//! `kimage_alloc_normal_control_pages`, `kimage_alloc_page`,
//! `kimage_dst_used`, `kimage_add_entry`, `kimage_load_normal_segment`,
//! `kimage_terminate` and `kimage_free`. The entry list itself is kept by an
//! [`EntryList`] design.
//!
//! Deviations, all deliberate:
//! * `kimage_dst_used` is answered through an index (destination → entry
//!   position) instead of the kernel's linear walk; the walk length the
//!   kernel would pay is added to [`Counters::kernel_walk_steps`].
//! * `machine_kexec_prepare`'s page-table pages (x86_64 identity map, x86_32
//!   pgd/pmd/pte) are not modelled: the allocator stream is the control code
//!   page, the swap page, then the pages of each segment.
//! * Crash (kdump) images, file-mode loads and a fatal signal during
//!   kimage_alloc_pages are not modelled.
//! * Xen's `machine_kexec_add_page` page-table pages (aux_page and its
//!   L3/L2/L1 tables, allocated as control pages after the control code
//!   page and as destinations are mapped) are not modelled either: Xen's
//!   stream here is the control code page, the first indirection page,
//!   then each segment's pages.

use crate::arch::{PAGE_MASK, PAGE_SHIFT, PAGE_SIZE};
use crate::design::{Ctx, EntryList, Fault, FaultInfo, HighmemCheck, Setup, Variant};
use crate::entry::{
    Walked, IND_DESTINATION, IND_DONE, IND_INDIRECTION, IND_SOURCE, IND_ZERO, KIMAGE_NO_DEST,
};
use crate::errno::Errno;
use crate::gfp::{Gfp, KEXEC_CONTROL_MEMORY_GFP};
use crate::memory::{Content, Machine, PageStore};
use crate::page_alloc::{AllocError, PageAllocator, PageBitmap, Policy, ReplayError};
use crate::sanity::{self, ImageType, RuleSet};
use crate::sparse::SectionMap;
use crate::trace::{Counters, Event, Pos, Trace};
use rustc_hash::FxHashMap;
use std::fmt;

/// Most pages the model loads in one run (a 4 GiB image).
pub const MAX_IMAGE_PAGES: u64 = 1 << 20;

/// One `struct kexec_segment` (the user buffer is a pattern, not bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    /// Bytes of buffer to copy.
    pub bufsz: u64,
    /// Destination physical address.
    pub mem: u64,
    /// Destination size.
    pub memsz: u64,
}

/// What a page handed out by the allocator is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// image->control_code_page.
    ControlCode,
    /// image->swap_page.
    Swap,
    /// An indirection page of the list.
    Indirection,
    /// A source page of the list.
    Source,
    /// Parked on image->dest_pages.
    DestPages,
    /// Parked on image->unusable_pages.
    Unusable,
    /// Handed out, then freed.
    Freed,
}

impl Role {
    /// A short label for maps and reports.
    pub fn label(self) -> &'static str {
        match self {
            Role::ControlCode => "control",
            Role::Swap => "swap",
            Role::Indirection => "indirection",
            Role::Source => "source",
            Role::DestPages => "dest_pages",
            Role::Unusable => "unusable",
            Role::Freed => "freed",
        }
    }
}

/// The role of every page handed out, one byte per pfn in sections made on
/// first use ([`SectionMap`]): one read per lookup, no hashing.
///
/// The load gives a role to a random pfn for nearly every allocator call
/// (a byte in a table of a byte per pfn: 4 MiB on huge-initrd's 16 GiB,
/// a cache miss each); it never reads one back until the load is over.
/// So [`RoleMap::insert`] appends to a log, and [`RoleMap::settle`]
/// writes the log into the table in one loop (independent stores, which
/// the CPU overlaps, instead of one in every step of the load). The
/// kimage settles the map when a load ends and before it reads a role;
/// a read of an unsettled map is still right, only slower.
#[derive(Debug, Clone, Default)]
pub struct RoleMap {
    codes: SectionMap<u8, 9>,
    /// Roles given and not yet written to `codes`, in order: pfn << 3 |
    /// the role's code.
    log: Vec<u64>,
}

const ROLES: [Role; 7] = [
    Role::ControlCode,
    Role::Swap,
    Role::Indirection,
    Role::Source,
    Role::DestPages,
    Role::Unusable,
    Role::Freed,
];

impl Role {
    /// The role's byte in a [`RoleMap`] (0: no role).
    #[inline]
    fn code(self) -> u8 {
        match self {
            Role::ControlCode => 1,
            Role::Swap => 2,
            Role::Indirection => 3,
            Role::Source => 4,
            Role::DestPages => 5,
            Role::Unusable => 6,
            Role::Freed => 7,
        }
    }
}

impl RoleMap {
    /// Record the role of `pfn`.
    #[inline]
    pub fn insert(&mut self, pfn: u64, r: Role) {
        if self.log.len() >= Self::LOG_MAX {
            self.settle();
        }
        self.log.push(pfn << 3 | u64::from(r.code()));
    }

    /// Roles logged before they are written (512 KiB of log): a long
    /// load writes them in batches of this many into one log, not all
    /// into a log as long as the load.
    const LOG_MAX: usize = 1 << 16;

    /// Write the roles given since the last settle into the table.
    pub fn settle(&mut self) {
        for &x in &self.log {
            *self.codes.get_mut(x >> 3) = (x & 7) as u8;
        }
        self.log.clear();
    }

    /// A flat array for the roles of the pfns below `pfns`
    /// ([`SectionMap::reserve`]; an empty map only).
    pub fn reserve(&mut self, pfns: u64) {
        self.codes.reserve(pfns);
    }

    /// Empty, keeping the allocations.
    pub fn clear(&mut self) {
        self.codes.clear();
        self.log.clear();
    }

    /// The map settled: `self` if it is, else a settled copy.
    fn settled(&self) -> std::borrow::Cow<'_, RoleMap> {
        if self.log.is_empty() {
            std::borrow::Cow::Borrowed(self)
        } else {
            let mut m = self.clone();
            m.settle();
            std::borrow::Cow::Owned(m)
        }
    }

    /// The role of `pfn`, if it was ever handed out.
    #[inline]
    pub fn get(&self, pfn: u64) -> Option<Role> {
        let logged = self.log.iter().rev().find(|&&x| x >> 3 == pfn);
        match logged.map_or_else(|| self.codes.get(pfn), |&x| (x & 7) as u8) {
            0 => None,
            code => Some(ROLES[usize::from(code) - 1]),
        }
    }

    /// Every page with a role, by ascending pfn.
    pub fn iter(&self) -> impl Iterator<Item = (u64, Role)> + '_ {
        // Unsettled (rare: the kimage settles before it reads), a
        // settled copy's roles, collected; else the table's, as they are.
        let copied = (!self.log.is_empty()).then(|| {
            let mut v = Vec::new();
            self.for_each(|pfn, r| v.push((pfn, r)));
            v
        });
        let table = copied.is_none().then(|| self.iter_codes());
        copied
            .into_iter()
            .flatten()
            .chain(table.into_iter().flatten())
    }

    /// [`RoleMap::iter`] of the table alone.
    fn iter_codes(&self) -> impl Iterator<Item = (u64, Role)> + '_ {
        // Eight bytes a step: a section is mostly pages without a role.
        self.codes.sections().flat_map(|(first, codes)| {
            codes
                .chunks_exact(8)
                .enumerate()
                .filter(|(_, w)| u64::from_le_bytes((*w).try_into().expect("8 bytes")) != 0)
                .flat_map(move |(i, w)| {
                    let at = first + 8 * i as u64;
                    w.iter()
                        .enumerate()
                        .filter(|(_, &c)| c != 0)
                        .map(move |(j, &c)| (at + j as u64, ROLES[usize::from(c) - 1]))
                })
        })
    }

    /// [`RoleMap::iter`] as a loop calling `f`, eight bytes a step.
    #[inline]
    pub fn for_each(&self, mut f: impl FnMut(u64, Role)) {
        let m = self.settled();
        for (first, codes) in m.codes.sections() {
            for (i, w) in codes.chunks_exact(8).enumerate() {
                if u64::from_le_bytes(w.try_into().expect("8 bytes")) == 0 {
                    continue;
                }
                for (j, &c) in w.iter().enumerate() {
                    if c != 0 {
                        f(first + (8 * i + j) as u64, ROLES[usize::from(c) - 1]);
                    }
                }
            }
        }
    }

    /// Pages per role in each range of `width` pfns (range `n` is pfns
    /// `n * width..(n + 1) * width`): `f(n, role, pages)` for each range
    /// and role with a page, ranges ascending; a range the table keeps
    /// in more than one section comes once per section (add them). One
    /// page a pfn (a block's order is the caller's). A count over the
    /// sections' bytes, eight at a time where none has a role, without a
    /// call per page.
    pub fn count_per_range(&self, width: u64, mut f: impl FnMut(u64, Role, u64)) {
        let width = width.max(1);
        let m = self.settled();
        for (first, codes) in m.codes.sections() {
            let mut at = 0;
            while at < codes.len() {
                let n = (first + at as u64) / width;
                let end = ((n + 1).saturating_mul(width) - first).min(codes.len() as u64) as usize;
                // Per code (0: none).
                let mut counts = [0u64; 8];
                for w in codes[at..end].chunks(8) {
                    if <[u8; 8]>::try_from(w).is_ok_and(|b| u64::from_ne_bytes(b) == 0) {
                        continue;
                    }
                    for &c in w {
                        counts[usize::from(c & 7)] += 1;
                    }
                }
                for (code, &c) in counts.iter().enumerate().skip(1) {
                    if c > 0 {
                        f(n, ROLES[code - 1], c);
                    }
                }
                at = end;
            }
        }
    }

    /// Pages held (a role other than [`Role::Freed`]) below pfn `line`
    /// and at or above it, one page each: a count over the sections'
    /// bytes, without visiting pages one by one.
    pub fn held_split(&self, line: u64) -> (u64, u64) {
        let held = |codes: &[u8]| {
            // Codes 1..=6 (Freed is 7, none 0: three bits), eight bytes a
            // step: a byte with some bit set, and not all three.
            const LOW: u64 = 0x0101_0101_0101_0101;
            let words = codes.chunks_exact(8);
            let rest = words.remainder();
            let mut n = 0;
            for w in words {
                let w = u64::from_le_bytes(w.try_into().expect("8 bytes"));
                let any = (w | w >> 1 | w >> 2) & LOW;
                let all = w & (w >> 1) & (w >> 2) & LOW;
                n += u64::from((any & !all).count_ones());
            }
            n + rest
                .iter()
                .filter(|&&c| c != 0 && c != Role::Freed.code())
                .count() as u64
        };
        let (mut below, mut above) = (0, 0);
        let m = self.settled();
        for (first, codes) in m.codes.sections() {
            let split = (line.clamp(first, first + codes.len() as u64) - first) as usize;
            below += held(&codes[..split]);
            above += held(&codes[split..]);
        }
        (below, above)
    }
}

/// Why a run stopped early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// The kernel returns an error to user space.
    Errno {
        /// The errno.
        errno: Errno,
        /// One sentence naming the rule or function.
        reason: String,
    },
    /// The kernel would oops or corrupt memory.
    Fault(Fault),
    /// The replay list cannot be followed.
    Replay(ReplayError),
    /// The model's own size limit.
    Limit(String),
    /// A kernel build the scenario names is not loaded in this front end.
    NotLoaded(String),
}

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stop::Errno { errno, reason } => write!(f, "-{errno}: {reason}"),
            Stop::Fault(x) => write!(f, "fault: {x}"),
            Stop::Replay(r) => write!(f, "{r}"),
            Stop::Limit(s) => write!(f, "model limit: {s}"),
            Stop::NotLoaded(s) => f.write_str(s),
        }
    }
}

fn errno(errno: Errno, reason: impl Into<String>) -> Stop {
    Stop::Errno {
        errno,
        reason: reason.into(),
    }
}

/// A page filed on dest_pages, for its destination's slot: its index in
/// dest_pages (below 2^22: every page came from one of at most
/// [`crate::page_alloc::MAX_ALLOC_CALLS`] calls) and its pfn, in one word
/// tagged [`DST_SLOT`], so that taking it back reads no other array.
/// `None` for a pfn at or above 2^41.
fn pack_dest(idx: usize, pfn: u64) -> Option<u64> {
    debug_assert!((idx as u64) < (1 << 22) - 1);
    (pfn < 1 << 41).then_some(DST_SLOT | pfn << 22 | (idx as u64 + 1))
}

fn unpack_dest(x: u64) -> (usize, u64) {
    ((x & ((1 << 22) - 1)) as usize - 1, (x & !DST_SLOT) >> 22)
}

/// The index behind kimage_dst_used: per segment, per destination page, one
/// word (0: nothing). Either the SOURCE entry's position and walk ordinal
/// (bit 63 clear): the ordinal + 1 in bits 0-31, the slot in bits 32-42,
/// the position's page in bits 43-62 (0: image->head, else 1 + its number
/// among the pages entries were stored in; a position that does not fit
/// is kept in a map); or the destination's dest_pages slot (bit 63 set,
/// as [`pack_dest`]): the page kimage_dst_used finds nothing for is filed
/// there at once. A destination has one or the other: a page is filed
/// only where no SOURCE entry is, and its slot is taken back just before
/// the destination's own entry is added (a slot that meets an index word
/// all the same goes to a map). Eight bytes a destination page: the
/// table the swaps read at random is half what a word of each took.
#[derive(Debug, Clone, Default)]
struct DstIndex {
    /// Per segment, per destination page: the word.
    words: Vec<Vec<u64>>,
    /// Per segment: one past the highest destination page ever given an
    /// index word. Pages at or above it have none, so a lookup there
    /// (most of kimage_dst_used's misses: a random page in a destination
    /// the load has not reached) reads no index word, a cache miss
    /// in a table of 8 bytes per destination page.
    set_end: Vec<usize>,
    pages: Vec<u64>,
    page_ids: FxHashMap<u64, u64>,
    /// The last page numbered, and its code.
    last: Option<(u64, u64)>,
    wide: FxHashMap<(usize, usize), (Pos, u64)>,
    /// dest_pages slots that do not fit in their destination's word: the
    /// page's index in dest_pages and its pfn.
    wide_slots: FxHashMap<(usize, usize), (usize, u64)>,
}

/// An index word kept in [`DstIndex::wide`] (no packed word has all of
/// bits 0-31 set: the ordinal + 1 is below 2^32 - 1).
const DST_WIDE: u64 = u64::MAX >> 1;
/// The tag of a dest_pages slot in a [`DstIndex`] word.
const DST_SLOT: u64 = 1 << 63;

impl DstIndex {
    /// Empty, as `DstIndex::default()` makes it but for the per-segment
    /// word vectors, which are kept empty for [`Kimage::build_indexes`] to
    /// size (a 1 GiB image's are 2 MB, made again by every run before).
    fn clear(&mut self) {
        // Every field named: one added later must be thought about here.
        let DstIndex {
            words,
            set_end,
            pages,
            page_ids,
            last,
            wide,
            wide_slots,
        } = self;
        words.iter_mut().for_each(Vec::clear);
        set_end.clear();
        pages.clear();
        page_ids.clear();
        *last = None;
        wide.clear();
        wide_slots.clear();
    }

    fn page_code(&mut self, pfn: u64) -> u64 {
        if let Some((p, code)) = self.last {
            if p == pfn {
                return code;
            }
        }
        let code = *self.page_ids.entry(pfn).or_insert_with(|| {
            self.pages.push(pfn);
            self.pages.len() as u64
        });
        self.last = Some((pfn, code));
        code
    }

    #[cfg_attr(not(feature = "small"), inline(always))]
    #[cfg_attr(feature = "small", inline)]
    fn set(&mut self, s: usize, j: usize, pos: Pos, ord: u64) {
        let packed = match pos {
            Pos::Head => Some(0),
            Pos::Slot { pfn, idx } => {
                let code = self.page_code(pfn);
                (idx < 1 << 11 && code < (1 << 20) - 1).then_some(code << 43 | u64::from(idx) << 32)
            }
        }
        .filter(|_| ord < u64::from(u32::MAX) - 1)
        .map(|p| p | (ord + 1));
        let was = self.words[s][j];
        if was == DST_WIDE {
            self.wide.remove(&(s, j));
        } else if was & DST_SLOT != 0 {
            self.wide_slots.insert((s, j), unpack_dest(was));
        }
        self.set_end[s] = self.set_end[s].max(j + 1);
        self.words[s][j] = match packed {
            Some(w) => w,
            None => {
                self.wide.insert((s, j), (pos, ord));
                DST_WIDE
            }
        };
    }

    #[cfg_attr(not(feature = "small"), inline(always))]
    #[cfg_attr(feature = "small", inline)]
    fn get(&self, s: usize, j: usize) -> Option<(Pos, u64)> {
        if j >= self.set_end[s] {
            return None;
        }
        match self.words[s][j] {
            0 => None,
            w if w & DST_SLOT != 0 => None,
            DST_WIDE => self.wide.get(&(s, j)).copied(),
            w => {
                let ord = (w & u64::from(u32::MAX)) - 1;
                let pos = match w >> 43 {
                    0 => Pos::Head,
                    code => Pos::Slot {
                        pfn: self.pages[code as usize - 1],
                        idx: ((w >> 32) & ((1 << 11) - 1)) as u32,
                    },
                };
                Some((pos, ord))
            }
        }
    }

    /// The page filed in the dest_pages slot of segment `s`'s
    /// destination page `j`, as its index in dest_pages and its pfn, left
    /// in place.
    fn slot(&self, s: usize, j: usize) -> Option<(usize, u64)> {
        match self.words[s][j] {
            w if w & DST_SLOT != 0 => Some(unpack_dest(w)),
            _ if self.wide_slots.is_empty() => None,
            _ => self.wide_slots.get(&(s, j)).copied(),
        }
    }

    /// [`DstIndex::slot`], taken out of the slot.
    #[cfg_attr(not(feature = "small"), inline(always))]
    #[cfg_attr(feature = "small", inline)]
    fn take_slot(&mut self, s: usize, j: usize) -> Option<(usize, u64)> {
        let w = &mut self.words[s][j];
        if *w & DST_SLOT != 0 {
            return Some(unpack_dest(std::mem::take(w)));
        }
        if self.wide_slots.is_empty() {
            return None;
        }
        self.wide_slots.remove(&(s, j))
    }

    /// File page `pfn`, dest_pages index `idx`, in the slot of segment
    /// `s`'s destination page `j`.
    #[cfg_attr(not(feature = "small"), inline(always))]
    fn file_slot(&mut self, s: usize, j: usize, idx: usize, pfn: u64) {
        // At or above set_end no index word was ever given: the word is
        // empty or a slot, and is written without being read (a random
        // destination's word, most often not in the cache).
        let unset = j >= self.set_end[s];
        let w = &mut self.words[s][j];
        match pack_dest(idx, pfn) {
            Some(x) if unset || *w == 0 || *w & DST_SLOT != 0 => *w = x,
            _ => {
                self.wide_slots.insert((s, j), (idx, pfn));
            }
        }
    }

    /// Empty every dest_pages slot (kimage_free emptied the list).
    fn clear_slots(&mut self) {
        for w in self.words.iter_mut().flatten() {
            if *w & DST_SLOT != 0 {
                *w = 0;
            }
        }
        self.wide_slots.clear();
    }
}

#[derive(Debug, Clone, Copy)]
struct IndPage {
    start: u64,
    highmem: bool,
    cum_before: u64,
}

/// What [`Kimage::walk`] hands the entries it reads to, in walk order:
/// one at a time, or a page's run of entries at consecutive slots at once
/// (by default each of them in turn).
pub trait Visit {
    /// The walk read entry `e` at `pos`.
    fn entry(&mut self, pos: Pos, e: u64);
    /// The walk read `words`, each masked with `mask`, at consecutive
    /// slots of page `pfn` from slot `idx` on (none of them 0, IND_DONE
    /// or an indirection).
    fn run(&mut self, pfn: u64, idx: u32, words: &[u64], mask: u64) {
        for (k, &w) in words.iter().enumerate() {
            let idx = idx + k as u32;
            self.entry(Pos::Slot { pfn, idx }, w & mask);
        }
    }
}

impl<F: FnMut(Pos, u64)> Visit for F {
    fn entry(&mut self, pos: Pos, e: u64) {
        self(pos, e)
    }
}

impl Visit for Walked {
    fn entry(&mut self, pos: Pos, e: u64) {
        self.push(pos, e)
    }
    fn run(&mut self, pfn: u64, idx: u32, words: &[u64], mask: u64) {
        self.push_run(Pos::Slot { pfn, idx }, words, mask)
    }
}

/// A kimage being loaded by one design.
pub struct Kimage {
    /// The machine.
    pub machine: Machine,
    /// The segments as passed to kexec_load.
    pub segments: Vec<Segment>,
    design: Box<dyn EntryList>,
    /// `design`'s fixed answers, read when the kimage took it.
    policies: Policies,
    alloc: PageAllocator,
    /// Page contents.
    pub store: PageStore,
    /// Counters.
    pub counters: Counters,
    /// Events.
    pub trace: Trace,
    dest_pages: Vec<u64>,
    /// Indexes in `dest_pages` of pages taken back for their destination
    /// (kimage_alloc_page's list_del), not yet marked there: the mark is
    /// a store at a random older index, a cache miss each, and nothing
    /// reads the vector until the load ends ([`Kimage::settle`]).
    reused: Vec<u32>,
    unusable_pages: Vec<u64>,
    control_pages: Vec<u64>,
    /// image->control_code_page.
    pub control_code_page: Option<u64>,
    /// image->swap_page.
    pub swap_page: Option<u64>,
    /// Per segment, per destination page: the SOURCE entry's position and
    /// walk ordinal (the index behind kimage_dst_used), and the page filed
    /// on dest_pages for it.
    dst_index: DstIndex,
    /// The lowest segment start and the highest segment end (saturated):
    /// an address outside is no segment's, without visiting them (most
    /// pages the allocator hands out).
    dest_span: (u64, u64),
    cur_dest: u64,
    ordinals: u64,
    ind_pages: Vec<IndPage>,
    orders: FxHashMap<u64, u32>,
    /// Role of every page the allocator handed out (first pfn of a block).
    pub roles: RoleMap,
    /// Pages dropped without being freed, with why.
    pub dropped: FxHashMap<u64, String>,
    /// The segment sanity_check_segment_list rejected, if it did.
    pub bad_segment: Option<usize>,
    loaded_pages: u64,
    /// Pages kimage_load_normal_segment started (the timeline's steps).
    pub pages_started: u64,
    /// What-if (not in any kernel): source pages are asked with
    /// __GFP_MOVABLE added (GFP_HIGHUSER_MOVABLE), so they may come from
    /// ZONE_MOVABLE.
    pub source_movable: bool,
    /// Errors the loader dropped (Xen's kimage_load_segment).
    pub ignored: Vec<String>,
    /// Where the last allocator call was made from, with the caller's
    /// locals the rest of the load reads: kimage_alloc_page (1, its
    /// destination, gfp, the entry kimage_add_entry is adding if it asks
    /// for an indirection page) or the control-page loop (2, swap, limit,
    /// gfp). Part of [`Kimage::hash_state`].
    site: [u64; 4],
}

/// What a design answers about itself the same way for as long as it
/// keeps a list ([`EntryList`]'s fixed answers), read once when the kimage
/// takes it: kimage_alloc_page's loop asks them for nearly every page the
/// allocator hands out, and each ask through the `Box<dyn EntryList>` was
/// an indirect call (two for a design that wraps another).
#[derive(Debug, Clone, Copy)]
struct Policies {
    parks_unusable: bool,
    head_is_page: bool,
    kmaps_entries: bool,
}

impl Policies {
    fn of(design: &dyn EntryList) -> Self {
        Policies {
            parks_unusable: design.parks_unusable(),
            head_is_page: design.head_is_page(),
            kmaps_entries: design.kmaps_entries(),
        }
    }
}

/// The pfns the kimage's per-pfn tables (the page store, the allocator's
/// bitmap, the roles) keep in flat arrays ([`crate::sparse`]): all of
/// the machine's (as many as each table's 16 MiB of flat values hold) for
/// an image of [`FLAT_IMAGE_PAGES`] pages or more, none for a smaller
/// one.
fn flat_pfns(machine: &Machine, segments: &[Segment]) -> u64 {
    let pages = segments
        .iter()
        .fold(0u64, |n, s| n.saturating_add(s.memsz.div_ceil(PAGE_SIZE)));
    if pages >= FLAT_IMAGE_PAGES {
        machine.max_pfn()
    } else {
        0
    }
}

/// The smallest image whose tables are flat arrays (256 MiB, the page's
/// big runs). Its allocations reach a good part of every table's
/// sections, which a directory would scatter (huge-initrd: 262,144
/// pages, 469,631 allocator calls on 2,097,152 pfns; the directory path
/// took 4-7% longer a design, alternated). A smaller image on a large
/// machine, as the explorer's candidates are, touches a few sections,
/// which stay together through the directory; flat arrays for them were
/// 7% slower (their allocation and zeroing at each candidate's machine).
const FLAT_IMAGE_PAGES: u64 = 1 << 16;

/// The segments' destinations as sorted pfn ranges (what the allocator
/// keeps to find a destination page).
fn dest_ranges(segments: &[Segment]) -> Vec<(u64, u64)> {
    let mut v = segments
        .iter()
        .filter(|s| s.memsz > 0)
        .map(|s| {
            (
                s.mem >> PAGE_SHIFT,
                // A wrapping segment (sanity_check_segment_list
                // refuses it later) must not overflow here.
                s.mem.saturating_add(s.memsz).saturating_add(PAGE_SIZE - 1) >> PAGE_SHIFT,
            )
        })
        .collect::<Vec<_>>();
    v.sort_unstable();
    v
}

/// The lowest segment start and the highest segment end (saturated).
fn dest_span(segments: &[Segment]) -> (u64, u64) {
    segments.iter().fold((u64::MAX, 0), |(lo, hi), s| {
        (lo.min(s.mem), hi.max(s.mem.saturating_add(s.memsz)))
    })
}

/// The tables a load fills in proportion to its image (page contents,
/// the allocator's pages in use, roles, events, the dst index and the
/// page lists), kept when a kimage is dropped for the next kimage made on
/// the same thread ([`Kimage::with_design`]).
///
/// Not the kernel's: a real kimage's pages are the machine's. A model run
/// of a 1 GiB image grows about 30 MB of these, section by section;
/// natively glibc hands that memory back to the kernel when the kimage
/// is dropped, and the next run (criterion's loop, a test's next
/// scenario, the CLI's next design) faults it in again, about 1,800 page
/// faults a run. A run in kept tables is the same run: they are emptied
/// before they are used (`LoadTables::clear`), and the golden and
/// preset suites run scenario after scenario in them. Not in the page's
/// module (`small`: its runs are small, and wasm memory is never handed
/// back), where every kimage starts from new tables.
#[derive(Default)]
struct LoadTables {
    store: PageStore,
    used: PageBitmap,
    roles: RoleMap,
    events: Vec<Event>,
    dst_index: DstIndex,
    dest_pages: Vec<u64>,
    reused: Vec<u32>,
    unusable_pages: Vec<u64>,
}

/// Most [`LoadTables`] a thread keeps (the explorer's goals hold two
/// kimages at a time).
#[cfg(not(feature = "small"))]
const SPARE_TABLES: usize = 2;

#[cfg(not(feature = "small"))]
thread_local! {
    static SPARE: std::cell::RefCell<Vec<LoadTables>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl LoadTables {
    /// Tables kept on this thread, emptied, or new ones.
    fn take() -> Self {
        #[cfg(not(feature = "small"))]
        if let Some(mut t) = SPARE.try_with(|s| s.borrow_mut().pop()).ok().flatten() {
            t.clear();
            return t;
        }
        LoadTables::default()
    }

    /// Keep these tables for the thread's next kimage (dropped if the
    /// thread keeps enough, or is ending).
    #[cfg(not(feature = "small"))]
    fn give_back(self) {
        let _ = SPARE.try_with(move |s| {
            let mut s = s.borrow_mut();
            if s.len() < SPARE_TABLES {
                s.push(self);
            }
        });
    }

    /// Empty, as `LoadTables::default()`, keeping the allocations.
    #[cfg(not(feature = "small"))]
    fn clear(&mut self) {
        // Every field named: one added later must be thought about here.
        let LoadTables {
            store,
            used,
            roles,
            events,
            dst_index,
            dest_pages,
            reused,
            unusable_pages,
        } = self;
        store.clear();
        used.clear();
        roles.clear();
        events.clear();
        dst_index.clear();
        dest_pages.clear();
        reused.clear();
        unusable_pages.clear();
    }
}

#[cfg(not(feature = "small"))]
impl Drop for Kimage {
    /// The load's tables go to [`LoadTables`]' spares for the thread's
    /// next kimage.
    fn drop(&mut self) {
        LoadTables {
            store: std::mem::take(&mut self.store),
            used: self.alloc.take_bitmap(),
            roles: std::mem::take(&mut self.roles),
            events: std::mem::take(&mut self.trace.events),
            dst_index: std::mem::take(&mut self.dst_index),
            dest_pages: std::mem::take(&mut self.dest_pages),
            reused: std::mem::take(&mut self.reused),
            unusable_pages: std::mem::take(&mut self.unusable_pages),
        }
        .give_back();
    }
}

/// How often the progress hook runs, in loaded pages.
pub const PROGRESS_EVERY: u64 = 4096;

impl Kimage {
    /// The run's page allocator.
    pub fn allocator(&self) -> &PageAllocator {
        &self.alloc
    }

    /// The run's page allocator, to hand it a replay prefix before the
    /// load or ask it about a pfn after.
    pub fn allocator_mut(&mut self) -> &mut PageAllocator {
        &mut self.alloc
    }

    /// do_kimage_alloc_init plus the segment copy of kimage_alloc_init.
    pub fn new(
        machine: Machine,
        segments: Vec<Segment>,
        variant: Variant,
        policy: Policy,
        trace: bool,
    ) -> Self {
        let design = variant.build(&machine);
        Kimage::with_design(machine, segments, design, policy, trace)
    }

    /// A kimage whose list is kept by `design` (any [`EntryList`], also one
    /// that is not among the [`Variant`]s).
    pub fn with_design(
        machine: Machine,
        segments: Vec<Segment>,
        design: Box<dyn EntryList>,
        policy: Policy,
        trace: bool,
    ) -> Self {
        let LoadTables {
            store,
            used,
            roles,
            events,
            dst_index,
            dest_pages,
            reused,
            unusable_pages,
        } = LoadTables::take();
        let alloc = PageAllocator::new_in(&machine, policy, dest_ranges(&segments), used);
        let dest_span = dest_span(&segments);
        let mut k = Kimage {
            machine,
            segments,
            policies: Policies::of(&*design),
            design,
            alloc,
            store,
            counters: Counters::default(),
            trace: Trace {
                enabled: trace,
                allocs_only: false,
                first_step_only: false,
                events,
            },
            dest_pages,
            reused,
            unusable_pages,
            control_pages: Vec::new(),
            control_code_page: None,
            swap_page: None,
            dst_index,
            dest_span,
            cur_dest: 0,
            ordinals: 0,
            ind_pages: Vec::new(),
            orders: FxHashMap::default(),
            roles,
            dropped: FxHashMap::default(),
            bad_segment: None,
            loaded_pages: 0,
            pages_started: 0,
            source_movable: false,
            ignored: Vec::new(),
            site: [0; 4],
        };
        k.reserve_flat();
        k
    }

    /// This kimage made again as [`Kimage::with_design`] makes it, for
    /// another run on the same machine and segments, with `design` and
    /// `policy`: in this one's allocations (its tables emptied, not
    /// dropped), which is what the exhaustive explorer's millions of
    /// short runs spend most on otherwise. Nothing of the run before is
    /// left: every field is set as `with_design` sets it.
    pub fn recycle(&mut self, design: Box<dyn EntryList>, policy: &Policy, trace: bool) {
        // Every field named: one added later must be thought about here.
        let Kimage {
            machine: _,
            segments: _,
            // A function of the segments, which stay.
            dest_span: _,
            design: my_design,
            policies,
            alloc,
            store,
            counters,
            trace: my_trace,
            dest_pages,
            reused,
            unusable_pages,
            control_pages,
            control_code_page,
            swap_page,
            dst_index,
            cur_dest,
            ordinals,
            ind_pages,
            orders,
            roles,
            dropped,
            bad_segment,
            loaded_pages,
            pages_started,
            source_movable,
            ignored,
            site,
        } = self;
        *policies = Policies::of(&*design);
        *my_design = design;
        alloc.recycle(policy);
        store.clear();
        *counters = Counters::default();
        my_trace.enabled = trace;
        my_trace.allocs_only = false;
        my_trace.first_step_only = false;
        my_trace.events.clear();
        dest_pages.clear();
        reused.clear();
        unusable_pages.clear();
        control_pages.clear();
        *control_code_page = None;
        *swap_page = None;
        dst_index.clear();
        *cur_dest = 0;
        *ordinals = 0;
        ind_pages.clear();
        orders.clear();
        roles.clear();
        dropped.clear();
        *bad_segment = None;
        *loaded_pages = 0;
        *pages_started = 0;
        *source_movable = false;
        ignored.clear();
        *site = [0; 4];
    }

    /// This kimage made again as [`Kimage::with_design`] makes it, for a
    /// run on `machine` and `segments` (any, not only this one's): as
    /// [`Kimage::recycle`], in this one's allocations. The random
    /// explorer's runs of different candidates reuse one kimage's tables.
    pub fn renew(
        &mut self,
        machine: Machine,
        segments: Vec<Segment>,
        design: Box<dyn EntryList>,
        policy: &Policy,
        trace: bool,
    ) {
        self.alloc.renew(&machine, policy, dest_ranges(&segments));
        self.dest_span = dest_span(&segments);
        self.machine = machine;
        self.segments = segments;
        self.recycle(design, policy, trace);
        self.reserve_flat();
    }

    /// The per-pfn tables' flat arrays for this machine and image
    /// ([`flat_pfns`]), asked for while the tables are empty (a new or
    /// renewed kimage). Not in the page's module (`small`): its tables
    /// have no flat arrays.
    fn reserve_flat(&mut self) {
        if cfg!(feature = "small") {
            return;
        }
        let flat = flat_pfns(&self.machine, &self.segments);
        self.store.reserve(flat);
        self.alloc.reserve(flat);
        self.roles.reserve(flat);
    }

    fn build_indexes(&mut self) {
        let pages = |s: &Segment| s.memsz.div_ceil(PAGE_SIZE) as usize;
        let words = &mut self.dst_index.words;
        words.truncate(self.segments.len());
        for (i, s) in self.segments.iter().enumerate() {
            match words.get_mut(i) {
                Some(w) => {
                    w.clear();
                    w.resize(pages(s), 0);
                }
                None => words.push(vec![0; pages(s)]),
            }
        }
        let set_end = &mut self.dst_index.set_end;
        set_end.clear();
        set_end.resize(self.segments.len(), 0);
    }

    /// The segment and page index of destination address `addr`.
    #[cfg_attr(not(feature = "small"), inline(always))]
    #[cfg_attr(feature = "small", inline)]
    fn dest_page(&self, addr: u64) -> Option<(usize, usize)> {
        if addr < self.dest_span.0 || addr >= self.dest_span.1 {
            return None;
        }
        self.segments
            .iter()
            .position(|s| addr >= s.mem && addr < s.mem + s.memsz)
            .map(|i| (i, ((addr - self.segments[i].mem) >> PAGE_SHIFT) as usize))
    }

    /// The design.
    pub fn design(&self) -> &dyn EntryList {
        self.design.as_ref()
    }

    /// image->head.
    pub fn head(&self) -> u64 {
        self.design.head()
    }

    /// The allocator calls made.
    pub fn alloc_calls(&self) -> u64 {
        self.alloc.calls()
    }

    fn split(&mut self) -> (&mut dyn EntryList, Ctx<'_>) {
        let Kimage {
            design,
            machine,
            store,
            counters,
            ..
        } = self;
        (
            design.as_mut(),
            Ctx {
                machine,
                store,
                counters,
            },
        )
    }

    /// sanity_check_segment_list ([`crate::sanity`]): a normal image,
    /// every page of the machine's RAM as totalram_pages (Xen's rule set
    /// for Xen's designs). Records the segment refused in
    /// [`Kimage::bad_segment`].
    pub fn sanity_check_segment_list(&mut self) -> Result<(), Stop> {
        let rules = if self.design.setup() == Setup::Xen {
            RuleSet::Xen
        } else {
            RuleSet::Linux
        };
        let r = sanity::sanity_check_segment_list(
            &self.segments,
            ImageType::Normal,
            self.machine.arch,
            self.machine.totalram_pages(),
            rules,
        );
        self.bad_segment = r.err().and_then(|x| x.segment);
        r.map_err(|x| errno(x.errno(), x.to_string()))
    }

    /// `[start, end)` lies wholly outside the segments' span: it overlaps
    /// no segment, without visiting them.
    #[inline]
    fn outside_dest_span(&self, start: u64, end: u64) -> bool {
        end <= self.dest_span.0 || start >= self.dest_span.1
    }

    /// kimage_is_destination_range: does `[start, end)` overlap a segment?
    #[inline]
    pub fn is_destination_range(&self, start: u64, end: u64) -> bool {
        if self.outside_dest_span(start, end) {
            return false;
        }
        self.segments
            .iter()
            .any(|s| end > s.mem && start < s.mem + s.memsz)
    }

    /// kimage_alloc_pages: one allocator call. `Ok(None)` when it fails.
    #[cfg_attr(not(feature = "small"), inline(always))]
    #[cfg_attr(feature = "small", inline)]
    fn alloc_pages(&mut self, gfp: Gfp, order: u32) -> Result<Option<u64>, Stop> {
        match self.alloc.alloc(&self.machine, gfp, order) {
            Ok(pfn) => {
                self.counters.alloc_calls += 1;
                self.trace.push(Event::Alloc {
                    call: self.alloc.calls(),
                    gfp,
                    order: order as u8,
                    pfn,
                });
                if order > 0 {
                    self.orders.insert(pfn, order);
                }
                Ok(Some(pfn))
            }
            Err(e) => self.alloc_failed(e, gfp, order),
        }
    }

    /// [`Kimage::alloc_pages`] when the allocator had no block to give
    /// (out of its hot path).
    #[cold]
    #[inline(never)]
    fn alloc_failed(&mut self, e: AllocError, gfp: Gfp, order: u32) -> Result<Option<u64>, Stop> {
        match e {
            AllocError::NoMemory => {
                self.counters.alloc_calls += 1;
                self.trace.push(Event::AllocFailed {
                    gfp,
                    order: order as u8,
                });
                Ok(None)
            }
            AllocError::Replay(r) => Err(Stop::Replay(*r)),
            AllocError::Limit => Err(Stop::Limit(format!(
                "more than {} page allocations in one run; use a smaller machine or another policy",
                crate::page_alloc::MAX_ALLOC_CALLS
            ))),
        }
    }

    /// kimage_free_pages.
    fn free_pages(&mut self, pfn: u64) {
        let order = self.orders.remove(&pfn).unwrap_or(0);
        self.alloc.free(pfn, order);
        self.store.forget(pfn);
        self.roles.insert(pfn, Role::Freed);
        self.counters.pages_freed += 1 << order;
        self.trace.push(Event::Free {
            pfn,
            order: order as u8,
        });
    }

    /// kimage_alloc_normal_control_pages (Xen's
    /// kimage_alloc_normal_control_page too, with its own limit).
    fn alloc_control_pages(&mut self, order: u32, swap: bool) -> Result<Option<u64>, Stop> {
        let limit = self.machine.arch.control_limit;
        self.alloc_control_pages_below(order, swap, limit)
    }

    fn alloc_control_pages_below(
        &mut self,
        order: u32,
        swap: bool,
        limit: u64,
    ) -> Result<Option<u64>, Stop> {
        self.alloc_control_pages_with(order, swap, limit, KEXEC_CONTROL_MEMORY_GFP)
    }

    fn alloc_control_pages_with(
        &mut self,
        order: u32,
        swap: bool,
        limit: u64,
        gfp: Gfp,
    ) -> Result<Option<u64>, Stop> {
        let count = 1u64 << order;
        let limit_pfn = limit >> PAGE_SHIFT;
        self.site = [2, u64::from(swap), limit, u64::from(gfp.0)];
        let mut extra = Vec::new();
        let got = loop {
            let Some(pfn) = self.alloc_pages(gfp, order)? else {
                break None;
            };
            let epfn = pfn + count;
            let over = epfn >= limit_pfn;
            if over || self.is_destination_range(pfn << PAGE_SHIFT, epfn << PAGE_SHIFT) {
                self.counters.control_rejected += 1;
                self.trace.push(Event::ControlRejected {
                    pfn,
                    order: order as u8,
                    over_limit: over,
                });
                self.roles.insert(pfn, Role::Freed);
                extra.push(pfn);
                continue;
            }
            break Some(pfn);
        };
        if let Some(pfn) = got {
            self.control_pages.push(pfn);
            if limit != u64::MAX || self.design.setup() == Setup::Linux {
                self.roles
                    .insert(pfn, if swap { Role::Swap } else { Role::ControlCode });
                self.trace.push(Event::ControlPage {
                    pfn,
                    order: order as u8,
                    swap,
                });
            }
        }
        // kimage_free_page_list(&extra_pages): list_add order, newest first.
        for pfn in extra.into_iter().rev() {
            self.free_pages(pfn);
        }
        Ok(got)
    }

    /// kimage_alloc_init after the struct copy: sanity check, control code
    /// page, swap page.
    pub fn alloc_init(&mut self) -> Result<(), Stop> {
        self.sanity_check_segment_list()?;
        let pages: u64 = self
            .segments
            .iter()
            .map(|s| s.memsz.div_ceil(PAGE_SIZE))
            .sum();
        if pages > MAX_IMAGE_PAGES {
            return Err(Stop::Limit(format!(
                "the segments need {pages} source pages; the model loads at most {MAX_IMAGE_PAGES} (4 GiB) per run"
            )));
        }
        self.build_indexes();
        if self.design.setup() == Setup::Xen {
            return self.alloc_init_xen();
        }
        let order = self.machine.arch.control_order;
        let Some(code) = self.alloc_control_pages(order, false)? else {
            return Err(errno(
                Errno::ENOMEM,
                "Could not allocate control_code_buffer (kimage_alloc_init)",
            ));
        };
        self.control_code_page = Some(code);
        let Some(swap) = self.alloc_control_pages(0, true)? else {
            for pfn in std::mem::take(&mut self.control_pages).into_iter().rev() {
                self.free_pages(pfn);
            }
            self.control_code_page = None;
            return Err(errno(
                Errno::ENOMEM,
                "Could not allocate swap buffer (kimage_alloc_init)",
            ));
        };
        self.swap_page = Some(swap);
        Ok(())
    }

    /// Xen's do_kimage_alloc: the control code page below 4 GiB
    /// (MEMF_bits(32), one page), then the first indirection page as a
    /// control page with no address limit; head is its address. No swap
    /// page.
    fn alloc_init_xen(&mut self) -> Result<(), Stop> {
        // MEMF_bits(32): the allocator itself stays below 4 GiB; the loop
        // only rejects destination pages.
        let below_4g = Gfp(KEXEC_CONTROL_MEMORY_GFP.0 | crate::gfp::MEMF_BITS_32_BIT);
        let Some(code) = self.alloc_control_pages_with(0, false, u64::MAX, below_4g)? else {
            return Err(errno(
                Errno::ENOMEM,
                "kimage_alloc_control_page(MEMF_bits(32)) found no page below 4 GiB for the control code page (do_kimage_alloc)",
            ));
        };
        self.control_code_page = Some(code);
        self.roles.insert(code, Role::ControlCode);
        self.trace.push(Event::ControlPage {
            pfn: code,
            order: 0,
            swap: false,
        });
        let Some(first) = self.alloc_control_pages_below(0, false, u64::MAX)? else {
            // do_kimage_alloc's out: kimage_free frees the control pages.
            for pfn in std::mem::take(&mut self.control_pages).into_iter().rev() {
                self.free_pages(pfn);
            }
            self.control_code_page = None;
            return Err(errno(
                Errno::ENOMEM,
                "kimage_alloc_control_page found no page for the first indirection page (do_kimage_alloc)",
            ));
        };
        self.link_indirection(first)?;
        self.ind_pages.push(IndPage {
            start: 1,
            highmem: self.machine.page_highmem(first),
            cum_before: 0,
        });
        Ok(())
    }

    /// kimage_dst_used through the index; adds the kernel's walk cost.
    /// `dest` is [`Kimage::dest_page`] of `addr`.
    #[cfg_attr(not(feature = "small"), inline(always))]
    fn dst_used(&mut self, dest: Option<(usize, usize)>) -> Option<Pos> {
        let head = self.design.head();
        if head == 0 || head & IND_DONE != 0 {
            self.counters.kernel_walk_steps += 1;
            self.counters.entry_reads += 1;
            return None;
        }
        let hit = dest.and_then(|(s, j)| self.dst_index.get(s, j));
        let (found, last) = match hit {
            Some((pos, ord)) => (Some(pos), ord),
            None => (None, self.ordinals),
        };
        self.counters.kernel_walk_steps += last + 1;
        self.counters.entry_reads += last + 1;
        if self.policies.head_is_page {
            // Xen's walk maps each indirection page once.
            let pages = self.ind_pages.partition_point(|p| p.start <= last.max(1)) as u64;
            self.counters.kmap += pages;
        } else if self.policies.kmaps_entries {
            self.counters.kmap += last;
            self.counters.kmap_highmem += self.highmem_reads(last);
        }
        found
    }

    /// Entries with ordinals 1..=k that live in highmem indirection pages.
    fn highmem_reads(&self, k: u64) -> u64 {
        // Most asks are for the whole list so far (kimage_dst_used found
        // no entry for the page and read every one): at or past the last
        // page's start, no search.
        let j = match self.ind_pages.last() {
            Some(p) if p.start <= k => self.ind_pages.len(),
            _ => self.ind_pages.partition_point(|p| p.start <= k),
        };
        if j == 0 {
            return 0;
        }
        let p = self.ind_pages[j - 1];
        p.cum_before + if p.highmem { k - p.start + 1 } else { 0 }
    }

    fn old_page_fails(&self, check: HighmemCheck, pfn: u64) -> bool {
        match check {
            HighmemCheck::PageHighMem => self.machine.page_highmem(pfn),
            HighmemCheck::PageHighMemZone => self.machine.page_highmem_zone(pfn),
        }
    }

    /// kimage_alloc_page(image, gfp, destination). `Ok(None)` is the kernel's NULL.
    pub fn alloc_page(&mut self, gfp: Gfp, destination: u64) -> Result<Option<u64>, Stop> {
        let dest = self.dest_page(destination);
        self.alloc_page_at(gfp, destination, dest)
    }

    /// [`Kimage::alloc_page`] with `destination`'s segment and page
    /// ([`Kimage::dest_page`]) already looked up by the caller.
    #[cfg_attr(not(feature = "small"), inline(always))]
    #[cfg_attr(feature = "small", inline)]
    fn alloc_page_at(
        &mut self,
        gfp: Gfp,
        destination: u64,
        dest: Option<(usize, usize)>,
    ) -> Result<Option<u64>, Stop> {
        self.site = [1, destination, u64::from(gfp.0), self.site[3]];
        if let Some((s, j)) = dest.filter(|_| destination != KIMAGE_NO_DEST) {
            if let Some((idx, pfn)) = self.dst_index.take_slot(s, j) {
                self.reused.push(idx as u32);
                self.counters.dest_pages_reused += 1;
                self.trace.push(Event::DestPageReused { pfn });
                return Ok(Some(pfn));
            }
        }
        let source_limit_pfn = self.machine.arch.source_limit >> PAGE_SHIFT;
        loop {
            let Some(pfn) = self.alloc_pages(gfp, 0)? else {
                return Ok(None);
            };
            if pfn > source_limit_pfn && self.policies.parks_unusable {
                self.unusable_pages.push(pfn);
                self.roles.insert(pfn, Role::Unusable);
                self.counters.unusable_pages += 1;
                self.trace.push(Event::Unusable { pfn });
                continue;
            }
            let addr = pfn << PAGE_SHIFT;
            let end = addr + PAGE_SIZE;
            if addr == destination || self.outside_dest_span(addr, end) {
                // Not in a destination range (most pages): no segment
                // walked.
                return Ok(Some(pfn));
            }
            // A page inside a segment is in a destination range: the
            // segments are walked once for both answers, and again only
            // for a page a segment's unaligned edge overlaps.
            let dest = self.dest_page(addr);
            if dest.is_none() && !self.is_destination_range(addr, end) {
                return Ok(Some(pfn));
            }
            match self.dst_used(dest) {
                Some(pos) => {
                    let (design, mut cx) = self.split();
                    let old = design.read(&mut cx, pos).map_err(Stop::Fault)?;
                    let old_pfn = (old & PAGE_MASK) >> PAGE_SHIFT;
                    // copy_highpage(page, old_page)
                    cx.kmap(pfn);
                    cx.kmap(old_pfn);
                    // pfn came from the allocator just now.
                    cx.store.copy_page_unread(old_pfn, pfn);
                    let rewritten = design.swap_entry(addr, old);
                    design.write(&mut cx, pos, rewritten).map_err(Stop::Fault)?;
                    if design.setup() == Setup::Xen {
                        // Xen clears the old page before handing it back
                        // (clear_domain_page maps it).
                        cx.kmap(old_pfn);
                        cx.store.set(old_pfn, Content::Zero);
                    }
                    self.counters.swaps += 1;
                    self.roles.insert(pfn, Role::Source);
                    self.trace.push(Event::Swap {
                        new_pfn: pfn,
                        old_pfn,
                        dest: addr,
                        pos,
                    });
                    if self.design.swap_skips_reuse(destination) {
                        self.counters.reuse_frees += 1;
                        self.trace.push(Event::ReuseFree { pfn: old_pfn });
                        self.free_pages(old_pfn);
                        continue;
                    }
                    if let Some(check) = self.design.old_page_check() {
                        if !gfp.highmem() && self.old_page_fails(check, old_pfn) {
                            self.counters.highmem_frees += 1;
                            self.trace.push(Event::HighmemFree { pfn: old_pfn });
                            self.free_pages(old_pfn);
                            continue;
                        }
                    }
                    return Ok(Some(old_pfn));
                }
                None => {
                    let (s, j) = dest.expect("a destination page");
                    self.dst_index.file_slot(s, j, self.dest_pages.len(), pfn);
                    self.dest_pages.push(pfn);
                    self.roles.insert(pfn, Role::DestPages);
                    self.counters.dest_pages += 1;
                    self.trace.push(Event::DestPageFiled { pfn });
                }
            }
        }
    }

    /// Take `pfn` as an indirection page and have the design link it into
    /// the list (kimage_add_entry, or Xen's do_kimage_alloc for the first).
    fn link_indirection(&mut self, pfn: u64) -> Result<(), Stop> {
        self.roles.insert(pfn, Role::Indirection);
        self.counters.indirection_pages += 1;
        let (design, mut cx) = self.split();
        design.link_page(&mut cx, pfn).map_err(Stop::Fault)?;
        self.trace.push(Event::Indirection { pfn });
        Ok(())
    }

    /// kimage_add_entry.
    fn add_entry(&mut self, entry: u64) -> Result<(), Stop> {
        self.add_entry_at(entry, None)
    }

    /// [`Kimage::add_entry`]; `known` is an address and its segment and
    /// page ([`Kimage::dest_page`]) the caller already looked up, used if
    /// the entry is a SOURCE for that destination.
    fn add_entry_at(
        &mut self,
        entry: u64,
        known: Option<(u64, Option<(usize, usize)>)>,
    ) -> Result<(), Stop> {
        let arch = self.machine.arch;
        if entry > arch.word_mask() {
            return Err(Stop::Fault(Fault::from(FaultInfo {
                function: "kimage_add_entry".into(),
                pfn: Some(entry >> PAGE_SHIFT),
                reason: format!(
                    "the entry for address 0x{:x} does not fit in a {}-bit kimage_entry_t",
                    entry & PAGE_MASK,
                    arch.word_bits
                ),
            })));
        }
        let (design, mut cx) = self.split();
        let need = design.needs_page(&mut cx).map_err(Stop::Fault)?;
        if need {
            let gfp = self.design.indirection_gfp();
            self.site[3] = entry;
            let got = self.alloc_page(gfp, KIMAGE_NO_DEST);
            self.site[3] = 0;
            let Some(pfn) = got? else {
                return Err(errno(
                    Errno::ENOMEM,
                    "kimage_alloc_page found no page for a new indirection page (kimage_add_entry)",
                ));
            };
            self.link_indirection(pfn)?;
            self.ordinals += 1;
            let highmem = self.machine.page_highmem(pfn);
            let cum_before = self.ind_pages.last().map_or(0, |p| {
                p.cum_before
                    + if p.highmem {
                        self.ordinals - p.start
                    } else {
                        0
                    }
            });
            self.ind_pages.push(IndPage {
                start: self.ordinals,
                highmem,
                cum_before,
            });
        }
        let (design, mut cx) = self.split();
        let pos = design.store(&mut cx, entry).map_err(Stop::Fault)?;
        self.ordinals += 1;
        if entry & IND_DESTINATION != 0 {
            self.cur_dest = entry & PAGE_MASK;
        } else if entry & IND_SOURCE != 0 {
            let dest = match known {
                Some((addr, dest)) if addr == self.cur_dest => dest,
                _ => self.dest_page(self.cur_dest),
            };
            if let Some((s, j)) = dest {
                self.dst_index.set(s, j, pos, self.ordinals - 1);
            }
            self.cur_dest += PAGE_SIZE;
        } else if entry & IND_ZERO != 0 {
            self.cur_dest += PAGE_SIZE;
        }
        self.trace.push(Event::Entry { pos, value: entry });
        Ok(())
    }

    /// kimage_load_normal_segment.
    pub fn load_normal_segment(
        &mut self,
        i: usize,
        progress: &mut dyn FnMut(u64),
    ) -> Result<(), Stop> {
        let seg = self.segments[i];
        self.add_entry((seg.mem & PAGE_MASK) | IND_DESTINATION)?;
        let mut maddr = seg.mem;
        let mut mbytes = seg.memsz;
        let mut ubytes = seg.bufsz;
        let mut page: u32 = 0;
        let mut gfp = self.design.source_gfp();
        if self.source_movable {
            gfp = Gfp(gfp.0 | crate::gfp::GFP_MOVABLE_BIT);
        }
        let zero_tail = self.design.zero_tail();
        while mbytes > 0 {
            if zero_tail && ubytes == 0 {
                // Xen: the rest of the destination is IND_ZERO entries, no
                // page each; the add's result is not checked.
                match self.add_entry(IND_ZERO) {
                    Ok(()) => self.counters.zero_entries += 1,
                    Err(Stop::Errno { .. }) => {}
                    Err(e) => return Err(e),
                }
                maddr += PAGE_SIZE;
                mbytes = mbytes.saturating_sub(PAGE_SIZE);
                page += 1;
                continue;
            }
            let (mchunk, uchunk) = self.load_page(i, gfp, maddr, page, (mbytes, ubytes))?;
            ubytes -= uchunk;
            maddr += mchunk;
            mbytes -= mchunk;
            page += 1;
            self.loaded_pages += 1;
            if self.loaded_pages.is_multiple_of(PROGRESS_EVERY) {
                progress(self.loaded_pages);
            }
        }
        Ok(())
    }

    /// One page of kimage_load_normal_segment's loop: kimage_alloc_page,
    /// kimage_add_page and the copy into it, for the destination `maddr`
    /// (page `page` of segment `i`, `left` the segment's memsz and bufsz
    /// bytes still to load). Returns the bytes of memsz and of bufsz the
    /// page took.
    ///
    /// Its own function in wasm, never inlined into the loop: V8 runs a
    /// call in the code it was entered with to its end (no on-stack
    /// replacement for wasm), so a loop over a 1 GiB image's 262,144
    /// pages stays in the baseline compiler's (Liftoff's) code for the
    /// whole first load while a call per page runs optimized (TurboFan)
    /// code from the first few thousand pages on. Not in the page's
    /// module (`small`): its runs are small, and its bytes are counted.
    #[cfg_attr(all(target_arch = "wasm32", not(feature = "small")), inline(never))]
    fn load_page(
        &mut self,
        i: usize,
        gfp: Gfp,
        maddr: u64,
        page: u32,
        left: (u64, u64),
    ) -> Result<(u64, u64), Stop> {
        let (mbytes, ubytes) = left;
        self.pages_started += 1;
        self.trace.push(Event::LoadPage {
            seg: i as u8,
            page,
            dest: maddr,
        });
        // The destination's segment and page, looked up once for the
        // allocation and the entry.
        let dest = self.dest_page(maddr);
        let Some(pfn) = self.alloc_page_at(gfp, maddr, dest)? else {
            return Err(errno(
                Errno::ENOMEM,
                format!("kimage_alloc_page found no page for segment {i} page {page} (kimage_load_normal_segment)"),
            ));
        };
        self.roles.insert(pfn, Role::Source);
        self.counters.source_pages += 1;
        if let Err(e) = self.add_entry_at((pfn << PAGE_SHIFT) | IND_SOURCE, Some((maddr, dest))) {
            if matches!(e, Stop::Errno { .. }) {
                self.dropped.insert(
                    pfn,
                    format!(
                        "source page of segment {i} page {page}: kimage_add_page failed and kimage_load_normal_segment returns without freeing it"
                    ),
                );
            }
            return Err(e);
        }
        // kmap_local_page, clear_page, copy, kunmap_local.
        let (_, mut cx) = self.split();
        cx.kmap(pfn);
        let mchunk = mbytes.min(PAGE_SIZE - (maddr & !PAGE_MASK));
        let uchunk = ubytes.min(mchunk);
        let content = if uchunk > 0 {
            Content::Data {
                seg: i as u8,
                page,
                len: uchunk as u16,
            }
        } else {
            Content::Zero
        };
        // pfn is a page the allocator just handed out, a page filed
        // on dest_pages, or a swap's old source page: never an entry
        // page.
        self.store.set_unread(pfn, content);
        Ok((mchunk, uchunk))
    }

    /// kimage_terminate.
    pub fn terminate(&mut self) -> Result<(), Stop> {
        let (design, mut cx) = self.split();
        let pos = design.terminate(&mut cx).map_err(Stop::Fault)?;
        self.trace.push(Event::Terminate { pos });
        Ok(())
    }

    /// do_kexec_load from kimage_alloc_init to kimage_terminate. On a kernel
    /// error after kimage_alloc_init, kimage_free runs as in do_kexec_load.
    pub fn load(&mut self) -> Result<(), Stop> {
        self.load_observed(&mut |_| {})
    }

    /// [`Kimage::load`], calling `progress` with the number of source
    /// pages loaded so far every [`PROGRESS_EVERY`] pages (the web
    /// worker's progress bar). The hook is the caller's, not the
    /// kimage's: a kimage stays `Send` natively whatever the hook holds.
    pub fn load_observed(&mut self, progress: &mut dyn FnMut(u64)) -> Result<(), Stop> {
        let r = self.load_steps(progress);
        self.settle();
        r
    }

    /// Write what the load logged to be written later: the roles
    /// ([`RoleMap::settle`]) and the dest_pages entries taken back.
    pub fn settle(&mut self) {
        self.roles.settle();
        for &idx in &self.reused {
            self.dest_pages[idx as usize] = u64::MAX;
        }
        self.reused.clear();
    }

    /// Let go of the tables only the load and its checks read: the page
    /// store, the allocator's bitmap, the dst index's words, dest_pages and
    /// unusable_pages. What a run's summary, report, entry words and step
    /// texts read stays (the machine, segments, design, roles, block
    /// orders, counters, trace, and the run's walked list). After it the
    /// kimage is not to be walked, relocated, freed or loaded on again
    /// ([`Kimage::outstanding`] no longer lists the parked pages). For a
    /// caller holding finished runs for their summaries: the web worker
    /// holds every design's run until the scenario's report, and each of
    /// huge-initrd's held about 14 MB of these, fresh memory for the next
    /// design in a new worker.
    pub fn release_load_tables(&mut self) {
        self.store = PageStore::default();
        self.alloc.release_bitmap();
        self.dst_index.words = Vec::new();
        self.dest_pages = Vec::new();
        self.reused = Vec::new();
        self.unusable_pages = Vec::new();
    }

    /// [`Kimage::load`] up to [`Kimage::settle`].
    fn load_steps(&mut self, progress: &mut dyn FnMut(u64)) -> Result<(), Stop> {
        self.alloc_init()?;
        if self.design.setup() == Setup::Xen {
            // kimage_load_segment overwrites the segment's result with
            // machine_kexec_add_page's: an error of
            // kimage_load_normal_segment is lost, the next segment loads
            // and the list is terminated.
            for i in 0..self.segments.len() {
                match self.load_normal_segment(i, progress) {
                    Ok(()) => {}
                    Err(Stop::Errno { errno, reason }) => self.ignored.push(format!(
                        "segment {i}: -{errno} ({reason}) is lost: kimage_load_segment returns machine_kexec_add_page's result"
                    )),
                    Err(e) => return Err(e),
                }
            }
            return self.terminate();
        }
        let r = (0..self.segments.len()).try_for_each(|i| self.load_normal_segment(i, progress));
        match r {
            Ok(()) => self.terminate(),
            Err(e @ Stop::Errno { .. }) => {
                self.free().map_err(Stop::Fault)?;
                Err(e)
            }
            Err(e) => Err(e),
        }
    }

    /// for_each_kimage_entry: visit every entry from image->head, following
    /// indirections, until a 0 or IND_DONE. Returns the word that ended it.
    ///
    /// Where the design says reading a page's slots does nothing but read
    /// them ([`EntryList::page_words`]), the page is read as a slice up to
    /// its next indirection, 0 or IND_DONE (the same words, reads counted
    /// one by one), and the run of entries before it goes to `visit` in
    /// one call ([`Visit::run`]): no call into the design per entry
    /// (huge-initrd: 35 M of 437 M instructions fewer for pointer, 52 M
    /// of 474 M for rfc-fixed).
    pub fn walk(&mut self, visit: &mut impl Visit) -> Result<u64, Fault> {
        let limit = self.ordinals + 2;
        let arch = self.machine.arch;
        let slots = arch.slots_per_page() as usize;
        let mask = arch.word_mask();
        let (design, mut cx) = self.split();
        let mut pos = Pos::Head;
        let mut e = design.head();
        cx.counters.entry_reads += 1;
        let xen = design.head_is_page();
        if xen && e != 0 {
            // Xen: head names the first page; the walk maps it and starts
            // inside it.
            pos = design.next_pos(Pos::Head)?;
            if let Pos::Slot { pfn, .. } = pos {
                cx.kmap(pfn);
            }
            e = design.read(&mut cx, pos)?;
        }
        let mut n = 0;
        while e != 0 && e & IND_DONE == 0 {
            visit.entry(pos, e);
            n += 1;
            if n > limit {
                return Err(endless_walk());
            }
            pos = if e & IND_INDIRECTION != 0 {
                if xen {
                    cx.kmap((e & PAGE_MASK) >> PAGE_SHIFT);
                }
                Pos::Slot {
                    pfn: (e & PAGE_MASK) >> PAGE_SHIFT,
                    idx: 0,
                }
            } else {
                design.next_pos(pos)?
            };
            // Not in the page's module (`small`): its runs are small, and
            // its bytes are counted.
            if let (false, Pos::Slot { pfn, idx }) = (cfg!(feature = "small"), pos) {
                let i = idx as usize;
                if let Some((words, kmaps)) = design.page_words(&cx, pfn).filter(|_| i < slots) {
                    // The page's entries from i up to the first word that
                    // ends the run (a slot past the slice reads 0), or up
                    // to the page's end.
                    let page = &words[i.min(words.len())..words.len().min(slots)];
                    let run = page
                        .iter()
                        .position(|&w| {
                            let w = w & mask;
                            w == 0 || w & (IND_DONE | IND_INDIRECTION) != 0
                        })
                        .unwrap_or(page.len());
                    // Those the walk visits before it calls the list
                    // endless, if it does.
                    let room = usize::try_from(limit + 1 - n).unwrap_or(usize::MAX);
                    if run >= room {
                        visit.run(pfn, i as u32, &page[..room], mask);
                        count_reads(&mut cx, pfn, room as u64, kmaps);
                        return Err(endless_walk());
                    }
                    visit.run(pfn, i as u32, &page[..run], mask);
                    n += run as u64;
                    let j = i + run;
                    // The word at j, when it is on the page: the end, or
                    // an indirection visited at its own slot.
                    let ended = (j < slots).then(|| words.get(j).map_or(0, |&w| w & mask));
                    count_reads(
                        &mut cx,
                        pfn,
                        (run + usize::from(ended.is_some())) as u64,
                        kmaps,
                    );
                    pos = Pos::Slot { pfn, idx: j as u32 };
                    if let Some(w) = ended {
                        e = w;
                        continue;
                    }
                    // Past the page's last slot: the design's read says
                    // how that goes.
                }
            }
            e = design.read(&mut cx, pos)?;
            cx.counters.entry_reads += 1;
        }
        Ok(e)
    }

    /// The list as the kernel's walk sees it, with the word that ended the walk.
    pub fn entries(&mut self) -> Result<(Walked, u64), Fault> {
        // ordinals counts the entries the model's designs stored (the
        // walk's length, unless the list was broken); for a list the
        // kernel's own code wrote it is only a bound (adopt_kernel_image).
        let cap = match self.design.variant() {
            Variant::Kernel(_) => self.ordinals.min(1 << 16),
            _ => self.ordinals.min(crate::page_alloc::MAX_ALLOC_CALLS * 2),
        };
        let mut v = Walked::with_capacity(cap as usize + 1);
        let end = self.walk(&mut v)?;
        Ok((v, end))
    }

    /// kimage_free: dest_pages, unusable_pages, every page of the list,
    /// control pages.
    pub fn free(&mut self) -> Result<(), Fault> {
        self.settle();
        for pfn in std::mem::take(&mut self.dest_pages).into_iter().rev() {
            if pfn != u64::MAX {
                self.free_pages(pfn);
            }
        }
        self.dst_index.clear_slots();
        for pfn in std::mem::take(&mut self.unusable_pages).into_iter().rev() {
            self.free_pages(pfn);
        }
        let (list, _) = self.entries()?;
        let mut ind = 0u64;
        for &e in list.words() {
            if e & IND_INDIRECTION != 0 {
                if ind & IND_INDIRECTION != 0 {
                    self.free_pages((ind & PAGE_MASK) >> PAGE_SHIFT);
                }
                ind = e;
            } else if e & IND_SOURCE != 0 {
                let pfn = (e & PAGE_MASK) >> PAGE_SHIFT;
                // The pages freed so far logged Freed: written first, so
                // the read is one lookup (settling costs what was logged).
                self.roles.settle();
                if !matches!(self.roles.get(pfn), Some(r) if r != Role::Freed) {
                    return Err(Fault::from(FaultInfo {
                        function: "kimage_free".into(),
                        pfn: Some(pfn),
                        reason: format!(
                            "frees the SOURCE entry's page 0x{:x}, which the image does not hold: a page someone else owns goes back to the allocator",
                            pfn << PAGE_SHIFT
                        ),
                    }));
                }
                self.free_pages(pfn);
            }
        }
        if ind & IND_INDIRECTION != 0 {
            self.free_pages((ind & PAGE_MASK) >> PAGE_SHIFT);
        }
        for pfn in std::mem::take(&mut self.control_pages).into_iter().rev() {
            self.free_pages(pfn);
        }
        self.settle();
        Ok(())
    }

    /// Pages handed out and not freed, with what they were.
    pub fn outstanding(&self) -> Vec<(u64, Role)> {
        self.roles
            .iter()
            .filter(|(_, r)| *r != Role::Freed)
            .collect()
    }

    /// Fill the held-page counters from the roles.
    pub fn count_held(&mut self) {
        self.settle();
        if self.orders.is_empty() {
            // One page per role: count the role bytes on each side of the
            // lowmem line.
            let line = self
                .machine
                .lowmem_end()
                .map_or(u64::MAX, |end| end >> PAGE_SHIFT);
            let (low, high) = self.roles.held_split(line);
            self.counters.lowmem_held = low;
            self.counters.highmem_held = high;
            return;
        }
        let (mut low, mut high) = (0, 0);
        for (pfn, r) in self.roles.iter() {
            if r != Role::Freed {
                let n = 1u64 << self.order_of(pfn);
                if self.machine.page_highmem(pfn) {
                    high += n;
                } else {
                    low += n;
                }
            }
        }
        self.counters.lowmem_held = low;
        self.counters.highmem_held = high;
    }

    /// Feed the state the rest of a load reads to `h`: the exhaustive
    /// explorer's canonical state of a run stopped at an allocator call
    /// ([`crate::run::run_variant_to_choice`]). Two kimages that feed the
    /// same words (same machine, segments and design) behave alike for any
    /// pages the allocator hands them from here on: everything the load,
    /// the relocation check and kimage_free read is fed — the design's own
    /// state ([`EntryList::hash_state`]), the page contents kexec
    /// wrote, the pages in use, every page's role and block order,
    /// dest_pages, unusable_pages and control_pages as sets (the kernel
    /// only looks pages up in them and frees them, and freeing order
    /// changes no page's state), image->control_code_page and swap_page,
    /// the kimage_dst_used index, the walk's bookkeeping, the pages
    /// dropped and errors ignored, and where the call was made from with
    /// the caller's locals. Left out, because no rule reads them: the
    /// counters, the trace, the order pages were
    /// filed in, and that a destination page now free was handed out
    /// before.
    pub fn hash_state<H: std::hash::Hasher>(&self, h: &mut H) {
        use std::hash::Hash;
        self.design.variant().hash(h);
        self.design.hash_state(h);
        self.site.hash(h);
        self.store.hash_contents(h);
        h.write_u64(u64::MAX);
        self.alloc.hash_used(h);
        h.write_u64(u64::MAX);
        self.roles.for_each(|pfn, role| {
            // A destination page handed out and freed (a control page the
            // loop rejected) is free again like one never handed out: only
            // kimage_free and the relocation check read a role, and both
            // read Freed as not held; the explorer tries a destination
            // page either way (each is its own class).
            if role == Role::Freed
                && self.is_destination_range(pfn << PAGE_SHIFT, (pfn + 1) << PAGE_SHIFT)
            {
                return;
            }
            (pfn, role, self.order_of(pfn)).hash(h);
        });
        // Each walk above ends with a word no pfn is: one encoding, one
        // state.
        h.write_u64(u64::MAX);
        // Each list as a sorted set (as a Vec would hash it), sorted on the
        // stack when short.
        let sorted = |v: &[u64], h: &mut H| {
            let mut buf = [0u64; 32];
            if v.len() <= buf.len() {
                let mut n = 0;
                for &p in v.iter().filter(|&&p| p != u64::MAX) {
                    buf[n] = p;
                    n += 1;
                }
                buf[..n].sort_unstable();
                buf[..n].hash(h);
            } else {
                let mut v: Vec<u64> = v.iter().copied().filter(|&p| p != u64::MAX).collect();
                v.sort_unstable();
                v.hash(h);
            }
        };
        sorted(&self.dest_pages, h);
        sorted(&self.unusable_pages, h);
        sorted(&self.control_pages, h);
        let mut orders: Vec<(u64, u32)> = self.orders.iter().map(|(&p, &o)| (p, o)).collect();
        orders.sort_unstable();
        orders.hash(h);
        (self.control_code_page, self.swap_page).hash(h);
        for (s, seg) in self.dst_index.words.iter().enumerate() {
            for j in 0..seg.len() {
                let slot = self.dst_index.slot(s, j);
                if let Some((pos, ord)) = self.dst_index.get(s, j) {
                    (s, j, pos, ord).hash(h);
                }
                // The page filed in this destination's dest_pages slot, by
                // pfn (the slot number is where the vector stored it).
                slot.map(|(_, pfn)| pfn).hash(h);
            }
        }
        (self.cur_dest, self.ordinals).hash(h);
        for p in &self.ind_pages {
            (p.start, p.highmem, p.cum_before).hash(h);
        }
        let mut dropped: Vec<(&u64, &String)> = self.dropped.iter().collect();
        dropped.sort_unstable();
        dropped.hash(h);
        (self.bad_segment, self.loaded_pages, self.pages_started).hash(h);
        (self.source_movable, &self.ignored).hash(h);
    }

    /// The blocks of a higher order than 0 the kimage holds: first pfn
    /// and order, in no particular order.
    pub fn higher_orders(&self) -> impl Iterator<Item = (u64, u32)> + '_ {
        self.orders.iter().map(|(&pfn, &order)| (pfn, order))
    }

    /// Order of the block at `pfn`.
    pub fn order_of(&self, pfn: u64) -> u32 {
        self.orders.get(&pfn).copied().unwrap_or(0)
    }
}

/// What a page handed to the kernel's own code is taken for until its
/// lists say what it is: by the gfp it was asked with.
fn provisional_role(gfp: Gfp) -> Role {
    if gfp.0 & crate::gfp::GFP_NORETRY_BIT != 0 {
        Role::ControlCode
    } else if gfp.0 & crate::gfp::GFP_HIGHMEM_BIT != 0 {
        Role::Source
    } else {
        Role::Indirection
    }
}

/// The kimage of a kernel build's run: the kernel's own code (a front
/// end's [`crate::run::KernelRunner`]) asks the model's allocator for every
/// page and hands back what it left, and these keep the model's books as
/// its own loads do.
impl Kimage {
    /// alloc_pages for the kernel's code: one allocator call, with the gfp
    /// and order the code asked (the `allocator.source_gfp` what-if turns
    /// its GFP_HIGHUSER into GFP_HIGHUSER_MOVABLE). `Ok(None)` when the
    /// allocation fails.
    pub fn kernel_alloc_pages(&mut self, gfp: Gfp, order: u32) -> Result<Option<u64>, Stop> {
        let gfp = if self.source_movable && gfp == crate::gfp::GFP_HIGHUSER {
            crate::gfp::GFP_HIGHUSER_MOVABLE
        } else {
            gfp
        };
        let got = self.alloc_pages(gfp, order)?;
        if let Some(pfn) = got {
            self.roles.insert(pfn, provisional_role(gfp));
        }
        Ok(got)
    }

    /// __free_pages for the kernel's code; a block that is not held (never
    /// handed out, or freed already) is a fault of `function`.
    pub fn kernel_free_pages(&mut self, pfn: u64, order: u32, function: &str) -> Result<(), Fault> {
        self.settle();
        match self.roles.get(pfn) {
            Some(r) if r != Role::Freed => {}
            held => {
                return Err(Fault::from(FaultInfo {
                    function: function.to_string().into(),
                    pfn: Some(pfn),
                    reason: format!(
                        "__free_pages(pfn 0x{pfn:x}, order {order}): the page is {}",
                        if held.is_some() {
                            "free already (a double free)"
                        } else {
                            "not one the allocator handed out"
                        }
                    ),
                }))
            }
        }
        if order > 0 {
            self.orders.insert(pfn, order);
        }
        self.free_pages(pfn);
        Ok(())
    }

    /// After the kernel's load: image->head, image->control_code_page,
    /// image->swap_page and the pages on image->control_pages, dest_pages
    /// and unusable_pages; the list is walked (from the store the runner
    /// filled) to give its pages their roles and the counters their sizes.
    pub fn adopt_kernel_image(&mut self, image: KernelImage) -> Result<(), Fault> {
        self.design.set_head(image.head);
        self.control_code_page = image.control_code;
        self.swap_page = image.swap;
        for &p in &image.control_pages {
            self.roles.insert(p, Role::ControlCode);
        }
        if let Some(s) = image.swap {
            self.roles.insert(s, Role::Swap);
        }
        for &p in &image.dest_pages {
            self.roles.insert(p, Role::DestPages);
        }
        for &p in &image.unusable_pages {
            self.roles.insert(p, Role::Unusable);
        }
        self.counters.dest_pages = image.dest_pages.len() as u64;
        self.counters.unusable_pages = image.unusable_pages.len() as u64;
        self.control_pages = image.control_pages;
        self.dest_pages = image.dest_pages;
        self.unusable_pages = image.unusable_pages;
        // The walk may not go on for longer than every held page's slots.
        self.ordinals = self
            .alloc
            .calls()
            .saturating_mul(self.machine.arch.slots_per_page());
        let (list, _) = self.entries()?;
        let (mut src, mut ind) = (0, 0);
        for &e in list.words() {
            let pfn = (e & PAGE_MASK) >> PAGE_SHIFT;
            if e & IND_INDIRECTION != 0 {
                ind += 1;
                self.roles.insert(pfn, Role::Indirection);
            } else if e & IND_SOURCE != 0 {
                src += 1;
                self.roles.insert(pfn, Role::Source);
            }
        }
        self.counters.source_pages = src;
        self.counters.indirection_pages = ind;
        self.settle();
        Ok(())
    }
}

/// What the kernel's code left in struct kimage after its load.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KernelImage {
    /// image->head.
    pub head: u64,
    /// image->control_code_page.
    pub control_code: Option<u64>,
    /// image->swap_page.
    pub swap: Option<u64>,
    /// image->control_pages (the control code page and the swap page).
    pub control_pages: Vec<u64>,
    /// image->dest_pages.
    pub dest_pages: Vec<u64>,
    /// image->unusable_pages.
    pub unusable_pages: Vec<u64>,
}

/// `reads` reads of entry page `pfn` counted, as [`EntryList::read`]
/// counts them one by one (with `kmaps`, a kmap of the page each).
#[inline]
fn count_reads(cx: &mut Ctx, pfn: u64, reads: u64, kmaps: bool) {
    cx.counters.entry_reads += reads;
    if kmaps {
        cx.counters.kmap += reads;
        if cx.machine.page_highmem(pfn) {
            cx.counters.kmap_highmem += reads;
        }
    }
}

/// for_each_kimage_entry's walk read more entries than were ever written.
#[cold]
#[inline(never)]
fn endless_walk() -> Fault {
    Fault::from(FaultInfo {
        function: "for_each_kimage_entry".into(),
        pfn: None,
        reason: "the walk does not end: more entries than were ever written".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// highmem_reads(k) counts the entries with ordinals 1..=k whose
    /// indirection page is highmem, for every k (a hit's older ordinal, the
    /// whole list, past it), as counting them one by one does.
    #[test]
    fn highmem_reads_counts_entries_in_highmem_pages() {
        let mut checked = 0;
        for p in crate::presets::all() {
            if p.scenario.image_pages() > 20_000 || !p.scenario.kernels.is_empty() {
                continue;
            }
            for v in crate::design::ALL_VARIANTS {
                let r = crate::run::run_variant(&p.scenario, v, crate::run::RunOptions::default());
                let k = &r.kimage;
                if !k.ind_pages.iter().any(|p| p.highmem) {
                    continue;
                }
                let mut want = 0;
                for o in 0..=k.ordinals + 2 {
                    if o > 0 {
                        let page = k.ind_pages.iter().rev().find(|p| p.start <= o);
                        want += u64::from(page.is_some_and(|p| p.highmem));
                    }
                    assert_eq!(k.highmem_reads(o), want, "{} {} k={o}", p.name, v.name());
                }
                checked += 1;
            }
        }
        assert!(checked > 0, "no run with a highmem indirection page");
    }

    /// A dropped kimage's tables go to the next kimage made on its thread,
    /// their allocations kept and their contents gone; a thread keeps at
    /// most [`SPARE_TABLES`] of them.
    #[cfg(not(feature = "small"))]
    #[test]
    fn a_dropped_kimage_leaves_its_tables_to_the_next() {
        use crate::run::{run_variant, RunOptions};
        std::thread::scope(|s| {
            s.spawn(|| {
                let spares = || SPARE.with(|s| s.borrow().len());
                let sc = crate::presets::find("swap-path").unwrap().scenario;
                let traced = RunOptions {
                    trace: true,
                    ..RunOptions::default()
                };
                assert_eq!(spares(), 0);
                let runs: Vec<_> = (0..3)
                    .map(|_| run_variant(&sc, Variant::Pointer, traced))
                    .collect();
                let events = runs[0].kimage.trace.events.len();
                assert!(events > 0);
                drop(runs);
                assert_eq!(spares(), SPARE_TABLES);
                let r = run_variant(&sc, Variant::Pointer, RunOptions::default());
                assert_eq!(spares(), SPARE_TABLES - 1);
                assert!(r.kimage.trace.events.is_empty());
                assert!(r.kimage.trace.events.capacity() >= events);
                drop(r);
                assert_eq!(spares(), SPARE_TABLES);
            })
            .join()
            .unwrap()
        });
    }

    /// The walk word by word, every word through the design's `read` (as
    /// before pages were read as slices): the reference
    /// [`Kimage::walk`] must equal, visits, ending and counters.
    fn walk_word_by_word(k: &mut Kimage) -> (Vec<(Pos, u64)>, Result<u64, Fault>) {
        let limit = k.ordinals + 2;
        let mut seen = Vec::new();
        let (design, mut cx) = k.split();
        let mut pos = Pos::Head;
        let mut e = design.head();
        cx.counters.entry_reads += 1;
        let xen = design.head_is_page();
        let r = (|| {
            if xen && e != 0 {
                pos = design.next_pos(Pos::Head)?;
                if let Pos::Slot { pfn, .. } = pos {
                    cx.kmap(pfn);
                }
                e = design.read(&mut cx, pos)?;
            }
            while e != 0 && e & IND_DONE == 0 {
                seen.push((pos, e));
                if seen.len() as u64 > limit {
                    return Err(endless_walk());
                }
                pos = if e & IND_INDIRECTION != 0 {
                    if xen {
                        cx.kmap((e & PAGE_MASK) >> PAGE_SHIFT);
                    }
                    Pos::Slot {
                        pfn: (e & PAGE_MASK) >> PAGE_SHIFT,
                        idx: 0,
                    }
                } else {
                    design.next_pos(pos)?
                };
                e = design.read(&mut cx, pos)?;
                cx.counters.entry_reads += 1;
            }
            Ok(e)
        })();
        (seen, r)
    }

    /// Both walks of `k` from the same counters: the same entries, the
    /// same end (or the same fault) and the same counters after.
    fn same_walks(k: &mut Kimage, what: &str) {
        let before = k.counters.clone();
        let mut fast = Vec::new();
        let r = k.walk(&mut |p, e| fast.push((p, e)));
        let after = std::mem::replace(&mut k.counters, before.clone());
        // The list as entries() keeps it: a page's runs pushed at once.
        let kept = k
            .entries()
            .map(|(w, end)| (w.iter().collect::<Vec<_>>(), end));
        let kept_after = std::mem::replace(&mut k.counters, before);
        let (slow, r2) = walk_word_by_word(k);
        assert_eq!(fast, slow, "{what}: entries");
        assert_eq!(format!("{r:?}"), format!("{r2:?}"), "{what}: end");
        assert_eq!(after, k.counters, "{what}: counters");
        match (kept, r2) {
            (Ok((list, end)), Ok(end2)) => {
                assert_eq!((list, end), (slow, end2), "{what}: entries()");
            }
            (Err(a), Err(b)) => assert_eq!(format!("{a:?}"), format!("{b:?}"), "{what}: entries()"),
            (a, b) => panic!("{what}: entries() {a:?}, the walk {b:?}"),
        }
        assert_eq!(kept_after, k.counters, "{what}: entries()' counters");
    }

    /// The walk reads a page as a slice where the design says it may
    /// ([`EntryList::page_words`]) and answers as the design's reads word
    /// by word do: on every preset small enough, every kernel design and
    /// Xen's, and on lists broken at random slots (an end, an indirection
    /// to its own page, to a page not RAM, to highmem, to a source page,
    /// a stray word, a SOURCE entry in a page's last slot).
    #[test]
    fn the_walk_reads_as_the_design_reads_word_by_word() {
        let mut rng = kexec_common::rng::SplitMix64::new(0x77616c6b);
        let mut broken = 0;
        for p in crate::presets::all() {
            if p.scenario.image_pages() > 20_000 || !p.scenario.kernels.is_empty() {
                continue;
            }
            for v in crate::design::ALL_VARIANTS {
                let r = crate::run::run_variant(&p.scenario, v, crate::run::RunOptions::default());
                if !matches!(r.outcome, crate::run::Outcome::Loaded) {
                    continue;
                }
                let mut k = r.kimage;
                same_walks(&mut k, &format!("{} {}", p.name, v.name()));
                let slots: Vec<(u64, u32)> = r
                    .entries
                    .iter()
                    .filter_map(|(pos, _)| match pos {
                        Pos::Slot { pfn, idx } => Some((pfn, idx)),
                        Pos::Head => None,
                    })
                    .collect();
                if slots.is_empty() {
                    continue;
                }
                let arch = k.machine.arch;
                let sources: Vec<u64> = r
                    .entries
                    .iter()
                    .filter(|(_, e)| e & IND_SOURCE != 0)
                    .map(|(_, e)| e & PAGE_MASK)
                    .collect();
                let ram = k.machine.ram().to_vec();
                let top = ram.iter().map(|r| r.1).max().unwrap_or(0);
                let last = slots
                    .iter()
                    .copied()
                    .filter(|&(_, idx)| u64::from(idx) == arch.last_slot())
                    .collect::<Vec<_>>();
                for case in 0..14u64 {
                    let (pfn, idx) = match case % 7 {
                        // A page's last slot a SOURCE entry: the walk
                        // steps past the page.
                        6 if !last.is_empty() => last[rng.below(last.len() as u64) as usize],
                        _ => slots[rng.below(slots.len() as u64) as usize],
                    };
                    let word = match case % 7 {
                        6 => 0x1000 | IND_SOURCE,
                        0 => [0, IND_DONE][rng.below(2) as usize],
                        1 => (pfn << PAGE_SHIFT) | IND_INDIRECTION,
                        2 => ((top + rng.below(16)) << PAGE_SHIFT) | IND_INDIRECTION,
                        3 => ((top - 1 - rng.below(top.min(64))) << PAGE_SHIFT) | IND_INDIRECTION,
                        4 => match sources.get(rng.below(sources.len().max(1) as u64) as usize) {
                            Some(&a) => a | IND_INDIRECTION,
                            None => IND_INDIRECTION,
                        },
                        // A stray word, as stored: bits above a 32-bit
                        // entry's too (a read masks them off).
                        _ => rng.below(u64::MAX),
                    };
                    let set = |k: &mut Kimage, w: u64| {
                        let (n, width) = (arch.slots_per_page(), arch.entry_bytes());
                        k.store.set_entry(pfn, n, width, idx as usize, w);
                    };
                    let was = k.store.entry_words(pfn).expect("an entry page")[idx as usize];
                    set(&mut k, word);
                    same_walks(
                        &mut k,
                        &format!("{} {} slot {pfn:#x}/{idx} = {word:#x}", p.name, v.name()),
                    );
                    set(&mut k, was);
                    broken += 1;
                }
            }
        }
        assert!(broken >= 200, "{broken} broken lists walked");
    }

    fn index(pages: usize) -> DstIndex {
        DstIndex {
            words: vec![vec![0; pages]],
            set_end: vec![0],
            ..DstIndex::default()
        }
    }

    /// One word a destination page holds either the SOURCE entry's index
    /// or the dest_pages slot; the other, when both meet, and anything
    /// that does not fit go to the maps, and every answer stays.
    #[test]
    fn dst_index_words_hold_an_index_or_a_slot() {
        let mut d = index(8);
        let at = Pos::Slot {
            pfn: 0x1234,
            idx: 7,
        };
        d.set(0, 2, at, 41);
        assert_eq!(d.get(0, 2), Some((at, 41)));
        assert_eq!((d.get(0, 3), d.slot(0, 3)), (None, None));

        d.file_slot(0, 5, 9, 0xabcde);
        assert_eq!(d.get(0, 5), None);
        assert_eq!(d.slot(0, 5).unwrap(), (9, 0xabcde));
        assert_eq!(d.take_slot(0, 5).unwrap(), (9, 0xabcde));
        assert_eq!((d.slot(0, 5), d.take_slot(0, 5)), (None, None));

        // A slot filed where an index is, and an index set where a slot is.
        d.file_slot(0, 2, 3, 0x77);
        assert_eq!(d.get(0, 2), Some((at, 41)));
        assert_eq!(d.slot(0, 2).unwrap(), (3, 0x77));
        d.file_slot(0, 6, 4, 0x88);
        d.set(0, 6, Pos::Head, 0);
        assert_eq!(d.get(0, 6), Some((Pos::Head, 0)));
        assert_eq!(d.take_slot(0, 6).unwrap(), (4, 0x88));
        assert_eq!(d.get(0, 6), Some((Pos::Head, 0)));

        // A pfn the word cannot hold, and an ordinal that does not fit.
        d.file_slot(0, 7, 1, 1 << 45);
        assert_eq!(d.slot(0, 7).unwrap(), (1, 1 << 45));
        d.set(0, 4, at, u64::from(u32::MAX));
        assert_eq!(d.get(0, 4), Some((at, u64::from(u32::MAX))));

        d.clear_slots();
        assert_eq!((d.slot(0, 2), d.slot(0, 7)), (None, None));
        assert_eq!(d.get(0, 2), Some((at, 41)));
        assert_eq!(d.get(0, 4), Some((at, u64::from(u32::MAX))));
    }
}
