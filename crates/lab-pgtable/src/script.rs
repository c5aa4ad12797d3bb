//! The lab's script: one operation per line, its grammar and its text.
//!
//! `ioremap VA PA SIZE`, `iounmap VA`, `access VA cpu=N` (a load),
//! `speculate VA cpu=N` (a speculative walk: caches, never faults),
//! `reuse [fill=WORD]` (someone else gets the most recently freed page and
//! fills it), `fail-next-alloc`. Numbers are read as the kernel's
//! `memparse` (lib/cmdline.c) reads them: decimal or `0x` hex, with an
//! optional K/M/G/T/P/E suffix. No kernel code reads such a script: it
//! stands for what drivers (`ioremap`, `iounmap`), CPUs (loads and the
//! speculative walks the Intel SDM allows, §4.10.3) and the page allocator
//! do in the 2018 thread's story.

use kexec_common::input::{memparse, quoted};
use kexec_common::text::memparse_text;
use kexec_common::units::KIB;

/// The operations, as the script's help and its errors list them.
pub const OPS: [&str; 6] = [
    "ioremap VA PA SIZE",
    "iounmap VA",
    "access VA cpu=N",
    "speculate VA cpu=N",
    "reuse [fill=WORD]",
    "fail-next-alloc",
];

/// A script operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `ioremap VA PA SIZE`.
    Ioremap {
        /// Virtual address.
        va: u64,
        /// Physical address.
        pa: u64,
        /// Bytes.
        size: u64,
    },
    /// `iounmap VA`.
    Iounmap {
        /// The ioremap's VA.
        va: u64,
    },
    /// `access VA cpu=N`: CPU N loads from VA (a page fault drops the
    /// paging-structure-cache entries for VA).
    Access {
        /// Virtual address.
        va: u64,
        /// CPU.
        cpu: usize,
    },
    /// `speculate VA cpu=N`: CPU N walks VA speculatively: it caches what
    /// it walks through and never faults.
    Speculate {
        /// Virtual address.
        va: u64,
        /// CPU.
        cpu: usize,
    },
    /// `reuse fill=WORD`: the next page allocation (the most recently
    /// freed page) goes to someone else, who fills it with WORD.
    Reuse {
        /// The 64-bit word written all over the page.
        fill: u64,
    },
    /// `fail-next-alloc`: the next page allocation fails.
    FailNextAlloc,
}

/// The default `reuse` fill: a word that reads as a present 4 KiB PTE for
/// 0xfee00000, the local APIC's MMIO page.
pub const DEFAULT_FILL: u64 = 0xfee0_0163;

impl Op {
    /// The script line.
    pub fn line(&self) -> String {
        match *self {
            Op::Ioremap { va, pa, size } => {
                format!("ioremap 0x{va:x} 0x{pa:x} {}", size_arg(size))
            }
            Op::Iounmap { va } => format!("iounmap 0x{va:x}"),
            Op::Access { va, cpu } => format!("access 0x{va:x} cpu={cpu}"),
            Op::Speculate { va, cpu } => format!("speculate 0x{va:x} cpu={cpu}"),
            Op::Reuse { fill } if fill == DEFAULT_FILL => "reuse".into(),
            Op::Reuse { fill } => format!("reuse fill=0x{fill:x}"),
            Op::FailNextAlloc => "fail-next-alloc".into(),
        }
    }

