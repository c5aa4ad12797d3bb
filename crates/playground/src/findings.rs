//! Findings: what the playground reproduces that a kernel reviewer would
//! want to read, one entry per finding, as data. Each names the scenario
//! (a preset of any kind, or a real machine's capture) and the designs
//! that show it, the code path as functions (linked to their lines
//! through [`crate::SOURCE_TABLES`]), what must appear in the scenario's
//! report for the finding to hold ([`Finding::expect`], checked by
//! `tests/findings.rs`, so a model change that loses one fails a test),
//! and how sure we are. [`Finding::write_up`] is the 72-column plain text
//! for a reply on the list; `kexec-sim findings` and the page's findings
//! view show the same data.

use kexec_common::source::{SourceRef, LINUX_BASE, LINUX_VERSION, XEN_BASE, XEN_COMMIT};
use kexec_common::text::wrap;
use std::fmt::Write;

/// How sure we are that the kernel does what the finding says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confidence {
    /// Reproduced by the model only.
    Model,
    /// Also by the kernel's own C code, compiled by `kexec-sim kernel
    /// build` and run on the model's machine (the test named).
    KernelCode(&'static str),
    /// Also on a real kernel: a capture from a real machine (the fixture).
    RealKernel(&'static str),
}

impl Confidence {
    /// In words.
    pub fn text(self) -> String {
        match self {
            Confidence::Model => "reproduced by the model only".into(),
            Confidence::KernelCode(t) => format!(
                "reproduced by the model and by the kernel's own C code (Debian's linux-source-6.1 compiled by kexec-sim kernel build; {t})"
            ),
            Confidence::RealKernel(f) => format!(
                "captured on a real kernel (Debian's 686-pae 6.1 under QEMU, {f}) and reproduced by the model from the capture"
            ),
        }
    }
}

/// Where a step of the code path is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tree {
    /// Linux 6.1: the function is in one of [`crate::SOURCE_TABLES`].
    Linux,
    /// A patch that is not in 6.1 (which one).
    Patch(&'static str),
    /// Xen's tree (the file).
    Xen(&'static str),
}

/// One function of a code path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// The function.
    pub function: &'static str,
    /// Where it is.
    pub tree: Tree,
}

const fn linux(function: &'static str) -> Step {
    Step {
        function,
        tree: Tree::Linux,
    }
}

impl Step {
    /// Its line: in Linux 6.1 for a Linux step, in Xen's tree for a Xen
    /// one; none for a patch's.
    pub fn source(&self) -> Option<&'static SourceRef> {
        let tables: &[&[SourceRef]] = match self.tree {
            Tree::Linux => &[],
            Tree::Xen(_) => &[kexec_core::source::XEN_TABLE],
            Tree::Patch(_) => return None,
        };
        let linux = crate::SOURCE_TABLES.iter().map(|(_, t)| *t);
        let all: Vec<&[SourceRef]> = if tables.is_empty() {
            linux.collect()
        } else {
            tables.to_vec()
        };
        all.into_iter()
            .flat_map(|t| t.iter())
            .find(|r| r.function == self.function)
    }

    /// `function file:line`, or where a non-Linux step is.
    pub fn text(&self) -> String {
        match (self.tree, self.source()) {
            (_, Some(r)) => format!("{} {}", r.function, r.location()),
            (Tree::Linux, None) => self.function.to_string(),
            (Tree::Patch(p), _) => format!("{} ({p})", self.function),
            (Tree::Xen(f), _) => format!("{} (Xen, {f})", self.function),
        }
    }
}

/// What reproduces a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// A preset of any kind (`?preset=NAME`).
    Preset(&'static str),
    /// A real machine's capture kept in the repository as a scenario
    /// file (its exact allocation order), and the preset that shows the
    /// same on the page with the allocator calibrated on it (`like`).
    Capture {
        /// The scenario file.
        file: &'static str,
        /// The page's preset.
        like: &'static str,
        /// Phrases the preset's report must hold too.
        like_expect: &'static [&'static str],
    },
}

/// One finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Finding {
    /// Short name (`?finding=NAME`, `kexec-sim findings NAME`).
    pub name: &'static str,
    /// One line.
    pub title: &'static str,
    /// What happens, in three or four sentences and the kernel's words.
    pub what: &'static str,
    /// The code path, outermost first.
    pub path: &'static [Step],
    /// The scenario that reproduces it.
    pub scenario: Scenario,
    /// The designs to compare (the first shows the finding).
    pub designs: &'static [&'static str],
    /// Phrases the scenario's text report must hold (whitespace runs
    /// compared as one space) for the finding to hold.
    pub expect: &'static [&'static str],
    /// How sure we are.
    pub confidence: Confidence,
    /// The timeline step the reproducing link opens the panes at
    /// (`&step=N`), with a phrase that step's events hold for the first
    /// design; `None` for a lab or a capture.
    pub step: Option<(usize, &'static str)>,
}

