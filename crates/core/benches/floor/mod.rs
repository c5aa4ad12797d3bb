//! The floor under the model's budget: huge-initrd's kernel steps for the
//! pointer design on flat per-pfn tables, and nothing else: no trace, no
//! counters but the ones returned, no fault looked for, no design behind
//! a trait, no walk of the list, no relocation stub but its copies and
//! the check of the destinations. Not the model and not used by it: a
//! reference for the host, like the `host` group's clock and memory
//! chase. It takes the model's allocator stream (the adversarial policy,
//! seed 1) through the same kernel steps, so its counts are the model's
//! (the bench checks them against a model run before timing), and what
//! it costs on a host is what any model that keeps the kimage's per-pfn
//! state would cost there at the least.
//!
//! The steps (kernel/kexec_core.c, as the model runs them for the
//! preset): kimage_alloc_control_pages twice (GFP_KERNEL, rejecting
//! pages in a destination range); then for every destination page of
//! the two segments kimage_alloc_page(GFP_HIGHUSER, dest): a page filed
//! on dest_pages for this destination is taken back; else pages from
//! the adversarial allocator (the model's policy, the same stream)
//! until one is not a destination page, or is this one: a page above
//! the 4 GiB source limit goes on unusable_pages, a destination page
//! whose destination holds no source yet on dest_pages, and one whose
//! destination's source is loaded swaps with it (the SOURCE entry is
//! rewritten, the old page handed out, or freed and the loop goes on
//! when the caller cannot take highmem); kimage_add_entry, a new
//! GFP_KERNEL indirection page when the page of entries is full
//! (1,024 four-byte entries a page on i386); the page's data. Then
//! relocate_kernel's copies, SOURCE after SOURCE, and the check of every
//! destination page.

const PFNS: u64 = 0x20_0000; // 8 GiB
const DMA_END: u64 = 0x1000; // 16 MiB
const LOW_END: u64 = 0x3_8000; // 896 MiB
const SOURCE_LIMIT: u64 = 0xF_FFFF; // the last pfn below 4 GiB
const CONTROL_LIMIT: u64 = 0xC_0000; // 3 GiB
const SLOTS: usize = 1024;
/// (first destination pfn, pages): a 16 MiB kernel at 16 MiB and a
/// 1,008 MiB initrd at 1 GiB.
const SEGMENTS: [(u64, u64); 2] = [(0x1000, 0x1000), (0x4_0000, 0x3_f000)];
const IND_DESTINATION: u64 = 1;
const IND_INDIRECTION: u64 = 2;
const IND_DONE: u64 = 4;
const IND_SOURCE: u64 = 8;

/// What a run did, to set beside the model's counters.
#[derive(Debug, Default, PartialEq, Eq, Clone, Copy)]
pub struct Counts {
    /// alloc_pages calls.
    pub alloc_calls: u64,
    /// Swaps on kimage_alloc_page's swap path.
    pub swaps: u64,
    /// Pages filed on dest_pages.
    pub dest_pages: u64,
    /// Pages filed on unusable_pages.
    pub unusable_pages: u64,
    /// Old pages freed on the swap path (highmem, for a lowmem request).
    pub highmem_frees: u64,
    /// Pages of entries.
    pub indirection_pages: u64,
    /// Pages relocate_kernel copied.
    pub copies: u64,
    /// Destination pages not holding their data after the copies.
    pub wrong_pages: u64,
}

/// The tables, kept between runs as the model keeps its own.
#[derive(Default)]
pub struct Tables {
    used: Vec<u64>,
    content: Vec<u32>,
    role: Vec<u8>,
    /// Per destination page ([`slot`]): the ordinal + 1 of its SOURCE
    /// entry, or a page filed on dest_pages for it (bit 31).
    dest: Vec<u32>,
    entries: Vec<u64>,
}

/// Ascending pfn ranges and the pages in them.
type Ranges = (Vec<(u64, u64)>, u64);

fn weighed(list: Vec<(u64, u64)>) -> Ranges {
    let pages = list.iter().map(|(s, e)| e - s).sum();
    (list, pages)
}

/// The zones a gfp reaches, best first, and the parts of them the
/// adversarial policy aims at.
struct Plan {
    zones: Vec<Ranges>,
    in_dest: Ranges,
    above_limit: Ranges,
}

