//! The lab's presets, from seed 004: two-node PCs with a hot-pluggable
//! node at the top of RAM (movable_node or not, normal load or kdump with
//! `crashkernel=512M,high`) and a UEFI box whose RAM under 4 GiB is cut up
//! by firmware; and, from the comparison with 6.1's placement code run in
//! user space (issue 20), two loads that place every buffer and are then
//! refused by `sanity_check_segment_list`: the top-down underflow and a
//! kernel of more than half of RAM. Each says what the kernel does with it
//! (`expect`); the tests below hold the model to that.

use crate::scenario::{
    BuffersSpec, ExtraSpec, PlacementFile, PlacementScenario, RamSpec, ReservedSpec,
};
use kexec_common::units::{GIB, MIB};
use kexec_common::Num;

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

/// A small machine without reservations, a normal load of `buffers`.
fn small(ram: Vec<RamSpec>, buffers: BuffersSpec, variants: [&str; 2]) -> PlacementFile {
    PlacementFile {
        reserved: Vec::new(),
        buffers,
        ..file(ram, false, None, "normal", variants)
    }
}

/// The top-down underflow: a 64 KiB extra buffer that must end below
/// 0x9000, after a 16 MiB kernel and no initrd.
fn underflow() -> PlacementFile {
    let mut b = pc_buffers(16 * MIB, 0);
    b.extra = vec![ExtraSpec {
        name: "x".into(),
        memsz: Num(0x1_0000),
        align: Num(0x1000),
        buf_min: Num(0),
        buf_max: Some(Num(0x8fff)),
        top_down: true,
    }];
    small(
        vec![
            ram(0x1000, 0xA_0000, 0, false),
            ram(MIB, 256 * MIB, 0, false),
        ],
        b,
        ["top-down", "top-down-fixed"],
    )
}

/// The lab's presets, from seed 004 and issue 20.
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
        kexec_common::Preset {
            name: "top-down-underflow",
            title: "top-down underflow: buf_max below memsz",
            expect: "-EADDRNOTAVAIL from sanity_check_segment_list rule 1, segment 3 (x), after every buffer was placed. A finding: x is 64 KiB with buf_max 0x8fff; 6.1's locate_mem_hole_top_down starts at buf_max - memsz with no underflow guard and wraps to 0xffffffffffff8000, which passes its start and buf_min tests, so kexec_add_buffer succeeds; the later off-by-one fix (buf_max - memsz + 1) wraps to 0xffffffffffff9000, unguarded too. Only the sanity check catches it: mem + memsz wraps",
            scenario: mk(underflow()),
        },
        kexec_common::Preset {
            name: "kernel-over-half-of-ram",
            title: "a 32 MiB kernel on 64 MiB",
            expect: "-EINVAL from sanity_check_segment_list rule 6, segment 2 (kernel): on 63 MiB of System RAM every buffer finds a hole, then the kernel's 8192 pages are more than half of totalram_pages() (15616 here: 16128 pages less the 2 MiB memmap of the one memory section), and the load is refused whichever way it was placed",
            scenario: mk(small(
                vec![ram(MIB, 64 * MIB, 0, false)],
                pc_buffers(32 * MIB, 0),
                ["top-down", "bottom-up"],
            )),
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
    use crate::placement::Placed;
    use crate::run::{run, VariantPlacement};
    use kexec_common::errno::Errno;
    use kexec_core::gfp::Zone;
    use kexec_core::memory_block::Removal;

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

    /// A refused load: every buffer placed, the errno, rule and segment.
    fn refused(v: &VariantPlacement, errno: Errno, rule: u8, segment: usize) {
        let e = v.error.as_ref().expect("refused");
        assert_eq!(e.errno(), Some(errno), "{e}");
        let r = e.refusal().expect("by the sanity check");
        assert_eq!((r.rule.number(), r.segment), (rule, Some(segment)), "{e}");
        let text = e.to_string();
        let name = &v.placed[segment].name;
        assert!(text.contains(&format!("rule {rule} ")), "{text}");
        assert!(
            text.contains(&format!("segment {segment} ({name})")),
            "{text}"
        );
        assert!(
            v.blocks.iter().all(|b| b.removal != Removal::ReloadNeeded),
            "nothing is loaded, so no block holds a destination"
        );
    }

    #[test]
    fn top_down_underflow_is_placed_then_refused() {
        let p = find_preset("top-down-underflow").unwrap();
        let r = run(&p.scenario);
        let (td, fixed) = (&r.results[0], &r.results[1]);
        for v in [td, fixed] {
            assert_eq!(v.placed.len(), p.scenario.buffers.len(), "all placed");
            refused(v, Errno::EADDRNOTAVAIL, 1, 3);
        }
        assert_eq!(at(td, "x").mem, 0xffff_ffff_ffff_8000);
        assert_eq!(
            at(fixed, "x").mem,
            0xffff_ffff_ffff_9000,
            "the fix does not guard it"
        );
        let text = crate::report_text(&p.scenario, &r);
        assert!(
            text.contains("x            0xffffffffffff8000-0x000007fff 64 KiB"),
            "{text}"
        );
        assert!(
            text.contains("error: -EADDRNOTAVAIL: sanity_check_segment_list rule 1"),
            "{text}"
        );
        assert!(p.expect.contains("rule 1, segment 3 (x)"));
    }

    #[test]
    fn a_kernel_over_half_of_ram_is_placed_then_refused() {
        let p = find_preset("kernel-over-half-of-ram").unwrap();
        let r = run(&p.scenario);
        assert_eq!(r.totalram.pages(), 15616);
        assert_eq!((r.totalram.ram, r.totalram.memmap), (16128, 512));
        for v in &r.results {
            assert_eq!(v.placed.len(), 3, "purgatory, boot_params, kernel");
            refused(v, Errno::EINVAL, 6, 2);
        }
        let text = crate::report_text(&p.scenario, &r);
        assert!(
            text.contains("8192 pages is more than half of totalram_pages (15616)"),
            "{text}"
        );
        assert!(text.contains("model: totalram_pages() 15616"), "{text}");
        assert!(p.expect.contains("rule 6, segment 2 (kernel)") && p.expect.contains("15616"));
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
}
