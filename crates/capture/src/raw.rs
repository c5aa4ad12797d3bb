//! The same events read from the ring buffer itself: the pages
//! `per_cpu/cpuN/trace_pipe_raw` hands out, decoded with the tracefs
//! format files (`events/header_page`, the events' `format`), the stack
//! frames named from `/proc/kallsyms`, the command names from
//! `saved_cmdlines`. Writing 2.6 million stack traces as text takes a
//! guest minutes (a symbol lookup per frame); the raw pages are copied out
//! in seconds and decoded here. The events then go through the same
//! attribution as the text ([`crate::trace`]), so a raw capture imports
//! to what its `cat trace` would have (`PageEvent::line` counts events).
//!
//! The ring buffer's layout (kernel/trace/ring_buffer.c): each page is a
//! header (a timestamp, then `commit`, the bytes of events in the page,
//! whose top two bits say events were lost) and the events, each a 32-bit
//! word (`type_len` in its low 5 bits, a time delta above) and its data:
//! `type_len` 1 to 28 is a data length in 4-byte words, 0 means the
//! length (plus its own 4 bytes) is in the next word, 29 is padding
//! (a time delta of 0: the rest of the page is empty; else a discarded
//! event whose length is in the next word), 30 and 31 are 8-byte time
//! records.

use crate::trace::{Attribution, Trace, TraceError};
use rustc_hash::FxHashMap;

/// What a raw capture is read from (one CPU's pages).
#[derive(Debug, Clone, Copy)]
pub struct RawInput<'a> {
    /// The bytes read from `per_cpu/cpuN/trace_pipe_raw`, whole pages.
    pub pages: &'a [u8],
    /// The CPU they are from.
    pub cpu: u32,
    /// `events/header_page`.
    pub header_page: &'a str,
    /// The format files of the events that may be in the buffer
    /// (`events/kmem/mm_page_alloc/format`, …, and
    /// `events/ftrace/kernel_stack/format`), one after another.
    pub formats: &'a str,
    /// `/proc/kallsyms` (read with kptr_restrict 0), or a System.map.
    pub symbols: &'a str,
    /// `saved_cmdlines` (`PID COMM` a line); may be empty.
    pub cmdlines: &'a str,
    /// `per_cpu/cpuN/stats`, to refuse a buffer that overran; may be
    /// empty.
    pub stats: &'a str,
}

/// A field of an event: where in its data, how wide.
#[derive(Debug, Clone, Copy, Default)]
struct Field {
    offset: usize,
    size: usize,
    /// Elements (an array's `[N]`; else 1).
    count: usize,
}

/// An event's format file, the fields by name.
#[derive(Debug, Clone, Default)]
struct Format {
    name: String,
    id: u64,
    fields: Vec<(String, Field)>,
}

impl Format {
    fn field(&self, name: &str) -> Option<Field> {
        self.fields.iter().find(|f| f.0 == name).map(|f| f.1)
    }
}

fn error(message: impl Into<String>) -> TraceError {
    TraceError {
        line: 0,
        message: message.into(),
    }
}

/// `field:TYPE NAME;\toffset:O;\tsize:S;…`: the name (an array's without
/// its `[N]`) and the field.
fn field_line(l: &str) -> Option<(String, Field)> {
    let rest = l.trim().strip_prefix("field:")?;
    let mut parts = rest.split(';');
    let decl = parts.next()?.trim();
    let name = decl.rsplit(' ').next()?;
    let mut f = Field {
        count: 1,
        ..Default::default()
    };
    if let Some((_, n)) = name.split_once('[') {
        f.count = n.trim_end_matches(']').parse().ok().filter(|&n| n > 0)?;
    }
    let name = name.split('[').next()?.to_string();
    for p in parts {
        let p = p.trim();
        if let Some(v) = p.strip_prefix("offset:") {
            f.offset = v.trim().parse().ok()?;
        } else if let Some(v) = p.strip_prefix("size:") {
            f.size = v.trim().parse().ok()?;
        }
    }
    Some((name, f))
}

