//! The real kernel's answer and the model's, side by side: the helper of
//! `cargo xtask real-kernel` prints kexec_load's return, the kimage list
//! it read back through /proc/kcore (`head`, then each indirection page's
//! words up to IND_DONE) and the unload's return; [`compare`] runs the
//! model (`pointer`, upstream's design) on the captured order and says
//! whether it built the same words and freed the same pages, during the
//! load and on unload.

use crate::import::{Capture, RealFrees};
use kexec_core::design::Variant;
use kexec_core::kimage::Stop;
use kexec_core::run::{run_variant, Outcome, RunOptions, Unload};
use kexec_core::scenario::Scenario;

/// What the real kernel did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RealResult {
    /// kexec_load's return (0, or -errno).
    pub load: i64,
    /// image->head.
    pub head: Option<u64>,
    /// The words of the indirection pages, in walk order.
    pub words: Vec<u64>,
    /// The unload's return.
    pub unload: Option<i64>,
    /// The segments the helper loaded (bufsz, mem, memsz).
    pub segments: Vec<(u64, u64, u64)>,
}

/// Read the helper's output (`seg B M Z`…, `load R`, `head W`, `word W`…,
/// `unload R`).
pub fn read_result(text: &str) -> Result<RealResult, String> {
    let mut r = RealResult::default();
    let mut saw_load = false;
    for (i, line) in text.lines().enumerate() {
        let hex = |s: &str| {
            u64::from_str_radix(s.trim().trim_start_matches("0x"), 16)
                .map_err(|_| format!("list line {}: {s:?} is not a hex word", i + 1))
        };
        let dec = |s: &str| {
            s.trim()
                .parse::<i64>()
                .map_err(|_| format!("list line {}: {s:?} is not a number", i + 1))
        };
        match line.split_once(' ') {
            Some(("load", v)) => {
                r.load = dec(v)?;
                saw_load = true;
            }
            Some(("head", v)) => r.head = Some(hex(v)?),
            Some(("word", v)) => r.words.push(hex(v)?),
            Some(("unload", v)) => r.unload = Some(dec(v)?),
            Some(("seg", v)) => {
                let f: Vec<&str> = v.split_whitespace().collect();
                if f.len() != 3 {
                    return Err(format!(
                        "list line {}: {line:?} is not seg BUFSZ MEM MEMSZ",
                        i + 1
                    ));
                }
                r.segments.push((hex(f[0])?, hex(f[1])?, hex(f[2])?));
            }
            _ if line.trim().is_empty() => {}
            _ => {
                return Err(format!(
                    "list line {}: {line:?} is not the helper's output",
                    i + 1
                ))
            }
        }
    }
    if !saw_load {
        return Err("the list has no \"load\" line (the helper did not run?)".into());
    }
    Ok(r)
}

/// Run the model on the capture and compare (words counted from head,
/// word 0): `Ok` with a one-line
/// verdict when the model agrees word for word (and on the pages freed
/// during the load and by the unload), `Err` with the first difference.
/// A load that failed agrees when the model returns the same errno and
/// frees as many pages in all (the load's own frees and kimage_free's).
pub fn compare(c: &Capture, real: &RealResult) -> Result<String, String> {
    compare_scenario(&c.scenario, real, c.frees())
}

/// [`compare`] for a scenario and the pages the real kernel freed (a
/// fixture stored as its imported scenario).
pub fn compare_scenario(
    sc: &Scenario,
    real: &RealResult,
    frees: RealFrees,
) -> Result<String, String> {
    let run = run_variant(
        sc,
        Variant::Pointer,
        RunOptions {
            unload: true,
            ..Default::default()
        },
    );
    match (&run.outcome, real.load) {
        (Outcome::Loaded, 0) => {}
        (Outcome::Stopped(Stop::Errno { errno, .. }), r) if r == -i64::from(errno.number()) => {
            let real_all = frees.in_load + frees.unload;
            return match &run.unload {
                Some(Unload::Ok { freed }) if *freed == real_all => Ok(format!(
                    "identical: both return -{} ({}){}",
                    errno.number(),
                    errno.name(),
                    if real_all > 0 {
                        format!(" and free {real_all} pages")
                    } else {
                        String::new()
                    }
                )),
                u => Err(format!(
                    "both return -{}, but the real kernel freed {real_all} pages and the model {u:?}",
                    errno.number()
                )),
            };
        }
        (o, r) => {
            let model = match o {
                Outcome::Loaded => "loads".to_string(),
                Outcome::Stopped(s) => format!("stops: {s}"),
                Outcome::Unloaded => "unloads".to_string(),
            };
            return Err(format!(
                "kexec_load returned {r} on the real kernel; the model {model}"
            ));
        }
    }
    let mut model: Vec<u64> = run.entries.words().to_vec();
    model.push(run.end_word);
    // The model's list starts with head (the first indirection page).
    let real_words: Vec<u64> = real.head.iter().chain(&real.words).copied().collect();
    if let Some(i) =
        (0..model.len().max(real_words.len())).find(|&i| model.get(i) != real_words.get(i))
    {
        let show = |w: Option<&u64>| {
            w.map_or("(the list has ended)".to_string(), |w| format!("0x{w:08x}"))
        };
        return Err(format!(
            "first differing word: {i} of {} (real {}, model {})",
            real_words.len(),
            show(real_words.get(i)),
            show(model.get(i))
        ));
    }
    if run.counters.pages_freed != frees.in_load {
        return Err(format!(
            "the same {} words, but the load freed {} pages on the real kernel and {} in the model",
            model.len(),
            frees.in_load,
            run.counters.pages_freed
        ));
    }
    let real_freed = frees.unload;
    let unload = match (&run.unload, real.unload) {
        (Some(Unload::Ok { freed }), Some(0)) if *freed == real_freed => {
            format!("; unload freed {freed} pages, as the model")
        }
        (Some(Unload::Ok { freed }), Some(0)) => {
            return Err(format!(
                "the same {} words, but the unload freed {real_freed} pages on the real kernel and {freed} in the model",
                model.len()
            ))
        }
        (u, r) => return Err(format!("the same words, but the unload differs: real {r:?}, model {u:?}")),
    };
    Ok(format!("identical: {} words{unload}", model.len()))
}
