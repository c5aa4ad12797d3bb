//! Entry-list designs: how a kimage keeps its list of entries.
//!
//! One trait, [`EntryList`], and one implementation per file:
//!
//! * [`pointer`](mod@pointer): upstream 5.7–6.x, `image->entry` /
//!   `image->last_entry` are kernel pointers (kernel/kexec_core.c
//!   `kimage_add_entry`);
//! * [`highmem_zone`]: the same with the swap path's test switched to the
//!   zone-based `PageHighMemZone` (Joonsoo Kim's v2 03/10);
//! * [`rfc_posted`]: Eric Biederman's May 2020 RFC exactly as posted;
//! * [`rfc_fixed`]: the RFC with the minimal fix (the invalid position
//!   stands for `image->head`);
//! * [`xen`] / [`xen_fixed`]: Xen's position-based kimage (xen/common/
//!   kimage.c), as Xen writes the swap path's entry and as Linux does;
//! * the alternatives argued in the 2020 thread, what-ifs not in any kernel:
//!   [`skip_reuse`] (the swap path never hands an old source page back as
//!   an indirection page), [`dma32`] (every page GFP_DMA32) and
//!   [`word_limit`] (the RFC's list with pages below the native word
//!   limit).
//!
//! The kimage core ([`crate::kimage`]) runs the kernel's algorithm and asks
//! the design only what differs: which gfp each page request uses, the test
//! applied to a swapped-out old page, and how entries are stored, read and
//! rewritten. What the kernel could not survive is returned as a [`Fault`].
//!
//! A design that differs from another in a few answers wraps it and hands
//! the rest on with [`crate::delegate_list!`]: highmem-zone, skip-reuse and
//! dma32 wrap pointer, rfc-fixed wraps rfc-posted's code, word-limit wraps
//! rfc-fixed, xen-fixed wraps xen. rfc-posted and xen delegate their list
//! keeping the same way, to [`position::PositionList`] and
//! [`xen::XenList`].

pub mod dma32;
pub mod highmem_zone;
pub mod kernel_code;
pub mod pointer;
pub mod position;
pub mod rfc_fixed;
pub mod rfc_posted;
pub mod skip_reuse;
pub mod word_limit;
pub mod xen;
pub mod xen_fixed;

use crate::arch::{Arch, PAGE_MASK};
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
    /// Xen's kimage as Xen has it.
    #[serde(rename = "xen")]
    Xen,
    /// Xen's kimage with Linux's swap-path rewrite.
    #[serde(rename = "xen-fixed")]
    XenFixed,
    /// What-if: the swap path frees an old page asked for as an
    /// indirection page and loops.
    #[serde(rename = "skip-reuse")]
    SkipReuse,
    /// What-if: indirection and source pages asked with GFP_DMA32.
    #[serde(rename = "dma32")]
    Dma32,
    /// What-if: the RFC's list, pages from below the native word limit.
    #[serde(rename = "word-limit")]
    WordLimit,
    /// The kernel's own code: the kernel build the scenario's `kernels[i]`
    /// names, run by a front end's [`crate::run::KernelRunner`].
    #[serde(rename = "kernel")]
    Kernel(KernelId),
}

/// Which of a scenario's `kernels` a [`Variant::Kernel`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct KernelId(pub u8);

/// Every variant, in the order lists show them.
pub const ALL_VARIANTS: [Variant; 9] = [
    Variant::Pointer,
    Variant::HighmemZone,
    Variant::RfcPosted,
    Variant::RfcFixed,
    Variant::Xen,
    Variant::XenFixed,
    Variant::SkipReuse,
    Variant::Dma32,
    Variant::WordLimit,
];

