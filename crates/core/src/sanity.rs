//! The segment checks every load passes before anything is allocated.
//!
//! Mirrors kernel/kexec_core.c `sanity_check_segment_list` as 6.1 has it,
//! called by kernel/kexec.c `kimage_alloc_init` (kexec_load) and by
//! kernel/kexec_file.c `kimage_file_alloc_init` right after the image
//! loader placed the segments (kexec_file_load). One pure function,
//! [`sanity_check_segment_list`], shared by the kimage core
//! ([`crate::kimage::Kimage::sanity_check_segment_list`]) and the labs that
//! place segments themselves, so the rules exist once.
//!
//! The rules run in the kernel's order and the first failure wins; the
//! numbers are those of the design notes (kernel-facts §2.9):
//!
//! 1. `mem + memsz` wraps (-EADDRNOTAVAIL);
//! 2. `mem` or `mem + memsz` not page aligned (-EADDRNOTAVAIL);
//! 3. `mem + memsz` at or above KEXEC_DESTINATION_MEMORY_LIMIT
//!    (-EADDRNOTAVAIL);
//! 4. two segments overlap (-EINVAL);
//! 5. `bufsz > memsz` (-EINVAL);
//! 6. one segment, or all of them together, more than half of
//!    `totalram_pages()` (-EINVAL);
//! 7. a crash image's segment outside crashk_res (-EADDRNOTAVAIL).
//!
//! Rules 1 to 3 are one pass over the segments (segment 0 meets all three
//! before segment 1 meets rule 1), then each later rule is a pass of its
//! own; rule 6 checks each segment as it adds it to the total, then the
//! total. Arithmetic is `unsigned long` of the arch: sums wrap as the
//! kernel's do. Xen's `do_kimage_alloc` (xen/common/kimage.c) applies
//! rules 1, 2, 4 and 5 only ([`RuleSet::Xen`]).
//!
//! Deviation: the caller supplies `totalram_pages()` (the core counts all
//! of its RAM; a lab may count what its machine reserves) and crashk_res.

use crate::arch::{ArchProfile, PAGE_MASK, PAGE_SHIFT, PAGE_SIZE};
use crate::errno::Errno;
use crate::kimage::Segment;
use std::fmt;

/// `image->type`: what rule 7 needs to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageType {
    /// KEXEC_TYPE_DEFAULT.
    Normal,
    /// KEXEC_TYPE_CRASH, loaded into crashk_res `[start, end]` (inclusive
    /// end, as the kernel keeps a resource).
    Crash {
        /// crashk_res.start.
        start: u64,
        /// crashk_res.end (the last byte).
        end: u64,
    },
}

/// Which rules run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleSet {
    /// Linux: every rule.
    Linux,
    /// Xen's `do_kimage_alloc`: wrap-around, alignment, overlap and
    /// bufsz > memsz only.
    Xen,
}

/// The rule a segment list broke, with the numbers it was broken by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Rule 1: `mem + memsz` wraps past the end of `unsigned long`.
    Wrap,
    /// Rule 2: `mem` or `mem + memsz` is not page aligned.
    Unaligned {
        /// mem.
        mem: u64,
        /// mem + memsz (as `unsigned long`).
        end: u64,
    },
    /// Rule 3: `mem + memsz` is not below KEXEC_DESTINATION_MEMORY_LIMIT.
    DestinationLimit {
        /// mem + memsz.
        end: u64,
        /// KEXEC_DESTINATION_MEMORY_LIMIT.
        limit: u64,
    },
    /// Rule 4: the segment overlaps an earlier one.
    Overlap {
        /// The earlier segment.
        other: usize,
    },
    /// Rule 5: more buffer than memory.
    Bufsz {
        /// bufsz.
        bufsz: u64,
        /// memsz.
        memsz: u64,
    },
    /// Rule 6: one segment is more than half of `totalram_pages()`.
    SegmentOverHalf {
        /// PAGE_COUNT(memsz).
        pages: u64,
        /// totalram_pages().
        totalram: u64,
    },
    /// Rule 6: the segments together are more than half of
    /// `totalram_pages()`.
    TotalOverHalf {
        /// The sum of PAGE_COUNT(memsz).
        pages: u64,
        /// totalram_pages().
        totalram: u64,
    },
    /// Rule 7: a crash image's segment is not inside crashk_res.
    OutsideCrashkernel {
        /// mem.
        mem: u64,
        /// mem + memsz - 1.
        last: u64,
        /// crashk_res.start.
        start: u64,
        /// crashk_res.end.
        end: u64,
    },
}

