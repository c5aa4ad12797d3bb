//! The placement view's state: one reducer (Yew `use_reducer`), pure, no
//! side effects, as the kimage view's `kexec_web::state` is.
//!
//! It keeps the scenario the view shows, the RAM text as typed (a text
//! that does not read yet stays as typed, with its error) and the form's
//! first problem. Every edit is read by the lab's own grammar
//! ([`kexec_lab_placement::grammar`]) and checked by the lab's own
//! [`PlacementScenario::from_file`], so a message names the field as
//! `kexec-sim place` would. The view tells the page about a new scenario
//! when [`State::revision`] moves, and shows one from outside (a preset,
//! a link) with [`Action::Show`].

use kexec_common::InputError;
use kexec_lab_placement::grammar;
use kexec_lab_placement::{find_preset, presets, PlacementFile, PlacementScenario};
use std::rc::Rc;
use yew::Reducible;

/// An edit of one field of the form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    /// The System RAM text, one range per line.
    Ram(String),
    /// "normal" or "kdump".
    Mode(String),
    /// `movable_node`.
    MovableNode(bool),
    /// `crashkernel=` (empty: none).
    Crash(String),
    /// `crashkernel=…,low` (empty: none).
    CrashLow(String),
    /// The kernel's init_size.
    Kernel(String),
    /// The initrd's size.
    Initrd(String),
    /// The variant of the left (0) or right (1) column.
    Variant(usize, String),
}

/// Everything that changes the state.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Show a scenario from outside (a preset, a link, the page's copy of
    /// an edit): the RAM text follows it and the error goes.
    Show(Rc<PlacementScenario>),
    /// Edit the form.
    Edit(Field),
    /// Pick a preset by name (an unknown name changes nothing).
    Preset(String),
}

/// The view's state.
#[derive(Debug, Clone, PartialEq)]
pub struct State {
    /// The last valid scenario.
    pub scenario: Rc<PlacementScenario>,
    /// Bumped when an edit or a preset makes a new scenario (the view
    /// hands it to the page).
    pub revision: u64,
    /// The RAM field as typed.
    pub ram: String,
    /// The form's first problem.
    pub error: Option<InputError>,
}

/// The fields with an error line of their own in the form; an error about
/// any other field is shown under the form.
const FIELDS_WITH_ERRORS: [&str; 4] = ["ram", "crashkernel", "buffers", "mode"];

/// Apply one field's edit to the file form.
fn apply(f: &mut PlacementFile, field: Field) -> Result<(), InputError> {
    match field {
        Field::Ram(t) => f.ram = grammar::parse_ram(&t)?,
        Field::Mode(m) => f.mode = m,
        Field::MovableNode(b) => f.movable_node = b,
        Field::Crash(t) => f.crashkernel = grammar::parse_optional(&t),
        Field::CrashLow(t) => f.crashkernel_low = grammar::parse_optional(&t),
        Field::Kernel(t) => f.buffers.kernel = grammar::parse_size("buffers.kernel", &t)?,
        Field::Initrd(t) => f.buffers.initrd = grammar::parse_size("buffers.initrd", &t)?,
        Field::Variant(side, v) => {
            while f.variants.len() < 2 {
                f.variants.push("top-down".into());
            }
            f.variants[side.min(1)] = v;
        }
    }
    Ok(())
}

impl State {
    /// The state showing `scenario`.
    pub fn new(scenario: Rc<PlacementScenario>) -> State {
        State {
            ram: grammar::ram_text(&scenario.to_file().ram),
            scenario,
            revision: 0,
            error: None,
        }
    }

