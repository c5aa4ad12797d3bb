//! Compiling the (patched) kernel files against the shim: Debian's clang
//! and lld, freestanding, once for wasm32 and once for wasm64.
//!
//! The kernel files are compiled with `-O2 -fno-inline`, so every kernel
//! function stays a function of its own (a fault names the function it
//! happened in); the shim with `-O2`. Every `#include <…>` the kernel
//! files name that is not one of the tree's files becomes an empty header:
//! the shim (`kshim.h`, force-included) defines what the kernel files use,
//! so a symbol it lacks is a compile or link error naming the symbol.

use crate::{run_tool, BuildError};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// The shim's sources, built into the tool.
pub const KSHIM_H: &str = include_str!("../../kernel/shim/kshim.h");
/// The shim's runtime.
pub const KSHIM_C: &str = include_str!("../../kernel/shim/kshim.c");

/// sha256 of the shim's sources (recorded in every build).
pub fn shim_hash() -> String {
    kexec_kernel::build_file::sha256_hex(format!("{KSHIM_H}\0{KSHIM_C}").as_bytes())
}

fn clang() -> String {
    std::env::var("KEXEC_SIM_CLANG").unwrap_or_else(|_| "clang".into())
}

fn wasm_ld() -> String {
    std::env::var("KEXEC_SIM_WASM_LD").unwrap_or_else(|_| "wasm-ld".into())
}

/// `clang --version`'s first line, or why there is no clang.
pub fn compiler() -> Result<String, BuildError> {
    let out = Command::new(clang()).arg("--version").output().map_err(|e| {
        BuildError::Tool(format!(
            "{}: {e} (a kernel build needs clang and lld with the wasm32 target: apt-get install clang lld)",
            clang()
        ))
    })?;
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .unwrap_or("clang")
        .to_string())
}

/// The header names a C text includes with `<…>`.
fn includes(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| {
            let l = l.trim_start().strip_prefix('#')?.trim_start();
            let rest = l.strip_prefix("include")?.trim_start();
            let inner = rest.strip_prefix('<')?;
            Some(inner.split('>').next()?.to_string())
        })
        .collect()
}

/// Lay out the build directory: `src/` holds the tree's files,
/// `stubs/` an empty header for every other `<…>` include, `shim/` the
/// shim.
pub fn lay_out(dir: &Path, files: &BTreeMap<String, String>) -> Result<(), BuildError> {
    let io = |e: std::io::Error| BuildError::Tool(format!("{}: {e}", dir.display()));
    for (path, text) in files {
        let to = dir.join("src").join(path);
        std::fs::create_dir_all(to.parent().expect("a file path")).map_err(io)?;
        std::fs::write(&to, text).map_err(io)?;
    }
    for text in files.values() {
        for h in includes(text) {
            if files.contains_key(&format!("include/{h}")) || h.contains("..") {
                continue;
            }
            let to = dir.join("stubs").join(&h);
            std::fs::create_dir_all(to.parent().expect("a header path")).map_err(io)?;
            if !to.exists() {
                std::fs::write(
                    &to,
                    "/* the kexec playground's shim (kshim.h) stands for this header */\n",
                )
                .map_err(io)?;
            }
        }
    }
    std::fs::create_dir_all(dir.join("shim")).map_err(io)?;
    std::fs::write(dir.join("shim/kshim.h"), KSHIM_H).map_err(io)?;
    std::fs::write(dir.join("shim/kshim.c"), KSHIM_C).map_err(io)?;
    Ok(())
}

/// The `.c` files of the tree to compile.
pub fn units(files: &BTreeMap<String, String>) -> Vec<String> {
    files
        .keys()
        .filter(|p| p.ends_with(".c"))
        .cloned()
        .collect()
}

