//! The entry list of one pane as a chain of indirection pages, virtualized:
//! only the rows in view (plus a margin) are in the DOM, so a 1 GiB image
//! (262,144 entries) scrolls as smoothly as a small one.

use super::Words;
use kexec_core::arch::PAGE_SHIFT;
use kexec_core::entry::{decode, folded_source_run, EntryKind};
use kexec_core::memory::Machine;
use kexec_core::report::page_desc;
use kexec_core::summary::PageInfo;
use std::rc::Rc;
use web_sys::HtmlElement;
use yew::prelude::*;

/// Height of a row in pixels (the CSS uses the same).
pub const ROW_H: i32 = 22;
/// Height of the list viewport in pixels.
pub const VIEW_H: i32 = 440;
const OVERSCAN: usize = 12;

/// A row of the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Row {
    /// The header of indirection page `n` (index into the pages).
    Page(usize),
    /// Entry `i` (0 is image->head).
    Entry(usize),
    /// Entries `start..start+len`: SOURCE pages at consecutive addresses.
    Fold {
        /// First entry.
        start: usize,
        /// How many.
        len: usize,
    },
}

impl Row {
    /// The first entry the row shows (a page header: its slot 0).
    pub fn first_entry(&self, pages: &[PageInfo]) -> usize {
        match *self {
            Row::Page(p) => pages[p].first,
            Row::Entry(i) => i,
            Row::Fold { start, .. } => start,
        }
    }
}

/// The rows of a list, page headers before each page's slot 0, runs of
/// consecutive SOURCE pages folded when `fold` (as the text report folds
/// them: [`kexec_core::entry::SOURCE_RUN_MIN`] or more).
pub fn rows(words: &[u64], pages: &[PageInfo], fold: bool) -> Vec<Row> {
    let mut out = Vec::with_capacity(words.len() + pages.len());
    let mut next_page = 0;
    let mut i = 0;
    while i < words.len() {
        while next_page < pages.len() && pages[next_page].first == i {
            out.push(Row::Page(next_page));
            next_page += 1;
        }
        if fold {
            // A run never crosses into the next page.
            let limit = pages.get(next_page).map_or(words.len(), |p| p.first);
            let page = words.get(i..limit).unwrap_or_default();
            if let Some(len) = folded_source_run(page.iter().copied()) {
                out.push(Row::Fold { start: i, len });
                i += len;
                continue;
            }
        }
        out.push(Row::Entry(i));
        i += 1;
    }
    out
}

/// Props of [`EntryList`].
#[derive(Properties, PartialEq, Clone)]
pub struct EntryListProps {
    /// This pane's words.
    pub words: Words,
    /// The other pane's words, to mark differences.
    pub other: Option<Words>,
    /// This list's indirection pages.
    pub pages: Rc<Vec<PageInfo>>,
    /// The machine (zones, lowmem line).
    pub machine: Rc<Machine>,
    /// Entry width in hex digits.
    pub digits: usize,
    /// Fold SOURCE runs.
    pub fold: bool,
    /// Scroll to this entry when the token changes.
    pub jump: Option<(u32, usize)>,
    /// Label for the list (accessibility).
    pub label: AttrValue,
}

/// The virtualized list.
#[component]
pub fn EntryList(props: &EntryListProps) -> Html {
    let scroll = use_state(|| 0i32);
    let node = use_node_ref();
    let all = {
        let (w, p, f) = (props.words.clone(), props.pages.clone(), props.fold);
        use_memo((w, f), move |(w, f)| rows(&w.0, &p, *f))
    };
    {
        let (node, all, pages, scroll) = (
            node.clone(),
            all.clone(),
            props.pages.clone(),
            scroll.clone(),
        );
        use_effect_with(props.jump, move |jump| {
            if let (Some((_, target)), Some(el)) = (jump, node.cast::<HtmlElement>()) {
                let row = all
                    .partition_point(|r| r.first_entry(&pages) <= *target)
                    .saturating_sub(1);
                let top = (row as i32 * ROW_H - 2 * ROW_H).max(0);
                el.set_scroll_top(top);
                scroll.set(top);
            }
        });
    }
    let onscroll = {
        let (node, scroll) = (node.clone(), scroll.clone());
        Callback::from(move |_: Event| {
            if let Some(el) = node.cast::<HtmlElement>() {
                scroll.set(el.scroll_top());
            }
        })
    };
    let words = &props.words.0;
    let other = props.other.as_ref().map(|o| o.0.clone());
    let differs = |i: usize| other.as_ref().is_some_and(|o| o.get(i) != words.get(i));
    let first = (*scroll / ROW_H) as usize;
    let from = first.saturating_sub(OVERSCAN);
    let to = (first + (VIEW_H / ROW_H) as usize + OVERSCAN).min(all.len());
    let window = window_markup(
        &all[from..to],
        &Window {
            words,
            differs: &differs,
            pages: &props.pages,
            machine: &props.machine,
            digits: props.digits,
        },
    );
    let top = from as i32 * ROW_H;
    let total = all.len() as i32 * ROW_H;
    html! {
        <div class="entry-list" ref={node} {onscroll} role="list" aria-label={props.label.clone()} tabindex="0"
             style={format!("height:{VIEW_H}px")}>
            <div class="spacer" style={format!("height:{total}px")}>
                <div class="window" style={format!("transform:translateY({top}px)")}>
                    { Html::from_html_unchecked(window.into()) }
                </div>
            </div>
        </div>
    }
}

