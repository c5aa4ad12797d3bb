//! Running a scenario: every variant runs the same script on its own
//! machine, and every step is recorded.
//!
//! After each step the run keeps a [`Snapshot`] (the table pages
//! reachable from the PGD, the pages leaked, the free list, every CPU's
//! TLB and paging-structure caches); an `access` is a load by one CPU
//! through its caches ([`crate::pgtable::CpuCaches::walk`], the Intel SDM's
//! §4.10 behaviour) compared with a walk of the page table as it is now:
//! the [`Outcome`]. The kernel's side is [`crate::ioremap`] (mm/vmalloc.c)
//! and the variant's hooks ([`crate::free`], arch/x86/mm/pgtable.c).
//!
//! Deviations: ioremap's range checks stand for `get_vm_area` and
//! `ioremap_page_range`'s callers (the VA is the script's, it must lie in
//! the vmalloc area and overlap no live ioremap); a refused step leaves
//! the machine unchanged. An ioremap that fails with -ENOMEM is unmapped
//! again, as `free_vm_area` does.

use crate::free::FreeVariant;
use crate::ioremap::KernelPageTable;
use crate::pgtable::{
    entry_span, levels, Contents, CpuCaches, Level, Paging, Start, Translation, WalkResult, FRAME,
    PRESENT, PSE, PTRS_PER_TABLE,
};
use crate::scenario::PgtableScenario;
use crate::script::Op;
use kexec_common::errno::Errno;
use kexec_common::text::size_exact;
use kexec_common::units::PAGE_SIZE;

/// A table page as the snapshot shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableView {
    /// Its level.
    pub level: Level,
    /// Its pfn.
    pub pfn: u64,
    /// The first VA it maps.
    pub va: u64,
    /// Nesting depth from the PGD.
    pub depth: usize,
    /// Present entries.
    pub present: usize,
    /// Up to 4 present entries: (index, entry).
    pub sample: Vec<(usize, u64)>,
}

/// The machine after a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// Table pages reachable from the PGD, depth first.
    pub tables: Vec<TableView>,
    /// Table pages unlinked and never freed.
    pub leaked: Vec<u64>,
    /// The free list, most recently freed last.
    pub free: Vec<u64>,
    /// Each CPU's caches.
    pub cpus: Vec<CpuCaches>,
}

/// What a CPU's access found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The translation the page table holds.
    Correct(Translation),
    /// A page fault on an unmapped VA.
    Unmapped,
    /// A translation the page table does not hold: through a stale cached
    /// pointer.
    Bogus {
        /// What the CPU got.
        got: Translation,
        /// What the page table says.
        truth: Option<Translation>,
    },
    /// A page fault on a VA the page table maps.
    SpuriousFault {
        /// What the page table says.
        truth: Translation,
    },
}

impl Outcome {
    /// Whether the CPU and the page table agree.
    pub fn agrees(&self) -> bool {
        matches!(self, Outcome::Correct(_) | Outcome::Unmapped)
    }
}

/// An access: the walk and its outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    /// CPU.
    pub cpu: usize,
    /// VA.
    pub va: u64,
    /// Where the walk started.
    pub start: Start,
    /// Pages read: (level, pfn, index, entry, what the page is now).
    pub reads: Vec<(Level, u64, usize, u64, String)>,
    /// The outcome.
    pub outcome: Outcome,
}

/// One step of one variant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The script line.
    pub op: String,
    /// Refused input: the reason (the table is unchanged).
    pub error: Option<String>,
    /// An errno the kernel returns.
    pub errno: Option<Errno>,
    /// What the kernel did.
    pub log: Vec<String>,
    /// For an access.
    pub access: Option<Access>,
    /// The machine after the step.
    pub after: Snapshot,
}

/// One variant's run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgtableRun {
    /// The variant.
    pub variant: FreeVariant,
    /// Steps, one per script line.
    pub steps: Vec<Step>,
}

impl PgtableRun {
    /// The index of the first step whose access disagrees with the page
    /// table.
    pub fn first_disagreement(&self) -> Option<usize> {
        self.steps
            .iter()
            .position(|s| s.access.as_ref().is_some_and(|a| !a.outcome.agrees()))
    }

