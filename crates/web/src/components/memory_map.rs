//! The physical address space of each pane as a strip: pages coloured and
//! patterned by role, destinations above, zones and the lowmem line below.
//! Plain SVG with inline fills, so "export as SVG" is the element itself.

use kexec_core::summary::{MemMap, RunSummary, MAP_DEST, MAP_ROLES};
use std::rc::Rc;
use yew::prelude::*;

const W: f64 = 1000.0;
const STRIP_H: f64 = 28.0;
const LABEL_W: f64 = 110.0;

/// (label, colour, pattern id suffix) per role, in MAP_ROLES order.
const STYLES: [(&str, &str, &str); 7] = [
    ("source", "#3182bd", "diag"),
    ("indirection", "#d7301f", "solid"),
    ("dest_pages", "#f39c12", "dots"),
    ("unusable", "#756bb1", "cross"),
    ("freed", "#969696", "solid"),
    ("control", "#1a9850", "vert"),
    ("swap", "#66bd63", "vert"),
];
const ZONE_COLOURS: [(&str, &str); 5] = [
    ("DMA", "#fee0d2"),
    ("DMA32", "#deebf7"),
    ("Normal", "#e5f5e0"),
    ("HighMem", "#fff7bc"),
    ("Movable", "#efedf5"),
];
const _: () = assert!(STYLES.len() == MAP_ROLES.len());

/// An SVG coordinate with one decimal, formatted with integer arithmetic
/// (float formatting would add kilobytes of wasm for nothing).
fn px(x: f64) -> String {
    let t = (x * 10.0).round() as i64;
    let sign = if t < 0 { "-" } else { "" };
    format!("{sign}{}.{}", t.abs() / 10, t.abs() % 10)
}

/// Order in which roles win a bucket's colour.
const PRIORITY: [usize; 7] = [1, 0, 2, 3, 5, 6, 4];

fn patterns(prefix: &str) -> Html {
    html! {
        <defs>
            { for STYLES.iter().enumerate().map(|(i, (_, colour, kind))| {
                let id = format!("{prefix}-{i}");
                match *kind {
                    "diag" => html! { <pattern id={id} width="4" height="4" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">
                        <rect width="4" height="4" fill={*colour} opacity="0.55"/><rect width="2" height="4" fill={*colour}/></pattern> },
                    "dots" => html! { <pattern id={id} width="4" height="4" patternUnits="userSpaceOnUse">
                        <rect width="4" height="4" fill={*colour} opacity="0.5"/><circle cx="2" cy="2" r="1.2" fill={*colour}/></pattern> },
                    "cross" => html! { <pattern id={id} width="4" height="4" patternUnits="userSpaceOnUse">
                        <rect width="4" height="4" fill={*colour} opacity="0.45"/><path d="M0 0L4 4M4 0L0 4" stroke={*colour} stroke-width="1"/></pattern> },
                    "vert" => html! { <pattern id={id} width="3" height="3" patternUnits="userSpaceOnUse">
                        <rect width="3" height="3" fill={*colour} opacity="0.5"/><rect width="1.5" height="3" fill={*colour}/></pattern> },
                    _ => html! { <pattern id={id} width="4" height="4" patternUnits="userSpaceOnUse"><rect width="4" height="4" fill={*colour}/></pattern> },
                }
            }) }
        </defs>
    }
}

fn bucket_title(map: &MemMap, b: usize, counts: &[u32; 8]) -> String {
    let start = b as u64 * map.bucket_pages;
    let end = (start + map.bucket_pages).min(map.end_pfn);
    let range = if end - start == 1 {
        format!("pfn 0x{start:x}")
    } else {
        format!("pfn 0x{start:x}-0x{:x}", end - 1)
    };
    let mut parts: Vec<String> = STYLES
        .iter()
        .zip(counts.iter())
        .filter(|(_, n)| **n > 0)
        .map(|((label, _, _), n)| format!("{n} {label}"))
        .collect();
    if counts[MAP_DEST] > 0 {
        parts.push(format!("{} destination", counts[MAP_DEST]));
    }
    if parts.is_empty() {
        parts.push("no kexec page".into());
    }
    format!(
        "{range} (0x{:x}-0x{:x}): {}",
        start << 12,
        (end << 12) - 1,
        parts.join(", ")
    )
}

