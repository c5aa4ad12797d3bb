//! The Page tables view's state: one reducer (Yew `use_reducer`), pure,
//! tested natively.
//!
//! It holds the scenario shown and its runs, the form's texts (the script
//! as typed, the probe VA), the form's first problem, and the stepper's
//! position. An edit is applied to the scenario's file form with the
//! script as typed; a valid result that differs becomes the scenario
//! shown (the view hands it to its parent and writes the link), an
//! invalid one leaves the last valid scenario and says what is wrong.
//! Every grammar (script lines, the probe VA, the CPUs field) is the lab
//! crate's; the URL is an effect of the view.

use kexec_common::InputError;
use kexec_lab_pgtable::{
    default_probe, find_preset, opening_step, parse_cpus, parse_probe, presets, probe_text, run,
    script_lines, script_text, PgtableFile, PgtableRun, PgtableScenario,
};
use std::rc::Rc;
use yew::Reducible;

/// A switch of the machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flag {
    /// X86_FEATURE_GBPAGES.
    Gbpages,
    /// X86_FEATURE_PSE.
    Pse,
    /// `nohugeiomap`.
    Nohugeiomap,
    /// MTRRs uniform over the ranges mapped.
    MtrrUniform,
}

/// An edit of the form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edit {
    /// The arch's name ("x86_64", "i386-pae").
    Arch(String),
    /// The CPUs field's text.
    Cpus(String),
    /// A switch.
    Flag(Flag, bool),
    /// The script's text.
    Script(String),
    /// The variant of the left (0) or right (1) column, by name.
    Variant(usize, String),
}

/// Everything that changes the state.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Show a scenario (from the parent: a link, a preset, an edit echoed
    /// back); the same scenario again changes nothing.
    Load(Rc<PgtableScenario>),
    /// Show a preset, by name (an unknown name, such as the picker's
    /// "(edited)", changes nothing).
    Preset(String),
    /// Edit the form.
    Edit(Edit),
    /// Move the stepper to after step `k` (0: before the first; clamped
    /// to the last).
    StepTo(usize),
    /// The probe field's text.
    Probe(String),
}

/// The view's state.
#[derive(Debug, Clone, PartialEq)]
pub struct State {
    /// The scenario shown: the last valid one.
    pub scenario: Rc<PgtableScenario>,
    /// Its runs, one per variant.
    pub runs: Rc<Vec<PgtableRun>>,
    /// The preset the scenario is, if one.
    pub preset: Option<&'static str>,
    /// The script as typed.
    pub script: String,
    /// The form's first problem.
    pub error: Option<InputError>,
    /// Steps done (0: before the first).
    pub step: usize,
    /// The probe field's text.
    pub probe: String,
}

impl State {
    /// The state showing `scenario`: its script, its runs, the stepper at
    /// the first disagreement (else at the end), the default probe.
    pub fn new(scenario: Rc<PgtableScenario>) -> State {
        let runs = run(&scenario);
        State {
            preset: presets()
                .into_iter()
                .find(|p| p.scenario == *scenario)
                .map(|p| p.name),
            script: script_text(&scenario.ops),
            error: None,
            step: opening_step(&runs, scenario.ops.len()),
            probe: probe_text(default_probe(&scenario)),
            runs: Rc::new(runs),
            scenario,
        }
    }

    /// Steps of the script.
    pub fn steps(&self) -> usize {
        self.scenario.ops.len()
    }

    /// The VA the probe field names, if it names one.
    pub fn probe_va(&self) -> Option<u64> {
        parse_probe(&self.probe)
    }

    /// The form's problem if it is the script's (`script[i]`).
    pub fn script_error(&self) -> Option<&InputError> {
        self.error
            .as_ref()
            .filter(|e| e.field.starts_with("script"))
    }

    /// The form's problem if it is not the script's.
    pub fn other_error(&self) -> Option<&InputError> {
        self.error
            .as_ref()
            .filter(|e| !e.field.starts_with("script"))
    }

