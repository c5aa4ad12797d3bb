//! Reports of kimage runs: the `entries` listing (every word as
//! relocate_kernel's walk sees it), the 72-column plain text for email
//! (header, verdict, counters, the condensed list with SOURCE runs folded
//! as [`crate::entry::folded_source_run`] says, and a footnote list of
//! the kernel functions it names with their `file:line`), and JSON. [`page_desc`]
//! names a page as every list does. Not kernel code: the words are the
//! kernel's, the wording is the model's.

use crate::arch::{PAGE_MASK, PAGE_SHIFT, PAGE_SIZE};
use crate::design::Variant;
use crate::entry::{decode, folded_source_run, EntryKind};
use crate::memory::Machine;
use crate::page_alloc::Policy;
use crate::relocate::Relocation;
use crate::run::{Outcome, Unload, VariantRun};
use crate::scenario::Scenario;
use crate::trace::Pos;
use kexec_common::source::{refs_in, SourceRef};
use kexec_common::text::{size, wrap, COLUMNS};
use serde_json::{json, Value};
use std::fmt::Write;
/// Most list lines per variant in the text report.
pub const MAX_LIST_LINES: usize = 48;

/// The `entries` format for one run: every word as the walk sees it, head
/// first, ending with IND_DONE; or one `error:`/`fault:` line.
pub fn entries(r: &VariantRun) -> String {
    let arch = r.kimage.machine.arch;
    match &r.outcome {
        Outcome::Loaded => {
            let mut s = String::with_capacity((r.entries.len() + 1) * 20);
            for &e in r.entries.words() {
                arch.write_entry(&mut s, e);
                s.push('\n');
            }
            arch.write_entry(&mut s, r.end_word);
            s.push('\n');
            s
        }
        Outcome::Unloaded => "unloaded: nr_segments is 0\n".into(),
        Outcome::Stopped(stop) => match stop {
            crate::kimage::Stop::Errno { errno, .. } => format!("error: {errno}\n"),
            crate::kimage::Stop::Fault(f) => format!("fault: {f}\n"),
            crate::kimage::Stop::Replay(e) => format!("{e}\n"),
            crate::kimage::Stop::Limit(l) => format!("limit: {l}\n"),
            crate::kimage::Stop::NotLoaded(m) => format!("not loaded: {m}\n"),
        },
    }
}

/// The `entries` format for several runs (`kexec-sim run --format
/// entries`): with more than one, a `== NAME` line before each; each run's
/// relocation and unload lines after its list.
pub fn entries_all(runs: &[VariantRun]) -> String {
    let mut s = String::new();
    for r in runs {
        if runs.len() > 1 {
            let _ = writeln!(s, "== {}", r.label);
        }
        s += &entries(r);
        if let Some(rel) = &r.relocation {
            let _ = writeln!(s, "{}", relocate_line(rel));
        }
        if let Some(u) = &r.unload {
            let _ = writeln!(s, "{}", unload_line(u));
        }
    }
    s
}

/// The `relocate:` line.
pub fn relocate_line(r: &Relocation) -> String {
    match r {
        Relocation::Ok { .. } => "relocate: ok".into(),
        Relocation::Fail(why) => format!("relocate: FAIL {why}"),
    }
}

/// The `unload:` line.
pub fn unload_line(u: &Unload) -> String {
    match u {
        Unload::Ok { .. } => "unload: ok".into(),
        Unload::Leak { pages, detail } => format!("unload: LEAK {pages} pages ({detail})"),
        Unload::Fault(f) => format!("unload: FAULT {f}"),
    }
}

/// A page as the lists name it: `pfn 0x… ZONE lowmem|highmem` (its zone,
/// or "not RAM", and whether it has a direct mapping).
pub fn page_desc(m: &Machine, pfn: u64) -> String {
    format!("pfn 0x{pfn:x} {} {}", m.zone_name(pfn), m.map_name(pfn))
}

/// The condensed list of one run: indirection pages with their entries,
/// runs of consecutive SOURCE pages folded into one line. A list longer
/// than `max_lines` keeps its first lines and its last four around a
/// "more lines" line; only the lines shown are formatted (a 1 GiB image
/// has hundreds of thousands).
pub fn condensed_list(r: &VariantRun, max_lines: usize) -> Vec<String> {
    // Where each line's entries start (a folded run is one line).
    let mut starts = Vec::new();
    let mut i = 0;
    while i < r.entries.len() {
        starts.push(i);
        i += folded_source_run(r.entries.words()[i..].iter().copied()).unwrap_or(1);
    }
    let line = |k: usize| {
        let end = starts.get(k + 1).copied().unwrap_or(r.entries.len());
        condensed_line(r, starts[k], end - starts[k])
    };
    let done = format!(
        "    {}",
        if r.end_word & crate::entry::IND_DONE != 0 {
            "DONE"
        } else {
            "0 (no DONE)"
        }
    );
    // With the DONE line.
    let total = starts.len() + 1;
    let mut lines = Vec::with_capacity(total.min(max_lines));
    if total > max_lines {
        let more = total - max_lines + 1;
        lines.extend((0..max_lines - 5).map(line));
        lines.push(format!(
            "    ... {more} more lines (--format entries lists all)"
        ));
        lines.extend((starts.len() - 3..starts.len()).map(line));
    } else {
        lines.extend((0..starts.len()).map(line));
    }
    lines.push(done);
    lines
}

