//! Messages between the page and the model's Web Worker.
//!
//! The page posts a [`Request`] as JSON text; the worker answers with
//! [`Response`]s: progress while a large image loads, then the result. The
//! entry words of each run travel beside the JSON as transferable
//! `BigUint64Array`s (a copy of memory each way, no per-word work), which a
//! 1 GiB image (262,144 entries) makes worth it. Physical addresses never
//! become JS numbers.

use kexec_core::design::kernel_code::KernelSpec;
use kexec_core::summary::Summaries;
use serde::{Deserialize, Serialize};

/// Page → worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Request {
    /// Run a scenario (canonical JSON) with its variants.
    Run {
        /// Request id, echoed back.
        id: u32,
        /// The scenario file text.
        scenario: String,
    },
    /// Search candidates `start..end` of the explorer's stream.
    Explore {
        /// Request id.
        id: u32,
        /// The base scenario (JSON).
        base: String,
        /// The goal (`fault:V`, `differ:A,B`, `verdict:A,B`).
        goal: String,
        /// The stream's seed.
        seed: u64,
        /// First candidate.
        start: u64,
        /// End of the range (exclusive).
        end: u64,
    },
    /// Shrink candidate `index` of the stream.
    Shrink {
        /// Request id.
        id: u32,
        /// The base scenario (JSON).
        base: String,
        /// The goal.
        goal: String,
        /// The stream's seed.
        seed: u64,
        /// The candidate that met the goal.
        index: u64,
    },
    /// Load a kernel build (the kernel-build file's text) into the kernel
    /// worker (`kexec-web-kernel`); the model worker answers an error.
    LoadKernel {
        /// Request id.
        id: u32,
        /// The kernel-build file.
        text: String,
    },
    /// Check every allocation order of up to `max_calls` calls on the
    /// base's machine (exhaustive mode); statistics come as it goes, then
    /// the shrunk counterexample or the claim. Cancel: end the worker.
    Exhaustive {
        /// Request id.
        id: u32,
        /// The base scenario (JSON).
        base: String,
        /// The goal.
        goal: String,
        /// Orders of up to this many allocator calls.
        max_calls: usize,
    },
    /// The events of timeline step `step` of the last run, in words.
    Step {
        /// Request id.
        id: u32,
        /// The step.
        step: usize,
    },
}

impl Request {
    /// The request's id.
    pub fn id(&self) -> u32 {
        match self {
            Request::Run { id, .. }
            | Request::Explore { id, .. }
            | Request::Shrink { id, .. }
            | Request::LoadKernel { id, .. }
            | Request::Exhaustive { id, .. }
            | Request::Step { id, .. } => *id,
        }
    }
}

/// The default part of a [`Response::Progress`] (not written out).
fn is_zero(part: &u8) -> bool {
    *part == 0
}

/// A request as the page's own module's model worker reads it: a run or
/// a step, and of any other kind only its id (that worker serves neither
/// the explorer nor kernel builds, and [`Request`]'s whole parser would
/// cost the page's first load its code for every kind).
pub fn model_request(text: &str) -> Result<Request, ModelOnly> {
    serde_json::from_str::<ModelRequest>(text)
        .map_err(|e| ModelOnly::Bad(e.to_string()))
        .and_then(|r| match r {
            ModelRequest::Run(RunBody { id, scenario }) => Ok(Request::Run { id, scenario }),
            ModelRequest::Step(StepBody { id, step }) => Ok(Request::Step { id, step }),
            ModelRequest::Other(kind, IdBody { id }) => Err(ModelOnly::Other { id, kind }),
        })
}

/// Every kind of request, with [`Request`]'s own parser (the explore
/// module's worker, the kernel worker).
pub fn every_request(text: &str) -> Result<Request, Response> {
    serde_json::from_str::<Request>(text).map_err(|e| Response::Error {
        id: 0,
        message: format!("bad request: {e}"),
    })
}