/// The format files, one after another (each starts at its `name:`).
fn formats(text: &str) -> Result<Vec<Format>, TraceError> {
    let mut out: Vec<Format> = Vec::new();
    for l in text.lines() {
        let t = l.trim();
        if let Some(n) = t.strip_prefix("name:") {
            out.push(Format {
                name: n.trim().to_string(),
                ..Default::default()
            });
        } else if let Some(id) = t.strip_prefix("ID:") {
            let f = out
                .last_mut()
                .ok_or_else(|| error("format files: ID: before name:"))?;
            f.id = id
                .trim()
                .parse()
                .map_err(|_| error(format!("format of {}: ID {id:?}", f.name)))?;
        } else if t.starts_with("field:") {
            if let (Some(f), Some(x)) = (out.last_mut(), field_line(t)) {
                f.fields.push(x);
            }
        }
    }
    Ok(out)
}

fn le(b: &[u8], at: usize, size: usize) -> Option<u64> {
    let s = b.get(at..at.checked_add(size)?)?;
    Some(s.iter().rev().fold(0u64, |v, &x| v << 8 | u64::from(x)))
}

/// Text symbols sorted by address (the first listed of aliases kept, as
/// kallsyms_lookup names them).
struct Symbols<'a> {
    addrs: Vec<u64>,
    names: Vec<&'a str>,
    cache: FxHashMap<u64, usize>,
}

impl<'a> Symbols<'a> {
    fn new(text: &'a str) -> Self {
        let mut v: Vec<(u64, &'a str)> = text
            .lines()
            .filter_map(|l| {
                let mut f = l.split_whitespace();
                let a = u64::from_str_radix(f.next()?, 16).ok()?;
                let ty = f.next()?;
                let name = f.next()?;
                matches!(ty, "t" | "T" | "w" | "W").then_some((a, name))
            })
            .collect();
        v.sort_by_key(|x| x.0);
        v.dedup_by_key(|x| x.0);
        Symbols {
            addrs: v.iter().map(|x| x.0).collect(),
            names: v.iter().map(|x| x.1).collect(),
            cache: FxHashMap::default(),
        }
    }

    /// The symbol an address is in (the nearest at or below it).
    fn lookup(&mut self, ip: u64) -> Option<&'a str> {
        let i = match self.cache.get(&ip) {
            Some(&i) => i,
            None => {
                let i = self.addrs.partition_point(|&a| a <= ip);
                self.cache.insert(ip, i);
                i
            }
        };
        (i > 0).then(|| self.names[i - 1])
    }
}

/// Refuse a buffer whose stats say it overran or dropped events: the
/// order would be incomplete.
fn check_stats(stats: &str) -> Result<(), TraceError> {
    for l in stats.lines() {
        if let Some((k, v)) = l.split_once(':') {
            let n: u64 = v.trim().parse().unwrap_or(0);
            if (k.trim() == "overrun" || k.trim() == "dropped events") && n > 0 {
                return Err(error(format!(
                    "the ring buffer {} {n} events (stats: {}), so the order is incomplete; capture again with a larger buffer_size_kb",
                    if k.trim() == "overrun" { "overwrote" } else { "dropped" },
                    l.trim()
                )));
            }
        }
    }
    Ok(())
}

/// Where things are in this buffer's pages and events, from the format
/// files.
struct Layout {
    /// The page header's `commit` word.
    commit: Field,
    /// The page's event data.
    data: Field,
    /// Bytes per page.
    page_size: usize,
    /// The page events' formats (alloc, free, free_batched, as present).
    page_fmts: Vec<Format>,
    /// mm_page_alloc's event ID.
    alloc_id: u64,
    /// kernel_stack's event ID.
    stack_id: u64,
    common_type: Field,
    common_pid: Field,
    /// kernel_stack's `caller[]`.
    caller: Field,
    /// Bytes of a stack word (unsigned long).
    word: usize,
}

