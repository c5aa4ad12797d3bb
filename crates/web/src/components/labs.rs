//! The labs' page module (a second wasm module, loaded when a lab is first
//! shown): the Placement, Hotplug and Page tables views, mounted under
//! `#lab-root`. Which lab shows follows the URL: a link or `?preset=` of a
//! lab kind, or `#lab=KIND` (the main module's tabs), which opens that
//! lab's first preset. A kimage link hides it.

use super::hotplug::HotplugView;
use super::pgtable::PgtableView;
use super::placement::PlacementView;
use crate::util;
use gloo::events::EventListener;
use kexec_model::hotplug::HotplugScenario;
use kexec_model::link;
use kexec_model::pgtable_lab::PgtableScenario;
use kexec_model::placement_lab::PlacementScenario;
use kexec_model::presets;
use kexec_model::scenario::Document;
use std::rc::Rc;
use yew::prelude::*;

/// A lab view and its scenario.
#[derive(Clone, PartialEq)]
pub enum Lab {
    /// The Placement view.
    Placement(Rc<PlacementScenario>),
    /// The Hotplug view.
    Hotplug(Rc<HotplugScenario>),
    /// The Page tables view.
    Pgtable(Rc<PgtableScenario>),
}

impl Lab {
    fn of(d: Document) -> Option<Lab> {
        match d {
            Document::Kimage(_) => None,
            Document::Placement(p) => Some(Lab::Placement(Rc::new(p))),
            Document::Hotplug(h) => Some(Lab::Hotplug(Rc::new(h))),
            Document::Pgtable(p) => Some(Lab::Pgtable(Rc::new(p))),
        }
    }
}

/// The lab the URL names (`Ok(None)`: a kimage link), or why a lab link
/// cannot be opened.
pub fn lab_of_url() -> Result<Option<Lab>, String> {
    let href = util::href();
    if href.contains("#lab=") {
        let first = util::lab_request(&href).and_then(|kind| {
            presets::LAB_PRESETS
                .iter()
                .find(|(k, _)| *k == kind)
                .and_then(|(_, names)| names.first())
        });
        return Ok(first
            .and_then(|f| presets::find_document(f))
            .and_then(Lab::of));
    }
    match link::kind(&href) {
        Ok("kimage") | Err(_) => Ok(None),
        Ok(_) => link::decode_document(&href)
            .map(Lab::of)
            .map_err(|e| e.to_string()),
    }
}

/// The labs' root component.
#[component]
pub fn LabsApp() -> Html {
    let lab = use_state(lab_of_url);
    {
        let lab = lab.setter();
        use_effect_with((), move |_| {
            let listener = EventListener::new(&util::window(), "hashchange", move |_| {
                lab.set(lab_of_url());
            });
            move || drop(listener)
        });
    }
    let footer = |cli: &str| {
        html! {
            <footer>
                { format!("the model: kexec-model (also kexec-sim {cli}) · nothing leaves this page") }
            </footer>
        }
    };
    let lab_now = match (*lab).clone() {
        Ok(l) => l,
        Err(e) => {
            return html! {
                <p class="notice" role="alert" id="lab-notice">
                    { format!("This link could not be opened ({e}).") }
                </p>
            }
        }
    };
    match lab_now {
        None => html! {},
        Some(Lab::Hotplug(h)) => {
            let on_change = {
                let lab = lab.clone();
                Callback::from(move |sc: HotplugScenario| {
                    lab.set(Ok(Some(Lab::Hotplug(Rc::new(sc)))))
                })
            };
            html! { <><HotplugView scenario={h} {on_change} />{ footer("hotplug") }</> }
        }
        Some(Lab::Pgtable(p)) => {
            let on_change = {
                let lab = lab.clone();
                Callback::from(move |sc: PgtableScenario| {
                    lab.set(Ok(Some(Lab::Pgtable(Rc::new(sc)))))
                })
            };
            html! { <><PgtableView scenario={p} {on_change} />{ footer("pgtable") }</> }
        }
        Some(Lab::Placement(p)) => {
            let on_change = {
                let lab = lab.clone();
                Callback::from(move |sc: PlacementScenario| {
                    lab.set(Ok(Some(Lab::Placement(Rc::new(sc)))))
                })
            };
            // "load this placement": the kimage link, as a navigation the
            // main module's view follows.
            let on_load = {
                let lab = lab.clone();
                Callback::from(move |scenario: kexec_model::scenario::Scenario| {
                    lab.set(Ok(None));
                    util::go_to_fragment(&link::encode_fragment(&scenario));
                })
            };
            html! { <><PlacementView scenario={p} {on_change} {on_load} />{ footer("place") }</> }
        }
    }
}
