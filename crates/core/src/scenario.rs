//! Scenario files: the versioned interchange format, and its validation.
//!
//! Two phases, as ripgrep parses flags: [`ScenarioFile`] is the serde form
//! (version 1, addresses as JSON integers or `"0x…"` strings, unknown fields
//! rejected by name); [`Scenario::from_file`] checks it into a [`Scenario`]
//! the model can run, naming the field of every problem. Kernel rules
//! (alignment, overlap, limits, more than KEXEC_SEGMENT_MAX segments) are
//! not input errors: they are left to the modelled kernel, which answers
//! with its errno.

use crate::arch::{Arch, ALL_ARCHES, PAGE_SIZE};
use crate::design::kernel_code::{KernelSpec, MAX_KERNELS};
use crate::design::{KernelId, Variant, ALL_VARIANTS};
use crate::kimage::Segment;
use crate::page_alloc::Policy;
use kexec_common::input::{
    check_variants, parse_num, quoted, ser_dec, ser_opt_dec, InputError, Num, SCENARIO_VERSION,
};
use kexec_common::json;
use serde::{Deserialize, Serialize};

/// Most RAM or movable ranges in a scenario.
pub const MAX_RANGES: usize = 64;
/// Most segments a file may list (the kernel itself allows 16).
pub const MAX_SEGMENTS_IN_FILE: usize = 256;
/// Most pfns in a replay list.
pub const MAX_REPLAY: usize = 1 << 21;
/// A `[start, end)` physical range.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RangeSpec {
    /// First byte.
    pub start: Num,
    /// First byte after the range.
    pub end: Num,
}

/// One segment as written in a file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SegmentSpec {
    /// Buffer size in bytes.
    #[serde(serialize_with = "ser_dec")]
    pub bufsz: Num,
    /// Destination address.
    pub mem: Num,
    /// Destination size in bytes.
    #[serde(serialize_with = "ser_dec")]
    pub memsz: Num,
}

/// Replay lists longer than this are written as runs
/// ([`replay_items`]); shorter ones one pfn per element, as files and
/// links made before runs existed hold them.
pub const REPLAY_RUNS_ABOVE: usize = 4096;

/// One element of a replay list: a pfn (a number, as everywhere in files),
/// or a run of consecutive pfns `"FIRST..LAST"`, both ends included,
/// ascending (`"0xbf800..0xbf8ff"`) or descending (`"0x23fc89..0x100000"`),
/// as the buddy allocator hands out a free block's pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayItem {
    /// One pfn.
    Pfn(u64),
    /// `first..last`, both included, in either direction.
    Run(u64, u64),
}

impl ReplayItem {
    /// Parse a pfn or a `FIRST..LAST` run as written in a file or the
    /// page's replay field.
    pub fn parse(s: &str) -> Result<ReplayItem, String> {
        match s.split_once("..") {
            Some((a, b)) => Ok(ReplayItem::Run(parse_num(a)?, parse_num(b)?)),
            None => parse_num(s).map(ReplayItem::Pfn),
        }
    }

    /// How many pfns it stands for.
    pub fn len(&self) -> u64 {
        match *self {
            ReplayItem::Pfn(_) => 1,
            ReplayItem::Run(a, b) => a.abs_diff(b) + 1,
        }
    }

    /// Never empty (a run holds at least its first pfn).
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Append its pfns, in order.
    pub fn expand_into(&self, out: &mut Vec<u64>) {
        match *self {
            ReplayItem::Pfn(p) => out.push(p),
            ReplayItem::Run(a, b) if a <= b => out.extend(a..=b),
            ReplayItem::Run(a, b) => out.extend((b..=a).rev()),
        }
    }
}

impl std::fmt::Display for ReplayItem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReplayItem::Pfn(p) => write!(f, "0x{p:x}"),
            ReplayItem::Run(a, b) => write!(f, "0x{a:x}..0x{b:x}"),
        }
    }
}

