//! `cargo xtask`: the project's build, serve and test tasks.
//!
//! * `cargo xtask tidy`  — the layout's rules ([`tidy`]): the crate graph,
//!   module headers, crate READMEs, an honest rust-version.
//! * `cargo xtask test`  — tidy, fmt check, clippy (-D warnings), every native
//!   test; when the web crate exists also its wasm-bindgen tests in headless
//!   Chromium, the static site build and the end-to-end tests.
//! * `cargo xtask serve` — build and serve the playground on
//!   http://127.0.0.1:8080.
//! * `cargo xtask dist`  — write the static site to `dist/`.
//! * `cargo xtask csp [DIR]` — add the inline scripts' hashes to each
//!   page's Content-Security-Policy ([`csp`]).
//! * `cargo xtask post-build` — Trunk's post-build hook on
//!   `$TRUNK_STAGING_DIR`: the main module's JS glue and `worker.js`
//!   minified ([`minify`]), then `csp`.
//! * `cargo xtask bench [--native] [--summary]` — the model's criterion
//!   benchmarks read back against issue 16's native budgets, beside the
//!   CLI's whole process and a design's heap peak ([`bench`]), then the
//!   site's browser measurement when the web crate exists.
//! * `cargo xtask real-kernel [--reuse] [--fixtures] [--check-raw] [NAME|FILE...]` —
//!   the scenarios' loads on Debian's real 686-pae kernel (x86_64 ones on
//!   its amd64 kernel) under QEMU, against the model ([`real_kernel`]).
//! * `cargo xtask fuzz [--cases N] [--seconds S] [--seed S] [--jobs N]
//!   [--case I]` — mutated presets, files and links of every kind, in
//!   process ([`fuzz`]); `test` runs a short pass.
//!
//! Whatever a step needs (wasm32 target, wasm-bindgen-cli, trunk, npm
//! packages, Debian's chromium) is installed when missing and skipped when
//! present.

mod bench;
mod counting;
mod csp;
mod fuzz;
mod minify;
mod real_kernel;
mod tidy;

/// The allocator, counting what each fuzz worker and the bench's runs hold.
#[global_allocator]
static ALLOC: counting::Counting = counting::Counting;

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

const WASM_BINDGEN_VERSION: &str = "0.2.130";
const TRUNK_VERSION: &str = "0.21.14";

type Result<T = ()> = std::result::Result<T, String>;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

fn run(cmd: &mut Command) -> Result {
    eprintln!("xtask: $ {}", show(cmd));
    let status = cmd.status().map_err(|e| format!("{}: {e}", show(cmd)))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{} failed ({status})", show(cmd)))
    }
}

fn show(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

fn output(cmd: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(cmd).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn cargo() -> Command {
    let mut c = Command::new(env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(root());
    c
}

fn has_web() -> bool {
    root().join("crates/web/Cargo.toml").exists()
}

fn ensure_wasm_target() -> Result {
    let installed = output("rustup", &["target", "list", "--installed"]).unwrap_or_default();
    if installed
        .lines()
        .any(|l| l.trim() == "wasm32-unknown-unknown")
    {
        return Ok(());
    }
    run(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))
}

fn ensure_cargo_tool(bin: &str, krate: &str, version: &str, locked: bool) -> Result {
    if output(bin, &["--version"]).is_some_and(|v| v.contains(version)) {
        return Ok(());
    }
    let mut c = cargo();
    c.args(["install", krate, "--version", version]);
    if locked {
        c.arg("--locked");
    }
    run(&mut c)
}

fn is_root() -> bool {
    output("id", &["-u"]).is_some_and(|s| s.trim() == "0")
}

fn ensure_chromium() -> Result {
    let mut missing = vec![];
    if !Path::new("/usr/bin/chromium").exists() {
        missing.push("chromium");
    }
    if !Path::new("/usr/bin/chromedriver").exists() {
        missing.push("chromium-driver");
    }
    ensure_debs("the browser tests", &missing)
}

fn ensure_npm() -> Result {
    if root().join("node_modules/.bin/wasm-opt").exists()
        && root().join("node_modules/playwright-core").exists()
        && root().join("node_modules/axe-core").exists()
        && root().join("node_modules/.bin/terser").exists()
    {
        return Ok(());
    }
    if output("npm", &["--version"]).is_none() {
        return Err(
            "npm is missing: install Node.js (Debian: `apt-get install -y nodejs npm`)".into(),
        );
    }
    run(Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(root()))
}

/// Debian packages: install the missing ones (as root), or say how.
fn ensure_debs(what: &str, missing: &[&str]) -> Result {
    if missing.is_empty() {
        return Ok(());
    }
    if !is_root() {
        return Err(format!(
            "{what} need Debian's {}: run `sudo apt-get install -y {}`",
            missing.join(", "),
            missing.join(" ")
        ));
    }
    run(Command::new("apt-get").arg("update"))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "--no-install-recommends"])
        .args(missing))
}