impl Rule {
    /// The rule's number (1 to 7; both half-of-RAM checks are rule 6).
    pub fn number(self) -> u8 {
        match self {
            Rule::Wrap => 1,
            Rule::Unaligned { .. } => 2,
            Rule::DestinationLimit { .. } => 3,
            Rule::Overlap { .. } => 4,
            Rule::Bufsz { .. } => 5,
            Rule::SegmentOverHalf { .. } | Rule::TotalOverHalf { .. } => 6,
            Rule::OutsideCrashkernel { .. } => 7,
        }
    }

    /// A few words naming the rule.
    pub fn name(self) -> &'static str {
        match self {
            Rule::Wrap => "wrap-around",
            Rule::Unaligned { .. } => "page alignment",
            Rule::DestinationLimit { .. } => "KEXEC_DESTINATION_MEMORY_LIMIT",
            Rule::Overlap { .. } => "overlap",
            Rule::Bufsz { .. } => "bufsz > memsz",
            Rule::SegmentOverHalf { .. } | Rule::TotalOverHalf { .. } => "half of totalram_pages",
            Rule::OutsideCrashkernel { .. } => "inside crashk_res",
        }
    }

    /// The errno the kernel returns for it.
    pub fn errno(self) -> Errno {
        match self {
            Rule::Wrap
            | Rule::Unaligned { .. }
            | Rule::DestinationLimit { .. }
            | Rule::OutsideCrashkernel { .. } => Errno::EADDRNOTAVAIL,
            Rule::Overlap { .. }
            | Rule::Bufsz { .. }
            | Rule::SegmentOverHalf { .. }
            | Rule::TotalOverHalf { .. } => Errno::EINVAL,
        }
    }
}

/// Why `sanity_check_segment_list` refused: the rule and the segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    /// The rule broken.
    pub rule: Rule,
    /// The segment that broke it (`None` when the segments together are
    /// more than half of RAM).
    pub segment: Option<usize>,
}

impl Refusal {
    /// The errno returned.
    pub fn errno(&self) -> Errno {
        self.rule.errno()
    }

    /// One sentence on what is wrong, each segment named by `label` (the
    /// core says "segment 3", a lab may add the buffer's name).
    pub fn describe(&self, label: &dyn Fn(usize) -> String) -> String {
        let seg = self.segment.map(label).unwrap_or_default();
        match self.rule {
            Rule::Wrap => format!("{seg}: mem + memsz wraps past the end of unsigned long"),
            Rule::Unaligned { mem, end } => {
                format!("{seg}: mem 0x{mem:x} or mem + memsz 0x{end:x} is not page aligned")
            }
            Rule::DestinationLimit { end, limit } => format!(
                "{seg}: end 0x{end:x} is not below KEXEC_DESTINATION_MEMORY_LIMIT 0x{limit:x}"
            ),
            Rule::Overlap { other } => format!("{seg} overlaps {}", label(other)),
            Rule::Bufsz { bufsz, memsz } => {
                format!("{seg}: bufsz 0x{bufsz:x} is larger than memsz 0x{memsz:x}")
            }
            Rule::SegmentOverHalf { pages, totalram } => {
                format!("{seg}: {pages} pages is more than half of totalram_pages ({totalram})")
            }
            Rule::TotalOverHalf { pages, totalram } => format!(
                "the segments' {pages} pages are more than half of totalram_pages ({totalram})"
            ),
            Rule::OutsideCrashkernel {
                mem,
                last,
                start,
                end,
            } => format!(
                "{seg}: 0x{mem:x}-0x{last:x} is not inside crashk_res 0x{start:x}-0x{end:x}"
            ),
        }
    }
}

impl fmt::Display for Refusal {
    /// The sentence with segments numbered, then the function's name.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let label = |i: usize| format!("segment {i}");
        write!(f, "{} (sanity_check_segment_list)", self.describe(&label))
    }
}

