//! `kexec-sim import` of a capture the size of the 8 GiB load's: 1.3 M
//! kimage allocations (the unusable pages above 4 GiB, top-down, then
//! source pages), each with its stack, plus 100 k dropped allocations, as
//! `cat trace` prints them.

use criterion::{criterion_group, criterion_main, Criterion};
use kexec_capture::{import, ImportInput};
use kexec_core::arch::Arch;
use std::fmt::Write;

const KIMAGE: &str = " => __alloc_pages\n => kimage_alloc_pages\n => kimage_alloc_page\n => kimage_load_segment\n => __ia32_sys_kexec_load\n => ia32_sys_call\n => do_int80_syscall_32\n => restore_all_switch_stack\n";
const OTHER: &str =
    " => __alloc_pages\n => handle_mm_fault\n => do_user_addr_fault\n => exc_page_fault\n";

fn trace() -> String {
    let mut s = String::with_capacity(1500 << 20);
    s.push_str("# tracer: nop\n#\n");
    let mut t = 0u64;
    let mut ev = |s: &mut String, pfn: u64, stack: &str| {
        t += 1;
        let _ = writeln!(s, "          kexec-91      [000] .....    {}.{:06}: mm_page_alloc: page=6a7c2d1e pfn=0x{pfn:x} order=0 migratetype=1 gfp_flags=GFP_HIGHUSER", 10 + t / 1_000_000, t % 1_000_000);
        let _ = writeln!(
            s,
            "          kexec-91      [000] .....    {}.{:06}: <stack trace>",
            10 + t / 1_000_000,
            t % 1_000_000
        );
        s.push_str(stack);
    };
    for pfn in (0x100000..=0x23fc89u64).rev() {
        ev(&mut s, pfn, KIMAGE);
        if pfn % 13 == 0 {
            ev(&mut s, 0x3000 + pfn % 1000, OTHER);
        }
    }
    for pfn in 0xbf800..0xbf800 + 1500 {
        ev(&mut s, pfn, KIMAGE);
    }
    s
}

fn bench(c: &mut Criterion) {
    let text = trace();
    let mut g = c.benchmark_group("import");
    g.sample_size(10);
    g.bench_function("1.3M-events", |b| {
        b.iter(|| {
            import(ImportInput {
                trace: &text,
                segments: "20590 0x3000 24576\n48 0x100000 4096\n5740480 0x1000000 5742592\n911 0x7fff7000 4096\n24704 0x7fff8000 32768\n",
                iomem: "00001000-0009fbff : System RAM\n00100000-bffdffff : System RAM\n100000000-23fffffff : System RAM\n",
                lowmem: "  Normal   [mem 0x0000000001000000-0x0000000036ffdfff]\n",
                arch: Arch::I386Pae,
                empty_ok: false,
            })
            .expect("imports")
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
