//! The page's own scripts, minified after Trunk has written the site
//! (part of `cargo xtask post-build`, Trunk's post-build hook): Trunk's
//! own minifier cannot parse wasm-bindgen's output (it warns and copies
//! it), so terser (npm) does it. The main module's glue is part of the
//! page's first load (8.1 KiB gzipped, 6.1 minified); index.html names it
//! with a Subresource Integrity hash: the old hash is replaced by the new
//! one. The model worker's boot script (`worker.js`, copied by Trunk as it
//! is) is part of the first load too: its comments and names cost 704
//! bytes gzipped, 382 minified.

use sha2::{Digest, Sha384};
use std::path::Path;
use std::process::Command;

type Result<T = ()> = std::result::Result<T, String>;

/// `sha384-BASE64` of some bytes, as an `integrity` attribute holds it.
fn sri(bytes: &[u8]) -> String {
    use base64::Engine;
    format!(
        "sha384-{}",
        base64::engine::general_purpose::STANDARD.encode(Sha384::digest(bytes))
    )
}

/// Minify `app-*.js` (the main module's glue) and `worker.js` in `dir`
/// with terser and update the glue's integrity hash in index.html.
pub fn page_scripts(dir: &Path, terser: &Path) -> Result {
    let index = dir.join("index.html");
    let mut html =
        std::fs::read_to_string(&index).map_err(|e| format!("{}: {e}", index.display()))?;
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !(name.starts_with("app-") && name.ends_with(".js") || name == "worker.js") {
            continue;
        }
        let path = e.path();
        let before = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let status = Command::new(terser)
            .arg(&path)
            .args(["--module", "--compress", "--mangle", "--output"])
            .arg(&path)
            .status()
            .map_err(|e| format!("{}: {e}", terser.display()))?;
        if !status.success() {
            return Err(format!("terser {name} failed ({status})"));
        }
        let after = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let (old, new) = (sri(&before), sri(&after));
        if html.contains(&old) {
            html = html.replace(&old, &new);
        }
        eprintln!(
            "xtask: minified {name}: {} -> {} bytes",
            before.len(),
            after.len()
        );
    }
    std::fs::write(&index, html).map_err(|e| format!("{}: {e}", index.display()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn sri_is_the_browsers() {
        // printf '' | openssl dgst -sha384 -binary | base64
        assert_eq!(
            super::sri(b""),
            "sha384-OLBgp1GsljhM2TJ+sbHjaiH9txEUvgdDTAzHv2P24donTt6/529l+9Ua0vFImLlb"
        );
    }
}
