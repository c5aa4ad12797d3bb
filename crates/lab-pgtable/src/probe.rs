//! Probing a VA: what each CPU would translate it to after some steps of
//! a run, next to what the page table says.
//!
//! The CPU side is a load's walk as the Intel SDM describes it (§4.10:
//! the TLB, then the longest cached paging-structure entry, then CR3;
//! [`crate::pgtable::CpuCaches::walk`]) on a copy of the CPU's caches, so
//! probing changes nothing; the page table's side is a walk from the root
//! with no cache. No kernel function does this: it is the question the
//! 2018 thread asks of every CPU at once.

use crate::free::FreeVariant;
use crate::pgtable::{Translation, WalkResult};
use crate::run::{cpu_access, run_until, Access};
use crate::scenario::PgtableScenario;
use crate::script::Op;
use kexec_common::input::parse_num;

/// What each CPU would get for `va` after the first `steps` steps of a
/// variant (its caches are not changed), and what the page table says.
pub fn probe(
    sc: &PgtableScenario,
    variant: FreeVariant,
    steps: usize,
    va: u64,
) -> (Vec<Access>, Option<Translation>) {
    let t = run_until(sc, variant, steps).1;
    let truth = match t.truth(va) {
        WalkResult::Mapped(tr) => Some(tr),
        WalkResult::NotPresent(_) => None,
    };
    let acc = (0..t.cpus.len())
        .map(|cpu| {
            let mut c = t.cpus[cpu].clone();
            cpu_access(&t, &mut c, cpu, va)
        })
        .collect();
    (acc, truth)
}

/// The VA probed by default: the last access's, else the first ioremap's,
/// else the start of the vmalloc area.
pub fn default_probe(sc: &PgtableScenario) -> u64 {
    sc.ops
        .iter()
        .rev()
        .find_map(|o| match *o {
            Op::Access { va, .. } => Some(va),
            _ => None,
        })
        .or_else(|| {
            sc.ops.iter().find_map(|o| match *o {
                Op::Ioremap { va, .. } => Some(va),
                _ => None,
            })
        })
        .unwrap_or(sc.paging.vmalloc_area().0)
}

/// A VA as a probe field shows it.
pub fn probe_text(va: u64) -> String {
    format!("0x{va:x}")
}

/// The VA a probe field names, if it names one (`0x…` hex or decimal,
/// with a memparse suffix, as script numbers).
pub fn parse_probe(text: &str) -> Option<u64> {
    parse_num(text).ok()
}

/// What the page table says of a probed VA, in one line.
pub fn truth_text(truth: Option<Translation>) -> String {
    match truth {
        Some(t) => format!("the page table: 0x{:x} ({} KiB page)", t.pa, t.size >> 10),
        None => "the page table: not mapped".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::presets::find_preset;
    use crate::run::Outcome;

    #[test]
    fn probing_changes_nothing_and_sees_the_stale_pde() {
        let sc = find_preset("pgtable-stale-pde").unwrap().scenario;
        let va = default_probe(&sc);
        assert_eq!(probe_text(va), "0xffffc90000200000");
        let (accs, truth) = probe(&sc, FreeVariant::NoFlush, sc.ops.len(), va);
        assert_eq!(accs.len(), 2);
        assert!(accs[0].outcome.agrees());
        assert!(matches!(accs[1].outcome, Outcome::Bogus { got, .. } if got.pa == 0xfee0_0000));
        assert_eq!(
            truth_text(truth),
            "the page table: 0xfe000000 (2048 KiB page)"
        );
        // The same probe again: the caches were copies.
        assert_eq!(probe(&sc, FreeVariant::NoFlush, sc.ops.len(), va).0, accs);
        // Before the first step nothing is mapped.
        let (accs, truth) = probe(&sc, FreeVariant::Flush, 0, va);
        assert_eq!(truth_text(truth), "the page table: not mapped");
        assert!(accs.iter().all(|a| a.outcome == Outcome::Unmapped));
    }

    #[test]
    fn probe_fields_and_defaults() {
        assert_eq!(
            parse_probe(" 0xffff_c900_0020_0000 "),
            Some(0xffff_c900_0020_0000)
        );
        assert_eq!(parse_probe("4G"), Some(1 << 32));
        assert_eq!(parse_probe("nope"), None);
        assert_eq!(parse_probe(""), None);
        let mut sc = find_preset("pgtable-stale-pde").unwrap().scenario;
        sc.ops.retain(|o| !matches!(o, Op::Access { .. }));
        assert_eq!(default_probe(&sc), 0xffff_c900_0020_0000);
        sc.ops.clear();
        assert_eq!(default_probe(&sc), 0xffff_c900_0000_0000);
    }
}
