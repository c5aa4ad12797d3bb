//! kexec_file placement: where `kexec_add_buffer` puts each buffer.
//!
//! Mirrors kernel/kexec_file.c in 6.1: `kexec_add_buffer` (at most
//! KEXEC_SEGMENT_MAX segments; memsz rounded up to a page; alignment at
//! least a page), `kexec_locate_mem_hole` through `kexec_walk_resources`
//! (x86 does not keep memblock: top-level "System RAM" resources in
//! ascending order, first fit wins), `locate_mem_hole_callback` (skips
//! driver-managed RAM, ranges smaller than the buffer, ranges outside
//! buf_min..buf_max) and the top-down / bottom-up searches with their
//! inclusive ends. Nothing found is -EADDRNOTAVAIL.
//!
//! What differs between the variants the lab compares (the upstream fix
//! of top-down's off-by-one, bottom-up for every buffer, the seed thread's
//! reverse walk) is asked of a [`HoleSearch`] ([`crate::variant`]).
//! Arithmetic is `unsigned long` on x86_64: 6.1's top-down has no
//! underflow guard, and the model keeps that. The buffers themselves are
//! those of arch/x86/kernel/kexec-bzimage64.c `bzImage64_load`
//! ([`x86_64_buffers`]).

use crate::variant::HoleSearch;
use kexec_common::errno::Errno;
use kexec_common::units::PAGE_SIZE;
use kexec_core::kimage::Stop;
use std::fmt;

/// A top-level "System RAM" resource, `[start, end]` inclusive as the kernel
/// keeps resources.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SystemRam {
    /// First byte.
    pub start: u64,
    /// Last byte.
    pub end: u64,
    /// IORESOURCE_SYSRAM_DRIVER_MANAGED (dax/kmem, virtio-mem): never used.
    pub driver_managed: bool,
}

/// A `struct kexec_buf` as far as placement goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KexecBuf {
    /// What it is (purgatory, boot_params, kernel, initrd, ELF headers).
    pub name: String,
    /// Bytes.
    pub memsz: u64,
    /// Lowest acceptable address.
    pub buf_min: u64,
    /// Highest acceptable address (last byte).
    pub buf_max: u64,
    /// Alignment (a power of two).
    pub align: u64,
    /// Search from the top of each range.
    pub top_down: bool,
}

/// A placed segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    /// The buffer's name.
    pub name: String,
    /// Where it goes.
    pub mem: u64,
    /// Its size (page-rounded).
    pub memsz: u64,
}

impl fmt::Display for Placed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at 0x{:x}-0x{:x}",
            self.name,
            self.mem,
            self.mem.wrapping_add(self.memsz).wrapping_sub(1)
        )
    }
}

/// kimage_is_destination_range over the placed segments (the inclusive end
/// it is handed is treated as exclusive, as in the kernel).
fn collides(segs: &[Placed], start: u64, end: u64) -> bool {
    segs.iter()
        .any(|s| end > s.mem && start < s.mem.wrapping_add(s.memsz))
}

/// locate_mem_hole_top_down.
pub fn top_down(
    start: u64,
    end: u64,
    kbuf: &KexecBuf,
    segs: &[Placed],
    search: &dyn HoleSearch,
) -> Option<u64> {
    let hi = end.min(kbuf.buf_max);
    let mut cand = search.top_down_start(hi, kbuf.memsz);
    loop {
        cand &= !(kbuf.align - 1);
        if cand < start || cand < kbuf.buf_min {
            return None;
        }
        let last = cand.wrapping_add(kbuf.memsz).wrapping_sub(1);
        if collides(segs, cand, last) {
            cand = cand.wrapping_sub(PAGE_SIZE);
            continue;
        }
        return Some(cand);
    }
}

