//! The RFC's position-based list state and its entry accessors.
//!
//! Mirrors the RFC's `kimage_entry_pos_t` (boot address of the current
//! indirection page OR'd with the slot *index* in the low 12 bits),
//! `KIMAGE_ENTRY_POS_INVALID` ((unsigned long)-2), and its
//! `kimage_read_entry` / `kimage_write_entry`, which map the page with
//! `kmap_atomic` for every single access. Shared by [`super::rfc_posted`]
//! and [`super::rfc_fixed`] (and, through the latter, [`super::word_limit`]);
//! the only difference between them is what a write at the invalid
//! position does (`head_fix`). Its list-keeping methods have the
//! [`super::EntryList`] signatures, so a design delegates to it with
//! [`crate::delegate_list!`].

use super::{Ctx, Fault, FaultInfo};
use crate::arch::ArchProfile;
use crate::entry::{IND_DONE, IND_INDIRECTION};
use crate::trace::Pos;

/// The position-based state of a kimage.
#[derive(Debug, Clone)]
pub struct PositionList {
    arch: &'static ArchProfile,
    /// `image->entry_pos`.
    pub entry_pos: u64,
    /// `image->head`.
    pub head: u64,
    /// Whether the invalid position stands for `image->head` (the fix).
    pub head_fix: bool,
    /// KIMAGE_ENTRY_POS_INVALID on this arch (every access compares
    /// with it).
    invalid: u64,
}

impl PositionList {
    /// do_kimage_alloc_init: head = 0, entry_pos = KIMAGE_ENTRY_POS_INVALID.
    pub fn new(arch: &'static ArchProfile, head_fix: bool) -> Self {
        PositionList {
            arch,
            entry_pos: Self::invalid_for(arch),
            head: 0,
            head_fix,
            invalid: Self::invalid_for(arch),
        }
    }

    fn invalid_for(arch: &ArchProfile) -> u64 {
        arch.word_mask() - 1
    }

    /// KIMAGE_ENTRY_POS_INVALID on this arch.
    #[inline]
    pub fn invalid(&self) -> u64 {
        self.invalid
    }

    /// The slot a raw position names (the invalid one is `image->head` when
    /// fixed).
    pub fn pos_of(&self, raw: u64) -> Pos {
        if raw == self.invalid() && self.head_fix {
            Pos::Head
        } else {
            Pos::Slot {
                pfn: raw >> 12,
                idx: (raw & 0xfff) as u32,
            }
        }
    }

    /// The raw position of a slot.
    pub fn raw_of(&self, pos: Pos) -> u64 {
        match pos {
            Pos::Head => self.invalid(),
            Pos::Slot { pfn, idx } => (pfn << 12) | u64::from(idx),
        }
    }

    fn wild(&self, function: &'static str, raw: u64, what: &str) -> Fault {
        let pfn = raw >> 12;
        let idx = raw & 0xfff;
        let byte = idx * self.arch.entry_bytes();
        let landing = if self.arch.word_bits == 64 {
            // __va() wraps: PAGE_OFFSET - 4096 + byte offset.
            format!(
                ": through the direct map it lands on physical 0x{:x}",
                byte.wrapping_sub(4096)
            )
        } else {
            ": it lands past the single kmap_atomic slot, in a neighbouring fixmap mapping"
                .to_string()
        };
        Fault::from(FaultInfo {
            function: function.into(),
            pfn: Some(pfn),
            reason: format!(
                "{what} at KIMAGE_ENTRY_POS_INVALID: kmap_atomic(pfn 0x{pfn:x}) and slot {idx} (byte 0x{byte:x}), far outside any page{landing}; image->head is never set"
            ),
        })
    }

    /// `kimage_write_entry(pos, entry)`.
    #[cfg_attr(not(feature = "small"), inline(always))]
    pub fn write_entry(
        &mut self,
        cx: &mut Ctx,
        function: &'static str,
        raw: u64,
        v: u64,
    ) -> Result<(), Fault> {
        match self.pos_of(raw) {
            Pos::Head => {
                self.head = v;
                cx.counters.entry_writes += 1;
                Ok(())
            }
            Pos::Slot { pfn, idx } => {
                if raw == self.invalid() {
                    return Err(self.wild(function, raw, "kimage_write_entry writes"));
                }
                self.check_ram(cx, function, pfn)?;
                cx.kmap(pfn);
                cx.set_word(function, pfn, idx, v)
            }
        }
    }

    /// `kimage_read_entry(pos)`.
    pub fn read_entry(&self, cx: &mut Ctx, function: &'static str, raw: u64) -> Result<u64, Fault> {
        match self.pos_of(raw) {
            Pos::Head => Ok(self.head),
            Pos::Slot { pfn, idx } => {
                if raw == self.invalid() {
                    return Err(self.wild(function, raw, "kimage_read_entry reads"));
                }
                self.check_ram(cx, function, pfn)?;
                cx.kmap(pfn);
                cx.word(function, pfn, idx)
            }
        }
    }

