//! The pointer-based list with the swap path's test made zone-based.
//!
//! Mirrors Joonsoo Kim's "[PATCH v2 03/10] kexec: separate PageHighMem() and
//! PageHighMemZone() use case": kimage_alloc_page frees a swapped-out old
//! page when the caller's gfp lacks __GFP_HIGHMEM and `PageHighMemZone(old)`
//! (its zone is ZONE_HIGHMEM, or ZONE_MOVABLE carved from it) rather than
//! when it has no direct mapping. Everything else is [`Pointer`].

use super::pointer::Pointer;
use super::{Ctx, EntryList, Fault, HighmemCheck, Variant};
use crate::arch::ArchProfile;
use crate::gfp::Gfp;
use crate::trace::Pos;

/// The pointer-based list with the PageHighMemZone test.
#[derive(Debug, Clone)]
pub struct HighmemZone {
    inner: Pointer,
}

impl HighmemZone {
    /// A fresh list.
    pub fn new(arch: &'static ArchProfile) -> Self {
        HighmemZone {
            inner: Pointer::new(arch),
        }
    }
}

impl EntryList for HighmemZone {
    fn variant(&self) -> Variant {
        Variant::HighmemZone
    }

    fn old_page_check(&self) -> Option<HighmemCheck> {
        Some(HighmemCheck::PageHighMemZone)
    }

    fn indirection_gfp(&self) -> Gfp {
        self.inner.indirection_gfp()
    }

    fn source_gfp(&self) -> Gfp {
        self.inner.source_gfp()
    }

    fn kmaps_entries(&self) -> bool {
        self.inner.kmaps_entries()
    }

    fn needs_page(&mut self, cx: &mut Ctx) -> Result<bool, Fault> {
        self.inner.needs_page(cx)
    }

    fn link_page(&mut self, cx: &mut Ctx, pfn: u64) -> Result<(), Fault> {
        self.inner.link_page(cx, pfn)
    }

    fn store(&mut self, cx: &mut Ctx, entry: u64) -> Result<Pos, Fault> {
        self.inner.store(cx, entry)
    }

    fn terminate(&mut self, cx: &mut Ctx) -> Result<Pos, Fault> {
        self.inner.terminate(cx)
    }

    fn head(&self) -> u64 {
        self.inner.head()
    }

    fn read(&self, cx: &mut Ctx, pos: Pos) -> Result<u64, Fault> {
        self.inner.read(cx, pos)
    }

    fn write(&mut self, cx: &mut Ctx, pos: Pos, v: u64) -> Result<(), Fault> {
        self.inner.write(cx, pos, v)
    }

    fn next_pos(&self, pos: Pos) -> Result<Pos, Fault> {
        self.inner.next_pos(pos)
    }

    fn fmt_pos(&self, pos: Pos) -> String {
        self.inner.fmt_pos(pos)
    }
}
