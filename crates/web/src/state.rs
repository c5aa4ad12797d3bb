//! The page's state: one reducer (Yew `use_reducer`), pure, no side effects.
//! Running the model, the URL and storage are effects in `crate::hooks`.

use crate::form::{Form, SegmentForm};
use kexec_common::InputError;
use kexec_core::arch::Arch;
use kexec_core::design::kernel_code::KernelSpec;
use kexec_core::design::{KernelId, Variant};
use kexec_core::presets;
use kexec_core::scenario::Scenario;
use kexec_core::summary::Summaries;
use std::rc::Rc;
use yew::Reducible;

const CANCELLED: &str = "Run cancelled.";
const CANCELLED_KEPT: &str = "Run cancelled: the panes show the previous result.";

/// A finished run of both variants.
#[derive(Debug, PartialEq)]
pub struct RunResult {
    /// The request id.
    pub id: u32,
    /// The scenario it ran.
    pub scenario: Scenario,
    /// Summaries and the email report.
    pub summaries: Summaries,
    /// Entry words per run.
    pub words: Vec<Rc<Vec<u64>>>,
}

/// What the worker is doing.
#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    /// Nothing asked.
    Idle,
    /// A run is going.
    Running {
        /// Request id.
        id: u32,
        /// Pages loaded (by both workers of a split run).
        done: u64,
        /// Pages to load.
        total: u64,
        /// Pages loaded by each part of a split run (the worker asked,
        /// its second worker).
        parts: [u64; 2],
    },
    /// The last run was cancelled.
    Cancelled,
    /// The last request failed.
    Failed(String),
}

/// A segment field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SegField {
    /// bufsz.
    Bufsz,
    /// mem.
    Mem,
    /// memsz.
    Memsz,
}

/// An edit of the scenario bar.
#[derive(Debug, Clone, PartialEq)]
pub enum Edit {
    /// Pick the arch.
    Arch(Arch),
    /// RAM ranges text.
    Ram(String),
    /// ZONE_MOVABLE ranges text.
    Movable(String),
    /// One segment field.
    Segment(usize, SegField, String),
    /// Append a segment after the last one.
    AddSegment,
    /// Remove a segment.
    RemoveSegment(usize),
    /// Allocator policy.
    Policy(String),
    /// Allocator seed.
    Seed(String),
    /// Replay list text.
    Replay(String),
    /// Variant of the left (0) or right (1) pane.
    Variant(usize, Variant),
    /// What-if: source pages asked with GFP_HIGHUSER_MOVABLE.
    SourceMovable(bool),
    /// A kernel build (loaded in the kernel worker) for the left (0) or
    /// right (1) pane: the scenario names it (a build of the same name is
    /// replaced: the user chose this one).
    Kernel(usize, KernelSpec),
}

/// Where a kernel build the user picks comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum KernelSource {
    /// The build the site ships ("kernel 6.1 (C)", [`SHIPPED_KERNEL`]).
    Shipped,
    /// A kernel-build file the user dropped or picked (its text; it stays
    /// in the browser).
    File(Rc<String>),
}

/// The shipped kernel build: its name (`kernel:6.1`), its label in the
/// design menus, the file next to the page, and its source notice.
pub const SHIPPED_KERNEL: (&str, &str, &str, &str) =
    ("6.1", "kernel 6.1 (C)", "kernel-6.1.kbuild", "SOURCE.txt");

/// A kernel build the kernel worker holds.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedKernel {
    /// How a scenario names it.
    pub spec: KernelSpec,
    /// Source, patches with sha256, compiler, licence.
    pub info: String,
}

/// Everything that changes the state.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Edit the scenario.
    Edit(Edit),
    /// Show a whole scenario (preset, link), with a notice if any.
    Load {
        /// The scenario.
        scenario: Scenario,
        /// The preset it is, if one.
        preset: Option<String>,
    },
    /// A run was sent to the worker.
    Started(u32),
    /// Progress of a run.
    Progress {
        /// Request id.
        id: u32,
        /// Pages loaded by this part of the run.
        done: u64,
        /// Pages to load (the whole run's; a part that knows only its own
        /// says fewer).
        total: u64,
        /// Which part of a split run (0: the worker asked, 1: its second
        /// worker).
        part: u8,
    },
    /// A run finished.
    Finished(Rc<RunResult>),
    /// A request failed.
    Failed(u32, String),
    /// The user cancelled the run.
    Cancel,
    /// Move the timeline to a step (clamped to the last).
    StepTo(usize),
    /// Move the timeline by some steps.
    StepBy(isize),
    /// Step texts arrived: the result's request id, the step, the texts
    /// (ignored unless that result and step are the ones shown: a big
    /// run's worker is not the small runs').
    StepTexts(u32, usize, Vec<Vec<String>>),
    /// Fold runs of consecutive SOURCE pages.
    ToggleFold,
    /// Open or close the keyboard help.
    Help(bool),
    /// Show or clear the notice line.
    Notice(Option<String>),
    /// The user picked a kernel build for a pane: the worker hook loads it
    /// (then [`Action::KernelLoaded`] names it in the scenario).
    PickKernel(usize, KernelSource),
    /// The kernel worker loaded a build; for a pane when the user picked it.
    KernelLoaded(LoadedKernel, Option<usize>),
}

