//! Physical memory: RAM ranges, zones, the lowmem line and page contents.
//!
//! Mirrors what the kernel derives at boot from the e820 map
//! (`zone_sizes_init`, `find_low_pfn_range` on x86_32) and the two answers to
//! "is this page highmem?": `PageHighMem` as a direct-map test (pfn at or above
//! max_low_pfn, what Joonsoo Kim's series redefined it to) and
//! `PageHighMemZone` (the zone-based test 6.1 calls PageHighMem).
//!
//! Page contents are content tags, not bytes: a page holds nothing kexec
//! wrote (absent from the store: "old contents"), zeros, one page of a
//! segment's buffer, or real entry words (an indirection page). Only pages
//! kexec touched cost memory.

use crate::arch::{ArchProfile, PAGE_SHIFT, PAGE_SIZE};
use crate::gfp::Zone;
use crate::sparse::SectionMap;
use std::cell::Cell;

/// First pfn above ZONE_DMA (MAX_DMA_PFN).
pub const MAX_DMA_PFN: u64 = (16 << 20) >> PAGE_SHIFT;
/// First pfn above ZONE_DMA32 (MAX_DMA32_PFN).
pub const MAX_DMA32_PFN: u64 = 1 << 20;

/// The simulated machine's physical memory layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Machine {
    /// The arch profile.
    pub arch: &'static ArchProfile,
    ram: Vec<(u64, u64)>,
    movable: Vec<(u64, u64)>,
    totalram_pages: u64,
    lowmem_end: Option<u64>,
    /// The lowmem line as a pfn, u64::MAX without one: PageHighMem is one
    /// compare on its hot paths.
    low_pfn: u64,
}

impl Machine {
    /// A machine from sorted, non-overlapping pfn ranges `[start, end)` of RAM
    /// and of ZONE_MOVABLE (validated by the scenario layer).
    pub fn new(arch: &'static ArchProfile, ram: Vec<(u64, u64)>, movable: Vec<(u64, u64)>) -> Self {
        let totalram_pages = ram.iter().map(|(s, e)| e - s).sum();
        Machine {
            arch,
            ram,
            movable,
            totalram_pages,
            lowmem_end: arch.lowmem_end,
            low_pfn: arch.lowmem_end.map_or(u64::MAX, |end| end >> PAGE_SHIFT),
        }
    }

    /// The same machine with its lowmem line at `end` (bytes; a real
    /// machine's max_low_pfn x PAGE_SIZE, which depends on the vmalloc
    /// reserve): `None` keeps the arch's fixed line. Used by PageHighMem,
    /// the zones and the direct map alike.
    pub fn with_lowmem_end(mut self, end: Option<u64>) -> Self {
        if self.arch.lowmem_end.is_some() {
            if let Some(e) = end {
                self.lowmem_end = Some(e);
                self.low_pfn = e >> PAGE_SHIFT;
            }
        }
        self
    }

    /// The lowmem line in bytes (`None`: every page is direct-mapped).
    pub fn lowmem_end(&self) -> Option<u64> {
        self.lowmem_end
    }

    /// Whether `pfn` is below the lowmem line (direct-mapped).
    #[cfg_attr(not(feature = "small"), inline(always))]
    #[cfg_attr(feature = "small", inline)]
    pub fn is_lowmem_pfn(&self, pfn: u64) -> bool {
        pfn < self.low_pfn || self.lowmem_end.is_none()
    }

    /// RAM as pfn ranges.
    pub fn ram(&self) -> &[(u64, u64)] {
        &self.ram
    }

    /// ZONE_MOVABLE as pfn ranges.
    pub fn movable(&self) -> &[(u64, u64)] {
        &self.movable
    }

    /// totalram_pages(): every page of RAM (the model reserves nothing at boot).
    pub fn totalram_pages(&self) -> u64 {
        self.totalram_pages
    }

    /// The highest pfn + 1 of RAM.
    pub fn max_pfn(&self) -> u64 {
        self.ram.last().map_or(0, |r| r.1)
    }

    /// Whether `pfn` is RAM.
    #[inline]
    pub fn is_ram(&self, pfn: u64) -> bool {
        in_ranges(&self.ram, pfn)
    }

    /// max_low_pfn: the first pfn without a direct mapping.
    pub fn max_low_pfn(&self) -> u64 {
        match self.lowmem_end {
            Some(end) => (end >> PAGE_SHIFT).min(self.max_pfn()),
            None => self.max_pfn(),
        }
    }

    /// The zone ZONE_MOVABLE was carved from (the kernel's `movable_zone`):
    /// ZONE_HIGHMEM on a 32-bit machine with highmem, else ZONE_NORMAL.
    pub fn movable_zone(&self) -> Zone {
        if self.lowmem_end.is_some() && self.max_pfn() > self.max_low_pfn() {
            Zone::HighMem
        } else {
            Zone::Normal
        }
    }

    /// The zone of a RAM page (`None` outside RAM).
    pub fn zone_of(&self, pfn: u64) -> Option<Zone> {
        if !self.is_ram(pfn) {
            return None;
        }
        if in_ranges(&self.movable, pfn) {
            return Some(Zone::Movable);
        }
        Some(self.static_zone(pfn))
    }