/// Runs and steps: the page's own module's model worker, whose module
/// carries neither the explorer nor kernel builds (another kind is
/// answered with an error naming the worker that serves it).
pub fn model_requests(text: &str) -> Result<Request, Response> {
    model_request(text).map_err(|e| match e {
        ModelOnly::Bad(why) => Response::Error {
            id: 0,
            message: format!("bad request: {why}"),
        },
        ModelOnly::Other { id, kind } => Response::Error {
            id,
            message: format!(
                "the model worker serves runs and steps, not {kind} (the explore module's and the kernel worker do)"
            ),
        },
    })
}

/// What [`model_request`] does not serve.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelOnly {
    /// Not a request at all: why.
    Bad(String),
    /// A request of another kind (`kind`, as its JSON names it).
    Other {
        /// Request id.
        id: u32,
        /// The request's kind.
        kind: String,
    },
}

enum ModelRequest {
    Run(RunBody),
    Step(StepBody),
    Other(String, IdBody),
}

#[derive(Deserialize)]
struct RunBody {
    id: u32,
    scenario: String,
}

#[derive(Deserialize)]
struct StepBody {
    id: u32,
    step: usize,
}

#[derive(Deserialize)]
struct IdBody {
    id: u32,
}

impl<'de> Deserialize<'de> for ModelRequest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Kind;
        impl<'de> serde::de::Visitor<'de> for Kind {
            type Value = ModelRequest;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a request (an object of one key, its kind)")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> Result<Self::Value, A::Error> {
                let Some(kind) = m.next_key::<String>()? else {
                    return Err(serde::de::Error::invalid_length(0, &self));
                };
                Ok(match kind.as_str() {
                    "run" => ModelRequest::Run(m.next_value()?),
                    "step" => ModelRequest::Step(m.next_value()?),
                    _ => ModelRequest::Other(kind, m.next_value()?),
                })
            }
        }
        d.deserialize_map(Kind)
    }
}

/// Worker → page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Response {
    /// The worker's wasm is instantiated and listening (messages posted
    /// before this would be lost, so the page queues them until it comes).
    Ready,
    /// Pages loaded so far, of all variants together. A split run's two
    /// workers each post their own (the second worker's reach the page
    /// through a port of their own, `worker_main`): the page adds the
    /// parts' pages loaded up.
    Progress {
        /// Request id.
        id: u32,
        /// Pages loaded by this part.
        done: u64,
        /// Pages to load: the whole run's (the second worker's part, which
        /// knows only its own designs, says those).
        total: u64,
        /// 0: the worker the page asked; 1: its second worker.
        #[serde(default, skip_serializing_if = "is_zero")]
        part: u8,
    },
    /// The runs (entry words travel beside, one buffer per run).
    Result {
        /// Request id.
        id: u32,
        /// Summaries and the email report.
        summaries: Summaries,
    },
    /// A step's events, one list per run.
    Step {
        /// Request id.
        id: u32,
        /// The step.
        step: usize,
        /// Events in words, per run.
        texts: Vec<Vec<String>>,
    },
    /// An exploration range is done: the first hit in it, if any.
    Explored {
        /// Request id.
        id: u32,
        /// Candidates tried.
        tried: u64,
        /// The first candidate that met the goal.
        hit: Option<u64>,
    },
    /// The shrunk case, as scenario JSON.
    Shrunk {
        /// Request id.
        id: u32,
        /// The scenario.
        scenario: String,
        /// Its share-link fragment (made in the explore module, which
        /// carries the link codec's compressor; the page's module does not).
        fragment: String,
    },
    /// A kernel build is loaded: how a scenario names it, and what
    /// `kexec-sim kernel info` prints for it.
    KernelLoaded {
        /// Request id.
        id: u32,
        /// Name, id, source version, patches.
        spec: KernelSpec,
        /// Source, patches with their sha256, compiler, licence.
        info: String,
    },
    /// Exhaustive mode's statistics so far, as one line.
    Checking {
        /// Request id.
        id: u32,
        /// Distinct states, orders judged, classes, depth, cut, time.
        stats: String,
    },
    /// Exhaustive mode ended: the claim (no counterexample exists within
    /// the bound), or a counterexample follows as [`Response::Shrunk`].
    Checked {
        /// Request id.
        id: u32,
        /// The final statistics.
        stats: String,
        /// The claim, when no order met the goal.
        claim: Option<String>,
        /// The share-link fragment of the scenario the claim is about
        /// (empty without a claim).
        fragment: String,
    },
    /// The request could not be served.
    Error {
        /// Request id.
        id: u32,
        /// Why.
        message: String,
    },
}

