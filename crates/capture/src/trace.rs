//! The page allocator's tracepoints as text: `mm_page_alloc`,
//! `mm_page_free` and `mm_page_free_batched` (include/trace/events/kmem.h)
//! with `options/stacktrace`, as tracefs's `trace` file prints them and as
//! `trace-cmd report` does.
//!
//! One pass over the lines, nothing kept but the kimage code's pages: an
//! event waits on its CPU for the `<stack trace>` that follows it, its
//! frames (`=> name`, `=> name+0x1a/0x40`, `=> name (c10a2b3c)`) are
//! checked as they come, and the event is then either the kimage code's
//! (`kimage_alloc_pages` / `kimage_free_pages` on the stack) or counted by
//! caller and dropped. Errors name the line.

use rustc_hash::FxHashMap;
use std::collections::BTreeMap;

/// One page (block) the kimage code got or gave back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageEvent {
    /// The line of the event (1-based; in a raw capture, its number).
    pub line: usize,
    /// Its pid.
    pub pid: u32,
    /// The first pfn (`None`: the allocation failed).
    pub pfn: Option<u64>,
    /// The order.
    pub order: u32,
}

/// What one kimage page event was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KimageEvent {
    /// `kimage_alloc_pages` got this block (or failed).
    Alloc(PageEvent),
    /// `kimage_free_pages` during the load: `kimage_alloc_page` giving a
    /// highmem old page back before it retries, or
    /// `kimage_alloc_control_pages` freeing the destination pages it was
    /// handed before the one it keeps (its extra_pages list).
    FreeInLoad(PageEvent),
    /// `kimage_free_pages` from `kimage_free` (an unload, or a failed load
    /// cleaning up).
    FreeUnload(PageEvent),
}

impl KimageEvent {
    /// The page event.
    pub fn page(&self) -> &PageEvent {
        match self {
            KimageEvent::Alloc(p) | KimageEvent::FreeInLoad(p) | KimageEvent::FreeUnload(p) => p,
        }
    }
}

/// Everything read from a trace.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trace {
    /// The kimage code's events, in trace order.
    pub kimage: Vec<KimageEvent>,
    /// Allocations not through `kimage_alloc_pages`, by caller (the first
    /// frame that is not the page allocator itself).
    pub dropped_allocs: BTreeMap<String, u64>,
    /// Frees not through `kimage_free_pages`, by caller.
    pub dropped_frees: u64,
    /// Page events read (allocations and frees, every process).
    pub events: u64,
    /// Page events that had no stack trace.
    pub without_stack: u64,
    /// Each pid's page events, with its command name.
    pub pids: BTreeMap<u32, (String, u64)>,
    /// Read from the raw ring buffer ([`crate::raw`]): a
    /// [`PageEvent::line`] counts events, not lines.
    pub raw: bool,
    /// Pages `machine_kexec_prepare` got through kimage_alloc_pages and
    /// kept (x86_64's identity map: alloc_pgt_page asks
    /// kimage_alloc_control_pages; i386 uses get_zeroed_page). Left out
    /// of the kimage events, as the model does not build those tables;
    /// `kimage_free` frees them with the control pages on unload.
    pub arch_pages: u64,
}

/// A trace that cannot be read: the line (1-based) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceError {
    /// The line.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for TraceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "trace line {}: {}", self.line, self.message)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Alloc,
    Free,
}

/// An event waiting for its stack.
#[derive(Debug, Clone)]
struct Pending<'a> {
    kind: Kind,
    ev: PageEvent,
    /// The stack header has been seen.
    stack: bool,
    frames: u32,
    kimage_alloc_pages: bool,
    kimage_free_pages: bool,
    /// `kimage_alloc_page` or `kimage_alloc_control_pages` (and its
    /// `kimage_alloc_normal_control_pages`, if not inlined) is on the
    /// stack: a free there is the load's own.
    in_load: bool,
    /// `machine_kexec_prepare` (or x86_64's `kernel_ident_mapping_init`)
    /// is on the stack: x86_64 builds its identity map from
    /// kimage_alloc_control_pages pages, which the model does not.
    arch_hook: bool,
    caller: Option<&'a str>,
}

