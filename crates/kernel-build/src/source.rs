//! The kernel source: the files a kernel build compiles, from a kernel tree
//! or a source tarball (Debian's `linux-source-6.1` by default).
//!
//! A tarball is read with the system's `tar` (an `.tar.xz` of the whole
//! tree; only the files below are extracted), once: the files are kept
//! under the cache directory, keyed by the tarball's path, size and
//! modification time.

use crate::{run_tool, BuildError};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Debian's kernel source tarball (package `linux-source-6.1`).
pub const DEFAULT_TARBALL: &str = "/usr/src/linux-source-6.1.tar.xz";

/// The files of the normal kexec_load path that a build compiles; the
/// shim stands for the rest of the kernel.
pub const FILES: [&str; 5] = [
    "kernel/kexec_core.c",
    "kernel/kexec.c",
    "kernel/kexec_internal.h",
    "include/linux/kexec.h",
    "include/uapi/linux/kexec.h",
];

/// Where a build's source comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A kernel tree.
    Dir(PathBuf),
    /// A source tarball (`.tar`, `.tar.gz`, `.tar.xz`).
    Tarball(PathBuf),
}

impl Origin {
    /// A path given on the command line: a directory is a tree, a file a
    /// tarball.
    pub fn from_path(p: &Path) -> Result<Origin, BuildError> {
        if p.is_dir() {
            Ok(Origin::Dir(p.to_path_buf()))
        } else if p.is_file() {
            Ok(Origin::Tarball(p.to_path_buf()))
        } else {
            Err(BuildError::Source(format!(
                "{}: no such kernel tree or source tarball",
                p.display()
            )))
        }
    }

    /// The default: Debian's linux-source-6.1 tarball.
    pub fn default_tarball() -> Result<Origin, BuildError> {
        let p = Path::new(DEFAULT_TARBALL);
        if p.is_file() {
            Ok(Origin::Tarball(p.to_path_buf()))
        } else {
            Err(BuildError::Source(format!(
                "no kernel source given and {DEFAULT_TARBALL} is not there: give --source DIR|TARBALL, or install Debian's linux-source-6.1 (apt-get install linux-source-6.1)"
            )))
        }
    }

    /// As written in the build's metadata.
    pub fn describe(&self) -> String {
        match self {
            Origin::Dir(d) => d.display().to_string(),
            Origin::Tarball(t) => t.display().to_string(),
        }
    }
}

/// The source files, by tree path, and the kernel's version.
#[derive(Debug, Clone)]
pub struct Tree {
    /// `VERSION.PATCHLEVEL.SUBLEVEL` + `EXTRAVERSION` from the Makefile.
    pub version: String,
    /// Text of each of [`FILES`] (and any other file asked for).
    pub files: BTreeMap<String, String>,
}

/// The kernel version a top-level Makefile names.
pub fn makefile_version(makefile: &str) -> Option<String> {
    let var = |name: &str| {
        makefile.lines().find_map(|l| {
            let (k, v) = l.split_once('=')?;
            (k.trim() == name).then(|| v.trim().to_string())
        })
    };
    let v = var("VERSION")?;
    let p = var("PATCHLEVEL")?;
    let s = var("SUBLEVEL").unwrap_or_else(|| "0".into());
    let e = var("EXTRAVERSION").unwrap_or_default();
    Some(format!("{v}.{p}.{s}{e}"))
}

fn cache_dir() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("kexec-sim").join("sources")
}

/// Extract `wanted` (tree paths) from a tarball into the cache, once; the
/// directory that holds the tree.
fn extract(tarball: &Path, wanted: &[String]) -> Result<PathBuf, BuildError> {
    let md = std::fs::metadata(tarball)
        .map_err(|e| BuildError::Source(format!("{}: {e}", tarball.display())))?;
    let mtime = md
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs());
    let key = kexec_kernel::build_file::sha256_hex(
        format!(
            "{}\0{}\0{mtime}\0{}",
            tarball.display(),
            md.len(),
            wanted.join("\0")
        )
        .as_bytes(),
    );
    let dir = cache_dir().join(&key[..16]);
    let done = dir.join(".complete");
    if done.exists() {
        return Ok(dir);
    }
    std::fs::create_dir_all(&dir)
        .map_err(|e| BuildError::Source(format!("{}: {e}", dir.display())))?;
    let mut cmd = Command::new("tar");
    cmd.arg("-xf")
        .arg(tarball)
        .arg("-C")
        .arg(&dir)
        .arg("--wildcards")
        .arg("--no-wildcards-match-slash")
        .args(wanted.iter().map(|w| format!("*/{w}")))
        .arg("*/Makefile");
    run_tool(&mut cmd, "tar", 600).map_err(|e| match e {
        BuildError::Tool(m) => BuildError::Source(format!(
            "{}: could not extract the kexec files ({m})",
            tarball.display()
        )),
        other => other,
    })?;
    std::fs::write(&done, b"").map_err(|e| BuildError::Source(e.to_string()))?;
    Ok(dir)
}

/// The directory under `dir` that holds the tree (a tarball has one top
/// directory, `linux-source-6.1/`).
fn tree_root(dir: &Path) -> PathBuf {
    if dir.join("kernel/kexec_core.c").exists() {
        return dir.to_path_buf();
    }
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.join("kernel/kexec_core.c").exists())
        .unwrap_or_else(|| dir.to_path_buf())
}

/// Read [`FILES`] plus `extra` (tree paths) from `origin`.
pub fn read(origin: &Origin, extra: &[String]) -> Result<Tree, BuildError> {
    let mut wanted: Vec<String> = FILES.iter().map(|s| s.to_string()).collect();
    for e in extra {
        if !wanted.contains(e) {
            wanted.push(e.clone());
        }
    }
    let root = match origin {
        Origin::Dir(d) => d.clone(),
        Origin::Tarball(t) => tree_root(&extract(t, &wanted)?),
    };
    let makefile = std::fs::read_to_string(root.join("Makefile")).unwrap_or_default();
    let version = makefile_version(&makefile).ok_or_else(|| {
        BuildError::Source(format!(
            "{}: no kernel Makefile with VERSION and PATCHLEVEL at the top of the tree",
            origin.describe()
        ))
    })?;
    let mut files = BTreeMap::new();
    for w in &wanted {
        match std::fs::read_to_string(root.join(w)) {
            Ok(t) => {
                files.insert(w.clone(), t);
            }
            Err(_) if !FILES.contains(&w.as_str()) => {}
            Err(e) => {
                return Err(BuildError::Source(format!(
                    "{}: {w}: {e} (a kernel build needs {})",
                    origin.describe(),
                    FILES.join(", ")
                )))
            }
        }
    }
    Ok(Tree { version, files })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_from_the_makefile() {
        let m = "# SPDX\nVERSION = 6\nPATCHLEVEL = 1\nSUBLEVEL = 192\nEXTRAVERSION =\nNAME = x\n";
        assert_eq!(makefile_version(m).as_deref(), Some("6.1.192"));
        let m = "VERSION = 5\nPATCHLEVEL = 7\nSUBLEVEL = 0\nEXTRAVERSION = -rc4\n";
        assert_eq!(makefile_version(m).as_deref(), Some("5.7.0-rc4"));
        assert_eq!(makefile_version("all:\n"), None);
    }
}