/// The page state.
#[derive(Debug, Clone, PartialEq)]
pub struct State {
    /// The scenario bar.
    pub form: Form,
    /// The form's first problem.
    pub input_error: Option<InputError>,
    /// The last valid scenario.
    pub scenario: Scenario,
    /// Bumped whenever `scenario` changes (the run effect watches it).
    pub revision: u64,
    /// The preset picked, if the scenario still is one.
    pub preset: Option<String>,
    /// The worker's status.
    pub status: Status,
    /// The last result.
    pub result: Option<Rc<RunResult>>,
    /// The timeline step.
    pub step: usize,
    /// The step's events per run, when they have arrived.
    pub step_texts: Option<(usize, Vec<Vec<String>>)>,
    /// Fold SOURCE runs.
    pub fold: bool,
    /// Keyboard help open.
    pub help: bool,
    /// A notice (bad link, cancelled run).
    pub notice: Option<String>,
    /// The kernel builds the kernel worker holds.
    pub kernels: Rc<Vec<LoadedKernel>>,
    /// The last kernel build picked and not loaded yet (a counter, so
    /// picking the same twice loads twice).
    pub kernel_pick: Option<(u32, usize, KernelSource)>,
}

impl State {
    /// The state showing `scenario`.
    pub fn new(scenario: Scenario, preset: Option<String>, notice: Option<String>) -> State {
        State {
            form: Form::from_scenario(&scenario),
            input_error: None,
            scenario: two_variants(scenario),
            revision: 1,
            preset,
            status: Status::Idle,
            result: None,
            step: 0,
            step_texts: None,
            fold: true,
            help: false,
            notice,
            kernels: Rc::new(Vec::new()),
            kernel_pick: None,
        }
    }

    /// What the page knows of the kernel build a scenario's variant
    /// names: its spec, and its info when the kernel worker holds that
    /// very build (the same id).
    pub fn kernel_of(&self, sc: &Scenario, v: Variant) -> Option<(KernelSpec, Option<String>)> {
        let spec = sc.kernel(v)?.clone();
        let info = self
            .kernels
            .iter()
            .find(|k| k.spec.id == spec.id)
            .map(|k| k.info.clone());
        Some((spec, info))
    }

    /// The default scenario: the RFC on an 8 GiB PAE box.
    pub fn default_scenario() -> Scenario {
        presets::find("rfc-i386-pae")
            .expect("the RFC preset")
            .scenario
    }

    /// Steps of the timeline (the longest run's).
    pub fn steps(&self) -> usize {
        self.result.as_ref().map_or(1, |r| {
            r.summaries.runs.iter().map(|s| s.steps).max().unwrap_or(1)
        })
    }
}

/// The page compares exactly two variants.
pub fn two_variants(mut sc: Scenario) -> Scenario {
    let f = Form::from_scenario(&sc);
    sc.variants = f.variants.to_vec();
    sc
}

/// The first 1 MiB boundary at or above the end of a segment's `mem`
/// range, where an added segment goes; `None` when a field does not parse
/// or the end is past the top of the 64-bit address space (the numbers are
/// the user's, so they may be anything up to `u64::MAX`).
fn next_free_mib(s: &SegmentForm) -> Option<u64> {
    let m = kexec_common::input::parse_num(&s.mem).ok()?;
    let z = kexec_common::input::parse_num(&s.memsz).ok()?;
    Some(m.checked_add(z)?.checked_add(0xfffff)? & !0xfffff)
}

