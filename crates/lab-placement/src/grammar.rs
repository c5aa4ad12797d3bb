//! The text of the placement form: how the page's fields write a
//! scenario's parts and read them back.
//!
//! One System RAM range per line, `start-end [node=N] [hotpluggable]
//! [driver-managed]` (the e820 range with its SRAT node and flags, `end`
//! exclusive as in the file); one memblock reservation per line,
//! `start-end [what it is]`; one extra buffer per line, `name memsz
//! align=A [buf_min=N] [buf_max=N] [bottom-up]`; sizes and addresses as
//! [`kexec_common::input::parse_num`] reads them (`0x…`, decimal, or a
//! memparse size such as `48M`); `crashkernel=` values as written, empty
//! for none. Blank lines are skipped; a bad line is an [`InputError`]
//! naming its field and line (`ram[1]`, counting the lines that are not
//! blank) and quoting the word it could not read. Only the form's syntax
//! is checked here: what the kernel would refuse (overlapping ranges, a
//! bad alignment) is [`crate::scenario`]'s to say. Pure: no page, no IO.

use crate::scenario::{ExtraSpec, RamSpec, ReservedSpec};
use kexec_common::input::{parse_num, quoted, InputError, Num};
use kexec_common::text::memparse_text;

/// A number as the form shows it: `0x…`.
pub fn num_text(n: Num) -> String {
    format!("0x{:x}", n.0)
}

/// A number field (`field` names it in the error).
pub fn parse_size(field: &str, text: &str) -> Result<Num, InputError> {
    parse_num(text)
        .map(Num)
        .map_err(|m| InputError::new(field, m))
}

/// An optional text field (`crashkernel=`): empty for none.
pub fn optional_text(v: &Option<String>) -> String {
    v.clone().unwrap_or_default()
}

/// An optional text field as typed: trimmed, `None` when empty.
pub fn parse_optional(text: &str) -> Option<String> {
    Some(text.trim().to_string()).filter(|t| !t.is_empty())
}

/// The lines of a list field that are not blank, numbered from 0, each
/// with its error maker for `field[i]`.
fn lines<'a>(
    field: &'a str,
    text: &'a str,
) -> impl Iterator<Item = (&'a str, impl Fn(String) -> InputError + 'a)> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(move |(i, line)| {
            (line, move |m: String| {
                InputError::new(format!("{field}[{i}]"), m)
            })
        })
}

/// `start-end`.
fn parse_range(word: &str) -> Result<(Num, Num), String> {
    let (s, e) = word
        .split_once('-')
        .ok_or_else(|| format!("{} is not start-end", quoted(word)))?;
    Ok((Num(parse_num(s)?), Num(parse_num(e)?)))
}

/// One RAM line.
pub fn ram_line(r: &RamSpec) -> String {
    let mut s = format!("{}-{}", num_text(r.start), num_text(r.end));
    if r.node != 0 {
        s += &format!(" node={}", r.node);
    }
    if r.hotpluggable {
        s += " hotpluggable";
    }
    if r.driver_managed {
        s += " driver-managed";
    }
    s
}

/// The RAM field: one range per line.
pub fn ram_text(ram: &[RamSpec]) -> String {
    ram.iter().map(ram_line).collect::<Vec<_>>().join("\n")
}

/// Read the RAM field.
pub fn parse_ram(text: &str) -> Result<Vec<RamSpec>, InputError> {
    let mut out = Vec::new();
    for (line, bad) in lines("ram", text) {
        let mut words = line.split_whitespace();
        let (start, end) = parse_range(words.next().unwrap_or_default()).map_err(&bad)?;
        let mut r = RamSpec {
            start,
            end,
            node: 0,
            hotpluggable: false,
            driver_managed: false,
        };
        for w in words {
            if let Some(n) = w.strip_prefix("node=") {
                r.node = n
                    .parse()
                    .map_err(|_| bad(format!("{}: node=N", quoted(w))))?;
            } else if w == "hotpluggable" {
                r.hotpluggable = true;
            } else if w == "driver-managed" {
                r.driver_managed = true;
            } else {
                return Err(bad(format!(
                    "{} (valid: node=N, hotpluggable, driver-managed)",
                    quoted(w)
                )));
            }
        }
        out.push(r);
    }
    Ok(out)
}

