//! The shim's host side: what a kernel build's imports (`kexec_shim.*`)
//! do, on the model's machine.
//!
//! A [`Host`] holds the run's [`Kimage`] (machine, allocator, store,
//! counters, roles) and answers the module: `alloc_pages` / `free_pages`
//! go to the model's allocator, in the order the C code asks (so a
//! scenario's allocator stream and its `replay` lists mean the same for
//! the kernel's code as for the model's designs); `page_fill` /
//! `page_store` turn a page's contents in the model's store (content tags)
//! into 4 KiB of bytes in a kmap window or a direct-map buffer and back;
//! `copy_from_user` reads the scenario's buffers (each segment's
//! deterministic pattern) and the segment array; `printk` is the kernel
//! log; `fault` and `out_of_steps` end the run with a fault naming the
//! kernel function (the module's shadow stack) and the page.
//!
//! The runner (wasmi in the CLI, the browser's WebAssembly in the page)
//! gives each call access to the module's memory through [`GuestMemory`].

use crate::build_file::KernelBuild;
use kexec_core::design::{Fault, FaultInfo};
use kexec_core::gfp::Gfp;
use kexec_core::kimage::{Kimage, Stop};
use kexec_core::memory::{content_word, pattern_word, Content};
use kexec_core::scenario::Scenario;
use std::collections::HashMap;

/// A page is 4 KiB everywhere here.
pub const PAGE: usize = 4096;

/// The module's linear memory, as the runner lends it to one call.
pub trait GuestMemory {
    /// Read `buf.len()` bytes at `addr`; false when out of bounds.
    fn read(&self, addr: u64, buf: &mut [u8]) -> bool;
    /// Write `data` at `addr`; false when out of bounds.
    fn write(&mut self, addr: u64, data: &[u8]) -> bool;
}

/// The user address of the segment array kexec_load is given.
pub const USER_SEGMENTS: u64 = 0x1000_0000;
/// Where the first segment's buffer is in user space.
const USER_BUFFERS: u64 = 0x2000_0000;

/// Why a call ends the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trap {
    /// The kernel would not survive this: the run's outcome is this fault.
    Fault(Fault),
    /// The model stopped it (a replay error, a model limit).
    Stop(Stop),
}

/// A page's buffer as the host last filled or stored it.
struct Buffer {
    pfn: u64,
    /// A kmap window (0) or a direct-map page (1).
    why: u32,
    /// What the host put there (to tell a page the code did not change).
    bytes: Vec<u8>,
    /// The last copy_from_user into it: (segment, offset in the segment's
    /// buffer, offset in the page, bytes).
    copied: Option<(usize, u64, u64, u64)>,
}

/// The host side of one kernel-build run.
pub struct Host {
    /// The run's kimage: the machine and the model's books.
    pub k: Kimage,
    /// Entry width in bytes (4 or 8): `unsigned long` of the arch.
    pub width: u64,
    /// The kernel log (printk), one line each.
    pub log: Vec<String>,
    /// Function names of the build's module for this word size.
    names: HashMap<u32, String>,
    /// Where the module keeps its shadow stack (set after instantiation).
    pub shadow: u64,
    /// Each segment's user buffer: (user address, bufsz).
    user_buffers: Vec<(u64, u64)>,
    /// Live buffers by guest address.
    buffers: HashMap<u64, Buffer>,
    /// The step budget the run was given.
    pub steps: u64,
    /// copy_from_user calls from each segment's buffer (one per page
    /// kimage_load_normal_segment loads).
    pub copies: Vec<u64>,
    /// The last allocation that failed: its gfp and the kernel functions
    /// that asked, innermost first.
    pub failed_alloc: Option<(u32, Vec<String>)>,
}

/// The user address space ends here: buffers past it cannot be read
/// (copy_from_user fails, as for an unmapped address).
fn user_end(width: u64) -> u64 {
    if width == 4 {
        0xffff_f000
    } else {
        0x7fff_ffff_f000
    }
}