/// Every finding, in the order the site lists them.
pub const FINDINGS: [Finding; 6] = [
    Finding {
        name: "rfc-pos-invalid",
        title: "The RFC as posted writes its first entry at KIMAGE_ENTRY_POS_INVALID",
        what: "In Eric Biederman's May 2020 RFC \"kexec: Teach indirect pages how to live in high memory\", image->entry_pos starts as KIMAGE_ENTRY_POS_INVALID, but kimage_add_entry as posted never treats that value as image->head. The first entry it adds (the IND_INDIRECTION link to the first indirection page) goes to kimage_write_entry at KIMAGE_ENTRY_POS_INVALID: on i386 PAE that is kmap_atomic(pfn 0xfffff) and slot 4094, byte 0x3ff8, past the single kmap_atomic slot into a neighbouring fixmap mapping. image->head is never set. Letting KIMAGE_ENTRY_POS_INVALID stand for image->head (rfc-fixed) loads and relocates as upstream does.",
        path: &[
            linux("kexec_load"),
            linux("do_kexec_load"),
            linux("kimage_load_segment"),
            linux("kimage_load_normal_segment"),
            linux("kimage_set_destination"),
            linux("kimage_add_entry"),
            Step { function: "kimage_write_entry", tree: Tree::Patch("the RFC") },
            linux("kmap_atomic"),
        ],
        scenario: Scenario::Preset("rfc-i386-pae"),
        designs: &["rfc-posted", "pointer"],
        expect: &[
            "== rfc-posted",
            "verdict: fault in kimage_add_entry: kimage_write_entry writes at KIMAGE_ENTRY_POS_INVALID",
            "image->head is never set",
        ],
        confidence: Confidence::KernelCode(
            "the RFC applied to 6.1's kexec files: crates/kernel-build/tests/kernel_designs.rs, the_rfc_as_posted_faults_at_its_first_entry",
        ),
        step: None,
    },
    Finding {
        name: "enomem-source-leak",
        title: "6.1 leaks the source page when kimage_add_page fails with -ENOMEM",
        what: "kimage_load_normal_segment allocates the next source page with kimage_alloc_page and only then calls kimage_add_page, which may need a new indirection page. When kimage_add_entry finds no page for it, kimage_add_page returns -ENOMEM and kimage_load_normal_segment returns at once: the source page it just allocated is in no list (not an IND_SOURCE entry, not on control_pages, dest_pages or unusable_pages). kimage_free, which frees by walking those, never gives it back, so every failed load leaks one page.",
        path: &[
            linux("kexec_load"),
            linux("do_kexec_load"),
            linux("kimage_load_segment"),
            linux("kimage_load_normal_segment"),
            linux("kimage_alloc_page"),
            linux("kimage_add_page"),
            linux("kimage_add_entry"),
            linux("kimage_free"),
        ],
        scenario: Scenario::Preset("bad-enomem"),
        designs: &["pointer", "rfc-fixed"],
        expect: &[
            "== pointer",
            "verdict: kexec_load returns -ENOMEM",
            "unload: LEAK 1 pages (pfn 0x2401, source page of segment 0 page 1022: kimage_add_page failed and kimage_load_normal_segment returns without freeing it)",
        ],
        confidence: Confidence::KernelCode(
            "crates/kernel-build/tests/kernel_designs.rs, the_enomem_leak_is_pointers",
        ),
        step: Some((1023, "alloc_pages(GFP_KERNEL, order 0) fails: no page")),
    },
    Finding {
        name: "xen-swap-source-zero",
        title: "Xen's swap path rewrites the old SOURCE entry as a source at machine address 0",
        what: "When kimage_alloc_page in xen/common/kimage.c hands out a page that is the destination of data already loaded, it copies that data into the new page and rewrites the old SOURCE entry as (addr & ~PAGE_MASK) | IND_SOURCE. The in-page bits of a page-aligned address are zero, so the entry names machine address 0 as its source, where Linux writes the new page's address with the old flags. kexec_reloc then copies from address 0, which its page tables do not map, and kimage_free would free machine page 0. Writing the address as Linux does (xen-fixed) relocates fine.",
        path: &[
            Step { function: "kimage_load_normal_segment", tree: Tree::Xen("xen/common/kimage.c") },
            Step { function: "kimage_alloc_page", tree: Tree::Xen("xen/common/kimage.c") },
            Step { function: "kimage_dst_used", tree: Tree::Xen("xen/common/kimage.c") },
            Step { function: "kexec_reloc", tree: Tree::Xen("xen/arch/x86/x86_64/kexec_reloc.S") },
        ],
        scenario: Scenario::Preset("xen-swap-path"),
        designs: &["xen", "xen-fixed"],
        expect: &[
            "== xen ",
            "verdict: loaded, but relocation fails: kexec_reloc copies from source 0x0",
            "== xen-fixed",
            "relocation ok",
        ],
        confidence: Confidence::Model,
        step: Some((2, "copy_highpage")),
    },
    Finding {
        name: "memmap-rfc-forwards",
        title: "The 2018 memmap RFC torn down forwards reads a struct page whose vmemmap is gone",
        what: "Oscar Salvador's 2018 RFC carves the memmap of hot-added memory from the start of the added range and refcounts it, so the vmemmap is freed only when the last section goes. Torn down forwards, vmemmap_free(section 0x20) clears the PMD that maps section 0x20's struct pages first. vmemmap_free(section 0x21) then asks free_pagetable whether the page backing its memmap is PageVmemmap, and that page's struct page (pfn 0x100200, at 0xffffea0004008000) lies in section 0x20's vmemmap: a page fault. 6.1's memmap_on_memory keeps each block's memmap in that block and does not care about the order.",
        path: &[
            linux("offline_and_remove_memory"),
            linux("try_remove_memory"),
            linux("arch_remove_memory"),
            linux("__remove_pages"),
            linux("sparse_remove_section"),
            linux("section_deactivate"),
            linux("depopulate_section_memmap"),
            Step {
                function: "__kfree_section_memmap",
                tree: Tree::Patch("the RFC's refcounted teardown, on the 4.19-era code it was posted against"),
            },
            linux("vmemmap_free"),
            linux("remove_pagetable"),
            linux("remove_pmd_table"),
            linux("free_pagetable"),
        ],
        scenario: Scenario::Preset("hotplug-rfc-forwards"),
        designs: &["rfc-2018", "memmap-on-memory"],
        expect: &[
            "== rfc-2018 ==",
            "verdict: page fault at 0xffffea0004008000",
            "the struct page of pfn 0x100200 is at 0xffffea0004008000, in the vmemmap of section 0x20, whose PMD was cleared",
        ],
        confidence: Confidence::Model,
        step: None,
    },
    Finding {
        name: "stale-pde",
        title: "Without the flush, a CPU's cached PDE walks into a freed and reused table page",
        what: "ioremap of a 2 MiB range where a PTE table is still linked calls pmd_free_pte_page, which clears the PMD entry and frees the PTE table page. Without flush_tlb_kernel_range between the two (28ee90fe6048, March 2018), another CPU that cached the PMD entry in its paging-structure cache still walks through the old table page. Once the page allocator hands that page out again and it is filled with other data, that CPU translates the address to whatever the new contents say (here 0xfee00000, the local APIC). 6.1 unlinks, flushes on all CPUs, then frees.",
        path: &[
            linux("ioremap"),
            linux("ioremap_page_range"),
            linux("vmap_range_noflush"),
            linux("vmap_pmd_range"),
            linux("vmap_try_huge_pmd"),
            linux("pmd_free_pte_page"),
            linux("flush_tlb_kernel_range"),
        ],
        scenario: Scenario::Preset("pgtable-stale-pde"),
        designs: &["no-flush", "flush"],
        expect: &[
            "== no-flush ==",
            "verdict: step 7: cpu1 translates 0xffffc90000200000 to 0xfee00000: BOGUS",
            "== flush ==",
            "verdict: every access agrees with the page table",
        ],
        confidence: Confidence::Model,
        step: None,
    },
    Finding {
        name: "pae-8g-unusable",
        title: "On a real 8 GiB PAE box, loading a 5.7 MB kernel first takes every page above 4 GiB and parks it on unusable_pages",
        what: "On i386 PAE, source pages are asked with GFP_HIGHUSER and the buddy allocator hands out the highest pages first: every page above 4 GiB. kimage_alloc_page tests each against KEXEC_SOURCE_MEMORY_LIMIT (4 GiB - 1), puts it on image->unusable_pages and asks again, so 1.3 million pages (5 GiB) are taken and pinned for the whole load before the first usable source page below 4 GiB comes. A real Debian 686-pae 6.1 kernel did exactly this (the capture), and the model, run on the captured allocation order, builds the same list with the same count on unusable_pages. The link opens the preset real-8g-pae, that box with the buddy allocator calibrated on the capture: 1,310,720 pages, every one above 4 GiB (the model's box has none in use before the load); the command replays the capture's exact order.",
        path: &[
            linux("kexec_load"),
            linux("kimage_load_normal_segment"),
            linux("kimage_alloc_page"),
            linux("kimage_alloc_pages"),
            linux("alloc_pages"),
            linux("kimage_free"),
        ],
        scenario: Scenario::Capture {
            file: "tests/real-kernel/plain-8g/scenario.json",
            like: "real-8g-pae",
            like_expect: &["== pointer", "verdict: loaded", "unusable 1310720"],
        },
        designs: &["pointer", "rfc-fixed"],
        expect: &[
            "== pointer",
            "verdict: loaded (1425 entries, 2 indirection pages)",
            "alloc calls 1309956, source 1418, indirection 2",
            "unusable 1308534",
        ],
        confidence: Confidence::RealKernel("tests/real-kernel/plain-8g"),
        step: None,
    },
];

