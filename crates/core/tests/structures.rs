//! The model's per-pfn structures (issue 16: made fast) against plain
//! reference implementations kept here: a BTreeSet for the allocator's
//! bitmap, BTreeMaps for the page store, the role map and a section map.
//! Random operation sequences, compared answer by answer, over pfns that
//! cross sections, roots, 64-chunk words of full chunks and the hashed
//! roots above 2^28.
//!
//! Fixed seed, no failure-persistence file: the same cases on every run.

use kexec_core::kimage::{Role, RoleMap};
use kexec_core::memory::{content_word, Content, PageMoves, PageStore};
use kexec_core::page_alloc::PageBitmap;
use kexec_core::sparse::SectionMap;
use proptest::prelude::*;
use proptest::test_runner::RngSeed;
use std::collections::{BTreeMap, BTreeSet};

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        rng_seed: RngSeed::Fixed(0x7374_7275_6374_7321),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

const CHUNK: u64 = 4096;
/// 70 chunks: more than one 64-chunk word of the full-chunk bitmap.
const SPACE: u64 = 70 * CHUNK;

#[derive(Debug, Clone)]
enum BitOp {
    /// Allocate the free `n`-block at or after `p` (1 or 2 pages), if any.
    Alloc(u64, u64),
    /// Free the allocated page at or after `p`, if any.
    Free(u64),
    /// Allocate every free page of chunk `c` (a full chunk).
    Fill(u64),
    /// Free `k` allocated pages of chunk `c`.
    Drain(u64, u64),
    /// Ask both searches in `[lo, hi)` for `n`-blocks.
    Query(u64, u64, u64),
}

fn bit_op() -> impl Strategy<Value = BitOp> {
    // Chunks 0-2 and 60-69 are where full runs and a word boundary meet.
    let chunk = prop_oneof![0u64..3, 60u64..70, 0u64..70];
    prop_oneof![
        4 => (0..SPACE, 1u64..3).prop_map(|(p, n)| BitOp::Alloc(p, n)),
        2 => (0..SPACE).prop_map(BitOp::Free),
        2 => chunk.clone().prop_map(BitOp::Fill),
        1 => (chunk, 1u64..40).prop_map(|(c, k)| BitOp::Drain(c, k)),
        4 => (0..SPACE + 10, 0..SPACE + 10, 1u64..3).prop_map(|(a, b, n)| BitOp::Query(a.min(b), a.max(b), n)),
    ]
}

fn align_up(x: u64, n: u64) -> u64 {
    x.div_ceil(n) * n
}

fn ref_free(set: &BTreeSet<u64>, p: u64, n: u64) -> bool {
    (p..p + n).all(|q| !set.contains(&q))
}

fn ref_lowest(set: &BTreeSet<u64>, lo: u64, hi: u64, n: u64) -> Option<u64> {
    let mut x = align_up(lo, n);
    while x + n <= hi {
        if ref_free(set, x, n) {
            return Some(x);
        }
        x += n;
    }
    None
}

fn ref_highest(set: &BTreeSet<u64>, lo: u64, hi: u64, n: u64) -> Option<u64> {
    if hi < n {
        return None;
    }
    let mut x = (hi - n) / n * n;
    loop {
        if x < lo {
            return None;
        }
        if ref_free(set, x, n) {
            return Some(x);
        }
        x = x.checked_sub(n)?;
    }
}

