//! `cargo xtask real-kernel [--reuse] [--fixtures] [--check-raw] [NAME|FILE...]`: the
//! real kernel as the last word. Boots Debian's 686-pae 6.1 kernel under
//! qemu-system-i386 (TCG, `-cpu max`, nokaslr, userpte=nohigh) with the
//! scenario's RAM, loads the scenario's segments with our static helper
//! (`real-kernel/helper.c`: kexec_load, the list read back through
//! /proc/kcore at `kexec_image` from the -dbg package's System.map, then
//! the unload), traces the page allocator with stacks for the helper's
//! pid, imports the capture and runs the model on the captured order:
//! identical, or the first differing word. Large captures (`Spec::raw`)
//! leave the guest as the ring buffer's own pages (`real-kernel/rawcopy.c`)
//! and are decoded here (`kexec_capture::raw`): printing 2.6 M stack
//! traces as text took the guest 8 minutes. `--check-raw` writes both and
//! checks that the raw reader finds what the text reader finds.
//!
//! x86_64 loads ([`Kernel::Amd64`]: the `x86_64-*` specs, an x86_64 FILE)
//! boot Debian's amd64 6.1 kernel under qemu-system-x86_64 instead, with
//! the helper built for x86_64; `kexec_image` comes from the guest's
//! /proc/kallsyms, the trace as text.
//!
//! Downloads and builds are cached under `target/real-kernel`; `--reuse`
//! re-reads the last run's output instead of booting again; `--fixtures`
//! writes each capture to `tests/real-kernel/NAME` (the trace gzipped).
//! One QEMU at a time.

use crate::{root, run, show, Result};
use flate2::write::GzEncoder;
use flate2::Compression;
use kexec_capture::import::{import, import_trace, ImportInput};
use kexec_capture::verify;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Where on the output disk the guest copies the raw ring buffer
/// (`real-kernel/rawcopy.c`); the text sections stay below it.
const RAW_AT: u64 = 2 << 30;
/// Largest gzipped trace committed as a fixture.
const MAX_FIXTURE_GZ: usize = 1 << 20;
/// Largest trace text tried for that (the 8 GiB load's is about 1 GB).
const MAX_FIXTURE_TRACE: usize = 64 << 20;

/// The real kernel a load runs on: Debian's 6.1.176 for i386 (686-pae)
/// or amd64.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    /// `linux-image-6.1.0-50-686-pae` under qemu-system-i386; kimage
    /// scenarios of arch i386-pae.
    Pae686,
    /// `linux-image-6.1.0-50-amd64` under qemu-system-x86_64; x86_64
    /// scenarios. `CONFIG_KALLSYMS_ALL` is on there, so the guest finds
    /// `kexec_image` in /proc/kallsyms (no -dbg package); the direct map
    /// is at 0xffff888000000000 (nokaslr).
    Amd64,
}

impl Kernel {
    fn kver(self) -> &'static str {
        match self {
            Kernel::Pae686 => "6.1.0-50-686-pae",
            Kernel::Amd64 => "6.1.0-50-amd64",
        }
    }
    fn debs(self) -> &'static [&'static str] {
        match self {
            Kernel::Pae686 => &[
                "linux-image-6.1.0-50-686-pae",
                "linux-image-6.1.0-50-686-pae-dbg",
                "busybox-static:i386",
            ],
            Kernel::Amd64 => &["linux-image-6.1.0-50-amd64", "busybox-static:amd64"],
        }
    }
    /// Its downloads and builds (the i386 ones where they always were).
    fn dir(self) -> PathBuf {
        match self {
            Kernel::Pae686 => dir(),
            Kernel::Amd64 => dir().join("amd64"),
        }
    }
    fn arch(self) -> kexec_core::arch::Arch {
        match self {
            Kernel::Pae686 => kexec_core::arch::Arch::I386Pae,
            Kernel::Amd64 => kexec_core::arch::Arch::X86_64,
        }
    }
    fn qemu(self) -> &'static str {
        match self {
            Kernel::Pae686 => "qemu-system-i386",
            Kernel::Amd64 => "qemu-system-x86_64",
        }
    }
    fn append(self) -> &'static str {
        match self {
            Kernel::Pae686 => "console=ttyS0 nokaslr userpte=nohigh panic=-1 loglevel=3",
            Kernel::Amd64 => "console=ttyS0 nokaslr panic=-1 loglevel=3",
        }
    }
    /// The helper's word size for clang.
    fn clang_m(self) -> &'static str {
        match self {
            Kernel::Pae686 => "-m32",
            Kernel::Amd64 => "-m64",
        }
    }
}
const MODULES: &[&str] = &[
    "drivers/virtio/virtio.ko",
    "drivers/virtio/virtio_ring.ko",
    "drivers/virtio/virtio_pci_modern_dev.ko",
    "drivers/virtio/virtio_pci_legacy_dev.ko",
    "drivers/virtio/virtio_pci.ko",
    "drivers/block/virtio_blk.ko",
];

