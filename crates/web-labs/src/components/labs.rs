//! The labs' page module (a second wasm module, loaded when a lab is first
//! shown): the Placement, Hotplug and Page tables views, mounted under
//! `#lab-root`. Which lab shows follows the URL: a link or `?preset=` of a
//! lab kind, or `#lab=KIND` (the main module's tabs), which opens that
//! lab's first preset; `?findings` and `?finding=NAME` show the findings
//! ([`super::findings`]), `?import` the capture import
//! ([`super::capture`]). A kimage link hides it.

use super::capture::CaptureView;
use super::findings::FindingsView;
use super::hotplug::HotplugView;
use super::pgtable::PgtableView;
use super::placement::PlacementView;
use gloo::events::EventListener;
use kexec_lab_hotplug::HotplugScenario;
use kexec_lab_pgtable::PgtableScenario;
use kexec_lab_placement::PlacementScenario;
use kexec_playground::{link, presets, Document};
use kexec_web::labs::{is_findings, is_import, LabTab, FINDINGS, IMPORT, LABS, LAB_EVENT};
use kexec_web::util;
use std::rc::Rc;
use wasm_bindgen::JsValue;
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

    fn kind(&self) -> &'static str {
        match self {
            Lab::Placement(_) => "placement",
            Lab::Hotplug(_) => "hotplug",
            Lab::Pgtable(_) => "pgtable",
        }
    }
}

/// The first preset of a lab (what its tab opens).
fn first_preset(t: &LabTab) -> Option<Lab> {
    presets::by_kind()
        .into_iter()
        .find(|k| k.kind == t.kind)
        .and_then(|k| k.presets.first().map(|p| p.0))
        .and_then(presets::find_document)
        .and_then(Lab::of)
}

/// The lab the URL names (`Ok(None)`: a kimage link, the main module's),
/// or why a lab link cannot be opened.
pub fn lab_of_url() -> Result<Option<Lab>, String> {
    let href = util::href();
    if let Some((_, kind)) = href.split_once("#lab=") {
        return Ok(LABS.iter().find(|t| t.kind == kind).and_then(first_preset));
    }
    match link::kind(&href) {
        Ok("kimage") => Ok(None),
        // A `?preset=` no kind has: the main module says so.
        Err(_) if !href.contains('#') && util::query_param("preset").is_some() => Ok(None),
        Ok(_) => link::decode_document(&href)
            .map(Lab::of)
            .map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    }
}

/// Tell the main module which lab is shown (its tab and tagline), or
/// that none is (`""`: the URL names no lab after all).
fn announce(kind: &str) {
    let init = web_sys::CustomEventInit::new();
    init.set_detail(&JsValue::from_str(kind));
    if let Ok(e) = web_sys::CustomEvent::new_with_event_init_dict(LAB_EVENT, &init) {
        let _ = util::window().dispatch_event(&e);
    }
}

/// The labs' root component.
#[component]
pub fn LabsApp() -> Html {
    let lab = use_state(lab_of_url);
    let findings = *use_memo((), |_| is_findings(&util::href()));
    let importing = *use_memo((), |_| is_import(&util::href()));
    {
        let lab = lab.setter();
        use_effect_with((), move |_| {
            let listener = EventListener::new(&util::window(), "hashchange", move |_| {
                lab.set(lab_of_url());
            });
            move || drop(listener)
        });
    }
    {
        let kind = match &*lab {
            _ if findings => Some(FINDINGS.kind),
            _ if importing => Some(IMPORT.kind),
            Ok(Some(l)) => Some(l.kind()),
            Ok(None) => Some(""),
            Err(_) => None,
        };
        use_effect_with(kind, |kind| {
            if let Some(k) = kind {
                announce(k);
            }
        });
    }
    let footer = |cli: &str| {
        html! {
            <footer>
                { format!("the model: the lab crates (also kexec-sim {cli}) · nothing leaves this page") }
            </footer>
        }
    };
    if findings {
        let open = util::query_param("finding").map(AttrValue::from);
        return html! { <FindingsView {open} /> };
    }
    if importing {
        return html! { <CaptureView /> };
    }
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
                Callback::from(move |scenario: kexec_core::scenario::Scenario| {
                    lab.set(Ok(None));
                    util::go_to_fragment(&kexec_core::link::encode_fragment(&scenario));
                })
            };
            html! { <><PlacementView scenario={p} {on_change} {on_load} />{ footer("place") }</> }
        }
    }
}
