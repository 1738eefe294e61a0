//! Custom sources: named rule sets that pick agents by tag or display name with `*`
//! wildcards, matching when any (or all) of their rules do. Actions will target them, so a
//! source reaches agents that connect later; the portal shows which agents match now.
//!
//! Owns the table `custom_sources_v1`. A source belongs to one agent pool and only ever
//! matches that pool's agents: that is what puts it inside or outside a user's pool scope
//! (`ROLES.md`: custom sources are read and changed within scope, and a source outside it
//! answers 404). Names are unique within a pool, compared without regard to case, so a name
//! taken in another pool reveals nothing.

use serde::{Deserialize, Serialize};

use super::glob::Glob;
use crate::iam::scope::{self, PoolScope};
use crate::iam::users::User;
use crate::iam::{pools, tokens};
use crate::store::{Reads, StoreError, Table, WriteTx};

/// Custom sources by id.
pub const CUSTOM_SOURCES: Table = Table::new("custom_sources_v1");
/// Longest name, in characters.
pub const MAX_NAME: usize = 64;
/// Most rules in one source.
pub const MAX_RULES: usize = 20;
/// Longest pattern, in characters.
pub const MAX_PATTERN: usize = 128;
/// Most sources read by one listing (bounds every loop over the table).
pub const MAX_SOURCES: usize = 10_000;

/// What a rule looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleField {
    /// Any one of the agent's tags.
    Tag,
    /// The agent's display name.
    Name,
}

impl RuleField {
    /// The name used in forms, the API and the store.
    pub fn as_str(self) -> &'static str {
        match self {
            RuleField::Tag => "tag",
            RuleField::Name => "name",
        }
    }

    /// Parses [`RuleField::as_str`].
    pub fn parse(s: &str) -> Option<RuleField> {
        match s {
            "tag" => Some(RuleField::Tag),
            "name" => Some(RuleField::Name),
            _ => None,
        }
    }
}

/// One rule: a `*` pattern over one field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// What it looks at.
    pub field: RuleField,
    /// The pattern; `*` matches any run of characters; case does not matter.
    pub pattern: String,
}

/// How a source combines its rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchMode {
    /// An agent matches when at least one rule does.
    Any,
    /// An agent matches when every rule does.
    All,
}

impl MatchMode {
    /// The name used in forms, the API and the store.
    pub fn as_str(self) -> &'static str {
        match self {
            MatchMode::Any => "any",
            MatchMode::All => "all",
        }
    }

    /// Parses [`MatchMode::as_str`].
    pub fn parse(s: &str) -> Option<MatchMode> {
        match s {
            "any" => Some(MatchMode::Any),
            "all" => Some(MatchMode::All),
            _ => None,
        }
    }
}

/// A stored custom source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomSource {
    /// Random 128-bit hex id.
    pub id: String,
    /// Unique within its pool (without regard to case), 1 to [`MAX_NAME`] characters.
    pub name: String,
    /// The pool whose agents it matches.
    pub pool_id: String,
    /// 1 to [`MAX_RULES`] rules.
    pub rules: Vec<Rule>,
    /// How the rules combine.
    #[serde(rename = "match")]
    pub match_mode: MatchMode,
    /// The id of the user who made it.
    pub created_by: String,
    /// Unix ms of creation.
    pub created_ms: i64,
}

/// A source's rules, compiled once for matching many agents.
#[derive(Debug, Clone)]
pub struct Matcher {
    pool_id: String,
    rules: Vec<(RuleField, Glob)>,
    mode: MatchMode,
}

impl Matcher {
    /// Whether an agent of `pool_id` called `name` with `tags` matches.
    pub fn matches(&self, pool_id: &str, name: &str, tags: &[String]) -> bool {
        if pool_id != self.pool_id || self.rules.is_empty() {
            return false;
        }
        let hit = |(field, glob): &(RuleField, Glob)| match field {
            RuleField::Name => glob.matches(name),
            RuleField::Tag => tags.iter().any(|t| glob.matches(t)),
        };
        match self.mode {
            MatchMode::Any => self.rules.iter().any(hit),
            MatchMode::All => self.rules.iter().all(hit),
        }
    }
}

impl CustomSource {
    /// The compiled rules.
    pub fn matcher(&self) -> Matcher {
        Matcher {
            pool_id: self.pool_id.clone(),
            rules: self
                .rules
                .iter()
                .map(|r| (r.field, Glob::new(&r.pattern)))
                .collect(),
            mode: self.match_mode,
        }
    }

    /// Whether an agent of `pool_id` called `name` with `tags` matches (compiles the rules;
    /// use [`CustomSource::matcher`] for many agents).
    pub fn matches(&self, pool_id: &str, name: &str, tags: &[String]) -> bool {
        self.matcher().matches(pool_id, name, tags)
    }
}

/// What a source is created with, as typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSource {
    /// The name.
    pub name: String,
    /// The pool id.
    pub pool_id: String,
    /// The rules.
    pub rules: Vec<Rule>,
    /// How they combine.
    pub match_mode: MatchMode,
}