/// A load run on the real kernel.
pub struct Spec {
    /// Its name (the fixture's directory).
    pub name: String,
    /// QEMU's -m in MiB.
    pub mem_mib: u64,
    /// The trace buffer per CPU, KiB.
    pub buf_kib: u64,
    /// (bufsz, mem, memsz).
    pub segments: Vec<(u64, u64, u64)>,
    /// The helper aims segment 0 one page past the first indirection
    /// page, retrying until the swap of an indirection request happens.
    pub aim: bool,
    /// Copy the ring buffer out raw and decode it here (a large capture:
    /// the guest would take minutes to print its stacks as text). i386
    /// only: the raw reader knows the 32-bit kernel's event layout.
    pub raw: bool,
    /// The kernel that loads it.
    pub kernel: Kernel,
}

/// kexec-tools' five segments (bufsz, mem, memsz) for the 6.1.176 kernel
/// with its initrd on the 8 GiB guests, as its -d output printed them.
const KEXEC_TOOLS_8G: [(u64, u64, u64); 5] = [
    (20590, 0x3000, 24576),
    (48, 0x100000, 4096),
    (5740480, 0x1000000, 5742592),
    (911, 0x7fff7000, 4096),
    (24704, 0x7fff8000, 32768),
];

/// The built-in loads. With -m 3072M all RAM is below 4 GiB (QEMU's pc
/// machine) and the kimage code's highmem pages come out ascending from
/// pfn 0xbf85f on every boot (the per-CPU list's batch), so destinations
/// can be aimed at them.
pub fn specs() -> Vec<Spec> {
    let page = 4096;
    vec![
        Spec {
            // kexec-tools' five segments for the 6.1.176 kernel (its -d output).
            name: "plain-8g".into(),
            mem_mib: 8192,
            buf_kib: 196_608,
            segments: KEXEC_TOOLS_8G.to_vec(),
            aim: false,
            raw: true,
            kernel: Kernel::Pae686,
        },
        Spec {
            // Segment 0's destination is where segment 1's source pages
            // will come from: each of those is a destination already
            // holding a SOURCE entry, so kimage_alloc_page swaps.
            name: "swap-chain".into(),
            mem_mib: 3072,
            buf_kib: 65536,
            segments: vec![
                (64 * page, 0xbf89f000, 64 * page),
                (64 * page, 0x1000000, 64 * page),
            ],
            aim: false,
            raw: false,
            kernel: Kernel::Pae686,
        },
        Spec {
            // Segment 1's destination is the highmem the allocator hands
            // out while segment 0 loads: dest_pages.
            name: "swap-dest".into(),
            mem_mib: 3072,
            buf_kib: 65536,
            segments: vec![
                (48 * page, 0x1000000, 48 * page),
                (32 * page, 0xbf860000, 32 * page),
            ],
            aim: false,
            raw: false,
            kernel: Kernel::Pae686,
        },
        Spec {
            // Segment 0's destination covers the lowmem pages the kernel
            // hands out for GFP_KERNEL (from about pfn 0x6f20 on this
            // boot): the first indirection request lands on destinations
            // not loaded yet, which go to dest_pages until a page past
            // them comes.
            name: "lowmem-dest".into(),
            mem_mib: 3072,
            buf_kib: 65536,
            segments: vec![
                (1536 * page, 0x6e00000, 1536 * page),
                (32 * page, 0x1000000, 32 * page),
            ],
            aim: false,
            raw: false,
            kernel: Kernel::Pae686,
        },
        Spec {
            // Segment 0's destination starts one page after the first
            // indirection page (the helper aims it: the page shifts from
            // boot to boot) and is long
            // enough to need a second one: that GFP_KERNEL request lands
            // on a destination already loaded, the swap's old page is
            // highmem, so kimage_alloc_page frees it and retries.
            name: "highmem-retry".into(),
            mem_mib: 3072,
            buf_kib: 65536,
            segments: vec![
                (1100 * page, 0x6f21000, 1100 * page),
                (32 * page, 0x1000000, 32 * page),
            ],
            aim: true,
            raw: false,
            kernel: Kernel::Pae686,
        },
        Spec {
            // One segment whose destination is all of lowmem, pfn 0 to
            // the lowmem line (0x36ffe000 on this kernel, under half of
            // 3 GiB): every page GFP_KERNEL can get is a destination, so
            // kimage_alloc_normal_control_pages parks each one on its
            // extra_pages list and asks again until the allocator
            // (__GFP_NORETRY: no OOM killer) fails; kimage_alloc_init's
            // -ENOMEM ("Could not allocate control_code_buffer").
            name: "enomem-control".into(),
            mem_mib: 3072,
            buf_kib: 65536,
            segments: vec![(0, 0, 0x36ffe000)],
            aim: false,
            raw: true,
            kernel: Kernel::Pae686,
        },
        Spec {
            // x86_64 (the amd64 kernel), as swap-chain: segment 0's
            // destination is where segment 1's source pages come from.
            // There GFP_HIGHUSER is ZONE_DMA32 and the source pages come
            // out ascending from about pfn 0xa47a, after the first
            // indirection page (a page or two apart from boot to boot),
            // so segment 1's from about 0xa4ba.
            name: "x86_64-swap-chain".into(),
            mem_mib: 3072,
            buf_kib: 65536,
            segments: vec![
                (64 * page, 0xa4ba000, 64 * page),
                (64 * page, 0x1000000, 64 * page),
            ],
            aim: false,
            raw: false,
            kernel: Kernel::Amd64,
        },
        Spec {
            // x86_64, as swap-dest: segment 1's destination is among the
            // pages handed out while segment 0 loads (from about pfn
            // 0xa47a up): dest_pages, reused when segment 1 loads.
            name: "x86_64-swap-dest".into(),
            mem_mib: 3072,
            buf_kib: 65536,
            segments: vec![
                (48 * page, 0x1000000, 48 * page),
                (32 * page, 0xa480000, 32 * page),
            ],
            aim: false,
            raw: false,
            kernel: Kernel::Amd64,
        },
        Spec {
            // x86_64 with 8 GiB (5 GiB of it above 4 GiB), kexec-tools'
            // five segments of plain-8g: no unusable pages on x86_64
            // (KEXEC_SOURCE_MEMORY_LIMIT is all of memory), so the
            // entries name pages above 4 GiB, 64-bit words.
            name: "x86_64-plain-8g".into(),
            mem_mib: 8192,
            buf_kib: 65536,
            segments: KEXEC_TOOLS_8G.to_vec(),
            aim: false,
            raw: false,
            kernel: Kernel::Amd64,
        },
        Spec {
            // x86_64, as lowmem-dest: segment 0's destination covers the
            // pages the kernel hands out from about pfn 0xa479 (the first
            // indirection page's GFP_KERNEL, then the source pages'
            // GFP_HIGHUSER, one zone here): machine_kexec_prepare's
            // identity-map page tables (kimage_alloc_control_pages) are
            // rejected there first, about 900 pages handed out and given
            // back (not modelled: dropped), then the indirection request
            // lands on destinations not loaded yet, 900 parked on
            // dest_pages until a page past them comes.
            name: "x86_64-ind-dest".into(),
            mem_mib: 3072,
            buf_kib: 65536,
            segments: vec![
                (1536 * page, 0xa470000, 1536 * page),
                (32 * page, 0x1000000, 32 * page),
            ],
            aim: false,
            raw: false,
            kernel: Kernel::Amd64,
        },
        Spec {
            // x86_64: segment 0's destination covers where the control
            // code page comes from (about pfn 0x62c2 to 0x6300 on these
            // boots): kimage_alloc_normal_control_pages rejects the
            // pages it is handed there and gives them back.
            name: "x86_64-control-dest".into(),
            mem_mib: 3072,
            buf_kib: 65536,
            segments: vec![
                (1024 * page, 0x6000000, 1024 * page),
                (32 * page, 0x1000000, 32 * page),
            ],
            aim: false,
            raw: false,
            kernel: Kernel::Amd64,
        },
        Spec {
            // x86_64: one segment over half of RAM, -EINVAL.
            name: "x86_64-einval-half".into(),
            mem_mib: 512,
            buf_kib: 4096,
            segments: vec![(page, 0x1000000, 300 << 20)],
            aim: false,
            raw: false,
            kernel: Kernel::Amd64,
        },
        Spec {
            // One segment over half of RAM: -EINVAL.
            name: "einval-half".into(),
            mem_mib: 512,
            buf_kib: 4096,
            segments: vec![(page, 0x1000000, 300 << 20)],
            aim: false,
            raw: false,
            kernel: Kernel::Pae686,
        },
    ]
}

