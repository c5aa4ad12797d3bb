//! Memory blocks and whether each can be hot-removed.
//!
//! Mirrors drivers/base/memory.c and arch/x86/mm/init_64.c in 6.1:
//! `probe_memory_block_size` on bare metal (one 128 MiB section below
//! 64 GiB of boot memory, 2 GiB from there on), and the checks
//! `memory_block_offline` / `offline_pages` (mm/memory_hotplug.c) make
//! before anything migrates: a block with memory holes is -EINVAL, a block
//! spanning two zones has no `mem->zone` and is -EINVAL, a block holding
//! reserved pages (memblock reservations, the crashkernel region) fails to
//! isolate: -EBUSY. Everything else depends on migration: guaranteed in
//! ZONE_MOVABLE, not guaranteed in the kernel zones. For kexec: a
//! normal-kexec destination does not pin a
//! block but makes the loaded image stale; the image's intermediate pages
//! (GFP_KERNEL / GFP_HIGHUSER, no __GFP_MOVABLE) never sit in ZONE_MOVABLE.

use crate::errno::Errno;
use crate::gfp::Zone;

use kexec_common::units::GIB;
use kexec_common::units::MIB;

/// MIN_MEMORY_BLOCK_SIZE: one section.
pub const MIN_MEMORY_BLOCK_SIZE: u64 = 128 * MIB;
/// MAX_BLOCK_SIZE on x86_64.
pub const MAX_BLOCK_SIZE: u64 = 2 * GIB;

/// probe_memory_block_size on bare metal, for boot memory ending at
/// `boot_mem_end`.
pub fn probe_memory_block_size(boot_mem_end: u64) -> u64 {
    probe_memory_block_size_on(boot_mem_end, false)
}

/// probe_memory_block_size without an override: one section below 64 GiB
/// of boot memory; from there 2 GiB on bare metal, and under a hypervisor
/// the largest power of two from 2 GiB down to 128 MiB that divides the
/// end of boot memory.
pub fn probe_memory_block_size_on(boot_mem_end: u64, hypervisor: bool) -> u64 {
    if boot_mem_end < 64 * GIB {
        return MIN_MEMORY_BLOCK_SIZE;
    }
    if !hypervisor {
        return MAX_BLOCK_SIZE;
    }
    let mut bz = MAX_BLOCK_SIZE;
    while bz > MIN_MEMORY_BLOCK_SIZE && boot_mem_end & (bz - 1) != 0 {
        bz >>= 1;
    }
    bz
}

/// Whether a block can be hot-removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    /// ZONE_MOVABLE and nothing pinned: offline and remove succeed.
    Removable,
    /// Removable, but a loaded kexec image has a destination in it: the
    /// image is stale afterwards and must be loaded again.
    ReloadNeeded,
    /// A kernel zone: succeeds only if every page happens to migrate.
    NotGuaranteed,
    /// offline_pages refuses it.
    Refused(Errno),
}

impl Removal {
    /// A short name.
    pub fn name(self) -> &'static str {
        match self {
            Removal::Removable => "removable",
            Removal::ReloadNeeded => "removable, reload kexec",
            Removal::NotGuaranteed => "not guaranteed",
            Removal::Refused(_) => "refused",
        }
    }
}

/// A labelled byte range `[start, end)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Labelled {
    /// First byte.
    pub start: u64,
    /// One past the last byte.
    pub end: u64,
    /// What it is.
    pub label: String,
}

/// What the verdict looks at.
#[derive(Debug, Clone, Default)]
pub struct BlockInputs<'a> {
    /// System RAM `[start, end)`, sorted.
    pub ram: &'a [(u64, u64)],
    /// Zone spans `[start, end)` with their zone, sorted.
    pub zones: &'a [(u64, u64, Zone)],
    /// Ranges of hot-pluggable memory (SRAT) with their node.
    pub hotplug: &'a [(u64, u64, u32)],
    /// Reserved ranges (memblock reservations, crashkernel).
    pub reserved: &'a [Labelled],
    /// The loaded image's destinations (normal kexec).
    pub destinations: &'a [Labelled],
}

/// One memory block's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockVerdict {
    /// memoryN.
    pub index: u64,
    /// First byte.
    pub start: u64,
    /// One past the last byte.
    pub end: u64,
    /// Its zone (None: it spans several, or has no RAM).
    pub zone: Option<Zone>,
    /// The verdict.
    pub removal: Removal,
    /// Why, one sentence each, naming the kernel function.
    pub reasons: Vec<String>,
}

fn overlap(a: (u64, u64), b: (u64, u64)) -> u64 {
    a.1.min(b.1).saturating_sub(a.0.max(b.0))
}

/// The verdict of every block of `size` bytes that holds any RAM.
pub fn verdicts(size: u64, inp: &BlockInputs) -> Vec<BlockVerdict> {
    let end = inp.ram.iter().map(|r| r.1).max().unwrap_or(0);
    let mut out = Vec::new();
    let mut start = 0;
    while start < end {
        let b = (start, start.saturating_add(size));
        let ram: u64 = inp.ram.iter().map(|&r| overlap(r, b)).sum();
        if ram > 0 {
            out.push(verdict(start / size, b, ram, inp));
        }
        start = b.1;
    }
    out
}

