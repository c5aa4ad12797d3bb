//! Share links of kimage scenarios: the common codec
//! ([`kexec_common::codec`]) applied to [`Scenario`]. Links of any kind
//! (labs included) are the playground crate's business; the page's main
//! module, which must not carry the labs, uses these.

use crate::presets;
use crate::scenario::Scenario;
use kexec_common::codec::{self, link_error, KindField, Source};
use kexec_common::input::{quoted, InputError};

pub use kexec_common::codec::DEFAULT_BASE;

/// The fragment (without `#`) holding a scenario.
pub fn encode_fragment(sc: &Scenario) -> String {
    codec::fragment(&sc.to_json())
}

/// The full share link on `base`.
pub fn encode(sc: &Scenario, base: &str) -> String {
    codec::link(base, &encode_fragment(sc))
}

/// Whether a link holds a kimage scenario (a `#s=` scenario with no kind
/// or kind "kimage", or a `?preset=` naming a kimage preset): `Ok(false)`
/// for anything else, which may be another kind's (found without parsing
/// it).
pub fn is_kimage(link: &str) -> Result<bool, InputError> {
    Ok(match codec::source(link)? {
        Source::Preset(name) => presets::find(&name).is_some(),
        Source::Json(text) => match codec::kind_field(&text)? {
            None => true,
            Some(KindField::Name(k)) => k == "kimage",
            Some(KindField::Other(_)) => false,
        },
    })
}

/// Decode a link holding a kimage scenario.
pub fn decode(link: &str) -> Result<Scenario, InputError> {
    match codec::source(link)? {
        Source::Preset(name) => presets::find(&name).map(|p| p.scenario).ok_or_else(|| {
            link_error(format!(
                "no kimage preset {} (valid: {})",
                quoted(&name),
                presets::names().join(", ")
            ))
        }),
        Source::Json(text) => match codec::kind_field(&text)? {
            None => Scenario::from_json(&text),
            Some(KindField::Name(k)) if k == "kimage" => Scenario::from_json(&text),
            Some(KindField::Name(k)) => Err(link_error(format!(
                "the link holds a scenario of kind {}, not a kimage scenario",
                quoted(&k)
            ))),
            Some(KindField::Other(v)) => Err(InputError::new(
                "kind",
                format!("{v} is not a kind this build reads"),
            )),
        },
    }
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
            assert!(is_kimage(&link).unwrap());
            assert_eq!(
                decode(&format!("#{}", encode_fragment(&p.scenario))).unwrap(),
                p.scenario
            );
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
        assert!(!is_kimage("?preset=pgtable-pae").unwrap());
    }

    #[test]
    fn other_kinds_are_refused_unparsed() {
        let f = format!("#{}", codec::fragment("{\"kind\":\"placement\",\"x\":1}"));
        assert!(!is_kimage(&f).unwrap());
        assert!(decode(&f).unwrap_err().message.contains("\"placement\""));
    }
}