impl Layout {
    fn new(input: &RawInput<'_>) -> Result<Layout, TraceError> {
        let header = formats(&format!("name: header_page\n{}", input.header_page))?;
        let hp = &header[0];
        let commit = hp
            .field("commit")
            .ok_or_else(|| error("header_page has no commit field"))?;
        let data = hp
            .field("data")
            .ok_or_else(|| error("header_page has no data field"))?;
        let page_size = data
            .offset
            .checked_add(data.size)
            .filter(|&p| p > 0 && p <= 1 << 20)
            .ok_or_else(|| error("header_page: the data field's offset and size are not a page"))?;
        let fmts = formats(input.formats)?;
        let find = |n: &str| fmts.iter().find(|f| f.name == n);
        let must = |name: &str, path: &str| {
            find(name).ok_or_else(|| error(format!("no format file for {name} ({path}/format)")))
        };
        let need = |f: &Format, field: &str| -> Result<Field, TraceError> {
            f.field(field)
                .ok_or_else(|| error(format!("{}'s format has no {field} field", f.name)))
        };
        let alloc = must("mm_page_alloc", "events/kmem/mm_page_alloc")?;
        let stack = must("kernel_stack", "events/ftrace/kernel_stack")?;
        let caller = need(stack, "caller")?;
        // unsigned long, the stack's word.
        let word = caller.size / caller.count;
        if !(1..=8).contains(&word) {
            return Err(error(format!(
                "kernel_stack's caller field: {} bytes for {} entries",
                caller.size, caller.count
            )));
        }
        Ok(Layout {
            commit,
            data,
            page_size,
            page_fmts: ["mm_page_alloc", "mm_page_free", "mm_page_free_batched"]
                .into_iter()
                .filter_map(find)
                .cloned()
                .collect(),
            alloc_id: alloc.id,
            stack_id: stack.id,
            common_type: need(alloc, "common_type")?,
            common_pid: need(alloc, "common_pid")?,
            caller,
            word,
        })
    }

    /// The data of each event in raw page `pi` (time records and padding
    /// skipped), in order.
    fn events<'p>(&self, pi: usize, page: &'p [u8]) -> Result<Vec<&'p [u8]>, TraceError> {
        let raw_commit = le(page, self.commit.offset, self.commit.size).unwrap_or(0);
        if raw_commit & (3 << 30) != 0 {
            return Err(error(format!(
                "raw page {pi}: the ring buffer lost events before it, so the order is incomplete; capture again with a larger buffer_size_kb"
            )));
        }
        let len = (raw_commit as usize).min(self.data.size);
        let d = &page[self.data.offset..self.data.offset + len];
        let mut out = Vec::new();
        let mut pos = 0usize;
        while pos + 4 <= len {
            let hdr = le(d, pos, 4).unwrap_or(0);
            let (body, next) = match hdr & 31 {
                29 if hdr >> 5 == 0 => break,
                29 => {
                    let l = le(d, pos + 4, 4).unwrap_or(0) as usize;
                    (None, (pos + 4).saturating_add(l))
                }
                30 | 31 => (None, pos + 8),
                0 => {
                    let l = le(d, pos + 4, 4).unwrap_or(0) as usize;
                    let end = (pos + 4).saturating_add(l);
                    (d.get(pos + 8..end), end)
                }
                t => {
                    let l = t as usize * 4;
                    (d.get(pos + 4..pos + 4 + l), pos + 4 + l)
                }
            };
            if next <= pos {
                return Err(error(format!(
                    "raw page {pi}: an event at byte {pos} has no length"
                )));
            }
            pos = next;
            out.extend(body);
        }
        Ok(out)
    }
}

/// What one raw reading goes through: the layout, the names, the
/// attribution, the events counted so far.
struct Reader<'a> {
    lay: Layout,
    comms: FxHashMap<u32, &'a str>,
    syms: Symbols<'a>,
    a: Attribution<'a>,
    cpu: u32,
    n: usize,
}

