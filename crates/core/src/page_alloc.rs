//! The page allocator the kimage code asks for pages (`alloc_pages`).
//!
//! The kernel's buddy allocator hands out pages in an order the model cannot
//! know, so the order is a *policy*, every one deterministic:
//!
//! * `lowest-first` / `highest-first`: the lowest / highest free block of the
//!   first zone in the gfp's zonelist that has one (zones are tried highest
//!   first, as the zonelist fallback does);
//! * `random {seed}`: a seeded pick inside that zone;
//! * `adversarial {seed}`: seeded picks that favour pages inside segment
//!   destinations and high pages (highmem, above 4 GiB), so that dest_pages,
//!   the swap in kimage_alloc_page and the highmem free-and-retry run;
//! * `buddy`: the order a freshly booted kernel's buddy allocator hands
//!   pages out in, calibrated on real captures (`tests/real-kernel`): a
//!   highmem (user) request takes the highest 1024-page block (an order
//!   MAX_ORDER-1 block, as __rmqueue_smallest splits it) that still has a
//!   free page, and the lowest free page inside it (expand() keeps the
//!   upper halves); blocks are taken top down because memblock_free_all
//!   frees them bottom up and each freed block goes to the head of its
//!   free list. A lowmem (kernel) request takes the lowest free page of
//!   its zone. Pages the running kernel and user space hold before the
//!   load, and the per-cpu lists' batches, are not modelled;
//! * `replay {pfns}`: exactly these pfns, one per call, in order.
//!
//! Every RAM page starts free: the running kernel's own memory is not
//! modelled (cut it out of the RAM map to model it).

use crate::gfp::{Gfp, Zone};
use crate::memory::{intersect, joined, Machine};
use crate::sparse::SectionMap;
use std::collections::BTreeMap;
use std::fmt;

/// The most allocator calls one run may make before the model gives up.
pub const MAX_ALLOC_CALLS: u64 = 1 << 21;

/// Pages in the buddy allocator's largest block (order MAX_ORDER-1 = 10 on
/// x86), the unit the `buddy` policy takes top down.
pub const BUDDY_BLOCK: u64 = 1 << 10;

/// How the allocator picks pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Policy {
    /// Lowest free block of the preferred zone.
    LowestFirst,
    /// Highest free block of the preferred zone.
    HighestFirst,
    /// Seeded uniform-ish pick in the preferred zone.
    Random(u64),
    /// Seeded picks favouring destinations and high pages.
    Adversarial(u64),
    /// Exactly these pfns, one per call.
    Replay(Vec<u64>),
    /// A fresh machine's buddy allocator: highmem requests from the top
    /// 1024-page block down, ascending inside a block; lowmem ascending.
    Buddy,
}

impl Policy {
    /// The policy's scenario name.
    pub fn name(&self) -> &'static str {
        match self {
            Policy::LowestFirst => "lowest-first",
            Policy::HighestFirst => "highest-first",
            Policy::Random(_) => "random",
            Policy::Adversarial(_) => "adversarial",
            Policy::Replay(_) => "replay",
            Policy::Buddy => "buddy",
        }
    }
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Policy::Random(s) | Policy::Adversarial(s) => write!(f, "{} seed {}", self.name(), s),
            Policy::Replay(p) => write!(f, "replay of {} pfns", p.len()),
            _ => f.write_str(self.name()),
        }
    }
}

pub use kexec_common::rng::SplitMix64;

/// A set of numbers as disjoint intervals `start -> end` (exclusive).
#[derive(Debug, Clone, Default)]
pub struct FreeSet {
    iv: BTreeMap<u64, u64>,
}

impl FreeSet {
    /// Whether all of `[p, p+n)` is free.
    pub fn contains(&self, p: u64, n: u64) -> bool {
        match self.iv.range(..=p).next_back() {
            Some((_, &e)) => p + n <= e,
            None => false,
        }
    }

    /// Remove `[p, p+n)`, which must be free.
    pub fn remove(&mut self, p: u64, n: u64) {
        let (&s, &e) = self
            .iv
            .range(..=p)
            .next_back()
            .expect("removing a free block");
        debug_assert!(p + n <= e);
        self.iv.remove(&s);
        if s < p {
            self.iv.insert(s, p);
        }
        if p + n < e {
            self.iv.insert(p + n, e);
        }
    }

    /// Give `[p, p+n)` back, merging with neighbours.
    pub fn insert(&mut self, p: u64, n: u64) {
        let mut s = p;
        let mut e = p + n;
        if let Some((&ps, &pe)) = self.iv.range(..=p).next_back() {
            if pe >= p {
                s = ps;
                e = e.max(pe);
                self.iv.remove(&ps);
            }
        }
        if let Some(&ne) = self.iv.get(&e) {
            self.iv.remove(&e);
            e = ne;
        }
        self.iv.insert(s, e);
    }

    /// The end of the interval holding `x`, if one does.
    pub fn run_end(&self, x: u64) -> Option<u64> {
        match self.iv.range(..=x).next_back() {
            Some((_, &e)) if e > x => Some(e),
            _ => None,
        }
    }

    /// The start of the interval holding `x`, if one does.
    pub fn run_start(&self, x: u64) -> Option<u64> {
        match self.iv.range(..=x).next_back() {
            Some((&s, &e)) if e > x => Some(s),
            _ => None,
        }
    }

    /// Number of pages in the set.
    pub fn pages(&self) -> u64 {
        self.iv.iter().map(|(s, e)| e - s).sum()
    }
}

/// Pages per bitmap chunk.
const CHUNK_PAGES: u64 = 4096;

/// Allocated pfns as a bitmap ([`SectionMap`]s: a section of 64 words is
/// one 4096-page chunk, made when a page in it is first handed out, so
/// memory follows the pages touched), with a word per chunk saying which of
/// its words are full and a bitmap of full chunks: searches skip the full
/// words of a chunk in one step, and 64 full chunks (a GiB) per word they
/// read.
#[derive(Debug, Default)]
pub struct PageBitmap {
    /// Bit `pfn % 64` of word `pfn / 64`: allocated.
    words: SectionMap<u64, 6>,
    /// Per chunk: bit `w` set when its word `w` is full.
    full_words: SectionMap<u64, 6>,
    /// Bit `id % 64` of word `id / 64`: chunk `id` is full.
    full: SectionMap<u64, 6>,
    allocated: u64,
}

