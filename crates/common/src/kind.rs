//! [`Kind`]: one kind of scenario, as every front end sees it.
//!
//! The kexec core's kimage scenarios and each lab's implement it; the
//! playground crate keeps the registry of kinds (`Document`, presets of
//! every kind, links), and the CLI runs any lab through one generic path.
//! A kind's crate knows nothing of the others.

use crate::input::InputError;
use crate::preset::Preset;
use std::fmt::Debug;

/// A kind of scenario: its file format, run, reports, presets and exit
/// status.
pub trait Kind {
    /// The `"kind"` in files and links ("kimage", "placement", ...).
    const KIND: &'static str;
    /// The `kexec-sim` subcommand that runs it.
    const COMMAND: &'static str;
    /// What its scenarios are called: "a {NOUN} scenario" ("kimage",
    /// "placement", "page-table"); a lab's listings say "{NOUN} lab".
    const NOUN: &'static str;
    /// A checked scenario.
    type Scenario: Clone + PartialEq + Debug;
    /// What a run gives.
    type Run;

    /// Parse and check JSON text (all input errors, the field named).
    fn from_json(text: &str) -> Result<Self::Scenario, InputError>;
    /// Compact JSON of the canonical file form.
    fn to_json(sc: &Self::Scenario) -> String;
    /// Pretty JSON of the canonical file form.
    fn to_json_pretty(sc: &Self::Scenario) -> String;
    /// The presets, in the order lists show them.
    fn presets() -> Vec<Preset<Self::Scenario>>;
    /// One line on a scenario for preset lists: its arch and the variants
    /// compared ("x86_64; top-down vs reverse-walk").
    fn describe(sc: &Self::Scenario) -> String;
    /// Run every variant the scenario names, with every check.
    fn run(sc: &Self::Scenario) -> Self::Run;
    /// The 72-column report for email.
    fn report_text(sc: &Self::Scenario, run: &Self::Run) -> String;
    /// The machine-readable report.
    fn report_json(sc: &Self::Scenario, run: &Self::Run) -> serde_json::Value;
    /// The exit status of `kexec-sim` for this run (0 when all went well).
    fn exit_status(run: &Self::Run) -> u8;
}
