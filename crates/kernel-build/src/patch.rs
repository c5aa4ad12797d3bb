//! Patches: unified diffs and mbox files (`git format-patch`, a mail
//! saved from an archive), applied with `patch -p1` semantics.
//!
//! A hunk is placed where its old lines (context and removed lines) match
//! the file, searching outwards from the line its header names (an
//! offset), and, if that fails, with up to two context lines dropped at
//! each end (GNU patch's default fuzz factor of 2). `--fuzzy` also
//! compares lines with their whitespace collapsed, and reads hunks whose
//! context lines lost their leading space: patches copied out of mail
//! archives (seed 001 lost all its indentation).
//!
//! Written here rather than taken from a crate: the diff crates read
//! well-formed diffs only, and the whitespace-lost form is the point.

use std::fmt;

/// One hunk: `@@ -old_start,old_len +new_start,new_len @@`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hunk {
    /// The header line as written.
    pub header: String,
    /// 1-based first line in the old file.
    pub old_start: usize,
    /// The hunk's lines: (kind, text) with kind ' ', '-' or '+'.
    pub lines: Vec<(char, String)>,
}

/// The hunks of one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDiff {
    /// The path after `a/` (`-p1`); `None` for a new file.
    pub old_path: Option<String>,
    /// The path after `b/` (`-p1`); `None` when the file is deleted.
    pub new_path: Option<String>,
    /// Its hunks, in order.
    pub hunks: Vec<Hunk>,
}

impl FileDiff {
    /// The path the diff changes.
    pub fn path(&self) -> &str {
        self.new_path
            .as_deref()
            .or(self.old_path.as_deref())
            .unwrap_or("")
    }
}

/// Why a patch does not apply (or cannot be read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatchError {
    /// The patch file's name.
    pub patch: String,
    /// What went wrong, naming the file and the hunk.
    pub message: String,
}

impl fmt::Display for PatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.patch, self.message)
    }
}

/// Strip one leading path component (`patch -p1`).
fn strip_p1(path: &str) -> Option<String> {
    let path = path.split('\t').next().unwrap_or(path).trim();
    if path == "/dev/null" {
        return None;
    }
    Some(
        path.split_once('/')
            .map_or(path, |(_, rest)| rest)
            .to_string(),
    )
}

fn parse_header(line: &str) -> Option<(usize, usize, usize, usize)> {
    let body = line.strip_prefix("@@ ")?;
    let (ranges, _) = body.split_once(" @@").unwrap_or((body, ""));
    let mut parts = ranges.split_whitespace();
    let range = |s: &str| -> Option<(usize, usize)> {
        let (a, b) = s.split_once(',').unwrap_or((s, "1"));
        Some((a.parse().ok()?, b.parse().ok()?))
    };
    let (os, ol) = range(parts.next()?.strip_prefix('-')?)?;
    let (ns, nl) = range(parts.next()?.strip_prefix('+')?)?;
    Some((os, ol, ns, nl))
}