impl Clone for PageBitmap {
    fn clone(&self) -> Self {
        PageBitmap {
            words: self.words.clone(),
            full_words: self.full_words.clone(),
            full: self.full.clone(),
            allocated: self.allocated,
        }
    }

    fn clone_from(&mut self, src: &Self) {
        self.words.clone_from(&src.words);
        self.full_words.clone_from(&src.full_words);
        self.full.clone_from(&src.full);
        self.allocated = src.allocated;
    }
}

#[inline]
fn free_mask(word: u64, n: u64) -> u64 {
    let free = !word;
    if n == 1 {
        free
    } else {
        // n == 2: an aligned pair of free bits.
        free & (free >> 1) & 0x5555_5555_5555_5555
    }
}

impl PageBitmap {
    /// Every page free, the allocations kept.
    pub fn clear(&mut self) {
        self.words.clear();
        self.full_words.clear();
        self.full.clear();
        self.allocated = 0;
    }

    /// Whether every page of `[p, p+n)` is free.
    pub fn is_free(&self, p: u64, n: u64) -> bool {
        (p..p + n).all(|q| self.words.get(q / 64) & (1 << (q % 64)) == 0)
    }

    fn flip(&mut self, p: u64, n: u64, set: bool) {
        for q in p..p + n {
            let id = q / CHUNK_PAGES;
            let bit = 1u64 << (q % 64);
            let w = self.words.get_mut(q / 64);
            let word_was_full = *w == u64::MAX;
            if set {
                debug_assert!(*w & bit == 0, "allocating a page twice");
                *w |= bit;
                self.allocated += 1;
            } else {
                debug_assert!(*w & bit != 0, "freeing a free page");
                *w &= !bit;
                self.allocated -= 1;
            }
            let word_full = *w == u64::MAX;
            if !word_full && !word_was_full {
                // The word's bit in full_words was clear and stays so.
                continue;
            }
            let fw = self.full_words.get_mut(id);
            let was_full = *fw == u64::MAX;
            let wbit = 1u64 << ((q % CHUNK_PAGES) / 64);
            if word_full {
                *fw |= wbit;
            } else {
                *fw &= !wbit;
            }
            let is_full = *fw == u64::MAX;
            if is_full != was_full {
                *self.full.get_mut(id / 64) ^= 1 << (id % 64);
            }
        }
    }

    /// A flat array for the words of the pfns below `pfns`
    /// ([`SectionMap::reserve`]; an empty bitmap only).
    pub fn reserve(&mut self, pfns: u64) {
        self.words.reserve(pfns.div_ceil(64));
    }

    /// Mark `[p, p+n)` allocated.
    #[cfg_attr(not(feature = "small"), inline(always))]
    #[cfg_attr(feature = "small", inline)]
    pub fn allocate(&mut self, p: u64, n: u64) {
        if n == 1 {
            // One page (most calls): its word, and the chunk's word of
            // full words only when the page fills its word.
            let w = self.words.get_mut(p / 64);
            debug_assert!(*w & (1 << (p % 64)) == 0, "allocating a page twice");
            *w |= 1 << (p % 64);
            let full = *w == u64::MAX;
            self.allocated += 1;
            if full {
                self.word_filled(p);
            }
            return;
        }
        self.flip(p, n, true);
    }

    /// The word holding `p` just became full: mark it in its chunk's word
    /// of full words, and the chunk full if that word is.
    #[cold]
    #[inline(never)]
    fn word_filled(&mut self, p: u64) {
        let id = p / CHUNK_PAGES;
        let fw = self.full_words.get_mut(id);
        let was_full = *fw == u64::MAX;
        *fw |= 1u64 << ((p % CHUNK_PAGES) / 64);
        if (*fw == u64::MAX) != was_full {
            *self.full.get_mut(id / 64) ^= 1 << (id % 64);
        }
    }

    /// Mark `[p, p+n)` free.
    #[inline]
    pub fn release(&mut self, p: u64, n: u64) {
        self.flip(p, n, false);
    }

    /// Pages allocated.
    pub fn allocated(&self) -> u64 {
        self.allocated
    }

    /// The first chunk at or above `id` that is not full.
    fn not_full_from(&self, mut id: u64) -> u64 {
        loop {
            let fw = self.full.get(id / 64) >> (id % 64);
            if fw & 1 == 0 {
                return id;
            }
            // Full chunks from id on: the trailing ones.
            id += u64::from(fw.trailing_ones());
        }
    }

    /// The first chunk at or below `id` that is not full, if any.
    fn not_full_down_from(&self, mut id: u64) -> Option<u64> {
        loop {
            let fw = self.full.get(id / 64) << (63 - id % 64);
            if fw >> 63 == 0 {
                return Some(id);
            }
            let run = u64::from(fw.leading_ones());
            id = id.checked_sub(run)?;
        }
    }

    /// Lowest free `n`-aligned block of `n` (1 or 2) pages in `[lo, hi)`.
    #[cfg_attr(not(feature = "small"), inline(always))]
    #[cfg_attr(feature = "small", inline)]
    pub fn lowest_in(&self, lo: u64, hi: u64, n: u64) -> Option<u64> {
        let x = align_up(lo, n);
        if x + n <= hi {
            // Most searches end in their first word.
            let m = free_mask(self.words.get(x / 64), n) & (u64::MAX << (x % 64));
            if m != 0 {
                let found = x / 64 * 64 + u64::from(m.trailing_zeros());
                return (found + n <= hi).then_some(found);
            }
        }
        self.lowest_from(x, hi, n)
    }