    fn static_zone(&self, pfn: u64) -> Zone {
        if pfn < self.arch.dma_end >> PAGE_SHIFT {
            Zone::Dma
        } else if self.arch.has_dma32 && pfn < MAX_DMA32_PFN {
            Zone::Dma32
        } else if self.is_lowmem_pfn(pfn) {
            Zone::Normal
        } else {
            Zone::HighMem
        }
    }

    /// The pfn ranges of RAM that belong to `zone`, ascending.
    pub fn zone_ranges(&self, zone: Zone) -> Vec<(u64, u64)> {
        if zone == Zone::Movable {
            return intersect(&self.ram, &self.movable);
        }
        let low = self.lowmem_end.map(|e| e >> PAGE_SHIFT);
        let (s, e) = match zone {
            Zone::Dma => (0, self.arch.dma_end >> PAGE_SHIFT),
            Zone::Dma32 if self.arch.has_dma32 => (MAX_DMA_PFN, MAX_DMA32_PFN),
            Zone::Dma32 => (0, 0),
            Zone::Normal if self.arch.has_dma32 => (MAX_DMA32_PFN, u64::MAX),
            Zone::Normal => (self.arch.dma_end >> PAGE_SHIFT, low.unwrap_or(u64::MAX)),
            Zone::HighMem => match low {
                Some(l) => (l, u64::MAX),
                None => (0, 0),
            },
            Zone::Movable => unreachable!("handled above"),
        };
        let zone_ram = intersect(&self.ram, &[(s, e)]);
        subtract(&zone_ram, &self.movable)
    }

    /// PageHighMem as a direct-map test: the page has no permanent kernel
    /// mapping, so page_address() is NULL unless it is kmap()ed.
    #[cfg_attr(not(feature = "small"), inline(always))]
    #[cfg_attr(feature = "small", inline)]
    pub fn page_highmem(&self, pfn: u64) -> bool {
        !self.is_lowmem_pfn(pfn)
    }

    /// The name of `pfn`'s zone as the lists print it, or "not RAM".
    pub fn zone_name(&self, pfn: u64) -> &'static str {
        self.zone_of(pfn).map_or("not RAM", |z| z.name())
    }

    /// "highmem" for a page without a direct mapping
    /// ([`Machine::page_highmem`]), else "lowmem".
    pub fn map_name(&self, pfn: u64) -> &'static str {
        if self.page_highmem(pfn) {
            "highmem"
        } else {
            "lowmem"
        }
    }

    /// PageHighMemZone: the zone-based test (6.1's PageHighMem): the page's
    /// zone is ZONE_HIGHMEM, or ZONE_MOVABLE carved from ZONE_HIGHMEM.
    pub fn page_highmem_zone(&self, pfn: u64) -> bool {
        match self.zone_of(pfn) {
            Some(Zone::HighMem) => true,
            Some(Zone::Movable) => self.movable_zone() == Zone::HighMem,
            _ => false,
        }
    }
}

/// Whether `x` lies in one of the sorted ranges.
#[inline]
pub fn in_ranges(ranges: &[(u64, u64)], x: u64) -> bool {
    // One range (most machines' RAM): no search.
    if let [(start, end)] = ranges {
        return *start <= x && x < *end;
    }
    let i = ranges.partition_point(|r| r.1 <= x);
    i < ranges.len() && ranges[i].0 <= x
}

/// A sorted range list with ranges that touch or overlap made one.
pub fn joined(ranges: &[(u64, u64)]) -> Vec<(u64, u64)> {
    let mut out: Vec<(u64, u64)> = Vec::with_capacity(ranges.len());
    for &(s, e) in ranges.iter().filter(|(s, e)| s < e) {
        match out.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

/// Intersection of two sorted range lists.
pub fn intersect(a: &[(u64, u64)], b: &[(u64, u64)]) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    for &(s1, e1) in a {
        for &(s2, e2) in b {
            let s = s1.max(s2);
            let e = e1.min(e2);
            if s < e {
                out.push((s, e));
            }
        }
    }
    out.sort_unstable();
    out
}

/// `a` minus `b`, both sorted range lists.
pub fn subtract(a: &[(u64, u64)], b: &[(u64, u64)]) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    for &(s, e) in a {
        let mut cur = s;
        for &(bs, be) in b {
            if be <= cur || bs >= e {
                continue;
            }
            if bs > cur {
                out.push((cur, bs));
            }
            cur = cur.max(be);
        }
        if cur < e {
            out.push((cur, e));
        }
    }
    out
}

/// What a page holds, as far as kexec is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    /// All zeros.
    Zero,
    /// Page `page` of segment `seg`'s buffer: `len` bytes of the segment's
    /// pattern, then zeros.
    Data {
        /// Segment index.
        seg: u8,
        /// Page index within the segment.
        page: u32,
        /// Bytes of buffer data at the start of the page (1..=4096).
        len: u16,
    },
    /// Entry words (an indirection page), full slot array.
    Entries(Box<[u64]>),
}

