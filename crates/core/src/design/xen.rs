//! Xen's kimage entry list (xen/common/kimage.c).
//!
//! Position-based, as the 2020 RFC proposed for Linux: the state is the
//! current indirection page (`entry_page`) and the index of the next free
//! slot (`next_entry`); every access maps the page (map_domain_page). The
//! first indirection page is allocated up front in do_kimage_alloc and
//! `head` holds its bare machine address (no IND_INDIRECTION bit): the walk
//! starts by mapping it. kimage_add_entry links a new page through the last
//! slot (KIMAGE_LAST_ENTRY = 511) and writes no zero after an entry (pages
//! come zeroed). Segments whose destination outruns the buffer end in
//! IND_ZERO entries with no source page, and kimage_alloc_page has no
//! unusable_pages step (Xen is 64-bit only).
//!
//! The swap path's entry rewrite is Xen's: `(new address & ~PAGE_MASK) |
//! IND_SOURCE`, which keeps only the in-page bits of a page-aligned address
//! and so names machine address 0 as the source. [`super::xen_fixed`]
//! writes it as Linux does.

use super::{Ctx, EntryList, Fault, FaultInfo, HighmemCheck, Setup, Variant};
use crate::arch::{ArchProfile, PAGE_MASK};
use crate::entry::{IND_DONE, IND_INDIRECTION, IND_SOURCE};
use crate::gfp::{Gfp, GFP_HIGHUSER, GFP_KERNEL};
use crate::trace::Pos;

/// The list state of a Xen kimage.
#[derive(Debug, Clone)]
pub struct XenList {
    arch: &'static ArchProfile,
    /// `image->head`: the first page's bare address.
    pub head: u64,
    /// `image->entry_page`.
    pub entry_page: Option<u64>,
    /// `image->next_entry`.
    pub next_entry: u32,
}

impl XenList {
    /// do_kimage_alloc before the first page: head = 0, no page.
    pub fn new(arch: &'static ArchProfile) -> Self {
        XenList {
            arch,
            head: 0,
            entry_page: None,
            next_entry: 0,
        }
    }

    fn current(&self, function: &'static str) -> Result<u64, Fault> {
        self.entry_page.ok_or(Fault::from(FaultInfo {
            function: function.into(),
            pfn: None,
            reason: "no entry_page: do_kimage_alloc did not add the first indirection page".into(),
        }))
    }

    fn put(
        &self,
        cx: &mut Ctx,
        function: &'static str,
        pfn: u64,
        idx: u32,
        v: u64,
    ) -> Result<(), Fault> {
        cx.kmap(pfn);
        cx.set_word(function, pfn, idx, v)
    }
}

impl XenList {
    /// Every access maps the page (map_domain_page).
    pub fn kmaps_entries(&self) -> bool {
        true
    }

    /// kimage_add_entry's test: no page yet, or the cursor is at
    /// KIMAGE_LAST_ENTRY.
    pub fn needs_page(&mut self, _cx: &mut Ctx) -> Result<bool, Fault> {
        Ok(self.entry_page.is_none() || u64::from(self.next_entry) == self.arch.last_slot())
    }

    /// Feed the list's state to `h` (the exhaustive explorer's canonical
    /// state).
    pub fn hash_state(&self, mut h: &mut dyn std::hash::Hasher) {
        use std::hash::Hash;
        (self.head, self.entry_page, self.next_entry).hash(&mut h);
    }

    /// `image->head`.
    pub fn head(&self) -> u64 {
        self.head
    }

    /// The first page (do_kimage_alloc: head = its address) or a new page
    /// linked through the current page's last slot.
    pub fn link_page(&mut self, cx: &mut Ctx, pfn: u64) -> Result<(), Fault> {
        let addr = pfn << 12;
        // Zeroed by kimage_alloc_zeroed_page (a clear the model does not
        // count for any allocation).
        cx.store.set(pfn, crate::memory::Content::Zero);
        match self.entry_page {
            None => self.head = addr,
            Some(cur) => {
                let last = self.arch.last_slot() as u32;
                self.put(cx, "kimage_add_entry", cur, last, addr | IND_INDIRECTION)?;
            }
        }
        self.entry_page = Some(pfn);
        self.next_entry = 0;
        Ok(())
    }

