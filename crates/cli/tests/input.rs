//! Input the `kexec-sim` binary reads (issue 18): links from standard
//! input or a file, up to the codec's 4 MiB cap; files too large, not
//! UTF-8 or with a byte-order mark, named in the user's terms.

use kexec_common::codec;
use kexec_common::rng::SplitMix64;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_kexec-sim");

fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kexec-sim-input-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// `kexec-sim args…` with `input` on its standard input.
fn sim_stdin(args: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run kexec-sim");
    let mut stdin = child.stdin.take().expect("stdin");
    let input = input.to_vec();
    // The child may stop reading early (a link over the cap): ignore EPIPE.
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().expect("kexec-sim ends");
    writer.join().expect("writer");
    out
}

fn sim(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("run kexec-sim")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A kimage scenario whose link is about 3 MiB: a replay list of random
/// pfns does not compress.
fn three_mib_link() -> (String, String) {
    let mut r = SplitMix64::new(18);
    let pfns: Vec<String> = (0..440_000)
        .map(|_| format!("\"0x{:x}\"", r.next_u64() & 0xff_ffff_ffff))
        .collect();
    let text = format!(
        r#"{{"version":1,"arch":"x86_64","ram":[{{"start":"0x0","end":"0x4000000"}}],"segments":[{{"bufsz":4096,"mem":"0x1000000","memsz":4096}}],"allocator":{{"replay":[{}]}},"variants":["pointer"]}}"#,
        pfns.join(",")
    );
    let link = codec::link(codec::DEFAULT_BASE, &codec::fragment(&text));
    (link, pfns[439_999].trim_matches('"').to_string())
}

#[test]
fn decode_reads_a_3_mib_link_from_standard_input() {
    let (link, last_pfn) = three_mib_link();
    assert!(
        (3 << 20..codec::MAX_LINK_BYTES).contains(&link.len()),
        "{} bytes",
        link.len()
    );
    let o = sim_stdin(&["decode", "-"], format!("{link}\n").as_bytes());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(out.contains(&format!("\"{last_pfn}\"")));
    // The same link from a file.
    let dir = scratch("decode");
    let f = dir.join("link.txt");
    std::fs::write(&f, &link).unwrap();
    let o2 = sim(&["decode", f.to_str().unwrap()]);
    assert_eq!(o2.status.code(), Some(0), "{}", stderr(&o2));
    assert_eq!(String::from_utf8(o2.stdout).unwrap(), out);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn decode_names_what_is_wrong_with_a_link_it_reads() {
    let huge = format!("#s=1.{}", "A".repeat(codec::MAX_LINK_BYTES));
    let o = sim_stdin(&["decode", "-"], huge.as_bytes());
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        "kexec-sim: standard input: more than 4 MiB; a link is read up to 4 MiB\n"
    );
    let o = sim_stdin(&["decode", "-"], b"#s=1.!!!");
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        "kexec-sim: standard input: link: the data is not base64url: \"!\" at offset 0 of the data (valid: A-Z, a-z, 0-9, - and _)\n"
    );
}

#[test]
fn files_are_named_in_the_users_terms() {
    let dir = scratch("files");
    let path = |n: &str| dir.join(n).to_str().unwrap().to_string();
    // 70 MB: its size in MiB, not bytes.
    let big = path("big.json");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(70_000_000)
        .unwrap();
    let o = sim(&["run", &big]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        format!("kexec-sim: {big}: 66.7 MiB; a scenario is read up to 32 MiB\n")
    );
    let o = sim_stdin(&["run", "-"], &vec![b' '; 33 << 20]);
    assert_eq!(
        stderr(&o),
        "kexec-sim: standard input: more than 32 MiB; a scenario is read up to 32 MiB\n"
    );
    // A byte-order mark is skipped.
    let text = String::from_utf8(sim(&["link", "--preset", "swap-path"]).stdout).unwrap();
    let json = String::from_utf8(sim(&["decode", text.trim()]).stdout).unwrap();
    let bom = path("bom.json");
    std::fs::write(&bom, format!("\u{feff}{json}")).unwrap();
    let o = sim(&["run", &bom]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // Not UTF-8: where.
    let latin1 = path("latin1.json");
    std::fs::write(&latin1, b"{\"version\": 1, \"arch\": \"i386\xe9\"}").unwrap();
    let o = sim(&["run", &latin1]);
    assert_eq!(
        stderr(&o),
        format!("kexec-sim: {latin1}: not UTF-8 text (byte 0xe9 at offset 28); a scenario is JSON text in UTF-8\n")
    );
    // A type error: the field, the value as written, the valid form.
    let t = path("type.json");
    std::fs::write(&t, json.replacen("\"start\": \"0x0\"", "\"start\": {}", 1)).unwrap();
    let o = sim(&["run", &t]);
    assert_eq!(
        stderr(&o),
        format!("kexec-sim: {t}: ram[0].start: {{}} is not a number: an integer, or a string such as \"0x1000\", \"4096\" or \"10G\"\n")
    );
    let _ = std::fs::remove_dir_all(dir);
}