    /// [`PageBitmap::lowest_in`] past its first word: skips full chunks
    /// and full words.
    #[inline(never)]
    fn lowest_from(&self, mut x: u64, hi: u64, n: u64) -> Option<u64> {
        while x + n <= hi {
            let id = x / CHUNK_PAGES;
            let open = self.not_full_from(id);
            if open != id {
                x = align_up(open * CHUNK_PAGES, n);
                continue;
            }
            let Some(c) = self.words.section(x / 64) else {
                return Some(x);
            };
            let mut i = x % CHUNK_PAGES;
            // Single pages: past the first word, only words with a free
            // page are read.
            let free_words = !self.full_words.get(id);
            while i < CHUNK_PAGES {
                let wi = (i / 64) as usize;
                let m = free_mask(c[wi], n) & (u64::MAX << (i % 64));
                if m != 0 {
                    let found = id * CHUNK_PAGES + (wi as u64) * 64 + u64::from(m.trailing_zeros());
                    return (found + n <= hi).then_some(found);
                }
                i = (wi as u64 + 1) * 64;
                if n == 1 && i < CHUNK_PAGES {
                    let next = free_words & (u64::MAX << (wi + 1));
                    if next == 0 {
                        break;
                    }
                    i = u64::from(next.trailing_zeros()) * 64;
                }
            }
            x = (id + 1) * CHUNK_PAGES;
        }
        None
    }

    /// Highest free `n`-aligned block of `n` (1 or 2) pages in `[lo, hi)`.
    pub fn highest_in(&self, lo: u64, hi: u64, n: u64) -> Option<u64> {
        if hi < n {
            return None;
        }
        // x: candidate block start, walking down.
        let mut x = (hi - n) & !(n - 1);
        loop {
            if x < lo {
                return None;
            }
            let id = x / CHUNK_PAGES;
            let open = self.not_full_down_from(id);
            if open != Some(id) {
                let below = open.map_or(0, |o| (o + 1) * CHUNK_PAGES);
                if below < n {
                    return None;
                }
                x = (below - n) & !(n - 1);
                continue;
            }
            let Some(c) = self.words.section(x / 64) else {
                return Some(x);
            };
            let mut i = x % CHUNK_PAGES;
            // Past the first word, only words with a free page are read (a
            // full word holds no free block): a zone's top, which the
            // highest-first policies fill, is skipped a chunk's word at a
            // time instead of read word by word.
            let free_words = !self.full_words.get(id);
            loop {
                let wi = (i / 64) as usize;
                let keep = if i % 64 == 63 {
                    u64::MAX
                } else {
                    (1u64 << (i % 64 + 1)) - 1
                };
                let m = free_mask(c[wi], n) & keep;
                if m != 0 {
                    let found =
                        id * CHUNK_PAGES + (wi as u64) * 64 + u64::from(63 - m.leading_zeros());
                    return (found >= lo).then_some(found);
                }
                let below = free_words & ((1u64 << wi) - 1);
                if below == 0 {
                    break;
                }
                i = u64::from(63 - below.leading_zeros()) * 64 + 63;
            }
            if id == 0 {
                return None;
            }
            x = (id * CHUNK_PAGES - n) & !(n - 1);
        }
    }
}

#[inline]
fn align_up(x: u64, n: u64) -> u64 {
    (x + n - 1) & !(n - 1)
}

/// Why an allocator call could not be answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllocError {
    /// No free page is left for the request: the kernel's allocation fails.
    NoMemory,
    /// The replay list handed out a pfn the call cannot take (boxed: every
    /// allocator call returns this type, and a replay error is rare).
    Replay(Box<ReplayError>),
    /// The run made more than [`MAX_ALLOC_CALLS`] calls.
    Limit,
}

/// A replayed pfn that the call it was given to cannot take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayError {
    /// 1-based number of the allocator call.
    pub call: u64,
    /// The pfn the replay list gave it.
    pub pfn: u64,
    /// The call's gfp.
    pub gfp: Gfp,
    /// The call's order.
    pub order: u32,
    /// Why the pfn does not fit.
    pub reason: String,
}

impl fmt::Display for ReplayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "replay: allocator call {} ({}, order {}) got pfn 0x{:x}: {}",
            self.call, self.gfp, self.order, self.pfn, self.reason
        )
    }
}

/// The allocator of one run.
#[derive(Debug, Clone)]
pub struct PageAllocator {
    used: PageBitmap,
    policy: Policy,
    rng: SplitMix64,
    replay_next: usize,
    prefix: Vec<u64>,
    prefix_next: usize,
    replay_ran_out: Option<(Gfp, u32)>,
    /// The pages in use when the replay list ran out.
    /// (Boxed, as `spare`: a kimage is moved from run to run whole.)
    used_at_ran_out: Option<Box<PageBitmap>>,
    /// A recycled run's `used_at_ran_out`, whose allocations the next one
    /// reuses.
    spare: Option<Box<PageBitmap>>,
    /// Stop the run where the replay list runs out (a replay error) rather
    /// than fail the call: the exhaustive explorer reads the kimage as it
    /// is at its choice point.
    stop_at_ran_out: bool,
    calls: u64,
    dest_ranges: Vec<(u64, u64)>,
    zone_cache: Vec<(Zone, Vec<(u64, u64)>)>,
    gfp_cache: Vec<(Gfp, GfpPlan)>,
    /// The index in `gfp_cache` of the plan used last.
    last_plan: usize,
}

/// What a gfp may use, computed once per gfp.
#[derive(Debug, Clone)]
struct GfpPlan {
    zones: Vec<Zone>,
    /// Each zone's ranges, cut at the gfp's pfn ceiling if it has one.
    ranges: Vec<Ranges>,
    /// The pfn ceiling (the word-limit what-if).
    ceiling: Option<u64>,
    /// Every pfn the gfp may be handed, as ascending ranges with
    /// adjacent ones joined: a block inside one of them is a block of
    /// pages each in a zone the gfp reaches, below its ceiling.
    allowed: Vec<(u64, u64)>,
    /// Allowed ranges inside segment destinations.
    in_dest: Ranges,
    /// Allowed ranges above KEXEC_SOURCE_MEMORY_LIMIT.
    above_limit: Ranges,
}

