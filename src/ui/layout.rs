//! The frame of every portal page: the one `<head>` of the product, the header (company,
//! license tier, user menu), the left navigation and the page heading; plus the centred card
//! frame for pages shown without a signed-in user (sign-in, setup, errors).
//!
//! Everything here works without JavaScript: the user menu and the narrow-screen navigation
//! are `<details>` elements; `lantern.js` only closes them at the right moments.

use maud::{DOCTYPE, Markup, html};

use crate::ui::assets;
use crate::ui::nav::{self, NAV, NavEntry, NavGroup, NavId};

/// What the frame needs to know about the request being answered.
pub struct PageCtx<'a> {
    /// Company name shown in the header.
    pub company: &'a str,
    /// License tier badge text, e.g. "Community".
    pub tier: &'a str,
    /// The signed-in user; `None` on sign-in and setup pages (then no navigation is shown).
    pub user: Option<UserView<'a>>,
    /// The request path, to highlight the current navigation entry.
    pub current_path: &'a str,
    /// The CSRF token that every form carries as the hidden field `csrf`.
    pub csrf: &'a str,
    /// Which navigation entries the user's roles may see; the others are not rendered.
    pub visible: &'a dyn Fn(NavId) -> bool,
}

/// The signed-in user as the header shows them.
#[derive(Clone, Copy, Debug)]
pub struct UserView<'a> {
    /// Display name; the initials in the header come from it.
    pub name: &'a str,
    /// E-mail address (the sign-in name).
    pub email: &'a str,
}

impl UserView<'_> {
    /// Up to two upper-case initials: first and last word of the name, else the first
    /// letter of the e-mail, else "?".
    pub fn initials(&self) -> String {
        initials(self.name, self.email)
    }
}

fn initials(name: &str, email: &str) -> String {
    let mut words = name
        .split_whitespace()
        .filter_map(|w| w.chars().find(|c| c.is_alphanumeric()));
    let first = words.next();
    let last = words.next_back();
    let picked: String = first
        .into_iter()
        .chain(last)
        .flat_map(char::to_uppercase)
        .collect();
    if !picked.is_empty() {
        return picked;
    }
    match email.chars().find(|c| c.is_alphanumeric()) {
        Some(c) => c.to_uppercase().collect(),
        None => "?".to_owned(),
    }
}

/// The document `<head>`: the only place that links the stylesheet, the script and the icon.
fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            meta name="color-scheme" content="light dark";
            meta name="referrer" content="same-origin";
            title { (title) " · Lantern" }
            link rel="icon" type="image/svg+xml" href=(assets::url("favicon.svg"));
            link rel="stylesheet" href=(assets::url("lantern.css"));
            // `defer`: the page renders and works before (and without) the script.
            script src=(assets::url("lantern.js")) defer {}
        }
    }
}

fn skip_link() -> Markup {
    html! { a class="skip-link" href="#main" { "Skip to main content" } }
}

fn brand() -> Markup {
    html! {
        a class="brand" href="/" {
            img src=(assets::url("favicon.svg")) alt="" width="24" height="24";
            span { "Lantern" }
        }
    }
}

/// A full portal page: header, navigation (when signed in), title, one-sentence summary,
/// the primary action on the right, then `body`.
pub fn page(
    ctx: &PageCtx,
    title: &str,
    summary: &str,
    primary: Option<Markup>,
    body: Markup,
) -> Markup {
    html! {
        // maud's own constant `<!DOCTYPE html>`; the only pre-escaped markup in the portal.
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body class="app" {
                (skip_link())
                (header(ctx))
                div class=(if ctx.user.is_some() { "shell" } else { "shell shell-no-nav" }) {
                    @if ctx.user.is_some() {
                        (navigation(ctx))
                    }
                    main id="main" class="content" tabindex="-1" {
                        div class="page-head" {
                            div class="page-titles" {
                                h1 { (title) }
                                @if !summary.is_empty() {
                                    p class="page-summary" { (summary) }
                                }
                            }
                            @if let Some(primary) = primary {
                                div class="page-actions" { (primary) }
                            }
                        }
                        (body)
                    }
                }
            }
        }
    }
}

