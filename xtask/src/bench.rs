//! `cargo xtask bench [--native] [--summary]`: issue 16's budgets, measured.
//!
//! First criterion's benches of the kexec core (`cargo bench -p
//! kexec-core`); then the native budgets, read back from criterion's
//! estimates beside what criterion does not time: the CLI's whole process
//! on huge-initrd with the four kernel designs, and the most heap one
//! design's run holds at once ([`crate::counting`]); then, when the web
//! crate exists, the site's budgets in headless Chromium
//! (`tests/e2e/bench.mjs`, which prints its own table).
//!
//! The native table sets each design beside the floor criterion timed in
//! the same run (`floor-plain-tables`: the same kernel steps on plain
//! tables, not the model) and the host's two references, so that a reading
//! says whether the model or the host is what stands between it and 40 ms.
//!
//! `--native` stops before the site. `--summary` runs no criterion bench:
//! it reads the last run's estimates back (their age is printed) and
//! measures the CLI and the heap again.

use crate::{cargo, counting, dist, has_web, root, run, show, Result};
use kexec_core::design::{Variant, KERNEL_VARIANTS};
use kexec_core::presets;
use kexec_core::run::{run_variant, RunOptions};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

/// Criterion's group of the 1 GiB image (benches/load.rs).
const HUGE: &str = "1GiB-i386-pae-adversarial";
/// The floor's id in that group.
const FLOOR: &str = "floor-plain-tables";
/// The explorer's bench: 500 candidates an iteration.
const EXPLORE: &str = "explore/500-candidates-verdict-pointer-rfc-fixed";
/// The host's references: a dependent chain (its throughput is in cycles)
/// and dependent loads through 64 MiB.
const HOST_CHAIN: &str = "host/dependent-shift-xor-multiply-chain";
const HOST_LOADS: &str = "host/dependent-loads-64MiB";
/// The group of how cost grows with the image.
const SCALING: &str = "scaling";

/// Issue 16's native budgets.
const DESIGN_MS: f64 = 40.0;
const EXPLORE_PER_S: f64 = 10_000.0;
const CLI_MS: f64 = 250.0;
const HEAP_BYTES: usize = 64 << 20;
/// "Linear": the largest image of a scaling family costs at most this many
/// times the smallest's per page.
const LINEAR_SPREAD: f64 = 1.5;
/// Whole-process runs of the CLI; the median is the reading.
const CLI_RUNS: usize = 5;
/// The counting slot of the heap's measurement (the fuzzer's workers
/// start at 0; nothing else counts while the bench runs).
const HEAP_SLOT: usize = counting::SLOTS - 2;

/// `cargo xtask bench [--native] [--summary]` (the module's header).
pub fn bench(args: &[String]) -> Result {
    let (mut native, mut summary) = (false, false);
    for a in args {
        match a.as_str() {
            "--native" => native = true,
            "--summary" => summary = true,
            _ => {
                return Err(format!(
                    "bench: unknown argument {a} (usage: cargo xtask bench [--native] [--summary])"
                ))
            }
        }
    }
    if !summary {
        run(cargo().args(["bench", "-p", "kexec-core"]))?;
    }
    run(cargo().args(["build", "--release", "-p", "kexec-sim"]))?;
    let readings = Readings::read(&criterion_dir())?;
    let cli = cli_whole_process(&target_dir().join("release/kexec-sim"))?;
    let runs = design_runs();
    println!("{}", native_table(&readings, &cli, &runs));
    if !native && has_web() && root().join("tests/e2e/bench.mjs").exists() {
        dist()?;
        run(Command::new("node")
            .args(["tests/e2e/bench.mjs"])
            .current_dir(root()))?;
    }
    Ok(())
}

fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) => root().join(d),
        None => root().join("target"),
    }
}

/// Where criterion keeps its estimates (`CRITERION_HOME`, else the
/// target directory's `criterion`).
fn criterion_dir() -> PathBuf {
    match std::env::var_os("CRITERION_HOME") {
        Some(d) => root().join(d),
        None => target_dir().join("criterion"),
    }
}

/// One criterion benchmark's last reading.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Reading {
    /// The mean's point estimate, in ns an iteration.
    ns: f64,
    /// Its throughput: elements an iteration, if it declared one.
    elements: Option<u64>,
    /// When criterion wrote it.
    at: Option<SystemTime>,
}

impl Reading {
    fn ms(&self) -> f64 {
        self.ns / 1e6
    }

    /// ns an element (an iteration when it declared none).
    fn ns_each(&self) -> f64 {
        self.ns / self.elements.unwrap_or(1).max(1) as f64
    }
}

