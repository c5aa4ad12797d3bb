//! The relocation check: what `kexec -e` does with the list.
//!
//! Mirrors `swap_pages` in arch/x86/kernel/relocate_kernel_{32,64}.S: start
//! from the head value, test DESTINATION, INDIRECTION, DONE, SOURCE in that
//! order, skip any other word (0 included), and for each SOURCE entry swap
//! the source page with the destination page through the swap page (three
//! page copies), then advance the destination by a page. Addresses are
//! physical: on x86_32 the stub runs with paging off, so only addresses
//! below 4 GiB are reachable; on x86_64 it runs on an identity map.
//!
//! Xen's stub (xen/arch/x86/x86_64/kexec_reloc.S) differs in ways the
//! check follows: it starts at head's page; IND_ZERO clears the current
//! destination page and advances the destination; a SOURCE page is copied
//! (no swap page), on page tables (aux_page) that map only the image's
//! pages and the destinations.
//!
//! Afterwards every segment's destination must hold its buffer followed by
//! zeros up to memsz. The first thing wrong is the verdict.

use crate::arch::{PAGE_MASK, PAGE_SHIFT, PAGE_SIZE};
use crate::entry::{decode, EntryKind};
use crate::kimage::{Kimage, Role, Segment};
use crate::memory::{Content, Packed, PageMoves};

/// Outcome of the relocation check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Relocation {
    /// Every destination holds what it should.
    Ok {
        /// Pages copied (SOURCE entries processed).
        copies: u64,
    },
    /// The first thing that went wrong, in one sentence.
    Fail(String),
}

struct Phys<'a> {
    k: &'a Kimage,
    /// Memory as the copies leave it (the loaded image's store, moved
    /// page by page).
    mem: PageMoves<'a>,
    /// The page the stub read its last entry from, when it is an entry
    /// page, with its entry array: the list is read a page at a time, and
    /// the next word of the same page needs neither the address check
    /// (the page passed it) nor the page's lookup. Forgotten when a copy
    /// writes to that page ([`Phys::put`]).
    list: std::cell::Cell<Option<(u64, usize)>>,
}

impl Phys<'_> {
    #[inline]
    fn check_addr(&self, what: &str, a: u64) -> Result<(), String> {
        if a < self.k.machine.arch.relocate_reach && self.k.machine.is_ram(a >> PAGE_SHIFT) {
            return Ok(());
        }
        Err(self.bad_addr(what, a))
    }

    #[cold]
    #[inline(never)]
    fn bad_addr(&self, what: &str, a: u64) -> String {
        let arch = self.k.machine.arch;
        if a >= arch.relocate_reach {
            return format!(
                "{what} 0x{a:x} is beyond what relocate_kernel can reach ({})",
                if arch.relocate_paging_off {
                    "it runs with paging off: 32-bit physical addresses only"
                } else {
                    "not in the identity map"
                }
            );
        }
        format!("{what} 0x{a:x} is not RAM")
    }

    /// Make `pfn` hold `c` (a copy's write).
    #[inline]
    fn put(&mut self, pfn: u64, c: Packed) {
        if matches!(self.list.get(), Some((p, _)) if p == pfn) {
            self.list.set(None);
        }
        self.mem.put(pfn, c);
    }

    /// Exchange what `a` and `b` hold (two copies' writes).
    #[inline]
    fn swap(&mut self, a: u64, b: u64) {
        if matches!(self.list.get(), Some((p, _)) if p == a || p == b) {
            self.list.set(None);
        }
        self.mem.swap(a, b);
    }

    fn read_word(&self, p: u64) -> Result<u64, String> {
        let width = self.k.machine.arch.entry_bytes();
        let pfn = p >> PAGE_SHIFT;
        // width is 4 or 8: a shift, not a division.
        let slot = (p & !PAGE_MASK) >> width.trailing_zeros();
        if let Some((lp, i)) = self.list.get() {
            if lp == pfn {
                return Ok(self.mem.entry_word_in(i, slot, width));
            }
        }
        self.check_addr("the list pointer", p)?;
        if let Some(i) = self.mem.entries_of(pfn) {
            self.list.set(Some((pfn, i)));
            return Ok(self.mem.entry_word_in(i, slot, width));
        }
        match self.mem.get(pfn) {
            Some(Content::Entries(w)) => Ok(w[slot as usize]),
            Some(Content::Zero) => Ok(0),
            Some(Content::Data { seg, page, .. }) => Err(format!(
                "the stub reads its next entry at 0x{p:x}, but pfn 0x{pfn:x} now holds segment {seg} page {page} data: the list was overwritten by a copy"
            )),
            None => Err(format!(
                "the stub reads its next entry at 0x{p:x}, in pfn 0x{pfn:x}, which kexec never wrote"
            )),
        }
    }
}

