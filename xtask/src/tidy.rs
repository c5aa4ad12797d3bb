//! `cargo xtask tidy`: the layout's rules, checked.
//!
//! * The crate graph is the architecture. Each workspace crate has a role
//!   ([`Role`]); [`FORBIDDEN`] lists the edges no crate of one role may
//!   have to another, directly or through other crates (the page's main
//!   module must not carry a lab even through the playground).
//!   Model crates (common, core, labs, playground) use no web, terminal or
//!   IO crate.
//! * Every `.rs` file under `crates/*/src` and `xtask/src` opens with a
//!   `//!` header; every crate has a README.md.
//! * The declared `rust-version` is at least what the code needs: the
//!   newest `rust-version` any dependency declares, and the newest std API
//!   the sources use from [`STD_APIS`] (a table of APIs and the release
//!   that stabilised them; extend it when the code uses a newer one).

use crate::{root, Result};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

/// What a workspace crate is, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Role {
    /// kexec-common: shared by everything.
    Common,
    /// kexec-core: the kexec core.
    Core,
    /// kexec-lab-*: one lab.
    Lab,
    /// kexec-playground: the registry of every kind.
    Playground,
    /// kexec-web: the page's main wasm module.
    App,
    /// kexec-web-labs: the labs' wasm module.
    LabsModule,
    /// kexec-kernel, kexec-kernel-build: kernel builds (the builder, the
    /// shim's host side, the wasmi engine).
    Kernel,
    /// kexec-web-kernel: the page's kernel-build wasm module (the kernel
    /// worker).
    KernelModule,
    /// kexec-sim: the CLI.
    Cli,
    /// xtask and anything else.
    Tool,
}

fn role(name: &str) -> Role {
    match name {
        "kexec-common" => Role::Common,
        "kexec-core" => Role::Core,
        n if n.starts_with("kexec-lab-") => Role::Lab,
        "kexec-playground" => Role::Playground,
        "kexec-web" => Role::App,
        "kexec-web-labs" => Role::LabsModule,
        "kexec-kernel" | "kexec-kernel-build" => Role::Kernel,
        "kexec-web-kernel" => Role::KernelModule,
        "kexec-sim" => Role::Cli,
        _ => Role::Tool,
    }
}

/// (from, to, why): no crate of role `from` may reach a crate of role `to`.
const FORBIDDEN: &[(Role, Role, &str)] = &[
    (
        Role::Common,
        Role::Core,
        "the shared crate knows no kernel mechanism",
    ),
    (Role::Common, Role::Lab, "the shared crate knows no lab"),
    (
        Role::Core,
        Role::Lab,
        "the kexec core must not know any lab",
    ),
    (
        Role::Core,
        Role::Playground,
        "the kexec core must not know the registry of kinds",
    ),
    (
        Role::Lab,
        Role::Lab,
        "labs are peers: one lab does not build on another",
    ),
    (
        Role::Lab,
        Role::Playground,
        "a lab must not know the registry of kinds",
    ),
    (
        Role::App,
        Role::Lab,
        "the page's main module must not link a lab (first-load budget)",
    ),
    (
        Role::App,
        Role::Playground,
        "the page's main module must not link the playground (it links every lab)",
    ),
    (
        Role::App,
        Role::LabsModule,
        "the main module loads the labs' module at run time, never links it",
    ),
    (
        Role::App,
        Role::Kernel,
        "the page's main module must not link kernel builds or their interpreter, wasmi (first-load budget; the kernel worker runs them)",
    ),
    (
        Role::App,
        Role::KernelModule,
        "the main module starts the kernel worker at run time, never links its module",
    ),
    (
        Role::KernelModule,
        Role::Lab,
        "the kernel-build module runs kimage scenarios only: no lab",
    ),
    (
        Role::KernelModule,
        Role::Playground,
        "the kernel-build module runs kimage scenarios only: not the playground",
    ),
    (
        Role::KernelModule,
        Role::LabsModule,
        "the kernel-build module does not carry the labs' module",
    ),
];

