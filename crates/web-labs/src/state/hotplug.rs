//! The hotplug view's state: one reducer (Yew `use_reducer`), pure, no
//! side effects. It holds the last valid scenario and its run, the form's
//! hot-add and removal texts as typed, the form's first problem, and
//! where each strategy's teardown stepper stands. The URL and the parent
//! view are effects in the component.
//!
//! An edit rebuilds the file from the last valid scenario and the edited
//! field (the texts in [`kexec_lab_hotplug::grammar`]'s form) and checks
//! it: a valid one is shown (its texts rewritten as the grammar writes
//! them, the steppers at each run's fault or end), an invalid one keeps
//! the last valid scenario and shows the error.

use kexec_common::InputError;
use kexec_lab_hotplug::grammar::{adds_text, parse_adds, parse_removes, parse_size, removes_text};
use kexec_lab_hotplug::{find_preset, presets, run, HotplugFile, HotplugLab, HotplugScenario};
use std::rc::Rc;
use yew::Reducible;

/// An edit of the form.
#[derive(Debug, Clone, PartialEq)]
pub enum Edit {
    /// End of boot memory.
    Boot(String),
    /// X86_FEATURE_HYPERVISOR.
    Hypervisor(bool),
    /// Memory block size (empty: probe).
    Block(String),
    /// The hot-add list, one device per line.
    Adds(String),
    /// The removal list, one call per line.
    Removes(String),
    /// The teardown order's name.
    Teardown(String),
    /// The strategy of the left (0) or right (1) column, by name.
    Variant(usize, String),
}

/// Everything that changes the state.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Edit the form.
    Edit(Edit),
    /// Show a whole scenario (from a link, or the parent).
    Load(HotplugScenario),
    /// Show a preset, by name (an unknown name changes nothing).
    Preset(String),
    /// Move the teardown stepper of a column to after `to` calls.
    Step {
        /// The column.
        side: usize,
        /// Calls done.
        to: usize,
    },
}

/// The view's state.
#[derive(Debug, Clone, PartialEq)]
pub struct State {
    /// The last valid scenario.
    pub scenario: Rc<HotplugScenario>,
    /// Its run.
    pub lab: Rc<HotplugLab>,
    /// The hot-add text as typed.
    pub adds: String,
    /// The removal text as typed.
    pub removes: String,
    /// The form's first problem.
    pub error: Option<InputError>,
    /// Teardown calls done, per column.
    pub steps: Vec<usize>,
}

/// Where the stepper of a run starts: at its fault, else at the end.
fn initial_steps(lab: &HotplugLab) -> Vec<usize> {
    lab.runs
        .iter()
        .map(|r| r.fault.as_ref().map_or(r.teardown.len(), |f| f.step + 1))
        .collect()
}

/// Apply an edit to the file.
fn apply(f: &mut HotplugFile, edit: Edit) -> Result<(), InputError> {
    match edit {
        Edit::Boot(t) => f.boot_mem_end = parse_size("boot_mem_end", &t)?,
        Edit::Hypervisor(b) => f.hypervisor = b,
        Edit::Block(t) if t.trim().is_empty() => f.memory_block_size = None,
        Edit::Block(t) => f.memory_block_size = Some(parse_size("memory_block_size", &t)?),
        Edit::Adds(t) => f.add = parse_adds(&t)?,
        Edit::Removes(t) => f.remove = parse_removes(&t)?,
        Edit::Teardown(t) => f.teardown = t,
        Edit::Variant(side, v) => {
            while f.variants.len() < 2 {
                f.variants.push("ordinary".into());
            }
            f.variants[side.min(1)] = v;
        }
    }
    Ok(())
}

impl State {
    /// The state showing `scenario`: its run, its texts, the steppers at
    /// each run's fault or end.
    pub fn new(scenario: HotplugScenario) -> State {
        let lab = run(&scenario);
        let f = scenario.to_file();
        State {
            adds: adds_text(&f.add),
            removes: removes_text(&f.remove),
            error: None,
            steps: initial_steps(&lab),
            scenario: Rc::new(scenario),
            lab: Rc::new(lab),
        }
    }