fn apply(form: &mut Form, e: Edit) {
    match e {
        Edit::Arch(a) => form.arch = a,
        Edit::Ram(t) => form.ram = t,
        Edit::Movable(t) => form.movable = t,
        Edit::Segment(i, f, t) => {
            if let Some(s) = form.segments.get_mut(i) {
                match f {
                    SegField::Bufsz => s.bufsz = t,
                    SegField::Mem => s.mem = t,
                    SegField::Memsz => s.memsz = t,
                }
            }
        }
        Edit::AddSegment => {
            let next = form
                .segments
                .iter()
                .filter_map(next_free_mib)
                .max()
                .unwrap_or(0x100_0000);
            form.segments.push(SegmentForm {
                bufsz: "0x1000".into(),
                mem: format!("0x{next:x}"),
                memsz: "0x1000".into(),
            });
        }
        Edit::RemoveSegment(i) => {
            if i < form.segments.len() {
                form.segments.remove(i);
            }
        }
        Edit::Policy(p) => {
            if (p == "random" || p == "adversarial") && form.seed.trim().is_empty() {
                form.seed = "1".into();
            }
            form.policy = p;
        }
        Edit::Seed(s) => form.seed = s,
        Edit::Replay(r) => form.replay = r,
        Edit::Variant(side, v) => form.variants[side.min(1)] = v,
        Edit::SourceMovable(b) => form.source_movable = b,
        Edit::Kernel(side, spec) => {
            let i = match form.kernels.iter().position(|k| k.name == spec.name) {
                Some(i) => {
                    form.kernels[i] = spec;
                    i
                }
                None => {
                    form.kernels.push(spec);
                    form.kernels.len() - 1
                }
            };
            form.variants[side.min(1)] = Variant::Kernel(KernelId(i as u8));
        }
    }
}

