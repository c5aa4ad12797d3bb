//! The lab's presets, from seed 003 (the 2018 thread on freeing page
//! tables under huge ioremap): the stale PDE with and without the flush,
//! the temporary page that fails, the two pre-flush designs, and PAE.

use crate::free::FreeVariant;
use crate::ioremap::Features;
use crate::pgtable::Paging;
use crate::scenario::PgtableScenario;
use crate::script::Op;

/// A preset of this lab.
pub type PgtablePreset = kexec_common::Preset<PgtableScenario>;

fn scenario(
    paging: Paging,
    cpus: usize,
    lines: &[&str],
    variants: [FreeVariant; 2],
) -> PgtableScenario {
    PgtableScenario {
        paging,
        cpus,
        features: Features::default(),
        ops: lines
            .iter()
            .map(|l| Op::parse(l, cpus).expect("preset lines parse"))
            .collect(),
        variants: variants.to_vec(),
    }
}

/// The stale-PDE script: a 4 KiB ioremap, cpu1 loads from it, iounmap,
/// cpu1 walks the VA speculatively (caching the PDE that points to the
/// now empty PTE page), a 2 MiB ioremap over the same VA, the freed PTE
/// page reused, cpu1 loads.
pub const STALE_PDE_SCRIPT: [&str; 7] = [
    "ioremap 0xffffc90000200000 0xfe000000 4K",
    "access 0xffffc90000200000 cpu=1",
    "iounmap 0xffffc90000200000",
    "speculate 0xffffc90000200000 cpu=1",
    "ioremap 0xffffc90000200000 0xfe000000 2M",
    "reuse",
    "access 0xffffc90000200000 cpu=1",
];

/// The lab's presets, from seed 003.
pub fn presets() -> Vec<PgtablePreset> {
    vec![
        kexec_common::Preset {
            name: "pgtable-stale-pde",
            title: "pmd_free_pte_page with and without the flush",
            expect: "flush: cpu1 gets the new 2 MiB mapping; no-flush: cpu1's cached PDE leads into the freed and reused page and translates to 0xfee00000 (the local APIC)",
            scenario: scenario(Paging::FourLevel, 2, &STALE_PDE_SCRIPT, [FreeVariant::Flush, FreeVariant::NoFlush]),
        },
        kexec_common::Preset {
            name: "pgtable-1g-fallback",
            title: "the temporary page fails: 1 GiB falls back to 2 MiB",
            expect: "flush: pud_free_pmd_page cannot allocate its temporary page, the 1 GiB request is mapped with 2 MiB PMDs; page-list needs no allocation and maps 1 GiB",
            scenario: scenario(
                Paging::FourLevel,
                1,
                &[
                    "ioremap 0xffffc90040000000 0x4000000000 4K",
                    "iounmap 0xffffc90040000000",
                    "fail-next-alloc",
                    "ioremap 0xffffc90040000000 0x4000000000 1G",
                    "access 0xffffc90040012345 cpu=0",
                ],
                [FreeVariant::Flush, FreeVariant::PageList],
            ),
        },
        kexec_common::Preset {
            name: "pgtable-pre-2018",
            title: "2018 and before: the stale table is never freed",
            expect: "no-free (March 2018): pmd_free_pte_page only reports pmd_none, so the range is mapped with 4 KiB pages through the old table; no-free-no-check (before): the 2 MiB entry overwrites the table pointer, the table leaks, and cpu1 faults on a mapped VA through its speculatively cached PDE",
            scenario: scenario(Paging::FourLevel, 2, &STALE_PDE_SCRIPT, [FreeVariant::NoFree, FreeVariant::NoFreeNoCheck]),
        },
        kexec_common::Preset {
            name: "pgtable-pae",
            title: "PAE: 6.1 reports emptiness, 2018's no-flush freed",
            expect: "flush (6.1 on PAE): pmd_free_pte_page reports the PMD is not none, the reused range is mapped with 4 KiB pages, nothing goes stale; no-flush (28ee90fe6048, which freed on PAE until f967db0b9ed4): the PTE page is freed under cpu1's speculatively cached PDE, reused, and cpu1 translates to 0xfee00000; a fresh 2 MiB-aligned range gets a 2 MiB leaf in both",
            scenario: scenario(
                Paging::Pae,
                2,
                &[
                    "ioremap 0xf8800000 0xfe000000 4K",
                    "access 0xf8800000 cpu=1",
                    "iounmap 0xf8800000",
                    "speculate 0xf8800000 cpu=1",
                    "ioremap 0xf8800000 0xfe000000 2M",
                    "ioremap 0xf8a00000 0xfe200000 2M",
                    "reuse",
                    "access 0xf8800000 cpu=1",
                    "access 0xf8a00000 cpu=1",
                ],
                [FreeVariant::Flush, FreeVariant::NoFlush],
            ),
        },
    ]
}

/// A preset by name.
pub fn find_preset(name: &str) -> Option<PgtablePreset> {
    kexec_common::preset::find(presets(), name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_are_found_by_name() {
        for p in presets() {
            assert_eq!(find_preset(p.name).unwrap().scenario, p.scenario);
            assert_eq!(p.scenario.variants.len(), 2);
        }
        assert!(find_preset("swap-path").is_none());
    }
}
