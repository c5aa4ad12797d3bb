//! `kexec-sim`: the kexec playground's kernel model from a terminal.
//!
//! A thin front end: it reads scenario files or presets, runs the model
//! (crates/model) and prints its reports. Exit statuses: 0 ok, 1 malformed
//! input (or a model limit), 2 kernel errno, 3 fault, 4 relocation FAIL,
//! 5 replay error, 6 unload leak; with several variants, the status of the
//! first one that did not go well.

use clap::{Parser, Subcommand, ValueEnum};
use kexec_model::design::{Variant, ALL_VARIANTS};
use kexec_model::run::{self, RunOptions};
use kexec_model::scenario::Scenario;
use kexec_model::{link, presets, report};
use std::io::{Read, Write};
use std::process::ExitCode;

const AFTER_HELP: &str = "\
Variants: pointer (upstream), highmem-zone (PageHighMemZone on the swap path),
          rfc-posted (Biederman's RFC as posted), rfc-fixed (RFC + head fix)
Arches:   i386, i386-pae, x86_64
Exit status: 0 ok, 1 malformed input, 2 kernel errno, 3 fault,
             4 relocation FAIL, 5 replay error, 6 unload leak";

/// Run Linux's kexec image loading on a simulated machine.
#[derive(Parser)]
#[command(name = "kexec-sim", version, about, after_help = AFTER_HELP)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// The 72-column report for email.
    Text,
    /// Machine-readable JSON.
    Json,
    /// Every entry word as the kernel's walk sees it.
    Entries,
}

#[derive(Subcommand)]
enum Cmd {
    /// Load a scenario with each variant and report.
    Run {
        /// Scenario file (`-` for standard input).
        file: Option<String>,
        /// Use a preset instead of a file (see `kexec-sim presets`).
        #[arg(long, conflicts_with = "file")]
        preset: Option<String>,
        /// Variant to run (repeatable); default: the scenario's.
        #[arg(long = "variant", value_name = "NAME")]
        variants: Vec<String>,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
        /// Also run the relocation check (what `kexec -e` does).
        #[arg(long)]
        relocate: bool,
        /// Then unload (kimage_free) and check every page came back.
        #[arg(long)]
        unload: bool,
    },
    /// List the presets and what each shows.
    Presets,
    /// Print the share link of a scenario.
    Link {
        /// Scenario file (`-` for standard input).
        file: Option<String>,
        /// Use a preset instead of a file.
        #[arg(long, conflicts_with = "file")]
        preset: Option<String>,
        /// Base URL of the playground.
        #[arg(long, default_value = link::DEFAULT_BASE)]
        base: String,
    },
    /// Print the scenario JSON a share link holds.
    Decode {
        /// The link (or its `#s=…` fragment).
        link: String,
    },
}

/// Write to stdout; a closed pipe (`kexec-sim … | head`) ends quietly.
fn out(text: &str) -> bool {
    let mut o = std::io::stdout().lock();
    o.write_all(text.as_bytes()).and_then(|_| o.flush()).is_ok()
}

fn fail(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("kexec-sim: {msg}");
    ExitCode::from(1)
}

fn load(file: Option<String>, preset: Option<String>) -> Result<Scenario, String> {
    if let Some(name) = preset {
        return presets::find(&name).map(|p| p.scenario).ok_or_else(|| {
            format!(
                "no preset \"{name}\" (valid: {})",
                presets::names().join(", ")
            )
        });
    }
    let Some(file) = file else {
        return Err("give a scenario FILE or --preset NAME".into());
    };
    let mut text = String::new();
    let read = if file == "-" {
        std::io::stdin()
            .take(1 << 26)
            .read_to_string(&mut text)
            .map(|_| ())
    } else {
        std::fs::File::open(&file)
            .and_then(|f| f.take(1 << 26).read_to_string(&mut text).map(|_| ()))
    };
    read.map_err(|e| format!("{file}: {e}"))?;
    Scenario::from_json(&text).map_err(|e| format!("{file}: {e}"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Run {
            file,
            preset,
            variants,
            format,
            relocate,
            unload,
        } => {
            let mut sc = match load(file, preset) {
                Ok(s) => s,
                Err(e) => return fail(e),
            };
            if !variants.is_empty() {
                let mut vs = Vec::new();
                for name in &variants {
                    match Variant::from_name(name) {
                        Some(v) => vs.push(v),
                        None => {
                            let valid: Vec<_> = ALL_VARIANTS.iter().map(|v| v.name()).collect();
                            return fail(format!(
                                "unknown variant \"{name}\" (valid: {})",
                                valid.join(", ")
                            ));
                        }
                    }
                }
                sc.variants = vs;
            }
            let runs = run::run(
                &sc,
                RunOptions {
                    relocate,
                    unload,
                    trace: false,
                },
            );
            let text = match format {
                Format::Text => report::text(&sc, &runs),
                Format::Json => {
                    serde_json::to_string_pretty(&report::json(&sc, &runs)).unwrap_or_default()
                        + "\n"
                }
                Format::Entries => {
                    let mut s = String::new();
                    for r in &runs {
                        if runs.len() > 1 {
                            s += &format!("== {}\n", r.variant.name());
                        }
                        s += &report::entries(r);
                        if let Some(rel) = &r.relocation {
                            s += &format!("{}\n", report::relocate_line(rel));
                        }
                        if let Some(u) = &r.unload {
                            s += &format!("{}\n", report::unload_line(u));
                        }
                    }
                    s
                }
            };
            out(&text);
            let status = runs
                .iter()
                .map(|r| r.exit_status())
                .find(|&s| s != 0)
                .unwrap_or(0);
            ExitCode::from(status as u8)
        }
        Cmd::Presets => {
            let mut s = String::new();
            for p in presets::all() {
                let vs: Vec<_> = p.scenario.variants.iter().map(|v| v.name()).collect();
                s += &format!("{}: {}\n", p.name, p.title);
                let what = format!("{}; {}", p.scenario.arch.name(), vs.join(" vs "));
                s += &report::wrap(&what, "    ", 4);
                s += &report::wrap(p.expect, "    ", 4);
            }
            out(&s);
            ExitCode::SUCCESS
        }
        Cmd::Link { file, preset, base } => match load(file, preset) {
            Ok(sc) => {
                out(&format!("{}\n", link::encode(&sc, &base)));
                ExitCode::SUCCESS
            }
            Err(e) => fail(e),
        },
        Cmd::Decode { link: l } => match link::decode(&l) {
            Ok(sc) => {
                out(&format!("{}\n", sc.to_json_pretty()));
                ExitCode::SUCCESS
            }
            Err(e) => fail(e),
        },
    }
}
