//! The hotplug scenario file (version 1, `"kind": "hotplug"`) and its
//! checks.
//!
//! A file describes the machine (boot memory, X86_FEATURE_HYPERVISOR, a
//! `set_memory_block_size_order` override), the ACPI memory devices hot
//! added in order (drivers/acpi/acpi_memhotplug.c: one `__add_memory`
//! call per _CRS range), the `offline_and_remove_memory` calls after them,
//! the teardown order and the strategies compared. Numbers are
//! [`Num`]s: JSON integers, `"0x…"`, decimal, or memparse sizes (`"10G"`).
//!
//! The checks here refuse only what the lab cannot model (another arch,
//! addresses past its 1 TiB machine, too many requests) and what the
//! kernel's own parsers refuse before any hotplug code runs
//! (`set_memory_block_size_order`'s power of two). Requests the kernel
//! itself refuses (unaligned, zero-size, overlapping) pass and get their
//! errno in the run, from mm/memory_hotplug.c.

use crate::strategy::{MemmapVariant, ALL_MEMMAP_VARIANTS};
use kexec_common::input::{
    check_variants, check_version_kind, quoted, InputError, Num, SCENARIO_VERSION,
};
use kexec_common::json;
use kexec_common::units::{GIB, PAGE_SIZE};
use kexec_core::gfp::Zone;
use kexec_core::memory_block::MIN_MEMORY_BLOCK_SIZE;
use serde::{Deserialize, Serialize};

/// The lab's machine ends here (1 TiB of physical address space).
pub const MAX_PHYS: u64 = 1 << 40;
/// At most this many add or remove requests in a file.
pub const MAX_REQUESTS: usize = 64;
/// At most this many `__add_memory` calls (ranges) in all.
pub const MAX_RANGES: usize = 8192;

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

/// The machine part of a file: x86_64, boot memory, block size override.
fn check_machine(f: &HotplugFile) -> Result<(u64, Option<u64>), InputError> {
    if f.arch != "x86_64" {
        return Err(InputError::new(
            "arch",
            format!(
                "{}: the hotplug lab models x86_64 (SPARSEMEM_VMEMMAP, 128 MiB sections); valid: x86_64",
                quoted(&f.arch)
            ),
        ));
    }
    let boot = f.boot_mem_end.0;
    if !(MIN_MEMORY_BLOCK_SIZE..=MAX_PHYS).contains(&boot) || boot & (PAGE_SIZE - 1) != 0 {
        return Err(InputError::new(
            "boot_mem_end",
            format!("0x{boot:x}: give a page-aligned end of boot memory from 128 MiB to 1 TiB"),
        ));
    }
    let memory_block_size = match f.memory_block_size {
        None => None,
        Some(Num(b)) => {
            if !b.is_power_of_two() || !(MIN_MEMORY_BLOCK_SIZE..=64 * GIB).contains(&b) {
                return Err(InputError::new(
                    "memory_block_size",
                    format!(
                        "0x{b:x}: set_memory_block_size_order takes a power of two from 128 MiB to 64 GiB (else -EINVAL)"
                    ),
                ));
            }
            Some(b)
        }
    };
    Ok((boot, memory_block_size))
}

/// `count` requests of a list named `field`: at most [`MAX_REQUESTS`].
fn check_count(field: &str, count: usize) -> Result<(), InputError> {
    if count > MAX_REQUESTS {
        return Err(InputError::new(
            field,
            format!("{count} requests; at most {MAX_REQUESTS}"),
        ));
    }
    Ok(())
}

/// One hot-add request, `add[i]`.
fn check_add(i: usize, a: &AddSpec) -> Result<Add, InputError> {
    let (start, size) = (a.start.0, a.size.0);
    if !matches!(start.checked_add(size), Some(e) if e <= MAX_PHYS) {
        return Err(InputError::new(
            format!("add[{i}]"),
            format!("0x{start:x} + 0x{size:x} ends past 1 TiB, where the lab's machine ends"),
        ));
    }
    if a.node > 63 {
        return Err(InputError::new(
            format!("add[{i}].node"),
            format!("{}: nodes 0 to 63", a.node),
        ));
    }
    let online = Online::from_name(&a.online).ok_or_else(|| {
        InputError::new(
            format!("add[{i}].online"),
            format!(
                "unknown online type {} (valid: offline, kernel, movable)",
                quoted(&a.online)
            ),
        )
    })?;
    let range_size = match a.range_size {
        None => None,
        Some(Num(0)) => {
            return Err(InputError::new(
                format!("add[{i}].range_size"),
                "must not be zero",
            ))
        }
        Some(Num(r)) => Some(r),
    };
    Ok(Add {
        start,
        size,
        node: a.node,
        online,
        range_size,
    })
}