/// Why a custom-source change was refused.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// A field failed validation (400).
    #[error("{field}: {message}")]
    Invalid {
        /// The field (`name`, `pool`, `rules`).
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The name is taken in the pool (409).
    #[error("{0}")]
    Conflict(String),
    /// No such source, or not in the actor's scope (404).
    #[error("there is no such custom source")]
    NotFound,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn invalid(field: &'static str, message: impl Into<String>) -> SourceError {
    SourceError::Invalid {
        field,
        message: message.into(),
    }
}

/// Checks one pattern for its field; answers it trimmed.
pub fn check_pattern(field: RuleField, raw: &str) -> Result<String, String> {
    let p = raw.trim();
    let n = p.chars().count();
    if n == 0 {
        return Err("a pattern cannot be empty".into());
    }
    if n > MAX_PATTERN {
        return Err(format!(
            "a pattern has at most {MAX_PATTERN} characters (this one has {n})"
        ));
    }
    if p.chars().any(char::is_control) {
        return Err("a pattern cannot hold control characters".into());
    }
    if field == RuleField::Tag {
        // A pattern no tag could ever match (tags: `protocol::tag_ok`) is a mistake worth
        // saying so at once.
        let tag_char = |c: char| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | ':' | '/');
        if !p.chars().all(|c| c == '*' || tag_char(c)) {
            return Err(format!(
                "the tag pattern {p:?} can never match: tags hold letters, digits and . _ - : / (plus * here)"
            ));
        }
    }
    Ok(p.to_string())
}

