//! The kernel-build file: the kernel's own kexec code, patched and
//! compiled against the shim, as one self-describing file.
//!
//! JSON (`"kexec_sim_kernel_build": 1`): what it was built from (the
//! source's version and files with their sha256, each patch's name and
//! sha256 and how its hunks went in, the compiler, the shim's hash), its
//! id, and two WebAssembly modules: wasm32 for the 32-bit arches (i386,
//! i386-pae, arm-lpae: `unsigned long` is 32 bits, as there) and wasm64
//! for x86_64 (memory64: a 64-bit `unsigned long`). Each module comes
//! with its function names (for fault messages). The modules carry the
//! kernel's licence (GPL-2.0); the file names the source it came from.
//!
//! `kexec-sim kernel build` writes it; `kexec-sim kernel info` prints it;
//! the page loads it from a file picker (nothing is uploaded).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use kexec_common::InputError;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The format version this build writes and reads.
pub const FORMAT: u32 = 1;
/// Largest kernel-build file read.
pub const MAX_BUILD_BYTES: usize = 32 << 20;

/// A file of the source tree that went into the build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceFile {
    /// Path in the tree (`kernel/kexec_core.c`).
    pub path: String,
    /// sha256 of its text as taken from the tree, before any patch.
    pub sha256: String,
}

/// The kernel tree the build came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    /// The kernel version from its Makefile (`6.1.192`).
    pub version: String,
    /// Where it was read from (a directory or a tarball), as given.
    pub origin: String,
    /// The files taken from it.
    pub files: Vec<SourceFile>,
}

/// A patch applied on top of the source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatchInfo {
    /// Its file name.
    pub name: String,
    /// sha256 of the patch file.
    pub sha256: String,
    /// Applied whitespace-tolerantly (`--fuzzy`).
    #[serde(default)]
    pub fuzzy: bool,
    /// Hunks that went in at an offset or with fuzz, one line each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// One compiled module.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Module {
    /// 32 (wasm32: i386, i386-pae, arm-lpae) or 64 (wasm64: x86_64).
    pub word_bits: u32,
    /// The module, base64.
    pub wasm: String,
    /// Kernel function names by wasm function index (the shadow stack
    /// holds indices).
    pub functions: Vec<(u32, String)>,
}

/// What a build is, without its modules: what a share link names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildMeta {
    /// The name it was built under (`--name`).
    pub name: String,
    /// The build's id: a hash of every input (source files, patches, shim,
    /// compiler), 16 hex digits.
    pub id: String,
    /// The source.
    pub source: Source,
    /// The patches, in order.
    #[serde(default)]
    pub patches: Vec<PatchInfo>,
    /// The compiler (`clang --version`'s first line).
    pub compiler: String,
    /// sha256 of the shim's sources.
    pub shim: String,
    /// The modules' licence.
    pub license: String,
}

/// A kernel build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KernelBuild {
    /// [`FORMAT`].
    pub kexec_sim_kernel_build: u32,
    /// What it is.
    pub meta: BuildMeta,
    /// The modules (one per word size).
    pub modules: Vec<Module>,
}

/// sha256 as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl KernelBuild {
    /// Parse a build file.
    pub fn from_json(text: &str) -> Result<KernelBuild, InputError> {
        if text.len() > MAX_BUILD_BYTES {
            return Err(InputError::new(
                "",
                format!(
                    "{} bytes; a kernel build of at most {MAX_BUILD_BYTES} bytes is read",
                    text.len()
                ),
            ));
        }
        let v: serde_json::Value = serde_json::from_str(text.trim_start_matches('\u{feff}'))
            .map_err(|e| InputError::new("", format!("not a kernel build (not JSON: {e})")))?;
        match v.get("kexec_sim_kernel_build").and_then(|f| f.as_u64()) {
            Some(1) => {}
            Some(other) => {
                return Err(InputError::new(
                    "kexec_sim_kernel_build",
                    format!("format {other} is not one this build reads (it reads 1)"),
                ))
            }
            None => {
                return Err(InputError::new(
                    "kexec_sim_kernel_build",
                    "missing: this is not a kernel build (make one with kexec-sim kernel build)",
                ))
            }
        }
        let b: KernelBuild = serde_json::from_value(v)
            .map_err(|e| InputError::new("", format!("not a kernel build: {e}")))?;
        for (i, m) in b.modules.iter().enumerate() {
            if m.word_bits != 32 && m.word_bits != 64 {
                return Err(InputError::new(
                    format!("modules[{i}].word_bits"),
                    format!("{} is not 32 or 64", m.word_bits),
                ));
            }
        }
        Ok(b)
    }

    /// The file's text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a kernel build serializes")
    }

    /// The module for a word size, decoded.
    pub fn module(&self, word_bits: u32) -> Result<Vec<u8>, String> {
        let m = self
            .modules
            .iter()
            .find(|m| m.word_bits == word_bits)
            .ok_or_else(|| {
                format!(
                    "kernel build {} has no {word_bits}-bit module",
                    self.meta.name
                )
            })?;
        STANDARD
            .decode(&m.wasm)
            .map_err(|e| format!("kernel build {}: module is not base64: {e}", self.meta.name))
    }

    /// The kernel function name of a wasm function index.
    pub fn function_name(&self, word_bits: u32, index: u32) -> Option<&str> {
        let m = self.modules.iter().find(|m| m.word_bits == word_bits)?;
        m.functions
            .binary_search_by_key(&index, |(i, _)| *i)
            .ok()
            .map(|i| m.functions[i].1.as_str())
    }
}

