//! `kexec-sim kernel build`: the kernel's own kexec code, from any tree,
//! with any patches, compiled against the playground's kernel-API shim into
//! a kernel build ([`kexec_kernel::build_file::KernelBuild`]).
//!
//! 1. [`source`]: kernel/kexec_core.c, kernel/kexec.c,
//!    kernel/kexec_internal.h, include/linux/kexec.h and
//!    include/uapi/linux/kexec.h from a tree or a tarball (default:
//!    Debian's linux-source-6.1), and the version from its Makefile;
//! 2. [`patch`]: each patch applied with `patch -p1` semantics
//!    (`--fuzzy`: whitespace-tolerant, for patches copied out of mail);
//! 3. [`compile`]: clang and wasm-ld, for wasm32 and wasm64;
//! 4. [`instrument`]: a step budget and a shadow call stack, in the
//!    module itself;
//! 5. the file: both modules, the kernel function names, and what went in
//!    (source version and file hashes, patch names and hashes, compiler,
//!    shim hash).
//!
//! The kernel code is compiled, never copied into the repository; the
//! result carries the kernel's licence (GPL-2.0). This crate does IO (it
//! reads files and runs tar, clang and wasm-ld); the CLI calls it.

pub mod compile;
pub mod instrument;
pub mod patch;
pub mod source;

use kexec_kernel::build_file::{
    sha256_hex, BuildMeta, KernelBuild, Module, PatchInfo, Source, SourceFile, FORMAT,
};
use std::fmt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub use source::Origin;