impl Host {
    /// A host for a run of `build` on the scenario's machine (`k` is the
    /// run's fresh kimage).
    pub fn new(k: Kimage, sc: &Scenario, build: &KernelBuild) -> Host {
        let width = k.machine.arch.entry_bytes();
        let bits = (width * 8) as u32;
        let names = build
            .modules
            .iter()
            .filter(|m| m.word_bits == bits)
            .flat_map(|m| m.functions.iter().cloned())
            .collect();
        let mut at = USER_BUFFERS;
        let user_buffers = sc
            .segments
            .iter()
            .map(|s| {
                let here = at;
                at = at
                    .saturating_add(s.bufsz.div_ceil(PAGE as u64) * PAGE as u64)
                    .saturating_add(PAGE as u64);
                (here, s.bufsz)
            })
            .collect();
        let pages = sc.image_pages();
        // The kernel's list walks are O(n^2) in the pages of the image.
        let n = pages.saturating_add(1024);
        let steps = n
            .saturating_mul(n)
            .saturating_mul(8)
            .saturating_add(50_000_000);
        Host {
            k,
            width,
            log: Vec::new(),
            names,
            shadow: 0,
            user_buffers,
            buffers: HashMap::new(),
            steps,
            copies: vec![0; sc.segments.len()],
            failed_alloc: None,
        }
    }

    /// The segment array as kexec_load's caller passes it: per segment
    /// `buf`, `bufsz`, `mem`, `memsz`, each an `unsigned long` (a user
    /// pointer or size_t of the arch).
    pub fn segment_array(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (s, &(buf, _)) in self.k.segments.iter().zip(&self.user_buffers) {
            let buf = if buf.saturating_add(s.bufsz) > user_end(self.width) {
                user_end(self.width)
            } else {
                buf
            };
            for w in [buf, s.bufsz, s.mem, s.memsz] {
                out.extend_from_slice(&w.to_le_bytes()[..self.width as usize]);
            }
        }
        out
    }

    /// `kexec_shim.alloc_pages`.
    pub fn alloc_pages(
        &mut self,
        mem: &dyn GuestMemory,
        gfp: u32,
        order: u32,
    ) -> Result<i64, Trap> {
        match self.k.kernel_alloc_pages(Gfp(gfp), order) {
            Ok(Some(pfn)) => Ok(pfn as i64),
            Ok(None) => {
                self.failed_alloc = Some((gfp, self.stack(mem)));
                Ok(-1)
            }
            Err(s) => Err(Trap::Stop(s)),
        }
    }

    /// The segment kimage_load_normal_segment is loading and the page it
    /// is at: the first segment not fully copied, and the pages copied.
    pub fn loading(&self) -> Option<(usize, u64)> {
        self.k
            .segments
            .iter()
            .zip(&self.copies)
            .position(|(s, &c)| c < s.memsz.div_ceil(PAGE as u64))
            .map(|i| (i, self.copies[i]))
    }

    /// `kexec_shim.free_pages`.
    pub fn free_pages(&mut self, mem: &dyn GuestMemory, pfn: u64, order: u32) -> Result<(), Trap> {
        let f = self.function(mem);
        self.k
            .kernel_free_pages(pfn, order, &f)
            .map_err(Trap::Fault)
    }

    /// `kexec_shim.page_info`: RAM, PageHighMem (6.1's zone test), direct
    /// mapping.
    pub fn page_info(&self, pfn: u64) -> u32 {
        let m = &self.k.machine;
        if !m.is_ram(pfn) {
            return 0;
        }
        let mut bits = 1;
        if m.page_highmem_zone(pfn) {
            bits |= 2;
        }
        if !m.page_highmem(pfn) {
            bits |= 4;
        }
        bits
    }

    /// The bytes of a page as the store has it.
    fn page_bytes(&self, pfn: u64) -> Vec<u8> {
        let c = self.k.store.get(pfn);
        let w = self.width;
        let mut out = Vec::with_capacity(PAGE);
        for slot in 0..(PAGE as u64 / w) {
            let word = match &c {
                Some(c) => content_word(c, slot, w).unwrap_or(0),
                // Never written by kexec: whatever the page held before.
                None => pattern_word(0xff, (pfn & 0xffff_ffff) as u32, slot),
            };
            out.extend_from_slice(&word.to_le_bytes()[..w as usize]);
        }
        out
    }