/// The four designs of Linux's own code and its 2020 patches (the budgets
/// and the seed presets' documented verdicts are about these).
pub const KERNEL_VARIANTS: [Variant; 4] = [
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
            Variant::Xen => "xen",
            Variant::XenFixed => "xen-fixed",
            Variant::SkipReuse => "skip-reuse",
            Variant::Dma32 => "dma32",
            Variant::WordLimit => "word-limit",
            Variant::Kernel(_) => "kernel",
        }
    }

    /// One line on what the variant is.
    pub fn summary(self) -> &'static str {
        match self {
            Variant::Pointer => "upstream 5.7-6.x: image->entry/last_entry are kernel pointers",
            Variant::HighmemZone => "pointer, swap-path test is PageHighMemZone (zone-based)",
            Variant::RfcPosted => "Biederman's RFC as posted: entry_pos + kmap, GFP_HIGHUSER",
            Variant::RfcFixed => "the RFC with KIMAGE_ENTRY_POS_INVALID standing for head",
            Variant::Xen => "Xen's kimage: entry_page + next_entry, first page up front, IND_ZERO",
            Variant::XenFixed => {
                "Xen's kimage with Linux's swap-path rewrite (new address, old flags)"
            }
            Variant::SkipReuse => {
                "what-if: pointer, the swap path never reuses an old page as an indirection page"
            }
            Variant::Dma32 => "what-if: pointer, indirection and source pages asked with GFP_DMA32",
            Variant::WordLimit => {
                "what-if: the RFC's list, pages anywhere below the native word limit"
            }
            Variant::Kernel(_) => {
                "the kernel's own kexec code, compiled from a tree (a kernel build)"
            }
        }
    }

    /// The arches the design exists on.
    pub fn arches(self) -> &'static [Arch] {
        match self {
            Variant::Xen | Variant::XenFixed => &[Arch::X86_64],
            _ => &crate::arch::ALL_ARCHES,
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
            Variant::Xen => Box::new(xen::Xen::new(machine.arch)),
            Variant::XenFixed => Box::new(xen_fixed::XenFixed::new(machine.arch)),
            Variant::SkipReuse => Box::new(skip_reuse::SkipReuse::new(machine.arch)),
            Variant::Dma32 => Box::new(dma32::Dma32::new(machine.arch)),
            Variant::WordLimit => Box::new(word_limit::WordLimit::new(machine.arch)),
            Variant::Kernel(id) => Box::new(kernel_code::KernelCode::new(machine.arch, id)),
        }
    }
}

impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Something the kernel would not survive: an oops, or a wild write. Its
/// fields ([`FaultInfo`]) are read through it.
///
/// Boxed: every step of an entry list returns `Result<_, Fault>`, and
/// with the 64 bytes of the fields inline each such result went back
/// through memory on the load's hottest path (the caller stalled
/// reloading it); a box makes it a pointer, and a fault is rare.
#[derive(Clone, PartialEq, Eq)]
pub struct Fault(Box<FaultInfo>);

/// What a [`Fault`] says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultInfo {
    /// The kernel function where it happens.
    pub function: std::borrow::Cow<'static, str>,
    /// The page involved, if one is.
    pub pfn: Option<u64>,
    /// One sentence on what goes wrong.
    pub reason: String,
}

impl From<FaultInfo> for Fault {
    #[cold]
    fn from(info: FaultInfo) -> Self {
        Fault(Box::new(info))
    }
}

impl std::ops::Deref for Fault {
    type Target = FaultInfo;
    fn deref(&self) -> &FaultInfo {
        &self.0
    }
}

impl std::ops::DerefMut for Fault {
    fn deref_mut(&mut self) -> &mut FaultInfo {
        &mut self.0
    }
}

impl fmt::Debug for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
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
    #[inline]
    pub fn kmap(&mut self, pfn: u64) {
        self.counters.kmap += 1;
        if self.machine.page_highmem(pfn) {
            self.counters.kmap_highmem += 1;
        }
    }

    #[cfg_attr(not(feature = "small"), inline(always))]
    #[cfg_attr(feature = "small", inline)]
    fn check_slot(&self, function: &'static str, pfn: u64, idx: u32) -> Result<(), Fault> {
        let slots = self.machine.arch.slots_per_page();
        if u64::from(idx) >= slots {
            return Err(past_the_page(function, pfn, idx, slots));
        }
        Ok(())
    }

    /// Read a word of an entry page the kernel reaches; a page kexec never
    /// wrote is a fault of `function`.
    #[cfg_attr(not(feature = "small"), inline(always))]
    #[cfg_attr(feature = "small", inline)]
    pub fn word(&self, function: &'static str, pfn: u64, idx: u32) -> Result<u64, Fault> {
        self.check_slot(function, pfn, idx)?;
        let width = self.machine.arch.entry_bytes();
        self.store
            .word(pfn, u64::from(idx), width)
            .ok_or_else(|| never_written(function, pfn, idx))
    }

    /// Write a word into an entry page. Slots never written keep what the
    /// page held (stale buffer data, or zeros for a page kexec never wrote).
    #[cfg_attr(not(feature = "small"), inline(always))]
    #[cfg_attr(feature = "small", inline)]
    pub fn set_word(
        &mut self,
        function: &'static str,
        pfn: u64,
        idx: u32,
        v: u64,
    ) -> Result<(), Fault> {
        self.check_slot(function, pfn, idx)?;
        let arch = self.machine.arch;
        self.store.set_entry(
            pfn,
            arch.slots_per_page(),
            arch.entry_bytes(),
            idx as usize,
            v,
        );
        self.counters.entry_writes += 1;
        Ok(())
    }

    /// [`Ctx::set_word`] of `v` at slot `idx`, then of 0 at `idx + 1`, for
    /// a slot that is not the page's last (no fault either write could
    /// have): one lookup of the page's words for both.
    #[cfg(not(feature = "small"))]
    #[inline(always)]
    pub fn set_word_then_zero(&mut self, pfn: u64, idx: u32, v: u64) {
        let arch = self.machine.arch;
        debug_assert!(u64::from(idx) + 1 < arch.slots_per_page());
        self.store.set_entry_then_zero(
            pfn,
            arch.slots_per_page(),
            arch.entry_bytes(),
            idx as usize,
            v,
        );
        self.counters.entry_writes += 2;
    }
}