/// Read every file diff in `text` (a diff, or an mbox of several patches).
/// `fuzzy`: a line in a hunk that starts with neither `-`, `+` nor a
/// space is a context line whose leading space was lost.
pub fn parse(name: &str, text: &str, fuzzy: bool) -> Result<Vec<FileDiff>, PatchError> {
    let err = |message: String| PatchError {
        patch: name.to_string(),
        message,
    };
    let lines: Vec<&str> = text.lines().collect();
    let mut files: Vec<FileDiff> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let l = lines[i];
        if let (Some(old), Some(new)) = (
            l.strip_prefix("--- "),
            lines.get(i + 1).and_then(|n| n.strip_prefix("+++ ")),
        ) {
            files.push(FileDiff {
                old_path: strip_p1(old),
                new_path: strip_p1(new),
                hunks: Vec::new(),
            });
            i += 2;
            continue;
        }
        if l.starts_with("@@ ") {
            let Some(file) = files.last_mut() else {
                return Err(err(format!(
                    "line {}: a hunk before any ---/+++ file header",
                    i + 1
                )));
            };
            let (os, ol, _ns, nl) = parse_header(l)
                .ok_or_else(|| err(format!("line {}: unreadable hunk header {l:?}", i + 1)))?;
            let (mut old_left, mut new_left) = (ol, nl);
            let mut hunk = Hunk {
                header: l.to_string(),
                old_start: os,
                lines: Vec::new(),
            };
            i += 1;
            while old_left > 0 || new_left > 0 {
                let Some(&line) = lines.get(i) else {
                    return Err(err(format!(
                        "{}: hunk {l:?} ends early ({old_left} old and {new_left} new lines missing)",
                        file.path()
                    )));
                };
                i += 1;
                if line.starts_with('\\') {
                    continue;
                }
                let (kind, body) = match line.chars().next() {
                    Some('-') => ('-', &line[1..]),
                    Some('+') => ('+', &line[1..]),
                    Some(' ') => (' ', &line[1..]),
                    None => (' ', ""),
                    Some(_) if fuzzy => (' ', line),
                    Some(_) => {
                        return Err(err(format!(
                            "{}: hunk {l:?}: line {i} {line:?} is not a context, removed or added line (a patch copied from a mail archive may need --fuzzy)",
                            file.path()
                        )))
                    }
                };
                match kind {
                    '-' => old_left = old_left.saturating_sub(1),
                    '+' => new_left = new_left.saturating_sub(1),
                    _ => {
                        old_left = old_left.saturating_sub(1);
                        new_left = new_left.saturating_sub(1);
                    }
                }
                hunk.lines.push((kind, body.to_string()));
            }
            file.hunks.push(hunk);
            continue;
        }
        i += 1;
    }
    if files.iter().all(|f| f.hunks.is_empty()) {
        return Err(err(
            "no diff in it (no ---/+++ file header followed by @@ hunks)".into(),
        ));
    }
    Ok(files)
}

/// How a hunk went in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// The hunk's header.
    pub header: String,
    /// Lines from where the header said.
    pub offset: isize,
    /// Context lines dropped to make it fit (at each end; with `--fuzzy`,
    /// 3 or 4 when one or two lines inside the hunk were missing).
    pub fuzz: usize,
}

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Apply one file's hunks to its text. On success, the new text and where
/// each hunk went.
pub fn apply(
    name: &str,
    diff: &FileDiff,
    text: &str,
    fuzzy: bool,
) -> Result<(String, Vec<Placement>), PatchError> {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let trailing_newline = text.ends_with('\n') || text.is_empty();
    let mut placements = Vec::new();
    // Lines added minus lines removed by the hunks applied so far.
    let mut delta: isize = 0;
    for (n, h) in diff.hunks.iter().enumerate() {
        let (at, fuzz, old_len, new) =
            place(&lines, h, delta, fuzzy).ok_or_else(|| PatchError {
                patch: name.to_string(),
                message: format!(
                    "{}: hunk {} of {} ({}) does not apply{}",
                    diff.path(),
                    n + 1,
                    diff.hunks.len(),
                    h.header,
                    first_change(h)
                        .map(|c| format!(": no place in the file has its lines around {c:?}"))
                        .unwrap_or_default()
                ),
            })?;
        let first = if h.lines.iter().all(|(k, _)| *k == '+') {
            h.old_start
        } else {
            h.old_start.saturating_sub(1)
        };
        let expected = (first as isize + delta).max(0);
        placements.push(Placement {
            header: h.header.clone(),
            offset: at as isize - expected,
            fuzz,
        });
        let added = new.len() as isize - old_len as isize;
        lines.splice(at..at + old_len, new);
        delta += added;
    }
    let mut out = lines.join("\n");
    if trailing_newline && !out.is_empty() {
        out.push('\n');
    }
    Ok((out, placements))
}

fn first_change(h: &Hunk) -> Option<String> {
    h.lines
        .iter()
        .find(|(k, _)| *k != ' ')
        .map(|(k, t)| format!("{k}{}", t.trim()))
}

