//! Architecture profiles: word size, zones, the lowmem line and the kexec limits.
//!
//! Mirrors the constants of `arch/x86/include/asm/kexec.h` (KEXEC_*_MEMORY_LIMIT,
//! KEXEC_CONTROL_PAGE_SIZE), `include/uapi/linux/kexec.h` (KEXEC_SEGMENT_MAX)
//! and the zone layout of `arch/x86/mm/init.c` / `init_32.c`; for ARM with
//! LPAE, `arch/arm/include/asm/kexec.h` (every limit -1UL) and a VMSPLIT_3G
//! lowmem line.
//!
//! Deviations: lowmem on i386 is the nominal 896 MiB (VMSPLIT_3G with the
//! default 128 MiB vmalloc reserve); a real kernel loses a few MiB more to the
//! fixmap and pkmap areas. x86_64 is modelled with 4-level paging
//! (MAX_PHYSMEM_BITS = 46).

use serde::{Deserialize, Serialize};

pub use kexec_common::units::{PAGE_MASK, PAGE_SHIFT, PAGE_SIZE};
/// KEXEC_SEGMENT_MAX from include/uapi/linux/kexec.h.
pub const KEXEC_SEGMENT_MAX: usize = 16;

use kexec_common::units::{GIB, MIB};

/// The machines the model can simulate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Arch {
    /// x86_32 with HIGHMEM4G: 32-bit entries, at most 4 GiB of RAM.
    #[serde(rename = "i386")]
    I386,
    /// x86_32 with HIGHMEM64G (PAE): 32-bit entries, up to 64 GiB of RAM.
    #[serde(rename = "i386-pae")]
    I386Pae,
    /// x86_64: 64-bit entries, no highmem, ZONE_DMA32 below 4 GiB.
    #[serde(rename = "x86_64")]
    X86_64,
    /// ARM32 with LPAE: 32-bit entries, 768 MiB of lowmem above
    /// PHYS_OFFSET, highmem above it including above 4 GiB.
    #[serde(rename = "arm-lpae")]
    ArmLpae,
}

/// Every arch, in the order the CLI and the page list them.
pub const ALL_ARCHES: [Arch; 4] = [Arch::I386, Arch::I386Pae, Arch::X86_64, Arch::ArmLpae];

/// The per-arch numbers the model needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArchProfile {
    /// The arch's name in scenarios and on the command line.
    pub name: &'static str,
    /// What the kernel configuration is, in the kernel's words.
    pub config: &'static str,
    /// BITS_PER_LONG: the width of `unsigned long`, `kimage_entry_t` and segment fields.
    pub word_bits: u32,
    /// End (exclusive) of the physical address space the kernel can use.
    pub max_phys: u64,
    /// max_low_pfn as an address: pages at or above it have no direct mapping
    /// (`None` on x86_64, where everything is direct-mapped).
    pub lowmem_end: Option<u64>,
    /// Whether ZONE_DMA32 exists (only x86_64).
    pub has_dma32: bool,
    /// KEXEC_SOURCE_MEMORY_LIMIT.
    pub source_limit: u64,
    /// KEXEC_DESTINATION_MEMORY_LIMIT.
    pub destination_limit: u64,
    /// KEXEC_CONTROL_MEMORY_LIMIT.
    pub control_limit: u64,
    /// get_order(KEXEC_CONTROL_PAGE_SIZE).
    pub control_order: u32,
    /// Highest physical address + 1 that relocate_kernel can reach. On x86_32
    /// the stub runs with paging off, so only 32-bit addresses are reachable;
    /// on x86_64 it runs on an identity map of all RAM.
    pub relocate_reach: u64,
    /// Whether relocate_kernel's stub runs with paging (MMU) off.
    pub relocate_paging_off: bool,
    /// PAGE_OFFSET: the virtual address of PHYS_OFFSET in the direct map.
    pub page_offset: u64,
    /// PHYS_OFFSET: where RAM starts (0 on x86).
    pub phys_offset: u64,
    /// MAX_DMA_PFN as an address: the end of ZONE_DMA (0: no ZONE_DMA).
    pub dma_end: u64,
}

