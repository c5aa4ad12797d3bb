//! Hand-worked golden cases for the `entries` format.
//!
//! Every scenario here uses a replay allocator, so every page the model gets
//! is one chosen below, and every expected entry word is derived by hand
//! from the kernel algorithm (kernel/kexec_core.c, 6.1):
//!
//! * allocator call order: kimage_alloc_init asks the control code page
//!   (KEXEC_CONTROL_MEMORY_GFP, order get_order(KEXEC_CONTROL_PAGE_SIZE):
//!   0 on x86_32, 1 on x86_64), then the swap page (order 0); then
//!   kimage_load_normal_segment adds the DESTINATION entry (which asks the
//!   first indirection page, GFP_KERNEL upstream) and, per page of memsz,
//!   kimage_alloc_page(GFP_HIGHUSER, maddr) *before* kimage_add_page (which
//!   may in turn ask a new indirection page);
//! * kimage_add_entry: the link slot is slot 511 (x86_64) / 1023 (x86_32);
//!   a data entry never goes there; the link is written only when one more
//!   entry is needed; kimage_terminate writes IND_DONE at the cursor, which
//!   may be a link slot;
//! * kimage_alloc_page: dest_pages first (no allocator call), then loop:
//!   pfn > KEXEC_SOURCE_MEMORY_LIMIT >> 12 → unusable_pages; the wanted
//!   destination itself or a non-destination page → use it; a destination
//!   page with a SOURCE entry (kimage_dst_used) → swap; otherwise
//!   dest_pages.
//!
//! Each case runs `pointer` and `rfc-fixed` on the same replay and says
//! where they agree and where they differ.

use kexec_core::arch::Arch;
use kexec_core::design::Variant;
use kexec_core::gfp::{Gfp, GFP_HIGHUSER, GFP_KERNEL, KEXEC_CONTROL_MEMORY_GFP};
use kexec_core::kimage::{Role, Stop};
use kexec_core::page_alloc::Policy;
use kexec_core::relocate::Relocation;
use kexec_core::report;
use kexec_core::run::{run_variant, Outcome, RunOptions, Unload, VariantRun};
use kexec_core::scenario::Scenario;
use kexec_core::trace::{Event, Pos};

use kexec_common::units::GIB;
use kexec_common::units::MIB;

fn scenario(
    arch: Arch,
    ram: &[(u64, u64)],
    segs: &[(u64, u64, u64)],
    replay: Vec<u64>,
) -> Scenario {
    Scenario::new(
        arch,
        ram,
        segs,
        Policy::Replay(replay),
        &[Variant::Pointer, Variant::RfcFixed],
    )
}

/// Run with the relocation check (and the trace, which changes nothing but
/// lets the tests see each allocator call's gfp).
fn run(sc: &Scenario, v: Variant) -> VariantRun {
    run_variant(
        sc,
        v,
        RunOptions {
            relocate: true,
            trace: true,
            ..Default::default()
        },
    )
}

fn lines(r: &VariantRun) -> Vec<String> {
    report::entries(r).lines().map(str::to_string).collect()
}

fn w32(v: u64) -> String {
    format!("0x{v:08x}")
}

fn w64(v: u64) -> String {
    format!("0x{v:016x}")
}

/// The run loaded, relocated fine (with `copies` SOURCE entries) and prints
/// exactly `want`.
fn assert_golden(r: &VariantRun, want: &[String], copies: u64) {
    assert_eq!(r.outcome, Outcome::Loaded, "{}: {}", r.variant, r.verdict());
    assert_eq!(
        r.relocation,
        Some(Relocation::Ok { copies }),
        "{}: {}",
        r.variant,
        r.verdict()
    );
    let got = lines(r);
    assert_eq!(got.len(), want.len(), "{}: line count", r.variant);
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert_eq!(g, w, "{}: line {i}", r.variant);
    }
    assert_eq!(r.exit_status(), 0);
}