/// locate_mem_hole_bottom_up.
pub fn bottom_up(start: u64, end: u64, kbuf: &KexecBuf, segs: &[Placed]) -> Option<u64> {
    let mut cand = start.max(kbuf.buf_min);
    loop {
        cand = cand.checked_add(kbuf.align - 1)? & !(kbuf.align - 1);
        // As the kernel's unsigned long: an empty buffer ends just below
        // its start (and at the top of memory when it starts at 0).
        let last = cand.wrapping_add(kbuf.memsz).wrapping_sub(1);
        if last > end || last > kbuf.buf_max {
            return None;
        }
        if collides(segs, cand, last) {
            cand = cand.checked_add(PAGE_SIZE)?;
            continue;
        }
        return Some(cand);
    }
}

/// locate_mem_hole_callback on one resource.
fn callback(
    r: &SystemRam,
    kbuf: &KexecBuf,
    segs: &[Placed],
    search: &dyn HoleSearch,
) -> Option<u64> {
    if r.driver_managed {
        return None;
    }
    let size = r.end.wrapping_sub(r.start).wrapping_add(1);
    if size < kbuf.memsz || r.end < kbuf.buf_min || r.start > kbuf.buf_max {
        return None;
    }
    if search.top_down(kbuf) {
        top_down(r.start, r.end, kbuf, segs, search)
    } else {
        bottom_up(r.start, r.end, kbuf, segs)
    }
}

/// kexec_add_buffer: place `kbuf` after the segments already placed, as
/// `search` searches.
pub fn kexec_add_buffer(
    ram: &[SystemRam],
    segs: &mut Vec<Placed>,
    kbuf: &KexecBuf,
    search: &dyn HoleSearch,
) -> Result<u64, Stop> {
    if segs.len() >= kexec_core::arch::KEXEC_SEGMENT_MAX {
        return Err(Stop::Errno {
            errno: Errno::EINVAL,
            reason: format!(
                "{}: already {} segments (KEXEC_SEGMENT_MAX) (kexec_add_buffer)",
                kbuf.name,
                segs.len()
            ),
        });
    }
    if !kbuf.align.is_power_of_two() {
        return Err(Stop::Errno {
            errno: Errno::EINVAL,
            reason: format!(
                "{}: alignment 0x{:x} is not a power of two",
                kbuf.name, kbuf.align
            ),
        });
    }
    let mut k = kbuf.clone();
    k.memsz = k.memsz.div_ceil(PAGE_SIZE).saturating_mul(PAGE_SIZE);
    k.align = k.align.max(PAGE_SIZE);
    let found = if search.reverse_walk() {
        ram.iter().rev().find_map(|r| callback(r, &k, segs, search))
    } else {
        ram.iter().find_map(|r| callback(r, &k, segs, search))
    };
    let Some(mem) = found else {
        return Err(Stop::Errno {
            errno: Errno::EADDRNOTAVAIL,
            reason: format!(
                "{}: no System RAM hole of 0x{:x} bytes aligned to 0x{:x} within 0x{:x}-0x{:x} (kexec_locate_mem_hole)",
                k.name, k.memsz, k.align, k.buf_min, k.buf_max
            ),
        });
    };
    segs.push(Placed {
        name: k.name.clone(),
        mem,
        memsz: k.memsz,
    });
    Ok(mem)
}

