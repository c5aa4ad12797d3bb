//! The hotplug lab: scenario kind "hotplug".
//!
//! Memory hot-add on an x86_64 machine with SPARSEMEM_VMEMMAP, and where
//! the memmap (the struct page array) of the added sections comes from.
//! Mirrors mm/memory_hotplug.c (`check_hotplug_memory_range`,
//! `register_memory_resource`, `add_memory_resource`, `__add_pages`,
//! `mhp_supports_memmap_on_memory`, `online_pages`,
//! `mhp_init_memmap_on_memory`, `offline_and_remove_memory`,
//! `try_remove_memory`, `__remove_pages`), drivers/base/memory.c
//! (`memory_block_online`), drivers/acpi/acpi_memhotplug.c (the only 6.1
//! caller asking for MHP_MEMMAP_ON_MEMORY), mm/sparse.c and
//! arch/x86/mm/init_64.c (`vmemmap_populate_hugepages`,
//! `free_hugepage_table`, `free_pagetable`), all as of 6.1, and Oscar
//! Salvador's 2018 RFC ("allocate memmap from the added memory range for
//! sparse-vmemmap": `mark_vmemmap_pages`, `__kfree_section_memmap`,
//! `free_vmemmap_range`).
//!
//! Three strategies ([`MemmapVariant`]) run the same requests:
//! the memmap from ordinary memory (6.1 without
//! `memory_hotplug.memmap_on_memory`), the RFC (one altmap for the whole
//! added range, PageVmemmap marks, a refcount in the first vmemmap page),
//! and 6.1's memmap_on_memory (one memory block per altmap,
//! VmemmapSelfHosted pages, counter-only teardown). Removal is simulated
//! struct page by struct page: a read of a struct page whose vmemmap PMD
//! was already cleared is the page fault the kernel would take.
//!
//! Model choices, not kernel facts: boot memory is `[0, boot_mem_end)` on
//! node 0 with its memmap always mapped; the ordinary allocator hands out
//! order-9 blocks top-down from the end of boot memory down to 64 MiB
//! (the kernel's buddy allocator would pick from its free lists);
//! offlining always succeeds (no page in the model is pinned).
//!
//! Configuration: CONFIG_HUGETLB_PAGE (pageblock order 9; without it the
//! order is 10 and 128 MiB blocks are not eligible for memmap_on_memory),
//! no CONFIG_DEBUG_VM. The RFC runs assume what its code leaves unsaid: a
//! zeroed memmap before `mark_vmemmap_pages` (with DEBUG_VM,
//! `page_init_poison` makes the first refcount wrap to 0 and the head
//! lookup of later sections land 2 MiB low) and an altmap `reserve` of 0
//! (its `__add_pages` leaves that field uninitialised). RFC runs are
//! narrated with 6.1's removal path (`offline_and_remove_memory`); in the
//! RFC's 4.20 tree `remove_memory` BUG()s on an online block instead.

use crate::vmem_altmap::VmemAltmap;
use kexec_common::errno::Errno;
use kexec_common::input::{check_variants, check_version_kind, InputError, Num, SCENARIO_VERSION};
use kexec_common::text::{size_exact as size_text, wrap};
use kexec_core::arch::PAGE_SIZE;
use kexec_core::gfp::Zone;
use kexec_core::memory_block::MIN_MEMORY_BLOCK_SIZE;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use kexec_common::units::GIB;
use kexec_common::units::MIB;

/// SECTION_SIZE_BITS on x86_64.
pub const SECTION_SIZE_BITS: u32 = 27;
/// A memory section: 128 MiB.
pub const SECTION_SIZE: u64 = 1 << SECTION_SIZE_BITS;
/// PAGES_PER_SECTION: 32768.
pub const PAGES_PER_SECTION: u64 = SECTION_SIZE / PAGE_SIZE;
/// sizeof(struct page) in the standard configurations.
pub const STRUCT_PAGE_SIZE: u64 = 64;
/// VMEMMAP_START without KASLR (4-level paging).
pub const VMEMMAP_BASE: u64 = 0xffff_ea00_0000_0000;
/// PMD_SIZE: one huge vmemmap mapping, 2 MiB.
pub const PMD_SIZE: u64 = 2 * MIB;
/// Pages of memmap per section: 32768 × 64 B = 2 MiB = 512 pages.
pub const MEMMAP_PAGES_PER_SECTION: u64 = PAGES_PER_SECTION * STRUCT_PAGE_SIZE / PAGE_SIZE;
/// pageblock_nr_pages (order 9).
pub const PAGEBLOCK_NR_PAGES: u64 = 512;
/// The lab's machine ends here (1 TiB of physical address space).
pub const MAX_PHYS: u64 = 1 << 40;
/// At most this many add or remove requests in a file.
pub const MAX_REQUESTS: usize = 64;
/// At most this many `__add_memory` calls (ranges) in all.
pub const MAX_RANGES: usize = 8192;
/// Virtual bytes of vmemmap one PMD table maps (512 × 2 MiB).
const PMD_TABLE_SPAN: u64 = 512 * PMD_SIZE;
/// The model's ordinary allocator stops here (the running kernel below).
const ORDINARY_FLOOR: u64 = 64 * MIB;

/// The address of the struct page of `pfn` (`pfn_to_page`).
pub fn pfn_to_page(pfn: u64) -> u64 {
    VMEMMAP_BASE + STRUCT_PAGE_SIZE * pfn
}

/// The pfn a struct page address describes (`page_to_pfn`).
pub fn page_to_pfn(va: u64) -> u64 {
    (va - VMEMMAP_BASE) / STRUCT_PAGE_SIZE
}

/// The section whose memmap holds the struct page at `va`.
fn section_of_va(va: u64) -> u64 {
    page_to_pfn(va) / PAGES_PER_SECTION
}

/// Where the memmap of hot-added memory comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MemmapVariant {
    /// 6.1 without memmap_on_memory: `vmemmap_alloc_block` from the page
    /// allocator (boot memory).
    Ordinary,
    /// The November 2018 RFC: one altmap over the whole added range.
    Rfc2018,
    /// 6.1 booted with `memory_hotplug.memmap_on_memory=1`.
    MemmapOnMemory,
}

/// Every strategy.
pub const ALL_MEMMAP_VARIANTS: [MemmapVariant; 3] = [
    MemmapVariant::Ordinary,
    MemmapVariant::Rfc2018,
    MemmapVariant::MemmapOnMemory,
];

impl MemmapVariant {
    /// The name in files and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            MemmapVariant::Ordinary => "ordinary",
            MemmapVariant::Rfc2018 => "rfc-2018",
            MemmapVariant::MemmapOnMemory => "memmap-on-memory",
        }
    }

    /// One line on what it is.
    pub fn summary(self) -> &'static str {
        match self {
            MemmapVariant::Ordinary => {
                "6.1 default: memmap from ordinary memory (vmemmap_alloc_block)"
            }
            MemmapVariant::Rfc2018 => {
                "2018 RFC: memmap carved from the start of the whole added range, refcounted"
            }
            MemmapVariant::MemmapOnMemory => {
                "6.1 memory_hotplug.memmap_on_memory=1: self-hosted memmap, one block at a time"
            }
        }
    }

    /// By name.
    pub fn from_name(s: &str) -> Option<MemmapVariant> {
        ALL_MEMMAP_VARIANTS.into_iter().find(|v| v.name() == s)
    }
}

/// The order in which a removal's vmemmap is freed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Teardown {
    /// As each design does it: the RFC's `free_vmemmap_range` walks down
    /// from the last section; 6.1 frees in `__remove_pages` order (up).
    AsPosted,
    /// Lowest section first everywhere (the RFC's loop turned round).
    Forwards,
    /// Highest section first in `__remove_pages` (6.1). The RFC's removal
    /// has only its posted order (ascending `__kfree_section_memmap`, then
    /// `free_vmemmap_range` from the end), so for it this is as posted.
    Backwards,
}

impl Teardown {
    /// The name in files.
    pub fn name(self) -> &'static str {
        match self {
            Teardown::AsPosted => "as-posted",
            Teardown::Forwards => "forwards",
            Teardown::Backwards => "backwards",
        }
    }

    /// By name.
    pub fn from_name(s: &str) -> Option<Teardown> {
        [Teardown::AsPosted, Teardown::Forwards, Teardown::Backwards]
            .into_iter()
            .find(|t| t.name() == s)
    }
}

/// How a memory block is onlined after hot-add.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Online {
    /// Left offline (the kernel's default `memhp_default_state`).
    Offline,
    /// online_kernel: ZONE_NORMAL.
    Kernel,
    /// online_movable: ZONE_MOVABLE.
    Movable,
}

impl Online {
    /// The name in files.
    pub fn name(self) -> &'static str {
        match self {
            Online::Offline => "offline",
            Online::Kernel => "kernel",
            Online::Movable => "movable",
        }
    }

    fn from_name(s: &str) -> Option<Online> {
        [Online::Offline, Online::Kernel, Online::Movable]
            .into_iter()
            .find(|o| o.name() == s)
    }

    /// The zone the block's pages get.
    pub fn zone(self) -> Option<Zone> {
        match self {
            Online::Offline => None,
            Online::Kernel => Some(Zone::Normal),
            Online::Movable => Some(Zone::Movable),
        }
    }
}

/// One hot-add request as a file gives it: an ACPI memory device.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AddSpec {
    /// First byte.
    pub start: Num,
    /// Bytes.
    pub size: Num,
    /// NUMA node (the proximity domain of the device).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub node: u32,
    /// "offline" (default), "kernel" or "movable".
    #[serde(default = "default_online", skip_serializing_if = "is_offline")]
    pub online: String,
    /// The device's _CRS ranges are this size each (default: one range);
    /// each is its own `__add_memory` call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range_size: Option<Num>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

fn default_online() -> String {
    "offline".into()
}

fn is_offline(s: &String) -> bool {
    s == "offline"
}

fn default_teardown() -> String {
    "as-posted".into()
}

fn is_as_posted(s: &String) -> bool {
    s == "as-posted"
}

/// One `offline_and_remove_memory(start, size)` call.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RemoveSpec {
    /// First byte.
    pub start: Num,
    /// Bytes.
    pub size: Num,
}

/// A hotplug scenario file (version 1, `"kind": "hotplug"`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct HotplugFile {
    /// Format version (1).
    pub version: u32,
    /// "hotplug".
    pub kind: String,
    /// x86_64.
    pub arch: String,
    /// Boot memory is `[0, boot_mem_end)` (max_pfn << PAGE_SHIFT).
    pub boot_mem_end: Num,
    /// X86_FEATURE_HYPERVISOR (changes probe_memory_block_size).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub hypervisor: bool,
    /// set_memory_block_size_order (default: probe_memory_block_size).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_block_size: Option<Num>,
    /// Hot-add requests, in order.
    pub add: Vec<AddSpec>,
    /// Removals after all adds, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remove: Vec<RemoveSpec>,
    /// "as-posted" (default), "forwards" or "backwards".
    #[serde(default = "default_teardown", skip_serializing_if = "is_as_posted")]
    pub teardown: String,
    /// The strategies compared.
    pub variants: Vec<String>,
}

/// A checked hot-add request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Add {
    /// First byte.
    pub start: u64,
    /// Bytes.
    pub size: u64,
    /// NUMA node.
    pub node: u32,
    /// Online type.
    pub online: Online,
    /// Size of each ACPI range (None: one range).
    pub range_size: Option<u64>,
}

