//! The lab's reports: 72-column plain text for email, and JSON.
//!
//! The text report names the kernel calls of every request and of the
//! teardown (first and last three calls, and the one that faulted), the
//! sections in runs of alike ones, and the kernel log, as
//! `kexec-sim hotplug` prints it; the JSON report has everything a run
//! holds. Nothing here mirrors kernel code.

use crate::run::{Backing, HotplugLab, HotplugRun, SectionView};
use crate::scenario::HotplugScenario;
use crate::section::{pfn_to_page, MEMMAP_PAGES_PER_SECTION, PAGES_PER_SECTION};
use kexec_common::text::{size_exact as size_text, wrap};
use serde_json::json;
use std::fmt::Write as _;

fn hex_range(start: u64, size: u64) -> String {
    format!("0x{start:x} +{}", size_text(size))
}

/// Runs of sections laid out alike: `(first, last, the first's view)`.
fn section_runs(secs: &[SectionView]) -> Vec<(u64, u64, &SectionView)> {
    let mut runs: Vec<(u64, u64, &SectionView)> = Vec::new();
    for s in secs {
        if let Some(last) = runs.last_mut() {
            let f = last.2;
            let k = s.nr - f.nr;
            let step = if f.backing == Backing::Altmap {
                MEMMAP_PAGES_PER_SECTION
            } else {
                0
            };
            let same = s.nr == last.1 + 1
                && s.range == f.range
                && s.donated == f.donated
                && s.buddy == f.buddy
                && s.present == f.present
                && s.zone == f.zone
                && s.backing == f.backing
                && s.removed == f.removed
                && (step == 0 || s.backing_pfn == f.backing_pfn + k * step);
            if same {
                last.1 = s.nr;
                continue;
            }
        }
        runs.push((s.nr, s.nr, s));
    }
    runs
}

/// The scenario: machine, requests, teardown order.
fn scenario_text(s: &mut String, sc: &HotplugScenario, lab: &HotplugLab) {
    let _ = writeln!(
        s,
        "kexec-sim hotplug: x86_64{}, boot memory 0x0-0x{:x}",
        if sc.hypervisor { " (hypervisor)" } else { "" },
        sc.boot_mem_end - 1
    );
    let _ = writeln!(
        s,
        "memory block {} ({}); sections of 128 MiB",
        size_text(lab.block_size),
        if sc.memory_block_size.is_some() {
            "set_memory_block_size_order"
        } else {
            "probe_memory_block_size"
        }
    );
    for (i, a) in sc.adds.iter().enumerate() {
        let ranges = a.ranges().len();
        let _ = writeln!(
            s,
            "add[{i}]: {} node {} online {}{}",
            hex_range(a.start, a.size),
            a.node,
            a.online.name(),
            if ranges > 1 {
                format!(", {ranges} ranges")
            } else {
                String::new()
            }
        );
    }
    for (i, &(st, n)) in sc.removes.iter().enumerate() {
        let _ = writeln!(
            s,
            "remove[{i}]: offline_and_remove_memory({})",
            hex_range(st, n)
        );
    }
    if !sc.removes.is_empty() {
        let _ = writeln!(s, "teardown order: {}", sc.teardown.name());
    }
}

/// Each request's result.
fn ops_text(s: &mut String, r: &HotplugRun) {
    for o in &r.ops {
        let head = format!(
            "{}[{}] {}: {}",
            o.op,
            o.request,
            hex_range(o.start, o.size),
            o.errno
                .map_or("ok".to_string(), |e| format!("-{}", e.name()))
        );
        let _ = writeln!(s, "{head}");
        if !o.detail.is_empty() {
            s.push_str(&wrap(&o.detail, "   ", 3));
        }
    }
}

/// The sections in runs, and the RFC's heads.
fn sections_text(s: &mut String, r: &HotplugRun) {
    if !r.sections.is_empty() {
        let _ = writeln!(s, "sections (memmap backing, memmap pages inside, buddy):");
        for (a, b, v) in section_runs(&r.sections) {
            let name = if a == b {
                format!("0x{a:x}")
            } else {
                format!("0x{a:x}-0x{b:x}")
            };
            let backing = match v.backing {
                Backing::Altmap if a == b => format!("pfn 0x{:x} (range)", v.backing_pfn),
                Backing::Altmap => format!("pfn 0x{:x}+0x200/sec", v.backing_pfn),
                Backing::Ordinary => "ordinary".into(),
            };
            let _ = writeln!(
                s,
                "  {name:<13} {backing:<22} {:>5} {:>6}{}",
                v.donated,
                v.buddy,
                if v.removed { " removed" } else { "" }
            );
        }
        let first = r.sections[0].start_pfn();
        let last = r.sections[r.sections.len() - 1].start_pfn() + PAGES_PER_SECTION - 1;
        let _ = writeln!(
            s,
            "  struct pages 0x{:x}-0x{:x}",
            pfn_to_page(first),
            pfn_to_page(last)
        );
    }
    for h in &r.heads {
        let _ = writeln!(
            s,
            "RFC head 0x{:x}: refcount {}, nr_sects {}",
            h.head_va, h.refcount, h.nr_sects
        );
        let _ = writeln!(
            s,
            "  donated pfns 0x{:x}-0x{:x},\n  their struct pages 0x{:x}-0x{:x}",
            h.donated.0,
            h.donated.1,
            pfn_to_page(h.donated.0),
            pfn_to_page(h.donated.1)
        );
    }
}

