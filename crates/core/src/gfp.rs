//! gfp flags and the zones they reach.
//!
//! Mirrors `gfp_zone()` and the zonelist fallback order of
//! include/linux/gfp.h: the zone bits select the highest zone the request
//! may use, a bit whose zone is not configured degrades to ZONE_NORMAL, and
//! the allocator then falls back downwards (MOVABLE → HIGHMEM → NORMAL →
//! DMA32 → DMA). ZONE_MOVABLE is reachable only with both __GFP_MOVABLE and
//! __GFP_HIGHMEM.

use crate::arch::ArchProfile;
use std::fmt;

/// A zone of the simulated machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Zone {
    /// ZONE_DMA: below 16 MiB.
    Dma,
    /// ZONE_DMA32: 16 MiB to 4 GiB, x86_64 only.
    Dma32,
    /// ZONE_NORMAL.
    Normal,
    /// ZONE_HIGHMEM: above max_low_pfn on 32-bit.
    HighMem,
    /// ZONE_MOVABLE: ranges the scenario marks movable.
    Movable,
}

impl Zone {
    /// The kernel's name of the zone.
    pub fn name(self) -> &'static str {
        match self {
            Zone::Dma => "DMA",
            Zone::Dma32 => "DMA32",
            Zone::Normal => "Normal",
            Zone::HighMem => "HighMem",
            Zone::Movable => "Movable",
        }
    }
}

impl fmt::Display for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// __GFP_DMA.
pub const GFP_DMA_BIT: u32 = 0x01;
/// __GFP_HIGHMEM.
pub const GFP_HIGHMEM_BIT: u32 = 0x02;
/// __GFP_DMA32.
pub const GFP_DMA32_BIT: u32 = 0x04;
/// __GFP_MOVABLE.
pub const GFP_MOVABLE_BIT: u32 = 0x08;
/// __GFP_HARDWALL (part of GFP_USER; no zone effect here).
pub const GFP_HARDWALL_BIT: u32 = 0x100000;
/// __GFP_NORETRY (part of KEXEC_CONTROL_MEMORY_GFP; no zone effect here).
pub const GFP_NORETRY_BIT: u32 = 0x10000;

/// What-if, not a kernel flag: only pages whose physical address fits in
/// `unsigned long` (the allocation asked for in the 2020 thread).
pub const GFP_WORD_LIMIT_BIT: u32 = 0x4000_0000;

/// Xen's MEMF_bits(32), not a Linux flag: only pages below 4 GiB.
pub const MEMF_BITS_32_BIT: u32 = 0x2000_0000;

/// A gfp mask (only the bits the model needs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Gfp(pub u32);

/// GFP_KERNEL: no zone bits.
pub const GFP_KERNEL: Gfp = Gfp(0);
/// GFP_HIGHUSER = GFP_USER | __GFP_HIGHMEM.
pub const GFP_HIGHUSER: Gfp = Gfp(GFP_HARDWALL_BIT | GFP_HIGHMEM_BIT);
/// KEXEC_CONTROL_MEMORY_GFP = GFP_KERNEL | __GFP_NORETRY.
pub const KEXEC_CONTROL_MEMORY_GFP: Gfp = Gfp(GFP_NORETRY_BIT);
/// GFP_KERNEL | __GFP_DMA32.
pub const GFP_DMA32: Gfp = Gfp(GFP_DMA32_BIT);
/// GFP_HIGHUSER_MOVABLE = GFP_HIGHUSER | __GFP_MOVABLE (what user pages use).
pub const GFP_HIGHUSER_MOVABLE: Gfp = Gfp(GFP_HARDWALL_BIT | GFP_HIGHMEM_BIT | GFP_MOVABLE_BIT);

impl Gfp {
    /// Whether __GFP_HIGHMEM is set.
    pub fn highmem(self) -> bool {
        self.0 & GFP_HIGHMEM_BIT != 0
    }

