//! Kernel page tables, their pages, and per-CPU translation caches.
//!
//! Mirrors the x86 page-table layout of arch/x86/include/asm/
//! (pgtable_types.h's entry bits, pgtable_64_types.h and pgtable_32_areas.h
//! for the vmalloc area) and the Intel SDM's paging chapter (§4.5, §4.4
//! for PAE, §4.10 for the TLB and the paging-structure caches).
//!
//! The 4-level x86_64 table (PGD/PML4, PUD/PDPT, PMD/PD, PTE/PT) and the
//! 3-level PAE one (a 4-entry PDPT, PMD, PTE), with table pages that are
//! real pages from a small page allocator (`alloc_page` / `free_page`,
//! LIFO like the per-CPU free lists, so a freed page is the next one
//! handed out). Entries use the hardware layout (present bit 0, PS bit 7,
//! the frame at bits 12–51).
//!
//! Each CPU has a TLB (leaf translations of 4 KiB, 2 MiB, 1 GiB) and the
//! paging-structure caches the Intel SDM describes (§4.10.3): entries for
//! PML4Es, PDPTEs and PDEs that point to tables, keyed by the VA bits they
//! translate, holding the physical address of the next table as it was
//! when cached. A walk starts from the longest cached prefix, and reads
//! memory as it is *now*: a cached PDE whose table page was freed and
//! reused walks through the new contents. A walk that ends in a page fault
//! drops the cache entries it would use for that address (SDM §4.10.4.1);
//! a speculative walk ([`CpuCaches::speculate`]) fills them and never
//! faults, which is how a pointer to an empty table gets cached in the
//! first place. `INVLPG` drops the page's TLB entries and every
//! paging-structure-cache entry; a full flush drops everything. Under PAE
//! the four PDPTEs sit in registers loaded with CR3 (SDM §4.4.1); the
//! kernel's are fixed at boot, so reading them from the PDPT page is the
//! same, and only PDEs are cached.
//!
//! Deviation: there are no PCIDs. INVLPG here drops every cached entry, as
//! on a CPU without PCID (or one whose other ASIDs are flushed too); with
//! PCID it only drops the current PCID's, so 6.1's single-page flush in
//! `pud_free_pmd_page` / `pmd_free_pte_page` can leave another ASID's
//! entry behind (fixed upstream in 2025 by flushing everything).

use kexec_common::units::{GIB, PAGE_SIZE};
use std::collections::BTreeMap;

/// Entries per table page (both 4-level and PAE use 64-bit entries).
pub const PTRS_PER_TABLE: usize = 512;
/// _PAGE_PRESENT.
pub const PRESENT: u64 = 1 << 0;
/// _PAGE_RW.
pub const RW: u64 = 1 << 1;
/// _PAGE_PSE: a leaf at the PUD or PMD level.
pub const PSE: u64 = 1 << 7;
/// _PAGE_TABLE: present, writable, user, accessed, dirty: what
/// `pmd_populate_kernel` and `pud_populate` write for a table.
pub const PAGE_TABLE: u64 = 0x67;
/// The frame bits of an entry (bits 12–51).
pub const FRAME: u64 = 0x000f_ffff_ffff_f000;

/// Page-table layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Paging {
    /// x86_64, 4-level.
    FourLevel,
    /// i386 with PAE, 3-level.
    Pae,
}

impl Paging {
    /// The arch's name in files ("x86_64", "i386-pae").
    pub fn arch_name(self) -> &'static str {
        match self {
            Paging::FourLevel => "x86_64",
            Paging::Pae => "i386-pae",
        }
    }

    /// By arch name.
    pub fn from_arch_name(s: &str) -> Option<Paging> {
        [Paging::FourLevel, Paging::Pae]
            .into_iter()
            .find(|p| p.arch_name() == s)
    }

    /// The vmalloc area ioremap uses: `[start, end)`.
    pub fn vmalloc_area(self) -> (u64, u64) {
        match self {
            // VMALLOC_START, VMALLOC_END + 1 with 4-level paging, no KASLR.
            Paging::FourLevel => (0xffff_c900_0000_0000, 0xffff_e900_0000_0000),
            // VMSPLIT_3G with HIGHMEM and PKMAP_BASE 0xff800000: VMALLOC_END
            // = PKMAP_BASE - 2 pages; lowmem MAXMEM = VMALLOC_END -
            // PAGE_OFFSET - 128 MiB; VMALLOC_START = high_memory + 8 MiB.
            Paging::Pae => (0xf7ff_e000, 0xff7f_e000),
        }
    }

    /// The physical address limit (__PHYSICAL_MASK_SHIFT: 46 bits on
    /// x86_64, 36 under PAE).
    pub fn max_pa(self) -> u64 {
        match self {
            Paging::FourLevel => 1 << 46,
            Paging::Pae => 1 << 36,
        }
    }
}

