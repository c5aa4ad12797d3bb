//! Kernel TLB shootdown: `flush_tlb_kernel_range` on every CPU.
//!
//! Mirrors arch/x86/mm/tlb.c in 6.1: up to
//! `tlb_single_page_flush_ceiling` (33) pages get one `INVLPG` per page on
//! every CPU (`do_kernel_range_flush`), more get a full flush
//! (`do_flush_tlb_all`). What INVLPG and a full flush drop from a CPU's
//! caches is [`CpuCaches::invlpg`] / [`CpuCaches::flush_all`].
//!
//! Deviations: the IPIs are instantaneous and reach every CPU (there is no
//! lazy-TLB CPU to skip), and without PCIDs INVLPG drops every
//! paging-structure-cache entry (see [`crate::pgtable`]).

use crate::pgtable::CpuCaches;
use kexec_common::units::PAGE_SIZE;

/// flush_tlb_kernel_range's ceiling: more pages than this get a full flush.
pub const TLB_SINGLE_PAGE_FLUSH_CEILING: u64 = 33;

/// `flush_tlb_kernel_range(start, end)` on every CPU of `cpus`, with one
/// line for `log`.
pub fn flush_tlb_kernel_range(cpus: &mut [CpuCaches], start: u64, end: u64, log: &mut Vec<String>) {
    let pages = (end - start).div_ceil(PAGE_SIZE);
    if pages > TLB_SINGLE_PAGE_FLUSH_CEILING {
        for c in cpus.iter_mut() {
            c.flush_all();
        }
        log.push(format!(
            "flush_tlb_kernel_range(0x{start:x}, 0x{end:x}): {pages} pages > 33, full flush on all {} CPUs",
            cpus.len()
        ));
    } else {
        for c in cpus.iter_mut() {
            for p in 0..pages {
                c.invlpg(start + p * PAGE_SIZE);
            }
        }
        log.push(format!(
            "flush_tlb_kernel_range(0x{start:x}, 0x{end:x}): INVLPG on all {} CPUs (TLB entries and every paging-structure-cache entry)",
            cpus.len()
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceiling_decides_invlpg_or_full_flush() {
        let mut cpus = vec![CpuCaches::default(); 2];
        cpus[1].tlb.insert((PAGE_SIZE, 0x1000_0000), 0xfe00_0000);
        cpus[1].tlb.insert((PAGE_SIZE, 0x2000_0000), 0xfe00_1000);
        let mut log = Vec::new();
        flush_tlb_kernel_range(&mut cpus, 0x1000_0000, 0x1000_1000, &mut log);
        assert_eq!(cpus[1].tlb.len(), 1, "INVLPG drops only the page's entry");
        flush_tlb_kernel_range(
            &mut cpus,
            0x1000_0000,
            0x1000_0000 + 34 * PAGE_SIZE,
            &mut log,
        );
        assert!(cpus[1].is_empty());
        assert!(log[0].contains("INVLPG on all 2 CPUs"));
        assert!(log[1].contains("34 pages > 33, full flush"));
    }
}