/// The gfp of every allocator call, in order.
fn alloc_gfps(r: &VariantRun) -> Vec<(u64, Gfp, u64)> {
    r.kimage
        .trace
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Alloc { call, gfp, pfn, .. } => Some((*call, *gfp, *pfn)),
            _ => None,
        })
        .collect()
}

fn terminate_pos(r: &VariantRun) -> Pos {
    r.kimage
        .trace
        .events
        .iter()
        .find_map(|e| match e {
            Event::Terminate { pos } => Some(*pos),
            _ => None,
        })
        .expect("kimage_terminate ran")
}

// ---------------------------------------------------------------------
// Small lists
// ---------------------------------------------------------------------

/// i386, 64 MiB (pfns 0..0x4000: ZONE_DMA below 0x1000, ZONE_NORMAL above,
/// all lowmem). One segment of 3 pages at 16 MiB, buffer 2.5 pages.
#[test]
fn small_list_i386() {
    let sc = scenario(
        Arch::I386,
        &[(0, 64 * MIB)],
        &[(0x2800, 0x100_0000, 0x3000)],
        // call 1: control code page (order 0 on x86_32): pfn 0x2000, end pfn
        //         0x2001 < 0xC0000 (KEXEC_CONTROL_MEMORY_LIMIT), not a
        //         destination: kept.
        // call 2: swap page: 0x2001.
        // call 3: kimage_set_destination -> kimage_add_entry finds the
        //         cursor on &image->head == last_entry, so it asks an
        //         indirection page: 0x2002 (not in [0x1000, 0x1003)).
        // calls 4-6: source pages of pages 0, 1, 2: 0x3000, 0x3001, 0x3002,
        //         none a destination page, so kept as they are.
        vec![0x2000, 0x2001, 0x2002, 0x3000, 0x3001, 0x3002],
    );
    let want: Vec<String> = [
        0x0200_2002u64, // head: 0x2002 << 12 | IND_INDIRECTION
        0x0100_0001,    // slot 0: 0x1000000 | IND_DESTINATION
        0x0300_0008,    // slot 1: page 0 source 0x3000 << 12 | IND_SOURCE
        0x0300_1008,    // slot 2: page 1
        0x0300_2008,    // slot 3: page 2 (half buffer, half zeros)
        0x0000_0004,    // slot 4: kimage_terminate writes IND_DONE
    ]
    .iter()
    .map(|&v| w32(v))
    .collect();
    let p = run(&sc, Variant::Pointer);
    let f = run(&sc, Variant::RfcFixed);
    assert_golden(&p, &want, 3);
    assert_golden(&f, &want, 3);
    // 32-bit entries print with 8 hex digits.
    assert!(lines(&p).iter().all(|l| l.len() == 10));
    // Same pages, same order; they differ only in the gfp of call 3, the
    // indirection page: GFP_KERNEL upstream, GFP_HIGHUSER in the RFC.
    let (gp, gf) = (alloc_gfps(&p), alloc_gfps(&f));
    assert_eq!(gp.len(), 6);
    assert_eq!(gf.len(), 6);
    for (i, (a, b)) in gp.iter().zip(&gf).enumerate() {
        assert_eq!(a.2, b.2, "call {} pfn", i + 1);
        let want_p = match i {
            0 | 1 => KEXEC_CONTROL_MEMORY_GFP,
            2 => GFP_KERNEL,
            _ => GFP_HIGHUSER,
        };
        let want_f = if i == 2 { GFP_HIGHUSER } else { want_p };
        assert_eq!(a.1, want_p, "pointer call {}", i + 1);
        assert_eq!(b.1, want_f, "rfc-fixed call {}", i + 1);
    }
    // DONE is slot 4 of the indirection page.
    assert_eq!(
        terminate_pos(&p),
        Pos::Slot {
            pfn: 0x2002,
            idx: 4
        }
    );
    assert_eq!(
        terminate_pos(&f),
        Pos::Slot {
            pfn: 0x2002,
            idx: 4
        }
    );
}

