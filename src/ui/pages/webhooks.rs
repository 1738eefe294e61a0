//! Settings › Runtime Reachability › Webhooks: the list with a create form, and one webhook's
//! page (edit form, send test, rotate secret, delete, delivery log). Plain forms with the
//! CSRF field, so everything works from the keyboard and without JavaScript. The signing
//! secret is shown once, after creation or rotation, with the "you will not see this again"
//! warning.

use maud::{Markup, html};

use crate::integrations::webhooks::{Delivery, MAX_HEADERS, Webhook, WebhookInput};
use crate::ui::components::{
    ButtonKind, Field, FormErrors, Status, Tone, badge, card, checkbox, confirm_action,
    empty_state, error_summary, human_millis, notice, post_form, rel_time, secret_once, submit,
    table,
};
use crate::ui::layout::{PageCtx, page};

/// Where the list lives.
const BASE: &str = "/settings/reachability/webhooks";

/// The list page.
#[derive(Debug)]
pub struct ListView<'a> {
    /// Every webhook, by name.
    pub hooks: &'a [Webhook],
    /// May create and change (Company Admin, AppSec).
    pub can_change: bool,
    /// The create form's values (what was typed, after an error).
    pub form: &'a WebhookInput,
    /// The create form's errors.
    pub errors: &'a FormErrors,
}

/// One webhook's page.
#[derive(Debug)]
pub struct DetailView<'a> {
    /// The webhook.
    pub hook: &'a Webhook,
    /// Latest delivery attempts, newest first.
    pub log: &'a [Delivery],
    /// May change it.
    pub can_change: bool,
    /// The edit form's values.
    pub form: &'a WebhookInput,
    /// The edit form's errors.
    pub errors: &'a FormErrors,
    /// A success message.
    pub notice: Option<&'a str>,
    /// A failure message.
    pub problem: Option<&'a str>,
    /// A secret to show once.
    pub secret: Option<&'a str>,
    /// Unix ms now.
    pub now_ms: i64,
}

fn fields(form: &WebhookInput, errors: &FormErrors) -> Markup {
    let headers: String = form
        .headers
        .iter()
        .map(|h| format!("{}: {}\n", h.name, h.value))
        .collect();
    let header_help = format!(
        "One per line as Name: value, at most {MAX_HEADERS}. Host, Content-Length, Content-Type, hop-by-hop headers and X-Lantern-* are set by the appliance."
    );
    html! {
        (error_summary(errors))
        (Field::text("name", "Name").value(&form.name).required().length(Some(1), Some(100)).render(errors))
        (Field::new("url", "url", "URL").value(&form.url).required().placeholder("https://hooks.example.com/lantern")
            .help("Events are posted here as JSON. https:// only; the receiver's certificate must chain to the configured CA bundle.").render(errors))
        (Field::textarea("headers", "Custom headers").value(&headers).help(&header_help).render(errors))
        (Field::textarea("template", "Body template").value(&form.template)
            .help("JSON with ${ID} ${DATE} ${TYPE} ${TITLE} ${EVENT_MSG} inside strings; values are JSON-escaped. Empty: the default template.").render(errors))
        (checkbox("enabled", "Enabled", form.enabled, Some("Disabled webhooks get no events but can still be tested.")))
    }
}

fn status_badge(h: &Webhook) -> Markup {
    if h.enabled {
        badge(Status::Ok, "enabled")
    } else {
        badge(Status::Unknown, "disabled")
    }
}

/// The list with the create form.
pub fn list(ctx: &PageCtx, v: &ListView) -> Markup {
    let rows = html! {
        @for h in v.hooks {
            tr {
                th scope="row" { a href=(format!("{BASE}/{}", h.id)) { (h.name) } }
                td { code { (h.url) } }
                td { (status_badge(h)) }
            }
        }
    };
    let body = html! {
        @if v.hooks.is_empty() {
            (empty_state("No webhooks yet", "A webhook posts a signed JSON event when a watched package or class is loaded, or a vulnerable package is loaded for the first time in a pool.", None))
        } @else {
            (table("Webhooks", &["Name", "URL", "Status"], rows))
        }
        @if v.can_change {
            (card("Add a webhook", post_form(BASE, ctx.csrf, html! {
                (fields(v.form, v.errors))
                (submit(ButtonKind::Primary, "Add webhook"))
            })))
        }
    };
    page(
        ctx,
        "Webhooks",
        "Signed JSON events to your systems when reachability changes, with retries and a delivery log.",
        None,
        body,
    )
}

fn log_rows(log: &[Delivery], now_ms: i64) -> Markup {
    html! {
        @for d in log {
            tr {
                th scope="row" { (rel_time(d.at_ms.div_euclid(1000), now_ms)) }
                td { (d.event_type.as_str()) }
                td { (d.attempt) }
                td {
                    @if d.ok { (badge(Status::Ok, &d.status.map_or("ok".into(), |s| s.to_string()))) }
                    @else { (badge(Status::Error, &d.status.map_or("failed".into(), |s| s.to_string()))) }
                }
                td { (human_millis(d.latency_ms)) }
                td { (d.error.as_deref().unwrap_or("")) @if d.retrying { " (retrying)" } }
            }
        }
    }
}

/// One webhook.
pub fn detail(ctx: &PageCtx, v: &DetailView) -> Markup {
    let h = v.hook;
    let path = format!("{BASE}/{}", h.id);
    let body = html! {
        @if let Some(text) = v.notice { (notice(Tone::Ok, text)) }
        @if let Some(text) = v.problem { (notice(Tone::Error, text)) }
        @if let Some(secret) = v.secret { (secret_once("Signing secret", secret)) }
        p { (status_badge(h)) " " a href=(BASE) { "All webhooks" } }
        @if v.can_change {
            (card("Send a test event", post_form(&format!("{path}/test"), ctx.csrf, html! {
                p { "Posts a signed event of type " code { "test" } " now and shows the answer; failed attempts are retried in the background." }
                (submit(ButtonKind::Primary, "Send test"))
            })))
            (card("Settings", post_form(&path, ctx.csrf, html! {
                (fields(v.form, v.errors))
                (submit(ButtonKind::Primary, "Save"))
            })))
            (card("Signing secret", html! {
                p { "Receivers check " code { "X-Lantern-Signature" } " with this secret. A new secret replaces the old one at once." }
                (confirm_action("Rotate secret", "The current secret stops signing immediately; receivers need the new one.", &format!("{path}/rotate"), ctx.csrf, "Rotate"))
            }))
        }
        (card("Delivery log", html! {
            @if v.log.is_empty() {
                p { "No deliveries yet. Send a test event to see one here." }
            } @else {
                (table("Delivery attempts, newest first", &["Time", "Event", "Attempt", "Status", "Latency", "Error"], log_rows(v.log, v.now_ms)))
            }
        }))
        @if v.can_change {
            (card("Delete", confirm_action("Delete webhook", "The webhook and its delivery log are removed; no further events are sent.", &format!("{path}/delete"), ctx.csrf, "Delete")))
        }
    };
    page(
        ctx,
        &h.name,
        "A webhook: where events go, how they are signed, and what happened to them.",
        None,
        body,
    )
}
