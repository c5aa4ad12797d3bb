//! ioremap/iounmap on the kernel page table, and the ways of freeing the
//! page-table pages a huge mapping replaces.
//!
//! Mirrors mm/vmalloc.c in 6.1 (`vmap_range_noflush`, `vmap_pud_range`,
//! `vmap_pmd_range`, `vmap_pte_range`, `vmap_try_huge_pud`,
//! `vmap_try_huge_pmd`, `vunmap_range_noflush`, `ioremap_max_page_shift`),
//! arch/x86/mm/pgtable.c (`pud_set_huge`, `pmd_set_huge`,
//! `pud_free_pmd_page`, `pmd_free_pte_page`, both the x86_64 and the PAE
//! forms) and arch/x86/mm/tlb.c (`flush_tlb_kernel_range`: INVLPG per page
//! on every CPU up to 33 pages, a full flush beyond). The alternatives
//! argued in the 2018 thread are [`FreeVariant`]s.
//!
//! Deviations: the VA is given, not found by `get_vm_area`; iounmap's lazy
//! purge (`purge_vmap_area_lazy`, which flushes the freed area and its
//! guard page before the range is handed out again) is done at once, so
//! no stale TLB entry outlives an iounmap here; the init_mm mmap trylock
//! always succeeds; MTRRs are one switch for the whole machine. The
//! historical variants apply on PAE as they did on x86_64 (6.1's PAE
//! `pmd_free_pte_page` only reports emptiness).

use crate::pgtable::{
    index, walk_memory, Contents, CpuCaches, Level, Memory, Paging, WalkResult, FRAME, PAGE_SIZE,
    PAGE_TABLE, PRESENT, PSE, PTRS_PER_TABLE,
};
use kexec_common::errno::Errno;

/// A 4 KiB ioremap PTE's flags: __PAGE_KERNEL_IO (present, RW, accessed,
/// dirty, global, NX) with ioremap's UC- (PCD) and `pgprot_nx`.
pub const PTE_IO: u64 = 0x8000_0000_0000_0173;
/// flush_tlb_kernel_range's ceiling: more pages than this get a full flush.
pub const TLB_SINGLE_PAGE_FLUSH_CEILING: u64 = 33;
const PMD_SIZE: u64 = 1 << 21;
const PUD_SIZE: u64 = 1 << 30;

/// How page-table pages under a new huge mapping are dealt with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FreeVariant {
    /// 6.1: `pud_free_pmd_page` copies the PMD entries to a temporary page,
    /// clears, flushes on all CPUs, then frees; `pmd_free_pte_page` clears,
    /// flushes, frees.
    Flush,
    /// 28ee90fe6048 (March 2018): clear and free, no TLB flush.
    NoFlush,
    /// Joerg Roedel's suggestion: the PTE pages go on a list freed after the
    /// flush; no allocation, so it never fails.
    PageList,
    /// b6bdb7517c3d (March 2018): `pud_free_pmd_page` / `pmd_free_pte_page`
    /// only return `pud_none` / `pmd_none`, so a populated entry makes the
    /// huge mapping fall back one level down.
    NoFree,
    /// Before 2018: no free hook and no check; the huge entry overwrites the
    /// table pointer (the table leaks; a cached pointer to it stays usable).
    NoFreeNoCheck,
}

/// Every variant.
pub const ALL_FREE_VARIANTS: [FreeVariant; 5] = [
    FreeVariant::Flush,
    FreeVariant::NoFlush,
    FreeVariant::PageList,
    FreeVariant::NoFree,
    FreeVariant::NoFreeNoCheck,
];

