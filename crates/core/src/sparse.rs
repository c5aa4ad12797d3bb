//! Per-pfn tables the model keeps (page roles, page contents, the
//! allocator's bitmap), laid out as the kernel lays out `struct page`:
//! for a run that touches most of its machine, FLATMEM's one array
//! (`mem_map`, `pfn_to_page` an offset); otherwise, and above the flat
//! array's 16 MiB, SPARSEMEM's sections (mm/sparse.c: `mem_section`,
//! SECTIONS_PER_ROOT): a value per pfn in sections made on first use,
//! found through a directory.
//!
//! A lookup in the flat array is one bounds check and one read; through
//! the directory, two array reads (the directory, then the value), with
//! no hashing for every section below 2^22 (with 64-pfn sections, every
//! pfn below 2^28: 1 TiB of 4 KiB pages); sections above that (x86_64's
//! larger machines, or a wild address a broken list names) are found
//! through a hash map. The directory's sections take memory for the
//! sections touched, end to end in the order they were made: compact for
//! a small run on a large machine (the explorer's candidates), scattered
//! for a large run, whose every step reads a directory entry in a table
//! too large for the cache and values far from their neighbours' (on
//! huge-initrd's 8 GiB the page store's directory alone is 128 KiB). So
//! the kimage asks for a flat array ([`SectionMap::reserve`]) when its
//! image is large for its machine.
//!
//! The page's module (kexec-core's `small` feature) has no flat array:
//! its runs are small, and its bytes are counted.
//!
//! The model's own structure: the kernel's mem_map and mem_section hold
//! struct pages, this holds whatever one model table keeps per pfn (`T`).

use rustc_hash::FxHashMap;

/// Sections found through the directory (the rest are hashed): the
/// directory grows to the highest section made, at most 2^22 entries
/// (16 MiB).
const DIRECT_SECTIONS: u64 = 1 << 22;

/// Bytes of values a map keeps in its flat array at most.
const FLAT_BYTES: u64 = 16 << 20;

/// A value of type `T` per pfn (or per any u64 key), `T::default()` where
/// nothing was stored, in sections of `2^SHIFT` values made on first
/// write. The sections of the keys below the flat array's length (0
/// unless [`SectionMap::reserve`] gave it one) are each at their own
/// place in it (section `s` at `s << SHIFT`, defaults wherever no section
/// was made). The others live end to end in a second vector (one
/// allocation, one copy to clone); a directory (the kernel's mem_section
/// roots) holds each one's number there + 1, 0 for none. The directory
/// may be longer than its highest section (zeros past it): an emptied map
/// keeps its length.
#[derive(Debug)]
pub struct SectionMap<T, const SHIFT: u32> {
    flat: Flat<T>,
    dir: Vec<u32>,
    high: FxHashMap<u64, u32>,
    values: Vec<T>,
    /// The sections made below [`DIRECT_SECTIONS`] (flat or through the
    /// directory), one bit each (bit `s % 64` of word `s / 64`):
    /// [`SectionMap::iter`] walks these in order. Bits, not a sorted
    /// vector or a set: sections are made in the allocator's random order
    /// (inserting each into a vector moved half of it: quadratic, 17,284
    /// sections on huge-initrd; a BTreeSet's inserts were 4% of the random
    /// explorer's instructions).
    made: Vec<u64>,
    /// The hashed sections made, ascending (rare: above the directory).
    made_high: Made,
}

/// A map's flat array: none in the page's module (`small`), where the
/// field takes no room and every use of it compiles to nothing.
#[cfg(not(feature = "small"))]
type Flat<T> = Vec<T>;
#[cfg(feature = "small")]
type Flat<T> = NoFlat<T>;

/// `n` default values in one zeroed allocation (for the types the maps
/// hold, whose default is all zero bits).
#[cfg(not(feature = "small"))]
fn zeroed<T: Clone + Default>(n: usize) -> Flat<T> {
    vec![T::default(); n]
}

