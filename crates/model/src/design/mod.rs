//! Entry-list designs: how a kimage keeps its list of entries.
//!
//! One trait, [`EntryList`], and one implementation per file:
//!
//! * [`pointer`]: upstream 5.7–6.x, `image->entry` / `image->last_entry`
//!   are kernel pointers (kernel/kexec_core.c `kimage_add_entry`);
//! * [`highmem_zone`]: the same with the swap path's test switched to the
//!   zone-based `PageHighMemZone` (Joonsoo Kim's v2 03/10);
//! * [`rfc_posted`]: Eric Biederman's May 2020 RFC exactly as posted;
//! * [`rfc_fixed`]: the RFC with the minimal fix (the invalid position
//!   stands for `image->head`).
//!
//! The kimage core ([`crate::kimage`]) runs the kernel's algorithm and asks
//! the design only what differs: which gfp each page request uses, the test
//! applied to a swapped-out old page, and how entries are stored, read and
//! rewritten. What the kernel could not survive is returned as a [`Fault`].

pub mod highmem_zone;
pub mod pointer;
pub mod position;
pub mod rfc_fixed;
pub mod rfc_posted;

use crate::gfp::Gfp;
use crate::memory::{Machine, PageStore};
use crate::trace::{Counters, Pos};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The designs the model can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Variant {
    /// Upstream pointer-based list.
    #[serde(rename = "pointer")]
    Pointer,
    /// Pointer-based, zone-based highmem test on the swap path.
    #[serde(rename = "highmem-zone")]
    HighmemZone,
    /// The RFC as posted.
    #[serde(rename = "rfc-posted")]
    RfcPosted,
    /// The RFC with the head fix.
    #[serde(rename = "rfc-fixed")]
    RfcFixed,
}

/// Every variant, in the order lists show them.
pub const ALL_VARIANTS: [Variant; 4] = [
    Variant::Pointer,
    Variant::HighmemZone,
    Variant::RfcPosted,
    Variant::RfcFixed,
];

impl Variant {
    /// The variant's name in scenarios, links and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Variant::Pointer => "pointer",
            Variant::HighmemZone => "highmem-zone",
            Variant::RfcPosted => "rfc-posted",
            Variant::RfcFixed => "rfc-fixed",
        }
    }

    /// One line on what the variant is.
    pub fn summary(self) -> &'static str {
        match self {
            Variant::Pointer => "upstream 5.7-6.x: image->entry/last_entry are kernel pointers",
            Variant::HighmemZone => "pointer, swap-path test is PageHighMemZone (zone-based)",
            Variant::RfcPosted => "Biederman's RFC as posted: entry_pos + kmap, GFP_HIGHUSER",
            Variant::RfcFixed => "the RFC with KIMAGE_ENTRY_POS_INVALID standing for head",
        }
    }

    /// Parse a variant name.
    pub fn from_name(s: &str) -> Option<Variant> {
        ALL_VARIANTS.into_iter().find(|v| v.name() == s)
    }

    /// A fresh design of this variant for `machine`.
    pub fn build(self, machine: &Machine) -> Box<dyn EntryList> {
        match self {
            Variant::Pointer => Box::new(pointer::Pointer::new(machine.arch)),
            Variant::HighmemZone => Box::new(highmem_zone::HighmemZone::new(machine.arch)),
            Variant::RfcPosted => Box::new(rfc_posted::RfcPosted::new(machine.arch)),
            Variant::RfcFixed => Box::new(rfc_fixed::RfcFixed::new(machine.arch)),
        }
    }
}

impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Something the kernel would not survive: an oops, or a wild write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// The kernel function where it happens.
    pub function: &'static str,
    /// The page involved, if one is.
    pub pfn: Option<u64>,
    /// One sentence on what goes wrong.
    pub reason: String,
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.function, self.reason)
    }
}

/// The test kimage_alloc_page applies to a swapped-out old page when the
/// caller's gfp lacks __GFP_HIGHMEM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HighmemCheck {
    /// `PageHighMem`: the page has no direct mapping.
    PageHighMem,
    /// `PageHighMemZone`: the page's zone is highmem-like.
    PageHighMemZone,
}

/// What a design may touch while it stores or reads entries.
pub struct Ctx<'a> {
    /// The machine.
    pub machine: &'a Machine,
    /// Page contents.
    pub store: &'a mut PageStore,
    /// Counters.
    pub counters: &'a mut Counters,
}