/// What a kernel build needs (crates/kernel-build): clang and lld with the
/// wasm targets, and the default kernel source, Debian's linux-source-6.1.
fn ensure_kernel_tools() -> Result {
    let mut missing = vec![];
    if output("clang", &["--version"]).is_none() {
        missing.push("clang");
    }
    if output("wasm-ld", &["--version"]).is_none() {
        missing.push("lld");
    }
    if !Path::new("/usr/src/linux-source-6.1.tar.xz").is_file() {
        missing.push("linux-source-6.1");
    }
    if output("xz", &["--version"]).is_none() {
        missing.push("xz-utils");
    }
    ensure_debs("kernel builds", &missing)
}

/// Everything the web build needs.
fn ensure_web_tools() -> Result {
    ensure_wasm_target()?;
    ensure_cargo_tool(
        "wasm-bindgen",
        "wasm-bindgen-cli",
        WASM_BINDGEN_VERSION,
        false,
    )?;
    ensure_cargo_tool("trunk", "trunk", TRUNK_VERSION, true)?;
    ensure_npm()
}

fn with_tool_path(c: &mut Command) -> &mut Command {
    let bin = root().join("node_modules/.bin");
    let path = env::var("PATH").unwrap_or_default();
    c.env("PATH", format!("{}:{path}", bin.display()))
        .env("TRUNK_SKIP_VERSION_CHECK", "true")
}

/// Where the shipped kernel build and its SOURCE.txt are made (Trunk's
/// post-build hook copies them into dist).
const SITE_KERNEL: &str = "target/site-kernel";

