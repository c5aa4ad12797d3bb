//! The raw reader (`cargo xtask real-kernel`'s large captures) on a ring
//! buffer the size of the 8 GiB load's: 1.3 M kimage allocations and
//! 100 k dropped ones, each followed by its kernel_stack event (eight
//! frames), in 4 KiB pages as `trace_pipe_raw` hands them out, the frames
//! named from a kallsyms of 60,000 text symbols.

use criterion::{criterion_group, criterion_main, Criterion};
use kexec_capture::raw::{read, RawInput};
use std::fmt::Write;

/// The i386 kernel's tracefs header_page and event formats (the unit
/// tests' fixture).
const HEADER: &str = include_str!("../tests/data/i386-header_page");

fn formats() -> String {
    include_str!("../tests/data/i386-formats").to_string()
}

/// 60,000 text symbols 0x100 apart from 0xc1000000; the kimage ones and
/// the syscall path among them.
fn symbols() -> String {
    let named = [
        "__alloc_pages",
        "kimage_alloc_pages",
        "kimage_alloc_page",
        "kimage_load_segment",
        "__ia32_sys_kexec_load",
        "ia32_sys_call",
        "do_int80_syscall_32",
        "restore_all_switch_stack",
        "handle_mm_fault",
        "do_user_addr_fault",
        "exc_page_fault",
    ];
    let mut s = String::new();
    for i in 0..60_000u32 {
        let a = 0xc100_0000 + i * 0x100;
        match named.get(i as usize / 5000) {
            Some(n) if i % 5000 == 0 => {
                let _ = writeln!(s, "{a:08x} T {n}");
            }
            _ => {
                let _ = writeln!(s, "{a:08x} t fn_{i}");
            }
        }
    }
    s
}

fn ip(k: u32) -> u32 {
    0xc100_0000 + k * 5000 * 0x100 + 0x42
}

fn buffer() -> Vec<u8> {
    let kimage: Vec<u32> = (0..8).map(ip).collect();
    let other: Vec<u32> = [0, 8, 9, 10].into_iter().map(ip).collect();
    let mut pages = Vec::new();
    let mut data: Vec<u8> = Vec::new();
    let flush = |data: &mut Vec<u8>, pages: &mut Vec<u8>| {
        let mut p = vec![0u8; 4096];
        p[8..12].copy_from_slice(&(data.len() as u32).to_le_bytes());
        p[12..12 + data.len()].copy_from_slice(data);
        pages.extend(p);
        data.clear();
    };
    let event = |data: &mut Vec<u8>, pages: &mut Vec<u8>, ty: u16, words: &[u32]| {
        let len = 8 + 4 * words.len();
        if data.len() + 4 + len > 4084 {
            flush(data, pages);
        }
        data.extend(((len / 4) as u32 | 5 << 5).to_le_bytes());
        data.extend(ty.to_le_bytes());
        data.extend([0, 0]);
        data.extend(91u32.to_le_bytes());
        for w in words {
            data.extend(w.to_le_bytes());
        }
    };
    let ev = |data: &mut Vec<u8>, pages: &mut Vec<u8>, pfn: u32, stack: &[u32]| {
        event(data, pages, 645, &[pfn, 0, 0x100cca, 1]);
        let mut st = vec![stack.len() as u32];
        st.extend(stack);
        event(data, pages, 4, &st);
    };
    for pfn in (0x100000..=0x23fc89u32).rev() {
        ev(&mut data, &mut pages, pfn, &kimage);
        if pfn % 13 == 0 {
            ev(&mut data, &mut pages, 0x3000 + pfn % 1000, &other);
        }
    }
    for pfn in 0xbf800..0xbf800 + 1500 {
        ev(&mut data, &mut pages, pfn, &kimage);
    }
    flush(&mut data, &mut pages);
    pages
}

fn bench(c: &mut Criterion) {
    let pages = buffer();
    let (formats, symbols) = (formats(), symbols());
    let mut g = c.benchmark_group("raw");
    g.sample_size(10);
    g.bench_function("1.3M-events", |b| {
        b.iter(|| {
            let t = read(RawInput {
                pages: &pages,
                cpu: 0,
                header_page: HEADER,
                formats: &formats,
                symbols: &symbols,
                cmdlines: "91 helper\n",
                stats: "overrun: 0\n",
            })
            .expect("reads");
            assert_eq!(t.kimage.len(), 1_311_334);
            t
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