proptest! {
    #![proptest_config(config(64))]

    /// PageBitmap (sections, per-chunk counts, full-chunk words) answers
    /// every search as a BTreeSet of allocated pfns does.
    #[test]
    fn page_bitmap_matches_a_btreeset(
        ops in prop::collection::vec(bit_op(), 1..120),
        flat in flat(),
    ) {
        let mut b = PageBitmap::default();
        b.reserve(flat);
        let mut set = BTreeSet::new();
        for op in ops {
            match op {
                BitOp::Alloc(p, n) => {
                    if let Some(x) = ref_lowest(&set, p, SPACE, n) {
                        b.allocate(x, n);
                        set.extend(x..x + n);
                    }
                }
                BitOp::Free(p) => {
                    if let Some(&x) = set.range(p..).next() {
                        b.release(x, 1);
                        set.remove(&x);
                    }
                }
                BitOp::Fill(c) => {
                    for q in c * CHUNK..(c + 1) * CHUNK {
                        if set.insert(q) {
                            b.allocate(q, 1);
                        }
                    }
                }
                BitOp::Drain(c, k) => {
                    let held: Vec<u64> = set.range(c * CHUNK..(c + 1) * CHUNK).step_by(97).take(k as usize).copied().collect();
                    for q in held {
                        b.release(q, 1);
                        set.remove(&q);
                    }
                }
                BitOp::Query(lo, hi, n) => {
                    prop_assert_eq!(b.lowest_in(lo, hi, n), ref_lowest(&set, lo, hi, n), "lowest_in({}, {}, {})", lo, hi, n);
                    prop_assert_eq!(b.highest_in(lo, hi, n), ref_highest(&set, lo, hi, n), "highest_in({}, {}, {})", lo, hi, n);
                    prop_assert_eq!(b.is_free(lo, n), ref_free(&set, lo, n));
                }
            }
            prop_assert_eq!(b.allocated(), set.len() as u64);
        }
    }
}

/// Pfns that cross sections and roots, up to the hashed roots.
fn pfn() -> impl Strategy<Value = u64> {
    prop_oneof![
        0u64..2048,
        (0u64..8).prop_map(|i| 0x3_fff8 + i),
        (0u64..16).prop_map(|i| (1 << 28) - 8 + i),
        // Either side of where a table's flat array ends (16 MiB of
        // values: bytes, four-byte words, eight-byte words of 64 pfns).
        (0u64..8).prop_map(|i| (1 << 24) - 4 + i),
        (0u64..8).prop_map(|i| (1 << 22) - 4 + i),
        (0u64..8).prop_map(|i| (1 << 27) - 256 + i * 64),
        (0u64..4).prop_map(|i| (1 << 40) + i * 4099),
        any::<u64>().prop_map(|x| x >> 12),
    ]
}

/// How long a table's flat array is (`SectionMap::reserve`): none, a
/// few sections, the whole of what a table may hold, or up to where a
/// table of four-byte words stops.
fn flat() -> impl Strategy<Value = u64> {
    prop_oneof![Just(0u64), 0u64..5000, Just(1 << 22), Just(1 << 24)]
}

fn content() -> impl Strategy<Value = Content> {
    prop_oneof![
        Just(Content::Zero),
        (any::<u8>(), any::<u32>(), 1u16..=4096).prop_map(|(seg, page, len)| Content::Data {
            seg,
            page,
            len
        }),
        // Whole pages of the segments a load has (the store's word holds
        // these itself; the ones above go to its side vector).
        (0u8..16, 0u32..1 << 25).prop_map(|(seg, page)| Content::Data {
            seg,
            page,
            len: 4096
        }),
        prop::collection::vec(any::<u64>(), 6).prop_map(|w| Content::Entries(w.into_boxed_slice())),
    ]
}

#[derive(Debug, Clone)]
enum StoreOp {
    Set(u64, Content),
    Forget(u64),
    /// entries_mut(pfn, 6 slots, width), then write `v` at `slot`.
    Write(u64, u64, u64, u64),
    Read(u64, u64, u64),
    /// copy_page(from, to).
    Copy(u64, u64),
}

fn width() -> impl Strategy<Value = u64> {
    prop_oneof![Just(4u64), Just(8u64)]
}

fn store_op(pfns: Vec<u64>) -> impl Strategy<Value = StoreOp> {
    let p = prop::sample::select(pfns);
    prop_oneof![
        3 => (p.clone(), content()).prop_map(|(p, c)| StoreOp::Set(p, c)),
        1 => p.clone().prop_map(StoreOp::Forget),
        2 => (p.clone(), 0u64..6, width(), any::<u64>()).prop_map(|(p, s, w, v)| StoreOp::Write(p, s, w, v)),
        3 => (p.clone(), 0u64..8, width()).prop_map(|(p, s, w)| StoreOp::Read(p, s, w)),
        2 => (p.clone(), p).prop_map(|(a, b)| StoreOp::Copy(a, b)),
    ]
}