    /// The preset the scenario is, if it still is one.
    pub fn preset(&self) -> Option<&'static str> {
        presets()
            .into_iter()
            .find(|p| p.scenario == *self.scenario)
            .map(|p| p.name)
    }

    /// The error about a field without an error line of its own.
    pub fn general_error(&self) -> Option<&InputError> {
        self.error
            .as_ref()
            .filter(|e| !FIELDS_WITH_ERRORS.iter().any(|p| e.field.starts_with(p)))
    }

    /// A new valid scenario from the form.
    fn changed(&mut self, sc: PlacementScenario) {
        if sc != *self.scenario {
            self.scenario = Rc::new(sc);
            self.revision += 1;
        }
    }

    /// An edit: the scenario's file form with the RAM as typed (if it
    /// reads) and the field, checked.
    fn edit(&mut self, field: Field) {
        let mut f = self.scenario.to_file();
        if let Field::Ram(t) = &field {
            self.ram = t.clone();
        } else if let Ok(r) = grammar::parse_ram(&self.ram) {
            f.ram = r;
        }
        match apply(&mut f, field).and_then(|()| PlacementScenario::from_file(&f)) {
            Ok(sc) => {
                self.error = None;
                self.changed(sc);
            }
            Err(e) => self.error = Some(e),
        }
    }
}