/// Ascending pfn ranges of a plan, with the pages they hold: what a
/// random pick weighs by, summed once per plan rather than at every pick.
#[derive(Debug, Clone)]
struct Ranges {
    list: Vec<(u64, u64)>,
    pages: u64,
}

impl Ranges {
    fn new(list: Vec<(u64, u64)>) -> Self {
        let pages = list.iter().map(|(s, e)| e - s).sum();
        Ranges { list, pages }
    }
}

impl std::ops::Deref for Ranges {
    type Target = [(u64, u64)];
    fn deref(&self) -> &[(u64, u64)] {
        &self.list
    }
}

impl PageAllocator {
    /// An allocator over all RAM of `m`. `dest_ranges` (pfn ranges of the
    /// segments' destinations) steer the adversarial policy.
    pub fn new(m: &Machine, policy: Policy, dest_ranges: Vec<(u64, u64)>) -> Self {
        Self::new_in(m, policy, dest_ranges, PageBitmap::default())
    }

    /// [`PageAllocator::new`] keeping `used`'s allocations (an empty
    /// bitmap: every page free).
    pub fn new_in(
        m: &Machine,
        policy: Policy,
        dest_ranges: Vec<(u64, u64)>,
        used: PageBitmap,
    ) -> Self {
        debug_assert_eq!(used.allocated(), 0, "a bitmap with pages in use");
        let seed = match policy {
            Policy::Random(s) | Policy::Adversarial(s) => s,
            _ => 0,
        };
        let zone_cache = [
            Zone::Dma,
            Zone::Dma32,
            Zone::Normal,
            Zone::HighMem,
            Zone::Movable,
        ]
        .into_iter()
        .map(|z| (z, m.zone_ranges(z)))
        .collect();
        PageAllocator {
            used,
            policy,
            rng: SplitMix64::new(seed),
            replay_next: 0,
            prefix: Vec::new(),
            prefix_next: 0,
            replay_ran_out: None,
            used_at_ran_out: None,
            spare: None,
            stop_at_ran_out: false,
            calls: 0,
            dest_ranges,
            zone_cache,
            gfp_cache: Vec::new(),
            last_plan: 0,
        }
    }

    /// The allocator [`PageAllocator::new`] makes for `policy` on the same
    /// machine and destinations, in this one's allocations: every page
    /// free, no call made, nothing replayed. The gfp plans are kept (a
    /// function of the machine, the destinations and the gfp alone).
    pub fn recycle(&mut self, policy: &Policy) {
        let seed = match policy {
            Policy::Random(s) | Policy::Adversarial(s) => *s,
            _ => 0,
        };
        // Every field named: one added later must be thought about here.
        let PageAllocator {
            used,
            policy: mine,
            rng,
            replay_next,
            prefix,
            prefix_next,
            replay_ran_out,
            used_at_ran_out,
            spare,
            stop_at_ran_out,
            calls,
            dest_ranges: _,
            zone_cache: _,
            gfp_cache: _,
            last_plan: _,
        } = self;
        used.clear();
        match (mine, policy) {
            (Policy::Replay(mine), Policy::Replay(list)) => mine.clone_from(list),
            (mine, p) => *mine = p.clone(),
        }
        *rng = SplitMix64::new(seed);
        *replay_next = 0;
        prefix.clear();
        *prefix_next = 0;
        *replay_ran_out = None;
        if let Some(b) = used_at_ran_out.take() {
            *spare = Some(b);
        }
        *stop_at_ran_out = false;
        *calls = 0;
    }

    /// [`PageAllocator::new`] for `m`, `policy` and `dest_ranges` (another
    /// machine and destinations too), keeping this one's bitmap's
    /// allocations.
    pub fn renew(&mut self, m: &Machine, policy: &Policy, dest_ranges: Vec<(u64, u64)>) {
        let mut used = self.take_bitmap();
        used.clear();
        *self = PageAllocator::new_in(m, policy.clone(), dest_ranges, used);
    }

    /// The pages-in-use bitmap's flat array for the pfns below `pfns`
    /// ([`PageBitmap::reserve`]), before the first call.
    pub fn reserve(&mut self, pfns: u64) {
        self.used.reserve(pfns);
    }

    /// Let go of the pages-in-use bitmap: every page reads as free after,
    /// and no call may follow ([`crate::kimage::Kimage::release_load_tables`]'s
    /// part; a replay's copy at the call it ran out at stays, the
    /// exhaustive explorer's, which releases nothing).
    pub fn release_bitmap(&mut self) {
        drop(self.take_bitmap());
    }

    /// The pages-in-use bitmap, taken (this allocator's reads every page
    /// free after, as [`PageAllocator::release_bitmap`] leaves it).
    pub fn take_bitmap(&mut self) -> PageBitmap {
        std::mem::take(&mut self.used)
    }

    /// Hand out `pfns` first, one per call, before the policy takes over:
    /// another design's allocation order, replayed (the explorer's
    /// same-order goals). A pfn the call cannot take is a replay error.
    pub fn set_prefix(&mut self, pfns: Vec<u64>) {
        self.prefix = pfns;
        self.prefix_next = 0;
    }

    /// Where the replay list runs out, stop the run with a replay error
    /// instead of failing the call (the kimage stays as it was at that
    /// call: the exhaustive explorer's choice point).
    pub fn stop_at_ran_out(&mut self) {
        self.stop_at_ran_out = true;
    }

    /// The gfp and order of the call a replay list had no pfn left for, if
    /// one ran out (the exhaustive explorer's next choice point).
    pub fn replay_ran_out(&self) -> Option<(Gfp, u32)> {
        self.replay_ran_out
    }

    /// Why the call the replay list ran out at, `(gfp, order)`, could not
    /// be handed `pfn` (the checks a replayed pfn passes, against the pages
    /// in use at that call), or None when it could.
    pub fn problem_at_ran_out(
        &mut self,
        m: &Machine,
        gfp: Gfp,
        order: u32,
        pfn: u64,
    ) -> Option<String> {
        let i = self.plan_index(m, gfp);
        let used = self.used_at_ran_out.as_deref().unwrap_or(&self.used);
        Self::replay_problem(m, used, &self.gfp_cache[i].1, pfn, 1 << order)
    }

