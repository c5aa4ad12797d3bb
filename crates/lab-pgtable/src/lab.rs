//! The page-table lab: scenario kind "pgtable".
//!
//! A script of operations on the kernel page table of an x86_64 or PAE
//! machine with a few CPUs ([`crate::ioremap`], [`crate::pgtable`]):
//! `ioremap VA PA SIZE`, `iounmap VA`, `access VA cpu=N` (a load),
//! `speculate VA cpu=N` (a speculative walk: caches, never faults),
//! `reuse [fill=WORD]` (someone else gets the most recently freed page and
//! fills it), `fail-next-alloc`. Each variant runs the same script; after every
//! step the lab keeps the table pages, the per-CPU caches, and for an
//! access the CPU's translation next to what the page table says.

use crate::free::{FreeVariant, ALL_FREE_VARIANTS};
use crate::ioremap::{Features, KernelPageTable};
use crate::pgtable::{
    levels, Contents, CpuCaches, Level, Paging, Start, Translation, WalkResult, FRAME, PRESENT,
    PSE, PTRS_PER_TABLE,
};
use kexec_common::errno::Errno;
use kexec_common::input::memparse;
use kexec_common::input::{check_variants, check_version_kind, InputError, SCENARIO_VERSION};
use kexec_common::text::{size_exact as size_text, wrap};
use kexec_common::units::PAGE_SIZE;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::fmt::Write as _;

/// At most this many script lines.
pub const MAX_OPS: usize = 128;
/// At most this many CPUs.
pub const MAX_CPUS: usize = 8;
/// The largest single ioremap.
pub const MAX_IOREMAP: u64 = 4 << 30;

/// A script operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `ioremap VA PA SIZE`.
    Ioremap {
        /// Virtual address.
        va: u64,
        /// Physical address.
        pa: u64,
        /// Bytes.
        size: u64,
    },
    /// `iounmap VA`.
    Iounmap {
        /// The ioremap's VA.
        va: u64,
    },
    /// `access VA cpu=N`: CPU N loads from VA (a page fault drops the
    /// paging-structure-cache entries for VA).
    Access {
        /// Virtual address.
        va: u64,
        /// CPU.
        cpu: usize,
    },
    /// `speculate VA cpu=N`: CPU N walks VA speculatively: it caches what
    /// it walks through and never faults.
    Speculate {
        /// Virtual address.
        va: u64,
        /// CPU.
        cpu: usize,
    },
    /// `reuse fill=WORD`: the next page allocation (the most recently
    /// freed page) goes to someone else, who fills it with WORD.
    Reuse {
        /// The 64-bit word written all over the page.
        fill: u64,
    },
    /// `fail-next-alloc`: the next page allocation fails.
    FailNextAlloc,
}

/// The default `reuse` fill: a word that reads as a present 4 KiB PTE for
/// 0xfee00000, the local APIC's MMIO page.
pub const DEFAULT_FILL: u64 = 0xfee0_0163;

impl Op {
    /// The script line.
    pub fn line(&self) -> String {
        match *self {
            Op::Ioremap { va, pa, size } => {
                format!("ioremap 0x{va:x} 0x{pa:x} {}", short_size(size))
            }
            Op::Iounmap { va } => format!("iounmap 0x{va:x}"),
            Op::Access { va, cpu } => format!("access 0x{va:x} cpu={cpu}"),
            Op::Speculate { va, cpu } => format!("speculate 0x{va:x} cpu={cpu}"),
            Op::Reuse { fill } if fill == DEFAULT_FILL => "reuse".into(),
            Op::Reuse { fill } => format!("reuse fill=0x{fill:x}"),
            Op::FailNextAlloc => "fail-next-alloc".into(),
        }
    }

