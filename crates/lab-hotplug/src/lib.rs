//! The hotplug lab (seed 002): hot-added memory whose memmap (struct page
//! array) is carved from the added range, three memmap strategies, and
//! their teardown struct page by struct page.
//!
//! Memory hot-add on an x86_64 machine with SPARSEMEM_VMEMMAP, and where
//! the memmap of the added sections comes from: mm/memory_hotplug.c,
//! mm/sparse.c, mm/sparse-vmemmap.c, arch/x86/mm/init_64.c,
//! drivers/base/memory.c and drivers/acpi/acpi_memhotplug.c as of 6.1, and
//! Oscar Salvador's 2018 RFC ("allocate memmap from the added memory range
//! for sparse-vmemmap"). The modules:
//!
//! * [`scenario`]: the file format and its checks;
//! * [`grammar`]: the one-line text form of hot-add and removal requests
//!   (the web view's form);
//! * [`section`]: section geometry, the vmemmap layout, `pfn_to_page`, and
//!   `mhp_supports_memmap_on_memory`'s conditions;
//! * [`vmem_altmap`]: `struct vmem_altmap`;
//! * [`strategy`]: the [`MemmapStrategy`] trait and one file per strategy
//!   (ordinary memory, the 2018 RFC, 6.1's memmap_on_memory);
//! * [`machine`]: the simulated machine's add, online and remove paths;
//! * [`run`](mod@run): a run of every strategy and its results;
//! * [`report`]: text and JSON reports; [`presets`](mod@presets): the lab's presets;
//! * [`source`]: where its kernel functions are defined in 6.1 (the links).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod grammar;
pub mod machine;
pub mod presets;
pub mod report;
pub mod run;
pub mod scenario;
pub mod section;
pub mod source;
pub mod strategy;
pub mod vmem_altmap;

pub use presets::{find_preset, presets, HotplugPreset};
pub use report::{report_json, report_text};
pub use run::{
    run, run_variant, Backing, Counters, Fault, HotplugLab, HotplugRun, OpResult, Read,
    SectionView, TeardownStep,
};
pub use scenario::{
    Add, AddSpec, HotplugFile, HotplugScenario, Online, RemoveSpec, Teardown, MAX_PHYS, MAX_RANGES,
    MAX_REQUESTS,
};
pub use section::{
    memmap_on_memory_rules, mhp_supports_memmap_on_memory, page_to_pfn, pfn_to_page, Rule,
    MEMMAP_PAGES_PER_SECTION, PAGEBLOCK_NR_PAGES, PAGES_PER_SECTION, SECTION_SIZE,
    SECTION_SIZE_BITS, STRUCT_PAGE_SIZE, VMEMMAP_BASE,
};
pub use strategy::rfc_2018::RfcHead;
pub use strategy::{MemmapStrategy, MemmapVariant, ALL_MEMMAP_VARIANTS};
pub use vmem_altmap::VmemAltmap;

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
        presets::presets()
    }
    fn describe(sc: &HotplugScenario) -> String {
        let vs: Vec<_> = sc.variants.iter().map(|v| v.name()).collect();
        format!("x86_64; {}", vs.join(" vs "))
    }
    fn run(sc: &HotplugScenario) -> HotplugLab {
        run::run(sc)
    }
    fn report_text(sc: &HotplugScenario, run: &HotplugLab) -> String {
        report::report_text(sc, run)
    }
    fn report_json(sc: &HotplugScenario, run: &HotplugLab) -> serde_json::Value {
        report::report_json(sc, run)
    }
    fn exit_status(run: &HotplugLab) -> u8 {
        run.runs.iter().map(|r| r.exit_status()).max().unwrap_or(0) as u8
    }
}
