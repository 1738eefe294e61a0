//! Entities › Custom Sources: the list with each source's rules and how many agents it
//! matches now, the form for a new one (rules as repeated rows, five empty ones without
//! JavaScript; `lantern.js` adds more on request), and a source's page with the agents it
//! matches and Delete.

use maud::{Markup, html};

use crate::agents::sources::{CustomSource, MatchMode, RuleField};
use crate::agents::view::AgentRow;
use crate::ui::components::{
    ButtonKind, Field, FormErrors, Tone, card, confirm_action, empty_state, error_summary, facts,
    field_id, link_button, notice, post_form, rel_time, select, submit, table, tag,
};
use crate::ui::layout::{PageCtx, page};
use crate::ui::nav::{self, NavId};

use super::agents::{agent_path, status};

/// Where the pages live.
pub const BASE: &str = "/entities/custom-sources";
/// Empty rule rows the form offers at least (JavaScript adds more up to the limit).
pub const FORM_ROWS: usize = 5;

/// One source as the list and its page show it.
#[derive(Clone, Debug)]
pub struct SourceLine {
    /// The source.
    pub source: CustomSource,
    /// Its pool's name (`None`: the pool was deleted).
    pub pool_name: Option<String>,
    /// Connected agents it matches now.
    pub matching_now: usize,
    /// Known agents (connected or not) it matches.
    pub matching_known: usize,
    /// Who made it, as "Name <e-mail>" (or the id when the user is gone).
    pub created_by: String,
}

/// The list page.
#[derive(Clone, Debug, Default)]
pub struct SourceList {
    /// The sources of the user's pools.
    pub lines: Vec<SourceLine>,
    /// Show create and delete (Custom Sources: change).
    pub can_change: bool,
    /// A confirmation to show on top.
    pub notice: Option<String>,
    /// Now, unix ms.
    pub now_ms: i64,
}

fn rule_text(field: RuleField, pattern: &str) -> Markup {
    html! { span class="small muted" { (field.as_str()) " " } code { (pattern) } }
}

fn rules(s: &CustomSource) -> Markup {
    html! {
        ul class="plain-list" {
            @for r in &s.rules { li { (rule_text(r.field, &r.pattern)) } }
        }
    }
}

fn match_label(m: MatchMode) -> &'static str {
    match m {
        MatchMode::Any => "any rule",
        MatchMode::All => "every rule",
    }
}

fn pool_name(l: &SourceLine) -> Markup {
    match &l.pool_name {
        Some(n) => html! { (n) },
        None => html! { span class="muted" { "deleted pool" } },
    }
}

/// The Custom Sources list.
pub fn list(ctx: &PageCtx, v: &SourceList) -> Markup {
    let now = v.now_ms.div_euclid(1000);
    let new = format!("{BASE}/new");
    let primary = v
        .can_change
        .then(|| link_button(ButtonKind::Primary, &new, "New custom source"));
    let rows = html! {
        @for l in &v.lines {
            tr {
                th scope="row" { a href={ (BASE) "/" (l.source.id) } { (l.source.name) } }
                td { (pool_name(l)) }
                td { (match_label(l.source.match_mode)) }
                td { (rules(&l.source)) }
                td class="num" { (l.matching_now) span class="small muted" { " of " (l.matching_known) " known" } }
                td { (l.created_by) }
                td { (rel_time(l.source.created_ms.div_euclid(1000), now)) }
            }
        }
    };
    let body = html! {
        @if let Some(n) = &v.notice { (notice(Tone::Ok, n)) }
        @if v.lines.is_empty() {
            (empty_state("No custom sources yet",
                "A custom source names a set of agents by tag or name patterns, such as every agent tagged prod-* whose name starts with payments-. Actions can then target the set, including agents that connect later.",
                primary.clone()))
        } @else {
            p class="list-meta" { (v.lines.len()) " custom " (if v.lines.len() == 1 { "source" } else { "sources" }) }
            (table("Custom sources", &["Name", "Pool", "Matches", "Rules", "Agents matching now", "Created by", "Created"], rows))
        }
    };
    let entry = nav::entry(NavId::CustomSources);
    page(ctx, entry.label, entry.summary, primary, body)
}