fn ref_word(m: &BTreeMap<u64, Content>, pfn: u64, slot: u64, width: u64) -> Option<u64> {
    content_word(m.get(&pfn)?, slot, width)
}

proptest! {
    #![proptest_config(config(128))]

    /// PageStore (packed slots in sections, entry pages tagged) answers as
    /// a BTreeMap of contents.
    #[test]
    fn page_store_matches_a_btreemap(
        ops in prop::collection::vec(pfn(), 1..12)
            .prop_flat_map(|pfns| prop::collection::vec(store_op(pfns), 1..80)),
        flat in flat(),
    ) {
        let mut s = PageStore::default();
        s.reserve(flat);
        let mut m: BTreeMap<u64, Content> = BTreeMap::new();
        let pool: Vec<u64> = ops
            .iter()
            .map(|op| match *op {
                StoreOp::Set(p, _) | StoreOp::Forget(p) | StoreOp::Copy(p, _) => p,
                StoreOp::Write(p, ..) | StoreOp::Read(p, ..) => p,
            })
            .collect();
        for op in ops {
            match op {
                StoreOp::Set(p, c) => {
                    s.set(p, c.clone());
                    m.insert(p, c);
                }
                StoreOp::Forget(p) => {
                    s.forget(p);
                    m.remove(&p);
                }
                StoreOp::Write(p, slot, width, v) => {
                    let mask = if width == 8 { u64::MAX } else { u32::MAX as u64 };
                    let words = s.entries_mut(p, 6, width);
                    words[slot as usize] = v & mask;
                    let old = m.get(&p).cloned();
                    let mut w: Vec<u64> = match old {
                        Some(Content::Entries(w)) => w.into_vec(),
                        other => (0..6)
                            .map(|i| other.as_ref().and_then(|c| content_word(c, i, width)).unwrap_or(0))
                            .collect(),
                    };
                    w[slot as usize] = v & mask;
                    m.insert(p, Content::Entries(w.into_boxed_slice()));
                }
                StoreOp::Read(p, slot, width) => {
                    prop_assert_eq!(s.word(p, slot, width), ref_word(&m, p, slot, width));
                }
                StoreOp::Copy(a, b) => {
                    s.copy_page(a, b);
                    match m.get(&a).cloned() {
                        Some(c) => m.insert(b, c),
                        None => m.remove(&b),
                    };
                }
            }
            for (&p, c) in &m {
                prop_assert_eq!(s.get(p), Some(c.clone()));
                prop_assert_eq!(s.is_entries(p), matches!(c, Content::Entries(_)));
            }
            for &p in &pool {
                prop_assert_eq!(s.get(p), m.get(&p).cloned());
            }
        }
    }

    /// RoleMap and a SectionMap of bytes answer as BTreeMaps, iteration
    /// order included.
    #[test]
    fn role_and_section_maps_match_btreemaps(
        ops in prop::collection::vec((pfn(), 0usize..8), 1..100),
        flat in flat(),
    ) {
        const ROLES: [Role; 7] = [
            Role::ControlCode,
            Role::Swap,
            Role::Indirection,
            Role::Source,
            Role::DestPages,
            Role::Unusable,
            Role::Freed,
        ];
        let mut roles = RoleMap::default();
        let mut ref_roles = BTreeMap::new();
        let mut bytes: SectionMap<u8, 5> = SectionMap::default();
        roles.reserve(flat);
        bytes.reserve(flat);
        let mut ref_bytes = BTreeMap::new();
        for (p, r) in ops {
            if r < 7 {
                roles.insert(p, ROLES[r]);
                ref_roles.insert(p, ROLES[r]);
            } else {
                // Logged roles written to the table (reads answer the
                // same before and after).
                roles.settle();
            }
            bytes.set(p, r as u8);
            if r == 0 {
                ref_bytes.remove(&p);
            } else {
                ref_bytes.insert(p, r as u8);
            }
            prop_assert_eq!(roles.get(p), ref_roles.get(&p).copied());
            prop_assert_eq!(bytes.get(p), ref_bytes.get(&p).copied().unwrap_or(0));
        }
        // held_split: pages with a role other than Freed, either side of
        // a line (at a section edge, inside one, past every pfn).
        for line in [0, 512, 1000, 0x3_fffa, 1 << 28, 1 << 41, u64::MAX] {
            let held = |below: bool| {
                ref_roles
                    .iter()
                    .filter(|&(&p, &r)| r != Role::Freed && (p < line) == below)
                    .count() as u64
            };
            prop_assert_eq!(roles.held_split(line), (held(true), held(false)));
        }
        // count_per_range: pages per role in ranges of `width` pfns
        // (ranges inside a section, across sections, one for everything).
        for width in [1, 7, 64, 1000, 4096, 0x4_0001, 1 << 40] {
            // (A range met in two sections comes twice: added up.)
            let mut got: BTreeMap<(u64, u8), (Role, u64)> = BTreeMap::new();
            let mut last = 0;
            roles.count_per_range(width, |n, r, c| {
                assert!(n >= last && c > 0, "ranges ascending, counts of pages");
                last = n;
                got.entry((n, r as u8)).or_insert((r, 0)).1 += c;
            });
            let mut want: BTreeMap<(u64, u8), (Role, u64)> = BTreeMap::new();
            for (&p, &r) in &ref_roles {
                want.entry((p / width, r as u8)).or_insert((r, 0)).1 += 1;
            }
            prop_assert_eq!(got, want);
        }
        prop_assert_eq!(roles.iter().collect::<Vec<_>>(), ref_roles.into_iter().collect::<Vec<_>>());
        prop_assert_eq!(bytes.iter().collect::<Vec<_>>(), ref_bytes.into_iter().collect::<Vec<_>>());
    }
}

