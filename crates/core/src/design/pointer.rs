//! The upstream pointer-based entry list (v5.7 .. v6.x).
//!
//! Mirrors kernel/kexec_core.c: `image->entry` points at the slot to write
//! next and `image->last_entry` at the current page's link slot, both kernel
//! virtual addresses in the direct map (or `&image->head`).
//! `kimage_add_entry` steps past a non-zero slot, links a new page when the
//! cursor reaches the link slot, stores the entry and writes a 0 after it;
//! `kimage_terminate` steps past a non-zero slot and writes IND_DONE.
//! Indirection pages are asked with GFP_KERNEL and written through
//! `page_address()`, so a page without a direct mapping is a fault. On the
//! swap path a PageHighMem old page is freed when the caller cannot map it.

use super::{Ctx, EntryList, Fault, FaultInfo, HighmemCheck, Variant};
use crate::arch::ArchProfile;
use crate::entry::{IND_DONE, IND_INDIRECTION};
use crate::gfp::{Gfp, GFP_HIGHUSER, GFP_KERNEL};
use crate::trace::Pos;

/// The pointer-based list.
#[derive(Debug, Clone)]
pub struct Pointer {
    arch: &'static ArchProfile,
    head: u64,
    entry: Pos,
    last_entry: Pos,
}

impl Pointer {
    /// do_kimage_alloc_init: head = 0, entry = last_entry = &head.
    pub fn new(arch: &'static ArchProfile) -> Self {
        Pointer {
            arch,
            head: 0,
            entry: Pos::Head,
            last_entry: Pos::Head,
        }
    }

    /// page_address() of `pfn`: a highmem page has none, and `what` the
    /// kernel does with it oopses.
    #[inline]
    fn direct_map(cx: &Ctx, function: &'static str, pfn: u64, what: &str) -> Result<(), Fault> {
        if !cx.machine.page_highmem(pfn) {
            return Ok(());
        }
        Err(Self::no_direct_map(function, pfn, what))
    }

    #[cold]
    #[inline(never)]
    fn no_direct_map(function: &'static str, pfn: u64, what: &str) -> Fault {
        Fault::from(FaultInfo {
            function: function.into(),
            pfn: Some(pfn),
            reason: format!(
                "{what} pfn 0x{pfn:x}, a highmem page with no direct mapping: page_address() is NULL and the access oopses"
            ),
        })
    }

    /// `*ptr` through the direct map.
    #[cfg_attr(not(feature = "small"), inline(always))]
    #[cfg_attr(feature = "small", inline)]
    fn load(&self, cx: &Ctx, function: &'static str, pos: Pos) -> Result<u64, Fault> {
        match pos {
            Pos::Head => Ok(self.head),
            Pos::Slot { pfn, idx } => {
                Self::direct_map(cx, function, pfn, "dereferences the direct-map address of")?;
                cx.word(function, pfn, idx)
            }
        }
    }

    /// `*ptr = v` through the direct map.
    #[cfg_attr(not(feature = "small"), inline(always))]
    #[cfg_attr(feature = "small", inline)]
    fn put(&mut self, cx: &mut Ctx, function: &'static str, pos: Pos, v: u64) -> Result<(), Fault> {
        match pos {
            Pos::Head => {
                self.head = v;
                cx.counters.entry_writes += 1;
                Ok(())
            }
            Pos::Slot { pfn, idx } => {
                Self::direct_map(
                    cx,
                    function,
                    pfn,
                    "writes through the direct-map address of",
                )?;
                cx.set_word(function, pfn, idx, v)
            }
        }
    }

    #[cfg_attr(not(feature = "small"), inline(always))]
    #[cfg_attr(feature = "small", inline)]
    fn step(&self, function: &'static str, pos: Pos) -> Result<Pos, Fault> {
        match pos {
            Pos::Head => Err(Fault::from(FaultInfo {
                function: function.into(),
                pfn: None,
                reason: "steps the pointer past &image->head into the rest of struct kimage".into(),
            })),
            Pos::Slot { pfn, idx } => Ok(Pos::Slot { pfn, idx: idx + 1 }),
        }
    }
}

impl EntryList for Pointer {
    fn variant(&self) -> Variant {
        Variant::Pointer
    }

    fn indirection_gfp(&self) -> Gfp {
        GFP_KERNEL
    }

    fn source_gfp(&self) -> Gfp {
        GFP_HIGHUSER
    }