// The faults of the entry accesses, out of their hot paths.

#[cold]
#[inline(never)]
fn past_the_page(function: &'static str, pfn: u64, idx: u32, slots: u64) -> Fault {
    Fault::from(FaultInfo {
        function: function.into(),
        pfn: Some(pfn),
        reason: format!(
            "slot {idx} of pfn 0x{pfn:x} is past the end of the page ({slots} slots): a wild access"
        ),
    })
}

#[cold]
#[inline(never)]
fn never_written(function: &'static str, pfn: u64, idx: u32) -> Fault {
    Fault::from(FaultInfo {
        function: function.into(),
        pfn: Some(pfn),
        reason: format!("reads slot {idx} of pfn 0x{pfn:x}, a page kexec never wrote"),
    })
}

/// How kimage_alloc_init sets an image up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setup {
    /// Linux: the control code page (below KEXEC_CONTROL_MEMORY_LIMIT), then
    /// the swap page; the list starts empty.
    Linux,
    /// Xen's do_kimage_alloc: a one-page control code page below 4 GiB
    /// (MEMF_bits(32)), then the first indirection page as a control page;
    /// no swap page.
    Xen,
}

/// The [`EntryList`] methods of a design that wraps another design in a
/// field, delegated to the field: always the list-keeping ones
/// (`kmaps_entries` .. `fmt_pos`), then each policy method named after a
/// `;` (`indirection_gfp`, `source_gfp`, `old_page_check`,
/// `parks_unusable`, `setup`, `head_is_page`, `zero_tail`, `swap_entry`,
/// `swap_skips_reuse`). What the wrapper neither names nor writes itself is
/// the trait's default, so a wrapper names every policy it keeps.
#[macro_export]
macro_rules! delegate_list {
    (@policy $field:ident indirection_gfp) => {
        fn indirection_gfp(&self) -> $crate::gfp::Gfp {
            self.$field.indirection_gfp()
        }
    };
    (@policy $field:ident source_gfp) => {
        fn source_gfp(&self) -> $crate::gfp::Gfp {
            self.$field.source_gfp()
        }
    };
    (@policy $field:ident old_page_check) => {
        fn old_page_check(&self) -> Option<$crate::design::HighmemCheck> {
            self.$field.old_page_check()
        }
    };
    (@policy $field:ident parks_unusable) => {
        fn parks_unusable(&self) -> bool {
            self.$field.parks_unusable()
        }
    };
    (@policy $field:ident setup) => {
        fn setup(&self) -> $crate::design::Setup {
            self.$field.setup()
        }
    };
    (@policy $field:ident head_is_page) => {
        fn head_is_page(&self) -> bool {
            self.$field.head_is_page()
        }
    };
    (@policy $field:ident zero_tail) => {
        fn zero_tail(&self) -> bool {
            self.$field.zero_tail()
        }
    };
    (@policy $field:ident swap_entry) => {
        fn swap_entry(&self, new_addr: u64, old: u64) -> u64 {
            self.$field.swap_entry(new_addr, old)
        }
    };
    (@policy $field:ident swap_skips_reuse) => {
        fn swap_skips_reuse(&self, destination: u64) -> bool {
            self.$field.swap_skips_reuse(destination)
        }
    };
    ($field:ident $(; $($policy:ident),+ $(,)?)?) => {
        fn kmaps_entries(&self) -> bool {
            self.$field.kmaps_entries()
        }
        fn needs_page(
            &mut self,
            cx: &mut $crate::design::Ctx,
        ) -> Result<bool, $crate::design::Fault> {
            self.$field.needs_page(cx)
        }
        fn link_page(
            &mut self,
            cx: &mut $crate::design::Ctx,
            pfn: u64,
        ) -> Result<(), $crate::design::Fault> {
            self.$field.link_page(cx, pfn)
        }
        fn store(
            &mut self,
            cx: &mut $crate::design::Ctx,
            entry: u64,
        ) -> Result<$crate::trace::Pos, $crate::design::Fault> {
            self.$field.store(cx, entry)
        }
        fn terminate(
            &mut self,
            cx: &mut $crate::design::Ctx,
        ) -> Result<$crate::trace::Pos, $crate::design::Fault> {
            self.$field.terminate(cx)
        }
        fn head(&self) -> u64 {
            self.$field.head()
        }
        fn hash_state(&self, h: &mut dyn ::std::hash::Hasher) {
            self.$field.hash_state(h)
        }
        fn read(
            &self,
            cx: &mut $crate::design::Ctx,
            pos: $crate::trace::Pos,
        ) -> Result<u64, $crate::design::Fault> {
            self.$field.read(cx, pos)
        }
        fn page_words<'c>(
            &self,
            cx: &'c $crate::design::Ctx,
            pfn: u64,
        ) -> Option<(&'c [u64], bool)> {
            self.$field.page_words(cx, pfn)
        }
        fn write(
            &mut self,
            cx: &mut $crate::design::Ctx,
            pos: $crate::trace::Pos,
            v: u64,
        ) -> Result<(), $crate::design::Fault> {
            self.$field.write(cx, pos, v)
        }
        fn next_pos(
            &self,
            pos: $crate::trace::Pos,
        ) -> Result<$crate::trace::Pos, $crate::design::Fault> {
            self.$field.next_pos(pos)
        }
        fn fmt_pos(&self, pos: $crate::trace::Pos) -> String {
            self.$field.fmt_pos(pos)
        }
        $($($crate::delegate_list!(@policy $field $policy);)+)?
    };
}