/// One line of [`condensed_list`]: the `n` entries from `r.entries[i]`
/// (`n` > 1: a folded SOURCE run).
fn condensed_line(r: &VariantRun, i: usize, n: usize) -> String {
    let m = &r.kimage.machine;
    let arch = m.arch;
    let w = arch.entry_hex_digits();
    let (pos, e) = r.entries.get(i).expect("a line's first entry");
    if n > 1 {
        let a = e & PAGE_MASK;
        let last = a + (n as u64 - 1) * PAGE_SIZE;
        return format!("    SRC  0x{a:0w$x}..0x{last:0w$x} x{n}");
    }
    match decode(e) {
        EntryKind::Source(a) => {
            format!("    SRC  0x{a:0w$x}  {}", page_desc(m, a >> PAGE_SHIFT))
        }
        EntryKind::Indirection(a) => {
            let at = if pos == Pos::Head { "head" } else { "link" };
            format!("  {at} IND 0x{a:0w$x} -> {}", page_desc(m, a >> PAGE_SHIFT))
        }
        EntryKind::Destination(a) => format!("    DEST 0x{a:0w$x}"),
        EntryKind::Zero => "    ZERO".into(),
        _ => format!("    {}", arch.fmt_entry(e)),
    }
}

fn policy_text(p: &Policy) -> String {
    match p {
        Policy::Replay(v) => {
            let head: Vec<String> = v.iter().take(4).map(|p| format!("0x{p:x}")).collect();
            format!(
                "replay of {} pfns ({}{})",
                v.len(),
                head.join(" "),
                if v.len() > 4 { " ..." } else { "" }
            )
        }
        other => other.to_string(),
    }
}

/// The header of the text report: machine, allocator, segments.
pub fn header(sc: &Scenario) -> String {
    let p = sc.arch.profile();
    let mut s = String::new();
    let _ = writeln!(s, "kexec-sim: {} ({})", p.name, p.config);
    let ram: Vec<String> = sc
        .ram
        .iter()
        .map(|(a, b)| format!("0x{a:x}-0x{b:x}"))
        .collect();
    s.push_str(&wrap(
        &format!("{} ({})", size(sc.ram_bytes()), ram.join(" ")),
        "RAM",
        4,
    ));
    if let Some(l) = sc.lowmem_end.or(p.lowmem_end) {
        let _ = writeln!(s, "lowmem (direct map) below 0x{l:x}");
    }
    if !sc.movable.is_empty() {
        let mv: Vec<String> = sc
            .movable
            .iter()
            .map(|(a, b)| format!("0x{a:x}-0x{b:x}"))
            .collect();
        s.push_str(&wrap(&mv.join(" "), "ZONE_MOVABLE", 4));
    }
    s.push_str(&wrap(&policy_text(&sc.policy), "allocator:", 4));
    if sc.source_movable {
        s.push_str(&wrap(
            "source pages asked with GFP_HIGHUSER_MOVABLE (not in any kernel)",
            "what-if:",
            4,
        ));
    }
    let _ = writeln!(s, "seg  mem                 memsz       bufsz");
    for (i, g) in sc.segments.iter().enumerate() {
        let _ = writeln!(
            s,
            "{i:>3}  0x{:<16x}  0x{:<8x}  0x{:x}",
            g.mem, g.memsz, g.bufsz
        );
    }
    s
}

/// The email-ready report of a set of runs, every line at most 72 columns
/// (what the golden link corpus holds as a link's result).
pub fn text(sc: &Scenario, runs: &[VariantRun]) -> String {
    let sections = sections(runs);
    joined(sc, sections.iter().map(|(v, s)| (*v, s.as_str()))).0
}

/// [`text`] followed by the footnote list of the kernel functions it
/// names (`[n] function file:line`, 72 columns; Linux's lines, none for a
/// Xen design's section): `kexec-sim run --format text` and the page's
/// "copy as plain text".
pub fn text_with_sources(sc: &Scenario, runs: &[VariantRun]) -> String {
    let sections = sections(runs);
    assemble(sc, sections.iter().map(|(v, s)| (*v, s.as_str())))
}

fn sections(runs: &[VariantRun]) -> Vec<(Variant, String)> {
    runs.iter().map(|r| (r.variant, section(r))).collect()
}

/// The report of runs whose sections ([`section`]) were written apart (a
/// big run's designs split between two workers): the same text as
/// [`text_with_sources`] of the runs, given their variants and sections in
/// the runs' order.
pub fn assemble<'a>(sc: &Scenario, sections: impl Iterator<Item = (Variant, &'a str)>) -> String {
    let (mut s, refs) = joined(sc, sections);
    if !refs.is_empty() {
        s.push('\n');
        s.push_str(&kexec_common::source::footnotes(&refs));
    }
    s
}