/// Frames of the page allocator itself, skipped to find the caller.
fn allocator_frame(f: &str) -> bool {
    f.contains("alloc_pages")
        || f.contains("get_free_pages")
        || f.contains("get_zeroed_page")
        || f.contains("folio_alloc")
        || f.starts_with("rmqueue")
        || f.starts_with("get_page_from_freelist")
        || f.starts_with("trace_")
        || f.starts_with("stack_trace")
        || f.contains("free_pages")
        || f.contains("free_unref")
        || f.starts_with("__free_page")
        || f.starts_with("free_page")
        || f.starts_with("free_pcp")
}

/// The kimage functions that call `kimage_free_pages`: on a kernel where
/// it is inlined (amd64 6.1, whose ORC unwinder shows only real frames) a
/// free whose first caller past the allocator is one of them is a
/// `kimage_free_pages` free.
fn frees_through_kimage_free_pages(caller: Option<&str>) -> bool {
    matches!(
        caller,
        Some(
            "kimage_free"
                | "kimage_free_page_list"
                | "kimage_alloc_page"
                | "kimage_alloc_control_pages"
                | "kimage_alloc_normal_control_pages"
        )
    )
}

/// The function a frame names: `=> name`, `=> name+0x1a/0x40`,
/// `=> name (c10a2b3c)`, `=> 0xc10a2b3c` (no symbol).
fn frame_name(rest: &str) -> &str {
    let t = rest.trim_start_matches([' ', '\t']);
    let end = t
        .bytes()
        .position(|b| matches!(b, b' ' | b'+' | b'(' | b'\t' | b'\r'))
        .unwrap_or(t.len());
    &t[..end]
}

/// `page=`, `pfn=` and `order=` in an event's fields, in one pass.
fn fields(f: &str) -> [Option<&str>; 3] {
    let mut out = [None; 3];
    for kv in f.split_ascii_whitespace() {
        if let Some((k, v)) = kv.split_once('=') {
            match k {
                "page" => out[0] = Some(v),
                "pfn" => out[1] = Some(v),
                "order" => {
                    out[2] = Some(v);
                    break;
                }
                _ => {}
            }
        }
    }
    out
}

fn hex(s: &str) -> Option<u64> {
    let t = s.strip_prefix("0x").unwrap_or(s);
    u64::from_str_radix(t, 16).ok()
}

/// The parts of an event line: pid, comm, cpu, event name, fields.
struct EventLine<'a> {
    comm: &'a str,
    pid: u32,
    cpu: u32,
    name: &'a str,
    fields: &'a str,
}

/// `TASK-PID [CPU] (flags) TIMESTAMP: EVENT: FIELDS`.
fn event_line(line: &str) -> Option<EventLine<'_>> {
    let open = line.find(" [")?;
    let task = line[..open].trim();
    let (comm, pid) = task.rsplit_once('-')?;
    let pid: u32 = pid.parse().ok()?;
    let after = &line[open + 2..];
    let close = after.find(']')?;
    let cpu: u32 = after[..close].trim().parse().ok()?;
    let rest = &after[close + 1..];
    // The timestamp is the first token made of digits and a dot, ending
    // in ':' (the flags before it may hold digits: "...2.").
    let mut at = 0;
    let body = loop {
        let r = &rest[at..];
        let start = r.find(|c: char| !c.is_ascii_whitespace())?;
        let len = r[start..]
            .find(char::is_whitespace)
            .unwrap_or(r.len() - start);
        let tok = &r[start..start + len];
        at += start + len;
        if let Some(stamp) = tok.strip_suffix(':') {
            if stamp.contains('.') && stamp.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
                break rest[at..].trim_start();
            }
        }
        if at >= rest.len() {
            return None;
        }
    };
    let (name, fields) = match body.find(':') {
        Some(i) if !body[..i].contains(' ') || body.starts_with('<') => {
            (&body[..i], body[i + 1..].trim_start())
        }
        _ => (body, ""),
    };
    Some(EventLine {
        comm,
        pid,
        cpu,
        name,
        fields,
    })
}