impl FreeVariant {
    /// The name in files and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            FreeVariant::Flush => "flush",
            FreeVariant::NoFlush => "no-flush",
            FreeVariant::PageList => "page-list",
            FreeVariant::NoFree => "no-free",
            FreeVariant::NoFreeNoCheck => "no-free-no-check",
        }
    }

    /// One line on what it is.
    pub fn summary(self) -> &'static str {
        match self {
            FreeVariant::Flush => "6.1: unlink, flush on all CPUs, then free (a temporary page for the PUD case)",
            FreeVariant::NoFlush => "28ee90fe6048 (March 2018): unlink and free, no TLB flush",
            FreeVariant::PageList => "Joerg Roedel: free after the flush from a page list, no allocation",
            FreeVariant::NoFree => "b6bdb7517c3d (March 2018): the free hooks only report pud/pmd_none, so a huge mapping over a table falls back",
            FreeVariant::NoFreeNoCheck => "before 2018: the huge entry overwrites the table pointer (the table leaks)",
        }
    }

    /// By name.
    pub fn from_name(s: &str) -> Option<FreeVariant> {
        ALL_FREE_VARIANTS.into_iter().find(|v| v.name() == s)
    }
}

/// CPU features and boot switches that decide huge mappings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Features {
    /// X86_FEATURE_GBPAGES (1 GiB leaves, x86_64 only).
    pub gbpages: bool,
    /// X86_FEATURE_PSE (2 MiB leaves).
    pub pse: bool,
    /// `nohugeiomap` on the command line.
    pub nohugeiomap: bool,
    /// MTRRs uniform (or write-back) over every huge candidate.
    pub mtrr_uniform: bool,
}

impl Default for Features {
    fn default() -> Features {
        Features {
            gbpages: true,
            pse: true,
            nohugeiomap: false,
            mtrr_uniform: true,
        }
    }
}

/// The kernel page table of one machine, its memory and its CPUs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelPageTable {
    /// Layout.
    pub paging: Paging,
    /// The PGD's pfn (init_mm.pgd).
    pub root: u64,
    /// Memory and the page allocator.
    pub mem: Memory,
    /// Each CPU's caches.
    pub cpus: Vec<CpuCaches>,
    /// Features.
    pub features: Features,
    /// The free strategy.
    pub variant: FreeVariant,
    /// Live ioremaps: (va, pa, size).
    pub mappings: Vec<(u64, u64, u64)>,
    /// Table pages unlinked without being freed.
    pub leaked: Vec<u64>,
}

/// The entry pointing at table page `pfn` from a table of `level`: a PAE
/// PDPTE has only the present bit (`pud_populate`; the rest is reserved
/// there), every other level _PAGE_TABLE.
fn table_entry(paging: Paging, level: Level, pfn: u64) -> u64 {
    if paging == Paging::Pae && level == Level::Pgd {
        (pfn * PAGE_SIZE) | PRESENT
    } else {
        (pfn * PAGE_SIZE) | PAGE_TABLE
    }
}

fn next_boundary(addr: u64, size: u64, end: u64) -> u64 {
    let b = (addr | (size - 1)).wrapping_add(1);
    if b == 0 || b > end {
        end
    } else {
        b
    }
}

impl KernelPageTable {
    /// A kernel page table with the upper tables for `vas` already there,
    /// as the kernel preallocates the vmalloc area's (x86_64:
    /// `preallocate_vmalloc_pages`; PAE: the kernel PMDs).
    pub fn new(
        paging: Paging,
        ncpus: usize,
        features: Features,
        variant: FreeVariant,
        vas: &[u64],
    ) -> KernelPageTable {
        let mut mem = Memory::new(0x1000);
        let root = mem
            .alloc_table(Level::Pgd)
            .expect("the first allocation cannot fail");
        let mut t = KernelPageTable {
            paging,
            root,
            mem,
            cpus: vec![CpuCaches::default(); ncpus],
            features,
            variant,
            mappings: Vec::new(),
            leaked: Vec::new(),
        };
        for &va in vas {
            let i = index(paging, Level::Pgd, va);
            if t.mem.read(root, i) & PRESENT == 0 {
                let level = match paging {
                    Paging::FourLevel => Level::Pud,
                    Paging::Pae => Level::Pmd,
                };
                let p = t
                    .mem
                    .alloc_table(level)
                    .expect("boot allocations do not fail");
                t.mem.write(root, i, table_entry(paging, Level::Pgd, p));
            }
        }
        t
    }

