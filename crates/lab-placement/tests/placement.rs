//! Property tests of kexec_file placement (kernel/kexec_file.c, 6.1 and
//! every other placement variant: the later top-down fix, bottom-up, the
//! reverse walk).

use kexec_lab_placement::placement::{kexec_add_buffer, KexecBuf, Placed, SystemRam};
use kexec_lab_placement::ALL_PLACE_VARIANTS;
use proptest::prelude::*;

fn machine() -> impl Strategy<Value = Vec<SystemRam>> {
    // Sorted, disjoint, page-aligned ranges above page 0 (x86 never reports
    // page 0 as System RAM), some driver-managed.
    prop::collection::vec((1u64..64, 1u64..4096, any::<bool>()), 1..6).prop_map(|parts| {
        let mut at = 0x1000u64;
        parts
            .into_iter()
            .map(|(gap, pages, dm)| {
                let start = at + gap * 0x10_0000;
                let end = start + pages * 0x1000 * 64 - 1;
                at = end + 1;
                SystemRam {
                    start,
                    end,
                    driver_managed: dm && pages % 3 == 0,
                }
            })
            .collect()
    })
}

fn buffer() -> impl Strategy<Value = KexecBuf> {
    (
        1u64..8192,
        12u32..24,
        0u64..0x400_0000,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(pages, shift, min, top, capped)| {
            let memsz = pages * 0x100 + 1; // unaligned on purpose: kexec_add_buffer rounds it
            KexecBuf {
                name: "b".into(),
                memsz,
                buf_min: min,
                buf_max: if capped {
                    min + 0x1000_0000 + memsz
                } else {
                    u64::MAX
                },
                align: 1 << shift,
                top_down: top,
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn placed_buffers_fit(ram in machine(), bufs in prop::collection::vec(buffer(), 1..8), variant in prop::sample::select(ALL_PLACE_VARIANTS.to_vec())) {
        let search = variant.search();
        let mut segs: Vec<Placed> = Vec::new();
        for b in &bufs {
            let before = segs.clone();
            let Ok(mem) = kexec_add_buffer(&ram, &mut segs, b, search) else {
                prop_assert_eq!(&segs, &before, "a failed add places nothing");
                continue;
            };
            let memsz = b.memsz.div_ceil(0x1000) * 0x1000;
            let last = mem + memsz - 1;
            prop_assert!(ram.iter().any(|r| !r.driver_managed && r.start <= mem && last <= r.end),
                "inside one usable System RAM range: {mem:#x}-{last:#x}");
            prop_assert!(mem >= b.buf_min && last <= b.buf_max);
            prop_assert_eq!(mem % b.align.max(0x1000), 0);
            prop_assert!(before.iter().all(|s| last < s.mem || mem >= s.mem + s.memsz), "no overlap");
        }
    }
}
