//! What the store keeps of PII redaction and the blocklist: the templates, which template each
//! agent pool uses, and the org-wide blocklist. The Default template exists before anyone
//! saves it (it is the agent's built-in set, [`redaction::default_template`]); a pool without
//! an assignment uses it. Every change is checked by the pure rules in [`redaction`] and
//! [`blocklist`] before anything is written, so a refusal stores nothing.

use std::collections::BTreeMap;

use serde_json::json;

use super::blocklist::{self, Blocklist};
use super::redaction::{self, DEFAULT_ID, MAX_TEMPLATES, Template, TemplateInput};
use crate::iam::tokens;
use crate::store::{Reads, StoreError, Table, WriteTx};

/// Templates by id.
pub const PII_TEMPLATES: Table = Table::new("pii_templates_v1");
/// Template id by agent-pool id (absent: Default).
pub const PII_ASSIGNMENTS: Table = Table::new("pii_assignments_v1");
/// The blocklist, under one key.
pub const BLOCKLIST: Table = Table::new("blocklist_v1");
const BLOCKLIST_KEY: &[u8] = b"blocklist";
/// Most assignments read (one per pool).
const MAX_ASSIGNMENTS: usize = 100_000;

/// A field and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The request's field.
    pub field: &'static str,
    /// For people.
    pub message: String,
}

