//! References to the source a model mirrors: a function, the file and the
//! line its definition starts at in one published kernel tree, and the link
//! to that line; finding those names in a sentence so that the fronts can
//! link them; the 72-column footnote list of the plain-text reports; and
//! the check a test runs against the real tree ([`definition_lines`]).
//!
//! Knows no function itself: each model crate keeps its own table (a
//! `&[SourceRef]`), next to the code that mirrors those functions.

use crate::text::{wrap, COLUMNS};
use std::fmt::Write;

/// The Linux release the tables' lines are read from: Debian's
/// linux-source-6.1 package (`/usr/src/linux-source-6.1.tar.xz`), whose
/// Makefile says 6.1.192. The links go to the same tag, so each line is the
/// line the test checked.
pub const LINUX_VERSION: &str = "6.1.192";

/// Where the links go: elixir.bootlin.com's copy of [`LINUX_VERSION`].
pub const LINUX_BASE: &str = "https://elixir.bootlin.com/linux/v6.1.192/source/";

/// The Xen commit the Xen tables' lines are read from (the public
/// xen-project/xen tree, 2026-08-20).
pub const XEN_COMMIT: &str = "c447b7308b1330ec6dcfef37220736c28f41daa0";

/// Where Xen's links go: that commit on GitHub's copy of the tree.
pub const XEN_BASE: &str = "https://github.com/xen-project/xen/blob/c447b7308b13/";

/// The tree a function is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tree {
    /// Linux [`LINUX_VERSION`].
    Linux,
    /// Xen at [`XEN_COMMIT`].
    Xen,
}

/// A function, where its definition starts in a tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceRef {
    /// The function (or function-like macro), as the C spells it.
    pub function: &'static str,
    /// The tree.
    pub tree: Tree,
    /// The file, from the top of the tree.
    pub file: &'static str,
    /// The line its definition starts at (1-based): the line that names it.
    pub line: u32,
}

/// A function defined at `file:line` in the Linux tree (a table's row).
pub const fn linux(function: &'static str, file: &'static str, line: u32) -> SourceRef {
    SourceRef {
        function,
        tree: Tree::Linux,
        file,
        line,
    }
}

/// A function defined at `file:line` in Xen's tree.
pub const fn xen(function: &'static str, file: &'static str, line: u32) -> SourceRef {
    SourceRef {
        function,
        tree: Tree::Xen,
        file,
        line,
    }
}

impl SourceRef {
    /// `file:line`.
    pub fn location(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }

    /// The link to the line (elixir.bootlin.com for Linux, GitHub for
    /// Xen).
    pub fn url(&self) -> String {
        let base = match self.tree {
            Tree::Linux => LINUX_BASE,
            Tree::Xen => XEN_BASE,
        };
        format!("{base}{}#L{}", self.file, self.line)
    }
}