/// The new-source form's values (what was typed, kept after an error).
#[derive(Clone, Debug, Default)]
pub struct SourceForm {
    /// Name.
    pub name: String,
    /// Pool id.
    pub pool: String,
    /// "any" or "all".
    pub match_mode: String,
    /// `(field, pattern)` rows as typed.
    pub rules: Vec<(String, String)>,
    /// Pools to choose from, `(id, name)`.
    pub pools: Vec<(String, String)>,
}

/// The form for a new custom source.
pub fn new_form(ctx: &PageCtx, f: &SourceForm, errors: &FormErrors) -> Markup {
    let mut rows = f.rules.clone();
    while rows.len() < FORM_ROWS {
        rows.push(("tag".into(), String::new()));
    }
    let pools: Vec<(&str, &str)> = f
        .pools
        .iter()
        .map(|(id, n)| (id.as_str(), n.as_str()))
        .collect();
    let modes = [
        ("any", "Any rule matches (or)"),
        ("all", "Every rule matches (and)"),
    ];
    let fields = [("tag", "Tag"), ("name", "Agent name")];
    let rules_error = errors.field("rules");
    let body = card(
        "New custom source",
        html! {
            (error_summary(errors))
            (post_form(BASE, ctx.csrf, html! {
                (Field::text("name", "Name").value(&f.name).required().autofocus(true)
                    .length(Some(1), Some(64))
                    .help("Unique in its pool, up to 64 characters.").render(errors))
                (select("pool", "Agent pool", &pools, &f.pool,
                    Some("The source matches only this pool's agents."), errors))
                (select("match", "Matching", &modes, &f.match_mode, None, errors))
                fieldset id=(field_id("rules"))
                    class=(if rules_error.is_some() { "field choices field-invalid" } else { "field choices" })
                    aria-describedby="f-rules-help" {
                    legend { "Rules" }
                    @if let Some(m) = rules_error { p class="field-error" id="f-rules-error" { (m) } }
                    div data-rules {
                        @for (i, (field, pattern)) in rows.iter().enumerate() {
                            @let n = i + 1;
                            div class="rule-row" data-rule-row {
                                span class="rule-number" aria-hidden="true" { (n) }
                                label class="sr-only" for={ "f-field-" (n) } { "Rule " (n) ": what it looks at" }
                                select id={ "f-field-" (n) } name="field" {
                                    @for (value, text) in fields {
                                        option value=(value) selected[value == field.as_str()] { (text) }
                                    }
                                }
                                label class="sr-only" for={ "f-pattern-" (n) } { "Rule " (n) ": pattern" }
                                input id={ "f-pattern-" (n) } type="text" name="pattern" value=(pattern)
                                    maxlength="128" placeholder="prod-*";
                            }
                        }
                    }
                    button type="button" class="button button-small" data-add-rule hidden { "Add a rule" }
                    p class="field-help" id="f-rules-help" {
                        "Up to 20 rules. " code { "*" } " matches anything, case does not matter; a tag rule matches when any of the agent's tags does. Empty rows are skipped."
                    }
                }
                div class="form-actions" {
                    (submit(ButtonKind::Primary, "Create custom source"))
                    (link_button(ButtonKind::Secondary, BASE, "Cancel"))
                }
            }))
        },
    );
    page(
        ctx,
        "New custom source",
        "A named set of agents picked by tag or name patterns.",
        None,
        body,
    )
}

/// A source's page.
#[derive(Clone, Debug)]
pub struct SourceDetail {
    /// The source.
    pub line: SourceLine,
    /// The agents it matches, connected first.
    pub agents: Vec<AgentRow>,
    /// Show Delete.
    pub can_change: bool,
    /// A confirmation to show on top.
    pub notice: Option<String>,
    /// Now, unix ms.
    pub now_ms: i64,
}