/// A scenario file's segments on a QEMU machine with as much RAM (QEMU's
/// own memory map: the import reads the real one): i386 and i386-pae on
/// the 686-pae kernel, x86_64 on the amd64 one.
fn from_file(path: &str) -> Result<Spec> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let sc =
        kexec_core::scenario::Scenario::from_json(&text).map_err(|e| format!("{path}: {e}"))?;
    use kexec_core::arch::Arch;
    let kernel = match sc.arch {
        Arch::I386 | Arch::I386Pae => Kernel::Pae686,
        Arch::X86_64 => Kernel::Amd64,
        a => {
            return Err(format!(
                "{path}: {} scenario; the real kernels here are Debian's 686-pae (i386, i386-pae) and amd64 (x86_64)",
                a.name()
            ))
        }
    };
    let mem_mib = sc.ram_bytes().div_ceil(1 << 20).max(256);
    let name = Path::new(path)
        .file_stem()
        .map_or("scenario".into(), |s| s.to_string_lossy().into_owned());
    Ok(Spec {
        name,
        mem_mib,
        buf_kib: if mem_mib > 4096 { 196_608 } else { 65536 },
        segments: sc
            .segments
            .iter()
            .map(|s| (s.bufsz, s.mem, s.memsz))
            .collect(),
        aim: false,
        raw: kernel == Kernel::Pae686 && mem_mib > 4096,
        kernel,
    })
}