    /// `flush_tlb_kernel_range(start, end)` on every CPU.
    pub fn flush_tlb_kernel_range(&mut self, start: u64, end: u64, log: &mut Vec<String>) {
        let pages = (end - start).div_ceil(PAGE_SIZE);
        if pages > TLB_SINGLE_PAGE_FLUSH_CEILING {
            for c in &mut self.cpus {
                c.flush_all();
            }
            log.push(format!(
                "flush_tlb_kernel_range(0x{start:x}, 0x{end:x}): {pages} pages > 33, full flush on all {} CPUs",
                self.cpus.len()
            ));
        } else {
            for c in &mut self.cpus {
                for p in 0..pages {
                    c.invlpg(start + p * PAGE_SIZE);
                }
            }
            log.push(format!(
                "flush_tlb_kernel_range(0x{start:x}, 0x{end:x}): INVLPG on all {} CPUs (TLB entries and every paging-structure-cache entry)",
                self.cpus.len()
            ));
        }
    }

    fn max_page_shift(&self) -> u32 {
        if self.features.nohugeiomap {
            12
        } else {
            63
        }
    }

    /// `pud_set_huge` / `pmd_set_huge`.
    fn set_huge(
        &mut self,
        table: u64,
        i: usize,
        level: Level,
        pa: u64,
        log: &mut Vec<String>,
    ) -> bool {
        if !self.features.mtrr_uniform {
            log.push(format!(
                "{}_set_huge: MTRRs not uniform over [mem 0x{pa:x}-0x{:x}]: no huge mapping",
                level.name().to_lowercase(),
                pa + level.entry_size() - 1
            ));
            return false;
        }
        let e = self.mem.read(table, i);
        if e & PRESENT != 0 && e & PSE == 0 {
            if self.variant == FreeVariant::NoFreeNoCheck {
                let old = (e & FRAME) / PAGE_SIZE;
                self.leaked.push(old);
                log.push(format!(
                    "{}_set_huge overwrites the pointer to table page 0x{old:x}: leaked, and any CPU that cached it still walks it",
                    level.name().to_lowercase()
                ));
            } else {
                log.push(format!(
                    "{}_set_huge: a populated non-leaf entry (table page 0x{:x}): bail out",
                    level.name().to_lowercase(),
                    (e & FRAME) / PAGE_SIZE
                ));
                return false;
            }
        }
        self.mem.write(table, i, pa | PTE_IO | PSE);
        true
    }

    /// `pmd_free_pte_page(pmd, addr)`.
    fn pmd_free_pte_page(&mut self, pmd: u64, i: usize, addr: u64, log: &mut Vec<String>) -> bool {
        let e = self.mem.read(pmd, i);
        let pte = (e & FRAME) / PAGE_SIZE;
        let pae_61 = self.paging == Paging::Pae
            && matches!(self.variant, FreeVariant::Flush | FreeVariant::PageList);
        let reports_none = pae_61 || self.variant == FreeVariant::NoFree;
        match self.variant {
            _ if reports_none => {
                let none = e == 0;
                log.push(format!(
                    "pmd_free_pte_page ({}): returns pmd_none = {}{}",
                    if pae_61 { "6.1, PAE" } else { "b6bdb7517c3d" },
                    u8::from(none),
                    if none {
                        ""
                    } else {
                        ": the range is mapped with 4 KiB pages through the old table"
                    }
                ));
                if pae_61 && !none {
                    log.push("(freeing was turned off on PAE in 2018: with PTI or Xen PV the kernel PMDs are copied into every pgd, and vmalloc_sync_one would meet a freed table)".into());
                }
                none
            }
            FreeVariant::NoFreeNoCheck => true,
            FreeVariant::NoFree | FreeVariant::Flush | FreeVariant::PageList => {
                self.mem.write(pmd, i, 0);
                log.push("pmd_free_pte_page: PMD entry cleared".into());
                self.flush_tlb_kernel_range(addr, addr + PAGE_SIZE - 1, log);
                self.mem.free(pte);
                log.push(format!(
                    "pmd_free_pte_page: PTE table page 0x{pte:x} freed after the flush"
                ));
                true
            }
            FreeVariant::NoFlush => {
                self.mem.write(pmd, i, 0);
                self.mem.free(pte);
                log.push(format!(
                    "pmd_free_pte_page: PMD cleared and PTE table page 0x{pte:x} freed, no flush: other CPUs may still cache a pointer to it"
                ));
                true
            }
        }
    }