impl Reducible for State {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut s = (*self).clone();
        match action {
            Action::Edit(e) => {
                apply(&mut s.form, e);
                match s.form.to_scenario() {
                    Ok(sc) => {
                        s.input_error = None;
                        if sc != s.scenario {
                            s.preset = presets::all()
                                .into_iter()
                                .find(|p| two_variants(p.scenario.clone()) == sc)
                                .map(|p| p.name.to_string());
                            s.scenario = sc;
                            s.revision += 1;
                        }
                    }
                    Err(e) => s.input_error = Some(e),
                }
            }
            Action::Load { scenario, preset } => {
                let keep = s.notice.take();
                s = State::new(scenario, preset, keep);
                s.revision = self.revision + 1;
                s.result = self.result.clone();
                s.fold = self.fold;
                s.kernels = self.kernels.clone();
                s.kernel_pick = self.kernel_pick.clone();
            }
            Action::Started(id) => {
                // The bar says how many pages before the worker's first
                // progress arrives.
                s.status = Status::Running {
                    id,
                    done: 0,
                    total: crate::worker::run_pages(&s.scenario),
                    parts: [0; 2],
                }
            }
            Action::Progress {
                id,
                done,
                total,
                part,
            } => match s.status {
                Status::Running {
                    id: cur,
                    total: was,
                    mut parts,
                    ..
                } if cur == id => {
                    parts[usize::from(part.min(1))] = done;
                    s.status = Status::Running {
                        id,
                        done: parts[0] + parts[1],
                        total: total.max(was),
                        parts,
                    }
                }
                _ => return self,
            },
            Action::Finished(r) => {
                if !matches!(s.status, Status::Running { id, .. } if id == r.id) {
                    return self;
                }
                s.status = Status::Idle;
                s.result = Some(r);
                if matches!(s.notice.as_deref(), Some(CANCELLED | CANCELLED_KEPT)) {
                    s.notice = None;
                }
                s.step = s.step.min(s.steps().saturating_sub(1));
                s.step_texts = None;
            }
            Action::Failed(id, m) => match s.status {
                Status::Running { id: cur, .. } if cur == id => s.status = Status::Failed(m),
                _ => return self,
            },
            Action::Cancel => {
                s.status = Status::Cancelled;
                s.notice = Some(if s.result.is_some() {
                    CANCELLED_KEPT.into()
                } else {
                    CANCELLED.into()
                });
            }
            Action::StepTo(k) => {
                let k = k.min(s.steps().saturating_sub(1));
                if k == s.step {
                    return self;
                }
                s.step = k;
            }
            Action::StepBy(d) => {
                let k = s
                    .step
                    .saturating_add_signed(d)
                    .min(s.steps().saturating_sub(1));
                if k == s.step {
                    return self;
                }
                s.step = k;
            }
            Action::StepTexts(id, k, t) => {
                if k != s.step || s.result.as_ref().is_none_or(|r| r.id != id) {
                    return self;
                }
                s.step_texts = Some((k, t));
            }
            Action::ToggleFold => s.fold = !s.fold,
            Action::Help(open) => {
                if open == s.help {
                    return self;
                }
                s.help = open;
            }
            Action::Notice(n) => s.notice = n,
            Action::PickKernel(side, source) => {
                let n = self.kernel_pick.as_ref().map_or(0, |p| p.0) + 1;
                s.kernel_pick = Some((n, side, source));
            }
            Action::KernelLoaded(k, side) => {
                let mut ks = (*s.kernels).clone();
                ks.retain(|x| x.spec.id != k.spec.id);
                ks.push(k.clone());
                s.kernels = Rc::new(ks);
                if let Some(side) = side {
                    return Rc::new(s).reduce(Action::Edit(Edit::Kernel(side, k.spec)));
                }
            }
        }
        Rc::new(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> Rc<State> {
        Rc::new(State::new(
            presets::find("swap-path").unwrap().scenario,
            Some("swap-path".into()),
            None,
        ))
    }

    #[test]
    fn a_loaded_kernel_build_picked_for_a_pane() {
        let spec = KernelSpec {
            name: "6.1".into(),
            id: "0123456789abcdef".into(),
            source: "6.1.192".into(),
            patches: vec![],
        };
        let k = LoadedKernel {
            spec: spec.clone(),
            info: "kernel build 6.1".into(),
        };
        let s = state().reduce(Action::PickKernel(1, KernelSource::Shipped));
        assert_eq!(s.kernel_pick, Some((1, 1, KernelSource::Shipped)));
        let s = s.reduce(Action::KernelLoaded(k.clone(), Some(1)));
        assert_eq!(s.scenario.kernels, vec![spec.clone()]);
        assert_eq!(s.scenario.variants[1], Variant::Kernel(KernelId(0)));
        assert_eq!(
            s.scenario.variant_name(s.scenario.variants[1]),
            "kernel:6.1"
        );
        let (named, info) = s.kernel_of(&s.scenario, s.scenario.variants[1]).unwrap();
        assert_eq!((named, info.as_deref()), (spec, Some("kernel build 6.1")));
        // Loaded without a pane (a link's build): the scenario is unchanged.
        let before = state();
        let after = before.clone().reduce(Action::KernelLoaded(k, None));
        assert_eq!(after.scenario, before.scenario);
        assert_eq!(after.kernels.len(), 1);
    }

    #[test]
    fn edits_recheck_and_bump_revision() {
        let s = state();
        let s2 = s.clone().reduce(Action::Edit(Edit::Segment(
            0,
            SegField::Memsz,
            "0x3000".into(),
        )));
        assert_eq!(s2.scenario.segments[0].memsz, 0x3000);
        assert_eq!(s2.revision, s.revision + 1);
        assert_eq!(s2.preset, None);
        let s3 = s2
            .clone()
            .reduce(Action::Edit(Edit::Segment(0, SegField::Mem, "nope".into())));
        assert_eq!(s3.input_error.as_ref().unwrap().field, "segments[0].mem");
        assert_eq!(s3.revision, s2.revision, "an invalid form does not rerun");
        assert_eq!(s3.scenario, s2.scenario, "the last valid scenario stays");
    }

    #[test]
    fn editing_back_to_a_preset_names_it_again() {
        let s = state();
        let s2 = s.clone().reduce(Action::Edit(Edit::Segment(
            0,
            SegField::Memsz,
            "0x3000".into(),
        )));
        assert_eq!(s2.preset, None);
        let s3 = s2.reduce(Action::Edit(Edit::Segment(
            0,
            SegField::Memsz,
            "0x2000".into(),
        )));
        assert_eq!(s3.preset.as_deref(), Some("swap-path"));
    }

    #[test]
    fn cancel_notice_says_what_is_shown_and_goes_with_the_next_result() {
        let s = state().reduce(Action::Started(1)).reduce(Action::Cancel);
        assert_eq!(s.notice.as_deref(), Some(CANCELLED));
        let s = s.reduce(Action::Started(2));
        let sc = s.scenario.clone();
        let r = Rc::new(RunResult {
            id: 2,
            scenario: sc,
            summaries: Summaries {
                runs: vec![],
                report: String::new(),
                sections: vec![],
            },
            words: vec![],
        });
        let s = s.reduce(Action::Finished(r));
        assert_eq!(s.notice, None);
    }

    /// A run's bar shows its pages from the start, not "0 of 0", before
    /// the worker's first progress (the first eighth of a big run).
    #[test]
    fn a_started_run_knows_its_pages() {
        let s = state();
        let pages = s.scenario.image_pages() * s.scenario.variants.len() as u64;
        assert!(pages > 0);
        let s = s.reduce(Action::Started(1));
        assert_eq!(
            s.status,
            Status::Running {
                id: 1,
                done: 0,
                total: pages,
                parts: [0; 2],
            }
        );
    }

    #[test]
    fn stale_progress_is_ignored() {
        let s = state().reduce(Action::Started(4));
        let s2 = s.clone().reduce(Action::Progress {
            id: 3,
            done: 1,
            total: 4,
            part: 0,
        });
        assert!(Rc::ptr_eq(&s, &s2));
        let s3 = s.reduce(Action::Progress {
            id: 4,
            done: 1,
            total: 4,
            part: 0,
        });
        assert_eq!(
            s3.status,
            Status::Running {
                id: 4,
                done: 1,
                total: 4,
                parts: [1, 0],
            }
        );
    }

    /// A split run: the two workers' pages loaded add up, of the whole
    /// run's total (the second worker's smaller total does not shrink it).
    #[test]
    fn a_split_runs_progress_adds_the_parts() {
        let progress = |done, total, part| Action::Progress {
            id: 4,
            done,
            total,
            part,
        };
        let s = state()
            .reduce(Action::Started(4))
            .reduce(progress(4096, 18000, 0))
            .reduce(progress(4096, 9000, 1))
            .reduce(progress(8192, 9000, 1))
            .reduce(progress(8192, 18000, 0));
        assert_eq!(
            s.status,
            Status::Running {
                id: 4,
                done: 16384,
                total: 18000,
                parts: [8192, 8192],
            }
        );
    }

    #[test]
    fn step_texts_of_another_result_are_ignored() {
        let finished = |id| {
            let s = state().reduce(Action::Started(id));
            let r = Rc::new(RunResult {
                id,
                scenario: s.scenario.clone(),
                summaries: Summaries {
                    runs: vec![],
                    report: String::new(),
                    sections: vec![],
                },
                words: vec![],
            });
            s.reduce(Action::Finished(r))
        };
        let texts = || vec![vec!["kimage_alloc_page".to_string()]];
        // A big run's worker answers a step of its result after a small
        // run's worker has answered a newer edit: not that result's texts.
        let s = finished(7);
        let s2 = s.clone().reduce(Action::StepTexts(6, s.step, texts()));
        assert!(Rc::ptr_eq(&s, &s2));
        let s3 = s.clone().reduce(Action::StepTexts(7, s.step, texts()));
        assert_eq!(s3.step_texts, Some((s.step, texts())));
    }

    #[test]
    fn add_and_remove_segments() {
        let s = state().reduce(Action::Edit(Edit::AddSegment));
        assert_eq!(s.scenario.segments.len(), 2);
        assert_eq!(s.scenario.segments[1].mem, 0x110_0000);
        let s = s.reduce(Action::Edit(Edit::RemoveSegment(0)));
        assert_eq!(s.scenario.segments.len(), 1);
    }

    #[test]
    fn adding_a_segment_after_huge_numbers_neither_panics_nor_wraps() {
        let mut s = state();
        for (mem, memsz) in [
            ("0xffffffffffffffff", "0x1000"),
            ("0xfffffffffff00001", "0xfffff"),
            ("0x1000", "0xffffffffffffffff"),
            ("15E", "1E"),
        ] {
            let st = s
                .clone()
                .reduce(Action::Edit(Edit::Segment(0, SegField::Mem, mem.into())))
                .reduce(Action::Edit(Edit::Segment(
                    0,
                    SegField::Memsz,
                    memsz.into(),
                )))
                .reduce(Action::Edit(Edit::AddSegment));
            assert_eq!(st.form.segments.len(), 2, "{mem} + {memsz}");
            // Nothing above the first segment fits: the added one goes
            // where it goes when no segment parses, not at a wrapped
            // address near 0.
            assert_eq!(st.form.segments[1].mem, "0x1000000", "{mem} + {memsz}");
        }
        // The highest boundary that still fits is used.
        s = s
            .reduce(Action::Edit(Edit::Segment(
                0,
                SegField::Mem,
                "0xffffffffffe00000".into(),
            )))
            .reduce(Action::Edit(Edit::AddSegment));
        assert_eq!(s.form.segments[1].mem, "0xfffffffffff00000");
    }
}