/// A level of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// PGD (PML4 on x86_64, the PDPT under PAE).
    Pgd,
    /// PUD (PDPT). Folded into the PGD under PAE.
    Pud,
    /// PMD (page directory).
    Pmd,
    /// PTE (page table).
    Pte,
}

impl Level {
    /// The kernel's name.
    pub fn name(self) -> &'static str {
        match self {
            Level::Pgd => "PGD",
            Level::Pud => "PUD",
            Level::Pmd => "PMD",
            Level::Pte => "PTE",
        }
    }

    /// The shift of the VA bits that index this level.
    pub fn shift(self) -> u32 {
        match self {
            Level::Pgd => 39,
            Level::Pud => 30,
            Level::Pmd => 21,
            Level::Pte => 12,
        }
    }

    /// Bytes one entry of this level maps.
    pub fn entry_size(self) -> u64 {
        1 << self.shift()
    }
}

/// What a page of memory holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Contents {
    /// A page-table page (its level) and its entries.
    Table(Level, Vec<u64>),
    /// A data page, every 8-byte word equal to this value.
    Data(u64),
}

impl Contents {
    /// The 64-bit word at `index`.
    pub fn word(&self, index: usize) -> u64 {
        match self {
            Contents::Table(_, e) => e.get(index).copied().unwrap_or(0),
            Contents::Data(v) => *v,
        }
    }
}

/// A page's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// Its contents (kept when freed: nothing clears a freed page).
    pub contents: Contents,
    /// Free in the allocator.
    pub free: bool,
    /// Who allocated it last.
    pub owner: String,
}

/// Physical memory as far as page tables are concerned, and the page
/// allocator that hands out table pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Memory {
    /// Pages ever allocated, by pfn.
    pub pages: BTreeMap<u64, Page>,
    /// LIFO free list.
    pub free_list: Vec<u64>,
    /// Next never-used pfn.
    pub next_pfn: u64,
    /// The next allocation fails (set by the script).
    pub fail_next: bool,
}

impl Memory {
    /// Table pages come from pfn `first_pfn` up.
    pub fn new(first_pfn: u64) -> Memory {
        Memory {
            pages: BTreeMap::new(),
            free_list: Vec::new(),
            next_pfn: first_pfn,
            fail_next: false,
        }
    }

    /// `alloc_page`: the most recently freed page, else a new one; `None`
    /// when the script made this allocation fail.
    pub fn alloc(&mut self, owner: &str, contents: Contents) -> Option<u64> {
        if std::mem::take(&mut self.fail_next) {
            return None;
        }
        let pfn = self.free_list.pop().unwrap_or_else(|| {
            self.next_pfn += 1;
            self.next_pfn - 1
        });
        self.pages.insert(
            pfn,
            Page {
                contents,
                free: false,
                owner: owner.into(),
            },
        );
        Some(pfn)
    }

    /// A zeroed table page (`pte_alloc_one_kernel` and friends).
    pub fn alloc_table(&mut self, level: Level) -> Option<u64> {
        self.alloc(
            &format!("{} table", level.name()),
            Contents::Table(level, vec![0; PTRS_PER_TABLE]),
        )
    }

    /// `free_page`: back on the free list, contents untouched.
    pub fn free(&mut self, pfn: u64) {
        if let Some(p) = self.pages.get_mut(&pfn) {
            if !p.free {
                p.free = true;
                self.free_list.push(pfn);
            }
        }
    }

    /// The word at `index` of page `pfn` (0 for a page never written).
    pub fn read(&self, pfn: u64, index: usize) -> u64 {
        self.pages.get(&pfn).map_or(0, |p| p.contents.word(index))
    }

    /// Write an entry of a table page.
    pub fn write(&mut self, pfn: u64, index: usize, value: u64) {
        if let Some(Page {
            contents: Contents::Table(_, e),
            ..
        }) = self.pages.get_mut(&pfn)
        {
            if let Some(slot) = e.get_mut(index) {
                *slot = value;
            }
        }
    }
}

/// The index of `va` at `level` under `paging`.
pub fn index(paging: Paging, level: Level, va: u64) -> usize {
    match (paging, level) {
        (Paging::Pae, Level::Pgd) => ((va >> 30) & 3) as usize,
        _ => ((va >> level.shift()) & 511) as usize,
    }
}

/// Bytes one entry of `level` maps under `paging` (a PAE PGD entry maps
/// 1 GiB).
pub fn entry_span(paging: Paging, level: Level) -> u64 {
    match (paging, level) {
        (Paging::Pae, Level::Pgd) => GIB,
        _ => level.entry_size(),
    }
}

