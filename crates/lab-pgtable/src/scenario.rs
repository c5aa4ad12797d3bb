//! The page-table scenario: the file (version 1, `"kind": "pgtable"`)
//! and its checks.
//!
//! A machine (x86_64 4-level or i386 PAE, 1 to 8 CPUs, the CPU features
//! and boot switches that decide huge ioremaps), a script
//! ([`crate::script`]) and the [`FreeVariant`]s it is run with. What the
//! kernel itself would refuse (a range outside the vmalloc area, an
//! overlap, iounmap of an address no ioremap starts at) is not checked
//! here: it is the error of its step in the run ([`crate::run`](mod@crate::run)). The
//! lab's own limits are: at most [`MAX_OPS`] lines, [`MAX_CPUS`] CPUs,
//! [`MAX_IOREMAP`] per ioremap, and PAs below the arch's physical address
//! limit.

use crate::free::{FreeVariant, ALL_FREE_VARIANTS};
use crate::ioremap::Features;
use crate::pgtable::Paging;
use crate::script::Op;
use kexec_common::input::{
    check_variants, check_version_kind, quoted, InputError, SCENARIO_VERSION,
};
use kexec_common::json;
use kexec_common::text::size_exact;
use kexec_common::units::GIB;
use serde::{Deserialize, Serialize};

/// At most this many script lines.
pub const MAX_OPS: usize = 128;
/// At most this many CPUs.
pub const MAX_CPUS: usize = 8;
/// The largest single ioremap.
pub const MAX_IOREMAP: u64 = 4 * GIB;

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// A page-table scenario file (version 1, `"kind": "pgtable"`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PgtableFile {
    /// Format version (1).
    pub version: u32,
    /// "pgtable".
    pub kind: String,
    /// "x86_64" or "i386-pae".
    pub arch: String,
    /// CPUs (1 to 8).
    pub cpus: usize,
    /// X86_FEATURE_GBPAGES.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub gbpages: bool,
    /// X86_FEATURE_PSE.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub pse: bool,
    /// `nohugeiomap`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub nohugeiomap: bool,
    /// MTRRs uniform over the ranges mapped.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub mtrr_uniform: bool,
    /// The script, one operation per string.
    pub script: Vec<String>,
    /// Variants compared.
    pub variants: Vec<String>,
}

/// A checked page-table scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgtableScenario {
    /// Layout.
    pub paging: Paging,
    /// CPUs.
    pub cpus: usize,
    /// Features.
    pub features: Features,
    /// Operations.
    pub ops: Vec<Op>,
    /// Variants.
    pub variants: Vec<FreeVariant>,
}

/// A script line parsed for a machine of `cpus` CPUs, with the lab's
/// limits on an ioremap.
fn check_op(paging: Paging, line: &str, cpus: usize) -> Result<Op, String> {
    let op = Op::parse(line, cpus)?;
    if let Op::Ioremap { size, pa, .. } = op {
        if size > MAX_IOREMAP {
            return Err(format!(
                "ioremap of {}: the lab maps at most 4 GiB at once",
                size_exact(size)
            ));
        }
        let max_pa = paging.max_pa();
        if !matches!(pa.checked_add(size), Some(e) if e <= max_pa) {
            return Err(format!(
                "PA 0x{pa:x} + {} is past the physical address limit 0x{max_pa:x}",
                size_exact(size)
            ));
        }
    }
    Ok(op)
}

/// The CPUs field of a form: a number (the range is checked with the
/// scenario).
pub fn parse_cpus(text: &str) -> Result<usize, InputError> {
    text.trim()
        .parse()
        .map_err(|_| InputError::new("cpus", format!("{}: a number of CPUs", quoted(text))))
}

impl PgtableScenario {
    /// Parse and check JSON text (the field of every problem named, in
    /// the file's terms: [`kexec_common::json`]).
    pub fn from_json(text: &str) -> Result<PgtableScenario, InputError> {
        let f: PgtableFile = json::scenario(text)?;
        PgtableScenario::from_file(&f)
    }

