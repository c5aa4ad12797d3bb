//! The share-link codec: a scenario of any kind in the URL fragment.
//!
//! `#s=1.<data>`: `1` is the codec version; `<data>` is the compact
//! canonical scenario JSON, raw-deflated and base64url-encoded without
//! padding. Nothing is uploaded anywhere. `?preset=NAME` links name a
//! preset. Decoding caps every size (link length, inflated size) so a
//! hostile link is an error, never a hang or a panic. Which kinds exist
//! is not this module's business: the playground's registry (or a kind's
//! own crate) parses what [`source`] finds.

use crate::input::{quoted, shown, InputError};
use crate::text::size;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use miniz_oxide::deflate::compress_to_vec;
use miniz_oxide::inflate::{decompress_to_vec_with_limit, TINFLStatus};

/// Where `kexec-sim link` points by default: `cargo xtask serve`.
pub const DEFAULT_BASE: &str = "http://127.0.0.1:8080/";
/// Longest link decoded.
pub const MAX_LINK_BYTES: usize = 4 << 20;
/// Largest inflated scenario.
pub const MAX_INFLATED_BYTES: usize = 32 << 20;

/// An error about the link itself.
pub fn link_error(message: impl Into<String>) -> InputError {
    InputError::new("link", message)
}

/// Deflate's best compression (zlib's level 9).
const BEST: u8 = 9;

/// The fragment (without `#`) holding scenario JSON text. miniz_oxide is
/// called directly (flate2's streams and `std::io` cost the page's first
/// load 4 KiB); the output is the same raw deflate stream.
pub fn fragment(json: &str) -> String {
    fragment_of_deflated(&compress_to_vec(json.as_bytes(), BEST))
}

/// The fragment holding scenario JSON text that was raw-deflated
/// elsewhere: the page's own module deflates with the browser's
/// `CompressionStream("deflate-raw")` (a compressor in wasm would cost
/// its first load 7.5 KiB). Any deflate stream of the same text opens the
/// same scenario; the link's characters may differ from [`fragment`]'s.
pub fn fragment_of_deflated(deflated: &[u8]) -> String {
    format!("s=1.{}", URL_SAFE_NO_PAD.encode(deflated))
}

/// The full link: `base` (without any fragment it had) + `#` + fragment.
pub fn link(base: &str, fragment: &str) -> String {
    let base = base.split('#').next().unwrap_or(base);
    format!("{base}#{fragment}")
}

/// What a link holds, before any scenario in it is parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A fragment's scenario JSON text.
    Json(String),
    /// A `?preset=` name.
    Preset(String),
}

