//! The kdump reservation: `crashkernel=` parsed and reserved as x86_64 does
//! it at boot.
//!
//! Mirrors kernel/crash_core.c (`parse_crashkernel`: `size[@offset]`, the
//! `start-[end]:size,...[@offset]` table chosen by System RAM size, and the
//! `,high` / `,low` suffixes) and arch/x86/kernel/setup.c in 6.1
//! (`reserve_crashkernel`: CRASH_ALIGN 16 MiB, first below
//! CRASH_ADDR_LOW_MAX 4 GiB then below CRASH_ADDR_HIGH_MAX 64 TiB, `,high`
//! skipping the low attempt, `X@Y` taken exactly with 1 MiB alignment, and
//! `reserve_crashkernel_low` for a base at or above 4 GiB: `,low` or
//! max(swiotlb + 8 MiB, 256 MiB) below 4 GiB, the high region released when
//! that fails). The reservation is made with memblock after NUMA init, so
//! top-down, skipping hot-pluggable regions under `movable_node`.
//! swiotlb is taken at its default size (64 MiB).

use crate::memblock::Memblock;
use kexec_common::input::{memparse, quoted};
use kexec_common::units::MIB;

/// CRASH_ALIGN.
pub const CRASH_ALIGN: u64 = 16 * MIB;
/// CRASH_ADDR_LOW_MAX on x86_64.
pub const CRASH_ADDR_LOW_MAX: u64 = 1 << 32;
/// CRASH_ADDR_HIGH_MAX on x86_64.
pub const CRASH_ADDR_HIGH_MAX: u64 = 1 << 46;
/// swiotlb_size_or_default() without `swiotlb=`.
pub const SWIOTLB_DEFAULT: u64 = 64 * MIB;

/// `crashkernel=` as parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Crashkernel {
    /// crash_size.
    pub size: u64,
    /// crash_base (0: find one).
    pub base: u64,
    /// The `,high` form.
    pub high: bool,
}

/// parse_crashkernel / parse_crashkernel_high: the value of `crashkernel=`
/// on a machine with `system_ram` bytes.
pub fn parse(arg: &str, system_ram: u64) -> Result<Crashkernel, String> {
    let arg = arg.trim();
    let (body, high) = match arg.strip_suffix(",high") {
        Some(b) => (b, true),
        None => (arg, false),
    };
    if body.ends_with(",low") {
        return Err("crashkernel=Y,low alone reserves nothing: give crashkernel=X too".into());
    }
    let (size, rest) = if body.contains(':') {
        if high {
            return Err("the ,high form takes a plain size, not a table".into());
        }
        parse_table(body, system_ram)?
    } else {
        memparse(body)?
    };
    let base = match rest.strip_prefix('@') {
        Some(b) if !high => {
            let (v, tail) = memparse(b)?;
            if !tail.is_empty() {
                return Err(format!("unrecognized {} after the offset", quoted(tail)));
            }
            v
        }
        Some(_) => return Err("the ,high form takes no @offset".into()),
        None if rest.is_empty() => 0,
        None => {
            return Err(format!(
                "unrecognized {} (crashkernel: unrecognized char)",
                quoted(rest)
            ))
        }
    };
    if size == 0 {
        return Err("a size of 0 reserves nothing".into());
    }
    Ok(Crashkernel { size, base, high })
}

/// parse_crashkernel_mem: `start-[end]:size,...`, the first entry whose
/// `[start, end)` holds `system_ram`; the rest after the table (an
/// `@offset` or nothing).
fn parse_table(s: &str, system_ram: u64) -> Result<(u64, &str), String> {
    let mut cur = s;
    let mut chosen = None;
    loop {
        let (start, r) = memparse(cur)?;
        let r = r
            .strip_prefix('-')
            .ok_or_else(|| format!("{}: a table entry is start-[end]:size", quoted(cur)))?;
        let (end, r) = if r.starts_with(':') {
            (u64::MAX, r)
        } else {
            memparse(r)?
        };
        if end <= start {
            return Err(format!(
                "table entry end 0x{end:x} is not above its start 0x{start:x}"
            ));
        }
        let r = r
            .strip_prefix(':')
            .ok_or_else(|| "a table entry is start-[end]:size".to_string())?;
        let (size, r) = memparse(r)?;
        if chosen.is_none() && system_ram >= start && system_ram < end {
            chosen = Some(size);
        }
        match r.strip_prefix(',') {
            Some(next) => cur = next,
            None => {
                return chosen.map(|c| (c, r)).ok_or_else(|| {
                    format!("no table entry covers System RAM 0x{system_ram:x}: nothing reserved")
                });
            }
        }
    }
}

/// What `reserve_crashkernel` did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Reservation {
    /// crashk_res as `[start, end)`.
    pub crash: Option<(u64, u64)>,
    /// crashk_low_res as `[start, end)`.
    pub low: Option<(u64, u64)>,
    /// What the kernel logs, line by line.
    pub log: Vec<String>,
}

