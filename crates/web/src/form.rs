//! The scenario as the page edits it: text fields, turned into a checked
//! scenario by the model's own validation (so every message names the
//! field exactly as `kexec-sim` would).

use kexec_common::input::{parse_num, quoted, InputError, Num, SCENARIO_VERSION};
use kexec_core::arch::Arch;
use kexec_core::design::kernel_code::KernelSpec;
use kexec_core::design::Variant;
use kexec_core::page_alloc::Policy;
use kexec_core::scenario::{
    replay_items, AllocatorSpec, RangeSpec, ReplayItem, Scenario, ScenarioFile, SegmentSpec,
};

/// One segment row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentForm {
    /// bufsz as typed.
    pub bufsz: String,
    /// mem as typed.
    pub mem: String,
    /// memsz as typed.
    pub memsz: String,
}

/// The whole scenario bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Form {
    /// The arch.
    pub arch: Arch,
    /// RAM ranges, `start-end` separated by commas or spaces.
    pub ram: String,
    /// ZONE_MOVABLE ranges, same syntax.
    pub movable: String,
    /// The lowmem line (`lowmem_end`), empty for the arch's own.
    pub lowmem_end: String,
    /// Segment rows.
    pub segments: Vec<SegmentForm>,
    /// lowest-first, highest-first, random, adversarial, buddy, replay.
    pub policy: String,
    /// Seed for random / adversarial.
    pub seed: String,
    /// Replay pfns, separated by commas, spaces or newlines.
    pub replay: String,
    /// The two variants compared (left, right).
    pub variants: [Variant; 2],
    /// What-if: source pages asked with GFP_HIGHUSER_MOVABLE.
    pub source_movable: bool,
    /// The kernel builds `kernel:NAME` variants name (kept as they came).
    pub kernels: Vec<KernelSpec>,
}