/// x86_64, 64 MiB: ZONE_DMA below pfn 0x1000, ZONE_DMA32 above (no
/// ZONE_NORMAL below 4 GiB). KEXEC_CONTROL_PAGE_SIZE is 8192, so the control
/// code page is an order-1 block and its replay pfn must be even.
#[test]
fn small_list_x86_64() {
    let sc = scenario(
        Arch::X86_64,
        &[(0, 64 * MIB)],
        &[(0x1800, 0x100_0000, 0x2000)],
        // call 1: control code block, order 1: pfns 0x2000-0x2001.
        // call 2: swap page 0x2002. call 3: first indirection page 0x2003.
        // calls 4-5: sources of pages 0 and 1.
        vec![0x2000, 0x2002, 0x2003, 0x3000, 0x3001],
    );
    let want: Vec<String> = [
        0x2003002u64, // head -> indirection page 0x2003
        0x1000001,    // DESTINATION 16 MiB
        0x3000008,    // page 0 (0x1000 bytes of buffer)
        0x3001008,    // page 1 (0x800 bytes of buffer, then zeros)
        0x4,          // IND_DONE
    ]
    .iter()
    .map(|&v| w64(v))
    .collect();
    let p = run(&sc, Variant::Pointer);
    let f = run(&sc, Variant::RfcFixed);
    assert_golden(&p, &want, 2);
    assert_golden(&f, &want, 2);
    // 64-bit entries print with 16 hex digits.
    assert!(lines(&p).iter().all(|l| l.len() == 18));
    assert_eq!(p.kimage.control_code_page, Some(0x2000));
    assert_eq!(p.kimage.order_of(0x2000), 1);
    assert_eq!(p.kimage.swap_page, Some(0x2002));
    // On x86_64 GFP_KERNEL and GFP_HIGHUSER reach the same zones; the calls
    // differ only in the flag asked for the indirection page.
    assert_eq!(alloc_gfps(&p)[2].1, GFP_KERNEL);
    assert_eq!(alloc_gfps(&f)[2].1, GFP_HIGHUSER);
}

/// An odd pfn for x86_64's order-1 control block is a replay error naming
/// call 1 (CLI exit status 5), for both designs.
#[test]
fn x86_64_control_block_needs_even_pfn() {
    let sc = scenario(
        Arch::X86_64,
        &[(0, 64 * MIB)],
        &[(0x1000, 0x100_0000, 0x1000)],
        vec![0x2001, 0x2003, 0x2004, 0x3000],
    );
    for v in [Variant::Pointer, Variant::RfcFixed] {
        let r = run(&sc, v);
        match &r.outcome {
            Outcome::Stopped(Stop::Replay(e)) => {
                assert_eq!(e.call, 1);
                assert_eq!(e.pfn, 0x2001);
                assert_eq!(e.order, 1);
                assert!(e.reason.contains("aligned"), "{}", e.reason);
            }
            o => panic!("{v}: expected a replay error, got {o:?}"),
        }
        assert_eq!(r.exit_status(), 5);
        assert!(report::entries(&r).starts_with("replay: allocator call 1 "));
    }
}

// ---------------------------------------------------------------------
// Lists longer than one indirection page
// ---------------------------------------------------------------------

