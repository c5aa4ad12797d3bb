//! The labs as the page's main module sees them: tabs, taglines, and which
//! view a URL opens. The main module does not carry the labs (their views
//! and model code are a second wasm module, `kexec-web-labs`): it opens
//! kimage links itself and hands every other link to that module, which
//! parses it and says which lab it showed (the `kexec-lab` event).

use kexec_common::codec::{self, KindField, Source};

/// A lab's tab in the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LabTab {
    /// The lab's scenario kind ("placement", "hotplug", "pgtable").
    pub kind: &'static str,
    /// The tab's label.
    pub label: &'static str,
    /// The line under the title while the lab is shown.
    pub tagline: &'static str,
}

/// The labs' tabs, in the order the page shows them (a test of the labs'
/// module checks these are the playground's lab kinds).
pub const LABS: [LabTab; 3] = [
    LabTab {
        kind: "placement",
        label: "placement lab (kexec_file)",
        tagline: "kernel/kexec_file.c placement on an x86_64 machine with NUMA nodes and hot-pluggable memory: where each buffer lands, and which memory blocks can still be hot-removed",
    },
    LabTab {
        kind: "hotplug",
        label: "hotplug lab (memmap_on_memory)",
        tagline: "memory hot-add on x86_64 with SPARSEMEM_VMEMMAP: where each section's memmap comes from (ordinary memory, Oscar Salvador's 2018 RFC, 6.1's memmap_on_memory), what reaches the buddy allocator, and the vmemmap teardown",
    },
    LabTab {
        kind: "pgtable",
        label: "page tables (huge ioremap)",
        tagline: "ioremap and iounmap on the kernel page table of an x86_64 or PAE machine with several CPUs: huge mappings over stale page-table pages, pud_free_pmd_page / pmd_free_pte_page and the TLB's paging-structure caches",
    },
];

/// The findings view (rendered by the labs' module, which carries the
/// findings' text): a tab-like entry so that the header shows its line.
pub const FINDINGS: LabTab = LabTab {
    kind: "findings",
    label: "findings",
    tagline: "what the playground reproduces that a kernel reviewer would want to read: each finding with its code path linked to the source, the link that reproduces it and a plain-text write-up",
};

/// The capture import view (rendered by the labs' module, which links the
/// importer): a tab-like entry so that the header shows its line.
pub const IMPORT: LabTab = LabTab {
    kind: "import",
    label: "import a capture",
    tagline: "a real machine's kexec load (ftrace's page-allocator events with stacks, kexec -d, /proc/iomem, the lowmem line) read in this page into a scenario and a link: the pages the kernel's allocator handed out, replayable under every design",
};

/// Whether a URL's query names one of `params` (bare or with a value).
fn query_names(href: &str, params: &[&str]) -> bool {
    let query = href.split('#').next().unwrap_or_default();
    let query = query.split_once('?').map_or("", |(_, q)| q);
    query
        .split('&')
        .any(|p| params.contains(&p.split_once('=').map_or(p, |(k, _)| k)))
}

/// Whether a URL opens the findings (`?findings`, `?finding=NAME`).
pub fn is_findings(href: &str) -> bool {
    query_names(href, &["findings", "finding"])
}

/// Whether a URL opens the capture import (`?import`).
pub fn is_import(href: &str) -> bool {
    query_names(href, &["import"])
}

/// The name of the window event the labs' module sends when it shows a
/// lab (its detail is the lab's kind).
pub const LAB_EVENT: &str = "kexec-lab";

/// The tab of a lab kind.
pub fn tab(kind: &str) -> Option<&'static LabTab> {
    LABS.iter()
        .chain([&FINDINGS, &IMPORT])
        .find(|t| t.kind == kind)
}

/// What a URL opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// The kimage view (this module).
    Kimage,
    /// A lab; its tab when the URL says which without the lab being
    /// parsed (`#lab=KIND`, a `#s=` scenario's `"kind"`), else `None`
    /// until the labs' module tells (a `?preset=` that is not a kimage
    /// preset).
    Lab(Option<&'static LabTab>),
}

/// The view a URL opens. A link this module cannot read at all stays in
/// the kimage view, which says why.
pub fn view_of(href: &str) -> View {
    if is_findings(href) {
        return View::Lab(Some(&FINDINGS));
    }
    if is_import(href) {
        return View::Lab(Some(&IMPORT));
    }
    if let Some((_, kind)) = href.split_once("#lab=") {
        return View::Lab(tab(kind));
    }
    match kexec_core::link::is_kimage(href) {
        Ok(false) => View::Lab(named_tab(href)),
        _ => View::Kimage,
    }
}

fn named_tab(href: &str) -> Option<&'static LabTab> {
    match codec::source(href).ok()? {
        Source::Json(text) => match codec::kind_field(&text).ok()?? {
            KindField::Name(k) => tab(&k),
            KindField::Other(_) => None,
        },
        Source::Preset(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views() {
        assert_eq!(view_of("http://x/#lab=hotplug"), View::Lab(tab("hotplug")));
        assert_eq!(view_of("http://x/?preset=swap-path"), View::Kimage);
        assert_eq!(view_of("http://x/?preset=pgtable-pae"), View::Lab(None));
        let f = codec::fragment("{\"kind\":\"placement\"}");
        assert_eq!(
            view_of(&format!("http://x/#{f}")),
            View::Lab(tab("placement"))
        );
        let f = codec::fragment("{\"version\":1}");
        assert_eq!(view_of(&format!("http://x/#{f}")), View::Kimage);
        assert_eq!(view_of("http://x/#s=1.!!"), View::Kimage);
        assert_eq!(
            view_of("http://x/?finding=stale-pde"),
            View::Lab(Some(&FINDINGS))
        );
        assert_eq!(view_of("http://x/?findings"), View::Lab(Some(&FINDINGS)));
        assert_eq!(view_of("http://x/?preset=findings"), View::Lab(None));
        assert_eq!(view_of("http://x/?import"), View::Lab(Some(&IMPORT)));
        assert_eq!(view_of("http://x/?preset=import"), View::Lab(None));
    }
}
