//! `cargo xtask fuzz [--cases N] [--seconds S] [--seed S] [--jobs N]`: our
//! own fuzzer, run in this process.
//!
//! Each case is drawn from its seed and index alone (so `--seed S --case
//! I` replays one): a preset of any kind, its scenario file mutated with
//! the file's structure in mind (fields dropped, duplicated, renamed or
//! retyped, numbers at their limits or nudged across a page, ranges
//! reordered, lists repeated past their caps, strings of a megabyte,
//! nesting 100,000 deep, a kind or version changed) and sometimes as text
//! (a byte-order mark, a cut, a stray byte), then given to the reader of
//! files ([`Document::from_json`]) or, encoded as a share link and perhaps
//! mangled (a cut, a bad byte, another codec version, a deflate bomb, a
//! `?preset=` name), to the link decoder. What parses is run as its
//! `kexec-sim` command runs it, and written back to a file and a link that
//! must read the same.
//!
//! Every outcome must be a value (a report), an errno, a fault or a named
//! input error in the user's terms (no serde wording, no Rust type name,
//! no value echoed past [`MAX_MESSAGE`] characters), within [`MAX_CASE`]
//! and [`MAX_CASE_BYTES`] allocated; every 32nd case is run twice and
//! must give the same output. A case that fails is saved under
//! `tests/fuzz/regressions/` (its target and its input), which `cargo
//! test -p xtask` replays with the same checks.

use crate::counting::{self, SLOTS};
use crate::{root, Result};
use kexec_common::codec;
use kexec_common::rng::SplitMix64;
use kexec_playground::{link, presets, Document};
use serde_json::Value;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The most CPU time a case may take (parse, run, reports, round trip): 20 s
/// in a release build, which the long runs use; an unoptimised build (the
/// short pass of `cargo xtask test`) is given six times as long.
pub const MAX_CASE: Duration = Duration::from_secs(if cfg!(debug_assertions) { 120 } else { 20 });
/// The most a case may allocate on top of what it started with.
pub const MAX_CASE_BYTES: usize = 2 << 30;
/// The longest input error message (its field, value and valid choices).
pub const MAX_MESSAGE: usize = 1500;
/// Where failing inputs are kept, relative to the workspace.
pub const REGRESSIONS: &str = "tests/fuzz/regressions";

// ---- options -----------------------------------------------------------

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Stop after this many cases.
    pub cases: Option<u64>,
    /// Stop starting cases after this long.
    pub seconds: Option<u64>,
    /// The seed of the case stream.
    pub seed: u64,
    /// Worker threads.
    pub jobs: usize,
    /// Run only this case (with its seed).
    pub only: Option<u64>,
}

impl Options {
    /// From `cargo xtask fuzz`'s arguments.
    pub fn parse(args: &[String]) -> Result<Options> {
        let mut o = Options {
            cases: None,
            seconds: None,
            seed: 1,
            jobs: std::thread::available_parallelism().map_or(1, |n| n.get()),
            only: None,
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let mut num = |name: &str| -> Result<u64> {
                let v = it.next().ok_or(format!("{name} needs a number"))?;
                v.replace('_', "")
                    .parse()
                    .map_err(|_| format!("{name} {v}: not a number"))
            };
            match a.as_str() {
                "--cases" => o.cases = Some(num("--cases")?),
                "--seconds" => o.seconds = Some(num("--seconds")?),
                "--seed" => o.seed = num("--seed")?,
                "--jobs" => o.jobs = (num("--jobs")? as usize).clamp(1, SLOTS),
                "--case" => o.only = Some(num("--case")?),
                _ => return Err(format!("fuzz: unknown argument {a} (usage: cargo xtask fuzz [--cases N] [--seconds S] [--seed S] [--jobs N] [--case I])")),
            }
        }
        if o.cases.is_none() && o.seconds.is_none() && o.only.is_none() {
            o.cases = Some(10_000);
        }
        Ok(o)
    }
}

// ---- cases -------------------------------------------------------------

/// What an input is given to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// A scenario file of any kind (`kexec-sim run|place|hotplug|pgtable FILE`).
    File,
    /// A share link (`kexec-sim decode`, the page's URL).
    Link,
}

impl Target {
    fn name(self) -> &'static str {
        match self {
            Target::File => "file",
            Target::Link => "link",
        }
    }
}

/// One input.
#[derive(Debug, Clone)]
pub struct Case {
    /// What it is given to.
    pub target: Target,
    /// The text.
    pub input: String,
    /// The preset it was made from.
    pub from: String,
}

