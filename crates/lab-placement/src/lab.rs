//! The placement lab: scenario kind "placement".
//!
//! An x86_64 machine as its firmware and SRAT describe it (System RAM
//! ranges with their NUMA node, hot-pluggable and driver-managed flags, the
//! boot-time memblock reservations), optionally a `crashkernel=` reservation
//! ([`crate::crashkernel`]), and a kexec_file load (normal or kdump) whose
//! buffers [`crate::placement`] places as `bzImage64_load` asks. Each
//! variant places the same buffers differently (6.1, the fixed top-down,
//! bottom-up, the reverse walk); for each, every memory block gets a
//! hot-remove verdict ([`kexec_core::memory_block`]). A normal load can then be
//! run through the entry-list designs ([`to_kimage`]).
//!
//! Zones follow `find_zone_movable_pfns_for_nodes` under `movable_node`:
//! ZONE_MOVABLE of a node starts at its lowest hot-pluggable address,
//! rounded up to MAX_ORDER_NR_PAGES (4 MiB), and runs to the node's end.
//! Driver-managed RAM (dax/kmem, virtio-mem) is added after boot: it is not
//! memblock memory, is skipped by kexec_file, and is taken as onlined to
//! ZONE_MOVABLE.

use crate::crashkernel::{self, Reservation};
use crate::memblock::{Memblock, Region};
use crate::placement::{kexec_add_buffer, KexecBuf, PlaceOptions, Placed, SystemRam};
use kexec_common::input::{check_variants, check_version_kind, InputError, Num, SCENARIO_VERSION};
use kexec_common::text::{size_exact as size_text, wrap};
use kexec_core::arch::{Arch, KEXEC_SEGMENT_MAX, PAGE_SIZE};
use kexec_core::design::Variant;
use kexec_core::gfp::Zone;
use kexec_core::kimage::{Segment, Stop};
use kexec_core::memory_block::{self, BlockInputs, BlockVerdict, Labelled, Removal};
use kexec_core::page_alloc::Policy;
use kexec_core::scenario::{Scenario, MAX_RANGES};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

use kexec_common::units::GIB;
use kexec_common::units::MIB;
/// The largest machine the lab takes (1 TiB of physical address space).
pub const MAX_PHYS: u64 = 1 << 40;
/// At most this many extra buffers in a file.
pub const MAX_EXTRA: usize = 64;
/// MAX_ORDER_NR_PAGES on x86_64, in bytes.
const MAX_ORDER_BYTES: u64 = 1024 * PAGE_SIZE;

/// How the buffers are placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PlaceVariant {
    /// 6.1: top_down as bzImage64_load passes it, ascending first fit, the
    /// off-by-one.
    TopDown,
    /// 6.1 with the later fix of the top-down off-by-one.
    TopDownFixed,
    /// Every buffer bottom-up.
    BottomUp,
    /// Baoquan He's proposal: walk System RAM from the top (6.1's
    /// arithmetic otherwise).
    ReverseWalk,
}

/// Every placement variant.
pub const ALL_PLACE_VARIANTS: [PlaceVariant; 4] = [
    PlaceVariant::TopDown,
    PlaceVariant::TopDownFixed,
    PlaceVariant::BottomUp,
    PlaceVariant::ReverseWalk,
];

impl PlaceVariant {
    /// The name in files and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            PlaceVariant::TopDown => "top-down",
            PlaceVariant::TopDownFixed => "top-down-fixed",
            PlaceVariant::BottomUp => "bottom-up",
            PlaceVariant::ReverseWalk => "reverse-walk",
        }
    }

    /// One line on what it is.
    pub fn summary(self) -> &'static str {
        match self {
            PlaceVariant::TopDown => {
                "6.1: top-down inside the first System RAM range that fits, with the off-by-one"
            }
            PlaceVariant::TopDownFixed => {
                "6.1 with the top-down off-by-one fixed (end - memsz + 1)"
            }
            PlaceVariant::BottomUp => "every buffer bottom-up (top_down = false)",
            PlaceVariant::ReverseWalk => {
                "System RAM walked from the top (the seed's proposal): top of all RAM first"
            }
        }
    }

    /// By name.
    pub fn from_name(s: &str) -> Option<PlaceVariant> {
        ALL_PLACE_VARIANTS.into_iter().find(|v| v.name() == s)
    }

    fn options(self) -> PlaceOptions {
        PlaceOptions {
            fixed_top_down: self == PlaceVariant::TopDownFixed,
            reverse_walk: self == PlaceVariant::ReverseWalk,
        }
    }
}

/// Normal kexec or kdump.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// kexec_file_load without KEXEC_FILE_ON_CRASH.
    Normal,
    /// kexec_file_load with KEXEC_FILE_ON_CRASH: inside crashk_res.
    Kdump,
}

/// One System RAM range as a file gives it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RamSpec {
    /// First byte.
    pub start: Num,
    /// First byte after the range.
    pub end: Num,
    /// NUMA node (default 0).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub node: u32,
    /// SRAT hot-pluggable.
    #[serde(default, skip_serializing_if = "is_false")]
    pub hotpluggable: bool,
    /// IORESOURCE_SYSRAM_DRIVER_MANAGED (added after boot by dax/kmem or
    /// virtio-mem).
    #[serde(default, skip_serializing_if = "is_false")]
    pub driver_managed: bool,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// A boot-time memblock reservation.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ReservedSpec {
    /// First byte.
    pub start: Num,
    /// First byte after the range.
    pub end: Num,
    /// What it is (e.g. "kernel image").
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub what: String,
}

/// An extra buffer after the initrd.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ExtraSpec {
    /// Its name.
    pub name: String,
    /// Bytes.
    pub memsz: Num,
    /// Alignment.
    pub align: Num,
    /// buf_min (default 0).
    #[serde(default)]
    pub buf_min: Num,
    /// buf_max (default ULONG_MAX).
    #[serde(default)]
    pub buf_max: Option<Num>,
    /// Top-down (default true).
    #[serde(default = "yes")]
    pub top_down: bool,
}

