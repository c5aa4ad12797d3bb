//! The ways of freeing the page-table pages a huge ioremap replaces.
//!
//! One trait, [`FreeHooks`], and one implementation per file:
//!
//! * [`flush`]: 6.1, arch/x86/mm/pgtable.c `pud_free_pmd_page` (the PMD
//!   entries saved in a temporary page, cleared, a flush on all CPUs, then
//!   the pages freed) and `pmd_free_pte_page` (clear, flush, free); on PAE
//!   `pmd_free_pte_page` only reports `pmd_none`;
//! * [`no_flush`]: 28ee90fe6048 (March 2018): clear and free, no flush;
//! * [`page_list`]: Joerg Roedel's suggestion in the 2018 thread: the PTE
//!   pages on a list freed after the flush, no allocation;
//! * [`no_free`]: b6bdb7517c3d (March 2018): the hooks only report
//!   `pud_none` / `pmd_none`, so a populated entry makes the huge mapping
//!   fall back one level down;
//! * [`no_free_no_check`]: before 2018: no hook and no check; the huge
//!   entry overwrites the table pointer and the table leaks.
//!
//! mm/vmalloc.c (`vmap_try_huge_pud` / `vmap_try_huge_pmd`, in
//! [`crate::ioremap`]) asks the variant only what differs: the two free
//! hooks, and what `pud_set_huge` / `pmd_set_huge` do with an entry that
//! still points to a table. The historical variants apply on PAE as they
//! did on x86_64 (a deviation: only 28ee90fe6048 ever freed there, until
//! f967db0b9ed4).

pub mod flush;
pub mod no_flush;
pub mod no_free;
pub mod no_free_no_check;
pub mod page_list;

use crate::ioremap::KernelPageTable;
use crate::pgtable::{Level, FRAME, PRESENT, PSE, PTRS_PER_TABLE};
use kexec_common::units::PAGE_SIZE;
use std::fmt;

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

    /// The variant's hooks.
    pub fn hooks(self) -> &'static dyn FreeHooks {
        match self {
            FreeVariant::Flush => &flush::Flush,
            FreeVariant::NoFlush => &no_flush::NoFlush,
            FreeVariant::PageList => &page_list::PageList,
            FreeVariant::NoFree => &no_free::NoFree,
            FreeVariant::NoFreeNoCheck => &no_free_no_check::NoFreeNoCheck,
        }
    }
}

impl fmt::Display for FreeVariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A way of freeing page-table pages under a huge mapping.
///
/// `vmap_try_huge_pud` / `vmap_try_huge_pmd` call a hook when the entry
/// they would make a leaf points to a table; `true` lets the huge mapping
/// go ahead (`pud_set_huge` / `pmd_set_huge` next), `false` makes the
/// range fall back to the level below. Every line of what the hook did
/// goes to `log`.
pub trait FreeHooks {
    /// Which variant this is.
    fn variant(&self) -> FreeVariant;

    /// `pmd_free_pte_page(pmd, addr)`: entry `i` of PMD table page `pmd`
    /// points to a PTE table page.
    fn pmd_free_pte_page(
        &self,
        t: &mut KernelPageTable,
        pmd: u64,
        i: usize,
        addr: u64,
        log: &mut Vec<String>,
    ) -> bool;

    /// `pud_free_pmd_page(pud, addr)`: entry `i` of PUD table page `pud`
    /// points to a PMD table page.
    fn pud_free_pmd_page(
        &self,
        t: &mut KernelPageTable,
        pud: u64,
        i: usize,
        addr: u64,
        log: &mut Vec<String>,
    ) -> bool;

    /// `pud_set_huge` / `pmd_set_huge` on an entry of `level` that still
    /// points to table page `old`: whether the huge entry is written over
    /// it. Since 2018 the kernel refuses (the default).
    fn set_huge_over_table(
        &self,
        t: &mut KernelPageTable,
        level: Level,
        old: u64,
        log: &mut Vec<String>,
    ) -> bool {
        let _ = t;
        log.push(format!(
            "{}_set_huge: a populated non-leaf entry (table page 0x{old:x}): bail out",
            level.name().to_lowercase(),
        ));
        false
    }
}

