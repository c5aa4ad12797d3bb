//! 6.1's free hooks (arch/x86/mm/pgtable.c): unlink, flush on every CPU,
//! then free.
//!
//! `pmd_free_pte_page` clears the PMD entry, flushes the range
//! (`flush_tlb_kernel_range(addr, addr + PAGE_SIZE - 1)`) and frees the
//! PTE table page. `pud_free_pmd_page` first saves the PMD entries in a
//! temporary page (`__get_free_page(GFP_KERNEL)`, which can fail: the
//! hook then returns 0 and the 1 GiB request is mapped with PMDs), clears
//! them and the PUD entry, flushes, and frees the PTE pages, the
//! temporary page and the PMD page. Under PAE `pmd_free_pte_page` only
//! reports `pmd_none` (f967db0b9ed4: the kernel PMDs may be copied into
//! every pgd).
//!
//! Deviation: the saved entries are not kept (the model frees the PTE
//! pages from the PMD page's entries before clearing them, which is the
//! same set).

use super::{report_pmd_none, table_below, unlink_flush_free_pmd, FreeHooks, FreeVariant};
use crate::ioremap::KernelPageTable;
use crate::pgtable::{Contents, Paging};
use kexec_common::units::PAGE_SIZE;

/// 6.1.
#[derive(Debug, Clone, Copy, Default)]
pub struct Flush;

/// 6.1's x86_64 `pmd_free_pte_page`: clear, flush, free (also Joerg
/// Roedel's, whose list only changes the PUD case).
pub(super) fn clear_flush_free_pte(
    t: &mut KernelPageTable,
    pmd: u64,
    i: usize,
    addr: u64,
    log: &mut Vec<String>,
) -> bool {
    if t.paging == Paging::Pae {
        return report_pmd_none(t, pmd, i, true, log);
    }
    let pte = table_below(t, pmd, i);
    t.mem.write(pmd, i, 0);
    log.push("pmd_free_pte_page: PMD entry cleared".into());
    t.flush_tlb_kernel_range(addr, addr + PAGE_SIZE - 1, log);
    t.mem.free(pte);
    log.push(format!(
        "pmd_free_pte_page: PTE table page 0x{pte:x} freed after the flush"
    ));
    true
}

impl FreeHooks for Flush {
    fn variant(&self) -> FreeVariant {
        FreeVariant::Flush
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
        let Some(tmp) = t.mem.alloc("pud_free_pmd_page pmd_sv", Contents::Data(0)) else {
            log.push(
                "pud_free_pmd_page: __get_free_page(GFP_KERNEL) failed: return 0, the 1 GiB request is mapped with PMDs"
                    .into(),
            );
            return false;
        };
        let pmd = table_below(t, pud, i);
        let n = unlink_flush_free_pmd(t, pud, i, addr, Some(tmp), log);
        log.push(format!(
            "pud_free_pmd_page: PMD entries saved in page 0x{tmp:x} and cleared, PUD cleared, flushed; {n} PTE table page(s), the temporary page and PMD table page 0x{pmd:x} freed"
        ));
        true
    }
}
