//! Input: the error every front end shows for a bad file, link or form
//! field (the field path, what is wrong, the valid choices), and the
//! numbers scenario files are written in.
//!
//! Numbers are JSON integers or strings: `0x…` hex or decimal, `_`
//! separators allowed, and an optional K/M/G/T/P/E suffix as the kernel's
//! `memparse` reads it (`"10G"`), so a file says a size the way a kernel
//! command line does.

use crate::text::size;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;

/// The newest scenario version this build writes (every kind).
pub const SCENARIO_VERSION: u32 = 1;
/// Largest scenario text accepted (every kind).
pub const MAX_SCENARIO_BYTES: usize = 32 << 20;

/// A problem with an input, naming the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    /// The field, e.g. `segments[1].mem` (empty for the whole document).
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl InputError {
    /// An error about `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> InputError {
        InputError {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The same error under a parent field (`add[2]` + `size` ->
    /// `add[2].size`).
    pub fn under(mut self, parent: &str) -> InputError {
        self.field = if self.field.is_empty() {
            parent.to_string()
        } else if self.field.starts_with('[') {
            format!("{parent}{}", self.field)
        } else {
            format!("{parent}.{}", self.field)
        };
        self
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.field, self.message)
        }
    }
}

impl std::error::Error for InputError {}

/// A number written as a JSON integer or a `"0x…"`, decimal or
/// memparse-suffixed (`"10G"`) string. Written back as `"0x…"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, PartialOrd, Ord, Hash)]
pub struct Num(pub u64);

impl Serialize for Num {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("0x{:x}", self.0))
    }
}

