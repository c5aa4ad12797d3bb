//! The page-table lab's reports: the 72-column text for email and the
//! JSON form.
//!
//! Each variant's section gives its verdict, then every step: the script
//! line, a refused step's reason, the errno the kernel returns, what the
//! kernel did (the lines of [`crate::ioremap`], [`crate::free`] and
//! [`crate::tlb`], in the kernel's names), and for an access the walk and
//! every table page it read; then the table pages at the end and the
//! pages leaked. The texts are the lab's, not the kernel's messages.

use crate::pgtable::{Level, Paging, Start};
use crate::run::{Access, Outcome, PgtableRun, Step};
use crate::scenario::PgtableScenario;
use kexec_common::text::{size_exact, wrap};
use serde_json::json;
use std::fmt::Write as _;

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
            size_exact(t.size)
        ),
        Outcome::Unmapped => "page fault: not mapped".into(),
        Outcome::Bogus { got, truth } => format!(
            "0x{:x} ({}): BOGUS, the page table says {}",
            got.pa,
            size_exact(got.size),
            truth.map_or("not mapped".to_string(), |t| format!("0x{:x}", t.pa))
        ),
        Outcome::SpuriousFault { truth } => format!(
            "page fault, but the page table maps it to 0x{:x}: a stale walk",
            truth.pa
        ),
    };
    format!("cpu{} 0x{:x}: {from}: {what}", a.cpu, a.va)
}

/// One table-page read of a walk: `PMD[1] of page 0x1003 = 0x… (role)`.
pub fn read_text(level: Level, pfn: u64, index: usize, entry: u64, role: &str) -> String {
    format!(
        "{}[{index}] of page 0x{pfn:x} = 0x{entry:x} ({role})",
        level.name()
    )
}

/// The machine line at the top of the text report.
fn machine_line(sc: &PgtableScenario) -> String {
    format!(
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
    )
}

/// Step `n` (1-based) of a run.
fn step_text(s: &mut String, n: usize, st: &Step) {
    let _ = writeln!(s, "{n}. {}", st.op);
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
                &format!("reads {}", read_text(*level, *pfn, *i, *e, role)),
                "     ",
                7,
            ));
        }
    }
}

/// The table pages after the last step of a run, and the pages leaked.
fn tables_text(s: &mut String, last: &Step) {
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

/// The 72-column text report.
pub fn report_text(sc: &PgtableScenario, runs: &[PgtableRun]) -> String {
    let mut s = machine_line(sc);
    s.push('\n');
    for r in runs {
        s.push('\n');
        let _ = writeln!(s, "== {} ==", r.variant.name());
        s.push_str(&wrap(r.variant.summary(), "", 2));
        let _ = writeln!(s, "verdict: {}", r.verdict());
        for (i, st) in r.steps.iter().enumerate() {
            step_text(&mut s, i + 1, st);
        }
        if let Some(last) = r.steps.last() {
            tables_text(&mut s, last);
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