impl Add {
    /// The `__add_memory` calls this device makes: `(start, size)`.
    pub fn ranges(&self) -> Vec<(u64, u64)> {
        match self.range_size {
            None => vec![(self.start, self.size)],
            Some(r) => {
                let mut v = Vec::new();
                let mut s = self.start;
                let end = self.start + self.size;
                while s < end {
                    let n = r.min(end - s);
                    v.push((s, n));
                    s += n;
                }
                v
            }
        }
    }
}

/// A checked hotplug scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HotplugScenario {
    /// End of boot memory.
    pub boot_mem_end: u64,
    /// Running under a hypervisor.
    pub hypervisor: bool,
    /// Memory block size override.
    pub memory_block_size: Option<u64>,
    /// Hot-add requests.
    pub adds: Vec<Add>,
    /// Removals `(start, size)`.
    pub removes: Vec<(u64, u64)>,
    /// Teardown order.
    pub teardown: Teardown,
    /// Strategies.
    pub variants: Vec<MemmapVariant>,
}

fn err(field: impl Into<String>, message: impl Into<String>) -> InputError {
    InputError {
        field: field.into(),
        message: message.into(),
    }
}

impl HotplugScenario {
    /// Parse and check hotplug JSON text.
    pub fn from_json(text: &str) -> Result<HotplugScenario, InputError> {
        let f: HotplugFile = serde_json::from_str(text).map_err(|e| err("", e.to_string()))?;
        HotplugScenario::from_file(&f)
    }

    /// Check a parsed file. Requests the kernel itself refuses (unaligned,
    /// zero-size, overlapping) pass here and get their errno in the run.
    pub fn from_file(f: &HotplugFile) -> Result<HotplugScenario, InputError> {
        check_version_kind(f.version, &f.kind, "hotplug")?;
        if f.arch != "x86_64" {
            return Err(err(
                "arch",
                format!(
                    "\"{}\": the hotplug lab models x86_64 (SPARSEMEM_VMEMMAP, 128 MiB sections); valid: x86_64",
                    f.arch
                ),
            ));
        }
        let boot = f.boot_mem_end.0;
        if !(MIN_MEMORY_BLOCK_SIZE..=MAX_PHYS).contains(&boot) || boot & (PAGE_SIZE - 1) != 0 {
            return Err(err(
                "boot_mem_end",
                format!("0x{boot:x}: give a page-aligned end of boot memory from 128 MiB to 1 TiB"),
            ));
        }
        let memory_block_size = match f.memory_block_size {
            None => None,
            Some(Num(b)) => {
                if !b.is_power_of_two() || !(MIN_MEMORY_BLOCK_SIZE..=64 * GIB).contains(&b) {
                    return Err(err(
                        "memory_block_size",
                        format!(
                            "0x{b:x}: set_memory_block_size_order takes a power of two from 128 MiB to 64 GiB (else -EINVAL)"
                        ),
                    ));
                }
                Some(b)
            }
        };
        if f.add.is_empty() {
            return Err(err("add", "give at least one hot-add request"));
        }
        if f.add.len() > MAX_REQUESTS {
            return Err(err(
                "add",
                format!("{} requests; at most {MAX_REQUESTS}", f.add.len()),
            ));
        }
        let mut adds = Vec::new();
        let mut nranges = 0usize;
        for (i, a) in f.add.iter().enumerate() {
            let (start, size) = (a.start.0, a.size.0);
            if !matches!(start.checked_add(size), Some(e) if e <= MAX_PHYS) {
                return Err(err(
                    format!("add[{i}]"),
                    format!(
                        "0x{start:x} + 0x{size:x} ends past 1 TiB, where the lab's machine ends"
                    ),
                ));
            }
            if a.node > 63 {
                return Err(err(
                    format!("add[{i}].node"),
                    format!("{}: nodes 0 to 63", a.node),
                ));
            }
            let online = Online::from_name(&a.online).ok_or_else(|| {
                err(
                    format!("add[{i}].online"),
                    format!("\"{}\" (valid: offline, kernel, movable)", a.online),
                )
            })?;
            let range_size = match a.range_size {
                None => None,
                Some(Num(0)) => {
                    return Err(err(format!("add[{i}].range_size"), "must not be zero"))
                }
                Some(Num(r)) => Some(r),
            };
            let add = Add {
                start,
                size,
                node: a.node,
                online,
                range_size,
            };
            nranges += match range_size {
                None => 1,
                Some(r) => usize::try_from(size.div_ceil(r)).unwrap_or(usize::MAX),
            };
            if nranges > MAX_RANGES {
                return Err(err(
                    format!("add[{i}].range_size"),
                    format!("more than {MAX_RANGES} ranges in all"),
                ));
            }
            adds.push(add);
        }
        if f.remove.len() > MAX_REQUESTS {
            return Err(err(
                "remove",
                format!("{} requests; at most {MAX_REQUESTS}", f.remove.len()),
            ));
        }
        let mut removes = Vec::new();
        for (i, r) in f.remove.iter().enumerate() {
            if !matches!(r.start.0.checked_add(r.size.0), Some(e) if e <= MAX_PHYS) {
                return Err(err(format!("remove[{i}]"), "ends past 1 TiB"));
            }
            removes.push((r.start.0, r.size.0));
        }
        let teardown = Teardown::from_name(&f.teardown).ok_or_else(|| {
            err(
                "teardown",
                format!("\"{}\" (valid: as-posted, forwards, backwards)", f.teardown),
            )
        })?;
        let names: Vec<&str> = ALL_MEMMAP_VARIANTS.iter().map(|v| v.name()).collect();
        let variants = check_variants(&f.variants, MemmapVariant::from_name, &names)?;
        Ok(HotplugScenario {
            boot_mem_end: boot,
            hypervisor: f.hypervisor,
            memory_block_size,
            adds,
            removes,
            teardown,
            variants,
        })
    }

    /// The file form.
    pub fn to_file(&self) -> HotplugFile {
        HotplugFile {
            version: SCENARIO_VERSION,
            kind: "hotplug".into(),
            arch: "x86_64".into(),
            boot_mem_end: Num(self.boot_mem_end),
            hypervisor: self.hypervisor,
            memory_block_size: self.memory_block_size.map(Num),
            add: self
                .adds
                .iter()
                .map(|a| AddSpec {
                    start: Num(a.start),
                    size: Num(a.size),
                    node: a.node,
                    online: a.online.name().into(),
                    range_size: a.range_size.map(Num),
                })
                .collect(),
            remove: self
                .removes
                .iter()
                .map(|&(s, n)| RemoveSpec {
                    start: Num(s),
                    size: Num(n),
                })
                .collect(),
            teardown: self.teardown.name().into(),
            variants: self.variants.iter().map(|v| v.name().into()).collect(),
        }
    }

    /// Compact JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.to_file()).expect("a file serialises")
    }

    /// Pretty JSON.
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(&self.to_file()).expect("a file serialises")
    }

    /// memory_block_size_bytes(): the override, else probe_memory_block_size.
    pub fn block_size(&self) -> u64 {
        self.memory_block_size.unwrap_or_else(|| {
            kexec_core::memory_block::probe_memory_block_size_on(self.boot_mem_end, self.hypervisor)
        })
    }
}

/// One of `mhp_supports_memmap_on_memory`'s conditions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The condition.
    pub rule: &'static str,
    /// Whether it holds.
    pub holds: bool,
    /// The numbers.
    pub detail: String,
}

/// `mhp_supports_memmap_on_memory(size)` condition by condition: the
/// feature is on, the range is exactly one memory block, its memmap spans
/// whole PMDs, and what is left covers whole pageblocks.
pub fn memmap_on_memory_rules(enabled: bool, size: u64, block_size: u64) -> [Rule; 4] {
    let nr_vmemmap_pages = size / PAGE_SIZE;
    let vmemmap_size = nr_vmemmap_pages * STRUCT_PAGE_SIZE;
    let remaining = size.saturating_sub(vmemmap_size);
    let pageblock = PAGEBLOCK_NR_PAGES * PAGE_SIZE;
    [
        Rule {
            rule: "memory_hotplug.memmap_on_memory is on",
            holds: enabled,
            detail: if enabled { "on" } else { "off" }.into(),
        },
        Rule {
            rule: "size == memory_block_size_bytes()",
            holds: size == block_size,
            detail: format!("{} vs block {}", size_text(size), size_text(block_size)),
        },
        Rule {
            rule: "memmap size is a multiple of PMD_SIZE",
            holds: vmemmap_size & (PMD_SIZE - 1) == 0,
            detail: format!("{} memmap", size_text(vmemmap_size)),
        },
        Rule {
            rule: "the rest is a multiple of the pageblock size",
            holds: remaining & (pageblock - 1) == 0,
            detail: format!("{} left", size_text(remaining)),
        },
    ]
}

/// `mhp_supports_memmap_on_memory`.
pub fn mhp_supports_memmap_on_memory(enabled: bool, size: u64, block_size: u64) -> bool {
    memmap_on_memory_rules(enabled, size, block_size)
        .iter()
        .all(|r| r.holds)
}

/// What backs a section's memmap (its 2 MiB of struct pages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backing {
    /// An order-9 page from the page allocator (boot memory).
    Ordinary,
    /// Pages carved from the added range through an altmap.
    Altmap,
}

/// A hot-added section after add and online.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SectionView {
    /// Section number.
    pub nr: u64,
    /// Index of the `__add_memory` call (range) that added it.
    pub range: usize,
    /// NUMA node.
    pub node: u32,
    /// The zone it was onlined to, if online.
    pub zone: Option<Zone>,
    /// First pfn of the 512 pages backing its memmap.
    pub backing_pfn: u64,
    /// Where those come from.
    pub backing: Backing,
    /// Pages of this section that hold memmap (at its start).
    pub donated: u64,
    /// Pages of it given to the buddy allocator.
    pub buddy: u64,
    /// Pages of it counted present.
    pub present: u64,
    /// Removed by a later request (without fault).
    pub removed: bool,
}

impl SectionView {
    /// First pfn.
    pub fn start_pfn(&self) -> u64 {
        self.nr * PAGES_PER_SECTION
    }

    /// Virtual address of its first struct page.
    pub fn memmap_va(&self) -> u64 {
        pfn_to_page(self.start_pfn())
    }
}

/// A struct page read during teardown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Read {
    /// Its address.
    pub va: u64,
    /// Who reads it and why (the kernel function).
    pub why: String,
    /// Whether its vmemmap PMD was still mapped.
    pub mapped: bool,
}

impl Read {
    /// The pfn the struct page describes.
    pub fn pfn(&self) -> u64 {
        page_to_pfn(self.va)
    }
}

/// One kernel call of a removal, for the stepper.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeardownStep {
    /// Index of the removal request.
    pub remove: usize,
    /// The call, e.g. `vmemmap_free(section 0x21)`.
    pub call: String,
    /// Struct pages it reads, in order (stops at the first unmapped one).
    pub reads: Vec<Read>,
    /// The section whose vmemmap PMD it clears.
    pub clears: Option<u64>,
    /// What else happens.
    pub note: String,
}

impl TeardownStep {
    /// The read that faulted, if any.
    pub fn fault(&self) -> Option<&Read> {
        self.reads.iter().find(|r| !r.mapped)
    }
}