    /// Parse a script line.
    pub fn parse(line: &str, cpus: usize) -> Result<Op, String> {
        let mut w = line.split_whitespace();
        let cmd = w.next().unwrap_or_default();
        let num = |t: Option<&str>, what: &str| -> Result<u64, String> {
            let t = t.ok_or_else(|| format!("{cmd}: {what} missing"))?;
            match memparse(t) {
                Ok((n, "")) => Ok(n),
                Ok((_, rest)) => Err(format!("{cmd}: \"{rest}\" after the {what}")),
                Err(e) => Err(format!("{cmd}: {what}: {e}")),
            }
        };
        let op = match cmd {
            "ioremap" => Op::Ioremap {
                va: num(w.next(), "VA")?,
                pa: num(w.next(), "PA")?,
                size: num(w.next(), "SIZE")?,
            },
            "iounmap" => Op::Iounmap {
                va: num(w.next(), "VA")?,
            },
            "access" | "speculate" => {
                let va = num(w.next(), "VA")?;
                let cpu = match w.next() {
                    None => 0,
                    Some(c) => c
                        .strip_prefix("cpu=")
                        .and_then(|n| n.parse().ok())
                        .ok_or_else(|| format!("{cmd}: \"{c}\" (cpu=N)"))?,
                };
                if cpu >= cpus {
                    return Err(format!("{cmd}: cpu={cpu}, the machine has CPUs 0 to {}", cpus - 1));
                }
                if cmd == "access" {
                    Op::Access { va, cpu }
                } else {
                    Op::Speculate { va, cpu }
                }
            }
            "reuse" => {
                let fill = match w.next() {
                    None => DEFAULT_FILL,
                    Some(f) => {
                        let f = f
                            .strip_prefix("fill=")
                            .ok_or_else(|| format!("reuse: \"{f}\" (fill=WORD)"))?;
                        num(Some(f), "fill")?
                    }
                };
                Op::Reuse { fill }
            }
            "fail-next-alloc" => Op::FailNextAlloc,
            other => {
                return Err(format!(
                    "\"{other}\" (valid: ioremap VA PA SIZE, iounmap VA, access VA cpu=N, speculate VA cpu=N, reuse [fill=WORD], fail-next-alloc)"
                ))
            }
        };
        if let Some(extra) = w.next() {
            return Err(format!("{cmd}: unexpected \"{extra}\""));
        }
        Ok(op)
    }
}

fn short_size(n: u64) -> String {
    for (s, u) in [(30, "G"), (20, "M"), (10, "K")] {
        if n >= 1 << s && n & ((1 << s) - 1) == 0 {
            return format!("{}{u}", n >> s);
        }
    }
    format!("0x{n:x}")
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// A page-table scenario file (version 1, `"kind": "pgtable"`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PgtableFile {
    /// Format version (1).
    pub version: u32,
    /// "pgtable".
    pub kind: String,
    /// "x86_64" or "i386-pae".
    pub arch: String,
    /// CPUs (1 to 8).
    pub cpus: usize,
    /// X86_FEATURE_GBPAGES.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub gbpages: bool,
    /// X86_FEATURE_PSE.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub pse: bool,
    /// `nohugeiomap`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub nohugeiomap: bool,
    /// MTRRs uniform over the ranges mapped.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub mtrr_uniform: bool,
    /// The script, one operation per string.
    pub script: Vec<String>,
    /// Variants compared.
    pub variants: Vec<String>,
}

/// A checked page-table scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgtableScenario {
    /// Layout.
    pub paging: Paging,
    /// CPUs.
    pub cpus: usize,
    /// Features.
    pub features: Features,
    /// Operations.
    pub ops: Vec<Op>,
    /// Variants.
    pub variants: Vec<FreeVariant>,
}

fn err(field: impl Into<String>, message: impl Into<String>) -> InputError {
    InputError {
        field: field.into(),
        message: message.into(),
    }
}