/// The hot-add list: at least one, at most [`MAX_REQUESTS`], at most
/// [`MAX_RANGES`] `__add_memory` calls in all.
fn check_adds(add: &[AddSpec]) -> Result<Vec<Add>, InputError> {
    if add.is_empty() {
        return Err(InputError::new("add", "give at least one hot-add request"));
    }
    check_count("add", add.len())?;
    let mut adds = Vec::new();
    let mut nranges = 0usize;
    for (i, a) in add.iter().enumerate() {
        let add = check_add(i, a)?;
        nranges += match add.range_size {
            None => 1,
            Some(r) => usize::try_from(add.size.div_ceil(r)).unwrap_or(usize::MAX),
        };
        if nranges > MAX_RANGES {
            return Err(InputError::new(
                format!("add[{i}].range_size"),
                format!("more than {MAX_RANGES} ranges in all"),
            ));
        }
        adds.push(add);
    }
    Ok(adds)
}

/// The removal list: at most [`MAX_REQUESTS`], each inside the machine.
fn check_removes(remove: &[RemoveSpec]) -> Result<Vec<(u64, u64)>, InputError> {
    check_count("remove", remove.len())?;
    let mut removes = Vec::new();
    for (i, r) in remove.iter().enumerate() {
        if !matches!(r.start.0.checked_add(r.size.0), Some(e) if e <= MAX_PHYS) {
            return Err(InputError::new(format!("remove[{i}]"), "ends past 1 TiB"));
        }
        removes.push((r.start.0, r.size.0));
    }
    Ok(removes)
}

impl HotplugScenario {
    /// Parse and check hotplug JSON text (the field of every problem
    /// named, in the file's terms: [`kexec_common::json`]).
    pub fn from_json(text: &str) -> Result<HotplugScenario, InputError> {
        let f: HotplugFile = json::scenario(text)?;
        HotplugScenario::from_file(&f)
    }

    /// Check a parsed file. Requests the kernel itself refuses (unaligned,
    /// zero-size, overlapping) pass here and get their errno in the run.
    pub fn from_file(f: &HotplugFile) -> Result<HotplugScenario, InputError> {
        check_version_kind(f.version, &f.kind, "hotplug")?;
        let (boot_mem_end, memory_block_size) = check_machine(f)?;
        let adds = check_adds(&f.add)?;
        let removes = check_removes(&f.remove)?;
        let teardown = Teardown::from_name(&f.teardown).ok_or_else(|| {
            InputError::new(
                "teardown",
                format!(
                    "unknown order {} (valid: as-posted, forwards, backwards)",
                    quoted(&f.teardown)
                ),
            )
        })?;
        let names: Vec<&str> = ALL_MEMMAP_VARIANTS.iter().map(|v| v.name()).collect();
        let variants = check_variants(&f.variants, MemmapVariant::from_name, &names)?;
        Ok(HotplugScenario {
            boot_mem_end,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::presets::find_preset;
    use kexec_common::units::MIB;

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
    fn sizes_read_as_memparse_does() {
        let text = r#"{"version":1,"kind":"hotplug","arch":"x86_64","boot_mem_end":"4G",
            "add":[{"start":"0x100000000","size":"10G","online":"movable","range_size":"128M"}],
            "remove":[{"start":"4G","size":"10G"}],"variants":["rfc-2018","memmap-on-memory"]}"#;
        let sc = HotplugScenario::from_json(text).unwrap();
        assert_eq!(sc.adds[0].size, 10 * GIB);
        assert_eq!(sc.adds[0].range_size, Some(128 * MIB));
        assert_eq!(sc.boot_mem_end, 4 * GIB);
        assert_eq!(sc.removes, vec![(4 * GIB, 10 * GIB)]);
        // Written back in hex, and read again the same.
        assert!(sc.to_json().contains("\"size\":\"0x280000000\""));
        assert_eq!(HotplugScenario::from_json(&sc.to_json()).unwrap(), sc);
    }

    #[test]
    fn old_files_still_read() {
        // As files were written before sizes took suffixes: hex strings
        // and plain JSON integers.
        let text = r#"{"version":1,"kind":"hotplug","arch":"x86_64","boot_mem_end":"0x100000000",
            "add":[{"start":"0x100000000","size":"0x280000000","online":"movable"}],
            "remove":[{"start":4294967296,"size":10737418240}],"teardown":"forwards",
            "variants":["rfc-2018","memmap-on-memory"]}"#;
        let sc = HotplugScenario::from_json(text).unwrap();
        assert_eq!(sc, find_preset("hotplug-rfc-forwards").unwrap().scenario);
    }
}
