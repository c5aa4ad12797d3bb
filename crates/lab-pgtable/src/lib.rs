//! The page-table lab (seed 003): huge ioremap over a range whose old
//! page-table pages must be freed, the ways of freeing them, and what a
//! CPU's paging-structure caches do without the flush.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod free;
pub mod ioremap;
pub mod lab;
pub mod pgtable;
pub mod tlb;

pub use lab::{presets, PgtableRun, PgtableScenario};

use kexec_common::{InputError, Kind, Preset};

/// The page-table lab as a scenario kind (`"kind": "pgtable"`).
pub struct Pgtable;

impl Kind for Pgtable {
    const KIND: &'static str = "pgtable";
    const COMMAND: &'static str = "pgtable";
    const NOUN: &'static str = "page-table";
    type Scenario = PgtableScenario;
    type Run = Vec<PgtableRun>;

    fn from_json(text: &str) -> Result<PgtableScenario, InputError> {
        PgtableScenario::from_json(text)
    }
    fn to_json(sc: &PgtableScenario) -> String {
        sc.to_json()
    }
    fn to_json_pretty(sc: &PgtableScenario) -> String {
        sc.to_json_pretty()
    }
    fn presets() -> Vec<Preset<PgtableScenario>> {
        lab::presets()
    }
    fn describe(sc: &PgtableScenario) -> String {
        let vs: Vec<_> = sc.variants.iter().map(|v| v.name()).collect();
        let arch = match sc.paging {
            pgtable::Paging::FourLevel => "x86_64",
            pgtable::Paging::Pae => "i386-pae",
        };
        format!("{arch}; {}", vs.join(" vs "))
    }
    fn run(sc: &PgtableScenario) -> Vec<PgtableRun> {
        lab::run(sc)
    }
    fn report_text(sc: &PgtableScenario, run: &Vec<PgtableRun>) -> String {
        lab::report_text(sc, run)
    }
    fn report_json(sc: &PgtableScenario, run: &Vec<PgtableRun>) -> serde_json::Value {
        lab::report_json(sc, run)
    }
    fn exit_status(run: &Vec<PgtableRun>) -> u8 {
        run.iter().map(|r| r.exit_status()).max().unwrap_or(0) as u8
    }
}
