//! The `buddy` allocator policy against the real captures: on each
//! capture's machine and segments, the pages `buddy` hands out fall in the
//! zones the real kernel's allocator handed them out from, in the same
//! direction, and the load takes the same paths (unusable pages above
//! 4 GiB, swaps, dest_pages, the highmem free-and-retry). The policy is
//! the calibration; these captures are what it was checked against.

use kexec_capture::import::{import, text_of, ImportInput};
use kexec_capture::verify::read_result;
use kexec_core::arch::Arch;
use kexec_core::design::Variant;
use kexec_core::explore::allocation_order;
use kexec_core::page_alloc::Policy;
use kexec_core::run::run_variant;
use kexec_core::scenario::Scenario;
use std::path::{Path, PathBuf};

fn dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/real-kernel")
        .join(name)
}

fn read(p: &Path) -> String {
    text_of(&std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// A capture's scenario: the imported trace, or the kept import.
fn scenario(name: &str) -> Scenario {
    let d = dir(name);
    let gz = d.join("trace.txt.gz");
    if !gz.exists() {
        return Scenario::from_json(&read(&d.join("scenario.json"))).expect("scenario.json");
    }
    let real = read_result(&read(&d.join("list.txt"))).expect("list.txt");
    import(ImportInput {
        trace: &read(&gz),
        segments: &read(&d.join("segments.txt")),
        iomem: &read(&d.join("iomem.txt")),
        lowmem: &read(&d.join("lowmem.txt")),
        arch: Arch::I386Pae,
        empty_ok: real.load != 0,
    })
    .expect("import")
    .scenario
}

/// Where a pfn is: lowmem, highmem below 4 GiB, or above 4 GiB.
fn region(sc: &Scenario, pfn: u64) -> u8 {
    let lowmem_end = sc.lowmem_end.unwrap_or(0x3800_0000) >> 12;
    if pfn < lowmem_end {
        0
    } else if pfn < 0x10_0000 {
        1
    } else {
        2
    }
}

/// The real order and `buddy`'s on the capture's machine and segments.
fn orders(name: &str) -> (Scenario, Vec<u64>, Vec<u64>) {
    let real_sc = scenario(name);
    let Policy::Replay(real) = real_sc.policy.clone() else {
        panic!("{name}: the import is not a replay")
    };
    let mut sc = real_sc;
    sc.policy = Policy::Buddy;
    let ours = allocation_order(&sc, Variant::Pointer);
    (sc, real, ours)
}

/// The highmem pages of an order, in order.
fn highmem(sc: &Scenario, order: &[u64]) -> Vec<u64> {
    order
        .iter()
        .copied()
        .filter(|&p| region(sc, p) > 0)
        .collect()
}

/// How often the next highmem page is the one after it (ascending inside
/// a block), in permille.
fn ascending(pages: &[u64]) -> usize {
    let up = pages.windows(2).filter(|w| w[1] == w[0] + 1).count();
    up * 1000 / pages.len().saturating_sub(1).max(1)
}

/// How often the next 1024-page block an order enters lies below the one
/// before, in permille.
fn top_down(pages: &[u64]) -> usize {
    let mut blocks: Vec<u64> = pages
        .iter()
        .map(|p| p / kexec_core::page_alloc::BUDDY_BLOCK)
        .collect();
    blocks.dedup();
    let down = blocks.windows(2).filter(|w| w[1] < w[0]).count();
    down * 1000 / blocks.len().saturating_sub(1).max(1)
}

/// The plain load of a 5.7 MB kernel on the 8 GiB PAE box: the real
/// allocator hands out every page above 4 GiB first, 1024-page blocks
/// from the top down, ascending inside each, then highmem below 4 GiB;
/// `buddy` does the same, so the load parks the same pages on
/// unusable_pages.
#[test]
fn buddy_takes_the_8g_box_from_the_top_down_as_the_real_kernel_did() {
    let (sc, real, ours) = orders("plain-8g");
    assert_eq!(real.len(), 1_309_956);
    let n = real.len().min(ours.len());
    let same = (0..n)
        .filter(|&i| region(&sc, real[i]) == region(&sc, ours[i]))
        .count();
    assert!(
        same * 1000 >= n * 995,
        "same region for {same} of {n} calls"
    );
    // 1024-page blocks taken from the top down: the blocks in the order
    // their first page was handed out descend, in the real order and in
    // buddy's.
    let (hr, ho) = (highmem(&sc, &real), highmem(&sc, &ours));
    assert!(top_down(&hr) >= 990, "real {}", top_down(&hr));
    assert!(top_down(&ho) >= 990, "buddy {}", top_down(&ho));
    let real_run = run_variant(&scenario("plain-8g"), Variant::Pointer, Default::default());
    let ours_run = run_variant(&sc, Variant::Pointer, Default::default());
    let (r, o) = (
        real_run.counters.unusable_pages,
        ours_run.counters.unusable_pages,
    );
    assert!(
        r > 1_300_000 && o.abs_diff(r) * 200 <= r,
        "unusable: real {r}, buddy {o}"
    );
    assert!(ascending(&ho) >= 990, "buddy {}", ascending(&ho));
    assert!(ascending(&hr) >= 990, "real {}", ascending(&hr));
}

/// On the 3 GiB captures (a booted machine whose user space ran), the
/// first highmem page the load gets is in the top whole block of highmem
/// below 4 GiB, and the pages ascend from there, in the real kernel's
/// order and in `buddy`'s.
#[test]
fn buddy_starts_highmem_where_the_3g_captures_did() {
    for name in ["swap-chain", "highmem-retry"] {
        let (sc, real, ours) = orders(name);
        let (hr, ho) = (highmem(&sc, &real), highmem(&sc, &ours));
        let block = |p: u64| p / kexec_core::page_alloc::BUDDY_BLOCK;
        assert_eq!(
            block(hr[0]),
            block(ho[0]),
            "{name}: real {:#x}, buddy {:#x}",
            hr[0],
            ho[0]
        );
        assert!(ascending(&hr) >= 800, "{name}: real {}", ascending(&hr));
        assert!(ascending(&ho) >= 990, "{name}: buddy {}", ascending(&ho));
    }
}