/// The vmalloc area ioremap uses: `[start, end)`.
pub fn vmalloc_area(paging: Paging) -> (u64, u64) {
    match paging {
        // VMALLOC_START, VMALLOC_END + 1 with 4-level paging, no KASLR.
        Paging::FourLevel => (0xffff_c900_0000_0000, 0xffff_e900_0000_0000),
        // VMSPLIT_3G with HIGHMEM and PKMAP_BASE 0xff800000: VMALLOC_END
        // = PKMAP_BASE - 2 pages; lowmem MAXMEM = VMALLOC_END -
        // PAGE_OFFSET - 128 MiB; VMALLOC_START = high_memory + 8 MiB.
        Paging::Pae => (0xf7ff_e000, 0xff7f_e000),
    }
}

impl PgtableScenario {
    /// Parse and check JSON text.
    pub fn from_json(text: &str) -> Result<PgtableScenario, InputError> {
        let f: PgtableFile = serde_json::from_str(text).map_err(|e| err("", e.to_string()))?;
        PgtableScenario::from_file(&f)
    }

    /// Check a file. Ranges the kernel itself refuses are errors of their
    /// step in the run, not here.
    pub fn from_file(f: &PgtableFile) -> Result<PgtableScenario, InputError> {
        check_version_kind(f.version, &f.kind, "pgtable")?;
        let paging = match f.arch.as_str() {
            "x86_64" => Paging::FourLevel,
            "i386-pae" => Paging::Pae,
            a => {
                return Err(err(
                    "arch",
                    format!("\"{a}\" (valid: x86_64, i386-pae; non-PAE i386 has no huge vmap)"),
                ))
            }
        };
        if f.cpus == 0 || f.cpus > MAX_CPUS {
            return Err(err("cpus", format!("{}: 1 to {MAX_CPUS}", f.cpus)));
        }
        if f.script.len() > MAX_OPS {
            return Err(err(
                "script",
                format!("{} lines; at most {MAX_OPS}", f.script.len()),
            ));
        }
        let mut ops = Vec::new();
        for (i, line) in f.script.iter().enumerate() {
            let op = Op::parse(line, f.cpus).map_err(|m| err(format!("script[{i}]"), m))?;
            if let Op::Ioremap { size, pa, .. } = op {
                if size > MAX_IOREMAP {
                    return Err(err(
                        format!("script[{i}]"),
                        format!(
                            "ioremap of {}: the lab maps at most 4 GiB at once",
                            size_text(size)
                        ),
                    ));
                }
                let max_pa = match paging {
                    Paging::FourLevel => 1u64 << 46,
                    Paging::Pae => 1 << 36,
                };
                if !matches!(pa.checked_add(size), Some(e) if e <= max_pa) {
                    return Err(err(
                        format!("script[{i}]"),
                        format!(
                            "PA 0x{pa:x} + {} is past the physical address limit 0x{max_pa:x}",
                            size_text(size)
                        ),
                    ));
                }
            }
            ops.push(op);
        }
        let names: Vec<&str> = ALL_FREE_VARIANTS.iter().map(|v| v.name()).collect();
        let variants = check_variants(&f.variants, FreeVariant::from_name, &names)?;
        Ok(PgtableScenario {
            paging,
            cpus: f.cpus,
            features: Features {
                gbpages: f.gbpages,
                pse: f.pse,
                nohugeiomap: f.nohugeiomap,
                mtrr_uniform: f.mtrr_uniform,
            },
            ops,
            variants,
        })
    }

    /// The file form.
    pub fn to_file(&self) -> PgtableFile {
        PgtableFile {
            version: SCENARIO_VERSION,
            kind: "pgtable".into(),
            arch: match self.paging {
                Paging::FourLevel => "x86_64",
                Paging::Pae => "i386-pae",
            }
            .into(),
            cpus: self.cpus,
            gbpages: self.features.gbpages,
            pse: self.features.pse,
            nohugeiomap: self.features.nohugeiomap,
            mtrr_uniform: self.features.mtrr_uniform,
            script: self.ops.iter().map(Op::line).collect(),
            variants: self.variants.iter().map(|v| v.name().into()).collect(),
        }
    }