#[cfg(feature = "small")]
fn zeroed<T>(_: usize) -> Flat<T> {
    NoFlat(std::marker::PhantomData)
}

/// The flat array of the page's module: always empty.
#[cfg(feature = "small")]
#[derive(Debug)]
struct NoFlat<T>(std::marker::PhantomData<T>);

#[cfg(feature = "small")]
impl<T> Default for NoFlat<T> {
    fn default() -> Self {
        NoFlat(std::marker::PhantomData)
    }
}

#[cfg(feature = "small")]
impl<T> std::ops::Deref for NoFlat<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &[]
    }
}

#[cfg(feature = "small")]
impl<T> std::ops::DerefMut for NoFlat<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        &mut []
    }
}

#[cfg(feature = "small")]
impl<T> NoFlat<T> {
    fn truncate(&mut self, _: usize) {}
    fn resize(&mut self, _: usize, _: T) {}
    fn capacity(&self) -> usize {
        0
    }
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

/// The sections whose bits are set in `made`, ascending.
fn made_sections(made: &[u64]) -> impl Iterator<Item = u64> + '_ {
    made.iter()
        .enumerate()
        .flat_map(|(w, &bits)| Bits(bits).map(move |b| (w * 64) as u64 + u64::from(b)))
}

impl<T: Clone + Default, const SHIFT: u32> Clone for SectionMap<T, SHIFT> {
    /// The flat array's sections made copied into a zeroed one as long as
    /// the highest (not the whole array), and the directory up to its
    /// highest entry (an emptied and refilled map's may be longer).
    fn clone(&self) -> Self {
        let words = self.made.iter().rposition(|&w| w != 0).map_or(0, |i| i + 1);
        let dir_len = match words {
            0 => 0,
            n => {
                ((n - 1) * 64 + 64 - self.made[n - 1].leading_zeros() as usize).min(self.dir.len())
            }
        };
        let mut flat = Flat::default();
        let flat_secs = self.flat_sections();
        if flat_secs > 0 {
            let last = made_sections(&self.made)
                .take_while(|&s| s < flat_secs)
                .last();
            flat = zeroed(last.map_or(0, |s| ((s + 1) << SHIFT) as usize));
            for sec in made_sections(&self.made).take_while(|&s| s < flat_secs) {
                let r = Self::span(sec as usize);
                flat[r.clone()].clone_from_slice(&self.flat[r]);
            }
        }
        SectionMap {
            flat,
            dir: self.dir[..dir_len].to_vec(),
            high: self.high.clone(),
            values: self.values.clone(),
            made: self.made[..words].to_vec(),
            made_high: self.made_high.clone(),
        }
    }

    /// The same, in `self`'s allocations (the exhaustive explorer copies
    /// a run's bitmap at each choice point): `self`'s sections emptied,
    /// its flat array as long as `src`'s, and `src`'s sections written,
    /// one per section made on either side, not the whole flat array or
    /// directory copied.
    fn clone_from(&mut self, src: &Self) {
        self.unmake_all();
        if Self::FLAT_SECTIONS > 0 {
            if self.flat.len() > src.flat.len() {
                self.flat.truncate(src.flat.len());
            } else {
                self.flat.resize(src.flat.len(), T::default());
            }
        }
        if self.dir.len() < src.dir.len() {
            self.dir.resize(src.dir.len(), 0);
        }
        let flat_secs = src.flat_sections() as usize;
        for (w, &bits) in src.made.iter().enumerate() {
            for b in Bits(bits) {
                let s = w * 64 + b as usize;
                if s < flat_secs {
                    let r = Self::span(s);
                    self.flat[r.clone()].clone_from_slice(&src.flat[r]);
                } else {
                    self.dir[s] = src.dir[s];
                }
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
            flat: Flat::default(),
            dir: Vec::new(),
            high: FxHashMap::default(),
            values: Vec::new(),
            made: Vec::new(),
            made_high: Made::default(),
        }
    }
}

impl<T: Clone + Default, const SHIFT: u32> SectionMap<T, SHIFT> {
    /// Most sections a flat array holds: those of [`FLAT_BYTES`] of
    /// values (none in the page's module, `small`).
    const FLAT_SECTIONS: u64 = if cfg!(feature = "small") {
        0
    } else {
        let per = std::mem::size_of::<T>() as u64;
        let n = (FLAT_BYTES / if per == 0 { 1 } else { per }) >> SHIFT;
        if n < DIRECT_SECTIONS {
            n
        } else {
            DIRECT_SECTIONS
        }
    };

