//! The golden link corpus: share links made by the version of 2026-12-02
//! (every preset of the four kinds, as a `#s=` link and as a `?preset=`
//! link, and hand-made links with edited segments, replay lists and each
//! lab's edited forms), each with the scenario it decodes to and the result
//! it gave. Links never break: every one must keep opening the same
//! scenario with the same result. The data is `tests/golden/links.json`;
//! never regenerate it to make this test pass.

use kexec_model::run::{run, RunOptions};
use kexec_model::scenario::Document;
use kexec_model::{hotplug, link, pgtable_lab, placement_lab, report};
use serde_json::Value;
use sha2::{Digest, Sha256};

fn corpus() -> Vec<Value> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/golden/links.json");
    let text = std::fs::read_to_string(path).expect("tests/golden/links.json");
    serde_json::from_str(&text).expect("the corpus is JSON")
}

/// The report `kexec-sim` printed for the link's scenario, its exit status,
/// and (kimage) the `--format entries` output.
fn result(d: &Document) -> (String, i32, Option<String>) {
    match d {
        Document::Kimage(sc) => {
            let opts = RunOptions {
                relocate: true,
                unload: true,
                trace: false,
            };
            let runs = run(sc, opts);
            let status = runs
                .iter()
                .map(|r| r.exit_status())
                .find(|&s| s != 0)
                .unwrap_or(0);
            let mut entries = String::new();
            for r in &runs {
                if runs.len() > 1 {
                    entries += &format!("== {}\n", r.variant.name());
                }
                entries += &report::entries(r);
                if let Some(rel) = &r.relocation {
                    entries += &format!("{}\n", report::relocate_line(rel));
                }
                if let Some(u) = &r.unload {
                    entries += &format!("{}\n", report::unload_line(u));
                }
            }
            (report::text(sc, &runs), status, Some(entries))
        }
        Document::Placement(sc) => {
            let r = placement_lab::run(sc);
            let status = if r.results.iter().any(|v| v.error.is_some()) {
                2
            } else {
                0
            };
            (placement_lab::report_text(sc, &r), status, None)
        }
        Document::Hotplug(sc) => {
            let lab = hotplug::run(sc);
            let status = lab.runs.iter().map(|r| r.exit_status()).max().unwrap_or(0);
            (hotplug::report_text(sc, &lab), status, None)
        }
        Document::Pgtable(sc) => {
            let runs = pgtable_lab::run(sc);
            let status = runs.iter().map(|r| r.exit_status()).max().unwrap_or(0);
            (pgtable_lab::report_text(sc, &runs), status, None)
        }
    }
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
        let (text, status, entries) = result(&d);
        assert_eq!(text, e["report"].as_str().unwrap(), "{name}: report");
        assert_eq!(i64::from(status), e["exit"].as_i64().unwrap(), "{name}: exit");
        if let Some(entries) = entries {
            let sha = format!("{:x}", Sha256::digest(entries.as_bytes()));
            assert_eq!(sha, e["entries_sha256"].as_str().unwrap(), "{name}: entries");
            if let Some(want) = e["entries"].as_str() {
                assert_eq!(entries, want, "{name}: entries");
            }
        }
    }
}