/// A deterministic word of segment `seg`'s buffer pattern (for reading a data
/// page as if it were an entry page).
pub fn pattern_word(seg: u8, page: u32, slot: u64) -> u64 {
    let mut x = (u64::from(seg) << 56) ^ (u64::from(page) << 20) ^ slot ^ 0x9e37_79b9_7f4a_7c15;
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// A page's word in a [`PageStore`] (four bytes per pfn: the table the
/// load writes at a random pfn for every source page, and the relocation
/// check reads back; at eight bytes it was 32 MiB on huge-initrd, most
/// of it missing every cache). The top two bits are the tag, 0 for old
/// contents.
const TAG_ZERO: u32 = 1 << 30;
/// A data page. With [`DATA_ODD`] clear, a whole page of a segment
/// below 16 at a page below 2^25, in the word: segment in bits 25-28,
/// page in bits 0-24. With it set, the rest indexes the store's `odd`
/// contents (a partly filled page: one per segment at most, in a load).
const TAG_DATA: u32 = 2 << 30;
/// The page is an entry page: its words are in the store's entry pages,
/// at the index in the low bits.
const TAG_ENTRIES: u32 = 3 << 30;
const TAG_MASK: u32 = 3 << 30;
const DATA_ODD: u32 = 1 << 29;
const DATA_SEG_SHIFT: u32 = 25;
const DATA_PAGE_MASK: u32 = (1 << DATA_SEG_SHIFT) - 1;

/// A zero or data page as eight bytes (the form the store's `odd`
/// contents keep and the exhaustive explorer's hash reads): tag in bits
/// 62-63, segment in 48-55, page in 16-47, length in 0-15.
const WIDE_ZERO: u64 = 1 << 62;
const WIDE_DATA: u64 = 2 << 62;
/// An entry page's tag in the exhaustive explorer's hash.
const WIDE_ENTRIES: u64 = 3 << 62;

#[inline]
fn pack_wide(c: &Content) -> u64 {
    match *c {
        Content::Zero => WIDE_ZERO,
        Content::Data { seg, page, len } => {
            WIDE_DATA | u64::from(seg) << 48 | u64::from(page) << 16 | u64::from(len)
        }
        Content::Entries(_) => unreachable!("entry pages live in their own map"),
    }
}

#[inline]
fn unpack_wide(x: u64) -> Option<Content> {
    match x & (3 << 62) {
        WIDE_ZERO => Some(Content::Zero),
        WIDE_DATA => Some(Content::Data {
            seg: (x >> 48) as u8,
            page: (x >> 16) as u32,
            len: x as u16,
        }),
        _ => None,
    }
}

/// Page contents, stored sparsely by pfn. A pfn absent from the store still
/// holds whatever the running kernel had there ("old contents"). Every page
/// is 4 bytes in a [`SectionMap`] (one read per lookup): zeros and whole
/// data pages packed, a partly filled data page the index of its contents
/// in `odd`, entry pages a tag and the index of their words among the
/// store's entry pages (no hashing on any path).
#[derive(Debug, Clone, Default)]
pub struct PageStore {
    data: SectionMap<u32, 6>,
    /// Data pages whose word cannot hold them ([`TAG_DATA`] with
    /// [`DATA_ODD`]), as [`pack_wide`] makes them.
    odd: Vec<u64>,
    entries: Vec<Box<[u64]>>,
    /// Per entry array, how far its words may be non-zero: every word at
    /// and past it is zero (what [`PageStore::set_entry`] wrote reaches
    /// no further; an array handed out whole counts as all of it).
    reach: Vec<usize>,
    /// Indexes of `entries` no page uses.
    unused: Vec<usize>,
    /// The entry page read or written last and the index of its words
    /// (a list is written and walked a page at a time: most entry
    /// accesses skip the section map). Cleared when that pfn's slot
    /// changes.
    last: Cell<Option<(u64, usize)>>,
    /// Entry arrays no page uses any more, with their reach, reused
    /// (zeroed up to it) by the next entry pages of their size instead of
    /// allocated again.
    spare: Vec<(Box<[u64]>, usize)>,
}

#[inline]
fn entries_index(x: u32) -> Option<usize> {
    (x & TAG_MASK == TAG_ENTRIES).then_some((x & !TAG_MASK) as usize)
}

impl PageStore {
    /// Empty (nothing written, every page old contents), keeping the
    /// allocations.
    pub fn clear(&mut self) {
        self.last.set(None);
        self.data.clear();
        self.odd.clear();
        self.spare.extend(
            self.entries
                .drain(..)
                .zip(self.reach.drain(..))
                .filter(|(w, _)| !w.is_empty()),
        );
        self.unused.clear();
    }

    /// A flat array for the words of the pfns below `pfns`
    /// ([`SectionMap::reserve`]; an empty store only).
    pub fn reserve(&mut self, pfns: u64) {
        self.data.reserve(pfns);
    }

    /// A copy of every page's packed word, for [`PageMoves::from_slots`]
    /// (the store keeps its own).
    pub fn copy_slots(&self) -> SectionMap<u32, 6> {
        self.data.clone()
    }

    /// Every page's packed word taken out, for [`PageMoves::from_slots`]:
    /// the store holds no page until [`PageStore::put_slots`] (its entry
    /// pages' words stay).
    pub fn take_slots(&mut self) -> SectionMap<u32, 6> {
        self.last.set(None);
        std::mem::take(&mut self.data)
    }

    /// The packed words back (as [`PageMoves::into_slots`] leaves them).
    pub fn put_slots(&mut self, slots: SectionMap<u32, 6>) {
        self.last.set(None);
        self.data = slots;
    }

    /// `slots` zero words: a spare array of that size zeroed (up to its
    /// reach), else a new one.
    fn zeroed(&mut self, slots: usize) -> Box<[u64]> {
        match self.spare.pop() {
            Some((mut w, reach)) if w.len() == slots => {
                w[..reach].fill(0);
                w
            }
            _ => vec![0; slots].into_boxed_slice(),
        }
    }

    /// The word of a zero or data page.
    #[cfg_attr(not(feature = "small"), inline(always))]
    #[cfg_attr(feature = "small", inline)]
    fn pack(&mut self, c: &Content) -> u32 {
        match *c {
            Content::Zero => TAG_ZERO,
            Content::Data { seg, page, len }
                if seg < 16 && page <= DATA_PAGE_MASK && u64::from(len) == PAGE_SIZE =>
            {
                TAG_DATA | u32::from(seg) << DATA_SEG_SHIFT | page
            }
            _ => self.pack_odd(c),
        }
    }

    #[inline(never)]
    fn pack_odd(&mut self, c: &Content) -> u32 {
        let w = pack_wide(c);
        if self.odd.last() != Some(&w) {
            self.odd.push(w);
        }
        let i = u32::try_from(self.odd.len() - 1)
            .ok()
            .filter(|&i| i < DATA_ODD)
            .expect("fewer than 2^29 partly filled pages written in a run");
        TAG_DATA | DATA_ODD | i
    }

    /// The contents a word that is not an entry page's stands for.
    #[inline]
    fn unpack(&self, x: u32) -> Option<Content> {
        unpack_wide(self.wide(x))
    }

    /// A word that is not an entry page's, as eight bytes ([`pack_wide`]).
    #[inline]
    fn wide(&self, x: u32) -> u64 {
        match x & TAG_MASK {
            TAG_ZERO => WIDE_ZERO,
            TAG_DATA if x & DATA_ODD != 0 => self.odd[(x & (DATA_ODD - 1)) as usize],
            TAG_DATA => {
                WIDE_DATA
                    | u64::from(x >> DATA_SEG_SHIFT & 15) << 48
                    | u64::from(x & DATA_PAGE_MASK) << 16
                    | PAGE_SIZE
            }
            _ => 0,
        }
    }

    /// File `w` as an entry array whose words past `reach` are zero.
    fn add_entries(&mut self, w: Box<[u64]>, reach: usize) -> u32 {
        let i = match self.unused.pop() {
            Some(i) => {
                self.entries[i] = w;
                self.reach[i] = reach;
                i
            }
            None => {
                self.entries.push(w);
                self.reach.push(reach);
                self.entries.len() - 1
            }
        };
        TAG_ENTRIES | u32::try_from(i).expect("fewer than 2^30 entry pages")
    }

    /// `pfn`'s slot is about to change: forget it as the last entry page.
    #[cfg_attr(not(feature = "small"), inline(always))]
    #[cfg_attr(feature = "small", inline)]
    fn changing(&mut self, pfn: u64) {
        if matches!(self.last.get(), Some((p, _)) if p == pfn) {
            self.last.set(None);
        }
    }

    fn drop_entries(&mut self, i: usize) {
        let w = std::mem::take(&mut self.entries[i]);
        if !w.is_empty() {
            self.spare.push((w, self.reach[i]));
        }
        self.reach[i] = 0;
        self.unused.push(i);
    }

    #[inline]
    fn slot(&self, pfn: u64) -> u32 {
        self.data.get(pfn)
    }

    #[inline]
    fn put_slot(&mut self, pfn: u64, x: u32) {
        self.changing(pfn);
        self.data.set(pfn, x);
    }

    /// Content of `pfn`, `None` for old contents.
    pub fn get(&self, pfn: u64) -> Option<Content> {
        let x = self.slot(pfn);
        match entries_index(x) {
            Some(i) => Some(Content::Entries(self.entries[i].clone())),
            None => self.unpack(x),
        }
    }

    /// Feed every page kexec wrote, by ascending pfn, with its content, to
    /// `h` (the exhaustive explorer's canonical state): equal feeds, equal
    /// contents, however the entry arrays are numbered inside.
    pub fn hash_contents<H: std::hash::Hasher>(&self, h: &mut H) {
        self.data.for_each(|pfn, x| {
            h.write_u64(pfn);
            match entries_index(x) {
                Some(i) => {
                    // Slot and word of each non-zero slot: an indirection
                    // page is mostly zeros.
                    h.write_u64(WIDE_ENTRIES);
                    h.write_u64(self.entries[i].len() as u64);
                    // Eight words a step past the zeros, up to the
                    // array's reach (zeros after it).
                    let words = &self.entries[i][..self.reach[i]];
                    for (c, chunk) in words.chunks(8).enumerate() {
                        if chunk.iter().fold(0, |a, &w| a | w) == 0 {
                            continue;
                        }
                        for (j, &w) in chunk.iter().enumerate() {
                            if w != 0 {
                                h.write_u64((8 * c + j) as u64);
                                h.write_u64(w);
                            }
                        }
                    }
                }
                None => h.write_u64(self.wide(x)),
            }
        });
    }

    /// Whether `pfn` is an entry page.
    #[inline]
    pub fn is_entries(&self, pfn: u64) -> bool {
        entries_index(self.slot(pfn)).is_some()
    }

    /// Set the content of `pfn`.
    #[inline]
    pub fn set(&mut self, pfn: u64, c: Content) {
        let Content::Entries(w) = c else {
            let x = self.pack(&c);
            return self.put_word(pfn, x);
        };
        self.changing(pfn);
        if let Some(i) = entries_index(*self.data.get_mut(pfn)) {
            self.drop_entries(i);
        }
        let reach = w.len();
        let x = self.add_entries(w, reach);
        *self.data.get_mut(pfn) = x;
    }

    /// [`PageStore::set`] of a zero or data page to a page that holds no
    /// entry array: kimage_load_normal_segment's clear_page and copy into
    /// the page kimage_alloc_page returned (one the allocator just handed
    /// out, one filed on dest_pages, or a swap's old data page):
    /// the page's word is written without being read first. On a big
    /// image that word is a cache miss, and a write the processor need not
    /// wait for, where [`PageStore::set`] reads it to let an entry array
    /// go.
    #[inline]
    pub fn set_unread(&mut self, pfn: u64, c: Content) {
        debug_assert!(entries_index(self.slot(pfn)).is_none());
        debug_assert!(!matches!(c, Content::Entries(_)));
        let x = self.pack(&c);
        self.put_slot(pfn, x);
    }

    /// copy_highpage(`to`, `from`): `to` holds what `from` holds (old
    /// contents stay old). A zero or data page's word is copied as it is,
    /// without making a [`Content`] of it.
    pub fn copy_page(&mut self, from: u64, to: u64) {
        let x = self.slot(from);
        if x == 0 || entries_index(x).is_some() {
            match self.get(from) {
                Some(c) => self.set(to, c),
                None => self.forget(to),
            }
            return;
        }
        self.put_word(to, x);
    }

    /// [`PageStore::copy_page`] (copy_highpage) to a page that holds no
    /// entry array: kimage_alloc_page's swap, into the page the allocator
    /// just handed out. A zero or data page's word is
    /// written to `to` without `to`'s being read first (see
    /// [`PageStore::set_unread`]).
    #[inline]
    pub fn copy_page_unread(&mut self, from: u64, to: u64) {
        debug_assert!(entries_index(self.slot(to)).is_none());
        let x = self.slot(from);
        if x == 0 || entries_index(x).is_some() {
            return self.copy_page(from, to);
        }
        self.put_slot(to, x);
    }

    /// `pfn` holds the zero or data page word `x` (an entry array it held
    /// is let go).
    #[cfg_attr(not(feature = "small"), inline(always))]
    #[cfg_attr(feature = "small", inline)]
    fn put_word(&mut self, pfn: u64, x: u32) {
        self.changing(pfn);
        let was = std::mem::replace(self.data.get_mut(pfn), x);
        if let Some(i) = entries_index(was) {
            self.drop_entries(i);
        }
    }

    /// Forget what kexec wrote to `pfn` (the page went back to the allocator).
    pub fn forget(&mut self, pfn: u64) {
        self.changing(pfn);
        if let Some(i) = entries_index(self.slot(pfn)) {
            self.drop_entries(i);
        }
        self.put_slot(pfn, 0);
    }

    /// Read the word at `slot` of `pfn` as `width`-byte words. `None` when the
    /// page holds old contents (the model does not know them).
    #[cfg_attr(not(feature = "small"), inline(always))]
    #[cfg_attr(feature = "small", inline)]
    pub fn word(&self, pfn: u64, slot: u64, width: u64) -> Option<u64> {
        if let Some((p, i)) = self.last.get() {
            if p == pfn {
                return self.entry_word_at(i, slot, width);
            }
        }
        let x = self.slot(pfn);
        if let Some(i) = entries_index(x) {
            self.last.set(Some((pfn, i)));
        }
        self.word_of(x, slot, width)
    }

    /// The words of `pfn` when it is an entry page, unmasked (a slot past
    /// the slice holds 0): [`PageStore::word`] of each of its slots.
    #[inline]
    pub fn entry_words(&self, pfn: u64) -> Option<&[u64]> {
        entries_index(self.slot(pfn)).map(|i| &self.entries[i][..])
    }

    /// [`PageStore::word`] of a page whose slot is `x`.
    #[cfg_attr(not(feature = "small"), inline(always))]
    #[cfg_attr(feature = "small", inline)]
    fn word_of(&self, x: u32, slot: u64, width: u64) -> Option<u64> {
        match entries_index(x) {
            Some(i) => self.entry_word_at(i, slot, width),
            None => self.other_word(x, slot, width),
        }
    }

    /// The word at `slot` of entry array `i`.
    #[cfg_attr(not(feature = "small"), inline(always))]
    #[cfg_attr(feature = "small", inline)]
    fn entry_word_at(&self, i: usize, slot: u64, width: u64) -> Option<u64> {
        let mask = if width == 8 {
            u64::MAX
        } else {
            (1u64 << (width * 8)) - 1
        };
        Some(self.entries[i].get(slot as usize).copied().unwrap_or(0) & mask)
    }

    /// [`PageStore::word_of`] of a page that is not an entry page.
    #[inline(never)]
    fn other_word(&self, x: u32, slot: u64, width: u64) -> Option<u64> {
        content_word(&self.unpack(x)?, slot, width)
    }

    /// Make `pfn` an entry page of `slots` words whose unwritten slots keep
    /// what the page held before (zeros, or stale buffer data).
    #[cfg_attr(not(feature = "small"), inline(always))]
    #[cfg_attr(feature = "small", inline)]
    pub fn entries_mut(&mut self, pfn: u64, slots: u64, width: u64) -> &mut [u64] {
        let i = self.entry_array(pfn, slots, width);
        // Handed out whole: any word may be written.
        self.reach[i] = self.entries[i].len();
        &mut self.entries[i]
    }

    /// [`PageStore::entries_mut`] and one write, `v` at slot `idx`: what
    /// the designs' entry writes do, keeping track of how far the array's
    /// non-zero words reach (hashing and reusing it look no further).
    #[cfg_attr(not(feature = "small"), inline(always))]
    #[cfg_attr(feature = "small", inline)]
    pub fn set_entry(&mut self, pfn: u64, slots: u64, width: u64, idx: usize, v: u64) {
        let i = self.entry_array(pfn, slots, width);
        self.entries[i][idx] = v;
        if v != 0 && idx >= self.reach[i] {
            self.reach[i] = idx + 1;
        }
    }

    /// [`PageStore::set_entry`] of `v` at slot `idx`, then of 0 at slot
    /// `idx + 1` (below `slots`): kimage_add_entry's store and the zero it
    /// writes after it, with one lookup of the page's array.
    #[cfg(not(feature = "small"))]
    #[inline(always)]
    pub fn set_entry_then_zero(&mut self, pfn: u64, slots: u64, width: u64, idx: usize, v: u64) {
        let i = self.entry_array(pfn, slots, width);
        let words = &mut self.entries[i][idx..idx + 2];
        words[0] = v;
        words[1] = 0;
        if v != 0 && idx >= self.reach[i] {
            self.reach[i] = idx + 1;
        }
    }

    /// The index in `entries` of `pfn`'s entry array, made (as
    /// [`PageStore::entries_mut`] says) if the page is not one.
    #[cfg_attr(not(feature = "small"), inline(always))]
    #[cfg_attr(feature = "small", inline)]
    fn entry_array(&mut self, pfn: u64, slots: u64, width: u64) -> usize {
        match self.last.get() {
            Some((p, i)) if p == pfn => i,
            _ => {
                let i = match entries_index(self.data.get(pfn)) {
                    Some(i) => i,
                    None => self.make_entries(pfn, slots, width),
                };
                self.last.set(Some((pfn, i)));
                i
            }
        }
    }

    /// Make `pfn` an entry page ([`PageStore::entries_mut`]): its index
    /// among the entry pages.
    #[inline(never)]
    fn make_entries(&mut self, pfn: u64, slots: u64, width: u64) -> usize {
        self.changing(pfn);
        let was = *self.data.get_mut(pfn);
        let (words, reach): (Box<[u64]>, usize) = match self.unpack(was) {
            // Old contents read as zeros here, as a zero page does.
            None | Some(Content::Zero) => (self.zeroed(slots as usize), 0),
            Some(c) => (
                (0..slots)
                    .map(|s| content_word(&c, s, width).unwrap_or(0))
                    .collect(),
                slots as usize,
            ),
        };
        let x = self.add_entries(words, reach);
        *self.data.get_mut(pfn) = x;
        (x & !TAG_MASK) as usize
    }
}

/// What a page holds, as one word (the form a [`PageStore`] keeps it in):
/// copied in one move, an entry page's words staying where they are.
/// Only meaningful with the store it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packed(u32);

impl Packed {
    /// All zeros.
    pub const ZERO: Packed = Packed(TAG_ZERO);

    /// Old contents: nothing kexec wrote.
    pub fn is_old(self) -> bool {
        self.0 & TAG_MASK == 0
    }

    /// Whether the page holds zeros.
    pub fn is_zero(self) -> bool {
        self.0 & TAG_MASK == TAG_ZERO
    }
}

/// The store's contents as whole-page moves leave them (the relocation
/// check's memory: the stub's copies, the loaded image's store left as it
/// is). Starts as a copy of the store's packed words, one per page
/// ([`PageStore`]'s section map, one allocation); an entry page's words are
/// not copied but read from the store, which the moves never change.
/// Moving a page's contents moves one [`Packed`] word.
#[derive(Debug, Clone)]
pub struct PageMoves<'a> {
    base: &'a PageStore,
    /// Per pfn: the page's packed contents now.
    slots: SectionMap<u32, 6>,
}