    /// The gfp's name as kexec_core.c spells it.
    pub fn name(self) -> String {
        match self {
            GFP_KERNEL => "GFP_KERNEL".into(),
            GFP_HIGHUSER => "GFP_HIGHUSER".into(),
            KEXEC_CONTROL_MEMORY_GFP => "GFP_KERNEL|__GFP_NORETRY".into(),
            GFP_DMA32 => "GFP_DMA32".into(),
            GFP_HIGHUSER_MOVABLE => "GFP_HIGHUSER_MOVABLE".into(),
            Gfp(bits) if bits & MEMF_BITS_32_BIT != 0 => {
                format!(
                    "{}+MEMF_bits(32) (Xen)",
                    Gfp(bits & !MEMF_BITS_32_BIT).name()
                )
            }
            Gfp(bits) if bits & GFP_WORD_LIMIT_BIT != 0 => {
                format!(
                    "{}+below-word-limit (what-if)",
                    Gfp(bits & !GFP_WORD_LIMIT_BIT).name()
                )
            }
            Gfp(bits) => format!("gfp 0x{bits:x}"),
        }
    }

    /// The highest pfn + 1 this gfp may use on `arch` (the word-limit
    /// what-if), if it is limited beyond its zones.
    pub fn pfn_ceiling(self, arch: &ArchProfile) -> Option<u64> {
        if self.0 & MEMF_BITS_32_BIT != 0 {
            return Some(1 << 20);
        }
        (self.0 & GFP_WORD_LIMIT_BIT != 0 && arch.word_bits < 64)
            .then(|| (arch.word_mask() >> 12) + 1)
    }

    /// The zones this gfp may allocate from on `arch`, in the order the
    /// allocator tries them (highest first), as gfp_zone() plus the zonelist do.
    pub fn zonelist(self, arch: &ArchProfile) -> Vec<Zone> {
        let has_highmem = arch.lowmem_end.is_some();
        let top = if self.0 & GFP_MOVABLE_BIT != 0 && self.highmem() {
            Zone::Movable
        } else if self.highmem() {
            if has_highmem {
                Zone::HighMem
            } else {
                Zone::Normal
            }
        } else if self.0 & GFP_DMA32_BIT != 0 {
            if arch.has_dma32 {
                Zone::Dma32
            } else {
                Zone::Normal
            }
        } else if self.0 & GFP_DMA_BIT != 0 && arch.dma_end > 0 {
            Zone::Dma
        } else {
            Zone::Normal
        };
        let order = [
            Zone::Movable,
            Zone::HighMem,
            Zone::Normal,
            Zone::Dma32,
            Zone::Dma,
        ];
        order
            .into_iter()
            .skip_while(|z| *z != top)
            .filter(|z| match z {
                Zone::HighMem => has_highmem,
                Zone::Dma32 => arch.has_dma32,
                Zone::Dma => arch.dma_end > 0,
                _ => true,
            })
            .collect()
    }
}

impl fmt::Display for Gfp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::Arch;

    #[test]
    fn gfp_kernel_is_lowmem_on_i386() {
        let z = GFP_KERNEL.zonelist(Arch::I386Pae.profile());
        assert_eq!(z, vec![Zone::Normal, Zone::Dma]);
    }

    #[test]
    fn gfp_highuser_prefers_highmem_and_never_movable() {
        let z = GFP_HIGHUSER.zonelist(Arch::I386Pae.profile());
        assert_eq!(z, vec![Zone::HighMem, Zone::Normal, Zone::Dma]);
        let x = GFP_HIGHUSER.zonelist(Arch::X86_64.profile());
        assert_eq!(x, vec![Zone::Normal, Zone::Dma32, Zone::Dma]);
    }

    #[test]
    fn gfp_dma32_on_i386_is_lowmem() {
        // No ZONE_DMA32 on x86_32: the bit degrades to NORMAL.
        assert_eq!(
            GFP_DMA32.zonelist(Arch::I386.profile()),
            vec![Zone::Normal, Zone::Dma]
        );
        assert_eq!(
            GFP_DMA32.zonelist(Arch::X86_64.profile()),
            vec![Zone::Dma32, Zone::Dma]
        );
    }

    #[test]
    fn movable_needs_both_bits() {
        let m = Gfp(GFP_MOVABLE_BIT | GFP_HIGHMEM_BIT | GFP_HARDWALL_BIT);
        assert_eq!(m.zonelist(Arch::I386.profile())[0], Zone::Movable);
        let only_movable = Gfp(GFP_MOVABLE_BIT);
        assert_eq!(only_movable.zonelist(Arch::I386.profile())[0], Zone::Normal);
    }

    #[test]
    fn names() {
        assert_eq!(GFP_HIGHUSER.to_string(), "GFP_HIGHUSER");
        assert_eq!(
            KEXEC_CONTROL_MEMORY_GFP.to_string(),
            "GFP_KERNEL|__GFP_NORETRY"
        );
    }
}