    /// Whether the call the replay list ran out at, `(gfp, order)`, may be
    /// handed `pfn`: [`PageAllocator::problem_at_ran_out`] is None, without
    /// writing the reason (the exhaustive explorer asks this for every
    /// candidate page of every choice point).
    pub fn fits_at_ran_out(&mut self, m: &Machine, gfp: Gfp, order: u32, pfn: u64) -> bool {
        let i = self.plan_index(m, gfp);
        let used = self.used_at_ran_out.as_deref().unwrap_or(&self.used);
        if cfg!(feature = "small") {
            return Self::replay_problem(m, used, &self.gfp_cache[i].1, pfn, 1 << order).is_none();
        }
        let fits = Self::replay_fits(used, &self.gfp_cache[i].1, pfn, 1 << order);
        debug_assert_eq!(
            fits,
            Self::replay_problem(m, used, &self.gfp_cache[i].1, pfn, 1 << order).is_none()
        );
        fits
    }

    /// Feed the pages in use (at the call a replay list ran out at, else
    /// now) to `h`, by ascending word (the exhaustive explorer's canonical
    /// state). The replay list, its position, the call count and the
    /// policy's stream are history, not state: the explorer's replays run
    /// out long before [`MAX_ALLOC_CALLS`] and it never lets a policy pick.
    pub fn hash_used<H: std::hash::Hasher>(&self, h: &mut H) {
        let used = self.used_at_ran_out.as_deref().unwrap_or(&self.used);
        used.words.for_each(|i, w| {
            h.write_u64(i);
            h.write_u64(w);
        });
    }

    /// Allocator calls made so far.
    pub fn calls(&self) -> u64 {
        self.calls
    }

    fn zone_ranges(&self, z: Zone) -> &[(u64, u64)] {
        &self
            .zone_cache
            .iter()
            .find(|(zz, _)| *zz == z)
            .expect("every zone cached")
            .1
    }

    /// alloc_pages(gfp, order): a block of 2^order pages, as its first pfn.
    pub fn alloc(&mut self, m: &Machine, gfp: Gfp, order: u32) -> Result<u64, AllocError> {
        if self.calls >= MAX_ALLOC_CALLS {
            return Err(AllocError::Limit);
        }
        self.calls += 1;
        let i = self.plan_index(m, gfp);
        let n = 1u64 << order;
        // The fields borrowed one by one: the gfp's plan stays where it is
        // while the policy draws from the stream and reads the bitmap (no
        // copy, no reference count, nothing moved out and back per call).
        let plan = &self.gfp_cache[i].1;
        if let Some(&pfn) = self.prefix.get(self.prefix_next) {
            self.prefix_next += 1;
            Self::check_replayed(m, &self.used, plan, self.calls, pfn, gfp, order)?;
            self.used.allocate(pfn, n);
            return Ok(pfn);
        }
        let mut pick = Pick {
            rng: &mut self.rng,
            used: &self.used,
        };
        let got = match &self.policy {
            Policy::Replay(list) => {
                let Some(&pfn) = list.get(self.replay_next) else {
                    return Err(self.ran_out(gfp, order));
                };
                self.replay_next += 1;
                Self::check_replayed(m, &self.used, plan, self.calls, pfn, gfp, order)?;
                Some(pfn)
            }
            Policy::LowestFirst => pick.by_zone(plan, n, false),
            Policy::HighestFirst => pick.by_zone(plan, n, true),
            Policy::Random(_) => pick.random_in_zones(plan, n),
            Policy::Adversarial(_) => pick.adversarial(plan, n),
            Policy::Buddy => pick.buddy(plan, gfp, n),
        };
        match got {
            Some(p) => {
                self.used.allocate(p, n);
                Ok(p)
            }
            None => Err(AllocError::NoMemory),
        }
    }

    /// The replay list has no pfn left for this call: the first time, the
    /// call and the pages in use are kept (the exhaustive explorer's
    /// choice point); the call fails, or stops the run where the explorer
    /// asked for that.
    #[cold]
    #[inline(never)]
    fn ran_out(&mut self, gfp: Gfp, order: u32) -> AllocError {
        if self.replay_ran_out.is_none() {
            self.replay_ran_out = Some((gfp, order));
            let b = match self.spare.take() {
                Some(mut b) => {
                    PageBitmap::clone_from(&mut b, &self.used);
                    b
                }
                None => Box::new(self.used.clone()),
            };
            self.used_at_ran_out = Some(b);
        }
        if self.stop_at_ran_out {
            return AllocError::Replay(Box::new(ReplayError {
                call: self.calls,
                pfn: 0,
                gfp,
                order,
                reason: "the replay list ran out (the exhaustive explorer's choice point)".into(),
            }));
        }
        AllocError::NoMemory
    }

    /// A replayed pfn (from the replay prefix or a replay list) this call
    /// may legally get (against the pages in use, `used`), else the replay
    /// error for call number `call`.
    #[inline]
    fn check_replayed(
        m: &Machine,
        used: &PageBitmap,
        plan: &GfpPlan,
        call: u64,
        pfn: u64,
        gfp: Gfp,
        order: u32,
    ) -> Result<(), AllocError> {
        // Most replayed pfns fit (the explorer replays one design's pfns
        // for another): the checks without a reason first, inlined. Not
        // in the page's module (`small`), which runs no explorer and
        // whose bytes are counted.
        if cfg!(not(feature = "small")) && Self::replay_fits(used, plan, pfn, 1u64 << order) {
            return Ok(());
        }
        Self::replay_error(m, used, plan, call, pfn, gfp, order)
    }

    /// [`PageAllocator::check_replayed`] of a pfn that does not fit.
    #[cold]
    #[inline(never)]
    fn replay_error(
        m: &Machine,
        used: &PageBitmap,
        plan: &GfpPlan,
        call: u64,
        pfn: u64,
        gfp: Gfp,
        order: u32,
    ) -> Result<(), AllocError> {
        match Self::replay_problem(m, used, plan, pfn, 1u64 << order) {
            None => Ok(()),
            Some(reason) => Err(AllocError::Replay(Box::new(ReplayError {
                call,
                pfn,
                gfp,
                order,
                reason,
            }))),
        }
    }