/// x86_64: 512 slots per page, data in slots 0..=510, link in slot 511.
/// One segment of 511 pages gives 512 data entries (1 DESTINATION + 511
/// SOURCE): page 1 takes the DESTINATION and pages 0..=509 (511 entries);
/// the SOURCE of page 510 finds the cursor on the link slot, so
/// kimage_add_entry asks a second indirection page (after the source page
/// itself was asked) and writes the link into slot 511.
#[test]
fn second_indirection_page_x86_64() {
    let n = 511u64;
    let mut replay = vec![0x2000, 0x2002, 0x2003]; // control (order 1), swap, page 1
    replay.extend((0..510).map(|j| 0x3000 + j)); // sources of pages 0..=509
    replay.push(0x3000 + 510); // source of page 510, asked first...
    replay.push(0x2800); // ...then the second indirection page
    let sc = scenario(
        Arch::X86_64,
        &[(0, 64 * MIB)],
        &[(n * 4096, 0x100_0000, n * 4096)],
        replay,
    );
    let mut want = vec![w64(0x2003002), w64(0x1000001)];
    want.extend((0..510).map(|j| w64(((0x3000 + j) << 12) | 8)));
    want.push(w64(0x2800002)); // slot 511 of page 1: link to 0x2800
    want.push(w64(0x31fe008)); // slot 0 of page 2: page 510's source
    want.push(w64(0x4)); // slot 1 of page 2: IND_DONE
    assert_eq!(want.len(), 515);
    let p = run(&sc, Variant::Pointer);
    let f = run(&sc, Variant::RfcFixed);
    assert_golden(&p, &want, 511);
    assert_golden(&f, &want, 511);
    for r in [&p, &f] {
        assert_eq!(r.kimage.counters.indirection_pages, 2);
        assert_eq!(r.entries.get(0).expect("an entry").0, Pos::Head);
        assert_eq!(
            r.entries.get(1).expect("an entry").0,
            Pos::Slot {
                pfn: 0x2003,
                idx: 0
            }
        );
        assert_eq!(
            r.entries.get(512).expect("an entry").0,
            Pos::Slot {
                pfn: 0x2003,
                idx: 511
            }
        );
        assert_eq!(
            r.entries.get(513).expect("an entry").0,
            Pos::Slot {
                pfn: 0x2800,
                idx: 0
            }
        );
        assert_eq!(
            terminate_pos(r),
            Pos::Slot {
                pfn: 0x2800,
                idx: 1
            }
        );
    }
    // The second indirection page is allocator call 515, after the source
    // of page 510 (call 514).
    let gp = alloc_gfps(&p);
    assert_eq!(gp[513], (514, GFP_HIGHUSER, 0x31fe));
    assert_eq!(gp[514], (515, GFP_KERNEL, 0x2800));
    assert_eq!(alloc_gfps(&f)[514], (515, GFP_HIGHUSER, 0x2800));
}

/// x86_64 exact fit: 510 pages give 511 data entries, filling slots 0..=510;
/// the cursor then sits on the link slot, and kimage_terminate writes
/// IND_DONE there without asking a page. The replay has no pfn to spare: one
/// more allocator call would be -ENOMEM.
#[test]
fn done_in_link_slot_x86_64() {
    let n = 510u64;
    let mut replay = vec![0x2000, 0x2002, 0x2003];
    replay.extend((0..n).map(|j| 0x3000 + j));
    let sc = scenario(
        Arch::X86_64,
        &[(0, 64 * MIB)],
        &[(n * 4096, 0x100_0000, n * 4096)],
        replay,
    );
    let mut want = vec![w64(0x2003002), w64(0x1000001)];
    want.extend((0..n).map(|j| w64(((0x3000 + j) << 12) | 8)));
    want.push(w64(0x4));
    assert_eq!(want.len(), 513);
    for v in [Variant::Pointer, Variant::RfcFixed] {
        let r = run(&sc, v);
        assert_golden(&r, &want, n);
        assert_eq!(r.kimage.counters.indirection_pages, 1);
        assert_eq!(r.kimage.alloc_calls(), 3 + n);
        assert_eq!(
            terminate_pos(&r),
            Pos::Slot {
                pfn: 0x2003,
                idx: 511
            }
        );
        assert_eq!(r.end_word, 4);
    }
}

