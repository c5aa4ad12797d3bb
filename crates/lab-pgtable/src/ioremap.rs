//! ioremap/iounmap on the kernel page table: the logic every way of
//! freeing old page-table pages shares.
//!
//! Mirrors mm/vmalloc.c in 6.1 (`vmap_range_noflush`, `vmap_pud_range`,
//! `vmap_pmd_range`, `vmap_pte_range`, `vmap_try_huge_pud`,
//! `vmap_try_huge_pmd`, `vunmap_range_noflush`, `ioremap_max_page_shift`)
//! and arch/x86/mm/pgtable.c's `pud_set_huge` / `pmd_set_huge`. Where a
//! huge entry would replace a pointer to a table, the variant's
//! [`FreeHooks`] decide (`pud_free_pmd_page`, `pmd_free_pte_page`, in
//! [`crate::free`]); the flush is [`crate::tlb`].
//!
//! Deviations: the VA is given, not found by `get_vm_area`; iounmap's lazy
//! purge (`purge_vmap_area_lazy`, which flushes the freed area and its
//! guard page before the range is handed out again) is done at once, so
//! no stale TLB entry outlives an iounmap here; the init_mm mmap trylock
//! always succeeds; MTRRs are one switch for the whole machine.
//! `vmap_pud_range` and `vmap_pmd_range` are one function of the level.

use crate::free::{FreeHooks, FreeVariant};
use crate::pgtable::{
    entry_span, index, levels, walk_memory, CpuCaches, Level, Memory, Paging, WalkResult, FRAME,
    PAGE_TABLE, PRESENT, PSE,
};
use crate::tlb;
use kexec_common::errno::Errno;
use kexec_common::units::PAGE_SIZE;

/// A 4 KiB ioremap PTE's flags: __PAGE_KERNEL_IO (present, RW, accessed,
/// dirty, global, NX) with ioremap's UC- (PCD) and `pgprot_nx`.
pub const PTE_IO: u64 = 0x8000_0000_0000_0173;

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
                let p = t
                    .mem
                    .alloc_table(levels(paging)[1])
                    .expect("boot allocations do not fail");
                t.mem.write(root, i, table_entry(paging, Level::Pgd, p));
            }
        }
        t
    }

    /// `flush_tlb_kernel_range(start, end)` on every CPU.
    pub fn flush_tlb_kernel_range(&mut self, start: u64, end: u64, log: &mut Vec<String>) {
        tlb::flush_tlb_kernel_range(&mut self.cpus, start, end, log);
    }

    /// The variant's hooks.
    fn hooks(&self) -> &'static dyn FreeHooks {
        self.variant.hooks()
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
        if e & PRESENT != 0
            && e & PSE == 0
            && !self
                .hooks()
                .set_huge_over_table(self, level, (e & FRAME) / PAGE_SIZE, log)
        {
            return false;
        }
        self.mem.write(table, i, pa | PTE_IO | PSE);
        true
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
            let hooks = self.hooks();
            let freed = match level {
                Level::Pud => hooks.pud_free_pmd_page(self, table, i, addr, log),
                _ => hooks.pmd_free_pte_page(self, table, i, addr, log),
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

    /// `vmap_pte_range`.
    fn vmap_pte_range(&mut self, pt: u64, addr: u64, end: u64, pa: u64) {
        let mut a = addr;
        while a < end {
            let i = index(self.paging, Level::Pte, a);
            self.mem.write(pt, i, (pa + (a - addr)) | PTE_IO);
            a += PAGE_SIZE;
        }
    }

    /// `vmap_pud_range` (`level` PUD) and `vmap_pmd_range` (`level` PMD):
    /// each entry's range a huge leaf where `vmap_try_huge_*` allows, else
    /// mapped through the table below (`pmd_alloc` / `pte_alloc_kernel`).
    fn vmap_level_range(
        &mut self,
        level: Level,
        table: u64,
        addr: u64,
        end: u64,
        pa: u64,
        log: &mut Vec<String>,
    ) -> Result<(), Errno> {
        let (below, alloc) = match level {
            Level::Pud => (Level::Pmd, "pmd_alloc"),
            _ => (Level::Pte, "pte_alloc_kernel"),
        };
        let mut a = addr;
        while a < end {
            let next = next_boundary(a, level.entry_size(), end);
            let i = index(self.paging, level, a);
            let p = pa + (a - addr);
            if !self.try_huge(level, table, i, a, next, p, log) {
                let t = self.alloc_below(table, i, below).inspect_err(|_| {
                    log.push(format!("{alloc}: allocation failed: -ENOMEM"));
                })?;
                match below {
                    Level::Pte => self.vmap_pte_range(t, a, next, p),
                    _ => self.vmap_level_range(below, t, a, next, p, log)?,
                }
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
        // The level below the PGD: PUD, or PMD where the PUD is folded.
        let level = levels(self.paging)[1];
        while a < end {
            let next = next_boundary(a, entry_span(self.paging, Level::Pgd), end);
            let gi = index(self.paging, Level::Pgd, a);
            let below = self.alloc_below(self.root, gi, level)?;
            self.vmap_level_range(level, below, a, next, pa + (a - va), log)?;
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
            for &level in levels(self.paging) {
                let i = index(self.paging, level, a);
                let e = self.mem.read(table, i);
                if e & PRESENT == 0 {
                    step = entry_span(self.paging, level);
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
pub(crate) mod tests {
    use super::*;
    use crate::pgtable::Translation;

    /// A 1 GiB-aligned VA in the vmalloc area.
    pub(crate) const VA: u64 = 0xffff_c900_4000_0000;

    /// An x86_64 machine with 2 CPUs, VA's PUD table preallocated.
    pub(crate) fn kpt(variant: FreeVariant) -> KernelPageTable {
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
}