fn dir() -> PathBuf {
    root().join("target/real-kernel")
}

fn ensure_downloads(kernel: Kernel) -> Result {
    let d = kernel.dir();
    let kver = kernel.kver();
    let debs = d.join("debs");
    std::fs::create_dir_all(&debs).map_err(|e| e.to_string())?;
    let have = |prefix: &str| {
        std::fs::read_dir(&debs)
            .map(|r| {
                r.flatten()
                    .any(|e| e.file_name().to_string_lossy().starts_with(prefix))
            })
            .unwrap_or(false)
    };
    let missing: Vec<&str> = kernel
        .debs()
        .iter()
        .copied()
        .filter(|p| {
            let stem = p.split(':').next().unwrap_or(p);
            let file = format!("{}_", stem);
            !have(&file)
        })
        .collect();
    if !missing.is_empty() {
        let arches = Command::new("dpkg")
            .arg("--print-foreign-architectures")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).contains("i386"))
            .unwrap_or(false);
        if kernel == Kernel::Pae686 && !arches {
            run(Command::new("dpkg").args(["--add-architecture", "i386"]))?;
            run(Command::new("apt-get").arg("update"))?;
        }
        run(Command::new("apt-get")
            .arg("download")
            .args(&missing)
            .current_dir(&debs))?;
    }
    let find = |prefix: &str| -> Result<PathBuf> {
        std::fs::read_dir(&debs)
            .map_err(|e| e.to_string())?
            .flatten()
            .map(|e| e.path())
            .find(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with(prefix))
            })
            .ok_or_else(|| format!("{prefix}*.deb missing in {}", debs.display()))
    };
    // A package unpacked whole, unless the file that shows it is there.
    let unpack = |shows: PathBuf, prefix: &str, into: &str| -> Result {
        if shows.exists() {
            return Ok(());
        }
        run(Command::new("dpkg-deb")
            .arg("-x")
            .arg(find(prefix)?)
            .arg(d.join(into)))
    };
    unpack(
        d.join("img/boot").join(format!("vmlinuz-{kver}")),
        &format!("linux-image-{kver}_"),
        "img",
    )?;
    unpack(d.join("bb/bin/busybox"), "busybox-static_", "bb")?;
    if kernel == Kernel::Amd64 {
        // kexec_image is in the guest's /proc/kallsyms: no -dbg package.
        return Ok(());
    }
    let map = d.join(format!("dbg/usr/lib/debug/boot/System.map-{kver}"));
    if !map.exists() {
        let deb = find(&format!("linux-image-{kver}-dbg_"))?;
        std::fs::create_dir_all(d.join("dbg")).map_err(|e| e.to_string())?;
        // System.map is near the start of the data archive: stop there.
        let sh = format!(
            "dpkg-deb --fsys-tarfile '{}' | tar -x -C '{}' --occurrence ./usr/lib/debug/boot/System.map-{kver}",
            deb.display(),
            d.join("dbg").display()
        );
        let _ = Command::new("sh").arg("-c").arg(sh).status();
        if !map.exists() {
            return Err(format!("{} not extracted", map.display()));
        }
    }
    Ok(())
}