    /// `kexec_shim.page_fill`: a kmap window (why 0) or a direct-map buffer
    /// (why 1) gets the page's contents.
    pub fn page_fill(
        &mut self,
        mem: &mut dyn GuestMemory,
        pfn: u64,
        buf: u64,
        why: u32,
    ) -> Result<(), Trap> {
        let bytes = self.page_bytes(pfn);
        if !mem.write(buf, &bytes) {
            return Err(self.fault_here(
                &*mem,
                format!("the shim's buffer at 0x{buf:x} is outside memory"),
                Some(pfn),
            ));
        }
        if why == 0 {
            self.k.counters.kmap += 1;
            if self.k.machine.page_highmem(pfn) {
                self.k.counters.kmap_highmem += 1;
            }
        }
        self.buffers.insert(
            buf,
            Buffer {
                pfn,
                why,
                bytes,
                copied: None,
            },
        );
        Ok(())
    }

    /// `kexec_shim.page_store`: the page's buffer goes back (kunmap, a
    /// flush, a free); what it holds goes to the store as a content tag.
    pub fn page_store(
        &mut self,
        mem: &dyn GuestMemory,
        pfn: u64,
        buf: u64,
        why: u32,
    ) -> Result<(), Trap> {
        let mut now = vec![0u8; PAGE];
        if !mem.read(buf, &mut now) {
            return Err(self.fault_here(
                mem,
                format!("the shim's buffer at 0x{buf:x} is outside memory"),
                Some(pfn),
            ));
        }
        let state = if why == 0 {
            self.buffers.remove(&buf)
        } else {
            self.buffers.get(&buf).map(|b| Buffer {
                pfn: b.pfn,
                why: b.why,
                bytes: b.bytes.clone(),
                copied: b.copied,
            })
        };
        let unchanged = state
            .as_ref()
            .is_some_and(|s| s.pfn == pfn && s.bytes == now);
        if !unchanged {
            let c = self.classify(&now, state.as_ref().and_then(|s| s.copied));
            self.k.store.set(pfn, c);
        }
        if why == 1 {
            if let Some(b) = self.buffers.get_mut(&buf) {
                b.bytes = now;
            }
        }
        Ok(())
    }

    /// The content tag 4 KiB of bytes are: zeros, a segment's page (the
    /// last copy_from_user into the buffer says which), or entry words.
    fn classify(&self, bytes: &[u8], copied: Option<(usize, u64, u64, u64)>) -> Content {
        if bytes.iter().all(|&b| b == 0) {
            return Content::Zero;
        }
        // A copy of another mapped page (copy_highpage on the swap path):
        // that page's contents.
        if let Some(c) = self
            .buffers
            .values()
            .filter(|b| b.bytes == bytes)
            .find_map(|b| self.k.store.get(b.pfn))
        {
            return c;
        }
        if let Some((seg, off, at, n)) = copied {
            if at == 0 && off % PAGE as u64 == 0 && (1..=PAGE as u64).contains(&n) {
                let c = Content::Data {
                    seg: seg as u8,
                    page: (off / PAGE as u64) as u32,
                    len: n as u16,
                };
                if self.bytes_of(&c) == bytes {
                    return c;
                }
            }
        }
        let w = self.width as usize;
        Content::Entries(
            bytes
                .chunks(w)
                .map(|c| {
                    let mut x = [0u8; 8];
                    x[..w].copy_from_slice(c);
                    u64::from_le_bytes(x)
                })
                .collect(),
        )
    }

    fn bytes_of(&self, c: &Content) -> Vec<u8> {
        let w = self.width;
        let mut out = Vec::with_capacity(PAGE);
        for slot in 0..(PAGE as u64 / w) {
            let word = content_word(c, slot, w).unwrap_or(0);
            out.extend_from_slice(&word.to_le_bytes()[..w as usize]);
        }
        out
    }

    /// A byte of segment `seg`'s user buffer.
    fn user_byte(&self, seg: usize, off: u64) -> u8 {
        let w = self.width;
        let c = Content::Data {
            seg: seg as u8,
            page: (off / PAGE as u64) as u32,
            len: PAGE as u16,
        };
        let word = content_word(&c, (off % PAGE as u64) / w, w).unwrap_or(0);
        word.to_le_bytes()[(off % w) as usize]
    }

