//! Reading any kind's scenario file: JSON text into its serde form, with
//! every problem an [`InputError`] in the user's terms.
//!
//! The text is checked before serde sees it (a UTF-8 byte-order mark is
//! skipped, the size is capped at [`MAX_SCENARIO_BYTES`], the top is an
//! object `{…}`), then read with [`serde_path_to_error`] tracking the field
//! path. Serde's own errors (`invalid type: map, expected u32`, `missing
//! field`, `unknown field`) are turned into the shape every message has:
//! the field path (`segments[1].mem`), the value as the user wrote it
//! (found again in the text, so `18446744073709551616` and `4096.0` are
//! shown as written; cut to [`SHOWN_CHARS`]), why, and the valid choices.
//! No Rust type name reaches the user.

use crate::input::{
    quoted, shown, InputError, MAX_SCENARIO_BYTES, NUM_REASONS, SCENARIO_VERSION, SHOWN_CHARS,
};
use crate::text::size;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_path_to_error::{Path, Segment};

/// The text as it is read: without a byte-order mark, at most
/// [`MAX_SCENARIO_BYTES`], an object at the top.
pub fn prepare(text: &str) -> Result<&str, InputError> {
    if text.len() > MAX_SCENARIO_BYTES {
        return Err(InputError::new(
            "",
            format!(
                "the scenario is {}; at most {} are read",
                size(text.len() as u64),
                size(MAX_SCENARIO_BYTES as u64)
            ),
        ));
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let first = text.trim_start().chars().next();
    if first == Some('{') {
        return Ok(text);
    }
    // Not an object: broken JSON is named as such, where it breaks.
    if first.is_some() {
        syntax(text)?;
    }
    let what = match first {
        Some('{') => return Ok(text),
        None => "empty",
        Some('[') => "a JSON list [ … ]",
        Some('"') => "a JSON string",
        Some('t' | 'f') => "a JSON boolean",
        Some('n') => "JSON null",
        Some('-' | '0'..='9') => "a JSON number",
        Some(_) => "not JSON",
    };
    Err(InputError::new(
        "",
        format!("the text is {what}, not a scenario: a scenario is a JSON object {{ \"version\": 1, … }}"),
    ))
}

/// Any JSON syntax error in `text`, with the field it is in: the text is
/// walked value by value, keeping the path (serde_json skips ignored
/// values without telling where it is; this walk is small enough for the
/// page's first load, where a second instantiation of
/// serde_path_to_error's wrappers is not).
fn syntax(text: &str) -> Result<(), InputError> {
    use serde::de::{DeserializeSeed, MapAccess, SeqAccess, Visitor};
    use std::cell::RefCell;
    #[derive(Clone, Copy)]
    struct Walk<'p>(&'p RefCell<Vec<Step>>);
    impl<'de> DeserializeSeed<'de> for Walk<'_> {
        type Value = ();
        fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_any(self)
        }
    }
    impl<'de> Visitor<'de> for Walk<'_> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("any JSON value")
        }
        fn visit_bool<E>(self, _: bool) -> Result<(), E> {
            Ok(())
        }
        fn visit_i64<E>(self, _: i64) -> Result<(), E> {
            Ok(())
        }
        fn visit_u64<E>(self, _: u64) -> Result<(), E> {
            Ok(())
        }
        fn visit_f64<E>(self, _: f64) -> Result<(), E> {
            Ok(())
        }
        fn visit_str<E>(self, _: &str) -> Result<(), E> {
            Ok(())
        }
        fn visit_unit<E>(self) -> Result<(), E> {
            Ok(())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<(), A::Error> {
            let mut i = 0;
            loop {
                self.0.borrow_mut().push(Step::Index(i));
                if a.next_element_seed(self)?.is_none() {
                    self.0.borrow_mut().pop();
                    return Ok(());
                }
                self.0.borrow_mut().pop();
                i += 1;
            }
        }
        fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<(), A::Error> {
            while let Some(k) = a.next_key::<String>()? {
                self.0.borrow_mut().push(Step::Key(k));
                a.next_value_seed(self)?;
                self.0.borrow_mut().pop();
            }
            Ok(())
        }
    }
    let path = RefCell::new(Vec::new());
    let mut de = serde_json::Deserializer::from_str(text);
    Walk(&path)
        .deserialize(&mut de)
        .and_then(|()| de.end())
        .map_err(|e| translate(text, path.take(), &e, None))
}