/// The buffers x86_64's `bzImage64_load` adds, in its order (after the ELF
/// core headers `crash_load_segments` adds first for a crash image).
pub fn x86_64_buffers(
    purgatory: u64,
    purgatory_align: u64,
    params: u64,
    kernel: u64,
    kernel_align: u64,
    initrd: u64,
) -> Vec<KexecBuf> {
    let buf = |name: &str, memsz, buf_min, align| KexecBuf {
        name: name.into(),
        memsz,
        buf_min,
        buf_max: u64::MAX,
        align,
        top_down: true,
    };
    let mut v = vec![
        buf("purgatory", purgatory, 0x3000, purgatory_align),
        buf("boot_params", params, 0x3000, 16),
        buf("kernel", kernel, 0x10_0000, kernel_align),
    ];
    if initrd > 0 {
        v.push(buf("initrd", initrd, 0x100_0000, PAGE_SIZE));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::variant::top_down::TopDown;
    use crate::variant::top_down_fixed::TopDownFixed;

    use kexec_common::units::MIB;

    /// Not a variant of the lab: the fixed arithmetic with the reverse walk.
    struct FixedReverse;

    impl HoleSearch for FixedReverse {
        fn top_down_start(&self, end: u64, memsz: u64) -> u64 {
            TopDownFixed.top_down_start(end, memsz)
        }
        fn reverse_walk(&self) -> bool {
            true
        }
    }

    fn kb(memsz: u64, align: u64, top_down: bool) -> KexecBuf {
        KexecBuf {
            name: "kernel".into(),
            memsz,
            buf_min: 0,
            buf_max: u64::MAX,
            align,
            top_down,
        }
    }

    fn ram(start: u64, end: u64) -> SystemRam {
        SystemRam {
            start,
            end,
            driver_managed: false,
        }
    }

    #[test]
    fn the_off_by_one_worked_example() {
        // Range ending at 0x7FFFFFFF, 16 MiB, 2 MiB alignment.
        let r = [ram(0x10_0000, 0x7FFF_FFFF)];
        let mut segs = vec![];
        let at = kexec_add_buffer(&r, &mut segs, &kb(16 * MIB, 2 * MIB, true), &TopDown);
        assert_eq!(
            at,
            Ok(0x7EE0_0000),
            "6.1 misses the top slot by one alignment unit"
        );
        let mut segs = vec![];
        let fixed = &TopDownFixed;
        assert_eq!(
            kexec_add_buffer(&r, &mut segs, &kb(16 * MIB, 2 * MIB, true), fixed),
            Ok(0x7F00_0000)
        );
    }

    #[test]
    fn bottom_up_and_collisions_step_a_page_then_realign() {
        let r = [ram(0x10_0000, 0x7FFF_FFFF)];
        let mut segs = vec![];
        let o = &TopDown;
        assert_eq!(
            kexec_add_buffer(&r, &mut segs, &kb(0x3000, 0x1000, false), o),
            Ok(0x10_0000)
        );
        // The next one collides, steps a page at a time past it.
        assert_eq!(
            kexec_add_buffer(&r, &mut segs, &kb(0x1000, 0x1000, false), o),
            Ok(0x10_3000)
        );
        // Top-down below the first one placed there.
        let mut segs = vec![Placed {
            name: "x".into(),
            mem: 0x7F00_0000,
            memsz: 0x100_0000,
        }];
        assert_eq!(
            kexec_add_buffer(&r, &mut segs, &kb(0x1000, 2 * MIB, true), o),
            Ok(0x7EE0_0000)
        );
    }

    #[test]
    fn first_fit_in_ascending_order_unless_reversed() {
        let r = [
            ram(0x1000, 0x9_FFFF),
            ram(0x10_0000, 0xBFFF_FFFF),
            ram(0x1_0000_0000, 0x2_3FFF_FFFF),
        ];
        let mut segs = vec![];
        let o = &TopDown;
        // "Top-down" only within the first range that fits: below 4 GiB.
        assert_eq!(
            kexec_add_buffer(&r, &mut segs, &kb(16 * MIB, 2 * MIB, true), o),
            Ok(0xBEE0_0000)
        );
        let rev = &FixedReverse;
        let mut segs = vec![];
        assert_eq!(
            kexec_add_buffer(&r, &mut segs, &kb(16 * MIB, 2 * MIB, true), rev),
            Ok(0x2_3F00_0000)
        );
        // A small buffer lands in the first range, under 640 KiB.
        let mut segs = vec![];
        assert_eq!(
            kexec_add_buffer(&r, &mut segs, &kb(0x2000, 16, true), o),
            Ok(0x9_D000)
        );
    }

    #[test]
    fn driver_managed_small_and_out_of_window_ranges_are_skipped() {
        let r = [
            SystemRam {
                start: 0x1_0000_0000,
                end: 0x1_3FFF_FFFF,
                driver_managed: true,
            },
            ram(0x10_0000, 0x1FF_FFFF),
            ram(0x200_0000, 0x200_FFFF),
        ];
        let mut segs = vec![];
        let mut k = kb(16 * MIB, 0x1000, false);
        k.buf_min = 0x100_0000;
        assert_eq!(
            kexec_add_buffer(&r, &mut segs, &k, &TopDown),
            Ok(0x100_0000)
        );
    }

    #[test]
    fn errors_carry_the_errno() {
        let r = [ram(0x10_0000, 0x1FF_FFFF)];
        let mut segs = vec![];
        let e = kexec_add_buffer(&r, &mut segs, &kb(64 * MIB, 0x1000, true), &TopDown).unwrap_err();
        assert!(
            matches!(
                e,
                Stop::Errno {
                    errno: Errno::EADDRNOTAVAIL,
                    ..
                }
            ),
            "{e}"
        );
        let mut full: Vec<Placed> = (0..16)
            .map(|i| Placed {
                name: "s".into(),
                mem: i << 20,
                memsz: 0x1000,
            })
            .collect();
        let e = kexec_add_buffer(&r, &mut full, &kb(0x1000, 0x1000, true), &TopDown).unwrap_err();
        assert!(
            matches!(
                e,
                Stop::Errno {
                    errno: Errno::EINVAL,
                    ..
                }
            ),
            "{e}"
        );
        let e = kexec_add_buffer(&r, &mut segs, &kb(0x1000, 0x3000, true), &TopDown).unwrap_err();
        assert!(e.to_string().contains("not a power of two"));
    }

    #[test]
    fn a_range_at_zero_of_exactly_the_size_wraps_in_6_1() {
        // 6.1 computes end - memsz with no underflow guard: for a range at
        // physical 0 exactly memsz long that is (memsz - 1) - memsz = -1.
        let r = [ram(0, 0xFFF)];
        let mut segs = vec![];
        let at = kexec_add_buffer(&r, &mut segs, &kb(0x1000, 0x1000, true), &TopDown).unwrap();
        assert_eq!(at, 0xFFFF_FFFF_FFFF_F000, "placed far outside the range");
        let mut segs = vec![];
        let fixed = &TopDownFixed;
        assert_eq!(
            kexec_add_buffer(&r, &mut segs, &kb(0x1000, 0x1000, true), fixed),
            Ok(0)
        );
    }

    #[test]
    fn x86_64_order_on_a_typical_pc() {
        let r = [
            ram(0x1000, 0x9_FFFF),
            ram(0x10_0000, 0xBFFF_FFFF),
            ram(0x1_0000_0000, 0x4_3FFF_FFFF),
        ];
        let mut segs = vec![];
        for b in x86_64_buffers(0x5000, 0x1000, 0x3000, 48 * MIB, 2 * MIB, 32 * MIB) {
            kexec_add_buffer(&r, &mut segs, &b, &TopDown).unwrap();
        }
        // purgatory and boot_params at the top of the first range below
        // 640 KiB; kernel and initrd at the top of the big range below 4 GiB
        // (not of all RAM). The kernel: 0xBFFFFFFF - 48 MiB = 0xBCFFFFFF,
        // aligned down to 2 MiB = 0xBCE00000 (the off-by-one costs the top
        // 2 MiB); the initrd steps down a page at a time below it.
        assert!(segs[0].mem < 0xA_0000 && segs[1].mem < 0xA_0000);
        assert_eq!(segs[2].mem, 0xBCE0_0000);
        assert_eq!(segs[3].mem, 0xBAE0_0000);
    }
}
