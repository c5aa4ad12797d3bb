//! Eric Biederman's RFC "kexec: Teach indirect pages how to live in high
//! memory" (May 2020), exactly as posted.
//!
//! Mirrors the posted kimage_add_entry / kimage_terminate /
//! for_each_kimage_entry / kimage_dst_used over [`PositionList`]: every
//! access through kmap_atomic, GFP_HIGHUSER for indirection and source
//! pages alike, no highmem test on the swap path. Its defect: the first
//! kimage_add_entry writes the link at KIMAGE_ENTRY_POS_INVALID (pfn all
//! ones, slot 4094) instead of into image->head, which is never set. The
//! model stops there with a [`Fault`].

use super::position::PositionList;
use super::{Ctx, EntryList, Fault, HighmemCheck, Variant};
use crate::arch::ArchProfile;
use crate::gfp::{Gfp, GFP_HIGHUSER};
use crate::trace::Pos;

/// The RFC as posted.
#[derive(Debug, Clone)]
pub struct RfcPosted {
    list: PositionList,
}

impl RfcPosted {
    /// A fresh list.
    pub fn new(arch: &'static ArchProfile) -> Self {
        RfcPosted {
            list: PositionList::new(arch, false),
        }
    }
}

impl EntryList for RfcPosted {
    fn variant(&self) -> Variant {
        Variant::RfcPosted
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