#[derive(Debug, Clone)]
enum MoveOp {
    /// Swap two pages' contents (relocate_kernel's swap).
    Swap(u64, u64),
    /// Copy a page's contents onto another (Xen's copy).
    Copy(u64, u64),
    /// Zero a page (Xen's IND_ZERO).
    Zero(u64),
}

proptest! {
    #![proptest_config(config(128))]

    /// PageMoves (packed words moved, entry pages read from the store)
    /// answers as a BTreeMap of contents copied from the store and moved
    /// page by page.
    #[test]
    fn page_moves_match_a_btreemap(
        (setup, moves) in prop::collection::vec(pfn(), 2..12).prop_flat_map(|pfns| {
            let p = prop::sample::select(pfns.clone());
            (
                prop::collection::vec((p.clone(), prop::option::of(content())), 1..20),
                prop::collection::vec(prop_oneof![
                    (p.clone(), p.clone()).prop_map(|(a, b)| MoveOp::Swap(a, b)),
                    (p.clone(), p.clone()).prop_map(|(a, b)| MoveOp::Copy(a, b)),
                    p.prop_map(MoveOp::Zero),
                ], 1..40),
            )
        }),
        flat in flat(),
    ) {
        let mut store = PageStore::default();
        store.reserve(flat);
        let mut m: BTreeMap<u64, Content> = BTreeMap::new();
        for (p, c) in setup {
            match c {
                Some(c) => {
                    store.set(p, c.clone());
                    m.insert(p, c);
                }
                None => {
                    store.forget(p);
                    m.remove(&p);
                }
            }
        }
        let orig = m.clone();
        let mut mv = PageMoves::new(&store);
        let pfns: Vec<u64> = m.keys().copied().collect();
        for op in moves {
            match op {
                MoveOp::Swap(a, b) => {
                    let (pa, pb) = (mv.packed(a), mv.packed(b));
                    mv.put(a, pb);
                    mv.put(b, pa);
                    let (ca, cb) = (m.remove(&a), m.remove(&b));
                    if let Some(c) = cb {
                        m.insert(a, c);
                    }
                    if let Some(c) = ca {
                        m.insert(b, c);
                    }
                }
                MoveOp::Copy(a, b) => {
                    mv.put(b, mv.packed(a));
                    match m.get(&a).cloned() {
                        Some(c) => m.insert(b, c),
                        None => m.remove(&b),
                    };
                }
                MoveOp::Zero(a) => {
                    mv.put(a, kexec_core::memory::Packed::ZERO);
                    m.insert(a, Content::Zero);
                }
            }
            for &p in pfns.iter().chain(m.keys()) {
                let c = m.get(&p);
                prop_assert_eq!(mv.get(p), c.cloned());
                let packed = mv.packed(p);
                prop_assert_eq!(packed.is_old(), c.is_none());
                prop_assert_eq!(packed.is_zero(), c == Some(&Content::Zero));
                let data = match c {
                    Some(&Content::Data { seg, page, .. }) => Some((seg, page)),
                    _ => None,
                };
                prop_assert_eq!(mv.data(packed), data);
                for (slot, width) in [(0, 8), (5, 4), (7, 8)] {
                    let want = match c {
                        Some(c @ Content::Entries(_)) => content_word(c, slot, width),
                        _ => None,
                    };
                    prop_assert_eq!(mv.entry_word(p, slot, width), want);
                }
            }
        }
        // The store itself is left as it was.
        for (&p, c) in &orig {
            prop_assert_eq!(store.get(p), Some(c.clone()));
        }
    }
}