/// The `"version"` of scenario text of any kind: 1, else the error every
/// kind gives (missing, or not a version this build reads). Also finds
/// any JSON syntax error, with the field it is in.
pub fn check_version(text: &str) -> Result<(), InputError> {
    let text = prepare(text)?;
    syntax(text)?;
    match header(text)?.version.map(RawValue::get) {
        None => Err(InputError::new(
            "version",
            format!("missing (this build reads version {SCENARIO_VERSION})"),
        )),
        Some(v) if v.trim() == SCENARIO_VERSION.to_string() => Ok(()),
        Some(v) => Err(InputError::new(
            "version",
            format!(
                "{} is not a version this build reads (it reads {SCENARIO_VERSION})",
                shown(v)
            ),
        )),
    }
}

/// The `"kind"` of scenario text as written: `None` when there is none,
/// else its JSON text.
pub fn kind_raw(text: &str) -> Result<Option<&str>, InputError> {
    let text = prepare(text)?;
    syntax(text)?;
    Ok(header(text)?.kind.map(RawValue::get))
}

/// The version and kind of any file, as written.
#[derive(Deserialize)]
struct Header<'a> {
    #[serde(borrow)]
    version: Option<&'a RawValue>,
    #[serde(borrow)]
    kind: Option<&'a RawValue>,
}

/// The header of syntactically good text (the other fields skipped).
fn header(text: &str) -> Result<Header<'_>, InputError> {
    serde_json::from_str(text).map_err(|e| translate(text, vec![], &e, None))
}

/// Scenario text of any kind into its serde form `T`: [`prepare`]d, any
/// JSON syntax error found, its version checked (a file of another
/// version is named as such), then read with the field path of any
/// problem.
pub fn scenario<T: DeserializeOwned>(text: &str) -> Result<T, InputError> {
    check_version(text)?;
    from_str(prepare(text)?)
}

/// JSON text into `T`, any problem an [`InputError`] naming the field.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, InputError> {
    let text = prepare(text)?;
    let mut de = serde_json::Deserializer::from_str(text);
    let probe = |t: &str| -> Option<String> {
        let mut de = serde_json::Deserializer::from_str(t);
        serde_path_to_error::deserialize::<_, T>(&mut de)
            .err()
            .map(|e| e.inner().to_string())
    };
    let v: T = serde_path_to_error::deserialize(&mut de)
        .map_err(|e| translate(text, steps(e.path()), e.inner(), Some(&probe)))?;
    de.end().map_err(|e| translate(text, vec![], &e, None))?;
    Ok(v)
}

/// One step of a field path, as the user reads it.
enum Step {
    Key(String),
    Index(usize),
}

fn steps(path: &Path) -> Vec<Step> {
    path.iter()
        .filter_map(|s| match s {
            Segment::Seq { index } => Some(Step::Index(*index)),
            Segment::Map { key } => Some(Step::Key(key.clone())),
            Segment::Enum { variant } => Some(Step::Key(variant.clone())),
            Segment::Unknown => None,
        })
        .collect()
}

/// A key in a field path: as written when it is a plain name, else
/// quoted (and cut).
fn key_text(k: &str) -> String {
    let plain = !k.is_empty()
        && k.chars().count() <= SHOWN_CHARS
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if plain {
        k.to_string()
    } else {
        quoted(k)
    }
}

