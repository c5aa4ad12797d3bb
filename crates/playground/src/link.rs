//! Share links of every kind: [`kexec_common::codec`] applied to
//! [`Document`]s, presets of every kind by name.

use crate::document::Document;
use crate::presets;
use kexec_common::codec::{self, link_error, Source};
use kexec_common::input::{quoted, InputError};

pub use kexec_common::codec::DEFAULT_BASE;

/// The fragment (without `#`) holding a scenario of any kind.
pub fn encode_document_fragment(d: &Document) -> String {
    codec::fragment(&d.to_json())
}

/// The full share link of a document on `base`.
pub fn encode_document(d: &Document, base: &str) -> String {
    codec::link(base, &encode_document_fragment(d))
}

/// The kind of scenario a link holds (one of [`crate::KINDS`]), found
/// without parsing the scenario.
pub fn kind(link: &str) -> Result<&'static str, InputError> {
    match codec::source(link)? {
        Source::Preset(name) => presets::kind_of(&name).ok_or_else(|| no_preset(&name)),
        Source::Json(text) => crate::document::kind_of_json(&text),
    }
}

fn no_preset(name: &str) -> InputError {
    link_error(format!(
        "no preset {} (valid: {})",
        quoted(name),
        presets::all_names().join(", ")
    ))
}

/// Decode a link, a fragment (`#s=…` or `s=…`) or a `?preset=NAME` link,
/// of any scenario kind.
pub fn decode_document(link: &str) -> Result<Document, InputError> {
    match codec::source(link)? {
        Source::Preset(name) => presets::find_document(&name).ok_or_else(|| no_preset(&name)),
        Source::Json(text) => Document::from_json(&text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kexec_common::Kind;

    fn round_trip<K: Kind>(wrap: impl Fn(K::Scenario) -> Document, word: &str) {
        for p in K::presets() {
            let d = wrap(p.scenario.clone());
            let f = format!("#{}", encode_document_fragment(&d));
            assert_eq!(decode_document(&f).unwrap(), d);
            assert_eq!(kind(&f).unwrap(), K::KIND);
            if K::KIND != "kimage" {
                let e = kexec_core::link::decode(&f).unwrap_err().message;
                assert!(e.contains(word), "{e}");
            }
            let q = format!("https://x.example/?preset={}", p.name);
            assert_eq!(decode_document(&q).unwrap(), d);
            assert_eq!(kind(&q).unwrap(), K::KIND);
        }
    }

    #[test]
    fn every_kind_round_trips_and_kimage_decode_refuses_the_labs() {
        round_trip::<kexec_core::KimageKind>(Document::Kimage, "");
        round_trip::<kexec_lab_placement::Placement>(Document::Placement, "placement");
        round_trip::<kexec_lab_hotplug::Hotplug>(Document::Hotplug, "hotplug");
        round_trip::<kexec_lab_pgtable::Pgtable>(Document::Pgtable, "pgtable");
    }

    #[test]
    fn unknown_presets_list_every_kind() {
        let e = decode_document("?preset=nope").unwrap_err().message;
        assert!(e.contains("swap-path") && e.contains("pgtable-pae"), "{e}");
    }
}
