//! The golden link corpus: share links made by the version of 2026-12-02
//! (every preset of the four kinds, as a `#s=` link and as a `?preset=`
//! link, and hand-made links with edited segments, replay lists and each
//! lab's edited forms), each with the scenario it decodes to and the result
//! it gave. Links never break: every one must keep opening the same
//! scenario with the same result. The data is `tests/golden/links.json`;
//! never regenerate it to make this test pass.

use kexec_core::report;
use kexec_core::run::{run, RunOptions};
use kexec_playground::link;
use kexec_playground::Document;
use serde_json::Value;
use sha2::{Digest, Sha256};

fn corpus() -> Vec<Value> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/golden/links.json");
    let text = std::fs::read_to_string(path).expect("tests/golden/links.json");
    serde_json::from_str(&text).expect("the corpus is JSON")
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
        },
    );
    Some(report::entries_all(&runs))
}

#[test]
fn every_old_link_opens_the_same_scenario_with_the_same_result() {
    let corpus = corpus();
    assert!(corpus.len() >= 88, "the corpus lost links");
    for e in &corpus {
        let name = e["name"].as_str().unwrap();
        let l = e["link"].as_str().unwrap();
        let d = link::decode_document(l).unwrap_or_else(|err| panic!("{name}: {err}"));
        assert_eq!(
            format!("{}\n", d.to_json_pretty()),
            e["decoded"].as_str().unwrap(),
            "{name}: decodes to another scenario"
        );
        let (text, status) = d.run_text();
        assert_eq!(text, e["report"].as_str().unwrap(), "{name}: report");
        assert_eq!(
            i64::from(status),
            e["exit"].as_i64().unwrap(),
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