impl<'a> Reader<'a> {
    /// Event `ev` of raw page `pi`.
    fn event(&mut self, pi: usize, ev: &[u8]) -> Result<(), TraceError> {
        let (lay, cpu) = (&self.lay, self.cpu);
        self.n += 1;
        let Some(ty) = le(ev, lay.common_type.offset, lay.common_type.size) else {
            return Err(error(format!("raw page {pi}: a cut event")));
        };
        if ty == lay.stack_id {
            self.a.stack(cpu);
            let mut at = lay.caller.offset;
            while let Some(ip) = le(ev, at, lay.word) {
                if ip == u64::MAX >> (64 - 8 * lay.word as u32) {
                    break;
                }
                let name = if ip == 0 {
                    "0"
                } else {
                    self.syms.lookup(ip).unwrap_or("(no symbol)")
                };
                self.a.frame(cpu, name);
                at += lay.word;
            }
            return Ok(());
        }
        let Some(fmt) = lay.page_fmts.iter().find(|f| f.id == ty) else {
            self.a.other(cpu);
            return Ok(());
        };
        let pfn_f = fmt
            .field("pfn")
            .filter(|f| (1..=8).contains(&f.size))
            .ok_or_else(|| error("a page event's format has no pfn field of 1 to 8 bytes"))?;
        let bad = || error(format!("raw page {pi}: a cut {} event", fmt.name));
        let pfn = le(ev, pfn_f.offset, pfn_f.size).ok_or_else(bad)?;
        let order = match fmt.field("order") {
            Some(o) => le(ev, o.offset, o.size).ok_or_else(bad)?,
            None => 0,
        };
        if order >= 20 {
            return Err(error(format!(
                "raw page {pi}: a {} event of order {order} (0 to 19)",
                fmt.name
            )));
        }
        let pid = le(ev, lay.common_pid.offset, lay.common_pid.size).ok_or_else(bad)? as u32;
        let is_alloc = fmt.id == lay.alloc_id;
        // A failed allocation: pfn -1UL.
        let failed = is_alloc && pfn == u64::MAX >> (64 - 8 * pfn_f.size as u32);
        let comms = &self.comms;
        self.a.page_event(
            cpu,
            pid,
            || comms.get(&pid).map_or("<...>", |c| c).to_string(),
            !is_alloc,
            (!failed).then_some(pfn),
            order as u32,
            self.n,
        );
        Ok(())
    }
}

