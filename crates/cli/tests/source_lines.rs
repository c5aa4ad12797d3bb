//! Every function → file:line table (the core's and each lab's, as the
//! playground lists them) checked against Debian's linux-source-6.1: the
//! tarball's Makefile must say [`LINUX_VERSION`] (the links name that
//! tag) and each named function's definition must start at its line. The
//! files come out of the tarball through kexec-kernel-build's extractor
//! (cached like a kernel build's). `cargo xtask test` installs the package
//! when it is missing (xtask's `ensure_kernel_tools`).

use kexec_common::source::{definition_lines, LINUX_VERSION};
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

/// The check itself fails on a wrong line.
#[test]
fn a_wrong_line_is_caught() {
    let c = "static int f(void)\n{\n\treturn g(1);\n}\n";
    assert_eq!(definition_lines(c, "f"), vec![1]);
    assert!(!definition_lines(c, "f").contains(&2));
    assert!(definition_lines(c, "g").is_empty());
}