fn describe(c: &Option<Content>) -> String {
    match c {
        None => "its old contents".into(),
        Some(Content::Zero) => "zeros".into(),
        Some(Content::Data { seg, page, .. }) => format!("segment {seg} page {page}"),
        Some(Content::Entries(_)) => "entry words".into(),
    }
}

/// The entry words the load wrote: the model counts its writes; for the
/// kernel's own code (whose writes the model does not see) every slot of
/// its indirection pages.
fn written(k: &Kimage) -> u64 {
    match k.counters.entry_writes {
        0 => (k.counters.indirection_pages + 1) * k.machine.arch.slots_per_page(),
        n => n,
    }
}

/// A word every stub skips (used to start a walk at a page).
const EMPTY: u64 = 0;

/// Run the relocation check on a loaded image. With `keep_load`, the
/// stub's copies are made in a copy of the store's page words and `k`'s
/// store stays as the load left it (kimage_free walks the list in it
/// afterwards: the unload check). Without, the stub moves the store's own
/// words (the same check, the same verdict; 8 MiB not copied on
/// huge-initrd, 7% of the random explorer's instructions) and `k`'s store
/// is left holding memory as the stub leaves it.
pub fn relocate(k: &mut Kimage, keep_load: bool) -> Relocation {
    let slots = if keep_load {
        k.store.copy_slots()
    } else {
        k.store.take_slots()
    };
    let mut stub = Stub::new(k, PageMoves::from_slots(&k.store, slots));
    let r = run(&mut stub);
    let slots = stub.ph.mem.into_slots();
    if !keep_load {
        k.store.put_slots(slots);
    }
    verdict(r)
}

fn verdict(r: Result<u64, String>) -> Relocation {
    match r {
        Ok(copies) => Relocation::Ok { copies },
        Err(s) => Relocation::Fail(s),
    }
}

fn run(stub: &mut Stub) -> Result<u64, String> {
    let mut e = stub.start();
    while stub.entry(e)? {
        e = stub.next_word()?;
    }
    check_destinations(stub.ph.k, &stub.ph)?;
    Ok(stub.copies)
}

/// The relocation stub's state as it walks the list.
struct Stub<'a> {
    ph: Phys<'a>,
    /// Xen's kexec_reloc rather than Linux's relocate_kernel.
    xen: bool,
    /// The control code page's pfns, `[start, end)` (Linux; empty
    /// without one).
    control: (u64, u64),
    /// The swap page (Linux).
    swap: Option<u64>,
    /// Most words the walk reads before it calls the list endless.
    budget: u64,
    /// The current destination address.
    dest: Option<u64>,
    /// Where the next entry is read.
    ptr: Option<u64>,
    /// Pages copied.
    copies: u64,
    /// Words read.
    reads: u64,
}

impl<'a> Stub<'a> {
    fn new(k: &'a Kimage, mem: PageMoves<'a>) -> Self {
        let control = match k.control_code_page {
            Some(p) => (p, p + (1 << k.order_of(p))),
            None => (0, 0),
        };
        Stub {
            ph: Phys {
                k,
                mem,
                list: std::cell::Cell::new(None),
            },
            xen: k.design().head_is_page(),
            control,
            swap: k.swap_page,
            budget: 4 * (written(k) + 2) + 4 * k.machine.arch.slots_per_page(),
            dest: None,
            ptr: None,
            copies: 0,
            reads: 0,
        }
    }

    /// The first word: head. Xen's stub starts by mapping head's page:
    /// head is the first page's bare address, not an entry.
    fn start(&mut self) -> u64 {
        let head = self.ph.k.head();
        if self.xen {
            self.ptr = Some(head & PAGE_MASK);
            EMPTY
        } else {
            head
        }
    }