fn yes() -> bool {
    true
}

/// The sizes bzImage64_load works with.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct BuffersSpec {
    /// Purgatory text + data + bss.
    pub purgatory: Num,
    /// Purgatory's largest section alignment.
    pub purgatory_align: Num,
    /// boot_params + command line + EFI map + setup_data.
    pub boot_params: Num,
    /// The kernel's init_size.
    pub kernel: Num,
    /// The bzImage header's kernel_alignment.
    pub kernel_align: Num,
    /// The initrd (0: none).
    #[serde(default)]
    pub initrd: Num,
    /// The ELF core headers of a kdump load.
    #[serde(default = "default_elf")]
    pub elf_headers: Num,
    /// Buffers added after the initrd (other loaders, setup_data blobs).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra: Vec<ExtraSpec>,
}

fn default_elf() -> Num {
    Num(0x1000)
}

/// A placement scenario file (version 1, `"kind": "placement"`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PlacementFile {
    /// Format version (1).
    pub version: u32,
    /// "placement".
    pub kind: String,
    /// x86_64 (the only arch whose kexec_file loader is modelled).
    pub arch: String,
    /// System RAM.
    pub ram: Vec<RamSpec>,
    /// Boot-time memblock reservations.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reserved: Vec<ReservedSpec>,
    /// `movable_node` on the command line.
    #[serde(default)]
    pub movable_node: bool,
    /// `crashkernel=` (without the `crashkernel=`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crashkernel: Option<String>,
    /// `crashkernel=Y,low` (the size).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crashkernel_low: Option<String>,
    /// "normal" or "kdump".
    pub mode: String,
    /// The buffers' sizes.
    pub buffers: BuffersSpec,
    /// Memory block size (default: probe_memory_block_size).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_block_size: Option<Num>,
    /// The two (or more) placements compared.
    pub variants: Vec<String>,
}

/// A RAM range, checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ram {
    /// First byte.
    pub start: u64,
    /// One past the last byte.
    pub end: u64,
    /// NUMA node.
    pub node: u32,
    /// SRAT hot-pluggable.
    pub hotpluggable: bool,
    /// Driver-managed.
    pub driver_managed: bool,
}

/// A checked placement scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacementScenario {
    /// System RAM, sorted.
    pub ram: Vec<Ram>,
    /// Reservations `[start, end)` with what they are.
    pub reserved: Vec<Labelled>,
    /// movable_node.
    pub movable_node: bool,
    /// crashkernel= as written.
    pub crashkernel: Option<String>,
    /// crashkernel=,low as written.
    pub crashkernel_low: Option<String>,
    /// The mode.
    pub mode: Mode,
    /// The buffers in bzImage64_load's order (ELF headers first in kdump
    /// mode).
    pub buffers: Vec<KexecBuf>,
    /// The sizes as given (kept for the file form).
    pub sizes: BuffersSpec,
    /// Memory block size override.
    pub memory_block_size: Option<u64>,
    /// Variants.
    pub variants: Vec<PlaceVariant>,
}

fn err(field: impl Into<String>, message: impl Into<String>) -> InputError {
    InputError {
        field: field.into(),
        message: message.into(),
    }
}

/// The buffers x86_64 adds, from the sizes.
fn buffers(mode: Mode, s: &BuffersSpec) -> Vec<KexecBuf> {
    let mut v = Vec::new();
    if mode == Mode::Kdump {
        v.push(KexecBuf {
            name: "elf_headers".into(),
            memsz: s.elf_headers.0,
            buf_min: 0,
            buf_max: u64::MAX,
            align: PAGE_SIZE,
            top_down: false,
        });
    }
    v.extend(crate::placement::x86_64_buffers(
        s.purgatory.0,
        s.purgatory_align.0,
        s.boot_params.0,
        s.kernel.0,
        s.kernel_align.0,
        s.initrd.0,
    ));
    for e in &s.extra {
        v.push(KexecBuf {
            name: e.name.clone(),
            memsz: e.memsz.0,
            buf_min: e.buf_min.0,
            buf_max: e.buf_max.map_or(u64::MAX, |n| n.0),
            align: e.align.0,
            top_down: e.top_down,
        });
    }
    v
}

impl PlacementScenario {
    /// Parse and check placement JSON text (the caller has seen `"kind":
    /// "placement"`).
    pub fn from_json(text: &str) -> Result<PlacementScenario, InputError> {
        let f: PlacementFile = serde_json::from_str(text).map_err(|e| err("", e.to_string()))?;
        PlacementScenario::from_file(&f)
    }