/// Lines that carry nothing: headers, `trace-cmd report`'s preamble,
/// the buffer-start marks.
fn ignorable(t: &str) -> bool {
    t.is_empty()
        || t.starts_with('#')
        || t.starts_with("version =")
        || t.starts_with("version=")
        || t.starts_with("cpus=")
        || t.starts_with("trace-cmd")
        || (t.starts_with("CPU ") && t.ends_with(" is empty"))
        || t.starts_with("CPU:") && !t.contains("LOST")
}

/// The attribution both readers share (this text one and [`crate::raw`]):
/// each CPU's page event waits for the stack that follows it, the frames
/// are checked as they come, and the event is then the kimage code's or
/// counted by caller and dropped.
pub(crate) struct Attribution<'a> {
    out: Trace,
    pending: FxHashMap<u32, Pending<'a>>,
}

impl<'a> Attribution<'a> {
    pub(crate) fn new() -> Self {
        Attribution {
            out: Trace::default(),
            pending: FxHashMap::default(),
        }
    }

    /// A page event on `cpu` (`pfn` None: a failed allocation); `line`
    /// orders the events (the text's line, the raw buffer's event number).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn page_event(
        &mut self,
        cpu: u32,
        pid: u32,
        comm: impl FnOnce() -> String,
        free: bool,
        pfn: Option<u64>,
        order: u32,
        line: usize,
    ) {
        if let Some(p) = self.pending.remove(&cpu) {
            finish(&mut self.out, p);
        }
        self.out.events += 1;
        let e = self.out.pids.entry(pid).or_insert_with(|| (comm(), 0));
        e.1 += 1;
        self.pending.insert(
            cpu,
            Pending {
                kind: if free { Kind::Free } else { Kind::Alloc },
                ev: PageEvent {
                    line,
                    pid,
                    pfn,
                    order,
                },
                stack: false,
                frames: 0,
                kimage_alloc_pages: false,
                kimage_free_pages: false,
                in_load: false,
                arch_hook: false,
                caller: None,
            },
        );
    }

    /// A stack trace starts on `cpu`: it belongs to the event waiting
    /// there, unless that one has its stack already.
    pub(crate) fn stack(&mut self, cpu: u32) {
        if let Some(p) = self.pending.get_mut(&cpu) {
            if p.stack {
                // A second stack: the first one's event is complete.
                let p = self.pending.remove(&cpu).expect("present");
                finish(&mut self.out, p);
            } else {
                p.stack = true;
            }
        }
    }

    /// A frame of the stack now coming on `cpu`.
    pub(crate) fn frame(&mut self, cpu: u32, f: &'a str) {
        if let Some(p) = self.pending.get_mut(&cpu) {
            p.frames += 1;
            match f {
                "kimage_alloc_pages" => p.kimage_alloc_pages = true,
                "kimage_free_pages" => p.kimage_free_pages = true,
                "kimage_alloc_page"
                | "kimage_alloc_control_pages"
                | "kimage_alloc_normal_control_pages" => p.in_load = true,
                "machine_kexec_prepare" | "kernel_ident_mapping_init" => p.arch_hook = true,
                _ => {}
            }
            let kimage = p.kimage_alloc_pages || p.kimage_free_pages;
            if !kimage && p.caller.is_none() && !allocator_frame(f) && !f.is_empty() {
                p.caller = Some(f);
            }
        }
    }

    /// Another event (the capture enabled more) on `cpu`: not a page
    /// event; the one waiting there is complete.
    pub(crate) fn other(&mut self, cpu: u32) {
        if let Some(p) = self.pending.remove(&cpu) {
            finish(&mut self.out, p);
        }
    }

    /// The end of the trace (`last`: its last line, for the error).
    pub(crate) fn end(mut self, last: usize) -> Result<Trace, TraceError> {
        let mut rest: Vec<Pending> = self.pending.into_values().collect();
        rest.sort_by_key(|p| p.ev.line);
        for p in rest {
            if p.stack && p.frames == 0 {
                return Err(TraceError {
                    line: last,
                    message: format!(
                        "the trace ends inside the stack trace of line {}'s event (truncated?)",
                        p.ev.line
                    ),
                });
            }
            finish(&mut self.out, p);
        }
        // Events finish per CPU; the kimage order is the trace's.
        self.out.kimage.sort_by_key(|k| k.page().line);
        Ok(self.out)
    }
}

