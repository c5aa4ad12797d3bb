//! The lab's reports: 72-column text for email, and JSON.
//!
//! The text names things as the kernel prints or calls them: the System RAM
//! resources in `walk_system_ram_res` order (kernel/resource.c), the SRAT
//! nodes, the zones of mm/page_alloc.c, the `reserve_crashkernel` log lines
//! of arch/x86/kernel/setup.c, the memory block size of
//! drivers/base/memory.c, then per variant the buffers kernel/kexec_file.c
//! placed (with their inclusive last byte, wrapping as `unsigned long`
//! does when 6.1's top-down underflowed), the error kexec_file_load
//! returns (a placement's, or kernel/kexec_core.c
//! `sanity_check_segment_list`'s with its rule and segment, the
//! placements still listed, and `totalram_pages()` as the lab counts it
//! when the half-of-RAM rule is the one) and the blocks whose hot-remove
//! is refused or leaves the loaded image stale. The JSON carries every
//! block, `totalram_pages()` and each refusal's rule and segment.

use crate::check::LoadError;
use crate::run::{PlacementRun, VariantPlacement};
use crate::scenario::{Mode, PlacementScenario};
use kexec_common::text::{size_exact as size_text, wrap, COLUMNS};
use kexec_core::memory_block::{BlockVerdict, Removal};
use kexec_core::sanity::Rule;
use std::fmt::Write as _;

/// A removal verdict as the reports spell it.
fn removal_text(r: Removal) -> String {
    match r {
        Removal::Refused(e) => format!("refused ({e})"),
        other => other.name().to_string(),
    }
}

/// The machine: resources, SRAT, zones, movable_node, the crashkernel
/// log, the block size.
fn machine_text(s: &mut String, sc: &PlacementScenario, r: &PlacementRun) {
    s.push_str("System RAM (walk_system_ram_res order):\n");
    for res in &r.resources {
        let _ = writeln!(
            s,
            "  0x{:09x}-0x{:09x} {}{}",
            res.start,
            res.end,
            size_text(res.end - res.start + 1),
            if res.driver_managed {
                " driver-managed"
            } else {
                ""
            }
        );
    }
    let nodes: Vec<String> = sc
        .ram
        .iter()
        .map(|x| {
            format!(
                "0x{:x}-0x{:x} node {}{}",
                x.start,
                x.end - 1,
                x.node,
                if x.hotpluggable { " hotpluggable" } else { "" }
            )
        })
        .collect();
    s.push_str(&wrap(&nodes.join(", "), "SRAT:", 4));
    let zones: Vec<String> = r
        .zones
        .iter()
        .map(|z| format!("{} 0x{:x}-0x{:x}", z.2.name(), z.0, z.1 - 1))
        .collect();
    s.push_str(&wrap(&zones.join(", "), "zones:", 4));
    let _ = writeln!(
        s,
        "movable_node: {}",
        if sc.movable_node { "on" } else { "off" }
    );
    if let (Some(arg), Some(c)) = (&sc.crashkernel, &r.crash) {
        let mut line = format!("crashkernel={arg}");
        if let Some(l) = &sc.crashkernel_low {
            let _ = write!(line, " crashkernel={l},low");
        }
        let _ = writeln!(s, "{line}:");
        for l in &c.log {
            s.push_str(&wrap(l, "   ", 4));
        }
    }
    let _ = writeln!(
        s,
        "memory block size {} (probe_memory_block_size)",
        size_text(r.block_size)
    );
}

/// One block the text report lists.
fn block_text(s: &mut String, b: &BlockVerdict) {
    let _ = writeln!(
        s,
        "  memory{} 0x{:x}-0x{:x} {}: {}",
        b.index,
        b.start,
        b.end - 1,
        b.zone.map_or("(zones)", |z| z.name()),
        removal_text(b.removal)
    );
    for why in &b.reasons {
        s.push_str(&wrap(why, "     ", 6));
    }
}

/// A load's error; for a sanity refusal, that nothing is loaded, and how
/// totalram_pages() was counted when that is the rule.
fn error_text(s: &mut String, e: &LoadError, r: &PlacementRun) {
    s.push_str(&wrap(&format!("{e}"), "  error:", 4));
    let Some(refusal) = e.refusal() else {
        return;
    };
    s.push_str(&wrap(
        "kexec_file_load frees the image; the buffers above are where kexec_add_buffer placed them",
        "  nothing loaded:",
        4,
    ));
    if matches!(
        refusal.rule,
        Rule::SegmentOverHalf { .. } | Rule::TotalOverHalf { .. }
    ) {
        s.push_str(&wrap(&r.totalram.text(), "  model:", 4));
    }
}