    /// `pud_free_pmd_page(pud, addr)`.
    fn pud_free_pmd_page(&mut self, pud: u64, i: usize, addr: u64, log: &mut Vec<String>) -> bool {
        let e = self.mem.read(pud, i);
        let pmd = (e & FRAME) / PAGE_SIZE;
        let ptes: Vec<u64> = (0..PTRS_PER_TABLE)
            .map(|k| self.mem.read(pmd, k))
            .filter(|&x| x & PRESENT != 0 && x & PSE == 0)
            .map(|x| (x & FRAME) / PAGE_SIZE)
            .collect();
        match self.variant {
            FreeVariant::NoFree => {
                log.push(
                    "pud_free_pmd_page (b6bdb7517c3d): returns pud_none = 0: the 1 GiB request is mapped with PMDs"
                        .into(),
                );
                false
            }
            FreeVariant::NoFreeNoCheck => true,
            FreeVariant::Flush | FreeVariant::PageList => {
                // 6.1 remembers the PMD entries in a temporary page; Joerg's
                // form keeps the PTE pages on a list instead.
                let tmp = if self.variant == FreeVariant::Flush {
                    let Some(t) = self
                        .mem
                        .alloc("pud_free_pmd_page pmd_sv", Contents::Data(0))
                    else {
                        log.push(
                            "pud_free_pmd_page: __get_free_page(GFP_KERNEL) failed: return 0, the 1 GiB request is mapped with PMDs"
                                .into(),
                        );
                        return false;
                    };
                    Some(t)
                } else {
                    None
                };
                for k in 0..PTRS_PER_TABLE {
                    self.mem.write(pmd, k, 0);
                }
                self.mem.write(pud, i, 0);
                self.flush_tlb_kernel_range(addr, addr + PAGE_SIZE - 1, log);
                for &p in &ptes {
                    self.mem.free(p);
                }
                if let Some(t) = tmp {
                    self.mem.free(t);
                }
                self.mem.free(pmd);
                log.push(match tmp {
                    Some(t) => format!(
                        "pud_free_pmd_page: PMD entries saved in page 0x{t:x} and cleared, PUD cleared, flushed; {} PTE table page(s), the temporary page and PMD table page 0x{pmd:x} freed",
                        ptes.len()
                    ),
                    None => format!(
                        "pud_free_pmd_page: {} PTE table page(s) put on a list, PMD and PUD cleared, flushed, the list and PMD table page 0x{pmd:x} freed (no allocation)",
                        ptes.len()
                    ),
                });
                true
            }
            FreeVariant::NoFlush => {
                // 28ee90fe6048: each PMD entry cleared and its PTE page
                // freed, then the PUD cleared, then the PMD page freed.
                for k in 0..PTRS_PER_TABLE {
                    let x = self.mem.read(pmd, k);
                    if x != 0 {
                        self.mem.write(pmd, k, 0);
                        if x & PRESENT != 0 && x & PSE == 0 {
                            self.mem.free((x & FRAME) / PAGE_SIZE);
                        }
                    }
                }
                self.mem.write(pud, i, 0);
                self.mem.free(pmd);
                log.push(format!(
                    "pud_free_pmd_page: {} PTE table page(s) freed, PUD cleared, PMD table page 0x{pmd:x} freed, no flush",
                    ptes.len()
                ));
                true
            }
        }
    }

