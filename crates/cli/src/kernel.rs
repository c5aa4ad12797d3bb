//! `kexec-sim kernel build|info|list`, and finding a kernel build by path
//! or registered name (`--variant kernel:PATH|NAME`).
//!
//! A build is registered under its name in the data directory
//! (`$XDG_DATA_HOME/kexec-sim/kernels/NAME.kbuild`, else
//! `~/.local/share/…`), so `kernel:NAME` finds it from anywhere.

use crate::{out, KernelCmd};
use kexec_core::design::kernel_code::KernelSpec;
use kexec_core::design::{Variant, ALL_VARIANTS};
use kexec_core::scenario::Scenario;
use kexec_kernel::build_file::KernelBuild;
use kexec_kernel_build::{build, Origin, PatchFile, Request};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The directory of registered kernel builds.
pub fn registry() -> PathBuf {
    std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(std::env::temp_dir)
        .join("kexec-sim")
        .join("kernels")
}

/// A name a registry file may have (no path separators, no dots first).
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._+-".contains(c))
}

/// Read a kernel build from a path, or from the registry by name.
pub fn load(spec: &str) -> Result<KernelBuild, String> {
    let path = Path::new(spec);
    let path = if path.is_file() {
        path.to_path_buf()
    } else if valid_name(spec) && registry().join(format!("{spec}.kbuild")).is_file() {
        registry().join(format!("{spec}.kbuild"))
    } else {
        return Err(format!(
            "kernel build {spec:?}: no such file, and no build registered under that name (kexec-sim kernel list shows them; kexec-sim kernel build --name NAME makes one)"
        ));
    };
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    KernelBuild::from_json(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// How a scenario names a build (what a link carries).
pub fn spec_of(m: &kexec_kernel::build_file::BuildMeta) -> KernelSpec {
    m.spec()
}

/// A variant named on the command line (`--variant`, a goal's designs): a
/// Rust design by name, or `kernel:FILE|NAME`, a kernel build read, added
/// to the scenario's `kernels` and kept in `builds` for the runner.
pub fn variant(
    sc: &mut Scenario,
    name: &str,
    builds: &mut Vec<KernelBuild>,
) -> Result<Variant, String> {
    if let Some(spec) = name.strip_prefix("kernel:") {
        let b = load(spec)?;
        let v = sc.add_kernel(spec_of(&b.meta));
        builds.push(b);
        return Ok(v);
    }
    Variant::from_name(name).ok_or_else(|| {
        let valid: Vec<_> = ALL_VARIANTS.iter().map(|v| v.name()).collect();
        format!(
            "unknown variant \"{name}\" (valid: {}, kernel:FILE or kernel:NAME of a kernel build)",
            valid.join(", ")
        )
    })
}

/// The registered builds a scenario names (by name, the same id) that
/// `have` does not hold yet: a link made with a build opens here when the
/// build is registered.
pub fn registered_for(sc: &Scenario, have: &[KernelBuild]) -> Vec<KernelBuild> {
    sc.kernels
        .iter()
        .filter(|k| !have.iter().any(|b| b.meta.id == k.id))
        .filter_map(|k| load(&k.name).ok().filter(|b| b.meta.id == k.id))
        .collect()
}

fn read_patch(p: &Path) -> Result<PatchFile, String> {
    let text = std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))?;
    Ok(PatchFile {
        name: p.file_name().map_or_else(
            || p.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        ),
        text: String::from_utf8_lossy(&text).into_owned(),
    })
}

fn build_cmd(
    source: Option<PathBuf>,
    patches: &[PathBuf],
    fuzzy: bool,
    skip_other_files: bool,
    name: Option<String>,
    out_path: Option<PathBuf>,
) -> Result<ExitCode, String> {
    if let Some(n) = &name {
        if !valid_name(n) {
            return Err(format!(
                "--name {n:?}: use letters, digits, '.', '_', '+' and '-' (at most 128)"
            ));
        }
    }
    let origin = match source {
        Some(p) => Origin::from_path(&p),
        None => Origin::default_tarball(),
    }
    .map_err(|e| e.to_string())?;
    let patches = patches
        .iter()
        .map(|p| read_patch(p))
        .collect::<Result<Vec<_>, _>>()?;
    let req = Request {
        origin,
        patches,
        fuzzy,
        skip_other_files,
        name,
    };
    let b = build(&req).map_err(|e| format!("kernel build: {e}"))?;
    let text = b.to_json();
    let to = out_path.unwrap_or_else(|| PathBuf::from(format!("{}.kbuild", b.meta.name)));
    std::fs::write(&to, &text).map_err(|e| format!("{}: {e}", to.display()))?;
    let reg = registry();
    let registered = std::fs::create_dir_all(&reg)
        .and_then(|_| std::fs::write(reg.join(format!("{}.kbuild", b.meta.name)), &text))
        .is_ok();
    out(&b.meta.info_text());
    out(&format!(
        "written: {}{}\n",
        to.display(),
        if registered {
            format!(" (registered: --variant kernel:{})", b.meta.name)
        } else {
            String::new()
        }
    ));
    Ok(ExitCode::SUCCESS)
}

fn list_cmd() -> ExitCode {
    let mut names: Vec<String> = std::fs::read_dir(registry())
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            e.file_name()
                .to_string_lossy()
                .strip_suffix(".kbuild")
                .map(str::to_string)
        })
        .collect();
    names.sort();
    let mut s = String::new();
    for n in names {
        match load(&n) {
            Ok(b) => s += &format!("{}\n", b.meta.summary()),
            Err(e) => s += &format!("{n}: unreadable ({e})\n"),
        }
    }
    if s.is_empty() {
        s = format!(
            "no kernel builds registered in {} (kexec-sim kernel build makes one)\n",
            registry().display()
        );
    }
    out(&s);
    ExitCode::SUCCESS
}

/// `kexec-sim kernel …`.
pub fn command(cmd: KernelCmd) -> Result<ExitCode, String> {
    match cmd {
        KernelCmd::Build {
            source,
            patches,
            fuzzy,
            skip_other_files,
            name,
            out,
        } => build_cmd(source, &patches, fuzzy, skip_other_files, name, out),
        KernelCmd::Info { build } => {
            let b = load(&build)?;
            out(&b.meta.info_text());
            Ok(ExitCode::SUCCESS)
        }
        KernelCmd::List => Ok(list_cmd()),
    }
}