impl<'a> PageMoves<'a> {
    /// The store as it is, nothing moved yet.
    pub fn new(base: &'a PageStore) -> Self {
        PageMoves {
            base,
            slots: base.copy_slots(),
        }
    }

    /// Moves made in `slots`, taken from `base` with
    /// [`PageStore::take_slots`] (what `base` held, not a copy): the
    /// relocation check of a run nobody reads the store of afterwards.
    pub fn from_slots(base: &'a PageStore, slots: SectionMap<u32, 6>) -> Self {
        PageMoves { base, slots }
    }

    /// The moved words, for [`PageStore::put_slots`].
    pub fn into_slots(self) -> SectionMap<u32, 6> {
        self.slots
    }

    /// What `pfn` holds now.
    #[inline]
    pub fn packed(&self, pfn: u64) -> Packed {
        Packed(self.slots.get(pfn))
    }

    /// Make `pfn` hold `p` (read from these moves).
    #[inline]
    pub fn put(&mut self, pfn: u64, p: Packed) {
        self.slots.set(pfn, if p.is_old() { 0 } else { p.0 });
    }

    /// Exchange what `a` and `b` hold ([`PageMoves::packed`] of both, then
    /// [`PageMoves::put`] of each to the other's).
    #[inline]
    pub fn swap(&mut self, a: u64, b: u64) {
        // No word is tagged old but not 0: exchanging the words as they
        // are is putting them.
        debug_assert!([a, b]
            .iter()
            .all(|&p| !self.packed(p).is_old() || self.packed(p).0 == 0));
        self.slots.swap(a, b);
    }

