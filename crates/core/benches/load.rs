//! The core's speed budget, measured with criterion:
//!
//! * the `huge-initrd` preset, a 1 GiB image (262,144 source pages) on an
//!   8 GiB i386-pae machine with the adversarial allocator: each of the
//!   four kernel designs loads it and runs the relocation check within
//!   40 ms (one core, native; issue 16, was 100 ms);
//! * a small scenario (the `swap-path` preset, both of its variants with
//!   relocation), what the explorer runs per candidate;
//! * the explorer itself: at least 10,000 candidates a second on one core
//!   (500 candidates of `verdict:pointer,rfc-fixed` per iteration; issue
//!   16, was 2,000);
//! * how cost grows with the image (`scaling`): 64 MiB to 4 GiB on a
//!   16 GiB machine, in source pages per second;
//! * the floor under the first budget (`floor-plain-tables` in the 1 GiB
//!   group, [`floor`]): the preset's kernel steps for the pointer design
//!   on plain flat tables, not the model, what no model keeping the
//!   kimage's per-pfn state could do much faster on the host;
//! * the host (`host`): no code of ours, a chain of dependent integer
//!   operations (the clock) and a chase of dependent loads through 64 MiB
//!   (the memory's latency), so a reading can be told from the host it
//!   was taken on (the shared host's speed moves by 10-25% within
//!   minutes, and more from one machine to the next).

mod floor;

use criterion::{criterion_group, criterion_main, Criterion};
use kexec_core::design::KERNEL_VARIANTS as ALL_VARIANTS;
use kexec_core::presets;
use kexec_core::run::{run_variant, RunOptions};
use std::hint::black_box;

fn huge(c: &mut Criterion) {
    let sc = presets::find("huge-initrd").expect("preset").scenario;
    let mut g = c.benchmark_group("1GiB-i386-pae-adversarial");
    g.sample_size(10);
    // The floor first: the same kernel steps on plain tables (not the
    // model), its counts checked against a model run of the preset.
    let model = run_variant(
        &sc,
        kexec_core::design::Variant::Pointer,
        RunOptions::default(),
    )
    .counters;
    let mut tables = floor::Tables::default();
    let got = floor::huge_initrd_pointer(&mut tables);
    let want = floor::Counts {
        alloc_calls: model.alloc_calls,
        swaps: model.swaps,
        dest_pages: model.dest_pages,
        unusable_pages: model.unusable_pages,
        highmem_frees: model.highmem_frees,
        indirection_pages: model.indirection_pages,
        copies: model.source_pages,
        wrong_pages: 0,
    };
    assert_eq!(got, want, "the floor takes the model's steps");
    g.bench_function("floor-plain-tables", |b| {
        b.iter(|| black_box(floor::huge_initrd_pointer(&mut tables)))
    });
    for v in ALL_VARIANTS {
        g.bench_function(v.name(), |b| {
            b.iter(|| {
                let r = run_variant(
                    black_box(&sc),
                    v,
                    RunOptions {
                        relocate: true,
                        ..Default::default()
                    },
                );
                black_box(r.exit_status())
            })
        });
    }
    g.finish();
}

fn small(c: &mut Criterion) {
    let sc = presets::find("swap-path").expect("preset").scenario;
    c.bench_function("small-scenario-pointer+rfc-fixed", |b| {
        b.iter(|| {
            for &v in &sc.variants {
                black_box(
                    run_variant(
                        black_box(&sc),
                        v,
                        RunOptions {
                            relocate: true,
                            ..Default::default()
                        },
                    )
                    .exit_status(),
                );
            }
        })
    });
}

/// The explorer's unit of work: candidates per second (one core).
fn explore_rate(c: &mut Criterion) {
    use kexec_core::explore::{search_range, Goal};
    let base = presets::find("swap-path").expect("preset").scenario;
    let goal = Goal::parse("verdict:pointer,rfc-fixed").expect("goal");
    let mut g = c.benchmark_group("explore");
    g.sample_size(10);
    g.throughput(criterion::Throughput::Elements(500));
    g.bench_function("500-candidates-verdict-pointer-rfc-fixed", |b| {
        b.iter(|| black_box(search_range(&base, &goal, 1, 0..500)))
    });
    g.finish();
}

/// Exhaustive checking (issue 15): i386-pae with 1 MiB each of lowmem,
/// highmem and RAM above 4 GiB, two destination ranges of `pages` pages.
fn exhaustive_machine(pages: u64) -> kexec_core::scenario::Scenario {
    use kexec_core::arch::Arch;
    use kexec_core::design::Variant;
    use kexec_core::page_alloc::Policy;
    const MIB: u64 = 1 << 20;
    const GIB: u64 = 1 << 30;
    kexec_core::scenario::Scenario::new(
        Arch::I386Pae,
        &[
            (16 * MIB, 17 * MIB),
            (GIB, GIB + MIB),
            (4 * GIB, 4 * GIB + MIB),
        ],
        &[
            (pages * 4096, 16 * MIB, pages * 4096),
            (pages * 4096, 16 * MIB + 64 * 4096, pages * 4096),
        ],
        Policy::LowestFirst,
        &[Variant::Pointer, Variant::RfcFixed],
    )
}