    /// Check a parsed file.
    pub fn from_file(f: &PlacementFile) -> Result<PlacementScenario, InputError> {
        check_version_kind(f.version, &f.kind, "placement")?;
        if f.arch != "x86_64" {
            return Err(err(
                "arch",
                format!("\"{}\": the placement lab models x86_64's kexec_file loader only (valid: x86_64)", f.arch),
            ));
        }
        if f.ram.is_empty() {
            return Err(err("ram", "no RAM: give at least one range"));
        }
        if f.ram.len() > MAX_RANGES {
            return Err(err(
                "ram",
                format!("{} ranges; at most {MAX_RANGES}", f.ram.len()),
            ));
        }
        let mut ram: Vec<Ram> = Vec::new();
        for (i, r) in f.ram.iter().enumerate() {
            let (s, e) = (r.start.0, r.end.0);
            let field = format!("ram[{i}]");
            if s >= e {
                return Err(err(
                    field,
                    format!("empty or reversed range 0x{s:x}-0x{e:x}"),
                ));
            }
            if s % PAGE_SIZE != 0 || e % PAGE_SIZE != 0 {
                return Err(err(field, format!("0x{s:x}-0x{e:x} is not page aligned")));
            }
            if e > MAX_PHYS {
                return Err(err(
                    field,
                    format!("ends above 0x{MAX_PHYS:x}, the lab's 1 TiB limit"),
                ));
            }
            if let Some((j, o)) = ram
                .iter()
                .enumerate()
                .find(|(_, o)| s < o.end && o.start < e)
            {
                return Err(err(
                    field,
                    format!(
                        "0x{s:x}-0x{e:x} overlaps ram[{j}] 0x{:x}-0x{:x}: two System RAM resources cannot overlap (insert_resource fails with -EBUSY)",
                        o.start, o.end
                    ),
                ));
            }
            if r.node >= 64 {
                return Err(err(field, format!("node {} (at most 63 here)", r.node)));
            }
            ram.push(Ram {
                start: s,
                end: e,
                node: r.node,
                hotpluggable: r.hotpluggable,
                driver_managed: r.driver_managed,
            });
        }
        ram.sort_by_key(|r| r.start);
        if f.reserved.len() > MAX_RANGES {
            return Err(err(
                "reserved",
                format!("{} ranges; at most {MAX_RANGES}", f.reserved.len()),
            ));
        }
        let mut reserved = Vec::new();
        for (i, r) in f.reserved.iter().enumerate() {
            let (s, e) = (r.start.0, r.end.0);
            if s >= e || e > MAX_PHYS {
                return Err(err(
                    format!("reserved[{i}]"),
                    format!("0x{s:x}-0x{e:x} is empty, reversed or above 1 TiB"),
                ));
            }
            reserved.push(Labelled {
                start: s,
                end: e,
                label: if r.what.is_empty() {
                    "memblock reservation".into()
                } else {
                    r.what.clone()
                },
            });
        }
        let mode = match f.mode.as_str() {
            "normal" => Mode::Normal,
            "kdump" => Mode::Kdump,
            m => return Err(err("mode", format!("\"{m}\" (valid: normal, kdump)"))),
        };
        let total: u64 = ram
            .iter()
            .filter(|r| !r.driver_managed)
            .map(|r| r.end - r.start)
            .sum();
        if let Some(ck) = &f.crashkernel {
            crashkernel::parse(ck, total).map_err(|m| err("crashkernel", m))?;
        }
        if let Some(low) = &f.crashkernel_low {
            let (v, rest) =
                crashkernel::memparse(low.trim()).map_err(|m| err("crashkernel_low", m))?;
            if !rest.is_empty() || v > MAX_PHYS {
                return Err(err("crashkernel_low", format!("\"{low}\" is not a size")));
            }
            if f.crashkernel.is_none() {
                return Err(err(
                    "crashkernel_low",
                    "crashkernel=Y,low needs crashkernel=X,high (or X above 4 GiB)",
                ));
            }
        }
        if mode == Mode::Kdump && f.crashkernel.is_none() {
            return Err(err(
                "crashkernel",
                "a kdump load needs a crashkernel= reservation to load into",
            ));
        }
        let b = &f.buffers;
        if b.extra.len() > MAX_EXTRA {
            return Err(err(
                "buffers.extra",
                format!(
                    "{} buffers; a file may list at most {MAX_EXTRA}",
                    b.extra.len()
                ),
            ));
        }
        let mut sizes = vec![
            ("purgatory", b.purgatory.0),
            ("boot_params", b.boot_params.0),
            ("kernel", b.kernel.0),
            ("initrd", b.initrd.0),
            ("elf_headers", b.elf_headers.0),
        ];
        for e in &b.extra {
            sizes.push(("extra", e.memsz.0));
        }
        for (name, v) in sizes {
            if v > MAX_PHYS {
                return Err(err(
                    format!("buffers.{name}"),
                    format!("0x{v:x} is larger than the 1 TiB machine"),
                ));
            }
        }
        for (name, v) in [("purgatory", b.purgatory.0), ("kernel", b.kernel.0)] {
            if v == 0 {
                return Err(err(format!("buffers.{name}"), "must not be 0"));
            }
        }
        let mut aligns = vec![
            ("purgatory_align".to_string(), b.purgatory_align.0),
            ("kernel_align".to_string(), b.kernel_align.0),
        ];
        for (i, e) in b.extra.iter().enumerate() {
            aligns.push((format!("extra[{i}].align"), e.align.0));
            if e.memsz.0 == 0 {
                return Err(err(format!("buffers.extra[{i}].memsz"), "must not be 0"));
            }
        }
        for (name, a) in aligns {
            if !a.is_power_of_two() || a > GIB {
                return Err(err(
                    format!("buffers.{name}"),
                    format!("0x{a:x}: an alignment is a power of two of at most 1 GiB (the kernel masks with align - 1, so anything else misplaces the buffer)"),
                ));
            }
        }
        let memory_block_size = match f.memory_block_size {
            None => None,
            Some(Num(v)) if v.is_power_of_two() && (memory_block::MIN_MEMORY_BLOCK_SIZE..=64 * GIB).contains(&v) => Some(v),
            Some(Num(v)) => {
                return Err(err(
                    "memory_block_size",
                    format!("0x{v:x}: set_memory_block_size_order takes a power of two from 128 MiB to 64 GiB (-EINVAL)"),
                ))
            }
        };
        let valid: Vec<_> = ALL_PLACE_VARIANTS.iter().map(|v| v.name()).collect();
        let variants = check_variants(&f.variants, PlaceVariant::from_name, &valid)?;
        Ok(PlacementScenario {
            ram,
            reserved,
            movable_node: f.movable_node,
            crashkernel: f.crashkernel.clone(),
            crashkernel_low: f.crashkernel_low.clone(),
            mode,
            buffers: buffers(mode, b),
            sizes: b.clone(),
            memory_block_size,
            variants,
        })
    }

