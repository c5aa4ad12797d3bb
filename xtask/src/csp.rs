//! `cargo xtask csp [DIR]`: completes the pages' Content-Security-Policy
//! after Trunk has written them (Trunk's post-build hook, `cargo xtask
//! post-build`, runs it on `$TRUNK_STAGING_DIR`).
//!
//! Every page of the site (`*.html` in DIR) must carry its policy in a
//! `<meta http-equiv="Content-Security-Policy">` tag. The policy allows no
//! inline script, yet Trunk injects one into index.html: the module script
//! that starts the page's main module (its file name holds a content hash,
//! so the script changes with every build). This step adds the sha256 of
//! each inline script it finds to that page's `script-src`, so exactly
//! those scripts run and nothing else inline does. It is idempotent.

use sha2::{Digest, Sha256};
use std::path::Path;

type Result<T = ()> = std::result::Result<T, String>;

/// Where the policy's text is in a page: the `content` attribute of the
/// `<meta>` tag whose `http-equiv` is Content-Security-Policy, in any
/// attribute order, quoted or not as a minifier leaves it (the content
/// itself is always quoted: it holds spaces and quotes).
fn policy_span(html: &str) -> Option<(usize, usize)> {
    let lower = html.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = lower[from..].find("<meta") {
        let start = from + i;
        let end = start + lower[start..].find('>')?;
        let tag = &lower[start..end];
        if tag.contains("http-equiv=\"content-security-policy\"")
            || tag.contains("http-equiv=content-security-policy")
        {
            let c = start + tag.find("content=\"")? + "content=\"".len();
            let len = html[c..end].find('"')?;
            return Some((c, len));
        }
        from = end;
    }
    None
}

/// The contents of every inline `<script>` (one without `src`) of a page.
pub fn inline_scripts(html: &str) -> Vec<&str> {
    let mut out = vec![];
    let mut rest = html;
    while let Some(i) = rest.find("<script") {
        let after = &rest[i..];
        let Some(tag_end) = after.find('>') else {
            break;
        };
        let tag = &after[..tag_end];
        let body = &after[tag_end + 1..];
        let Some(close) = body.find("</script>") else {
            break;
        };
        if !tag.contains(" src=") {
            out.push(&body[..close]);
        }
        rest = &body[close..];
    }
    out
}

/// The CSP source expression of a script's text: `'sha256-BASE64'`.
pub fn hash_source(script: &str) -> String {
    use base64::Engine;
    let digest = Sha256::digest(script.as_bytes());
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

/// The page with its inline scripts' hashes in the policy's `script-src`;
/// an error when the page has no policy or the policy no `script-src`.
pub fn complete(html: &str) -> Result<String> {
    let (start, len) = policy_span(html)
        .ok_or("no <meta http-equiv=\"Content-Security-Policy\" content=\"…\"> tag")?;
    let policy = &html[start..start + len];
    let mut directives: Vec<String> = policy
        .split(';')
        .map(|d| d.trim().to_string())
        .filter(|d| !d.is_empty())
        .collect();
    let script_src = directives
        .iter_mut()
        .find(|d| d.split_whitespace().next() == Some("script-src"))
        .ok_or("the policy has no script-src")?;
    for script in inline_scripts(html) {
        let source = hash_source(script);
        if !script_src.split_whitespace().any(|s| s == source) {
            script_src.push(' ');
            script_src.push_str(&source);
        }
    }
    Ok(format!(
        "{}{}{}",
        &html[..start],
        directives.join("; "),
        &html[start + len..]
    ))
}

/// Complete the policy of every page in `dir` (default
/// `$TRUNK_STAGING_DIR`).
pub fn csp(args: &[String]) -> Result {
    let dir = match args.first() {
        Some(d) => d.clone(),
        None => std::env::var("TRUNK_STAGING_DIR")
            .map_err(|_| "usage: cargo xtask csp DIR (or run as Trunk's hook)")?,
    };
    let dir = Path::new(&dir);
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut pages = 0;
    for e in entries.flatten() {
        let path = e.path();
        if path.extension().and_then(|x| x.to_str()) != Some("html") {
            continue;
        }
        let html =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let done = complete(&html).map_err(|e| format!("{}: {e}", path.display()))?;
        if done != html {
            std::fs::write(&path, done).map_err(|e| format!("{}: {e}", path.display()))?;
        }
        pages += 1;
    }
    eprintln!("xtask: csp: {pages} pages in {}", dir.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = "<head><meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'self'; script-src 'self' 'wasm-unsafe-eval'\">\n<script type=\"module\">\nimport init from './app.js';\n</script><script src=\"x.js\"></script></head>";

    #[test]
    fn adds_each_inline_scripts_hash_once() {
        assert_eq!(
            inline_scripts(PAGE),
            vec!["\nimport init from './app.js';\n"]
        );
        let once = complete(PAGE).unwrap();
        let h = hash_source("\nimport init from './app.js';\n");
        assert!(once.contains(&format!(
            "content=\"default-src 'self'; script-src 'self' 'wasm-unsafe-eval' {h}\">"
        )));
        assert_eq!(complete(&once).unwrap(), once);
    }

    #[test]
    fn a_minified_page_too() {
        let page = "<meta content=\"script-src 'self'\" http-equiv=Content-Security-Policy><script type=module>x()</script>";
        let h = hash_source("x()");
        assert!(complete(page).unwrap().starts_with(&format!(
            "<meta content=\"script-src 'self' {h}\" http-equiv"
        )));
    }

    #[test]
    fn a_page_without_a_policy_is_an_error() {
        assert!(complete("<script>x</script>").is_err());
    }

    #[test]
    fn the_hash_is_the_one_browsers_compute() {
        // echo -n "alert('Hello, world.');" | openssl sha256 -binary | base64
        assert_eq!(
            hash_source("alert('Hello, world.');"),
            "'sha256-qznLcsROx4GACP2dm0UCKCzCG+HiZ1guq6ZZDob/Tng='"
        );
    }
}
