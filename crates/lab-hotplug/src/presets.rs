//! The lab's presets, from seed 002: the RFC's worked example (10 GiB at
//! 4 GiB, 80 sections, refcount 80) as posted and torn down forwards,
//! 6.1's memmap_on_memory one block at a time and refusing two blocks at
//! once, and 2 GiB memory blocks. Each says what the run shows.

use crate::scenario::{Add, HotplugScenario, Online, Teardown};
use crate::strategy::MemmapVariant;
use kexec_common::units::{GIB, MIB};

/// A preset of this lab.
pub type HotplugPreset = kexec_common::Preset<HotplugScenario>;

/// A hot-add request on node 0.
pub(crate) fn add(start: u64, size: u64, online: Online, range_size: Option<u64>) -> Add {
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

/// Run a preset by name (tests).
#[cfg(test)]
pub(crate) fn preset_run(name: &str) -> crate::run::HotplugLab {
    crate::run::run(&find_preset(name).expect("a preset").scenario)
}