/// What the rows of a window are written from.
struct Window<'a> {
    /// The pane's words.
    words: &'a [u64],
    /// Whether entry `i` differs from the other pane's.
    differs: &'a dyn Fn(usize) -> bool,
    /// The list's indirection pages.
    pages: &'a [PageInfo],
    /// The machine (zones, lowmem line).
    machine: &'a Machine,
    /// Entry width in hex digits.
    digits: usize,
}

/// The markup of the rows in view, one text the page inserts with one
/// parse (`Html::from_html_unchecked`) instead of a call from wasm for
/// every element, attribute and text (a 1 GiB result's two windows:
/// about 570 nodes, most of the result's task). The text is numbers, hex,
/// the kernel's names for zones and entry kinds and this file's labels:
/// nothing to escape.
fn window_markup(rows: &[Row], x: &Window) -> String {
    use std::fmt::Write;
    let (words, pages, m, w) = (x.words, x.pages, x.machine, x.digits);
    let mut out = String::with_capacity(rows.len() * 160);
    let head_in_list = pages.first().is_none_or(|p| p.first > 0);
    for row in rows {
        match *row {
            Row::Page(p) => {
                let pg = &pages[p];
                let hm = if pg.highmem { " highmem" } else { "" };
                let _ = write!(
                    out,
                    "<div role=\"listitem\" class=\"row page-row{hm}\">indirection page {}: {}</div>",
                    p + 1,
                    page_desc(m, pg.pfn)
                );
            }
            Row::Entry(i) => {
                let e = words[i];
                let slot = if i == 0 && head_in_list {
                    "head".to_string()
                } else {
                    let p = pages.partition_point(|pg| pg.first <= i);
                    match p.checked_sub(1) {
                        Some(p) => format!("{}", i - pages[p].first),
                        None => format!("{i}"),
                    }
                };
                let (kind, text) = match decode(e) {
                    EntryKind::Destination(a) => ("dest", format!("DEST 0x{a:0w$x}")),
                    EntryKind::Indirection(a) => (
                        "ind",
                        format!("IND  0x{a:0w$x}  {}", page_desc(m, a >> PAGE_SHIFT)),
                    ),
                    EntryKind::Done => ("done", "DONE".to_string()),
                    EntryKind::Source(a) => (
                        "src",
                        format!("SRC  0x{a:0w$x}  {}", page_desc(m, a >> PAGE_SHIFT)),
                    ),
                    EntryKind::Zero => ("zero", "ZERO (clear the destination page)".to_string()),
                    EntryKind::Other(v) => ("other", format!("0x{v:0w$x}")),
                };
                let diff = if (x.differs)(i) { " diff" } else { "" };
                let _ = write!(
                    out,
                    "<div role=\"listitem\" data-index=\"{i}\" class=\"row {kind}{diff}\"><span class=\"idx\">#{i}</span><span class=\"slot\">{slot}</span><span class=\"word\">0x{e:0w$x}</span><span class=\"what\">{text}</span></div>"
                );
            }
            Row::Fold { start, len } => {
                let (EntryKind::Source(a), EntryKind::Source(b)) =
                    (decode(words[start]), decode(words[start + len - 1]))
                else {
                    continue;
                };
                let diff = if (start..start + len).any(x.differs) {
                    " diff"
                } else {
                    ""
                };
                let _ = write!(
                    out,
                    "<div role=\"listitem\" data-index=\"{start}\" class=\"row src fold{diff}\"><span class=\"idx\">#{start}</span><span class=\"slot\">x{len}</span><span class=\"word\">0x{a:0w$x}</span><span class=\"what\">SRC  0x{a:0w$x}..0x{b:0w$x}  {len} consecutive pages</span></div>"
                );
            }
        }
    }
    out
}