    /// The canonical file form.
    pub fn to_file(&self) -> PlacementFile {
        PlacementFile {
            version: SCENARIO_VERSION,
            kind: "placement".into(),
            arch: "x86_64".into(),
            ram: self
                .ram
                .iter()
                .map(|r| RamSpec {
                    start: Num(r.start),
                    end: Num(r.end),
                    node: r.node,
                    hotpluggable: r.hotpluggable,
                    driver_managed: r.driver_managed,
                })
                .collect(),
            reserved: self
                .reserved
                .iter()
                .map(|r| ReservedSpec {
                    start: Num(r.start),
                    end: Num(r.end),
                    what: if r.label == "memblock reservation" {
                        String::new()
                    } else {
                        r.label.clone()
                    },
                })
                .collect(),
            movable_node: self.movable_node,
            crashkernel: self.crashkernel.clone(),
            crashkernel_low: self.crashkernel_low.clone(),
            mode: match self.mode {
                Mode::Normal => "normal".into(),
                Mode::Kdump => "kdump".into(),
            },
            buffers: self.sizes.clone(),
            memory_block_size: self.memory_block_size.map(Num),
            variants: self.variants.iter().map(|v| v.name().to_string()).collect(),
        }
    }

    /// Compact JSON of the file form.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.to_file()).expect("placement serializes")
    }

    /// Pretty JSON of the file form.
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(&self.to_file()).expect("placement serializes")
    }

    /// The System RAM resources kexec_file walks: adjacent boot RAM merged
    /// as e820 merges same-type entries; driver-managed RAM on its own.
    pub fn resources(&self) -> Vec<SystemRam> {
        let mut out: Vec<SystemRam> = Vec::new();
        for r in &self.ram {
            match out.last_mut() {
                Some(l) if !r.driver_managed && !l.driver_managed && l.end + 1 == r.start => {
                    l.end = r.end - 1
                }
                _ => out.push(SystemRam {
                    start: r.start,
                    end: r.end - 1,
                    driver_managed: r.driver_managed,
                }),
            }
        }
        out
    }

    /// memblock as setup_arch leaves it before reserve_crashkernel.
    pub fn memblock(&self) -> Memblock {
        let mut mb = Memblock {
            memory: self
                .ram
                .iter()
                .filter(|r| !r.driver_managed)
                .map(|r| Region {
                    base: r.start,
                    size: r.end - r.start,
                    nid: r.node,
                    hotplug: r.hotpluggable,
                })
                .collect(),
            reserved: Vec::new(),
            movable_node: self.movable_node,
        };
        for r in &self.reserved {
            mb.reserve(r.start, r.end - r.start);
        }
        mb
    }

    /// Zone spans `[start, end)` of the RAM.
    pub fn zones(&self) -> Vec<(u64, u64, Zone)> {
        // zone_movable_pfn per node.
        let mut movable_start: Vec<Option<u64>> = vec![None; 64];
        if self.movable_node {
            for r in self
                .ram
                .iter()
                .filter(|r| r.hotpluggable && !r.driver_managed)
            {
                let m = &mut movable_start[r.node as usize];
                *m = Some(m.map_or(r.start, |x| x.min(r.start)));
            }
            for (nid, m) in movable_start.iter_mut().enumerate() {
                let node_end = self
                    .ram
                    .iter()
                    .filter(|r| r.node as usize == nid && !r.driver_managed)
                    .map(|r| r.end)
                    .max()
                    .unwrap_or(0);
                *m = m
                    .map(|x| x.div_ceil(MAX_ORDER_BYTES) * MAX_ORDER_BYTES)
                    .filter(|&x| x < node_end);
            }
        }
        let mut out: Vec<(u64, u64, Zone)> = Vec::new();
        for r in &self.ram {
            let mv = if r.driver_managed {
                Some(0)
            } else {
                movable_start[r.node as usize]
            };
            let mut cuts = vec![r.start, r.end, 16 * MIB, 4 * GIB];
            if let Some(m) = mv {
                cuts.push(m);
            }
            cuts.retain(|&c| c >= r.start && c <= r.end);
            cuts.sort_unstable();
            cuts.dedup();
            for w in cuts.windows(2) {
                let (s, e) = (w[0], w[1]);
                let z = if mv.is_some_and(|m| s >= m) {
                    Zone::Movable
                } else if s < 16 * MIB {
                    Zone::Dma
                } else if s < 4 * GIB {
                    Zone::Dma32
                } else {
                    Zone::Normal
                };
                match out.last_mut() {
                    Some(l) if l.1 == s && l.2 == z => l.1 = e,
                    _ => out.push((s, e, z)),
                }
            }
        }
        out
    }

    /// The memory block size: the override or probe_memory_block_size.
    pub fn block_size(&self) -> u64 {
        self.memory_block_size.unwrap_or_else(|| {
            let boot_end = self
                .ram
                .iter()
                .filter(|r| !r.driver_managed)
                .map(|r| r.end)
                .max()
                .unwrap_or(0);
            memory_block::probe_memory_block_size(boot_end)
        })
    }
}

/// One variant's placement and verdicts.
#[derive(Debug, Clone)]
pub struct VariantPlacement {
    /// The variant.
    pub variant: PlaceVariant,
    /// The buffers placed, in order.
    pub placed: Vec<Placed>,
    /// The error that stopped the load, if any.
    pub error: Option<Stop>,
    /// Per memory block.
    pub blocks: Vec<BlockVerdict>,
}

impl VariantPlacement {
    /// One sentence.
    pub fn verdict(&self) -> String {
        match &self.error {
            Some(e) => format!("error: {e}"),
            None => format!("placed {} buffers", self.placed.len()),
        }
    }

    /// Blocks per removal kind: removable, reload needed, not guaranteed,
    /// refused.
    pub fn counts(&self) -> [usize; 4] {
        let mut c = [0; 4];
        for b in &self.blocks {
            c[match b.removal {
                Removal::Removable => 0,
                Removal::ReloadNeeded => 1,
                Removal::NotGuaranteed => 2,
                Removal::Refused(_) => 3,
            }] += 1;
        }
        c
    }
}