fn field_of(steps: &[Step]) -> String {
    let mut f = String::new();
    for s in steps {
        match s {
            Step::Index(i) => f += &format!("[{i}]"),
            Step::Key(k) => {
                if !f.is_empty() {
                    f.push('.');
                }
                f += &key_text(k);
            }
        }
    }
    f
}

/// An object's entries in order, duplicates kept.
struct Entries<'a>(Vec<(String, &'a RawValue)>);

impl<'de: 'a, 'a> Deserialize<'de> for Entries<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Entries<'a>, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for V<'a> {
            type Value = Entries<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<Entries<'a>, A::Error> {
                let mut v = Vec::new();
                while let Some(e) = a.next_entry::<String, &'a RawValue>()? {
                    v.push(e);
                }
                Ok(Entries(v))
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

/// The value at `steps` in `text`, as written.
fn raw_at<'a>(text: &'a str, steps: &[Step]) -> Option<&'a str> {
    let mut cur: &'a str = serde_json::from_str::<&RawValue>(text).ok()?.get();
    for s in steps {
        cur = match s {
            Step::Key(k) => {
                let m: Entries<'a> = serde_json::from_str(cur).ok()?;
                m.0.into_iter().find(|(key, _)| key == k)?.1.get()
            }
            Step::Index(i) => {
                let v: Vec<&'a RawValue> = serde_json::from_str(cur).ok()?;
                v.get(*i)?.get()
            }
        };
    }
    Some(cur)
}

/// Reads text again as the caller's type: its error's message, if any.
type Probe<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The fields of the object expected at `steps`, found by asking `T`'s
/// own deserializer: the value is replaced by an object with one unknown
/// field, and the unknown-field error lists the valid ones.
fn fields_at(text: &str, steps: &[Step], probe: Probe) -> Option<String> {
    let raw = raw_at(text, steps)?;
    let at = (raw.as_ptr() as usize).checked_sub(text.as_ptr() as usize)?;
    let probe_text = format!(
        "{}{{\"\\u0000\":0}}{}",
        text.get(..at)?,
        text.get(at + raw.len()..)?
    );
    let m = probe(&probe_text)?;
    let m = strip_position(&m);
    let rest = m.strip_prefix("unknown field `\u{0}`, ")?;
    Some(choices(rest))
}

/// serde's list of choices (`expected one of `a`, `b``, `expected `a``,
/// `there are no fields`) as a plain list.
fn choices(s: &str) -> String {
    let s = s
        .strip_prefix("expected one of ")
        .or_else(|| s.strip_prefix("expected "))
        .unwrap_or(s);
    s.replace(" or ", ", ").replace('`', "")
}

/// serde_json's message without its ` at line L column C`.
fn strip_position(m: &str) -> &str {
    match m.rfind(" at line ") {
        Some(i) if m[i..].contains(" column ") => &m[..i],
        _ => m,
    }
}

/// What serde's `expected …` says, in the user's terms (no Rust type
/// names); `fields` lists an object's fields when known.
fn expected(e: &str, fields: Option<String>) -> String {
    let int = |lo: &str, hi: &str| format!("a whole number from {lo} to {hi}");
    match e {
        "u8" => int("0", "255"),
        "u16" => int("0", "65535"),
        "u32" => int("0", "4294967295"),
        "u64" | "usize" | "u128" => "a whole number, 0 or more".into(),
        "i8" | "i16" | "i32" | "i64" | "isize" | "i128" => "a whole number".into(),
        "f32" | "f64" => "a number".into(),
        "a string" | "a borrowed string" | "a string or bytes" => {
            "a string in double quotes".into()
        }
        "a boolean" => "true or false".into(),
        "a character" => "a single character in double quotes".into(),
        "a sequence" => "a list [ … ]".into(),
        "unit" => "null".into(),
        _ if e == "a map" || e.starts_with("struct ") => match fields {
            Some(f) if !f.is_empty() => format!("an object {{ … }} with the fields {f}"),
            _ => "an object { … }".into(),
        },
        _ if e.starts_with("enum ") || e.starts_with("variant identifier") => {
            "one of the names listed for this field".into()
        }
        _ if e.starts_with("tuple") || e.starts_with("a tuple") => "a list [ … ]".into(),
        _ if e.starts_with("option") => "a value or null".into(),
        _ => e.replace('`', "\""),
    }
}