/// Requests in flight, by id, with what their answer needs: a handful at
/// a time, so a list (a hash map per value type costs the page's first
/// load its own code).
#[derive(Debug)]
pub struct InFlight<T>(Vec<(u32, T)>);

impl<T> Default for InFlight<T> {
    fn default() -> Self {
        InFlight(Vec::new())
    }
}

impl<T> InFlight<T> {
    /// Note request `id` (replacing what an earlier one with that id held).
    pub fn insert(&mut self, id: u32, v: T) {
        self.remove(id);
        self.0.push((id, v));
    }

    /// Take what request `id` held, if it is in flight.
    pub fn remove(&mut self, id: u32) -> Option<T> {
        let at = self.0.iter().position(|(i, _)| *i == id)?;
        Some(self.0.swap_remove(at).1)
    }

    /// No request in flight.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_json_shape() {
        let r = Request::Step { id: 3, step: 9 };
        let j = serde_json::to_string(&r).unwrap();
        assert_eq!(j, r#"{"step":{"id":3,"step":9}}"#);
        assert_eq!(serde_json::from_str::<Request>(&j).unwrap(), r);
    }
    #[test]
    fn the_model_worker_reads_runs_and_steps_and_the_id_of_the_rest() {
        for r in [
            Request::Run {
                id: 7,
                scenario: "{\"version\":1}".into(),
            },
            Request::Step { id: 3, step: 9 },
        ] {
            let j = serde_json::to_string(&r).unwrap();
            assert_eq!(model_request(&j), Ok(r));
        }
        let other = [
            Request::Explore {
                id: 4,
                base: "{}".into(),
                goal: "fault:pointer".into(),
                seed: 1,
                start: 0,
                end: 100,
            },
            Request::LoadKernel {
                id: 5,
                text: "k".into(),
            },
            Request::Exhaustive {
                id: 6,
                base: "{}".into(),
                goal: "fault:pointer".into(),
                max_calls: 20,
            },
        ];
        for (r, kind) in other
            .into_iter()
            .zip(["explore", "load-kernel", "exhaustive"])
        {
            let j = serde_json::to_string(&r).unwrap();
            assert_eq!(
                model_request(&j),
                Err(ModelOnly::Other {
                    id: r.id(),
                    kind: kind.into()
                })
            );
            // The worker's answer keeps the id and names the kind; the
            // explore module's parser reads it whole.
            let Err(Response::Error { id, message }) = model_requests(&j) else {
                panic!("{j}")
            };
            assert_eq!(id, r.id());
            assert!(message.contains(&format!("not {kind} ")), "{message}");
            assert_eq!(every_request(&j), Ok(r));
        }
        for bad in [
            "",
            "{}",
            "[1]",
            r#"{"run":{"id":1}}"#,
            r#"{"step":{"id":"x","step":1}}"#,
        ] {
            assert!(
                matches!(model_request(bad), Err(ModelOnly::Bad(_))),
                "{bad:?} was read as a request"
            );
            for answer in [model_requests(bad), every_request(bad)] {
                assert!(
                    matches!(&answer, Err(Response::Error { id: 0, message }) if message.starts_with("bad request: ")),
                    "{bad:?}: {answer:?}"
                );
            }
        }
    }

    #[test]
    fn in_flight_requests() {
        let mut f = InFlight::default();
        assert!(f.is_empty());
        f.insert(1, "a");
        f.insert(2, "b");
        f.insert(1, "c");
        assert_eq!(f.remove(3), None);
        assert_eq!(f.remove(1), Some("c"));
        assert_eq!(f.remove(1), None);
        assert_eq!(f.remove(2), Some("b"));
        assert!(f.is_empty());
    }
}