/// The levels a walk goes through.
pub fn levels(paging: Paging) -> &'static [Level] {
    match paging {
        Paging::FourLevel => &[Level::Pgd, Level::Pud, Level::Pmd, Level::Pte],
        Paging::Pae => &[Level::Pgd, Level::Pmd, Level::Pte],
    }
}

/// A leaf translation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Translation {
    /// Physical address of `va`.
    pub pa: u64,
    /// The leaf's size (4 KiB, 2 MiB or 1 GiB).
    pub size: u64,
}

/// How a walk ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WalkResult {
    /// A translation.
    Mapped(Translation),
    /// A not-present entry at this level: a page fault.
    NotPresent(Level),
}

/// One CPU's TLB and paging-structure caches.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CpuCaches {
    /// TLB: (leaf size, VA of the leaf) → PA of the leaf.
    pub tlb: BTreeMap<(u64, u64), u64>,
    /// PML4E cache: VA >> 39 → PDPT (PUD table) pfn.
    pub pml4e: BTreeMap<u64, u64>,
    /// PDPTE cache: VA >> 30 → page-directory (PMD table) pfn.
    pub pdpte: BTreeMap<u64, u64>,
    /// PDE cache: VA >> 21 → page-table (PTE table) pfn.
    pub pde: BTreeMap<u64, u64>,
}

/// Where a walk started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// A TLB hit: no walk.
    Tlb,
    /// The paging-structure cache of this level's entries (the walk reads
    /// the next table from the cached pfn).
    Cached(Level),
    /// CR3.
    Cr3,
}

/// A walk's trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Walk {
    /// Where it started.
    pub start: Start,
    /// The table pages read, (level, pfn, index, entry).
    pub reads: Vec<(Level, u64, usize, u64)>,
    /// The result.
    pub result: WalkResult,
}

impl CpuCaches {
    /// Drop everything (a full flush, `flush_tlb_all`).
    pub fn flush_all(&mut self) {
        *self = CpuCaches::default();
    }

    /// `INVLPG va`: the TLB entries covering `va` and every
    /// paging-structure-cache entry.
    pub fn invlpg(&mut self, va: u64) {
        self.tlb
            .retain(|&(size, base), _| !(va >= base && va - base < size));
        self.pml4e.clear();
        self.pdpte.clear();
        self.pde.clear();
    }

    /// Number of cached entries of all kinds.
    pub fn len(&self) -> usize {
        self.tlb.len() + self.pml4e.len() + self.pdpte.len() + self.pde.len()
    }

    /// Nothing cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Translate `va` as a load does, filling the caches on the way; a page
    /// fault drops the paging-structure-cache entries for `va`.
    pub fn walk(&mut self, paging: Paging, root: u64, mem: &Memory, va: u64) -> Walk {
        let w = self.walk_caching(paging, root, mem, va);
        if matches!(w.result, WalkResult::NotPresent(_)) {
            self.pml4e.remove(&(va >> 39));
            self.pdpte.remove(&(va >> 30));
            self.pde.remove(&(va >> 21));
        }
        w
    }

    /// A speculative walk of `va`: the caches are filled as far as the
    /// walk gets, and nothing faults.
    pub fn speculate(&mut self, paging: Paging, root: u64, mem: &Memory, va: u64) -> Walk {
        self.walk_caching(paging, root, mem, va)
    }

    fn walk_caching(&mut self, paging: Paging, root: u64, mem: &Memory, va: u64) -> Walk {
        for (&(size, base), &pa) in &self.tlb {
            if va >= base && va - base < size {
                return Walk {
                    start: Start::Tlb,
                    reads: Vec::new(),
                    result: WalkResult::Mapped(Translation {
                        pa: pa + (va - base),
                        size,
                    }),
                };
            }
        }
        // The longest cached prefix: (the level to read next, its table).
        let (start, mut level_i, mut table) = if let Some(&t) = self.pde.get(&(va >> 21)) {
            (Start::Cached(Level::Pmd), levels(paging).len() - 1, t)
        } else if let (Paging::FourLevel, Some(&t)) = (paging, self.pdpte.get(&(va >> 30))) {
            (Start::Cached(Level::Pud), 2, t)
        } else if let (Paging::FourLevel, Some(&t)) = (paging, self.pml4e.get(&(va >> 39))) {
            (Start::Cached(Level::Pgd), 1, t)
        } else {
            (Start::Cr3, 0, root)
        };
        let lv = levels(paging);
        let mut reads = Vec::new();
        loop {
            let level = lv[level_i];
            let i = index(paging, level, va);
            let e = mem.read(table, i);
            reads.push((level, table, i, e));
            if e & PRESENT == 0 {
                return Walk {
                    start,
                    reads,
                    result: WalkResult::NotPresent(level),
                };
            }
            let leaf = level == Level::Pte
                || ((level == Level::Pud || level == Level::Pmd) && e & PSE != 0);
            if leaf {
                let size = level.entry_size();
                let base = va & !(size - 1);
                let pa = e & FRAME & !(size - 1);
                self.tlb.insert((size, base), pa);
                return Walk {
                    start,
                    reads,
                    result: WalkResult::Mapped(Translation {
                        pa: pa + (va - base),
                        size,
                    }),
                };
            }
            let next = (e & FRAME) / PAGE_SIZE;
            // Cache the non-leaf entry (PAE's PDPTEs are registers, not
            // cached entries).
            match (paging, level) {
                (Paging::FourLevel, Level::Pgd) => {
                    self.pml4e.insert(va >> 39, next);
                }
                (Paging::FourLevel, Level::Pud) => {
                    self.pdpte.insert(va >> 30, next);
                }
                (_, Level::Pmd) => {
                    self.pde.insert(va >> 21, next);
                }
                _ => {}
            }
            table = next;
            level_i += 1;
            if level_i >= lv.len() {
                return Walk {
                    start,
                    reads,
                    result: WalkResult::NotPresent(level),
                };
            }
        }
    }
}