impl Plan {
    fn new(zones: &[(u64, u64)]) -> Self {
        let mut all = zones.to_vec();
        all.sort_unstable();
        let cut = |with: &[(u64, u64)]| {
            let mut out = Vec::new();
            for &(s1, e1) in &all {
                for &(s2, e2) in with {
                    if s1.max(s2) < e1.min(e2) {
                        out.push((s1.max(s2), e1.min(e2)));
                    }
                }
            }
            weighed(out)
        };
        let dest: Vec<(u64, u64)> = SEGMENTS.iter().map(|&(s, n)| (s, s + n)).collect();
        Plan {
            zones: zones.iter().map(|&z| weighed(vec![z])).collect(),
            in_dest: cut(&dest),
            above_limit: cut(&[(SOURCE_LIMIT + 1, u64::MAX)]),
        }
    }
}

struct Alloc<'a> {
    state: u64,
    used: &'a mut [u64],
    calls: u64,
}

impl Alloc<'_> {
    fn below(&mut self, n: u64) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((u128::from(z ^ (z >> 31)) * u128::from(n)) >> 64) as u64
    }

    fn lowest(&self, mut x: u64, hi: u64) -> Option<u64> {
        while x < hi {
            let free = !self.used[(x / 64) as usize] & (u64::MAX << (x % 64));
            if free != 0 {
                let p = x / 64 * 64 + u64::from(free.trailing_zeros());
                return (p < hi).then_some(p);
            }
            x = (x / 64 + 1) * 64;
        }
        None
    }

    /// The model's `Pick::random_in_ranges` again, on the plain bitmap:
    /// the same draws, so the same stream (a second implementation on
    /// purpose, the bench's check of the counts holding it to the
    /// model's).
    fn random_in(&mut self, r: &Ranges) -> Option<u64> {
        let (list, pages) = r;
        if *pages == 0 {
            return None;
        }
        let mut at = self.below(*pages);
        let mut idx = 0;
        for (i, &(s, e)) in list.iter().enumerate() {
            if at < e - s {
                idx = i;
                at += s;
                break;
            }
            at -= e - s;
        }
        let (s, e) = list[idx];
        if let Some(p) = self.lowest(at, e) {
            return Some(p);
        }
        for k in 1..=list.len() {
            let (s2, e2) = list[(idx + k) % list.len()];
            if let Some(p) = self.lowest(s2, e2) {
                return Some(p);
            }
        }
        self.lowest(s, at)
    }

    fn alloc(&mut self, plan: &Plan) -> u64 {
        self.calls += 1;
        let roll = self.below(100);
        let mut got = None;
        if roll < 45 {
            got = self.random_in(&plan.in_dest);
        } else if roll < 75 {
            got = self.random_in(&plan.above_limit);
            if got.is_none() {
                got = self.random_in(&plan.zones[0]);
            }
        }
        for z in &plan.zones {
            if got.is_some() {
                break;
            }
            got = self.random_in(z);
        }
        let p = got.expect("8 GiB is never all handed out");
        self.used[(p / 64) as usize] |= 1 << (p % 64);
        p
    }

    fn free(&mut self, p: u64) {
        self.used[(p / 64) as usize] &= !(1 << (p % 64));
    }
}

struct Kimage<'a> {
    content: &'a mut [u32],
    role: &'a mut [u8],
    dest: &'a mut [u32],
    entries: &'a mut Vec<u64>,
}

/// kimage_alloc_page(gfp, want): `highmem` whether the gfp takes highmem.
fn alloc_page(
    a: &mut Alloc,
    k: &mut Kimage,
    plan: &Plan,
    want: Option<u64>,
    highmem: bool,
    c: &mut Counts,
) -> u64 {
    if let Some(d) = want {
        let v = k.dest[slot(d)];
        if v >> 31 == 1 {
            k.dest[slot(d)] = 0;
            return u64::from(v & 0x7fff_ffff);
        }
    }
    loop {
        let p = a.alloc(plan);
        if p > SOURCE_LIMIT {
            c.unusable_pages += 1;
            k.role[p as usize] = 6;
            continue;
        }
        if !in_dest(p) || Some(p) == want {
            return p;
        }
        let v = k.dest[slot(p)];
        if v != 0 && v >> 31 == 0 {
            // kimage_dst_used: the SOURCE entry for p's destination.
            let i = (v - 1) as usize;
            let old = k.entries[i] >> 12;
            k.content[p as usize] = k.content[old as usize];
            k.entries[i] = p << 12 | (k.entries[i] & 0xfff);
            k.role[p as usize] = 4;
            c.swaps += 1;
            if !highmem && old >= LOW_END {
                c.highmem_frees += 1;
                a.free(old);
                continue;
            }
            return old;
        }
        k.dest[slot(p)] = 1 << 31 | p as u32;
        k.role[p as usize] = 5;
        c.dest_pages += 1;
    }
}

