//! `kexec-sim findings`: the list names every finding; a finding's
//! write-up is 72 columns with its reproducing link and the code path's
//! file:line; an unknown name is refused with the valid ones.

use kexec_playground::findings::FINDINGS;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_kexec-sim");

fn sim(args: &[&str]) -> (String, String, i32) {
    let o = Command::new(BIN)
        .args(args)
        .output()
        .expect("run kexec-sim");
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
        o.status.code().unwrap_or(-1),
    )
}

#[test]
fn findings_list_and_write_up() {
    let (list, _, code) = sim(&["findings"]);
    assert_eq!(code, 0);
    for f in &FINDINGS {
        assert!(list.contains(&format!("{}: ", f.name)), "{list}");
    }
    assert!(list.lines().all(|l| l.len() <= 72), "{list}");
    let (w, _, code) = sim(&[
        "findings",
        "enomem-source-leak",
        "--base",
        "https://x.example/k/",
    ]);
    assert_eq!(code, 0);
    assert!(
        w.contains("    https://x.example/k/?preset=bad-enomem&step=1023\n"),
        "{w}"
    );
    assert!(
        w.contains("    kimage_add_page kernel/kexec_core.c:573\n"),
        "{w}"
    );
    assert!(w.lines().all(|l| l.chars().count() <= 72), "{w}");
    let (_, err, code) = sim(&["findings", "nope"]);
    assert_eq!(code, 1);
    assert!(err.contains("stale-pde"), "{err}");
}