    /// Content of `pfn`, `None` for old contents ([`PageStore::get`]).
    pub fn get(&self, pfn: u64) -> Option<Content> {
        let x = self.packed(pfn).0;
        match entries_index(x) {
            Some(i) => Some(Content::Entries(self.base.entries[i].clone())),
            None => self.base.unpack(x),
        }
    }

    /// The segment and page of the buffer `p` (read from these moves)
    /// holds, if it is a data page.
    pub fn data(&self, p: Packed) -> Option<(u8, u32)> {
        match self.base.unpack(p.0) {
            Some(Content::Data { seg, page, .. }) => Some((seg, page)),
            _ => None,
        }
    }

    /// The word at `slot` of `pfn` when it is an entry page, as
    /// [`PageStore::word`]; `None` for any other page.
    #[inline]
    pub fn entry_word(&self, pfn: u64, slot: u64, width: u64) -> Option<u64> {
        self.entries_of(pfn)
            .map(|i| self.entry_word_in(i, slot, width))
    }

    /// Which of the store's entry arrays `pfn` holds now, if it is an
    /// entry page (for [`PageMoves::entry_word_in`] while nothing moves
    /// into `pfn`).
    pub fn entries_of(&self, pfn: u64) -> Option<usize> {
        entries_index(self.packed(pfn).0)
    }