/// The table page entry `i` of `table` points to.
fn table_below(t: &KernelPageTable, table: u64, i: usize) -> u64 {
    (t.mem.read(table, i) & FRAME) / PAGE_SIZE
}

/// The PTE table pages PMD table page `pmd` points to, in entry order.
fn pte_tables(t: &KernelPageTable, pmd: u64) -> Vec<u64> {
    (0..PTRS_PER_TABLE)
        .map(|k| t.mem.read(pmd, k))
        .filter(|&x| x & PRESENT != 0 && x & PSE == 0)
        .map(|x| (x & FRAME) / PAGE_SIZE)
        .collect()
}

/// Every entry of table page `table` cleared.
fn clear_table(t: &mut KernelPageTable, table: u64) {
    for k in 0..PTRS_PER_TABLE {
        t.mem.write(table, k, 0);
    }
}

/// `pmd_free_pte_page` that only reports `pmd_none` (b6bdb7517c3d, and
/// 6.1 on PAE when `pae_61`).
fn report_pmd_none(
    t: &KernelPageTable,
    pmd: u64,
    i: usize,
    pae_61: bool,
    log: &mut Vec<String>,
) -> bool {
    let none = t.mem.read(pmd, i) == 0;
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

/// Clear PMD table page `pmd` and the PUD entry `i` of `pud` pointing to
/// it, flush, then free the PTE table pages, the temporary page `tmp` if
/// there is one, and the PMD page. Returns how many PTE pages were freed.
fn unlink_flush_free_pmd(
    t: &mut KernelPageTable,
    pud: u64,
    i: usize,
    addr: u64,
    tmp: Option<u64>,
    log: &mut Vec<String>,
) -> usize {
    let pmd = table_below(t, pud, i);
    let ptes = pte_tables(t, pmd);
    clear_table(t, pmd);
    t.mem.write(pud, i, 0);
    t.flush_tlb_kernel_range(addr, addr + PAGE_SIZE - 1, log);
    for &p in &ptes {
        t.mem.free(p);
    }
    if let Some(tmp) = tmp {
        t.mem.free(tmp);
    }
    t.mem.free(pmd);
    ptes.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ioremap::tests::{kpt, VA};
    use crate::ioremap::Features;
    use crate::pgtable::{Paging, Translation, WalkResult};

    #[test]
    fn names_round_trip() {
        for v in ALL_FREE_VARIANTS {
            assert_eq!(FreeVariant::from_name(v.name()), Some(v));
            assert_eq!(v.hooks().variant(), v);
            assert_eq!(v.to_string(), v.name());
        }
        assert_eq!(FreeVariant::from_name("lazy"), None);
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

    #[test]
    fn each_variant_over_an_old_pte_table() {
        // A 4 KiB ioremap leaves a PTE table; a 2 MiB one over it.
        let mut outcomes = Vec::new();
        for v in ALL_FREE_VARIANTS {
            let mut log = Vec::new();
            let mut t = kpt(v);
            t.ioremap(VA, 0xfe00_0000, 4096, &mut log).unwrap();
            t.iounmap(VA, 4096, &mut log);
            t.ioremap(VA, 0xfe00_0000, 2 << 20, &mut log).unwrap();
            let size = match t.truth(VA) {
                WalkResult::Mapped(tr) => tr.size,
                r => panic!("{v}: {r:?}"),
            };
            outcomes.push((v.name(), size, t.leaked.len(), t.mem.free_list.len()));
        }
        assert_eq!(
            outcomes,
            vec![
                ("flush", 2 << 20, 0, 1),
                ("no-flush", 2 << 20, 0, 1),
                ("page-list", 2 << 20, 0, 1),
                ("no-free", 4096, 0, 0),
                ("no-free-no-check", 2 << 20, 1, 0),
            ]
        );
    }
}
