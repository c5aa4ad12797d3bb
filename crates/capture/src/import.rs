//! A capture into a kimage scenario: the machine (RAM, lowmem line), the
//! segments, and as the replay list the pages `kimage_alloc_pages` got, in
//! the order it got them (one load: the kimage code's allocations before
//! the first `kimage_free`).

use crate::machine::{self, LowmemSource};
use crate::trace::{self, KimageEvent, PageEvent, Trace};
use kexec_common::input::InputError;
use kexec_core::arch::Arch;
use kexec_core::design::Variant;
use kexec_core::page_alloc::Policy;
use kexec_core::scenario::Scenario;
use std::fmt::Write;
use std::io::Read;

/// The texts of a capture.
#[derive(Debug, Clone, Copy)]
pub struct ImportInput<'a> {
    /// `cat trace` or `trace-cmd report` text.
    pub trace: &'a str,
    /// kexec-tools `-d` output or a hand list.
    pub segments: &'a str,
    /// /proc/iomem.
    pub iomem: &'a str,
    /// dmesg or /proc/zoneinfo.
    pub lowmem: &'a str,
    /// The arch of the scenario.
    pub arch: Arch,
    /// A load that failed before asking for any page (sanity_check's
    /// errno): accept a trace without kimage allocations.
    pub empty_ok: bool,
}

/// A capture read into a scenario.
#[derive(Debug, Clone)]
pub struct Capture {
    /// The scenario: replay list = the captured order.
    pub scenario: Scenario,
    /// What the trace held.
    pub trace: Trace,
    /// The pid of the load.
    pub pid: u32,
    /// How the lowmem line was found.
    pub lowmem_source: LowmemSource,
    /// The allocation that failed (the load's -ENOMEM), if one did.
    pub failed: Option<PageEvent>,
    /// Pages the load itself gave back (kimage_alloc_page's highmem retry,
    /// kimage_alloc_control_pages' destination pages).
    pub freed_in_load: Vec<PageEvent>,
    /// Pages `kimage_free` gave back after the load (the unload).
    pub unload_frees: Vec<PageEvent>,
    /// kimage events after the first load's kimage_free, left out.
    pub later: usize,
}

/// The summary's line for the pages the load itself freed (a count
/// follows).
pub const FREED_IN_LOAD: &str =
    "freed during the load (kimage_alloc_page, kimage_alloc_control_pages): ";
/// The summary's line for the pages kimage_free freed after the load.
pub const FREED_BY_UNLOAD: &str = "freed by kimage_free after it: ";

/// The summary's line for machine_kexec_prepare's page tables taken
/// through kimage_alloc_control_pages (x86_64; a count follows).
pub const ARCH_PAGES: &str = "machine_kexec_prepare's page tables from kimage_alloc_control_pages (x86_64's identity map, not modelled; left out of the replay and of the unload's frees): ";

/// Pages the real kernel's kimage code freed: by the load itself and by
/// `kimage_free` after it (the unload, or a failed load's clean-up).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RealFrees {
    /// During the load (kimage_alloc_page, kimage_alloc_control_pages).
    pub in_load: u64,
    /// By kimage_free after it.
    pub unload: u64,
}

impl RealFrees {
    /// The counts from an import's summary (a fixture stored as its
    /// scenario and summary); a line that is missing is 0.
    pub fn from_summary(summary: &str) -> Result<RealFrees, String> {
        let count = |prefix: &str| -> Result<u64, String> {
            summary
                .lines()
                .find_map(|l| l.strip_prefix(prefix))
                .map_or(Ok(0), |n| {
                    n.trim()
                        .parse()
                        .map_err(|_| format!("summary: {prefix}{n:?} is not a count"))
                })
        };
        Ok(RealFrees {
            in_load: count(FREED_IN_LOAD)?,
            unload: count(FREED_BY_UNLOAD)?.saturating_sub(count(ARCH_PAGES)?),
        })
    }
}

/// An import error: the input (trace, segments, iomem, lowmem) and why.
pub fn error(input: &str, message: impl Into<String>) -> InputError {
    InputError::new(input, message)
}

/// Read a capture.
pub fn import(input: ImportInput<'_>) -> Result<Capture, InputError> {
    let t = trace::read(input.trace)
        .map_err(|e| InputError::new(format!("trace line {}", e.line), e.message))?;
    import_trace(t, input)
}