/// A finding by name.
pub fn find(name: &str) -> Option<&'static Finding> {
    FINDINGS.iter().find(|f| f.name == name)
}

impl Finding {
    /// The link that reproduces it on the site at `base` (a preset link,
    /// at the finding's timeline step; for a capture, the preset with the
    /// allocator calibrated on it).
    pub fn link(&self, base: &str) -> Option<String> {
        match self.scenario {
            Scenario::Preset(p) | Scenario::Capture { like: p, .. } => Some(match self.step {
                Some((n, _)) => format!("{base}?preset={p}&step={n}"),
                None => format!("{base}?preset={p}"),
            }),
        }
    }

    /// The command that reproduces it from a checkout.
    pub fn command(&self) -> String {
        match self.scenario {
            Scenario::Preset(p) => {
                let cmd = crate::presets::find_document(p).map_or("run", |d| d.command());
                format!("kexec-sim {cmd} --preset {p}")
            }
            Scenario::Capture { file, .. } => format!("kexec-sim run {file}"),
        }
    }

    /// The link to the findings page's entry at `base`.
    pub fn page(&self, base: &str) -> String {
        format!("{base}?finding={}", self.name)
    }

    /// Whether a report (text) holds every [`Finding::expect`] phrase; the
    /// first missing one otherwise.
    pub fn check(&self, report: &str) -> Result<(), &'static str> {
        let flat = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
        let have = flat(report);
        match self.expect.iter().find(|e| !have.contains(&flat(e))) {
            Some(missing) => Err(missing),
            None => Ok(()),
        }
    }

    /// The plain-text write-up for a reply, every line at most 72
    /// columns: title, what happens, how to reproduce (the link on the
    /// site at `base`, and the command), the code path with `file:line`,
    /// and how sure we are.
    pub fn write_up(&self, base: &str) -> String {
        let mut s = String::new();
        s.push_str(&wrap(self.title, "", 0));
        s.push('\n');
        s.push_str(&wrap(self.what, "", 0));
        s.push('\n');
        s.push_str(&wrap(
            &format!(
                "{} ({})",
                self.command(),
                match self.designs.split_first() {
                    Some((a, rest)) if !rest.is_empty() =>
                        format!("{a}, next to {}", rest.join(", ")),
                    _ => self.designs.join(", "),
                }
            ),
            "Reproduce:",
            4,
        ));
        if let Some(l) = self.link(base) {
            let _ = writeln!(s, "    {l}");
        }
        s.push('\n');
        let _ = writeln!(s, "Code path:");
        for st in self.path {
            s.push_str(&wrap(&st.text(), "    ", 8));
        }
        if self.path.iter().any(|st| st.tree == Tree::Linux) {
            s.push_str(&wrap(
                &format!("(Linux {LINUX_VERSION}: {LINUX_BASE}FILE#LLINE)"),
                "    ",
                4,
            ));
        }
        if self.path.iter().any(|st| matches!(st.tree, Tree::Xen(_))) {
            s.push_str(&wrap(
                &format!("(Xen {}: {XEN_BASE}FILE#LLINE)", &XEN_COMMIT[..12]),
                "    ",
                4,
            ));
        }
        s.push('\n');
        s.push_str(&wrap(&self.confidence.text(), "Confidence:", 4));
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_steps_resolve() {
        for (i, f) in FINDINGS.iter().enumerate() {
            assert!(FINDINGS[..i].iter().all(|g| g.name != f.name), "{}", f.name);
            for st in f.path {
                assert!(
                    matches!(st.tree, Tree::Patch(_)) || st.source().is_some(),
                    "{}: {} is in no source table",
                    f.name,
                    st.function
                );
            }
            let w = f.write_up("https://example.org/kexec/");
            assert!(w.lines().all(|l| l.chars().count() <= 72), "{w}");
        }
    }
}
