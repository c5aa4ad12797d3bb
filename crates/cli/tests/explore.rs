//! `kexec-sim explore`: same-order goals and their results as values,
//! exhaustive checking with its statistics, the claim, and the bounds.

use kexec_core::arch::Arch;
use kexec_core::design::Variant;
use kexec_core::page_alloc::Policy;
use kexec_core::scenario::Scenario;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_kexec-sim");
const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;

fn sim(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("run kexec-sim")
}

/// A scenario file in a scratch directory (removed by the caller's guard).
fn file(test: &str, sc: &Scenario) -> (std::path::PathBuf, String) {
    let dir = std::env::temp_dir().join(format!("kexec-sim-explore-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("sc.json");
    std::fs::write(&p, sc.to_json_pretty()).unwrap();
    (dir, p.to_str().unwrap().to_string())
}

fn text(b: &[u8]) -> String {
    String::from_utf8(b.to_vec()).unwrap()
}

/// The exhaustive tests' i386-pae machine: lowmem, highmem and RAM above
/// 4 GiB, two one-page destinations.
fn small(variants: &[Variant]) -> Scenario {
    Scenario::new(
        Arch::I386Pae,
        &[
            (16 * MIB, 17 * MIB),
            (GIB, GIB + MIB),
            (4 * GIB, 4 * GIB + MIB),
        ],
        &[(4096, 16 * MIB, 4096), (4096, 16 * MIB + 64 * 4096, 4096)],
        Policy::LowestFirst,
        variants,
    )
}

#[test]
fn exhaustive_claims_with_its_counts() {
    let (dir, f) = file("claim", &small(&[Variant::Pointer, Variant::RfcFixed]));
    let o = sim(&[
        "explore",
        &f,
        "--goal",
        "verdict:pointer,rfc-fixed",
        "--exhaustive",
        "--max-calls",
        "8",
    ]);
    let _ = std::fs::remove_dir_all(dir);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert_eq!(
        text(&o.stdout),
        "no verdict difference for goal verdict:pointer,rfc-fixed over all 1206 orders of up to 8 calls on this machine (343 longer orders cut at 8 calls, not judged)\n"
    );
    let err = text(&o.stderr);
    assert!(
        err.contains("152 distinct states, 1206 orders judged, 5 page classes, depth 8, 343 cut at the call bound, 250 ineligible choices"),
        "{err}"
    );
    assert!(err.contains("pointer: ok 1206"), "{err}");
    assert!(err.contains("rfc-fixed: ok 1206"), "{err}");
}

#[test]
fn exhaustive_prints_the_counterexample_as_values() {
    let (dir, f) = file("found", &small(&[Variant::RfcPosted]));
    let o = sim(&["explore", &f, "--goal", "fault:rfc-posted", "--exhaustive"]);
    let _ = std::fs::remove_dir_all(dir);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(out.contains("\"replay\""), "{out}");
    assert!(!out.contains("seed"), "{out}");
    assert!(out.contains("#s="), "a link: {out}");
    assert!(out.contains("kimage_add_entry"), "{out}");
    assert!(text(&o.stderr).contains("18 distinct states, 2 orders judged"));
}

#[test]
fn exhaustive_answers_the_same_on_any_number_of_threads() {
    let (dir, f) = file("jobs", &small(&[Variant::Pointer, Variant::RfcFixed]));
    let on = |jobs: &str| {
        let o = sim(&[
            "explore",
            &f,
            "--goal",
            "verdict:pointer,rfc-fixed",
            "--exhaustive",
            "--max-calls",
            "8",
            "--jobs",
            jobs,
        ]);
        let err = text(&o.stderr);
        let last = err
            .lines()
            .find(|l| l.contains("distinct states"))
            .map(|l| {
                // The line's time differs.
                l.rsplit_once(", ").map_or(l, |x| x.0).to_string()
            });
        (o.status.code(), text(&o.stdout), last)
    };
    let one = on("1");
    assert_eq!(one, on("2"));
    assert_eq!(one, on("3"));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn bad_bounds_and_goals_are_named() {
    let (dir, f) = file("bad", &small(&[Variant::Pointer, Variant::RfcFixed]));
    let policy = sim(&[
        "explore",
        &f,
        "--goal",
        "differ-policy:pointer,rfc-fixed",
        "--exhaustive",
    ]);
    let secs = sim(&[
        "explore",
        &f,
        "--goal",
        "fault:pointer",
        "--max-seconds",
        "0",
    ]);
    let calls = sim(&[
        "explore",
        &f,
        "--goal",
        "fault:pointer",
        "--exhaustive",
        "--max-calls",
        "1000",
    ]);
    // The machine (two segments of 4 pages) does not finish in
    // half a second.
    let big = Scenario::new(
        Arch::I386Pae,
        &[
            (16 * MIB, 17 * MIB),
            (GIB, GIB + MIB),
            (4 * GIB, 4 * GIB + MIB),
        ],
        &[
            (4 * 4096, 16 * MIB, 4 * 4096),
            (4 * 4096, 16 * MIB + 64 * 4096, 4 * 4096),
        ],
        Policy::LowestFirst,
        &[Variant::Pointer, Variant::RfcFixed],
    );
    let (big_dir, big) = file("big", &big);
    let stopped = sim(&[
        "explore",
        &big,
        "--goal",
        "differ:pointer,rfc-fixed",
        "--exhaustive",
        "--max-calls",
        "30",
        "--max-seconds",
        "0.5",
    ]);
    let _ = std::fs::remove_dir_all(dir);
    let _ = std::fs::remove_dir_all(big_dir);
    assert!(text(&policy.stderr).contains("own allocator stream"));
    assert!(text(&secs.stderr).contains("--max-seconds 0: a number"));
    assert!(text(&calls.stderr).contains("--max-calls 1000: from 1 to 64"));
    assert_eq!(stopped.status.code(), Some(7), "{}", text(&stopped.stderr));
    assert!(text(&stopped.stderr).contains("no claim"));
}
