//! `kexec-sim`: the kexec playground's kernel model from a terminal.
//!
//! A thin front end: it reads scenario files or presets, runs the kexec
//! core or a lab through the playground's registry of kinds, and prints
//! their reports. One function per subcommand; the three labs share one
//! generic path ([`lab`]). Exit statuses: 0 ok, 1 malformed input (or a
//! model limit), 2 kernel errno, 3 fault, 4 relocation FAIL, 5 replay
//! error, 6 unload leak; with several variants, the status of the first
//! one that did not go well.

use clap::{Parser, Subcommand, ValueEnum};
use kexec_common::codec;
use kexec_common::input::MAX_SCENARIO_BYTES;
use kexec_common::text::{self, wrap};
use kexec_common::Kind;
use kexec_core::report;
use kexec_core::run::{self, RunOptions};
use kexec_core::scenario::Scenario;
use kexec_kernel::build_file::KernelBuild;
use kexec_lab_hotplug::Hotplug;
use kexec_lab_pgtable::Pgtable;
use kexec_lab_placement::{PlaceVariant, Placement, ALL_PLACE_VARIANTS};
use kexec_playground::{link, presets, Document};
use std::io::{Read, Write};

mod explore;
mod kernel;
use std::process::ExitCode;

const AFTER_HELP: &str = "\
Variants: pointer (upstream), highmem-zone (PageHighMemZone on the swap path),
          rfc-posted (Biederman's RFC as posted), rfc-fixed (RFC + head fix),
          xen, xen-fixed (Xen's kimage; x86_64 only); what-ifs: skip-reuse,
          dma32, word-limit
Arches:   i386, i386-pae, x86_64, arm-lpae
Goals (explore): fault:VARIANT; differ:A,B, verdict:A,B (one allocation
          order: B replays A's); differ-policy:A,B, verdict-policy:A,B
          (each design with its own allocator stream)
Placement variants (place): top-down (6.1), top-down-fixed, bottom-up,
          reverse-walk; x86_64 only
Hotplug variants (hotplug): ordinary (6.1 default), rfc-2018 (Salvador's
          RFC), memmap-on-memory (6.1 memmap_on_memory=1); x86_64 only
Page-table variants (pgtable): flush (6.1), no-flush, page-list, no-free,
          no-free-no-check; arches x86_64, i386-pae
Exit status: 0 ok, 1 malformed input, 2 kernel errno, 3 fault,
             4 relocation FAIL, 5 replay error, 6 unload leak;
             explore: 0 found, 1 budget ran out (exhaustive: 0 found,
             1 the claim holds, 7 stopped by --max-seconds)";

/// Run Linux's kexec image loading on a simulated machine.
#[derive(Parser)]
#[command(name = "kexec-sim", version, about, after_help = AFTER_HELP)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

/// Output of `run` (kimage scenarios).
#[derive(Clone, Copy, ValueEnum)]
enum RunFormat {
    /// The 72-column report for email.
    Text,
    /// Machine-readable JSON.
    Json,
    /// Every entry word as the kernel's walk sees it.
    Entries,
}

/// Output of a lab command.
#[derive(Clone, Copy, ValueEnum)]
enum LabFormat {
    /// The 72-column report for email.
    Text,
    /// Machine-readable JSON.
    Json,
}

/// Where a scenario comes from: a file (`-` for standard input) or a
/// preset.
#[derive(clap::Args)]
struct Input {
    /// Scenario file (`-` for standard input).
    file: Option<String>,
    /// Use a preset instead of a file (see `kexec-sim presets`).
    #[arg(long, conflicts_with = "file")]
    preset: Option<String>,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run a script of ioremap/iounmap/access operations on the kernel page
    /// table (scenario kind "pgtable") with each way of freeing page-table
    /// pages; exit 3 when a CPU's translation disagrees with the table.
    Pgtable {
        #[command(flatten)]
        input: Input,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: LabFormat,
    },
    /// Hot-add and remove memory (scenario kind "hotplug") with each
    /// memmap strategy: sections, vmem_altmap, teardown.
    Hotplug {
        #[command(flatten)]
        input: Input,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: LabFormat,
    },
    /// Place a kexec_file load (scenario kind "placement") with each
    /// variant and judge every memory block for hot-remove.
    Place {
        #[command(flatten)]
        input: Input,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: LabFormat,
        /// Print instead the kimage scenario of this variant's normal load
        /// (for `kexec-sim run -`).
        #[arg(long, value_name = "VARIANT")]
        to_kimage: Option<String>,
    },
    /// Load a scenario with each variant and report.
    Run {
        #[command(flatten)]
        input: Input,
        /// Variant to run (repeatable); default: the scenario's.
        #[arg(long = "variant", value_name = "NAME")]
        variants: Vec<String>,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: RunFormat,
        /// Also run the relocation check (what `kexec -e` does).
        #[arg(long)]
        relocate: bool,
        /// Then unload (kimage_free) and check every page came back.
        #[arg(long)]
        unload: bool,
    },
    /// List the presets and what each shows.
    Presets,
    /// List the findings; with a name, its plain-text write-up (72
    /// columns, with the reproducing link and the code path's file:line).
    Findings {
        /// A finding's name (see the list).
        name: Option<String>,
        /// Base URL of the playground, for the reproducing link.
        #[arg(long, default_value = link::DEFAULT_BASE)]
        base: String,
    },
    /// Print the share link of a scenario.
    Link {
        #[command(flatten)]
        input: Input,
        /// A kimage scenario's variants in the link (repeatable; as for
        /// `run`, `kernel:FILE|NAME` names a kernel build).
        #[arg(long)]
        variant: Vec<String>,
        /// Base URL of the playground.
        #[arg(long, default_value = link::DEFAULT_BASE)]
        base: String,
    },
    /// Search for a failing or diverging load, shrink it, print it.
    Explore {
        #[command(flatten)]
        input: Input,
        /// fault:VARIANT, differ:A,B (entry lists, one allocation order),
        /// verdict:A,B, differ-policy:A,B or verdict-policy:A,B; a variant
        /// may be kernel:FILE|NAME, a kernel build (random search only).
        #[arg(long)]
        goal: String,
        /// Every allocation order of up to --max-calls calls on the base's
        /// machine and segments, pages no rule tells apart as one class.
        #[arg(long)]
        exhaustive: bool,
        /// Exhaustive: orders of up to this many allocator calls.
        #[arg(long, default_value_t = 20, requires = "exhaustive")]
        max_calls: usize,
        /// Stop the whole command (search and shrinking) after this long.
        #[arg(long)]
        max_seconds: Option<f64>,
        /// Candidates to try at most.
        #[arg(long, default_value_t = 20_000)]
        budget: u64,
        /// Seed of the candidate stream.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Threads, random or exhaustive (default: every core); the
        /// result is the same on any number.
        #[arg(long)]
        jobs: Option<usize>,
        /// Base URL of the playground for the link.
        #[arg(long, default_value = link::DEFAULT_BASE)]
        base: String,
    },
    /// Kernel builds: the kernel's own kexec code, patched, as a design.
    Kernel {
        #[command(subcommand)]
        cmd: KernelCmd,
    },
    /// Turn a real machine's kexec load into a scenario and a link: the
    /// page allocator's trace with stacks (see the README for the capture
    /// commands), the segments, /proc/iomem and (i386) the lowmem line. The
    /// scenario goes to --out (else standard output), what the trace held
    /// and the link to standard error.
    Import {
        /// `cat trace` or `trace-cmd report` text (gzip allowed).
        #[arg(long, value_name = "FILE")]
        trace: String,
        /// kexec-tools -d output, or BUFSZ MEM MEMSZ lines.
        #[arg(long, value_name = "FILE")]
        segments: String,
        /// /proc/iomem (read as root).
        #[arg(long, value_name = "FILE")]
        iomem: String,
        /// dmesg (its "Zone ranges" or "LOWMEM available" lines) or
        /// /proc/zoneinfo; needed for an arch with highmem (i386,
        /// i386-pae, arm-lpae), not read for x86_64.
        #[arg(long, value_name = "FILE")]
        lowmem: Option<String>,
        /// The machine's arch.
        #[arg(long, default_value = "i386-pae")]
        arch: String,
        /// Write the scenario file here.
        #[arg(long, value_name = "FILE")]
        out: Option<String>,
        /// The load failed before asking for any page (sanity_check's
        /// errno): accept a trace with no kimage allocation.
        #[arg(long)]
        empty_ok: bool,
        /// Base URL of the playground for the link.
        #[arg(long, default_value = link::DEFAULT_BASE)]
        base: String,
    },
    /// Print the scenario JSON a share link holds.
    Decode {
        /// The link (or its `#s=…` fragment), or a file holding it (`-`:
        /// standard input), for links longer than the argument limit.
        #[arg(value_name = "LINK|FILE|-")]
        link: String,
    },
}

#[derive(Subcommand)]
pub(crate) enum KernelCmd {
    /// Build kernel/kexec_core.c and kernel/kexec.c from a tree or tarball,
    /// with patches, against the playground's kernel-API shim.
    Build {
        /// A kernel tree or source tarball (default: Debian's
        /// /usr/src/linux-source-6.1.tar.xz).
        #[arg(long, value_name = "DIR|TARBALL")]
        source: Option<std::path::PathBuf>,
        /// A patch (unified diff or mbox), applied with patch -p1
        /// semantics; repeatable, applied in order.
        #[arg(long = "patch", value_name = "FILE")]
        patches: Vec<std::path::PathBuf>,
        /// Apply whitespace-tolerantly (patches copied out of mail
        /// archives).
        #[arg(long)]
        fuzzy: bool,
        /// Build without the parts of a patch that change files a build
        /// does not compile (they are listed in the build).
        #[arg(long)]
        skip_other_files: bool,
        /// The build's name (also its registered name, for
        /// `--variant kernel:NAME`).
        #[arg(long)]
        name: Option<String>,
        /// Where to write the build (default: NAME.kbuild).
        #[arg(long, value_name = "FILE")]
        out: Option<std::path::PathBuf>,
    },
    /// Print what a kernel build was built from.
    Info {
        /// A kernel-build file, or a registered name.
        build: String,
    },
    /// List the registered kernel builds.
    List,
}

/// Write to stdout; a closed pipe (`kexec-sim … | head`) ends quietly.
pub(crate) fn out(text: &str) -> bool {
    let mut o = std::io::stdout().lock();
    o.write_all(text.as_bytes()).and_then(|_| o.flush()).is_ok()
}

fn fail(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("kexec-sim: {msg}");
    ExitCode::from(1)
}

impl Input {
    /// The scenario of any kind the input names.
    fn document(self) -> Result<Document, String> {
        if let Some(name) = self.preset {
            return presets::find_document(&name).ok_or_else(|| {
                format!(
                    "no preset \"{name}\" (valid: {})",
                    presets::all_names().join(", ")
                )
            });
        }
        let Some(file) = self.file else {
            return Err("give a scenario FILE or --preset NAME".into());
        };
        let text = read_text(&file, MAX_SCENARIO_BYTES, "a scenario")?;
        Document::from_json(&text).map_err(|e| format!("{}: {e}", shown_path(&file)))
    }

    /// The scenario of kind `K` the input names; another kind is refused
    /// with the command that runs it.
    fn scenario<K: Kind>(
        self,
        take: fn(Document) -> Option<K::Scenario>,
    ) -> Result<K::Scenario, String> {
        let d = self.document()?;
        let (noun, command) = (d.noun(), d.command());
        take(d).ok_or_else(|| {
            format!(
                "that is a {noun} scenario, not a {} scenario: use kexec-sim {command}",
                K::NOUN
            )
        })
    }
}

fn kimage(d: Document) -> Option<Scenario> {
    match d {
        Document::Kimage(s) => Some(s),
        _ => None,
    }
}

/// `--variant NAME...`: the scenario's variants become these (a Rust
/// design by name, or `kernel:FILE|NAME`, a kernel build added to the
/// scenario's `kernels`); the builds read, for the runner. No names: the
/// scenario as it is.
fn choose_variants(sc: &mut Scenario, variants: &[String]) -> Result<Vec<KernelBuild>, String> {
    let mut builds = Vec::new();
    if variants.is_empty() {
        return Ok(builds);
    }
    let vs = variants
        .iter()
        .map(|name| kernel::variant(sc, name, &mut builds))
        .collect::<Result<Vec<_>, _>>()?;
    kexec_core::scenario::check_arch_variants(sc.arch, &vs).map_err(|e| e.message)?;
    sc.variants = vs;
    Ok(builds)
}

/// `kexec-sim run`.
fn run_cmd(
    input: Input,
    variants: &[String],
    format: RunFormat,
    opts: RunOptions,
) -> Result<ExitCode, String> {
    let mut sc = input.scenario::<kexec_core::KimageKind>(kimage)?;
    let mut builds = choose_variants(&mut sc, variants)?;
    builds.extend(kernel::registered_for(&sc, &builds));
    let runs = if builds.is_empty() {
        // The model's designs run side by side on the machine's cores
        // (the same output: results in the scenario's order). A kernel
        // build's interpreter is one thread's, so with builds they run
        // one after another.
        let jobs = std::thread::available_parallelism().map_or(1, |n| n.get());
        run::run_with_kernels_jobs(&sc, opts, &run::NoKernels, jobs)
    } else {
        let runner = kexec_kernel::wasmi_engine::WasmiKernels::new(builds);
        run::run_with_kernels(&sc, opts, &runner)
    };
    out(&match format {
        RunFormat::Text => report::text_with_sources(&sc, &runs),
        RunFormat::Json => pretty(&report::json(&sc, &runs)),
        RunFormat::Entries => report::entries_all(&runs),
    });
    Ok(ExitCode::from(run::exit_status(&runs)))
}

fn pretty(v: &serde_json::Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default() + "\n"
}

/// `kexec-sim place|hotplug|pgtable`: any lab, one path.
fn lab<K: Kind>(
    input: Input,
    format: LabFormat,
    take: fn(Document) -> Option<K::Scenario>,
) -> Result<ExitCode, String> {
    let sc = input.scenario::<K>(take)?;
    let r = K::run(&sc);
    out(&match format {
        LabFormat::Text => kexec_playground::with_sources(&K::report_text(&sc, &r)),
        LabFormat::Json => pretty(&K::report_json(&sc, &r)),
    });
    Ok(ExitCode::from(K::exit_status(&r)))
}

fn placement(d: Document) -> Option<kexec_lab_placement::PlacementScenario> {
    match d {
        Document::Placement(p) => Some(p),
        _ => None,
    }
}

fn hotplug(d: Document) -> Option<kexec_lab_hotplug::HotplugScenario> {
    match d {
        Document::Hotplug(h) => Some(h),
        _ => None,
    }
}

fn pgtable(d: Document) -> Option<kexec_lab_pgtable::PgtableScenario> {
    match d {
        Document::Pgtable(p) => Some(p),
        _ => None,
    }
}

/// `kexec-sim place --to-kimage VARIANT`: that variant's normal load as a
/// kimage scenario.
fn to_kimage_cmd(input: Input, name: &str) -> Result<ExitCode, String> {
    let sc = input.scenario::<Placement>(placement)?;
    let r = Placement::run(&sc);
    let v = PlaceVariant::from_name(name).ok_or_else(|| {
        let valid: Vec<_> = ALL_PLACE_VARIANTS.iter().map(|v| v.name()).collect();
        format!("unknown variant \"{name}\" (valid: {})", valid.join(", "))
    })?;
    let vp = r
        .results
        .iter()
        .find(|x| x.variant == v)
        .ok_or_else(|| format!("the scenario does not run {name}"))?;
    let k = kexec_lab_placement::to_kimage(&sc, &r, vp).ok_or_else(|| {
        let why = vp.error.as_ref().map_or(
            "a kdump load is copied straight into crashk_res: no kimage entry list".to_string(),
            |e| e.to_string(),
        );
        format!("{name}: {why}")
    })?;
    out(&format!("{}\n", k.to_json_pretty()));
    Ok(ExitCode::SUCCESS)
}

/// `kexec-sim presets`: every kind's presets, the labs under a heading
/// naming their command.
fn presets_cmd() -> ExitCode {
    let mut s = String::new();
    for k in presets::by_kind() {
        if k.kind != kexec_core::KimageKind::KIND {
            s += &format!("\n{} lab (kexec-sim {}):\n", k.noun, k.command);
        }
        for (name, title, what, expect) in &k.presets {
            s += &format!("{name}: {title}\n");
            s += &wrap(what, "    ", 4);
            s += &wrap(expect, "    ", 4);
        }
    }
    out(&s);
    ExitCode::SUCCESS
}

/// `kexec-sim findings [NAME]`: every finding (name, title, how sure), or
/// one finding's write-up.
fn findings_cmd(name: Option<&str>, base: &str) -> Result<ExitCode, String> {
    use kexec_playground::findings::{find, FINDINGS};
    let text = match name {
        Some(n) => find(n)
            .ok_or_else(|| {
                let names: Vec<&str> = FINDINGS.iter().map(|f| f.name).collect();
                format!("no finding \"{n}\" (findings: {})", names.join(", "))
            })?
            .write_up(base),
        None => FINDINGS
            .iter()
            .map(|f| wrap(&format!("{}: {}", f.name, f.title), "", 4))
            .collect(),
    };
    out(&text);
    Ok(ExitCode::SUCCESS)
}

/// `kexec-sim link`: with `--variant`, a kimage scenario's designs are
/// chosen first (a kernel build's name, id, source and patch hashes go
/// into the link; the build itself does not).
fn link_cmd(input: Input, variants: &[String], base: &str) -> Result<ExitCode, String> {
    let d = if variants.is_empty() {
        input.document()?
    } else {
        let mut sc = input.scenario::<kexec_core::KimageKind>(kimage)?;
        choose_variants(&mut sc, variants)?;
        Document::Kimage(sc)
    };
    out(&format!("{}\n", link::encode_document(&d, base)));
    Ok(ExitCode::SUCCESS)
}

/// `kexec-sim import`: read the capture's four files, import, write the
/// scenario and print the link.
fn import_cmd(
    files: [&str; 3],
    lowmem: Option<&str>,
    arch: &str,
    empty_ok: bool,
    out_file: Option<&str>,
    base: &str,
) -> Result<ExitCode, String> {
    let arch = kexec_core::arch::Arch::from_name(arch).ok_or_else(|| {
        let valid: Vec<&str> = kexec_core::arch::ALL_ARCHES
            .iter()
            .map(|a| a.name())
            .collect();
        format!(
            "--arch: unknown arch \"{arch}\" (valid: {})",
            valid.join(", ")
        )
    })?;
    let lowmem = match lowmem {
        Some(f) => Some(f),
        None if arch.profile().lowmem_end.is_none() => None,
        None => {
            return Err(format!(
                "--lowmem: needed for {} (its lowmem line: dmesg or /proc/zoneinfo)",
                arch.name()
            ))
        }
    };
    let mut texts = Vec::new();
    for f in files.into_iter().chain(lowmem) {
        let bytes = std::fs::read(f).map_err(|e| format!("{}: {e}", shown_path(f)))?;
        texts.push(
            kexec_capture::import::text_of(&bytes)
                .map_err(|e| format!("{}: {e}", shown_path(f)))?,
        );
    }
    let c = kexec_capture::import(kexec_capture::ImportInput {
        trace: &texts[0],
        segments: &texts[1],
        iomem: &texts[2],
        lowmem: texts.get(3).map_or("", String::as_str),
        arch,
        empty_ok,
    })
    .map_err(|e| e.to_string())?;
    let json = format!("{}\n", c.scenario.to_json_pretty());
    eprint!("{}", c.summary());
    match out_file {
        Some(f) => {
            std::fs::write(f, &json).map_err(|e| format!("{}: {e}", shown_path(f)))?;
            eprintln!("scenario: {f}");
        }
        None => {
            out(&json);
        }
    }
    eprintln!("{}", kexec_core::link::encode(&c.scenario, base));
    Ok(ExitCode::SUCCESS)
}

/// `kexec-sim decode LINK|FILE|-`: the link itself, or read from a file
/// or standard input (links longer than the OS's argument limit).
fn decode_cmd(arg: &str) -> Result<ExitCode, String> {
    let from_file = arg == "-" || std::path::Path::new(arg).is_file();
    let text = if from_file {
        read_text(arg, codec::MAX_LINK_BYTES, "a link")?
    } else {
        arg.to_string()
    };
    let d = link::decode_document(text.trim()).map_err(|e| {
        if from_file {
            format!("{}: {e}", shown_path(arg))
        } else {
            e.to_string()
        }
    })?;
    out(&format!("{}\n", d.to_json_pretty()));
    Ok(ExitCode::SUCCESS)
}

/// `file` as messages name it (`-` is standard input).
fn shown_path(file: &str) -> String {
    if file == "-" {
        "standard input".into()
    } else {
        file.to_string()
    }
}

/// The UTF-8 text of `file` (`-`: standard input), at most `max` bytes of
/// it; `what` it should hold names it in the messages.
fn read_text(file: &str, max: usize, what: &str) -> Result<String, String> {
    let name = shown_path(file);
    let too_big = |size: String| {
        format!(
            "{name}: {size}; {what} is read up to {}",
            text::size(max as u64)
        )
    };
    let mut bytes = Vec::new();
    let read = if file == "-" {
        std::io::stdin()
            .take(max as u64 + 1)
            .read_to_end(&mut bytes)
    } else {
        let f = std::fs::File::open(file).map_err(|e| format!("{name}: {e}"))?;
        match f.metadata() {
            Ok(m) if m.is_dir() => return Err(format!("{name}: a directory, not a file")),
            Ok(m) if m.len() > max as u64 => return Err(too_big(text::size(m.len()))),
            _ => {}
        }
        f.take(max as u64 + 1).read_to_end(&mut bytes)
    };
    read.map_err(|e| format!("{name}: {e}"))?;
    if bytes.len() > max {
        return Err(too_big(format!("more than {}", text::size(max as u64))));
    }
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let b = e.as_bytes()[at];
        format!(
            "{name}: not UTF-8 text (byte 0x{b:02x} at offset {at}); {what} is JSON text in UTF-8"
        )
    })
}

fn main() -> ExitCode {
    let r = match Cli::parse().cmd {
        Cmd::Run {
            input,
            variants,
            format,
            relocate,
            unload,
        } => run_cmd(
            input,
            &variants,
            format,
            RunOptions {
                relocate,
                unload,
                trace: false,
                first_step: false,
            },
        ),
        Cmd::Presets => Ok(presets_cmd()),
        Cmd::Findings { name, base } => findings_cmd(name.as_deref(), &base),
        Cmd::Place {
            input,
            to_kimage: Some(v),
            ..
        } => to_kimage_cmd(input, &v),
        Cmd::Place { input, format, .. } => lab::<Placement>(input, format, placement),
        Cmd::Hotplug { input, format } => lab::<Hotplug>(input, format, hotplug),
        Cmd::Pgtable { input, format } => lab::<Pgtable>(input, format, pgtable),
        Cmd::Link {
            input,
            variant,
            base,
        } => link_cmd(input, &variant, &base),
        Cmd::Explore {
            input,
            goal,
            exhaustive,
            max_calls,
            max_seconds,
            budget,
            seed,
            jobs,
            base,
        } => {
            let sc = input.scenario::<kexec_core::KimageKind>(kimage);
            sc.and_then(|sc| {
                let how = explore::How {
                    exhaustive: exhaustive.then_some(max_calls),
                    max_seconds,
                    budget,
                    seed,
                    jobs,
                };
                explore::command(sc, &goal, how, &base)
            })
        }
        Cmd::Decode { link } => decode_cmd(&link),
        Cmd::Import {
            trace,
            segments,
            iomem,
            lowmem,
            arch,
            out,
            base,
            empty_ok,
        } => import_cmd(
            [&trace, &segments, &iomem],
            lowmem.as_deref(),
            &arch,
            empty_ok,
            out.as_deref(),
            &base,
        ),
        Cmd::Kernel { cmd } => kernel::command(cmd),
    };
    r.unwrap_or_else(fail)
}
