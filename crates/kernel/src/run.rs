//! A kernel build's run, independent of the WebAssembly engine: the steps
//! kexec_load's caller takes (set the arch, load, read the list back,
//! unload) through an [`Engine`] that calls the module's exports, and the
//! result as the model's [`VariantRun`], checked as the model's designs are
//! (relocation, unload).
//!
//! The CLI's engine is wasmi ([`crate::wasmi_engine`]); the page's is the
//! browser's own WebAssembly (in the web crate).

use crate::build_file::KernelBuild;
use crate::host::{Host, Trap, USER_SEGMENTS};
use kexec_common::Errno;
use kexec_core::design::{Fault, FaultInfo, Variant};
use kexec_core::kimage::{KernelImage, Stop};
use kexec_core::run::{self, Outcome, RunOptions, Unload, VariantRun};
use kexec_core::scenario::Scenario;

/// What the module's exports do for the runner (`kexec_sim_*` in
/// kshim.c). Each call may end in a [`Trap`].
pub trait Engine {
    /// The host, between calls.
    fn host(&mut self) -> &mut Host;
    /// `kexec_sim_set_arch`, then `kexec_sim_init`; the shadow stack's
    /// address goes to the host; the step budget is set.
    fn init(&mut self, arch: [u64; 7], steps: u64) -> Result<(), Trap>;
    /// `kexec_sim_load(entry, nr, segments, flags)`: the syscall's return.
    fn load(&mut self, entry: u64, nr: u64, segments: u64, flags: u64) -> Result<i64, Trap>;
    /// `kexec_sim_flush`.
    fn flush(&mut self) -> Result<(), Trap>;
    /// `kexec_sim_head`.
    fn head(&mut self) -> Result<u64, Trap>;
    /// `kexec_sim_control_code_pfn`, `kexec_sim_swap_pfn` (u64::MAX: none).
    fn control_and_swap(&mut self) -> Result<(u64, u64), Trap>;
    /// `kexec_sim_list(which)`: the pfns on image->control_pages (0),
    /// dest_pages (1), unusable_pages (2).
    fn list(&mut self, which: u32) -> Result<Vec<u64>, Trap>;
}

/// The machine's arch values as the shim takes them.
pub fn arch_values(sc: &Scenario) -> [u64; 7] {
    let m = run::machine(sc);
    let p = m.arch;
    let kexec_arch = match p.name {
        "x86_64" => 62 << 16,
        "arm-lpae" => 40 << 16,
        _ => 3 << 16,
    };
    [
        p.source_limit,
        p.destination_limit,
        p.control_limit,
        4096 << p.control_order,
        kexec_arch,
        m.totalram_pages(),
        m.max_pfn(),
    ]
}

fn errno_of(n: i64) -> Option<Errno> {
    [
        Errno::EINVAL,
        Errno::EADDRNOTAVAIL,
        Errno::ENOMEM,
        Errno::EBUSY,
        Errno::EEXIST,
        Errno::EFAULT,
        Errno::EPERM,
    ]
    .into_iter()
    .find(|e| i64::from(e.number()) == -n)
}

/// The outcome of a trap.
fn stopped(t: Trap) -> Outcome {
    match t {
        Trap::Fault(f) => Outcome::Stopped(Stop::Fault(f)),
        Trap::Stop(s) => Outcome::Stopped(s),
    }
}

/// Why the kernel's code returned `errno`, in the model's words where the
/// model can tell: the kernel's own log line, the kernel function whose
/// allocation failed (the shadow stack), the sanity rule the model's
/// sanity_check_segment_list finds for -EINVAL / -EADDRNOTAVAIL.
fn errno_reason(sc: &Scenario, errno: Errno, host: &Host) -> String {
    let log_hint = host
        .log
        .last()
        .map(|l| l.trim_start_matches("kexec: ").to_string());
    match errno {
        Errno::ENOMEM => {
            if let Some(l) = log_hint
                .as_ref()
                .filter(|l| l.starts_with("Could not allocate"))
            {
                return format!("{l} (kimage_alloc_init)");
            }
            let stack = host
                .failed_alloc
                .as_ref()
                .map(|(_, s)| s.as_slice())
                .unwrap_or(&[]);
            let has = |f: &str| stack.iter().any(|s| s == f);
            if has("kimage_add_entry") {
                return "kimage_alloc_page found no page for a new indirection page (kimage_add_entry)".into();
            }
            if has("kimage_load_normal_segment") {
                if let Some((i, page)) = host.loading() {
                    return format!("kimage_alloc_page found no page for segment {i} page {page} (kimage_load_normal_segment)");
                }
            }
            if let Some(f) = stack.first() {
                return format!("an allocation failed in {f}");
            }
        }
        Errno::EINVAL | Errno::EADDRNOTAVAIL => {
            let mut k = run::kernel_kimage(sc, Variant::Pointer, false);
            if let Err(Stop::Errno { errno: e, reason }) = k.sanity_check_segment_list() {
                if e == errno {
                    return reason;
                }
            }
        }
        _ => {}
    }
    match log_hint {
        Some(l) => format!("returned by the kernel's code; the kernel log ends \"{l}\""),
        None => "returned by the kernel's code".into(),
    }
}