impl BuildMeta {
    /// How a scenario (and so a share link) names this build: name, id,
    /// source version, patch names and hashes.
    pub fn spec(&self) -> kexec_core::design::kernel_code::KernelSpec {
        use kexec_core::design::kernel_code::{KernelPatch, KernelSpec};
        KernelSpec {
            name: self.name.clone(),
            id: self.id.clone(),
            source: self.source.version.clone(),
            patches: self
                .patches
                .iter()
                .map(|p| KernelPatch {
                    name: p.name.clone(),
                    sha256: p.sha256.clone(),
                })
                .collect(),
        }
    }

    /// What `kexec-sim kernel info` prints: the build, its source, each
    /// patch with its hash, the compiler.
    pub fn info_text(&self) -> String {
        let mut s = format!(
            "kernel build {} (id {})\nsource: Linux {} from {}\n",
            self.name, self.id, self.source.version, self.source.origin
        );
        for f in &self.source.files {
            s += &format!("  {} sha256 {}\n", f.path, f.sha256);
        }
        if self.patches.is_empty() {
            s += "patches: none (the unpatched source)\n";
        }
        for p in &self.patches {
            s += &format!(
                "patch: {} sha256 {}{}\n",
                p.name,
                p.sha256,
                if p.fuzzy { " (applied --fuzzy)" } else { "" }
            );
            for n in &p.notes {
                s += &format!("  {n}\n");
            }
        }
        s += &format!(
            "compiler: {}\nshim: sha256 {}\nlicence: {}\n",
            self.compiler, self.shim, self.license
        );
        s
    }

    /// One line: the name, the source version and the patches' short hashes.
    pub fn summary(&self) -> String {
        let patches: Vec<String> = self
            .patches
            .iter()
            .map(|p| format!("{} {}", p.name, &p.sha256[..p.sha256.len().min(12)]))
            .collect();
        if patches.is_empty() {
            format!("{}: Linux {} unpatched", self.name, self.source.version)
        } else {
            format!(
                "{}: Linux {} + {}",
                self.name,
                self.source.version,
                patches.join(", ")
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> KernelBuild {
        KernelBuild {
            kexec_sim_kernel_build: FORMAT,
            meta: BuildMeta {
                name: "rfc".into(),
                id: "0123456789abcdef".into(),
                source: Source {
                    version: "6.1.192".into(),
                    origin: "/usr/src/linux-source-6.1.tar.xz".into(),
                    files: vec![SourceFile {
                        path: "kernel/kexec_core.c".into(),
                        sha256: "ab".repeat(32),
                    }],
                },
                patches: vec![PatchInfo {
                    name: "rfc.patch".into(),
                    sha256: "cd".repeat(32),
                    fuzzy: true,
                    notes: vec!["kernel/kexec_core.c: hunk 1 at offset +12".into()],
                }],
                compiler: "Debian clang version 14.0.6".into(),
                shim: "ef".repeat(32),
                license: "GPL-2.0".into(),
            },
            modules: vec![Module {
                word_bits: 32,
                wasm: STANDARD.encode(b"\0asm\x01\0\0\0"),
                functions: vec![(3, "kimage_add_entry".into()), (7, "kimage_free".into())],
            }],
        }
    }

    #[test]
    fn round_trip_and_info() {
        let b = sample();
        let again = KernelBuild::from_json(&b.to_json()).unwrap();
        assert_eq!(again, b);
        assert_eq!(again.module(32).unwrap(), b"\0asm\x01\0\0\0");
        assert!(again.module(64).unwrap_err().contains("no 64-bit module"));
        assert_eq!(again.function_name(32, 7), Some("kimage_free"));
        let info = b.meta.info_text();
        assert!(info.contains("source: Linux 6.1.192"), "{info}");
        assert!(info.contains("patch: rfc.patch sha256 cdcd"), "{info}");
        assert!(b.meta.summary().contains("rfc.patch cdcdcdcdcdcd"));
    }

    #[test]
    fn not_a_build() {
        assert!(KernelBuild::from_json("{}")
            .unwrap_err()
            .message
            .contains("not a kernel build"));
        assert!(KernelBuild::from_json("[1")
            .unwrap_err()
            .message
            .contains("not JSON"));
        let t = sample().to_json().replace(
            "\"kexec_sim_kernel_build\":1",
            "\"kexec_sim_kernel_build\":2",
        );
        assert!(KernelBuild::from_json(&t)
            .unwrap_err()
            .message
            .contains("format 2"));
    }
}
