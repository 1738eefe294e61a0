//! The error page: a clear title and message, the HTTP status and the error id that support
//! can find in the server log. Framed with the navigation when the user is signed in, in the
//! bare card otherwise (so an error never leaks the navigation to an anonymous visitor).

use maud::{Markup, html};

use crate::ui::components::{ButtonKind, copyable, link_button};
use crate::ui::layout::{PageCtx, bare, page as framed};

/// An error page for `status` (e.g. 404, 500). `message` says what happened and what to do;
/// `error_id` is the id logged with the details, shown so a user can quote it.
pub fn page(
    ctx: Option<&PageCtx>,
    status: u16,
    title: &str,
    message: &str,
    error_id: Option<&str>,
) -> Markup {
    let details = html! {
        div class=(if ctx.is_some() { "card error-details" } else { "error-details" }) {
            p class="error-status" { "Error " (status) }
            @if let Some(id) = error_id {
                p {
                    "If you report this problem, quote this error id: "
                    (copyable(id, "error id"))
                }
            }
            div class="form-actions" {
                (link_button(if ctx.is_some() { ButtonKind::Secondary } else { ButtonKind::Primary }, "/", "Go to the start page"))
            }
        }
    };
    match ctx {
        Some(ctx) => framed(ctx, title, message, None, details),
        None => bare(title, html! { p { (message) } (details) }),
    }
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
    use crate::ui::nav::NavId;
    use crate::ui::test_support::assert_csp_clean;

    #[test]
    fn bare_and_framed() {
        let html = page(
            None,
            404,
            "Page not found",
            "There is no page at this address.",
            None,
        )
        .into_string();
        assert_csp_clean(&html);
        assert!(!html.contains("<nav") && html.contains("Error 404"));
        let all = |_: NavId| true;
        let ctx = PageCtx {
            company: "Acme",
            tier: "Community",
            user: Some(UserView {
                name: "Ada",
                email: "a@x",
            }),
            current_path: "/nope",
            csrf: "t",
            visible: &all,
        };
        let html = page(
            Some(&ctx),
            500,
            "Something went wrong",
            "<b>",
            Some("err-7f3a"),
        )
        .into_string();
        assert_csp_clean(&html);
        assert!(html.contains("<nav") && html.contains("err-7f3a") && html.contains("&lt;b&gt;"));
        assert!(!html.contains("aria-current"));
    }
}