    /// Where section `s`'s values are in the flat array.
    #[inline(always)]
    fn span(s: usize) -> std::ops::Range<usize> {
        s << SHIFT..(s + 1) << SHIFT
    }

    /// Sections the flat array holds (its length is whole sections).
    #[inline(always)]
    fn flat_sections(&self) -> u64 {
        if Self::FLAT_SECTIONS == 0 {
            return 0;
        }
        (self.flat.len() >> SHIFT) as u64
    }

    /// Every section made emptied: a flat one's values back to the
    /// default, a directory entry to 0, the bits cleared (the flat array
    /// and the directory keep their lengths).
    fn unmake_all(&mut self) {
        let flat_secs = self.flat_sections() as usize;
        for (w, bits) in self.made.iter_mut().enumerate() {
            for b in Bits(*bits) {
                let s = w * 64 + b as usize;
                if s < flat_secs {
                    self.flat[Self::span(s)].fill(T::default());
                } else {
                    self.dir[s] = 0;
                }
            }
            *bits = 0;
        }
    }

    /// Give the map a flat array for the keys below `keys` (rounded up
    /// to a section, at most [`FLAT_BYTES`] of values; none for 0), for
    /// its next use: only between uses, when no section is made (a map
    /// holding sections keeps its layout). A new array is one zeroed
    /// allocation, whose pages the system maps as they are first
    /// written, and never moves as sections are made; an emptied map's
    /// array is cut or grown to the length asked, or let go for none,
    /// and its directory emptied.
    pub fn reserve(&mut self, keys: u64) {
        if Self::FLAT_SECTIONS == 0 {
            return;
        }
        let end = (keys.div_ceil(1 << SHIFT).min(Self::FLAT_SECTIONS) << SHIFT) as usize;
        if end == self.flat.len() || self.made.iter().any(|&w| w != 0) || !self.made_high.is_empty()
        {
            return;
        }
        // No section is made: the directory holds only zeros, and a map
        // with a flat array reads none of them (the directory is long
        // again only once a section is made past the array).
        self.dir.clear();
        if end == 0 {
            // A small run after a large one: the large one's array let go.
            self.flat = Flat::default();
        } else if end <= self.flat.len() {
            self.flat.truncate(end);
        } else if self.flat.capacity() == 0 {
            self.flat = zeroed(end);
        } else {
            self.flat.resize(end, T::default());
        }
    }
}

impl<T: Copy + Default + PartialEq, const SHIFT: u32> SectionMap<T, SHIFT> {
    /// Values per section.
    pub const SECTION: u64 = 1 << SHIFT;

    /// Whether section `sec` (below [`DIRECT_SECTIONS`]) was made.
    #[inline(always)]
    fn is_made(&self, sec: u64) -> bool {
        self.made
            .get((sec / 64) as usize)
            .is_some_and(|w| w >> (sec % 64) & 1 != 0)
    }

    /// Section `sec`'s number + 1 in `values` (0: none), for a section
    /// past the flat array.
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

    /// Whether section `sec` was made (flat, through the directory or
    /// hashed).
    #[inline]
    fn made_section(&self, sec: u64) -> bool {
        self.index(sec) != 0 || (sec < self.flat_sections() && self.is_made(sec))
    }

    /// Count section `sec` (below [`DIRECT_SECTIONS`]) made.
    #[cold]
    #[inline(never)]
    fn mark_made(&mut self, sec: u64) {
        let i = (sec / 64) as usize;
        if self.made.len() <= i {
            self.made.resize(i + 1, 0);
        }
        self.made[i] |= 1 << (sec % 64);
    }

