//! The explorer's side of a worker: random search over a goal's candidate
//! stream, shrinking a hit to a replay scenario, and exhaustive mode, each
//! the core's `explore` run on a request.
//!
//! Linked only into the explore module (`src/explore_main.rs`: Trunk's
//! `explore.js` + `explore_bg.wasm`, fetched when a search first starts)
//! and the kernel module, never into the page's own module: the model
//! worker answers these requests with an error (see
//! [`crate::worker::Explorer`]), so the explorer's engine is not part of
//! the page's first load.

use crate::protocol::{Request, Response};
use crate::worker::Post;
use kexec_core::run::{NoKernels, Workshop};
use kexec_core::scenario::Scenario;
use kexec_core::{explore, link};
use std::cell::RefCell;

thread_local! {
    /// The worker's kimages, kept from one Explore request to the next
    /// (a search is many requests): their tables stay grown
    /// ([`Workshop`]).
    static WORKSHOP: RefCell<Workshop> = RefCell::new(Workshop::default());
}

fn parse_explore(base: &str, goal: &str) -> Result<(Scenario, explore::Goal), String> {
    let sc = Scenario::from_json(base).map_err(|e| e.to_string())?;
    let goal = explore::Goal::parse(goal)?;
    goal.check_arch(sc.arch)?;
    Ok((sc, goal))
}

/// Exhaustive mode's statistics, as the CLI words them (without time: the
/// page shows its own clock).
fn stats_line(s: &explore::Stats) -> String {
    format!(
        "{} distinct states, {} orders judged, {} page classes, depth {}, {} cut at the call bound, {} ineligible choices",
        s.states, s.orders, s.classes, s.depth, s.cut, s.ineligible
    )
}

/// Serve one of the explorer's requests (any other request is answered
/// with an error: the worker's `handle` sends only these here).
pub fn serve(req: Request, post: Post) {
    match req {
        Request::Explore {
            id,
            base,
            goal,
            seed,
            start,
            end,
        } => {
            let (sc, goal) = match parse_explore(&base, &goal) {
                Ok(x) => x,
                Err(message) => return post(Response::Error { id, message }, vec![]),
            };
            let end = end.min(start.saturating_add(explore::MAX_BUDGET));
            let hit = WORKSHOP.with(|ws| {
                let ws = &mut ws.borrow_mut();
                explore::search_range_in(ws, &sc, &goal, seed, start..end, &NoKernels).hit
            });
            let tried = hit.map_or(end - start, |h| h - start + 1);
            post(Response::Explored { id, tried, hit }, vec![]);
        }
        Request::Shrink {
            id,
            base,
            goal,
            seed,
            index,
        } => {
            let (sc, goal) = match parse_explore(&base, &goal) {
                Ok(x) => x,
                Err(message) => return post(Response::Error { id, message }, vec![]),
            };
            let small = explore::shrink(&goal, &explore::candidate(&sc, &goal, seed, index));
            post(shrunk(id, &explore::as_values(&goal, &small)), vec![]);
        }
        Request::Exhaustive {
            id,
            base,
            goal,
            max_calls,
        } => {
            let (sc, goal) = match parse_explore(&base, &goal) {
                Ok(x) => x,
                Err(message) => return post(Response::Error { id, message }, vec![]),
            };
            let opts = explore::ExhaustiveOptions {
                max_calls,
                ..explore::ExhaustiveOptions::default()
            };
            let p = post.clone();
            let r = explore::exhaustive(&sc, &goal, opts, &mut |s| {
                if s.states.is_multiple_of(4096) {
                    let stats = stats_line(s);
                    p(Response::Checking { id, stats }, vec![]);
                }
                true
            });
            match r {
                Err(message) => post(Response::Error { id, message }, vec![]),
                Ok(explore::Exhaustive::Found(found, s)) => {
                    post(
                        Response::Checked {
                            id,
                            stats: stats_line(&s),
                            claim: None,
                            fragment: String::new(),
                        },
                        vec![],
                    );
                    let small = explore::shrink(&goal, &found);
                    post(shrunk(id, &explore::as_values(&goal, &small)), vec![]);
                }
                Ok(r) => {
                    let s = r.stats();
                    let claim = explore::claim(&goal, opts, s);
                    post(
                        Response::Checked {
                            id,
                            stats: stats_line(s),
                            claim: Some(claim),
                            fragment: link::encode_fragment(&sc),
                        },
                        vec![],
                    );
                }
            }
        }
        other => post(
            Response::Error {
                id: other.id(),
                message: "not an explorer request".into(),
            },
            vec![],
        ),
    }
}

/// The answer carrying a shrunk counterexample: the replay scenario and
/// its link's fragment.
fn shrunk(id: u32, small: &Scenario) -> Response {
    Response::Shrunk {
        id,
        scenario: small.to_json(),
        fragment: link::encode_fragment(small),
    }
}