fn refuse(rule: Rule, segment: usize) -> Result<(), Refusal> {
    Err(Refusal {
        rule,
        segment: Some(segment),
    })
}

/// Rules 1 to 3, one segment at a time.
fn addresses(segs: &[Segment], arch: &ArchProfile, rules: RuleSet) -> Result<(), Refusal> {
    let mask = arch.word_mask();
    for (i, s) in segs.iter().enumerate() {
        let (mem, end) = (s.mem, s.mem.wrapping_add(s.memsz) & mask);
        if mem > end {
            return refuse(Rule::Wrap, i);
        }
        if mem & !PAGE_MASK != 0 || end & !PAGE_MASK != 0 {
            return refuse(Rule::Unaligned { mem, end }, i);
        }
        if rules == RuleSet::Linux && end >= arch.destination_limit {
            let limit = arch.destination_limit;
            return refuse(Rule::DestinationLimit { end, limit }, i);
        }
    }
    Ok(())
}

/// Rule 4: each segment against the ones before it.
fn overlaps(segs: &[Segment], mask: u64) -> Result<(), Refusal> {
    let span = |s: &Segment| (s.mem, s.mem.wrapping_add(s.memsz) & mask);
    for (i, s) in segs.iter().enumerate() {
        let (mem, end) = span(s);
        for (other, p) in segs.iter().enumerate().take(i) {
            let (pmem, pend) = span(p);
            if end > pmem && mem < pend {
                return refuse(Rule::Overlap { other }, i);
            }
        }
    }
    Ok(())
}

/// Rule 6: each segment, then the sum, against half of `totalram`.
fn half_of_ram(segs: &[Segment], mask: u64, totalram: u64) -> Result<(), Refusal> {
    let mut total: u64 = 0;
    for (i, s) in segs.iter().enumerate() {
        let pages = (s.memsz.wrapping_add(PAGE_SIZE - 1) & mask) >> PAGE_SHIFT;
        if pages > totalram / 2 {
            return refuse(Rule::SegmentOverHalf { pages, totalram }, i);
        }
        total = total.wrapping_add(pages) & mask;
    }
    if total > totalram / 2 {
        return Err(Refusal {
            rule: Rule::TotalOverHalf {
                pages: total,
                totalram,
            },
            segment: None,
        });
    }
    Ok(())
}

/// Rule 7: every segment of a crash image inside crashk_res.
fn inside_crashkernel(segs: &[Segment], mask: u64, start: u64, end: u64) -> Result<(), Refusal> {
    for (i, s) in segs.iter().enumerate() {
        let last = s.mem.wrapping_add(s.memsz).wrapping_sub(1) & mask;
        if s.mem < start || last > end {
            let mem = s.mem;
            return refuse(
                Rule::OutsideCrashkernel {
                    mem,
                    last,
                    start,
                    end,
                },
                i,
            );
        }
    }
    Ok(())
}