/// Where hunk `h` fits: (first line, fuzz, old lines replaced, new lines).
fn place(
    lines: &[String],
    h: &Hunk,
    delta: isize,
    fuzzy: bool,
) -> Option<(usize, usize, usize, Vec<String>)> {
    let lead = h.lines.iter().take_while(|(k, _)| *k == ' ').count();
    let trail = h.lines.iter().rev().take_while(|(k, _)| *k == ' ').count();
    for fuzz in 0..=2usize {
        let (cut_front, cut_back) = (fuzz.min(lead), fuzz.min(trail));
        if fuzz > 0 && cut_front < fuzz && cut_back < fuzz {
            break;
        }
        let body = &h.lines[cut_front..h.lines.len() - cut_back];
        let old: Vec<&str> = body
            .iter()
            .filter(|(k, _)| *k != '+')
            .map(|(_, t)| t.as_str())
            .collect();
        let new: Vec<String> = body
            .iter()
            .filter(|(k, _)| *k != '-')
            .map(|(_, t)| t.clone())
            .collect();
        // A hunk with no old lines inserts after line old_start.
        let first = if old.is_empty() {
            h.old_start
        } else {
            h.old_start.saturating_sub(1)
        };
        let want = (first as isize + delta + cut_front as isize).max(0) as usize;
        if let Some(at) = find(lines, &old, want, fuzzy) {
            return Some((at, fuzz, old.len(), new));
        }
    }
    if fuzzy {
        return place_without_context(lines, h, delta);
    }
    None
}

/// `--fuzzy` only: the hunk with one or two of its context lines dropped
/// anywhere (a later cleanup removed a line the patch's base had, as 6.1
/// dropped `addr = old_addr;` that the 2020 RFC has as context). Removed
/// lines must all match. Each dropped line counts as fuzz.
fn place_without_context(
    lines: &[String],
    h: &Hunk,
    delta: isize,
) -> Option<(usize, usize, usize, Vec<String>)> {
    let ctx: Vec<usize> = (0..h.lines.len())
        .filter(|&i| h.lines[i].0 == ' ')
        .collect();
    let want = (h.old_start as isize - 1 + delta).max(0) as usize;
    let try_without = |skip: &[usize]| {
        let body: Vec<&(char, String)> = h
            .lines
            .iter()
            .enumerate()
            .filter(|(i, _)| !skip.contains(i))
            .map(|(_, l)| l)
            .collect();
        let old: Vec<&str> = body
            .iter()
            .filter(|(k, _)| *k != '+')
            .map(|(_, t)| t.as_str())
            .collect();
        let new: Vec<String> = body
            .iter()
            .filter(|(k, _)| *k != '-')
            .map(|(_, t)| t.clone())
            .collect();
        find(lines, &old, want, true).map(|at| (at, 2 + skip.len(), old.len(), new))
    };
    for &a in &ctx {
        if let Some(r) = try_without(&[a]) {
            return Some(r);
        }
    }
    for (n, &a) in ctx.iter().enumerate() {
        for &b in &ctx[n + 1..] {
            if let Some(r) = try_without(&[a, b]) {
                return Some(r);
            }
        }
    }
    None
}

