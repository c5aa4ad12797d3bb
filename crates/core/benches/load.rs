//! The core's speed budget, measured with criterion:
//!
//! * the `huge-initrd` preset, a 1 GiB image (262,144 source pages) on an
//!   8 GiB i386-pae machine with the adversarial allocator: each of the
//!   four kernel designs loads it and runs the relocation check within
//!   100 ms (one core, native);
//! * a small scenario (the `swap-path` preset, both of its variants with
//!   relocation), what the explorer runs per candidate;
//! * the explorer itself: at least 2,000 candidates a second on one core
//!   (500 candidates of `verdict:pointer,rfc-fixed` per iteration).

use criterion::{criterion_group, criterion_main, Criterion};
use kexec_core::design::KERNEL_VARIANTS as ALL_VARIANTS;
use kexec_core::presets;
use kexec_core::run::{run_variant, RunOptions};
use std::hint::black_box;

fn huge(c: &mut Criterion) {
    let sc = presets::find("huge-initrd").expect("preset").scenario;
    let mut g = c.benchmark_group("1GiB-i386-pae-adversarial");
    g.sample_size(10);
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

criterion_group!(benches, huge, small, explore_rate);
criterion_main!(benches);
