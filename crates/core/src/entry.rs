//! kimage entry words: the IND_* flag bits of include/linux/kexec.h, how
//! relocate_kernel decodes a word, how the folded views (the text
//! report's list, the page's entry list) group runs of SOURCE pages, and
//! the list as for_each_kimage_entry visits it ([`Walked`]).

use crate::arch::{ArchProfile, PAGE_MASK, PAGE_SIZE};
use crate::trace::Pos;

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

/// The list as for_each_kimage_entry visits it: each entry's word, head
/// first, and the slot it was read from ([`Pos`]).
///
/// The words are kept as they are, eight bytes each; the slots as runs:
/// the entries a page holds are read from consecutive slots, so a slot is
/// kept only where a run starts (head, each page the walk turns to, a
/// design whose next slot is not the one after). A 1 GiB image's walk
/// was 6.3 MB as (slot, word) pairs, allocated and faulted in by every
/// run; it is 2.1 MB as words plus one run per indirection page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Walked {
    words: Vec<u64>,
    /// Where each run of consecutive slots starts: the index of its first
    /// entry and that entry's slot, ascending.
    runs: Vec<(usize, Pos)>,
}

impl Walked {
    /// Empty, with room for `n` entries.
    pub fn with_capacity(n: usize) -> Self {
        Walked {
            words: Vec::with_capacity(n),
            runs: Vec::new(),
        }
    }

    /// The walk read `word` at `pos`.
    #[inline]
    pub fn push(&mut self, pos: Pos, word: u64) {
        self.run_from(pos);
        self.words.push(word);
    }

    /// The walk read `words`, each masked with `mask`, at consecutive
    /// slots of one page from `first` on: [`Walked::push`] of each, with
    /// one look at the runs.
    #[inline]
    pub fn push_run(&mut self, first: Pos, words: &[u64], mask: u64) {
        if words.is_empty() {
            return;
        }
        self.run_from(first);
        self.words.extend(words.iter().map(|&w| w & mask));
    }

    /// The next entry is read at `pos`: a run starts there unless the last
    /// run continues to it (head starts a run of its own each time).
    #[inline]
    fn run_from(&mut self, pos: Pos) {
        let next = self
            .runs
            .last()
            .filter(|&&(_, p)| p != Pos::Head)
            .map(|&run| Self::at(run, self.words.len()));
        if next != Some(pos) {
            self.runs.push((self.words.len(), pos));
        }
    }

    /// Entries walked.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// Whether the walk visited nothing.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// The words, in walk order.
    pub fn words(&self) -> &[u64] {
        &self.words
    }

    /// Entry `i`: its slot and word.
    pub fn get(&self, i: usize) -> Option<(Pos, u64)> {
        let word = *self.words.get(i)?;
        let r = self.runs.partition_point(|&(start, _)| start <= i) - 1;
        Some((Self::at(self.runs[r], i), word))
    }

    /// The slot of entry `i` of the run `(start, pos)`.
    #[inline]
    fn at((start, pos): (usize, Pos), i: usize) -> Pos {
        match pos {
            Pos::Slot { pfn, idx } => Pos::Slot {
                pfn,
                idx: idx.wrapping_add((i - start) as u32),
            },
            Pos::Head => Pos::Head,
        }
    }

    /// Every entry, in walk order: its slot and word.
    pub fn iter(&self) -> impl Iterator<Item = (Pos, u64)> + '_ {
        let mut r = 0;
        self.words.iter().enumerate().map(move |(i, &w)| {
            while self.runs.get(r + 1).is_some_and(|&(start, _)| start <= i) {
                r += 1;
            }
            (Self::at(self.runs[r], i), w)
        })
    }
}

impl FromIterator<(Pos, u64)> for Walked {
    fn from_iter<I: IntoIterator<Item = (Pos, u64)>>(iter: I) -> Self {
        let mut w = Walked::default();
        for (pos, word) in iter {
            w.push(pos, word);
        }
        w
    }
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

    #[test]
    fn a_walk_keeps_every_slot_it_was_given() {
        let slot = |pfn, idx| Pos::Slot { pfn, idx };
        let given = vec![
            (Pos::Head, 0x5002),
            (slot(5, 0), 0x1000_0001),
            (slot(5, 1), 0x3008),
            (slot(5, 2), 0x7002),
            (slot(7, 0), 0x4008),
            // A design whose next slot is not the one after.
            (slot(7, 3), 0x6008),
            (slot(7, 4), 0),
            (Pos::Head, 9),
            (Pos::Head, 10),
        ];
        let w: Walked = given.iter().copied().collect();
        assert_eq!(w.len(), given.len());
        assert_eq!(w.runs.len(), 6, "{:?}", w.runs);
        assert_eq!(w.iter().collect::<Vec<_>>(), given);
        for (i, &g) in given.iter().enumerate() {
            assert_eq!(w.get(i), Some(g));
        }
        assert_eq!(w.get(given.len()), None);
        let words: Vec<u64> = given.iter().map(|&(_, e)| e).collect();
        assert_eq!(w.words(), &words[..]);
        assert!(Walked::default().is_empty());
        assert_eq!(Walked::default().iter().count(), 0);
    }
}