/// The counters after the adds.
fn counters_text(s: &mut String, r: &HotplugRun) {
    let c = &r.counters;
    let _ = writeln!(
        s,
        "added {} pages; memmap {} ({} in range, {} ordinary)",
        c.added, c.memmap, c.memmap_in_range, c.memmap_ordinary
    );
    let _ = writeln!(
        s,
        "marked {}; buddy {}; present {}; PMD tables {}",
        c.marked, c.buddy, c.present, c.pgtable_pages
    );
    let _ = writeln!(s, "net gain {} pages", c.net_gain());
}

/// The teardown's first and last three calls and the one that faulted,
/// the fault, and the kernel log.
fn teardown_text(s: &mut String, r: &HotplugRun) {
    if !r.teardown.is_empty() {
        let _ = writeln!(s, "teardown ({} calls):", r.teardown.len());
        let n = r.teardown.len();
        for (i, t) in r.teardown.iter().enumerate() {
            let keep = i < 3 || i + 3 >= n || t.fault().is_some();
            if !keep {
                if i == 3 {
                    let _ = writeln!(s, "  …");
                }
                continue;
            }
            let mut line = format!("{}. {}", i + 1, t.call);
            if let Some(f) = t.fault() {
                let _ = write!(line, ": reads 0x{:x}: PAGE FAULT", f.va);
            } else if !t.note.is_empty() {
                let _ = write!(line, ": {}", t.note);
            }
            s.push_str(&wrap(&line, "  ", 4));
        }
    }
    if let Some(f) = &r.fault {
        s.push_str(&wrap(&f.why, "fault:", 2));
    }
    if !r.log.is_empty() {
        let _ = writeln!(s, "log:");
        for l in &r.log {
            s.push_str(&wrap(l, "  ", 4));
        }
    }
}

/// The 72-column text report.
pub fn report_text(sc: &HotplugScenario, lab: &HotplugLab) -> String {
    let mut s = String::new();
    scenario_text(&mut s, sc, lab);
    for r in &lab.runs {
        s.push('\n');
        let _ = writeln!(s, "== {} ==", r.variant.name());
        s.push_str(&wrap(r.variant.summary(), "", 2));
        let _ = writeln!(s, "verdict: {}", r.verdict());
        ops_text(&mut s, r);
        sections_text(&mut s, r);
        counters_text(&mut s, r);
        teardown_text(&mut s, r);
    }
    s
}

/// One run as JSON.
fn run_json(r: &HotplugRun) -> serde_json::Value {
    json!({
        "variant": r.variant.name(),
        "verdict": r.verdict(),
        "ops": r.ops.iter().map(|o| json!({
            "op": o.op, "request": o.request,
            "start": format!("0x{:x}", o.start), "size": format!("0x{:x}", o.size),
            "errno": o.errno.map(|e| e.name()), "oops": o.oops, "refused": o.refused, "detail": o.detail,
        })).collect::<Vec<_>>(),
        "sections": r.sections.iter().map(|v| json!({
            "nr": v.nr, "range": v.range, "node": v.node,
            "zone": v.zone.map(|z| z.name()),
            "memmap": format!("0x{:x}", v.memmap_va()),
            "backing_pfn": format!("0x{:x}", v.backing_pfn),
            "backing": match v.backing { Backing::Altmap => "altmap", Backing::Ordinary => "ordinary" },
            "donated": v.donated, "buddy": v.buddy, "present": v.present,
            "removed": v.removed,
        })).collect::<Vec<_>>(),
        "heads": r.heads.iter().map(|h| json!({
            "head": format!("0x{:x}", h.head_va), "refcount": h.refcount,
            "nr_sects": h.nr_sects, "sections": h.sections,
            "donated": [format!("0x{:x}", h.donated.0), format!("0x{:x}", h.donated.1)],
        })).collect::<Vec<_>>(),
        "counters": {
            "added": r.counters.added, "memmap": r.counters.memmap,
            "memmap_in_range": r.counters.memmap_in_range,
            "memmap_ordinary": r.counters.memmap_ordinary,
            "pgtable_pages": r.counters.pgtable_pages,
            "marked": r.counters.marked, "buddy": r.counters.buddy,
            "present": r.counters.present, "net_gain": r.counters.net_gain(),
        },
        "teardown": r.teardown.iter().map(|t| json!({
            "remove": t.remove, "call": t.call, "note": t.note,
            "clears": t.clears,
            "reads": t.reads.iter().map(|x| json!({
                "va": format!("0x{:x}", x.va), "pfn": format!("0x{:x}", x.pfn()),
                "why": x.why, "mapped": x.mapped,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "fault": r.fault.as_ref().map(|f| json!({
            "step": f.step, "va": format!("0x{:x}", f.va), "section": f.section,
            "during": f.during, "why": f.why,
        })),
        "log": r.log,
    })
}

/// The JSON report.
pub fn report_json(sc: &HotplugScenario, lab: &HotplugLab) -> serde_json::Value {
    let runs: Vec<serde_json::Value> = lab.runs.iter().map(run_json).collect();
    json!({
        "kind": "hotplug",
        "block_size": format!("0x{:x}", lab.block_size),
        "scenario": serde_json::from_str::<serde_json::Value>(&sc.to_json()).unwrap_or_default(),
        "runs": runs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::presets::presets;
    use crate::run::run;

    #[test]
    fn reports() {
        for p in presets() {
            let lab = run(&p.scenario);
            let t = report_text(&p.scenario, &lab);
            for l in t.lines() {
                assert!(l.chars().count() <= 72, "{}: {l}", p.name);
            }
            let j = report_json(&p.scenario, &lab);
            assert_eq!(j["runs"].as_array().unwrap().len(), 2);
        }
    }
}
