//! Hot-add and online, as 6.1 does them for an ACPI memory device.
//!
//! Mirrors drivers/acpi/acpi_memhotplug.c `acpi_memory_enable_device` (one
//! `__add_memory` per range, an empty device refused), mm/memory_hotplug.c
//! `register_memory_resource`, `check_hotplug_memory_range`,
//! `add_memory_resource` and `__add_pages`, mm/sparse.c
//! `sparse_add_section` / `section_activate`, arch/x86/mm/init_64.c
//! `vmemmap_populate_hugepages` (with mm/sparse-vmemmap.c
//! `vmemmap_alloc_block` and `altmap_alloc_block_buf`),
//! drivers/base/memory.c `create_memory_block_devices` and
//! `memory_block_online`. The strategy answers where each section's
//! memmap comes from and what onlining gives the buddy allocator.
//!
//! Deviations: a failed `__add_pages` leaves the sections it populated
//! present (as 6.1 does: nothing removes them), and the lab says so in the
//! request's result; every block of a range is onlined right after the
//! add when the request asks for it (the kernel does this from
//! `memhp_default_state` or udev).

use super::{Block, Machine, RangeRec, Sec};
use crate::run::{Backing, OpResult, SectionView};
use crate::scenario::{Add, Online};
use crate::section::{
    pmd_table_of_section, MEMMAP_PAGES_PER_SECTION, PAGES_PER_SECTION, SECTION_SIZE,
};
use crate::strategy::MemmapStrategy;
use crate::vmem_altmap::VmemAltmap;
use kexec_common::errno::Errno;
use kexec_common::text::size_exact as size_text;
use kexec_common::units::{PAGE_SIZE, PMD_SIZE};
use kexec_core::gfp::Zone;

/// The sections `__add_pages` populated for one range.
struct Populated {
    /// In address order.
    secs: Vec<Sec>,
    /// vmemmap PMD table pages it took from ordinary memory.
    pgtables: u64,
    /// Why it stopped before the end (-ENOMEM), if it did.
    failed: Option<String>,
}

impl Machine {
    /// `acpi_memory_enable_device`: the device's ranges, one
    /// `__add_memory` call each; a device of 0 bytes is refused first.
    pub(crate) fn acpi_memory_enable_device(
        &mut self,
        s: &mut dyn MemmapStrategy,
        request: usize,
        a: &Add,
    ) {
        if a.size == 0 {
            // acpi_memory_enable_device skips empty ranges; a device with
            // none left is refused before __add_memory.
            self.log
                .push("acpi_memory_enable_device: device is empty".into());
            let mut op = OpResult::new("add", request, a.start, 0);
            op.errno = Some(Errno::EINVAL);
            op.detail = "acpi_memory_enable_device: the device's ranges add up to 0 bytes (\"device is empty\")".into();
            self.ops.push(op);
            return;
        }
        for (start, size) in a.ranges() {
            self.add_memory_resource(s, request, start, size, a.node, a.online);
        }
    }

    /// `register_memory_resource`: `__request_region` fails on a range
    /// that overlaps System RAM (boot or hot-added).
    fn register_memory_resource(&self, start: u64, size: u64) -> Result<(), String> {
        let end = start + size;
        let why = if start < self.boot_end {
            Some(format!(
                "overlaps boot System RAM 0x0-0x{:x}",
                self.boot_end - 1
            ))
        } else {
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
        };
        match why {
            Some(why) => Err(format!(
                "register_memory_resource: __request_region fails, the range {why}"
            )),
            None => Ok(()),
        }
    }

    /// `check_hotplug_memory_range`: start and size multiples of the
    /// memory block size.
    fn check_hotplug_memory_range(&mut self, start: u64, size: u64) -> Result<(), String> {
        if (start | size) & (self.block - 1) == 0 {
            return Ok(());
        }
        self.log.push(format!(
            "Block size [0x{:x}] unaligned hotplug range: start 0x{start:x}, size 0x{size:x}",
            self.block
        ));
        Err(format!(
            "check_hotplug_memory_range: 0x{start:x} + {} must be a multiple of the memory block size {} at a multiple of it",
            size_text(size),
            size_text(self.block)
        ))
    }

    /// `section_activate`: `fill_subsection_map` finds a section an
    /// earlier failed add left present.
    fn section_activate(&self, start: u64, size: u64) -> Result<(), String> {
        let first = start / SECTION_SIZE;
        match (first..first + size / SECTION_SIZE)
            .find(|nr| self.secs.get(nr).is_some_and(|s| !s.view.removed))
        {
            Some(nr) => Err(format!(
                "section_activate: fill_subsection_map finds section 0x{nr:x} already present (left by an earlier failed add)"
            )),
            None => Ok(()),
        }
    }