/// JSON as mutations see it: objects keep their order and may hold a key
/// twice; numbers are their text as written.
#[derive(Debug, Clone)]
enum J {
    Null,
    Bool(bool),
    Num(String),
    Str(String),
    Arr(Vec<J>),
    Obj(Vec<(String, J)>),
}

impl J {
    fn from_value(v: &Value) -> J {
        match v {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Number(n) => J::Num(n.to_string()),
            Value::String(s) => J::Str(s.clone()),
            Value::Array(a) => J::Arr(a.iter().map(J::from_value).collect()),
            Value::Object(o) => J::Obj(
                o.iter()
                    .map(|(k, v)| (k.clone(), J::from_value(v)))
                    .collect(),
            ),
        }
    }

    fn write(&self, out: &mut String) {
        match self {
            J::Null => out.push_str("null"),
            J::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            J::Num(n) => out.push_str(n),
            J::Str(s) => out.push_str(&serde_json::to_string(s).unwrap_or_default()),
            J::Arr(a) => {
                out.push('[');
                for (i, x) in a.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    x.write(out);
                }
                out.push(']');
            }
            J::Obj(o) => {
                out.push('{');
                for (i, (k, v)) in o.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&serde_json::to_string(k).unwrap_or_default());
                    out.push(':');
                    v.write(out);
                }
                out.push('}');
            }
        }
    }

    /// About how long its text is (the generator keeps cases small enough
    /// that making them never costs what running them should).
    fn size(&self) -> usize {
        match self {
            J::Null | J::Bool(_) => 5,
            J::Num(n) => n.len(),
            J::Str(s) => s.len() + 2,
            J::Arr(a) => 2 + a.iter().map(|x| x.size() + 1).sum::<usize>(),
            J::Obj(o) => 2 + o.iter().map(|(k, v)| k.len() + 4 + v.size()).sum::<usize>(),
        }
    }

    /// Every node, by its index in a depth-first walk.
    fn count(&self) -> usize {
        1 + match self {
            J::Arr(a) => a.iter().map(J::count).sum(),
            J::Obj(o) => o.iter().map(|(_, v)| v.count()).sum(),
            _ => 0,
        }
    }

    fn nth(&mut self, n: &mut usize) -> Option<&mut J> {
        if *n == 0 {
            return Some(self);
        }
        *n -= 1;
        match self {
            J::Arr(a) => a.iter_mut().find_map(|x| x.nth(n)),
            J::Obj(o) => o.iter_mut().find_map(|(_, v)| v.nth(n)),
            _ => None,
        }
    }
}

/// The most one mutation adds to a case's text, about.
const MAX_GROWTH: usize = 2 << 20;

/// Numbers at the limits of every field's type, as JSON text.
const LIMITS: &[&str] = &[
    "0",
    "1",
    "-1",
    "4095",
    "4096",
    "4097",
    "255",
    "256",
    "4294967295",
    "4294967296",
    "9007199254740993",
    "18446744073709551615",
    "18446744073709551616",
    "-9223372036854775808",
    "1e999",
    "4096.0",
    "4.096e3",
    "0.5",
    "1E2",
    "-0",
    "99999999999999999999999",
    "\"0x0\"",
    "\"0xfff\"",
    "\"0x1000\"",
    "\"0xffffffff\"",
    "\"0x100000000\"",
    "\"0xfffffffffffff000\"",
    "\"0xffffffffffffffff\"",
    "\"0x1_0000_0000_0000_0000\"",
    "\"16E\"",
    "\"15E\"",
    "\"10G\"",
    "\"4K\"",
    "\"1T\"",
    "\"0x\"",
    "\"-1\"",
    "\"1.5\"",
    "\"\"",
    "\" 4096 \"",
    "\"4096Q\"",
    "\"0b101\"",
    "\"1_2_3\"",
    "\"512M,high\"",
];

/// Strings that stand in for names, sizes and script lines.
const WORDS: &[&str] = &[
    "",
    "x86_64",
    "i386",
    "i386-pae",
    "arm-lpae",
    "arm64",
    "kimage",
    "placement",
    "hotplug",
    "pgtable",
    "pointer",
    "rfc-fixed",
    "xen",
    "top-down",
    "ordinary",
    "flush",
    "random",
    "replay",
    "kdump",
    "normal",
    "movable",
    "as-posted",
    "GFP_HIGHUSER_MOVABLE",
    "512M",
    "512M,high",
    "1G-:256M",
    "0-:0",
    "128M@16M",
    "ioremap 0xffffc90000000000 0x0 1G",
    "iounmap 0xffffc90000000000",
    "access 0xffffc90000000000 cpu=9",
    "reuse fill=0xffffffffffffffff",
    "speculate 0x0 cpu=0",
    "fail-next-alloc",
    "\u{feff}",
    "\u{0}",
    "é",
    "\\",
    "\"",
    "\n",
];

