//! Units and page geometry every machine of the playground shares:
//! 4 KiB pages (PAGE_SHIFT 12 on every arch modelled) and the binary
//! multiples the kernel's sizes are written in.

/// log2 of PAGE_SIZE.
pub const PAGE_SHIFT: u32 = 12;
/// PAGE_SIZE: 4 KiB on every arch modelled.
pub const PAGE_SIZE: u64 = 1 << PAGE_SHIFT;
/// PAGE_MASK: clears the offset inside a page.
pub const PAGE_MASK: u64 = !(PAGE_SIZE - 1);
/// 2^10 bytes.
pub const KIB: u64 = 1 << 10;
/// 2^20 bytes.
pub const MIB: u64 = 1 << 20;
/// 2^30 bytes.
pub const GIB: u64 = 1 << 30;
/// 2^40 bytes.
pub const TIB: u64 = 1 << 40;
/// PMD_SIZE: what one PMD entry maps on x86_64 and on x86 PAE (2 MiB).
pub const PMD_SIZE: u64 = 2 * MIB;