    /// Make section `sec` past the flat array, at the end of `values`.
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
            self.mark_made(sec);
        } else {
            self.high.insert(sec, n);
            self.made_high.insert(sec);
        }
        n
    }

    /// Empty, as [`SectionMap::default`] but with the flat array's length,
    /// keeping the allocations (only the sections made are emptied, not
    /// the whole flat array or directory).
    pub fn clear(&mut self) {
        self.unmake_all();
        self.high.clear();
        self.values.clear();
        self.made_high.clear();
    }

    /// The section holding `key`, if one was made (values `key` rounded
    /// down to a section, onwards).
    pub fn section(&self, key: u64) -> Option<&[T]> {
        let sec = key >> SHIFT;
        match self.index(sec) {
            0 => (sec < self.flat_sections() && self.is_made(sec))
                .then(|| &self.flat[Self::span(sec as usize)]),
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
        // A flat section has no directory entry, and the directory of a
        // map given a flat array starts empty: the lookup reads no entry
        // unless a section was made past the array. The flat array holds
        // defaults where no section was made.
        match self.index(key >> SHIFT) {
            0 if Self::FLAT_SECTIONS > 0 && key < self.flat.len() as u64 => self.flat[key as usize],
            0 => T::default(),
            n => self.values[Self::at(n, key)],
        }
    }

    /// The value at `key`, its section made if it was not.
    #[cfg_attr(not(feature = "small"), inline(always))]
    #[cfg_attr(feature = "small", inline)]
    pub fn get_mut(&mut self, key: u64) -> &mut T {
        let sec = key >> SHIFT;
        let n = match self.index(sec) {
            0 if Self::FLAT_SECTIONS > 0 && key < self.flat.len() as u64 => {
                if !self.is_made(sec) {
                    self.mark_made(sec);
                }
                return &mut self.flat[key as usize];
            }
            0 => self.make(sec),
            n => n,
        };
        &mut self.values[Self::at(n, key)]
    }

    /// Exchange the values at `a` and `b`: [`SectionMap::get`] of both,
    /// then [`SectionMap::set`] of each to the other's (no section is made
    /// for a default value), in place when both sections exist in the
    /// same vector.
    #[inline]
    pub fn swap(&mut self, a: u64, b: u64) {
        // Not in the page's module (`small`: its bytes are counted, and it
        // runs only small images).
        if !cfg!(feature = "small") {
            let (sa, sb) = (a >> SHIFT, b >> SHIFT);
            let (ia, ib) = (self.index(sa), self.index(sb));
            if ia != 0 && ib != 0 {
                self.values.swap(Self::at(ia, a), Self::at(ib, b));
                return;
            }
            let flat = self.flat_sections();
            if (ia | ib) == 0 && sa < flat && sb < flat && self.is_made(sa) && self.is_made(sb) {
                self.flat.swap(a as usize, b as usize);
                return;
            }
        }
        let (va, vb) = (self.get(a), self.get(b));
        self.set(a, vb);
        self.set(b, va);
    }

    /// Store `v` at `key`; storing the default where no section exists
    /// makes none.
    #[cfg_attr(not(feature = "small"), inline(always))]
    #[cfg_attr(feature = "small", inline)]
    pub fn set(&mut self, key: u64, v: T) {
        if v == T::default() && !self.made_section(key >> SHIFT) {
            return;
        }
        *self.get_mut(key) = v;
    }

    /// Every section made, ascending: its first key and its values. Walks
    /// the bits of the sections made (and the hashed ones, kept sorted),
    /// not the flat array or the directory.
    pub fn sections(&self) -> impl Iterator<Item = (u64, &[T])> + '_ {
        let flat = self.flat_sections();
        made_sections(&self.made)
            .chain(self.made_high.iter())
            .map(move |sec| {
                let values = if sec < flat {
                    &self.flat[Self::span(sec as usize)]
                } else {
                    &self.values[Self::span((self.index(sec) - 1) as usize)]
                };
                (sec << SHIFT, values)
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

    fn is_empty(&self) -> bool {
        self.runs.iter().all(|r| r.is_empty())
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
        // Keys in a flat array (when there is one: below 2^22), keys in
        // sections found through the directory and hashed ones (from
        // 2^28 up).
        let keys = [
            0u64,
            5,
            63,
            64,
            700,
            4096,
            1 << 23,
            (1 << 23) + 1,
            (1 << 23) + 64,
            1 << 30,
            (1 << 30) + 1,
        ];
        let mut rng = kexec_common::rng::SplitMix64::new(9);
        for round in 0..300 {
            let mut fast: SectionMap<u32, 6> = SectionMap::default();
            // A flat array for every key below 2^22, for the first 64, or
            // none.
            fast.reserve([1 << 23, 64, 0][round % 3]);
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

    /// Lookups, sections, iteration, clones and copies, with a flat
    /// array (the most a map of bytes holds: 2^24 keys), a short one and
    /// none.
    #[test]
    fn low_and_high_roots() {
        for flat in [1 << 24, 32, 0] {
            low_and_high_roots_with(flat);
        }
    }

    fn low_and_high_roots_with(flat: u64) {
        let mut m: SectionMap<u8, 4> = SectionMap::default();
        m.reserve(flat);
        assert_eq!(m.get(5), 0);
        m.set(5, 0);
        assert!(m.section(5).is_none());
        m.set(5, 3);
        m.set(1 << 40, 7);
        m.set(17, 1);
        // Past the flat array's 16 MiB: through the directory.
        m.set((1 << 25) + 2, 4);
        assert_eq!(m.get(5), 3);
        assert_eq!(m.get(1 << 40), 7);
        assert_eq!(m.get((1 << 25) + 2), 4);
        assert_eq!(m.get(6), 0);
        assert_eq!(m.get(1 << 25), 0);
        assert_eq!(m.get(1 << 23), 0);
        assert_eq!(m.section(16).map(|s| s.len()), Some(16));
        assert_eq!(m.section(1 << 25).map(|s| s.len()), Some(16));
        assert!(m.section(1 << 23).is_none());
        assert_eq!(
            m.iter().collect::<Vec<_>>(),
            vec![(5, 3), (17, 1), ((1 << 25) + 2, 4), (1 << 40, 7)]
        );
        let copy = m.clone();
        assert_eq!(
            copy.iter().collect::<Vec<_>>(),
            m.iter().collect::<Vec<_>>()
        );
        assert_eq!(copy.sections().count(), m.sections().count());
        m.set((1 << 25) + 2, 0);
        m.set(5, 0);
        assert_eq!(m.iter().count(), 2);
        let mut each = Vec::new();
        m.for_each(|k, v| each.push((k, v)));
        assert_eq!(each, m.iter().collect::<Vec<_>>());
        let mut c: SectionMap<u8, 4> = SectionMap::default();
        c.reserve(1 << 24 ^ flat);
        c.set(3, 9);
        c.clone_from(&m);
        assert_eq!(c.iter().collect::<Vec<_>>(), m.iter().collect::<Vec<_>>());
        m.clear();
        assert_eq!(m.iter().count(), 0);
        assert_eq!((m.get(17), m.get(1 << 40), m.get((1 << 25) + 2)), (0, 0, 0));
        assert!(m.section(17).is_none());
        m.set(40, 2);
        assert_eq!(m.iter().collect::<Vec<_>>(), vec![(40, 2)]);
        // Copied into a map holding other sections, flat and not: only
        // the source's remain.
        c.clear();
        c.reserve(64);
        c.set(3, 9);
        c.set(1 << 25, 8);
        c.set(700, 1);
        c.clone_from(&m);
        assert_eq!(c.iter().collect::<Vec<_>>(), vec![(40, 2)]);
        assert_eq!((c.get(3), c.get(1 << 25), c.get(700)), (0, 0, 0));
    }
}