fn header(ctx: &PageCtx) -> Markup {
    html! {
        header class="topbar" {
            (brand())
            @if !ctx.company.is_empty() {
                span class="topbar-company" { (ctx.company) }
            }
            @if !ctx.tier.is_empty() {
                span class="badge badge-tier" title="License tier" { (ctx.tier) }
            }
            span class="topbar-spacer" {}
            @if let Some(user) = &ctx.user {
                details class="user-menu" data-menu {
                    summary aria-label={ "Account menu for " (user.name) } {
                        span class="avatar" aria-hidden="true" { (user.initials()) }
                        span class="user-menu-name" { (user.name) }
                    }
                    div class="user-menu-panel" {
                        p class="user-menu-who" {
                            strong { (user.name) }
                            span class="muted" { (user.email) }
                        }
                        a class="user-menu-item" href=(nav::PROFILE_PATH)
                            aria-current=[(ctx.current_path == nav::PROFILE_PATH).then_some("page")] { "Profile" }
                        form method="post" action="/sign-out" {
                            input type="hidden" name="csrf" value=(ctx.csrf);
                            button type="submit" class="user-menu-item" { "Sign out" }
                        }
                    }
                }
            }
        }
    }
}

/// Consecutive entries of one group that share a section (or have none).
struct Run {
    section: Option<&'static str>,
    entries: Vec<&'static NavEntry>,
}

fn runs(entries: impl Iterator<Item = &'static NavEntry>) -> Vec<Run> {
    let mut out: Vec<Run> = Vec::new();
    for e in entries {
        match out.last_mut() {
            // Entries without a section each stand alone between sections.
            Some(run) if run.section == e.section && e.section.is_some() => run.entries.push(e),
            _ => out.push(Run {
                section: e.section,
                entries: vec![e],
            }),
        }
    }
    out
}

fn nav_link(e: &NavEntry, current: Option<NavId>) -> Markup {
    html! {
        a href=(e.path) aria-current=[(current == Some(e.id)).then_some("page")] { (e.label) }
    }
}