/// i386: 1024 slots per page, data in slots 0..=1022, link in slot 1023.
/// 1023 pages: the DESTINATION and pages 0..=1021 fill page 1; page 1022's
/// SOURCE goes to slot 0 of a second page.
#[test]
fn second_indirection_page_i386() {
    let n = 1023u64;
    let mut replay = vec![0x2000, 0x2001, 0x2002];
    replay.extend((0..1022).map(|j| 0x3000 + j));
    replay.push(0x3000 + 1022); // source of page 1022
    replay.push(0x2800); // second indirection page
    let sc = scenario(
        Arch::I386,
        &[(0, 64 * MIB)],
        &[(n * 4096, 0x100_0000, n * 4096)],
        replay,
    );
    let mut want = vec![w32(0x0200_2002), w32(0x0100_0001)];
    want.extend((0..1022).map(|j| w32(((0x3000 + j) << 12) | 8)));
    want.push(w32(0x0280_0002)); // slot 1023: link
    want.push(w32(0x033f_e008)); // page 2 slot 0: page 1022 (pfn 0x33fe)
    want.push(w32(0x4)); // page 2 slot 1: IND_DONE
    assert_eq!(want.len(), 1027);
    for v in [Variant::Pointer, Variant::RfcFixed] {
        let r = run(&sc, v);
        assert_golden(&r, &want, n);
        assert_eq!(r.kimage.counters.indirection_pages, 2);
        assert_eq!(
            r.entries.get(1024).expect("an entry").0,
            Pos::Slot {
                pfn: 0x2002,
                idx: 1023
            }
        );
        assert_eq!(
            terminate_pos(&r),
            Pos::Slot {
                pfn: 0x2800,
                idx: 1
            }
        );
    }
}

/// i386 exact fit: 1022 pages, 1023 data entries; IND_DONE in slot 1023.
#[test]
fn done_in_link_slot_i386() {
    let n = 1022u64;
    let mut replay = vec![0x2000, 0x2001, 0x2002];
    replay.extend((0..n).map(|j| 0x3000 + j));
    let sc = scenario(
        Arch::I386,
        &[(0, 64 * MIB)],
        &[(n * 4096, 0x100_0000, n * 4096)],
        replay,
    );
    let mut want = vec![w32(0x0200_2002), w32(0x0100_0001)];
    want.extend((0..n).map(|j| w32(((0x3000 + j) << 12) | 8)));
    want.push(w32(0x4));
    for v in [Variant::Pointer, Variant::RfcFixed] {
        let r = run(&sc, v);
        assert_golden(&r, &want, n);
        assert_eq!(r.kimage.counters.indirection_pages, 1);
        assert_eq!(
            terminate_pos(&r),
            Pos::Slot {
                pfn: 0x2002,
                idx: 1023
            }
        );
    }
}

// ---------------------------------------------------------------------
// The swap path
// ---------------------------------------------------------------------

/// i386, 3 pages at 16 MiB. Page 2's request (destination 0x1002000) is
/// handed pfn 0x1001, the destination of page 1, which already has a SOURCE
/// entry (slot 2, source 0x2004). kimage_dst_used walks: slot 0 DESTINATION
/// sets 0x1000000; slot 1 SOURCE is for 0x1000000 (then 0x1001000); slot 2
/// SOURCE is for 0x1001000: match. copy_highpage(0x1001 <- 0x2004), slot 2
/// becomes 0x1001000 | IND_SOURCE, and since GFP_HIGHUSER has __GFP_HIGHMEM
/// the old page 0x2004 is returned for page 2.
#[test]
fn swap_path() {
    let sc = scenario(
        Arch::I386,
        &[(0, 64 * MIB)],
        &[(0x2800, 0x100_0000, 0x3000)],
        vec![0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x1001],
    );
    let want: Vec<String> = [
        0x0200_2002u64,
        0x0100_0001,
        0x0200_3008, // page 0
        0x0100_1008, // page 1: rewritten to its own destination
        0x0200_4008, // page 2: the old page of page 1
        0x4,
    ]
    .iter()
    .map(|&v| w32(v))
    .collect();
    let p = run(&sc, Variant::Pointer);
    let f = run(&sc, Variant::RfcFixed);
    assert_golden(&p, &want, 3);
    assert_golden(&f, &want, 3);
    for r in [&p, &f] {
        let c = &r.kimage.counters;
        assert_eq!(c.swaps, 1);
        assert_eq!(c.highmem_frees, 0);
        assert_eq!(c.dest_pages, 0);
        assert_eq!(r.kimage.alloc_calls(), 6);
        let swaps: Vec<_> = r
            .kimage
            .trace
            .events
            .iter()
            .filter(|e| matches!(e, Event::Swap { .. }))
            .collect();
        assert_eq!(
            swaps,
            vec![&Event::Swap {
                new_pfn: 0x1001,
                old_pfn: 0x2004,
                dest: 0x100_1000,
                pos: Pos::Slot {
                    pfn: 0x2002,
                    idx: 2
                },
            }]
        );
    }
}

