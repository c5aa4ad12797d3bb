//! A run of the lab: reserve, place with each variant, judge every memory
//! block.
//!
//! The order is the kernel's: at boot arch/x86/kernel/setup.c
//! `reserve_crashkernel` takes its region from memblock
//! ([`crate::crashkernel`]); at load time kernel/kexec_file.c
//! `kexec_add_buffer` places each buffer `bzImage64_load` adds
//! ([`crate::placement`], as each [`crate::variant`] searches), over all
//! System RAM for a normal load or inside crashk_res alone for a kdump
//! load (`kexec_locate_mem_hole` with `image->type == KEXEC_TYPE_CRASH`);
//! the first buffer that does not fit stops the load. When all are placed,
//! `kimage_file_alloc_init` runs `sanity_check_segment_list` on them
//! ([`crate::check`], with `totalram_pages()` as [`crate::machine`]
//! counts it); a refusal fails the load, the placements stay shown. Then
//! every memory
//! block gets a hot-remove verdict ([`kexec_core::memory_block`], after
//! drivers/base/memory.c and mm/memory_hotplug.c `offline_pages`): the
//! boot reservations and crashkernel regions pin their blocks; a normal
//! load's destinations only make the loaded image stale (the kernel
//! neither refuses nor tells kexec), a kdump load's live inside crashk_res.

use crate::check::{self, LoadError};
use crate::crashkernel::{self, Reservation};
use crate::machine::Totalram;
use crate::memblock::Memblock;
use crate::placement::{kexec_add_buffer, KexecBuf, Placed, SystemRam};
use crate::scenario::{Mode, PlacementScenario};
use crate::variant::{HoleSearch, PlaceVariant};
use kexec_common::input::memparse;
use kexec_core::gfp::Zone;
use kexec_core::memory_block::{self, BlockInputs, BlockVerdict, Labelled, Removal};
use kexec_core::sanity::ImageType;

/// One variant's placement and verdicts.
#[derive(Debug, Clone)]
pub struct VariantPlacement {
    /// The variant.
    pub variant: PlaceVariant,
    /// The buffers placed, in order (all of them when the sanity check
    /// refused the load).
    pub placed: Vec<Placed>,
    /// The error kexec_file_load returns, if any.
    pub error: Option<LoadError>,
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
    /// totalram_pages() when the load is made.
    pub totalram: Totalram,
    /// Memory block size.
    pub block_size: u64,
    /// Per variant.
    pub results: Vec<VariantPlacement>,
}

/// reserve_crashkernel for the scenario's `crashkernel=` (and `,low`), on
/// `mb`; `None` when the command line has none.
fn reserve_crashkernel(sc: &PlacementScenario, mb: &mut Memblock) -> Option<Reservation> {
    let total = mb.phys_mem_size();
    let arg = sc.crashkernel.as_ref()?;
    Some(match crashkernel::parse(arg, total) {
        Ok(ck) => {
            let low = sc
                .crashkernel_low
                .as_ref()
                .and_then(|l| memparse(l.trim()).ok())
                .map(|(v, _)| v);
            crashkernel::reserve(mb, ck, low)
        }
        Err(m) => Reservation {
            log: vec![format!("crashkernel={arg}: {m}")],
            ..Default::default()
        },
    })
}

/// The boot reservations with crashk_res and crashk_low_res added.
fn pinned(sc: &PlacementScenario, crash: Option<&Reservation>) -> Vec<Labelled> {
    let mut reserved = sc.reserved.clone();
    if let Some(r) = crash {
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
    reserved
}

/// What kexec_locate_mem_hole walks: all System RAM for a normal load,
/// crashk_res alone for a kdump load (nothing if it was not reserved).
fn walked(
    sc: &PlacementScenario,
    resources: &[SystemRam],
    crash: Option<&Reservation>,
) -> Vec<SystemRam> {
    match sc.mode {
        Mode::Normal => resources.to_vec(),
        Mode::Kdump => crash
            .and_then(|r| r.crash)
            .map(|(s, e)| {
                vec![SystemRam {
                    start: s,
                    end: e - 1,
                    driver_managed: false,
                }]
            })
            .unwrap_or_default(),
    }
}

/// kexec_add_buffer for each buffer in order, until one fails; then
/// sanity_check_segment_list on them all.
fn place(
    walk: &[SystemRam],
    buffers: &[KexecBuf],
    search: &dyn HoleSearch,
    image: ImageType,
    totalram_pages: u64,
) -> (Vec<Placed>, Option<LoadError>) {
    let mut placed = Vec::new();
    for b in buffers {
        if let Err(e) = kexec_add_buffer(walk, &mut placed, b, search) {
            return (placed, Some(LoadError::Placement(e)));
        }
    }
    let error = check::check(&placed, buffers, image, totalram_pages).err();
    (placed, error)
}

/// The machine as the memory-block verdicts see it.
struct Blocks {
    size: u64,
    ram: Vec<(u64, u64)>,
    zones: Vec<(u64, u64, Zone)>,
    hotplug: Vec<(u64, u64, u32)>,
    reserved: Vec<Labelled>,
}

impl Blocks {
    /// Every block's hot-remove verdict with the load's destinations (a
    /// normal load that succeeded has some; a kdump load's are inside
    /// crashk_res, already pinned).
    fn verdicts(
        &self,
        mode: Mode,
        placed: &[Placed],
        error: Option<&LoadError>,
    ) -> Vec<BlockVerdict> {
        let destinations: Vec<Labelled> = if mode == Mode::Normal && error.is_none() {
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
        memory_block::verdicts(
            self.size,
            &BlockInputs {
                ram: &self.ram,
                zones: &self.zones,
                hotplug: &self.hotplug,
                reserved: &self.reserved,
                destinations: &destinations,
            },
        )
    }
}

/// Run the lab: reserve, place with each variant, judge every block.
pub fn run(sc: &PlacementScenario) -> PlacementRun {
    let resources = sc.resources();
    let zones = sc.zones();
    let mut mb = sc.memblock();
    let crash = reserve_crashkernel(sc, &mut mb);
    let totalram = sc.totalram(&mb);
    let image = check::image_type(sc.mode, crash.as_ref());
    let walk = walked(sc, &resources, crash.as_ref());
    let blocks = Blocks {
        size: sc.block_size(),
        ram: sc.ram.iter().map(|r| (r.start, r.end)).collect(),
        zones: zones.clone(),
        hotplug: sc
            .ram
            .iter()
            .filter(|r| r.hotpluggable)
            .map(|r| (r.start, r.end, r.node))
            .collect(),
        reserved: pinned(sc, crash.as_ref()),
    };
    let results = sc
        .variants
        .iter()
        .map(|&variant| {
            let search = variant.search();
            let (placed, error) = place(&walk, &sc.buffers, search, image, totalram.pages());
            let blocks = blocks.verdicts(sc.mode, &placed, error.as_ref());
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
        totalram,
        block_size: blocks.size,
        results,
    }
}