impl Arch {
    /// The profile of this arch.
    pub fn profile(self) -> &'static ArchProfile {
        match self {
            Arch::I386 => &I386,
            Arch::I386Pae => &I386_PAE,
            Arch::X86_64 => &X86_64,
            Arch::ArmLpae => &ARM_LPAE,
        }
    }

    /// The arch's scenario name.
    pub fn name(self) -> &'static str {
        self.profile().name
    }

    /// Parse a scenario/CLI arch name.
    pub fn from_name(s: &str) -> Option<Arch> {
        ALL_ARCHES.into_iter().find(|a| a.name() == s)
    }
}

static I386: ArchProfile = ArchProfile {
    name: "i386",
    config: "x86_32, HIGHMEM4G, VMSPLIT_3G",
    word_bits: 32,
    max_phys: 4 * GIB,
    lowmem_end: Some(896 * MIB),
    has_dma32: false,
    source_limit: 0xFFFF_FFFF,
    destination_limit: 0xFFFF_FFFF,
    control_limit: 0xC000_0000,
    control_order: 0,
    relocate_reach: 1 << 32,
    relocate_paging_off: true,
    page_offset: 0xC000_0000,
    phys_offset: 0,
    dma_end: 16 * MIB,
};

/// i386 with PAE: the same kernel limits and layout, 36-bit physical
/// addresses.
static I386_PAE: ArchProfile = ArchProfile {
    name: "i386-pae",
    config: "x86_32, HIGHMEM64G (PAE), VMSPLIT_3G",
    max_phys: 64 * GIB,
    ..I386
};

static X86_64: ArchProfile = ArchProfile {
    name: "x86_64",
    config: "x86_64, 4-level paging",
    word_bits: 64,
    max_phys: 1 << 46,
    lowmem_end: None,
    has_dma32: true,
    source_limit: (1 << 46) - 1,
    destination_limit: (1 << 46) - 1,
    control_limit: (1 << 46) - 1,
    control_order: 1,
    relocate_reach: 1 << 46,
    relocate_paging_off: false,
    page_offset: 0xffff_8880_0000_0000,
    phys_offset: 0,
    dma_end: 16 * MIB,
};

/// ARM32 LPAE on a platform whose RAM starts at 0x80000000 and that does
/// not select ZONE_DMA: lowmem is 768 MiB (VMALLOC_END 0xff800000 − 240 MiB
/// of vmalloc − 8 MiB offset from PAGE_OFFSET 0xc0000000), every kexec
/// limit is 0xffffffff, and relocation runs with the MMU off, so only
/// addresses below 4 GiB are reachable (the idmap alias of platforms like
/// Keystone2 is not modelled).
static ARM_LPAE: ArchProfile = ArchProfile {
    name: "arm-lpae",
    config: "ARM32 LPAE, VMSPLIT_3G, RAM at 2 GiB, no ZONE_DMA",
    word_bits: 32,
    max_phys: 1 << 40,
    lowmem_end: Some(0x8000_0000 + 768 * MIB),
    has_dma32: false,
    source_limit: 0xFFFF_FFFF,
    destination_limit: 0xFFFF_FFFF,
    control_limit: 0xFFFF_FFFF,
    control_order: 0,
    relocate_reach: 1 << 32,
    relocate_paging_off: true,
    page_offset: 0xC000_0000,
    phys_offset: 0x8000_0000,
    dma_end: 0,
};

impl ArchProfile {
    /// sizeof(kimage_entry_t).
    pub fn entry_bytes(&self) -> u64 {
        u64::from(self.word_bits / 8)
    }

    /// Entries per indirection page (PAGE_SIZE / sizeof(kimage_entry_t)).
    pub fn slots_per_page(&self) -> u64 {
        // A shift, not a division: an entry is 4 or 8 bytes.
        debug_assert!(self.entry_bytes().is_power_of_two());
        PAGE_SIZE >> self.entry_bytes().trailing_zeros()
    }

