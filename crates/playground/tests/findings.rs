//! Every finding still holds: its scenario (a preset, or a capture in the
//! repository) run as `kexec-sim` runs it, and its report must hold each
//! of the finding's phrases. A model change that loses a finding fails
//! here.

use kexec_playground::findings::{Scenario, FINDINGS};
use kexec_playground::presets::find_document;
use kexec_playground::Document;

#[test]
fn every_finding_still_holds() {
    for f in &FINDINGS {
        let doc = match f.scenario {
            Scenario::Preset(p) => {
                find_document(p).unwrap_or_else(|| panic!("{}: no preset {p}", f.name))
            }
            Scenario::Capture {
                file,
                like,
                like_expect,
            } => {
                // The page's preset shows it too, with the calibrated
                // allocator.
                let doc = find_document(like).unwrap_or_else(|| panic!("no preset {like}"));
                let (report, _) = doc.run_text();
                let flat = report.split_whitespace().collect::<Vec<_>>().join(" ");
                for want in like_expect {
                    assert!(
                        flat.contains(want),
                        "{}: {like} lacks \"{want}\"\n{report}",
                        f.name
                    );
                }
                let p = format!("{}/../../{file}", env!("CARGO_MANIFEST_DIR"));
                let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}"));
                Document::from_json(&text).unwrap_or_else(|e| panic!("{p}: {e}"))
            }
        };
        let (report, _) = doc.run_text();
        if let Err(missing) = f.check(&report) {
            panic!(
                "{}: the finding no longer holds: the report lacks \"{missing}\"\n{report}",
                f.name
            );
        }
        for d in f.designs {
            assert!(
                report.contains(&format!("== {d} ")),
                "{}: {d} not run",
                f.name
            );
        }
    }
}

/// The check is not vacuous: a report without the phrases fails it.
#[test]
fn a_lost_finding_fails() {
    for f in &FINDINGS {
        assert!(
            f.check("== pointer ==\nverdict: loaded\n").is_err(),
            "{}",
            f.name
        );
    }
}

/// A finding's link opens the timeline at its step: that step's events,
/// for the finding's first design, hold the finding's phrase.
#[test]
fn the_link_opens_the_step_that_shows_it() {
    use kexec_core::design::Variant;
    use kexec_core::run::{run_variant, RunOptions};
    use kexec_core::summary::{step_starts, step_text};
    for f in &FINDINGS {
        let Some((step, phrase)) = f.step else {
            continue;
        };
        let Scenario::Preset(p) = f.scenario else {
            panic!("{}: a step needs a kimage preset", f.name)
        };
        let sc = kexec_core::presets::find(p)
            .unwrap_or_else(|| panic!("{}: {p} is not a kimage preset", f.name))
            .scenario;
        let v = Variant::from_name(f.designs[0]).expect("a design");
        let opts = RunOptions {
            trace: true,
            ..Default::default()
        };
        let r = run_variant(&sc, v, opts);
        let text = step_text(&r.kimage, &step_starts(&r.kimage.trace.events), step).join("\n");
        assert!(
            text.contains(phrase),
            "{}: step {step} of {p} ({v}) lacks \"{phrase}\":\n{text}",
            f.name
        );
        assert!(f
            .link("")
            .is_some_and(|l| l.ends_with(&format!("&step={step}"))));
    }
}