/// The page fault that ended a variant's run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// Index into the teardown steps.
    pub step: usize,
    /// The struct page address read.
    pub va: u64,
    /// The call that faulted.
    pub during: String,
    /// The section whose vmemmap holds the struct page.
    pub section: u64,
    /// The teardown step that cleared that section's vmemmap PMD.
    pub cleared_at: Option<usize>,
    /// The explanation.
    pub why: String,
}

/// The result of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpResult {
    /// "add" or "remove".
    pub op: &'static str,
    /// Index of the request in the file.
    pub request: usize,
    /// First byte.
    pub start: u64,
    /// Bytes.
    pub size: u64,
    /// The errno, if it failed.
    pub errno: Option<Errno>,
    /// The call oopsed (a page fault in its teardown).
    pub oops: bool,
    /// The lab refused the request (no kernel errno: the kernel would WARN
    /// and go on).
    pub refused: bool,
    /// What happened (one or more sentences).
    pub detail: String,
}

/// The RFC's bookkeeping for one altmap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RfcHead {
    /// The struct page holding the refcount.
    pub head_va: u64,
    /// Its refcount after the adds.
    pub refcount: u64,
    /// nr_sects after the adds.
    pub nr_sects: u64,
    /// Sections using the altmap.
    pub sections: u64,
    /// The donated pfns `[first, last]`.
    pub donated: (u64, u64),
}

/// Counters after the adds and onlines (before removals).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counters {
    /// Pages hot-added.
    pub added: u64,
    /// Memmap pages in all (512 per section).
    pub memmap: u64,
    /// Memmap pages carved from the added ranges.
    pub memmap_in_range: u64,
    /// Memmap pages taken from ordinary memory.
    pub memmap_ordinary: u64,
    /// vmemmap page-table pages (PMD tables) taken from ordinary memory.
    pub pgtable_pages: u64,
    /// Pages marked PageVmemmap (RFC) or VmemmapSelfHosted (6.1).
    pub marked: u64,
    /// Added pages handed to the buddy allocator.
    pub buddy: u64,
    /// Added pages counted present.
    pub present: u64,
}

impl Counters {
    /// Net memory the machine gained, in pages: buddy pages of the added
    /// ranges minus ordinary pages the memmap and its page tables took.
    pub fn net_gain(&self) -> i64 {
        self.buddy as i64 - (self.memmap_ordinary + self.pgtable_pages) as i64
    }
}

/// One strategy's run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HotplugRun {
    /// The strategy.
    pub variant: MemmapVariant,
    /// Every request's result, adds then removes.
    pub ops: Vec<OpResult>,
    /// Hot-added sections (state after add and online; `removed` from the
    /// removals).
    pub sections: Vec<SectionView>,
    /// RFC heads.
    pub heads: Vec<RfcHead>,
    /// Counters after adds and onlines.
    pub counters: Counters,
    /// The removals' kernel calls.
    pub teardown: Vec<TeardownStep>,
    /// The fault, if the teardown took one (nothing runs after it).
    pub fault: Option<Fault>,
    /// Kernel log lines.
    pub log: Vec<String>,
}

impl HotplugRun {
    /// "ok", "errno" or "page fault".
    pub fn verdict(&self) -> String {
        if let Some(f) = &self.fault {
            return format!("page fault at 0x{:x}", f.va);
        }
        let errs: Vec<String> = self
            .ops
            .iter()
            .filter_map(|o| match (o.errno, o.refused) {
                (Some(e), _) => Some(format!("{} -{}", o.op, e.name())),
                (None, true) => Some(format!("{} refused", o.op)),
                _ => None,
            })
            .collect();
        if errs.is_empty() {
            "ok".into()
        } else {
            errs.join(", ")
        }
    }

    /// 0 ok, 2 errno or fault.
    pub fn exit_status(&self) -> i32 {
        if self.fault.is_some() || self.ops.iter().any(|o| o.errno.is_some() || o.refused) {
            2
        } else {
            0
        }
    }
}

/// Both runs' common facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HotplugLab {
    /// memory_block_size_bytes().
    pub block_size: u64,
    /// Each variant's run, in the scenario's order.
    pub runs: Vec<HotplugRun>,
}

struct Sec {
    view: SectionView,
    mapped: bool,
}

struct Block {
    nr_vmemmap: u64,
    online: Online,
}

struct RangeRec {
    start: u64,
    size: u64,
    /// 6.1 self-hosted: the altmap's alloc after the add.
    self_hosted: Option<VmemAltmap>,
}

struct Machine {
    variant: MemmapVariant,
    boot_end: u64,
    block: u64,
    teardown: Teardown,
    secs: BTreeMap<u64, Sec>,
    blocks: BTreeMap<u64, Block>,
    ranges: Vec<RangeRec>,
    /// PageVmemmap / VmemmapSelfHosted pfn ranges, start → end, merged.
    marked: BTreeMap<u64, u64>,
    /// Struct page refcounts the RFC keeps (VA → count); other marked
    /// pages have count 1 (init_page_count).
    refs: BTreeMap<u64, u64>,
    heads: Vec<RfcHead>,
    /// RFC's global current_vmemmap_page.
    current: Option<u64>,
    /// Ordinary order-9 allocator: next chunk top-down, and freed chunks.
    ordinary_next: u64,
    ordinary_free: Vec<u64>,
    /// PMD tables of the vmemmap (index = VA offset / 1 GiB).
    pmd_tables: BTreeSet<u64>,
    counters: Counters,
    ops: Vec<OpResult>,
    steps: Vec<TeardownStep>,
    fault: Option<Fault>,
    log: Vec<String>,
    /// The teardown step that cleared each section's vmemmap PMD.
    cleared_at: BTreeMap<u64, usize>,
    /// Nodes with memory in a kernel zone (node 0's boot memory, and
    /// blocks onlined to ZONE_NORMAL): where vmemmap_alloc_block finds
    /// node-local pages.
    kernel_nodes: BTreeSet<u32>,
}

impl Machine {
    fn new(sc: &HotplugScenario, variant: MemmapVariant) -> Machine {
        let block = sc.block_size();
        let boot_sections = sc.boot_mem_end.div_ceil(SECTION_SIZE);
        let mut pmd_tables = BTreeSet::new();
        for t in 0..(boot_sections * PMD_SIZE).div_ceil(PMD_TABLE_SPAN) {
            pmd_tables.insert(t);
        }
        Machine {
            variant,
            boot_end: sc.boot_mem_end,
            block,
            teardown: sc.teardown,
            secs: BTreeMap::new(),
            blocks: BTreeMap::new(),
            ranges: Vec::new(),
            marked: BTreeMap::new(),
            refs: BTreeMap::new(),
            heads: Vec::new(),
            current: None,
            ordinary_next: sc.boot_mem_end & !(PMD_SIZE - 1),
            ordinary_free: Vec::new(),
            pmd_tables,
            counters: Counters::default(),
            ops: Vec::new(),
            steps: Vec::new(),
            fault: None,
            log: vec![format!("x86/mm: Memory block size: {}MB", block >> 20)],
            cleared_at: BTreeMap::new(),
            kernel_nodes: BTreeSet::from([0]),
        }
    }

    fn is_marked(&self, pfn: u64) -> bool {
        self.marked
            .range(..=pfn)
            .next_back()
            .is_some_and(|(_, &e)| pfn < e)
    }

    /// Marked pages in `[lo, hi)`.
    fn marked_in(&self, lo: u64, hi: u64) -> u64 {
        self.marked
            .range(..hi)
            .rev()
            .take_while(|(_, &e)| e > lo)
            .map(|(&s, &e)| e.min(hi) - s.max(lo))
            .sum()
    }

    /// Mark `[s, e)`, merging with a range that ends at `s`.
    fn mark(&mut self, s: u64, e: u64) {
        let prev = self
            .marked
            .range(..=s)
            .next_back()
            .filter(|(_, &pe)| pe == s)
            .map(|(&ps, _)| ps);
        match prev {
            Some(ps) => {
                self.marked.insert(ps, e);
            }
            None => {
                self.marked.insert(s, e);
            }
        }
    }

    /// Drop marks inside `[lo, hi)` (a removed range; marks never straddle
    /// a removal boundary since both are block aligned).
    fn unmark(&mut self, lo: u64, hi: u64) {
        let inside: Vec<u64> = self.marked.range(lo..hi).map(|(&s, _)| s).collect();
        for s in inside {
            self.marked.remove(&s);
        }
    }

    /// Whether the struct page at `va` is mapped now.
    fn mapped(&self, va: u64) -> bool {
        let pfn = page_to_pfn(va);
        if pfn < self.boot_end / PAGE_SIZE {
            return true;
        }
        self.secs
            .get(&(pfn / PAGES_PER_SECTION))
            .is_some_and(|s| s.mapped)
    }

    fn overlaps_existing(&self, start: u64, end: u64) -> Option<String> {
        if start < self.boot_end {
            return Some(format!(
                "overlaps boot System RAM 0x0-0x{:x}",
                self.boot_end - 1
            ));
        }
        self.ranges
            .iter()
            .find(|r| start < r.start + r.size && r.start < end)
            .map(|r| {
                format!(
                    "overlaps the hot-added System RAM 0x{:x}-0x{:x}",
                    r.start,
                    r.start + r.size - 1
                )
            })
    }

    fn ordinary_chunk(&mut self) -> Option<u64> {
        if let Some(p) = self.ordinary_free.pop() {
            return Some(p);
        }
        if self.ordinary_next < ORDINARY_FLOOR + PMD_SIZE {
            return None;
        }
        self.ordinary_next -= PMD_SIZE;
        Some(self.ordinary_next / PAGE_SIZE)
    }