/// A whole lab run.
#[derive(Debug, Clone)]
pub struct PlacementRun {
    /// System RAM resources.
    pub resources: Vec<SystemRam>,
    /// Zone spans.
    pub zones: Vec<(u64, u64, Zone)>,
    /// The crashkernel reservation, if asked.
    pub crash: Option<Reservation>,
    /// Memory block size.
    pub block_size: u64,
    /// Per variant.
    pub results: Vec<VariantPlacement>,
}

/// Run the lab: reserve, place with each variant, judge every block.
pub fn run(sc: &PlacementScenario) -> PlacementRun {
    let resources = sc.resources();
    let zones = sc.zones();
    let mut mb = sc.memblock();
    let total = mb.phys_mem_size();
    let crash = sc
        .crashkernel
        .as_ref()
        .map(|arg| match crashkernel::parse(arg, total) {
            Ok(ck) => {
                let low = sc
                    .crashkernel_low
                    .as_ref()
                    .and_then(|l| crashkernel::memparse(l.trim()).ok())
                    .map(|(v, _)| v);
                crashkernel::reserve(&mut mb, ck, low)
            }
            Err(m) => Reservation {
                log: vec![format!("crashkernel={arg}: {m}")],
                ..Default::default()
            },
        });
    let mut reserved = sc.reserved.clone();
    if let Some(r) = &crash {
        if let Some((s, e)) = r.crash {
            reserved.push(Labelled {
                start: s,
                end: e,
                label: "crashkernel reservation (crashk_res)".into(),
            });
        }
        if let Some((s, e)) = r.low {
            reserved.push(Labelled {
                start: s,
                end: e,
                label: "crashkernel low reservation (crashk_low_res)".into(),
            });
        }
    }
    let walk: Vec<SystemRam> = match sc.mode {
        Mode::Normal => resources.clone(),
        Mode::Kdump => crash
            .as_ref()
            .and_then(|r| r.crash)
            .map(|(s, e)| {
                vec![SystemRam {
                    start: s,
                    end: e - 1,
                    driver_managed: false,
                }]
            })
            .unwrap_or_default(),
    };
    let block_size = sc.block_size();
    let ram: Vec<(u64, u64)> = sc.ram.iter().map(|r| (r.start, r.end)).collect();
    let hotplug: Vec<(u64, u64, u32)> = sc
        .ram
        .iter()
        .filter(|r| r.hotpluggable)
        .map(|r| (r.start, r.end, r.node))
        .collect();
    let results = sc
        .variants
        .iter()
        .map(|&variant| {
            let mut placed = Vec::new();
            let mut error = None;
            for b in &sc.buffers {
                let mut b = b.clone();
                if variant == PlaceVariant::BottomUp {
                    b.top_down = false;
                }
                if let Err(e) = kexec_add_buffer(&walk, &mut placed, &b, variant.options()) {
                    error = Some(e);
                    break;
                }
            }
            let destinations: Vec<Labelled> = if sc.mode == Mode::Normal && error.is_none() {
                placed
                    .iter()
                    .map(|p| Labelled {
                        start: p.mem,
                        end: p.mem.saturating_add(p.memsz),
                        label: p.name.clone(),
                    })
                    .collect()
            } else {
                Vec::new()
            };
            let blocks = memory_block::verdicts(
                block_size,
                &BlockInputs {
                    ram: &ram,
                    zones: &zones,
                    hotplug: &hotplug,
                    reserved: &reserved,
                    destinations: &destinations,
                },
            );
            VariantPlacement {
                variant,
                placed,
                error,
                blocks,
            }
        })
        .collect();
    PlacementRun {
        resources,
        zones,
        crash,
        block_size,
        results,
    }
}

/// The normal load of `v` as an ordinary kimage scenario (x86_64, boot
/// System RAM, ZONE_MOVABLE as computed, one segment per
/// buffer, a seeded random allocator), so the entry-list designs can run
/// it; `None` for a kdump load (copied straight into crashk_res, no list)
/// or a failed one.
pub fn to_kimage(
    sc: &PlacementScenario,
    r: &PlacementRun,
    v: &VariantPlacement,
) -> Option<Scenario> {
    if sc.mode != Mode::Normal || v.error.is_some() {
        return None;
    }
    // All boot RAM: destinations may lie in reserved RAM (the first MiB,
    // crashk_res), which relocate_kernel copies into at reboot. The kimage
    // model's allocator does not know the running kernel's reservations.
    let mut ram: Vec<(u64, u64)> = Vec::new();
    for x in sc.ram.iter().filter(|x| !x.driver_managed) {
        match ram.last_mut() {
            Some(l) if l.1 == x.start => l.1 = x.end,
            _ => ram.push((x.start, x.end)),
        }
    }
    ram.truncate(MAX_RANGES);
    let movable: Vec<(u64, u64)> = r
        .zones
        .iter()
        .filter(|z| z.2 == Zone::Movable)
        .flat_map(|z| {
            ram.iter().filter_map(move |&(a, b)| {
                let (s, e) = (a.max(z.0), b.min(z.1));
                (s < e).then_some((s, e))
            })
        })
        .collect();
    let segments: Vec<Segment> = v
        .placed
        .iter()
        .take(KEXEC_SEGMENT_MAX)
        .map(|p| Segment {
            bufsz: p.memsz,
            mem: p.mem,
            memsz: p.memsz,
        })
        .collect();
    Some(Scenario {
        arch: Arch::X86_64,
        ram,
        movable,
        segments,
        policy: Policy::Random(1),
        variants: vec![Variant::Pointer, Variant::RfcFixed],
        source_movable: false,
    })
}