/// A symbol of the 686-pae kernel, from the -dbg package's System.map.
fn symbol(name: &str) -> Result<u64> {
    let map = dir().join(format!(
        "dbg/usr/lib/debug/boot/System.map-{}",
        Kernel::Pae686.kver()
    ));
    let text = std::fs::read_to_string(&map).map_err(|e| format!("{}: {e}", map.display()))?;
    text.lines()
        .find_map(|l| {
            let mut f = l.split_whitespace();
            let addr = f.next()?;
            let _ = f.next()?;
            (f.next()? == name).then(|| u64::from_str_radix(addr, 16).ok())?
        })
        .ok_or_else(|| format!("{name} not in {}", map.display()))
}

/// The guest's static programs: the helper (for the kernel's word size)
/// and the raw copier (i386; an amd64 guest writes text only).
fn build_helper(kernel: Kernel) -> Result<(PathBuf, PathBuf)> {
    let build = |name: &str, m: &str| -> Result<PathBuf> {
        let out = kernel.dir().join(name);
        let src = root().join(format!("xtask/real-kernel/{name}.c"));
        run(Command::new("clang")
            .args([
                m,
                "-static",
                "-nostdlib",
                "-O1",
                "-fno-stack-protector",
                "-fno-pic",
                "-o",
            ])
            .arg(&out)
            .arg(&src))?;
        Ok(out)
    };
    Ok((
        build("helper", kernel.clang_m())?,
        build("rawcopy", "-m32")?,
    ))
}

/// What the guest writes out: the trace as text, the raw ring buffer, or
/// both (`--check-raw`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Capture {
    Text,
    Raw,
    Both,
}

impl Capture {
    fn of(spec: &Spec, check_raw: bool) -> Capture {
        if spec.kernel != Kernel::Pae686 {
            // The raw reader knows the 32-bit kernel's layout only.
            return Capture::Text;
        }
        match (spec.raw, check_raw) {
            (_, true) => Capture::Both,
            (true, false) => Capture::Raw,
            (false, false) => Capture::Text,
        }
    }
    fn word(self) -> &'static str {
        match self {
            Capture::Text => "text",
            Capture::Raw => "raw",
            Capture::Both => "both",
        }
    }
}

/// A newc cpio archive, every file time zero (reproducible).
struct Cpio(Vec<u8>, u32);

impl Cpio {
    fn entry(&mut self, name: &str, mode: u32, data: &[u8], rdev: (u32, u32)) {
        self.1 += 1;
        let hdr = format!(
            "070701{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}",
            self.1,
            mode,
            0,
            0,
            1,
            0,
            data.len(),
            0,
            0,
            rdev.0,
            rdev.1,
            name.len() + 1,
            0
        );
        self.0.extend_from_slice(hdr.as_bytes());
        self.0.extend_from_slice(name.as_bytes());
        self.0.push(0);
        while !self.0.len().is_multiple_of(4) {
            self.0.push(0);
        }
        self.0.extend_from_slice(data);
        while !self.0.len().is_multiple_of(4) {
            self.0.push(0);
        }
    }
    fn dir(&mut self, name: &str) {
        self.entry(name, 0o040755, &[], (0, 0));
    }
    fn file(&mut self, name: &str, mode: u32, data: &[u8]) {
        self.entry(name, 0o100000 | mode, data, (0, 0));
    }
}

fn initrd(spec: &Spec, helper: &Path, rawcopy: &Path, capture: Capture) -> Result<Vec<u8>> {
    let d = spec.kernel.dir();
    let kver = spec.kernel.kver();
    let read = |p: &Path| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
    let mut c = Cpio(Vec::new(), 0);
    for x in ["bin", "proc", "sys", "dev", "tmp", "lib", "lib/modules"] {
        c.dir(x);
    }
    c.entry("dev/console", 0o020600, &[], (5, 1));
    c.file(
        "init",
        0o755,
        &read(&root().join("xtask/real-kernel/init.sh"))?,
    );
    c.file("bin/busybox", 0o755, &read(&d.join("bb/bin/busybox"))?);
    c.file("helper", 0o755, &read(helper)?);
    c.file("rawcopy", 0o755, &read(rawcopy)?);
    c.file("capture", 0o644, format!("{}\n", capture.word()).as_bytes());
    // kexec_image's address; init.sh looks it up in /proc/kallsyms when
    // the word is "kexec_image" (amd64: no System.map here).
    let image = match spec.kernel {
        Kernel::Pae686 => format!("0x{:x}", symbol("kexec_image")?),
        Kernel::Amd64 => "kexec_image".into(),
    };
    let mut scn = format!("{image} {}\n", u8::from(spec.aim));
    for (b, m, z) in &spec.segments {
        scn += &format!("0x{b:x} 0x{m:x} 0x{z:x}\n");
    }
    c.file("scn", 0o644, scn.as_bytes());
    c.file("bufkb", 0o644, format!("{}\n", spec.buf_kib).as_bytes());
    for m in MODULES {
        let p = d.join(format!("img/lib/modules/{kver}/kernel/{m}"));
        let name = Path::new(m)
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        c.file(&format!("lib/modules/{name}"), 0o644, &read(&p)?);
    }
    c.entry("TRAILER!!!", 0, &[], (0, 0));
    Ok(c.0)
}