fn common_flags(word_bits: u32) -> Vec<String> {
    [
        if word_bits == 64 {
            "--target=wasm64"
        } else {
            "--target=wasm32"
        },
        "-O2",
        "-ffreestanding",
        "-fno-builtin",
        "-nostdinc",
        "-mbulk-memory",
        "-fno-strict-aliasing",
        "-fno-delete-null-pointer-checks",
        "-fwrapv",
        "-std=gnu11",
        "-Werror=implicit-function-declaration",
        "-Werror=implicit-int",
        "-Werror=return-type",
        "-Wno-unused-function",
        "-Wno-macro-redefined",
        "-fno-color-diagnostics",
        "-include",
        "shim/kshim.h",
        "-Isrc/include",
        "-Istubs",
        "-Ishim",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// Compile and link one module; its bytes, and the shim's own function
/// names (a module of the shim alone, for telling kernel functions apart).
pub fn module(dir: &Path, units: &[String], word_bits: u32) -> Result<Vec<u8>, BuildError> {
    let mut objects = Vec::new();
    for u in units {
        let obj = format!("{}.{word_bits}.o", u.replace('/', "_"));
        let mut c = Command::new(clang());
        c.current_dir(dir)
            .args(common_flags(word_bits))
            .args(["-fno-inline", "-c"])
            .arg(format!("src/{u}"))
            .arg("-o")
            .arg(&obj);
        run_tool(&mut c, "clang", 300).map_err(|e| compile_error(e, u))?;
        objects.push(obj);
    }
    let shim = format!("kshim.{word_bits}.o");
    let mut c = Command::new(clang());
    c.current_dir(dir)
        .args(common_flags(word_bits))
        .args(["-c", "shim/kshim.c", "-o", &shim]);
    run_tool(&mut c, "clang", 300).map_err(|e| compile_error(e, "the shim (kshim.c)"))?;
    objects.push(shim);
    let out = format!("kernel.{word_bits}.wasm");
    let mut l = Command::new(wasm_ld());
    l.current_dir(dir);
    if word_bits == 64 {
        l.arg("-mwasm64");
    }
    l.args([
        "--no-entry",
        "--export-dynamic",
        "-z",
        "stack-size=131072",
        "--global-base=65536",
        "--export=__cyg_profile_func_enter",
        "--export=__cyg_profile_func_exit",
        "-o",
        &out,
    ])
    .args(&objects);
    run_tool(&mut l, "wasm-ld", 120).map_err(link_error)?;
    std::fs::read(dir.join(&out)).map_err(|e| BuildError::Tool(format!("{out}: {e}")))
}

/// A compiler error in the user's terms: the tree path and line, and for a
/// symbol the shim lacks, that it is a kernel symbol the shim does not
/// have.
fn compile_error(e: BuildError, unit: &str) -> BuildError {
    let BuildError::Tool(msg) = e else { return e };
    let mut lines = Vec::new();
    for l in msg.lines() {
        let Some(pos) = l.find(": error: ") else {
            continue;
        };
        let place = l[..pos].trim_start_matches("src/");
        let what = &l[pos + ": error: ".len()..];
        let symbol = [
            "implicit declaration of function '",
            "call to undeclared function '",
            "use of undeclared identifier '",
            "unknown type name '",
        ]
        .iter()
        .find_map(|p| {
            what.split_once(p)
                .map(|(_, r)| r.split('\'').next().unwrap_or(r))
        });
        lines.push(match symbol {
            Some(sym) => format!(
                "{place}: the kernel symbol `{sym}` is not in the playground's kernel-API shim (crates/kernel/shim/kshim.h): {what}"
            ),
            None => format!("{place}: {what}"),
        });
    }
    if lines.is_empty() {
        return BuildError::Compile(format!("{unit} does not compile: {msg}"));
    }
    BuildError::Compile(format!(
        "{unit} does not compile against the shim:\n  {}",
        lines.join("\n  ")
    ))
}

fn link_error(e: BuildError) -> BuildError {
    let BuildError::Tool(msg) = e else { return e };
    let missing: Vec<String> = msg
        .lines()
        .filter_map(|l| {
            l.split_once("undefined symbol: ")
                .map(|(_, s)| s.trim().to_string())
        })
        .collect();
    if missing.is_empty() {
        return BuildError::Compile(format!("the link fails: {msg}"));
    }
    BuildError::Compile(format!(
        "the kernel files use kernel symbols the playground's kernel-API shim does not define: {}",
        missing.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn includes_are_found() {
        let t = "#include <linux/mm.h>\n# include <asm/page.h>\n#include \"kexec_internal.h\"\nint x;\n";
        assert_eq!(includes(t), vec!["linux/mm.h", "asm/page.h"]);
    }

    #[test]
    fn errors_name_the_symbol_and_the_line() {
        let e = compile_error(
            BuildError::Tool("src/kernel/kexec_core.c:612:3: error: call to undeclared function 'kmap_frobnicate'; ISO C99 ...\n1 error generated.".into()),
            "kernel/kexec_core.c",
        );
        let m = e.to_string();
        assert!(
            m.contains("kernel/kexec_core.c:612:3: the kernel symbol `kmap_frobnicate` is not in"),
            "{m}"
        );
        let e = link_error(BuildError::Tool(
            "wasm-ld: error: kexec_core.o: undefined symbol: frob_pages".into(),
        ));
        assert!(e.to_string().contains("frob_pages"));
    }
}
