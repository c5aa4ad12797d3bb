//! The list the kernel's own code left in memory (a kernel build run by a
//! front end's [`crate::run::KernelRunner`]).
//!
//! The C code built the list itself (kernel/kexec_core.c, patched or not);
//! the runner hands its pages' contents to the model's store and sets
//! `image->head`. This design only reads that list back, in Linux's format:
//! `image->head` first, then the slots of each indirection page an
//! IND_INDIRECTION entry names, as `for_each_kimage_entry` walks it, but in
//! physical addressing (what the relocation stub sees): reading it never
//! faults for want of a direct mapping; the C code's own walks already
//! ran against the shim and faulted there if they had to. The model never
//! asks this design to keep a list: those methods say so.

use super::{Ctx, EntryList, Fault, FaultInfo, HighmemCheck, KernelId, Variant};
use crate::arch::ArchProfile;
use crate::gfp::{Gfp, GFP_HIGHUSER, GFP_KERNEL};
use crate::trace::Pos;
use serde::{Deserialize, Serialize};

/// The list a kernel build left.
#[derive(Debug, Clone)]
pub struct KernelCode {
    arch: &'static ArchProfile,
    id: KernelId,
    head: u64,
}

impl KernelCode {
    /// Before the load: head 0.
    pub fn new(arch: &'static ArchProfile, id: KernelId) -> Self {
        KernelCode { arch, id, head: 0 }
    }

    fn not_ours() -> Fault {
        Fault::from(FaultInfo {
            function: "kimage_add_entry".into(),
            pfn: None,
            reason: "the kernel's own code keeps this list; the model does not add to it".into(),
        })
    }
}

impl EntryList for KernelCode {
    fn variant(&self) -> Variant {
        Variant::Kernel(self.id)
    }

    fn indirection_gfp(&self) -> Gfp {
        GFP_KERNEL
    }

    fn source_gfp(&self) -> Gfp {
        GFP_HIGHUSER
    }

    fn old_page_check(&self) -> Option<HighmemCheck> {
        None
    }

    fn kmaps_entries(&self) -> bool {
        false
    }

    fn needs_page(&mut self, _cx: &mut Ctx) -> Result<bool, Fault> {
        Err(Self::not_ours())
    }

    fn link_page(&mut self, _cx: &mut Ctx, _pfn: u64) -> Result<(), Fault> {
        Err(Self::not_ours())
    }

    fn store(&mut self, _cx: &mut Ctx, _entry: u64) -> Result<Pos, Fault> {
        Err(Self::not_ours())
    }

    fn terminate(&mut self, _cx: &mut Ctx) -> Result<Pos, Fault> {
        Err(Self::not_ours())
    }

    fn head(&self) -> u64 {
        self.head
    }

    fn set_head(&mut self, head: u64) {
        self.head = head;
    }

    fn read(&self, cx: &mut Ctx, pos: Pos) -> Result<u64, Fault> {
        match pos {
            Pos::Head => Ok(self.head),
            Pos::Slot { pfn, idx } => cx.word("for_each_kimage_entry", pfn, idx),
        }
    }

    fn write(&mut self, _cx: &mut Ctx, _pos: Pos, _v: u64) -> Result<(), Fault> {
        Err(Self::not_ours())
    }

    fn next_pos(&self, pos: Pos) -> Result<Pos, Fault> {
        match pos {
            Pos::Head => Err(Fault::from(FaultInfo {
                function: "for_each_kimage_entry".into(),
                pfn: None,
                reason: "image->head holds an entry that is not IND_INDIRECTION: the walk steps past &image->head".into(),
            })),
            Pos::Slot { pfn, idx } => Ok(Pos::Slot { pfn, idx: idx + 1 }),
        }
    }

    fn fmt_pos(&self, pos: Pos) -> String {
        match pos {
            Pos::Head => "&image->head".into(),
            Pos::Slot { pfn, idx } => format!(
                "pfn 0x{pfn:x} slot {idx} (phys 0x{:x})",
                (pfn << 12) + u64::from(idx) * self.arch.entry_bytes()
            ),
        }
    }
}

/// A kernel build as a scenario names it (`kernels` in the file, the link):
/// enough to say which build a pane needs and to tell a loaded build is
/// the same, never the code itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KernelSpec {
    /// Its name (the variant is `kernel:NAME`).
    pub name: String,
    /// The build's id (16 hex digits: a hash of everything that went in).
    pub id: String,
    /// The kernel version it was built from (`6.1.192`).
    pub source: String,
    /// Its patches: name and sha256, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub patches: Vec<KernelPatch>,
}

/// A patch of a kernel build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KernelPatch {
    /// The patch file's name.
    pub name: String,
    /// Its sha256.
    pub sha256: String,
}

/// Most kernel builds one scenario names.
pub const MAX_KERNELS: usize = 8;

impl KernelSpec {
    /// One line: the name, the source version, the patches' short hashes.
    pub fn describe(&self) -> String {
        if self.patches.is_empty() {
            return format!(
                "{} (Linux {} unpatched, build {})",
                self.name, self.source, self.id
            );
        }
        let p: Vec<String> = self
            .patches
            .iter()
            .map(|p| format!("{} {}", p.name, &p.sha256[..p.sha256.len().min(12)]))
            .collect();
        format!(
            "{} (Linux {} + {}, build {})",
            self.name,
            self.source,
            p.join(", "),
            self.id
        )
    }

    /// The checks of a file's `kernels[i]`.
    pub fn check(&self, i: usize) -> Result<(), kexec_common::InputError> {
        let bad = |field: &str, why: String| {
            Err(kexec_common::InputError::new(
                format!("kernels[{i}].{field}"),
                why,
            ))
        };
        let name_ok = |s: &str| {
            !s.is_empty()
                && s.len() <= 128
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._+-".contains(c))
        };
        let hex_ok = |s: &str, n: usize| s.len() == n && s.chars().all(|c| c.is_ascii_hexdigit());
        if !name_ok(&self.name) {
            return bad(
                "name",
                format!(
                    "{:?} is not a build name (letters, digits, '.', '_', '+', '-'; at most 128)",
                    cut(&self.name)
                ),
            );
        }
        if !hex_ok(&self.id, 16) {
            return bad(
                "id",
                format!("{:?} is not a build id (16 hex digits)", cut(&self.id)),
            );
        }
        if self.source.is_empty() || self.source.len() > 64 {
            return bad(
                "source",
                format!("{:?} is not a kernel version", cut(&self.source)),
            );
        }
        for (j, p) in self.patches.iter().enumerate() {
            if !hex_ok(&p.sha256, 64) {
                return bad(
                    &format!("patches[{j}].sha256"),
                    format!("{:?} is not a sha256 (64 hex digits)", cut(&p.sha256)),
                );
            }
            if p.name.is_empty() || p.name.len() > 256 {
                return bad(
                    &format!("patches[{j}].name"),
                    "name the patch (at most 256 characters)".into(),
                );
            }
        }
        Ok(())
    }
}

fn cut(s: &str) -> String {
    s.chars().take(40).collect()
}