    /// Check a file. Ranges the kernel itself refuses are errors of their
    /// step in the run, not here.
    pub fn from_file(f: &PgtableFile) -> Result<PgtableScenario, InputError> {
        check_version_kind(f.version, &f.kind, "pgtable")?;
        let paging = Paging::from_arch_name(&f.arch).ok_or_else(|| {
            InputError::new(
                "arch",
                format!(
                    "unknown arch {} (valid: x86_64, i386-pae; non-PAE i386 has no huge vmap)",
                    quoted(&f.arch)
                ),
            )
        })?;
        if f.cpus == 0 || f.cpus > MAX_CPUS {
            return Err(InputError::new(
                "cpus",
                format!("{}: 1 to {MAX_CPUS}", f.cpus),
            ));
        }
        if f.script.len() > MAX_OPS {
            return Err(InputError::new(
                "script",
                format!("{} lines; at most {MAX_OPS}", f.script.len()),
            ));
        }
        let ops = f
            .script
            .iter()
            .enumerate()
            .map(|(i, line)| {
                check_op(paging, line, f.cpus)
                    .map_err(|m| InputError::new(format!("script[{i}]"), m))
            })
            .collect::<Result<Vec<Op>, InputError>>()?;
        let names: Vec<&str> = ALL_FREE_VARIANTS.iter().map(|v| v.name()).collect();
        let variants = check_variants(&f.variants, FreeVariant::from_name, &names)?;
        Ok(PgtableScenario {
            paging,
            cpus: f.cpus,
            features: Features {
                gbpages: f.gbpages,
                pse: f.pse,
                nohugeiomap: f.nohugeiomap,
                mtrr_uniform: f.mtrr_uniform,
            },
            ops,
            variants,
        })
    }

    /// The file form.
    pub fn to_file(&self) -> PgtableFile {
        PgtableFile {
            version: SCENARIO_VERSION,
            kind: "pgtable".into(),
            arch: self.paging.arch_name().into(),
            cpus: self.cpus,
            gbpages: self.features.gbpages,
            pse: self.features.pse,
            nohugeiomap: self.features.nohugeiomap,
            mtrr_uniform: self.features.mtrr_uniform,
            script: self.ops.iter().map(Op::line).collect(),
            variants: self.variants.iter().map(|v| v.name().into()).collect(),
        }
    }

    /// Compact JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.to_file()).expect("a file serialises")
    }

    /// Pretty JSON.
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(&self.to_file()).expect("a file serialises")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::presets::{find_preset, presets};
    use crate::report::report_text;
    use crate::run::run;

    #[test]
    fn files_round_trip_and_bad_files_name_the_field() {
        for p in presets() {
            assert_eq!(
                PgtableScenario::from_json(&p.scenario.to_json()).unwrap(),
                p.scenario
            );
            let t = report_text(&p.scenario, &run(&p.scenario));
            for l in t.lines() {
                assert!(l.chars().count() <= 72, "{}: {l}", p.name);
            }
        }
        let good = find_preset("pgtable-stale-pde").unwrap().scenario.to_json();
        let bad = |a: &str, b: &str| {
            let t = good.replacen(a, b, 1);
            assert_ne!(t, good);
            PgtableScenario::from_json(&t).unwrap_err().to_string()
        };
        assert!(bad("\"x86_64\"", "\"i386\"").contains("valid: x86_64, i386-pae"));
        assert!(bad("cpu=1", "cpu=5").contains("script[1]"));
        assert!(bad("iounmap", "unmap").contains("valid: ioremap"));
        assert!(bad("\"cpus\":2", "\"cpus\":0").contains("cpus"));
        assert!(bad("\"no-flush\"", "\"lazy\"").contains("valid: flush"));
        assert!(bad(" 4K", " 8G").contains("at most 4 GiB"));
    }

    #[test]
    fn cpus_text() {
        assert_eq!(parse_cpus(" 4 ").unwrap(), 4);
        let e = parse_cpus("four").unwrap_err();
        assert_eq!(
            (e.field.as_str(), e.message.as_str()),
            ("cpus", "\"four\": a number of CPUs")
        );
    }
}
