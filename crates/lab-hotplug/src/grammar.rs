//! The one-line text form of the lab's requests, as the web view's form
//! takes them: one ACPI memory device per line,
//! `START SIZE [node=N] [online=offline|kernel|movable] [ranges=SIZE]`,
//! and one `offline_and_remove_memory` call per line, `START SIZE`.
//! Numbers are read as the kernel's `memparse` (lib/cmdline.c) reads a
//! command line (`0x100000000`, `10G`, `128M`) and written back the same
//! way ([`memparse_text`]), so a file's requests survive the round trip.
//!
//! Only the syntax is checked here; what the values mean (a known online
//! type, a node in range) is [`HotplugScenario::from_file`]'s to check,
//! with the same field names (`add[2].size`).
//!
//! [`HotplugScenario::from_file`]: crate::scenario::HotplugScenario::from_file

use crate::scenario::{AddSpec, RemoveSpec};
use kexec_common::input::{memparse, quoted};
use kexec_common::text::memparse_text;
use kexec_common::{InputError, Num};

/// A size or address as `memparse` reads it ("10G", "0x8000000"), nothing
/// after it; an error names `field`.
pub fn parse_size(field: &str, text: &str) -> Result<Num, InputError> {
    match memparse(text.trim()) {
        Ok((n, "")) => Ok(Num(n)),
        Ok((_, rest)) => Err(InputError::new(
            field,
            format!("{} after the number", quoted(rest)),
        )),
        Err(m) => Err(InputError::new(field, m)),
    }
}

/// The non-empty lines of a list, numbered as the file's list is.
fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines().filter(|l| !l.trim().is_empty()).enumerate()
}

/// `START SIZE` at the head of a line's words.
fn start_size<'a>(
    words: &mut impl Iterator<Item = &'a str>,
    what: &str,
) -> Result<(Num, Num), InputError> {
    let start = parse_size("start", words.next().unwrap_or_default())?;
    let size = match words.next() {
        Some(w) => parse_size("size", w)?,
        None => {
            return Err(InputError::new(
                "size",
                format!("missing: {what} is START SIZE"),
            ))
        }
    };
    Ok((start, size))
}

/// One hot-add line.
fn parse_add(line: &str) -> Result<AddSpec, InputError> {
    let mut words = line.split_whitespace();
    let (start, size) = start_size(&mut words, "a hot-add")?;
    let mut a = AddSpec {
        start,
        size,
        node: 0,
        online: "offline".into(),
        range_size: None,
    };
    for word in words {
        if let Some(n) = word.strip_prefix("node=") {
            a.node = n
                .parse()
                .map_err(|_| InputError::new("node", format!("{}: node=N", quoted(word))))?;
        } else if let Some(o) = word.strip_prefix("online=") {
            a.online = o.into();
        } else if let Some(r) = word.strip_prefix("ranges=") {
            a.range_size = Some(parse_size("range_size", r)?);
        } else {
            return Err(InputError::new(
                "",
                format!(
                    "{} (valid: node=N, online=offline|kernel|movable, ranges=SIZE)",
                    quoted(word)
                ),
            ));
        }
    }
    Ok(a)
}

/// The hot-add list, one device per line; an error names the request
/// (`add[1]`) and its field.
pub fn parse_adds(text: &str) -> Result<Vec<AddSpec>, InputError> {
    lines(text)
        .map(|(i, line)| parse_add(line).map_err(|e| e.under(&format!("add[{i}]"))))
        .collect()
}

/// The removal list, one `START SIZE` per line; an error names the
/// request (`remove[0]`) and its field.
pub fn parse_removes(text: &str) -> Result<Vec<RemoveSpec>, InputError> {
    lines(text)
        .map(|(i, line)| {
            let mut words = line.split_whitespace();
            let (start, size) = start_size(&mut words, "a removal")
                .map_err(|e| e.under(&format!("remove[{i}]")))?;
            match words.next() {
                Some(extra) => Err(InputError::new(
                    format!("remove[{i}]"),
                    format!("{}: a removal is START SIZE", quoted(extra)),
                )),
                None => Ok(RemoveSpec { start, size }),
            }
        })
        .collect()
}

/// The hot-add list as text, one device per line (what [`parse_adds`]
/// reads back).
pub fn adds_text(adds: &[AddSpec]) -> String {
    adds.iter()
        .map(|a| {
            let mut s = format!("0x{:x} {}", a.start.0, memparse_text(a.size.0));
            if a.node != 0 {
                s += &format!(" node={}", a.node);
            }
            s += &format!(" online={}", a.online);
            if let Some(r) = a.range_size {
                s += &format!(" ranges={}", memparse_text(r.0));
            }
            s
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The removal list as text, one call per line (what [`parse_removes`]
/// reads back).
pub fn removes_text(removes: &[RemoveSpec]) -> String {
    removes
        .iter()
        .map(|r| format!("0x{:x} {}", r.start.0, memparse_text(r.size.0)))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::presets::presets;

    #[test]
    fn every_preset_round_trips() {
        for p in presets() {
            let f = p.scenario.to_file();
            let adds = adds_text(&f.add);
            assert_eq!(parse_adds(&adds).unwrap(), f.add, "{}: {adds}", p.name);
            let removes = removes_text(&f.remove);
            assert_eq!(
                parse_removes(&removes).unwrap(),
                f.remove,
                "{}: {removes}",
                p.name
            );
        }
    }

    #[test]
    fn texts_are_what_a_command_line_says() {
        let f = crate::presets::find_preset("hotplug-per-block")
            .unwrap()
            .scenario
            .to_file();
        assert_eq!(
            adds_text(&f.add),
            "0x100000000 10G online=movable ranges=128M"
        );
        assert_eq!(
            removes_text(&f.remove),
            "0x108000000 128M\n0x100000000 128M"
        );
        let a = parse_adds("\n0x100000000 0x10000000 node=3 online=kernel\n\n").unwrap();
        assert_eq!(a.len(), 1);
        assert_eq!((a[0].size, a[0].node), (Num(256 << 20), 3));
        assert_eq!(adds_text(&a), "0x100000000 256M node=3 online=kernel");
        assert_eq!(parse_size("x", " 4096 "), Ok(Num(4096)));
    }

    fn add_err(text: &str) -> InputError {
        parse_adds(text).unwrap_err()
    }

    #[test]
    fn bad_lines_name_the_request_and_the_field() {
        let e = add_err("0x100000000 10G\n0x1x 1G");
        assert_eq!(e.field, "add[1].start");
        assert!(e.message.contains("\"x\" after the number"), "{e}");
        assert_eq!(add_err("4G 10Q").field, "add[0].size");
        assert_eq!(add_err("4G").field, "add[0].size");
        assert!(add_err("4G").message.contains("missing"));
        assert_eq!(add_err("4G 1G node=x").field, "add[0].node");
        assert_eq!(add_err("4G 1G ranges=big").field, "add[0].range_size");
        let e = add_err("4G 1G colour=red");
        assert_eq!(e.field, "add[0]");
        assert!(e.message.contains("valid: node=N"), "{e}");
        let e = parse_removes("4G 1G\n\n5G 1G 2G").unwrap_err();
        assert_eq!(e.field, "remove[1]");
        assert!(e.message.contains("a removal is START SIZE"), "{e}");
        assert_eq!(
            parse_removes("4G nope").unwrap_err().field,
            "remove[0].size"
        );
    }
}
