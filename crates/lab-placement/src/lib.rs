//! The placement lab (seed 004): where kexec_file_load puts the new
//! kernel on a machine with hot-pluggable memory, and what that does to
//! hot-remove; kdump's boot-time crashkernel reservation beside it.
//!
//! * [`scenario`]: the file format and its checks;
//! * [`machine`]: System RAM resources, memblock, zones and the memory
//!   block size the scenario's machine has;
//! * [`memblock`] and [`crashkernel`]: the boot-time reservation
//!   (mm/memblock.c, arch/x86/kernel/setup.c `reserve_crashkernel`);
//! * [`placement`]: kernel/kexec_file.c `kexec_add_buffer` and its hole
//!   search, with the buffers of arch/x86/kernel/kexec-bzimage64.c;
//! * [`variant`]: the placements compared, one trait, one file each;
//! * [`check`]: what kexec_file_load does once every buffer is placed,
//!   `sanity_check_segment_list` through [`kexec_core::sanity`], and the
//!   error a load ends with ([`LoadError`]);
//! * [`run`](mod@run): reserve, place with each variant, judge every
//!   memory block (through [`kexec_core::memory_block`]);
//! * [`to_kimage`](mod@to_kimage): a normal load as a kimage scenario of
//!   the kexec core;
//! * [`report`], [`presets`](mod@presets), [`grammar`] (the text of the
//!   page's form), [`source`] (where its kernel functions are defined in
//!   6.1, for the links).
//!
//! The lab uses the kexec core; the core does not know the lab.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod check;
pub mod crashkernel;
pub mod grammar;
pub mod machine;
pub mod memblock;
pub mod placement;
pub mod presets;
pub mod report;
pub mod run;
pub mod scenario;
pub mod source;
pub mod to_kimage;
pub mod variant;

pub use check::LoadError;
pub use machine::Totalram;
pub use presets::{find_preset, presets, PlacementPreset};
pub use report::{report_json, report_text};
pub use run::{run, PlacementRun, VariantPlacement};
pub use scenario::{
    BuffersSpec, ExtraSpec, Mode, PlacementFile, PlacementScenario, Ram, RamSpec, ReservedSpec,
};
pub use to_kimage::{to_kimage, try_to_kimage, NoKimage};
pub use variant::{HoleSearch, PlaceVariant, ALL_PLACE_VARIANTS};

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
        presets::presets()
    }
    fn describe(sc: &PlacementScenario) -> String {
        let vs: Vec<_> = sc.variants.iter().map(|v| v.name()).collect();
        format!("x86_64; {}", vs.join(" vs "))
    }
    fn run(sc: &PlacementScenario) -> PlacementRun {
        run::run(sc)
    }
    fn report_text(sc: &PlacementScenario, run: &PlacementRun) -> String {
        report::report_text(sc, run)
    }
    fn report_json(sc: &PlacementScenario, run: &PlacementRun) -> serde_json::Value {
        report::report_json(sc, run)
    }
    fn exit_status(run: &PlacementRun) -> u8 {
        if run.results.iter().any(|v| v.error.is_some()) {
            2
        } else {
            0
        }
    }
}
