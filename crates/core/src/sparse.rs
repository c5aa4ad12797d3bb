//! Per-pfn tables the model keeps (page roles, page contents, the
//! allocator's bitmap), laid out as the kernel's SPARSEMEM lays out
//! `struct page` (mm/sparse.c: `mem_section`, SECTIONS_PER_ROOT): a value
//! per pfn in sections made on first use, sections found through roots.
//!
//! A lookup is two array indexes and one read, with no hashing for every
//! pfn below 2^28 (1 TiB of 4 KiB pages: 64 roots of 16 GiB); roots above that (x86_64's
//! larger machines, or a wild address a broken list names) are found
//! through a hash map. Memory is proportional to the sections touched, not
//! to the machine's size.
//!
//! The model's own structure: the kernel's mem_section holds struct pages,
//! this holds whatever one model table keeps per pfn (`T`).

use rustc_hash::FxHashMap;

/// Keys per root, in bits: a root covers 2^22 pfns (16 GiB) whatever the
/// section size, its sections (the kernel's SECTIONS_PER_ROOT) in a vector
/// grown to the highest one made.
const ROOT_KEY_BITS: u32 = 22;
/// Roots held in the direct array (the rest are hashed).
const LOW_ROOTS: u64 = 64;

type Section<T> = Box<[T]>;
/// A root's sections, grown to the highest one made.
type Root<T> = Vec<Option<Section<T>>>;

/// A value of type `T` per pfn (or per any u64 key), `T::default()` where
/// nothing was stored, in sections of `2^SHIFT` values made on first write.
#[derive(Debug, Clone)]
pub struct SectionMap<T, const SHIFT: u32> {
    low: Vec<Option<Root<T>>>,
    high: FxHashMap<u64, Root<T>>,
}

impl<T, const SHIFT: u32> Default for SectionMap<T, SHIFT> {
    fn default() -> Self {
        SectionMap {
            low: Vec::new(),
            high: FxHashMap::default(),
        }
    }
}

impl<T: Copy + Default + PartialEq, const SHIFT: u32> SectionMap<T, SHIFT> {
    /// Values per section.
    pub const SECTION: u64 = 1 << SHIFT;

    const ROOT_BITS: u32 = ROOT_KEY_BITS - SHIFT;

    fn split(key: u64) -> (u64, usize, usize) {
        let sec = key >> SHIFT;
        (
            sec >> Self::ROOT_BITS,
            (sec & ((1 << Self::ROOT_BITS) - 1)) as usize,
            (key & ((1 << SHIFT) - 1)) as usize,
        )
    }

    fn root(&self, r: u64) -> Option<&Root<T>> {
        if r < LOW_ROOTS {
            self.low.get(r as usize)?.as_ref()
        } else {
            self.high.get(&r)
        }
    }

    fn root_mut(&mut self, r: u64) -> &mut Root<T> {
        if r < LOW_ROOTS {
            let i = r as usize;
            if self.low.len() <= i {
                self.low.resize_with(i + 1, || None);
            }
            self.low[i].get_or_insert_with(Vec::new)
        } else {
            self.high.entry(r).or_default()
        }
    }

    /// The section holding `key`, if one was made (values `key` rounded
    /// down to a section, onwards).
    pub fn section(&self, key: u64) -> Option<&[T]> {
        let (r, s, _) = Self::split(key);
        self.root(r)?.get(s)?.as_deref()
    }

    /// The value at `key` (`T::default()` if none was stored).
    pub fn get(&self, key: u64) -> T {
        let (r, s, i) = Self::split(key);
        match self.root(r).and_then(|root| root.get(s)?.as_deref()) {
            Some(sec) => sec[i],
            None => T::default(),
        }
    }

    /// The value at `key`, its section made if it was not.
    pub fn get_mut(&mut self, key: u64) -> &mut T {
        let (r, s, i) = Self::split(key);
        let root = self.root_mut(r);
        if root.len() <= s {
            root.resize_with(s + 1, || None);
        }
        let sec = root[s].get_or_insert_with(|| vec![T::default(); 1 << SHIFT].into_boxed_slice());
        &mut sec[i]
    }

    /// Store `v` at `key`; storing the default where no section exists
    /// makes none.
    pub fn set(&mut self, key: u64, v: T) {
        if v == T::default() {
            let (r, s, i) = Self::split(key);
            let Some(root) = (if r < LOW_ROOTS {
                self.low.get_mut(r as usize).and_then(|x| x.as_mut())
            } else {
                self.high.get_mut(&r)
            }) else {
                return;
            };
            if let Some(sec) = root.get_mut(s).and_then(|x| x.as_deref_mut()) {
                sec[i] = v;
            }
            return;
        }
        *self.get_mut(key) = v;
    }

    /// Every key holding a value other than the default, ascending, with
    /// its value.
    pub fn iter(&self) -> impl Iterator<Item = (u64, T)> + '_ {
        let mut high: Vec<u64> = self.high.keys().copied().collect();
        high.sort_unstable();
        let roots = self
            .low
            .iter()
            .enumerate()
            .filter_map(|(r, root)| Some((r as u64, root.as_ref()?)))
            .chain(high.into_iter().map(move |r| (r, &self.high[&r])));
        roots
            .flat_map(|(r, root)| {
                root.iter().enumerate().filter_map(move |(s, sec)| {
                    let base = ((r << Self::ROOT_BITS) | s as u64) << SHIFT;
                    Some((base, sec.as_deref()?))
                })
            })
            .flat_map(|(base, sec)| {
                sec.iter()
                    .enumerate()
                    .filter(|(_, v)| **v != T::default())
                    .map(move |(i, v)| (base + i as u64, *v))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }
}
