//! The playground's registry of scenario kinds: the kexec core's kimage
//! scenarios and the three labs, as one [`Document`] type; presets of
//! every kind; share links of every kind; the findings ([`findings`]).
//!
//! This is the only crate that knows every kind. The kexec core and each
//! lab implement [`kexec_common::Kind`] and know nothing of each other;
//! the CLI and the labs' page module go through this registry. The page's
//! main module does not link this crate (it would carry the labs): it
//! opens kimage links with `kexec_core::link` and hands anything else to
//! the labs' module.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod document;
pub mod findings;
pub mod link;
pub mod presets;

pub use document::{Document, KINDS};

use kexec_common::source::SourceRef;

/// Every kind's table of the kernel functions it mirrors (the crate, its
/// table): what the fronts link and the source-lines test checks.
pub const SOURCE_TABLES: [(&str, &[SourceRef]); 4] = [
    ("kexec-core", kexec_core::source::TABLE),
    ("kexec-lab-placement", kexec_lab_placement::source::TABLE),
    ("kexec-lab-hotplug", kexec_lab_hotplug::source::TABLE),
    ("kexec-lab-pgtable", kexec_lab_pgtable::source::TABLE),
];

/// A lab's text report followed by the footnote list of the kernel
/// functions it names (every kind's Linux table; `[n] function
/// file:line`, 72 columns): `kexec-sim place|hotplug|pgtable` and the
/// labs' "copy as plain text". The report itself (what the link corpus
/// holds) is unchanged.
pub fn with_sources(report: &str) -> String {
    let tables: Vec<&'static [SourceRef]> = SOURCE_TABLES.iter().map(|(_, t)| *t).collect();
    let refs = kexec_common::source::refs_in(report, &tables);
    if refs.is_empty() {
        return report.to_string();
    }
    format!("{report}\n{}", kexec_common::source::footnotes(&refs))
}

#[cfg(test)]
mod tests {
    #[test]
    fn lab_reports_get_footnotes() {
        let t = super::with_sources("== no-flush ==\n   pmd_free_pte_page: PMD entry cleared\n");
        assert!(
            t.ends_with("[1] pmd_free_pte_page arch/x86/mm/pgtable.c:853\n"),
            "{t}"
        );
        assert_eq!(super::with_sources("nothing\n"), "nothing\n");
    }
}