    /// Compact JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.to_file()).expect("a file serialises")
    }

    /// Pretty JSON.
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(&self.to_file()).expect("a file serialises")
    }
}

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
    /// "ok", or the first access where a CPU disagreed with the page table.
    pub fn verdict(&self) -> String {
        for (i, s) in self.steps.iter().enumerate() {
            if let Some(a) = &s.access {
                match &a.outcome {
                    Outcome::Bogus { got, .. } => {
                        return format!(
                            "step {}: cpu{} translates 0x{:x} to 0x{:x}: BOGUS",
                            i + 1,
                            a.cpu,
                            a.va,
                            got.pa
                        )
                    }
                    Outcome::SpuriousFault { .. } => {
                        return format!(
                            "step {}: cpu{} faults on mapped 0x{:x}",
                            i + 1,
                            a.cpu,
                            a.va
                        )
                    }
                    _ => {}
                }
            }
        }
        "every access agrees with the page table".into()
    }

    /// 0 when every access agrees, 3 otherwise.
    pub fn exit_status(&self) -> i32 {
        if self
            .steps
            .iter()
            .any(|s| s.access.as_ref().is_some_and(|a| !a.outcome.agrees()))
        {
            3
        } else {
            0
        }
    }
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
            let span = crate::pgtable::entry_span(t.paging, level);
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
    let (lo, hi) = vmalloc_area(t.paging);
    if va < lo || !matches!(va.checked_add(size), Some(e) if e <= hi) {
        return Err(format!(
            "ioremap: 0x{va:x} + {} is outside the vmalloc area 0x{lo:x}-0x{:x}",
            size_text(size),
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
            size_text(size),
            m.0,
            size_text(m.2)
        ));
    }
    Ok(())
}

/// Run one variant.
pub fn run_variant(sc: &PgtableScenario, variant: FreeVariant) -> PgtableRun {
    run_until(sc, variant, sc.ops.len()).0
}

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

