//! Per-pfn tables the model keeps (page roles, page contents, the
//! allocator's bitmap), laid out as the kernel's SPARSEMEM lays out
//! `struct page` (mm/sparse.c: `mem_section`, SECTIONS_PER_ROOT): a value
//! per pfn in sections made on first use, found through a directory.
//!
//! A lookup is two array reads (the directory, then the value), with no
//! hashing for every section below 2^22 (with 64-pfn sections, every pfn
//! below 2^28: 1 TiB of 4 KiB pages); sections above that (x86_64's larger
//! machines, or a wild address a broken list names) are found through a
//! hash map. Memory is proportional to the sections touched, not to the
//! machine's size.
//!
//! The model's own structure: the kernel's mem_section holds struct pages,
//! this holds whatever one model table keeps per pfn (`T`).

use rustc_hash::FxHashMap;

/// Sections found through the directory (the rest are hashed): the
/// directory grows to the highest section made, at most 2^22 entries
/// (16 MiB).
const DIRECT_SECTIONS: u64 = 1 << 22;

/// A value of type `T` per pfn (or per any u64 key), `T::default()` where
/// nothing was stored, in sections of `2^SHIFT` values made on first write.
/// The sections live end to end in one vector (one allocation, one copy
/// to clone); a directory (the kernel's mem_section roots) holds each
/// section's number + 1, 0 for none. The directory may be longer than its
/// highest section (zeros past it): an emptied map keeps its length.
#[derive(Debug)]
pub struct SectionMap<T, const SHIFT: u32> {
    dir: Vec<u32>,
    high: FxHashMap<u64, u32>,
    values: Vec<T>,
    /// The directory's sections made, one bit each (bit `s % 64` of word
    /// `s / 64`): [`SectionMap::iter`] walks these in order, not the
    /// directory. Bits, not a sorted vector or a set: sections are made
    /// in the allocator's random order (inserting each into a vector
    /// moved half of it: quadratic, 17,284 sections on huge-initrd; a
    /// BTreeSet's inserts were 4% of the random explorer's instructions).
    made: Vec<u64>,
    /// The hashed sections made, ascending (rare: above the directory).
    made_high: Made,
}

/// The set bits of `w` ascending, as positions.
struct Bits(u64);

impl Iterator for Bits {
    type Item = u32;
    #[inline]
    fn next(&mut self) -> Option<u32> {
        if self.0 == 0 {
            return None;
        }
        let b = self.0.trailing_zeros();
        self.0 &= self.0 - 1;
        Some(b)
    }
}

impl<T: Clone, const SHIFT: u32> Clone for SectionMap<T, SHIFT> {
    /// The directory copied up to its highest section made (an emptied
    /// and refilled map's may be longer).
    fn clone(&self) -> Self {
        let words = self.made.iter().rposition(|&w| w != 0).map_or(0, |i| i + 1);
        let dir_len = match words {
            0 => 0,
            n => (n - 1) * 64 + 64 - self.made[n - 1].leading_zeros() as usize,
        };
        SectionMap {
            dir: self.dir[..dir_len].to_vec(),
            high: self.high.clone(),
            values: self.values.clone(),
            made: self.made[..words].to_vec(),
            made_high: self.made_high.clone(),
        }
    }

    /// The same, in `self`'s allocations (the exhaustive explorer copies
    /// a run's bitmap at each choice point): `self`'s directory entries
    /// emptied and `src`'s written, one per section made on either side,
    /// not the whole directory copied.
    fn clone_from(&mut self, src: &Self) {
        self.clear_dir();
        if self.dir.len() < src.dir.len() {
            self.dir.resize(src.dir.len(), 0);
        }
        for (w, &bits) in src.made.iter().enumerate() {
            for b in Bits(bits) {
                let sec = w * 64 + b as usize;
                self.dir[sec] = src.dir[sec];
            }
        }
        self.made.clone_from(&src.made);
        self.high.clone_from(&src.high);
        self.values.clone_from(&src.values);
        self.made_high.clone_from(&src.made_high);
    }
}

