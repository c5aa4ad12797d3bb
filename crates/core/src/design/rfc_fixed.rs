//! The RFC with the minimal fix: KIMAGE_ENTRY_POS_INVALID stands for
//! image->head.
//!
//! Identical to [`super::rfc_posted`] except that kimage_write_entry and
//! kimage_read_entry at the invalid position store into / load from
//! image->head, so the first link and an empty image's IND_DONE land in
//! head, as the pointer-based list puts them. Nothing else changes.

use super::position::PositionList;
use super::{Ctx, EntryList, Fault, HighmemCheck, Variant};
use crate::arch::ArchProfile;
use crate::gfp::{Gfp, GFP_HIGHUSER};
use crate::trace::Pos;

/// The RFC with the head fix.
#[derive(Debug, Clone)]
pub struct RfcFixed {
    list: PositionList,
}

impl RfcFixed {
    /// A fresh list.
    pub fn new(arch: &'static ArchProfile) -> Self {
        RfcFixed {
            list: PositionList::new(arch, true),
        }
    }
}

impl EntryList for RfcFixed {
    fn variant(&self) -> Variant {
        Variant::RfcFixed
    }

    fn indirection_gfp(&self) -> Gfp {
        GFP_HIGHUSER
    }

    fn source_gfp(&self) -> Gfp {
        GFP_HIGHUSER
    }

    fn old_page_check(&self) -> Option<HighmemCheck> {
        None
    }

    fn kmaps_entries(&self) -> bool {
        true
    }

    fn needs_page(&mut self, _cx: &mut Ctx) -> Result<bool, Fault> {
        Ok(self.list.needs_page())
    }

    fn link_page(&mut self, cx: &mut Ctx, pfn: u64) -> Result<(), Fault> {
        self.list.link_page(cx, pfn)
    }

    fn store(&mut self, cx: &mut Ctx, entry: u64) -> Result<Pos, Fault> {
        self.list.store(cx, entry)
    }

    fn terminate(&mut self, cx: &mut Ctx) -> Result<Pos, Fault> {
        self.list.terminate(cx)
    }

    fn head(&self) -> u64 {
        self.list.head
    }

    fn read(&self, cx: &mut Ctx, pos: Pos) -> Result<u64, Fault> {
        self.list
            .read_entry(cx, "for_each_kimage_entry", self.list.raw_of(pos))
    }

    fn write(&mut self, cx: &mut Ctx, pos: Pos, v: u64) -> Result<(), Fault> {
        let raw = self.list.raw_of(pos);
        self.list.write_entry(cx, "kimage_alloc_page", raw, v)
    }

    fn next_pos(&self, pos: Pos) -> Result<Pos, Fault> {
        Ok(self.list.next_pos(pos))
    }

    fn fmt_pos(&self, pos: Pos) -> String {
        self.list.fmt_pos(pos)
    }
}