/// Read a trace (the text of `cat trace` or `trace-cmd report`).
pub fn read(text: &str) -> Result<Trace, TraceError> {
    let mut a = Attribution::new();
    // The CPU whose event the frames now coming belong to.
    let mut stack_cpu: Option<u32> = None;
    let mut last = 0;
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        last = n;
        if let Some(rest) = raw.trim_start_matches([' ', '\t']).strip_prefix("=>") {
            let Some(cpu) = stack_cpu else {
                return Err(TraceError {
                    line: n,
                    message: "a stack frame with no <stack trace> line before it".into(),
                });
            };
            a.frame(cpu, frame_name(rest));
            continue;
        }
        let t = raw.trim();
        if let Some(counts) = t.strip_prefix("# entries-in-buffer/entries-written:") {
            let nums: Vec<u64> = counts
                .split(|c: char| !c.is_ascii_digit())
                .filter(|x| !x.is_empty())
                .filter_map(|x| x.parse().ok())
                .collect();
            if let [kept, written, ..] = nums[..] {
                if kept < written {
                    return Err(TraceError {
                        line: n,
                        message: format!(
                            "the ring buffer overwrote {} of {written} events (entries-in-buffer {kept}), so the order is incomplete; capture again with a larger buffer_size_kb",
                            written - kept
                        ),
                    });
                }
            }
        }
        if ignorable(t) {
            continue;
        }
        let Some(ev) = event_line(raw) else {
            if t.contains("LOST") && t.contains("EVENTS") {
                return Err(TraceError {
                    line: n,
                    message: format!(
                        "{}: the ring buffer dropped events, so the order is incomplete; capture again with a larger buffer_size_kb",
                        t
                    ),
                });
            }
            return Err(TraceError {
                line: n,
                message: format!(
                    "{} is not a trace line (expected TASK-PID [CPU] TIMESTAMP: EVENT: FIELDS, a \"=> function\" frame or a # comment)",
                    kexec_common::input::quoted(t)
                ),
            });
        };
        if ev.name.starts_with("<stack trace") || ev.name == "kernel_stack" {
            stack_cpu = Some(ev.cpu);
            a.stack(ev.cpu);
            continue;
        }
        stack_cpu = None;
        let kind = match ev.name {
            "mm_page_alloc" => Kind::Alloc,
            "mm_page_free" | "mm_page_free_batched" => Kind::Free,
            _ => {
                a.other(ev.cpu);
                continue;
            }
        };
        let [page_f, pfn_f, order_f] = fields(ev.fields);
        let pfn_text = pfn_f.ok_or_else(|| TraceError {
            line: n,
            message: format!("{} without pfn= (truncated line?)", ev.name),
        })?;
        let pfn = hex(pfn_text).ok_or_else(|| TraceError {
            line: n,
            message: format!("pfn={pfn_text} is not a hex pfn"),
        })?;
        let order: u32 = match order_f {
            Some(o) => o
                .parse()
                .ok()
                .filter(|&o| o < 20)
                .ok_or_else(|| TraceError {
                    line: n,
                    message: format!("order={o} is not an order (0 to 19)"),
                })?,
            None => {
                return Err(TraceError {
                    line: n,
                    message: format!("{} without order= (truncated line?)", ev.name),
                })
            }
        };
        // A failed allocation: page=NULL (printed as zeros or "(null)"), pfn 0.
        let failed = kind == Kind::Alloc
            && pfn == 0
            && page_f.is_some_and(|p| p.contains("null") || hex(p) == Some(0));
        a.page_event(
            ev.cpu,
            ev.pid,
            || ev.comm.to_string(),
            kind == Kind::Free,
            (!failed).then_some(pfn),
            order,
            n,
        );
    }
    a.end(last)
}