    /// `add_memory_resource` for one range (via `__add_memory`).
    fn add_range(&mut self, request: usize, start: u64, size: u64, node: u32, online: Online) {
        let mut op = OpResult {
            op: "add",
            request,
            start,
            size,
            errno: None,
            oops: false,
            refused: false,
            detail: String::new(),
        };
        // register_memory_resource: __request_region.
        if let Some(why) = self.overlaps_existing(start, start + size) {
            op.errno = Some(Errno::EEXIST);
            op.detail =
                format!("register_memory_resource: __request_region fails, the range {why}");
            self.ops.push(op);
            return;
        }
        // add_memory_resource: check_hotplug_memory_range.
        if (start | size) & (self.block - 1) != 0 {
            self.log.push(format!(
                "Block size [0x{:x}] unaligned hotplug range: start 0x{start:x}, size 0x{size:x}",
                self.block
            ));
            op.errno = Some(Errno::EINVAL);
            op.detail = format!(
                "check_hotplug_memory_range: 0x{start:x} + {} must be a multiple of the memory block size {} at a multiple of it",
                size_text(size),
                size_text(self.block)
            );
            self.ops.push(op);
            return;
        }
        // sparse_add_section → section_activate: sections a failed add left
        // behind are still there.
        let first_sec = start / SECTION_SIZE;
        if let Some(nr) = (first_sec..first_sec + size / SECTION_SIZE)
            .find(|nr| self.secs.get(nr).is_some_and(|s| !s.view.removed))
        {
            op.errno = Some(Errno::EEXIST);
            op.detail = format!(
                "section_activate: fill_subsection_map finds section 0x{nr:x} already present (left by an earlier failed add)"
            );
            self.ops.push(op);
            return;
        }
        let range = self.ranges.len();
        let start_pfn = start / PAGE_SIZE;
        let nr_pages = size / PAGE_SIZE;
        let nsec = size / SECTION_SIZE;
        let mut notes = Vec::new();
        let mut altmap = match self.variant {
            MemmapVariant::Ordinary => None,
            MemmapVariant::Rfc2018 => {
                notes.push(
                    "add_memory_resource sets MHP_MEMMAP_FROM_RANGE: one altmap over the range"
                        .to_string(),
                );
                Some(VmemAltmap::new(start_pfn, nr_pages))
            }
            MemmapVariant::MemmapOnMemory => {
                let rules = memmap_on_memory_rules(true, size, self.block);
                if rules.iter().all(|r| r.holds) {
                    notes.push(format!(
                        "acpi_memory_enable_device: mhp_supports_memmap_on_memory({}) holds, MHP_MEMMAP_ON_MEMORY",
                        size_text(size)
                    ));
                    Some(VmemAltmap::new(start_pfn, nr_pages))
                } else {
                    let failed: Vec<String> = rules
                        .iter()
                        .filter(|r| !r.holds)
                        .map(|r| format!("{} ({})", r.rule, r.detail))
                        .collect();
                    notes.push(format!(
                        "not self-hosted: mhp_supports_memmap_on_memory fails: {}; the memmap comes from ordinary memory",
                        failed.join("; ")
                    ));
                    None
                }
            }
        };
        // RFC state: nr_sects and the altmap's moving base.
        let mut nr_sects = 0u64;
        let mut head_va = None;
        let mut new_secs = Vec::new();
        let mut pgtables = 0;
        for k in 0..nsec {
            let nr = start_pfn / PAGES_PER_SECTION + k;
            let memmap_va = pfn_to_page(nr * PAGES_PER_SECTION);
            // vmemmap_pud_populate: the PMD table for this 1 GiB of vmemmap.
            let table = (memmap_va - VMEMMAP_BASE) / PMD_TABLE_SPAN;
            if self.pmd_tables.insert(table) {
                pgtables += 1;
            }
            let (backing_pfn, backing) = match altmap.as_mut() {
                Some(a) => match a.alloc_block_buf(PMD_SIZE) {
                    Some(p) => (p, Backing::Altmap),
                    None => {
                        op.errno = Some(Errno::ENOMEM);
                        op.detail = format!(
                            "vmemmap_populate_hugepages: the altmap has {} pages left, no fallback on x86",
                            a.nr_free()
                        );
                        break;
                    }
                },
                None => match self.ordinary_chunk() {
                    Some(p) => (p, Backing::Ordinary),
                    None => {
                        op.errno = Some(Errno::ENOMEM);
                        op.detail =
                            "vmemmap_alloc_block: ordinary memory has no order-9 page left".into();
                        break;
                    }
                },
            };
            if self.variant == MemmapVariant::Rfc2018 {
                // sparse_add_one_section → flush_alloc_pfns = mark_vmemmap_pages
                let a = altmap.as_mut().expect("the RFC always has an altmap");
                let pfn = a.base_pfn + a.reserve;
                let n = a.alloc;
                let head = (pfn_to_page(pfn) & !(PMD_SIZE - 1)) - PMD_SIZE * nr_sects;
                // page_ref_inc(head). The first call then marks the head
                // itself, and init_page_count sets its count to 1: the same
                // as counting from 0 on a zeroed memmap (the assumption in
                // the module doc). Other marked pages keep count 1.
                let count = self.refs.entry(head).or_insert(0);
                *count += 1;
                let c = *count;
                if (c * PAGES_PER_SECTION) & (PMD_SIZE - 1) == 0 {
                    nr_sects += 1;
                }
                self.mark(pfn, pfn + n);
                a.alloc = 0;
                a.base_pfn += n + a.reserve;
                a.free -= n;
                head_va.get_or_insert(head);
            }
            new_secs.push(Sec {
                view: SectionView {
                    nr,
                    range,
                    node,
                    zone: None,
                    backing_pfn,
                    backing,
                    donated: 0,
                    buddy: 0,
                    present: 0,
                    removed: false,
                },
                mapped: true,
            });
        }
        self.counters.pgtable_pages += pgtables;
        if op.errno.is_some() {
            // __add_pages stops; add_pages WARNs; add_memory_resource fails
            // and the resource is released, but nothing removes the
            // sections populated so far: they stay present, offline.
            if altmap.is_none() {
                self.log.push("vmemmap alloc failure: order:9".into());
            }
            self.log
                .push("WARNING: add_pages: __add_pages failed (WARN_ON_ONCE)".into());
            let kept = new_secs.len();
            for s in new_secs {
                self.secs.insert(s.view.nr, s);
            }
            op.detail = format!(
                "{}; the {kept} section(s) populated before it stay present with their memmap",
                op.detail
            );
            self.ops.push(op);
            return;
        }
        if pgtables > 0 {
            notes.push(format!(
                "{pgtables} vmemmap PMD table page(s) from ordinary memory"
            ));
        }
        let mut self_hosted = None;
        match self.variant {
            MemmapVariant::Rfc2018 => {
                let head = head_va.expect("at least one section");
                self.heads.push(RfcHead {
                    head_va: head,
                    refcount: self.refs.get(&head).copied().unwrap_or(0),
                    nr_sects,
                    sections: nsec,
                    donated: (start_pfn, start_pfn + nsec * MEMMAP_PAGES_PER_SECTION - 1),
                });
                notes.push(format!(
                    "mark_vmemmap_pages: {} pages PageVmemmap, refcount {} at 0x{head:x}, nr_sects {nr_sects}",
                    nsec * MEMMAP_PAGES_PER_SECTION,
                    self.refs.get(&head).copied().unwrap_or(0)
                ));
            }
            MemmapVariant::MemmapOnMemory => {
                if let Some(a) = altmap {
                    notes.push(format!(
                        "altmap alloc = {} pages: nr_vmemmap_pages of the memory block",
                        a.alloc
                    ));
                    self_hosted = Some(a);
                }
            }
            MemmapVariant::Ordinary => {}
        }
        if !self.kernel_nodes.contains(&node)
            && new_secs.iter().any(|s| s.view.backing == Backing::Ordinary)
        {
            notes.push(format!(
                "node {node} has no memory in a kernel zone: alloc_pages_node falls back, its struct pages are on another node (off-node)"
            ));
        }
        // Donated pages per section (the carved memmap lies at the start).
        let carved: Vec<(u64, u64)> = new_secs
            .iter()
            .filter(|s| s.view.backing == Backing::Altmap)
            .map(|s| {
                (
                    s.view.backing_pfn,
                    s.view.backing_pfn + MEMMAP_PAGES_PER_SECTION,
                )
            })
            .collect();
        for s in new_secs.iter_mut() {
            let lo = s.view.start_pfn();
            let hi = lo + PAGES_PER_SECTION;
            s.view.donated = carved
                .iter()
                .map(|&(a, b)| b.min(hi).saturating_sub(a.max(lo)))
                .sum();
        }
        for s in &new_secs {
            match s.view.backing {
                Backing::Altmap => self.counters.memmap_in_range += MEMMAP_PAGES_PER_SECTION,
                Backing::Ordinary => self.counters.memmap_ordinary += MEMMAP_PAGES_PER_SECTION,
            }
            self.counters.memmap += MEMMAP_PAGES_PER_SECTION;
        }
        self.counters.added += nr_pages;
        // create_memory_block_devices
        let per_block = self.block / PAGE_SIZE;
        let nr_vmemmap = self_hosted.map_or(0, |a| a.alloc);
        for b in 0..nr_pages / per_block {
            self.blocks.insert(
                start_pfn + b * per_block,
                Block {
                    nr_vmemmap: if b == 0 { nr_vmemmap } else { 0 },
                    online: Online::Offline,
                },
            );
        }
        for s in new_secs {
            self.secs.insert(s.view.nr, s);
        }
        self.ranges.push(RangeRec {
            start,
            size,
            self_hosted,
        });
        // Online every block of the range.
        if let Some(zone) = online.zone() {
            let mut buddy = 0;
            for b in 0..nr_pages / per_block {
                buddy += self.online_block(start_pfn + b * per_block, online, zone);
            }
            self.counters.buddy += buddy;
            notes.push(format!(
                "online_{}: {} pages to the buddy allocator in ZONE_{}",
                online.name(),
                buddy,
                zone.name().to_uppercase()
            ));
        } else {
            notes.push("left offline (memhp_default_state=offline)".into());
        }
        self.counters.marked = self.marked.iter().map(|(&s, &e)| e - s).sum();
        op.detail = notes.join(". ");
        self.ops.push(op);
    }

    /// `memory_block_online` (6.1) or the RFC's `online_pages_range`: the
    /// pages that reach the buddy allocator.
    fn online_block(&mut self, block_pfn: u64, online: Online, zone: Zone) -> u64 {
        let per_block = self.block / PAGE_SIZE;
        let nr_vmemmap = self.blocks.get(&block_pfn).map_or(0, |b| b.nr_vmemmap);
        let mut buddy = 0;
        let mut present = 0;
        for nr in block_pfn / PAGES_PER_SECTION..(block_pfn + per_block) / PAGES_PER_SECTION {
            let lo = nr * PAGES_PER_SECTION;
            let marked_here = self.marked_in(lo, lo + PAGES_PER_SECTION);
            let Some(s) = self.secs.get_mut(&nr) else {
                continue;
            };
            s.view.zone = Some(zone);
            let (b, p) = match self.variant {
                // mhp_init_memmap_on_memory marks the block's first
                // nr_vmemmap pages VmemmapSelfHosted in the block's zone;
                // online_pages(start + nr_vmemmap, rest); present counts
                // the vmemmap pages too (adjust_present_page_count).
                MemmapVariant::MemmapOnMemory => {
                    let v = nr_vmemmap
                        .saturating_sub(lo - block_pfn)
                        .min(PAGES_PER_SECTION);
                    (PAGES_PER_SECTION - v, PAGES_PER_SECTION)
                }
                // online_pages_range strips PageVmemmap pages; a section
                // of nothing but memmap is not onlined at all.
                MemmapVariant::Rfc2018 => (
                    PAGES_PER_SECTION - marked_here,
                    PAGES_PER_SECTION - marked_here,
                ),
                MemmapVariant::Ordinary => (PAGES_PER_SECTION, PAGES_PER_SECTION),
            };
            s.view.buddy = b;
            s.view.present = p;
            buddy += b;
            present += p;
        }
        if let Some(b) = self.blocks.get_mut(&block_pfn) {
            b.online = online;
        }
        if self.variant == MemmapVariant::MemmapOnMemory && nr_vmemmap > 0 {
            self.mark(block_pfn, block_pfn + nr_vmemmap);
        }
        if online == Online::Kernel {
            if let Some(s) = self.secs.get(&(block_pfn / PAGES_PER_SECTION)) {
                self.kernel_nodes.insert(s.view.node);
            }
        }
        self.counters.present += present;
        buddy
    }

