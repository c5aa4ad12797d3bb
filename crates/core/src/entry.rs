//! kimage entry words: the IND_* flag bits of include/linux/kexec.h, how
//! relocate_kernel decodes a word, and how the folded views (the text
//! report's list, the page's entry list) group runs of SOURCE pages.

use crate::arch::{ArchProfile, PAGE_MASK, PAGE_SIZE};

/// IND_DESTINATION: set the destination cursor to this address.
pub const IND_DESTINATION: u64 = 0x1;
/// IND_INDIRECTION: continue reading at slot 0 of this page.
pub const IND_INDIRECTION: u64 = 0x2;
/// IND_DONE: end of the list.
pub const IND_DONE: u64 = 0x4;
/// IND_SOURCE: this page holds the data of the current destination page.
pub const IND_SOURCE: u64 = 0x8;
/// IND_ZERO (Xen only): the current destination page is all zeros; advance
/// the destination by a page.
pub const IND_ZERO: u64 = 0x10;
/// KIMAGE_NO_DEST: the destination asked for indirection pages (-1UL).
pub const KIMAGE_NO_DEST: u64 = u64::MAX;

/// What an entry word means, decoded in the order relocate_kernel tests the
/// bits (DESTINATION, INDIRECTION, DONE, SOURCE; then Xen's ZERO).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// IND_DESTINATION with its page address.
    Destination(u64),
    /// IND_INDIRECTION with the next page's address.
    Indirection(u64),
    /// IND_DONE.
    Done,
    /// IND_SOURCE with the source page's address.
    Source(u64),
    /// IND_ZERO (Xen's lists only).
    Zero,
    /// Any other word (0 included): skipped by the stub.
    Other(u64),
}

/// Decode an entry.
pub fn decode(e: u64) -> EntryKind {
    let a = e & PAGE_MASK;
    if e & IND_DESTINATION != 0 {
        EntryKind::Destination(a)
    } else if e & IND_INDIRECTION != 0 {
        EntryKind::Indirection(a)
    } else if e & IND_DONE != 0 {
        EntryKind::Done
    } else if e & IND_SOURCE != 0 {
        EntryKind::Source(a)
    } else if e & IND_ZERO != 0 {
        EntryKind::Zero
    } else {
        EntryKind::Other(e)
    }
}

/// A short human form of an entry: `DEST 0x…`, `IND 0x…`, `DONE`, `SRC 0x…`.
pub fn describe(arch: &ArchProfile, e: u64) -> String {
    let w = arch.entry_hex_digits();
    match decode(e) {
        EntryKind::Destination(a) => format!("DEST 0x{a:0w$x}"),
        EntryKind::Indirection(a) => format!("IND  0x{a:0w$x}"),
        EntryKind::Done => "DONE".into(),
        EntryKind::Source(a) => format!("SRC  0x{a:0w$x}"),
        EntryKind::Zero => "ZERO".into(),
        EntryKind::Other(v) => format!("0x{v:0w$x}"),
    }
}

/// Fewest SOURCE entries naming consecutive pages that the folded views
/// show as one line.
pub const SOURCE_RUN_MIN: usize = 2;

/// How many of `words`, from the first, are SOURCE entries naming
/// consecutive pages (0 when the first is not a SOURCE entry).
pub fn source_run(words: impl IntoIterator<Item = u64>) -> usize {
    let mut words = words.into_iter();
    let Some(EntryKind::Source(first)) = words.next().map(decode) else {
        return 0;
    };
    let mut len = 1;
    for w in words {
        match decode(w) {
            EntryKind::Source(a) if a == first.wrapping_add(len * PAGE_SIZE) => len += 1,
            _ => break,
        }
    }
    len as usize
}

/// The length of the run of SOURCE entries naming consecutive pages that
/// starts at the first of `words`, when it is long enough to fold
/// ([`SOURCE_RUN_MIN`]).
pub fn folded_source_run(words: impl IntoIterator<Item = u64>) -> Option<usize> {
    Some(source_run(words)).filter(|&n| n >= SOURCE_RUN_MIN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_order_follows_swap_pages() {
        assert_eq!(decode(0x1000_0001), EntryKind::Destination(0x1000_0000));
        assert_eq!(decode(0x2002), EntryKind::Indirection(0x2000));
        assert_eq!(decode(4), EntryKind::Done);
        assert_eq!(decode(0x3008), EntryKind::Source(0x3000));
        // DESTINATION wins over every other bit, as the stub tests it first.
        assert_eq!(decode(0x300f), EntryKind::Destination(0x3000));
        assert_eq!(decode(0), EntryKind::Other(0));
    }

    #[test]
    fn source_runs_stop_at_a_gap_or_another_kind() {
        assert_eq!(source_run([0x3008, 0x4008, 0x5008, 0x7008]), 3);
        assert_eq!(source_run([0x3008, 0x2008]), 1);
        assert_eq!(source_run([0x3008, 0x4002]), 1);
        assert_eq!(source_run([0x1000_0001, 0x3008]), 0);
        assert_eq!(source_run([]), 0);
        assert_eq!(folded_source_run([0x3008, 0x4008, 0x4]), Some(2));
        assert_eq!(folded_source_run([0x3008, 0x4]), None);
    }
}
