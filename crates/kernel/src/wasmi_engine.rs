//! Running kernel builds natively with wasmi (an interpreter in pure Rust):
//! the CLI's [`KernelRunner`].
//!
//! Each run gets a fresh instance of the build's module for its word size
//! (wasm32 for i386, i386-pae and arm-lpae; wasm64 for x86_64); the module
//! is compiled once per build. The imports are the shim's host side
//! ([`crate::host::Host`]); a host call that ends the run returns a wasmi
//! error carrying the [`Trap`].

use crate::build_file::KernelBuild;
use crate::host::{GuestMemory, Host, Trap};
use crate::run::{self as krun, Engine};
use kexec_core::design::Variant;
use kexec_core::run::{KernelRunner, RunOptions, VariantRun};
use kexec_core::scenario::Scenario;
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use wasmi::{Caller, Config, Extern, Instance, Linker, Memory, Module, Store, Val};

impl fmt::Display for Trap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Trap::Fault(x) => write!(f, "fault: {x}"),
            Trap::Stop(s) => write!(f, "{s}"),
        }
    }
}

impl wasmi::errors::HostError for Trap {}

/// Memory of the calling instance, lent to one host call.
struct Mem<'a>(&'a mut [u8]);

impl GuestMemory for Mem<'_> {
    fn read(&self, addr: u64, buf: &mut [u8]) -> bool {
        let Ok(a) = usize::try_from(addr) else {
            return false;
        };
        match self.0.get(a..a.saturating_add(buf.len())) {
            Some(s) => {
                buf.copy_from_slice(s);
                true
            }
            None => false,
        }
    }

    fn write(&mut self, addr: u64, data: &[u8]) -> bool {
        let Ok(a) = usize::try_from(addr) else {
            return false;
        };
        match self.0.get_mut(a..a.saturating_add(data.len())) {
            Some(s) => {
                s.copy_from_slice(data);
                true
            }
            None => false,
        }
    }
}

fn memory(caller: &Caller<'_, Host>) -> Option<Memory> {
    match caller.get_export("memory") {
        Some(Extern::Memory(m)) => Some(m),
        _ => None,
    }
}

/// Run `f` with the caller's memory and host.
fn with<R>(
    caller: &mut Caller<'_, Host>,
    f: impl FnOnce(&mut Host, &mut Mem) -> Result<R, Trap>,
) -> Result<R, wasmi::Error> {
    let m = memory(caller).ok_or_else(|| wasmi::Error::new("the module exports no memory"))?;
    let (data, host) = m.data_and_store_mut(caller);
    f(host, &mut Mem(data)).map_err(wasmi::Error::host)
}

/// The imports, for a pointer type `P` (u32 on wasm32, u64 on wasm64).
fn define<P>(linker: &mut Linker<Host>) -> Result<(), wasmi::Error>
where
    P: wasmi::WasmTy + Into<u64> + Copy,
{
    const M: &str = "kexec_shim";
    linker.func_wrap(
        M,
        "alloc_pages",
        |mut c: Caller<'_, Host>, gfp: u32, order: u32| {
            with(&mut c, |h, m| h.alloc_pages(m, gfp, order))
        },
    )?;
    linker.func_wrap(
        M,
        "free_pages",
        |mut c: Caller<'_, Host>, pfn: i64, order: u32| {
            with(&mut c, |h, m| h.free_pages(m, pfn as u64, order))
        },
    )?;
    linker.func_wrap(M, "page_info", |c: Caller<'_, Host>, pfn: i64| -> u32 {
        c.data().page_info(pfn as u64)
    })?;
    linker.func_wrap(
        M,
        "page_fill",
        |mut c: Caller<'_, Host>, pfn: i64, buf: P, why: u32| {
            with(&mut c, |h, m| h.page_fill(m, pfn as u64, buf.into(), why))
        },
    )?;
    linker.func_wrap(
        M,
        "page_store",
        |mut c: Caller<'_, Host>, pfn: i64, buf: P, why: u32| {
            with(&mut c, |h, m| h.page_store(m, pfn as u64, buf.into(), why))
        },
    )?;
    linker.func_wrap(
        M,
        "copy_from_user",
        |mut c: Caller<'_, Host>, dst: P, src: i64, n: i64| -> Result<i64, wasmi::Error> {
            with(&mut c, |h, m| {
                h.copy_from_user(m, dst.into(), src as u64, n as u64)
                    .map(|x| x as i64)
            })
        },
    )?;
    linker.func_wrap(M, "printk", |mut c: Caller<'_, Host>, ptr: P, len: u32| {
        with(&mut c, |h, m| {
            h.printk(m, ptr.into(), len);
            Ok(())
        })
    })?;
    linker.func_wrap(
        M,
        "fault",
        |mut c: Caller<'_, Host>, code: u32, a: i64, b: i64| {
            with(&mut c, |h, m| -> Result<(), Trap> {
                Err(h.shim_fault(m, code, a as u64, b as u64))
            })
        },
    )?;
    linker.func_wrap(
        M,
        "guard",
        |mut c: Caller<'_, Host>, area: P, len: P, byte: u32, bias: P| {
            with(&mut c, |h, m| {
                h.guard(m, area.into(), len.into(), byte, bias.into())
            })
        },
    )?;
    linker.func_wrap(M, "event", |mut c: Caller<'_, Host>, what: u32, a: i64| {
        with(&mut c, |h, m| {
            h.event(m, what, a as u64);
            Ok(())
        })
    })?;
    linker.func_wrap(M, "out_of_steps", |mut c: Caller<'_, Host>| {
        with(&mut c, |h, m| -> Result<(), Trap> {
            Err(h.out_of_steps(m))
        })
    })?;
    Ok(())
}