/// The shipped kernel build, "kernel 6.1 (C)": Debian's linux-source-6.1,
/// unpatched, built with `kexec-sim kernel build` into
/// target/site-kernel/kernel-6.1.kbuild, and SOURCE.txt saying what it was
/// built from and under which licence.
fn site_kernel() -> Result {
    ensure_kernel_tools()?;
    let dir = root().join(SITE_KERNEL);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let out = dir.join("kernel-6.1.kbuild");
    run(cargo()
        .args([
            "run",
            "-q",
            "-p",
            "kexec-sim",
            "--",
            "kernel",
            "build",
            "--name",
            "6.1",
            "--out",
        ])
        .arg(&out))?;
    let info = Command::new(env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(root())
        .args(["run", "-q", "-p", "kexec-sim", "--", "kernel", "info"])
        .arg(&out)
        .output()
        .map_err(|e| format!("kexec-sim kernel info: {e}"))?;
    if !info.status.success() {
        return Err(format!(
            "kexec-sim kernel info {} failed: {}",
            out.display(),
            String::from_utf8_lossy(&info.stderr)
        ));
    }
    let package = output(
        "dpkg-query",
        &["-W", "-f", "${Package} ${Version}", "linux-source-6.1"],
    )
    .unwrap_or_else(|| "linux-source-6.1".into());
    let text = format!(
        "kernel-6.1.kbuild: \"kernel 6.1 (C)\" in the kexec playground\n\n\
Licence: GPL-2.0 (the Linux kernel's licence; see COPYING in the kernel\n\
source). The two WebAssembly modules in kernel-6.1.kbuild are compiled\n\
from the Linux kernel's kernel/kexec_core.c and kernel/kexec.c (with\n\
kernel/kexec_internal.h, include/linux/kexec.h and\n\
include/uapi/linux/kexec.h), unpatched, against the playground's\n\
kernel-API shim (crates/kernel/shim, MIT OR Apache-2.0).\n\n\
Origin: Debian's package {package}\n\
(/usr/src/linux-source-6.1.tar.xz; the corresponding source is that\n\
package, https://packages.debian.org/source/bookworm/linux, also kept at\n\
https://snapshot.debian.org/package/linux/). Rebuild it with\n\
`kexec-sim kernel build --name 6.1` from the playground's repository.\n\n\
What `kexec-sim kernel info` prints for it (each file's sha256 as taken\n\
from the tarball):\n\n{}",
        String::from_utf8_lossy(&info.stdout)
    );
    let source = dir.join("SOURCE.txt");
    std::fs::write(&source, text).map_err(|e| format!("{}: {e}", source.display()))
}

/// Trunk's post-build hook: in the staging directory, the main module's
/// JS glue and the model worker's boot script minified, then the pages'
/// policies completed (the inline loader's hash; it names the glue, so
/// this comes last).
fn post_build() -> Result {
    let dir = env::var("TRUNK_STAGING_DIR")
        .map_err(|_| "cargo xtask post-build runs as Trunk's hook ($TRUNK_STAGING_DIR)")?;
    minify::page_scripts(Path::new(&dir), &root().join("node_modules/.bin/terser"))?;
    csp::csp(&[dir])
}

fn dist() -> Result {
    ensure_web_tools()?;
    run(cargo().args(["fetch"]))?;
    site_kernel()?;
    run(with_tool_path(
        Command::new("trunk")
            .args(["build", "--release", "--dist", "dist"])
            .current_dir(root()),
    ))
}

fn serve() -> Result {
    ensure_web_tools()?;
    run(cargo().args(["fetch"]))?;
    site_kernel()?;
    run(with_tool_path(
        Command::new("trunk")
            .args([
                "serve",
                "--release",
                "--address",
                "127.0.0.1",
                "--port",
                "8080",
            ])
            .current_dir(root()),
    ))
}

fn test() -> Result {
    // tidy reads `cargo metadata --offline`, which needs every package of
    // the lock file (those of other platforms too) in cargo's cache.
    run(cargo().args(["fetch"]))?;
    tidy::tidy()?;
    run(cargo().args(["fmt", "--all", "--", "--check"]))?;
    run(cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    ensure_kernel_tools()?;
    run(cargo().args(["test", "--workspace"]))?;
    eprintln!("xtask: fuzz, a short pass (cargo xtask fuzz --seconds 20)");
    fuzz::fuzz(&fuzz::Options::parse(&["--seconds".into(), "20".into()])?)?;
    if has_web() {
        ensure_web_tools()?;
        ensure_chromium()?;
        run(cargo().args([
            "clippy",
            "-p",
            "kexec-web",
            "-p",
            "kexec-web-labs",
            "-p",
            "kexec-web-kernel",
            "--target",
            "wasm32-unknown-unknown",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]))?;
        let webdriver = root().join("crates/web/webdriver.json");
        run(with_tool_path(
            cargo()
                .args([
                    "test",
                    "-p",
                    "kexec-web",
                    "--target",
                    "wasm32-unknown-unknown",
                ])
                .env("CHROMEDRIVER", "/usr/bin/chromedriver")
                .env("WASM_BINDGEN_TEST_TIMEOUT", "120")
                .env("WASM_BINDGEN_TEST_WEBDRIVER_JSON", webdriver),
        ))?;
        dist()?;
        run(Command::new("node")
            .arg("--test")
            .args(e2e_tests()?)
            .current_dir(root()))?;
    }
    Ok(())
}

/// The end-to-end test files (`tests/e2e/*.test.mjs`).
fn e2e_tests() -> Result<Vec<String>> {
    let dir = root().join("tests/e2e");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".test.mjs"))
        .map(|n| format!("tests/e2e/{n}"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err("no end-to-end tests in tests/e2e".into());
    }
    Ok(files)
}

/// The slow kernel-build checks: the unpatched 6.1 build against `pointer`
/// on the 1 GiB preset too, and 1,000 generated scenarios per arch
/// (`cargo test` runs 64).
fn kernel_check() -> Result {
    ensure_kernel_tools()?;
    run(cargo()
        .args([
            "test",
            "--release",
            "-p",
            "kexec-kernel-build",
            "--test",
            "kernel_designs",
            "--",
            "--include-ignored",
        ])
        .env("KEXEC_KERNEL_CASES", "1000"))
}

fn main() -> ExitCode {
    let task = env::args().nth(1).unwrap_or_default();
    let r = match task.as_str() {
        "test" => test(),
        "serve" => serve(),
        "dist" => dist(),
        "bench" => {
            let args: Vec<String> = env::args().skip(2).collect();
            bench::bench(&args)
        }
        "kernel-check" => kernel_check(),
        "tidy" => tidy::tidy(),
        "csp" => {
            let args: Vec<String> = env::args().skip(2).collect();
            csp::csp(&args)
        }
        "post-build" => post_build(),
        "real-kernel" => {
            let args: Vec<String> = env::args().skip(2).collect();
            real_kernel::real_kernel(&args)
        }
        "fuzz" => {
            let args: Vec<String> = env::args().skip(2).collect();
            fuzz::Options::parse(&args).and_then(|o| fuzz::fuzz(&o))
        }
        _ => Err(
            "usage: cargo xtask test|tidy|serve|dist|csp|post-build|bench|fuzz|kernel-check|real-kernel"
                .into(),
        ),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}