    /// The index of the link slot (LAST_KIMAGE_ENTRY in the RFC).
    pub fn last_slot(&self) -> u64 {
        self.slots_per_page() - 1
    }

    /// All-ones of `unsigned long`.
    pub fn word_mask(&self) -> u64 {
        if self.word_bits == 64 {
            u64::MAX
        } else {
            (1u64 << self.word_bits) - 1
        }
    }

    /// Whether a page at `pfn` has a permanent direct mapping (is lowmem).
    pub fn is_lowmem_pfn(&self, pfn: u64) -> bool {
        match self.lowmem_end {
            Some(end) => pfn < end >> PAGE_SHIFT,
            None => true,
        }
    }

    /// Number of hex digits to print an entry (8 on 32-bit, 16 on 64-bit).
    pub fn entry_hex_digits(&self) -> usize {
        (self.word_bits / 4) as usize
    }

    /// Format an entry word at full width, `0x` and lowercase.
    pub fn fmt_entry(&self, e: u64) -> String {
        let mut s = String::with_capacity(18);
        self.write_entry(&mut s, e);
        s
    }

    /// [`ArchProfile::fmt_entry`] appended to `out` (`0x` and at least
    /// [`ArchProfile::entry_hex_digits`] lowercase hex digits), without
    /// the formatting machinery: the `entries` listing writes one a
    /// source page.
    pub fn write_entry(&self, out: &mut String, e: u64) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let used = (64 - e.leading_zeros() as usize).div_ceil(4);
        let digits = used.max(self.entry_hex_digits());
        out.push_str("0x");
        for i in (0..digits).rev() {
            // i < 16: a u64 has at most 16 hex digits; more are zeros.
            let d = if i < 16 { (e >> (4 * i)) & 0xf } else { 0 };
            out.push(char::from(HEX[d as usize]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_geometry_matches_kernel() {
        assert_eq!(Arch::I386.profile().slots_per_page(), 1024);
        assert_eq!(Arch::I386Pae.profile().last_slot(), 1023);
        assert_eq!(Arch::X86_64.profile().slots_per_page(), 512);
        assert_eq!(Arch::X86_64.profile().last_slot(), 511);
    }

    #[test]
    fn entries_print_as_format_does() {
        for arch in ALL_ARCHES {
            let p = arch.profile();
            let w = p.entry_hex_digits();
            for e in [0, 1, 0xf, 0x1000_0001, 0xffff_ffff, 0x1_0000_0008, u64::MAX] {
                assert_eq!(p.fmt_entry(e), format!("0x{e:0w$x}"));
            }
        }
    }

    #[test]
    fn limits_match_kexec_h() {
        let p = Arch::I386Pae.profile();
        assert_eq!(p.source_limit, 0xFFFF_FFFF);
        assert_eq!(p.control_limit, 0xC000_0000);
        let x = Arch::X86_64.profile();
        assert_eq!(x.destination_limit, (1 << 46) - 1);
        assert_eq!(x.control_order, 1);
        assert_eq!(x.lowmem_end, None);
    }

    #[test]
    fn lowmem_line() {
        let p = Arch::I386.profile();
        assert!(p.is_lowmem_pfn(0x37fff));
        assert!(!p.is_lowmem_pfn(0x38000));
        assert!(Arch::X86_64.profile().is_lowmem_pfn(1 << 30));
    }

    #[test]
    fn names_round_trip() {
        for a in ALL_ARCHES {
            assert_eq!(Arch::from_name(a.name()), Some(a));
        }
        assert_eq!(Arch::from_name("arm"), None);
        let a = Arch::ArmLpae.profile();
        assert_eq!(
            (a.source_limit, a.control_limit, a.slots_per_page()),
            (0xFFFF_FFFF, 0xFFFF_FFFF, 1024)
        );
        assert!(a.is_lowmem_pfn(0xaffff) && !a.is_lowmem_pfn(0xb0000));
    }
}