fn strip(prefix: &str, s: &RunSummary, y: f64) -> Html {
    let map = &s.map;
    let n = map.buckets.len().max(1) as f64;
    let bw = (W - LABEL_W) / n;
    let x_of = |pfn: u64| LABEL_W + (pfn as f64 / map.end_pfn.max(1) as f64) * (W - LABEL_W);
    html! {
        <g class="strip" data-variant={s.variant.clone()}>
            <text x="4" y={px(y + 18.0)} font-size="12" fill="currentColor">{ &s.variant }</text>
            { for map.ram.iter().map(|&(a, b)| html! {
                <rect x={px(x_of(a))} y={px(y)} width={px((x_of(b) - x_of(a)).max(0.5))}
                      height={px(STRIP_H)} fill="#f0f0f0" stroke="#bbb" stroke-width="0.3"><title>{ format!("RAM 0x{:x}-0x{:x}", a << 12, b << 12) }</title></rect>
            }) }
            { for map.buckets.iter().enumerate().map(|(b, bucket)| {
                let x = LABEL_W + b as f64 * bw;
                let dest = bucket.counts[MAP_DEST] > 0;
                // The majority role fills the mark (ties: PRIORITY order);
                // indirection pages, however few, also get a tick.
                let role = PRIORITY
                    .iter()
                    .copied()
                    .filter(|&i| bucket.counts[i] > 0)
                    .max_by_key(|&i| (bucket.counts[i], std::cmp::Reverse(PRIORITY.iter().position(|&p| p == i))));
                let tick = bucket.counts[1] > 0 && role != Some(1);
                let title = bucket_title(map, b, &bucket.counts);
                html! {
                    <g data-bucket={b.to_string()}>
                        if dest {
                            <rect x={px(x)} y={px(y - 6.0)} width={px(bw.max(0.5))} height="4" fill="#444"><title>{ title.clone() }</title></rect>
                        }
                        if let Some(i) = role {
                            <rect x={px(x)} y={px(y)} width={px(bw.max(0.8))} height={px(STRIP_H)}
                                  fill={format!("url(#{prefix}-{i})")} data-role={STYLES[i].0}><title>{ title.clone() }</title></rect>
                        }
                        if tick {
                            <rect x={px(x)} y={px(y + STRIP_H - 5.0)} width={px(bw.max(0.8))} height="5"
                                  fill="#d7301f" data-role="indirection"><title>{ title }</title></rect>
                        }
                    </g>
                }
            }) }
        </g>
    }
}

/// Props of [`MemoryMap`].
#[derive(Properties, PartialEq, Clone)]
pub struct MemoryMapProps {
    /// The runs (one strip each).
    pub runs: Vec<Rc<RunSummary>>,
    /// The SVG element, for export.
    pub node: NodeRef,
}

/// The map of both panes.
#[component]
pub fn MemoryMap(props: &MemoryMapProps) -> Html {
    let Some(first) = props.runs.first() else {
        return html! {};
    };
    let map = &first.map;
    let h = 30.0 + props.runs.len() as f64 * (STRIP_H + 16.0) + 40.0;
    let x_of = |pfn: u64| LABEL_W + (pfn as f64 / map.end_pfn.max(1) as f64) * (W - LABEL_W);
    let zone_y = 20.0 + props.runs.len() as f64 * (STRIP_H + 16.0);
    html! {
        <svg ref={props.node.clone()} class="memory-map" viewBox={format!("0 0 {} {}", px(W), px(h))} role="img"
             xmlns="http://www.w3.org/2000/svg" font-family="monospace"
             aria-label="physical memory map: pages by role for each pane, zones and the lowmem line">
            { patterns("p") }
            <text x="4" y="12" font-size="11" fill="currentColor">
                { format!("physical memory 0x0-0x{:x}, {} pages per mark; bar above: destinations", map.end_pfn << 12, map.bucket_pages) }
            </text>
            { for props.runs.iter().enumerate().map(|(i, s)| strip("p", s, 24.0 + i as f64 * (STRIP_H + 16.0))) }
            { for map.zones.iter().map(|z| {
                let colour = ZONE_COLOURS.iter().find(|(n, _)| *n == z.zone).map_or("#eee", |c| c.1);
                let (x0, x1) = (x_of(z.start), x_of(z.end));
                html! {
                    <g class="zone">
                        <rect x={px(x0)} y={px(zone_y)} width={px((x1 - x0).max(0.5))} height="14" fill={colour} stroke="#999" stroke-width="0.3">
                            <title>{ format!("ZONE_{} pfn 0x{:x}-0x{:x}", z.zone.to_ascii_uppercase(), z.start, z.end) }</title>
                        </rect>
                        if x1 - x0 > 40.0 {
                            <text x={px(x0 + 3.0)} y={px(zone_y + 11.0)} font-size="10" fill="#333">{ &z.zone }</text>
                        }
                    </g>
                }
            }) }
            if let Some(l) = map.lowmem_pfn.filter(|l| *l < map.end_pfn) {
                <g class="lowmem-line">
                    <line x1={px(x_of(l))} x2={px(x_of(l))} y1="16" y2={px(zone_y + 16.0)} stroke="#c00" stroke-dasharray="3 2"/>
                    <text x={px(x_of(l) + 3.0)} y={px(zone_y + 28.0)} font-size="10" fill="#c00">
                        { format!("max_low_pfn 0x{l:x}: lowmem below, highmem above") }
                    </text>
                </g>
            }
            <g class="legend" transform={format!("translate({},{})", px(LABEL_W), px(h - 6.0))}>
                { for STYLES.iter().enumerate().map(|(i, (label, _, _))| html! {
                    <g transform={format!("translate({},0)", i * 118)}>
                        <rect y="-9" width="10" height="10" fill={format!("url(#p-{i})")} stroke="#666" stroke-width="0.3"/>
                        <text x="13" font-size="10" fill="currentColor">{ *label }</text>
                    </g>
                }) }
            </g>
        </svg>
    }
}
