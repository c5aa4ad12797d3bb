//! Before 2018 (huge ioremap since 4.1): no free hook and no check.
//! lib/ioremap.c's `ioremap_pmd_range` / `ioremap_pud_range` wrote the
//! huge entry whatever the entry held, so a pointer to a table page is
//! overwritten: the table leaks, and a CPU that cached the pointer keeps
//! walking it.

use super::{FreeHooks, FreeVariant};
use crate::ioremap::KernelPageTable;
use crate::pgtable::Level;

/// No hook, no check.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoFreeNoCheck;

impl FreeHooks for NoFreeNoCheck {
    fn variant(&self) -> FreeVariant {
        FreeVariant::NoFreeNoCheck
    }

    fn pmd_free_pte_page(
        &self,
        _t: &mut KernelPageTable,
        _pmd: u64,
        _i: usize,
        _addr: u64,
        _log: &mut Vec<String>,
    ) -> bool {
        true
    }

    fn pud_free_pmd_page(
        &self,
        _t: &mut KernelPageTable,
        _pud: u64,
        _i: usize,
        _addr: u64,
        _log: &mut Vec<String>,
    ) -> bool {
        true
    }

    fn set_huge_over_table(
        &self,
        t: &mut KernelPageTable,
        level: Level,
        old: u64,
        log: &mut Vec<String>,
    ) -> bool {
        t.leaked.push(old);
        log.push(format!(
            "{}_set_huge overwrites the pointer to table page 0x{old:x}: leaked, and any CPU that cached it still walks it",
            level.name().to_lowercase()
        ));
        true
    }
}