impl<T, const SHIFT: u32> Default for SectionMap<T, SHIFT> {
    fn default() -> Self {
        SectionMap {
            dir: Vec::new(),
            high: FxHashMap::default(),
            values: Vec::new(),
            made: Vec::new(),
            made_high: Made::default(),
        }
    }
}

impl<T, const SHIFT: u32> SectionMap<T, SHIFT> {
    /// Every directory entry of a section made set to 0 and the bits
    /// cleared (the directory keeps its length).
    fn clear_dir(&mut self) {
        for (w, bits) in self.made.iter_mut().enumerate() {
            for b in Bits(*bits) {
                self.dir[w * 64 + b as usize] = 0;
            }
            *bits = 0;
        }
    }
}

impl<T: Copy + Default + PartialEq, const SHIFT: u32> SectionMap<T, SHIFT> {
    /// Values per section.
    pub const SECTION: u64 = 1 << SHIFT;

    #[cfg_attr(not(feature = "small"), inline(always))]
    #[cfg_attr(feature = "small", inline)]
    fn index(&self, sec: u64) -> u32 {
        // The directory never grows past DIRECT_SECTIONS: a section inside
        // it is direct (one compare on the common path).
        if sec < self.dir.len() as u64 {
            self.dir[sec as usize]
        } else if sec < DIRECT_SECTIONS {
            0
        } else {
            self.index_high(sec)
        }
    }

    #[cold]
    #[inline(never)]
    fn index_high(&self, sec: u64) -> u32 {
        self.high.get(&sec).copied().unwrap_or(0)
    }

    #[cold]
    #[inline(never)]
    fn make(&mut self, sec: u64) -> u32 {
        let n = u32::try_from(self.values.len() >> SHIFT).expect("fewer than 2^32 sections") + 1;
        if self.values.is_empty() {
            // Room for a few sections: a run touches lowmem, highmem and
            // the RAM above 4 GiB, and each grow copies every section.
            self.values.reserve(4 << SHIFT);
        }
        self.values
            .resize(self.values.len() + (1 << SHIFT), T::default());
        if sec < DIRECT_SECTIONS {
            let i = sec as usize;
            if self.dir.len() <= i {
                self.dir.resize(i + 1, 0);
            }
            self.dir[i] = n;
            if self.made.len() <= i / 64 {
                self.made.resize(i / 64 + 1, 0);
            }
            self.made[i / 64] |= 1 << (i % 64);
        } else {
            self.high.insert(sec, n);
            self.made_high.insert(sec);
        }
        n
    }

    /// Empty, as [`SectionMap::default`], keeping the allocations (the
    /// directory is cleared entry by entry: only the sections made).
    pub fn clear(&mut self) {
        self.clear_dir();
        self.high.clear();
        self.values.clear();
        self.made_high.clear();
    }

    /// The section holding `key`, if one was made (values `key` rounded
    /// down to a section, onwards).
    pub fn section(&self, key: u64) -> Option<&[T]> {
        match self.index(key >> SHIFT) {
            0 => None,
            n => {
                let start = ((n - 1) as usize) << SHIFT;
                Some(&self.values[start..start + (1 << SHIFT)])
            }
        }
    }

    /// Where in `values` the value of `key` is, in section number `n`
    /// (the directory's entry: the section's number + 1).
    #[inline(always)]
    fn at(n: u32, key: u64) -> usize {
        (((n - 1) as usize) << SHIFT) | (key as usize & ((1 << SHIFT) - 1))
    }

    /// The value at `key` (`T::default()` if none was stored).
    #[cfg_attr(not(feature = "small"), inline(always))]
    #[cfg_attr(feature = "small", inline)]
    pub fn get(&self, key: u64) -> T {
        match self.index(key >> SHIFT) {
            0 => T::default(),
            n => self.values[Self::at(n, key)],
        }
    }