/// What a link, a fragment (`#s=…` or `s=…`) or a `?preset=NAME` link
/// holds.
pub fn source(link: &str) -> Result<Source, InputError> {
    if link.len() > MAX_LINK_BYTES {
        return Err(link_error(format!(
            "{}; links of at most {} are decoded",
            size(link.len() as u64),
            size(MAX_LINK_BYTES as u64)
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
            .ok_or_else(|| link_error("the fragment holds no s= scenario"))?;
        return inflate(data).map(Source::Json);
    }
    if let Some(q) = before.split_once('?').map(|x| x.1) {
        if let Some(name) = q.split('&').find_map(|kv| kv.strip_prefix("preset=")) {
            return Ok(Source::Preset(name.to_string()));
        }
    }
    Err(link_error("no #s= scenario and no ?preset= in the link"))
}

fn inflate(data: &str) -> Result<String, InputError> {
    let (version, payload) = data
        .split_once('.')
        .ok_or_else(|| link_error("no codec version before the data"))?;
    if version != "1" {
        return Err(link_error(format!(
            "codec version {} is not one this build reads (it reads 1)",
            quoted(version)
        )));
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|e| link_error(format!("the data is not base64url: {}", base64_why(&e))))?;
    let out =
        decompress_to_vec_with_limit(&bytes, MAX_INFLATED_BYTES).map_err(|e| match e.status {
            TINFLStatus::HasMoreOutput => link_error(format!(
                "the scenario inflates to more than {}",
                size(MAX_INFLATED_BYTES as u64)
            )),
            s => link_error(format!("the data does not inflate: {}", inflate_why(s))),
        })?;
    String::from_utf8(out).map_err(|_| link_error("the scenario is not UTF-8"))
}

/// Why deflate data does not inflate, in words.
fn inflate_why(s: TINFLStatus) -> &'static str {
    match s {
        TINFLStatus::NeedsMoreInput | TINFLStatus::FailedCannotMakeProgress => {
            "it ends early (the link may be cut short)"
        }
        TINFLStatus::Adler32Mismatch => "its checksum does not match",
        _ => "it is not a deflate stream",
    }
}

/// What is wrong with a link's base64url, in the link's terms.
fn base64_why(e: &base64::DecodeError) -> String {
    use base64::DecodeError::*;
    let byte = |b: u8| match char::from(b) {
        c if c.is_ascii_graphic() => format!("\"{c}\""),
        _ => format!("byte 0x{b:02x}"),
    };
    match *e {
        InvalidByte(at, b) | InvalidLastSymbol(at, b) => format!(
            "{} at offset {at} of the data (valid: A-Z, a-z, 0-9, - and _)",
            byte(b)
        ),
        InvalidLength(n) => format!("{n} characters of data is not a length base64url has"),
        InvalidPadding => "bad padding".into(),
    }
}

/// The `"kind"` a scenario's JSON text names, without parsing the rest:
/// `None` when it names none (every version-1 file before kinds: a kimage
/// scenario), else the string, which may name no kind this build has.
/// Text that is not a JSON object is an error (see [`crate::json`]).
pub fn kind_field(text: &str) -> Result<Option<KindField>, InputError> {
    Ok(
        crate::json::kind_raw(text)?.map(|raw| match serde_json::from_str::<String>(raw) {
            Ok(s) => KindField::Name(s),
            Err(_) => KindField::Other(shown(raw)),
        }),
    )
}

/// A `"kind"` field as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KindField {
    /// A string.
    Name(String),
    /// Any other JSON value, as JSON text (cut, as messages show it).
    Other(String),
}

/// The kind of scenario JSON text, one of `kinds` (no `"kind"`: the first,
/// "kimage"); any other is an error naming the valid kinds.
pub fn kind_of_json(text: &str, kinds: &[&'static str]) -> Result<&'static str, InputError> {
    let bad = |shown: String| {
        InputError::new(
            "kind",
            format!(
                "{shown} is not a kind this build reads (valid: {})",
                kinds.join(", ")
            ),
        )
    };
    match kind_field(text)? {
        None => Ok(kinds[0]),
        Some(KindField::Name(s)) => kinds
            .iter()
            .copied()
            .find(|k| *k == s)
            .ok_or_else(|| bad(quoted(&s))),
        Some(KindField::Other(v)) => Err(bad(v)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let f = fragment("{\"version\":1}");
        assert!(f.starts_with("s=1."));
        assert_eq!(
            source(&link("https://x.example/#old", &f)),
            Ok(Source::Json("{\"version\":1}".into()))
        );
        assert_eq!(
            source(&format!("#{f}")),
            Ok(Source::Json("{\"version\":1}".into()))
        );
        assert_eq!(
            source("https://x.example/play/?preset=swap-path"),
            Ok(Source::Preset("swap-path".into()))
        );
    }

    #[test]
    fn hostile_links_are_errors() {
        assert!(source("#s=2.AAAA")
            .unwrap_err()
            .message
            .contains("codec version"));
        assert!(source("#s=1.!!!").unwrap_err().message.contains("base64"));
        assert!(source("#s=1.AAAA").is_err());
        assert!(source("#x=1").is_err());
        let huge = format!("#s=1.{}", "A".repeat(MAX_LINK_BYTES));
        assert!(source(&huge).unwrap_err().message.contains("at most"));
        // A deflate bomb: 64 MiB of spaces.
        let bomb = compress_to_vec(&vec![b' '; 64 << 20], BEST);
        let bomb = format!("#s=1.{}", URL_SAFE_NO_PAD.encode(bomb));
        assert!(source(&bomb)
            .unwrap_err()
            .message
            .contains("inflates to more"));
    }

    #[test]
    fn kinds() {
        let k = ["kimage", "placement"];
        assert_eq!(kind_of_json("{}", &k), Ok("kimage"));
        assert_eq!(
            kind_of_json("{\"kind\":\"placement\"}", &k),
            Ok("placement")
        );
        assert!(kind_of_json("{\"kind\":\"x\"}", &k)
            .unwrap_err()
            .message
            .contains("valid: kimage, placement"));
        assert!(kind_of_json("{\"kind\":[1]}", &k).is_err());
    }
}