    /// `edit` applied to `self`'s file with `script` as typed, checked.
    fn edited(&self, edit: Edit, script: &str) -> Result<PgtableScenario, InputError> {
        let mut f = self.scenario.to_file();
        f.script = script_lines(script);
        apply(&mut f, edit)?;
        PgtableScenario::from_file(&f)
    }
}

/// One edit of the file form.
fn apply(f: &mut PgtableFile, edit: Edit) -> Result<(), InputError> {
    match edit {
        Edit::Arch(a) => f.arch = a,
        Edit::Cpus(t) => f.cpus = parse_cpus(&t)?,
        Edit::Flag(flag, b) => match flag {
            Flag::Gbpages => f.gbpages = b,
            Flag::Pse => f.pse = b,
            Flag::Nohugeiomap => f.nohugeiomap = b,
            Flag::MtrrUniform => f.mtrr_uniform = b,
        },
        Edit::Script(t) => f.script = script_lines(&t),
        Edit::Variant(side, v) => {
            while f.variants.len() < 2 {
                f.variants.push("flush".into());
            }
            f.variants[side.min(1)] = v;
        }
    }
    Ok(())
}

impl Reducible for State {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        match action {
            Action::Load(sc) if sc == self.scenario => self,
            Action::Load(sc) => Rc::new(State::new(sc)),
            Action::Preset(name) => match find_preset(&name) {
                Some(p) => self.reduce(Action::Load(Rc::new(p.scenario))),
                None => self,
            },
            Action::Edit(edit) => {
                let mut s = (*self).clone();
                if let Edit::Script(t) = &edit {
                    s.script = t.clone();
                }
                match self.edited(edit, &s.script) {
                    Ok(sc) if sc != *self.scenario => Rc::new(State::new(Rc::new(sc))),
                    Ok(_) => {
                        s.error = None;
                        Rc::new(s)
                    }
                    Err(e) => {
                        s.error = Some(e);
                        Rc::new(s)
                    }
                }
            }
            Action::StepTo(k) => {
                let k = k.min(self.steps());
                if k == self.step {
                    return self;
                }
                Rc::new(State {
                    step: k,
                    ..(*self).clone()
                })
            }
            Action::Probe(text) => Rc::new(State {
                probe: text,
                ..(*self).clone()
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kexec_lab_pgtable::FreeVariant;

    fn state(preset: &str) -> Rc<State> {
        Rc::new(State::new(Rc::new(find_preset(preset).unwrap().scenario)))
    }

    fn edit(s: &Rc<State>, e: Edit) -> Rc<State> {
        s.clone().reduce(Action::Edit(e))
    }

    #[test]
    fn opens_at_the_first_disagreement_with_the_default_probe() {
        let s = state("pgtable-stale-pde");
        assert_eq!((s.step, s.steps()), (7, 7));
        assert_eq!(s.preset, Some("pgtable-stale-pde"));
        assert_eq!(s.probe, "0xffffc90000200000");
        assert_eq!(s.probe_va(), Some(0xffff_c900_0020_0000));
        assert_eq!(s.script.lines().count(), 7);
        assert!(s
            .script
            .starts_with("ioremap 0xffffc90000200000 0xfe000000 4K\n"));
        assert_eq!(s.runs.len(), 2);
        // Every access agrees: the stepper opens after the last step.
        let s = state("pgtable-1g-fallback");
        assert_eq!((s.step, s.steps()), (5, 5));
    }

    #[test]
    fn a_bad_script_line_keeps_the_text_and_the_last_valid_scenario() {
        let s = state("pgtable-stale-pde");
        let typed = format!("{}\nremap 0x1", s.script);
        let s2 = edit(&s, Edit::Script(typed.clone()));
        assert_eq!(s2.script, typed);
        assert_eq!(s2.scenario, s.scenario);
        assert_eq!(s2.script_error().unwrap().field, "script[7]");
        assert!(s2.other_error().is_none());
        assert_eq!(s2.step, s.step);
        // Another field is applied with the script as typed: still its error.
        let s3 = edit(&s2, Edit::Flag(Flag::Pse, false));
        assert_eq!(s3.script_error().unwrap().field, "script[7]");
        assert!(s3.scenario.features.pse);
    }

    #[test]
    fn a_valid_script_is_the_new_scenario_opened_at_its_end() {
        let s = state("pgtable-stale-pde");
        let s = edit(&s, Edit::Variant(1, "page-list".into()));
        assert_eq!(
            s.scenario.variants,
            vec![FreeVariant::Flush, FreeVariant::PageList]
        );
        assert_eq!(s.preset, None);
        assert_eq!(s.runs[1].variant, FreeVariant::PageList);
        assert_eq!(s.step, 7, "no disagreement: the last step");
        let s2 = edit(
            &s,
            Edit::Script(format!(
                "{}\n  ioremap 0xffffc90000200800 0xfe000000 4K  \n",
                s.script
            )),
        );
        assert_eq!(s2.error, None);
        assert_eq!((s2.step, s2.steps()), (8, 8));
        assert!(s2
            .script
            .ends_with("\nioremap 0xffffc90000200800 0xfe000000 4K"));
        assert!(s2.runs[0].steps[7]
            .error
            .as_ref()
            .unwrap()
            .contains("page aligned"));
    }

    #[test]
    fn a_valid_edit_to_the_same_scenario_keeps_the_text_and_the_step() {
        let s = state("pgtable-stale-pde").reduce(Action::StepTo(3));
        let bad = edit(&s, Edit::Cpus("two".into()));
        assert_eq!(bad.other_error().unwrap().field, "cpus");
        let typed = format!("{}\n\n", s.script);
        let s2 = edit(&bad, Edit::Script(typed.clone()));
        assert_eq!(s2.error, None);
        assert_eq!(s2.script, typed);
        assert_eq!(s2.step, 3);
        assert!(Rc::ptr_eq(&s2.scenario, &s.scenario));
    }

    #[test]
    fn machine_edits() {
        let s = state("pgtable-stale-pde");
        let s2 = edit(&s, Edit::Cpus("4".into()));
        assert_eq!(s2.scenario.cpus, 4);
        let s2 = edit(&s, Edit::Cpus("9".into()));
        assert_eq!(s2.other_error().unwrap().field, "cpus");
        let s2 = edit(&s, Edit::Arch("i386".into()));
        assert_eq!(s2.other_error().unwrap().field, "arch");
        let s2 = edit(&s, Edit::Flag(Flag::Nohugeiomap, true));
        assert!(s2.scenario.features.nohugeiomap);
        let s2 = edit(&s, Edit::Variant(0, "no-flush".into()));
        assert_eq!(s2.other_error().unwrap().field, "variants[1]");
    }

    #[test]
    fn stepping_clamps_and_probing_reads_the_field() {
        let s = state("pgtable-stale-pde");
        let s2 = s.clone().reduce(Action::StepTo(100));
        assert!(Rc::ptr_eq(&s, &s2), "already at the last step");
        let s2 = s.clone().reduce(Action::StepTo(0));
        assert_eq!(s2.step, 0);
        let s3 = s2.reduce(Action::Probe("nope".into()));
        assert_eq!(s3.probe_va(), None);
        let s3 = s3.reduce(Action::Probe("4G".into()));
        assert_eq!(s3.probe_va(), Some(1 << 32));
    }

    #[test]
    fn presets_and_loads() {
        let s = state("pgtable-stale-pde");
        let s2 = s.clone().reduce(Action::Preset(String::new()));
        assert!(Rc::ptr_eq(&s, &s2));
        let s2 = s
            .clone()
            .reduce(Action::Load(Rc::new((*s.scenario).clone())));
        assert!(Rc::ptr_eq(&s, &s2), "the same scenario again");
        let pae = s.clone().reduce(Action::Preset("pgtable-pae".into()));
        assert_eq!(pae.preset, Some("pgtable-pae"));
        assert_eq!((pae.step, pae.steps()), (8, 9));
        assert_eq!(pae.probe, "0xf8a00000");
        let back = pae.reduce(Action::Load(s.scenario.clone()));
        assert_eq!(*back, *s);
    }
}