    /// `kexec_shim.copy_from_user`: the bytes not copied.
    pub fn copy_from_user(
        &mut self,
        mem: &mut dyn GuestMemory,
        dst: u64,
        src: u64,
        n: u64,
    ) -> Result<u64, Trap> {
        if n > 64 << 20 {
            return Ok(n);
        }
        let seg_bytes = self.segment_array();
        let data: Vec<u8> =
            if src >= USER_SEGMENTS && src + n <= USER_SEGMENTS + seg_bytes.len() as u64 {
                let at = (src - USER_SEGMENTS) as usize;
                seg_bytes[at..at + n as usize].to_vec()
            } else if let Some(seg) = self.user_buffers.iter().position(|&(b, len)| {
                src >= b && src.saturating_add(n) <= b + len && b + len <= user_end(self.width)
            }) {
                let off = src - self.user_buffers[seg].0;
                self.copies[seg] += 1;
                let bytes: Vec<u8> = (0..n).map(|i| self.user_byte(seg, off + i)).collect();
                if let Some((&base, b)) = self
                    .buffers
                    .iter_mut()
                    .find(|(&b, _)| dst >= b && dst < b + PAGE as u64)
                {
                    b.copied = Some((seg, off, dst - base, n));
                }
                bytes
            } else {
                // Not mapped in the caller's address space: -EFAULT.
                return Ok(n);
            };
        if !mem.write(dst, &data) {
            return Err(self.fault_here(
                &*mem,
                format!("copy_from_user writes {n} bytes at 0x{dst:x}, outside memory"),
                None,
            ));
        }
        Ok(0)
    }

    /// `kexec_shim.guard`: every byte of the area must still be `byte`.
    pub fn guard(
        &self,
        mem: &dyn GuestMemory,
        area: u64,
        len: u64,
        byte: u32,
        bias: u64,
    ) -> Result<(), Trap> {
        let mut b = vec![0u8; len.min(1 << 20) as usize];
        if !mem.read(area, &mut b) {
            return Ok(());
        }
        match b.iter().position(|&x| u32::from(x) != byte) {
            None => Ok(()),
            Some(i) => Err(self.shim_fault(mem, 7, area + i as u64, bias + i as u64)),
        }
    }

    /// `kexec_shim.printk`.
    pub fn printk(&mut self, mem: &dyn GuestMemory, ptr: u64, len: u32) {
        let mut b = vec![0u8; len.min(4096) as usize];
        if mem.read(ptr, &mut b) {
            let text = String::from_utf8_lossy(&b);
            let text = text.trim_end_matches('\n');
            // Drop the "<n>" level the format starts with.
            let text = match text.strip_prefix('<') {
                Some(rest) if rest.len() > 2 && rest.as_bytes()[1] == b'>' => &rest[2..],
                _ => text,
            };
            if self.log.len() < 1000 {
                self.log.push(text.to_string());
            }
        }
    }

    /// `kexec_shim.event`.
    pub fn event(&mut self, mem: &dyn GuestMemory, what: u32, a: u64) {
        match what {
            1 => self.k.counters.swaps += 1,
            2 => {
                let f = self.function(mem);
                if self.log.len() < 1000 {
                    self.log.push(format!("WARNING: line {a} in {f}"));
                }
            }
            _ => {}
        }
    }

    /// The kernel functions on the shadow stack, innermost first.
    pub fn stack(&self, mem: &dyn GuestMemory) -> Vec<String> {
        let mut d = [0u8; 4];
        if self.shadow == 0 || !mem.read(self.shadow, &mut d) {
            return Vec::new();
        }
        let depth = u32::from_le_bytes(d).min(256) as u64;
        let (start, step) = if self.width == 4 { (4, 4) } else { (8, 8) };
        (0..depth)
            .rev()
            .filter_map(|i| {
                let mut x = [0u8; 8];
                if !mem.read(self.shadow + start + i * step, &mut x[..step as usize]) {
                    return None;
                }
                let idx = u64::from_le_bytes(x) as u32;
                Some(
                    self.names
                        .get(&idx)
                        .cloned()
                        .unwrap_or_else(|| format!("function #{idx}")),
                )
            })
            .collect()
    }

    /// The innermost kernel function now running.
    pub fn function(&self, mem: &dyn GuestMemory) -> String {
        self.stack(mem)
            .into_iter()
            .next()
            .unwrap_or_else(|| "kexec_load".into())
    }