/// The swap path on an indirection-page request, where the designs part.
/// i386 with 2 GiB (lowmem below pfn 0x38000). 1023 pages at 16 MiB, every
/// source page in highmem (0x40000 + page). The request for the second
/// indirection page (after page 1022's source) is handed pfn 0x1005, the
/// destination of page 5, whose SOURCE entry is slot 6 (old page 0x40005):
/// slot 6 becomes 0x01005008 in both designs. Then:
/// * pointer asked GFP_KERNEL, and PageHighMem(0x40005): it frees 0x40005
///   and loops; the next call gets 0x2100, the indirection page;
/// * rfc-fixed asked GFP_HIGHUSER: it keeps 0x40005 as the indirection page
///   (it reaches it through kmap) and never makes that last call.
#[test]
fn swap_hands_highmem_page_to_indirection_request() {
    let n = 1023u64;
    let mut replay = vec![0x2000, 0x2001, 0x2002];
    replay.extend((0..n).map(|j| 0x40000 + j));
    replay.push(0x1005);
    replay.push(0x2100);
    let sc = scenario(
        Arch::I386,
        &[(0, 2 * GIB)],
        &[(n * 4096, 0x100_0000, n * 4096)],
        replay,
    );
    let src = |j: u64| {
        if j == 5 {
            w32(0x0100_5008)
        } else {
            w32(((0x40000 + j) << 12) | 8)
        }
    };
    let mut want_p = vec![w32(0x0200_2002), w32(0x0100_0001)];
    want_p.extend((0..1022).map(src));
    want_p.push(w32(0x0210_0002)); // link -> 0x2100
    want_p.push(src(1022));
    want_p.push(w32(0x4));
    let mut want_f = want_p.clone();
    want_f[1024] = w32(0x4000_5002); // link -> 0x40005, a highmem page
    let opts = RunOptions {
        relocate: true,
        unload: true,
        trace: true,
        first_step: false,
    };
    let p = run_variant(&sc, Variant::Pointer, opts);
    let f = run_variant(&sc, Variant::RfcFixed, opts);
    assert_golden(&p, &want_p, n);
    assert_golden(&f, &want_f, n);
    let (lp, lf) = (lines(&p), lines(&f));
    let differ: Vec<usize> = (0..lp.len()).filter(|&i| lp[i] != lf[i]).collect();
    assert_eq!(differ, vec![1024], "only the link entry differs");
    assert_eq!(p.kimage.counters.highmem_frees, 1);
    assert_eq!(f.kimage.counters.highmem_frees, 0);
    assert_eq!(p.kimage.counters.swaps, 1);
    assert_eq!(f.kimage.counters.swaps, 1);
    assert_eq!(p.kimage.alloc_calls(), 3 + n + 2);
    assert_eq!(f.kimage.alloc_calls(), 3 + n + 1);
    assert!(p
        .kimage
        .trace
        .events
        .contains(&Event::HighmemFree { pfn: 0x40005 }));
    assert_eq!(p.unload, Some(Unload::Ok { freed: 3 + n + 1 }));
    assert_eq!(f.unload, Some(Unload::Ok { freed: 3 + n + 1 }));
    // highmem-zone: PageHighMemZone(0x40005) is true too (ZONE_HIGHMEM), so
    // it does what pointer does.
    let z = run(&sc, Variant::HighmemZone);
    assert_golden(&z, &want_p, n);
}

// ---------------------------------------------------------------------
// dest_pages
// ---------------------------------------------------------------------