fn boot(spec: &Spec, out: &Path, capture: Capture) -> Result {
    let d = spec.kernel.dir();
    let (helper, rawcopy) = build_helper(spec.kernel)?;
    let rd = out.join("initrd.cpio");
    std::fs::write(&rd, initrd(spec, &helper, &rawcopy, capture)?).map_err(|e| e.to_string())?;
    // A sparse disk: the sections (text) from its start, the raw ring
    // buffer from RAW_AT. One disk: a second one would change the
    // firmware's memory map (SeaBIOS reserves more below 4 GiB).
    let disk = out.join("out.img");
    let _ = std::fs::remove_file(out.join("raw.img"));
    let f = std::fs::File::create(&disk).map_err(|e| e.to_string())?;
    f.set_len(RAW_AT + (spec.buf_kib << 10) + (64 << 20))
        .map_err(|e| e.to_string())?;
    drop(f);
    let t = Instant::now();
    run_bounded(
        Command::new(spec.kernel.qemu())
            .args(["-cpu", "max", "-smp", "1", "-nographic", "-no-reboot", "-m"])
            .arg(format!("{}M", spec.mem_mib))
            .arg("-kernel")
            .arg(d.join(format!("img/boot/vmlinuz-{}", spec.kernel.kver())))
            .arg("-initrd")
            .arg(&rd)
            .args(["-append", spec.kernel.append()])
            .arg("-drive")
            .arg(format!("file={},format=raw,if=virtio", disk.display()))
            .stdout(std::fs::File::create(out.join("console.log")).map_err(|e| e.to_string())?),
        qemu_limit(spec),
    )?;
    eprintln!(
        "xtask: {}: QEMU ran {:.1} s",
        spec.name,
        t.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The longest a boot may take before QEMU is stopped: a guest that
/// hangs or spins (an OOM, a lost disk) must not hold the run.
fn qemu_limit(spec: &Spec) -> Duration {
    // Twice or more what the loads take on the 2-core machine: 8 GiB
    // 1,144 s, 3 GiB 504 s.
    Duration::from_secs(120 + spec.mem_mib / 8)
}

/// [`run`] with a time limit: the child is killed when it is over.
fn run_bounded(cmd: &mut Command, limit: Duration) -> Result {
    eprintln!("xtask: $ {} (at most {} s)", show(cmd), limit.as_secs());
    let mut child = cmd.spawn().map_err(|e| format!("{}: {e}", show(cmd)))?;
    let t = Instant::now();
    loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            return if status.success() {
                Ok(())
            } else {
                Err(format!("{} failed ({status})", show(cmd)))
            };
        }
        if t.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "{} stopped after {} s (the guest did not power off; see console.log)",
                show(cmd),
                limit.as_secs()
            ));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Split the guest's output disk into its sections.
fn sections(out: &Path) -> Result<Vec<(String, String)>> {
    use std::io::{BufRead, BufReader};
    let f = std::fs::File::open(out.join("out.img")).map_err(|e| e.to_string())?;
    let mut r = BufReader::new(f);
    let mut secs: Vec<(String, String)> = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = r.read_until(b'\n', &mut line).map_err(|e| e.to_string())?;
        if n == 0 || line.first() == Some(&0) {
            return Err(
                "the guest's output ends without ==end (did it finish? see console.log)".into(),
            );
        }
        let s = String::from_utf8_lossy(&line);
        if let Some(name) = s.strip_prefix("==") {
            let name = name.trim().to_string();
            if name == "end" {
                return Ok(secs);
            }
            secs.push((name, String::new()));
        } else if let Some(last) = secs.last_mut() {
            last.1.push_str(&s);
        }
    }
}

