//! Test helpers shared by the `ui` modules: a small scanner that checks rendered HTML against
//! the portal's Content Security Policy (`default-src 'self'`), so a page that would be
//! silently broken in the browser fails a unit test instead.

// Test-only code may fail loudly and index freely; the denies exist for production paths.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

/// One start tag: its name and attribute names, lower-cased.
pub(crate) struct Tag {
    pub name: String,
    pub attrs: Vec<String>,
}

/// Every start tag of `html`. Maud escapes `<` in text and `"` in attribute values, so every
/// `<` starts markup and attribute values never contain a bare `"`.
pub(crate) fn tags(html: &str) -> Vec<Tag> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        rest = &rest[start + 1..];
        if rest.starts_with('/') || rest.starts_with('!') {
            continue;
        }
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        let mut attrs = Vec::new();
        let mut chars = rest[name.len()..].char_indices();
        let mut end = rest.len();
        let mut current = String::new();
        let mut in_value = false;
        for (i, c) in chars.by_ref() {
            let i = i + name.len();
            if in_value {
                if c == '"' {
                    in_value = false;
                }
                continue;
            }
            match c {
                '"' => in_value = true,
                '>' => {
                    end = i;
                    break;
                }
                c if c.is_whitespace() || c == '=' || c == '/' => {
                    if !current.is_empty() {
                        attrs.push(std::mem::take(&mut current).to_lowercase());
                    }
                }
                c => current.push(c),
            }
        }
        if !current.is_empty() {
            attrs.push(current.to_lowercase());
        }
        out.push(Tag {
            name: name.to_lowercase(),
            attrs,
        });
        rest = &rest[end..];
    }
    out
}

/// Fails if `html` has an inline script, a `style` attribute or tag, an `on*` handler, or a
/// URL to another origin in `src`/`href` of a stylesheet or script.
pub(crate) fn assert_csp_clean(html: &str) {
    let tags = tags(html);
    assert!(!tags.is_empty() || html.is_empty());
    for t in &tags {
        if t.name == "script" {
            assert!(
                t.attrs.iter().any(|a| a == "src"),
                "inline <script> in {html}"
            );
        }
        assert_ne!(t.name, "style", "<style> element in output");
        for a in &t.attrs {
            assert_ne!(a, "style", "style= attribute on <{}>", t.name);
            assert!(
                !a.starts_with("on"),
                "handler attribute {a} on <{}>",
                t.name
            );
        }
    }
    for bad in ["http://", "https://fonts", "//cdn", "javascript:"] {
        assert!(
            !html.contains(&format!("src=\"{bad}")),
            "external src {bad}"
        );
        assert!(
            !html.contains(&format!("href=\"{bad}")),
            "external href {bad}"
        );
    }
}

#[test]
fn the_scanner_catches_what_it_should() {
    let bad = [
        "<script>alert(1)</script>",
        "<p style=\"color:red\">x</p>",
        "<a href=\"#\" onclick=\"x()\">x</a>",
        "<img src=\"x\" ONERROR=\"x\">",
        "<div><style>p{}</style></div>",
        "<a href=\"javascript:alert(1)\">x</a>",
    ];
    for b in bad {
        assert!(
            std::panic::catch_unwind(|| assert_csp_clean(b)).is_err(),
            "missed {b}"
        );
    }
    assert_csp_clean(
        "<script src=\"/a.js\" defer></script><p title=\"on style= onclick\">turn on</p>",
    );
    let t = tags("<input type=\"hidden\" name=\"csrf\" value=\"a b\"><details open data-nav>");
    assert_eq!(t.len(), 2);
    assert_eq!(t[0].attrs, ["type", "name", "value"]);
    assert_eq!(t[1].attrs, ["open", "data-nav"]);
}

/// Runs `f` with the page context of a signed-in user who may see every page, on `path`:
/// what page unit tests render with.
pub(crate) fn with_page_ctx<R>(path: &str, f: impl FnOnce(&crate::ui::layout::PageCtx) -> R) -> R {
    let all = |_: crate::ui::nav::NavId| true;
    let ctx = crate::ui::layout::PageCtx {
        company: "Acme",
        tier: "Community",
        user: Some(crate::ui::layout::UserView {
            name: "Ada",
            email: "ada@x.org",
        }),
        current_path: path,
        csrf: "tok",
        visible: &all,
    };
    f(&ctx)
}