/// The 72-column text report.
pub fn report_text(sc: &PlacementScenario, r: &PlacementRun) -> String {
    let mut s = String::new();
    let mode = match sc.mode {
        Mode::Normal => "normal kexec_file load",
        Mode::Kdump => "kdump kexec_file load (KEXEC_FILE_ON_CRASH)",
    };
    let _ = writeln!(s, "kexec-sim place: x86_64, {mode}");
    s.push_str("System RAM (walk_system_ram_res order):\n");
    for res in &r.resources {
        let _ = writeln!(
            s,
            "  0x{:09x}-0x{:09x} {}{}",
            res.start,
            res.end,
            size_text(res.end - res.start + 1),
            if res.driver_managed {
                " driver-managed"
            } else {
                ""
            }
        );
    }
    let mut nodes: Vec<String> = Vec::new();
    for x in &sc.ram {
        nodes.push(format!(
            "0x{:x}-0x{:x} node {}{}",
            x.start,
            x.end - 1,
            x.node,
            if x.hotpluggable { " hotpluggable" } else { "" }
        ));
    }
    s.push_str(&wrap(&nodes.join(", "), "SRAT:", 4));
    let zones: Vec<String> = r
        .zones
        .iter()
        .map(|z| format!("{} 0x{:x}-0x{:x}", z.2.name(), z.0, z.1 - 1))
        .collect();
    s.push_str(&wrap(&zones.join(", "), "zones:", 4));
    let _ = writeln!(
        s,
        "movable_node: {}",
        if sc.movable_node { "on" } else { "off" }
    );
    if let (Some(arg), Some(c)) = (&sc.crashkernel, &r.crash) {
        let mut line = format!("crashkernel={arg}");
        if let Some(l) = &sc.crashkernel_low {
            let _ = write!(line, " crashkernel={l},low");
        }
        let _ = writeln!(s, "{line}:");
        for l in &c.log {
            s.push_str(&wrap(l, "   ", 4));
        }
    }
    let _ = writeln!(
        s,
        "memory block size {} (probe_memory_block_size)",
        size_text(r.block_size)
    );
    for v in &r.results {
        let title = format!("== {} ", v.variant.name());
        let _ = writeln!(
            s,
            "\n{title}{}",
            "=".repeat(72usize.saturating_sub(title.len()))
        );
        for p in &v.placed {
            let _ = writeln!(
                s,
                "  {:<12} 0x{:09x}-0x{:09x} {}",
                p.name,
                p.mem,
                p.mem.wrapping_add(p.memsz).wrapping_sub(1),
                size_text(p.memsz)
            );
        }
        if let Some(e) = &v.error {
            s.push_str(&wrap(&format!("{e}"), "  error:", 4));
        }
        let c = v.counts();
        s.push_str(&wrap(
            &format!(
                "{} blocks: {} removable, {} removable but the image must be reloaded, {} not guaranteed, {} refused",
                v.blocks.len(),
                c[0],
                c[1],
                c[2],
                c[3]
            ),
            "  hot-remove:",
            4,
        ));
        for b in v
            .blocks
            .iter()
            .filter(|b| matches!(b.removal, Removal::ReloadNeeded | Removal::Refused(_)))
        {
            let what = match b.removal {
                Removal::Refused(e) => format!("refused ({e})"),
                other => other.name().to_string(),
            };
            let _ = writeln!(
                s,
                "  memory{} 0x{:x}-0x{:x} {}: {what}",
                b.index,
                b.start,
                b.end - 1,
                b.zone.map_or("(zones)", |z| z.name())
            );
            for why in &b.reasons {
                s.push_str(&wrap(why, "     ", 6));
            }
        }
    }
    s
}