/// Why a build failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildError {
    /// The source could not be read.
    Source(String),
    /// A patch could not be read or does not apply.
    Patch(patch::PatchError),
    /// A patch changes a file a build does not compile.
    OtherFile(String),
    /// The code does not compile or link against the shim.
    Compile(String),
    /// A tool (tar, clang, wasm-ld) could not run or failed.
    Tool(String),
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::Source(m) | BuildError::OtherFile(m) | BuildError::Compile(m) => {
                f.write_str(m)
            }
            BuildError::Patch(p) => write!(f, "patch {p}"),
            BuildError::Tool(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for BuildError {}

/// A patch file as read.
#[derive(Debug, Clone)]
pub struct PatchFile {
    /// Its file name.
    pub name: String,
    /// Its text.
    pub text: String,
}

/// What to build.
#[derive(Debug, Clone)]
pub struct Request {
    /// The source.
    pub origin: Origin,
    /// Patches, applied in order.
    pub patches: Vec<PatchFile>,
    /// Apply whitespace-tolerantly.
    pub fuzzy: bool,
    /// Skip (and record) the parts of patches that change files a build
    /// does not compile, instead of refusing them.
    pub skip_other_files: bool,
    /// The build's name (default: the source version and patch names).
    pub name: Option<String>,
}

/// Run a tool with a time limit; its stderr on failure.
pub(crate) fn run_tool(cmd: &mut Command, what: &str, seconds: u64) -> Result<(), BuildError> {
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            BuildError::Tool(format!(
                "{what}: {e} (a kernel build needs tar, clang and lld: apt-get install clang lld)"
            ))
        })?;
    let start = Instant::now();
    loop {
        if let Some(status) = child
            .try_wait()
            .map_err(|e| BuildError::Tool(format!("{what}: {e}")))?
        {
            let mut err = String::new();
            if let Some(mut s) = child.stderr.take() {
                use std::io::Read;
                let _ = s.read_to_string(&mut err);
            }
            return if status.success() {
                Ok(())
            } else {
                Err(BuildError::Tool(format!("{what} failed ({status}): {err}")))
            };
        }
        if start.elapsed() > Duration::from_secs(seconds) {
            let _ = child.kill();
            return Err(BuildError::Tool(format!(
                "{what} did not finish within {seconds} s"
            )));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Apply every patch to `files`; the patch records.
fn apply_patches(
    req: &Request,
    files: &mut std::collections::BTreeMap<String, String>,
) -> Result<Vec<PatchInfo>, BuildError> {
    let mut infos = Vec::new();
    for p in &req.patches {
        let diffs = patch::parse(&p.name, &p.text, req.fuzzy).map_err(BuildError::Patch)?;
        let mut notes = Vec::new();
        for d in &diffs {
            let path = d.path().to_string();
            if !source::FILES.contains(&path.as_str()) {
                if req.skip_other_files {
                    notes.push(format!(
                        "{path}: skipped (a kernel build does not compile it)"
                    ));
                    continue;
                }
                return Err(BuildError::OtherFile(format!(
                    "{}: changes {path}, which a kernel build does not compile (it compiles {}; the shim stands for the rest of the kernel). Give --skip-other-files to build without that part of the patch.",
                    p.name,
                    source::FILES.join(", ")
                )));
            }
            if d.new_path.is_none() {
                return Err(BuildError::OtherFile(format!(
                    "{}: deletes {path}, which a kernel build needs",
                    p.name
                )));
            }
            let old = files.get(&path).cloned().unwrap_or_default();
            let (new, placed) =
                patch::apply(&p.name, d, &old, req.fuzzy).map_err(BuildError::Patch)?;
            for pl in placed.iter().filter(|pl| pl.offset != 0 || pl.fuzz != 0) {
                notes.push(format!(
                    "{path}: hunk {} at offset {:+} with fuzz {}",
                    pl.header, pl.offset, pl.fuzz
                ));
            }
            files.insert(path, new);
        }
        infos.push(PatchInfo {
            name: p.name.clone(),
            sha256: sha256_hex(p.text.as_bytes()),
            fuzzy: req.fuzzy,
            notes,
        });
    }
    Ok(infos)
}

/// A fresh scratch directory, one per build: the process id and a count
/// of this process's builds (two threads building at once must not share
/// one, or each removes the other's objects).
fn scratch() -> Result<std::path::PathBuf, BuildError> {
    static BUILDS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = BUILDS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let d =
        std::env::temp_dir().join(format!("kexec-sim-kernel-build-{}-{n}", std::process::id(),));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).map_err(|e| BuildError::Tool(format!("{}: {e}", d.display())))?;
    Ok(d)
}

/// Build.
pub fn build(req: &Request) -> Result<KernelBuild, BuildError> {
    let compiler = compile::compiler()?;
    let tree = source::read(&req.origin, &[])?;
    let source_files: Vec<SourceFile> = tree
        .files
        .iter()
        .map(|(p, t)| SourceFile {
            path: p.clone(),
            sha256: sha256_hex(t.as_bytes()),
        })
        .collect();
    let mut files = tree.files.clone();
    let patches = apply_patches(req, &mut files)?;
    let dir = scratch()?;
    let result = (|| {
        compile::lay_out(&dir, &files)?;
        let units = compile::units(&files);
        let mut modules = Vec::new();
        for bits in [32u32, 64] {
            let raw = compile::module(&dir, &units, bits)?;
            let shim_only = shim_names(&dir, bits)?;
            let (wasm, functions) = instrument::instrument(&raw, &shim_only)?;
            modules.push(Module {
                word_bits: bits,
                wasm: base64::Engine::encode(&base64::engine::general_purpose::STANDARD, wasm),
                functions,
            });
        }
        Ok::<_, BuildError>(modules)
    })();
    let _ = std::fs::remove_dir_all(&dir);
    let modules = result?;
    let shim = compile::shim_hash();
    let mut id_src = format!("{}\0{compiler}\0{shim}", tree.version);
    for f in &source_files {
        id_src += &format!("\0{}={}", f.path, f.sha256);
    }
    for p in &patches {
        id_src += &format!("\0patch={}", p.sha256);
    }
    let id = sha256_hex(id_src.as_bytes())[..16].to_string();
    let name = req.name.clone().unwrap_or_else(|| {
        let mut n = format!("linux-{}", tree.version);
        for p in &req.patches {
            n += "+";
            n += p.name.trim_end_matches(".patch").trim_end_matches(".diff");
        }
        n
    });
    Ok(KernelBuild {
        kexec_sim_kernel_build: FORMAT,
        meta: BuildMeta {
            name,
            id,
            source: Source {
                version: tree.version,
                origin: req.origin.describe(),
                files: source_files,
            },
            patches,
            compiler,
            shim,
            license: "GPL-2.0 (compiled from the Linux kernel's kernel/kexec_core.c and kernel/kexec.c; the shim is MIT OR Apache-2.0)".into(),
        },
        modules,
    })
}

/// The shim's own function names: a module of the shim alone.
fn shim_names(
    dir: &std::path::Path,
    bits: u32,
) -> Result<std::collections::BTreeSet<String>, BuildError> {
    let out = format!("shim-only.{bits}.wasm");
    let mut l =
        Command::new(std::env::var("KEXEC_SIM_WASM_LD").unwrap_or_else(|_| "wasm-ld".into()));
    l.current_dir(dir);
    if bits == 64 {
        l.arg("-mwasm64");
    }
    l.args([
        "--no-entry",
        "--export-all",
        "--allow-undefined",
        "--no-gc-sections",
        "-o",
        &out,
    ])
    .arg(format!("kshim.{bits}.o"));
    run_tool(&mut l, "wasm-ld", 120)?;
    let bytes =
        std::fs::read(dir.join(&out)).map_err(|e| BuildError::Tool(format!("{out}: {e}")))?;
    instrument::defined_names(&bytes)
}