    /// `vmap_try_huge_pud` / `vmap_try_huge_pmd`.
    #[allow(clippy::too_many_arguments)]
    fn try_huge(
        &mut self,
        level: Level,
        table: u64,
        i: usize,
        addr: u64,
        end: u64,
        pa: u64,
        log: &mut Vec<String>,
    ) -> bool {
        let size = level.entry_size();
        if self.max_page_shift() < level.shift() {
            return false;
        }
        let arch = match level {
            Level::Pud => self.paging == Paging::FourLevel && self.features.gbpages,
            _ => self.features.pse,
        };
        if !arch || end - addr != size || addr & (size - 1) != 0 || pa & (size - 1) != 0 {
            return false;
        }
        let e = self.mem.read(table, i);
        if e & PRESENT == 0 {
            return self.set_huge(table, i, level, pa, log);
        }
        if e & PSE == 0 {
            let freed = match level {
                Level::Pud => self.pud_free_pmd_page(table, i, addr, log),
                _ => self.pmd_free_pte_page(table, i, addr, log),
            };
            if !freed {
                return false;
            }
        }
        self.set_huge(table, i, level, pa, log)
    }

    /// The table an entry points to, allocating it if none.
    fn alloc_below(&mut self, table: u64, i: usize, level: Level) -> Result<u64, Errno> {
        let e = self.mem.read(table, i);
        if e & PRESENT != 0 {
            return Ok((e & FRAME) / PAGE_SIZE);
        }
        let p = self.mem.alloc_table(level).ok_or(Errno::ENOMEM)?;
        let above = match (self.paging, level) {
            (_, Level::Pte) => Level::Pmd,
            (Paging::FourLevel, Level::Pmd) => Level::Pud,
            _ => Level::Pgd,
        };
        self.mem.write(table, i, table_entry(self.paging, above, p));
        Ok(p)
    }

    fn vmap_pte_range(&mut self, pt: u64, addr: u64, end: u64, pa: u64) {
        let mut a = addr;
        while a < end {
            let i = index(self.paging, Level::Pte, a);
            self.mem.write(pt, i, (pa + (a - addr)) | PTE_IO);
            a += PAGE_SIZE;
        }
    }

    fn vmap_pmd_range(
        &mut self,
        pmd: u64,
        addr: u64,
        end: u64,
        pa: u64,
        log: &mut Vec<String>,
    ) -> Result<(), Errno> {
        let mut a = addr;
        while a < end {
            let next = next_boundary(a, PMD_SIZE, end);
            let i = index(self.paging, Level::Pmd, a);
            let p = pa + (a - addr);
            if !self.try_huge(Level::Pmd, pmd, i, a, next, p, log) {
                let pt = self.alloc_below(pmd, i, Level::Pte).inspect_err(|_| {
                    log.push("pte_alloc_kernel: allocation failed: -ENOMEM".into());
                })?;
                self.vmap_pte_range(pt, a, next, p);
            }
            a = next;
        }
        Ok(())
    }

    fn vmap_pud_range(
        &mut self,
        pud: u64,
        addr: u64,
        end: u64,
        pa: u64,
        log: &mut Vec<String>,
    ) -> Result<(), Errno> {
        let mut a = addr;
        while a < end {
            let next = next_boundary(a, PUD_SIZE, end);
            let i = index(self.paging, Level::Pud, a);
            let p = pa + (a - addr);
            if !self.try_huge(Level::Pud, pud, i, a, next, p, log) {
                let pmd = self.alloc_below(pud, i, Level::Pmd).inspect_err(|_| {
                    log.push("pmd_alloc: allocation failed: -ENOMEM".into());
                })?;
                self.vmap_pmd_range(pmd, a, next, p, log)?;
            }
            a = next;
        }
        Ok(())
    }