/// A source's page.
pub fn detail(ctx: &PageCtx, d: &SourceDetail) -> Markup {
    let s = &d.line.source;
    let now = d.now_ms.div_euclid(1000);
    let rows = html! {
        @for a in &d.agents {
            tr {
                th scope="row" { a href=(agent_path(&a.agent_id)) { (a.hello.display_name) } }
                td { (status(a)) }
                td {
                    ul class="tag-list" { @for t in a.tags() { li { (tag(t)) } } }
                }
                td { (rel_time(a.last_heartbeat_ms().div_euclid(1000), now)) }
            }
        }
    };
    let body = html! {
        @if let Some(n) = &d.notice { (notice(Tone::Ok, n)) }
        div class="grid-2" {
            (card("Custom source", facts(&[
                ("Name", html! { (s.name) }),
                ("Pool", pool_name(&d.line)),
                ("Matches", html! { (match_label(s.match_mode)) }),
                ("Rules", rules(s)),
                ("Created by", html! { (d.line.created_by) }),
                ("Created", rel_time(s.created_ms.div_euclid(1000), now)),
            ])))
            @if d.can_change {
                (card("Delete", html! {
                    p { "Deleting removes the source. Agents are not affected." }
                    (confirm_action("Delete custom source",
                        &format!("The custom source {} is deleted. This cannot be undone.", s.name),
                        &format!("{BASE}/{}/delete", s.id), ctx.csrf, "Delete the custom source"))
                }))
            }
        }
        h2 { "Matching agents" }
        p class="list-meta" { (d.line.matching_now) " connected now, " (d.line.matching_known) " known" }
        @if d.agents.is_empty() {
            (empty_state("No agent matches", "No agent of this pool carries a matching tag or name yet. Agents that connect later and match are picked up.", None))
        } @else {
            (table("Matching agents", &["Agent", "Status", "Tags", "Last heartbeat"], rows))
        }
    };
    page(
        ctx,
        &s.name,
        "A custom source: its rules and the agents they match.",
        Some(link_button(
            ButtonKind::Secondary,
            BASE,
            "All custom sources",
        )),
        body,
    )
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
mod tests {
    use super::*;
    use crate::agents::sources::Rule;
    use crate::ui::test_support::assert_csp_clean;

    fn with_ctx<R>(f: impl FnOnce(&PageCtx) -> R) -> R {
        crate::ui::test_support::with_page_ctx(BASE, f)
    }

    fn line() -> SourceLine {
        SourceLine {
            source: CustomSource {
                id: "abc".into(),
                name: "<payments>".into(),
                pool_id: "p1".into(),
                rules: vec![Rule {
                    field: RuleField::Tag,
                    pattern: "prod*".into(),
                }],
                match_mode: MatchMode::All,
                created_by: "u1".into(),
                created_ms: 0,
            },
            pool_name: None,
            matching_now: 2,
            matching_known: 3,
            created_by: "Ada <a@x>".into(),
        }
    }

    #[test]
    fn the_form_has_five_rule_rows_and_keeps_what_was_typed() {
        let f = SourceForm {
            name: "pay".into(),
            pool: "p1".into(),
            match_mode: "all".into(),
            rules: vec![("name".into(), "orders-*".into())],
            pools: vec![("p1".into(), "Pool 1".into())],
        };
        let errors = FormErrors::none().with_field("rules", "rule 1: bad");
        let html = with_ctx(|c| new_form(c, &f, &errors)).into_string();
        assert_csp_clean(&html);
        assert_eq!(html.matches("data-rule-row").count(), FORM_ROWS);
        assert!(html.contains("value=\"orders-*\""));
        assert!(html.contains("<option value=\"name\" selected>"));
        assert!(html.contains("<option value=\"all\" selected>"));
        assert!(html.contains("rule 1: bad"));
    }

    #[test]
    fn list_and_detail_render() {
        let v = SourceList {
            lines: vec![line()],
            can_change: true,
            notice: None,
            now_ms: 0,
        };
        let html = with_ctx(|c| list(c, &v)).into_string();
        assert_csp_clean(&html);
        assert!(html.contains("&lt;payments&gt;") && html.contains("New custom source"));
        assert!(html.contains("deleted pool"));
        let d = SourceDetail {
            line: line(),
            agents: vec![],
            can_change: false,
            notice: None,
            now_ms: 0,
        };
        let html = with_ctx(|c| detail(c, &d)).into_string();
        assert_csp_clean(&html);
        assert!(html.contains("No agent matches"));
        assert!(!html.contains("Delete custom source"));
        let empty = with_ctx(|c| list(c, &SourceList::default())).into_string();
        assert!(empty.contains("No custom sources yet"));
    }
}
