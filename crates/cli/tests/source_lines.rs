//! Every function → file:line table (the core's and each lab's, as the
//! playground lists them) checked against Debian's linux-source-6.1: the
//! tarball's Makefile must say [`LINUX_VERSION`] (the links name that
//! tag) and each named function's definition must start at its line. The
//! files come out of the tarball through kexec-kernel-build's extractor
//! (cached like a kernel build's). `cargo xtask test` installs the package
//! when it is missing (xtask's `ensure_kernel_tools`).

use kexec_common::source::{definition_lines, LINUX_VERSION, XEN_COMMIT};
use kexec_kernel_build::source::{read, Origin};
use kexec_playground::SOURCE_TABLES;

#[test]
fn every_source_line_names_its_function() {
    let origin = Origin::default_tarball().unwrap_or_else(|e| panic!("{e}"));
    let mut files: Vec<String> = SOURCE_TABLES
        .iter()
        .flat_map(|(_, t)| t.iter().map(|r| r.file.to_string()))
        .collect();
    files.sort();
    files.dedup();
    let tree = read(&origin, &files).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        tree.version,
        LINUX_VERSION,
        "the tables' lines and links are for {LINUX_VERSION}; {} holds {}",
        origin.describe(),
        tree.version
    );
    let mut bad = Vec::new();
    for (krate, table) in SOURCE_TABLES {
        for r in table {
            let Some(text) = tree.files.get(r.file) else {
                bad.push(format!("{krate}: {}: no file {}", r.function, r.file));
                continue;
            };
            let at = definition_lines(text, r.function);
            if !at.contains(&r.line) {
                bad.push(format!(
                    "{krate}: {} is not defined at {} (definitions at lines {at:?})",
                    r.function,
                    r.location()
                ));
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// Xen's table (the `xen` designs) against a Xen tree at XEN_COMMIT, when
/// one is at hand: `KEXEC_XEN_SOURCE=DIR` (a checkout, or the files
/// extracted with `git show XEN_COMMIT:PATH`). Without it the check is
/// skipped and says so (the lines were read from that commit).
#[test]
fn xen_source_lines_name_their_functions() {
    let Some(dir) = std::env::var_os("KEXEC_XEN_SOURCE") else {
        eprintln!("KEXEC_XEN_SOURCE is not set: Xen's lines ({XEN_COMMIT}) are not checked");
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    let mut bad = Vec::new();
    for r in kexec_core::source::XEN_TABLE {
        let p = dir.join(r.file);
        let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        let at = definition_lines(&text, r.function);
        if !at.contains(&r.line) {
            bad.push(format!(
                "{} is not defined at {} (definitions at lines {at:?})",
                r.function,
                r.location()
            ));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// The check itself fails on a wrong line.
#[test]
fn a_wrong_line_is_caught() {
    let c = "static int f(void)\n{\n\treturn g(1);\n}\n";
    assert_eq!(definition_lines(c, "f"), vec![1]);
    assert!(!definition_lines(c, "f").contains(&2));
    assert!(definition_lines(c, "g").is_empty());
}