    fn push_step(&mut self, step: TeardownStep) -> bool {
        let fault = step.fault().cloned();
        let idx = self.steps.len();
        let during = step.call.clone();
        if let Some(c) = step.clears {
            self.cleared_at.insert(c, idx);
            if let Some(s) = self.secs.get_mut(&c) {
                s.mapped = false;
            }
        }
        self.steps.push(step);
        if let Some(r) = fault {
            let sec = section_of_va(r.va);
            let cleared_at = self.cleared_at.get(&sec).copied();
            let when = match cleared_at {
                Some(i) => format!("cleared at step {} ({})", i + 1, self.steps[i].call),
                None => "never mapped".into(),
            };
            let why = format!(
                "{during} → {}: the struct page of pfn 0x{:x} is at 0x{:x}, in the vmemmap of section 0x{sec:x}, whose PMD was {when}",
                r.why,
                r.pfn(),
                r.va
            );
            self.log.push(format!(
                "BUG: unable to handle page fault for address: {:016x}",
                r.va
            ));
            self.log
                .push("#PF: supervisor read access in kernel mode".into());
            self.fault = Some(Fault {
                step: idx,
                va: r.va,
                during,
                section: sec,
                cleared_at,
                why,
            });
            return false;
        }
        true
    }

    /// Read a struct page; false if unmapped.
    fn read(&self, va: u64, why: impl Into<String>) -> Read {
        Read {
            va,
            why: why.into(),
            mapped: self.mapped(va),
        }
    }

    /// `offline_and_remove_memory(start, size)`.
    fn remove(&mut self, request: usize, start: u64, size: u64) {
        let mut op = OpResult {
            op: "remove",
            request,
            start,
            size,
            errno: None,
            oops: false,
            refused: false,
            detail: String::new(),
        };
        if size == 0 || (start | size) & (self.block - 1) != 0 {
            op.errno = Some(Errno::EINVAL);
            op.detail = format!(
                "offline_and_remove_memory: start and size must be non-zero multiples of the memory block size {}",
                size_text(self.block)
            );
            self.ops.push(op);
            return;
        }
        let per_block = self.block / PAGE_SIZE;
        let start_pfn = start / PAGE_SIZE;
        let nr_pages = size / PAGE_SIZE;
        let block_pfns: Vec<u64> = (0..nr_pages / per_block)
            .map(|b| start_pfn + b * per_block)
            .collect();
        if let Some(missing) = block_pfns.iter().find(|p| !self.blocks.contains_key(p)) {
            op.refused = true;
            op.detail = format!(
                "refused by the lab: no hot-added memory block at 0x{:x}; the lab removes only what was hot-added and is still present (the kernel would WARN in remove_memory_block_devices and __remove_section and return 0)",
                missing * PAGE_SIZE
            );
            self.ops.push(op);
            return;
        }
        // try_remove_memory's granularity check (memmap_on_memory on).
        if self.variant == MemmapVariant::MemmapOnMemory {
            // get_nr_vmemmap_pages_cb: the first block that has any.
            let nr_vmemmap = block_pfns
                .iter()
                .map(|p| self.blocks[p].nr_vmemmap)
                .find(|&n| n > 0)
                .unwrap_or(0);
            if nr_vmemmap > 0 && size != self.block {
                self.log.push(format!(
                    "Refuse to remove 0x{start:x} - 0x{:x},wrong granularity",
                    start + size
                ));
                self.log
                    .push("offline_and_remove_memory: Failed to remove memory: -22".into());
                op.errno = Some(Errno::EINVAL);
                op.detail = format!(
                    "the blocks are offlined, then try_remove_memory finds {nr_vmemmap} self-hosted memmap pages in a range of {}, not one memory block ({}), and refuses; offline_and_remove_memory onlines the blocks again",
                    size_text(size),
                    size_text(self.block)
                );
                self.ops.push(op);
                return;
            }
        }
        // Offline (memory_block_offline / offline_pages).
        let mut offlined = 0;
        for p in &block_pfns {
            if self.blocks[p].online != Online::Offline {
                offlined += 1;
            }
        }
        let mut notes = vec![format!(
            "{} block(s) offlined, {} already offline",
            offlined,
            block_pfns.len() - offlined
        )];
        // arch_remove_memory → __remove_pages: sections ascending.
        let first = start_pfn / PAGES_PER_SECTION;
        let last = (start_pfn + nr_pages) / PAGES_PER_SECTION;
        let mut order: Vec<u64> = (first..last).collect();
        let steps_before = self.steps.len();
        let ok = match self.variant {
            MemmapVariant::Rfc2018 => self.rfc_remove(request, &order),
            _ => {
                if self.teardown == Teardown::Backwards {
                    order.reverse();
                }
                self.plain_remove(request, &order)
            }
        };
        if !ok {
            op.oops = true;
            op.detail = format!(
                "page fault in the vmemmap teardown: {}",
                self.fault.as_ref().map_or("", |f| f.why.as_str())
            );
            self.ops.push(op);
            return;
        }
        notes.push(format!(
            "{} teardown call(s)",
            self.steps.len() - steps_before
        ));
        // The sections leave; the memory goes back to the firmware.
        for nr in first..last {
            if let Some(s) = self.secs.get_mut(&nr) {
                s.view.removed = true;
            }
        }
        for p in &block_pfns {
            self.blocks.remove(p);
        }
        // 6.1: the self-hosted marks went at offline
        // (mhp_deinit_memmap_on_memory). The RFC never clears PageVmemmap:
        // the marks go only with the struct pages, when a section's
        // vmemmap is freed.
        for nr in first..last {
            let lo = nr * PAGES_PER_SECTION;
            let gone = self.secs.get(&nr).is_none_or(|s| !s.mapped);
            if self.variant != MemmapVariant::Rfc2018 || gone {
                self.unmark(lo, lo + PAGES_PER_SECTION);
            }
        }
        // Pages of the removed range that still back the memmap of sections
        // that stay: unplugged under live struct pages.
        let live: Vec<u64> = self
            .secs
            .values()
            .filter(|x| {
                !x.view.removed
                    && x.view.backing == Backing::Altmap
                    && x.view.backing_pfn >= start_pfn
                    && x.view.backing_pfn < start_pfn + nr_pages
            })
            .map(|x| x.view.nr)
            .collect();
        if let (Some(a), Some(b)) = (live.first(), live.last()) {
            notes.push(format!(
                "the removed range still backs the memmap of section(s) 0x{a:x}-0x{b:x}, which stay present: that memory is unplugged under live struct pages"
            ));
        }
        // free_pmd_table: a vmemmap PMD table left with no mapping.
        let boot_tables =
            (self.boot_end.div_ceil(SECTION_SIZE) * PMD_SIZE).div_ceil(PMD_TABLE_SPAN);
        let tables: BTreeSet<u64> = (first..last)
            .map(|nr| nr * PMD_SIZE / PMD_TABLE_SPAN)
            .filter(|&t| t >= boot_tables)
            .collect();
        for t in tables {
            let lo = t * PMD_TABLE_SPAN / PMD_SIZE;
            let hi = lo + PMD_TABLE_SPAN / PMD_SIZE;
            if !self.secs.range(lo..hi).any(|(_, s)| s.mapped) && self.pmd_tables.remove(&t) {
                notes.push(format!(
                    "free_pmd_table: the vmemmap PMD table for 0x{:x} is empty and freed",
                    VMEMMAP_BASE + t * PMD_TABLE_SPAN
                ));
            }
        }
        // release_mem_region_adjustable: shrink or drop the resources.
        let mut kept = Vec::new();
        for r in self.ranges.drain(..) {
            let (rs, re) = (r.start, r.start + r.size);
            let (s, e) = (start, start + size);
            if e <= rs || re <= s {
                kept.push(r);
                continue;
            }
            if rs < s {
                kept.push(RangeRec {
                    start: rs,
                    size: s - rs,
                    self_hosted: r.self_hosted,
                });
            }
            if e < re {
                kept.push(RangeRec {
                    start: e,
                    size: re - e,
                    self_hosted: r.self_hosted,
                });
            }
        }
        self.ranges = kept;
        if let Some(c) = self.current {
            let left = self.refs.get(&c).copied().unwrap_or(0);
            notes.push(format!(
                "current_vmemmap_page stays 0x{c:x} with refcount {left}: the vmemmap of the sections it defers is not freed"
            ));
        }
        op.detail = notes.join(". ");
        self.ops.push(op);
    }

    /// 6.1's `vmemmap_free` per section: counter-only with an altmap,
    /// `free_pagetable` of the order-9 page without.
    fn plain_remove(&mut self, request: usize, order: &[u64]) -> bool {
        for &nr in order {
            let Some(s) = self.secs.get(&nr) else {
                continue;
            };
            if !s.mapped {
                continue;
            }
            let (backing, bpfn) = (s.view.backing, s.view.backing_pfn);
            let mut step = TeardownStep {
                remove: request,
                call: format!("vmemmap_free(section 0x{nr:x})"),
                reads: Vec::new(),
                clears: Some(nr),
                note: String::new(),
            };
            match backing {
                Backing::Altmap => {
                    let (before, after) = {
                        let r = self
                            .ranges
                            .iter_mut()
                            .find(|r| {
                                r.start / PAGE_SIZE <= nr * PAGES_PER_SECTION
                                    && nr * PAGES_PER_SECTION < (r.start + r.size) / PAGE_SIZE
                            })
                            .and_then(|r| r.self_hosted.as_mut());
                        match r {
                            Some(a) => {
                                let b = a.alloc;
                                a.free_pages(MEMMAP_PAGES_PER_SECTION);
                                (b, a.alloc)
                            }
                            None => (0, 0),
                        }
                    };
                    step.note = format!(
                        "free_hugepage_table with the altmap: vmem_altmap_free, alloc {before} → {after}; no struct page read; PMD cleared"
                    );
                }
                Backing::Ordinary => {
                    step.reads.push(self.read(
                        pfn_to_page(bpfn),
                        "free_pagetable: PageReserved(page) of the memmap's order-9 page",
                    ));
                    step.note = format!(
                        "free_pagetable(order 9): pfns 0x{bpfn:x}-0x{:x} back to the buddy allocator; PMD cleared",
                        bpfn + MEMMAP_PAGES_PER_SECTION - 1
                    );
                    self.ordinary_free.push(bpfn);
                }
            }
            if !self.push_step(step) {
                return false;
            }
        }
        true
    }

    /// The RFC's `__kfree_section_memmap` for each section, ascending, and
    /// `free_vmemmap_range` when the refcount reaches zero.
    fn rfc_remove(&mut self, request: usize, order: &[u64]) -> bool {
        for &nr in order {
            if !self.secs.contains_key(&nr) {
                continue;
            }
            let memmap = pfn_to_page(nr * PAGES_PER_SECTION);
            let mut step = TeardownStep {
                remove: request,
                call: format!("__kfree_section_memmap(section 0x{nr:x})"),
                reads: Vec::new(),
                clears: None,
                note: String::new(),
            };
            let r = self.read(memmap, "__kfree_section_memmap: PageVmemmap(memmap)");
            let ok = r.mapped;
            step.reads.push(r);
            if !ok {
                return self.push_step(step);
            }
            let vm = self.is_marked(nr * PAGES_PER_SECTION);
            if vm && self.current.is_none() {
                self.current = Some(memmap);
            }
            let Some(cur) = self.current else {
                step.note = "not PageVmemmap and nothing deferred: vmemmap_free now".into();
                if !self.push_step(step) {
                    return false;
                }
                if !self.rfc_free_chunk(request, nr) {
                    return false;
                }
                continue;
            };
            let r = self.read(
                cur,
                "vmemmap_dec_and_test: page_ref_dec_and_test(current_vmemmap_page)",
            );
            let ok = r.mapped;
            step.reads.push(r);
            if !ok {
                return self.push_step(step);
            }
            let count = self.refs.entry(cur).or_insert(1);
            *count = count.saturating_sub(1);
            let left = *count;
            if left > 0 {
                step.note = format!("refcount at 0x{cur:x} now {left}: vmemmap_free deferred");
                if !self.push_step(step) {
                    return false;
                }
                continue;
            }
            self.refs.remove(&cur);
            self.current = None;
            let limit = section_of_va(cur);
            step.note = if self.teardown == Teardown::Forwards {
                format!(
                    "refcount at 0x{cur:x} reaches 0: free_vmemmap_range, turned round, frees sections 0x{limit:x} up to 0x{nr:x}"
                )
            } else {
                format!(
                    "refcount at 0x{cur:x} reaches 0: free_vmemmap_range(0x{cur:x}, section 0x{nr:x}) frees sections 0x{nr:x} down to 0x{limit:x}"
                )
            };
            if !self.push_step(step) {
                return false;
            }
            let mut range: Vec<u64> = (limit..=nr).rev().collect();
            if self.teardown == Teardown::Forwards {
                range.reverse();
            }
            for j in range {
                if !self.rfc_free_chunk(request, j) {
                    return false;
                }
            }
        }
        true
    }

