//! [`Document`]: a scenario of any kind, told apart by its `"kind"`.

use kexec_common::codec;
use kexec_common::input::InputError;
use kexec_common::Kind;
use kexec_core::scenario::Scenario;
use kexec_core::KimageKind;
use kexec_lab_hotplug::{Hotplug, HotplugScenario};
use kexec_lab_pgtable::{Pgtable, PgtableScenario};
use kexec_lab_placement::{Placement, PlacementScenario};

/// Any scenario the versioned format holds, told apart by `"kind"`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)]
pub enum Document {
    /// kind "kimage" (or no kind: every version-1 file before kinds).
    Kimage(Scenario),
    /// kind "placement": the placement lab.
    Placement(PlacementScenario),
    /// kind "hotplug": the hotplug (memmap_on_memory) lab.
    Hotplug(HotplugScenario),
    /// kind "pgtable": the page-table (huge ioremap) lab.
    Pgtable(PgtableScenario),
}

/// The kinds a file may name; the first is what a file without `"kind"`
/// is.
pub const KINDS: [&str; 4] = [
    KimageKind::KIND,
    Placement::KIND,
    Hotplug::KIND,
    Pgtable::KIND,
];

/// The kind named by scenario JSON text (no `kind`: "kimage"), without
/// parsing the scenario.
pub fn kind_of_json(text: &str) -> Result<&'static str, InputError> {
    codec::kind_of_json(text, &KINDS)
}

/// `dispatch!(doc, K, sc => expr)`: `expr` with `K` the document's
/// [`Kind`] and `sc` its scenario.
macro_rules! dispatch {
    ($doc:expr, $k:ident, $sc:pat => $body:expr) => {
        match $doc {
            Document::Kimage($sc) => {
                type $k = KimageKind;
                $body
            }
            Document::Placement($sc) => {
                type $k = Placement;
                $body
            }
            Document::Hotplug($sc) => {
                type $k = Hotplug;
                $body
            }
            Document::Pgtable($sc) => {
                type $k = Pgtable;
                $body
            }
        }
    };
}

impl Document {
    /// Parse and check JSON text of any kind: its `"kind"` first (the
    /// kinds named when it is none of them), then the kind's own reading,
    /// which names the field of every problem ([`kexec_common::json`]).
    pub fn from_json(text: &str) -> Result<Document, InputError> {
        match kind_of_json(text)? {
            Placement::KIND => Placement::from_json(text).map(Document::Placement),
            Hotplug::KIND => Hotplug::from_json(text).map(Document::Hotplug),
            Pgtable::KIND => Pgtable::from_json(text).map(Document::Pgtable),
            _ => Scenario::from_json(text).map(Document::Kimage),
        }
    }

    /// The document's kind.
    pub fn kind(&self) -> &'static str {
        dispatch!(self, K, _ => K::KIND)
    }

    /// What its scenarios are called ("kimage", "page-table", ...).
    pub fn noun(&self) -> &'static str {
        dispatch!(self, K, _ => K::NOUN)
    }

    /// The `kexec-sim` subcommand that runs it.
    pub fn command(&self) -> &'static str {
        dispatch!(self, K, _ => K::COMMAND)
    }

    /// Compact JSON of the file form.
    pub fn to_json(&self) -> String {
        dispatch!(self, K, sc => K::to_json(sc))
    }

    /// Pretty JSON of the file form.
    pub fn to_json_pretty(&self) -> String {
        dispatch!(self, K, sc => K::to_json_pretty(sc))
    }

    /// Run it as its kind does by default (kimage: every variant with the
    /// relocation and unload checks), and give the text report and the
    /// exit status.
    pub fn run_text(&self) -> (String, u8) {
        dispatch!(self, K, sc => {
            let r = K::run(sc);
            (K::report_text(sc, &r), K::exit_status(&r))
        })
    }
}