/// A piece of a sentence: text, or a function name with its reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece<'a> {
    /// Plain text.
    Text(&'a str),
    /// A name found in a table.
    Ref(&'a str, &'static SourceRef),
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn lookup(tables: &[&'static [SourceRef]], word: &str) -> Option<&'static SourceRef> {
    tables
        .iter()
        .flat_map(|t| t.iter())
        .find(|r| r.function == word)
}

/// `text` cut into plain text and the names found in `tables` (whole
/// identifiers only: `kimage_free` in `kimage_free_pages` is not one).
pub fn split<'a>(text: &'a str, tables: &[&'static [SourceRef]]) -> Vec<Piece<'a>> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let (mut plain, mut i) = (0, 0);
    while i < b.len() {
        if !is_ident(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && is_ident(b[i]) {
            i += 1;
        }
        if let Some(r) = lookup(tables, &text[start..i]) {
            if plain < start {
                out.push(Piece::Text(&text[plain..start]));
            }
            out.push(Piece::Ref(&text[start..i], r));
            plain = i;
        }
    }
    if plain < text.len() {
        out.push(Piece::Text(&text[plain..]));
    }
    out
}

/// The references a text names, each once, in the order first named.
pub fn refs_in(text: &str, tables: &[&'static [SourceRef]]) -> Vec<&'static SourceRef> {
    let mut v: Vec<&'static SourceRef> = Vec::new();
    for p in split(text, tables) {
        if let Piece::Ref(_, r) = p {
            if !v.contains(&r) {
                v.push(r);
            }
        }
    }
    v
}

/// The footnote list of a plain-text report: a title line with the tree,
/// then `[n] function file:line`, every line at most 72 columns; empty
/// when there is nothing to list.
pub fn footnotes(refs: &[&SourceRef]) -> String {
    if refs.is_empty() {
        return String::new();
    }
    let mut s = String::new();
    let has = |t: Tree| refs.iter().any(|r| r.tree == t);
    let mut trees = Vec::new();
    if has(Tree::Linux) {
        trees.push(format!("Linux {LINUX_VERSION}, {LINUX_BASE}FILE#LLINE"));
    }
    if has(Tree::Xen) {
        trees.push(format!("Xen {}, {XEN_BASE}FILE#LLINE", &XEN_COMMIT[..12]));
    }
    s.push_str(&wrap(&trees.join("; "), "sources:", 4));
    for (i, r) in refs.iter().enumerate() {
        let line = format!("[{}] {} {}", i + 1, r.function, r.location());
        if line.len() <= COLUMNS {
            let _ = writeln!(s, "{line}");
        } else {
            let _ = writeln!(s, "[{}] {}", i + 1, r.function);
            let _ = writeln!(s, "    {}", r.location());
        }
    }
    s
}

/// The lines (1-based) at which `text` (a C or assembly file) starts a
/// definition of `function`: a line at the left margin naming it before
/// `(`, with the body's `{` at the left margin before any `;` (a function);
/// a `#define function(` (a function-like macro); `SYSCALL_DEFINEn(function,`
/// (a system call); or `SYM_*_START*(function)` / `FUNC(function,`
/// (assembly, Linux's and Xen's).
pub fn definition_lines(text: &str, function: &str) -> Vec<u32> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found = Vec::new();
    let call = format!("{function}(");
    for (i, l) in lines.iter().enumerate() {
        let starts_margin = l
            .as_bytes()
            .first()
            .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_' || *b == b'#');
        if !starts_margin {
            continue;
        }
        let ok = if let Some(rest) = l.strip_prefix("#define ") {
            rest.starts_with(&call)
        } else if l.starts_with("SYSCALL_DEFINE") {
            l.split_once('(')
                .is_some_and(|(_, a)| a.starts_with(&format!("{function},")))
        } else if l.starts_with("SYM_") {
            l.contains("_START") && l.contains(&format!("({function})"))
        } else if let Some(rest) = l.strip_prefix("FUNC(") {
            rest.starts_with(&format!("{function},")) || rest.starts_with(&format!("{function})"))
        } else {
            names_call(l, &call) && body_follows(&lines[i..])
        };
        if ok {
            found.push(i as u32 + 1);
        }
    }
    found
}

/// `l` names `call` (`name(`) as a whole identifier.
fn names_call(l: &str, call: &str) -> bool {
    l.match_indices(call)
        .any(|(at, _)| at == 0 || !is_ident(l.as_bytes()[at - 1]))
}

/// From a signature's first line: its body's `{` at the left margin (or at
/// the end of the signature) comes before any `;`.
fn body_follows(from: &[&str]) -> bool {
    for (j, l) in from.iter().take(12).enumerate() {
        if j > 0 && l.starts_with('{') {
            return true;
        }
        if l.contains(';') {
            return false;
        }
        if l.trim_end().ends_with('{') {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    static T: &[SourceRef] = &[
        SourceRef {
            function: "kimage_free",
            tree: Tree::Linux,
            file: "kernel/kexec_core.c",
            line: 10,
        },
        SourceRef {
            function: "kimage_free_pages",
            tree: Tree::Linux,
            file: "kernel/kexec_core.c",
            line: 3,
        },
    ];

    #[test]
    fn names_are_found_whole() {
        let p = split("kimage_free_pages: pfn 0x1, then kimage_free.", &[T]);
        assert_eq!(
            p,
            vec![
                Piece::Ref("kimage_free_pages", &T[1]),
                Piece::Text(": pfn 0x1, then "),
                Piece::Ref("kimage_free", &T[0]),
                Piece::Text("."),
            ]
        );
        assert_eq!(
            split("xkimage_free y", &[T]),
            vec![Piece::Text("xkimage_free y")]
        );
        assert_eq!(refs_in("kimage_free kimage_free", &[T]).len(), 1);
        assert_eq!(
            T[0].url(),
            "https://elixir.bootlin.com/linux/v6.1.192/source/kernel/kexec_core.c#L10"
        );
    }

    #[test]
    fn footnotes_fit_72_columns() {
        let f = footnotes(&[&T[0], &T[1]]);
        assert!(
            f.contains("[2] kimage_free_pages kernel/kexec_core.c:3\n"),
            "{f}"
        );
        assert!(f.lines().all(|l| l.len() <= COLUMNS), "{f}");
        assert_eq!(footnotes(&[]), "");
    }

    #[test]
    fn definitions_are_told_from_calls_and_prototypes() {
        let c = "static void f(int a);\n\
                 static struct page *f(int a,\n\
                 \t\tint b)\n\
                 {\n\
                 \tf(1);\n\
                 }\n\
                 #define g(x) f(x)\n\
                 SYSCALL_DEFINE4(h, int, a)\n\
                 {\n\
                 }\n\
                 int ff(void) { return f(2); }\n";
        assert_eq!(definition_lines(c, "f"), vec![2]);
        assert_eq!(definition_lines(c, "g"), vec![7]);
        assert_eq!(definition_lines(c, "h"), vec![8]);
        assert_eq!(
            definition_lines("SYM_CODE_START_NOALIGN(k)\n", "k"),
            vec![1]
        );
    }
}