/// JSON of a run (every block included).
pub fn report_json(sc: &PlacementScenario, r: &PlacementRun) -> serde_json::Value {
    use serde_json::json;
    let hex = |v: u64| format!("0x{v:x}");
    json!({
        "scenario": sc.to_file(),
        "resources": r.resources.iter().map(|x| json!({"start": hex(x.start), "end": hex(x.end), "driver_managed": x.driver_managed})).collect::<Vec<_>>(),
        "zones": r.zones.iter().map(|z| json!({"zone": z.2.name(), "start": hex(z.0), "end": hex(z.1)})).collect::<Vec<_>>(),
        "crashkernel": r.crash.as_ref().map(|c| json!({
            "crashk_res": c.crash.map(|(s, e)| json!({"start": hex(s), "end": hex(e)})),
            "crashk_low_res": c.low.map(|(s, e)| json!({"start": hex(s), "end": hex(e)})),
            "log": c.log,
        })),
        "memory_block_size": hex(r.block_size),
        "variants": r.results.iter().map(|v| json!({
            "variant": v.variant.name(),
            "placed": v.placed.iter().map(|p| json!({"name": p.name, "mem": hex(p.mem), "memsz": hex(p.memsz)})).collect::<Vec<_>>(),
            "error": v.error.as_ref().map(|e| e.to_string()),
            "blocks": v.blocks.iter().map(|b| json!({
                "index": b.index,
                "start": hex(b.start),
                "end": hex(b.end),
                "zone": b.zone.map(|z| z.name()),
                "removal": match b.removal { Removal::Refused(e) => format!("refused ({e})"), o => o.name().to_string() },
                "reasons": b.reasons,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

/// A preset of this lab.
pub type PlacementPreset = kexec_common::Preset<PlacementScenario>;

fn ram(start: u64, end: u64, node: u32, hotpluggable: bool) -> RamSpec {
    RamSpec {
        start: Num(start),
        end: Num(end),
        node,
        hotpluggable,
        driver_managed: false,
    }
}

fn reserved(start: u64, end: u64, what: &str) -> ReservedSpec {
    ReservedSpec {
        start: Num(start),
        end: Num(end),
        what: what.into(),
    }
}

fn pc_buffers(kernel: u64, initrd: u64) -> BuffersSpec {
    BuffersSpec {
        purgatory: Num(0x5000),
        purgatory_align: Num(0x1000),
        boot_params: Num(0x3000),
        kernel: Num(kernel),
        kernel_align: Num(2 * MIB),
        initrd: Num(initrd),
        elf_headers: Num(0x1000),
        extra: Vec::new(),
    }
}

fn file(
    ram: Vec<RamSpec>,
    movable_node: bool,
    crash: Option<&str>,
    mode: &str,
    variants: [&str; 2],
) -> PlacementFile {
    PlacementFile {
        version: 1,
        kind: "placement".into(),
        arch: "x86_64".into(),
        ram,
        reserved: vec![
            reserved(0, MIB, "first 1 MiB (setup_arch)"),
            reserved(16 * MIB, 80 * MIB, "running kernel image"),
        ],
        movable_node,
        crashkernel: crash.map(String::from),
        crashkernel_low: None,
        mode: mode.into(),
        buffers: pc_buffers(48 * MIB, 64 * MIB),
        memory_block_size: None,
        variants: variants.iter().map(|v| v.to_string()).collect(),
    }
}

/// The lab's presets, from seed 004.
pub fn presets() -> Vec<PlacementPreset> {
    let two_nodes = || {
        vec![
            ram(0x1000, 0xA_0000, 0, false),
            ram(MIB, 3 * GIB, 0, false),
            ram(4 * GIB, 8 * GIB, 0, false),
            ram(8 * GIB, 16 * GIB, 1, true),
        ]
    };
    let mk = |f: PlacementFile| PlacementScenario::from_file(&f).expect("preset is valid");
    let mut uefi = file(
        vec![
            ram(0x1000, 0xA_0000, 0, false),
            ram(MIB, 0x7A0_0000, 0, false),
            ram(0x8000_0000, 0xBFF0_0000, 0, false),
            ram(4 * GIB, 12 * GIB, 0, false),
        ],
        false,
        None,
        "normal",
        ["top-down", "reverse-walk"],
    );
    uefi.buffers = pc_buffers(60 * MIB, 1536 * MIB);
    let mut high_mn = file(
        two_nodes(),
        true,
        Some("512M,high"),
        "kdump",
        ["top-down", "bottom-up"],
    );
    high_mn.crashkernel_low = Some("128M".into());
    vec![
        kexec_common::Preset {
            name: "movable-node-top",
            title: "a movable node at the top of RAM",
            expect: "16 GiB, node 1 (8-16 GiB) hot-pluggable and ZONE_MOVABLE under movable_node: 6.1 puts kernel and initrd at the top of the big range below 4 GiB (the first System RAM range that fits), clear of node 1; the reverse walk puts them at the top of node 1, where removal still works but the loaded image goes stale, and the second kernel would run from hot-pluggable memory",
            scenario: mk(file(two_nodes(), true, None, "normal", ["top-down", "reverse-walk"])),
        },
        kexec_common::Preset {
            name: "uefi-under-4g",
            title: "UEFI: under 4G, top-down",
            expect: "a UEFI box whose low RAM is cut up by firmware: a 1.5 GiB initrd does not fit in the ranges under 4 GiB, so 6.1's ascending first fit carries it to the top of the first range above 4 GiB (the kernel stays under 4G); the reverse walk puts everything at the top of all RAM",
            scenario: mk(uefi),
        },
        kexec_common::Preset {
            name: "crashkernel-high",
            title: "crashkernel=512M,high without movable_node",
            expect: "memblock reserves 512 MiB top-down at the top of RAM, inside hot-pluggable node 1 (nothing skips MEMBLOCK_HOTPLUG without movable_node), plus 256 MiB low below 4 GiB: the top block of node 1 can never be offlined (-EBUSY); the kdump buffers go inside the reservation, ELF headers at its bottom",
            scenario: mk(file(two_nodes(), false, Some("512M,high"), "kdump", ["top-down", "bottom-up"])),
        },
        kexec_common::Preset {
            name: "crashkernel-high-movable-node",
            title: "crashkernel=512M,high with movable_node",
            expect: "with movable_node, memblock skips the hot-pluggable node: the 512 MiB land at the top of node 0 (just below 8 GiB) and crashkernel=128M,low below 4 GiB; every block of node 1 stays removable",
            scenario: mk(high_mn),
        },
    ]
}

/// A placement preset by name.
pub fn find_preset(name: &str) -> Option<PlacementPreset> {
    kexec_common::preset::find(presets(), name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at<'a>(v: &'a VariantPlacement, name: &str) -> &'a Placed {
        v.placed.iter().find(|p| p.name == name).unwrap()
    }

    #[test]
    fn movable_node_top() {
        let p = find_preset("movable-node-top").unwrap();
        let r = run(&p.scenario);
        assert_eq!(r.block_size, 128 * MIB);
        assert!(r.zones.contains(&(8 * GIB, 16 * GIB, Zone::Movable)));
        let (td, rev) = (&r.results[0], &r.results[1]);
        assert!(td.error.is_none() && rev.error.is_none());
        let k = at(td, "kernel");
        assert!(
            k.mem < 3 * GIB && k.mem + k.memsz <= 3 * GIB,
            "under 4G: {k}"
        );
        assert!(at(rev, "kernel").mem >= 8 * GIB, "top of node 1");
        assert_eq!(td.counts()[1], 0, "6.1 leaves node 1 alone");
        assert!(rev.counts()[1] >= 1);
        let b = rev
            .blocks
            .iter()
            .find(|b| {
                b.removal == Removal::ReloadNeeded
                    && b.reasons.iter().any(|x| x.contains("second kernel"))
            })
            .unwrap();
        assert_eq!(b.zone, Some(Zone::Movable));
    }

    #[test]
    fn crashkernel_high_blocks_the_movable_node_only_without_movable_node() {
        let r = run(&find_preset("crashkernel-high").unwrap().scenario);
        let c = r.crash.as_ref().unwrap();
        assert_eq!(c.crash, Some((16 * GIB - 512 * MIB, 16 * GIB)));
        assert_eq!(c.low, Some((3 * GIB - 256 * MIB, 3 * GIB)));
        let v = &r.results[0];
        assert!(v.error.is_none(), "{:?}", v.error);
        assert!(v
            .placed
            .iter()
            .all(|p| p.mem >= c.crash.unwrap().0 && p.mem + p.memsz <= c.crash.unwrap().1));
        assert_eq!(
            at(v, "elf_headers").mem,
            16 * GIB - 512 * MIB,
            "bottom-up: the bottom"
        );
        let top = v.blocks.last().unwrap();
        assert_eq!(
            top.removal,
            Removal::Refused(kexec_common::errno::Errno::EBUSY)
        );
        let r = run(&find_preset("crashkernel-high-movable-node")
            .unwrap()
            .scenario);
        let c = r.crash.as_ref().unwrap();
        assert_eq!(c.crash, Some((8 * GIB - 512 * MIB, 8 * GIB)));
        assert_eq!(c.low, Some((3 * GIB - 128 * MIB, 3 * GIB)));
        assert!(r.results[0]
            .blocks
            .iter()
            .filter(|b| b.start >= 8 * GIB)
            .all(|b| b.removal == Removal::Removable));
    }

    #[test]
    fn uefi_under_4g() {
        let r = run(&find_preset("uefi-under-4g").unwrap().scenario);
        let (td, rev) = (&r.results[0], &r.results[1]);
        assert!(at(td, "kernel").mem < 4 * GIB);
        let i = at(td, "initrd");
        assert!(i.mem >= 4 * GIB && i.mem + i.memsz <= 12 * GIB);
        assert!(at(rev, "kernel").mem > 11 * GIB);
    }

    #[test]
    fn loads_into_the_kimage_model() {
        let p = find_preset("movable-node-top").unwrap();
        let r = run(&p.scenario);
        let k = to_kimage(&p.scenario, &r, &r.results[1]).unwrap();
        assert_eq!(k.segments.len(), 4);
        assert!(!k.movable.is_empty());
        assert_eq!(
            k.ram,
            vec![(0x1000, 0xA_0000), (MIB, 3 * GIB), (4 * GIB, 16 * GIB)]
        );
        // Bottom-up puts purgatory at 0x3000, in the reserved first MiB:
        // still RAM, so it relocates.
        let bu = PlacementScenario::from_file(&PlacementFile {
            variants: vec!["bottom-up".into()],
            ..p.scenario.to_file()
        })
        .unwrap();
        let rb = run(&bu);
        let kb = to_kimage(&bu, &rb, &rb.results[0]).unwrap();
        assert_eq!(kb.segments[0].mem, 0x3000);
        for v in kexec_core::run::run(
            &kb,
            kexec_core::run::RunOptions {
                relocate: true,
                ..Default::default()
            },
        ) {
            assert_eq!(v.exit_status(), 0, "{}: {}", v.variant, v.verdict());
        }
        let again = Scenario::from_json(&k.to_json()).unwrap();
        assert_eq!(again, k);
        let runs = kexec_core::run::run(
            &k,
            kexec_core::run::RunOptions {
                relocate: true,
                ..Default::default()
            },
        );
        for v in &runs {
            assert_eq!(v.exit_status(), 0, "{}: {}", v.variant, v.verdict());
        }
        let kd = find_preset("crashkernel-high").unwrap();
        let r = run(&kd.scenario);
        assert!(
            to_kimage(&kd.scenario, &r, &r.results[0]).is_none(),
            "kdump has no list"
        );
    }

    #[test]
    fn bad_input_names_the_field() {
        let p = find_preset("movable-node-top").unwrap();
        let base = p.scenario.to_file();
        let bad = |f: &dyn Fn(&mut PlacementFile)| {
            let mut x = base.clone();
            f(&mut x);
            PlacementScenario::from_file(&x).unwrap_err()
        };
        let e = bad(&|f| f.ram[1].start = Num(0x8_0000));
        assert!(e.field == "ram[1]" && e.message.contains("-EBUSY"), "{e}");
        assert_eq!(
            bad(&|f| f.buffers.kernel_align = Num(3 * MIB)).field,
            "buffers.kernel_align"
        );
        assert_eq!(
            bad(&|f| f.buffers.kernel_align = Num(1 << 40)).field,
            "buffers.kernel_align"
        );
        assert_eq!(bad(&|f| f.arch = "i386".into()).field, "arch");
        assert_eq!(bad(&|f| f.mode = "panic".into()).field, "mode");
        assert_eq!(
            bad(&|f| f.crashkernel = Some("lots".into())).field,
            "crashkernel"
        );
        assert_eq!(bad(&|f| f.mode = "kdump".into()).field, "crashkernel");
        assert!(bad(&|f| f.variants = vec!["sideways".into()])
            .message
            .contains("valid: top-down"));
        assert_eq!(
            bad(&|f| f.memory_block_size = Some(Num(64 * MIB))).field,
            "memory_block_size"
        );
        // Buffers that cannot fit, and more than 16 segments: the kernel's errnos.
        let mut f = base.clone();
        f.buffers.initrd = Num(64 * GIB);
        let r = run(&PlacementScenario::from_file(&f).unwrap());
        assert!(r.results[0]
            .error
            .as_ref()
            .unwrap()
            .to_string()
            .contains("EADDRNOTAVAIL"));
        let mut f = base.clone();
        f.buffers.extra = (0..13)
            .map(|i| ExtraSpec {
                name: format!("setup_data{i}"),
                memsz: Num(0x1000),
                align: Num(0x1000),
                buf_min: Num(0),
                buf_max: None,
                top_down: true,
            })
            .collect();
        let r = run(&PlacementScenario::from_file(&f).unwrap());
        let e = r.results[0].error.as_ref().unwrap().to_string();
        assert!(
            e.contains("EINVAL") && e.contains("KEXEC_SEGMENT_MAX"),
            "{e}"
        );
        assert_eq!(r.results[0].placed.len(), 16);
    }

    #[test]
    fn file_round_trip() {
        for p in presets() {
            let back = PlacementScenario::from_json(&p.scenario.to_json()).unwrap();
            assert_eq!(back, p.scenario, "{}", p.name);
        }
    }
}