    /// A fault in the running kernel function, with the call chain.
    pub fn fault_here(&self, mem: &dyn GuestMemory, what: String, pfn: Option<u64>) -> Trap {
        let stack = self.stack(mem);
        let function = stack
            .first()
            .cloned()
            .unwrap_or_else(|| "kexec_load".into());
        let chain = if stack.len() > 1 {
            format!(" (called from {})", stack[1..].join(" <- "))
        } else {
            String::new()
        };
        Trap::Fault(Fault::from(FaultInfo {
            function: function.into(),
            pfn,
            reason: format!("{what}{chain}"),
        }))
    }

    /// The live buffer (kmap window or direct-map page) whose guard holds
    /// `addr`, if one does: (pfn, direct).
    fn window_before(&self, addr: u64) -> Option<(u64, bool)> {
        self.buffers
            .iter()
            .filter(|(&b, _)| addr >= b + PAGE as u64 && addr < b + 9 * PAGE as u64)
            .min_by_key(|(&b, _)| addr - b)
            .map(|(_, s)| (s.pfn, s.why == 1))
    }

    /// `kexec_shim.fault`: what the shim found, in the kernel's terms.
    pub fn shim_fault(&self, mem: &dyn GuestMemory, code: u32, a: u64, b: u64) -> Trap {
        let m = &self.k.machine;
        let (what, pfn) = match code {
            1 if b == 1 => (format!("panic() at line {a}"), None),
            1 => (format!("kernel BUG at line {a}: the kernel oopses"), None),
            2 => (
                format!(
                    "pfn_to_page(0x{a:x}): pfn 0x{a:x} is not RAM (the last RAM pfn is 0x{:x}): its struct page is garbage and the access through it oopses or scribbles",
                    m.max_pfn().saturating_sub(1)
                ),
                Some(a),
            ),
            3 if a == 0 => (
                "__pa(NULL): the address came from page_address() of a highmem page (no direct mapping), and what the kernel computes from it is garbage".to_string(),
                None,
            ),
            3 => (format!("__pa(0x{a:x}): an address outside the direct map (a kmap address?); the physical address it gives is garbage"), None),
            4 => {
                let pfn = a >> 12;
                let why = if b & 1 == 0 { "is not RAM" } else { "is highmem: it has no direct mapping" };
                (format!("__va(0x{a:x}): pfn 0x{pfn:x} {why}, so the address points nowhere and the access oopses"), Some(pfn))
            }
            5 => (format!("kmap of pfn 0x{a:x} with {b} mappings already held (KM_MAX_IDX): BUG"), Some(a)),
            6 => (format!("kunmap of 0x{a:x}, an address no kmap returned"), None),
            7 if a < PAGE as u64 => (format!("a write through a NULL pointer (offset 0x{a:x}): the kernel oopses"), None),
            7 => match self.window_before(a) {
                Some((pfn, false)) => (
                    format!("a write {b} bytes from the start of the kmap window of pfn 0x{pfn:x}, past the one page it maps (slot {} of a {}-slot page): it lands in whatever is mapped next", b / self.width, PAGE as u64 / self.width),
                    Some(pfn),
                ),
                Some((pfn, true)) => (
                    format!("a write {b} bytes from the direct-map address of pfn 0x{pfn:x}, past its page (slot {} of a {}-slot page): it lands in pfn 0x{:x}, a page the kimage does not own", b / self.width, PAGE as u64 / self.width, pfn + 1),
                    Some(pfn),
                ),
                None => (format!("a write at 0x{a:x}, past a kmap window ({b} bytes from its start)"), None),
            },
            8 => ("the shim's memory cannot grow (the kernel build ran out of WebAssembly memory)".to_string(), None),
            9 => (
                format!("a kernel facility the playground does not model ({})", match a {
                    1 => "vmap of more than one page",
                    2 => "machine_kexec",
                    3 => "machine_shutdown",
                    4 | 5 => "a crash kernel's registers",
                    6 => "crash_save_vmcoreinfo",
                    7 | 8 => "reboot",
                    _ => "make_task_dead",
                }),
                None,
            ),
            _ => (format!("shim fault {code} (0x{a:x}, 0x{b:x})"), None),
        };
        self.fault_here(mem, what, pfn)
    }

    /// `kexec_shim.out_of_steps`.
    pub fn out_of_steps(&self, mem: &dyn GuestMemory) -> Trap {
        self.fault_here(
            mem,
            format!(
                "the kernel code ran {} steps (loop iterations and calls) without finishing: a loop that does not end",
                self.steps
            ),
            None,
        )
    }
}