struct Gen(SplitMix64);

impl Gen {
    fn below(&mut self, n: usize) -> usize {
        self.0.below(n.max(1) as u64) as usize
    }
    fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
    fn string(&mut self) -> String {
        match self.below(6) {
            0 => "x".repeat(*self.pick(&[41, 1000, 1 << 20])),
            1 => (0..self.below(30))
                .map(|_| char::from_u32(self.0.below(0x3000) as u32).unwrap_or('?'))
                .collect(),
            _ => self.pick(WORDS).to_string(),
        }
    }
    fn value(&mut self) -> J {
        match self.below(9) {
            0 => J::Null,
            1 => J::Bool(self.chance(2)),
            2 | 3 => {
                let l = self.pick(LIMITS);
                match l.strip_prefix('"') {
                    Some(s) => J::Str(s.trim_end_matches('"').to_string()),
                    None => J::Num(l.to_string()),
                }
            }
            4 => J::Str(self.string()),
            5 => J::Arr(vec![]),
            6 => J::Obj(vec![]),
            7 => J::Arr(vec![J::Num("1".into()), J::Str("0x2".into())]),
            _ => J::Obj(vec![
                ("start".into(), J::Num("0".into())),
                ("end".into(), J::Num("4096".into())),
            ]),
        }
    }
}

/// A number nudged: off by one, by a page, doubled, halved, written in
/// hex, or random bits.
fn nudge(g: &mut Gen, v: u64) -> u64 {
    match g.below(8) {
        0 => v.wrapping_add(1),
        1 => v.wrapping_sub(1),
        2 => v.wrapping_add(4096),
        3 => v.wrapping_sub(4096),
        4 => v.wrapping_mul(2),
        5 => v / 2,
        6 => g.0.next_u64() & !0xfff & ((1u64 << g.below(64)) - 1).max(0xfff),
        _ => v ^ (1 << g.below(64)),
    }
}

fn number_of(j: &J) -> Option<u64> {
    match j {
        J::Num(n) => n.parse().ok(),
        J::Str(s) => kexec_common::input::parse_num(s).ok(),
        _ => None,
    }
}