/// A build's modules, compiled once.
struct Compiled {
    engine: wasmi::Engine,
    modules: HashMap<u32, Module>,
}

/// The kernel builds the CLI loaded.
pub struct WasmiKernels {
    builds: Vec<KernelBuild>,
    compiled: RefCell<HashMap<String, Compiled>>,
}

impl WasmiKernels {
    /// A runner for these builds.
    pub fn new(builds: Vec<KernelBuild>) -> Self {
        WasmiKernels {
            builds,
            compiled: RefCell::new(HashMap::new()),
        }
    }

    fn module(&self, b: &KernelBuild, bits: u32) -> Result<(wasmi::Engine, Module), String> {
        let mut cache = self.compiled.borrow_mut();
        let c = cache.entry(b.meta.id.clone()).or_insert_with(|| {
            let mut cfg = Config::default();
            cfg.set_max_recursion_depth(4096);
            Compiled {
                engine: wasmi::Engine::new(&cfg),
                modules: HashMap::new(),
            }
        });
        if let Some(m) = c.modules.get(&bits) {
            return Ok((c.engine.clone(), m.clone()));
        }
        let bytes = b.module(bits)?;
        let m = Module::new(&c.engine, &bytes[..])
            .map_err(|e| format!("kernel build {}: {bits}-bit module: {e}", b.meta.name))?;
        c.modules.insert(bits, m.clone());
        Ok((c.engine.clone(), m))
    }
}

/// One instance of a build's module.
struct Run {
    store: Store<Host>,
    instance: Instance,
    wide: bool,
}

impl Run {
    fn word(&self, x: u64) -> Val {
        if self.wide {
            Val::I64(x as i64)
        } else {
            Val::I32(x as u32 as i32)
        }
    }

    fn call(&mut self, name: &str, args: &[Val], results: usize) -> Result<Vec<Val>, Trap> {
        let f = self
            .instance
            .get_func(&self.store, name)
            .ok_or_else(|| self.trap(format!("the kernel build has no export {name}")))?;
        let mut out = vec![Val::I32(0); results];
        match f.call(&mut self.store, args, &mut out) {
            Ok(()) => Ok(out),
            Err(mut e) => {
                if let Some(t) = e.downcast_mut::<Trap>() {
                    return Err(t.clone());
                }
                Err(self.trap(format!("WebAssembly trap: {e}")))
            }
        }
    }

    /// A trap of the engine itself (out-of-bounds access, stack overflow),
    /// in the running kernel function.
    fn trap(&self, what: String) -> Trap {
        let mem = self
            .instance
            .get_memory(&self.store, "memory")
            .map(|m| m.data(&self.store).to_vec())
            .unwrap_or_default();
        let mut data = mem;
        let m = Mem(&mut data);
        match self.store.data().fault_here(&m, what, None) {
            Trap::Fault(f) => Trap::Fault(f),
            other => other,
        }
    }

    fn int(v: &Val) -> i64 {
        match v {
            Val::I32(x) => i64::from(*x),
            Val::I64(x) => *x,
            _ => 0,
        }
    }
}

impl Engine for Run {
    fn host(&mut self) -> &mut Host {
        self.store.data_mut()
    }