impl Serialize for ReplayItem {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ReplayItem {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::{self, value, IntoDeserializer, Visitor};
        struct V;
        // Numbers go through `Num`, so its messages (negative, fraction,
        // too large) stay word for word.
        fn num<E: de::Error>(r: Result<Num, value::Error>) -> Result<ReplayItem, E> {
            r.map(|n| ReplayItem::Pfn(n.0))
                .map_err(|e| E::custom(e.to_string()))
        }
        impl Visitor<'_> for V {
            type Value = ReplayItem;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(
                    "a pfn (an integer or a string such as \"0x1000\") or a run \"FIRST..LAST\"",
                )
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ReplayItem, E> {
                Ok(ReplayItem::Pfn(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ReplayItem, E> {
                num(Num::deserialize(
                    IntoDeserializer::<value::Error>::into_deserializer(v),
                ))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<ReplayItem, E> {
                num(Num::deserialize(
                    IntoDeserializer::<value::Error>::into_deserializer(v),
                ))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<ReplayItem, E> {
                ReplayItem::parse(s).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// A replay list as a file writes it: one element per pfn up to
/// [`REPLAY_RUNS_ABOVE`] pfns, else runs of three or more consecutive pfns
/// (ascending or descending) as `"FIRST..LAST"` and single pfns between.
pub fn replay_items(pfns: &[u64]) -> Vec<ReplayItem> {
    if pfns.len() <= REPLAY_RUNS_ABOVE {
        return pfns.iter().map(|&p| ReplayItem::Pfn(p)).collect();
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i < pfns.len() {
        let a = pfns[i];
        let mut j = i + 1;
        if j < pfns.len() && pfns[j].abs_diff(a) == 1 {
            let up = pfns[j] > a;
            while j < pfns.len()
                && pfns[j]
                    == if up {
                        pfns[j - 1].wrapping_add(1)
                    } else {
                        pfns[j - 1].wrapping_sub(1)
                    }
            {
                j += 1;
            }
        }
        if j - i >= 3 {
            out.push(ReplayItem::Run(a, pfns[j - 1]));
        } else {
            j = i + 1;
            out.push(ReplayItem::Pfn(a));
        }
        i = j;
    }
    out
}

/// The allocator as written in a file: `{ "policy": …, "seed": … }` or
/// `{ "replay": [pfn, …] }`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(deny_unknown_fields)]
pub struct AllocatorSpec {
    /// lowest-first, highest-first, random, adversarial, buddy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// Seed of random / adversarial.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_opt_dec"
    )]
    pub seed: Option<Num>,
    /// The pfns to hand out, one per allocator call (runs as
    /// `"FIRST..LAST"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay: Option<Vec<ReplayItem>>,
    /// What-if: the gfp of source pages, "GFP_HIGHUSER" (the kernel's, the
    /// default) or "GFP_HIGHUSER_MOVABLE" (Joonsoo Kim's CMA-in-ZONE_MOVABLE
    /// machine, where a source page may be a lowmem ZONE_MOVABLE page).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_gfp: Option<String>,
}

/// A scenario file, version 1.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    /// Format version (1).
    pub version: u32,
    /// "kimage" (the default; the other kinds are the labs', which the
    /// playground crate reads).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// i386, i386-pae, x86_64 or arm-lpae.
    pub arch: String,
    /// RAM ranges, sorted, non-overlapping, page aligned.
    pub ram: Vec<RangeSpec>,
    /// ZONE_MOVABLE ranges (optional), inside RAM.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub movable: Vec<RangeSpec>,
    /// The lowmem line (optional): the physical address where the direct
    /// map ends, max_low_pfn x PAGE_SIZE (a real 8 GiB Debian 686-pae box:
    /// 0x36ffe000). Absent: the arch's nominal line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lowmem_end: Option<Num>,
    /// The segments passed to kexec_load, in order.
    pub segments: Vec<SegmentSpec>,
    /// The page allocator.
    pub allocator: AllocatorSpec,
    /// The designs to run (default: pointer and rfc-fixed); `kernel:NAME`
    /// is the kernel build `kernels` describes under NAME.
    #[serde(default = "default_variants")]
    pub variants: Vec<String>,
    /// The kernel builds `kernel:NAME` variants name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kernels: Vec<KernelSpec>,
}

fn default_variants() -> Vec<String> {
    vec!["pointer".into(), "rfc-fixed".into()]
}

/// A checked scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scenario {
    /// The arch.
    pub arch: Arch,
    /// RAM byte ranges `[start, end)`.
    pub ram: Vec<(u64, u64)>,
    /// ZONE_MOVABLE byte ranges.
    pub movable: Vec<(u64, u64)>,
    /// The lowmem line in bytes, when the file gives one (`None`: the
    /// arch's nominal line, [`crate::arch::ArchProfile::lowmem_end`]).
    pub lowmem_end: Option<u64>,
    /// Segments.
    pub segments: Vec<Segment>,
    /// Allocator policy.
    pub policy: Policy,
    /// Variants to run, in order.
    pub variants: Vec<Variant>,
    /// What-if: source pages asked with GFP_HIGHUSER_MOVABLE instead of
    /// GFP_HIGHUSER (`allocator.source_gfp`).
    pub source_movable: bool,
    /// The kernel builds [`Variant::Kernel`] variants index.
    pub kernels: Vec<KernelSpec>,
}

/// Every variant must exist on the arch (Xen's kimage is x86_64 only); the
/// message names the valid combinations.
pub fn check_arch_variants(arch: Arch, variants: &[Variant]) -> Result<(), InputError> {
    for (i, v) in variants.iter().enumerate() {
        if !v.arches().contains(&arch) {
            let on: Vec<&str> = v.arches().iter().map(|a| a.name()).collect();
            let here: Vec<&str> = ALL_VARIANTS
                .iter()
                .filter(|w| w.arches().contains(&arch))
                .map(|w| w.name())
                .collect();
            return Err(InputError::new(
                format!("variants[{i}]"),
                format!(
                    "{} does not exist on {}: it runs on {} only (Xen is 64-bit); on {} the variants are {}",
                    v.name(),
                    arch.name(),
                    on.join(", "),
                    arch.name(),
                    here.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

impl Scenario {
    /// A scenario without ZONE_MOVABLE or what-ifs: `segments` as
    /// `(bufsz, mem, memsz)`, unchecked (the presets and tests build theirs
    /// so).
    pub fn new(
        arch: Arch,
        ram: &[(u64, u64)],
        segments: &[(u64, u64, u64)],
        policy: Policy,
        variants: &[Variant],
    ) -> Scenario {
        Scenario {
            arch,
            ram: ram.to_vec(),
            movable: vec![],
            lowmem_end: None,
            segments: segments
                .iter()
                .map(|&(bufsz, mem, memsz)| Segment { bufsz, mem, memsz })
                .collect(),
            policy,
            variants: variants.to_vec(),
            source_movable: false,
            kernels: vec![],
        }
    }

    /// A variant's name in files, links and reports (`kernel:NAME` for a
    /// kernel build).
    pub fn variant_name(&self, v: Variant) -> String {
        match v {
            Variant::Kernel(KernelId(i)) => match self.kernels.get(usize::from(i)) {
                Some(k) => format!("kernel:{}", k.name),
                None => "kernel:?".into(),
            },
            v => v.name().to_string(),
        }
    }

    /// The image's source pages: each segment's memsz in whole pages (what
    /// kimage_load_normal_segment copies, one page at a time), summed.
    pub fn image_pages(&self) -> u64 {
        self.segments
            .iter()
            .fold(0u64, |n, s| n.saturating_add(s.memsz.div_ceil(PAGE_SIZE)))
    }

    /// The kernel build a variant names, if it is one.
    pub fn kernel(&self, v: Variant) -> Option<&KernelSpec> {
        match v {
            Variant::Kernel(KernelId(i)) => self.kernels.get(usize::from(i)),
            _ => None,
        }
    }

    /// Add (or find) a kernel build and its variant.
    pub fn add_kernel(&mut self, spec: KernelSpec) -> Variant {
        let i = match self.kernels.iter().position(|k| k.name == spec.name) {
            Some(i) => {
                self.kernels[i] = spec;
                i
            }
            None => {
                self.kernels.push(spec);
                self.kernels.len() - 1
            }
        };
        Variant::Kernel(KernelId(i as u8))
    }

    /// Parse and check scenario JSON text (the field of every problem
    /// named, in the file's terms: [`kexec_common::json`]).
    pub fn from_json(text: &str) -> Result<Scenario, InputError> {
        let f: ScenarioFile = json::scenario(text)?;
        Scenario::from_file(&f)
    }

    /// Check a parsed file.
    pub fn from_file(f: &ScenarioFile) -> Result<Scenario, InputError> {
        if f.version != 1 {
            return Err(InputError::new(
                "version",
                format!(
                    "{} is not a version this build reads (it reads 1)",
                    f.version
                ),
            ));
        }
        match f.kind.as_deref() {
            None | Some("kimage") => {}
            Some(k) => {
                return Err(InputError::new(
                    "kind",
                    format!(
                    "{} is not a kimage scenario (kexec-sim place reads kind \"placement\", hotplug \"hotplug\", pgtable \"pgtable\")",
                    quoted(k)
                ),
                ))
            }
        }
        let arch = Arch::from_name(&f.arch).ok_or_else(|| {
            let valid: Vec<&str> = ALL_ARCHES.iter().map(|a| a.name()).collect();
            InputError::new(
                "arch",
                format!(
                    "unknown arch {} (valid: {})",
                    quoted(&f.arch),
                    valid.join(", ")
                ),
            )
        })?;
        let p = arch.profile();
        let ram = check_ranges("ram", &f.ram, p.max_phys, arch)?;
        if ram.is_empty() {
            return Err(InputError::new("ram", "no RAM: give at least one range"));
        }
        let movable = check_ranges("movable", &f.movable, p.max_phys, arch)?;
        for (i, &(s, e)) in movable.iter().enumerate() {
            let inside = ram.iter().any(|&(rs, re)| rs <= s && e <= re);
            if !inside {
                return Err(InputError::new(
                    format!("movable[{i}]"),
                    "not inside one RAM range",
                ));
            }
        }
        let lowmem_end = check_lowmem_end(f.lowmem_end, arch)?;
        if f.segments.len() > MAX_SEGMENTS_IN_FILE {
            return Err(InputError::new(
                "segments",
                format!(
                    "{} segments; a file may list at most {MAX_SEGMENTS_IN_FILE}",
                    f.segments.len()
                ),
            ));
        }
        let mask = p.word_mask();
        let mut segments = Vec::with_capacity(f.segments.len());
        for (i, s) in f.segments.iter().enumerate() {
            for (name, v) in [("bufsz", s.bufsz.0), ("mem", s.mem.0), ("memsz", s.memsz.0)] {
                if v > mask {
                    return Err(InputError::new(
                        format!("segments[{i}].{name}"),
                        format!(
                            "0x{v:x} does not fit in a {}-bit unsigned long ({})",
                            p.word_bits, p.name
                        ),
                    ));
                }
            }
            segments.push(Segment {
                bufsz: s.bufsz.0,
                mem: s.mem.0,
                memsz: s.memsz.0,
            });
        }
        let policy = check_allocator(&f.allocator)?;
        let source_movable = match f.allocator.source_gfp.as_deref() {
            None | Some("GFP_HIGHUSER") => false,
            Some("GFP_HIGHUSER_MOVABLE") => true,
            Some(other) => {
                return Err(InputError::new(
                    "allocator.source_gfp",
                    format!(
                        "unknown gfp {} (valid: GFP_HIGHUSER, GFP_HIGHUSER_MOVABLE)",
                        quoted(other)
                    ),
                ))
            }
        };
        let kernels = check_kernels(&f.kernels)?;
        let mut valid: Vec<_> = ALL_VARIANTS.iter().map(|v| v.name()).collect();
        valid.push("kernel:NAME (a build in \"kernels\")");
        let by_name = |name: &str| {
            Variant::from_name(name).or_else(|| {
                let k = name.strip_prefix("kernel:")?;
                let i = kernels.iter().position(|s| s.name == k)?;
                Some(Variant::Kernel(KernelId(i as u8)))
            })
        };
        let variants = check_variants(&f.variants, by_name, &valid)?;
        check_arch_variants(arch, &variants)?;
        Ok(Scenario {
            arch,
            ram,
            movable,
            lowmem_end,
            segments,
            policy,
            variants,
            source_movable,
            kernels,
        })
    }

    /// The canonical file form (addresses in hex).
    pub fn to_file(&self) -> ScenarioFile {
        let ranges = |r: &[(u64, u64)]| {
            r.iter()
                .map(|&(s, e)| RangeSpec {
                    start: Num(s),
                    end: Num(e),
                })
                .collect()
        };
        let mut allocator = match &self.policy {
            Policy::Replay(pfns) => AllocatorSpec {
                replay: Some(replay_items(pfns)),
                ..Default::default()
            },
            Policy::Random(s) | Policy::Adversarial(s) => AllocatorSpec {
                policy: Some(self.policy.name().into()),
                seed: Some(Num(*s)),
                ..Default::default()
            },
            p => AllocatorSpec {
                policy: Some(p.name().into()),
                ..Default::default()
            },
        };
        if self.source_movable {
            allocator.source_gfp = Some("GFP_HIGHUSER_MOVABLE".into());
        }
        ScenarioFile {
            version: SCENARIO_VERSION,
            kind: None,
            arch: self.arch.name().into(),
            ram: ranges(&self.ram),
            movable: ranges(&self.movable),
            lowmem_end: self.lowmem_end.map(Num),
            segments: self
                .segments
                .iter()
                .map(|s| SegmentSpec {
                    bufsz: Num(s.bufsz),
                    mem: Num(s.mem),
                    memsz: Num(s.memsz),
                })
                .collect(),
            allocator,
            variants: self
                .variants
                .iter()
                .map(|&v| self.variant_name(v))
                .collect(),
            kernels: self.kernels.clone(),
        }
    }

    /// Pretty JSON of the canonical file form.
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(&self.to_file()).expect("scenario serializes")
    }

    /// Compact JSON of the canonical file form.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.to_file()).expect("scenario serializes")
    }

    /// Total RAM in bytes.
    pub fn ram_bytes(&self) -> u64 {
        self.ram.iter().map(|(s, e)| e - s).sum()
    }
}

/// `lowmem_end`: only where the arch has highmem, page aligned, above
/// ZONE_DMA (or PHYS_OFFSET) and within the 32-bit physical space a
/// direct map of at most 1 GiB (PAGE_OFFSET 0xc0000000) can cover.
fn check_lowmem_end(v: Option<Num>, arch: Arch) -> Result<Option<u64>, InputError> {
    let Some(Num(e)) = v else { return Ok(None) };
    let p = arch.profile();
    if p.lowmem_end.is_none() {
        return Err(InputError::new(
            "lowmem_end",
            format!(
                "0x{e:x}: {} maps all RAM directly (no highmem); lowmem_end is for i386, i386-pae and arm-lpae",
                arch.name()
            ),
        ));
    }
    if !e.is_multiple_of(PAGE_SIZE) {
        return Err(InputError::new(
            "lowmem_end",
            format!("0x{e:x} is not page aligned (it is max_low_pfn x PAGE_SIZE)"),
        ));
    }
    let lo = p.phys_offset.max(p.dma_end);
    let hi = p.phys_offset + (1 << 30);
    if e <= lo || e > hi {
        return Err(InputError::new(
            "lowmem_end",
            format!(
                "0x{e:x} is outside 0x{lo:x}-0x{hi:x}: the direct map of {} starts at 0x{:x} and covers at most 1 GiB",
                arch.name(),
                p.phys_offset
            ),
        ));
    }
    Ok(Some(e))
}

fn check_kernels(k: &[KernelSpec]) -> Result<Vec<KernelSpec>, InputError> {
    if k.len() > MAX_KERNELS {
        return Err(InputError::new(
            "kernels",
            format!(
                "{} kernel builds; a scenario names at most {MAX_KERNELS}",
                k.len()
            ),
        ));
    }
    for (i, s) in k.iter().enumerate() {
        s.check(i)?;
        if k[..i].iter().any(|o| o.name == s.name) {
            return Err(InputError::new(
                format!("kernels[{i}].name"),
                format!("\"{}\" is listed twice", s.name),
            ));
        }
    }
    Ok(k.to_vec())
}

fn check_ranges(
    name: &str,
    r: &[RangeSpec],
    max: u64,
    arch: Arch,
) -> Result<Vec<(u64, u64)>, InputError> {
    if r.len() > MAX_RANGES {
        return Err(InputError::new(
            name,
            format!("{} ranges; at most {MAX_RANGES}", r.len()),
        ));
    }
    let mut out: Vec<(u64, u64)> = Vec::with_capacity(r.len());
    for (i, x) in r.iter().enumerate() {
        let (s, e) = (x.start.0, x.end.0);
        let field = format!("{name}[{i}]");
        if !s.is_multiple_of(PAGE_SIZE) || !e.is_multiple_of(PAGE_SIZE) {
            return Err(InputError::new(
                field,
                format!("0x{s:x}-0x{e:x} is not page aligned"),
            ));
        }
        if s >= e {
            return Err(InputError::new(
                field,
                format!("start 0x{s:x} is not below end 0x{e:x}"),
            ));
        }
        if e > max {
            return Err(InputError::new(
                field,
                format!(
                    "end 0x{e:x} is beyond what {} can address (0x{max:x})",
                    arch.name()
                ),
            ));
        }
        let floor = arch.profile().phys_offset;
        if s < floor {
            return Err(InputError::new(
                field,
                format!(
                    "starts at 0x{s:x}, below PHYS_OFFSET 0x{floor:x}: RAM of the modelled {} platform starts there",
                    arch.name()
                ),
            ));
        }
        if let Some(&(_, pe)) = out.last() {
            if s < pe {
                return Err(InputError::new(field, format!("starts at 0x{s:x}, before the previous range ends (0x{pe:x}): ranges must be sorted and must not overlap")));
            }
        }
        out.push((s, e));
    }
    Ok(out)
}

fn check_allocator(a: &AllocatorSpec) -> Result<Policy, InputError> {
    match (&a.policy, &a.replay) {
        (Some(_), Some(_)) => Err(InputError::new(
            "allocator",
            "give either \"policy\" or \"replay\", not both",
        )),
        (None, None) => Err(InputError::new(
            "allocator",
            "give \"policy\" (lowest-first, highest-first, random, adversarial, buddy) or \"replay\"",
        )),
        (None, Some(list)) => {
            if a.seed.is_some() {
                return Err(InputError::new(
                    "allocator.seed",
                    "a replay list takes no seed",
                ));
            }
            let mut total: u64 = 0;
            for (i, item) in list.iter().enumerate() {
                let ends = match *item {
                    ReplayItem::Pfn(p) => [p, p],
                    ReplayItem::Run(a, b) => [a, b],
                };
                if let Some(p) = ends.into_iter().find(|&p| p >= 1 << 52) {
                    return Err(InputError::new(
                        format!("allocator.replay[{i}]"),
                        format!("0x{p:x} is not a pfn"),
                    ));
                }
                total += item.len();
                if total > MAX_REPLAY as u64 {
                    return Err(InputError::new(
                        "allocator.replay",
                        format!(
                            "more than {MAX_REPLAY} pfns (the list reaches {total} at element {i}); at most {MAX_REPLAY}"
                        ),
                    ));
                }
            }
            let mut pfns = Vec::with_capacity(total as usize);
            for item in list {
                item.expand_into(&mut pfns);
            }
            Ok(Policy::Replay(pfns))
        }
        (Some(name), None) => {
            let seed = a.seed.map(|n| n.0);
            match (name.as_str(), seed) {
                ("lowest-first", None) => Ok(Policy::LowestFirst),
                ("highest-first", None) => Ok(Policy::HighestFirst),
                ("buddy", None) => Ok(Policy::Buddy),
                ("lowest-first" | "highest-first" | "buddy", Some(_)) => {
                    Err(InputError::new("allocator.seed", format!("{name} takes no seed")))
                }
                ("random", Some(s)) => Ok(Policy::Random(s)),
                ("adversarial", Some(s)) => Ok(Policy::Adversarial(s)),
                ("random" | "adversarial", None) => Err(InputError::new("allocator.seed", format!("{name} needs a seed"))),
                _ => Err(InputError::new(
                    "allocator.policy",
                    format!("unknown policy {} (valid: lowest-first, highest-first, random, adversarial, buddy; or a replay list)", quoted(name)),
                )),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"{
      "version": 1,
      "arch": "i386-pae",
      "ram": [{ "start": "0x0", "end": "0x200000000" }],
      "segments": [
        { "bufsz": 4718592, "mem": "0x1000000", "memsz": 4718592 },
        { "bufsz": 20000000, "mem": "0x4000000", "memsz": 20013056 }
      ],
      "allocator": { "policy": "random", "seed": 7 },
      "variants": ["pointer", "rfc-fixed"]
    }"#;

    #[test]
    fn design_example_parses() {
        let s = Scenario::from_json(EXAMPLE).unwrap();
        assert_eq!(s.arch, Arch::I386Pae);
        assert_eq!(s.ram, vec![(0, 0x2_0000_0000)]);
        assert_eq!(s.segments[1].memsz, 20013056);
        assert_eq!(s.policy, Policy::Random(7));
        assert_eq!(s.variants, vec![Variant::Pointer, Variant::RfcFixed]);
        let again = Scenario::from_json(&s.to_json()).unwrap();
        assert_eq!(again, s);
    }

    fn bad(text: &str) -> String {
        Scenario::from_json(text).unwrap_err().to_string()
    }

    #[test]
    fn unknown_field_is_named() {
        let t = EXAMPLE.replace("\"arch\"", "\"colour\": 1, \"arch\"");
        assert_eq!(
            bad(&t),
            "unknown field \"colour\" (valid: version, kind, arch, ram, movable, lowmem_end, segments, allocator, variants, kernels)"
        );
        let t = EXAMPLE.replace("\"bufsz\": 4718592,", "\"bufsz\": 4718592, \"buf\": 1,");
        assert_eq!(
            bad(&t),
            "segments[0]: unknown field \"buf\" (valid: bufsz, mem, memsz)"
        );
    }

    #[test]
    fn duplicate_fields_are_rejected() {
        let t = EXAMPLE.replace(
            "\"arch\": \"i386-pae\",",
            "\"arch\": \"i386\", \"arch\": \"x86_64\",",
        );
        assert_eq!(bad(&t), "arch: given twice (each field once per object)");
    }

    #[test]
    fn wrong_version() {
        assert!(bad(&EXAMPLE.replace("\"version\": 1", "\"version\": 9")).starts_with("version:"));
        assert!(bad("{}").starts_with("version: missing"));
        assert!(bad("[1,2").contains("not valid JSON"));
    }

    #[test]
    fn out_of_range_numbers_name_the_field() {
        let t = EXAMPLE.replace("\"0x4000000\"", "\"0x100000000\"");
        assert_eq!(
            bad(&t),
            "segments[1].mem: 0x100000000 does not fit in a 32-bit unsigned long (i386-pae)"
        );
        let t = EXAMPLE.replace("\"0x4000000\"", "\"0x1_0000_0000_0000_0000\"");
        assert!(bad(&t).contains("fits in 64 bits"));
        let t = EXAMPLE.replace("4718592, \"mem\"", "-1, \"mem\"");
        assert!(bad(&t).contains("negative"));
    }

    #[test]
    fn ram_rules() {
        let t = EXAMPLE.replace(
            r#"[{ "start": "0x0", "end": "0x200000000" }]"#,
            r#"[{ "start": "0x100000", "end": "0x200000" }, { "start": "0x0", "end": "0x1000" }]"#,
        );
        assert!(bad(&t).starts_with("ram[1]: starts at 0x0, before the previous range ends"));
        let t = EXAMPLE.replace("0x200000000", "0x1000000001");
        assert!(bad(&t).contains("not page aligned"));
        let t = EXAMPLE.replace("0x200000000", "0x1100000000");
        assert!(bad(&t).contains("beyond what i386-pae can address"));
    }

    #[test]
    fn allocator_rules() {
        let t = EXAMPLE.replace(r#""policy": "random", "seed": 7"#, r#""policy": "random""#);
        assert_eq!(bad(&t), "allocator.seed: random needs a seed");
        let t = EXAMPLE.replace(
            r#""policy": "random", "seed": 7"#,
            r#""policy": "best-fit""#,
        );
        assert!(bad(&t).starts_with("allocator.policy: unknown policy"));
        let t = EXAMPLE.replace(
            r#""policy": "random", "seed": 7"#,
            r#""replay": ["0x10", 17]"#,
        );
        assert_eq!(
            Scenario::from_json(&t).unwrap().policy,
            Policy::Replay(vec![16, 17])
        );
    }

    #[test]
    fn lowmem_end_rules() {
        let t = EXAMPLE.replace(
            "\"segments\"",
            "\"lowmem_end\": \"0x36ffe000\", \"segments\"",
        );
        let s = Scenario::from_json(&t).unwrap();
        assert_eq!(s.lowmem_end, Some(0x36ffe000));
        assert_eq!(Scenario::from_json(&s.to_json()).unwrap(), s);
        assert!(s.to_json().contains("\"lowmem_end\":\"0x36ffe000\""));
        // Absent: absent again in the canonical form (old links unchanged).
        assert!(!Scenario::from_json(EXAMPLE)
            .unwrap()
            .to_json()
            .contains("lowmem_end"));
        assert!(bad(&t.replace("0x36ffe000", "0x36ffe001")).contains("not page aligned"));
        assert!(bad(&t.replace("0x36ffe000", "0x50000000"))
            .starts_with("lowmem_end: 0x50000000 is outside"));
        let t = t.replace("i386-pae", "x86_64");
        assert!(bad(&t).contains("maps all RAM directly"));
    }

    #[test]
    fn replay_runs() {
        let t = EXAMPLE.replace(
            r#""policy": "random", "seed": 7"#,
            r#""replay": ["0x10", "0x20..0x22", 5, "0x9..0x7"]"#,
        );
        assert_eq!(
            Scenario::from_json(&t).unwrap().policy,
            Policy::Replay(vec![0x10, 0x20, 0x21, 0x22, 5, 9, 8, 7])
        );
        let e = bad(&t.replace("0x9..0x7", "0x9..zz"));
        assert!(
            e.starts_with("allocator.replay[3]") && e.contains("is not a number"),
            "{e}"
        );
        assert!(bad(&t.replace("0x9..0x7", "0x0..0x10000000"))
            .starts_with("allocator.replay: more than"));
        // A long list (the 8 GiB capture's shape) is written as runs and
        // reads back the same.
        let mut pfns = vec![0x2f4a, 0x2f4b, 0x3000];
        pfns.extend((0x100000..=0x23fc89u64).rev());
        pfns.extend([0x3001, 0xbf800, 0xbf801, 0xbf802, 0x3002]);
        let mut s = Scenario::from_json(EXAMPLE).unwrap();
        s.policy = Policy::Replay(pfns);
        let json = s.to_json();
        assert!(json.contains(r#""replay":["0x2f4a","0x2f4b","0x3000","0x23fc89..0x100000","0x3001","0xbf800..0xbf802","0x3002"]"#), "{json}");
        assert_eq!(Scenario::from_json(&json).unwrap(), s);
        assert!(crate::link::encode_fragment(&s).len() < 600);
        // Short lists stay one pfn per element (the golden corpus).
        s.policy = Policy::Replay(vec![1, 2, 3, 4]);
        assert!(s
            .to_json()
            .contains(r#""replay":["0x1","0x2","0x3","0x4"]"#));
    }

    #[test]
    fn variants_rules() {
        let t = EXAMPLE.replace("\"rfc-fixed\"", "\"rfc\"");
        assert!(bad(&t).contains("valid: pointer, highmem-zone, rfc-posted, rfc-fixed"));
        let t = EXAMPLE.replace("\"rfc-fixed\"", "\"pointer\"");
        assert!(bad(&t).contains("listed twice"));
    }
}