#[derive(Debug, Clone)]
enum SecOp {
    /// Store a byte (0: the default) at a key.
    Set(u64, u8),
    /// Empty the map, keeping its allocations.
    Clear,
    /// Replace the map by a clone of itself.
    Clone,
    /// Ask for a flat array for the keys below a bound (only an empty
    /// map takes it).
    Reserve(u64),
    /// Copy the map into a second one that holds other keys (made with
    /// `seed`), then carry on with the copy.
    CloneFrom(u64),
}

fn sec_op() -> impl Strategy<Value = SecOp> {
    prop_oneof![
        8 => (pfn(), 0u8..4).prop_map(|(p, v)| SecOp::Set(p, v)),
        1 => Just(SecOp::Clear),
        1 => Just(SecOp::Clone),
        1 => pfn().prop_map(SecOp::Reserve),
        1 => pfn().prop_map(SecOp::CloneFrom),
    ]
}

proptest! {
    #![proptest_config(config(256))]

    /// A SectionMap emptied, cloned and copied into a used map (the
    /// random explorer's recycled tables, the relocation's copy) still
    /// answers as a BTreeMap: lookups, sections in order, iteration.
    #[test]
    fn section_map_clear_and_clone_match_btreemap(
        ops in prop::collection::vec(sec_op(), 1..120)
    ) {
        let mut m: SectionMap<u8, 4> = SectionMap::default();
        let mut r: BTreeMap<u64, u8> = BTreeMap::new();
        for op in ops {
            match op {
                SecOp::Set(p, v) => {
                    m.set(p, v);
                    if v == 0 {
                        r.remove(&p);
                    } else {
                        r.insert(p, v);
                    }
                }
                SecOp::Clear => {
                    m.clear();
                    r.clear();
                }
                SecOp::Clone => m = m.clone(),
                SecOp::Reserve(n) => m.reserve(n),
                SecOp::CloneFrom(seed) => {
                    let mut other: SectionMap<u8, 4> = SectionMap::default();
                    other.reserve(seed % (1 << 25));
                    for k in 0..8u64 {
                        other.set(seed.wrapping_add(k * 977) % (1 << 30), 1 + (k % 3) as u8);
                        other.set(seed.wrapping_mul(k + 3), 2);
                    }
                    other.clone_from(&m);
                    m = other;
                }
            }
            for (&p, &v) in &r {
                prop_assert_eq!(m.get(p), v);
            }
        }
        prop_assert_eq!(m.iter().collect::<Vec<_>>(), r.iter().map(|(&p, &v)| (p, v)).collect::<Vec<_>>());
        let firsts: Vec<u64> = m.sections().map(|(first, _)| first).collect();
        let mut want: Vec<u64> = r.keys().map(|p| p & !15).collect();
        want.dedup();
        // Sections made may hold only defaults (a value set back to 0).
        prop_assert!(want.iter().all(|f| firsts.contains(f)));
        prop_assert!(firsts.windows(2).all(|w| w[0] < w[1]));
        for (first, vals) in m.sections() {
            for (i, &v) in vals.iter().enumerate() {
                prop_assert_eq!(v, r.get(&(first + i as u64)).copied().unwrap_or(0));
            }
        }
    }
}
