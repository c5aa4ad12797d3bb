//! `kexec-sim explore`: random search over candidates (threads over index
//! ranges) or exhaustive checking of a small machine, then the hit shrunk
//! and printed as values (a replay scenario and its link). The search
//! itself is the core's ([`kexec_core::explore`]); this is the clock, the
//! threads and the printing.

use crate::{kernel, out};
use kexec_core::explore::{self, Exhaustive, ExhaustiveOptions, Goal, Stats};
use kexec_core::run::Workshop;
use kexec_core::run::{self, RunOptions};
use kexec_core::scenario::Scenario;
use kexec_core::{link, report};
use kexec_kernel::build_file::KernelBuild;
use kexec_kernel::wasmi_engine::WasmiKernels;
use std::ops::Range;
use std::process::ExitCode;
use std::rc::Rc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How to explore.
pub struct How {
    /// Exhaustive, with this many calls at most; None: random candidates.
    pub exhaustive: Option<usize>,
    /// The whole command's time bound.
    pub max_seconds: Option<f64>,
    /// Random: candidates to try at most.
    pub budget: u64,
    /// Random: the candidate stream's seed.
    pub seed: u64,
    /// Random: threads.
    pub jobs: Option<usize>,
}

/// Exit status of an exhaustive run the clock stopped.
const STOPPED: u8 = 7;

/// The goal, its `kernel:FILE|NAME` variants read as kernel builds added
/// to the scenario (as `run --variant` reads them); the builds read.
fn parse_goal(sc: &mut Scenario, goal: &str) -> Result<(Goal, Vec<KernelBuild>), String> {
    let mut builds = Vec::new();
    let goal = Goal::parse_with(goal, &mut |name| {
        kernel::variant(sc, name.trim(), &mut builds)
    })?;
    goal.check_arch(sc.arch)?;
    Ok((goal, builds))
}

/// The goal as written, kernel builds by their names.
fn goal_text(sc: &Scenario, goal: &Goal) -> String {
    let names: Vec<String> = goal
        .variants()
        .iter()
        .map(|&v| sc.variant_name(v))
        .collect();
    format!("{}:{}", goal.kind(), names.join(","))
}

/// Check the goal and the bounds, then search.
pub fn command(mut sc: Scenario, goal: &str, how: How, base: &str) -> Result<ExitCode, String> {
    let (goal, builds) = parse_goal(&mut sc, goal)?;
    let sc = &sc;
    let deadline = match how.max_seconds {
        None => None,
        Some(s) if s.is_finite() && s > 0.0 && s <= 1e7 => {
            Some(Instant::now() + Duration::from_secs_f64(s))
        }
        Some(s) => {
            return Err(format!(
                "--max-seconds {s}: a number of seconds above 0 and at most 10000000"
            ))
        }
    };
    let jobs = how
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .clamp(1, 256);
    if let Some(max_calls) = how.exhaustive {
        if max_calls == 0 || max_calls > explore::MAX_CALLS {
            return Err(format!(
                "--max-calls {max_calls}: from 1 to {} allocator calls",
                explore::MAX_CALLS
            ));
        }
        if !builds.is_empty() {
            return Err(format!(
                "--exhaustive runs the model's designs; {} names a kernel build: search it at random (drop --exhaustive)",
                goal_text(sc, &goal)
            ));
        }
        return exhaustive(sc, &goal, max_calls, jobs, deadline, base);
    }
    let budget = if how.budget == 0 {
        eprintln!("kexec-sim: a budget of 0 tries nothing; using 1");
        1
    } else if how.budget > explore::MAX_BUDGET {
        eprintln!("kexec-sim: budget capped at {}", explore::MAX_BUDGET);
        explore::MAX_BUDGET
    } else {
        how.budget
    };
    let find = Find {
        budget,
        seed: how.seed,
        jobs,
        deadline,
    };
    Ok(search(sc, &goal, &builds, find, base))
}

/// A random search's bounds.
struct Find {
    budget: u64,
    seed: u64,
    jobs: usize,
    deadline: Option<Instant>,
}

fn in_time(deadline: Option<Instant>) -> bool {
    deadline.is_none_or(|d| Instant::now() < d)
}

