//! 28ee90fe6048 (March 2018, "x86/mm: implement free pmd/pte page
//! interfaces"): the first x86 free hooks, without a TLB flush.
//!
//! `pmd_free_pte_page` clears the PMD entry and frees the PTE table page;
//! `pud_free_pmd_page` clears each PMD entry and frees its PTE page, clears
//! the PUD entry and frees the PMD page. Another CPU's paging-structure
//! cache may still hold a pointer to a freed page, and walks whatever the
//! page holds next (the bug the 2018 thread is about).
//!
//! Deviation: it frees on PAE too, as it did until f967db0b9ed4.

use super::{clear_table, pte_tables, table_below, FreeHooks, FreeVariant};
use crate::ioremap::KernelPageTable;

/// Clear and free, no flush.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoFlush;

impl FreeHooks for NoFlush {
    fn variant(&self) -> FreeVariant {
        FreeVariant::NoFlush
    }

    fn pmd_free_pte_page(
        &self,
        t: &mut KernelPageTable,
        pmd: u64,
        i: usize,
        _addr: u64,
        log: &mut Vec<String>,
    ) -> bool {
        let pte = table_below(t, pmd, i);
        t.mem.write(pmd, i, 0);
        t.mem.free(pte);
        log.push(format!(
            "pmd_free_pte_page: PMD cleared and PTE table page 0x{pte:x} freed, no flush: other CPUs may still cache a pointer to it"
        ));
        true
    }

    fn pud_free_pmd_page(
        &self,
        t: &mut KernelPageTable,
        pud: u64,
        i: usize,
        _addr: u64,
        log: &mut Vec<String>,
    ) -> bool {
        let pmd = table_below(t, pud, i);
        let ptes = pte_tables(t, pmd);
        clear_table(t, pmd);
        for &p in &ptes {
            t.mem.free(p);
        }
        t.mem.write(pud, i, 0);
        t.mem.free(pmd);
        log.push(format!(
            "pud_free_pmd_page: {} PTE table page(s) freed, PUD cleared, PMD table page 0x{pmd:x} freed, no flush",
            ptes.len()
        ));
        true
    }
}