/// One structure-aware mutation of `doc`.
fn mutate(g: &mut Gen, doc: &mut J) {
    let n = doc.count();
    let mut i = g.below(n);
    let Some(node) = doc.nth(&mut i) else { return };
    match g.below(14) {
        // Numbers nudged (most mutations keep the file readable, so the
        // model runs on what it reads).
        0..=3 => {
            if let Some(v) = number_of(node) {
                let w = nudge(g, v);
                *node = if g.chance(2) {
                    J::Num(w.to_string())
                } else {
                    J::Str(format!("0x{w:x}"))
                };
            } else if let J::Obj(o) = node {
                for (_, v) in o.iter_mut() {
                    if let Some(x) = number_of(v) {
                        *v = J::Str(format!("0x{:x}", nudge(g, x)));
                        break;
                    }
                }
            }
        }
        4 => *node = g.value(),
        5 => {
            if let J::Obj(o) = node {
                if !o.is_empty() {
                    let k = g.below(o.len());
                    o.remove(k);
                }
            }
        }
        6 => {
            if let J::Obj(o) = node {
                if !o.is_empty() {
                    let k = g.below(o.len());
                    if o[k].1.size() > MAX_GROWTH {
                        return;
                    }
                    let mut e = o[k].clone();
                    if g.chance(2) {
                        e.1 = g.value();
                    }
                    o.insert(k + 1, e);
                }
            }
        }
        7 => {
            if let J::Obj(o) = node {
                if !o.is_empty() {
                    let k = g.below(o.len());
                    o[k].0 = match g.below(4) {
                        0 => o[k].0.to_uppercase(),
                        1 => format!("{}s", o[k].0),
                        2 => String::new(),
                        _ => g.string(),
                    };
                }
            }
        }
        8 => match node {
            J::Arr(a) if a.len() >= 2 => {
                if g.chance(2) {
                    a.reverse();
                } else {
                    let (x, y) = (g.below(a.len()), g.below(a.len()));
                    a.swap(x, y);
                }
            }
            J::Obj(o) => {
                let s = o.iter().position(|(k, _)| k == "start");
                let e = o.iter().position(|(k, _)| k == "end" || k == "size");
                if let (Some(s), Some(e)) = (s, e) {
                    let t = o[s].1.clone();
                    o[s].1 = o[e].1.clone();
                    o[e].1 = t;
                }
            }
            _ => {}
        },
        9 => {
            if let J::Arr(a) = node {
                if let Some(x) = a.first().cloned() {
                    let times = *g.pick(&[1, 2, 15, 16, 17, 63, 64, 65, 128, 129, 256, 257, 5000]);
                    let times = times.min(MAX_GROWTH / x.size().max(1)).max(1);
                    a.extend(std::iter::repeat_n(x, times));
                }
            }
        }
        10 => {
            let depth = *g.pick(&[2, 127, 128, 129, 1000, 100_000]);
            let mut v = std::mem::replace(node, J::Null);
            for _ in 0..depth.min(200) {
                v = if g.chance(2) {
                    J::Arr(vec![v])
                } else {
                    J::Obj(vec![("a".into(), v)])
                };
            }
            if depth > 200 {
                // Deeper than the tree is worth building: as text.
                let mut t = String::new();
                v.write(&mut t);
                v = J::Num(format!("{}{t}{}", "[".repeat(depth), "]".repeat(depth)));
            }
            *node = v;
        }
        11 => {
            if let J::Str(s) = node {
                *s = g.string();
            }
        }
        12 => {
            if let J::Obj(o) = node {
                o.push((g.string(), g.value()));
            }
        }
        _ => {
            if let J::Obj(o) = doc {
                let key = if g.chance(2) { "kind" } else { "version" };
                let v = if key == "kind" {
                    J::Str(
                        g.pick(&["kimage", "placement", "hotplug", "pgtable", "KIMAGE", ""])
                            .to_string(),
                    )
                } else {
                    g.value()
                };
                match o.iter_mut().find(|(k, _)| k == key) {
                    Some(e) => e.1 = v,
                    None => o.insert(0, (key.into(), v)),
                }
            }
        }
    }
}