    /// Map the current page, write at next_entry, next_entry + 1.
    pub fn store(&mut self, cx: &mut Ctx, entry: u64) -> Result<Pos, Fault> {
        let pfn = self.current("kimage_add_entry")?;
        let idx = self.next_entry;
        self.put(cx, "kimage_add_entry", pfn, idx, entry)?;
        self.next_entry += 1;
        Ok(Pos::Slot { pfn, idx })
    }

    /// kimage_terminate: IND_DONE at next_entry.
    pub fn terminate(&mut self, cx: &mut Ctx) -> Result<Pos, Fault> {
        let pfn = self.current("kimage_terminate")?;
        let idx = self.next_entry;
        self.put(cx, "kimage_terminate", pfn, idx, IND_DONE)?;
        Ok(Pos::Slot { pfn, idx })
    }

    /// None: Xen's walk maps each page it enters (counted where it
    /// enters it), so it reads word by word.
    pub fn page_words<'c>(&self, _cx: &'c Ctx, _pfn: u64) -> Option<(&'c [u64], bool)> {
        None
    }

    /// A read through the page the walk has mapped (the walk counts one
    /// mapping per page).
    pub fn read(&self, cx: &mut Ctx, pos: Pos) -> Result<u64, Fault> {
        match pos {
            Pos::Head => Ok(self.head),
            Pos::Slot { pfn, idx } => cx.word("for_each_kimage_entry", pfn, idx),
        }
    }

    /// The swap path's rewrite, through the mapping kimage_dst_used
    /// returned.
    pub fn write(&mut self, cx: &mut Ctx, pos: Pos, v: u64) -> Result<(), Fault> {
        match pos {
            Pos::Head => {
                self.head = v;
                Ok(())
            }
            Pos::Slot { pfn, idx } => cx.set_word("kimage_alloc_page", pfn, idx, v),
        }
    }

    /// The walk's next slot; from head, slot 0 of head's page.
    pub fn next_pos(&self, pos: Pos) -> Result<Pos, Fault> {
        Ok(match pos {
            Pos::Head => Pos::Slot {
                pfn: self.head >> 12,
                idx: 0,
            },
            Pos::Slot { pfn, idx } => Pos::Slot { pfn, idx: idx + 1 },
        })
    }

    /// A position in Xen's terms.
    pub fn fmt_pos(&self, pos: Pos) -> String {
        match pos {
            Pos::Head => "image->head (the first page's address)".into(),
            Pos::Slot { pfn, idx } => format!("entry_page pfn 0x{pfn:x}, slot {idx}"),
        }
    }
}

/// Xen's kimage.
#[derive(Debug, Clone)]
pub struct Xen {
    list: XenList,
}

impl Xen {
    /// A fresh image.
    pub fn new(arch: &'static ArchProfile) -> Self {
        Xen {
            list: XenList::new(arch),
        }
    }
}

impl EntryList for Xen {
    fn variant(&self) -> Variant {
        Variant::Xen
    }

    fn indirection_gfp(&self) -> Gfp {
        GFP_KERNEL
    }

    fn source_gfp(&self) -> Gfp {
        GFP_HIGHUSER
    }

    fn old_page_check(&self) -> Option<HighmemCheck> {
        None
    }

    crate::delegate_list!(list);

    /// Xen is 64-bit only: no unusable_pages step.
    fn parks_unusable(&self) -> bool {
        false
    }

    fn setup(&self) -> Setup {
        Setup::Xen
    }

    fn head_is_page(&self) -> bool {
        true
    }

    fn zero_tail(&self) -> bool {
        true
    }

    /// Xen writes `(addr & ~PAGE_MASK) | IND_SOURCE`: the in-page bits of a
    /// page-aligned address, 0.
    fn swap_entry(&self, new_addr: u64, _old: u64) -> u64 {
        (new_addr & !PAGE_MASK) | IND_SOURCE
    }
}