fn ranges_text(r: &[(u64, u64)]) -> String {
    r.iter()
        .map(|(s, e)| format!("0x{s:x}-0x{e:x}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn parse_ranges(field: &str, text: &str) -> Result<Vec<RangeSpec>, InputError> {
    let mut v = Vec::new();
    for (i, part) in text
        .split([',', ' ', '\n'])
        .filter(|p| !p.trim().is_empty())
        .enumerate()
    {
        let (s, e) = part.split_once('-').ok_or_else(|| InputError {
            field: format!("{field}[{i}]"),
            message: format!("{} is not start-end", quoted(part)),
        })?;
        let num = |x: &str| {
            parse_num(x).map_err(|m| InputError {
                field: format!("{field}[{i}]"),
                message: m,
            })
        };
        v.push(RangeSpec {
            start: Num(num(s)?),
            end: Num(num(e)?),
        });
    }
    Ok(v)
}

impl Form {
    /// The form showing a scenario (the page compares two variants: a
    /// scenario with one gets rfc-fixed beside it).
    pub fn from_scenario(sc: &Scenario) -> Form {
        let (policy, seed, replay) = match &sc.policy {
            Policy::Replay(p) => (
                "replay".to_string(),
                String::new(),
                replay_items(p)
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            Policy::Random(s) | Policy::Adversarial(s) => {
                (sc.policy.name().to_string(), s.to_string(), String::new())
            }
            p => (p.name().to_string(), String::new(), String::new()),
        };
        let a = sc.variants.first().copied().unwrap_or(Variant::Pointer);
        let b = sc
            .variants
            .get(1)
            .copied()
            .unwrap_or(if a == Variant::RfcFixed {
                Variant::Pointer
            } else {
                Variant::RfcFixed
            });
        Form {
            arch: sc.arch,
            ram: ranges_text(&sc.ram),
            movable: ranges_text(&sc.movable),
            lowmem_end: sc
                .lowmem_end
                .map_or_else(String::new, |l| format!("0x{l:x}")),
            segments: sc
                .segments
                .iter()
                .map(|s| SegmentForm {
                    bufsz: format!("0x{:x}", s.bufsz),
                    mem: format!("0x{:x}", s.mem),
                    memsz: format!("0x{:x}", s.memsz),
                })
                .collect(),
            policy,
            seed,
            replay,
            variants: [a, b],
            source_movable: sc.source_movable,
            kernels: sc.kernels.clone(),
        }
    }

    /// A variant's name as the file writes it.
    fn variant_name(&self, v: Variant) -> String {
        match v {
            Variant::Kernel(id) => self
                .kernels
                .get(usize::from(id.0))
                .map_or_else(|| "kernel:?".into(), |k| format!("kernel:{}", k.name)),
            v => v.name().to_string(),
        }
    }

    /// Check the form into a scenario, or the first problem with its field.
    pub fn to_scenario(&self) -> Result<Scenario, InputError> {
        let mut segments = Vec::new();
        for (i, s) in self.segments.iter().enumerate() {
            let num = |name: &str, x: &str| {
                parse_num(x).map(Num).map_err(|m| InputError {
                    field: format!("segments[{i}].{name}"),
                    message: m,
                })
            };
            segments.push(SegmentSpec {
                bufsz: num("bufsz", &s.bufsz)?,
                mem: num("mem", &s.mem)?,
                memsz: num("memsz", &s.memsz)?,
            });
        }
        let mut allocator = if self.policy == "replay" {
            let mut pfns = Vec::new();
            for (i, p) in self
                .replay
                .split([',', ' ', '\n', '\t'])
                .filter(|p| !p.trim().is_empty())
                .enumerate()
            {
                pfns.push(ReplayItem::parse(p).map_err(|m| InputError {
                    field: format!("allocator.replay[{i}]"),
                    message: m,
                })?);
            }
            AllocatorSpec {
                replay: Some(pfns),
                ..Default::default()
            }
        } else {
            let seed = if self.policy == "random" || self.policy == "adversarial" {
                Some(Num(parse_num(&self.seed).map_err(|m| InputError {
                    field: "allocator.seed".into(),
                    message: m,
                })?))
            } else {
                None
            };
            AllocatorSpec {
                policy: Some(self.policy.clone()),
                seed,
                ..Default::default()
            }
        };
        if self.source_movable {
            allocator.source_gfp = Some("GFP_HIGHUSER_MOVABLE".into());
        }
        let file = ScenarioFile {
            version: SCENARIO_VERSION,
            kind: None,
            arch: self.arch.name().to_string(),
            ram: parse_ranges("ram", &self.ram)?,
            movable: parse_ranges("movable", &self.movable)?,
            lowmem_end: match self.lowmem_end.trim() {
                "" => None,
                t => Some(Num(parse_num(t).map_err(|m| InputError {
                    field: "lowmem_end".into(),
                    message: m,
                })?)),
            },
            segments,
            allocator,
            variants: self
                .variants
                .iter()
                .map(|&v| self.variant_name(v))
                .collect(),
            kernels: self.kernels.clone(),
        };
        Scenario::from_file(&file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kexec_core::presets;

    #[test]
    fn every_preset_round_trips_through_the_form() {
        for p in presets::all() {
            let f = Form::from_scenario(&p.scenario);
            let back = f.to_scenario().unwrap();
            assert_eq!(back.segments, p.scenario.segments, "{}", p.name);
            assert_eq!(back.policy, p.scenario.policy, "{}", p.name);
            assert_eq!(back.ram, p.scenario.ram);
            assert_eq!(back.movable, p.scenario.movable);
            assert_eq!(back.source_movable, p.scenario.source_movable);
        }
    }

    #[test]
    fn errors_name_the_field() {
        let mut f = Form::from_scenario(&presets::find("swap-path").unwrap().scenario);
        f.segments[0].mem = "0xzz".into();
        assert_eq!(f.to_scenario().unwrap_err().field, "segments[0].mem");
        f.segments[0].mem = "0x1000000".into();
        f.ram = "0x0".into();
        assert_eq!(f.to_scenario().unwrap_err().field, "ram[0]");
        f.ram = "0x0-0x4000000".into();
        f.policy = "random".into();
        f.seed = String::new();
        assert_eq!(f.to_scenario().unwrap_err().field, "allocator.seed");
    }
}