/// Text-level damage: a byte-order mark, a cut, a stray character,
/// trailing text, or the whole wrapped in a list.
fn damage(g: &mut Gen, t: &mut String) {
    let at = |g: &mut Gen, t: &str| {
        let mut i = g.below(t.len() + 1);
        while !t.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    match g.below(7) {
        0 => t.insert(0, '\u{feff}'),
        1 => {
            let i = at(g, t);
            t.truncate(i);
        }
        2 => {
            let i = at(g, t);
            let c = *g.pick(&[
                '{', '}', '[', ']', ',', ':', '"', '\\', '\u{0}', '1', ' ', 'é',
            ]);
            t.insert(i, c);
        }
        3 => {
            let tail: &str = g.pick::<&str>(&[" ", "x", "{}", "\n\n", "\u{0}"]);
            t.push_str(tail);
        }
        4 => *t = format!("[{t}]"),
        5 => *t = t.replace(',', ",\r\n"),
        _ => {
            let i = at(g, t);
            let j = at(g, &t[i..]) + i;
            t.replace_range(i..j, "");
        }
    }
}

/// A base: a preset's name, its canonical JSON, and its weight in the
/// draw.
type Base = (String, Value, u64);

/// The bases: every preset of every kind, as canonical JSON. Each is drawn
/// about as often as the others, except the large images (hundreds of
/// MiB, a third of a second each), which are drawn in proportion to how
/// much smaller than [`BIG_IMAGE`] they are, so that they take about the
/// time the others take.
fn bases() -> Vec<Base> {
    presets::all_names()
        .into_iter()
        .filter_map(|n| {
            let d = presets::find_document(n)?;
            let v: Value = serde_json::from_str(&d.to_json()).ok()?;
            let bytes = match &d {
                Document::Kimage(sc) => sc.segments.iter().map(|s| s.memsz).sum(),
                _ => 0,
            };
            let weight = (64 * BIG_IMAGE / bytes.max(1)).clamp(1, 64);
            Some((n.to_string(), v, weight))
        })
        .collect()
}

/// Images larger than this are drawn less often.
const BIG_IMAGE: u64 = 16 << 20;

/// 64 MiB of spaces, deflated: a link that inflates past the cap.
fn bomb() -> String {
    use flate2::write::DeflateEncoder;
    use std::io::Write;
    let mut enc = DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![b' '; 1 << 20];
    for _ in 0..64 {
        enc.write_all(&zeros).expect("to a Vec");
    }
    use base64::Engine;
    let b =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(enc.finish().expect("to a Vec"));
    format!("#s=1.{b}")
}

/// Case `index` of the stream of `seed`.
fn case(bases: &[Base], bomb: &str, seed: u64, index: u64) -> Case {
    let mut g = Gen(SplitMix64::new(
        seed ^ index.wrapping_mul(0x9e37_79b9_7f4a_7c15),
    ));
    let total: u64 = bases.iter().map(|b| b.2).sum();
    let mut at = g.0.below(total);
    let (name, base, _) = bases
        .iter()
        .find(|b| {
            let hit = at < b.2;
            at = at.saturating_sub(b.2);
            hit
        })
        .unwrap_or(&bases[0]);
    let mut doc = J::from_value(base);
    for _ in 0..=g.below(4) {
        mutate(&mut g, &mut doc);
    }
    let mut text = String::new();
    doc.write(&mut text);
    if g.chance(8) {
        damage(&mut g, &mut text);
    }
    if g.chance(3) {
        return Case {
            target: Target::File,
            input: text,
            from: name.clone(),
        };
    }
    // A link: the mutated scenario, perhaps mangled.
    let mut l = codec::fragment(&text);
    match g.below(12) {
        0 => {
            let i = g.below(l.len());
            l.truncate(i.max(4));
        }
        1 => {
            let i = 4 + g.below(l.len().saturating_sub(4));
            let c = *g.pick(&['!', '=', '.', '~', '%', 'é', 'A', '_']);
            if l.is_char_boundary(i) && i < l.len() && l.is_char_boundary(i + 1) {
                l.replace_range(i..i + 1, &c.to_string());
            }
        }
        2 => {
            let to: &str = g.pick::<&str>(&["s=2.", "s=.", "s=1", "s=01.", "x=1."]);
            l = l.replacen("s=1.", to, 1);
        }
        3 => l = bomb.trim_start_matches('#').to_string(),
        4 => {
            l = format!(
                "?preset={}",
                if g.chance(2) {
                    name.clone()
                } else {
                    g.string()
                }
            )
        }
        5 => {
            let tail: &str = g.pick::<&str>(&["=", "==", "&s=1.AAAA", "#", "\n"]);
            l.push_str(tail);
        }
        6 if g.chance(16) => l = format!("s=1.{}", "A".repeat(codec::MAX_LINK_BYTES)),
        _ => {}
    }
    let input = if l.starts_with('?') {
        format!("https://x.example/play/{l}")
    } else {
        format!("{}#{l}", codec::DEFAULT_BASE)
    };
    Case {
        target: Target::Link,
        input,
        from: name.clone(),
    }
}

// ---- outcomes ----------------------------------------------------------

/// What a case gave, for the determinism check.
fn outcome(c: &Case) -> std::result::Result<String, String> {
    let doc = match c.target {
        Target::File => Document::from_json(&c.input),
        Target::Link => link::decode_document(&c.input),
    };
    let doc = match doc {
        Err(e) => {
            check_message(&e)?;
            return Ok(format!("input error: {e}"));
        }
        Ok(d) => d,
    };
    // Written back, it reads the same, as a file and as a link.
    let again = Document::from_json(&doc.to_json())
        .map_err(|e| format!("its own file does not read back: {e}"))?;
    if again != doc {
        return Err("its own file reads back as another scenario".into());
    }
    let l = link::encode_document(&doc, codec::DEFAULT_BASE);
    if link::decode_document(&l).ok().as_ref() != Some(&doc) {
        return Err("its own link does not read back".into());
    }
    let (report, status) = doc.run_text();
    // 1 is a limit of the model, which the report must state.
    let stated_limit = status == 1 && report.contains("model limit");
    if !(matches!(status, 0 | 2..=6) || stated_limit) {
        return Err(format!(
            "exit status {status}, not a value, errno, fault or stated limit"
        ));
    }
    if report.is_empty() {
        return Err("an empty report".into());
    }
    Ok(format!("{} status {status}\n{report}", doc.kind()))
}

/// An input error reads as the user's terms: a reason, no serde or Rust
/// wording, no value echoed whole.
fn check_message(e: &kexec_common::InputError) -> std::result::Result<(), String> {
    let full = e.to_string();
    // The values it quotes are the user's: look at the words around them.
    let m = unquoted(&full);
    if e.message.trim().is_empty() {
        return Err(format!("an input error with no reason ({:?})", e.field));
    }
    if m.chars().count() > MAX_MESSAGE {
        return Err(format!(
            "a message of {} characters: {}…",
            m.chars().count(),
            m.chars().take(200).collect::<String>()
        ));
    }
    let words = |w: &str| {
        m.split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
            .any(|x| x == w)
    };
    let leaks = [
        "invalid type",
        "invalid value",
        "expected struct",
        "missing field `",
        "unknown field `",
        "duplicate field `",
    ];
    for l in leaks {
        if m.contains(l) {
            return Err(format!("serde's wording {l:?}: {m}"));
        }
    }
    for w in [
        "usize", "isize", "u8", "u16", "u32", "u64", "i32", "i64", "f64", "String", "Vec", "Option",
    ] {
        if words(w) {
            return Err(format!("the Rust type name {w:?}: {m}"));
        }
    }
    if m.contains('`') {
        return Err(format!("Rust-style quoting: {m}"));
    }
    if e.field.is_empty() && m.contains(" at line ") && !m.contains("not valid JSON at line ") {
        return Err(format!("a position without the field: {m}"));
    }
    Ok(())
}

/// `m` without the JSON strings it quotes (`"…"`, escapes included).
fn unquoted(m: &str) -> String {
    let mut out = String::new();
    let mut chars = m.chars();
    while let Some(c) = chars.next() {
        if c != '"' {
            out.push(c);
            continue;
        }
        out.push_str("\"\"");
        while let Some(c) = chars.next() {
            match c {
                '\\' => {
                    chars.next();
                }
                '"' => break,
                _ => {}
            }
        }
    }
    out
}

/// One case, checked: a panic, a wrong outcome or a difference between two
/// runs is its failure.
pub fn check(c: &Case, twice: bool) -> std::result::Result<String, String> {
    let run = || match std::panic::catch_unwind(AssertUnwindSafe(|| outcome(c))) {
        Ok(r) => r,
        Err(p) => Err(format!(
            "panic: {}",
            p.downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default()
        )),
    };
    let first = run()?;
    if twice && run()? != first {
        return Err("two runs of the same input differ".into());
    }
    // The class of outcome, for the tally.
    Ok(match first.split_once(':') {
        Some(("input error", _)) => "input error".into(),
        _ => first.lines().next().unwrap_or_default().to_string(),
    })
}

// ---- regressions -------------------------------------------------------

fn regressions_dir() -> PathBuf {
    root().join(REGRESSIONS)
}

/// Save a failing case as `<target>-<hash>.txt`; returns the path.
fn save(c: &Case) -> PathBuf {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in c.input.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
    }
    let dir = regressions_dir();
    let _ = std::fs::create_dir_all(&dir);
    let p = dir.join(format!("{}-{h:016x}.txt", c.target.name()));
    if let Err(e) = std::fs::write(&p, &c.input) {
        eprintln!("fuzz: cannot save {}: {e}", p.display());
    }
    p
}