    /// `add_memory_resource` for one range (via `__add_memory`): the
    /// checks, the altmap, `__add_pages`, the memory block devices, and
    /// onlining when asked.
    fn add_memory_resource(
        &mut self,
        s: &mut dyn MemmapStrategy,
        request: usize,
        start: u64,
        size: u64,
        node: u32,
        online: Online,
    ) {
        let mut op = OpResult::new("add", request, start, size);
        let checked = self
            .register_memory_resource(start, size)
            .map_err(|d| (Errno::EEXIST, d))
            .and_then(|()| {
                self.check_hotplug_memory_range(start, size)
                    .map_err(|d| (Errno::EINVAL, d))
            })
            .and_then(|()| {
                self.section_activate(start, size)
                    .map_err(|d| (Errno::EEXIST, d))
            });
        if let Err((errno, detail)) = checked {
            op.errno = Some(errno);
            op.detail = detail;
            self.ops.push(op);
            return;
        }
        let mut notes = Vec::new();
        let mut altmap = s.altmap(start, size, self.block, &mut notes);
        let populated = self.add_pages(s, start, size, node, altmap.as_mut());
        self.counters.pgtable_pages += populated.pgtables;
        if let Some(why) = populated.failed {
            self.add_pages_failed(op, populated.secs, altmap.is_none(), why);
            return;
        }
        if populated.pgtables > 0 {
            notes.push(format!(
                "{} vmemmap PMD table page(s) from ordinary memory",
                populated.pgtables
            ));
        }
        let (start_pfn, nr_pages) = (start / PAGE_SIZE, size / PAGE_SIZE);
        let self_hosted = s.range_added(start_pfn, size / SECTION_SIZE, altmap, &mut notes);
        let mut secs = populated.secs;
        self.account_memmap(&mut secs, node, nr_pages, &mut notes);
        self.create_memory_block_devices(start_pfn, nr_pages, self_hosted.map_or(0, |a| a.alloc));
        for sec in secs {
            self.secs.insert(sec.view.nr, sec);
        }
        self.ranges.push(RangeRec {
            start,
            size,
            self_hosted,
        });
        self.online_range(s, start_pfn, nr_pages, online, &mut notes);
        self.counters.marked = self.marked.iter().map(|(&s, &e)| e - s).sum();
        op.detail = notes.join(". ");
        self.ops.push(op);
    }