impl Reducible for State {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut s = (*self).clone();
        match action {
            Action::Show(sc) => {
                s.ram = grammar::ram_text(&sc.to_file().ram);
                s.scenario = sc;
                s.error = None;
            }
            Action::Edit(field) => s.edit(field),
            Action::Preset(name) => {
                if let Some(p) = find_preset(&name) {
                    s.ram = grammar::ram_text(&p.scenario.to_file().ram);
                    s.error = None;
                    s.changed(p.scenario);
                }
            }
        }
        if s == *self {
            self
        } else {
            Rc::new(s)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kexec_lab_placement::PlaceVariant;

    fn state(preset: &str) -> Rc<State> {
        Rc::new(State::new(Rc::new(find_preset(preset).unwrap().scenario)))
    }

    fn edit(s: &Rc<State>, f: Field) -> Rc<State> {
        s.clone().reduce(Action::Edit(f))
    }

    #[test]
    fn a_new_state_shows_the_scenario() {
        let s = state("movable-node-top");
        assert_eq!(s.preset(), Some("movable-node-top"));
        assert_eq!(s.revision, 0);
        assert_eq!(
            s.ram,
            "0x1000-0xa0000\n0x100000-0xc0000000\n0x100000000-0x200000000\n0x200000000-0x400000000 node=1 hotpluggable"
        );
        assert_eq!(s.error, None);
    }

    #[test]
    fn a_valid_edit_makes_a_new_scenario() {
        let s = state("movable-node-top");
        let s2 = edit(&s, Field::Variant(1, "bottom-up".into()));
        assert_eq!(
            s2.scenario.variants,
            [PlaceVariant::TopDown, PlaceVariant::BottomUp]
        );
        assert_eq!(s2.revision, 1);
        assert_eq!(s2.preset(), None);
        let s3 = edit(&s2, Field::Kernel("64M".into()));
        assert_eq!(s3.scenario.sizes.kernel.0, 64 << 20);
        assert_eq!(s3.revision, 2);
        let s4 = edit(&s3, Field::MovableNode(false));
        assert!(!s4.scenario.movable_node);
        let s5 = edit(&s4, Field::Crash(" 256M ".into()));
        assert_eq!(s5.scenario.crashkernel.as_deref(), Some("256M"));
        let s6 = edit(&s5, Field::Crash("".into()));
        assert_eq!(s6.scenario.crashkernel, None);
        // The same value again: no new scenario.
        let same = edit(&s6, Field::Crash(" ".into()));
        assert!(Rc::ptr_eq(&same, &s6));
    }

    #[test]
    fn a_bad_edit_keeps_the_last_valid_scenario() {
        let s = state("movable-node-top");
        let bad = edit(&s, Field::Ram("0x1000-0xa0000\n0x80000-0xc0000000".into()));
        let e = bad.error.as_ref().unwrap();
        assert_eq!(e.field, "ram[1]");
        assert!(e.message.contains("-EBUSY"), "{e}");
        assert_eq!(bad.scenario, s.scenario);
        assert_eq!(bad.revision, s.revision);
        assert_eq!(
            bad.ram, "0x1000-0xa0000\n0x80000-0xc0000000",
            "kept as typed"
        );
        assert_eq!(bad.general_error(), None, "shown under the RAM field");
        let e = edit(&s, Field::Kernel("lots".into()));
        assert_eq!(e.error.as_ref().unwrap().field, "buffers.kernel");
        let e = edit(&s, Field::Mode("kdump".into()));
        assert_eq!(e.error.as_ref().unwrap().field, "crashkernel");
        let e = edit(&s, Field::Variant(0, "reverse-walk".into()));
        assert_eq!(e.error.as_ref().unwrap().field, "variants[1]");
        assert!(e.general_error().is_some(), "twice the same variant");
        let e = edit(&s, Field::Ram("nonsense".into()));
        assert_eq!(e.error.as_ref().unwrap().field, "ram[0]");
    }

    #[test]
    fn other_edits_take_the_ram_as_typed_when_it_reads() {
        let s = state("movable-node-top");
        // Overlapping RAM reads but does not check: the next edit still
        // fails on it.
        let bad = edit(&s, Field::Ram("0x1000-0xa0000\n0x80000-0xc0000000".into()));
        let still = edit(&bad, Field::MovableNode(false));
        assert_eq!(still.error.as_ref().unwrap().field, "ram[1]");
        // RAM that does not read is left out: the edit applies to the
        // scenario's RAM.
        let unread = edit(&s, Field::Ram("0x1000-".into()));
        let ok = edit(&unread, Field::MovableNode(false));
        assert_eq!(ok.error, None);
        assert_eq!(ok.scenario.ram, s.scenario.ram);
        assert_eq!(
            ok.ram, "0x1000-",
            "the text stays until the page shows the scenario"
        );
        let shown = ok.clone().reduce(Action::Show(ok.scenario.clone()));
        assert_eq!(shown.ram, s.ram);
        // A good RAM edit.
        let good = edit(
            &s,
            Field::Ram("0x1000-0xa0000\n0x100000-0xc0000000\n0x100000000-0x400000000".into()),
        );
        assert_eq!(good.error, None);
        assert_eq!(good.scenario.ram.len(), 3);
        assert_eq!(good.revision, 1);
    }

    #[test]
    fn show_and_presets() {
        let s = state("movable-node-top");
        let bad = edit(&s, Field::Kernel("lots".into()));
        let other = Rc::new(find_preset("crashkernel-high").unwrap().scenario);
        let shown = bad.clone().reduce(Action::Show(other.clone()));
        assert_eq!(shown.scenario, other);
        assert_eq!(shown.error, None);
        assert_eq!(shown.revision, bad.revision, "not the view's own edit");
        assert_eq!(shown.preset(), Some("crashkernel-high"));
        let picked = s.clone().reduce(Action::Preset("uefi-under-4g".into()));
        assert_eq!(picked.preset(), Some("uefi-under-4g"));
        assert_eq!(picked.revision, 1);
        assert_eq!(
            picked.ram,
            grammar::ram_text(&picked.scenario.to_file().ram)
        );
        let none = s.clone().reduce(Action::Preset(String::new()));
        assert!(Rc::ptr_eq(&none, &s));
    }

    #[test]
    fn the_refused_loads_of_issue_20_are_presets_the_form_shows() {
        let s = state("movable-node-top");
        for name in ["top-down-underflow", "kernel-over-half-of-ram"] {
            let picked = s.clone().reduce(Action::Preset(name.into()));
            assert_eq!(picked.preset(), Some(name));
            assert_eq!(picked.error, None, "a refused load is not a form error");
            let r = kexec_lab_placement::run(&picked.scenario);
            assert!(r.results.iter().all(|v| v.error.is_some()), "{name}");
        }
        // Editing the kernel below half of RAM makes the second one load.
        let half = s
            .clone()
            .reduce(Action::Preset("kernel-over-half-of-ram".into()));
        let ok = edit(&half, Field::Kernel("16M".into()));
        let r = kexec_lab_placement::run(&ok.scenario);
        assert!(r.results.iter().all(|v| v.error.is_none()));
    }
}