/// The start nearest to `want` where `old` matches `lines`.
fn find(lines: &[String], old: &[&str], want: usize, fuzzy: bool) -> Option<usize> {
    if old.len() > lines.len() {
        return None;
    }
    let last = lines.len() - old.len();
    let same = |a: &str, b: &str| {
        if fuzzy {
            collapse(a) == collapse(b)
        } else {
            a == b
        }
    };
    let fits = |at: usize| old.iter().enumerate().all(|(j, o)| same(&lines[at + j], o));
    let want = want.min(last);
    for d in 0..=last {
        if want + d <= last && fits(want + d) {
            return Some(want + d);
        }
        if d > 0 && d <= want && fits(want - d) {
            return Some(want - d);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "a\nb\nc\n\tint x;\nd\ne\nf\n";

    #[test]
    fn a_plain_diff_applies_at_an_offset() {
        let p = "--- a/f.c\n+++ b/f.c\n@@ -1,3 +1,3 @@\n c\n-\tint x;\n+\tlong x;\n d\n";
        let files = parse("p", p, false).unwrap();
        assert_eq!(files[0].path(), "f.c");
        let (out, pl) = apply("p", &files[0], FILE, false).unwrap();
        assert_eq!(out, "a\nb\nc\n\tlong x;\nd\ne\nf\n");
        assert_eq!(pl[0].offset, 2);
        assert_eq!(pl[0].fuzz, 0);
    }

    #[test]
    fn whitespace_lost_in_mail_needs_fuzzy() {
        let p = "--- a/f.c\n+++ b/f.c\n@@ -3,3 +3,3 @@\nc\n- int x;\n+ long x;\nd\n";
        let e = parse("p", p, false).unwrap_err();
        assert!(e.message.contains("--fuzzy"), "{e}");
        let files = parse("p", p, true).unwrap();
        let (out, _) = apply("p", &files[0], FILE, true).unwrap();
        assert!(out.contains("long x;"));
        let strict = apply("p", &files[0], FILE, false).unwrap_err();
        assert!(strict.message.contains("hunk 1 of 1"), "{strict}");
        assert!(strict.message.contains("-int x;"), "{strict}");
    }

    #[test]
    fn fuzz_drops_outer_context() {
        let p = "--- a/f.c\n+++ b/f.c\n@@ -2,5 +2,5 @@\n b\n c\n-\tint x;\n+\tlong x;\n d\n ZZ\n";
        let files = parse("p", p, false).unwrap();
        let (out, pl) = apply("p", &files[0], FILE, false).unwrap();
        assert!(out.contains("\tlong x;"));
        assert_eq!(pl[0].fuzz, 1);
    }

    #[test]
    fn fuzzy_skips_a_context_line_the_file_lost() {
        let p = "--- a/f.c\n+++ b/f.c\n@@ -2,7 +2,7 @@\nb\nc\n- int x;\n+ long x;\ngone\nd\ne\nf\n";
        let files = parse("p", p, true).unwrap();
        assert!(apply("p", &files[0], FILE, false).is_err());
        let (out, pl) = apply("p", &files[0], FILE, true).unwrap();
        assert!(out.contains("long x;"), "{out}");
        assert_eq!(pl[0].fuzz, 3);
    }

    #[test]
    fn mbox_of_two_patches_and_new_files() {
        let p = "From x\nSubject: [PATCH 1/2]\n\n---\n f.c | 1 +\n\ndiff --git a/f.c b/f.c\n--- a/f.c\n+++ b/f.c\n@@ -1 +1,2 @@\n a\n+a2\n-- \n2.1\n\nFrom y\n\n--- /dev/null\n+++ b/g.c\n@@ -0,0 +1 @@\n+new\n";
        let files = parse("p", p, false).unwrap();
        assert_eq!(files.len(), 2);
        assert_eq!(files[1].old_path, None);
        let (out, _) = apply("p", &files[1], "", false).unwrap();
        assert_eq!(out, "new\n");
    }

    #[test]
    fn a_pure_insertion_goes_after_its_line() {
        let p = "--- a/f.c\n+++ b/f.c\n@@ -2,0 +3,1 @@\n+new\n";
        let files = parse("p", p, false).unwrap();
        let (out, pl) = apply("p", &files[0], FILE, false).unwrap();
        assert!(out.starts_with("a\nb\nnew\nc\n"), "{out}");
        assert_eq!(pl[0].offset, 0);
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(parse("p", "hello\n", false)
            .unwrap_err()
            .message
            .contains("no diff"));
        let e = parse("p", "--- a/f\n+++ b/f\n@@ -1,3 +1,3 @@\n a\n", false).unwrap_err();
        assert!(e.message.contains("ends early"), "{e}");
    }
}