/// reserve_crashkernel (x86_64), with `low` the `crashkernel=Y,low` size if
/// given.
pub fn reserve(mb: &mut Memblock, ck: Crashkernel, low: Option<u64>) -> Reservation {
    let mut out = Reservation::default();
    let total = mb.phys_mem_size();
    let size = ck.size;
    let base = if ck.base == 0 {
        let mut b = 0;
        if !ck.high {
            b = mb.phys_alloc_range(size, CRASH_ALIGN, CRASH_ALIGN, CRASH_ADDR_LOW_MAX);
        }
        if b == 0 {
            b = mb.phys_alloc_range(size, CRASH_ALIGN, CRASH_ALIGN, CRASH_ADDR_HIGH_MAX);
        }
        if b == 0 {
            out.log
                .push("crashkernel reservation failed - No suitable area found.".into());
            return out;
        }
        b
    } else {
        let start = mb.phys_alloc_range(size, MIB, ck.base, ck.base.saturating_add(size));
        if start != ck.base {
            if start != 0 {
                mb.phys_free(start, size);
            }
            out.log
                .push("crashkernel reservation failed - memory is in use.".into());
            return out;
        }
        ck.base
    };
    if base >= 1 << 32 {
        let low_size = low.unwrap_or(SWIOTLB_DEFAULT.saturating_add(8 * MIB).max(256 * MIB));
        if low_size > 0 {
            let low_base = mb.phys_alloc_range(low_size, CRASH_ALIGN, 0, CRASH_ADDR_LOW_MAX);
            if low_base == 0 {
                out.log.push(format!(
                    "Cannot reserve {}MB crashkernel low memory, please try smaller size.",
                    low_size >> 20
                ));
                mb.phys_free(base, size);
                return out;
            }
            out.log.push(format!(
                "Reserving {}MB of low memory at {}MB for crashkernel (low RAM limit: {}MB)",
                low_size >> 20,
                low_base >> 20,
                total.min(CRASH_ADDR_LOW_MAX) >> 20
            ));
            out.low = Some((low_base, low_base + low_size));
        }
    }
    out.log.push(format!(
        "Reserving {}MB of memory at {}MB for crashkernel (System RAM: {}MB)",
        size >> 20,
        base >> 20,
        total >> 20
    ));
    out.crash = Some((base, base + size));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memblock::Region;

    use kexec_common::units::GIB;

    fn machine(movable_node: bool) -> Memblock {
        Memblock {
            memory: vec![
                Region {
                    base: 0x1000,
                    size: 0x9_e000,
                    nid: 0,
                    hotplug: false,
                },
                Region {
                    base: MIB,
                    size: 3 * GIB - MIB,
                    nid: 0,
                    hotplug: false,
                },
                Region {
                    base: 4 * GIB,
                    size: 4 * GIB,
                    nid: 0,
                    hotplug: false,
                },
                Region {
                    base: 8 * GIB,
                    size: 8 * GIB,
                    nid: 1,
                    hotplug: true,
                },
            ],
            reserved: vec![(0, MIB), (16 * MIB, 80 * MIB)],
            movable_node,
        }
    }

    #[test]
    fn parses_every_form() {
        assert_eq!(
            parse("256M", 0),
            Ok(Crashkernel {
                size: 256 * MIB,
                base: 0,
                high: false
            })
        );
        assert_eq!(
            parse("256M@0x1000000", 0),
            Ok(Crashkernel {
                size: 256 * MIB,
                base: 16 * MIB,
                high: false
            })
        );
        assert_eq!(
            parse("512M,high", 0),
            Ok(Crashkernel {
                size: 512 * MIB,
                base: 0,
                high: true
            })
        );
        let t = "1G-4G:192M,4G-64G:256M,64G-:512M";
        assert_eq!(parse(t, 16 * GIB).unwrap().size, 256 * MIB);
        assert_eq!(parse(t, 128 * GIB).unwrap().size, 512 * MIB);
        assert!(parse(t, 512 * MIB).unwrap_err().contains("no table entry"));
        assert!(parse("256Q", 0).is_err());
        assert!(parse("x", 0).is_err());
        assert!(parse("0", 0).is_err());
        assert!(parse("128M,low", 0).is_err());
        assert!(parse("1G@4G,high", 0).is_err());
    }

    #[test]
    fn plain_size_goes_below_4g_top_down() {
        let mut mb = machine(false);
        let r = reserve(&mut mb, parse("256M", 0).unwrap(), None);
        assert_eq!(r.crash, Some((3 * GIB - 256 * MIB, 3 * GIB)));
        assert_eq!(r.low, None);
    }

    #[test]
    fn high_goes_to_the_top_of_ram_unless_movable_node() {
        let mut mb = machine(false);
        let r = reserve(&mut mb, parse("512M,high", 0).unwrap(), None);
        assert_eq!(
            r.crash,
            Some((16 * GIB - 512 * MIB, 16 * GIB)),
            "in the hot-pluggable node"
        );
        assert_eq!(
            r.low,
            Some((3 * GIB - 256 * MIB, 3 * GIB)),
            "default low: 256 MiB"
        );
        let mut mb = machine(true);
        let r = reserve(&mut mb, parse("512M,high", 0).unwrap(), Some(128 * MIB));
        assert_eq!(
            r.crash,
            Some((8 * GIB - 512 * MIB, 8 * GIB)),
            "skips MEMBLOCK_HOTPLUG"
        );
        assert_eq!(r.low, Some((3 * GIB - 128 * MIB, 3 * GIB)));
    }

    #[test]
    fn fixed_base_must_be_free_and_a_failed_low_releases_high() {
        let mut mb = machine(false);
        let r = reserve(&mut mb, parse("64M@32M", 0).unwrap(), None);
        assert_eq!(r.crash, None, "inside the reserved kernel image");
        assert!(r.log[0].contains("memory is in use"));
        let r = reserve(&mut mb, parse("64M@0x100000000", 0).unwrap(), Some(4 * GIB));
        assert_eq!(r.crash, None);
        assert!(r.log[0].contains("Cannot reserve 4096MB crashkernel low memory"));
        assert!(
            !mb.reserved.iter().any(|&(s, _)| s == 4 * GIB),
            "high released"
        );
        let r = reserve(&mut mb, parse("64G", 0).unwrap(), None);
        assert!(r.log[0].contains("No suitable area"));
    }
}