/// The destination pages of both segments.
const DEST_PAGES: usize = 0x4_0000;

/// A destination pfn's index in the destination table (the kernel's
/// pages first, then the initrd's): a table of the destinations only,
/// not of every pfn.
fn slot(p: u64) -> usize {
    (if p < SEGMENTS[1].0 {
        p - SEGMENTS[0].0
    } else {
        SEGMENTS[0].1 + p - SEGMENTS[1].0
    }) as usize
}

fn in_dest(p: u64) -> bool {
    SEGMENTS.iter().any(|&(s, n)| p >= s && p < s + n)
}

fn data(seg: usize, page: u64) -> u32 {
    1 << 31 | (seg as u32) << 24 | page as u32
}

/// One run; the tables are cleared first.
pub fn huge_initrd_pointer(t: &mut Tables) -> Counts {
    t.used.clear();
    t.used.resize((PFNS / 64) as usize, 0);
    t.content.clear();
    t.content.resize(PFNS as usize, 0);
    t.role.clear();
    t.role.resize(PFNS as usize, 0);
    t.dest.clear();
    t.dest.resize(DEST_PAGES, 0);
    t.entries.clear();
    let user = Plan::new(&[(LOW_END, PFNS), (DMA_END, LOW_END), (0, DMA_END)]);
    let kernel = Plan::new(&[(DMA_END, LOW_END), (0, DMA_END)]);
    let mut a = Alloc {
        state: 1,
        used: &mut t.used,
        calls: 0,
    };
    let mut k = Kimage {
        content: &mut t.content,
        role: &mut t.role,
        dest: &mut t.dest,
        entries: &mut t.entries,
    };
    let mut c = Counts::default();
    // kimage_alloc_control_pages: the control code page, then the swap page.
    for r in [1u8, 2] {
        let mut extra = Vec::new();
        loop {
            let p = a.alloc(&kernel);
            if p + 1 >= CONTROL_LIMIT || in_dest(p) {
                extra.push(p);
                continue;
            }
            k.role[p as usize] = r;
            break;
        }
        for p in extra.into_iter().rev() {
            a.free(p);
        }
    }
    // kimage_add_entry: a new page of entries when the current one is
    // full (1,023 entries and its link).
    let mut left = 0;
    let mut add_entry = |a: &mut Alloc, k: &mut Kimage, c: &mut Counts, e: u64| {
        if left == 0 {
            let ind = alloc_page(a, k, &kernel, None, false, c);
            k.role[ind as usize] = 3;
            k.entries.push(ind << 12 | IND_INDIRECTION);
            c.indirection_pages += 1;
            left = SLOTS - 1;
        }
        k.entries.push(e);
        left -= 1;
    };
    for (seg, &(first, pages)) in SEGMENTS.iter().enumerate() {
        add_entry(&mut a, &mut k, &mut c, first << 12 | IND_DESTINATION);
        for page in 0..pages {
            let d = first + page;
            let p = alloc_page(&mut a, &mut k, &user, Some(d), true, &mut c);
            k.role[p as usize] = 4;
            add_entry(&mut a, &mut k, &mut c, p << 12 | IND_SOURCE);
            k.dest[slot(d)] = k.entries.len() as u32;
            k.content[p as usize] = data(seg, page);
        }
    }
    add_entry(&mut a, &mut k, &mut c, IND_DONE);
    c.alloc_calls = a.calls;
    // relocate_kernel: each SOURCE swapped into its destination.
    let mut at = 0;
    for &(first, pages) in &SEGMENTS {
        for page in 0..pages {
            while k.entries[at] & IND_SOURCE == 0 {
                at += 1;
            }
            k.content
                .swap((k.entries[at] >> 12) as usize, (first + page) as usize);
            c.copies += 1;
            at += 1;
        }
    }
    for (seg, &(first, pages)) in SEGMENTS.iter().enumerate() {
        for page in 0..pages {
            if k.content[(first + page) as usize] != data(seg, page) {
                c.wrong_pages += 1;
            }
        }
    }
    c
}
