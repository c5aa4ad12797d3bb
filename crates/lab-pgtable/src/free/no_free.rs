//! b6bdb7517c3d (March 2018, "mm/vmalloc: add interfaces to free unmapped
//! page table"): the generic hooks, which free nothing and only report
//! whether the entry is empty.
//!
//! `pmd_free_pte_page` returns `pmd_none`, `pud_free_pmd_page`
//! `pud_none`: an entry that still points to a table makes
//! `vmap_try_huge_pmd` / `vmap_try_huge_pud` give up, and the range is
//! mapped one level down, through the old table. Nothing goes stale.

use super::{report_pmd_none, FreeHooks, FreeVariant};
use crate::ioremap::KernelPageTable;

/// The hooks only report emptiness.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoFree;

impl FreeHooks for NoFree {
    fn variant(&self) -> FreeVariant {
        FreeVariant::NoFree
    }

    fn pmd_free_pte_page(
        &self,
        t: &mut KernelPageTable,
        pmd: u64,
        i: usize,
        _addr: u64,
        log: &mut Vec<String>,
    ) -> bool {
        report_pmd_none(t, pmd, i, false, log)
    }

    fn pud_free_pmd_page(
        &self,
        _t: &mut KernelPageTable,
        _pud: u64,
        _i: usize,
        _addr: u64,
        log: &mut Vec<String>,
    ) -> bool {
        // Called only for a populated entry: pud_none is 0.
        log.push(
            "pud_free_pmd_page (b6bdb7517c3d): returns pud_none = 0: the 1 GiB request is mapped with PMDs"
                .into(),
        );
        false
    }
}
