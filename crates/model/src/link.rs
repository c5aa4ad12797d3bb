//! Share links: the scenario in the URL fragment.
//!
//! `#s=1.<data>`: `1` is the codec version; `<data>` is the compact
//! canonical scenario JSON, raw-deflated and base64url-encoded without
//! padding. Nothing is uploaded anywhere. `?preset=NAME` links name a preset.
//! Decoding caps every size (link length, inflated size) so a hostile link
//! is an error, never a hang or a panic. The web app uses this same code.

use crate::presets;
use crate::scenario::{Document, InputError, Scenario};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use flate2::Compression;
use std::io::{Read, Write};

/// Where `kexec-sim link` points by default: `cargo xtask serve`.
pub const DEFAULT_BASE: &str = "http://127.0.0.1:8080/";
/// Longest link decoded.
pub const MAX_LINK_BYTES: usize = 4 << 20;
/// Largest inflated scenario.
pub const MAX_INFLATED_BYTES: usize = 32 << 20;

fn err(message: impl Into<String>) -> InputError {
    InputError {
        field: "link".into(),
        message: message.into(),
    }
}

/// The fragment (without `#`) holding a scenario.
pub fn encode_fragment(sc: &Scenario) -> String {
    fragment_of_json(&sc.to_json())
}

/// The fragment (without `#`) holding a scenario of any kind.
pub fn encode_document_fragment(d: &Document) -> String {
    fragment_of_json(&d.to_json())
}

fn fragment_of_json(json: &str) -> String {
    let mut enc = DeflateEncoder::new(Vec::new(), Compression::best());
    enc.write_all(json.as_bytes()).expect("writing to a Vec");
    let bytes = enc.finish().expect("deflating to a Vec");
    format!("s=1.{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// The full share link on `base`.
pub fn encode(sc: &Scenario, base: &str) -> String {
    let base = base.split('#').next().unwrap_or(base);
    format!("{base}#{}", encode_fragment(sc))
}

/// What a link holds, before any scenario in it is parsed.
enum Source {
    /// A fragment's scenario JSON text.
    Json(String),
    /// A `?preset=` name.
    Preset(String),
}

fn source(link: &str) -> Result<Source, InputError> {
    if link.len() > MAX_LINK_BYTES {
        return Err(err(format!(
            "{} bytes; links of at most {MAX_LINK_BYTES} bytes are decoded",
            link.len()
        )));
    }
    let link = link.trim();
    let (before, fragment) = match link.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None if link.starts_with("s=") => ("", Some(link)),
        None => (link, None),
    };
    if let Some(f) = fragment.filter(|f| !f.is_empty()) {
        let data = f
            .split('&')
            .find_map(|kv| kv.strip_prefix("s="))
            .ok_or_else(|| err("the fragment holds no s= scenario"))?;
        return inflate(data).map(Source::Json);
    }
    if let Some(q) = before.split_once('?').map(|x| x.1) {
        if let Some(name) = q.split('&').find_map(|kv| kv.strip_prefix("preset=")) {
            return Ok(Source::Preset(name.to_string()));
        }
    }
    Err(err("no #s= scenario and no ?preset= in the link"))
}

fn no_preset(name: &str) -> InputError {
    err(format!(
        "no preset \"{name}\" (valid: {})",
        presets::all_names().join(", ")
    ))
}

/// The kind of scenario a link holds (one of [`crate::scenario::KINDS`]),
/// found without parsing the scenario.
pub fn kind(link: &str) -> Result<&'static str, InputError> {
    match source(link)? {
        Source::Preset(name) => presets::kind_of(&name).ok_or_else(|| no_preset(&name)),
        Source::Json(text) => crate::scenario::kind_of_json(&text),
    }
}

/// Decode a link holding a kimage scenario (other kinds are refused without
/// being parsed).
pub fn decode(link: &str) -> Result<Scenario, InputError> {
    let (k, src) = match source(link)? {
        Source::Preset(name) => match presets::find(&name) {
            Some(p) => return Ok(p.scenario),
            None => (
                presets::kind_of(&name).ok_or_else(|| no_preset(&name))?,
                None,
            ),
        },
        Source::Json(text) => (crate::scenario::kind_of_json(&text)?, Some(text)),
    };
    match (k, src) {
        ("kimage", Some(text)) => Scenario::from_json(&text),
        ("placement", _) => Err(err(
            "the link holds a placement scenario (the page's Placement view, or kexec-sim place)",
        )),
        ("hotplug", _) => Err(err(
            "the link holds a hotplug scenario (the page's Hotplug view, or kexec-sim hotplug)",
        )),
        _ => Err(err(
            "the link holds a page-table scenario (the page's Page tables view, or kexec-sim pgtable)",
        )),
    }
}

