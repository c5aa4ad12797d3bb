//! `kexec-sim`: the kexec playground's kernel model from a terminal.
//!
//! A thin front end: it reads scenario files or presets, runs the model
//! (crates/model) and prints its reports. Exit statuses: 0 ok, 1 malformed
//! input (or a model limit), 2 kernel errno, 3 fault, 4 relocation FAIL,
//! 5 replay error, 6 unload leak; with several variants, the status of the
//! first one that did not go well.

use clap::{Parser, Subcommand, ValueEnum};
use kexec_model::design::{Variant, ALL_VARIANTS};
use kexec_model::hotplug;
use kexec_model::pgtable_lab;
use kexec_model::placement_lab::{self, PlaceVariant, ALL_PLACE_VARIANTS};
use kexec_model::run::{self, RunOptions};
use kexec_model::scenario::{Document, Scenario};
use kexec_model::{explore, link, presets, report};
use std::io::{Read, Write};
use std::process::ExitCode;

const AFTER_HELP: &str = "\
Variants: pointer (upstream), highmem-zone (PageHighMemZone on the swap path),
          rfc-posted (Biederman's RFC as posted), rfc-fixed (RFC + head fix),
          xen, xen-fixed (Xen's kimage; x86_64 only); what-ifs: skip-reuse,
          dma32, word-limit
Arches:   i386, i386-pae, x86_64, arm-lpae
Goals (explore): fault:VARIANT, differ:A,B, verdict:A,B
Placement variants (place): top-down (6.1), top-down-fixed, bottom-up,
          reverse-walk; x86_64 only
Hotplug variants (hotplug): ordinary (6.1 default), rfc-2018 (Salvador's
          RFC), memmap-on-memory (6.1 memmap_on_memory=1); x86_64 only
Page-table variants (pgtable): flush (6.1), no-flush, page-list, no-free,
          no-free-no-check; arches x86_64, i386-pae
Exit status: 0 ok, 1 malformed input, 2 kernel errno, 3 fault,
             4 relocation FAIL, 5 replay error, 6 unload leak;
             explore: 0 found, 1 budget ran out";

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

#[derive(Clone, Copy, ValueEnum)]
enum PlaceFormat {
    /// The 72-column report for email.
    Text,
    /// Machine-readable JSON (every memory block).
    Json,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run a script of ioremap/iounmap/access operations on the kernel page
    /// table (scenario kind "pgtable") with each way of freeing page-table
    /// pages; exit 3 when a CPU's translation disagrees with the table.
    Pgtable {
        /// Page-table scenario file (`-` for standard input).
        file: Option<String>,
        /// Use a page-table preset instead of a file.
        #[arg(long, conflicts_with = "file")]
        preset: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: PlaceFormat,
    },
    /// Hot-add and remove memory (scenario kind "hotplug") with each
    /// memmap strategy: sections, vmem_altmap, teardown.
    Hotplug {
        /// Hotplug scenario file (`-` for standard input).
        file: Option<String>,
        /// Use a hotplug preset instead of a file.
        #[arg(long, conflicts_with = "file")]
        preset: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: PlaceFormat,
    },
    /// Place a kexec_file load (scenario kind "placement") with each
    /// variant and judge every memory block for hot-remove.
    Place {
        /// Placement scenario file (`-` for standard input).
        file: Option<String>,
        /// Use a placement preset instead of a file.
        #[arg(long, conflicts_with = "file")]
        preset: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: PlaceFormat,
        /// Print instead the kimage scenario of this variant's normal load
        /// (for `kexec-sim run -`).
        #[arg(long, value_name = "VARIANT")]
        to_kimage: Option<String>,
    },
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
    /// Search for a failing or diverging load, shrink it, print it.
    Explore {
        /// Base scenario file (`-` for standard input).
        file: Option<String>,
        /// Use a preset as the base instead of a file.
        #[arg(long, conflicts_with = "file")]
        preset: Option<String>,
        /// fault:VARIANT, differ:A,B (entry lists) or verdict:A,B.
        #[arg(long)]
        goal: String,
        /// Candidates to try at most.
        #[arg(long, default_value_t = 20_000)]
        budget: u64,
        /// Seed of the candidate stream.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Threads (default: every core).
        #[arg(long)]
        jobs: Option<usize>,
        /// Base URL of the playground for the link.
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
    match load_document(file, preset)? {
        Document::Kimage(s) => Ok(s),
        Document::Placement(_) => Err("that is a placement scenario: use kexec-sim place".into()),
        Document::Hotplug(_) => Err("that is a hotplug scenario: use kexec-sim hotplug".into()),
        Document::Pgtable(_) => Err("that is a page-table scenario: use kexec-sim pgtable".into()),
    }
}

fn load_document(file: Option<String>, preset: Option<String>) -> Result<Document, String> {
    if let Some(name) = preset {
        return presets::find_document(&name).ok_or_else(|| {
            format!(
                "no preset \"{name}\" (valid: {})",
                presets::all_names().join(", ")
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
    Document::from_json(&text).map_err(|e| format!("{file}: {e}"))
}

/// Search `budget` candidates in chunks, `jobs` threads per chunk; the hit
/// with the lowest index wins, so the result does not depend on `jobs`.
fn explore_cmd(
    sc: &Scenario,
    goal: &explore::Goal,
    budget: u64,
    seed: u64,
    jobs: usize,
    base: &str,
) -> ExitCode {
    use std::io::IsTerminal;
    let tty = std::io::stderr().is_terminal();
    let chunk = 256 * jobs as u64;
    let mut start = 0;
    let mut hit = None;
    while start < budget && hit.is_none() {
        let end = (start + chunk).min(budget);
        let per = (end - start).div_ceil(jobs as u64);
        hit = std::thread::scope(|s| {
            let handles: Vec<_> = (0..jobs as u64)
                .map(|t| {
                    let lo = (start + t * per).min(end);
                    let hi = (lo + per).min(end);
                    s.spawn(move || explore::search_range(sc, goal, seed, lo..hi))
                })
                .collect();
            handles
                .into_iter()
                .filter_map(|h| h.join().ok().flatten())
                .min()
        });
        start = end;
        if tty {
            let width = 40;
            let done = (start * width / budget) as usize;
            eprint!(
                "\r[{}{}] {start}/{budget} candidates",
                "#".repeat(done),
                " ".repeat(width as usize - done)
            );
        } else {
            eprintln!("explore: {start}/{budget} candidates tried");
        }
    }
    if tty {
        eprintln!();
    }
    let Some(i) = hit else {
        eprintln!("explore: no candidate met {goal} within the budget of {budget}");
        return ExitCode::from(1);
    };
    eprintln!("explore: candidate {i} meets {goal}; shrinking");
    let small = explore::shrink(goal, &explore::candidate(sc, goal, seed, i));
    let runs = run::run(
        &small,
        RunOptions {
            relocate: true,
            unload: false,
            trace: false,
        },
    );
    out(&format!(
        "{}\n{}\n\n{}",
        small.to_json_pretty(),
        link::encode(&small, base),
        report::text(&small, &runs)
    ));
    ExitCode::SUCCESS
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
                if let Err(e) = kexec_model::scenario::check_arch_variants(sc.arch, &vs) {
                    return fail(e.message);
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
            s += "\nplacement lab (kexec-sim place):\n";
            for p in placement_lab::presets() {
                let vs: Vec<_> = p.scenario.variants.iter().map(|v| v.name()).collect();
                s += &format!("{}: {}\n", p.name, p.title);
                s += &report::wrap(&format!("x86_64; {}", vs.join(" vs ")), "    ", 4);
                s += &report::wrap(p.expect, "    ", 4);
            }
            s += "\nhotplug lab (kexec-sim hotplug):\n";
            for p in hotplug::presets() {
                let vs: Vec<_> = p.scenario.variants.iter().map(|v| v.name()).collect();
                s += &format!("{}: {}\n", p.name, p.title);
                s += &report::wrap(&format!("x86_64; {}", vs.join(" vs ")), "    ", 4);
                s += &report::wrap(p.expect, "    ", 4);
            }
            s += "\npage-table lab (kexec-sim pgtable):\n";
            for p in pgtable_lab::presets() {
                let vs: Vec<_> = p.scenario.variants.iter().map(|v| v.name()).collect();
                s += &format!("{}: {}\n", p.name, p.title);
                let arch = match p.scenario.paging {
                    kexec_model::pgtable::Paging::FourLevel => "x86_64",
                    kexec_model::pgtable::Paging::Pae => "i386-pae",
                };
                s += &report::wrap(&format!("{arch}; {}", vs.join(" vs ")), "    ", 4);
                s += &report::wrap(p.expect, "    ", 4);
            }
            out(&s);
            ExitCode::SUCCESS
        }
        Cmd::Pgtable {
            file,
            preset,
            format,
        } => {
            let sc = match load_document(file, preset) {
                Ok(Document::Pgtable(p)) => p,
                Ok(_) => return fail("that is not a page-table scenario (kind \"pgtable\")"),
                Err(e) => return fail(e),
            };
            let runs = pgtable_lab::run(&sc);
            let text = match format {
                PlaceFormat::Text => pgtable_lab::report_text(&sc, &runs),
                PlaceFormat::Json => {
                    serde_json::to_string_pretty(&pgtable_lab::report_json(&sc, &runs))
                        .unwrap_or_default()
                        + "\n"
                }
            };
            out(&text);
            let status = runs.iter().map(|r| r.exit_status()).max().unwrap_or(0);
            ExitCode::from(status as u8)
        }
        Cmd::Hotplug {
            file,
            preset,
            format,
        } => {
            let sc = match load_document(file, preset) {
                Ok(Document::Hotplug(h)) => h,
                Ok(Document::Kimage(_)) => {
                    return fail("that is a kimage scenario: use kexec-sim run")
                }
                Ok(Document::Placement(_)) => {
                    return fail("that is a placement scenario: use kexec-sim place")
                }
                Ok(Document::Pgtable(_)) => {
                    return fail("that is a page-table scenario: use kexec-sim pgtable")
                }
                Err(e) => return fail(e),
            };
            let lab = hotplug::run(&sc);
            let text = match format {
                PlaceFormat::Text => hotplug::report_text(&sc, &lab),
                PlaceFormat::Json => {
                    serde_json::to_string_pretty(&hotplug::report_json(&sc, &lab))
                        .unwrap_or_default()
                        + "\n"
                }
            };
            out(&text);
            let status = lab.runs.iter().map(|r| r.exit_status()).max().unwrap_or(0);
            ExitCode::from(status as u8)
        }
        Cmd::Place {
            file,
            preset,
            format,
            to_kimage,
        } => {
            let sc = match load_document(file, preset) {
                Ok(Document::Placement(p)) => p,
                Ok(Document::Kimage(_)) => {
                    return fail("that is a kimage scenario: use kexec-sim run")
                }
                Ok(Document::Hotplug(_)) => {
                    return fail("that is a hotplug scenario: use kexec-sim hotplug")
                }
                Ok(Document::Pgtable(_)) => {
                    return fail("that is a page-table scenario: use kexec-sim pgtable")
                }
                Err(e) => return fail(e),
            };
            let r = placement_lab::run(&sc);
            if let Some(name) = to_kimage {
                let Some(v) = PlaceVariant::from_name(&name) else {
                    let valid: Vec<_> = ALL_PLACE_VARIANTS.iter().map(|v| v.name()).collect();
                    return fail(format!(
                        "unknown variant \"{name}\" (valid: {})",
                        valid.join(", ")
                    ));
                };
                let Some(vp) = r.results.iter().find(|x| x.variant == v) else {
                    return fail(format!("the scenario does not run {name}"));
                };
                return match placement_lab::to_kimage(&sc, &r, vp) {
                    Some(k) => {
                        out(&format!("{}\n", k.to_json_pretty()));
                        ExitCode::SUCCESS
                    }
                    None => fail(format!(
                        "{name}: {}",
                        vp.error.as_ref().map_or(
                            "a kdump load is copied straight into crashk_res: no kimage entry list"
                                .to_string(),
                            |e| e.to_string()
                        )
                    )),
                };
            }
            let text = match format {
                PlaceFormat::Text => placement_lab::report_text(&sc, &r),
                PlaceFormat::Json => {
                    serde_json::to_string_pretty(&placement_lab::report_json(&sc, &r))
                        .unwrap_or_default()
                        + "\n"
                }
            };
            out(&text);
            if r.results.iter().any(|v| v.error.is_some()) {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            }
        }
        Cmd::Link { file, preset, base } => match load_document(file, preset) {
            Ok(d) => {
                let base = base.split('#').next().unwrap_or(&base).to_string();
                out(&format!("{base}#{}\n", link::encode_document_fragment(&d)));
                ExitCode::SUCCESS
            }
            Err(e) => fail(e),
        },
        Cmd::Explore {
            file,
            preset,
            goal,
            budget,
            seed,
            jobs,
            base,
        } => {
            let sc = match load(file, preset) {
                Ok(s) => s,
                Err(e) => return fail(e),
            };
            let goal = match explore::Goal::parse(&goal).and_then(|g| {
                g.check_arch(sc.arch)?;
                Ok(g)
            }) {
                Ok(g) => g,
                Err(e) => return fail(e),
            };
            let budget = if budget == 0 {
                eprintln!("kexec-sim: a budget of 0 tries nothing; using 1");
                1
            } else if budget > explore::MAX_BUDGET {
                eprintln!("kexec-sim: budget capped at {}", explore::MAX_BUDGET);
                explore::MAX_BUDGET
            } else {
                budget
            };
            let jobs = jobs
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
                .clamp(1, 256);
            explore_cmd(&sc, &goal, budget, seed, jobs, &base)
        }
        Cmd::Decode { link: l } => match link::decode_document(&l) {
            Ok(sc) => {
                out(&format!("{}\n", sc.to_json_pretty()));
                ExitCode::SUCCESS
            }
            Err(e) => fail(e),
        },
    }
}
