//! Settings › Security › API Keys: the keys, a form to create one (its value shown once) and
//! revocation. Roles that may only read see labels and status, not owners or scopes.

use maud::{Markup, html};

use crate::iam::api_keys::{ApiKey, DEFAULT_DAYS, MAX_DAYS, Scope};
use crate::ui::components::{
    ButtonKind, Field, FormErrors, Status, badge, checkbox, confirm_action, empty_state,
    error_summary, post_form, rel_time, secret_once, submit, table, tag,
};
use crate::ui::layout::{PageCtx, page};
use crate::ui::nav::{self, NavId};

/// One row: the key and its owner's e-mail.
#[derive(Debug)]
pub struct KeyRow {
    /// The key.
    pub key: ApiKey,
    /// Its owner's e-mail (or "deleted user").
    pub owner: String,
}

/// What the page shows.
#[derive(Debug)]
pub struct ApiKeysView<'a> {
    /// Every key, newest first.
    pub rows: &'a [KeyRow],
    /// Unix ms now.
    pub now_ms: i64,
    /// May create and revoke (and see owners and scopes).
    pub can_manage: bool,
    /// Scopes the user may grant.
    pub grantable: &'a [Scope],
    /// A key just created: (label, secret), shown once.
    pub created: Option<(&'a str, &'a str)>,
    /// The create form as typed and its errors.
    pub form: NewKeyForm,
    /// Errors of the create form.
    pub errors: &'a FormErrors,
    /// Whether the user has two-step sign-in on (the form then asks for a code too).
    pub two_step: bool,
}

/// The create form's values.
#[derive(Debug, Clone)]
pub struct NewKeyForm {
    /// Label as typed.
    pub label: String,
    /// Chosen scope ids.
    pub scopes: Vec<String>,
    /// Days as typed.
    pub days: String,
}

impl Default for NewKeyForm {
    fn default() -> Self {
        NewKeyForm {
            label: String::new(),
            scopes: Vec::new(),
            days: DEFAULT_DAYS.to_string(),
        }
    }
}

fn status(key: &ApiKey, now_ms: i64) -> Markup {
    if key.revoked {
        badge(Status::Error, "revoked")
    } else if key.is_live(now_ms) {
        badge(Status::Ok, "active")
    } else {
        badge(Status::Warning, "expired")
    }
}

/// The page.
pub fn page_view(ctx: &PageCtx, v: &ApiKeysView) -> Markup {
    let entry = nav::entry(NavId::ApiKeys);
    let now = v.now_ms.div_euclid(1000);
    let body = html! {
        @if let Some((label, secret)) = v.created {
            (secret_once(&format!("API key “{label}”"), secret))
        }
        @if v.can_manage {
            section class="card" {
                h2 class="card-title" { "Create an API key" }
                p { "Scripts send it as " code { "Authorization: Bearer <key>" } " to " code { "/api/v1/" } ". A key can only do what its scopes allow and what you, its owner, may still do." }
                (error_summary(v.errors))
                (post_form(entry.path, ctx.csrf, html! {
                    (Field::text("label", "Label").value(&v.form.label).help("3 to 50 characters, e.g. “nightly SBOM export”.").required().length(Some(3), Some(50)).render(v.errors))
                    fieldset class="field" {
                        legend { "Scopes" }
                        @for scope in v.grantable {
                            (checkbox(&format!("scope_{}", scope.id()), scope.id(), v.form.scopes.iter().any(|s| s == scope.id()), None))
                        }
                        @if let Some(e) = v.errors.field("scopes") { p class="field-error" { (e) } }
                    }
                    (Field::new("number", "expires_in_days", "Expires after (days)").value(&v.form.days).help(&format!("1 to {MAX_DAYS} days; {DEFAULT_DAYS} by default.")).render(v.errors))
                    (Field::password("current_password", "Your current password").help("A key outlives your session, so confirm it is you.").autocomplete("current-password").required().render(v.errors))
                    @if v.two_step {
                        (Field::text("code", "Code from your authenticator app").autocomplete("one-time-code").required().render(v.errors))
                    }
                    (submit(ButtonKind::Primary, "Create key"))
                }))
            }
        }
        @if v.rows.is_empty() {
            (empty_state("No API keys yet", "API keys let scripts and other tools use the REST API. A Company Admin creates them here or with `lantern api-key create`.", None))
        } @else {
            @let columns: &[&str] = if v.can_manage {
                &["Label", "Owner", "Scopes", "Status", "Created", "Expires", "Last used", ""]
            } else {
                &["Label", "Status", "Created", "Expires", "Last used"]
            };
            (table("API keys", columns, html! {
                @for row in v.rows {
                    tr {
                        th scope="row" { (row.key.label) }
                        @if v.can_manage {
                            td { (row.owner) }
                            td { @for s in &row.key.scopes { (tag(s.id())) " " } }
                        }
                        td { (status(&row.key, v.now_ms)) }
                        td { (rel_time(row.key.created_ms.div_euclid(1000), now)) }
                        td { (rel_time(row.key.expires_ms.div_euclid(1000), now)) }
                        td { @match row.key.last_used_ms { Some(t) => (rel_time(t.div_euclid(1000), now)), None => "never" } }
                        @if v.can_manage {
                            td {
                                @if row.key.is_live(v.now_ms) {
                                    (confirm_action("Revoke", &format!("Scripts using “{}” will get 401 from now on. This cannot be undone.", row.key.label), &format!("{}/{}/revoke", entry.path, row.key.id), ctx.csrf, "Revoke key"))
                                }
                            }
                        }
                    }
                }
            }))
        }
    };
    page(ctx, entry.label, entry.summary, None, body)
}