    /// The value at `key`, its section made if it was not.
    #[inline]
    pub fn get_mut(&mut self, key: u64) -> &mut T {
        let sec = key >> SHIFT;
        let n = match self.index(sec) {
            0 => self.make(sec),
            n => n,
        };
        &mut self.values[Self::at(n, key)]
    }

    /// Exchange the values at `a` and `b`: [`SectionMap::get`] of both,
    /// then [`SectionMap::set`] of each to the other's (no section is made
    /// for a default value), with one directory lookup each when both
    /// sections exist.
    #[inline]
    pub fn swap(&mut self, a: u64, b: u64) {
        let (ia, ib) = (self.index(a >> SHIFT), self.index(b >> SHIFT));
        // Not in the page's module (`small`: its bytes are counted, and it
        // runs only small images).
        if !cfg!(feature = "small") && ia != 0 && ib != 0 {
            self.values.swap(Self::at(ia, a), Self::at(ib, b));
            return;
        }
        let (va, vb) = (self.get(a), self.get(b));
        self.set(a, vb);
        self.set(b, va);
    }

    /// Store `v` at `key`; storing the default where no section exists
    /// makes none.
    #[inline]
    pub fn set(&mut self, key: u64, v: T) {
        if v == T::default() && self.index(key >> SHIFT) == 0 {
            return;
        }
        *self.get_mut(key) = v;
    }

    /// Every section made, ascending: its first key and its values. Walks
    /// the bits of the sections made (and the hashed ones, kept sorted),
    /// not the directory.
    pub fn sections(&self) -> impl Iterator<Item = (u64, &[T])> + '_ {
        self.made
            .iter()
            .enumerate()
            .flat_map(|(w, &bits)| Bits(bits).map(move |b| (w * 64) as u64 + u64::from(b)))
            .chain(self.made_high.iter())
            .map(|sec| (sec, self.index(sec)))
            .map(move |(sec, n)| {
                let start = ((n - 1) as usize) << SHIFT;
                (sec << SHIFT, &self.values[start..start + (1 << SHIFT)])
            })
    }

    /// [`SectionMap::iter`] as a loop calling `f` (what the exhaustive
    /// explorer's hashing walks: plain loops, no iterator adapters).
    #[inline]
    pub fn for_each(&self, mut f: impl FnMut(u64, T)) {
        for (first, values) in self.sections() {
            for (i, &v) in values.iter().enumerate() {
                if v != T::default() {
                    f(first + i as u64, v);
                }
            }
        }
    }

    /// Every key holding a value other than the default, ascending, with
    /// its value.
    pub fn iter(&self) -> impl Iterator<Item = (u64, T)> + '_ {
        self.sections().flat_map(|(first, values)| {
            values
                .iter()
                .enumerate()
                .filter(|(_, v)| **v != T::default())
                .map(move |(i, v)| (first + i as u64, *v))
        })
    }
}

/// Section numbers, ascending, in sorted runs of at most
/// `2 * Made::RUN` (the hashed sections, in any order): inserting each
/// into one sorted vector moves half of it, and a run moves at most its
/// own. A BTreeSet did as well and cost the page's module 1.6 KiB.
#[derive(Debug, Clone, Default)]
struct Made {
    runs: Vec<Vec<u64>>,
}

impl Made {
    const RUN: usize = 256;

    fn insert(&mut self, sec: u64) {
        if self.runs.is_empty() {
            self.runs.push(vec![sec]);
            return;
        }
        // The first run whose last section is not below `sec`, or the
        // last run.
        let r = self
            .runs
            .partition_point(|run| run.last().is_some_and(|&l| l < sec))
            .min(self.runs.len() - 1);
        let run = &mut self.runs[r];
        let at = run.partition_point(|&m| m < sec);
        run.insert(at, sec);
        if run.len() > 2 * Self::RUN {
            let tail = run.split_off(Self::RUN);
            self.runs.insert(r + 1, tail);
        }
    }

    fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        self.runs.iter().flatten().copied()
    }

    /// Empty, keeping the first run's allocation (an empty run is where
    /// the next insert goes).
    fn clear(&mut self) {
        self.runs.truncate(1);
        if let Some(run) = self.runs.first_mut() {
            run.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// swap answers as get of both then set of each, sections included
    /// (none made for a default value), on keys in and out of made
    /// sections, hashed ones and a key with itself.
    #[test]
    fn swap_is_two_gets_and_two_sets() {
        let keys = [0u64, 5, 63, 64, 700, 4096, 1 << 30, (1 << 30) + 1];
        let mut rng = kexec_common::rng::SplitMix64::new(9);
        for _ in 0..300 {
            let mut fast: SectionMap<u32, 6> = SectionMap::default();
            for &k in &keys {
                if rng.below(3) == 0 {
                    fast.set(k, rng.below(3) as u32);
                }
            }
            let mut slow = fast.clone();
            for _ in 0..6 {
                let a = keys[rng.below(keys.len() as u64) as usize];
                let b = keys[rng.below(keys.len() as u64) as usize];
                fast.swap(a, b);
                let (va, vb) = (slow.get(a), slow.get(b));
                slow.set(a, vb);
                slow.set(b, va);
                let all = |m: &SectionMap<u32, 6>| m.iter().collect::<Vec<_>>();
                assert_eq!(all(&fast), all(&slow));
                assert_eq!(fast.sections().count(), slow.sections().count());
            }
        }
    }

    #[test]
    fn made_stays_sorted() {
        let mut m = Made::default();
        let mut want = Vec::new();
        let mut x: u64 = 1;
        for _ in 0..5000 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let sec = x >> 50;
            if !want.contains(&sec) {
                m.insert(sec);
                want.push(sec);
            }
        }
        want.sort_unstable();
        assert_eq!(m.iter().collect::<Vec<_>>(), want);
        assert!(m.runs.len() > 1 && m.runs.iter().all(|r| r.len() <= 2 * Made::RUN));
        m.clear();
        assert_eq!(m.iter().count(), 0);
        m.insert(9);
        m.insert(3);
        assert_eq!(m.iter().collect::<Vec<_>>(), vec![3, 9]);
    }

    #[test]
    fn low_and_high_roots() {
        let mut m: SectionMap<u8, 4> = SectionMap::default();
        assert_eq!(m.get(5), 0);
        m.set(5, 0);
        assert!(m.section(5).is_none());
        m.set(5, 3);
        m.set(1 << 40, 7);
        m.set(17, 1);
        assert_eq!(m.get(5), 3);
        assert_eq!(m.get(1 << 40), 7);
        assert_eq!(m.get(6), 0);
        assert_eq!(m.section(16).map(|s| s.len()), Some(16));
        assert_eq!(
            m.iter().collect::<Vec<_>>(),
            vec![(5, 3), (17, 1), (1 << 40, 7)]
        );
        m.set(5, 0);
        assert_eq!(m.iter().count(), 2);
        let mut each = Vec::new();
        m.for_each(|k, v| each.push((k, v)));
        assert_eq!(each, m.iter().collect::<Vec<_>>());
        let mut c: SectionMap<u8, 4> = SectionMap::default();
        c.set(3, 9);
        c.clone_from(&m);
        assert_eq!(c.iter().collect::<Vec<_>>(), m.iter().collect::<Vec<_>>());
        m.clear();
        assert_eq!(m.iter().count(), 0);
        assert_eq!((m.get(17), m.get(1 << 40)), (0, 0));
        assert!(m.section(17).is_none());
        m.set(40, 2);
        assert_eq!(m.iter().collect::<Vec<_>>(), vec![(40, 2)]);
    }
}