/// The readings the native table needs.
#[derive(Debug)]
struct Readings {
    chain: Reading,
    loads: Reading,
    floor: Reading,
    designs: Vec<(Variant, Reading)>,
    explore: Reading,
    /// The scaling group's benchmarks, by id.
    scaling: Vec<(String, Reading)>,
}

impl Readings {
    fn read(dir: &Path) -> Result<Self> {
        let one = |id: &str| read_reading(dir, id);
        let mut scaling = Vec::new();
        let sdir = dir.join(SCALING);
        if let Ok(entries) = std::fs::read_dir(&sdir) {
            for e in entries.flatten() {
                let id = e.file_name().to_string_lossy().into_owned();
                if e.path().join("new/estimates.json").is_file() {
                    scaling.push((id.clone(), one(&format!("{SCALING}/{id}"))?));
                }
            }
        }
        scaling.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(Readings {
            chain: one(HOST_CHAIN)?,
            loads: one(HOST_LOADS)?,
            floor: one(&format!("{HUGE}/{FLOOR}"))?,
            designs: KERNEL_VARIANTS
                .iter()
                .map(|&v| Ok((v, one(&format!("{HUGE}/{}", v.name()))?)))
                .collect::<Result<_>>()?,
            explore: one(EXPLORE)?,
            scaling,
        })
    }

    /// Every reading.
    fn all(&self) -> impl Iterator<Item = &Reading> {
        [&self.chain, &self.loads, &self.floor, &self.explore]
            .into_iter()
            .chain(self.designs.iter().map(|d| &d.1))
            .chain(self.scaling.iter().map(|s| &s.1))
    }
}