/// An entry-list design.
///
/// The core calls, for each kimage_add_entry: [`EntryList::needs_page`]; if
/// it says so, kimage_alloc_page(indirection_gfp, KIMAGE_NO_DEST) and
/// [`EntryList::link_page`]; then [`EntryList::store`].
///
/// The policy answers (the gfps, `old_page_check`, `kmaps_entries`,
/// `parks_unusable`, `setup`, `head_is_page`, `zero_tail`) are fixed for
/// a design: the kimage may read them once, when it takes the design.
pub trait EntryList: std::fmt::Debug + crate::run::MaybeSend {
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
    /// Feed the design's own state (every field the rest of a load reads)
    /// to `h`: the exhaustive explorer's canonical state. By default its
    /// `Debug` text, every field; the model's designs feed their fields.
    fn hash_state(&self, h: &mut dyn std::hash::Hasher) {
        struct Feed<'a>(&'a mut dyn std::hash::Hasher);
        impl std::fmt::Write for Feed<'_> {
            fn write_str(&mut self, s: &str) -> std::fmt::Result {
                self.0.write(s.as_bytes());
                Ok(())
            }
        }
        let _ = std::fmt::Write::write_fmt(&mut Feed(h), format_args!("{self:?}"));
    }
    /// Read the entry at `pos` as the design's walker does.
    fn read(&self, cx: &mut Ctx, pos: Pos) -> Result<u64, Fault>;
    /// The words of entry page `pfn` (unmasked; a slot past the slice
    /// reads 0), when [`EntryList::read`] of any slot of it below
    /// `slots_per_page` returns that slot's word masked to the entry's
    /// width and does nothing else but, with `true`, count a kmap of the
    /// page (no fault, nothing else counted): the walk
    /// ([`crate::kimage::Kimage::walk`]) then reads the page as a slice,
    /// not through a call per word. `None` (the default): word by word.
    fn page_words<'c>(&self, _cx: &'c Ctx, _pfn: u64) -> Option<(&'c [u64], bool)> {
        None
    }
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
    /// How kimage_alloc_init sets the image up.
    fn setup(&self) -> Setup {
        Setup::Linux
    }
    /// Whether image->head holds the first indirection page's bare address
    /// (Xen: the walk starts by mapping it) rather than an entry.
    fn head_is_page(&self) -> bool {
        false
    }
    /// Whether destination pages past a segment's buffer get IND_ZERO
    /// entries and no source page (Xen).
    fn zero_tail(&self) -> bool {
        false
    }
    /// The swap path's new SOURCE entry for the page at `new_addr`, given
    /// the old entry (Linux: the new address with the old flags).
    fn swap_entry(&self, new_addr: u64, old: u64) -> u64 {
        new_addr | (old & !PAGE_MASK)
    }
    /// Whether the swap path, for a request with this destination, frees
    /// the old page and loops instead of handing it back.
    fn swap_skips_reuse(&self, _destination: u64) -> bool {
        false
    }
    /// Set image->head after the load (a design whose list someone else
    /// built: the kernel's own code); the model's designs ignore it.
    fn set_head(&mut self, _head: u64) {}
}