/// Crates a model crate (common, core, lab, playground) must not use:
/// the model is pure (no web, no terminal, no IO runtime).
const NOT_IN_MODEL: &[&str] = &[
    "yew",
    "web-sys",
    "js-sys",
    "wasm-bindgen",
    "gloo",
    "clap",
    "tokio",
];

/// Std APIs and the Rust release that stabilised them.
const STD_APIS: &[(&str, &str)] = &[
    (".is_multiple_of(", "1.87"),
    (".unbounded_shl(", "1.87"),
    (".unbounded_shr(", "1.87"),
    (".extract_if(", "1.87"),
    (".cast_signed(", "1.87"),
    (".cast_unsigned(", "1.87"),
    (".pop_if(", "1.86"),
    (".get_disjoint_mut(", "1.86"),
    (".is_none_or(", "1.82"),
    ("repeat_n(", "1.82"),
    ("LazyLock", "1.80"),
    ("LazyCell", "1.80"),
    (".split_at_checked(", "1.80"),
    (".take_if(", "1.80"),
    (".first_chunk(", "1.77"),
    (".div_ceil(", "1.73"),
    (".checked_ilog2(", "1.67"),
];

/// Compare dotted versions numerically.
fn version_key(v: &str) -> Vec<u64> {
    v.split('.').map(|p| p.parse().unwrap_or(0)).collect()
}

fn metadata(no_deps: bool) -> Result<Value> {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(root())
        .args(["metadata", "--format-version", "1", "--offline"]);
    if no_deps {
        c.arg("--no-deps");
    }
    let out = c.output().map_err(|e| format!("cargo metadata: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("cargo metadata: {e}"))
}

/// Normal (non-dev, non-build) dependencies of each workspace crate, by
/// name.
fn workspace_deps(meta: &Value) -> BTreeMap<String, Vec<String>> {
    let mut deps = BTreeMap::new();
    for p in meta["packages"].as_array().into_iter().flatten() {
        let name = p["name"].as_str().unwrap_or_default().to_string();
        let normal = p["dependencies"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|d| d["kind"].is_null())
            .filter_map(|d| d["name"].as_str().map(str::to_string))
            .collect();
        deps.insert(name, normal);
    }
    deps
}

/// Every workspace crate `from` reaches through normal dependencies.
fn reach(deps: &BTreeMap<String, Vec<String>>, from: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut todo = vec![from.to_string()];
    while let Some(c) = todo.pop() {
        for d in deps.get(&c).into_iter().flatten() {
            if deps.contains_key(d) && seen.insert(d.clone()) {
                todo.push(d.clone());
            }
        }
    }
    seen
}

fn check_graph(meta: &Value, problems: &mut Vec<String>) {
    let deps = workspace_deps(meta);
    for (name, direct) in &deps {
        let from = role(name);
        for to in reach(&deps, name) {
            for &(f, t, why) in FORBIDDEN {
                if f == from && t == role(&to) && to != *name {
                    problems.push(format!("crate graph: {name} reaches {to}: {why}"));
                }
            }
        }
        if matches!(
            from,
            Role::Common | Role::Core | Role::Lab | Role::Playground
        ) {
            for d in direct {
                if NOT_IN_MODEL.contains(&d.as_str()) {
                    problems.push(format!(
                        "crate graph: {name} uses {d}: the model crates do no web, terminal or IO"
                    ));
                }
            }
        }
    }
}

/// The `.rs` files under `dir`, recursively.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

fn crate_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root().join("crates"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("Cargo.toml").exists())
        .collect();
    dirs.sort();
    dirs
}

fn check_headers_and_readmes(problems: &mut Vec<String>) {
    let mut files = Vec::new();
    for dir in crate_dirs() {
        if !dir.join("README.md").exists() {
            problems.push(format!(
                "{}: no README.md (say what the crate is and is not)",
                rel(&dir)
            ));
        }
        rust_files(&dir.join("src"), &mut files);
    }
    rust_files(&root().join("xtask/src"), &mut files);
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        if !first.starts_with("//!") {
            problems.push(format!(
                "{}: the module has no `//!` header (what it owns, which kernel code it mirrors)",
                rel(&f)
            ));
        }
    }
}