/// The raw ring buffer the guest copied to its second disk, decoded.
fn read_raw<'a>(
    out: &Path,
    get: &dyn Fn(&str) -> Result<&'a str>,
) -> Result<kexec_capture::trace::Trace> {
    use std::io::{Read, Seek};
    let n: u64 = get("rawbytes")?
        .trim()
        .parse()
        .map_err(|_| "the guest's raw copy failed (rawbytes)".to_string())?;
    let mut pages = Vec::new();
    let mut f = std::fs::File::open(out.join("out.img")).map_err(|e| e.to_string())?;
    f.seek(std::io::SeekFrom::Start(RAW_AT))
        .map_err(|e| e.to_string())?;
    f.take(n)
        .read_to_end(&mut pages)
        .map_err(|e| e.to_string())?;
    kexec_capture::raw::read(kexec_capture::raw::RawInput {
        pages: &pages,
        cpu: 0,
        header_page: get("header_page")?,
        formats: get("formats")?,
        symbols: get("kallsyms")?,
        cmdlines: get("cmdlines")?,
        stats: get("stats")?,
    })
    .map_err(|e| format!("raw ring buffer: {}", e.message))
}

/// `--check-raw`: the raw reader must find what the text one found (the
/// events' order numbers aside).
fn same_trace(text: &kexec_capture::trace::Trace, raw: &kexec_capture::trace::Trace) -> Result {
    use kexec_capture::trace::KimageEvent as K;
    let key = |k: &K| {
        let p = k.page();
        let kind = match k {
            K::Alloc(_) => 0,
            K::FreeInLoad(_) => 1,
            K::FreeUnload(_) => 2,
        };
        (kind, p.pid, p.pfn, p.order)
    };
    let (a, b): (Vec<_>, Vec<_>) = (
        text.kimage.iter().map(key).collect(),
        raw.kimage.iter().map(key).collect(),
    );
    if let Some(i) = (0..a.len().max(b.len())).find(|&i| a.get(i) != b.get(i)) {
        return Err(format!(
            "the raw reader differs from the text at kimage event {i}: text {:?}, raw {:?}",
            a.get(i),
            b.get(i)
        ));
    }
    let counts = |t: &kexec_capture::trace::Trace| {
        (
            t.events,
            t.without_stack,
            t.dropped_frees,
            t.dropped_allocs.clone(),
            t.pids.clone(),
        )
    };
    if counts(text) != counts(raw) {
        return Err(format!(
            "the raw reader's counts differ from the text's: text {:?}, raw {:?}",
            counts(text),
            counts(raw)
        ));
    }
    Ok(())
}