fn navigation(ctx: &PageCtx) -> Markup {
    let current = nav::current(ctx.current_path).map(|e| e.id);
    let groups = [NavGroup::Platform, NavGroup::Settings].map(|g| {
        let visible = NAV.iter().filter(|e| e.group == g && (ctx.visible)(e.id));
        (g, runs(visible))
    });
    html! {
        nav class="sidenav" aria-label="Main" {
            // Open by default so that without JavaScript the navigation is always there; the
            // summary is only shown on narrow screens, where lantern.js closes it on load.
            details class="sidenav-disclosure" open data-nav {
                summary class="sidenav-toggle" { "Menu" }
                div class="sidenav-groups" {
                    @for (group, runs) in &groups {
                        @if !runs.is_empty() {
                            @let heading = format!("nav-{}", group.label().to_lowercase());
                            div class="sidenav-group" {
                                h2 class="sidenav-group-title" id=(heading) { (group.label()) }
                                ul aria-labelledby=(heading) {
                                    @for run in runs {
                                        @if let Some(section) = run.section {
                                            li class="sidenav-section" {
                                                span class="sidenav-section-title" { (section) }
                                                ul {
                                                    @for e in &run.entries {
                                                        li { (nav_link(e, current)) }
                                                    }
                                                }
                                            }
                                        } @else {
                                            @for e in &run.entries {
                                                li { (nav_link(e, current)) }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A page without a signed-in user: a centred card with the brand, `title` as the heading,
/// then `body`. For sign-in, setup and error pages.
pub fn bare(title: &str, body: Markup) -> Markup {
    html! {
        // maud's own constant `<!DOCTYPE html>`; the only pre-escaped markup in the portal.
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body class="bare" {
                (skip_link())
                main id="main" class="bare-main" tabindex="-1" {
                    div class="bare-card" {
                        div class="bare-brand" { (brand()) }
                        h1 { (title) }
                        (body)
                    }
                }
            }
        }
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
    use crate::ui::test_support::assert_csp_clean;

    fn render(path: &str, visible: &dyn Fn(NavId) -> bool, name: &str) -> String {
        let ctx = PageCtx {
            company: "Acme <Corp>",
            tier: "Community",
            user: Some(UserView {
                name,
                email: "ada@example.com",
            }),
            current_path: path,
            csrf: "csrf-token-1",
            visible,
        };
        page(
            &ctx,
            "Agents",
            "What it is for.",
            Some(html! { a.button href="/x" { "Add" } }),
            html! { p { "body" } },
        )
        .into_string()
    }

    #[test]
    fn renders_a_link_for_each_visible_entry_only() {
        let hidden = [NavId::Users, NavId::ApiKeys, NavId::AiDebugger];
        let visible = |id: NavId| !hidden.contains(&id);
        let html = render("/entities/agents", &visible, "Ada Lovelace");
        for e in NAV {
            let link = format!("href=\"{}\"", e.path);
            assert_eq!(html.contains(&link), !hidden.contains(&e.id), "{}", e.path);
        }
        assert!(html.contains(">Platform</h2>") && html.contains(">Settings</h2>"));
        assert!(html.contains("Identity and Access Management"));
    }

    #[test]
    fn empty_sections_and_groups_disappear() {
        let visible = |id: NavId| matches!(id, NavId::GettingStarted | NavId::Agents);
        let html = render("/getting-started", &visible, "Ada");
        assert!(html.contains(">Entities</span>"));
        assert!(!html.contains(">Settings</h2>"));
        assert!(!html.contains("Identity and Access Management"));
    }

    #[test]
    fn current_entry_carries_aria_current() {
        let all = |_| true;
        let html = render("/entities/agents/some-agent", &all, "Ada");
        assert_eq!(html.matches("aria-current=\"page\"").count(), 1);
        assert!(html.contains("<a href=\"/entities/agents\" aria-current=\"page\">Agents</a>"));
        let html = render("/profile", &all, "Ada");
        assert!(html.contains("href=\"/profile\" aria-current=\"page\""));
    }

    #[test]
    fn header_has_menu_sign_out_form_and_escapes() {
        let all = |_| true;
        let html = render("/x", &all, "<script>alert(1)</script> Lovelace");
        assert!(!html.contains("<script>alert"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; Lovelace"));
        assert!(html.contains("Acme &lt;Corp&gt;"));
        assert!(html.contains("<form method=\"post\" action=\"/sign-out\">"));
        assert!(html.contains("name=\"csrf\" value=\"csrf-token-1\""));
        assert!(html.contains("<details class=\"user-menu\""));
        assert!(html.contains(">Community</span>"));
        assert_csp_clean(&html);
    }

    #[test]
    fn no_user_means_no_nav() {
        let all = |_| true;
        let ctx = PageCtx {
            company: "Acme",
            tier: "",
            user: None,
            current_path: "/sign-in",
            csrf: "t",
            visible: &all,
        };
        let html = page(&ctx, "Sign in", "", None, html! {}).into_string();
        assert!(!html.contains("<nav"));
        assert!(!html.contains("/sign-out"));
        assert_csp_clean(&html);
        assert_csp_clean(&bare("Sign in", html! { p { "x" } }).into_string());
    }

    #[test]
    fn initials_are_derived_from_the_name() {
        assert_eq!(initials("Ada Lovelace", "a@x"), "AL");
        assert_eq!(initials("ada king lovelace", "a@x"), "AL");
        assert_eq!(initials("Zoë", "a@x"), "Z");
        assert_eq!(initials("  ", "bob@x"), "B");
        assert_eq!(initials("", ""), "?");
        assert_eq!(initials("émile (ops) Zola", ""), "ÉZ");
    }
}