impl<'de> Deserialize<'de> for Num {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Num;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(NUM_EXPECTED)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Num, E> {
                Ok(Num(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Num, E> {
                u64::try_from(v)
                    .map(Num)
                    .map_err(|_| E::custom(format!("{v} {NEGATIVE}")))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Num, E> {
                // JSON integers beyond 64 bits arrive as floats: say which.
                let why = if v < 0.0 {
                    NEGATIVE
                } else if v.fract() == 0.0 && v >= 18_446_744_073_709_551_615.0 {
                    TOO_LARGE
                } else {
                    NOT_INTEGER
                };
                Err(E::custom(format!("{v} {why}")))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Num, E> {
                parse_num(s).map(Num).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// What a [`Num`] is, as messages say it.
pub const NUM_EXPECTED: &str =
    "a number: an integer, or a string such as \"0x1000\", \"4096\" or \"10G\"";
/// Why a negative number is not a [`Num`].
pub const NEGATIVE: &str = "is negative: sizes and addresses are 0 or more";
/// Why a number past 64 bits is not a [`Num`].
pub const TOO_LARGE: &str =
    "does not fit in 64 bits (the largest is 18446744073709551615, \"0xffffffffffffffff\")";
/// Why a fraction is not a [`Num`].
pub const NOT_INTEGER: &str = "is not an integer";
/// Why a string is not a [`Num`].
pub const NOT_A_NUMBER: &str = "is not a number that fits in 64 bits (write 0x… hex or decimal, optionally with a K, M, G or T suffix)";
/// Every reason a [`Num`] is refused: a message `"{value} {reason}"`
/// ends with one, so a reader that knows the value as written can show
/// that instead ([`crate::json`]).
pub const NUM_REASONS: [&str; 4] = [NEGATIVE, TOO_LARGE, NOT_INTEGER, NOT_A_NUMBER];

/// Longest text a message echoes back (in characters); longer values are
/// cut, with their size.
pub const SHOWN_CHARS: usize = 40;

/// A string from the input as a message shows it: in JSON quotes, cut to
/// [`SHOWN_CHARS`] characters (then `…` and its size).
pub fn quoted(s: &str) -> String {
    if s.chars().count() <= SHOWN_CHARS {
        return json_quote(s);
    }
    let cut: String = s.chars().take(SHOWN_CHARS).collect();
    format!(
        "{} ({})",
        json_quote(&format!("{cut}…")),
        size(s.len() as u64)
    )
}

/// JSON text from the input as a message shows it: a string as
/// [`quoted`], anything else on one line and cut to [`SHOWN_CHARS`]
/// characters (then `…` and its size).
pub fn shown(raw: &str) -> String {
    let raw = raw.trim();
    if raw.starts_with('"') {
        if let Ok(s) = serde_json::from_str::<String>(raw) {
            return quoted(&s);
        }
    }
    let mut one_line = String::new();
    let mut space = false;
    for c in raw.chars() {
        if c.is_whitespace() {
            space = true;
            continue;
        }
        if space && !one_line.is_empty() {
            one_line.push(' ');
        }
        space = false;
        if one_line.chars().count() >= SHOWN_CHARS {
            one_line.push('…');
            return format!("{one_line} ({})", size(raw.len() as u64));
        }
        one_line.push(c);
    }
    one_line
}

fn json_quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

/// Serialize a [`Num`] as a decimal JSON integer (sizes in files that
/// were always written that way).
pub fn ser_dec<S: Serializer>(n: &Num, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(n.0)
}

/// Serialize an optional [`Num`] as a decimal JSON integer.
pub fn ser_opt_dec<S: Serializer>(n: &Option<Num>, s: S) -> Result<S::Ok, S::Error> {
    match n {
        Some(n) => s.serialize_u64(n.0),
        None => s.serialize_none(),
    }
}

/// A number: `0x…` hex or decimal, `_` separators allowed, with an optional
/// memparse suffix (K, M, G, T, P, E).
pub fn parse_num(s: &str) -> Result<u64, String> {
    let t = s.trim().replace('_', "");
    match memparse(&t) {
        Ok((v, "")) => Ok(v),
        _ => Err(format!("{} {NOT_A_NUMBER}", quoted(s))),
    }
}

/// The kernel's `memparse` (lib/cmdline.c): a number (decimal or `0x`
/// hex) with an optional K/M/G/T/P/E suffix. Returns the value and the
/// rest of the text.
pub fn memparse(s: &str) -> Result<(u64, &str), String> {
    let (digits, rest, radix) =
        if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
            let n = h.find(|c: char| !c.is_ascii_hexdigit()).unwrap_or(h.len());
            (&h[..n], &h[n..], 16)
        } else {
            let n = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
            (&s[..n], &s[n..], 10)
        };
    if digits.is_empty() {
        return Err(format!("{} does not start with a number", quoted(s)));
    }
    let v = u64::from_str_radix(digits, radix)
        .map_err(|_| format!("{} is too large for 64 bits", quoted(digits)))?;
    let (shift, rest) = match rest.chars().next().map(|c| c.to_ascii_uppercase()) {
        Some('K') => (10, &rest[1..]),
        Some('M') => (20, &rest[1..]),
        Some('G') => (30, &rest[1..]),
        Some('T') => (40, &rest[1..]),
        Some('P') => (50, &rest[1..]),
        Some('E') => (60, &rest[1..]),
        _ => (0, rest),
    };
    let v = v
        .checked_mul(1u64 << shift)
        .ok_or_else(|| format!("{} overflows 64 bits", quoted(s)))?;
    Ok((v, rest))
}

/// The version and kind of a lab file: version 1, and the kind the lab
/// reads.
pub fn check_version_kind(version: u32, kind: &str, want: &str) -> Result<(), InputError> {
    if version != SCENARIO_VERSION {
        return Err(InputError::new(
            "version",
            format!("{version} is not a version this build reads (it reads 1)"),
        ));
    }
    if kind != want {
        return Err(InputError::new(
            "kind",
            format!("{} is not \"{want}\"", quoted(kind)),
        ));
    }
    Ok(())
}

/// The `variants` list of a file of any kind: at least one, each known
/// (else the valid names are listed), none twice.
pub fn check_variants<V: PartialEq>(
    names: &[String],
    from_name: impl Fn(&str) -> Option<V>,
    valid: &[&str],
) -> Result<Vec<V>, InputError> {
    if names.is_empty() {
        return Err(InputError::new("variants", "name at least one variant"));
    }
    let mut variants = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let v = from_name(name).ok_or_else(|| {
            InputError::new(
                format!("variants[{i}]"),
                format!(
                    "unknown variant {} (valid: {})",
                    quoted(name),
                    valid.join(", ")
                ),
            )
        })?;
        if variants.contains(&v) {
            return Err(InputError::new(
                format!("variants[{i}]"),
                format!("{} is listed twice", quoted(name)),
            ));
        }
        variants.push(v);
    }
    Ok(variants)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(parse_num("0x1_000"), Ok(0x1000));
        assert_eq!(parse_num("4096"), Ok(4096));
        assert_eq!(parse_num("10G"), Ok(10 << 30));
        assert_eq!(parse_num("0x10M"), Ok(16 << 20));
        assert!(parse_num("10Q").unwrap_err().contains("fits in 64 bits"));
        assert!(parse_num("0x1_0000_0000_0000_0000")
            .unwrap_err()
            .contains("fits in 64 bits"));
        assert!(parse_num("16E").is_err());
        assert_eq!(memparse("512M,high"), Ok((512 << 20, ",high")));
    }

    #[test]
    fn nested_fields() {
        let e = InputError::new("size", "x").under("add[2]");
        assert_eq!(e.field, "add[2].size");
        assert_eq!(InputError::new("[3]", "x").under("ram").field, "ram[3]");
    }
}