impl Ctx<'_> {
    /// Count one kmap-family mapping of `pfn`.
    pub fn kmap(&mut self, pfn: u64) {
        self.counters.kmap += 1;
        if self.machine.page_highmem(pfn) {
            self.counters.kmap_highmem += 1;
        }
    }

    fn check_slot(&self, function: &'static str, pfn: u64, idx: u32) -> Result<(), Fault> {
        let slots = self.machine.arch.slots_per_page();
        if u64::from(idx) >= slots {
            return Err(Fault {
                function,
                pfn: Some(pfn),
                reason: format!(
                    "slot {idx} of pfn 0x{pfn:x} is past the end of the page ({slots} slots): a wild access"
                ),
            });
        }
        Ok(())
    }

    /// Read a word of an entry page the kernel reaches; a page kexec never
    /// wrote is a fault of `function`.
    pub fn word(&self, function: &'static str, pfn: u64, idx: u32) -> Result<u64, Fault> {
        self.check_slot(function, pfn, idx)?;
        let width = self.machine.arch.entry_bytes();
        self.store
            .word(pfn, u64::from(idx), width)
            .ok_or_else(|| Fault {
                function,
                pfn: Some(pfn),
                reason: format!("reads slot {idx} of pfn 0x{pfn:x}, a page kexec never wrote"),
            })
    }

    /// Write a word into an entry page. Slots never written keep what the
    /// page held (stale buffer data, or zeros for a page kexec never wrote).
    pub fn set_word(
        &mut self,
        function: &'static str,
        pfn: u64,
        idx: u32,
        v: u64,
    ) -> Result<(), Fault> {
        self.check_slot(function, pfn, idx)?;
        let arch = self.machine.arch;
        self.store
            .entries_mut(pfn, arch.slots_per_page(), arch.entry_bytes())[idx as usize] = v;
        self.counters.entry_writes += 1;
        Ok(())
    }
}

/// An entry-list design.
///
/// The core calls, for each kimage_add_entry: [`EntryList::needs_page`]; if
/// it says so, kimage_alloc_page(indirection_gfp, KIMAGE_NO_DEST) and
/// [`EntryList::link_page`]; then [`EntryList::store`].
pub trait EntryList {
    /// Which variant this is.
    fn variant(&self) -> Variant;
    /// gfp of indirection-page requests (kimage_add_entry).
    fn indirection_gfp(&self) -> Gfp;
    /// gfp of source-page requests (kimage_load_normal_segment).
    fn source_gfp(&self) -> Gfp;
    /// The swap path's test on the old page, if the design has one.
    fn old_page_check(&self) -> Option<HighmemCheck>;
    /// Whether reading an entry maps its page (kmap per access).
    fn kmaps_entries(&self) -> bool;
    /// First half of kimage_add_entry: does the next entry need a new page?
    fn needs_page(&mut self, cx: &mut Ctx) -> Result<bool, Fault>;
    /// Link a freshly allocated indirection page and make it current.
    fn link_page(&mut self, cx: &mut Ctx, pfn: u64) -> Result<(), Fault>;
    /// Store an entry at the cursor and advance; returns where it went.
    fn store(&mut self, cx: &mut Ctx, entry: u64) -> Result<Pos, Fault>;
    /// kimage_terminate: write IND_DONE; returns where it went.
    fn terminate(&mut self, cx: &mut Ctx) -> Result<Pos, Fault>;
    /// The value of image->head.
    fn head(&self) -> u64;
    /// Read the entry at `pos` as the design's walker does.
    fn read(&self, cx: &mut Ctx, pos: Pos) -> Result<u64, Fault>;
    /// Rewrite the entry at `pos` (the swap path).
    fn write(&mut self, cx: &mut Ctx, pos: Pos, v: u64) -> Result<(), Fault>;
    /// The position after `pos` when the entry there is not an indirection.
    fn next_pos(&self, pos: Pos) -> Result<Pos, Fault>;
    /// `pos` in the design's own terms (a pointer or an entry_pos value).
    fn fmt_pos(&self, pos: Pos) -> String;
    /// Whether kimage_alloc_page files pages above KEXEC_SOURCE_MEMORY_LIMIT
    /// on unusable_pages. Every kernel design does; a deliberately wrong
    /// design (in tests of the explorer) may not.
    fn parks_unusable(&self) -> bool {
        true
    }
}
