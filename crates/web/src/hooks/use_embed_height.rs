//! The `?embed=1` page's height, posted to the parent page after every
//! render (`{type: "kexec-playground-height", height}`), so documentation
//! can size the iframe to its content (`www/embed.html` listens).

use crate::util;
use yew::prelude::*;

/// The message type the parent page listens for.
pub const HEIGHT_MESSAGE: &str = "kexec-playground-height";

/// Post the document's height to the parent after every render, when
/// `embed`.
#[hook]
pub fn use_embed_height(embed: bool) {
    use_effect(move || {
        if embed {
            post_height();
        }
    });
}

fn post_height() {
    let w = util::window();
    let h = w
        .document()
        .and_then(|d| d.document_element())
        .map_or(0, |e| e.scroll_height());
    if let Ok(Some(parent)) = w.parent() {
        let msg = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&msg, &"type".into(), &HEIGHT_MESSAGE.into());
        let _ = js_sys::Reflect::set(&msg, &"height".into(), &h.into());
        let _ = parent.post_message(&msg, "*");
    }
}
