//! The portal's static files (stylesheet, script, icon), embedded in the binary and served
//! under content-hashed URLs `/assets/<hash>/<name>`.
//!
//! The hash is the first 16 hex digits of the file's SHA-256, so a URL names one exact
//! content for ever: the HTTP layer may send `Cache-Control: public, max-age=31536000,
//! immutable`, and a new release changes the URL instead of relying on revalidation.

use std::sync::LazyLock;

/// One embedded file, as the HTTP layer serves it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Asset {
    /// The file's bytes.
    pub bytes: &'static [u8],
    /// The `Content-Type` header value.
    pub content_type: &'static str,
}

/// The embedded files, by name.
const FILES: [(&str, Asset); 3] = [
    (
        "lantern.css",
        Asset {
            bytes: include_bytes!("../../assets/lantern.css"),
            content_type: "text/css; charset=utf-8",
        },
    ),
    (
        "lantern.js",
        Asset {
            bytes: include_bytes!("../../assets/lantern.js"),
            content_type: "text/javascript; charset=utf-8",
        },
    ),
    (
        "favicon.svg",
        Asset {
            bytes: include_bytes!("../../assets/favicon.svg"),
            content_type: "image/svg+xml",
        },
    ),
];

/// The names of every embedded file (for listings and tests).
pub fn names() -> impl Iterator<Item = &'static str> {
    FILES.iter().map(|(name, _)| *name)
}

/// `(name, hash, asset)` for every file, hashed on first use.
static HASHED: LazyLock<Vec<(&'static str, String, Asset)>> = LazyLock::new(|| {
    FILES
        .iter()
        .map(|(name, asset)| (*name, short_hash(asset.bytes), *asset))
        .collect()
});

/// First 16 hex digits (64 bits) of SHA-256: plenty to tell releases of three files apart.
fn short_hash(bytes: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
    digest
        .as_ref()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The content hash of an embedded file, or `None` if there is no such file.
pub fn hash(name: &str) -> Option<&'static str> {
    HASHED
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, h, _)| h.as_str())
}

/// The URL of an embedded file, e.g. `/assets/3f2a…/lantern.css`.
///
/// An unknown name gives `/assets/missing/<name>`, which [`lookup`] never resolves: the
/// browser gets a 404 that is easy to spot instead of the page failing to render.
pub fn url(name: &str) -> String {
    match hash(name) {
        Some(h) => format!("/assets/{h}/{name}"),
        None => format!("/assets/missing/{name}"),
    }
}

/// The file served at `/assets/<hash>/<name>`, only if both the name and its current hash
/// match (a stale hash is a 404, not another version's content).
pub fn lookup(hash: &str, name: &str) -> Option<Asset> {
    HASHED
        .iter()
        .find(|(n, h, _)| *n == name && h == hash)
        .map(|(_, _, a)| *a)
}

/// Splits a request path `/assets/<hash>/<name>` into `(hash, name)`; `None` for any other
/// shape (extra segments, empty parts), so the router can answer 404 without guessing.
pub fn split_path(path: &str) -> Option<(&str, &str)> {
    let rest = path.strip_prefix("/assets/")?;
    let (hash, name) = rest.split_once('/')?;
    if hash.is_empty() || name.is_empty() || name.contains('/') {
        return None;
    }
    Some((hash, name))
}

#[cfg(test)]
// Tests may fail loudly; the denies exist for production paths.
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
mod tests {
    use super::*;
    use crate::ui::layout::{PageCtx, UserView};
    use maud::html;

    /// Pulls every `/assets/...` URL out of rendered HTML.
    fn asset_urls(html: &str) -> Vec<String> {
        html.split('"')
            .filter(|s| s.starts_with("/assets/"))
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn every_asset_in_the_layout_resolves() {
        let visible = |_| true;
        let ctx = PageCtx {
            company: "Acme",
            tier: "Community",
            user: Some(UserView {
                name: "Ada Lovelace",
                email: "ada@example.com",
            }),
            current_path: "/getting-started",
            csrf: "tok",
            visible: &visible,
        };
        for doc in [
            crate::ui::layout::page(&ctx, "T", "S.", None, html! {}).into_string(),
            crate::ui::layout::bare("T", html! {}).into_string(),
        ] {
            let urls = asset_urls(&doc);
            assert!(urls.len() >= 3, "{urls:?}");
            for u in urls {
                let (h, n) = split_path(&u).unwrap_or_else(|| panic!("bad url {u}"));
                let a = lookup(h, n).unwrap_or_else(|| panic!("{u} does not resolve"));
                assert!(!a.bytes.is_empty());
            }
        }
    }

    #[test]
    fn every_file_resolves_and_wrong_hashes_do_not() {
        for name in names() {
            let h = hash(name).unwrap_or_default();
            assert_eq!(h.len(), 16);
            assert!(
                h.bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
            );
            assert!(lookup(h, name).is_some());
            assert!(lookup("0000000000000000", name).is_none());
            assert!(lookup(&h[..15], name).is_none());
            assert_eq!(url(name), format!("/assets/{h}/{name}"));
        }
        assert!(lookup(hash("lantern.css").unwrap_or_default(), "lantern.js").is_none());
        assert!(url("nope.css").starts_with("/assets/missing/"));
        assert!(split_path("/assets/abc/x/y").is_none());
        assert!(split_path("/assets//x").is_none());
        assert_eq!(split_path("/assets/abc/x.css"), Some(("abc", "x.css")));
    }

    #[test]
    fn content_types_fit() {
        let css = lookup(hash("lantern.css").unwrap_or_default(), "lantern.css");
        assert_eq!(css.map(|a| a.content_type), Some("text/css; charset=utf-8"));
        let svg = lookup(hash("favicon.svg").unwrap_or_default(), "favicon.svg");
        assert_eq!(svg.map(|a| a.content_type), Some("image/svg+xml"));
    }
}