/// A syntax error's reason in plain words.
fn syntax_reason(m: &str) -> String {
    let ends = |what: &str| format!("the text ends inside {what}");
    match m {
        "EOF while parsing a value" => ends("a value"),
        "EOF while parsing a list" => ends("a list [ … ]"),
        "EOF while parsing an object" => ends("an object { … }"),
        "EOF while parsing a string" => ends("a string"),
        "expected value" | "expected ident" => "expected a value".into(),
        "trailing comma" => "a comma before a closing bracket".into(),
        "trailing characters" => "more text after the scenario's closing }".into(),
        "key must be a string" => "a key must be a string in double quotes".into(),
        "recursion limit exceeded" => "nested more than 128 levels deep".into(),
        "number out of range" => {
            "a number JSON cannot hold (write large numbers as \"0x…\" strings)".into()
        }
        "invalid number" => "not a number".into(),
        _ if m.starts_with("control character") => {
            "a control character inside a string (write it as \\n, \\t or \\u00XX)".into()
        }
        _ => m.replace('`', "\""),
    }
}

/// One of serde's errors at `path` in `text`, in the user's terms.
fn translate(
    text: &str,
    mut steps: Vec<Step>,
    e: &serde_json::Error,
    probe: Option<Probe>,
) -> InputError {
    use serde_json::error::Category;
    let full = e.to_string();
    let m = strip_position(&full);
    if matches!(
        e.classify(),
        Category::Syntax | Category::Eof | Category::Io
    ) {
        return InputError::new(
            field_of(&steps),
            format!(
                "not valid JSON at line {}, column {}: {}",
                e.line(),
                e.column(),
                syntax_reason(m)
            ),
        );
    }
    // The field names a data error is about, and what serde said.
    let named = |prefix: &str| -> Option<(String, String)> {
        let rest = m.strip_prefix(prefix)?;
        let (name, tail) = rest.split_once('`')?;
        Some((name.to_string(), tail.trim_start_matches(", ").to_string()))
    };
    if let Some((f, rest)) = named("unknown field `") {
        // serde_path_to_error puts the unknown key last (as written, where
        // serde's message would cut it at a backtick): name the object.
        let f = match steps.last() {
            Some(Step::Key(k)) if k.starts_with(&f) => {
                let k = k.clone();
                steps.pop();
                k
            }
            _ => f,
        };
        let rest = match rest.split_once("`, ") {
            Some((_, r)) if !rest.starts_with("expected") && !rest.starts_with("there") => {
                r.to_string()
            }
            _ => rest,
        };
        let valid = if rest.starts_with("there are no fields") {
            "this object takes no fields".to_string()
        } else {
            format!("valid: {}", choices(&rest))
        };
        return InputError::new(
            field_of(&steps),
            format!("unknown field {} ({valid})", quoted(&f)),
        );
    }
    if let Some((f, _)) = named("missing field `") {
        steps.push(Step::Key(f));
        return InputError::new(field_of(&steps), "missing (a required field)");
    }
    if let Some((f, _)) = named("duplicate field `") {
        steps.push(Step::Key(f));
        return InputError::new(field_of(&steps), "given twice (each field once per object)");
    }
    if let Some((v, rest)) = named("unknown variant `") {
        return InputError::new(
            field_of(&steps),
            format!("{} is not one of {}", quoted(&v), choices(&rest)),
        );
    }
    let raw = raw_at(text, &steps).map(shown);
    let value = raw.clone().unwrap_or_else(|| "the value".into());
    let field = field_of(&steps);
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = m.strip_prefix(prefix) {
            let exp = rest.rsplit_once(", expected ").map_or("", |x| x.1);
            let fields = if exp.starts_with("struct ") {
                probe.and_then(|p| fields_at(text, &steps, p))
            } else {
                None
            };
            return InputError::new(field, format!("{value} is not {}", expected(exp, fields)));
        }
    }
    if let Some(rest) = m.strip_prefix("invalid length ") {
        let (n, exp) = rest.split_once(", expected ").unwrap_or((rest, ""));
        return InputError::new(
            field,
            format!("{value} has {n} items; expected {}", expected(exp, None)),
        );
    }
    if let (Some(why), Some(raw)) = (NUM_REASONS.iter().find(|r| m.ends_with(*r)), raw) {
        return InputError::new(field, format!("{raw} {why}"));
    }
    InputError::new(field, m.replace('`', "\""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::Num;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Range {
        start: Num,
        end: Num,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct File {
        version: u32,
        arch: String,
        ram: Vec<Range>,
        #[serde(default)]
        flag: bool,
    }

    fn err(text: &str) -> String {
        scenario::<File>(text).unwrap_err().to_string()
    }

    const GOOD: &str =
        r#"{"version": 1, "arch": "x86_64", "ram": [{"start": "0x0", "end": "0x1000"}]}"#;

    #[test]
    fn good_text_reads() {
        let f: File = scenario(GOOD).unwrap();
        assert_eq!(f.ram[0].end, Num(0x1000));
        let bom = format!("\u{feff}{GOOD}");
        assert!(scenario::<File>(&bom).is_ok());
    }

    #[test]
    fn type_errors_name_the_field_and_the_value_as_written() {
        let t = GOOD.replace(r#""0x1000""#, r#"{"a": 1}"#);
        assert_eq!(
            err(&t),
            r#"ram[0].end: {"a": 1} is not a number: an integer, or a string such as "0x1000", "4096" or "10G""#
        );
        let t = GOOD.replace(r#""0x1000""#, "-9223372036854775808");
        assert_eq!(
            err(&t),
            "ram[0].end: -9223372036854775808 is negative: sizes and addresses are 0 or more"
        );
        let t = GOOD.replace(r#""0x1000""#, "18446744073709551616");
        assert!(
            err(&t).starts_with("ram[0].end: 18446744073709551616 does not fit in 64 bits"),
            "{}",
            err(&t)
        );
        let t = GOOD.replace(r#""0x1000""#, "4096.0");
        assert_eq!(err(&t), "ram[0].end: 4096.0 is not an integer");
        let t = GOOD.replace(r#""x86_64""#, "1");
        assert_eq!(err(&t), "arch: 1 is not a string in double quotes");
        let t = GOOD.replace(r#"[{"start""#, r#"[5, {"start""#);
        assert_eq!(
            err(&t),
            "ram[0]: 5 is not an object { … } with the fields start, end"
        );
        let t = GOOD.replace("}]}", r#"}], "flag": "yes"}"#);
        assert_eq!(err(&t), r#"flag: "yes" is not true or false"#);
        let t = GOOD.replace(r#""version": 1"#, r#""version": 1, "ram": 3"#);
        assert!(err(&t).starts_with("ram: 3 is not a list"), "{}", err(&t));
    }

    #[test]
    fn no_rust_type_names() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct N {
            version: u32,
            n: usize,
        }
        let e = scenario::<N>(r#"{"version": 1, "n": -1}"#).unwrap_err();
        assert_eq!(e.to_string(), "n: -1 is not a whole number, 0 or more");
        let e = scenario::<N>(r#"{"version": 1, "n": 1.5}"#).unwrap_err();
        assert_eq!(e.to_string(), "n: 1.5 is not a whole number, 0 or more");
    }

    #[test]
    fn fields_missing_unknown_or_twice() {
        let t = GOOD.replace(r#", "end": "0x1000""#, "");
        assert_eq!(err(&t), "ram[0].end: missing (a required field)");
        let t = GOOD.replace(r#""start""#, r#""colour": 1, "start""#);
        assert_eq!(
            err(&t),
            r#"ram[0]: unknown field "colour" (valid: start, end)"#
        );
        let t = GOOD.replace(r#""start""#, r#""a`b": 1, "start""#);
        assert_eq!(
            err(&t),
            r#"ram[0]: unknown field "a`b" (valid: start, end)"#
        );
        let t = GOOD.replace(r#""arch""#, r#""colour": 1, "arch""#);
        assert_eq!(
            err(&t),
            r#"unknown field "colour" (valid: version, arch, ram, flag)"#
        );
        let t = GOOD.replace(r#""arch": "x86_64""#, r#""arch": "x86_64", "arch": "i386""#);
        assert_eq!(err(&t), "arch: given twice (each field once per object)");
    }

    #[test]
    fn versions() {
        assert_eq!(err("{}"), "version: missing (this build reads version 1)");
        let t = GOOD.replace(r#""version": 1"#, r#""version": "1""#);
        assert_eq!(
            err(&t),
            r#"version: "1" is not a version this build reads (it reads 1)"#
        );
    }

    #[test]
    fn long_values_are_cut() {
        let long = "x".repeat(1 << 20);
        let t = GOOD
            .replace(r#""x86_64""#, &format!("{long:?}"))
            .replace("\"version\": 1", "\"version\": 1, \"flag\": 7");
        let e = err(&t);
        assert!(e.len() < 200, "{e}");
        assert_eq!(e, "flag: 7 is not true or false");
        let t = GOOD.replace(r#""0x1000""#, &format!("\"{long}\""));
        let e = err(&t);
        assert!(
            e.starts_with(&format!(
                "ram[0].end: \"{}…\" (1 MiB) is not a number",
                "x".repeat(40)
            )),
            "{e}"
        );
        let t = GOOD.replace(r#""start""#, &format!("\"{long}\""));
        let e = err(&t);
        assert!(
            e.len() < 200 && e.starts_with("ram[0]: unknown field \"xxx"),
            "{e}"
        );
    }

    #[test]
    fn not_an_object_or_not_json() {
        assert_eq!(
            err("[[1]]"),
            "the text is a JSON list [ … ], not a scenario: a scenario is a JSON object { \"version\": 1, … }"
        );
        assert!(err("").starts_with("the text is empty"));
        assert!(err("\u{feff}").starts_with("the text is empty"));
        assert_eq!(
            err("hello"),
            "not valid JSON at line 1, column 1: expected a value"
        );
        let t = GOOD.replace(r#", "end""#, r#" "end""#);
        assert_eq!(
            err(&t),
            r#"ram[0]: not valid JSON at line 1, column 58: expected "," or "}""#
        );
        assert!(
            err(&GOOD[..40]).contains("the text ends inside"),
            "{}",
            err(&GOOD[..40])
        );
        let deep = format!(
            "{{\"version\": 1, \"ram\": {}{}}}",
            "[".repeat(10_000),
            "]".repeat(10_000)
        );
        assert!(
            err(&deep).contains("nested more than 128 levels deep"),
            "{}",
            err(&deep)
        );
        let t = format!("{GOOD} x");
        assert!(err(&t).contains("more text after"), "{}", err(&t));
    }

    #[test]
    fn sizes_in_units() {
        let big = format!(
            "{{\"version\": 1, \"arch\": \"{}\"}}",
            "x".repeat(MAX_SCENARIO_BYTES)
        );
        assert_eq!(
            err(&big),
            "the scenario is 32.0 MiB; at most 32 MiB are read"
        );
    }
}