    fn old_page_check(&self) -> Option<HighmemCheck> {
        Some(HighmemCheck::PageHighMem)
    }

    fn kmaps_entries(&self) -> bool {
        false
    }

    fn needs_page(&mut self, cx: &mut Ctx) -> Result<bool, Fault> {
        if self.load(cx, "kimage_add_entry", self.entry)? != 0 {
            self.entry = self.step("kimage_add_entry", self.entry)?;
        }
        Ok(self.entry == self.last_entry)
    }

    fn link_page(&mut self, cx: &mut Ctx, pfn: u64) -> Result<(), Fault> {
        Self::direct_map(
            cx,
            "kimage_add_entry",
            pfn,
            "page_address() is taken of the new indirection page,",
        )?;
        self.put(
            cx,
            "kimage_add_entry",
            self.entry,
            (pfn << 12) | IND_INDIRECTION,
        )?;
        self.entry = Pos::Slot { pfn, idx: 0 };
        self.last_entry = Pos::Slot {
            pfn,
            idx: self.arch.last_slot() as u32,
        };
        Ok(())
    }

    fn store(&mut self, cx: &mut Ctx, entry: u64) -> Result<Pos, Fault> {
        let at = self.entry;
        // (Not in the page's module, `small`, whose runs are small.)
        #[cfg(not(feature = "small"))]
        if let Pos::Slot { pfn, idx } = at {
            if u64::from(idx) + 1 < cx.machine.arch.slots_per_page() {
                // The entry and the zero after it in one page (every
                // store but a broken list's: kimage_add_entry links the
                // next page at the last slot). The same checks, writes and
                // counts as the two puts below, the page looked up once.
                Self::direct_map(
                    cx,
                    "kimage_add_entry",
                    pfn,
                    "writes through the direct-map address of",
                )?;
                cx.set_word_then_zero(pfn, idx, entry);
                self.entry = Pos::Slot { pfn, idx: idx + 1 };
                return Ok(at);
            }
        }
        self.put(cx, "kimage_add_entry", at, entry)?;
        self.entry = self.step("kimage_add_entry", at)?;
        self.put(cx, "kimage_add_entry", self.entry, 0)?;
        Ok(at)
    }

    fn terminate(&mut self, cx: &mut Ctx) -> Result<Pos, Fault> {
        if self.load(cx, "kimage_terminate", self.entry)? != 0 {
            self.entry = self.step("kimage_terminate", self.entry)?;
        }
        let at = self.entry;
        self.put(cx, "kimage_terminate", at, IND_DONE)?;
        Ok(at)
    }

    fn hash_state(&self, mut h: &mut dyn std::hash::Hasher) {
        use std::hash::Hash;
        (self.head, self.entry, self.last_entry).hash(&mut h);
    }

    fn head(&self) -> u64 {
        self.head
    }

    fn read(&self, cx: &mut Ctx, pos: Pos) -> Result<u64, Fault> {
        self.load(cx, "for_each_kimage_entry", pos)
    }

    /// A lowmem entry page's words: [`Pointer::read`] of a slot checks
    /// only that the page is direct-mapped (a highmem page's first read
    /// faults, so the walk reads it word by word) and reads the word.
    fn page_words<'c>(&self, cx: &'c Ctx, pfn: u64) -> Option<(&'c [u64], bool)> {
        if cx.machine.page_highmem(pfn) {
            return None;
        }
        Some((cx.store.entry_words(pfn)?, false))
    }

    fn write(&mut self, cx: &mut Ctx, pos: Pos, v: u64) -> Result<(), Fault> {
        self.put(cx, "kimage_alloc_page", pos, v)
    }

    fn next_pos(&self, pos: Pos) -> Result<Pos, Fault> {
        self.step("for_each_kimage_entry", pos)
    }

    fn fmt_pos(&self, pos: Pos) -> String {
        match pos {
            Pos::Head => "&image->head".into(),
            Pos::Slot { pfn, idx } => {
                // __va(): PAGE_OFFSET + (phys - PHYS_OFFSET), in unsigned long.
                let va = self
                    .arch
                    .page_offset
                    .wrapping_add((pfn << 12).wrapping_sub(self.arch.phys_offset))
                    .wrapping_add(u64::from(idx) * self.arch.entry_bytes())
                    & self.arch.word_mask();
                format!("0x{va:x} (pfn 0x{pfn:x} slot {idx})")
            }
        }
    }
}