    /// `ioremap_page_range(va, va + size, pa)` (vmap_range_noflush with
    /// ioremap's max page shift). The caller has checked the range.
    pub fn ioremap(
        &mut self,
        va: u64,
        pa: u64,
        size: u64,
        log: &mut Vec<String>,
    ) -> Result<(), Errno> {
        let end = va + size;
        let mut a = va;
        while a < end {
            let (shift_size, level) = match self.paging {
                Paging::FourLevel => (1u64 << 39, Level::Pud),
                Paging::Pae => (PUD_SIZE, Level::Pmd),
            };
            let next = next_boundary(a, shift_size, end);
            let gi = index(self.paging, Level::Pgd, a);
            let below = self.alloc_below(self.root, gi, level)?;
            match self.paging {
                Paging::FourLevel => self.vmap_pud_range(below, a, next, pa + (a - va), log)?,
                Paging::Pae => self.vmap_pmd_range(below, a, next, pa + (a - va), log)?,
            }
            a = next;
        }
        self.mappings.push((va, pa, size));
        Ok(())
    }

    /// `vunmap_range_noflush`: clear the leaves, keep the tables; then the
    /// flush that happens before the range is handed out again.
    pub fn iounmap(&mut self, va: u64, size: u64, log: &mut Vec<String>) {
        let end = va + size;
        let mut a = va;
        let mut cleared = [0u64; 3];
        while a < end {
            let mut table = self.root;
            let mut step = PAGE_SIZE;
            for &level in crate::pgtable::levels(self.paging) {
                let i = index(self.paging, level, a);
                let e = self.mem.read(table, i);
                if e & PRESENT == 0 {
                    step = crate::pgtable::entry_span(self.paging, level);
                    break;
                }
                let leaf = level == Level::Pte || (level != Level::Pgd && e & PSE != 0);
                if leaf {
                    self.mem.write(table, i, 0);
                    step = level.entry_size();
                    cleared[match level {
                        Level::Pud => 2,
                        Level::Pmd => 1,
                        _ => 0,
                    }] += 1;
                    break;
                }
                table = (e & FRAME) / PAGE_SIZE;
            }
            a = (a & !(step - 1)) + step;
        }
        self.mappings.retain(|m| m.0 != va);
        log.push(format!(
            "vunmap_range_noflush: {} PTE(s), {} huge PMD(s), {} huge PUD(s) cleared; table pages stay linked",
            cleared[0], cleared[1], cleared[2]
        ));
        // The lazy purge flushes the area with its guard page before the
        // range is handed out again.
        self.flush_tlb_kernel_range(va, end + PAGE_SIZE, log);
    }