/// The page events and their stacks in `input.pages`, attributed as the
/// text reader attributes them.
pub fn read(input: RawInput<'_>) -> Result<Trace, TraceError> {
    check_stats(input.stats)?;
    let lay = Layout::new(&input)?;
    if !input.pages.len().is_multiple_of(lay.page_size) {
        return Err(error(format!(
            "the raw buffer is {} bytes, not whole pages of {}",
            input.pages.len(),
            lay.page_size
        )));
    }
    let page_size = lay.page_size;
    let mut r = Reader {
        lay,
        comms: input
            .cmdlines
            .lines()
            .filter_map(|l| {
                let (p, c) = l.trim().split_once(' ')?;
                Some((p.parse().ok()?, c.trim()))
            })
            .collect(),
        syms: Symbols::new(input.symbols),
        a: Attribution::new(),
        cpu: input.cpu,
        n: 0,
    };
    for (pi, page) in input.pages.chunks(page_size).enumerate() {
        for ev in r.lay.events(pi, page)? {
            r.event(pi, ev)?;
        }
    }
    let mut t = r.a.end(r.n)?;
    t.raw = true;
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::{KimageEvent, PageEvent};

    /// The i386 kernel's tracefs header_page and the event formats the
    /// reader needs (one fixture, shared with the bench).
    const HEADER: &str = include_str!("../tests/data/i386-header_page");

    fn formats() -> String {
        include_str!("../tests/data/i386-formats").to_string()
    }

    const SYMS: &str = "c1000000 T __alloc_pages
c1000100 T kimage_alloc_pages
c1000200 t kimage_alloc_control_pages
c1000300 T kimage_free_pages
c1000400 T kimage_free
c1000500 d some_data
c1000600 T copy_process
";

    fn words(v: &[u32]) -> Vec<u8> {
        v.iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    /// An event: its header (a small length, or 0 and the length word)
    /// and data.
    fn event(out: &mut Vec<u8>, data: &[u8], long: bool) {
        assert_eq!(data.len() % 4, 0);
        if long {
            out.extend(words(&[7 << 5, data.len() as u32 + 4]));
        } else {
            out.extend(words(&[(data.len() as u32 / 4) | 7 << 5]));
        }
        out.extend(data);
    }

    fn page_event(ty: u16, pid: u32, fields: &[u32]) -> Vec<u8> {
        let mut d = ty.to_le_bytes().to_vec();
        d.extend([0, 0]);
        d.extend(pid.to_le_bytes());
        d.extend(words(fields));
        d
    }

    fn stack(frames: &[u32]) -> Vec<u8> {
        let mut f = vec![frames.len() as u32];
        f.extend(frames);
        page_event(4, 91, &f)
    }

    fn page(events: &[u8], commit: u32) -> Vec<u8> {
        let mut p = vec![0u8; 4096];
        p[8..12].copy_from_slice(&commit.to_le_bytes());
        p[12..12 + events.len()].copy_from_slice(events);
        p
    }

    fn input<'a>(pages: &'a [u8], formats: &'a str, stats: &'a str) -> RawInput<'a> {
        RawInput {
            pages,
            cpu: 0,
            header_page: HEADER,
            formats,
            symbols: SYMS,
            cmdlines: "91 helper\n",
            stats,
        }
    }

    fn sample() -> Vec<u8> {
        let mut e = Vec::new();
        // A time extend first.
        e.extend(words(&[30 | 1 << 5, 0]));
        event(&mut e, &page_event(645, 91, &[0x1234, 0, 0xcc0, 0]), false);
        event(&mut e, &stack(&[0xc1000010, 0xc1000110, 0xc1000210]), false);
        // A discarded event (padding with a length).
        e.extend(words(&[29 | 3 << 5, 8, 0]));
        // A failed allocation, its length in the next word.
        event(&mut e, &page_event(645, 91, &[u32::MAX, 0, 0xcc0, 0]), true);
        event(&mut e, &stack(&[0xc1000010, 0xc1000110, 0xc1000210]), false);
        event(&mut e, &page_event(647, 91, &[0x1234, 0]), false);
        event(
            &mut e,
            &stack(&[0xc1000310, 0xc1000410, u32::MAX, 0xc1000010]),
            false,
        );
        // Another process's allocation, from copy_process.
        event(&mut e, &page_event(645, 7, &[0x3000, 0, 0xcc0, 0]), false);
        event(&mut e, &stack(&[0xc1000010, 0xc1000610]), false);
        let len = e.len() as u32;
        // Padding to the end of the page: what follows is not read.
        e.extend(words(&[29, 0xdead]));
        let mut pages = page(&e, len + 8);
        // A second page: an empty one.
        pages.extend(page(&[], 0));
        pages
    }

    #[test]
    fn a_raw_buffer_is_attributed_as_text_is() {
        let pages = sample();
        let f = formats();
        let t = read(input(&pages, &f, "entries: 8\noverrun: 0\n")).unwrap();
        assert!(t.raw);
        assert_eq!(t.events, 4);
        assert_eq!(
            t.kimage,
            vec![
                KimageEvent::Alloc(PageEvent {
                    line: 1,
                    pid: 91,
                    pfn: Some(0x1234),
                    order: 0
                }),
                KimageEvent::Alloc(PageEvent {
                    line: 3,
                    pid: 91,
                    pfn: None,
                    order: 0
                }),
                KimageEvent::FreeUnload(PageEvent {
                    line: 5,
                    pid: 91,
                    pfn: Some(0x1234),
                    order: 0
                }),
            ]
        );
        assert_eq!(t.dropped_allocs.get("copy_process"), Some(&1));
        assert_eq!(t.pids.get(&91), Some(&("helper".to_string(), 3)));
        assert_eq!(t.pids.get(&7), Some(&("<...>".to_string(), 1)));
    }

    #[test]
    fn a_lossy_or_cut_buffer_is_refused() {
        let pages = sample();
        let f = formats();
        let e = read(input(&pages, &f, "overrun: 12\n")).unwrap_err();
        assert!(e.message.contains("overwrote 12 events"), "{e}");
        let mut lost = pages.clone();
        lost[11] |= 0x80;
        let e = read(input(&lost, &f, "")).unwrap_err();
        assert!(e.message.contains("lost events"), "{e}");
        let e = read(input(&pages[..5000], &f, "")).unwrap_err();
        assert!(e.message.contains("not whole pages of 4096"), "{e}");
        let e = read(input(&pages, "name: mm_page_free\nID: 3\n", "")).unwrap_err();
        assert_eq!(
            e.message,
            "no format file for mm_page_alloc (events/kmem/mm_page_alloc/format)"
        );
    }

    #[test]
    fn mangled_pages_never_panic() {
        let pages = sample();
        let f = formats();
        for at in 8..400 {
            for v in [0x00, 0x1d, 0xff] {
                let mut p = pages.clone();
                p[at] = v;
                let _ = read(input(&p, &f, ""));
            }
        }
    }
}