/// Every saved regression: (file, case).
pub fn regressions(dir: &Path) -> Vec<(PathBuf, Case)> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd.flatten() {
        let p = e.path();
        let name = p
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        let target = if name.starts_with("file-") {
            Target::File
        } else if name.starts_with("link-") {
            Target::Link
        } else {
            continue;
        };
        if let Ok(input) = std::fs::read_to_string(&p) {
            out.push((
                p,
                Case {
                    target,
                    input,
                    from: String::new(),
                },
            ));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

// ---- the run -----------------------------------------------------------

/// What each worker is doing, for the watchdog: since when (wall clock
/// and the worker's CPU time) and which case.
struct Running {
    since: Mutex<Option<(Instant, Duration, u64)>>,
    /// The worker thread's schedstat file (its CPU time), once known.
    clock: Mutex<Option<PathBuf>>,
}

/// The calling thread's schedstat file: its CPU time, which the bounds
/// are on, so that a loaded machine (or `nice`) does not fail a case.
fn own_clock() -> Option<PathBuf> {
    let me = std::fs::read_link("/proc/thread-self").ok()?;
    Some(Path::new("/proc").join(me).join("schedstat"))
}

/// CPU time a thread has run, from its schedstat file.
fn cpu_time(clock: &Path) -> Option<Duration> {
    let text = std::fs::read_to_string(clock).ok()?;
    let ns: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

/// A case's time: the worker's CPU time when /proc has it, else the wall
/// clock's.
fn elapsed(clock: Option<&Path>, since: (Instant, Duration)) -> Duration {
    match clock.and_then(cpu_time) {
        Some(now) => now.saturating_sub(since.1),
        None => since.0.elapsed(),
    }
}

/// Run the fuzzer: Ok when every case passed.
pub fn fuzz(o: &Options) -> Result {
    let bases = Arc::new(bases());
    let bomb = Arc::new(bomb());
    if let Some(i) = o.only {
        let c = case(&bases, &bomb, o.seed, i);
        eprintln!(
            "fuzz: case {i} of seed {}: {} of {} bytes",
            o.seed,
            c.target.name(),
            c.input.len()
        );
        eprintln!("{}", c.input.chars().take(2000).collect::<String>());
        return check(&c, true)
            .map(|class| eprintln!("fuzz: {class}"))
            .map_err(|e| format!("case {i}: {e}"));
    }
    // Panics are outcomes here: keep their messages off the terminal.
    std::panic::set_hook(Box::new(|_| {}));
    let saved = regressions(&regressions_dir());
    for (p, c) in &saved {
        if let Err(e) = check(c, true) {
            let _ = std::panic::take_hook();
            return Err(format!(
                "fuzz: the saved regression {} fails: {e}",
                p.display()
            ));
        }
    }
    eprintln!("fuzz: {} saved regressions pass", saved.len());
    let start = Instant::now();
    let next = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let failures = Arc::new(Mutex::new(Vec::<(u64, String, PathBuf)>::new()));
    let slowest = Arc::new(Mutex::new((Duration::ZERO, 0u64)));
    let largest = Arc::new(AtomicUsize::new(0));
    let tally = Arc::new(Mutex::new(std::collections::BTreeMap::<String, u64>::new()));
    let running: Arc<Vec<Running>> = Arc::new(
        (0..o.jobs)
            .map(|_| Running {
                since: Mutex::new(None),
                clock: Mutex::new(None),
            })
            .collect(),
    );
    let limit = o.cases.unwrap_or(u64::MAX);
    let deadline = o.seconds.map(|s| start + Duration::from_secs(s));
    let mut workers = Vec::new();
    for w in 0..o.jobs {
        let tally = tally.clone();
        let largest = largest.clone();
        let (bases, bomb, next, done, stop, failures, slowest, running) = (
            bases.clone(),
            bomb.clone(),
            next.clone(),
            done.clone(),
            stop.clone(),
            failures.clone(),
            slowest.clone(),
            running.clone(),
        );
        let seed = o.seed;
        let profile = std::env::var_os("FUZZ_PROFILE").is_some();
        workers.push(std::thread::spawn(move || {
            counting::count_this_thread(w);
            let clock = own_clock();
            *running[w].clock.lock().unwrap_or_else(|e| e.into_inner()) = clock.clone();
            let now = || {
                let cpu = clock.as_deref().and_then(cpu_time).unwrap_or_default();
                (Instant::now(), cpu)
            };
            loop {
                if stop.load(Ordering::Relaxed) || deadline.is_some_and(|d| Instant::now() >= d) {
                    break;
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= limit {
                    break;
                }
                let c = case(&bases, &bomb, seed, i);
                let base = counting::restart_peak(w);
                let t = now();
                *running[w].since.lock().unwrap_or_else(|e| e.into_inner()) = Some((t.0, t.1, i));
                let r = check(&c, i % 32 == 0);
                let took = elapsed(clock.as_deref(), t);
                *running[w].since.lock().unwrap_or_else(|e| e.into_inner()) = None;
                let grew = counting::peak(w).saturating_sub(base);
                largest.fetch_max(grew, Ordering::Relaxed);
                let r = r.and_then(|class| {
                    *tally
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .entry(class)
                        .or_insert(0) += 1;
                    if took > MAX_CASE {
                        Err(format!("took {took:?}, over the bound of {MAX_CASE:?}"))
                    } else if grew > MAX_CASE_BYTES {
                        Err(format!(
                            "allocated {} MiB, over the bound of {} MiB",
                            grew >> 20,
                            MAX_CASE_BYTES >> 20
                        ))
                    } else {
                        Ok(())
                    }
                });
                {
                    let mut s = slowest.lock().unwrap_or_else(|e| e.into_inner());
                    if took > s.0 {
                        *s = (took, i);
                    }
                }
                if profile {
                    eprintln!(
                        "fuzz-profile {:.4} {} {} {}",
                        took.as_secs_f64(),
                        c.from,
                        c.target.name(),
                        c.input.len()
                    );
                }
                if let Err(e) = r {
                    let p = save(&c);
                    eprintln!("fuzz: case {i} FAILED: {e}\n      saved as {}", p.display());
                    failures
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push((i, e, p));
                }
                done.fetch_add(1, Ordering::Relaxed);
            }
            counting::stop_counting();
        }));
    }
    // The watchdog: a case past its bounds is saved and ends the run (a
    // thread cannot be stopped).
    let mut last_report = Instant::now();
    while workers.iter().any(|w| !w.is_finished()) {
        std::thread::sleep(Duration::from_millis(20));
        for (w, r) in running.iter().enumerate() {
            let Some((t, cpu, i)) = *r.since.lock().unwrap_or_else(|e| e.into_inner()) else {
                continue;
            };
            let clock = r.clock.lock().unwrap_or_else(|e| e.into_inner()).clone();
            let ran = elapsed(clock.as_deref(), (t, cpu));
            let grew = counting::peak(w);
            // On CPU time, with a wall-clock bound for a case that waits
            // without running (twenty times as long: a loaded machine).
            let why = if ran > MAX_CASE * 3 || t.elapsed() > MAX_CASE * 20 {
                Some(format!(
                    "still running after {ran:?} of CPU time ({:?} of wall time)",
                    t.elapsed()
                ))
            } else if counting::live(w) > MAX_CASE_BYTES + (64 << 20) {
                Some(format!("holds {} MiB", grew >> 20))
            } else {
                None
            };
            if let Some(why) = why {
                let c = case(&bases, &bomb, o.seed, i);
                let p = save(&c);
                return Err(format!(
                    "fuzz: case {i} (seed {}) {why}; saved as {}",
                    o.seed,
                    p.display()
                ));
            }
        }
        if last_report.elapsed() > Duration::from_secs(60) {
            last_report = Instant::now();
            eprintln!(
                "fuzz: {} cases, {:?}",
                done.load(Ordering::Relaxed),
                start.elapsed()
            );
        }
    }
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        let _ = w.join();
    }
    let _ = std::panic::take_hook();
    let n = done.load(Ordering::Relaxed);
    let f = failures.lock().unwrap_or_else(|e| e.into_inner());
    let (slow, slow_i) = *slowest.lock().unwrap_or_else(|e| e.into_inner());
    eprintln!(
        "fuzz: {n} cases (seed {}) in {:.1} s, {} failures; slowest case {slow_i} took {:.2} s; the most any case allocated: {} MiB",
        o.seed,
        start.elapsed().as_secs_f64(),
        f.len(),
        slow.as_secs_f64(),
        largest.load(Ordering::Relaxed) >> 20
    );
    let t = tally.lock().unwrap_or_else(|e| e.into_inner());
    let line: Vec<String> = t.iter().map(|(k, n)| format!("{k}: {n}")).collect();
    eprintln!("fuzz: outcomes: {}", line.join(", "));
    if f.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "fuzz: {} failing inputs saved under {REGRESSIONS}",
            f.len()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every input the fuzzer ever saved passes now.
    #[test]
    fn regressions_replay() {
        let all = regressions(&regressions_dir());
        assert!(!all.is_empty(), "no regression files under {REGRESSIONS}");
        for (p, c) in all {
            check(&c, true).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        }
    }

    /// A case is a function of its seed and index.
    #[test]
    fn cases_are_reproducible() {
        let (b, bomb) = (bases(), bomb());
        for i in 0..50 {
            let (x, y) = (case(&b, &bomb, 7, i), case(&b, &bomb, 7, i));
            assert_eq!((x.target, x.input), (y.target, y.input));
        }
    }

    /// The checks catch what issue 18 found.
    #[test]
    fn serde_wording_is_a_failure() {
        use kexec_common::InputError;
        let bad = InputError::new("", "invalid type: map, expected u32 at line 14 column 8");
        assert!(check_message(&bad).is_err());
        let bad = InputError::new("arch", "x".repeat(1 << 20));
        assert!(check_message(&bad).is_err());
        assert!(check_message(&InputError::new(
            "ram[0]",
            "start 0x4000000 is not below end 0x0"
        ))
        .is_ok());
    }
}