/// Criterion's last reading of `id` (`group/function`) under `dir`.
fn read_reading(dir: &Path, id: &str) -> Result<Reading> {
    let at = dir.join(id).join("new");
    let est = at.join("estimates.json");
    let text = std::fs::read_to_string(&est).map_err(|e| {
        format!(
            "bench: no criterion reading of {id} ({}: {e}); run `cargo xtask bench` without --summary first",
            est.display()
        )
    })?;
    let v: Value =
        serde_json::from_str(&text).map_err(|e| format!("bench: {}: {e}", est.display()))?;
    let ns = v["mean"]["point_estimate"]
        .as_f64()
        .ok_or_else(|| format!("bench: {}: no mean.point_estimate", est.display()))?;
    let elements = std::fs::read_to_string(at.join("benchmark.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .and_then(|b| b["throughput"]["Elements"].as_u64());
    let at = std::fs::metadata(&est).and_then(|m| m.modified()).ok();
    Ok(Reading { ns, elements, at })
}

/// The CLI's whole process, huge-initrd with the four designs and the
/// relocation check, `--format text`: each run's wall time.
#[derive(Debug)]
struct Cli {
    command: String,
    runs: Vec<Duration>,
}

impl Cli {
    fn median(&self) -> Duration {
        let mut r = self.runs.clone();
        r.sort();
        r[r.len() / 2]
    }
}

fn cli_whole_process(bin: &Path) -> Result<Cli> {
    let mut cmd = Command::new(bin);
    cmd.args(["run", "--preset", "huge-initrd"]);
    for v in KERNEL_VARIANTS {
        cmd.args(["--variant", v.name()]);
    }
    cmd.args(["--relocate", "--format", "text"]);
    cmd.stderr(Stdio::null());
    let mut runs = Vec::new();
    for _ in 0..CLI_RUNS {
        let t = Instant::now();
        let out = cmd.output().map_err(|e| format!("{}: {e}", show(&cmd)))?;
        runs.push(t.elapsed());
        // Any exit status (a design may fault: that is a verdict), but
        // one verdict a design.
        let verdicts = String::from_utf8_lossy(&out.stdout)
            .matches("\nverdict:")
            .count();
        if verdicts != KERNEL_VARIANTS.len() {
            return Err(format!(
                "bench: {} printed {verdicts} verdicts, not {} ({})",
                show(&cmd),
                KERNEL_VARIANTS.len(),
                out.status
            ));
        }
    }
    Ok(Cli {
        command: show(&cmd),
        runs,
    })
}

/// One design's run of huge-initrd (with the relocation check) in this
/// process: how it ended and the most heap it held at once.
#[derive(Debug, Clone, Copy)]
struct DesignRun {
    variant: Variant,
    /// `kexec-sim`'s exit status for it (0: loaded and relocated).
    status: i32,
    heap: usize,
}

fn design_runs() -> Vec<DesignRun> {
    let sc = presets::find("huge-initrd")
        .expect("the huge-initrd preset")
        .scenario;
    KERNEL_VARIANTS
        .iter()
        .map(|&variant| {
            let opts = RunOptions {
                relocate: true,
                ..Default::default()
            };
            let (status, heap) =
                counting::heap_peak(HEAP_SLOT, || run_variant(&sc, variant, opts).exit_status());
            DesignRun {
                variant,
                status,
                heap,
            }
        })
        .collect()
}

/// A row of the table: what, its limit, the reading, the verdict.
type Row = [String; 4];

fn verdict(ok: bool, bad: &str) -> String {
    if ok { "ok" } else { bad }.into()
}

/// The native budgets' table, the host's lines and what they say.
///
/// A design whose run stops (a fault or an errno: its verdict) is timed to
/// where it stops and kept out of the comparison with the floor, which
/// loads the whole image.
fn native_table(r: &Readings, cli: &Cli, runs: &[DesignRun]) -> String {
    let mut rows: Vec<Row> = Vec::new();
    for (v, d) in &r.designs {
        let measured = match stopped(runs, *v) {
            Some(status) => format!("{:.2} ms (stops: exit status {status})", d.ms()),
            None => format!("{:.1} ms ({:.2}x the floor)", d.ms(), d.ns / r.floor.ns),
        };
        rows.push([
            format!("1 GiB huge-initrd, {} + relocation", v.name()),
            format!("{DESIGN_MS:.0} ms"),
            measured,
            verdict(d.ms() <= DESIGN_MS, "OVER"),
        ]);
    }
    let rate = 1e9 / r.explore.ns_each();
    rows.push([
        "explorer, one core (verdict:pointer,rfc-fixed)".into(),
        format!("{EXPLORE_PER_S:.0}/s"),
        format!("{rate:.0}/s"),
        verdict(rate >= EXPLORE_PER_S, "UNDER"),
    ]);
    let cli_ms = cli.median().as_secs_f64() * 1e3;
    rows.push([
        format!(
            "CLI, four designs, whole process (median of {})",
            cli.runs.len()
        ),
        format!("{CLI_MS:.0} ms"),
        format!("{cli_ms:.0} ms"),
        verdict(cli_ms <= CLI_MS, "OVER"),
    ]);
    if let Some(most) = runs.iter().max_by_key(|d| d.heap) {
        rows.push([
            "heap at its peak, one design (the largest)".into(),
            format!("{} MiB", HEAP_BYTES >> 20),
            format!(
                "{:.1} MiB ({})",
                most.heap as f64 / (1 << 20) as f64,
                most.variant.name()
            ),
            verdict(most.heap <= HEAP_BYTES, "OVER"),
        ]);
    }
    for (family, sizes) in scaling_families(&r.scaling) {
        let per_page: Vec<f64> = sizes.iter().map(|(_, x)| x.ns_each()).collect();
        let (first, last) = (per_page[0], per_page[per_page.len() - 1]);
        let figures: Vec<String> = sizes
            .iter()
            .zip(&per_page)
            .map(|((mib, _), ns)| format!("{mib} MiB {ns:.0}"))
            .collect();
        rows.push([
            format!("how cost grows, {family}, ns a page"),
            format!("linear ({LINEAR_SPREAD}x)"),
            figures.join(", "),
            verdict(last <= first * LINEAR_SPREAD, "GROWS"),
        ]);
    }
    let mut out = String::from("native budgets (issue 16), this host:\n");
    out += &table(&rows);
    let ghz = 1.0 / r.chain.ns_each();
    out += &format!(
        "\nthe host: a dependent chain at {ghz:.2} G cycles/s, {:.0} ns a dependent load through 64 MiB\n",
        r.loads.ns_each()
    );
    out += &format!(
        "the floor (the same kernel steps on plain tables, not the model): {:.1} ms\n",
        r.floor.ms()
    );
    out += &floor_says(r, runs);
    out += &format!("the CLI's command: {}\n", cli.command);
    if let Some(age) = r.all().filter_map(|x| x.at?.elapsed().ok()).max() {
        out += &format!(
            "criterion's readings are up to {} min old\n",
            age.as_secs() / 60
        );
    }
    out
}

/// The exit status of `v`'s run if it stopped before the image loaded and
/// relocated.
fn stopped(runs: &[DesignRun], v: Variant) -> Option<i32> {
    runs.iter()
        .find(|d| d.variant == v)
        .map(|d| d.status)
        .filter(|&s| s != 0)
}

/// What the floor says of the designs' verdict on this host (the designs
/// that load the whole image, as the floor does).
fn floor_says(r: &Readings, runs: &[DesignRun]) -> String {
    let ratios: Vec<f64> = r
        .designs
        .iter()
        .filter(|(v, _)| stopped(runs, *v).is_none())
        .map(|(_, d)| d.ns / r.floor.ns)
        .collect();
    let lo = ratios.iter().cloned().fold(f64::INFINITY, f64::min);
    let hi = ratios.iter().cloned().fold(0.0, f64::max);
    let designs = if ratios.is_empty() {
        String::new()
    } else {
        format!(" (the designs that load it {lo:.2}-{hi:.2}x the floor)")
    };
    if r.floor.ms() > DESIGN_MS {
        format!(
            "the floor itself is over {DESIGN_MS:.0} ms here: on this host no model of these steps meets the budget{designs}\n"
        )
    } else {
        format!(
            "the floor is under {DESIGN_MS:.0} ms here: a design needs to be within {:.2}x of it{designs}\n",
            DESIGN_MS / r.floor.ms()
        )
    }
}

/// The scaling group's ids (`ARCH-POLICY-NMiB`) by family, each family's
/// images smallest first.
fn scaling_families(s: &[(String, Reading)]) -> Vec<(String, Vec<(u64, Reading)>)> {
    let mut out: Vec<(String, Vec<(u64, Reading)>)> = Vec::new();
    for (id, x) in s {
        let Some((family, size)) = id.rsplit_once('-') else {
            continue;
        };
        let Some(mib) = size.strip_suffix("MiB").and_then(|m| m.parse().ok()) else {
            continue;
        };
        match out.iter_mut().find(|f| f.0 == family) {
            Some(f) => f.1.push((mib, *x)),
            None => out.push((family.into(), vec![(mib, *x)])),
        }
    }
    for f in &mut out {
        f.1.sort_by_key(|s| s.0);
    }
    out
}

fn table(rows: &[Row]) -> String {
    let head: Row = [
        "budget".into(),
        "limit".into(),
        "measured".into(),
        "verdict".into(),
    ];
    let all: Vec<&Row> = std::iter::once(&head).chain(rows).collect();
    let width = |c: usize| all.iter().map(|r| r[c].chars().count()).max().unwrap_or(0);
    let w = [width(0), width(1), width(2)];
    let mut out = String::new();
    for r in all {
        out += &format!(
            "  {:<a$}  {:<b$}  {:<c$}  {}\n",
            r[0],
            r[1],
            r[2],
            r[3],
            a = w[0],
            b = w[1],
            c = w[2]
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(ms: f64, elements: Option<u64>) -> Reading {
        Reading {
            ns: ms * 1e6,
            elements,
            at: None,
        }
    }

    fn readings(floor_ms: f64, design_ms: [f64; 4]) -> Readings {
        Readings {
            chain: reading(8.0, Some(20_000_000)),
            loads: reading(40.0, Some(262_144)),
            floor: reading(floor_ms, None),
            designs: KERNEL_VARIANTS
                .iter()
                .zip(design_ms)
                .map(|(&v, ms)| (v, reading(ms, None)))
                .collect(),
            explore: reading(50.0, Some(500)),
            scaling: vec![
                (
                    "x86_64-adversarial-64MiB".into(),
                    reading(6.0, Some(16_384)),
                ),
                (
                    "x86_64-adversarial-1024MiB".into(),
                    reading(112.0, Some(262_144)),
                ),
                ("i386-pae-random-256MiB".into(), reading(60.0, Some(65_536))),
                ("i386-pae-random-64MiB".into(), reading(9.0, Some(16_384))),
            ],
        }
    }

    fn run(variant: Variant, status: i32, heap: usize) -> DesignRun {
        DesignRun {
            variant,
            status,
            heap,
        }
    }

    fn cli(ms: &[u64]) -> Cli {
        Cli {
            command: "kexec-sim run".into(),
            runs: ms.iter().map(|&m| Duration::from_millis(m)).collect(),
        }
    }

    fn row<'a>(t: &'a str, starts: &str) -> &'a str {
        t.lines()
            .find(|l| l.trim_start().starts_with(starts))
            .unwrap_or_else(|| panic!("no row {starts:?} in\n{t}"))
    }

    #[test]
    fn each_budget_is_judged_against_its_limit() {
        let r = readings(55.0, [92.0, 39.5, 0.1, 40.0]);
        let runs = [
            run(Variant::Pointer, 0, 30 << 20),
            run(Variant::RfcPosted, 3, 1 << 20),
            run(Variant::RfcFixed, 0, 65 << 20),
        ];
        let t = native_table(&r, &cli(&[300, 140, 150, 160, 900]), &runs);
        assert!(
            row(&t, "1 GiB huge-initrd, pointer").ends_with("OVER"),
            "{t}"
        );
        assert!(row(&t, "1 GiB huge-initrd, pointer").contains("92.0 ms (1.67x the floor)"));
        assert!(
            row(&t, "1 GiB huge-initrd, highmem-zone").ends_with("ok"),
            "{t}"
        );
        assert!(
            row(&t, "1 GiB huge-initrd, rfc-fixed").ends_with("ok"),
            "{t}"
        );
        // 500 candidates in 50 ms.
        assert!(row(&t, "explorer").contains("10000/s"), "{t}");
        assert!(row(&t, "explorer").ends_with("ok"), "{t}");
        // The median, not the mean (the 900 ms outlier) nor the least.
        assert!(row(&t, "CLI").contains(" 160 ms"), "{t}");
        assert!(row(&t, "CLI").ends_with("ok"), "{t}");
        assert!(row(&t, "heap").contains("65.0 MiB (rfc-fixed)"), "{t}");
        assert!(row(&t, "heap").ends_with("OVER"), "{t}");
        assert!(
            t.contains("2.50 G cycles/s, 153 ns a dependent load"),
            "{t}"
        );
        // rfc-posted faults at its first page: timed, not set beside the
        // floor.
        assert!(
            row(&t, "1 GiB huge-initrd, rfc-posted").contains("0.10 ms (stops: exit status 3)"),
            "{t}"
        );
        assert!(
            t.contains("the floor itself is over 40 ms here: on this host no model of these steps meets the budget (the designs that load it 0.72-1.67x the floor)"),
            "{t}"
        );
    }

    #[test]
    fn the_floor_under_the_budget_names_the_ratio_a_design_needs() {
        let r = readings(32.0, [64.0, 60.0, 0.1, 61.0]);
        let t = native_table(&r, &cli(&[300, 260, 270]), &[]);
        assert!(row(&t, "CLI").ends_with("OVER"), "{t}");
        assert!(row(&t, "explorer").ends_with("ok"), "{t}");
        assert!(!t.contains("heap"), "no heap measured, no row: {t}");
        let runs = KERNEL_VARIANTS.map(|v| run(v, if v == Variant::RfcPosted { 3 } else { 0 }, 0));
        let t = native_table(&r, &cli(&[100]), &runs);
        assert!(
            t.contains("within 1.25x of it (the designs that load it 1.88-2.00x the floor)"),
            "{t}"
        );
    }

    #[test]
    fn cost_per_page_is_linear_within_each_family() {
        let r = readings(32.0, [64.0, 60.0, 0.1, 61.0]);
        let t = native_table(&r, &cli(&[100]), &[]);
        // 366 -> 427 ns a page: within 1.5x.
        let x = row(&t, "how cost grows, x86_64-adversarial");
        assert!(x.contains("64 MiB 366, 1024 MiB 427"), "{t}");
        assert!(x.ends_with("ok"), "{t}");
        // 549 -> 916 ns a page: more than 1.5x.
        let i = row(&t, "how cost grows, i386-pae-random");
        assert!(i.contains("64 MiB 549, 256 MiB 916"), "{t}");
        assert!(i.ends_with("GROWS"), "{t}");
    }

    #[test]
    fn a_reading_comes_back_from_criterions_files() {
        let dir = root().join("target/xtask-bench-test");
        let at = dir.join("g/f/new");
        std::fs::create_dir_all(&at).unwrap();
        std::fs::write(
            at.join("estimates.json"),
            r#"{"mean":{"point_estimate":91298941.2},"median":{"point_estimate":1.0}}"#,
        )
        .unwrap();
        std::fs::write(
            at.join("benchmark.json"),
            r#"{"group_id":"g","throughput":{"Elements":262144}}"#,
        )
        .unwrap();
        let r = read_reading(&dir, "g/f").unwrap();
        assert_eq!(r.ns, 91298941.2);
        assert_eq!(r.elements, Some(262_144));
        assert!(r.at.is_some());
        let e = read_reading(&dir, "g/missing").unwrap_err();
        assert!(e.contains("no criterion reading of g/missing"), "{e}");
        std::fs::write(at.join("estimates.json"), "{}").unwrap();
        let e = read_reading(&dir, "g/f").unwrap_err();
        assert!(e.contains("no mean.point_estimate"), "{e}");
    }
}
