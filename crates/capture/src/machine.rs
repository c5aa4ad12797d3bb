//! The machine and the load as a real system reports them: the segments
//! kexec-tools passed (`kexec -d` prints them with `print_segments`), the
//! RAM (`/proc/iomem`'s top-level "System RAM" lines) and the lowmem line
//! (max_low_pfn: the dmesg "Zone ranges" Normal line or /proc/zoneinfo,
//! exact; the dmesg "NNNMB LOWMEM available." line, to the MiB only).

use kexec_common::input::{parse_num, quoted, InputError};
use kexec_core::arch::PAGE_SIZE;

/// One segment: (bufsz, mem, memsz).
pub type Seg = (u64, u64, u64);

fn err(field: &str, line: usize, msg: impl Into<String>) -> InputError {
    InputError::new(format!("{field} line {line}"), msg)
}

/// Segments from kexec-tools `-d` output (`segment[i].bufsz = 0x…`,
/// `.mem`, `.memsz`; other lines ignored) or a hand list (one segment a
/// line: `BUFSZ MEM MEMSZ`, numbers as in scenario files, `#` comments).
pub fn segments(text: &str) -> Result<Vec<Seg>, InputError> {
    let mut by_index: Vec<[Option<u64>; 3]> = Vec::new();
    let mut hand = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let t = raw.split('#').next().unwrap_or("").trim();
        if t.is_empty() {
            continue;
        }
        if let Some(rest) = t.strip_prefix("segment[") {
            let Some((idx, rest)) = rest.split_once("].") else {
                return Err(err(
                    "segments",
                    n,
                    format!("{} is not segment[I].FIELD = VALUE", quoted(t)),
                ));
            };
            let Some((name, value)) = rest.split_once('=') else {
                return Err(err("segments", n, format!("{} has no = VALUE", quoted(t))));
            };
            let idx: usize = idx.parse().ok().filter(|&i| i < 256).ok_or_else(|| {
                err(
                    "segments",
                    n,
                    format!("{} is not a segment index", quoted(idx)),
                )
            })?;
            let slot = match name.trim() {
                "bufsz" => 0,
                "mem" => 1,
                "memsz" => 2,
                _ => continue, // .buf: a user-space address
            };
            let v = parse_num(value.trim()).map_err(|m| err("segments", n, m))?;
            if by_index.len() <= idx {
                by_index.resize(idx + 1, [None; 3]);
            }
            by_index[idx][slot] = Some(v);
            continue;
        }
        if t.starts_with("nr_segments") || t.contains(':') || t.contains('=') {
            continue; // kexec -d's other lines
        }
        let f: Vec<&str> = t.split_whitespace().collect();
        if f.len() != 3 {
            return Err(err(
                "segments",
                n,
                format!(
                    "{} is not BUFSZ MEM MEMSZ (or kexec -d's segment[I].FIELD = VALUE)",
                    quoted(t)
                ),
            ));
        }
        let num = |s: &str| parse_num(s).map_err(|m| err("segments", n, m));
        hand.push((num(f[0])?, num(f[1])?, num(f[2])?));
    }
    if !by_index.is_empty() && !hand.is_empty() {
        return Err(InputError::new(
            "segments",
            "both kexec -d lines and a hand list: give one",
        ));
    }
    if hand.is_empty() {
        for (i, s) in by_index.iter().enumerate() {
            match s {
                [Some(b), Some(m), Some(z)] => hand.push((*b, *m, *z)),
                _ => {
                    return Err(InputError::new(
                        format!("segments[{i}]"),
                        "kexec -d output without its bufsz, mem and memsz lines (truncated?)",
                    ))
                }
            }
        }
    }
    if hand.is_empty() {
        return Err(InputError::new(
            "segments",
            "no segments (give kexec -d output or BUFSZ MEM MEMSZ lines)",
        ));
    }
    Ok(hand)
}

/// RAM byte ranges `[start, end)` from /proc/iomem's top-level "System
/// RAM" lines, rounded inwards to pages.
pub fn iomem(text: &str) -> Result<Vec<(u64, u64)>, InputError> {
    let mut out: Vec<(u64, u64)> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        if raw.starts_with(' ') || raw.trim().is_empty() {
            continue;
        }
        let Some((range, name)) = raw.split_once(" : ") else {
            return Err(err(
                "iomem",
                n,
                format!("{} is not START-END : NAME", quoted(raw)),
            ));
        };
        if name.trim() != "System RAM" {
            continue;
        }
        let parse = |s: &str| {
            u64::from_str_radix(s.trim(), 16)
                .map_err(|_| err("iomem", n, format!("{} is not a hex address", quoted(s))))
        };
        let (s, e) = range
            .split_once('-')
            .ok_or_else(|| err("iomem", n, format!("{} is not START-END", quoted(range))))?;
        let (s, e) = (parse(s)?, parse(e)?);
        if s == 0 && e == 0 {
            return Err(err(
                "iomem",
                n,
                "the addresses are zeros: /proc/iomem shows them to root only; read it as root",
            ));
        }
        let start = s.div_ceil(PAGE_SIZE) * PAGE_SIZE;
        let end = (e + 1) / PAGE_SIZE * PAGE_SIZE;
        if start < end {
            if out.last().is_some_and(|&(_, pe)| pe > start) {
                return Err(err(
                    "iomem",
                    n,
                    "System RAM ranges out of order or overlapping",
                ));
            }
            out.push((start, end));
        }
    }
    if out.is_empty() {
        return Err(InputError::new("iomem", "no \"System RAM\" line"));
    }
    Ok(out)
}