/// [`import`] of a trace already read (by [`trace::read`] or
/// [`crate::raw::read`]); `input.trace` is not looked at.
pub fn import_trace(t: Trace, input: ImportInput<'_>) -> Result<Capture, InputError> {
    let segs = machine::segments(input.segments)?;
    let ram = machine::iomem(input.iomem)?;
    // Only an arch with highmem has a lowmem line (x86_64 maps all RAM).
    let (lowmem_end, lowmem_source) = if input.arch.profile().lowmem_end.is_some() {
        machine::lowmem(input.lowmem)?
    } else {
        (0, LowmemSource::Unused)
    };
    let first = t.kimage.iter().find(|k| matches!(k, KimageEvent::Alloc(_)));
    let first_pid = first.map(|k| k.page().pid);
    let Some(pid) = first_pid.or_else(|| input.empty_ok.then_some(0)) else {
        let mut who = String::new();
        for (pid, (comm, n)) in t.pids.iter().take(8) {
            let _ = write!(
                who,
                "{}{comm} (pid {pid}, {n} events)",
                if who.is_empty() { "" } else { ", " }
            );
        }
        if t.pids.len() > 8 {
            let _ = write!(who, " and {} more", t.pids.len() - 8);
        }
        let why = if t.events == 0 {
            "the trace holds no mm_page_alloc or mm_page_free event: enable events/kmem/mm_page_alloc, mm_page_free and mm_page_free_batched".to_string()
        } else if t.without_stack == t.events {
            format!("none of its {} page events has a stack trace, so none can be attributed to the kimage code: echo 1 > options/stacktrace before the load", t.events)
        } else {
            format!(
                "no allocation has kimage_alloc_pages on its stack: the capture holds other processes' allocations only ({who}); write the pid of the shell that runs kexec to set_event_pid (see the README) and capture again (or, for a load that failed before asking for any page, pass --empty-ok)"
            )
        };
        return Err(error("trace", why));
    };
    let mut replay = Vec::new();
    let mut failed = None;
    let mut freed_in_load = Vec::new();
    let mut unload_frees = Vec::new();
    let mut later = 0;
    let mut unloaded = false;
    for k in t.kimage.iter().filter(|k| k.page().pid == pid) {
        match *k {
            KimageEvent::Alloc(p) if !unloaded && failed.is_none() => match p.pfn {
                Some(pfn) => replay.push(pfn),
                None => failed = Some(p),
            },
            KimageEvent::FreeInLoad(p) if !unloaded => freed_in_load.push(p),
            KimageEvent::FreeUnload(p) if later == 0 => {
                unloaded = true;
                unload_frees.push(p);
            }
            _ => later += 1,
        }
    }
    later += t.kimage.iter().filter(|k| k.page().pid != pid).count();
    let scenario = Scenario {
        lowmem_end: input.arch.profile().lowmem_end.map(|_| lowmem_end),
        ..Scenario::new(
            input.arch,
            &ram,
            &segs,
            Policy::Replay(replay),
            &[Variant::Pointer, Variant::RfcFixed],
        )
    };
    // The model's own checks, as for a file.
    let scenario = Scenario::from_file(&scenario.to_file())?;
    Ok(Capture {
        scenario,
        trace: t,
        pid,
        lowmem_source,
        failed,
        freed_in_load,
        unload_frees,
        later,
    })
}

impl Capture {
    /// Pages `kimage_free` gave back after the load.
    pub fn unload_freed(&self) -> u64 {
        self.unload_frees.iter().map(|p| 1u64 << p.order).sum()
    }

    /// Pages the kimage code gave back, during the load and after it;
    /// kimage_free's count without the page tables machine_kexec_prepare
    /// kept (x86_64: freed with the control pages, not modelled).
    pub fn frees(&self) -> RealFrees {
        let unload = self.unload_freed();
        RealFrees {
            in_load: self.freed_in_load.iter().map(|p| 1u64 << p.order).sum(),
            unload: if unload > 0 {
                unload.saturating_sub(self.trace.arch_pages)
            } else {
                0
            },
        }
    }

