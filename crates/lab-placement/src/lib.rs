//! The placement lab (seed 004): where kexec_file_load puts the new
//! kernel on a machine with hot-pluggable memory, and what that does to
//! hot-remove; kdump's boot-time crashkernel reservation beside it.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod crashkernel;
pub mod lab;
pub mod memblock;
pub mod placement;

pub use lab::{
    presets, to_kimage, PlaceVariant, PlacementRun, PlacementScenario, ALL_PLACE_VARIANTS,
};

use kexec_common::{InputError, Kind, Preset};

/// The placement lab as a scenario kind (`"kind": "placement"`).
pub struct Placement;

impl Kind for Placement {
    const KIND: &'static str = "placement";
    const COMMAND: &'static str = "place";
    const NOUN: &'static str = "placement";
    type Scenario = PlacementScenario;
    type Run = PlacementRun;

    fn from_json(text: &str) -> Result<PlacementScenario, InputError> {
        PlacementScenario::from_json(text)
    }
    fn to_json(sc: &PlacementScenario) -> String {
        sc.to_json()
    }
    fn to_json_pretty(sc: &PlacementScenario) -> String {
        sc.to_json_pretty()
    }
    fn presets() -> Vec<Preset<PlacementScenario>> {
        lab::presets()
    }
    fn describe(sc: &PlacementScenario) -> String {
        let vs: Vec<_> = sc.variants.iter().map(|v| v.name()).collect();
        format!("x86_64; {}", vs.join(" vs "))
    }
    fn run(sc: &PlacementScenario) -> PlacementRun {
        lab::run(sc)
    }
    fn report_text(sc: &PlacementScenario, run: &PlacementRun) -> String {
        lab::report_text(sc, run)
    }
    fn report_json(sc: &PlacementScenario, run: &PlacementRun) -> serde_json::Value {
        lab::report_json(sc, run)
    }
    fn exit_status(run: &PlacementRun) -> u8 {
        if run.results.iter().any(|v| v.error.is_some()) {
            2
        } else {
            0
        }
    }
}
