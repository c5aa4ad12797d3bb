//! The golden link corpus: share links made by the version of 2026-12-02
//! (every preset of the four kinds, as a `#s=` link and as a `?preset=`
//! link, and hand-made links with edited segments, replay lists and each
//! lab's edited forms), each with the scenario it decodes to and the result
//! it gave. Links never break: every one must keep opening the same
//! scenario with the same result. The data is `tests/golden/links.json`;
//! never regenerate it to make this test pass.
//!
//! A result may change only when an issue changes what the kernel model
//! does: `tests/golden/changes.json` lists those entries by name, each
//! with its new report and exit status and why (one sentence naming the
//! issue and the rule). A listed entry is held to its change (it must
//! still decode to the same scenario, and it must really differ from the
//! corpus, so the list stays honest); every other entry to the corpus.

use kexec_core::report;
use kexec_core::run::{run, RunOptions};
use kexec_playground::link;
use kexec_playground::Document;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::HashMap;

fn golden(file: &str) -> Vec<Value> {
    let path = format!("{}/../../tests/golden/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path} is not JSON: {e}"))
}

fn corpus() -> Vec<Value> {
    golden("links.json")
}

/// The changed results, by corpus entry name.
fn changes(corpus: &[Value]) -> HashMap<String, Value> {
    let mut out = HashMap::new();
    for c in golden("changes.json") {
        let name = c["name"]
            .as_str()
            .expect("a change names its entry")
            .to_string();
        let was = corpus
            .iter()
            .find(|e| e["name"] == name)
            .unwrap_or_else(|| panic!("changes.json: no corpus entry \"{name}\""));
        let why = c["why"].as_str().unwrap_or_default();
        assert!(
            why.contains("ssue") && why.contains("rule"),
            "{name}: the change must say why, naming the issue and the rule"
        );
        assert!(
            c["report"] != was["report"] || c["exit"] != was["exit"],
            "{name}: listed in changes.json but its result is the corpus's"
        );
        assert!(
            out.insert(name.clone(), c).is_none(),
            "{name}: listed twice in changes.json"
        );
    }
    out
}

/// `kexec-sim run --format entries --relocate --unload` of a kimage
/// scenario.
fn entries(d: &Document) -> Option<String> {
    let Document::Kimage(sc) = d else {
        return None;
    };
    let runs = run(
        sc,
        RunOptions {
            relocate: true,
            unload: true,
            trace: false,
            first_step: false,
        },
    );
    Some(report::entries_all(&runs))
}

#[test]
fn every_old_link_opens_the_same_scenario_with_the_same_result() {
    let corpus = corpus();
    assert!(corpus.len() >= 88, "the corpus lost links");
    let changes = changes(&corpus);
    for e in &corpus {
        let name = e["name"].as_str().unwrap();
        let want = changes.get(name).unwrap_or(e);
        let l = e["link"].as_str().unwrap();
        let d = link::decode_document(l).unwrap_or_else(|err| panic!("{name}: {err}"));
        assert_eq!(
            format!("{}\n", d.to_json_pretty()),
            e["decoded"].as_str().unwrap(),
            "{name}: decodes to another scenario"
        );
        let (text, status) = d.run_text();
        assert_eq!(text, want["report"].as_str().unwrap(), "{name}: report");
        assert_eq!(
            i64::from(status),
            want["exit"].as_i64().unwrap(),
            "{name}: exit"
        );
        if let Some(entries) = entries(&d) {
            let sha = format!("{:x}", Sha256::digest(entries.as_bytes()));
            assert_eq!(
                sha,
                e["entries_sha256"].as_str().unwrap(),
                "{name}: entries"
            );
            if let Some(want) = e["entries"].as_str() {
                assert_eq!(entries, want, "{name}: entries");
            }
        }
    }
}