    /// `__add_pages` → `sparse_add_section` for each section of the range:
    /// the vmemmap PMD table if it is new (`vmemmap_pud_populate`), the
    /// section's memmap ([`Machine::vmemmap_populate`]), then the
    /// strategy's step. Stops at the first section whose memmap finds no
    /// memory.
    fn add_pages(
        &mut self,
        s: &mut dyn MemmapStrategy,
        start: u64,
        size: u64,
        node: u32,
        mut altmap: Option<&mut VmemAltmap>,
    ) -> Populated {
        let range = self.ranges.len();
        let first = start / SECTION_SIZE;
        let mut p = Populated {
            secs: Vec::new(),
            pgtables: 0,
            failed: None,
        };
        for nr in first..first + size / SECTION_SIZE {
            if self.pmd_tables.insert(pmd_table_of_section(nr)) {
                p.pgtables += 1;
            }
            let (backing_pfn, backing) = match self.vmemmap_populate(altmap.as_deref_mut()) {
                Ok(b) => b,
                Err(why) => {
                    p.failed = Some(why);
                    break;
                }
            };
            s.sparse_add_section(self, altmap.as_deref_mut());
            p.secs.push(Sec {
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
        p
    }

    /// `vmemmap_populate_hugepages` for one section: a 2 MiB PMD mapping
    /// of pages from the altmap (`altmap_alloc_block_buf`, no fallback on
    /// x86) or of an order-9 page (`vmemmap_alloc_block`).
    fn vmemmap_populate(
        &mut self,
        altmap: Option<&mut VmemAltmap>,
    ) -> Result<(u64, Backing), String> {
        match altmap {
            Some(a) => a
                .alloc_block_buf(PMD_SIZE)
                .map(|p| (p, Backing::Altmap))
                .ok_or_else(|| {
                    format!(
                        "vmemmap_populate_hugepages: the altmap has {} pages left, no fallback on x86",
                        a.nr_free()
                    )
                }),
            None => self
                .ordinary_chunk()
                .map(|p| (p, Backing::Ordinary))
                .ok_or_else(|| {
                    "vmemmap_alloc_block: ordinary memory has no order-9 page left".into()
                }),
        }
    }

    /// `__add_pages` failed: `add_pages` WARNs, `add_memory_resource`
    /// fails and releases the resource, but nothing removes the sections
    /// populated so far: they stay present, offline.
    fn add_pages_failed(&mut self, mut op: OpResult, secs: Vec<Sec>, ordinary: bool, why: String) {
        if ordinary {
            self.log.push("vmemmap alloc failure: order:9".into());
        }
        self.log
            .push("WARNING: add_pages: __add_pages failed (WARN_ON_ONCE)".into());
        let kept = secs.len();
        for sec in secs {
            self.secs.insert(sec.view.nr, sec);
        }
        op.errno = Some(Errno::ENOMEM);
        op.detail = format!(
            "{why}; the {kept} section(s) populated before it stay present with their memmap"
        );
        self.ops.push(op);
    }

    /// Where the new sections' memmap went: off-node struct pages, the
    /// pages each section donates to memmap carved at its start, and the
    /// counters.
    fn account_memmap(
        &mut self,
        secs: &mut [Sec],
        node: u32,
        nr_pages: u64,
        notes: &mut Vec<String>,
    ) {
        if !self.kernel_nodes.contains(&node)
            && secs.iter().any(|s| s.view.backing == Backing::Ordinary)
        {
            notes.push(format!(
                "node {node} has no memory in a kernel zone: alloc_pages_node falls back, its struct pages are on another node (off-node)"
            ));
        }
        let carved: Vec<(u64, u64)> = secs
            .iter()
            .filter(|s| s.view.backing == Backing::Altmap)
            .map(|s| {
                (
                    s.view.backing_pfn,
                    s.view.backing_pfn + MEMMAP_PAGES_PER_SECTION,
                )
            })
            .collect();
        for s in secs.iter_mut() {
            let lo = s.view.start_pfn();
            let hi = lo + PAGES_PER_SECTION;
            s.view.donated = carved
                .iter()
                .map(|&(a, b)| b.min(hi).saturating_sub(a.max(lo)))
                .sum();
        }
        for s in secs.iter() {
            match s.view.backing {
                Backing::Altmap => self.counters.memmap_in_range += MEMMAP_PAGES_PER_SECTION,
                Backing::Ordinary => self.counters.memmap_ordinary += MEMMAP_PAGES_PER_SECTION,
            }
            self.counters.memmap += MEMMAP_PAGES_PER_SECTION;
        }
        self.counters.added += nr_pages;
    }

    /// `create_memory_block_devices`: one offline block per block of the
    /// range; the first holds the range's self-hosted memmap pages.
    fn create_memory_block_devices(&mut self, start_pfn: u64, nr_pages: u64, nr_vmemmap: u64) {
        let per_block = self.block / PAGE_SIZE;
        for b in 0..nr_pages / per_block {
            self.blocks.insert(
                start_pfn + b * per_block,
                Block {
                    nr_vmemmap: if b == 0 { nr_vmemmap } else { 0 },
                    online: Online::Offline,
                },
            );
        }
    }

    /// Online every block of the range, or leave it offline.
    fn online_range(
        &mut self,
        s: &dyn MemmapStrategy,
        start_pfn: u64,
        nr_pages: u64,
        online: Online,
        notes: &mut Vec<String>,
    ) {
        let Some(zone) = online.zone() else {
            notes.push("left offline (memhp_default_state=offline)".into());
            return;
        };
        let per_block = self.block / PAGE_SIZE;
        let mut buddy = 0;
        for b in 0..nr_pages / per_block {
            buddy += self.memory_block_online(s, start_pfn + b * per_block, online, zone);
        }
        self.counters.buddy += buddy;
        notes.push(format!(
            "online_{}: {} pages to the buddy allocator in ZONE_{}",
            online.name(),
            buddy,
            zone.name().to_uppercase()
        ));
    }

    /// `memory_block_online` (6.1) or the RFC's `online_pages_range`: the
    /// pages that reach the buddy allocator.
    fn memory_block_online(
        &mut self,
        s: &dyn MemmapStrategy,
        block_pfn: u64,
        online: Online,
        zone: Zone,
    ) -> u64 {
        let per_block = self.block / PAGE_SIZE;
        let nr_vmemmap = self.blocks.get(&block_pfn).map_or(0, |b| b.nr_vmemmap);
        let mut buddy = 0;
        let mut present = 0;
        for nr in block_pfn / PAGES_PER_SECTION..(block_pfn + per_block) / PAGES_PER_SECTION {
            let lo = nr * PAGES_PER_SECTION;
            let marked = self.marked_in(lo, lo + PAGES_PER_SECTION);
            let self_hosted = nr_vmemmap
                .saturating_sub(lo - block_pfn)
                .min(PAGES_PER_SECTION);
            let Some(sec) = self.secs.get_mut(&nr) else {
                continue;
            };
            sec.view.zone = Some(zone);
            let (b, p) = s.online_pages(self_hosted, marked);
            sec.view.buddy = b;
            sec.view.present = p;
            buddy += b;
            present += p;
        }
        if let Some(b) = self.blocks.get_mut(&block_pfn) {
            b.online = online;
        }
        s.mhp_init_memmap_on_memory(self, block_pfn, nr_vmemmap);
        if online == Online::Kernel {
            if let Some(sec) = self.secs.get(&(block_pfn / PAGES_PER_SECTION)) {
                self.kernel_nodes.insert(sec.view.node);
            }
        }
        self.counters.present += present;
        buddy
    }
}
