//! Settings › Runtime Reachability › SBOM: what a runtime SBOM is, one GET form whose submit
//! downloads the file (format, pool, tag, the application's name, supplier and version,
//! whether to add packages never loaded), and how many components the current choice
//! holds. A plain form: it works from the keyboard and without JavaScript; the second
//! button only reloads this page with the choice, to update the count.

use maud::{Markup, html};

use crate::ui::components::{
    ButtonKind, Field, FormErrors, card, checkbox, code_block, error_summary, select, submit,
};
use crate::ui::layout::{PageCtx, page};

/// Where the page lives.
pub const PAGE: &str = "/settings/reachability/sbom";
/// Where the form sends its GET: the file itself.
pub const DOWNLOAD: &str = "/settings/reachability/sbom/download";

/// The form's values, as typed (kept after an error).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SbomQuery {
    /// `cyclonedx`, `spdx` or `csv`.
    pub format: String,
    /// A pool id, or empty for every pool in scope.
    pub pool: String,
    /// A tag, or empty.
    pub tag: String,
    /// The application's name.
    pub name: String,
    /// Its supplier.
    pub supplier: String,
    /// Its version.
    pub version: String,
    /// Whether packages never loaded are added.
    pub include_not_loaded: bool,
}

/// What the page shows.
#[derive(Debug)]
pub struct SbomView<'a> {
    /// The form's values.
    pub query: &'a SbomQuery,
    /// Field errors (the count is then not shown).
    pub errors: &'a FormErrors,
    /// The pools in the viewer's scope, `(id, name)`.
    pub pools: &'a [(String, String)],
    /// Loaded packages in the chosen scope.
    pub loaded: usize,
    /// Packages in the chosen scope that are known but never loaded.
    pub not_loaded: usize,
    /// The appliance's address, for the API example.
    pub url: &'a str,
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The page.
pub fn sbom_page(ctx: &PageCtx, v: &SbomView) -> Markup {
    let q = v.query;
    let mut pools: Vec<(&str, &str)> = vec![("", "All pools in your scope")];
    pools.extend(
        v.pools
            .iter()
            .map(|(id, name)| (id.as_str(), name.as_str())),
    );
    let formats = [
        ("cyclonedx", "CycloneDX 1.6 (JSON)"),
        ("spdx", "SPDX 2.3 (JSON)"),
        ("csv", "CSV"),
    ];
    let format = if q.format.is_empty() {
        "cyclonedx"
    } else {
        q.format.as_str()
    };
    let in_file = if q.include_not_loaded {
        v.loaded.saturating_add(v.not_loaded)
    } else {
        v.loaded
    };
    let example = format!(
        "curl -H \"Authorization: Bearer $LANTERN_API_KEY\" \\\n  \"{}/api/v1/sbom?format=cyclonedx&name=payments-api&version=4.2\" -o sbom.cdx.json",
        v.url.trim_end_matches('/')
    );
    let body = html! {
        (card("What a runtime SBOM is", html! {
            p { "A software bill of materials that lists only what your applications really loaded: each component is a package whose classes or modules an agent saw being loaded, not everything that happens to be on the class path or in site-packages." }
            p { "Each component carries its evidence: how its identity was found (the artifact's own metadata such as " code { "pom.properties" } " or Python distribution metadata, the runtime's report, and the observed class loads), where it was loaded (the artifact paths), by how many agents and in which pools. Dependency-Track and other CycloneDX or SPDX tools read it as they read any SBOM." }
            p { "Packages that are present but never loaded are left out unless you add them; they are then marked " code { "not_loaded" } "." }
        }))
        (card("Export", html! {
            (error_summary(v.errors))
            form method="get" action=(DOWNLOAD) {
                (select("format", "Format", &formats, format, Some("CycloneDX 1.6 carries the evidence in its own fields; SPDX 2.3 and CSV in comments and columns."), v.errors))
                (select("pool", "Pool", &pools, &q.pool, Some("Only agents of this pool count. You never get packages from pools outside your scope."), v.errors))
                (Field::text("tag", "Tag").value(&q.tag).placeholder("production").help("Only agents carrying this tag count.").render(v.errors))
                (Field::text("name", "Application name").value(&q.name).placeholder("payments-api").length(None, Some(200)).help("The application the SBOM describes (its metadata component). Empty: \"runtime\".").render(v.errors))
                (Field::text("supplier", "Supplier").value(&q.supplier).placeholder("Example Corp").length(None, Some(200)).render(v.errors))
                (Field::text("version", "Application version").value(&q.version).placeholder("4.2.0").length(None, Some(200)).render(v.errors))
                (checkbox("include_not_loaded", "Add packages never loaded", q.include_not_loaded, Some("Known to the agents but with no class or module loaded; marked not_loaded.")))
                @if v.errors.is_empty() {
                    p id="sbom-count" aria-live="polite" {
                        strong { (plural(in_file, "component", "components")) }
                        " in this choice ("
                        (plural(v.loaded, "loaded package", "loaded packages"))
                        @if v.not_loaded > 0 {
                            ", " (plural(v.not_loaded, "package", "packages")) " never loaded"
                            @if !q.include_not_loaded { ", left out" }
                        }
                        ")."
                    }
                }
                div class="form-actions" {
                    (submit(ButtonKind::Primary, "Download SBOM"))
                    button type="submit" class=(ButtonKind::Secondary.class()) formaction=(PAGE) { "Update count" }
                }
            }
        }))
        (card("From a script", html! {
            p { "The same export is " code { "GET /api/v1/sbom" } " with " code { "format" } ", " code { "pool" } ", " code { "tag" } ", " code { "name" } ", " code { "supplier" } ", " code { "version" } " and " code { "include_not_loaded" } ", with an API key:" }
            (code_block(&example, "the command"))
        }))
    };
    page(
        ctx,
        "SBOM",
        "Export a software bill of materials of what is really loaded at runtime, with evidence.",
        None,
        body,
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::ui::layout::UserView;
    use crate::ui::nav::NavId;
    use crate::ui::test_support::assert_csp_clean;

    fn render(v: &SbomView) -> String {
        let all = |_: NavId| true;
        let ctx = PageCtx {
            company: "Acme",
            tier: "Community",
            user: Some(UserView {
                name: "Ada",
                email: "a@x",
            }),
            current_path: PAGE,
            csrf: "t",
            visible: &all,
        };
        sbom_page(&ctx, v).into_string()
    }

    #[test]
    fn the_form_downloads_by_get_and_keeps_the_choice() {
        let q = SbomQuery {
            format: "spdx".into(),
            pool: "p2".into(),
            tag: "<prod>".into(),
            name: "pay\"api".into(),
            include_not_loaded: true,
            ..SbomQuery::default()
        };
        let pools = [
            ("p1".to_string(), "One".to_string()),
            ("p2".to_string(), "Two".to_string()),
        ];
        let html = render(&SbomView {
            query: &q,
            errors: &FormErrors::none(),
            pools: &pools,
            loaded: 3,
            not_loaded: 1,
            url: "https://h:8443/",
        });
        assert_csp_clean(&html);
        assert!(html.contains(&format!("method=\"get\" action=\"{DOWNLOAD}\"")));
        assert!(html.contains(&format!("formaction=\"{PAGE}\"")));
        let form = &html[html.find(DOWNLOAD).unwrap()..];
        let form = &form[..form.find("</form>").unwrap()];
        assert!(!form.contains("csrf"), "a GET form carries no token");
        assert!(html.contains("<option value=\"spdx\" selected>"));
        assert!(html.contains("<option value=\"p2\" selected>Two</option>"));
        assert!(html.contains("value=\"&lt;prod&gt;\""));
        assert!(html.contains("value=\"pay&quot;api\""));
        assert!(html.contains("name=\"include_not_loaded\" value=\"on\" checked"));
        assert!(html.contains(
            "4 components</strong> in this choice (3 loaded packages, 1 package never loaded)."
        ));
        assert!(html.contains("https://h:8443/api/v1/sbom?format=cyclonedx"));
        assert!(html.contains("What a runtime SBOM is"));
    }

    #[test]
    fn not_loaded_are_counted_apart_and_errors_hide_the_count() {
        let q = SbomQuery::default();
        let html = render(&SbomView {
            query: &q,
            errors: &FormErrors::none(),
            pools: &[],
            loaded: 1,
            not_loaded: 2,
            url: "https://h",
        });
        assert!(html.contains("1 component</strong> in this choice (1 loaded package, 2 packages never loaded, left out)."));
        assert!(html.contains("<option value=\"cyclonedx\" selected>"));
        let errors = FormErrors::none().with_field("format", "format is cyclonedx, spdx or csv");
        let html = render(&SbomView {
            query: &q,
            errors: &errors,
            pools: &[],
            loaded: 1,
            not_loaded: 0,
            url: "https://h",
        });
        assert!(html.contains("format is cyclonedx, spdx or csv"));
        assert!(!html.contains("sbom-count"));
    }
}
