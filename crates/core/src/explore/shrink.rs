//! Shrinking a hit: fewer and smaller segments, less RAM, then the exact
//! allocation order as a replay list, cut to a 1-minimal one.

use super::{pages, Goal, Search};
use crate::arch::PAGE_SIZE;
use crate::page_alloc::Policy;
use crate::scenario::Scenario;
use kexec_common::units::MIB;
use std::cell::{Cell, RefCell};

/// Most scenarios one shrink tries (each is one or two design runs).
pub const MAX_SHRINK_CHECKS: usize = 20_000;

/// Drop list elements while the goal holds, until no single element can go
/// (1-minimal), trying halves, quarters, … first.
fn minimize_list(holds: &dyn Fn(&Scenario) -> bool, sc: &mut Scenario) {
    let Policy::Replay(list) = &sc.policy else {
        return;
    };
    let mut list = list.clone();
    let try_list = |l: &[u64], sc: &Scenario| {
        let mut t = sc.clone();
        t.policy = Policy::Replay(l.to_vec());
        holds(&t)
    };
    let mut chunk = list.len() / 2;
    while chunk >= 1 {
        let mut i = 0;
        while i < list.len() {
            let end = (i + chunk).min(list.len());
            let mut t = list.clone();
            t.drain(i..end);
            if try_list(&t, sc) {
                list = t;
            } else {
                i += chunk;
            }
        }
        chunk /= 2;
    }
    sc.policy = Policy::Replay(list);
}

/// Reduce a scenario on which `goal` holds to a small one on which it
/// still holds. Deterministic; every accepted step makes the case smaller.
pub fn shrink(goal: &Goal, found: &Scenario) -> Scenario {
    shrink_with(&goal.search(), found)
}

/// [`shrink`] for any [`Search`].
pub fn shrink_with(search: &Search, found: &Scenario) -> Scenario {
    shrink_bounded(search, found, &mut || true)
}

/// [`shrink_with`], trying at most [`MAX_SHRINK_CHECKS`] scenarios and
/// stopping early when `keep_going` says so (the caller's clock): the
/// smallest case found so far, which still meets the goal.
pub fn shrink_bounded(
    search: &Search,
    found: &Scenario,
    keep_going: &mut dyn FnMut() -> bool,
) -> Scenario {
    let checks = Cell::new(0usize);
    let keep_going = RefCell::new(keep_going);
    let holds = |sc: &Scenario| {
        checks.set(checks.get() + 1);
        checks.get() <= MAX_SHRINK_CHECKS && (keep_going.borrow_mut())() && (search.holds)(sc)
    };
    let mut cur = found.clone();
    cur.variants = search.variants.clone();
    for _round in 0..4 {
        let before = (
            cur.segments.len(),
            pages(&cur),
            cur.ram.clone(),
            replay_len(&cur),
        );
        // Fewer segments.
        let mut i = 0;
        while i < cur.segments.len() && cur.segments.len() > 1 {
            let mut t = cur.clone();
            t.segments.remove(i);
            if holds(&t) {
                cur = t;
            } else {
                i += 1;
            }
        }
        // Smaller segments: halve, then one page less.
        for i in 0..cur.segments.len() {
            loop {
                let s = cur.segments[i];
                let pages = s.memsz / PAGE_SIZE;
                let mut done = true;
                for smaller in [pages / 2, pages.saturating_sub(1)] {
                    if smaller == 0 || smaller >= pages {
                        continue;
                    }
                    let mut t = cur.clone();
                    t.segments[i].memsz = smaller * PAGE_SIZE;
                    t.segments[i].bufsz = s.bufsz.min(smaller * PAGE_SIZE);
                    if holds(&t) {
                        cur = t;
                        done = false;
                        break;
                    }
                }
                if done {
                    break;
                }
            }
        }
        // Less RAM: drop ranges, then halve the last one while it still
        // covers every destination.
        let mut i = 0;
        while cur.ram.len() > 1 && i < cur.ram.len() {
            let mut t = cur.clone();
            t.ram.remove(i);
            if holds(&t) {
                cur = t;
            } else {
                i += 1;
            }
        }
        while let Some(&(s, e)) = cur.ram.last() {
            let need = cur
                .segments
                .iter()
                .map(|g| g.mem + g.memsz)
                .max()
                .unwrap_or(0)
                .max(s + 16 * MIB);
            // Round up: never below the end of a destination.
            let half = ((s + (e - s) / 2).max(need) + MIB - 1) & !(MIB - 1);
            if half <= s || half >= e {
                break;
            }
            let mut t = cur.clone();
            let n = t.ram.len();
            t.ram[n - 1].1 = half;
            t.movable.retain(|m| m.1 <= half);
            if holds(&t) {
                cur = t;
            } else {
                break;
            }
        }
        // The exact allocation order as a replay list, then shorten it.
        if !matches!(cur.policy, Policy::Replay(_)) {
            for order in (search.orders)(&cur) {
                let mut t = cur.clone();
                t.policy = Policy::Replay(order);
                if holds(&t) {
                    cur = t;
                    break;
                }
            }
        }
        minimize_list(&holds, &mut cur);
        if (
            cur.segments.len(),
            pages(&cur),
            cur.ram.clone(),
            replay_len(&cur),
        ) == before
        {
            break;
        }
    }
    cur
}

fn replay_len(sc: &Scenario) -> usize {
    match &sc.policy {
        Policy::Replay(l) => l.len(),
        _ => usize::MAX,
    }
}