/// Walk the tables in memory from the root without any cache: what the
/// page table says now.
pub fn walk_memory(paging: Paging, root: u64, mem: &Memory, va: u64) -> WalkResult {
    CpuCaches::default().walk(paging, root, mem, va).result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table_with(mem: &mut Memory, level: Level) -> u64 {
        mem.alloc_table(level).unwrap()
    }

    #[test]
    fn four_level_walk_and_caches() {
        let mut mem = Memory::new(0x1000);
        let pgd = table_with(&mut mem, Level::Pgd);
        let pud = table_with(&mut mem, Level::Pud);
        let pmd = table_with(&mut mem, Level::Pmd);
        let pt = table_with(&mut mem, Level::Pte);
        let va = 0xffff_c900_0020_0000u64;
        let p = Paging::FourLevel;
        mem.write(
            pgd,
            index(p, Level::Pgd, va),
            (pud * PAGE_SIZE) | PAGE_TABLE,
        );
        mem.write(
            pud,
            index(p, Level::Pud, va),
            (pmd * PAGE_SIZE) | PAGE_TABLE,
        );
        mem.write(pmd, index(p, Level::Pmd, va), (pt * PAGE_SIZE) | PAGE_TABLE);
        mem.write(pt, index(p, Level::Pte, va), 0xfe00_0000 | 0x163);
        let mut c = CpuCaches::default();
        let w = c.walk(p, pgd, &mem, va + 0x10);
        assert_eq!(w.start, Start::Cr3);
        assert_eq!(
            w.result,
            WalkResult::Mapped(Translation {
                pa: 0xfe00_0010,
                size: PAGE_SIZE
            })
        );
        assert_eq!(c.pde.get(&(va >> 21)), Some(&pt));
        // The TLB now answers; another page of the same table starts at the PDE cache.
        assert_eq!(c.walk(p, pgd, &mem, va).start, Start::Tlb);
        let w = c.walk(p, pgd, &mem, va + PAGE_SIZE);
        assert_eq!(w.start, Start::Cached(Level::Pmd));
        assert_eq!(w.result, WalkResult::NotPresent(Level::Pte));
        // INVLPG drops the paging-structure caches too.
        c.invlpg(va);
        assert!(c.pde.is_empty() && c.tlb.is_empty());
    }

    #[test]
    fn lifo_allocator_and_failure() {
        let mut mem = Memory::new(0x100);
        let a = mem.alloc_table(Level::Pte).unwrap();
        let b = mem.alloc_table(Level::Pte).unwrap();
        mem.free(a);
        mem.free(b);
        assert_eq!(mem.alloc("x", Contents::Data(7)), Some(b));
        mem.fail_next = true;
        assert_eq!(mem.alloc_table(Level::Pte), None);
        assert_eq!(mem.alloc_table(Level::Pte), Some(a));
    }

    #[test]
    fn pae_indexes() {
        assert_eq!(index(Paging::Pae, Level::Pgd, 0xf880_0000), 3);
        assert_eq!(index(Paging::Pae, Level::Pmd, 0xf880_0000), 0x1c4);
        assert_eq!(levels(Paging::Pae).len(), 3);
    }

    #[test]
    fn index_helpers_agree_with_the_walk() {
        assert_eq!(
            index(Paging::FourLevel, Level::Pgd, 0xffff_c900_0000_0000),
            402
        );
        assert_eq!(
            index(Paging::FourLevel, Level::Pmd, 0xffff_c900_0020_0000),
            1
        );
    }
}