    /// Act on one entry; false at IND_DONE. Never inlined into
    /// [`run`]'s loop in wasm, nor is [`Stub::next_word`]: see
    /// `Kimage::load_page` (V8 optimizes a call, not a running loop).
    #[cfg_attr(all(target_arch = "wasm32", not(feature = "small")), inline(never))]
    fn entry(&mut self, e: u64) -> Result<bool, String> {
        match decode(e) {
            EntryKind::Destination(a) => self.dest = Some(a),
            EntryKind::Indirection(a) => {
                self.ph.check_addr("indirection page", a)?;
                self.ptr = Some(a);
            }
            EntryKind::Done => return Ok(false),
            EntryKind::Source(src) => {
                let d = self
                    .dest
                    .ok_or("a SOURCE entry comes before any DESTINATION entry")?;
                self.ph.check_addr("source page", src)?;
                self.ph.check_addr("destination", d)?;
                if self.xen {
                    self.copy(src, d)?;
                } else {
                    self.swap(src, d)?;
                }
                self.copies += 1;
                self.dest = Some(d + PAGE_SIZE);
            }
            EntryKind::Zero => {
                // Xen: clear the destination page, advance by a page.
                let d = self
                    .dest
                    .ok_or("an IND_ZERO entry comes before any DESTINATION entry")?;
                self.ph.check_addr("destination", d)?;
                self.ph.put(d >> PAGE_SHIFT, Packed::ZERO);
                self.dest = Some(d + PAGE_SIZE);
            }
            EntryKind::Other(_) => {}
        }
        Ok(true)
    }

    /// Xen: kexec_reloc runs on aux_page's tables, which map the pages
    /// machine_kexec_add_page was given: the image's own pages and the
    /// destinations. It copies.
    fn copy(&mut self, src: u64, d: u64) -> Result<(), String> {
        let k = self.ph.k;
        let spfn = src >> PAGE_SHIFT;
        let held = matches!(k.roles.get(spfn), Some(r) if r != Role::Freed);
        if !held && !k.is_destination_range(src, src + PAGE_SIZE) {
            return Err(format!(
                "kexec_reloc copies from source 0x{src:x}, which aux_page's tables do not map (not a page of the image, not a destination): a page fault in the stub"
            ));
        }
        let c = self.ph.mem.packed(spfn);
        self.ph.put(d >> PAGE_SHIFT, c);
        Ok(())
    }

    /// Linux: swap the source page with the destination page through the
    /// swap page (copy src -> swap; copy dest -> src; copy swap -> dest).
    fn swap(&mut self, src: u64, d: u64) -> Result<(), String> {
        let dpfn = d >> PAGE_SHIFT;
        if (self.control.0..self.control.1).contains(&dpfn) {
            return Err(format!(
                "destination 0x{d:x} is the control code page: the stub overwrites itself"
            ));
        }
        if self.swap == Some(dpfn) {
            return Err(format!("destination 0x{d:x} is the swap page"));
        }
        let spfn = src >> PAGE_SHIFT;
        if spfn != dpfn {
            self.ph.swap(spfn, dpfn);
        }
        Ok(())
    }

    /// Read the word at the list pointer and step past it.
    #[cfg_attr(all(target_arch = "wasm32", not(feature = "small")), inline(never))]
    fn next_word(&mut self) -> Result<u64, String> {
        let p = self.ptr.ok_or_else(|| {
            format!(
                "head 0x{:x} is not an indirection: the stub reads on through an uninitialised pointer",
                self.ph.k.head()
            )
        })?;
        let e = self.ph.read_word(p)?;
        self.ptr = Some(p + self.ph.k.machine.arch.entry_bytes());
        self.reads += 1;
        if self.reads > self.budget {
            return Err(
                "the list has no IND_DONE: the stub reads on past every page kexec wrote".into(),
            );
        }
        Ok(e)
    }
}

/// After the walk every segment's destination must hold its buffer
/// followed by zeros up to memsz.
fn check_destinations(k: &Kimage, ph: &Phys) -> Result<(), String> {
    for (i, seg) in k.segments.iter().enumerate() {
        let pages = seg.memsz.div_ceil(PAGE_SIZE);
        for j in 0..pages {
            check_page(ph, i, seg, j)?;
        }
    }
    Ok(())
}

/// [`check_destinations`] for page `j` of segment `i` (its own
/// function in wasm: see `Kimage::load_page`).
#[cfg_attr(all(target_arch = "wasm32", not(feature = "small")), inline(never))]
fn check_page(ph: &Phys, i: usize, seg: &Segment, j: u64) -> Result<(), String> {
    let a = seg.mem + j * PAGE_SIZE;
    let got = ph.mem.packed(a >> PAGE_SHIFT);
    let ok = if j * PAGE_SIZE < seg.bufsz {
        matches!(ph.mem.data(got), Some((s, p)) if usize::from(s) == i && u64::from(p) == j)
    } else {
        got.is_zero()
    };
    if !ok {
        let want = if j * PAGE_SIZE < seg.bufsz {
            format!("segment {i} page {j}")
        } else {
            "zeros".into()
        };
        return Err(format!(
            "destination 0x{a:x} (segment {i} page {j}) holds {} after relocation, expected {want}",
            describe(&ph.mem.get(a >> PAGE_SHIFT))
        ));
    }
    Ok(())
}