    /// The RFC's `vmemmap_free(chunk, NULL)` → `free_pagetable`, which
    /// tests PageVmemmap on the page backing the chunk.
    fn rfc_free_chunk(&mut self, request: usize, nr: u64) -> bool {
        let Some(s) = self.secs.get(&nr) else {
            return true;
        };
        let mut step = TeardownStep {
            remove: request,
            call: format!("vmemmap_free(section 0x{nr:x})"),
            reads: Vec::new(),
            clears: None,
            note: String::new(),
        };
        if !s.mapped {
            step.note = "pmd_none: already unmapped, nothing to do".into();
            return self.push_step(step);
        }
        let bpfn = s.view.backing_pfn;
        let r = self.read(
            pfn_to_page(bpfn),
            "free_pagetable: PageVmemmap(page) of the page backing this memmap",
        );
        let ok = r.mapped;
        step.reads.push(r);
        if !ok {
            return self.push_step(step);
        }
        if self.is_marked(bpfn) {
            step.note = format!(
                "pfn 0x{bpfn:x} is PageVmemmap: not freed (it lies in the added range); PMD cleared"
            );
        } else {
            step.note = format!("free_pages(pfn 0x{bpfn:x}, order 9); PMD cleared");
            self.ordinary_free.push(bpfn);
        }
        step.clears = Some(nr);
        self.push_step(step)
    }
}

/// Run every variant of a scenario.
pub fn run(sc: &HotplugScenario) -> HotplugLab {
    let runs = sc.variants.iter().map(|&v| run_variant(sc, v)).collect();
    HotplugLab {
        block_size: sc.block_size(),
        runs,
    }
}

/// Run one strategy.
pub fn run_variant(sc: &HotplugScenario, variant: MemmapVariant) -> HotplugRun {
    let mut m = Machine::new(sc, variant);
    for (i, a) in sc.adds.iter().enumerate() {
        if a.size == 0 {
            // acpi_memory_enable_device skips empty ranges; a device with
            // none left is refused before __add_memory.
            m.log
                .push("acpi_memory_enable_device: device is empty".into());
            m.ops.push(OpResult {
                op: "add",
                request: i,
                start: a.start,
                size: 0,
                errno: Some(Errno::EINVAL),
                oops: false,
                refused: false,
                detail: "acpi_memory_enable_device: the device's ranges add up to 0 bytes (\"device is empty\")".into(),
            });
            continue;
        }
        for (s, n) in a.ranges() {
            m.add_range(i, s, n, a.node, a.online);
        }
    }
    let heads = m.heads.clone();
    let counters = m.counters;
    let sections_after_add: Vec<u64> = m.secs.keys().copied().collect();
    for (i, &(s, n)) in sc.removes.iter().enumerate() {
        if m.fault.is_some() {
            break;
        }
        m.remove(i, s, n);
    }
    let sections = sections_after_add
        .iter()
        .map(|nr| m.secs[nr].view.clone())
        .collect();
    HotplugRun {
        variant,
        ops: m.ops,
        sections,
        heads,
        counters,
        teardown: m.steps,
        fault: m.fault,
        log: m.log,
    }
}

fn hex_range(start: u64, size: u64) -> String {
    format!("0x{start:x} +{}", size_text(size))
}

/// Runs of sections laid out alike: `(first, last, the first's view)`.
fn section_runs(secs: &[SectionView]) -> Vec<(u64, u64, &SectionView)> {
    let mut runs: Vec<(u64, u64, &SectionView)> = Vec::new();
    for s in secs {
        if let Some(last) = runs.last_mut() {
            let f = last.2;
            let k = s.nr - f.nr;
            let step = if f.backing == Backing::Altmap {
                MEMMAP_PAGES_PER_SECTION
            } else {
                0
            };
            let same = s.nr == last.1 + 1
                && s.range == f.range
                && s.donated == f.donated
                && s.buddy == f.buddy
                && s.present == f.present
                && s.zone == f.zone
                && s.backing == f.backing
                && s.removed == f.removed
                && (step == 0 || s.backing_pfn == f.backing_pfn + k * step);
            if same {
                last.1 = s.nr;
                continue;
            }
        }
        runs.push((s.nr, s.nr, s));
    }
    runs
}

/// The 72-column text report.
pub fn report_text(sc: &HotplugScenario, lab: &HotplugLab) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "kexec-sim hotplug: x86_64{}, boot memory 0x0-0x{:x}",
        if sc.hypervisor { " (hypervisor)" } else { "" },
        sc.boot_mem_end - 1
    );
    let _ = writeln!(
        s,
        "memory block {} ({}); sections of 128 MiB",
        size_text(lab.block_size),
        if sc.memory_block_size.is_some() {
            "set_memory_block_size_order"
        } else {
            "probe_memory_block_size"
        }
    );
    for (i, a) in sc.adds.iter().enumerate() {
        let ranges = a.ranges().len();
        let _ = writeln!(
            s,
            "add[{i}]: {} node {} online {}{}",
            hex_range(a.start, a.size),
            a.node,
            a.online.name(),
            if ranges > 1 {
                format!(", {ranges} ranges")
            } else {
                String::new()
            }
        );
    }
    for (i, &(st, n)) in sc.removes.iter().enumerate() {
        let _ = writeln!(
            s,
            "remove[{i}]: offline_and_remove_memory({})",
            hex_range(st, n)
        );
    }
    if !sc.removes.is_empty() {
        let _ = writeln!(s, "teardown order: {}", sc.teardown.name());
    }
    for r in &lab.runs {
        s.push('\n');
        let _ = writeln!(s, "== {} ==", r.variant.name());
        s.push_str(&wrap(r.variant.summary(), "", 2));
        let _ = writeln!(s, "verdict: {}", r.verdict());
        for o in &r.ops {
            let head = format!(
                "{}[{}] {}: {}",
                o.op,
                o.request,
                hex_range(o.start, o.size),
                o.errno
                    .map_or("ok".to_string(), |e| format!("-{}", e.name()))
            );
            let _ = writeln!(s, "{head}");
            if !o.detail.is_empty() {
                s.push_str(&wrap(&o.detail, "   ", 3));
            }
        }
        if !r.sections.is_empty() {
            let _ = writeln!(s, "sections (memmap backing, memmap pages inside, buddy):");
            for (a, b, v) in section_runs(&r.sections) {
                let name = if a == b {
                    format!("0x{a:x}")
                } else {
                    format!("0x{a:x}-0x{b:x}")
                };
                let backing = match v.backing {
                    Backing::Altmap if a == b => format!("pfn 0x{:x} (range)", v.backing_pfn),
                    Backing::Altmap => format!("pfn 0x{:x}+0x200/sec", v.backing_pfn),
                    Backing::Ordinary => "ordinary".into(),
                };
                let _ = writeln!(
                    s,
                    "  {name:<13} {backing:<22} {:>5} {:>6}{}",
                    v.donated,
                    v.buddy,
                    if v.removed { " removed" } else { "" }
                );
            }
            let first = r.sections[0].start_pfn();
            let last = r.sections[r.sections.len() - 1].start_pfn() + PAGES_PER_SECTION - 1;
            let _ = writeln!(
                s,
                "  struct pages 0x{:x}-0x{:x}",
                pfn_to_page(first),
                pfn_to_page(last)
            );
        }
        for h in &r.heads {
            let _ = writeln!(
                s,
                "RFC head 0x{:x}: refcount {}, nr_sects {}",
                h.head_va, h.refcount, h.nr_sects
            );
            let _ = writeln!(
                s,
                "  donated pfns 0x{:x}-0x{:x},\n  their struct pages 0x{:x}-0x{:x}",
                h.donated.0,
                h.donated.1,
                pfn_to_page(h.donated.0),
                pfn_to_page(h.donated.1)
            );
        }
        let c = &r.counters;
        let _ = writeln!(
            s,
            "added {} pages; memmap {} ({} in range, {} ordinary)",
            c.added, c.memmap, c.memmap_in_range, c.memmap_ordinary
        );
        let _ = writeln!(
            s,
            "marked {}; buddy {}; present {}; PMD tables {}",
            c.marked, c.buddy, c.present, c.pgtable_pages
        );
        let _ = writeln!(s, "net gain {} pages", c.net_gain());
        if !r.teardown.is_empty() {
            let _ = writeln!(s, "teardown ({} calls):", r.teardown.len());
            let n = r.teardown.len();
            for (i, t) in r.teardown.iter().enumerate() {
                let keep = i < 3 || i + 3 >= n || t.fault().is_some();
                if !keep {
                    if i == 3 {
                        let _ = writeln!(s, "  …");
                    }
                    continue;
                }
                let mut line = format!("{}. {}", i + 1, t.call);
                if let Some(f) = t.fault() {
                    let _ = write!(line, ": reads 0x{:x}: PAGE FAULT", f.va);
                } else if !t.note.is_empty() {
                    let _ = write!(line, ": {}", t.note);
                }
                s.push_str(&wrap(&line, "  ", 4));
            }
        }
        if let Some(f) = &r.fault {
            s.push_str(&wrap(&f.why, "fault:", 2));
        }
        if !r.log.is_empty() {
            let _ = writeln!(s, "log:");
            for l in &r.log {
                s.push_str(&wrap(l, "  ", 4));
            }
        }
    }
    s
}