    /// The plan of `gfp`, as its index in `gfp_cache` (made on its first
    /// call; the last one used is tried first: a segment's pages share a
    /// gfp).
    #[cfg_attr(not(feature = "small"), inline(always))]
    #[cfg_attr(feature = "small", inline)]
    fn plan_index(&mut self, m: &Machine, gfp: Gfp) -> usize {
        if matches!(self.gfp_cache.get(self.last_plan), Some((g, _)) if *g == gfp) {
            return self.last_plan;
        }
        self.find_plan(m, gfp)
    }

    #[inline(never)]
    fn find_plan(&mut self, m: &Machine, gfp: Gfp) -> usize {
        let i = match self.gfp_cache.iter().position(|(g, _)| *g == gfp) {
            Some(i) => i,
            None => {
                let plan = self.plan(m, gfp);
                self.gfp_cache.push((gfp, plan));
                self.gfp_cache.len() - 1
            }
        };
        self.last_plan = i;
        i
    }

    fn plan(&self, m: &Machine, gfp: Gfp) -> GfpPlan {
        let zones = gfp.zonelist(m.arch);
        let ceiling = gfp.pfn_ceiling(m.arch);
        let ranges: Vec<Ranges> = zones
            .iter()
            .map(|&z| {
                let r = self.zone_ranges(z);
                Ranges::new(match ceiling {
                    Some(c) => intersect(r, &[(0, c)]),
                    None => r.to_vec(),
                })
            })
            .collect();
        let mut allowed: Vec<(u64, u64)> = ranges.iter().flat_map(|r| r.iter()).copied().collect();
        allowed.sort_unstable();
        let limit_pfn = (m.arch.source_limit >> 12) + 1;
        GfpPlan {
            in_dest: Ranges::new(intersect(&allowed, &self.dest_ranges)),
            above_limit: Ranges::new(intersect(&allowed, &[(limit_pfn, u64::MAX)])),
            // Read by replay_fits only, which the page's module (`small`)
            // never calls.
            allowed: if cfg!(feature = "small") {
                Vec::new()
            } else {
                joined(&allowed)
            },
            zones,
            ranges,
            ceiling,
        }
    }

    /// __free_pages: give a block back.
    pub fn free(&mut self, pfn: u64, order: u32) {
        self.used.release(pfn, 1 << order);
    }

    /// [`PageAllocator::replay_problem`] is None: the same checks, no
    /// reason. The zones are checked against the plan's joined ranges
    /// (one search for the block) rather than a zone looked up a page.
    /// Not in the page's module (`small`), whose plans keep no joined
    /// ranges.
    #[inline]
    fn replay_fits(used: &PageBitmap, plan: &GfpPlan, pfn: u64, n: u64) -> bool {
        pfn.is_multiple_of(n)
            && plan.ceiling.is_none_or(|c| pfn + n <= c)
            && pfn.checked_add(n).is_some_and(|end| {
                let i = plan.allowed.partition_point(|r| r.1 <= pfn);
                plan.allowed
                    .get(i)
                    .is_some_and(|&(s, e)| s <= pfn && end <= e)
            })
            && used.is_free(pfn, n)
    }

    fn replay_problem(
        m: &Machine,
        used: &PageBitmap,
        plan: &GfpPlan,
        pfn: u64,
        n: u64,
    ) -> Option<String> {
        let zones = &plan.zones;
        if !pfn.is_multiple_of(n) {
            return Some(format!("not aligned to a block of {n} pages"));
        }
        if let Some(c) = plan.ceiling.filter(|&c| pfn + n > c) {
            return Some(format!(
                "pfn 0x{pfn:x} is at or above the word limit (pfn 0x{c:x}) this what-if allocates below"
            ));
        }
        for p in pfn..pfn + n {
            match m.zone_of(p) {
                None => return Some(format!("pfn 0x{p:x} is not RAM")),
                Some(z) if !zones.contains(&z) => {
                    let allowed: Vec<_> = zones.iter().map(|z| z.name()).collect();
                    return Some(format!(
                        "pfn 0x{p:x} is in ZONE_{}, which this gfp cannot reach (allowed: {})",
                        z.name().to_ascii_uppercase(),
                        allowed.join(", ")
                    ));
                }
                _ => {}
            }
        }
        if !used.is_free(pfn, n) {
            return Some("already handed out and not freed".into());
        }
        None
    }
}

/// A policy's pick for one call: the stream it draws from and the pages
/// in use, borrowed from the allocator beside the call's gfp plan.
struct Pick<'a> {
    rng: &'a mut SplitMix64,
    used: &'a PageBitmap,
}