    /// "ok", or the first access where a CPU disagreed with the page table.
    pub fn verdict(&self) -> String {
        let Some(i) = self.first_disagreement() else {
            return "every access agrees with the page table".into();
        };
        let a = self.steps[i].access.as_ref().expect("a disagreeing access");
        match &a.outcome {
            Outcome::Bogus { got, .. } => format!(
                "step {}: cpu{} translates 0x{:x} to 0x{:x}: BOGUS",
                i + 1,
                a.cpu,
                a.va,
                got.pa
            ),
            _ => format!("step {}: cpu{} faults on mapped 0x{:x}", i + 1, a.cpu, a.va),
        }
    }

    /// 0 when every access agrees, 3 otherwise.
    pub fn exit_status(&self) -> i32 {
        if self.first_disagreement().is_some() {
            3
        } else {
            0
        }
    }
}

/// The step a view opens at: the first step (1-based, over all runs)
/// where a CPU and the page table disagree, else `n`, the last.
pub fn opening_step(runs: &[PgtableRun], n: usize) -> usize {
    runs.iter()
        .filter_map(PgtableRun::first_disagreement)
        .min()
        .map_or(n, |i| i + 1)
}

fn page_role(t: &KernelPageTable, pfn: u64, want: Level) -> String {
    match t.mem.pages.get(&pfn) {
        None => "never allocated".into(),
        Some(p) if p.free => format!("FREE (was {})", p.owner),
        Some(p) => match &p.contents {
            Contents::Table(l, _) if *l == want => format!("{} table", l.name()),
            Contents::Table(l, _) => format!("a {} table, read as {}", l.name(), want.name()),
            Contents::Data(v) => format!("NOT A TABLE: {} (every word 0x{v:x})", p.owner),
        },
    }
}

fn snapshot(t: &KernelPageTable) -> Snapshot {
    let mut tables = Vec::new();
    // Depth-first from the PGD.
    let mut stack = vec![(t.root, 0usize, 0u64, 0usize)];
    while let Some((pfn, li, va, depth)) = stack.pop() {
        let lv = levels(t.paging);
        let level = lv[li];
        let n = if t.paging == Paging::Pae && level == Level::Pgd {
            4
        } else {
            PTRS_PER_TABLE
        };
        let mut present = 0;
        let mut sample = Vec::new();
        let mut children = Vec::new();
        for i in 0..n {
            let e = t.mem.read(pfn, i);
            if e & PRESENT == 0 {
                continue;
            }
            present += 1;
            if sample.len() < 4 {
                sample.push((i, e));
            }
            let span = entry_span(t.paging, level);
            let child_va = va + i as u64 * span;
            let leaf = level == Level::Pte || (level != Level::Pgd && e & PSE != 0);
            if !leaf {
                let child_va = if t.paging == Paging::FourLevel && level == Level::Pgd && i >= 256 {
                    child_va | 0xffff_0000_0000_0000
                } else {
                    child_va
                };
                children.push(((e & FRAME) / PAGE_SIZE, li + 1, child_va, depth + 1));
            }
        }
        tables.push(TableView {
            level,
            pfn,
            va,
            depth,
            present,
            sample,
        });
        for c in children.into_iter().rev() {
            stack.push(c);
        }
    }
    Snapshot {
        tables,
        leaked: t.leaked.clone(),
        free: t
            .mem
            .free_list
            .iter()
            .rev()
            .take(8)
            .rev()
            .copied()
            .collect(),
        cpus: t.cpus.clone(),
    }
}