/// Search `budget` candidates in chunks, `jobs` threads per chunk; the hit
/// with the lowest index wins, so the result does not depend on `jobs`.
fn search(sc: &Scenario, goal: &Goal, builds: &[KernelBuild], find: Find, base: &str) -> ExitCode {
    use std::io::IsTerminal;
    let Find {
        budget,
        seed,
        jobs,
        deadline,
    } = find;
    let named = goal_text(sc, goal);
    let tty = std::io::stderr().is_terminal();
    let chunk = 256 * jobs as u64;
    let mut start = 0;
    let mut hit = None;
    let mut ineligible = 0;
    std::thread::scope(|s| {
        // One thread per job for the whole search, each with its own
        // interpreter (a build's compiled module is not shared across
        // threads) and its own workshop: its kimages' tables stay grown
        // from one chunk to the next. A thread that panics answers no
        // more ranges (its result channel closes): its ranges count as
        // finding nothing, as a panicked thread's did.
        let workers: Vec<_> = (0..jobs)
            .map(|_| {
                let (ranges, rx) = mpsc::channel::<Range<u64>>();
                let (tx, results) = mpsc::channel::<explore::Found>();
                s.spawn(move || {
                    let kernels = WasmiKernels::new(builds.to_vec());
                    let mut ws = Workshop::default();
                    for r in rx {
                        let f = explore::search_range_in(&mut ws, sc, goal, seed, r, &kernels);
                        if tx.send(f).is_err() {
                            break;
                        }
                    }
                });
                (ranges, results)
            })
            .collect();
        while start < budget && hit.is_none() && in_time(deadline) {
            let end = (start + chunk).min(budget);
            let per = (end - start).div_ceil(jobs as u64);
            let sent: Vec<bool> = (0..jobs as u64)
                .map(|t| {
                    let lo = (start + t * per).min(end);
                    let hi = (lo + per).min(end);
                    workers[t as usize].0.send(lo..hi).is_ok()
                })
                .collect();
            let found: Vec<explore::Found> = workers
                .iter()
                .zip(sent)
                .filter(|(_, sent)| *sent)
                .filter_map(|(w, _)| w.1.recv().ok())
                .collect();
            hit = found.iter().filter_map(|f| f.hit).min();
            // Ineligible candidates before the hit: whole ranges below it.
            ineligible += found
                .iter()
                .filter(|f| f.hit.is_none() || f.hit == hit)
                .map(|f| f.ineligible)
                .sum::<u64>();
            start = end;
            progress(tty, start, budget);
        }
        // Dropping the range senders ends the threads.
        drop(workers);
    });
    if tty {
        eprintln!();
    }
    if goal.same_order() {
        eprintln!(
            "explore: {ineligible} candidates ineligible (B's request could not take a page A got)"
        );
    }
    let Some(i) = hit else {
        let why = if in_time(deadline) {
            format!("within the budget of {budget}")
        } else {
            format!("in the time given ({start} candidates tried)")
        };
        eprintln!("explore: no candidate met {named} {why}");
        return ExitCode::from(1);
    };
    eprintln!("explore: candidate {i} meets {named}; shrinking");
    let found = explore::candidate(sc, goal, seed, i);
    print_hit(goal, &found, builds, deadline, base);
    ExitCode::SUCCESS
}

/// Shrink a hit within the clock and print it as values: scenario, link,
/// report.
fn print_hit(
    goal: &Goal,
    found: &Scenario,
    builds: &[KernelBuild],
    deadline: Option<Instant>,
    base: &str,
) {
    let kernels = Rc::new(WasmiKernels::new(builds.to_vec()));
    let search = goal.search_with(kernels.clone());
    let small = explore::shrink_bounded(&search, found, &mut || in_time(deadline));
    let small = explore::as_values_with(goal, &small, &*kernels);
    let runs = run::run_with_kernels(
        &small,
        RunOptions {
            relocate: true,
            unload: false,
            trace: false,
            first_step: false,
        },
        &*kernels,
    );
    out(&format!(
        "{}\n{}\n\n{}",
        small.to_json_pretty(),
        link::encode(&small, base),
        report::text(&small, &runs)
    ));
}

/// TLC-like statistics on one line.
fn stats_line(s: &Stats, t: Duration) -> String {
    format!(
        "{} distinct states, {} orders judged, {} page classes, depth {}, {} cut at the call bound, {} ineligible choices, {} states seen again, {} orders run, {:.1} s",
        s.states,
        s.orders,
        s.classes,
        s.depth,
        s.cut,
        s.ineligible,
        s.seen,
        s.judged,
        t.as_secs_f64()
    )
}

fn exhaustive(
    sc: &Scenario,
    goal: &Goal,
    max_calls: usize,
    jobs: usize,
    deadline: Option<Instant>,
    base: &str,
) -> Result<ExitCode, String> {
    let t0 = Instant::now();
    let mut last = t0;
    let opts = ExhaustiveOptions {
        max_calls,
        jobs,
        ..ExhaustiveOptions::default()
    };
    let r = explore::exhaustive(sc, goal, opts, &mut |s| {
        if last.elapsed() >= Duration::from_secs(2) {
            last = Instant::now();
            eprintln!("explore: {}", stats_line(s, t0.elapsed()));
        }
        in_time(deadline)
    })?;
    let s = r.stats();
    eprintln!("explore: {}", stats_line(s, t0.elapsed()));
    for (v, by) in &s.verdicts {
        let list: Vec<String> = by.iter().map(|(k, n)| format!("{k} {n}")).collect();
        eprintln!("explore: {v}: {}", list.join(", "));
    }
    Ok(match r {
        Exhaustive::Found(found, _) => {
            eprintln!("explore: an order meets {goal}; shrinking");
            print_hit(goal, &found, &[], deadline, base);
            ExitCode::SUCCESS
        }
        Exhaustive::Claim(s) => {
            out(&format!("{}\n", explore::claim(goal, opts, &s)));
            ExitCode::from(1)
        }
        Exhaustive::Stopped(_) => {
            eprintln!("explore: stopped by --max-seconds before every order was judged: no claim");
            ExitCode::from(STOPPED)
        }
    })
}

/// The explorer's progress on stderr: a bar on a terminal, a line otherwise.
fn progress(tty: bool, done: u64, budget: u64) {
    if tty {
        let width = 40;
        let filled = (done * width / budget) as usize;
        eprint!(
            "\r[{}{}] {done}/{budget} candidates",
            "#".repeat(filled),
            " ".repeat(width as usize - filled)
        );
    } else {
        eprintln!("explore: {done}/{budget} candidates tried");
    }
}