fn cpu_access(t: &KernelPageTable, caches: &mut CpuCaches, cpu: usize, va: u64) -> Access {
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

fn run_until(
    sc: &PgtableScenario,
    variant: FreeVariant,
    n: usize,
) -> (PgtableRun, KernelPageTable) {
    let vas: Vec<u64> = sc
        .ops
        .iter()
        .filter_map(|o| match *o {
            Op::Ioremap { va, size, .. } => Some((va, size)),
            _ => None,
        })
        .flat_map(|(va, size)| {
            let span = crate::pgtable::entry_span(sc.paging, Level::Pgd);
            let (lo, hi) = vmalloc_area(sc.paging);
            let (a, b) = (va.max(lo), va.saturating_add(size).min(hi));
            (a / span..b.div_ceil(span).max(a / span)).map(move |k| k * span)
        })
        .collect();
    let mut t = KernelPageTable::new(sc.paging, sc.cpus, sc.features, variant, &vas);
    let mut steps = Vec::new();
    for op in sc.ops.iter().take(n) {
        let mut log = Vec::new();
        let mut error = None;
        let mut errno = None;
        let mut access = None;
        match *op {
            Op::Ioremap { va, pa, size } => match check_range(&t, va, pa, size) {
                Err(e) => error = Some(e),
                Ok(()) => {
                    if let Err(e) = t.ioremap(va, pa, size, &mut log) {
                        errno = Some(e);
                        log.push("ioremap fails: free_vm_area unmaps what was mapped".into());
                        t.mappings.push((va, pa, size));
                        t.iounmap(va, size, &mut log);
                    } else {
                        log.push(format!("mapped 0x{va:x}-0x{:x} → 0x{pa:x}", va + size - 1));
                    }
                }
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
                access = Some(cpu_access(&t, &mut c, cpu, va));
                t.cpus[cpu] = c;
            }
            Op::Speculate { va, cpu } => {
                let w = t.cpus[cpu].speculate(t.paging, t.root, &t.mem, va);
                let cached: Vec<String> = w
                    .reads
                    .iter()
                    .filter(|r| r.3 & PRESENT != 0 && r.0 != Level::Pte && r.3 & PSE == 0)
                    .map(|r| format!("{}[{}] of page 0x{:x}", r.0.name(), r.2, r.1))
                    .collect();
                log.push(format!(
                    "cpu{cpu} walks 0x{va:x} speculatively: {}; no fault is taken",
                    if cached.is_empty() {
                        "nothing new to cache".to_string()
                    } else {
                        format!("caches the pointers in {}", cached.join(", "))
                    }
                ));
            }
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
        steps.push(Step {
            op: op.line(),
            error,
            errno,
            log,
            access,
            after: snapshot(&t),
        });
    }
    (PgtableRun { variant, steps }, t)
}

/// Run every variant.
pub fn run(sc: &PgtableScenario) -> Vec<PgtableRun> {
    sc.variants.iter().map(|&v| run_variant(sc, v)).collect()
}

/// A one-line description of an access.
pub fn access_text(a: &Access) -> String {
    let from = match a.start {
        Start::Tlb => "TLB hit".to_string(),
        Start::Cached(l) => format!(
            "walk from the cached {}E",
            match l {
                Level::Pgd => "PML4",
                Level::Pud => "PDPT",
                _ => "PD",
            }
        ),
        Start::Cr3 => "walk from CR3".to_string(),
    };
    let what = match &a.outcome {
        Outcome::Correct(t) => format!(
            "0x{:x} ({}), as the page table says",
            t.pa,
            size_text(t.size)
        ),
        Outcome::Unmapped => "page fault: not mapped".into(),
        Outcome::Bogus { got, truth } => format!(
            "0x{:x} ({}): BOGUS, the page table says {}",
            got.pa,
            size_text(got.size),
            truth.map_or("not mapped".to_string(), |t| format!("0x{:x}", t.pa))
        ),
        Outcome::SpuriousFault { truth } => format!(
            "page fault, but the page table maps it to 0x{:x}: a stale walk",
            truth.pa
        ),
    };
    format!("cpu{} 0x{:x}: {from}: {what}", a.cpu, a.va)
}

/// The 72-column text report.
pub fn report_text(sc: &PgtableScenario, runs: &[PgtableRun]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "kexec-sim pgtable: {}, {} CPU(s){}{}{}{}",
        match sc.paging {
            Paging::FourLevel => "x86_64 4-level",
            Paging::Pae => "i386 PAE",
        },
        sc.cpus,
        if sc.features.gbpages || sc.paging == Paging::Pae {
            ""
        } else {
            ", no GBPAGES"
        },
        if sc.features.pse { "" } else { ", no PSE" },
        if sc.features.nohugeiomap {
            ", nohugeiomap"
        } else {
            ""
        },
        if sc.features.mtrr_uniform {
            ""
        } else {
            ", MTRRs not uniform"
        },
    );
    for r in runs {
        s.push('\n');
        let _ = writeln!(s, "== {} ==", r.variant.name());
        s.push_str(&wrap(r.variant.summary(), "", 2));
        let _ = writeln!(s, "verdict: {}", r.verdict());
        for (i, st) in r.steps.iter().enumerate() {
            let _ = writeln!(s, "{}. {}", i + 1, st.op);
            if let Some(e) = &st.error {
                s.push_str(&wrap(
                    &format!("error: {e}; the table is unchanged"),
                    "   ",
                    3,
                ));
            }
            if let Some(e) = st.errno {
                let _ = writeln!(s, "   -{}", e.name());
            }
            for l in &st.log {
                s.push_str(&wrap(l, "   ", 5));
            }
            if let Some(a) = &st.access {
                s.push_str(&wrap(&access_text(a), "   ", 5));
                for (level, pfn, i, e, role) in &a.reads {
                    s.push_str(&wrap(
                        &format!(
                            "reads {}[{i}] of page 0x{pfn:x} = 0x{e:x} ({role})",
                            level.name()
                        ),
                        "     ",
                        7,
                    ));
                }
            }
        }
        if let Some(last) = r.steps.last() {
            let _ = writeln!(s, "tables at the end:");
            for t in &last.after.tables {
                let _ = writeln!(
                    s,
                    "  {}{} page 0x{:x} at 0x{:x}: {} present",
                    "  ".repeat(t.depth),
                    t.level.name(),
                    t.pfn,
                    t.va,
                    t.present
                );
            }
            if !last.after.leaked.is_empty() {
                let l: Vec<String> = last
                    .after
                    .leaked
                    .iter()
                    .map(|p| format!("0x{p:x}"))
                    .collect();
                s.push_str(&wrap(&l.join(" "), "leaked:", 2));
            }
        }
    }
    s
}

/// The JSON report.
pub fn report_json(sc: &PgtableScenario, runs: &[PgtableRun]) -> serde_json::Value {
    json!({
        "kind": "pgtable",
        "scenario": serde_json::from_str::<serde_json::Value>(&sc.to_json()).unwrap_or_default(),
        "runs": runs.iter().map(|r| json!({
            "variant": r.variant.name(),
            "verdict": r.verdict(),
            "steps": r.steps.iter().map(|st| json!({
                "op": st.op, "error": st.error, "errno": st.errno.map(|e| e.name()),
                "log": st.log,
                "access": st.access.as_ref().map(access_text),
                "tables": st.after.tables.len(),
                "leaked": st.after.leaked.len(),
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

/// A preset of this lab.
pub type PgtablePreset = kexec_common::Preset<PgtableScenario>;

fn scenario(
    paging: Paging,
    cpus: usize,
    lines: &[&str],
    variants: [FreeVariant; 2],
) -> PgtableScenario {
    PgtableScenario {
        paging,
        cpus,
        features: Features::default(),
        ops: lines
            .iter()
            .map(|l| Op::parse(l, cpus).expect("preset lines parse"))
            .collect(),
        variants: variants.to_vec(),
    }
}

/// The stale-PDE script: a 4 KiB ioremap, cpu1 loads from it, iounmap,
/// cpu1 walks the VA speculatively (caching the PDE that points to the
/// now empty PTE page), a 2 MiB ioremap over the same VA, the freed PTE
/// page reused, cpu1 loads.
pub const STALE_PDE_SCRIPT: [&str; 7] = [
    "ioremap 0xffffc90000200000 0xfe000000 4K",
    "access 0xffffc90000200000 cpu=1",
    "iounmap 0xffffc90000200000",
    "speculate 0xffffc90000200000 cpu=1",
    "ioremap 0xffffc90000200000 0xfe000000 2M",
    "reuse",
    "access 0xffffc90000200000 cpu=1",
];

/// The lab's presets, from seed 003.
pub fn presets() -> Vec<PgtablePreset> {
    vec![
        kexec_common::Preset {
            name: "pgtable-stale-pde",
            title: "pmd_free_pte_page with and without the flush",
            expect: "flush: cpu1 gets the new 2 MiB mapping; no-flush: cpu1's cached PDE leads into the freed and reused page and translates to 0xfee00000 (the local APIC)",
            scenario: scenario(Paging::FourLevel, 2, &STALE_PDE_SCRIPT, [FreeVariant::Flush, FreeVariant::NoFlush]),
        },
        kexec_common::Preset {
            name: "pgtable-1g-fallback",
            title: "the temporary page fails: 1 GiB falls back to 2 MiB",
            expect: "flush: pud_free_pmd_page cannot allocate its temporary page, the 1 GiB request is mapped with 2 MiB PMDs; page-list needs no allocation and maps 1 GiB",
            scenario: scenario(
                Paging::FourLevel,
                1,
                &[
                    "ioremap 0xffffc90040000000 0x4000000000 4K",
                    "iounmap 0xffffc90040000000",
                    "fail-next-alloc",
                    "ioremap 0xffffc90040000000 0x4000000000 1G",
                    "access 0xffffc90040012345 cpu=0",
                ],
                [FreeVariant::Flush, FreeVariant::PageList],
            ),
        },
        kexec_common::Preset {
            name: "pgtable-pre-2018",
            title: "2018 and before: the stale table is never freed",
            expect: "no-free (March 2018): pmd_free_pte_page only reports pmd_none, so the range is mapped with 4 KiB pages through the old table; no-free-no-check (before): the 2 MiB entry overwrites the table pointer, the table leaks, and cpu1 faults on a mapped VA through its speculatively cached PDE",
            scenario: scenario(Paging::FourLevel, 2, &STALE_PDE_SCRIPT, [FreeVariant::NoFree, FreeVariant::NoFreeNoCheck]),
        },
        kexec_common::Preset {
            name: "pgtable-pae",
            title: "PAE: 6.1 reports emptiness, 2018's no-flush freed",
            expect: "flush (6.1 on PAE): pmd_free_pte_page reports the PMD is not none, the reused range is mapped with 4 KiB pages, nothing goes stale; no-flush (28ee90fe6048, which freed on PAE until f967db0b9ed4): the PTE page is freed under cpu1's speculatively cached PDE, reused, and cpu1 translates to 0xfee00000; a fresh 2 MiB-aligned range gets a 2 MiB leaf in both",
            scenario: scenario(
                Paging::Pae,
                2,
                &[
                    "ioremap 0xf8800000 0xfe000000 4K",
                    "access 0xf8800000 cpu=1",
                    "iounmap 0xf8800000",
                    "speculate 0xf8800000 cpu=1",
                    "ioremap 0xf8800000 0xfe000000 2M",
                    "ioremap 0xf8a00000 0xfe200000 2M",
                    "reuse",
                    "access 0xf8800000 cpu=1",
                    "access 0xf8a00000 cpu=1",
                ],
                [FreeVariant::Flush, FreeVariant::NoFlush],
            ),
        },
    ]
}

/// A preset by name.
pub fn find_preset(name: &str) -> Option<PgtablePreset> {
    kexec_common::preset::find(presets(), name)
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn files_round_trip_and_bad_files_name_the_field() {
        for p in presets() {
            assert_eq!(
                PgtableScenario::from_json(&p.scenario.to_json()).unwrap(),
                p.scenario
            );
            let t = report_text(&p.scenario, &run(&p.scenario));
            for l in t.lines() {
                assert!(l.chars().count() <= 72, "{}: {l}", p.name);
            }
        }
        let good = find_preset("pgtable-stale-pde").unwrap().scenario.to_json();
        let bad = |a: &str, b: &str| {
            let t = good.replacen(a, b, 1);
            assert_ne!(t, good);
            PgtableScenario::from_json(&t).unwrap_err().to_string()
        };
        assert!(bad("\"x86_64\"", "\"i386\"").contains("valid: x86_64, i386-pae"));
        assert!(bad("cpu=1", "cpu=5").contains("script[1]"));
        assert!(bad("iounmap", "unmap").contains("valid: ioremap"));
        assert!(bad("\"cpus\":2", "\"cpus\":0").contains("cpus"));
        assert!(bad("\"no-flush\"", "\"lazy\"").contains("valid: flush"));
        assert!(bad(" 4K", " 8G").contains("at most 4 GiB"));
    }

    #[test]
    fn index_helpers_agree_with_the_walk() {
        assert_eq!(
            crate::pgtable::index(Paging::FourLevel, Level::Pgd, 0xffff_c900_0000_0000),
            402
        );
        assert_eq!(
            crate::pgtable::index(Paging::FourLevel, Level::Pmd, 0xffff_c900_0020_0000),
            1
        );
    }
}
