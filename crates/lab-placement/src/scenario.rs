//! The placement scenario: the file format (`"kind": "placement"`) and
//! its checks.
//!
//! A file describes an x86_64 machine as its firmware and SRAT give it
//! (e820 System RAM ranges with their NUMA node, hot-pluggable and
//! driver-managed flags; the boot-time memblock reservations), the kernel
//! command line's `movable_node` and `crashkernel=`, and one kexec_file
//! load: its mode (normal, or kdump with KEXEC_FILE_ON_CRASH) and the
//! sizes arch/x86/kernel/kexec-bzimage64.c `bzImage64_load` turns into
//! buffers. Numbers are JSON integers or strings (`"0x…"`, decimal, or a
//! memparse size such as `"48M"`).
//!
//! The checks refuse what the kernel would refuse and name the field: two
//! System RAM ranges that overlap (kernel/resource.c `insert_resource`
//! fails with -EBUSY), a `crashkernel=` that kernel/crash_core.c
//! `parse_crashkernel` does not take, a memory block size that
//! arch/x86/mm/init_64.c `set_memory_block_size_order` rejects, an
//! alignment that is not a power of two. Limits of the model, not of the
//! kernel: 1 TiB of physical address space, nodes below 64, at most
//! [`MAX_RANGES`] ranges and [`MAX_EXTRA`] extra buffers.

use crate::crashkernel;
use crate::placement::{x86_64_buffers, KexecBuf};
use crate::variant::{PlaceVariant, ALL_PLACE_VARIANTS};
use kexec_common::input::{
    check_variants, check_version_kind, memparse, quoted, InputError, Num, SCENARIO_VERSION,
};
use kexec_common::json;
use kexec_common::units::{GIB, PAGE_SIZE};
use kexec_core::memory_block::{self, Labelled};
use kexec_core::scenario::MAX_RANGES;
use serde::{Deserialize, Serialize};

/// The largest machine the lab takes (1 TiB of physical address space).
pub const MAX_PHYS: u64 = 1 << 40;
/// At most this many extra buffers in a file.
pub const MAX_EXTRA: usize = 64;
/// The label of a reservation whose file entry says nothing.
const UNNAMED_RESERVATION: &str = "memblock reservation";

/// Normal kexec or kdump.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// kexec_file_load without KEXEC_FILE_ON_CRASH.
    Normal,
    /// kexec_file_load with KEXEC_FILE_ON_CRASH: inside crashk_res.
    Kdump,
}

impl Mode {
    /// The name in files.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Normal => "normal",
            Mode::Kdump => "kdump",
        }
    }

    /// By name (`mode` of a file).
    fn parse(m: &str) -> Result<Mode, InputError> {
        match m {
            "normal" => Ok(Mode::Normal),
            "kdump" => Ok(Mode::Kdump),
            m => Err(InputError::new(
                "mode",
                format!("unknown mode {} (valid: normal, kdump)", quoted(m)),
            )),
        }
    }
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
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub hotpluggable: bool,
    /// IORESOURCE_SYSRAM_DRIVER_MANAGED (added after boot by dax/kmem or
    /// virtio-mem).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub driver_managed: bool,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
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
    Num(PAGE_SIZE)
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

