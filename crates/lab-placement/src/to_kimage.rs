//! A normal load as an ordinary kimage scenario, so the kexec core's
//! entry-list designs can run it.
//!
//! After kernel/kexec_file.c has placed the segments, kernel/kexec_core.c
//! `kimage_load_segment` loads them through the entry list the core
//! models: this turns one variant's placement into a
//! [`kexec_core::scenario::Scenario`] (x86_64, the boot System RAM,
//! ZONE_MOVABLE as [`crate::machine`] computes it, one segment per buffer
//! with `bufsz == memsz`, a seeded random allocator, pointer vs
//! rfc-fixed). Deviations: the core's allocator does not know the running
//! kernel's memblock reservations (destinations may lie in reserved RAM,
//! which relocate_kernel copies into at reboot), and a machine with more
//! RAM ranges than the core takes is cut to its first
//! [`kexec_core::scenario::MAX_RANGES`]. A kdump load has no list (it is
//! copied straight into crashk_res), so it has no kimage scenario; nor has
//! a load kexec_file_load refused, in placement or in
//! `sanity_check_segment_list`: [`try_to_kimage`] says why, with the
//! errno the load returned.

use crate::check::LoadError;
use crate::run::{PlacementRun, VariantPlacement};
use crate::scenario::{Mode, PlacementScenario};
use kexec_core::arch::{Arch, KEXEC_SEGMENT_MAX};
use kexec_core::design::Variant;
use kexec_core::gfp::Zone;
use kexec_core::kimage::Segment;
use kexec_core::page_alloc::Policy;
use kexec_core::scenario::{Scenario, MAX_RANGES};
use std::fmt;

/// Why a variant's load has no kimage scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoKimage<'a> {
    /// kexec_file_load failed: nothing was loaded.
    Failed(&'a LoadError),
    /// A kdump load: copied straight into crashk_res, no entry list.
    Kdump,
}

impl fmt::Display for NoKimage<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NoKimage::Failed(e) => match e.errno() {
                Some(errno) => write!(
                    f,
                    "kexec_file_load returns -{errno} ({}): nothing was loaded, so there is no image to hand over",
                    e.short()
                ),
                None => write!(f, "kexec_file_load fails ({e}): nothing was loaded"),
            },
            NoKimage::Kdump => f.write_str(
                "a kdump load is copied straight into crashk_res: no kimage entry list",
            ),
        }
    }
}

/// [`to_kimage`], or why there is none: the load failed (with its errno),
/// or it is a kdump load.
pub fn try_to_kimage<'a>(
    sc: &PlacementScenario,
    r: &PlacementRun,
    v: &'a VariantPlacement,
) -> Result<Scenario, NoKimage<'a>> {
    if let Some(e) = &v.error {
        return Err(NoKimage::Failed(e));
    }
    if sc.mode != Mode::Normal {
        return Err(NoKimage::Kdump);
    }
    Ok(kimage_scenario(sc, r, v))
}

/// The normal load of `v` as an ordinary kimage scenario (x86_64, boot
/// System RAM, ZONE_MOVABLE as computed, one segment per
/// buffer, a seeded random allocator), so the entry-list designs can run
/// it; `None` for a kdump load (copied straight into crashk_res, no list)
/// or a failed one ([`try_to_kimage`] says which).
pub fn to_kimage(
    sc: &PlacementScenario,
    r: &PlacementRun,
    v: &VariantPlacement,
) -> Option<Scenario> {
    try_to_kimage(sc, r, v).ok()
}

/// The kimage scenario of a normal load that succeeded.
fn kimage_scenario(sc: &PlacementScenario, r: &PlacementRun, v: &VariantPlacement) -> Scenario {
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
    Scenario {
        arch: Arch::X86_64,
        ram,
        movable,
        lowmem_end: None,
        segments,
        policy: Policy::Random(1),
        variants: vec![Variant::Pointer, Variant::RfcFixed],
        source_movable: false,
        kernels: vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::presets::find_preset;
    use crate::run::run;
    use crate::scenario::PlacementFile;
    use kexec_common::units::{GIB, MIB};

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
        let why = try_to_kimage(&kd.scenario, &r, &r.results[0]).unwrap_err();
        assert_eq!(why, NoKimage::Kdump);
        assert!(why.to_string().contains("no kimage entry list"));
    }

    #[test]
    fn a_refused_load_is_not_handed_over_and_says_its_errno() {
        for (name, errno) in [
            ("top-down-underflow", "-EADDRNOTAVAIL (sanity_check_segment_list rule 1 (wrap-around), segment 3 (x))"),
            ("kernel-over-half-of-ram", "-EINVAL (sanity_check_segment_list rule 6 (half of totalram_pages), segment 2 (kernel))"),
        ] {
            let p = find_preset(name).unwrap();
            let r = run(&p.scenario);
            for v in &r.results {
                let why = try_to_kimage(&p.scenario, &r, v).unwrap_err();
                assert!(matches!(why, NoKimage::Failed(_)));
                let text = why.to_string();
                assert!(text.contains(errno), "{text}");
                assert_eq!(
                    v.error.as_ref().unwrap().errno(),
                    match why {
                        NoKimage::Failed(e) => e.errno(),
                        NoKimage::Kdump => None,
                    },
                    "the same errno as the verdict"
                );
                assert!(to_kimage(&p.scenario, &r, v).is_none());
            }
        }
    }
}
