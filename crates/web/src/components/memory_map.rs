//! The physical address space of each pane as a strip: pages coloured and
//! patterned by role, destinations above, zones and the lowmem line below.
//! Plain SVG with inline fills, so "export as SVG" is the element itself.

use kexec_core::summary::{MemMap, RunSummary, MAP_DEST, MAP_ROLES};
use std::rc::Rc;
use yew::prelude::*;

const STRIP_H: f64 = 28.0;

/// Where things go: a wide map (a strip's name left of it, the legend on
/// one line) or, on a phone, one drawn for its width in CSS pixels (names
/// above the strips, the legend on three lines), so its text stays at
/// its font size instead of shrinking with a 1000-unit drawing.
struct Layout {
    /// The drawing's width.
    w: f64,
    /// Where the strips start.
    label_w: f64,
    /// The first strip's top.
    top: f64,
    /// From one strip's top to the next.
    row_h: f64,
    /// Strip names above the strips (else left of them).
    label_above: bool,
    /// Legend entries per line.
    legend_cols: usize,
}

const WIDE: Layout = Layout {
    w: 1000.0,
    label_w: 110.0,
    top: 24.0,
    row_h: STRIP_H + 16.0,
    label_above: false,
    legend_cols: 7,
};

const NARROW: Layout = Layout {
    w: 360.0,
    label_w: 4.0,
    top: 52.0,
    row_h: STRIP_H + 30.0,
    label_above: true,
    legend_cols: 3,
};

impl Layout {
    /// The x of a pfn.
    fn x_of(&self, pfn: u64, end_pfn: u64) -> f64 {
        self.label_w + (pfn as f64 / end_pfn.max(1) as f64) * (self.w - self.label_w)
    }
}

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

/// A strip's marks, one `<g data-bucket>` a bucket (its destination bar,
/// its majority role's mark, an indirection tick), as SVG markup: the
/// page inserts it with one parse of the text (`Html::from_html_unchecked`)
/// instead of a call from wasm for every element and attribute (a 1 GiB
/// image: about 1,800 elements, most of the map's task). The text is
/// only numbers, hex and this file's labels: nothing to escape.
fn marks(prefix: &str, map: &MemMap, y: f64, lay: &Layout) -> String {
    use std::fmt::Write;
    let n = map.buckets.len().max(1) as f64;
    let bw = (lay.w - lay.label_w) / n;
    // What every bucket's marks share: their rows and widths.
    let (dest_y, dest_w) = (px(y - 6.0), px(bw.max(0.5)));
    let (mark_y, mark_h, w) = (px(y), px(STRIP_H), px(bw.max(0.8)));
    let tick_y = px(y + STRIP_H - 5.0);
    let mut out = String::new();
    for (b, bucket) in map.buckets.iter().enumerate() {
        let x = px(lay.label_w + b as f64 * bw);
        // The majority role fills the mark (ties: PRIORITY order);
        // indirection pages, however few, also get a tick.
        let role = PRIORITY
            .iter()
            .copied()
            .filter(|&i| bucket.counts[i] > 0)
            .max_by_key(|&i| {
                (
                    bucket.counts[i],
                    std::cmp::Reverse(PRIORITY.iter().position(|&p| p == i)),
                )
            });
        let tick = bucket.counts[1] > 0 && role != Some(1);
        let title = bucket_title(map, b, &bucket.counts);
        let _ = write!(out, "<g data-bucket=\"{b}\">");
        if bucket.counts[MAP_DEST] > 0 {
            let _ = write!(
                out,
                "<rect x=\"{x}\" y=\"{dest_y}\" width=\"{dest_w}\" height=\"4\" fill=\"#444\"><title>{title}</title></rect>"
            );
        }
        if let Some(i) = role {
            let _ = write!(
                out,
                "<rect x=\"{x}\" y=\"{mark_y}\" width=\"{w}\" height=\"{mark_h}\" fill=\"url(#{prefix}-{i})\" data-role=\"{}\"><title>{title}</title></rect>",
                STYLES[i].0
            );
        }
        if tick {
            let _ = write!(
                out,
                "<rect x=\"{x}\" y=\"{tick_y}\" width=\"{w}\" height=\"5\" fill=\"#d7301f\" data-role=\"indirection\"><title>{title}</title></rect>"
            );
        }
        out.push_str("</g>");
    }
    out
}