/// The reservations field: `start-end what` per line.
pub fn reserved_text(reserved: &[ReservedSpec]) -> String {
    reserved
        .iter()
        .map(|r| {
            let range = format!("{}-{}", num_text(r.start), num_text(r.end));
            if r.what.is_empty() {
                range
            } else {
                format!("{range} {}", r.what)
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Read the reservations field.
pub fn parse_reserved(text: &str) -> Result<Vec<ReservedSpec>, InputError> {
    let mut out = Vec::new();
    for (line, bad) in lines("reserved", text) {
        let line = line.trim();
        let (range, what) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let (start, end) = parse_range(range).map_err(&bad)?;
        out.push(ReservedSpec {
            start,
            end,
            what: what.trim().to_string(),
        });
    }
    Ok(out)
}

/// The extra buffers field: `name memsz align=A [buf_min=N] [buf_max=N]
/// [bottom-up]` per line.
pub fn extra_text(extra: &[ExtraSpec]) -> String {
    extra
        .iter()
        .map(|e| {
            let mut s = format!(
                "{} {} align={}",
                e.name,
                memparse_text(e.memsz.0),
                memparse_text(e.align.0)
            );
            if e.buf_min.0 != 0 {
                s += &format!(" buf_min={}", num_text(e.buf_min));
            }
            if let Some(max) = e.buf_max {
                s += &format!(" buf_max={}", num_text(max));
            }
            if !e.top_down {
                s += " bottom-up";
            }
            s
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// One `key=value` or flag word of an extra buffer line.
fn extra_word(e: &mut ExtraSpec, align: &mut Option<Num>, w: &str) -> Result<(), String> {
    let num = |v: &str| parse_num(v).map(Num);
    match w.split_once('=') {
        Some(("align", v)) => *align = Some(num(v)?),
        Some(("buf_min", v)) => e.buf_min = num(v)?,
        Some(("buf_max", v)) => e.buf_max = Some(num(v)?),
        None if w == "bottom-up" => e.top_down = false,
        _ => {
            return Err(format!(
                "{} (valid: align=A, buf_min=N, buf_max=N, bottom-up)",
                quoted(w)
            ))
        }
    }
    Ok(())
}

/// Read the extra buffers field (`buffers.extra`).
pub fn parse_extra(text: &str) -> Result<Vec<ExtraSpec>, InputError> {
    let mut out = Vec::new();
    for (line, bad) in lines("buffers.extra", text) {
        let mut words = line.split_whitespace();
        let name = words.next().unwrap_or_default().to_string();
        let memsz = words.next().ok_or_else(|| {
            bad(format!(
                "{}: give its size (name memsz align=A)",
                quoted(&name)
            ))
        })?;
        let mut e = ExtraSpec {
            name,
            memsz: Num(parse_num(memsz).map_err(&bad)?),
            align: Num(0),
            buf_min: Num(0),
            buf_max: None,
            top_down: true,
        };
        let mut align = None;
        for w in words {
            extra_word(&mut e, &mut align, w).map_err(&bad)?;
        }
        e.align = align.ok_or_else(|| bad(format!("{}: align=A is missing", quoted(&e.name))))?;
        out.push(e);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::presets::presets;
    use kexec_common::units::MIB;

    #[test]
    fn every_preset_round_trips() {
        for p in presets() {
            let f = p.scenario.to_file();
            assert_eq!(parse_ram(&ram_text(&f.ram)).unwrap(), f.ram, "{}", p.name);
            assert_eq!(
                parse_reserved(&reserved_text(&f.reserved)).unwrap(),
                f.reserved,
                "{}",
                p.name
            );
            assert_eq!(
                parse_extra(&extra_text(&f.buffers.extra)).unwrap(),
                f.buffers.extra,
                "{}",
                p.name
            );
            for n in [f.buffers.kernel, f.buffers.initrd] {
                assert_eq!(parse_size("buffers.kernel", &num_text(n)), Ok(n));
            }
            for o in [&f.crashkernel, &f.crashkernel_low] {
                assert_eq!(&parse_optional(&optional_text(o)), o, "{}", p.name);
            }
        }
    }

    #[test]
    fn the_text_reads_as_shown() {
        let ram = "0x1000-0xa0000\n\n  0x100000-3G\n8G-16G node=1 hotpluggable\n16G-20G node=1 driver-managed";
        let r = parse_ram(ram).unwrap();
        assert_eq!(r.len(), 4);
        assert_eq!(r[1].end, Num(3 << 30));
        assert!(r[2].hotpluggable && r[2].node == 1 && !r[2].driver_managed);
        assert!(r[3].driver_managed);
        assert_eq!(
            ram_line(&r[2]),
            "0x200000000-0x400000000 node=1 hotpluggable"
        );
        let extra = "setup_data 0x1000 align=0x1000\nfw 2M align=2M buf_min=0x100000 buf_max=0xffffffff bottom-up";
        let e = parse_extra(extra).unwrap();
        assert_eq!(e[1].memsz, Num(2 * MIB));
        assert_eq!(e[1].buf_max, Some(Num(0xffff_ffff)));
        assert!(e[0].top_down && !e[1].top_down);
        assert_eq!(extra_text(&e), extra);
        assert_eq!(parse_extra(&extra_text(&e)).unwrap(), e);
        let res = parse_reserved("0x0-0x100000\n0x1000000-80M  running kernel image ").unwrap();
        assert_eq!(res[0].what, "");
        assert_eq!(res[1].what, "running kernel image");
        assert_eq!(res[1].end, Num(80 * MIB));
        assert_eq!(parse_size("buffers.kernel", "48M"), Ok(Num(48 * MIB)));
        assert_eq!(parse_optional("  "), None);
        assert_eq!(parse_optional(" 512M,high "), Some("512M,high".into()));
    }

    #[test]
    fn a_bad_line_names_its_field_and_line() {
        let e = parse_ram("0x1000-0xa0000\n\n0x100000").unwrap_err();
        assert_eq!(e.field, "ram[1]", "blank lines are not counted");
        assert!(e.message.contains("\"0x100000\" is not start-end"), "{e}");
        let e = parse_ram("0x1000-0xzz").unwrap_err();
        assert_eq!(e.field, "ram[0]");
        assert!(e.message.contains("0xzz"), "{e}");
        let e = parse_ram("0x1000-0x2000 node=one").unwrap_err();
        assert!(e.message.contains("node=N"), "{e}");
        let e = parse_ram("0x1000-0x2000\n0x2000-0x3000 sideways").unwrap_err();
        assert_eq!(e.field, "ram[1]");
        assert!(e.message.contains("\"sideways\" (valid: node=N"), "{e}");
        let e = parse_reserved("0x0-0x1000 low\nfirst MiB").unwrap_err();
        assert_eq!(e.field, "reserved[1]");
        assert!(e.message.contains("\"first\""), "{e}");
        let e = parse_extra("a 0x1000 align=0x1000\nb 0x1000").unwrap_err();
        assert_eq!(e.field, "buffers.extra[1]");
        assert!(e.message.contains("align=A is missing"), "{e}");
        let e = parse_extra("a 0x1000 align=0x1000 top").unwrap_err();
        assert_eq!(e.field, "buffers.extra[0]");
        assert!(e.message.contains("\"top\" (valid:"), "{e}");
        let e = parse_extra("a").unwrap_err();
        assert!(e.message.contains("give its size"), "{e}");
        let e = parse_extra("a lots align=4K").unwrap_err();
        assert!(e.message.contains("\"lots\""), "{e}");
        let e = parse_size("buffers.initrd", "big").unwrap_err();
        assert_eq!(e.field, "buffers.initrd");
    }
}