    #[cfg_attr(not(feature = "small"), inline(always))]
    fn check_ram(&self, cx: &Ctx, function: &'static str, pfn: u64) -> Result<(), Fault> {
        if cx.machine.is_ram(pfn) {
            Ok(())
        } else {
            Err(not_ram(function, pfn))
        }
    }

    /// The RFC maps the page for every access (kmap_atomic).
    pub fn kmaps_entries(&self) -> bool {
        true
    }

    /// First half of the RFC's kimage_add_entry: the cursor is invalid or
    /// at the page's last slot.
    pub fn needs_page(&mut self, _cx: &mut Ctx) -> Result<bool, Fault> {
        Ok(self.entry_pos == self.invalid() || (self.entry_pos & 0xfff) == self.arch.last_slot())
    }

    /// The RFC's linking of a new indirection page: write its address at
    /// entry_pos, clear_highpage() it, move entry_pos to its slot 0.
    pub fn link_page(&mut self, cx: &mut Ctx, pfn: u64) -> Result<(), Fault> {
        let ind_addr = pfn << 12;
        if ind_addr > self.arch.word_mask() {
            return Err(Fault::from(FaultInfo {
                function: "kimage_add_entry".into(),
                pfn: Some(pfn),
                reason: format!(
                    "page_to_boot_pfn(page) << PAGE_SHIFT for pfn 0x{pfn:x} does not fit in a {}-bit unsigned long",
                    self.arch.word_bits
                ),
            }));
        }
        self.write_entry(
            cx,
            "kimage_add_entry",
            self.entry_pos,
            ind_addr | IND_INDIRECTION,
        )?;
        cx.kmap(pfn);
        cx.store.set(pfn, crate::memory::Content::Zero);
        self.entry_pos = ind_addr;
        Ok(())
    }

    /// The RFC's store: write at entry_pos, entry_pos++.
    pub fn store(&mut self, cx: &mut Ctx, entry: u64) -> Result<Pos, Fault> {
        let at = self.entry_pos;
        self.write_entry(cx, "kimage_add_entry", at, entry)?;
        self.entry_pos = at + 1;
        Ok(self.pos_of(at))
    }

    /// The RFC's kimage_terminate: write IND_DONE at entry_pos.
    pub fn terminate(&mut self, cx: &mut Ctx) -> Result<Pos, Fault> {
        let at = self.entry_pos;
        self.write_entry(cx, "kimage_terminate", at, IND_DONE)?;
        Ok(self.pos_of(at))
    }

    /// Feed the list's state to `h` (the exhaustive explorer's canonical
    /// state).
    pub fn hash_state(&self, mut h: &mut dyn std::hash::Hasher) {
        use std::hash::Hash;
        (self.entry_pos, self.head, self.head_fix).hash(&mut h);
    }

    /// `image->head`.
    pub fn head(&self) -> u64 {
        self.head
    }

    /// for_each_kimage_entry's read: kimage_read_entry at `pos`.
    pub fn read(&self, cx: &mut Ctx, pos: Pos) -> Result<u64, Fault> {
        self.read_entry(cx, "for_each_kimage_entry", self.raw_of(pos))
    }

    /// An entry page of RAM's words, a kmap counted per read: a slot
    /// below `slots_per_page` is never the invalid position (its slot
    /// index is 0xffe), so kimage_read_entry of it checks the page is RAM
    /// (a page that is not faults at its first read: word by word), maps
    /// it and reads the word.
    pub fn page_words<'c>(&self, cx: &'c Ctx, pfn: u64) -> Option<(&'c [u64], bool)> {
        if !cx.machine.is_ram(pfn) {
            return None;
        }
        Some((cx.store.entry_words(pfn)?, true))
    }

    /// The swap path's rewrite: kimage_write_entry at `pos`.
    pub fn write(&mut self, cx: &mut Ctx, pos: Pos, v: u64) -> Result<(), Fault> {
        let raw = self.raw_of(pos);
        self.write_entry(cx, "kimage_alloc_page", raw, v)
    }

    /// The RFC's walk step: pos + 1 (from head that is INVALID + 1).
    pub fn next_pos(&self, pos: Pos) -> Result<Pos, Fault> {
        let raw = self.raw_of(pos).wrapping_add(1) & self.arch.word_mask();
        Ok(Pos::Slot {
            pfn: raw >> 12,
            idx: (raw & 0xfff) as u32,
        })
    }

    /// A position as the RFC prints it.
    pub fn fmt_pos(&self, pos: Pos) -> String {
        match pos {
            Pos::Head => "KIMAGE_ENTRY_POS_INVALID (image->head)".into(),
            Pos::Slot { pfn, idx } => format!(
                "entry_pos 0x{:x} (pfn 0x{pfn:x} slot {idx})",
                self.raw_of(pos)
            ),
        }
    }
}

/// [`PositionList::check_ram`]'s fault, out of its hot path.
#[cold]
#[inline(never)]
fn not_ram(function: &'static str, pfn: u64) -> Fault {
    Fault::from(FaultInfo {
        function: function.into(),
        pfn: Some(pfn),
        reason: format!(
            "boot_pfn_to_page(0x{pfn:x}) is not a page of RAM: kmap_atomic of a bogus struct page"
        ),
    })
}