fn one(spec: &Spec, reuse: bool, fixtures: bool, check_raw: bool) -> Result<String> {
    let out = dir().join("run").join(&spec.name);
    std::fs::create_dir_all(&out).map_err(|e| e.to_string())?;
    let t = Instant::now();
    if !(reuse && out.join("out.img").exists()) {
        boot(spec, &out, Capture::of(spec, check_raw))?;
    }
    let ti = Instant::now();
    let secs = sections(&out)?;
    let get = |n: &str| {
        secs.iter()
            .find(|s| s.0 == n)
            .map(|s| s.1.as_str())
            .ok_or_else(|| format!("no {n} section in the guest's output"))
    };
    let list = get("list")?;
    let real = verify::read_result(list)?;
    // The segments as loaded (the helper may have moved segment 0).
    let segments: String = real
        .segments
        .iter()
        .map(|(b, m, z)| format!("{b} 0x{m:x} {z}\n"))
        .collect();
    let lowmem = format!("{}{}", get("dmesg")?, get("zoneinfo")?);
    let trace = get("trace").ok();
    let iomem = get("iomem")?;
    let input = ImportInput {
        trace: trace.unwrap_or(""),
        segments: &segments,
        iomem,
        lowmem: &lowmem,
        arch: spec.kernel.arch(),
        empty_ok: real.load != 0,
    };
    let imported = if get("rawbytes").is_ok() {
        let raw = read_raw(&out, &get)?;
        if let Some(text) = trace {
            let t = kexec_capture::trace::read(text).map_err(|e| e.to_string())?;
            same_trace(&t, &raw).map_err(|e| format!("{}: {e}", spec.name))?;
            eprintln!(
                "xtask: {}: the raw ring buffer reads as the text",
                spec.name
            );
        }
        import_trace(raw, input)
    } else if trace.is_some() {
        import(input)
    } else {
        return Err(format!("{}: the guest wrote no trace", spec.name));
    };
    let c = imported.map_err(|e| format!("{}: import: {e}", spec.name))?;
    let verdict = verify::compare(&c, &real);
    eprintln!(
        "xtask: {}: import and model {:.1} s",
        spec.name,
        ti.elapsed().as_secs_f64()
    );
    let summary = c.summary();
    std::fs::write(out.join("scenario.json"), c.scenario.to_json_pretty())
        .map_err(|e| e.to_string())?;
    if fixtures {
        let fx = root().join("tests/real-kernel").join(&spec.name);
        std::fs::create_dir_all(&fx).map_err(|e| e.to_string())?;
        let w = |n: &str, t: &str| std::fs::write(fx.join(n), t).map_err(|e| e.to_string());
        w("segments.txt", &segments)?;
        w("iomem.txt", iomem)?;
        // The lines the lowmem line is read from, not the whole boot log.
        let zones: String = lowmem
            .lines()
            .filter(|l| {
                l.contains("[mem ")
                    && (l.contains("Normal") || l.contains("DMA") || l.contains("HighMem"))
                    || l.contains("LOWMEM")
            })
            .map(|l| format!("{l}\n"))
            .collect();
        w("lowmem.txt", &zones)?;
        w("list.txt", list)?;
        w("summary.txt", &summary)?;
        // The arch, when it is not i386-pae (the fixtures' default).
        let _ = std::fs::remove_file(fx.join("arch.txt"));
        if spec.kernel != Kernel::Pae686 {
            w("arch.txt", &format!("{}\n", spec.kernel.arch().name()))?;
        }
        // The kernel's own words on a failed load (kexec's pr_err, the
        // allocator's failure warning), when it printed any.
        let said: String = get("dmesg")?
            .lines()
            .filter(|l| l.contains("kexec") || l.contains("page allocation failure"))
            .map(|l| format!("{l}\n"))
            .collect();
        let _ = std::fs::remove_file(fx.join("dmesg-kexec.txt"));
        if !said.is_empty() {
            w("dmesg-kexec.txt", &said)?;
        }
        // The trace, gzipped, when that stays small; else (the 8 GiB load:
        // 2.6 M events with stacks) the capture reduced to what the import
        // made of it: the scenario, whose replay list is runs, and the
        // summary with the dropped counts.
        let _ = std::fs::remove_file(fx.join("trace.txt.gz"));
        let _ = std::fs::remove_file(fx.join("scenario.json"));
        let gz = if let Some(trace) = trace.filter(|t| t.len() <= MAX_FIXTURE_TRACE) {
            let mut gz = GzEncoder::new(Vec::new(), Compression::best());
            gz.write_all(trace.as_bytes()).map_err(|e| e.to_string())?;
            Some(gz.finish().map_err(|e| e.to_string())?)
        } else {
            None
        };
        if let Some(gz) = gz.filter(|g| g.len() <= MAX_FIXTURE_GZ) {
            std::fs::write(fx.join("trace.txt.gz"), gz).map_err(|e| e.to_string())?;
        } else {
            w(
                "scenario.json",
                &format!("{}\n", c.scenario.to_json_pretty()),
            )?;
        }
    }
    let took = t.elapsed().as_secs_f64();
    match verdict {
        Ok(v) => Ok(format!("{}: {v} ({took:.0} s)\n{summary}", spec.name)),
        Err(e) => Err(format!("{}: DIFFERS: {e}\n{summary}", spec.name)),
    }
}

/// The task.
pub fn real_kernel(args: &[String]) -> Result {
    let reuse = args.iter().any(|a| a == "--reuse");
    let fixtures = args.iter().any(|a| a == "--fixtures");
    let check_raw = args.iter().any(|a| a == "--check-raw");
    let names: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let all = specs();
    let chosen: Vec<Spec> = if names.is_empty() {
        all
    } else {
        names
            .iter()
            .map(|n| match all.iter().find(|s| s.name == n.as_str()) {
                Some(s) => Ok(Spec {
                    name: s.name.clone(),
                    segments: s.segments.clone(),
                    ..*s
                }),
                None if Path::new(n.as_str()).is_file() => from_file(n),
                None => {
                    let v: Vec<&str> = all.iter().map(|s| s.name.as_str()).collect();
                    Err(format!(
                        "no real-kernel scenario {n:?} (valid: {}, or a kimage scenario file)",
                        v.join(", ")
                    ))
                }
            })
            .collect::<Result<_>>()?
    };
    for k in [Kernel::Pae686, Kernel::Amd64] {
        if chosen.iter().any(|s| s.kernel == k) {
            ensure_downloads(k)?;
        }
    }
    let mut bad = 0;
    for s in &chosen {
        match one(s, reuse, fixtures, check_raw) {
            Ok(m) => println!("{m}"),
            Err(e) => {
                bad += 1;
                println!("{e}");
            }
        }
    }
    if bad > 0 {
        return Err(format!("{bad} scenario(s) differ or failed"));
    }
    Ok(())
}