fn rel(p: &Path) -> String {
    p.strip_prefix(root()).unwrap_or(p).display().to_string()
}

/// The rust-version the workspace declares.
fn declared_rust_version() -> Option<String> {
    let text = std::fs::read_to_string(root().join("Cargo.toml")).ok()?;
    text.lines()
        .find_map(|l| l.trim().strip_prefix("rust-version"))
        .map(|v| {
            v.trim_start_matches([' ', '='])
                .trim()
                .trim_matches('"')
                .to_string()
        })
}

/// The newest rust-version a dependency declares, and which.
fn newest_dependency_msrv(full: &Value) -> Option<(String, String)> {
    full["packages"]
        .as_array()?
        .iter()
        .filter(|p| p["source"].is_string())
        .filter_map(|p| {
            let v = p["rust_version"].as_str()?;
            Some((v.to_string(), p["name"].as_str()?.to_string()))
        })
        .max_by_key(|(v, _)| version_key(v))
}

/// The newest std API of [`STD_APIS`] the sources use, and where.
fn newest_std_api() -> Option<(String, String)> {
    let mut files = Vec::new();
    for dir in crate_dirs() {
        for sub in ["src", "tests", "benches"] {
            rust_files(&dir.join(sub), &mut files);
        }
    }
    rust_files(&root().join("xtask/src"), &mut files);
    let mut best: Option<(String, String)> = None;
    for f in files {
        if f.ends_with("xtask/src/tidy.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        for (api, v) in STD_APIS {
            if text.contains(api)
                && best
                    .as_ref()
                    .is_none_or(|(b, _)| version_key(v) > version_key(b))
            {
                best = Some((v.to_string(), format!("{api}…) in {}", rel(&f))));
            }
        }
    }
    best
}

fn check_rust_version(full: &Value, problems: &mut Vec<String>) {
    let Some(declared) = declared_rust_version() else {
        return;
    };
    let needs = [newest_dependency_msrv(full), newest_std_api()];
    for (v, what) in needs.into_iter().flatten() {
        if version_key(&v) > version_key(&declared) {
            problems.push(format!(
                "rust-version {declared} is false: {what} needs Rust {v}"
            ));
        }
    }
}

/// Run every check; the problems, one per line, or Ok.
pub fn tidy() -> Result {
    let mut problems = Vec::new();
    check_graph(&metadata(true)?, &mut problems);
    check_headers_and_readmes(&mut problems);
    check_rust_version(&metadata(false)?, &mut problems);
    if problems.is_empty() {
        eprintln!("xtask: tidy: the crate graph, module headers, READMEs and rust-version hold");
        Ok(())
    } else {
        Err(format!(
            "tidy found {}:\n  {}",
            problems.len(),
            problems.join("\n  ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_and_versions() {
        assert_eq!(role("kexec-lab-hotplug"), Role::Lab);
        assert_eq!(role("kexec-web"), Role::App);
        assert!(version_key("1.87") > version_key("1.9"));
        assert!(version_key("1.87.1") > version_key("1.87"));
    }

    #[test]
    fn reach_follows_paths() {
        let mut deps = BTreeMap::new();
        deps.insert("a".to_string(), vec!["b".to_string()]);
        deps.insert("b".to_string(), vec!["c".to_string(), "serde".to_string()]);
        deps.insert("c".to_string(), vec![]);
        let r = reach(&deps, "a");
        assert!(r.contains("c") && !r.contains("serde"));
    }
}