fn strip(prefix: &str, s: &RunSummary, y: f64, lay: &Layout) -> Html {
    let map = &s.map;
    let x_of = |pfn: u64| lay.x_of(pfn, map.end_pfn);
    let label_y = if lay.label_above { y - 9.0 } else { y + 18.0 };
    html! {
        <g class="strip" data-variant={s.variant.clone()}>
            <text x="4" y={px(label_y)} font-size="12" fill="currentColor">{ &s.variant }</text>
            { for map.ram.iter().map(|&(a, b)| html! {
                <rect x={px(x_of(a))} y={px(y)} width={px((x_of(b) - x_of(a)).max(0.5))}
                      height={px(STRIP_H)} fill="#f0f0f0" stroke="#bbb" stroke-width="0.3"><title>{ format!("RAM 0x{:x}-0x{:x}", a << 12, b << 12) }</title></rect>
            }) }
            { Html::from_html_unchecked(marks(prefix, map, y, lay).into()) }
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
    /// Drawn for a phone's width.
    #[prop_or_default]
    pub narrow: bool,
}

/// The map of both panes.
#[component]
pub fn MemoryMap(props: &MemoryMapProps) -> Html {
    let Some(first) = props.runs.first() else {
        return html! {};
    };
    let map = &first.map;
    let lay = if props.narrow { &NARROW } else { &WIDE };
    let runs = props.runs.len() as f64;
    let x_of = |pfn: u64| lay.x_of(pfn, map.end_pfn);
    let zone_y = lay.top - 4.0 + runs * lay.row_h;
    let legend_y = zone_y + 44.0;
    let legend_rows = STYLES.len().div_ceil(lay.legend_cols);
    let h = legend_y + (legend_rows - 1) as f64 * 14.0 + 6.0;
    let range = format!("physical memory 0x0-0x{:x}", map.end_pfn << 12);
    let marks = format!(
        "{} pages per mark; bar above: destinations",
        map.bucket_pages
    );
    html! {
        <svg ref={props.node.clone()} class="memory-map" viewBox={format!("0 0 {} {}", px(lay.w), px(h))} role="img"
             xmlns="http://www.w3.org/2000/svg" font-family="monospace"
             aria-label="physical memory map: pages by role for each pane, zones and the lowmem line">
            { patterns("p") }
            if props.narrow {
                <text x="4" y="12" font-size="11" fill="currentColor">{ range }</text>
                <text x="4" y="26" font-size="11" fill="currentColor">{ marks }</text>
            } else {
                <text x="4" y="12" font-size="11" fill="currentColor">{ format!("{range}, {marks}") }</text>
            }
            { for props.runs.iter().enumerate().map(|(i, s)| strip("p", s, lay.top + i as f64 * lay.row_h, lay)) }
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
                    <line x1={px(x_of(l))} x2={px(x_of(l))} y1={px(lay.top - 8.0)} y2={px(zone_y + 16.0)} stroke="#c00" stroke-dasharray="3 2"/>
                    // Past the middle, the label ends at the line.
                    <text x={px(if x_of(l) > lay.w / 2.0 { x_of(l) - 3.0 } else { x_of(l) + 3.0 })} y={px(zone_y + 28.0)}
                        text-anchor={if x_of(l) > lay.w / 2.0 { "end" } else { "start" }} font-size="10" fill="#c00">
                        { if props.narrow {
                            format!("max_low_pfn 0x{l:x}")
                        } else {
                            format!("max_low_pfn 0x{l:x}: lowmem below, highmem above")
                        } }
                    </text>
                </g>
            }
            <g class="legend" transform={format!("translate({},{})", px(lay.label_w), px(legend_y))}>
                { for STYLES.iter().enumerate().map(|(i, (label, _, _))| html! {
                    <g transform={format!("translate({},{})", (i % lay.legend_cols) * 118, (i / lay.legend_cols) * 14)}>
                        <rect y="-9" width="10" height="10" fill={format!("url(#p-{i})")} stroke="#666" stroke-width="0.3"/>
                        <text x="13" font-size="10" fill="currentColor">{ *label }</text>
                    </g>
                }) }
            </g>
        </svg>
    }
}
