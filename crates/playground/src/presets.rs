//! Presets of every kind, by name.

use crate::document::Document;
use kexec_common::{Kind, Preset};
use kexec_core::KimageKind;
use kexec_lab_hotplug::Hotplug;
use kexec_lab_pgtable::Pgtable;
use kexec_lab_placement::Placement;

/// One kind's presets, for listings: the kind's heading and command, and
/// per preset its name, title, one line on the scenario and what it shows.
pub struct KindPresets {
    /// The kind ("kimage", "placement", ...).
    pub kind: &'static str,
    /// What its scenarios are called ("placement", "page-table").
    pub noun: &'static str,
    /// The `kexec-sim` subcommand that runs it.
    pub command: &'static str,
    /// (name, title, describe, expect) per preset.
    pub presets: Vec<(&'static str, &'static str, String, &'static str)>,
}

fn listing<K: Kind>() -> KindPresets {
    KindPresets {
        kind: K::KIND,
        noun: K::NOUN,
        command: K::COMMAND,
        presets: K::presets()
            .into_iter()
            .map(|p: Preset<K::Scenario>| (p.name, p.title, K::describe(&p.scenario), p.expect))
            .collect(),
    }
}

/// Every kind's presets, the kimage ones first.
pub fn by_kind() -> Vec<KindPresets> {
    vec![
        listing::<KimageKind>(),
        listing::<Placement>(),
        listing::<Hotplug>(),
        listing::<Pgtable>(),
    ]
}

fn find<K: Kind>(name: &str, wrap: impl Fn(K::Scenario) -> Document) -> Option<Document> {
    kexec_common::preset::find(K::presets(), name).map(|p| wrap(p.scenario))
}

/// The preset called `name`, of any scenario kind.
pub fn find_document(name: &str) -> Option<Document> {
    find::<KimageKind>(name, Document::Kimage)
        .or_else(|| find::<Placement>(name, Document::Placement))
        .or_else(|| find::<Hotplug>(name, Document::Hotplug))
        .or_else(|| find::<Pgtable>(name, Document::Pgtable))
}

/// The kind of the preset called `name`, if there is one.
pub fn kind_of(name: &str) -> Option<&'static str> {
    find_document(name).map(|d| d.kind())
}

/// Every preset's name, of every kind.
pub fn all_names() -> Vec<&'static str> {
    by_kind()
        .into_iter()
        .flat_map(|k| k.presets.into_iter().map(|p| p.0))
        .collect()
}
