//! The hotplug lab (seed 002): hot-added memory whose memmap (struct page
//! array) is carved from the added range, three memmap strategies, and
//! their teardown struct page by struct page.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod lab;
pub mod vmem_altmap;

pub use lab::{presets, HotplugLab, HotplugScenario};

use kexec_common::{InputError, Kind, Preset};

/// The hotplug lab as a scenario kind (`"kind": "hotplug"`).
pub struct Hotplug;

impl Kind for Hotplug {
    const KIND: &'static str = "hotplug";
    const COMMAND: &'static str = "hotplug";
    const NOUN: &'static str = "hotplug";
    type Scenario = HotplugScenario;
    type Run = HotplugLab;

    fn from_json(text: &str) -> Result<HotplugScenario, InputError> {
        HotplugScenario::from_json(text)
    }
    fn to_json(sc: &HotplugScenario) -> String {
        sc.to_json()
    }
    fn to_json_pretty(sc: &HotplugScenario) -> String {
        sc.to_json_pretty()
    }
    fn presets() -> Vec<Preset<HotplugScenario>> {
        lab::presets()
    }
    fn describe(sc: &HotplugScenario) -> String {
        let vs: Vec<_> = sc.variants.iter().map(|v| v.name()).collect();
        format!("x86_64; {}", vs.join(" vs "))
    }
    fn run(sc: &HotplugScenario) -> HotplugLab {
        lab::run(sc)
    }
    fn report_text(sc: &HotplugScenario, run: &HotplugLab) -> String {
        lab::report_text(sc, run)
    }
    fn report_json(sc: &HotplugScenario, run: &HotplugLab) -> serde_json::Value {
        lab::report_json(sc, run)
    }
    fn exit_status(run: &HotplugLab) -> u8 {
        run.runs.iter().map(|r| r.exit_status()).max().unwrap_or(0) as u8
    }
}