fn verdict(index: u64, b: (u64, u64), ram: u64, inp: &BlockInputs) -> BlockVerdict {
    let mut zones: Vec<Zone> = inp
        .zones
        .iter()
        .filter(|z| overlap((z.0, z.1), b) > 0)
        .map(|z| z.2)
        .collect();
    zones.dedup();
    let zone = (zones.len() == 1).then(|| zones[0]);
    let mut reasons = Vec::new();
    let mut removal = None;
    if ram < b.1 - b.0 {
        removal = Some(Removal::Refused(Errno::EINVAL));
        reasons.push(format!(
            "memory holes: only {} of {} MiB is System RAM, and offline_pages refuses ranges with holes (-EINVAL)",
            ram >> 20,
            (b.1 - b.0) >> 20
        ));
    }
    if zones.len() > 1 {
        removal.get_or_insert(Removal::Refused(Errno::EINVAL));
        let names: Vec<_> = zones.iter().map(|z| z.name()).collect();
        reasons.push(format!(
            "spans zones {}: the block has no single zone, so memory_block_offline refuses it (-EINVAL)",
            names.join(" and ")
        ));
    }
    for r in inp
        .reserved
        .iter()
        .filter(|r| overlap((r.start, r.end), b) > 0)
    {
        removal.get_or_insert(Removal::Refused(Errno::EBUSY));
        reasons.push(format!(
            "{} 0x{:x}-0x{:x}: reserved pages are not migratable, start_isolate_page_range fails (-EBUSY)",
            r.label,
            r.start,
            r.end - 1
        ));
    }
    let dests: Vec<&Labelled> = inp
        .destinations
        .iter()
        .filter(|d| overlap((d.start, d.end), b) > 0)
        .collect();
    let removal = match removal {
        Some(r) => r,
        None if zone == Some(Zone::Movable) => {
            if dests.is_empty() {
                reasons.push(
                    "ZONE_MOVABLE: every page migrates; kexec's intermediate pages (GFP_KERNEL, GFP_HIGHUSER) are never here"
                        .into(),
                );
                Removal::Removable
            } else {
                Removal::ReloadNeeded
            }
        }
        None => {
            reasons.push(format!(
                "ZONE_{}: offline_pages succeeds only if every page migrates; unmovable allocations (slab, page tables, the kexec image's own source and indirection pages) may sit here",
                zone.map_or("?", |z| z.name()).to_uppercase()
            ));
            Removal::NotGuaranteed
        }
    };
    for d in dests {
        reasons.push(format!(
            "{} is loaded for 0x{:x}-0x{:x}: the destination does not pin the block, but after a hot-remove the loaded image is stale and must be loaded again",
            d.label,
            d.start,
            d.end - 1
        ));
        if d.label == "kernel" {
            if let Some(h) = inp
                .hotplug
                .iter()
                .find(|h| overlap((h.0, h.1), (d.start, d.end)) > 0)
            {
                reasons.push(format!(
                    "the second kernel will run from hot-pluggable memory (node {}), which it then cannot hot-remove",
                    h.2
                ));
            }
        }
    }
    BlockVerdict {
        index,
        start: b.0,
        end: b.1,
        zone,
        removal,
        reasons,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_size_follows_boot_memory() {
        assert_eq!(probe_memory_block_size(16 * GIB), 128 * MIB);
        assert_eq!(probe_memory_block_size(64 * GIB), 2 * GIB);
    }

    #[test]
    fn each_rule() {
        let ram = [(0x1000, 0xA_0000), (MIB, 3 * GIB), (4 * GIB, 8 * GIB)];
        let zones = [
            (0, 16 * MIB, Zone::Dma),
            (16 * MIB, 3 * GIB, Zone::Dma32),
            (4 * GIB, 6 * GIB, Zone::Normal),
            (6 * GIB, 8 * GIB, Zone::Movable),
        ];
        let reserved = [Labelled {
            start: 16 * MIB,
            end: 80 * MIB,
            label: "memblock reservation".into(),
        }];
        let destinations = [Labelled {
            start: 8 * GIB - 64 * MIB,
            end: 8 * GIB,
            label: "kernel".into(),
        }];
        let hotplug = [(6 * GIB, 8 * GIB, 1)];
        let v = verdicts(
            128 * MIB,
            &BlockInputs {
                ram: &ram,
                zones: &zones,
                hotplug: &hotplug,
                reserved: &reserved,
                destinations: &destinations,
            },
        );
        let at = |a: u64| v.iter().find(|b| b.start == a).unwrap();
        assert_eq!(
            at(0).removal,
            Removal::Refused(Errno::EINVAL),
            "holes below 1 MiB"
        );
        assert!(at(0)
            .reasons
            .iter()
            .any(|r| r.contains("spans zones DMA and DMA32")));
        assert_eq!(at(128 * MIB).removal, Removal::NotGuaranteed);
        assert_eq!(at(4 * GIB).removal, Removal::NotGuaranteed);
        assert_eq!(at(6 * GIB).removal, Removal::Removable);
        let top = at(8 * GIB - 128 * MIB);
        assert_eq!(top.removal, Removal::ReloadNeeded);
        assert!(top.reasons.iter().any(|r| r.contains("second kernel")));
        assert_eq!(v.len(), 24 + 32, "blocks without RAM (3-4 GiB) are absent");
        let reserved_only = verdicts(
            128 * MIB,
            &BlockInputs {
                ram: &[(0, 256 * MIB)],
                zones: &[(0, 256 * MIB, Zone::Normal)],
                reserved: &reserved,
                ..Default::default()
            },
        );
        assert_eq!(reserved_only[0].removal, Removal::Refused(Errno::EBUSY));
    }
}