/// How the lowmem line was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LowmemSource {
    /// dmesg's "Zone ranges" Normal line or /proc/zoneinfo: exact.
    Exact,
    /// dmesg's "NNNMB LOWMEM available.": max_low_pfn to the MiB below.
    Megabytes,
    /// Not read: the arch has no highmem (x86_64 maps all of RAM).
    Unused,
}

/// The lowmem line (max_low_pfn x PAGE_SIZE) from dmesg or /proc/zoneinfo:
/// the end of ZONE_NORMAL (dmesg `Normal   [mem 0x…-0x…]`; zoneinfo's
/// Normal zone `start_pfn` + `spanned`), else dmesg's "LOWMEM available"
/// line, which the kernel prints in whole MiB (pages_to_mb(max_low_pfn)).
pub fn lowmem(text: &str) -> Result<(u64, LowmemSource), InputError> {
    let mut zone_normal = false;
    let mut start_pfn = None;
    let mut spanned = None;
    let mut mb = None;
    for raw in text.lines() {
        let t = raw.trim();
        // dmesg: "[    0.000000]   Normal   [mem 0x0000000001000000-0x0000000036ffdfff]"
        let t_nots = t
            .rsplit_once("] ")
            .map_or(t, |(a, b)| {
                if a.starts_with('[') && !a.contains("mem ") {
                    b
                } else {
                    t
                }
            })
            .trim();
        if let Some(r) = t_nots.strip_prefix("Normal") {
            if let Some(range) = r
                .trim()
                .strip_prefix("[mem ")
                .and_then(|r| r.strip_suffix(']'))
            {
                if let Some((_, e)) = range.split_once('-') {
                    let e = e.trim_start_matches("0x");
                    if let Ok(end) = u64::from_str_radix(e, 16) {
                        return Ok((end + 1, LowmemSource::Exact));
                    }
                }
            }
        }
        // zoneinfo: "Node 0, zone   Normal", then "  spanned  …" and "  start_pfn:  …".
        if t.starts_with("Node ") {
            zone_normal = t.ends_with(" Normal");
            continue;
        }
        if zone_normal {
            if let Some(v) = t.strip_prefix("spanned") {
                spanned = v.trim().parse::<u64>().ok();
            } else if let Some(v) = t.strip_prefix("start_pfn:") {
                start_pfn = v.trim().parse::<u64>().ok();
            }
            if let (Some(s), Some(n)) = (start_pfn, spanned) {
                return Ok(((s + n) * PAGE_SIZE, LowmemSource::Exact));
            }
        }
        if let Some(i) = t.find("MB LOWMEM available") {
            let digits: String = t[..i]
                .chars()
                .rev()
                .take_while(char::is_ascii_digit)
                .collect();
            mb = digits.chars().rev().collect::<String>().parse::<u64>().ok();
        }
    }
    match mb {
        Some(m) => Ok((m << 20, LowmemSource::Megabytes)),
        None => Err(InputError::new(
            "lowmem",
            "no lowmem line: give dmesg (its \"Zone ranges\" Normal line or \"NNNMB LOWMEM available.\") or /proc/zoneinfo",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kexec_d_segments() {
        let text = "\
nr_segments = 2
segment[0].buf   = 0x8c5f008
segment[0].bufsz = 0x506e
segment[0].mem   = 0x3000
segment[0].memsz = 0x6000
segment[1].buf   = 0x8c64080
segment[1].bufsz = 0x30
segment[1].mem   = 0x100000
segment[1].memsz = 0x1000
";
        assert_eq!(
            segments(text).unwrap(),
            vec![(0x506e, 0x3000, 0x6000), (0x30, 0x100000, 0x1000)]
        );
        assert_eq!(
            segments("4096 0x100000 4096 # one page\n").unwrap(),
            vec![(4096, 0x100000, 4096)]
        );
        let e = segments("4096 0x100000\n").unwrap_err();
        assert_eq!(e.field, "segments line 1");
        let e = segments(&text.replace("segment[1].memsz = 0x1000\n", "")).unwrap_err();
        assert_eq!(e.field, "segments[1]");
    }

    #[test]
    fn iomem_system_ram() {
        let text = "\
00000000-00000fff : Reserved
00001000-0009fbff : System RAM
000a0000-000bffff : PCI Bus 0000:00
00100000-7ffdffff : System RAM
  01000000-01a00000 : Kernel code
100000000-23fffffff : System RAM
";
        assert_eq!(
            iomem(text).unwrap(),
            vec![
                (0x1000, 0x9f000),
                (0x100000, 0x7ffe0000),
                (0x1_0000_0000, 0x2_4000_0000)
            ]
        );
        assert!(iomem("00000000-00000000 : System RAM\n")
            .unwrap_err()
            .message
            .contains("as root"));
    }

    #[test]
    fn lowmem_lines() {
        let dmesg = "[    0.000000] Zone ranges:\n[    0.000000]   DMA      [mem 0x0000000000001000-0x0000000000ffffff]\n[    0.000000]   Normal   [mem 0x0000000001000000-0x0000000036ffdfff]\n[    0.000000]   HighMem  [mem 0x0000000036ffe000-0x000000023fffffff]\n[    0.000000] 879MB LOWMEM available.\n";
        assert_eq!(lowmem(dmesg).unwrap(), (0x36ffe000, LowmemSource::Exact));
        assert_eq!(
            lowmem("[    0.000000] 879MB LOWMEM available.\n").unwrap(),
            (879 << 20, LowmemSource::Megabytes)
        );
        let zi = "Node 0, zone      DMA\n  pages free     3977\n        spanned  4095\n  start_pfn:           1\nNode 0, zone   Normal\n  pages free     200000\n        spanned  221182\n        present  221182\n  start_pfn:           4096\n";
        assert_eq!(lowmem(zi).unwrap(), (0x36ffe000, LowmemSource::Exact));
    }
}