/// sanity_check_segment_list: the segments of an `image` type on `arch`,
/// with `totalram_pages` pages of RAM, under `rules`. The first rule broken,
/// in the kernel's order, with the segment that broke it.
pub fn sanity_check_segment_list(
    segments: &[Segment],
    image: ImageType,
    arch: &ArchProfile,
    totalram_pages: u64,
    rules: RuleSet,
) -> Result<(), Refusal> {
    let mask = arch.word_mask();
    addresses(segments, arch, rules)?;
    overlaps(segments, mask)?;
    if let Some(i) = segments.iter().position(|s| s.bufsz > s.memsz) {
        let s = &segments[i];
        let (bufsz, memsz) = (s.bufsz, s.memsz);
        return refuse(Rule::Bufsz { bufsz, memsz }, i);
    }
    if rules == RuleSet::Xen {
        return Ok(());
    }
    half_of_ram(segments, mask, totalram_pages)?;
    match image {
        ImageType::Normal => Ok(()),
        ImageType::Crash { start, end } => inside_crashkernel(segments, mask, start, end),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::Arch;

    fn seg(mem: u64, memsz: u64) -> Segment {
        Segment {
            bufsz: memsz,
            mem,
            memsz,
        }
    }

    fn check(segs: &[Segment], image: ImageType, totalram: u64) -> Result<(), Refusal> {
        let arch = Arch::X86_64.profile();
        sanity_check_segment_list(segs, image, arch, totalram, RuleSet::Linux)
    }

    #[test]
    fn each_rule_with_its_errno_and_segment() {
        let n = ImageType::Normal;
        let big = 1 << 20;
        let r = check(&[seg(0x1000, 0x1000), seg(!0xFFF, 0x2000)], n, big).unwrap_err();
        assert_eq!(
            (r.rule, r.segment, r.errno()),
            (Rule::Wrap, Some(1), Errno::EADDRNOTAVAIL)
        );
        let r = check(&[seg(0x1800, 0x1000)], n, big).unwrap_err();
        assert_eq!(r.rule.number(), 2);
        let r = check(&[seg(1 << 46, 0x1000)], n, big).unwrap_err();
        assert_eq!(r.rule.number(), 3);
        let r = check(&[seg(0x1000, 0x2000), seg(0x2000, 0x1000)], n, big).unwrap_err();
        assert_eq!((r.rule, r.segment), (Rule::Overlap { other: 0 }, Some(1)));
        assert_eq!(r.errno(), Errno::EINVAL);
        let mut s = seg(0x1000, 0x1000);
        s.bufsz = 0x1001;
        assert_eq!(check(&[s], n, big).unwrap_err().rule.number(), 5);
        let r = check(&[seg(0x10_0000, 0x8_1000)], n, 0x100).unwrap_err();
        assert_eq!(
            r.rule,
            Rule::SegmentOverHalf {
                pages: 0x81,
                totalram: 0x100
            }
        );
        let r = check(
            &[seg(0x10_0000, 0x8_0000), seg(0x20_0000, 0x1000)],
            n,
            0x100,
        )
        .unwrap_err();
        assert_eq!((r.rule.number(), r.segment), (6, None));
        let crash = ImageType::Crash {
            start: 0x100_0000,
            end: 0x1FF_FFFF,
        };
        assert_eq!(check(&[seg(0x100_0000, 0x100_0000)], crash, big), Ok(()));
        let r = check(&[seg(0x180_0000, 0x100_0000)], crash, big).unwrap_err();
        assert_eq!((r.rule.number(), r.errno()), (7, Errno::EADDRNOTAVAIL));
    }

    #[test]
    fn rules_one_to_three_run_per_segment_the_rest_per_pass() {
        // Segment 0 overlaps nothing yet but is too big; segment 1 wraps:
        // the wrap (rule 1, second segment) is found before rule 6.
        let r = check(
            &[seg(0x10_0000, 0x100_0000), seg(!0xFFF, 0x2000)],
            ImageType::Normal,
            0x100,
        )
        .unwrap_err();
        assert_eq!((r.rule, r.segment), (Rule::Wrap, Some(1)));
        // Segment 0 unaligned, segment 1 above the limit: segment 0 first.
        let r = check(
            &[seg(0x10_0800, 0x1000), seg(1 << 46, 0x1000)],
            ImageType::Normal,
            1 << 20,
        )
        .unwrap_err();
        assert_eq!((r.rule.number(), r.segment), (2, Some(0)));
    }

    #[test]
    fn xen_skips_the_limit_and_the_ram_rules() {
        let arch = Arch::X86_64.profile();
        let segs = [seg(1 << 46, 0x10_0000)];
        let r = sanity_check_segment_list(&segs, ImageType::Normal, arch, 2, RuleSet::Xen);
        assert_eq!(r, Ok(()));
    }

    #[test]
    fn the_text_is_the_kimage_core_s() {
        let r = Refusal {
            rule: Rule::Overlap { other: 0 },
            segment: Some(2),
        };
        assert_eq!(
            r.to_string(),
            "segment 2 overlaps segment 0 (sanity_check_segment_list)"
        );
        let named = |i: usize| format!("segment {i} ({})", ["kernel", "x", "initrd"][i]);
        assert_eq!(
            r.describe(&named),
            "segment 2 (initrd) overlaps segment 0 (kernel)"
        );
    }
}