    /// The preset the scenario is, if it is one.
    pub fn preset(&self) -> Option<&'static str> {
        presets()
            .into_iter()
            .find(|p| p.scenario == *self.scenario)
            .map(|p| p.name)
    }

    /// The file an edit makes: the last valid scenario, the texts where
    /// they parse, and the edit.
    fn edited(&self, edit: Edit) -> Result<HotplugScenario, InputError> {
        let mut f = self.scenario.to_file();
        if !matches!(edit, Edit::Adds(_)) {
            if let Ok(a) = parse_adds(&self.adds) {
                f.add = a;
            }
        }
        if !matches!(edit, Edit::Removes(_)) {
            if let Ok(r) = parse_removes(&self.removes) {
                f.remove = r;
            }
        }
        apply(&mut f, edit)?;
        HotplugScenario::from_file(&f)
    }
}

impl Reducible for State {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        match action {
            Action::Edit(edit) => {
                let mut s = (*self).clone();
                match &edit {
                    Edit::Adds(t) => s.adds = t.clone(),
                    Edit::Removes(t) => s.removes = t.clone(),
                    _ => {}
                }
                match s.edited(edit) {
                    Ok(sc) if sc != *s.scenario => return Rc::new(State::new(sc)),
                    Ok(_) => s.error = None,
                    Err(e) => s.error = Some(e),
                }
                Rc::new(s)
            }
            Action::Load(sc) if sc == *self.scenario => self,
            Action::Load(sc) => Rc::new(State::new(sc)),
            Action::Preset(name) => match find_preset(&name) {
                Some(p) => self.reduce(Action::Load(p.scenario)),
                None => self,
            },
            Action::Step { side, to } => {
                if self.steps.get(side).is_none_or(|&s| s == to) {
                    return self;
                }
                let mut s = (*self).clone();
                s.steps[side] = to;
                Rc::new(s)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kexec_lab_hotplug::{Online, Teardown};

    fn state(preset: &str) -> Rc<State> {
        Rc::new(State::new(find_preset(preset).unwrap().scenario))
    }

    fn edit(s: &Rc<State>, e: Edit) -> Rc<State> {
        s.clone().reduce(Action::Edit(e))
    }

    #[test]
    fn a_new_state_shows_its_scenario() {
        let s = state("hotplug-rfc-10g");
        assert_eq!(s.adds, "0x100000000 10G online=movable");
        assert_eq!(s.removes, "0x100000000 10G");
        assert_eq!(s.preset(), Some("hotplug-rfc-10g"));
        assert_eq!(s.steps, vec![160, 80], "no fault: the steppers at the end");
        assert_eq!(s.error, None);
    }

    #[test]
    fn editing_a_field_reruns_and_names_the_preset() {
        let s = edit(&state("hotplug-rfc-10g"), Edit::Teardown("forwards".into()));
        assert_eq!(s.scenario.teardown, Teardown::Forwards);
        assert_eq!(s.preset(), Some("hotplug-rfc-forwards"));
        assert_eq!(s.lab.runs[0].verdict(), "page fault at 0xffffea0004008000");
        assert_eq!(s.steps[0], 82, "the stepper opens at the fault");
        let s = edit(&s, Edit::Hypervisor(true));
        assert!(s.scenario.hypervisor);
        assert_eq!(s.preset(), None);
        let s = edit(&s, Edit::Block("1G".into()));
        assert_eq!(s.scenario.memory_block_size, Some(1 << 30));
        let s = edit(&s, Edit::Block(" ".into()));
        assert_eq!(s.scenario.memory_block_size, None);
        let s = edit(&s, Edit::Variant(0, "ordinary".into()));
        assert_eq!(s.scenario.variants[0].name(), "ordinary");
    }

    #[test]
    fn a_valid_form_is_applied_and_its_texts_rewritten() {
        let s = edit(
            &state("hotplug-rfc-10g"),
            Edit::Adds("0x100001000   0x8000000 online=movable".into()),
        );
        assert_eq!(s.scenario.adds[0].start, 0x1_0000_1000);
        assert_eq!(s.scenario.adds[0].size, 128 << 20);
        assert_eq!(s.scenario.adds[0].online, Online::Movable);
        assert_eq!(s.adds, "0x100001000 128M online=movable");
        assert!(s.lab.runs[0].ops[0].errno.is_some(), "unaligned: -EINVAL");
        assert_eq!(s.error, None);
        let s = edit(&s, Edit::Removes("".into()));
        assert!(s.scenario.removes.is_empty());
        assert_eq!(s.steps, vec![0, 0]);
    }

    #[test]
    fn an_invalid_form_keeps_the_last_good_scenario_and_shows_the_error() {
        let s = state("hotplug-rfc-10g");
        let bad = edit(&s, Edit::Adds("0x100000000 10G online=sideways".into()));
        let e = bad.error.as_ref().expect("an error");
        assert_eq!(e.field, "add[0].online");
        assert!(e.to_string().contains("offline, kernel, movable"), "{e}");
        assert_eq!(bad.scenario, s.scenario, "the last valid scenario stays");
        assert!(Rc::ptr_eq(&bad.lab, &s.lab), "and is not run again");
        assert_eq!(bad.adds, "0x100000000 10G online=sideways", "as typed");
        // With a hot-add list that does not parse, another field still
        // applies, with the last good list.
        let bad = edit(&s, Edit::Adds("0x100000000 10Q online=movable".into()));
        assert_eq!(bad.error.as_ref().unwrap().field, "add[0].size");
        let next = edit(&bad, Edit::Teardown("forwards".into()));
        assert_eq!(next.scenario.teardown, Teardown::Forwards);
        assert_eq!(next.scenario.adds, s.scenario.adds);
        assert_eq!(next.error, None);
        // A syntax error names the line and the field.
        let bad = edit(&s, Edit::Removes("0x100000000 10G\n4G".into()));
        assert_eq!(bad.error.as_ref().unwrap().field, "remove[1].size");
        let bad = edit(&s, Edit::Boot("lots".into()));
        assert_eq!(bad.error.as_ref().unwrap().field, "boot_mem_end");
        assert_eq!(bad.scenario, s.scenario);
        // Typing the shown scenario again clears the error, keeps the run.
        let ok = edit(&bad, Edit::Boot("4G".into()));
        assert_eq!(ok.error, None);
        assert!(Rc::ptr_eq(&ok.lab, &s.lab));
    }

    #[test]
    fn loading_a_preset_shows_it() {
        let s = edit(&state("hotplug-rfc-10g"), Edit::Adds("nonsense".into()));
        assert!(s.error.is_some());
        let p = s
            .clone()
            .reduce(Action::Preset("hotplug-wrong-granularity".into()));
        assert_eq!(p.preset(), Some("hotplug-wrong-granularity"));
        assert_eq!(p.error, None);
        assert_eq!(p.adds, "0x100000000 256M online=movable ranges=128M");
        assert_eq!(p.lab.runs[1].verdict(), "remove -EINVAL");
        let same = p.clone().reduce(Action::Preset("no-such-preset".into()));
        assert!(Rc::ptr_eq(&same, &p));
        let same = p.clone().reduce(Action::Load((*p.scenario).clone()));
        assert!(
            Rc::ptr_eq(&same, &p),
            "loading what is shown changes nothing"
        );
    }

    #[test]
    fn steppers_move_one_column_at_a_time() {
        let s = state("hotplug-rfc-forwards");
        assert_eq!(s.steps[0], 82);
        let s1 = s.clone().reduce(Action::Step { side: 0, to: 81 });
        assert_eq!(s1.steps, vec![81, s.steps[1]]);
        let same = s1.clone().reduce(Action::Step { side: 5, to: 1 });
        assert!(Rc::ptr_eq(&same, &s1));
    }
}