/// The exhaustive search: a complete small run (1-page segments, 10 calls,
/// 220 distinct states, 3,684 orders) and the first 20,000 distinct states
/// of the issue's machine (two segments of 4 pages, 20 calls) on one and
/// two threads; the whole of that machine's space is measured with the
/// CLI (see the README).
fn exhaustive_rate(c: &mut Criterion) {
    use kexec_core::explore::{exhaustive, ExhaustiveOptions, Goal};
    let goal = Goal::parse("verdict:pointer,rfc-fixed").expect("goal");
    let mut g = c.benchmark_group("exhaustive");
    g.sample_size(10);
    let small = exhaustive_machine(1);
    g.throughput(criterion::Throughput::Elements(220));
    g.bench_function("1-page-segments-10-calls-complete", |b| {
        let opts = ExhaustiveOptions {
            max_calls: 10,
            ..ExhaustiveOptions::default()
        };
        b.iter(|| black_box(exhaustive(&small, &goal, opts, &mut |_| true)))
    });
    let issue = exhaustive_machine(4);
    g.throughput(criterion::Throughput::Elements(20_224));
    for jobs in [1, 2] {
        g.bench_function(
            format!("4-page-segments-20-calls-first-20k-states-{jobs}-threads"),
            |b| {
                let opts = ExhaustiveOptions {
                    max_calls: 20,
                    jobs,
                    ..ExhaustiveOptions::default()
                };
                b.iter(|| black_box(exhaustive(&issue, &goal, opts, &mut |s| s.states < 20_000)))
            },
        );
    }
    g.finish();
}

/// How cost grows with the image (issue 16): a 16 MiB kernel at 16 MiB and
/// an initrd at 32 MiB filling the rest of a 64 MiB, 256 MiB, 1 GiB and
/// 4 GiB (4064 MiB) image on a 16 GiB machine, the pointer design plus
/// the relocation check. i386-pae with the random allocator (seed 1) up to
/// 1 GiB: a 4 GiB image does not fit its 2^21 allocator calls there (three
/// quarters of highmem is above the source limit, so most picks are
/// unusable pages); x86_64 with the adversarial allocator (seed 1) at
/// every size. Throughput is in source pages (criterion prints pages/s).
fn scaling(c: &mut Criterion) {
    use kexec_core::arch::Arch;
    use kexec_core::design::Variant;
    use kexec_core::page_alloc::Policy;
    use kexec_core::scenario::Scenario;
    const MIB: u64 = 1 << 20;
    const GIB: u64 = 1 << 30;
    let mut g = c.benchmark_group("scaling");
    g.sample_size(10);
    let cases = [
        (Arch::I386Pae, Policy::Random(1), 64),
        (Arch::I386Pae, Policy::Random(1), 256),
        (Arch::I386Pae, Policy::Random(1), 1024),
        (Arch::X86_64, Policy::Adversarial(1), 64),
        (Arch::X86_64, Policy::Adversarial(1), 256),
        (Arch::X86_64, Policy::Adversarial(1), 1024),
        (Arch::X86_64, Policy::Adversarial(1), 4064),
    ];
    for (arch, policy, mib) in cases {
        let initrd = (mib - 16) * MIB;
        let sc = Scenario::new(
            arch,
            &[(0, 16 * GIB)],
            &[(16 * MIB, 16 * MIB, 16 * MIB), (initrd, 32 * MIB, initrd)],
            policy.clone(),
            &[Variant::Pointer],
        );
        g.throughput(criterion::Throughput::Elements(mib * MIB / 4096));
        let name = format!("{}-{}-{}MiB", arch.name(), policy.name(), mib);
        g.bench_function(name, |b| {
            b.iter(|| {
                let r = run_variant(
                    black_box(&sc),
                    Variant::Pointer,
                    RunOptions {
                        relocate: true,
                        ..Default::default()
                    },
                );
                assert_eq!(r.exit_status(), 0, "the image loads and relocates");
                black_box(r.exit_status())
            })
        });
    }
    g.finish();
}

/// Links of the host reference's chain (4 M: a few milliseconds).
const HOST_LINKS: u64 = 1 << 22;

/// The host's speed for serial integer work, no code of ours: a chain of
/// [`HOST_LINKS`] links, each waiting for the one before: a shift, an
/// exclusive or (1 cycle each) and a 64-bit multiply (3 cycles on the
/// x86-64 cores of the last decade); not linear, so the compiler cannot
/// fold links together. Throughput is in cycles of that chain, so
/// criterion's "Gelem/s" reads as the clock the host gives this core.
fn host(c: &mut Criterion) {
    let mut g = c.benchmark_group("host");
    g.sample_size(20);
    g.throughput(criterion::Throughput::Elements(5 * HOST_LINKS));
    g.bench_function("dependent-shift-xor-multiply-chain", |b| {
        b.iter(|| {
            let mut x = black_box(1u64);
            for _ in 0..HOST_LINKS {
                x = (x ^ (x >> 29)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            }
            black_box(x)
        })
    });
    // A random single cycle through 64 MiB (Sattolo's shuffle): every
    // load's address is the load before's value, the table far larger
    // than any cache, as the model's per-pfn tables are for big images.
    let mut next: Vec<u64> = (0..CHASE_SLOTS).collect();
    let mut rng = kexec_common::rng::SplitMix64::new(1);
    for i in (1..CHASE_SLOTS).rev() {
        let j = rng.below(i);
        next.swap(i as usize, j as usize);
    }
    g.throughput(criterion::Throughput::Elements(CHASE_LOADS));
    g.bench_function("dependent-loads-64MiB", |b| {
        b.iter(|| {
            let mut at = black_box(0u64);
            for _ in 0..CHASE_LOADS {
                at = next[at as usize];
            }
            black_box(at)
        })
    });
    g.finish();
}

/// Slots of the host reference's table of dependent loads (64 MiB).
const CHASE_SLOTS: u64 = 1 << 23;
/// Loads per iteration of the chase (criterion's "elem/s" are loads a
/// second: 1,000 over its "Melem/s" is nanoseconds a load).
const CHASE_LOADS: u64 = 1 << 18;

criterion_group!(
    benches,
    host,
    huge,
    small,
    explore_rate,
    exhaustive_rate,
    scaling
);
criterion_main!(benches);