fn joined(p: &[Problem]) -> String {
    p.iter()
        .map(|p| format!("{}: {}", p.field, p.message))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Why a change was refused.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The store failed.
    #[error("the store failed: {0}")]
    Store(#[from] StoreError),
    /// Fields failed their checks.
    #[error("{}", joined(.0))]
    Invalid(Vec<Problem>),
    /// No such template.
    #[error("no such template")]
    NotFound,
    /// The Default template stays.
    #[error("the Default template cannot be deleted; change its patterns instead")]
    DefaultKept,
    /// Names are unique.
    #[error("a template named {0:?} exists already")]
    Duplicate(String),
    /// Too many templates.
    #[error("at most {MAX_TEMPLATES} templates")]
    TooMany,
    /// No such agent pool.
    #[error("no such agent pool")]
    UnknownPool,
}

impl From<Vec<redaction::FieldError>> for PolicyError {
    fn from(e: Vec<redaction::FieldError>) -> Self {
        PolicyError::Invalid(
            e.into_iter()
                .map(|e| Problem {
                    field: e.field,
                    message: e.message,
                })
                .collect(),
        )
    }
}

impl From<Vec<blocklist::FieldError>> for PolicyError {
    fn from(e: Vec<blocklist::FieldError>) -> Self {
        PolicyError::Invalid(
            e.into_iter()
                .map(|e| Problem {
                    field: e.field,
                    message: e.message,
                })
                .collect(),
        )
    }
}

/// Every template: Default first, then by name.
pub fn templates(tx: &impl Reads) -> Result<Vec<Template>, StoreError> {
    let mut all: Vec<Template> = tx.scan_json(&PII_TEMPLATES, MAX_TEMPLATES + 1)?;
    if !all.iter().any(|t| t.id == DEFAULT_ID) {
        all.push(redaction::default_template(0));
    }
    all.sort_by(|a, b| {
        (a.id != DEFAULT_ID, a.name.to_lowercase())
            .cmp(&(b.id != DEFAULT_ID, b.name.to_lowercase()))
    });
    Ok(all)
}

/// One template (Default always exists).
pub fn template(tx: &impl Reads, id: &str) -> Result<Option<Template>, StoreError> {
    let stored: Option<Template> = tx.get_json_value(&PII_TEMPLATES, id.as_bytes())?;
    Ok(stored.or_else(|| (id == DEFAULT_ID).then(|| redaction::default_template(0))))
}

fn checked(
    tx: &impl Reads,
    input: &TemplateInput,
    id: Option<&str>,
) -> Result<(String, redaction::Rules), PolicyError> {
    let (name, rules) = redaction::check(input)?;
    let taken = templates(tx)?
        .into_iter()
        .any(|t| Some(t.id.as_str()) != id && t.name.to_lowercase() == name.to_lowercase());
    if taken {
        return Err(PolicyError::Duplicate(name));
    }
    Ok((name, rules))
}

/// Makes a template.
pub fn create_template(
    tx: &mut WriteTx<'_>,
    input: &TemplateInput,
    now_ms: i64,
) -> Result<Template, PolicyError> {
    let (name, rules) = checked(tx, input, None)?;
    if templates(tx)?.len() >= MAX_TEMPLATES {
        return Err(PolicyError::TooMany);
    }
    let t = Template {
        id: tokens::hex(&tokens::random_bytes::<8>()),
        name,
        rules,
        created_ms: now_ms,
        updated_ms: now_ms,
    };
    tx.put_json(&PII_TEMPLATES, t.id.as_bytes(), &t)?;
    Ok(t)
}

/// Replaces a template's name and rules (the Default template included).
pub fn update_template(
    tx: &mut WriteTx<'_>,
    id: &str,
    input: &TemplateInput,
    now_ms: i64,
) -> Result<Template, PolicyError> {
    let old = template(tx, id)?.ok_or(PolicyError::NotFound)?;
    let (name, rules) = checked(tx, input, Some(id))?;
    let t = Template {
        name,
        rules,
        updated_ms: now_ms,
        ..old
    };
    tx.put_json(&PII_TEMPLATES, t.id.as_bytes(), &t)?;
    Ok(t)
}

/// Deletes a template; the pools that used it use Default from now on. Answers the template
/// and those pools.
pub fn delete_template(
    tx: &mut WriteTx<'_>,
    id: &str,
) -> Result<(Template, Vec<String>), PolicyError> {
    if id == DEFAULT_ID {
        return Err(PolicyError::DefaultKept);
    }
    let t = template(tx, id)?.ok_or(PolicyError::NotFound)?;
    let pools: Vec<String> = assignments(tx)?
        .into_iter()
        .filter(|(_, t)| t == id)
        .map(|(p, _)| p)
        .collect();
    for p in &pools {
        tx.delete(&PII_ASSIGNMENTS, p.as_bytes())?;
    }
    tx.delete(&PII_TEMPLATES, id.as_bytes())?;
    Ok((t, pools))
}

/// Template id by pool id, for the pools that do not use Default.
pub fn assignments(tx: &impl Reads) -> Result<BTreeMap<String, String>, StoreError> {
    tx.scan(&PII_ASSIGNMENTS, b"", MAX_ASSIGNMENTS)?
        .into_iter()
        .map(|(k, v)| {
            let pool = String::from_utf8_lossy(&k).into_owned();
            let t: String = serde_json::from_slice(&v)?;
            Ok((pool, t))
        })
        .collect()
}

/// Makes `pool_id` use `template_id` (`default` removes the assignment). Answers the template
/// the pool used before.
pub fn assign(
    tx: &mut WriteTx<'_>,
    pool_id: &str,
    template_id: &str,
) -> Result<String, PolicyError> {
    if crate::iam::pools::get(tx, pool_id)?.is_none() {
        return Err(PolicyError::UnknownPool);
    }
    if template(tx, template_id)?.is_none() {
        return Err(PolicyError::Invalid(vec![Problem {
            field: "template_id",
            message: format!("no template {template_id:?}"),
        }]));
    }
    let before = tx
        .get_json::<String>(&PII_ASSIGNMENTS, pool_id.as_bytes())?
        .unwrap_or_else(|| DEFAULT_ID.to_string());
    if template_id == DEFAULT_ID {
        tx.delete(&PII_ASSIGNMENTS, pool_id.as_bytes())?;
    } else {
        tx.put_json(&PII_ASSIGNMENTS, pool_id.as_bytes(), &json!(template_id))?;
    }
    Ok(before)
}

/// The blocklist (empty until someone saves one).
pub fn blocklist(tx: &impl Reads) -> Result<Blocklist, StoreError> {
    Ok(tx
        .get_json_value(&BLOCKLIST, BLOCKLIST_KEY)?
        .unwrap_or_default())
}

/// Replaces the blocklist; answers the checked lists as stored.
pub fn set_blocklist(tx: &mut WriteTx<'_>, input: &Blocklist) -> Result<Blocklist, PolicyError> {
    let list = blocklist::check(input)?;
    tx.put_json(&BLOCKLIST, BLOCKLIST_KEY, &list)?;
    Ok(list)
}