/// The buffers x86_64 adds, from the sizes: the ELF core headers
/// `crash_load_segments` adds first for a crash image, `bzImage64_load`'s,
/// then the extra ones.
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
    v.extend(x86_64_buffers(
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

/// `arch`: x86_64 only.
fn check_arch(arch: &str) -> Result<(), InputError> {
    if arch == "x86_64" {
        return Ok(());
    }
    Err(InputError::new(
        "arch",
        format!(
            "{}: the placement lab models x86_64's kexec_file loader only (valid: x86_64)",
            quoted(arch)
        ),
    ))
}

/// One `ram[i]` against the ranges before it.
fn check_ram_range(i: usize, r: &RamSpec, before: &[Ram]) -> Result<Ram, InputError> {
    let (s, e) = (r.start.0, r.end.0);
    let bad = |m: String| InputError::new(format!("ram[{i}]"), m);
    if s >= e {
        return Err(bad(format!("empty or reversed range 0x{s:x}-0x{e:x}")));
    }
    if s % PAGE_SIZE != 0 || e % PAGE_SIZE != 0 {
        return Err(bad(format!("0x{s:x}-0x{e:x} is not page aligned")));
    }
    if e > MAX_PHYS {
        return Err(bad(format!(
            "ends above 0x{MAX_PHYS:x}, the lab's 1 TiB limit"
        )));
    }
    if let Some((j, o)) = before
        .iter()
        .enumerate()
        .find(|(_, o)| s < o.end && o.start < e)
    {
        return Err(bad(format!(
            "0x{s:x}-0x{e:x} overlaps ram[{j}] 0x{:x}-0x{:x}: two System RAM resources cannot overlap (insert_resource fails with -EBUSY)",
            o.start, o.end
        )));
    }
    if r.node >= 64 {
        return Err(bad(format!("node {} (at most 63 here)", r.node)));
    }
    Ok(Ram {
        start: s,
        end: e,
        node: r.node,
        hotpluggable: r.hotpluggable,
        driver_managed: r.driver_managed,
    })
}

/// `ram`: one to [`MAX_RANGES`] page-aligned ranges that do not overlap;
/// returned sorted.
fn check_ram(specs: &[RamSpec]) -> Result<Vec<Ram>, InputError> {
    if specs.is_empty() {
        return Err(InputError::new("ram", "no RAM: give at least one range"));
    }
    if specs.len() > MAX_RANGES {
        return Err(InputError::new(
            "ram",
            format!("{} ranges; at most {MAX_RANGES}", specs.len()),
        ));
    }
    let mut ram: Vec<Ram> = Vec::new();
    for (i, r) in specs.iter().enumerate() {
        let checked = check_ram_range(i, r, &ram)?;
        ram.push(checked);
    }
    ram.sort_by_key(|r| r.start);
    Ok(ram)
}

/// `reserved`: at most [`MAX_RANGES`] non-empty ranges below 1 TiB.
fn check_reserved(specs: &[ReservedSpec]) -> Result<Vec<Labelled>, InputError> {
    if specs.len() > MAX_RANGES {
        return Err(InputError::new(
            "reserved",
            format!("{} ranges; at most {MAX_RANGES}", specs.len()),
        ));
    }
    let mut reserved = Vec::new();
    for (i, r) in specs.iter().enumerate() {
        let (s, e) = (r.start.0, r.end.0);
        if s >= e || e > MAX_PHYS {
            return Err(InputError::new(
                format!("reserved[{i}]"),
                format!("0x{s:x}-0x{e:x} is empty, reversed or above 1 TiB"),
            ));
        }
        reserved.push(Labelled {
            start: s,
            end: e,
            label: if r.what.is_empty() {
                UNNAMED_RESERVATION.into()
            } else {
                r.what.clone()
            },
        });
    }
    Ok(reserved)
}

/// `crashkernel` and `crashkernel_low` as parse_crashkernel takes them on
/// a machine with `total` bytes of boot System RAM; a kdump load needs a
/// reservation.
fn check_crashkernel(f: &PlacementFile, mode: Mode, total: u64) -> Result<(), InputError> {
    if let Some(ck) = &f.crashkernel {
        crashkernel::parse(ck, total).map_err(|m| InputError::new("crashkernel", m))?;
    }
    if let Some(low) = &f.crashkernel_low {
        let (v, rest) = memparse(low.trim()).map_err(|m| InputError::new("crashkernel_low", m))?;
        if !rest.is_empty() || v > MAX_PHYS {
            return Err(InputError::new(
                "crashkernel_low",
                format!("{} is not a size", quoted(low)),
            ));
        }
        if f.crashkernel.is_none() {
            return Err(InputError::new(
                "crashkernel_low",
                "crashkernel=Y,low needs crashkernel=X,high (or X above 4 GiB)",
            ));
        }
    }
    if mode == Mode::Kdump && f.crashkernel.is_none() {
        return Err(InputError::new(
            "crashkernel",
            "a kdump load needs a crashkernel= reservation to load into",
        ));
    }
    Ok(())
}

/// `buffers`: sizes that fit the machine, a purgatory and a kernel, extra
/// buffers that are not empty, alignments the kernel's masks work with.
fn check_buffers(b: &BuffersSpec) -> Result<(), InputError> {
    if b.extra.len() > MAX_EXTRA {
        return Err(InputError::new(
            "buffers.extra",
            format!(
                "{} buffers; a file may list at most {MAX_EXTRA}",
                b.extra.len()
            ),
        ));
    }
    let sizes = [
        ("purgatory", b.purgatory.0),
        ("boot_params", b.boot_params.0),
        ("kernel", b.kernel.0),
        ("initrd", b.initrd.0),
        ("elf_headers", b.elf_headers.0),
    ]
    .into_iter()
    .chain(b.extra.iter().map(|e| ("extra", e.memsz.0)));
    for (name, v) in sizes {
        if v > MAX_PHYS {
            return Err(InputError::new(
                format!("buffers.{name}"),
                format!("0x{v:x} is larger than the 1 TiB machine"),
            ));
        }
    }
    for (name, v) in [("purgatory", b.purgatory.0), ("kernel", b.kernel.0)] {
        if v == 0 {
            return Err(InputError::new(format!("buffers.{name}"), "must not be 0"));
        }
    }
    if let Some(i) = b.extra.iter().position(|e| e.memsz.0 == 0) {
        return Err(InputError::new(
            format!("buffers.extra[{i}].memsz"),
            "must not be 0",
        ));
    }
    let aligns = [
        ("purgatory_align".to_string(), b.purgatory_align.0),
        ("kernel_align".to_string(), b.kernel_align.0),
    ]
    .into_iter()
    .chain(
        b.extra
            .iter()
            .enumerate()
            .map(|(i, e)| (format!("extra[{i}].align"), e.align.0)),
    );
    for (name, a) in aligns {
        if !a.is_power_of_two() || a > GIB {
            return Err(InputError::new(
                format!("buffers.{name}"),
                format!("0x{a:x}: an alignment is a power of two of at most 1 GiB (the kernel masks with align - 1, so anything else misplaces the buffer)"),
            ));
        }
    }
    Ok(())
}

/// `memory_block_size`: what set_memory_block_size_order takes.
fn check_block_size(n: Option<Num>) -> Result<Option<u64>, InputError> {
    match n {
        None => Ok(None),
        Some(Num(v))
            if v.is_power_of_two()
                && (memory_block::MIN_MEMORY_BLOCK_SIZE..=64 * GIB).contains(&v) =>
        {
            Ok(Some(v))
        }
        Some(Num(v)) => Err(InputError::new(
            "memory_block_size",
            format!("0x{v:x}: set_memory_block_size_order takes a power of two from 128 MiB to 64 GiB (-EINVAL)"),
        )),
    }
}

impl PlacementScenario {
    /// Parse and check placement JSON text (the field of every problem
    /// named, in the file's terms: [`kexec_common::json`]).
    pub fn from_json(text: &str) -> Result<PlacementScenario, InputError> {
        let f: PlacementFile = json::scenario(text)?;
        PlacementScenario::from_file(&f)
    }

    /// Check a parsed file, part by part in the file's order.
    pub fn from_file(f: &PlacementFile) -> Result<PlacementScenario, InputError> {
        check_version_kind(f.version, &f.kind, "placement")?;
        check_arch(&f.arch)?;
        let ram = check_ram(&f.ram)?;
        let reserved = check_reserved(&f.reserved)?;
        let mode = Mode::parse(&f.mode)?;
        let total: u64 = ram
            .iter()
            .filter(|r| !r.driver_managed)
            .map(|r| r.end - r.start)
            .sum();
        check_crashkernel(f, mode, total)?;
        check_buffers(&f.buffers)?;
        let memory_block_size = check_block_size(f.memory_block_size)?;
        let valid: Vec<_> = ALL_PLACE_VARIANTS.iter().map(|v| v.name()).collect();
        let variants = check_variants(&f.variants, PlaceVariant::from_name, &valid)?;
        Ok(PlacementScenario {
            ram,
            reserved,
            movable_node: f.movable_node,
            crashkernel: f.crashkernel.clone(),
            crashkernel_low: f.crashkernel_low.clone(),
            mode,
            buffers: buffers(mode, &f.buffers),
            sizes: f.buffers.clone(),
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
                    what: if r.label == UNNAMED_RESERVATION {
                        String::new()
                    } else {
                        r.label.clone()
                    },
                })
                .collect(),
            movable_node: self.movable_node,
            crashkernel: self.crashkernel.clone(),
            crashkernel_low: self.crashkernel_low.clone(),
            mode: self.mode.name().into(),
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::presets::{find_preset, presets};
    use crate::run::run;
    use kexec_common::units::MIB;

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

    #[test]
    fn sizes_may_be_written_as_memparse_reads_them() {
        let p = find_preset("movable-node-top").unwrap();
        let text = p.scenario.to_json();
        assert!(text.contains(r#""kernel":"0x3000000""#), "{text}");
        for kernel in [r#""48M""#, "50331648", r#""0x3000000""#, r#""48m""#] {
            let t = text.replace(r#""kernel":"0x3000000""#, &format!(r#""kernel":{kernel}"#));
            let sc = PlacementScenario::from_json(&t).unwrap();
            assert_eq!(sc, p.scenario, "kernel {kernel}");
            assert_eq!(sc.sizes.kernel, Num(48 * MIB));
        }
        let t = text.replace(r#""kernel":"0x3000000""#, r#""kernel":"48Q""#);
        assert!(PlacementScenario::from_json(&t).is_err());
    }

    #[test]
    fn an_old_file_still_reads() {
        // As this lab always wrote them: hex strings and decimal integers.
        let old = r#"{"version":1,"kind":"placement","arch":"x86_64",
            "ram":[{"start":"0x1000","end":"0xa0000"},{"start":"0x100000","end":"0xc0000000"},
                   {"start":"0x100000000","end":"0x200000000"},
                   {"start":"0x200000000","end":"0x400000000","node":1,"hotpluggable":true}],
            "reserved":[{"start":"0x0","end":"0x100000","what":"first 1 MiB (setup_arch)"},
                        {"start":"0x1000000","end":"0x5000000","what":"running kernel image"}],
            "movable_node":true,"mode":"normal",
            "buffers":{"purgatory":"0x5000","purgatory_align":"0x1000","boot_params":"0x3000",
                       "kernel":"0x3000000","kernel_align":2097152,"initrd":"0x4000000","elf_headers":"0x1000"},
            "variants":["top-down","reverse-walk"]}"#;
        let sc = PlacementScenario::from_json(old).unwrap();
        assert_eq!(sc, find_preset("movable-node-top").unwrap().scenario);
    }
}