impl Pick<'_> {
    fn by_zone(&self, plan: &GfpPlan, n: u64, highest: bool) -> Option<u64> {
        plan.ranges.iter().find_map(|ranges| {
            if highest {
                ranges
                    .iter()
                    .rev()
                    .find_map(|&(lo, hi)| self.used.highest_in(lo, hi, n))
            } else {
                ranges
                    .iter()
                    .find_map(|&(lo, hi)| self.used.lowest_in(lo, hi, n))
            }
        })
    }

    /// The `buddy` policy's pick: for a highmem-capable (user) request, in
    /// the first zone that has a free block of `n` pages, the highest whole
    /// [`BUDDY_BLOCK`]-page block with one, and the lowest in it; then the
    /// zone's partial blocks at its edges, the same way (their pieces sit
    /// on the lower orders' free lists, which a machine that has run user
    /// space has used up). Otherwise (kernel requests) the lowest free
    /// block of the first zone that has one.
    fn buddy(&self, plan: &GfpPlan, gfp: Gfp, n: u64) -> Option<u64> {
        if !gfp.highmem() {
            return self.by_zone(plan, n, false);
        }
        let top_down = |lo: u64, hi: u64| {
            let top = self.used.highest_in(lo, hi, n)?;
            let block = (top & !(BUDDY_BLOCK - 1)).max(lo);
            self.used.lowest_in(block, top + n, n)
        };
        plan.ranges.iter().find_map(|ranges| {
            let whole = |&(lo, hi): &(u64, u64)| {
                let (lo, hi) = (lo.next_multiple_of(BUDDY_BLOCK), hi & !(BUDDY_BLOCK - 1));
                (lo < hi).then(|| top_down(lo, hi)).flatten()
            };
            ranges
                .iter()
                .rev()
                .find_map(whole)
                .or_else(|| ranges.iter().rev().find_map(|&(lo, hi)| top_down(lo, hi)))
        })
    }

    /// A seeded pick in `ranges`: a random pfn weighted by range size, then
    /// the first free block at or after it (wrapping through the ranges).
    #[cfg_attr(not(feature = "small"), inline(always))]
    #[cfg_attr(feature = "small", inline)]
    fn random_in_ranges(&mut self, ranges: &Ranges, n: u64) -> Option<u64> {
        if ranges.pages == 0 {
            return None;
        }
        let mut r = self.rng.below(ranges.pages);
        let mut idx = 0;
        for (i, &(s, e)) in ranges.iter().enumerate() {
            if r < e - s {
                idx = i;
                r += s;
                break;
            }
            r -= e - s;
        }
        let (s, e) = ranges[idx];
        if let Some(p) = self.used.lowest_in(r, e, n) {
            return Some(p);
        }
        for k in 1..=ranges.len() {
            let (s2, e2) = ranges[(idx + k) % ranges.len()];
            if let Some(p) = self.used.lowest_in(s2, e2, n) {
                return Some(p);
            }
        }
        self.used.lowest_in(s, r, n)
    }

    fn random_in_zones(&mut self, plan: &GfpPlan, n: u64) -> Option<u64> {
        for ranges in &plan.ranges {
            if let Some(p) = self.random_in_ranges(ranges, n) {
                return Some(p);
            }
        }
        None
    }

    fn adversarial(&mut self, plan: &GfpPlan, n: u64) -> Option<u64> {
        let roll = self.rng.below(100);
        if roll < 45 {
            if let Some(p) = self.random_in_ranges(&plan.in_dest, n) {
                return Some(p);
            }
        } else if roll < 75 {
            // High pages: above what the kexec source limit allows first
            // (unusable_pages), then the highest zone the gfp reaches.
            if let Some(p) = self.random_in_ranges(&plan.above_limit, n) {
                return Some(p);
            }
            if let Some(top) = plan.ranges.first() {
                if let Some(p) = self.random_in_ranges(top, n) {
                    return Some(p);
                }
            }
        }
        self.random_in_zones(plan, n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::Arch;
    use crate::gfp::{GFP_HIGHUSER, GFP_KERNEL};

    fn m() -> Machine {
        Machine::new(Arch::I386Pae.profile(), vec![(0, 0x60000)], vec![])
    }

    #[test]
    fn freeset_ops() {
        let mut f = FreeSet::default();
        f.insert(0, 10);
        f.remove(3, 2);
        assert!(!f.contains(3, 1));
        assert!(f.contains(5, 5));
        assert_eq!(f.run_end(6), Some(10));
        assert_eq!(f.run_start(6), Some(5));
        assert_eq!(f.run_end(3), None);
        f.insert(3, 2);
        assert_eq!(f.iv.len(), 1);
        assert_eq!(f.pages(), 10);
    }

    #[test]
    fn bitmap_searches() {
        let mut b = PageBitmap::default();
        assert_eq!(b.lowest_in(5, 100, 1), Some(5));
        assert_eq!(b.lowest_in(5, 100, 2), Some(6));
        b.allocate(6, 3);
        assert_eq!(b.lowest_in(6, 100, 1), Some(9));
        assert_eq!(b.lowest_in(5, 100, 2), Some(10));
        assert_eq!(b.highest_in(0, 9, 1), Some(5));
        assert_eq!(b.highest_in(0, 9, 2), Some(4));
        assert_eq!(b.highest_in(6, 9, 1), None);
        // A full chunk is skipped in one step, both ways.
        b.allocate(4096, 4096);
        assert_eq!(b.lowest_in(4096, 20000, 1), Some(8192));
        assert_eq!(b.highest_in(0, 8192, 1), Some(4095));
        b.release(5000, 1);
        assert_eq!(b.lowest_in(4096, 20000, 1), Some(5000));
        assert_eq!(b.highest_in(0, 8192, 1), Some(5000));
        assert_eq!(b.allocated(), 4098);
        assert!(b.is_free(5000, 1) && !b.is_free(4999, 2));
    }

    #[test]
    fn highest_in_skips_full_words_to_the_top_of_the_next_free_one() {
        // A full chunk but for the top page of its word 5, the top pair of
        // its word 3 and a page of its word 1: each search from the top
        // lands on the highest of them, whatever full words lie between.
        let mut b = PageBitmap::default();
        b.allocate(0, CHUNK_PAGES);
        for p in [5 * 64 + 63, 3 * 64 + 62, 3 * 64 + 63, 64 + 10] {
            b.release(p, 1);
        }
        assert_eq!(b.highest_in(0, CHUNK_PAGES, 1), Some(5 * 64 + 63));
        assert_eq!(b.highest_in(0, 5 * 64 + 63, 1), Some(3 * 64 + 63));
        assert_eq!(b.highest_in(0, CHUNK_PAGES, 2), Some(3 * 64 + 62));
        assert_eq!(b.highest_in(0, 3 * 64 + 62, 1), Some(64 + 10));
        assert_eq!(b.highest_in(64 + 11, 3 * 64 + 62, 1), None);
        assert_eq!(b.highest_in(0, 64 + 10, 1), None);
    }

    #[test]
    fn lowest_first_follows_zonelist() {
        let m = m();
        let mut a = PageAllocator::new(&m, Policy::LowestFirst, vec![]);
        // GFP_HIGHUSER tries ZONE_HIGHMEM first.
        assert_eq!(a.alloc(&m, GFP_HIGHUSER, 0), Ok(0x38000));
        // GFP_KERNEL starts in ZONE_NORMAL.
        assert_eq!(a.alloc(&m, GFP_KERNEL, 0), Ok(0x1000));
        assert_eq!(a.alloc(&m, GFP_KERNEL, 1), Ok(0x1002));
    }

    #[test]
    fn highest_first() {
        let m = m();
        let mut a = PageAllocator::new(&m, Policy::HighestFirst, vec![]);
        assert_eq!(a.alloc(&m, GFP_HIGHUSER, 0), Ok(0x5ffff));
        assert_eq!(a.alloc(&m, GFP_KERNEL, 0), Ok(0x37fff));
    }

    /// check_replayed asks replay_fits first and replay_problem only for
    /// the reason: both must answer alike for every pfn, order and gfp,
    /// on machines with a hole, movable memory and a word limit.
    /// The page's module (`small`) has no replay_fits to test.
    #[test]
    #[cfg(not(feature = "small"))]
    fn replay_fits_is_replay_problem_none() {
        use crate::gfp::{GFP_DMA32, GFP_HIGHUSER_MOVABLE, GFP_WORD_LIMIT_BIT};
        let machines = [
            m(),
            Machine::new(
                Arch::I386Pae.profile(),
                vec![(0x100, 0x20000), (0x30000, 0x50000), (0x100000, 0x100400)],
                vec![(0x40000, 0x48000)],
            ),
            Machine::new(
                Arch::X86_64.profile(),
                vec![(0, 0x9f), (0x100, 0x110000)],
                vec![(0x100800, 0x110000)],
            ),
            // RAM ranges and ZONE_MOVABLE meeting at odd pfns: aligned
            // blocks of 2-8 pages straddle them.
            Machine::new(
                Arch::I386Pae.profile(),
                vec![(0x100, 0x2003), (0x2003, 0x30001), (0x30001, 0x60005)],
                vec![(0x28003, 0x38005)],
            ),
        ];
        let gfps = [
            GFP_KERNEL,
            GFP_HIGHUSER,
            GFP_DMA32,
            GFP_HIGHUSER_MOVABLE,
            Gfp(GFP_WORD_LIMIT_BIT),
            Gfp(GFP_HIGHUSER.0 | GFP_WORD_LIMIT_BIT),
        ];
        for m in &machines {
            let mut a = PageAllocator::new(m, Policy::LowestFirst, vec![]);
            // Some pages handed out, so that is_free answers both ways.
            for _ in 0..300 {
                let _ = a.alloc(m, GFP_KERNEL, 0);
                let _ = a.alloc(m, GFP_HIGHUSER, 1);
            }
            let mut rng = kexec_common::rng::SplitMix64::new(3);
            let top = m.max_pfn() + 0x100;
            for &gfp in &gfps {
                let i = a.plan_index(m, gfp);
                let plan = &a.gfp_cache[i].1;
                for k in 0..4000u64 {
                    let pfn = match k % 4 {
                        0 => rng.below(top),
                        // Near the edges of RAM, zones and the ceiling.
                        _ => {
                            let edges: Vec<u64> = m
                                .ram()
                                .iter()
                                .flat_map(|&(s, e)| [s, e])
                                .chain(
                                    plan.ranges
                                        .iter()
                                        .flat_map(|r| r.iter())
                                        .flat_map(|&(s, e)| [s, e]),
                                )
                                .collect();
                            let e = edges[rng.below(edges.len() as u64) as usize];
                            (e + rng.below(4)).saturating_sub(2)
                        }
                    };
                    for n in [1, 2, 4, 8] {
                        // Aligned too, so that blocks straddle the edges.
                        let pfn = if k % 2 == 0 { pfn } else { pfn & !(n - 1) };
                        assert_eq!(
                            PageAllocator::replay_fits(&a.used, plan, pfn, n),
                            PageAllocator::replay_problem(m, &a.used, plan, pfn, n).is_none(),
                            "pfn {pfn:#x}, {n} pages, gfp {gfp:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn replay_checks_each_pfn() {
        let m = m();
        let mut a = PageAllocator::new(
            &m,
            Policy::Replay(vec![0x40000, 0x40000, 0x50000, 0x100000]),
            vec![],
        );
        assert_eq!(a.alloc(&m, GFP_HIGHUSER, 0), Ok(0x40000));
        let e = a.alloc(&m, GFP_HIGHUSER, 0).unwrap_err();
        assert!(
            matches!(e, AllocError::Replay(ref r) if r.call == 2 && r.reason.contains("already"))
        );
        let e = a.alloc(&m, GFP_KERNEL, 0).unwrap_err();
        assert!(matches!(e, AllocError::Replay(ref r) if r.reason.contains("ZONE_HIGHMEM")));
        let e = a.alloc(&m, GFP_HIGHUSER, 0).unwrap_err();
        assert!(matches!(e, AllocError::Replay(ref r) if r.reason.contains("not RAM")));
        assert_eq!(a.alloc(&m, GFP_HIGHUSER, 0), Err(AllocError::NoMemory));
    }

    #[test]
    fn random_is_deterministic_and_in_zone() {
        let m = m();
        let run = || {
            let mut a = PageAllocator::new(&m, Policy::Random(7), vec![]);
            (0..50)
                .map(|_| a.alloc(&m, GFP_KERNEL, 0).unwrap())
                .collect::<Vec<_>>()
        };
        let x = run();
        assert_eq!(x, run());
        assert!(x.iter().all(|&p| (0x1000..0x38000).contains(&p)));
        let mut d = x.clone();
        d.sort_unstable();
        d.dedup();
        assert_eq!(d.len(), x.len());
    }

    #[test]
    fn runs_out() {
        let m = Machine::new(Arch::I386.profile(), vec![(0x1000, 0x1002)], vec![]);
        let mut a = PageAllocator::new(&m, Policy::Random(1), vec![]);
        assert!(a.alloc(&m, GFP_KERNEL, 0).is_ok());
        assert!(a.alloc(&m, GFP_KERNEL, 0).is_ok());
        assert_eq!(a.alloc(&m, GFP_KERNEL, 0), Err(AllocError::NoMemory));
    }
}