/// i386, 3 pages at 16 MiB. Page 0's request is handed 0x1002, the
/// destination of page 2: no SOURCE entry is for it yet (kimage_dst_used
/// walks head -> DESTINATION -> 0 and finds none), so it goes on dest_pages
/// and the loop asks again (0x2003). Page 2's request finds 0x1002 on
/// dest_pages and takes it without an allocator call: 6 calls in all, and
/// the replay has exactly 6 pfns.
#[test]
fn dest_pages_reused_by_source_request() {
    let sc = scenario(
        Arch::I386,
        &[(0, 64 * MIB)],
        &[(0x3000, 0x100_0000, 0x3000)],
        vec![0x2000, 0x2001, 0x2002, 0x1002, 0x2003, 0x2004],
    );
    let want: Vec<String> = [
        0x0200_2002u64,
        0x0100_0001,
        0x0200_3008, // page 0
        0x0200_4008, // page 1
        0x0100_2008, // page 2: its own destination, from dest_pages
        0x4,
    ]
    .iter()
    .map(|&v| w32(v))
    .collect();
    for v in [Variant::Pointer, Variant::RfcFixed] {
        let r = run(&sc, v);
        assert_golden(&r, &want, 3);
        let c = &r.kimage.counters;
        assert_eq!((c.dest_pages, c.dest_pages_reused, c.swaps), (1, 1, 0));
        assert_eq!(r.kimage.alloc_calls(), 6);
        let ev = &r.kimage.trace.events;
        let filed = ev
            .iter()
            .position(|e| *e == Event::DestPageFiled { pfn: 0x1002 })
            .expect("filed");
        let reused = ev
            .iter()
            .position(|e| *e == Event::DestPageReused { pfn: 0x1002 })
            .expect("reused");
        assert!(filed < reused);
        // No allocator call between page 2's LoadPage and its reuse.
        let load2 = ev
            .iter()
            .position(|e| {
                matches!(
                    e,
                    Event::LoadPage {
                        seg: 0,
                        page: 2,
                        ..
                    }
                )
            })
            .unwrap();
        assert!(!ev[load2..reused]
            .iter()
            .any(|e| matches!(e, Event::Alloc { .. })));
    }
}

/// A destination page handed to the very first indirection request: image
/// ->head is still 0, so kimage_dst_used's walk ends at once and the page
/// (0x1001, page 1's destination) goes on dest_pages; the loop takes 0x2002
/// as the indirection page. Page 1 later reuses 0x1001.
#[test]
fn dest_pages_filed_by_indirection_request() {
    let sc = scenario(
        Arch::I386,
        &[(0, 64 * MIB)],
        &[(0x3000, 0x100_0000, 0x3000)],
        vec![0x2000, 0x2001, 0x1001, 0x2002, 0x2003, 0x2004],
    );
    let want: Vec<String> = [
        0x0200_2002u64,
        0x0100_0001,
        0x0200_3008, // page 0 (call 5)
        0x0100_1008, // page 1 from dest_pages, no call
        0x0200_4008, // page 2 (call 6)
        0x4,
    ]
    .iter()
    .map(|&v| w32(v))
    .collect();
    let p = run(&sc, Variant::Pointer);
    let f = run(&sc, Variant::RfcFixed);
    assert_golden(&p, &want, 3);
    assert_golden(&f, &want, 3);
    for r in [&p, &f] {
        assert_eq!(r.kimage.counters.dest_pages, 1);
        assert_eq!(r.kimage.counters.dest_pages_reused, 1);
        assert_eq!(r.kimage.alloc_calls(), 6);
    }
    // Calls 3 and 4 are the indirection request in both designs, with the
    // design's gfp.
    let (gp, gf) = (alloc_gfps(&p), alloc_gfps(&f));
    assert_eq!(
        &gp[2..4],
        &[(3, GFP_KERNEL, 0x1001), (4, GFP_KERNEL, 0x2002)]
    );
    assert_eq!(
        &gf[2..4],
        &[(3, GFP_HIGHUSER, 0x1001), (4, GFP_HIGHUSER, 0x2002)]
    );
}

// ---------------------------------------------------------------------
// unusable_pages (i386-pae)
// ---------------------------------------------------------------------