/// The JSON report.
pub fn report_json(sc: &HotplugScenario, lab: &HotplugLab) -> serde_json::Value {
    let runs: Vec<serde_json::Value> = lab
        .runs
        .iter()
        .map(|r| {
            json!({
                "variant": r.variant.name(),
                "verdict": r.verdict(),
                "ops": r.ops.iter().map(|o| json!({
                    "op": o.op, "request": o.request,
                    "start": format!("0x{:x}", o.start), "size": format!("0x{:x}", o.size),
                    "errno": o.errno.map(|e| e.name()), "oops": o.oops, "refused": o.refused, "detail": o.detail,
                })).collect::<Vec<_>>(),
                "sections": r.sections.iter().map(|v| json!({
                    "nr": v.nr, "range": v.range, "node": v.node,
                    "zone": v.zone.map(|z| z.name()),
                    "memmap": format!("0x{:x}", v.memmap_va()),
                    "backing_pfn": format!("0x{:x}", v.backing_pfn),
                    "backing": match v.backing { Backing::Altmap => "altmap", Backing::Ordinary => "ordinary" },
                    "donated": v.donated, "buddy": v.buddy, "present": v.present,
                    "removed": v.removed,
                })).collect::<Vec<_>>(),
                "heads": r.heads.iter().map(|h| json!({
                    "head": format!("0x{:x}", h.head_va), "refcount": h.refcount,
                    "nr_sects": h.nr_sects, "sections": h.sections,
                    "donated": [format!("0x{:x}", h.donated.0), format!("0x{:x}", h.donated.1)],
                })).collect::<Vec<_>>(),
                "counters": {
                    "added": r.counters.added, "memmap": r.counters.memmap,
                    "memmap_in_range": r.counters.memmap_in_range,
                    "memmap_ordinary": r.counters.memmap_ordinary,
                    "pgtable_pages": r.counters.pgtable_pages,
                    "marked": r.counters.marked, "buddy": r.counters.buddy,
                    "present": r.counters.present, "net_gain": r.counters.net_gain(),
                },
                "teardown": r.teardown.iter().map(|t| json!({
                    "remove": t.remove, "call": t.call, "note": t.note,
                    "clears": t.clears,
                    "reads": t.reads.iter().map(|x| json!({
                        "va": format!("0x{:x}", x.va), "pfn": format!("0x{:x}", x.pfn()),
                        "why": x.why, "mapped": x.mapped,
                    })).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
                "fault": r.fault.as_ref().map(|f| json!({
                    "step": f.step, "va": format!("0x{:x}", f.va), "section": f.section,
                    "during": f.during, "why": f.why,
                })),
                "log": r.log,
            })
        })
        .collect();
    json!({
        "kind": "hotplug",
        "block_size": format!("0x{:x}", lab.block_size),
        "scenario": serde_json::from_str::<serde_json::Value>(&sc.to_json()).unwrap_or_default(),
        "runs": runs,
    })
}

/// A preset of this lab.
pub type HotplugPreset = kexec_common::Preset<HotplugScenario>;

fn add(start: u64, size: u64, online: Online, range_size: Option<u64>) -> Add {
    Add {
        start,
        size,
        node: 0,
        online,
        range_size,
    }
}

/// The lab's presets, from seed 002.
pub fn presets() -> Vec<HotplugPreset> {
    let rfc = |teardown| HotplugScenario {
        boot_mem_end: 4 * GIB,
        hypervisor: false,
        memory_block_size: None,
        adds: vec![add(4 * GIB, 10 * GIB, Online::Movable, None)],
        removes: vec![(4 * GIB, 10 * GIB)],
        teardown,
        variants: vec![MemmapVariant::Rfc2018, MemmapVariant::MemmapOnMemory],
    };
    vec![
        kexec_common::Preset {
            name: "hotplug-rfc-10g",
            title: "the RFC example: hot-add 10 GiB at 4 GiB, remove it",
            expect: "rfc-2018: 80 sections, 40960 memmap pages carved from 0x100000, refcount 80 at 0xffffea0004000000, teardown from the end succeeds; memmap-on-memory: 10 GiB is not one block, ordinary memmap",
            scenario: rfc(Teardown::AsPosted),
        },
        kexec_common::Preset {
            name: "hotplug-rfc-forwards",
            title: "the RFC torn down forwards",
            expect: "rfc-2018 faults reading the struct page of pfn 0x100200 at 0xffffea0004008000 after section 0x20's vmemmap is gone; 6.1 does not care about the order",
            scenario: rfc(Teardown::Forwards),
        },
        kexec_common::Preset {
            name: "hotplug-per-block",
            title: "memmap_on_memory: 10 GiB as 80 one-block ACPI ranges",
            expect: "memmap-on-memory self-hosts 512 pages in each block (VmemmapSelfHosted, present, not buddy); ordinary takes 160 MiB of boot memory; removing a block works in any order",
            scenario: HotplugScenario {
                boot_mem_end: 4 * GIB,
                hypervisor: false,
                memory_block_size: None,
                adds: vec![add(4 * GIB, 10 * GIB, Online::Movable, Some(128 * MIB))],
                removes: vec![(4 * GIB + 128 * MIB, 128 * MIB), (4 * GIB, 128 * MIB)],
                teardown: Teardown::Forwards,
                variants: vec![MemmapVariant::Ordinary, MemmapVariant::MemmapOnMemory],
            },
        },
        kexec_common::Preset {
            name: "hotplug-wrong-granularity",
            title: "removing two self-hosted blocks at once",
            expect: "memmap-on-memory: try_remove_memory refuses 256 MiB with -EINVAL (wrong granularity); ordinary removes it",
            scenario: HotplugScenario {
                boot_mem_end: 4 * GIB,
                hypervisor: false,
                memory_block_size: None,
                adds: vec![add(4 * GIB, 256 * MIB, Online::Movable, Some(128 * MIB))],
                removes: vec![(4 * GIB, 256 * MIB)],
                teardown: Teardown::AsPosted,
                variants: vec![MemmapVariant::Ordinary, MemmapVariant::MemmapOnMemory],
            },
        },
        kexec_common::Preset {
            name: "hotplug-2g-blocks",
            title: "2 GiB memory blocks (64 GiB boot memory)",
            expect: "memmap-on-memory: a 2 GiB block holds its own 8192-page memmap (16 PMDs) in its first 32 MiB; the RFC carves the same",
            scenario: HotplugScenario {
                boot_mem_end: 64 * GIB,
                hypervisor: false,
                memory_block_size: None,
                adds: vec![add(64 * GIB, 2 * GIB, Online::Movable, None)],
                removes: vec![(64 * GIB, 2 * GIB)],
                teardown: Teardown::AsPosted,
                variants: vec![MemmapVariant::Rfc2018, MemmapVariant::MemmapOnMemory],
            },
        },
    ]
}

/// A preset by name.
pub fn find_preset(name: &str) -> Option<HotplugPreset> {
    kexec_common::preset::find(presets(), name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn preset_run(name: &str) -> HotplugLab {
        run(&find_preset(name).unwrap().scenario)
    }

    #[test]
    fn the_rfc_worked_example_number_by_number() {
        let lab = preset_run("hotplug-rfc-10g");
        assert_eq!(lab.block_size, 128 * MIB);
        let r = &lab.runs[0];
        assert_eq!(r.variant, MemmapVariant::Rfc2018);
        // 10 GiB / 128 MiB = 80 sections, 512 memmap pages each.
        assert_eq!(r.sections.len(), 80);
        assert_eq!(r.counters.memmap, 40960);
        assert_eq!(r.counters.memmap * PAGE_SIZE, 160 * MIB);
        assert_eq!(r.counters.memmap_in_range, 40960);
        assert_eq!(r.counters.marked, 40960);
        // The donated pfns are 0x100000..0x109fff.
        let first = &r.sections[0];
        let last = &r.sections[79];
        assert_eq!(first.start_pfn(), 0x100000);
        assert_eq!(first.backing_pfn, 0x100000);
        assert_eq!(last.backing_pfn + MEMMAP_PAGES_PER_SECTION - 1, 0x109fff);
        // Section 0 holds 64 memmaps, section 1's first 8192 pages the rest.
        assert_eq!(first.donated, 32768);
        assert_eq!(r.sections[1].donated, 8192);
        assert!(r.sections[2..].iter().all(|s| s.donated == 0));
        assert_eq!(r.sections[63].backing_pfn, 0x107e00);
        assert_eq!(r.sections[64].backing_pfn, 0x108000);
        // Their struct pages: 0xffffea0004000000 to 0xffffea000427ffc0.
        assert_eq!(pfn_to_page(0x100000), 0xffff_ea00_0400_0000);
        assert_eq!(pfn_to_page(0x109fff), 0xffff_ea00_0427_ffc0);
        assert_eq!(pfn_to_page(0x108000), 0xffff_ea00_0420_0000);
        // Refcount 80 in the first vmemmap page, nr_sects 1.
        assert_eq!(
            r.heads,
            vec![RfcHead {
                head_va: 0xffff_ea00_0400_0000,
                refcount: 80,
                nr_sects: 1,
                sections: 80,
                donated: (0x100000, 0x109fff),
            }]
        );
        // Online: section 0 not at all, section 1 from pfn 0x10a000.
        assert_eq!((first.buddy, first.present), (0, 0));
        assert_eq!(r.sections[1].buddy, 24576);
        assert_eq!(r.counters.buddy, 80 * 32768 - 40960);
        // Torn down as posted: deferred 80 times, then freed from the end.
        assert_eq!(r.fault, None);
        assert_eq!(r.teardown.len(), 160);
        assert!(r.teardown[..79].iter().all(|t| t.note.contains("deferred")));
        assert_eq!(r.teardown[80].call, "vmemmap_free(section 0x6f)");
        assert_eq!(r.teardown[159].call, "vmemmap_free(section 0x20)");
        assert_eq!(r.exit_status(), 0);
        // 6.1: ten gigabytes are not one block.
        let m = &lab.runs[1];
        assert!(
            m.ops[0].detail.contains("not self-hosted"),
            "{}",
            m.ops[0].detail
        );
        assert_eq!(m.counters.memmap_ordinary, 40960);
        assert_eq!(m.counters.marked, 0);
        assert_eq!(m.fault, None);
    }

    #[test]
    fn forwards_faults_in_the_rfc_and_not_in_6_1() {
        let lab = preset_run("hotplug-rfc-forwards");
        let r = &lab.runs[0];
        let f = r.fault.as_ref().expect("the RFC faults forwards");
        assert_eq!(f.va, 0xffff_ea00_0400_8000);
        assert_eq!(page_to_pfn(f.va), 0x100200);
        assert_eq!(f.section, 0x20);
        assert_eq!(f.during, "vmemmap_free(section 0x21)");
        assert_eq!(
            r.teardown[f.cleared_at.unwrap()].call,
            "vmemmap_free(section 0x20)"
        );
        assert!(f.why.contains("PageVmemmap"), "{}", f.why);
        assert!(r.log.iter().any(|l| l.contains("ffffea0004008000")));
        assert_eq!(r.exit_status(), 2);
        assert!(r.ops[1].oops);
        assert_eq!(lab.runs[1].fault, None);
    }

    #[test]
    fn memmap_on_memory_is_order_independent() {
        let mut sc = find_preset("hotplug-per-block").unwrap().scenario;
        for t in [Teardown::AsPosted, Teardown::Forwards, Teardown::Backwards] {
            sc.teardown = t;
            sc.removes = vec![(4 * GIB, 10 * GIB)];
            sc.adds[0].range_size = None;
            // One 10 GiB range is not eligible; per block it is.
            let lab = run(&sc);
            assert!(lab.runs.iter().all(|r| r.fault.is_none()));
        }
        let lab = preset_run("hotplug-per-block");
        let m = &lab.runs[1];
        assert_eq!(m.counters.memmap_in_range, 40960);
        assert_eq!(m.counters.marked, 40960);
        assert_eq!(m.counters.present, 80 * 32768, "vmemmap pages are present");
        assert_eq!(m.counters.buddy, 80 * (32768 - 512));
        assert!(m.sections.iter().all(|s| s.donated == 512));
        assert!(m.teardown.iter().all(|t| t.reads.is_empty()));
        let o = &lab.runs[0];
        assert_eq!(o.counters.memmap_ordinary, 40960);
        assert_eq!(o.counters.buddy, 80 * 32768);
        assert!(m.ops.iter().all(|o| o.errno.is_none()));
    }

    #[test]
    fn eligibility_rules() {
        let r = memmap_on_memory_rules(true, 128 * MIB, 128 * MIB);
        assert!(r.iter().all(|x| x.holds));
        assert!(mhp_supports_memmap_on_memory(true, 2 * GIB, 2 * GIB));
        assert!(!mhp_supports_memmap_on_memory(false, 128 * MIB, 128 * MIB));
        let r = memmap_on_memory_rules(true, 10 * GIB, 128 * MIB);
        assert_eq!(r.iter().filter(|x| !x.holds).count(), 1);
        assert!(!r[1].holds);
        // A size whose memmap is not whole PMDs (64 MiB → 1 MiB of memmap).
        let r = memmap_on_memory_rules(true, 64 * MIB, 64 * MIB);
        assert!(!r[2].holds);
        // 192 MiB: 3 MiB of memmap, not whole PMDs, and 189 MiB left is not
        // whole pageblocks.
        let r = memmap_on_memory_rules(true, 192 * MIB, 192 * MIB);
        assert!(!r[2].holds && !r[3].holds);
    }

    #[test]
    fn two_gib_blocks() {
        let lab = preset_run("hotplug-2g-blocks");
        assert_eq!(lab.block_size, 2 * GIB);
        let m = &lab.runs[1];
        assert!(m.ops[0].detail.contains("holds"), "{}", m.ops[0].detail);
        assert_eq!(m.sections[0].donated, 8192);
        assert_eq!(m.counters.marked, 8192);
        assert_eq!(m.fault, None);
        // Boot memory of 64 GiB fills one PMD table; the add needs a second.
        assert_eq!(m.counters.pgtable_pages, 1);
        assert_eq!(
            kexec_core::memory_block::probe_memory_block_size_on(65 * GIB, true),
            GIB
        );
        assert_eq!(
            kexec_core::memory_block::probe_memory_block_size_on(65 * GIB, false),
            2 * GIB
        );
    }

    #[test]
    fn errnos_of_bad_requests() {
        let mut sc = find_preset("hotplug-wrong-granularity").unwrap().scenario;
        let lab = run(&sc);
        let m = &lab.runs[1];
        assert_eq!(m.ops[2].errno, Some(Errno::EINVAL));
        assert!(m.log.iter().any(|l| l.contains("wrong granularity")));
        assert_eq!(lab.runs[0].ops[2].errno, None);
        // Unaligned, zero-size, overlapping boot RAM, overlapping an add.
        sc.adds = vec![
            add(4 * GIB + 4096, 128 * MIB, Online::Movable, None),
            add(5 * GIB, 0, Online::Movable, None),
            add(3 * GIB, 256 * MIB, Online::Movable, None),
            add(4 * GIB, 256 * MIB, Online::Movable, None),
            add(4 * GIB + 128 * MIB, 128 * MIB, Online::Movable, None),
        ];
        sc.removes = vec![(4 * GIB, 64 * MIB), (8 * GIB, 128 * MIB)];
        let lab = run(&sc);
        for r in &lab.runs {
            let e: Vec<_> = r.ops.iter().map(|o| o.errno).collect();
            assert_eq!(
                e,
                vec![
                    Some(Errno::EINVAL),
                    Some(Errno::EINVAL),
                    Some(Errno::EEXIST),
                    None,
                    Some(Errno::EEXIST),
                    Some(Errno::EINVAL),
                    None
                ]
            );
            assert!(
                r.ops[6].refused,
                "removing what is not there is the lab's refusal"
            );
            assert!(r.ops.iter().all(|o| !o.detail.is_empty()));
            assert!(r
                .log
                .iter()
                .any(|l| l == "acpi_memory_enable_device: device is empty"));
        }
        // register_memory_resource comes first: unaligned and overlapping
        // boot RAM is -EEXIST, with no "Block size" line.
        sc.adds = vec![add(3 * GIB + 4096, 128 * MIB, Online::Movable, None)];
        sc.removes.clear();
        let r = &run(&sc).runs[0];
        assert_eq!(r.ops[0].errno, Some(Errno::EEXIST));
        assert!(!r.log.iter().any(|l| l.contains("Block size")));
    }

    #[test]
    fn a_failed_add_leaves_its_sections_behind() {
        // 128 MiB of boot memory has 32 order-9 pages above 64 MiB: the
        // memmap of the 33rd section of an ordinary add finds none.
        let sc = HotplugScenario {
            boot_mem_end: 128 * MIB,
            hypervisor: false,
            memory_block_size: None,
            adds: vec![
                add(GIB, 8 * GIB, Online::Movable, None),
                add(GIB, 128 * MIB, Online::Movable, None),
            ],
            removes: vec![],
            teardown: Teardown::AsPosted,
            variants: vec![MemmapVariant::Ordinary],
        };
        let r = &run(&sc).runs[0];
        assert_eq!(r.ops[0].errno, Some(Errno::ENOMEM));
        assert!(r.ops[0]
            .detail
            .contains("32 section(s) populated before it stay present"));
        assert!(r
            .log
            .iter()
            .any(|l| l.contains("vmemmap alloc failure: order:9")));
        assert_eq!(r.ops[1].errno, Some(Errno::EEXIST), "{}", r.ops[1].detail);
    }

    #[test]
    fn self_hosted_marks_come_with_online() {
        let mut sc = find_preset("hotplug-per-block").unwrap().scenario;
        sc.adds[0].online = Online::Offline;
        sc.removes.clear();
        let m = &run(&sc).runs[1];
        assert_eq!(
            m.counters.marked, 0,
            "mhp_init_memmap_on_memory runs at online"
        );
        assert_eq!(m.counters.memmap_in_range, 40960);
    }

    #[test]
    fn bad_files() {
        let good = find_preset("hotplug-rfc-10g").unwrap().scenario.to_json();
        assert_eq!(
            HotplugScenario::from_json(&good).unwrap(),
            find_preset("hotplug-rfc-10g").unwrap().scenario
        );
        let bad = |from: &str, to: &str| {
            let t = good.replacen(from, to, 1);
            assert_ne!(t, good, "{from}");
            HotplugScenario::from_json(&t).unwrap_err().to_string()
        };
        assert!(bad("\"x86_64\"", "\"i386\"").contains("valid: x86_64"));
        assert!(bad("\"rfc-2018\"", "\"xen\"").contains("valid: ordinary"));
        assert!(bad("\"movable\"", "\"zone\"").contains("offline, kernel, movable"));
        assert!(bad(
            "\"boot_mem_end\":\"0x100000000\"",
            "\"boot_mem_end\":\"0x0\""
        )
        .contains("boot_mem_end"));
        assert!(bad(
            "\"size\":\"0x280000000\"",
            "\"size\":\"0xffffffffffffffff\""
        )
        .contains("1 TiB"));
        assert!(bad(
            "\"kind\":\"hotplug\"",
            "\"kind\":\"hotplug\",\"memory_block_size\":\"0x1000\""
        )
        .contains("power of two"));
        assert!(bad("\"version\":1", "\"version\":2").contains("version"));
    }

    #[test]
    fn partial_rfc_removal_leaves_the_refcount_pending() {
        let mut sc = find_preset("hotplug-rfc-10g").unwrap().scenario;
        sc.removes = vec![(4 * GIB, GIB)];
        let r = &run(&sc).runs[0];
        assert_eq!(r.fault, None);
        assert!(
            r.ops[1].detail.contains("refcount 72"),
            "{}",
            r.ops[1].detail
        );
        assert!(
            r.ops[1]
                .detail
                .contains("still backs the memmap of section(s) 0x28-0x6f"),
            "{}",
            r.ops[1].detail
        );
        // The RFC never clears PageVmemmap: removing the rest later frees
        // nothing it does not own.
        let mut sc2 = sc.clone();
        sc2.removes.push((5 * GIB, 9 * GIB));
        let r2 = &run(&sc2).runs[0];
        assert!(r2.teardown.iter().all(|t| !t.note.contains("free_pages")));
        assert!(r.teardown.iter().all(|t| t.clears.is_none()));
    }

    #[test]
    fn reports() {
        for p in presets() {
            let lab = run(&p.scenario);
            let t = report_text(&p.scenario, &lab);
            for l in t.lines() {
                assert!(l.chars().count() <= 72, "{}: {l}", p.name);
            }
            let j = report_json(&p.scenario, &lab);
            assert_eq!(j["runs"].as_array().unwrap().len(), 2);
        }
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        fn scenario() -> impl Strategy<Value = HotplugScenario> {
            (
                prop::sample::select(vec![4 * GIB, 16 * GIB, 64 * GIB]),
                prop::collection::vec((0u64..64, 1u64..24, any::<bool>(), 0u8..3), 1..4),
                0usize..3,
            )
                .prop_map(|(boot, adds, split)| HotplugScenario {
                    boot_mem_end: boot,
                    hypervisor: false,
                    memory_block_size: None,
                    adds: adds
                        .into_iter()
                        .map(|(at, n, s, on)| {
                            let bs = kexec_core::memory_block::probe_memory_block_size(boot);
                            Add {
                                start: boot + at * bs,
                                size: n * bs,
                                node: 0,
                                online: [Online::Movable, Online::Kernel, Online::Offline]
                                    [on as usize],
                                range_size: (s && split > 0).then_some(bs),
                            }
                        })
                        .collect(),
                    removes: Vec::new(),
                    teardown: Teardown::AsPosted,
                    variants: ALL_MEMMAP_VARIANTS.to_vec(),
                })
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(48))]

            #[test]
            fn carved_memmap_never_overlaps_buddy_pages(sc in scenario()) {
                for r in run(&sc).runs {
                    for s in &r.sections {
                        // The carved pages sit at the section's start, the
                        // buddy pages after them.
                        prop_assert!(s.donated + s.buddy <= PAGES_PER_SECTION);
                        if s.backing == Backing::Altmap {
                            let lo = s.backing_pfn;
                            let hi = lo + MEMMAP_PAGES_PER_SECTION;
                            let sec = r.sections.iter().find(|x| {
                                x.start_pfn() <= lo && lo < x.start_pfn() + PAGES_PER_SECTION
                            });
                            let sec = sec.expect("carved pages lie in an added section");
                            prop_assert!(hi <= sec.start_pfn() + sec.donated);
                        }
                    }
                }
            }

            #[test]
            fn accounted_is_added_minus_memmap(sc in scenario()) {
                let all_online: bool = sc.adds.iter().all(|a| a.online != Online::Offline);
                for r in run(&sc).runs {
                    let c = r.counters;
                    prop_assert_eq!(c.memmap, c.memmap_in_range + c.memmap_ordinary);
                    prop_assert_eq!(c.memmap * PAGES_PER_SECTION, c.added * MEMMAP_PAGES_PER_SECTION);
                    if all_online {
                        prop_assert_eq!(
                            c.buddy as i64 - c.memmap_ordinary as i64,
                            c.added as i64 - c.memmap as i64
                        );
                    }
                }
            }

            #[test]
            fn removing_everything_never_faults_as_posted(sc in scenario()) {
                let mut sc = sc;
                sc.removes = sc.adds.iter().map(|a| (a.start, a.size)).collect();
                for r in run(&sc).runs {
                    prop_assert!(r.fault.is_none(), "{:?}", r.fault);
                }
            }
        }
    }
}