    /// The word at `slot` of the store's entry array `i`, as
    /// [`PageMoves::entry_word`] reads it.
    #[inline]
    pub fn entry_word_in(&self, i: usize, slot: u64, width: u64) -> u64 {
        self.base.entry_word_at(i, slot, width).unwrap_or(0)
    }
}

/// The word at `slot` of a page holding `c`.
pub fn content_word(c: &Content, slot: u64, width: u64) -> Option<u64> {
    let mask = if width == 8 {
        u64::MAX
    } else {
        (1u64 << (width * 8)) - 1
    };
    match c {
        Content::Zero => Some(0),
        Content::Entries(w) => Some(w.get(slot as usize).copied().unwrap_or(0) & mask),
        Content::Data { seg, page, len } => {
            let start = slot * width;
            let len = u64::from(*len);
            if start >= len {
                return Some(0);
            }
            let valid = (len - start).min(width);
            let keep = if valid == 8 {
                u64::MAX
            } else {
                (1u64 << (valid * 8)) - 1
            };
            Some(pattern_word(*seg, *page, slot) & mask & keep)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::Arch;

    fn pae_8g() -> Machine {
        Machine::new(Arch::I386Pae.profile(), vec![(0, 0x200000)], vec![])
    }

    #[test]
    fn zones_of_i386_pae() {
        let m = pae_8g();
        assert_eq!(m.zone_of(0xfff), Some(Zone::Dma));
        assert_eq!(m.zone_of(0x1000), Some(Zone::Normal));
        assert_eq!(m.zone_of(0x37fff), Some(Zone::Normal));
        assert_eq!(m.zone_of(0x38000), Some(Zone::HighMem));
        assert_eq!(m.zone_of(0x1fffff), Some(Zone::HighMem));
        assert_eq!(m.zone_of(0x200000), None);
        assert_eq!(m.zone_ranges(Zone::HighMem), vec![(0x38000, 0x200000)]);
        assert_eq!(m.totalram_pages(), 0x200000);
    }

    #[test]
    fn lowmem_end_moves_the_line() {
        // A real 896 MiB Debian 686-pae machine: max_low_pfn 0x36ffe.
        let m = Machine::new(Arch::I386Pae.profile(), vec![(0x1, 0x37fe0)], vec![])
            .with_lowmem_end(Some(0x36ffe000));
        assert_eq!(m.max_low_pfn(), 0x36ffe);
        assert!(m.page_highmem(0x36ffe) && !m.page_highmem(0x36ffd));
        assert!(m.page_highmem_zone(0x36ffe));
        assert_eq!(m.zone_ranges(Zone::HighMem), vec![(0x36ffe, 0x37fe0)]);
        assert_eq!(m.zone_of(0x36ffd), Some(Zone::Normal));
        // x86_64 has no line to move.
        let x = Machine::new(Arch::X86_64.profile(), vec![(0, 0x40000)], vec![])
            .with_lowmem_end(Some(0x36ffe000));
        assert!(!x.page_highmem(0x3ffff));
    }

    #[test]
    fn zones_of_x86_64() {
        let m = Machine::new(Arch::X86_64.profile(), vec![(0, 0x200000)], vec![]);
        assert_eq!(m.zone_of(0x1000), Some(Zone::Dma32));
        assert_eq!(m.zone_of(0x100000), Some(Zone::Normal));
        assert_eq!(m.zone_ranges(Zone::HighMem), vec![]);
        assert!(!m.page_highmem(0x1fffff));
    }

    #[test]
    fn highmem_tests_disagree_on_lowmem_movable() {
        // A lowmem range in ZONE_MOVABLE on a highmem box: the zone test says
        // highmem, the direct-map test says lowmem.
        let m = Machine::new(
            Arch::I386.profile(),
            vec![(0, 0x80000)],
            vec![(0x10000, 0x20000)],
        );
        assert_eq!(m.zone_of(0x10000), Some(Zone::Movable));
        assert!(m.page_highmem_zone(0x10000));
        assert!(!m.page_highmem(0x10000));
        assert!(m.page_highmem(0x40000) && m.page_highmem_zone(0x40000));
        assert_eq!(
            m.zone_ranges(Zone::Normal),
            vec![(0x1000, 0x10000), (0x20000, 0x38000)]
        );
    }

    #[test]
    fn range_helpers() {
        assert!(in_ranges(&[(0, 4), (10, 12)], 11));
        assert!(!in_ranges(&[(0, 4), (10, 12)], 4));
        // One range (its own path) and none, at and around the edges.
        for x in [0, 1, 3, 4, 5, 9, 10, 11, 12, 13, u64::MAX] {
            let inside = |r: &[(u64, u64)]| r.iter().any(|&(s, e)| s <= x && x < e);
            for r in [
                &[(4, 10)][..],
                &[(0, 1)],
                &[(5, 5)],
                &[],
                &[(0, 4), (10, 12)],
            ] {
                assert_eq!(in_ranges(r, x), inside(r), "{r:?} {x}");
            }
        }
        assert_eq!(
            subtract(&[(0, 10)], &[(2, 3), (5, 7)]),
            vec![(0, 2), (3, 5), (7, 10)]
        );
        assert_eq!(intersect(&[(0, 10)], &[(5, 20)]), vec![(5, 10)]);
    }

    #[test]
    fn contents_pack_and_unpack() {
        let mut s = PageStore::default();
        for c in [
            Content::Zero,
            Content::Data {
                seg: 15,
                page: 0xffff_ffff,
                len: 4096,
            },
            Content::Data {
                seg: 0,
                page: 0,
                len: 1,
            },
        ] {
            s.set(0x12345, c.clone());
            assert_eq!(s.get(0x12345), Some(c));
        }
        s.set(7, Content::Entries(vec![1, 2].into_boxed_slice()));
        assert!(s.is_entries(7));
        s.set(7, Content::Zero);
        assert!(!s.is_entries(7) && s.get(7) == Some(Content::Zero));
        s.forget(7);
        assert_eq!(s.get(7), None);
        assert_eq!(s.get(99_999_999), None);
    }

    #[test]
    fn data_words_stop_at_len() {
        let mut s = PageStore::default();
        s.set(
            7,
            Content::Data {
                seg: 1,
                page: 0,
                len: 6,
            },
        );
        assert_ne!(s.word(7, 0, 4), Some(0));
        assert_eq!(s.word(7, 1, 4).unwrap() >> 16, 0);
        assert_eq!(s.word(7, 2, 4), Some(0));
        assert_eq!(s.word(8, 0, 4), None);
    }
}
