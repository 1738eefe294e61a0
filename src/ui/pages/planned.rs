//! The page of an area that is not built yet: its title and purpose, a plain "not available
//! yet" notice and what it will do. Deliberately no tables, numbers or sample rows: showing
//! made-up data would be worse than showing none.

use maud::{Markup, html};

use crate::ui::components::{Tone, notice_with};
use crate::ui::layout::{PageCtx, page};
use crate::ui::nav::NavEntry;

/// The placeholder page for `entry`.
pub fn planned(ctx: &PageCtx, entry: &NavEntry) -> Markup {
    let body = html! {
        (notice_with(Tone::Warning, "Not available yet in this version", html! {
            p { "This page describes what " (entry.label) " will do. Nothing on it works yet, and nothing here is sample data." }
        }))
        section class="card" {
            h2 class="card-title" { "What this page will do" }
            ul class="checklist" {
                @for point in entry.planned {
                    li { (point) }
                }
            }
        }
    };
    page(ctx, entry.label, entry.summary, None, body)
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
    use crate::ui::layout::UserView;
    use crate::ui::nav::{NAV, NavId};
    use crate::ui::test_support::assert_csp_clean;

    #[test]
    fn every_entry_renders_plainly() {
        let all = |_: NavId| true;
        for e in NAV {
            let ctx = PageCtx {
                company: "Acme",
                tier: "Community",
                user: Some(UserView {
                    name: "Ada",
                    email: "a@x",
                }),
                current_path: e.path,
                csrf: "t",
                visible: &all,
            };
            let html = planned(&ctx, e).into_string();
            assert_csp_clean(&html);
            assert!(html.contains("Not available yet in this version"));
            assert!(!html.contains("<table"), "no fake tables");
            for point in e.planned {
                // Points may contain characters Maud escapes (`"`), so compare escaped.
                let escaped = maud::html! { (point) }.into_string();
                assert!(html.contains(&escaped), "{point}");
            }
            assert!(html.contains(&format!(
                "<h1>{}</h1>",
                maud::html! { (e.label) }.into_string()
            )));
        }
    }
}
