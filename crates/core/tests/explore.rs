//! The explorer against a deliberately wrong design: upstream's pointer list
//! without kimage_alloc_page's KEXEC_SOURCE_MEMORY_LIMIT step, so a page
//! above 4 GiB on a PAE box becomes a source page its 32-bit entry cannot
//! name. The explorer must find that, and shrink it. Also the one
//! difference between the two highmem tests, on the CMA what-if machine.

use kexec_core::arch::ArchProfile;
use kexec_core::design::pointer::Pointer;
use kexec_core::design::{Ctx, EntryList, Fault, HighmemCheck, Variant};
use kexec_core::explore::{
    candidate, candidate_for, search_range, search_range_with, shrink, shrink_with, Goal, Search,
};
use kexec_core::gfp::Gfp;
use kexec_core::kimage::Stop;
use kexec_core::page_alloc::Policy;
use kexec_core::presets;
use kexec_core::relocate::Relocation;
use kexec_core::run::{run_design, run_variant, Outcome, RunOptions};
use kexec_core::scenario::Scenario;
use kexec_core::trace::{Event, Pos};

/// The pointer design, minus the unusable_pages step.
#[derive(Debug)]
struct SkipsUnusable(Pointer);

impl EntryList for SkipsUnusable {
    fn variant(&self) -> Variant {
        Variant::Pointer
    }
    fn indirection_gfp(&self) -> Gfp {
        self.0.indirection_gfp()
    }
    fn source_gfp(&self) -> Gfp {
        self.0.source_gfp()
    }
    fn old_page_check(&self) -> Option<HighmemCheck> {
        self.0.old_page_check()
    }
    fn kmaps_entries(&self) -> bool {
        self.0.kmaps_entries()
    }
    fn needs_page(&mut self, cx: &mut Ctx) -> Result<bool, Fault> {
        self.0.needs_page(cx)
    }
    fn link_page(&mut self, cx: &mut Ctx, pfn: u64) -> Result<(), Fault> {
        self.0.link_page(cx, pfn)
    }
    fn store(&mut self, cx: &mut Ctx, entry: u64) -> Result<Pos, Fault> {
        self.0.store(cx, entry)
    }
    fn terminate(&mut self, cx: &mut Ctx) -> Result<Pos, Fault> {
        self.0.terminate(cx)
    }
    fn head(&self) -> u64 {
        self.0.head()
    }
    fn read(&self, cx: &mut Ctx, pos: Pos) -> Result<u64, Fault> {
        self.0.read(cx, pos)
    }
    fn write(&mut self, cx: &mut Ctx, pos: Pos, v: u64) -> Result<(), Fault> {
        self.0.write(cx, pos, v)
    }
    fn next_pos(&self, pos: Pos) -> Result<Pos, Fault> {
        self.0.next_pos(pos)
    }
    fn fmt_pos(&self, pos: Pos) -> String {
        self.0.fmt_pos(pos)
    }
    fn parks_unusable(&self) -> bool {
        false
    }
}

fn wrong(sc: &Scenario) -> Box<dyn EntryList> {
    let arch: &'static ArchProfile = sc.arch.profile();
    Box::new(SkipsUnusable(Pointer::new(arch)))
}

fn fails(sc: &Scenario) -> bool {
    let r = run_design(
        sc,
        wrong(sc),
        RunOptions {
            relocate: true,
            ..Default::default()
        },
    );
    matches!(r.outcome, Outcome::Stopped(Stop::Fault(_)))
        || matches!(r.relocation, Some(Relocation::Fail(_)))
}

fn search() -> Search {
    Search {
        variants: vec![Variant::Pointer],
        holds: Box::new(fails),
        orders: Box::new(|sc| {
            let r = run_design(
                sc,
                wrong(sc),
                RunOptions {
                    trace: true,
                    ..Default::default()
                },
            );
            let order = r.kimage.trace.events.iter().filter_map(|e| match e {
                Event::Alloc { pfn, .. } => Some(*pfn),
                _ => None,
            });
            vec![order.collect()]
        }),
    }
}

#[test]
fn the_explorer_catches_a_design_that_skips_unusable_pages() {
    let base = presets::find("rfc-i386-pae").unwrap().scenario;
    let s = search();
    let hit = search_range_with(&base, &s, 1, 0..2000).expect("the wrong design fails somewhere");
    let found = candidate_for(&base, &s.variants, 1, hit);
    let small = shrink_with(&s, &found);
    assert!(fails(&small), "the shrunk case still fails");
    assert!(small.segments.len() <= 2);
    // It fails because a page above 4 GiB became a source page.
    let r = run_design(
        &small,
        wrong(&small),
        RunOptions {
            relocate: true,
            ..Default::default()
        },
    );
    let Outcome::Stopped(Stop::Fault(f)) = &r.outcome else {
        panic!("{:?}", r.verdict())
    };
    assert!(
        f.reason.contains("does not fit in a 32-bit kimage_entry_t"),
        "{f}"
    );
    assert!(f.pfn.is_some_and(|p| p >= 0x10_0000), "{f:?}");
    let Policy::Replay(list) = &small.policy else {
        panic!("{:?}", small.policy)
    };
    assert!(
        list.iter().any(|&p| p >= 0x10_0000),
        "the replay hands out a page above 4 GiB"
    );
    // The real design on the very same case parks that page on
    // unusable_pages and asks again; the 1-minimal replay has no page left
    // for it, so it stops with -ENOMEM: a stated kernel error, not a fault.
    let real = run_variant(
        &small,
        Variant::Pointer,
        RunOptions {
            relocate: true,
            ..Default::default()
        },
    );
    assert!(real.counters.unusable_pages >= 1);
    assert!(
        matches!(real.outcome, Outcome::Stopped(Stop::Errno { .. }))
            || real.relocation
                == Some(Relocation::Ok {
                    copies: real.counters.source_pages
                }),
        "{}",
        real.verdict()
    );
}

/// pointer vs highmem-zone on the machine where the two tests disagree
/// (lowmem ZONE_MOVABLE, source pages allowed there by the CMA what-if):
/// found from the preset and shrunk to one segment that still differs.
/// Under one allocation order, highmem-zone's order is the one replayed:
/// its free-and-retry asks one more GFP_KERNEL page, and pointer's next
/// request (GFP_HIGHUSER) may take it; the other way round pointer's
/// movable source page would go to highmem-zone's GFP_KERNEL retry, which
/// cannot take it (ineligible).
#[test]
fn the_explorer_finds_pointer_and_highmem_zone_differing() {
    let base = presets::find("highmem-vs-zone-cma").unwrap().scenario;
    let g = Goal::Differ(Variant::HighmemZone, Variant::Pointer);
    let hit = search_range(&base, &g, 1, 0..200).expect("a difference");
    let found = candidate(&base, &g, 1, hit);
    let small = shrink(&g, &found);
    assert!(g.holds(&small), "the shrunk case still differs");
    assert_eq!(small.segments.len(), 1);
    assert!(small.source_movable, "the what-if is part of the case");
    assert!(matches!(small.policy, Policy::Replay(_)));
    // Without the what-if the same case no longer differs: GFP_HIGHUSER
    // source pages never come from ZONE_MOVABLE.
    let mut real = small.clone();
    real.source_movable = false;
    assert!(!g.holds(&real));
}