fn finish(out: &mut Trace, p: Pending<'_>) {
    if !p.stack || p.frames == 0 {
        out.without_stack += 1;
    }
    let kimage_free_pages =
        p.kimage_free_pages || (p.kind == Kind::Free && frees_through_kimage_free_pages(p.caller));
    let arch = p.arch_hook && (p.kimage_alloc_pages || kimage_free_pages);
    let pages = p.ev.pfn.map_or(0, |_| 1u64 << p.ev.order);
    match p.kind {
        Kind::Alloc if p.kimage_alloc_pages && !arch => out.kimage.push(KimageEvent::Alloc(p.ev)),
        Kind::Alloc => {
            if arch {
                out.arch_pages += pages;
            }
            let caller = if arch {
                Some("machine_kexec_prepare")
            } else {
                p.caller
            };
            let caller = caller.unwrap_or(if p.stack {
                "(the page allocator only)"
            } else {
                "(no stack trace)"
            });
            match out.dropped_allocs.get_mut(caller) {
                Some(n) => *n += 1,
                None => {
                    out.dropped_allocs.insert(caller.to_string(), 1);
                }
            }
        }
        Kind::Free if arch => {
            out.arch_pages = out.arch_pages.saturating_sub(pages);
            out.dropped_frees += 1;
        }
        Kind::Free if kimage_free_pages && p.in_load => {
            out.kimage.push(KimageEvent::FreeInLoad(p.ev))
        }
        Kind::Free if kimage_free_pages => out.kimage.push(KimageEvent::FreeUnload(p.ev)),
        Kind::Free => out.dropped_frees += 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CAT: &str = "\
# tracer: nop
#
# entries-in-buffer/entries-written: 9/9   #P:1
#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION
#              | |         |   |||||     |         |
           kexec-85      [000] .....    12.000001: mm_page_alloc: page=0xf5d3a000 pfn=0x2f4a order=0 migratetype=0 gfp_flags=GFP_KERNEL|__GFP_NORETRY
           kexec-85      [000] .....    12.000002: <stack trace>
 => __alloc_pages
 => kimage_alloc_pages
 => kimage_alloc_control_pages
 => do_kexec_load
           kexec-85      [000] .....    12.000003: mm_page_alloc: page=0xf5d3a000 pfn=0x2f4c order=1 migratetype=0 gfp_flags=GFP_KERNEL
           kexec-85      [000] .....    12.000004: <stack trace>
 => __alloc_pages
 => machine_kexec_prepare
 => do_kexec_load
           kexec-85      [000] ...2.    12.000005: mm_page_alloc: page=0xf6000000 pfn=0x23fc89 order=0 migratetype=1 gfp_flags=GFP_HIGHUSER
           kexec-85      [000] .....    12.000006: <stack trace>
 => __alloc_pages+0x15a/0x2c0
 => kimage_alloc_pages+0x1a/0x90
 => kimage_alloc_page+0x3c/0x1b0
           kexec-85      [000] .....    12.000007: mm_page_free: page=0xf6000000 pfn=0x23fc89 order=0
           kexec-85      [000] .....    12.000008: <stack trace>
 => free_unref_page
 => kimage_free_pages
 => kimage_free_page_list
 => kimage_free
";

    #[test]
    fn cat_trace_is_attributed_by_stack() {
        let t = read(CAT).unwrap();
        assert_eq!(t.events, 4);
        assert_eq!(t.kimage.len(), 3);
        assert!(matches!(
            t.kimage[0],
            KimageEvent::Alloc(PageEvent {
                pfn: Some(0x2f4a),
                order: 0,
                line: 6,
                ..
            })
        ));
        assert!(matches!(
            t.kimage[1],
            KimageEvent::Alloc(PageEvent {
                pfn: Some(0x23fc89),
                ..
            })
        ));
        assert!(matches!(
            t.kimage[2],
            KimageEvent::FreeUnload(PageEvent {
                pfn: Some(0x23fc89),
                ..
            })
        ));
        assert_eq!(t.dropped_allocs.get("machine_kexec_prepare"), Some(&1));
        assert_eq!(t.pids.get(&85), Some(&("kexec".to_string(), 4)));
    }

    #[test]
    fn trace_cmd_report_reads_the_same() {
        let text = "\
version = 6
cpus=2
           kexec-85    [001]    12.000001: mm_page_alloc:        page=0xf5d3a000 pfn=0x2f4a order=0 migratetype=0 gfp_flags=GFP_KERNEL
           kexec-85    [001]    12.000002: kernel_stack:         <stack trace >
=> __alloc_pages (c1187a30)
=> kimage_alloc_pages (c10f1b20)
=> kimage_alloc_page (c10f1c00)
  kworker/u4:1-20    [000]    12.000003: mm_page_alloc:        page=0xf5d3a000 pfn=0x3000 order=0 migratetype=0 gfp_flags=GFP_KERNEL
  kworker/u4:1-20    [000]    12.000004: kernel_stack:         <stack trace >
=> __alloc_pages (c1187a30)
=> new_slab (c1187a30)
";
        let t = read(text).unwrap();
        assert_eq!(t.kimage.len(), 1);
        assert_eq!(t.dropped_allocs.get("new_slab"), Some(&1));
        assert_eq!(t.pids.get(&20).unwrap().0, "kworker/u4:1");
    }

    #[test]
    fn malformed_and_truncated_name_the_line() {
        let bad = CAT.replace("pfn=0x23fc89 order=0 migratetype=1", "pfn=0xzz order=0");
        assert_eq!(read(&bad).unwrap_err().line, 17);
        assert!(read(&bad).unwrap_err().message.contains("pfn=0xzz"));
        let cut = &CAT[..CAT.find("pfn=0x2f4c").unwrap()];
        let e = read(cut).unwrap_err();
        assert_eq!(e.line, 12);
        assert!(e.message.contains("without pfn="), "{e}");
        let e = read(
            &CAT.replace(" => kimage_free_page_list\n => kimage_free\n", "")
                .replace(" => free_unref_page\n => kimage_free_pages\n", ""),
        )
        .unwrap_err();
        assert!(e.message.contains("ends inside the stack trace"), "{e}");
        let e = read("hello\n").unwrap_err();
        assert_eq!(e.to_string(), "trace line 1: \"hello\" is not a trace line (expected TASK-PID [CPU] TIMESTAMP: EVENT: FIELDS, a \"=> function\" frame or a # comment)");
        let e = read(&CAT.replace("9/9", "439511/525206")).unwrap_err();
        assert_eq!(e.line, 3);
        assert!(
            e.message
                .starts_with("the ring buffer overwrote 85695 of 525206 events"),
            "{e}"
        );
        let e = read("CPU:0 [LOST 12 EVENTS]\n").unwrap_err();
        assert!(e.message.contains("buffer_size_kb"));
    }

    #[test]
    fn a_failed_allocation_has_no_pfn() {
        let t = read(&CAT.replace(
            "page=0xf6000000 pfn=0x23fc89 order=0 migratetype=1",
            "page=00000000 pfn=0x0 order=0 migratetype=1",
        ))
        .unwrap();
        assert!(matches!(
            t.kimage[1],
            KimageEvent::Alloc(PageEvent { pfn: None, .. })
        ));
    }

    #[test]
    fn a_control_page_reject_is_freed_in_the_load() {
        // kimage_alloc_control_pages frees the destination pages it was
        // handed (its extra_pages) before it returns: the load's own frees,
        // not kimage_free's.
        let t = read(&CAT.replace(
            " => kimage_free_page_list\n => kimage_free\n",
            " => kimage_free_page_list\n => kimage_alloc_control_pages\n",
        ))
        .unwrap();
        assert!(matches!(
            t.kimage[2],
            KimageEvent::FreeInLoad(PageEvent {
                pfn: Some(0x23fc89),
                ..
            })
        ));
    }

    #[test]
    fn x86_64_identity_map_pages_are_not_the_kimage_stream() {
        // x86_64's machine_kexec_prepare takes its page tables through
        // kimage_alloc_control_pages: dropped (the model does not build
        // them) and counted, a rejected one given back.
        let pgt = " => __alloc_pages\n => kimage_alloc_pages\n => kimage_alloc_control_pages\n => alloc_pgt_page\n => ident_pud_init\n => kernel_ident_mapping_init\n => machine_kexec_prepare\n => do_kexec_load\n";
        let rejected = " => free_unref_page\n => kimage_free_pages\n => kimage_free_page_list\n => kimage_alloc_control_pages\n => alloc_pgt_page\n => kernel_ident_mapping_init\n => machine_kexec_prepare\n";
        let mut text = String::new();
        for (i, (ev, stack)) in [
            (
                "mm_page_alloc: page=0xf0 pfn=0x5000 order=0 migratetype=0 gfp_flags=GFP_KERNEL",
                pgt,
            ),
            (
                "mm_page_alloc: page=0xf0 pfn=0x5001 order=0 migratetype=0 gfp_flags=GFP_KERNEL",
                pgt,
            ),
            ("mm_page_free: page=0xf0 pfn=0x5001 order=0", rejected),
        ]
        .iter()
        .enumerate()
        {
            text += &format!("  kexec-5 [000] ..... 1.00000{i}: {ev}\n  kexec-5 [000] ..... 1.00000{i}: <stack trace>\n{stack}");
        }
        let t = read(&format!("{CAT}{text}")).unwrap();
        assert_eq!(t.kimage.len(), 3, "{:?}", t.kimage);
        assert_eq!(t.arch_pages, 1);
        assert_eq!(t.dropped_allocs.get("machine_kexec_prepare"), Some(&3));
        assert_eq!(t.dropped_frees, 1);
    }

    #[test]
    fn amd64_frees_through_an_inlined_kimage_free_pages() {
        // amd64 6.1 (ORC): kimage_free_pages and kimage_free_page_list are
        // inlined into kimage_free, so an unload's free names kimage_free
        // as its caller; machine_kexec_cleanup's page-table frees, also
        // under kimage_free, are not the kimage code's.
        let head =
            " => trace_event_raw_event_mm_page_free\n => free_pcp_prepare\n => free_unref_page\n";
        let tail = " => do_kexec_load\n => __x64_sys_kexec_load\n => do_syscall_64\n";
        let mut text = String::new();
        for (i, (pfn, mid)) in [
            (0xa47a, " => kimage_free\n"),
            (0xbff0b, " => machine_kexec_cleanup\n => kimage_free\n"),
        ]
        .iter()
        .enumerate()
        {
            text += &format!("  helper-96 [000] ..... 1.00000{i}: mm_page_free: page=0xf0 pfn=0x{pfn:x} order=0\n  helper-96 [000] ..... 1.00000{i}: <stack trace>\n{head}{mid}{tail}");
        }
        let before = read(CAT).unwrap();
        let t = read(&format!("{CAT}{text}")).unwrap();
        let ours: Vec<_> = t.kimage.iter().filter(|k| k.page().pid == 96).collect();
        assert_eq!(ours.len(), 1, "{ours:?}");
        assert!(matches!(ours[0], KimageEvent::FreeUnload(p) if p.pfn == Some(0xa47a)));
        assert_eq!(t.dropped_frees, before.dropped_frees + 1);
    }
}