/// i386-pae with RAM 0-64 MiB and 4 GiB-1 MiB .. 4 GiB+1 MiB. Pages at or
/// above pfn 0x100000 are above KEXEC_SOURCE_MEMORY_LIMIT (0xFFFFFFFF, so
/// the test is pfn > 0xFFFFF); GFP_HIGHUSER reaches them (ZONE_HIGHMEM).
/// Page 0 gets 0x100000 (unusable), then 0xfffff, the last page below
/// 4 GiB, which is fine; page 1 gets 0x100001 and 0x100002 (unusable),
/// then 0x2003.
#[test]
fn unusable_pages_i386_pae() {
    let sc = scenario(
        Arch::I386Pae,
        &[(0, 64 * MIB), (4 * GIB - MIB, 4 * GIB + MIB)],
        &[(0x2000, 0x100_0000, 0x2000)],
        vec![
            0x2000, 0x2001, 0x2002, 0x100000, 0xfffff, 0x100001, 0x100002, 0x2003,
        ],
    );
    let want: Vec<String> = [0x0200_2002u64, 0x0100_0001, 0xffff_f008, 0x0200_3008, 0x4]
        .iter()
        .map(|&v| w32(v))
        .collect();
    let opts = RunOptions {
        relocate: true,
        unload: false,
        trace: true,
        first_step: false,
    };
    for v in [Variant::Pointer, Variant::RfcFixed] {
        let r = run_variant(&sc, v, opts);
        assert_golden(&r, &want, 2);
        assert_eq!(r.kimage.counters.unusable_pages, 3);
        assert_eq!(r.kimage.alloc_calls(), 8);
        for pfn in [0x100000, 0x100001, 0x100002] {
            assert_eq!(r.kimage.roles.get(pfn), Some(Role::Unusable), "{pfn:x}");
            assert!(r.kimage.trace.events.contains(&Event::Unusable { pfn }));
        }
        assert_eq!(r.kimage.roles.get(0xfffff), Some(Role::Source));
        // They stay held until kimage_free, which gives them back.
        let u = run_variant(
            &sc,
            v,
            RunOptions {
                unload: true,
                ..opts
            },
        );
        assert_eq!(u.unload, Some(Unload::Ok { freed: 8 }));
    }
}

/// Where the designs part on unusable pages: rfc-fixed asks indirection
/// pages with GFP_HIGHUSER, so a replayed pfn above 4 GiB is a legal answer
/// to call 3; it is parked on unusable_pages and the loop asks again.
/// pointer asks GFP_KERNEL, which cannot reach ZONE_HIGHMEM: the same replay
/// is a replay error on call 3.
#[test]
fn unusable_indirection_request_only_in_rfc_fixed() {
    let sc = scenario(
        Arch::I386Pae,
        &[(0, 64 * MIB), (4 * GIB, 4 * GIB + 64 * MIB)],
        &[(0x2000, 0x100_0000, 0x2000)],
        vec![0x2000, 0x2001, 0x100005, 0x2002, 0x2003, 0x2004],
    );
    let want: Vec<String> = [0x0200_2002u64, 0x0100_0001, 0x0200_3008, 0x0200_4008, 0x4]
        .iter()
        .map(|&v| w32(v))
        .collect();
    let f = run(&sc, Variant::RfcFixed);
    assert_golden(&f, &want, 2);
    assert_eq!(f.kimage.counters.unusable_pages, 1);
    assert_eq!(f.kimage.roles.get(0x100005), Some(Role::Unusable));
    let p = run(&sc, Variant::Pointer);
    match &p.outcome {
        Outcome::Stopped(Stop::Replay(e)) => {
            assert_eq!((e.call, e.pfn, e.gfp), (3, 0x100005, GFP_KERNEL));
            assert!(e.reason.contains("ZONE_HIGHMEM"), "{}", e.reason);
        }
        o => panic!("expected a replay error, got {o:?}"),
    }
    assert_eq!(p.exit_status(), 5);
    assert_eq!(p.relocation, None);
}