fn joined<'a>(
    sc: &Scenario,
    sections: impl Iterator<Item = (Variant, &'a str)>,
) -> (String, Vec<&'static SourceRef>) {
    let mut s = header(sc);
    let mut refs: Vec<&'static SourceRef> = Vec::new();
    for (v, section) in sections {
        s.push_str(section);
        for f in refs_in(section, crate::source::tables_for(v)) {
            if !refs.contains(&f) {
                refs.push(f);
            }
        }
    }
    (s, refs)
}

/// One run's section of the report: its title line, verdict, counters,
/// kernel log and condensed list.
pub fn section(r: &VariantRun) -> String {
    let mut s = String::new();
    let c = &r.counters;
    s.push('\n');
    let label: String = r.label.chars().take(COLUMNS - 8).collect();
    let title = format!("== {label} ");
    let _ = writeln!(
        s,
        "{title}{}",
        "=".repeat(COLUMNS.saturating_sub(title.len()))
    );
    s.push_str(&wrap(&r.verdict(), "verdict:", 4));
    for i in &r.kimage.ignored {
        s.push_str(&wrap(i, "ignored:", 4));
    }
    if let Some(rel) = &r.relocation {
        s.push_str(&wrap(&relocate_line(rel), "", 4));
    }
    if let Some(u) = &r.unload {
        s.push_str(&wrap(&unload_line(u), "", 4));
    }
    let counters: Vec<String> = c
        .rows()
        .iter()
        .map(|r| format!("{} {}", r.name, r.value))
        .collect();
    let counters = counters.join(", ");
    s.push_str(&wrap(&counters, "counters:", 4));
    for l in &r.log {
        s.push_str(&wrap(l, "kernel log:", 4));
    }
    if r.outcome == Outcome::Loaded {
        if r.kimage.design().head_is_page() {
            let _ = writeln!(
                s,
                "list (from head's page 0x{:x}, walk order):",
                r.kimage.head()
            );
        } else {
            let _ = writeln!(s, "list (head first, walk order):");
        }
        for l in condensed_list(r, MAX_LIST_LINES) {
            let indent = l.len() - l.trim_start().len();
            s.push_str(&wrap(l.trim_start(), &l[..indent], indent + 4));
        }
    }
    s
}

fn hex(v: u64) -> Value {
    Value::String(format!("0x{v:x}"))
}

/// JSON of one run.
pub fn run_json(r: &VariantRun) -> Value {
    let outcome = match &r.outcome {
        Outcome::Loaded => json!({ "kind": "loaded" }),
        Outcome::Unloaded => json!({ "kind": "unloaded" }),
        Outcome::Stopped(crate::kimage::Stop::Errno { errno, reason }) => {
            json!({ "kind": "error", "errno": errno.name(), "reason": reason })
        }
        Outcome::Stopped(crate::kimage::Stop::Fault(f)) => json!({
            "kind": "fault", "function": f.function, "pfn": f.pfn.map(hex), "reason": f.reason
        }),
        Outcome::Stopped(crate::kimage::Stop::Replay(e)) => json!({
            "kind": "replay-error", "call": e.call, "pfn": hex(e.pfn), "reason": e.reason
        }),
        Outcome::Stopped(crate::kimage::Stop::Limit(l)) => json!({ "kind": "limit", "reason": l }),
        Outcome::Stopped(crate::kimage::Stop::NotLoaded(m)) => {
            json!({ "kind": "not-loaded", "reason": m })
        }
    };
    // Xen's head names its first indirection page.
    let head_page = (r.kimage.design().head_is_page() && r.kimage.head() != 0)
        .then(|| hex(r.kimage.head() >> PAGE_SHIFT));
    let ind: Vec<Value> = head_page
        .into_iter()
        .chain(
            r.entries
                .words()
                .iter()
                .filter(|&&e| e & crate::entry::IND_INDIRECTION != 0)
                .map(|&e| hex((e & PAGE_MASK) >> PAGE_SHIFT)),
        )
        .collect();
    json!({
        "variant": r.label,
        "verdict": r.verdict(),
        "exit_status": r.exit_status(),
        "outcome": outcome,
        "head": hex(r.kimage.head()),
        "entries": r.entries.len() + usize::from(r.outcome == Outcome::Loaded),
        "indirection_pages": ind,
        "relocation": r.relocation.as_ref().map(relocate_line),
        "unload": r.unload.as_ref().map(unload_line),
        "counters": serde_json::to_value(&r.counters).unwrap_or(Value::Null),
    })
}

/// JSON of a set of runs with the scenario.
pub fn json(sc: &Scenario, runs: &[VariantRun]) -> Value {
    json!({
        "scenario": serde_json::to_value(sc.to_file()).unwrap_or(Value::Null),
        "runs": runs.iter().map(run_json).collect::<Vec<_>>(),
    })
}