/// A failed -ENOMEM load in kimage_add_page leaves the page
/// kimage_load_normal_segment just got in no list: name it as the model
/// does (it is the one source page still held after kimage_free ran).
fn dropped_page(host: &mut Host) {
    let in_add_page = host
        .failed_alloc
        .as_ref()
        .is_some_and(|(_, s)| s.iter().any(|f| f == "kimage_add_page"));
    let Some((i, page)) = host.loading().filter(|_| in_add_page) else {
        return;
    };
    let held: Vec<u64> = host
        .k
        .outstanding()
        .into_iter()
        .filter(|&(_, r)| r == kexec_core::kimage::Role::Source)
        .map(|(p, _)| p)
        .collect();
    if let [pfn] = held[..] {
        host.k.dropped.insert(
            pfn,
            format!("source page of segment {i} page {page}: kimage_add_page failed and kimage_load_normal_segment returns without freeing it"),
        );
    }
}

/// One kernel-build run on `engine`: load, the list read back, the model's
/// checks, the kernel's own unload.
pub fn run_build(
    engine: &mut dyn Engine,
    sc: &Scenario,
    v: Variant,
    opts: RunOptions,
) -> VariantRun {
    let steps = engine.host().steps;
    let nr = sc.segments.len() as u64;
    let outcome = match engine.init(arch_values(sc), steps) {
        Err(t) => stopped(t),
        Ok(()) => match engine.load(0, nr, USER_SEGMENTS, 0) {
            Err(t) => stopped(t),
            Ok(0) if nr == 0 => Outcome::Unloaded,
            Ok(0) => match adopt(engine) {
                Ok(()) => Outcome::Loaded,
                Err(t) => stopped(t),
            },
            Ok(ret) => match errno_of(ret) {
                Some(errno) => {
                    dropped_page(engine.host());
                    Outcome::Stopped(Stop::Errno {
                        errno,
                        reason: errno_reason(sc, errno, engine.host()),
                    })
                }
                None => Outcome::Stopped(Stop::Fault(Fault::from(FaultInfo {
                    function: "kexec_load".into(),
                    pfn: None,
                    reason: format!("returns {ret}, which is not 0 nor an errno the model knows"),
                }))),
            },
        },
    };
    let placeholder = run::kernel_kimage(sc, v, false);
    let k = std::mem::replace(&mut engine.host().k, placeholder);
    let mut r = run::finish(sc, k, outcome, opts);
    if opts.unload {
        std::mem::swap(&mut engine.host().k, &mut r.kimage);
        let before = engine.host().k.counters.pages_freed;
        let unload = if r.outcome == Outcome::Loaded {
            engine.load(0, 0, 0, 0).err()
        } else {
            None
        };
        std::mem::swap(&mut engine.host().k, &mut r.kimage);
        r.unload = match unload {
            Some(Trap::Fault(f)) => Some(Unload::Fault(f.to_string())),
            Some(Trap::Stop(s)) => Some(Unload::Fault(s.to_string())),
            None => run::unload_verdict(&r, before),
        };
    }
    r.log = std::mem::take(&mut engine.host().log);
    r
}

/// After a load that returned 0: the direct map flushed to the store, the
/// image's head and lists read back into the kimage.
fn adopt(engine: &mut dyn Engine) -> Result<(), Trap> {
    engine.flush()?;
    let head = engine.head()?;
    let (cc, swap) = engine.control_and_swap()?;
    let image = KernelImage {
        head,
        control_code: (cc != u64::MAX).then_some(cc),
        swap: (swap != u64::MAX).then_some(swap),
        control_pages: engine.list(0)?,
        dest_pages: engine.list(1)?,
        unusable_pages: engine.list(2)?,
    };
    engine
        .host()
        .k
        .adopt_kernel_image(image)
        .map_err(Trap::Fault)
}

/// The builds a front end has loaded, by id; runs a scenario's kernel
/// variant with the build it names, through `make_engine`.
pub fn find<'a>(builds: &'a [KernelBuild], sc: &Scenario, v: Variant) -> Option<&'a KernelBuild> {
    let spec = sc.kernel(v)?;
    builds.iter().find(|b| b.meta.id == spec.id)
}