/// Validates and normalises what was typed: the name trimmed, 1 to 20 rules with valid
/// patterns. The pool is checked against the actor's scope by [`create`].
pub fn validate(new: &NewSource) -> Result<NewSource, SourceError> {
    let name = new.name.trim();
    let n = name.chars().count();
    if n == 0 {
        return Err(invalid("name", "enter a name"));
    }
    if n > MAX_NAME {
        return Err(invalid(
            "name",
            format!("use at most {MAX_NAME} characters (this one has {n})"),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(invalid("name", "the name cannot hold control characters"));
    }
    if new.rules.is_empty() {
        return Err(invalid("rules", "add at least one rule"));
    }
    if new.rules.len() > MAX_RULES {
        return Err(invalid(
            "rules",
            format!("a source has at most {MAX_RULES} rules"),
        ));
    }
    let mut rules = Vec::with_capacity(new.rules.len());
    for (i, r) in new.rules.iter().enumerate() {
        let pattern = check_pattern(r.field, &r.pattern)
            .map_err(|m| invalid("rules", format!("rule {}: {m}", i + 1)))?;
        rules.push(Rule {
            field: r.field,
            pattern,
        });
    }
    Ok(NewSource {
        name: name.to_string(),
        pool_id: new.pool_id.trim().to_string(),
        rules,
        match_mode: new.match_mode,
    })
}

/// Every source, by id.
pub fn list(tx: &impl Reads) -> Result<Vec<CustomSource>, StoreError> {
    tx.scan_json(&CUSTOM_SOURCES, MAX_SOURCES)
}

/// The sources of pools in `scope`, sorted by name.
pub fn in_scope(tx: &impl Reads, scope: &PoolScope) -> Result<Vec<CustomSource>, StoreError> {
    let mut all: Vec<CustomSource> = list(tx)?
        .into_iter()
        .filter(|s| scope.contains(&s.pool_id))
        .collect();
    all.sort_by(|a, b| {
        a.name
            .to_lowercase()
            .cmp(&b.name.to_lowercase())
            .then_with(|| a.id.cmp(&b.id))
    });
    Ok(all)
}

/// One source, if it exists and its pool is in the user's scope.
pub fn get_visible(
    tx: &impl Reads,
    user: &User,
    id: &str,
    now_ms: i64,
) -> Result<CustomSource, SourceError> {
    let source: CustomSource = tx
        .get_json_value(&CUSTOM_SOURCES, id.as_bytes())?
        .ok_or(SourceError::NotFound)?;
    if scope::pool_scope(tx, user, now_ms)?.contains(&source.pool_id) {
        Ok(source)
    } else {
        Err(SourceError::NotFound)
    }
}

/// Creates a source in a pool of the actor's scope. Validates everything before writing.
pub fn create(
    tx: &mut WriteTx<'_>,
    actor: &User,
    new: &NewSource,
    now_ms: i64,
) -> Result<CustomSource, SourceError> {
    let new = validate(new)?;
    let reach = scope::pool_scope(tx, actor, now_ms)?;
    let pool_known = pools::get(tx, &new.pool_id)?.is_some();
    if !pool_known || !reach.contains(&new.pool_id) {
        return Err(invalid("pool", "choose an agent pool you have access to"));
    }
    let lower = new.name.to_lowercase();
    if list(tx)?
        .iter()
        .any(|s| s.pool_id == new.pool_id && s.name.to_lowercase() == lower)
    {
        return Err(SourceError::Conflict(format!(
            "a custom source named {:?} already exists in this pool",
            new.name
        )));
    }
    let source = CustomSource {
        id: tokens::random_id(),
        name: new.name,
        pool_id: new.pool_id,
        rules: new.rules,
        match_mode: new.match_mode,
        created_by: actor.id.clone(),
        created_ms: now_ms,
    };
    tx.put_json(&CUSTOM_SOURCES, source.id.as_bytes(), &source)?;
    Ok(source)
}

/// Deletes a source in the actor's scope; answers what it was.
pub fn delete(
    tx: &mut WriteTx<'_>,
    actor: &User,
    id: &str,
    now_ms: i64,
) -> Result<CustomSource, SourceError> {
    let source = get_visible(tx, actor, id, now_ms)?;
    tx.delete(&CUSTOM_SOURCES, source.id.as_bytes())?;
    Ok(source)
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

    fn rule(field: RuleField, pattern: &str) -> Rule {
        Rule {
            field,
            pattern: pattern.into(),
        }
    }

    fn source(mode: MatchMode, rules: Vec<Rule>) -> CustomSource {
        CustomSource {
            id: "s1".into(),
            name: "payments".into(),
            pool_id: "p1".into(),
            rules,
            match_mode: mode,
            created_by: "u1".into(),
            created_ms: 0,
        }
    }

    fn tags(t: &[&str]) -> Vec<String> {
        t.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn any_and_all() {
        let rules = vec![
            rule(RuleField::Tag, "prod*"),
            rule(RuleField::Name, "payments-*"),
        ];
        let any = source(MatchMode::Any, rules.clone());
        let all = source(MatchMode::All, rules);
        let prod = tags(&["eu", "production"]);
        assert!(any.matches("p1", "orders", &prod));
        assert!(any.matches("p1", "Payments-EU", &[]));
        assert!(!any.matches("p1", "orders", &tags(&["staging"])));
        assert!(all.matches("p1", "payments-eu", &prod));
        assert!(!all.matches("p1", "payments-eu", &[]));
        assert!(!all.matches("p1", "orders", &prod));
        assert!(
            !any.matches("p2", "payments-eu", &prod),
            "only agents of its own pool"
        );
        assert!(!source(MatchMode::Any, vec![]).matches("p1", "x", &[]));
    }

    #[test]
    fn validation_says_what_is_wrong() {
        let good = NewSource {
            name: "  payments  ".into(),
            pool_id: "p1".into(),
            rules: vec![rule(RuleField::Tag, " prod* ")],
            match_mode: MatchMode::Any,
        };
        let v = validate(&good).unwrap();
        assert_eq!(v.name, "payments");
        assert_eq!(v.rules[0].pattern, "prod*");
        let field = |n: NewSource| match validate(&n) {
            Err(SourceError::Invalid { field, message }) => (field, message),
            other => panic!("{other:?}"),
        };
        let (f, _) = field(NewSource {
            name: " ".into(),
            ..good.clone()
        });
        assert_eq!(f, "name");
        let (f, _) = field(NewSource {
            name: "x".repeat(65),
            ..good.clone()
        });
        assert_eq!(f, "name");
        let (f, m) = field(NewSource {
            rules: vec![],
            ..good.clone()
        });
        assert_eq!((f, m.as_str()), ("rules", "add at least one rule"));
        let (f, _) = field(NewSource {
            rules: vec![rule(RuleField::Name, "x"); 21],
            ..good.clone()
        });
        assert_eq!(f, "rules");
        let (_, m) = field(NewSource {
            rules: vec![rule(RuleField::Name, "ok"), rule(RuleField::Name, "  ")],
            ..good.clone()
        });
        assert!(m.starts_with("rule 2:"), "{m}");
        let (_, m) = field(NewSource {
            rules: vec![rule(RuleField::Tag, "has space*")],
            ..good.clone()
        });
        assert!(m.contains("can never match"), "{m}");
        let (_, m) = field(NewSource {
            rules: vec![rule(RuleField::Name, &"n".repeat(129))],
            ..good.clone()
        });
        assert!(m.contains("128"), "{m}");
        assert!(
            validate(&NewSource {
                rules: vec![rule(RuleField::Name, "Orders (EU) *")],
                ..good
            })
            .is_ok(),
            "names may hold spaces and brackets"
        );
    }

    #[test]
    fn names_of_fields_and_modes_round_trip() {
        for f in [RuleField::Tag, RuleField::Name] {
            assert_eq!(RuleField::parse(f.as_str()), Some(f));
        }
        for m in [MatchMode::Any, MatchMode::All] {
            assert_eq!(MatchMode::parse(m.as_str()), Some(m));
        }
        let json =
            serde_json::to_value(source(MatchMode::All, vec![rule(RuleField::Tag, "a")])).unwrap();
        assert_eq!(json["match"], "all");
        assert_eq!(json["rules"][0]["field"], "tag");
    }
}
