//! Kimage scenarios as a [`Kind`]: the file format of
//! [`crate::scenario`], every variant run with the relocation and unload
//! checks, the reports of [`crate::report`].

use crate::presets;
use crate::report;
use crate::run::{self, RunOptions, VariantRun};
use crate::scenario::Scenario;
use kexec_common::{InputError, Kind, Preset};

/// The kexec core's own scenario kind (`"kind": "kimage"`, or no kind).
pub struct KimageKind;

impl Kind for KimageKind {
    const KIND: &'static str = "kimage";
    const COMMAND: &'static str = "run";
    const NOUN: &'static str = "kimage";
    type Scenario = Scenario;
    type Run = Vec<VariantRun>;

    fn from_json(text: &str) -> Result<Scenario, InputError> {
        Scenario::from_json(text)
    }
    fn to_json(sc: &Scenario) -> String {
        sc.to_json()
    }
    fn to_json_pretty(sc: &Scenario) -> String {
        sc.to_json_pretty()
    }
    fn presets() -> Vec<Preset<Scenario>> {
        presets::all()
    }
    fn describe(sc: &Scenario) -> String {
        let vs: Vec<_> = sc.variants.iter().map(|v| v.name()).collect();
        format!("{}; {}", sc.arch.name(), vs.join(" vs "))
    }
    /// Every variant, with the relocation and unload checks.
    fn run(sc: &Scenario) -> Vec<VariantRun> {
        run::run(
            sc,
            RunOptions {
                relocate: true,
                unload: true,
                trace: false,
                first_step: false,
            },
        )
    }
    fn report_text(sc: &Scenario, runs: &Vec<VariantRun>) -> String {
        report::text(sc, runs)
    }
    fn report_json(sc: &Scenario, runs: &Vec<VariantRun>) -> serde_json::Value {
        report::json(sc, runs)
    }
    /// The first variant's status that is not 0.
    fn exit_status(runs: &Vec<VariantRun>) -> u8 {
        run::exit_status(runs)
    }
}