    fn init(&mut self, arch: [u64; 7], steps: u64) -> Result<(), Trap> {
        let args: Vec<Val> = arch.iter().map(|&x| Val::I64(x as i64)).collect();
        self.call("kexec_sim_set_arch", &args, 0)?;
        self.call("kexec_sim_init", &[], 0)?;
        let shadow = Run::int(&self.call("kexec_sim_shadow", &[], 1)?[0]) as u64;
        self.store.data_mut().shadow = if self.wide {
            shadow
        } else {
            shadow & 0xffff_ffff
        };
        if let Some(g) = self.instance.get_global(&self.store, "kexec_sim_fuel") {
            let _ = g.set(&mut self.store, Val::I64(steps.min(i64::MAX as u64) as i64));
        }
        Ok(())
    }

    fn load(&mut self, entry: u64, nr: u64, segments: u64, flags: u64) -> Result<i64, Trap> {
        let args = [
            self.word(entry),
            self.word(nr),
            self.word(segments),
            self.word(flags),
        ];
        let r = self.call("kexec_sim_load", &args, 1)?;
        let v = Run::int(&r[0]);
        Ok(if self.wide { v } else { i64::from(v as i32) })
    }

    fn flush(&mut self) -> Result<(), Trap> {
        self.call("kexec_sim_flush", &[], 0).map(|_| ())
    }

    fn head(&mut self) -> Result<u64, Trap> {
        Ok(Run::int(&self.call("kexec_sim_head", &[], 1)?[0]) as u64)
    }

    fn control_and_swap(&mut self) -> Result<(u64, u64), Trap> {
        let c = Run::int(&self.call("kexec_sim_control_code_pfn", &[], 1)?[0]) as u64;
        let s = Run::int(&self.call("kexec_sim_swap_pfn", &[], 1)?[0]) as u64;
        Ok((c, s))
    }

    fn list(&mut self, which: u32) -> Result<Vec<u64>, Trap> {
        let scratch = Run::int(&self.call("kexec_sim_scratch", &[], 1)?[0]) as u64;
        let scratch = if self.wide {
            scratch
        } else {
            scratch & 0xffff_ffff
        };
        let max = 4096u64;
        self.call("kexec_sim_list_begin", &[Val::I32(which as i32)], 0)?;
        let mut out = Vec::new();
        loop {
            let args = [self.word(scratch), self.word(max)];
            let n = Run::int(&self.call("kexec_sim_list_next", &args, 1)?[0]) as u64;
            let n = if self.wide { n } else { n & 0xffff_ffff }.min(max);
            if n == 0 {
                return Ok(out);
            }
            let mem = self
                .instance
                .get_memory(&self.store, "memory")
                .ok_or_else(|| self.trap("no memory".into()))?;
            let data = mem.data(&self.store);
            for i in 0..n {
                let at = (scratch + i * 8) as usize;
                let mut b = [0u8; 8];
                if let Some(s) = data.get(at..at + 8) {
                    b.copy_from_slice(s);
                }
                out.push(u64::from_le_bytes(b));
            }
        }
    }
}

impl KernelRunner for WasmiKernels {
    fn run(
        &self,
        sc: &Scenario,
        v: Variant,
        opts: RunOptions,
        prefix: &[u64],
    ) -> Option<VariantRun> {
        let b = krun::find(&self.builds, sc, v)?;
        let mut k = kexec_core::run::kernel_kimage(sc, v, opts.trace);
        if !prefix.is_empty() {
            k.allocator_mut().set_prefix(prefix.to_vec());
        }
        let wide = k.machine.arch.entry_bytes() == 8;
        let host = Host::new(k, sc, b);
        let bits = if wide { 64 } else { 32 };
        let (engine, module) = match self.module(b, bits) {
            Ok(x) => x,
            Err(e) => return Some(broken(sc, v, opts, e)),
        };
        let mut store = Store::new(&engine, host);
        let mut linker = Linker::new(&engine);
        let defined = if wide {
            define::<u64>(&mut linker)
        } else {
            define::<u32>(&mut linker)
        };
        let instance = match defined.and_then(|_| linker.instantiate_and_start(&mut store, &module))
        {
            Ok(i) => i,
            Err(e) => {
                return Some(broken(
                    sc,
                    v,
                    opts,
                    format!("kernel build {}: {e}", b.meta.name),
                ))
            }
        };
        let mut run = Run {
            store,
            instance,
            wide,
        };
        Some(krun::run_build(&mut run, sc, v, opts))
    }
}

/// A build that cannot be instantiated: the run says why.
fn broken(sc: &Scenario, v: Variant, opts: RunOptions, why: String) -> VariantRun {
    let k = kexec_core::run::kernel_kimage(sc, v, false);
    let out = kexec_core::run::Outcome::Stopped(kexec_core::kimage::Stop::NotLoaded(why));
    kexec_core::run::finish(sc, k, out, opts)
}
