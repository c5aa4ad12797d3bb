//! The one source of randomness: SplitMix64, seeded.
//!
//! Written here rather than taken from a crate: a share link holds a seed,
//! and the stream a seed gives must never change (a crate could change its
//! stream between versions).

/// SplitMix64: a tiny generator whose output for a seed is fixed forever.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    /// The next 64-bit value.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A value in `[0, n)` (n > 0): the high word of the next value
    /// times `n`.
    pub fn below(&mut self, n: u64) -> u64 {
        mul_high(self.next_u64(), n)
    }
}

/// The high 64 bits of `a * b`. wasm has no 64x64->128 multiply: a u128
/// product there is a call to compiler-rt's `__multi3`, a full 128-bit
/// multiply through the stack, twice per allocator call of the
/// adversarial policy (6-7% of huge-initrd's time in Chromium; LLVM
/// turns the four-product schoolbook form back into that call). Every
/// bound the model draws below fits in 32 bits (a roll of 100, a count of
/// pages below 2^32): two products there. Natively, one instruction.
#[inline]
fn mul_high(a: u64, b: u64) -> u64 {
    if cfg!(target_arch = "wasm32") && b >> 32 == 0 {
        return mul_high_narrow(a, b);
    }
    mul_high_wide(a, b)
}

/// [`mul_high`] for `b` below 2^32: a * b = (a >> 32) * b * 2^32 +
/// (a & LOW) * b, each product below 2^64; the high word is the first plus
/// the second's high half, shifted down 32 (no overflow: (2^32 - 1)^2 +
/// 2^32 < 2^64).
#[inline]
fn mul_high_narrow(a: u64, b: u64) -> u64 {
    const LOW: u64 = 0xffff_ffff;
    ((a >> 32) * b + (((a & LOW) * b) >> 32)) >> 32
}

/// [`mul_high`] through a u128 product (out of line on wasm, where it is
/// a call through the stack that the common path should not set up).
#[cfg_attr(target_arch = "wasm32", cold, inline(never))]
#[cfg_attr(not(target_arch = "wasm32"), inline)]
fn mul_high_wide(a: u64, b: u64) -> u64 {
    ((u128::from(a) * u128::from(b)) >> 64) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn narrow_at_the_edges() {
        let edges = [0, 1, 2, 0xffff_ffff, 0x1_0000_0000, u64::MAX - 1, u64::MAX];
        for a in edges {
            for b in [0, 1, 2, 100, 0xffff_fffe, 0xffff_ffff] {
                assert_eq!(
                    mul_high_narrow(a, b),
                    mul_high_wide(a, b),
                    "{a:#x} * {b:#x}"
                );
            }
        }
    }

    #[test]
    fn a_seed_keeps_its_stream() {
        // Links hold seeds: these values must never change.
        let mut r = SplitMix64::new(1);
        let got: Vec<u64> = (0..4).map(|_| r.below(1_000_000)).collect();
        assert_eq!(got, [566_561, 745_781, 971_002, 444_359]);
    }

    proptest! {
        #[test]
        fn narrow_is_the_wide_product(a: u64, b: u32) {
            prop_assert_eq!(mul_high_narrow(a, u64::from(b)), mul_high_wide(a, u64::from(b)));
        }
    }
}
