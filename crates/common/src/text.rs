//! Plain text for email: the 72-column width, word wrapping, and byte
//! counts in the units kernel developers write them in.

use crate::units::{GIB, KIB, MIB, TIB};

/// Width of the plain-text reports (an email line).
pub const COLUMNS: usize = 72;

/// The largest binary unit that divides `b` exactly, as (count, unit
/// index into `[B, KiB, MiB, GiB]`).
fn exact_unit(b: u64) -> (u64, usize) {
    [GIB, MIB, KIB]
        .iter()
        .enumerate()
        .find(|&(_, &n)| b >= n && b.is_multiple_of(n))
        .map_or((b, 0), |(i, &n)| (b / n, 3 - i))
}

/// Human size, rounded down to one decimal: `8 GiB`, `4.5 MiB`, `12 KiB`.
pub fn size(b: u64) -> String {
    for (u, n) in [("TiB", TIB), ("GiB", GIB), ("MiB", MIB), ("KiB", KIB)] {
        if b >= n {
            return if b.is_multiple_of(n) {
                format!("{} {u}", b / n)
            } else {
                format!("{}.{} {u}", b / n, (b % n) * 10 / n)
            };
        }
    }
    format!("{b} B")
}

/// A byte count in the largest unit that divides it exactly: `3 GiB`,
/// `4608 KiB`, `100 B`. (A count of whole KiB below 1 KiB is `0 KiB`, as
/// the lab reports always printed it.)
pub fn size_exact(b: u64) -> String {
    if b == 0 {
        return "0 KiB".into();
    }
    match exact_unit(b) {
        (n, 3) => format!("{n} GiB"),
        (n, 2) => format!("{n} MiB"),
        (n, 1) => format!("{n} KiB"),
        (n, _) => format!("{n} B"),
    }
}

/// A byte count as `memparse` reads it back, for text fields: `10G`,
/// `128M`, else hex (`0x1000`).
pub fn memparse_text(b: u64) -> String {
    match exact_unit(b) {
        (n, 3) => format!("{n}G"),
        (n, 2) => format!("{n}M"),
        _ => format!("0x{b:x}"),
    }
}

/// Word-wrap `text` to [`COLUMNS`] after the prefix `first`; continuation
/// lines are indented by `indent` spaces. Words longer than a line are cut.
pub fn wrap(text: &str, first: &str, indent: usize) -> String {
    let pad = " ".repeat(indent);
    let mut out = String::new();
    let mut line = first.to_string();
    let mut words_on_line = 0;
    for word in text.split_whitespace() {
        let sep = usize::from(words_on_line > 0 || !(line.is_empty() || line.ends_with(' ')));
        if words_on_line > 0 && line.chars().count() + sep + word.chars().count() > COLUMNS {
            out.push_str(line.trim_end());
            out.push('\n');
            line = pad.clone();
            words_on_line = 0;
        }
        if words_on_line > 0 || !(line.is_empty() || line.ends_with(' ')) {
            line.push(' ');
        }
        let mut w = word;
        while line.chars().count() + w.chars().count() > COLUMNS {
            let room = COLUMNS.saturating_sub(line.chars().count()).max(1);
            let cut = w.char_indices().nth(room).map_or(w.len(), |(i, _)| i);
            line.push_str(&w[..cut]);
            out.push_str(&line);
            out.push('\n');
            line = pad.clone();
            w = &w[cut..];
        }
        line.push_str(w);
        words_on_line += 1;
    }
    if words_on_line > 0 {
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_fits_72() {
        let t = wrap(&"word ".repeat(60), "verdict:", 4);
        assert!(t.lines().all(|l| l.chars().count() <= COLUMNS));
        let long = wrap(&"x".repeat(200), "a:", 2);
        assert!(long.lines().all(|l| l.chars().count() <= COLUMNS), "{long}");
        assert_eq!(
            long.replace(['\n', ' '], "").trim_start_matches("a:").len(),
            200
        );
    }

    #[test]
    fn sizes() {
        assert_eq!(size(8 << 30), "8 GiB");
        assert_eq!(size(4_718_592), "4.5 MiB");
        assert_eq!(size(100), "100 B");
        assert_eq!(size_exact(4_718_592), "4608 KiB");
        assert_eq!(size_exact(3 << 30), "3 GiB");
        assert_eq!(size_exact(100), "100 B");
        assert_eq!(memparse_text(10 << 30), "10G");
        assert_eq!(memparse_text(128 << 20), "128M");
        assert_eq!(memparse_text(0x1000), "0x1000");
    }
}