    /// What the page table itself maps `va` to now.
    pub fn truth(&self, va: u64) -> WalkResult {
        walk_memory(self.paging, self.root, &self.mem, va)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pgtable::Translation;

    const VA: u64 = 0xffff_c900_4000_0000;

    fn kpt(variant: FreeVariant) -> KernelPageTable {
        KernelPageTable::new(Paging::FourLevel, 2, Features::default(), variant, &[VA])
    }

    #[test]
    fn huge_rules() {
        let mut log = Vec::new();
        let mut t = kpt(FreeVariant::Flush);
        // 1 GiB aligned both sides: one PUD leaf.
        t.ioremap(VA, 0x40_0000_0000, 1 << 30, &mut log).unwrap();
        assert_eq!(
            t.truth(VA + 5),
            WalkResult::Mapped(Translation {
                pa: 0x40_0000_0005,
                size: 1 << 30
            })
        );
        // PA not 1 GiB aligned: 2 MiB leaves.
        let mut t = kpt(FreeVariant::Flush);
        t.ioremap(VA, 0x40_0020_0000, 1 << 30, &mut log).unwrap();
        assert_eq!(
            t.truth(VA),
            WalkResult::Mapped(Translation {
                pa: 0x40_0020_0000,
                size: 1 << 21
            })
        );
        // No PSE: 4 KiB.
        let mut t = kpt(FreeVariant::Flush);
        t.features.pse = false;
        t.ioremap(VA, 0xfe00_0000, 2 << 20, &mut log).unwrap();
        assert_eq!(
            t.truth(VA),
            WalkResult::Mapped(Translation {
                pa: 0xfe00_0000,
                size: 4096
            })
        );
        // nohugeiomap: 4 KiB.
        let mut t = kpt(FreeVariant::Flush);
        t.features.nohugeiomap = true;
        t.ioremap(VA, 0x40_0000_0000, 1 << 30, &mut log).unwrap();
        assert_eq!(
            t.truth(VA).clone(),
            WalkResult::Mapped(Translation {
                pa: 0x40_0000_0000,
                size: 4096
            })
        );
        // MTRRs not uniform: 4 KiB, with the kernel's reason.
        let mut t = kpt(FreeVariant::Flush);
        t.features.mtrr_uniform = false;
        t.ioremap(VA, 0xfe00_0000, 2 << 20, &mut log).unwrap();
        assert_eq!(
            t.truth(VA),
            WalkResult::Mapped(Translation {
                pa: 0xfe00_0000,
                size: 4096
            })
        );
        assert!(log.iter().any(|l| l.contains("MTRRs not uniform")));
        // No GBPAGES: 2 MiB leaves for the 1 GiB request.
        let mut t = kpt(FreeVariant::Flush);
        t.features.gbpages = false;
        t.ioremap(VA, 0x40_0000_0000, 1 << 30, &mut log).unwrap();
        assert_eq!(
            t.truth(VA),
            WalkResult::Mapped(Translation {
                pa: 0x40_0000_0000,
                size: 1 << 21
            })
        );
    }

    #[test]
    fn temporary_page_failure_falls_back_to_pmds() {
        let mut log = Vec::new();
        for (variant, size) in [
            (FreeVariant::Flush, 1u64 << 21),
            (FreeVariant::PageList, 1 << 30),
        ] {
            let mut t = kpt(variant);
            t.ioremap(VA, 0x40_0000_0000, 4096, &mut log).unwrap();
            t.iounmap(VA, 4096, &mut log);
            t.mem.fail_next = true;
            t.ioremap(VA, 0x40_0000_0000, 1 << 30, &mut log).unwrap();
            assert_eq!(
                t.truth(VA),
                WalkResult::Mapped(Translation {
                    pa: 0x40_0000_0000,
                    size
                }),
                "{variant:?}"
            );
        }
    }

    #[test]
    fn pae_never_frees() {
        let va = 0xf880_0000;
        let mut log = Vec::new();
        let mut t = KernelPageTable::new(
            Paging::Pae,
            1,
            Features::default(),
            FreeVariant::Flush,
            &[va],
        );
        t.ioremap(va, 0xfe00_0000, 4096, &mut log).unwrap();
        t.iounmap(va, 4096, &mut log);
        t.ioremap(va, 0xfe00_0000, 2 << 20, &mut log).unwrap();
        assert_eq!(
            t.truth(va),
            WalkResult::Mapped(Translation {
                pa: 0xfe00_0000,
                size: 4096
            })
        );
        assert!(log
            .iter()
            .any(|l| l.contains("pmd_free_pte_page (6.1, PAE): returns pmd_none = 0")));
        // A fresh 2 MiB-aligned range gets a 2 MiB leaf.
        t.ioremap(va + (2 << 20), 0xfe20_0000, 2 << 20, &mut log)
            .unwrap();
        assert_eq!(
            t.truth(va + (2 << 20)),
            WalkResult::Mapped(Translation {
                pa: 0xfe20_0000,
                size: 2 << 20
            })
        );
    }
}