/// Decode a link, a fragment (`#s=…` or `s=…`) or a `?preset=NAME` link,
/// of any scenario kind.
pub fn decode_document(link: &str) -> Result<Document, InputError> {
    match source(link)? {
        Source::Preset(name) => presets::find_document(&name).ok_or_else(|| no_preset(&name)),
        Source::Json(text) => Document::from_json(&text),
    }
}

fn inflate(data: &str) -> Result<String, InputError> {
    let (version, payload) = data
        .split_once('.')
        .ok_or_else(|| err("no codec version before the data"))?;
    if version != "1" {
        return Err(err(format!(
            "codec version \"{version}\" is not one this build reads (it reads 1)"
        )));
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|e| err(format!("the data is not base64url: {e}")))?;
    let mut out = Vec::new();
    DeflateDecoder::new(&bytes[..])
        .take(MAX_INFLATED_BYTES as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| err(format!("the data does not inflate: {e}")))?;
    if out.len() > MAX_INFLATED_BYTES {
        return Err(err(format!(
            "the scenario inflates to more than {MAX_INFLATED_BYTES} bytes"
        )));
    }
    String::from_utf8(out).map_err(|_| err("the scenario is not UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_every_preset() {
        for p in presets::all() {
            let link = encode(&p.scenario, DEFAULT_BASE);
            assert!(link.starts_with("http://127.0.0.1:8080/#s=1."));
            assert_eq!(decode(&link).unwrap(), p.scenario, "{}", p.name);
            assert_eq!(
                decode(&format!("#{}", encode_fragment(&p.scenario))).unwrap(),
                p.scenario
            );
        }
    }

    #[test]
    fn placement_links_round_trip_and_kimage_decode_refuses_them() {
        for p in crate::placement_lab::presets() {
            let d = Document::Placement(p.scenario.clone());
            let f = format!("#{}", encode_document_fragment(&d));
            assert_eq!(decode_document(&f).unwrap(), d);
            assert!(decode(&f).unwrap_err().message.contains("placement"));
            let q = format!("https://x.example/?preset={}", p.name);
            assert_eq!(decode_document(&q).unwrap(), d);
        }
    }

    #[test]
    fn hotplug_links_round_trip_and_kimage_decode_refuses_them() {
        for p in crate::hotplug::presets() {
            let d = Document::Hotplug(p.scenario.clone());
            let f = format!("#{}", encode_document_fragment(&d));
            assert_eq!(decode_document(&f).unwrap(), d);
            assert!(decode(&f).unwrap_err().message.contains("hotplug"));
            let q = format!("https://x.example/?preset={}", p.name);
            assert_eq!(decode_document(&q).unwrap(), d);
        }
    }

    #[test]
    fn pgtable_links_round_trip_and_kimage_decode_refuses_them() {
        for p in crate::pgtable_lab::presets() {
            let d = Document::Pgtable(p.scenario.clone());
            let f = format!("#{}", encode_document_fragment(&d));
            assert_eq!(decode_document(&f).unwrap(), d);
            assert!(decode(&f).unwrap_err().message.contains("page-table"));
            let q = format!("https://x.example/?preset={}", p.name);
            assert_eq!(decode_document(&q).unwrap(), d);
        }
    }

    #[test]
    fn preset_links() {
        let s = decode("https://x.example/play/?preset=rfc-i386-pae").unwrap();
        assert_eq!(s, presets::find("rfc-i386-pae").unwrap().scenario);
        assert!(decode("?preset=nope")
            .unwrap_err()
            .message
            .contains("valid:"));
    }

    #[test]
    fn hostile_links_are_errors() {
        assert!(decode("#s=2.AAAA")
            .unwrap_err()
            .message
            .contains("codec version"));
        assert!(decode("#s=1.!!!").unwrap_err().message.contains("base64"));
        assert!(decode("#s=1.AAAA").is_err());
        assert!(decode("#x=1").is_err());
        let huge = format!("#s=1.{}", "A".repeat(MAX_LINK_BYTES));
        assert!(decode(&huge).unwrap_err().message.contains("at most"));
        // A deflate bomb: 64 MiB of spaces.
        let mut enc = DeflateEncoder::new(Vec::new(), Compression::best());
        enc.write_all(&vec![b' '; 64 << 20]).unwrap();
        let bomb = format!("#s=1.{}", URL_SAFE_NO_PAD.encode(enc.finish().unwrap()));
        assert!(decode(&bomb)
            .unwrap_err()
            .message
            .contains("inflates to more"));
    }
}
