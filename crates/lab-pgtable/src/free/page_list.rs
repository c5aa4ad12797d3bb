//! Joerg Roedel's suggestion in the 2018 thread: `pud_free_pmd_page`
//! puts the PTE table pages on a list, clears the PMD page and the PUD
//! entry, flushes, then frees the list and the PMD page. No temporary
//! page is allocated, so the hook never fails. `pmd_free_pte_page` is
//! 6.1's ([`super::flush`]), including the PAE form that only reports
//! `pmd_none`.
//!
//! Deviation: never merged as such; the list is the model's order of the
//! PTE pages in the PMD page.

use super::flush::clear_flush_free_pte;
use super::{table_below, unlink_flush_free_pmd, FreeHooks, FreeVariant};
use crate::ioremap::KernelPageTable;

/// Joerg Roedel's page list.
#[derive(Debug, Clone, Copy, Default)]
pub struct PageList;

impl FreeHooks for PageList {
    fn variant(&self) -> FreeVariant {
        FreeVariant::PageList
    }

    fn pmd_free_pte_page(
        &self,
        t: &mut KernelPageTable,
        pmd: u64,
        i: usize,
        addr: u64,
        log: &mut Vec<String>,
    ) -> bool {
        clear_flush_free_pte(t, pmd, i, addr, log)
    }

    fn pud_free_pmd_page(
        &self,
        t: &mut KernelPageTable,
        pud: u64,
        i: usize,
        addr: u64,
        log: &mut Vec<String>,
    ) -> bool {
        let pmd = table_below(t, pud, i);
        let n = unlink_flush_free_pmd(t, pud, i, addr, None, log);
        log.push(format!(
            "pud_free_pmd_page: {n} PTE table page(s) put on a list, PMD and PUD cleared, flushed, the list and PMD table page 0x{pmd:x} freed (no allocation)"
        ));
        true
    }
}
