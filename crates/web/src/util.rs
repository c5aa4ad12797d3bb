//! Small browser helpers: URL, history, clipboard, downloads, guarded
//! storage. Everything here fails soft: a sandboxed iframe may refuse
//! storage or the clipboard, and the page must go on.

use wasm_bindgen::JsCast;
use web_sys::{Blob, BlobPropertyBag, HtmlAnchorElement, Url};

/// The window (always there on the main thread).
pub fn window() -> web_sys::Window {
    web_sys::window().expect("a window")
}

/// The page's full URL.
pub fn href() -> String {
    window().location().href().unwrap_or_default()
}

/// A query parameter of the page's URL.
pub fn query_param(name: &str) -> Option<String> {
    let search = window().location().search().ok()?;
    web_sys::UrlSearchParams::new_with_str(&search)
        .ok()?
        .get(name)
}

/// Replace the URL's fragment (no history entry, no reload).
pub fn set_fragment(fragment: &str) {
    let w = window();
    let loc = w.location();
    let path = loc.pathname().unwrap_or_default();
    let search = if query_param("embed").is_some() {
        "?embed=1".to_string()
    } else {
        String::new()
    };
    let url = format!("{path}{search}#{fragment}");
    if let Ok(h) = w.history() {
        let _ = h.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url));
    }
}

/// Navigate to a fragment (a history entry and a `hashchange`, which the
/// other page module follows).
pub fn go_to_fragment(fragment: &str) {
    let _ = window().location().set_hash(fragment);
}

#[wasm_bindgen::prelude::wasm_bindgen(
    inline_js = "export function import_module(url) { return import(url); }
export async function deflate_raw(text) {
  const s = new Blob([text]).stream().pipeThrough(new CompressionStream('deflate-raw'));
  return new Uint8Array(await new Response(s).arrayBuffer());
}"
)]
extern "C" {
    /// `import(url)`: a dynamic import of an ES module (a snippet of the
    /// page's own origin, so a strict Content-Security-Policy allows it;
    /// no eval).
    fn import_module(url: &str) -> js_sys::Promise;
    /// `text` (as UTF-8) raw-deflated by the browser's
    /// `CompressionStream("deflate-raw")`: a `Uint8Array`.
    #[wasm_bindgen(catch)]
    async fn deflate_raw(text: &str) -> Result<wasm_bindgen::JsValue, wasm_bindgen::JsValue>;
}

/// A scenario's share-link fragment, deflated by the browser (the page's
/// module carries the link codec's decompressor, not its compressor; see
/// `kexec_common::codec::fragment_of_deflated`).
pub async fn share_fragment(sc: &kexec_core::scenario::Scenario) -> Result<String, String> {
    let deflated = deflate_raw(&sc.to_json())
        .await
        .map_err(|e| format!("cannot deflate the scenario: {e:?}"))?;
    let bytes = js_sys::Uint8Array::new(&deflated).to_vec();
    Ok(kexec_common::codec::fragment_of_deflated(&bytes))
}

/// Load the labs' module (`labs.js` and `labs_bg.wasm` next to the page,
/// an ES module) once, by a dynamic `import()`; it mounts itself under
/// `#lab-root`.
pub fn load_labs() {
    thread_local! {
        static LOADED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }
    if LOADED.with(|l| l.replace(true)) {
        return;
    }
    let Some(doc) = window().document() else {
        return;
    };
    let base = doc.base_uri().ok().flatten().unwrap_or_else(href);
    let url = |name: &str| {
        Url::new_with_base(name, &base)
            .map(|u| u.href())
            .unwrap_or_default()
    };
    let (js, wasm) = (url("labs.js"), url("labs_bg.wasm"));
    wasm_bindgen_futures::spawn_local(async move {
        let Ok(module) = wasm_bindgen_futures::JsFuture::from(import_module(&js)).await else {
            return;
        };
        let init = js_sys::Reflect::get(&module, &"default".into())
            .ok()
            .and_then(|f| f.dyn_into::<js_sys::Function>().ok());
        if let Some(init) = init {
            let arg = js_sys::Object::new();
            let _ = js_sys::Reflect::set(&arg, &"module_or_path".into(), &wasm.into());
            let _ = init.call1(&wasm_bindgen::JsValue::NULL, &arg);
        }
    });
}

/// Show or hide `#lab-root`, the labs' module's mount point.
pub fn show_lab_root(show: bool) {
    if let Some(el) = window()
        .document()
        .and_then(|d| d.get_element_by_id("lab-root"))
    {
        if show {
            let _ = el.remove_attribute("hidden");
        } else {
            let _ = el.set_attribute("hidden", "");
        }
    }
}

/// The playground URL for a fragment (no `?embed`, no `?preset`).
pub fn playground_url(fragment: &str) -> String {
    let loc = window().location();
    let origin = loc.origin().unwrap_or_default();
    let path = loc.pathname().unwrap_or_default();
    format!("{origin}{path}#{fragment}")
}

/// Copy text to the clipboard (best effort).
pub fn copy(text: &str) {
    let _ = window().navigator().clipboard().write_text(text);
}

/// Offer `text` as a file download.
pub fn download(name: &str, mime: &str, text: &str) {
    let parts = js_sys::Array::of1(&text.into());
    let opts = BlobPropertyBag::new();
    opts.set_type(mime);
    let Ok(blob) = Blob::new_with_str_sequence_and_options(&parts, &opts) else {
        return;
    };
    let Ok(url) = Url::create_object_url_with_blob(&blob) else {
        return;
    };
    if let Some(doc) = window().document() {
        if let Ok(a) = doc.create_element("a") {
            let a: HtmlAnchorElement = a.unchecked_into();
            a.set_href(&url);
            a.set_download(name);
            a.click();
        }
    }
    let _ = Url::revoke_object_url(&url);
}

/// localStorage get, `None` where storage is unavailable.
pub fn load_pref(key: &str) -> Option<String> {
    window()
        .local_storage()
        .ok()
        .flatten()?
        .get_item(key)
        .ok()
        .flatten()
}

/// localStorage set, ignored where storage is unavailable.
pub fn save_pref(key: &str, value: &str) {
    if let Ok(Some(s)) = window().local_storage() {
        let _ = s.set_item(key, value);
    }
}

/// Milliseconds since the page started.
pub fn now() -> f64 {
    window().performance().map_or(0.0, |p| p.now())
}