    /// What the import found, for the terminal.
    pub fn summary(&self) -> String {
        let mut s = String::new();
        let n = match &self.scenario.policy {
            Policy::Replay(l) => l.len(),
            _ => 0,
        };
        let _ = writeln!(
            s,
            "trace: {} page events; the load (pid {}): {} pages from kimage_alloc_pages{}",
            self.trace.events,
            self.pid,
            n,
            match &self.failed {
                Some(p) => format!(
                    ", then a failed allocation ({} {}: the load's -ENOMEM)",
                    if self.trace.raw { "event" } else { "line" },
                    p.line
                ),
                None => String::new(),
            }
        );
        if !self.freed_in_load.is_empty() {
            let _ = writeln!(s, "{FREED_IN_LOAD}{}", self.frees().in_load);
        }
        if !self.unload_frees.is_empty() {
            let _ = writeln!(s, "{FREED_BY_UNLOAD}{}", self.unload_freed());
        }
        if self.trace.arch_pages > 0 {
            let _ = writeln!(s, "{ARCH_PAGES}{}", self.trace.arch_pages);
        }
        let dropped: u64 = self.trace.dropped_allocs.values().sum();
        let _ = writeln!(
            s,
            "dropped: {dropped} allocations not through kimage_alloc_pages, by caller:"
        );
        let mut by: Vec<_> = self.trace.dropped_allocs.iter().collect();
        by.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        for (c, k) in by.iter().take(12) {
            let _ = writeln!(s, "  {k:>9}  {c}");
        }
        if by.len() > 12 {
            let rest: u64 = by[12..].iter().map(|x| *x.1).sum();
            let _ = writeln!(s, "  {rest:>9}  ({} other callers)", by.len() - 12);
        }
        let _ = writeln!(
            s,
            "dropped: {} frees not through kimage_free_pages",
            self.trace.dropped_frees
        );
        if self.trace.without_stack > 0 {
            let _ = writeln!(
                s,
                "events without a stack trace: {}",
                self.trace.without_stack
            );
        }
        if self.later > 0 {
            let _ = writeln!(
                s,
                "left out: {} kimage events after the first load (another load, or another pid)",
                self.later
            );
        }
        if self.lowmem_source == LowmemSource::Megabytes {
            let _ = writeln!(s, "lowmem line: from \"LOWMEM available\", which the kernel prints in whole MiB: give the dmesg \"Zone ranges\" lines or /proc/zoneinfo for the exact max_low_pfn");
        }
        s
    }
}

/// A file's text, gunzipped if it is gzip (fixtures are stored so).
pub fn text_of(bytes: &[u8]) -> Result<String, String> {
    let raw = if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(bytes)
            .take(4 << 30)
            .read_to_end(&mut out)
            .map_err(|e| format!("not a readable gzip file: {e}"))?;
        out
    } else {
        bytes.to_vec()
    };
    String::from_utf8(raw)
        .map_err(|e| format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const IOMEM: &str = "00001000-0009fbff : System RAM\n00100000-7ffdffff : System RAM\n";
    const DMESG: &str = "  Normal   [mem 0x0000000001000000-0x0000000036ffdfff]\n";

    fn trace_of(events: &[(&str, u64, &[&str])]) -> String {
        let mut s = String::from("# tracer: nop\n");
        for (i, (comm, pfn, stack)) in events.iter().enumerate() {
            let _ = writeln!(s, "  {comm} [000] ..... 1.{i:06}: mm_page_alloc: page=0xf0000000 pfn=0x{pfn:x} order=0 migratetype=0 gfp_flags=GFP_KERNEL");
            let _ = writeln!(s, "  {comm} [000] ..... 1.{i:06}: <stack trace>");
            for f in *stack {
                let _ = writeln!(s, " => {f}");
            }
        }
        s
    }

    #[test]
    fn another_process_only_is_refused() {
        let t = trace_of(&[
            ("bash-7", 0x3000, &["__alloc_pages", "copy_process"]),
            ("sshd-9", 0x3001, &["__alloc_pages", "new_slab"]),
        ]);
        let e = import(ImportInput {
            trace: &t,
            segments: "4096 0x100000 4096",
            iomem: IOMEM,
            lowmem: DMESG,
            arch: Arch::I386Pae,
            empty_ok: false,
        })
        .unwrap_err();
        assert_eq!(e.field, "trace");
        assert!(e.message.contains("other processes' allocations only (bash (pid 7, 1 events), sshd (pid 9, 1 events))"), "{e}");
        assert!(e.message.contains("set_event_pid"));
    }

    #[test]
    fn a_small_load_becomes_a_scenario() {
        let k: &[&str] = &[
            "__alloc_pages",
            "kimage_alloc_pages",
            "kimage_alloc_control_pages",
        ];
        let t = trace_of(&[
            ("kexec-5", 0x2000, k),
            (
                "kexec-5",
                0x2100,
                &["__alloc_pages", "machine_kexec_prepare"],
            ),
            ("kexec-5", 0x2001, k),
            ("kexec-5", 0x2002, k),
            ("kexec-5", 0x50000, k),
        ]);
        let c = import(ImportInput {
            trace: &t,
            segments: "4096 0x100000 4096",
            iomem: IOMEM,
            lowmem: DMESG,
            arch: Arch::I386Pae,
            empty_ok: false,
        })
        .unwrap();
        assert_eq!(
            c.scenario.policy,
            Policy::Replay(vec![0x2000, 0x2001, 0x2002, 0x50000])
        );
        assert_eq!(c.scenario.lowmem_end, Some(0x36ffe000));
        assert_eq!(
            c.trace.dropped_allocs.get("machine_kexec_prepare"),
            Some(&1)
        );
        assert!(c.summary().contains("4 pages from kimage_alloc_pages"));
    }
}