fn check_range(t: &KernelPageTable, va: u64, pa: u64, size: u64) -> Result<(), String> {
    if size == 0 || (va | pa | size) & (PAGE_SIZE - 1) != 0 {
        return Err(format!(
            "ioremap: VA 0x{va:x}, PA 0x{pa:x} and size 0x{size:x} must be page aligned and the size non-zero (the lab gives the VA; the kernel would round PA and size to pages)"
        ));
    }
    let (lo, hi) = t.paging.vmalloc_area();
    if va < lo || !matches!(va.checked_add(size), Some(e) if e <= hi) {
        return Err(format!(
            "ioremap: 0x{va:x} + {} is outside the vmalloc area 0x{lo:x}-0x{:x}",
            size_exact(size),
            hi - 1
        ));
    }
    if let Some(m) = t
        .mappings
        .iter()
        .find(|m| va < m.0 + m.2 && m.0 < va + size)
    {
        return Err(format!(
            "ioremap: 0x{va:x} + {} overlaps the ioremap at 0x{:x} + {}",
            size_exact(size),
            m.0,
            size_exact(m.2)
        ));
    }
    Ok(())
}

/// Run one variant.
pub fn run_variant(sc: &PgtableScenario, variant: FreeVariant) -> PgtableRun {
    run_until(sc, variant, sc.ops.len()).0
}

/// Run every variant.
pub fn run(sc: &PgtableScenario) -> Vec<PgtableRun> {
    sc.variants.iter().map(|&v| run_variant(sc, v)).collect()
}

/// The VAs whose upper tables exist at boot: every PGD entry the script's
/// ioremaps touch inside the vmalloc area.
fn preallocated(sc: &PgtableScenario) -> Vec<u64> {
    let span = entry_span(sc.paging, Level::Pgd);
    let (lo, hi) = sc.paging.vmalloc_area();
    sc.ops
        .iter()
        .filter_map(|o| match *o {
            Op::Ioremap { va, size, .. } => Some((va, size)),
            _ => None,
        })
        .flat_map(|(va, size)| {
            let (a, b) = (va.max(lo), va.saturating_add(size).min(hi));
            (a / span..b.div_ceil(span).max(a / span)).map(move |k| k * span)
        })
        .collect()
}

/// The first `n` steps of a variant, and the machine after them.
pub(crate) fn run_until(
    sc: &PgtableScenario,
    variant: FreeVariant,
    n: usize,
) -> (PgtableRun, KernelPageTable) {
    let mut t = KernelPageTable::new(sc.paging, sc.cpus, sc.features, variant, &preallocated(sc));
    let steps = sc.ops.iter().take(n).map(|op| step(&mut t, op)).collect();
    (PgtableRun { variant, steps }, t)
}

/// One script line on the machine.
fn step(t: &mut KernelPageTable, op: &Op) -> Step {
    let mut log = Vec::new();
    let mut error = None;
    let mut errno = None;
    let mut access = None;
    match *op {
        Op::Ioremap { va, pa, size } => match check_range(t, va, pa, size) {
            Err(e) => error = Some(e),
            Ok(()) => errno = ioremap(t, va, pa, size, &mut log).err(),
        },
        Op::Iounmap { va } => match t.mappings.iter().find(|m| m.0 == va).copied() {
            None => {
                error = Some(format!(
                    "iounmap: bad address 0x{va:x} (no ioremap starts there)"
                ))
            }
            Some((_, _, size)) => t.iounmap(va, size, &mut log),
        },
        Op::Access { va, cpu } => {
            let mut c = std::mem::take(&mut t.cpus[cpu]);
            access = Some(cpu_access(t, &mut c, cpu, va));
            t.cpus[cpu] = c;
        }
        Op::Speculate { va, cpu } => log.push(speculate(t, va, cpu)),
        Op::Reuse { fill } => match t
            .mem
            .alloc("reused by another allocation", Contents::Data(fill))
        {
            Some(p) => log.push(format!(
                "page 0x{p:x} handed out by the page allocator and filled with 0x{fill:x}"
            )),
            None => log.push("the allocation failed (fail-next-alloc)".into()),
        },
        Op::FailNextAlloc => {
            t.mem.fail_next = true;
            log.push("the next page allocation will fail".into());
        }
    }
    Step {
        op: op.line(),
        error,
        errno,
        log,
        access,
        after: snapshot(t),
    }
}