/// One variant: its buffers, its error, the block counts and the blocks
/// that need attention.
fn variant_text(s: &mut String, v: &VariantPlacement, r: &PlacementRun) {
    let title = format!("== {} ", v.variant.name());
    let _ = writeln!(
        s,
        "\n{title}{}",
        "=".repeat(COLUMNS.saturating_sub(title.len()))
    );
    for p in &v.placed {
        let _ = writeln!(
            s,
            "  {:<12} 0x{:09x}-0x{:09x} {}",
            p.name,
            p.mem,
            p.mem.wrapping_add(p.memsz).wrapping_sub(1),
            size_text(p.memsz)
        );
    }
    if let Some(e) = &v.error {
        error_text(s, e, r);
    }
    let c = v.counts();
    s.push_str(&wrap(
        &format!(
            "{} blocks: {} removable, {} removable but the image must be reloaded, {} not guaranteed, {} refused",
            v.blocks.len(),
            c[0],
            c[1],
            c[2],
            c[3]
        ),
        "  hot-remove:",
        4,
    ));
    for b in v
        .blocks
        .iter()
        .filter(|b| matches!(b.removal, Removal::ReloadNeeded | Removal::Refused(_)))
    {
        block_text(s, b);
    }
}

/// The 72-column text report.
pub fn report_text(sc: &PlacementScenario, r: &PlacementRun) -> String {
    let mut s = String::new();
    let mode = match sc.mode {
        Mode::Normal => "normal kexec_file load",
        Mode::Kdump => "kdump kexec_file load (KEXEC_FILE_ON_CRASH)",
    };
    let _ = writeln!(s, "kexec-sim place: x86_64, {mode}");
    machine_text(&mut s, sc, r);
    for v in &r.results {
        variant_text(&mut s, v, r);
    }
    s
}

/// JSON of a run (every block included).
pub fn report_json(sc: &PlacementScenario, r: &PlacementRun) -> serde_json::Value {
    use serde_json::json;
    let hex = |v: u64| format!("0x{v:x}");
    json!({
        "scenario": sc.to_file(),
        "resources": r.resources.iter().map(|x| json!({"start": hex(x.start), "end": hex(x.end), "driver_managed": x.driver_managed})).collect::<Vec<_>>(),
        "zones": r.zones.iter().map(|z| json!({"zone": z.2.name(), "start": hex(z.0), "end": hex(z.1)})).collect::<Vec<_>>(),
        "crashkernel": r.crash.as_ref().map(|c| json!({
            "crashk_res": c.crash.map(|(s, e)| json!({"start": hex(s), "end": hex(e)})),
            "crashk_low_res": c.low.map(|(s, e)| json!({"start": hex(s), "end": hex(e)})),
            "log": c.log,
        })),
        "memory_block_size": hex(r.block_size),
        "totalram_pages": {
            "pages": r.totalram.pages(),
            "ram": r.totalram.ram,
            "reserved": r.totalram.reserved,
            "memmap": r.totalram.memmap,
            "hotplugged": r.totalram.hotplugged,
        },
        "variants": r.results.iter().map(|v| json!({
            "variant": v.variant.name(),
            "placed": v.placed.iter().map(|p| json!({"name": p.name, "mem": hex(p.mem), "memsz": hex(p.memsz)})).collect::<Vec<_>>(),
            "error": v.error.as_ref().map(|e| e.to_string()),
            "errno": v.error.as_ref().and_then(|e| e.errno()).map(|e| e.name()),
            "refusal": v.error.as_ref().and_then(|e| e.refusal()).map(|x| json!({
                "rule": x.rule.number(),
                "rule_name": x.rule.name(),
                "segment": x.segment,
                "buffer": x.segment.and_then(|i| v.placed.get(i)).map(|p| p.name.clone()),
            })),
            "blocks": v.blocks.iter().map(|b| json!({
                "index": b.index,
                "start": hex(b.start),
                "end": hex(b.end),
                "zone": b.zone.map(|z| z.name()),
                "removal": removal_text(b.removal),
                "reasons": b.reasons,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}