    /// Parse a script line.
    pub fn parse(line: &str, cpus: usize) -> Result<Op, String> {
        let mut w = line.split_whitespace();
        let cmd = w.next().unwrap_or_default();
        let num = |t: Option<&str>, what: &str| -> Result<u64, String> {
            let t = t.ok_or_else(|| format!("{cmd}: {what} missing"))?;
            match memparse(t) {
                Ok((n, "")) => Ok(n),
                Ok((_, rest)) => Err(format!("{cmd}: {} after the {what}", quoted(rest))),
                Err(e) => Err(format!("{cmd}: {what}: {e}")),
            }
        };
        let op = match cmd {
            "ioremap" => Op::Ioremap {
                va: num(w.next(), "VA")?,
                pa: num(w.next(), "PA")?,
                size: num(w.next(), "SIZE")?,
            },
            "iounmap" => Op::Iounmap {
                va: num(w.next(), "VA")?,
            },
            "access" | "speculate" => {
                let va = num(w.next(), "VA")?;
                let cpu = match w.next() {
                    None => 0,
                    Some(c) => c
                        .strip_prefix("cpu=")
                        .and_then(|n| n.parse().ok())
                        .ok_or_else(|| format!("{cmd}: {} (cpu=N)", quoted(c)))?,
                };
                if cpu >= cpus {
                    return Err(format!(
                        "{cmd}: cpu={cpu}, the machine has CPUs 0 to {}",
                        cpus - 1
                    ));
                }
                if cmd == "access" {
                    Op::Access { va, cpu }
                } else {
                    Op::Speculate { va, cpu }
                }
            }
            "reuse" => {
                let fill = match w.next() {
                    None => DEFAULT_FILL,
                    Some(f) => {
                        let f = f
                            .strip_prefix("fill=")
                            .ok_or_else(|| format!("reuse: {} (fill=WORD)", quoted(f)))?;
                        num(Some(f), "fill")?
                    }
                };
                Op::Reuse { fill }
            }
            "fail-next-alloc" => Op::FailNextAlloc,
            other => return Err(format!("{} (valid: {})", quoted(other), OPS.join(", "))),
        };
        if let Some(extra) = w.next() {
            return Err(format!("{cmd}: unexpected {}", quoted(extra)));
        }
        Ok(op)
    }
}

/// A size as a script argument: `1G`, `2M`, `4K`, else hex.
fn size_arg(n: u64) -> String {
    let t = memparse_text(n);
    if t.starts_with("0x") && n >= KIB && n.is_multiple_of(KIB) {
        format!("{}K", n / KIB)
    } else {
        t
    }
}

/// The script text of `ops`: one line each.
pub fn script_text(ops: &[Op]) -> String {
    ops.iter().map(Op::line).collect::<Vec<_>>().join("\n")
}

/// The lines of a script text: trimmed, blank lines dropped.
pub fn script_lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip() {
        for line in [
            "ioremap 0xffffc90000200000 0xfe000000 4K",
            "ioremap 0xffffc90040000000 0x4000000000 1G",
            "ioremap 0xffffc90000200000 0xfe000000 2M",
            "ioremap 0xffffc90000200000 0xfe000000 0x1234",
            "ioremap 0xffffc90000200000 0xfe000000 6K",
            "iounmap 0xffffc90000200000",
            "access 0xffffc90000200000 cpu=1",
            "speculate 0xffffc90000200000 cpu=0",
            "reuse",
            "reuse fill=0x63",
            "fail-next-alloc",
        ] {
            assert_eq!(Op::parse(line, 2).unwrap().line(), line);
        }
        // Suffixes and decimal are read, and written back in the short form.
        assert_eq!(
            Op::parse("ioremap 0xffffc90000200000 4064M 8192", 1)
                .unwrap()
                .line(),
            "ioremap 0xffffc90000200000 0xfe000000 8K"
        );
        assert_eq!(
            Op::parse("access 0x1000", 1).unwrap(),
            Op::Access { va: 0x1000, cpu: 0 }
        );
        assert_eq!(size_arg(0), "0x0");
        assert_eq!(size_arg(1 << 21), "2M");
    }

    #[test]
    fn bad_lines_say_what_is_wrong() {
        let e = |l: &str| Op::parse(l, 2).unwrap_err();
        assert!(e("remap 0x1").contains("valid: ioremap VA PA SIZE, iounmap VA"));
        assert_eq!(e("iounmap"), "iounmap: VA missing");
        assert_eq!(e("iounmap 0x1000x"), "iounmap: \"x\" after the VA");
        assert_eq!(
            e("access 0x1000 cpu=2"),
            "access: cpu=2, the machine has CPUs 0 to 1"
        );
        assert_eq!(e("access 0x1000 cpu"), "access: \"cpu\" (cpu=N)");
        assert_eq!(e("reuse 0x63"), "reuse: \"0x63\" (fill=WORD)");
        assert_eq!(
            e("fail-next-alloc now"),
            "fail-next-alloc: unexpected \"now\""
        );
    }

    #[test]
    fn script_text_and_lines() {
        let ops = [Op::Iounmap { va: 0x1000 }, Op::FailNextAlloc];
        let t = script_text(&ops);
        assert_eq!(t, "iounmap 0x1000\nfail-next-alloc");
        assert_eq!(
            script_lines(&format!("  {t}  \n\n   \n")),
            vec!["iounmap 0x1000", "fail-next-alloc"]
        );
    }
}