/// A checked ioremap; on -ENOMEM what was mapped is unmapped again.
fn ioremap(
    t: &mut KernelPageTable,
    va: u64,
    pa: u64,
    size: u64,
    log: &mut Vec<String>,
) -> Result<(), Errno> {
    if let Err(e) = t.ioremap(va, pa, size, log) {
        log.push("ioremap fails: free_vm_area unmaps what was mapped".into());
        t.mappings.push((va, pa, size));
        t.iounmap(va, size, log);
        return Err(e);
    }
    log.push(format!("mapped 0x{va:x}-0x{:x} → 0x{pa:x}", va + size - 1));
    Ok(())
}

/// A speculative walk by `cpu`: what it cached.
fn speculate(t: &mut KernelPageTable, va: u64, cpu: usize) -> String {
    let w = t.cpus[cpu].speculate(t.paging, t.root, &t.mem, va);
    let cached: Vec<String> = w
        .reads
        .iter()
        .filter(|r| r.3 & PRESENT != 0 && r.0 != Level::Pte && r.3 & PSE == 0)
        .map(|r| format!("{}[{}] of page 0x{:x}", r.0.name(), r.2, r.1))
        .collect();
    format!(
        "cpu{cpu} walks 0x{va:x} speculatively: {}; no fault is taken",
        if cached.is_empty() {
            "nothing new to cache".to_string()
        } else {
            format!("caches the pointers in {}", cached.join(", "))
        }
    )
}

