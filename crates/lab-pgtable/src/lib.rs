//! The page-table lab (seed 003): huge ioremap over a range whose old
//! page-table pages must be freed, the ways of freeing them, and what a
//! CPU's paging-structure caches do without the flush.
//!
//! The model: [`pgtable`] (page tables, their pages, per-CPU caches),
//! [`ioremap`] (mm/vmalloc.c's vmap and vunmap), [`free`] (one file per
//! way of freeing the old tables, behind the [`free::FreeHooks`] trait),
//! [`tlb`] (flush_tlb_kernel_range). The lab: [`script`] (the operations
//! and their grammar), [`scenario`] (the file and its checks),
//! [`run`](mod@run) (every variant, step by step), [`probe`](mod@probe)
//! (each CPU's translation of a VA), [`report`] (text and JSON),
//! [`presets`](mod@presets), [`source`] (where its kernel functions are
//! defined in 6.1, for the links). The kind is [`Pgtable`]. The crate does not
//! use the kexec core.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod free;
pub mod ioremap;
pub mod pgtable;
pub mod presets;
pub mod probe;
pub mod report;
pub mod run;
pub mod scenario;
pub mod script;
pub mod source;
pub mod tlb;

pub use free::{FreeHooks, FreeVariant, ALL_FREE_VARIANTS};
pub use ioremap::Features;
pub use pgtable::Paging;
pub use presets::{find_preset, presets, PgtablePreset, STALE_PDE_SCRIPT};
pub use probe::{default_probe, parse_probe, probe, probe_text, truth_text};
pub use report::{access_text, read_text, report_json, report_text};
pub use run::{opening_step, run, run_variant, Access, Outcome, PgtableRun, Snapshot, Step};
pub use scenario::{parse_cpus, PgtableFile, PgtableScenario};
pub use script::{script_lines, script_text, Op};

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
        presets::presets()
    }
    fn describe(sc: &PgtableScenario) -> String {
        let vs: Vec<_> = sc.variants.iter().map(|v| v.name()).collect();
        format!("{}; {}", sc.paging.arch_name(), vs.join(" vs "))
    }
    fn run(sc: &PgtableScenario) -> Vec<PgtableRun> {
        run::run(sc)
    }
    fn report_text(sc: &PgtableScenario, run: &Vec<PgtableRun>) -> String {
        report::report_text(sc, run)
    }
    fn report_json(sc: &PgtableScenario, run: &Vec<PgtableRun>) -> serde_json::Value {
        report::report_json(sc, run)
    }
    fn exit_status(run: &Vec<PgtableRun>) -> u8 {
        run.iter().map(|r| r.exit_status()).max().unwrap_or(0) as u8
    }
}
