//! The labs' view: the labs live in their own wasm module
//! (`kexec-web-labs`), loaded on the first visit to a lab and mounted
//! under `#lab-root`, which is shown only while a lab is.

use crate::util;
use yew::prelude::*;

/// Show `#lab-root` while `shown` (loading the labs' module the first
/// time), hide it otherwise.
#[hook]
pub fn use_labs_view(shown: bool) {
    use_effect_with(shown, |&shown| {
        if shown {
            util::load_labs();
        }
        util::show_lab_root(shown);
    });
}