/// `cpu`'s load from `va` through `caches`, compared with the page table.
pub(crate) fn cpu_access(
    t: &KernelPageTable,
    caches: &mut CpuCaches,
    cpu: usize,
    va: u64,
) -> Access {
    let truth = match t.truth(va) {
        WalkResult::Mapped(tr) => Some(tr),
        WalkResult::NotPresent(_) => None,
    };
    let w = caches.walk(t.paging, t.root, &t.mem, va);
    let reads = w
        .reads
        .iter()
        .map(|&(level, pfn, i, e)| (level, pfn, i, e, page_role(t, pfn, level)))
        .collect();
    let outcome = match (w.result, truth) {
        (WalkResult::Mapped(g), Some(tr)) if g.pa == tr.pa => Outcome::Correct(g),
        (WalkResult::Mapped(g), tr) => Outcome::Bogus { got: g, truth: tr },
        (WalkResult::NotPresent(_), None) => Outcome::Unmapped,
        (WalkResult::NotPresent(_), Some(tr)) => Outcome::SpuriousFault { truth: tr },
    };
    Access {
        cpu,
        va,
        start: w.start,
        reads,
        outcome,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::presets::find_preset;

    fn last_access(r: &PgtableRun) -> &Access {
        r.steps
            .iter()
            .rev()
            .find_map(|s| s.access.as_ref())
            .unwrap()
    }

    fn story(v: FreeVariant) -> PgtableRun {
        run_variant(&find_preset("pgtable-stale-pde").unwrap().scenario, v)
    }

    #[test]
    fn stale_walk_story_per_variant() {
        // With the flush: the cached PDE is gone, cpu1 walks from CR3 and
        // gets the 2 MiB mapping.
        let r = story(FreeVariant::Flush);
        let a = last_access(&r);
        assert_eq!(a.start, Start::Cr3);
        assert_eq!(
            a.outcome,
            Outcome::Correct(Translation {
                pa: 0xfe00_0000,
                size: 2 << 20
            })
        );
        // Without: the PDE cache points into the reused page, whose words
        // read as a PTE for the local APIC.
        let r = story(FreeVariant::NoFlush);
        let a = last_access(&r);
        assert_eq!(a.start, Start::Cached(Level::Pmd));
        assert_eq!(
            a.outcome,
            Outcome::Bogus {
                got: Translation {
                    pa: 0xfee0_0000,
                    size: 4096
                },
                truth: Some(Translation {
                    pa: 0xfe00_0000,
                    size: 2 << 20
                })
            }
        );
        assert!(a.reads[0].4.contains("NOT A TABLE"), "{:?}", a.reads);
        assert_eq!(r.exit_status(), 3);
        assert!(r.verdict().contains("BOGUS"));
        // Joerg's list: flushed too.
        assert!(last_access(&story(FreeVariant::PageList)).outcome.agrees());
        // No free: huge refused, the old table maps 512 4 KiB pages.
        let r = story(FreeVariant::NoFree);
        assert_eq!(
            last_access(&r).outcome,
            Outcome::Correct(Translation {
                pa: 0xfe00_0000,
                size: 4096
            })
        );
        assert!(r.steps[4]
            .log
            .iter()
            .any(|l| l.contains("returns pmd_none = 0")));
        // No check: the table leaks and cpu1 walks it: a fault on a mapped VA.
        let r = story(FreeVariant::NoFreeNoCheck);
        assert!(matches!(
            last_access(&r).outcome,
            Outcome::SpuriousFault { .. }
        ));
        assert_eq!(r.steps[6].after.leaked.len(), 1);
    }

    #[test]
    fn presets_keep_their_word() {
        let runs = run(&find_preset("pgtable-1g-fallback").unwrap().scenario);
        let sizes: Vec<_> = runs
            .iter()
            .map(|r| match last_access(r).outcome {
                Outcome::Correct(t) => t.size,
                ref o => panic!("{o:?}"),
            })
            .collect();
        assert_eq!(sizes, vec![2 << 20, 1 << 30]);
        assert!(runs[0].steps[3]
            .log
            .iter()
            .any(|l| l.contains("__get_free_page(GFP_KERNEL) failed")));
        let runs = run(&find_preset("pgtable-pae").unwrap().scenario);
        let accs = |r: &PgtableRun| -> Vec<Outcome> {
            r.steps
                .iter()
                .filter_map(|s| s.access.as_ref().map(|a| a.outcome.clone()))
                .collect()
        };
        let (f, n) = (accs(&runs[0]), accs(&runs[1]));
        assert_eq!(
            f[1],
            Outcome::Correct(Translation {
                pa: 0xfe00_0000,
                size: 4096
            })
        );
        assert!(
            matches!(n[1], Outcome::Bogus { got, .. } if got.pa == 0xfee0_0000),
            "{:?}",
            n[1]
        );
        for a in [&f, &n] {
            assert_eq!(
                a[2],
                Outcome::Correct(Translation {
                    pa: 0xfe20_0000,
                    size: 2 << 20
                })
            );
        }
        assert!(runs[0].steps[4]
            .log
            .iter()
            .any(|l| l.contains("(6.1, PAE): returns pmd_none = 0")));
    }

    #[test]
    fn bad_steps_leave_the_table_unchanged() {
        let mut sc = find_preset("pgtable-stale-pde").unwrap().scenario;
        sc.ops = [
            "ioremap 0xffffc90000200000 0xfe000000 8K",
            "ioremap 0xffffc90000201000 0xfe100000 4K",
            "ioremap 0xffffc90000300800 0xfe000000 4K",
            "iounmap 0xffffc90000400000",
            "ioremap 0x1000 0xfe000000 4K",
            "ioremap 0xffffc90000400000 0xfe000000 0",
        ]
        .iter()
        .map(|l| Op::parse(l, 2).unwrap())
        .collect();
        for r in run(&sc) {
            let first = &r.steps[0].after;
            for s in &r.steps[1..] {
                assert!(s.error.is_some(), "{}", s.op);
                assert_eq!(&s.after, first, "{}", s.op);
            }
            assert!(r.steps[1].error.as_ref().unwrap().contains("overlaps"));
            assert!(r.steps[3].error.as_ref().unwrap().contains("bad address"));
            assert!(r.steps[4].error.as_ref().unwrap().contains("vmalloc area"));
        }
    }

    #[test]
    fn enomem_unwinds() {
        let mut sc = find_preset("pgtable-stale-pde").unwrap().scenario;
        sc.ops = vec![
            Op::FailNextAlloc,
            Op::parse("ioremap 0xffffc90000200000 0xfe000000 4K", 2).unwrap(),
            Op::parse("ioremap 0xffffc90000200000 0xfe000000 4K", 2).unwrap(),
        ];
        let r = run_variant(&sc, FreeVariant::Flush);
        assert_eq!(r.steps[1].errno, Some(Errno::ENOMEM));
        assert_eq!(r.steps[2].errno, None, "the VA is free again");
    }
}
