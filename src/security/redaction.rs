//! PII redaction rules: what a template is, which patterns it may hold, the built-in library
//! users add patterns from, and the compiled form that decides whether a variable's name or a
//! string value must not be kept. Pure: no store, no HTTP, no clock.
//!
//! The same rules run in two places. The agents get them in `config.update` (`redaction`,
//! agents/PROTOCOL.md) and never send a matching value; the appliance runs them again over
//! every snapshot and log line before they are stored ([`Compiled::snapshot`],
//! [`Compiled::log_text`]), so a value an older or differently configured agent let through is
//! still never kept. Patterns are RE2-style (the `regex` crate: linear time, no
//! back-references), matched case-insensitively anywhere in the text, bounded like the agent's:
//! at most [`MAX_PATTERNS`] per list, [`MAX_PATTERN_BYTES`] each, and a bounded compiled size.

use regex::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Most patterns in a list (the agent's limit).
pub const MAX_PATTERNS: usize = 64;
/// Longest pattern, in bytes (the agent's limit).
pub const MAX_PATTERN_BYTES: usize = 256;
/// Largest compiled program of one pattern: a short pattern can still expand enormously
/// (`\w{200}{200}`), so each is bounded on its own.
pub const MAX_COMPILED_BYTES: usize = 256 * 1024;
/// Largest compiled set of one list.
pub const MAX_SET_BYTES: usize = 4 * 1024 * 1024;
/// Longest template name.
pub const MAX_NAME_CHARS: usize = 80;
/// Most templates.
pub const MAX_TEMPLATES: usize = 100;
/// The id of the template every pool without an assignment uses.
pub const DEFAULT_ID: &str = "default";
/// How a cut value is marked in a snapshot (PROTOCOL.md, snapshot values).
pub const CUT_REDACTED: &str = "redacted";
/// What replaces a redacted value in a log line.
pub const LOG_MARK: &str = "[redacted]";
/// Deeper than this, a snapshot value is redacted whole rather than walked (the agent's depth
/// is 3; anything this deep did not come from a well-behaved agent).
const MAX_WALK_DEPTH: usize = 32;

/// Why rules were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    /// The field: `name`, `name_patterns`, `value_patterns`.
    pub field: &'static str,
    /// What is wrong, for people (a bad pattern names itself and the parser's message).
    pub message: String,
}

/// What a template redacts: exactly the `redaction` object of `config.update`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Rules {
    /// Matched against variable, field and map-key names.
    #[serde(default)]
    pub name_patterns: Vec<String>,
    /// Found anywhere in string values.
    #[serde(default)]
    pub value_patterns: Vec<String>,
    /// Digit runs of 13–19 digits that pass the Luhn check.
    #[serde(default)]
    pub card_numbers: bool,
    /// PEM private keys.
    #[serde(default)]
    pub private_keys: bool,
}

/// A named set of rules, assigned to agent pools.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Template {
    /// `default` or a random hex id.
    pub id: String,
    /// Unique name.
    pub name: String,
    /// What it redacts.
    #[serde(flatten)]
    pub rules: Rules,
    /// When it was made, ms.
    pub created_ms: i64,
    /// When it last changed, ms.
    pub updated_ms: i64,
}

/// A template as a request describes it (API body or form).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct TemplateInput {
    /// The name.
    #[serde(default)]
    pub name: String,
    /// Name patterns.
    #[serde(default)]
    pub name_patterns: Vec<String>,
    /// Value patterns.
    #[serde(default)]
    pub value_patterns: Vec<String>,
    /// Card numbers (Luhn).
    #[serde(default)]
    pub card_numbers: bool,
    /// PEM private keys.
    #[serde(default)]
    pub private_keys: bool,
}

impl TemplateInput {
    /// The input that shows `t` unchanged (an edit form's first values).
    pub fn of(t: &Template) -> TemplateInput {
        TemplateInput {
            name: t.name.clone(),
            name_patterns: t.rules.name_patterns.clone(),
            value_patterns: t.rules.value_patterns.clone(),
            card_numbers: t.rules.card_numbers,
            private_keys: t.rules.private_keys,
        }
    }
}

/// The agent's built-in set (PROTOCOL.md `config.update`, `Redactor.DEFAULT_NAMES` /
/// `DEFAULT_VALUES`): the Default template until someone edits it, so a fresh appliance is
/// secure without any setting.
pub fn default_rules() -> Rules {
    Rules {
        name_patterns: [
            "passw(or)?d",
            "secret",
            "token",
            "api[-_]?key",
            "^key$",
            "cookie",
            "authorization",
        ]
        .map(String::from)
        .to_vec(),
        value_patterns: vec![r"eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}".into()],
        card_numbers: true,
        private_keys: true,
    }
}

/// The Default template as it is before anyone changes it.
pub fn default_template(now_ms: i64) -> Template {
    Template {
        id: DEFAULT_ID.into(),
        name: "Default".into(),
        rules: default_rules(),
        created_ms: now_ms,
        updated_ms: now_ms,
    }
}

/// Where a library entry goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LibraryKind {
    /// A name pattern.
    Name,
    /// A value pattern.
    Value,
    /// The card-number switch.
    CardNumbers,
    /// The private-key switch.
    PrivateKeys,
}

/// One entry of the built-in library.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct LibraryEntry {
    /// Stable key (`email`, `us_ssn`).
    pub key: &'static str,
    /// For people.
    pub label: &'static str,
    /// Where it goes.
    pub kind: LibraryKind,
    /// The pattern (empty for a switch).
    pub pattern: &'static str,
}

const fn entry(
    key: &'static str,
    label: &'static str,
    kind: LibraryKind,
    pattern: &'static str,
) -> LibraryEntry {
    LibraryEntry {
        key,
        label,
        kind,
        pattern,
    }
}

/// Patterns users add with one click. Case-sensitive parts say so with `(?-i:...)`, which
/// both RE2 and `java.util.regex` understand; nothing here uses syntax only one of them has.
pub const LIBRARY: &[LibraryEntry] = &[
    entry(
        "card_numbers",
        "Credit card numbers (Luhn check)",
        LibraryKind::CardNumbers,
        "",
    ),
    entry(
        "private_keys",
        "PEM private keys",
        LibraryKind::PrivateKeys,
        "",
    ),
    entry(
        "password_names",
        "Names: password, pwd, passphrase",
        LibraryKind::Name,
        "passw(or)?d|^pwd$|passphrase",
    ),
    entry(
        "secret_names",
        "Names: secret, token, API key, credentials",
        LibraryKind::Name,
        "secret|token|api[-_]?key|credential",
    ),
    entry(
        "session_names",
        "Names: cookie, session id, authorization",
        LibraryKind::Name,
        "cookie|sess(ion)?[-_]?id|authorization",
    ),
    entry(
        "card_names",
        "Names: card number, CVV, PAN",
        LibraryKind::Name,
        "card[-_]?(number|num|no)|^pan$|^cvv2?$|^cvc$",
    ),
    entry(
        "national_id_names",
        "Names: SSN, national id, tax id",
        LibraryKind::Name,
        "^ssn$|social[-_]?security|national[-_]?id|tax[-_]?id|^nino$",
    ),
    entry(
        "email",
        "E-mail addresses",
        LibraryKind::Value,
        r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}",
    ),
    entry(
        "jwt",
        "JSON Web Tokens",
        LibraryKind::Value,
        r"eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}",
    ),
    entry(
        "bearer",
        "Bearer tokens",
        LibraryKind::Value,
        r"bearer\s+[A-Za-z0-9._~+/-]{16,}=*",
    ),
    entry(
        "aws_key",
        "AWS access key ids",
        LibraryKind::Value,
        r"(?-i:\b(AKIA|ASIA)[A-Z0-9]{16}\b)",
    ),
    entry(
        "github_token",
        "GitHub tokens",
        LibraryKind::Value,
        r"(?-i:\b(gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,}))",
    ),
    entry(
        "slack_token",
        "Slack tokens",
        LibraryKind::Value,
        r"(?-i:\bxox[abprs]-[A-Za-z0-9-]{10,})",
    ),
    entry(
        "us_ssn",
        "US Social Security numbers",
        LibraryKind::Value,
        r"\b[0-9]{3}-[0-9]{2}-[0-9]{4}\b",
    ),
    entry(
        "uk_nino",
        "UK National Insurance numbers",
        LibraryKind::Value,
        r"(?-i:\b[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?[0-9]{2} ?[0-9]{2} ?[0-9]{2} ?[A-D]\b)",
    ),
    entry(
        "iban",
        "IBANs",
        LibraryKind::Value,
        r"(?-i:\b[A-Z]{2}[0-9]{2} ?[A-Z0-9]{4}( ?[A-Z0-9]{4}){1,6}( ?[A-Z0-9]{1,3})?\b)",
    ),
];

/// A library entry by key.
pub fn library_entry(key: &str) -> Option<&'static LibraryEntry> {
    LIBRARY.iter().find(|e| e.key == key)
}

impl TemplateInput {
    /// Adds a library entry (a pattern not there yet, or a switch turned on).
    pub fn add_library(&mut self, e: &LibraryEntry) {
        let list = match e.kind {
            LibraryKind::CardNumbers => {
                self.card_numbers = true;
                return;
            }
            LibraryKind::PrivateKeys => {
                self.private_keys = true;
                return;
            }
            LibraryKind::Name => &mut self.name_patterns,
            LibraryKind::Value => &mut self.value_patterns,
        };
        if !list.iter().any(|p| p == e.pattern) {
            list.push(e.pattern.to_string());
        }
    }
}

/// Splits a text field into patterns: one a line, blank lines ignored (a pattern's own spaces
/// stay: `bearer\s+` and `a b` are different patterns).
pub fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

fn one_pattern(p: &str) -> Result<Regex, String> {
    if p.is_empty() || p.len() > MAX_PATTERN_BYTES {
        return Err(format!(
            "a pattern must have 1 to {MAX_PATTERN_BYTES} bytes"
        ));
    }
    RegexBuilder::new(p)
        .case_insensitive(true)
        .size_limit(MAX_COMPILED_BYTES)
        .build()
        .map_err(|e| match e {
            regex::Error::CompiledTooBig(_) => "compiles too large; make it simpler".to_string(),
            // The parser's message spans several lines with a caret under the fault.
            other => other
                .to_string()
                .lines()
                .last()
                .unwrap_or("")
                .trim()
                .to_string(),
        })
}

fn check_list(errors: &mut Vec<FieldError>, field: &'static str, list: &[String]) -> Vec<Regex> {
    if list.len() > MAX_PATTERNS {
        errors.push(FieldError {
            field,
            message: format!("at most {MAX_PATTERNS} patterns ({} given)", list.len()),
        });
        return Vec::new();
    }
    let mut out = Vec::new();
    for (i, p) in list.iter().enumerate() {
        match one_pattern(p) {
            Ok(r) => out.push(r),
            Err(why) => errors.push(FieldError {
                field,
                message: format!("line {}: {p:?}: {why}", i + 1),
            }),
        }
    }
    out
}

/// Checks a template's name and rules; every problem is listed.
pub fn check(input: &TemplateInput) -> Result<(String, Rules), Vec<FieldError>> {
    let mut errors = Vec::new();
    let name = input.name.trim().to_string();
    let chars = name.chars().count();
    if chars == 0 || chars > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        errors.push(FieldError {
            field: "name",
            message: format!("1 to {MAX_NAME_CHARS} characters, no control characters"),
        });
    }
    let rules = Rules {
        name_patterns: input.name_patterns.clone(),
        value_patterns: input.value_patterns.clone(),
        card_numbers: input.card_numbers,
        private_keys: input.private_keys,
    };
    check_list(&mut errors, "name_patterns", &rules.name_patterns);
    check_list(&mut errors, "value_patterns", &rules.value_patterns);
    if errors.is_empty()
        && let Err(e) = Compiled::new(&rules)
    {
        errors.push(e);
    }
    if errors.is_empty() {
        Ok((name, rules))
    } else {
        Err(errors)
    }
}

/// Rules ready to match: built once per change, shared by every result that passes.
#[derive(Debug, Clone)]
pub struct Compiled {
    rules: Rules,
    names: RegexSet,
    value_set: RegexSet,
    values: Vec<Regex>,
    pairs: Regex,
}

fn set(field: &'static str, list: &[String]) -> Result<RegexSet, FieldError> {
    RegexSetBuilder::new(list)
        .case_insensitive(true)
        .size_limit(MAX_SET_BYTES)
        .build()
        .map_err(|e| FieldError {
            field,
            message: match e {
                regex::Error::CompiledTooBig(_) => {
                    "these patterns together compile too large; use fewer or simpler ones".into()
                }
                other => other.to_string(),
            },
        })
}

impl Compiled {
    /// Compiles `rules`; `Err` names the list that would not compile.
    pub fn new(rules: &Rules) -> Result<Compiled, FieldError> {
        let mut errors = Vec::new();
        let values = check_list(&mut errors, "value_patterns", &rules.value_patterns);
        check_list(&mut errors, "name_patterns", &rules.name_patterns);
        if let Some(e) = errors.into_iter().next() {
            return Err(e);
        }
        let pairs =
            Regex::new(r"([A-Za-z_$][A-Za-z0-9_$]*)=([^,}\s\]]*)").map_err(|e| FieldError {
                field: "name_patterns",
                message: e.to_string(),
            })?;
        Ok(Compiled {
            names: set("name_patterns", &rules.name_patterns)?,
            value_set: set("value_patterns", &rules.value_patterns)?,
            values,
            pairs,
            rules: rules.clone(),
        })
    }

    /// The rules these were compiled from.
    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// The first name pattern `name` matches.
    pub fn name_match(&self, name: &str) -> Option<&str> {
        let i = self.names.matches(name).iter().next()?;
        self.rules.name_patterns.get(i).map(String::as_str)
    }

    /// Why `value` must not be kept, if it must not: `card number`, `private key` or the
    /// value pattern it matches.
    pub fn value_match(&self, value: &str) -> Option<String> {
        if value.is_empty() {
            return None;
        }
        if self.rules.private_keys && has_private_key(value) {
            return Some("private key".into());
        }
        if self.rules.card_numbers && has_card_number(value) {
            return Some("card number".into());
        }
        let i = self.value_set.matches(value).iter().next()?;
        self.rules
            .value_patterns
            .get(i)
            .map(|p| format!("value pattern {p}"))
    }

    /// A log line with every matching value replaced by `[redacted]`: value patterns, card
    /// numbers, private keys, and the value of each `name=value` whose name matches (objects
    /// print as `Type{field=value, ...}`, PROTOCOL.md `log`). A private key makes the whole
    /// line `[redacted]`: its body has no pattern to cut on.
    pub fn log_text(&self, text: &str) -> String {
        if self.rules.private_keys && has_private_key(text) {
            return LOG_MARK.to_string();
        }
        let mut out = text.to_string();
        if self.value_set.is_match(&out) {
            for r in &self.values {
                if r.is_match(&out) {
                    out = r.replace_all(&out, LOG_MARK).into_owned();
                }
            }
        }
        if self.rules.card_numbers {
            out = replace_cards(&out);
        }
        if !self.rules.name_patterns.is_empty() && out.contains('=') {
            out = self
                .pairs
                .replace_all(&out, |c: &regex::Captures<'_>| {
                    let name = c.get(1).map_or("", |m| m.as_str());
                    let value = c.get(2).map_or("", |m| m.as_str());
                    if !value.is_empty() && self.names.is_match(name) {
                        format!("{name}={LOG_MARK}")
                    } else {
                        c.get(0).map_or("", |m| m.as_str()).to_string()
                    }
                })
                .into_owned();
        }
        out
    }

    /// Redacts a snapshot's captured values in place (`this`, a local, a watch): answers how
    /// many values it cut.
    pub fn snapshot(&self, value: &mut Value) -> usize {
        match value {
            Value::Array(items) => items.iter_mut().map(|v| self.node(v, 0)).sum(),
            other => self.node(other, 0),
        }
    }

    /// One value object (PROTOCOL.md snapshot values), named or not.
    fn node(&self, v: &mut Value, depth: usize) -> usize {
        let Value::Object(m) = v else {
            return 0;
        };
        if depth > MAX_WALK_DEPTH {
            return cut(m);
        }
        let name_hit = match (m.get("name"), m.get("text")) {
            (Some(Value::String(n)), _) => self.names.is_match(n),
            // A watch is named by the last part of its path (`order.customer.password`).
            (None, Some(Value::String(t))) => t
                .rsplit(['.', '[', ']', ' '])
                .find(|s| !s.is_empty())
                .is_some_and(|last| self.names.is_match(last)),
            _ => false,
        };
        let value_hit = match m.get("value") {
            Some(Value::String(s)) => self.value_match(s).is_some(),
            _ => false,
        };
        if name_hit || value_hit {
            return cut(m);
        }
        let mut n = 0;
        if let Some(Value::Array(fields)) = m.get_mut("fields") {
            n += fields
                .iter_mut()
                .map(|f| self.node(f, depth + 1))
                .sum::<usize>();
        }
        if let Some(Value::Array(items)) = m.get_mut("items") {
            n += items
                .iter_mut()
                .map(|f| self.node(f, depth + 1))
                .sum::<usize>();
        }
        if let Some(Value::Array(entries)) = m.get_mut("entries") {
            for e in entries {
                let Value::Object(pair) = e else { continue };
                let key_hit = match pair.get("key").and_then(|k| k.get("value")) {
                    Some(Value::String(k)) => self.names.is_match(k),
                    _ => false,
                };
                if let Some(key) = pair.get_mut("key") {
                    n += self.node(key, depth + 1);
                }
                if let Some(value) = pair.get_mut("value") {
                    n += match value {
                        Value::Object(vm) if key_hit => cut(vm),
                        other => self.node(other, depth + 1),
                    };
                }
            }
        }
        n
    }

    /// The tester: what these rules do to each `(name, value)`.
    pub fn explain(&self, variables: &[(String, String)]) -> Vec<Verdict> {
        variables
            .iter()
            .map(|(name, value)| {
                let reason = self
                    .name_match(name)
                    .map(|p| format!("name pattern {p}"))
                    .or_else(|| self.value_match(value));
                Verdict {
                    name: name.clone(),
                    shown: if reason.is_some() {
                        LOG_MARK.to_string()
                    } else {
                        value.clone()
                    },
                    redacted: reason.is_some(),
                    reason,
                }
            })
            .collect()
    }
}

/// What the tester says about one variable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// The variable's name.
    pub name: String,
    /// What would be kept: the value, or `[redacted]`.
    pub shown: String,
    /// Whether it is redacted.
    pub redacted: bool,
    /// Which rule redacts it.
    pub reason: Option<String>,
}

/// Most variables the tester takes at once.
pub const MAX_TEST_VARIABLES: usize = 100;

/// The tester's input: a JSON object of variables (`{"password": "x", "card": "4111..."}`)
/// or, failing that, one `name = value` a line. Non-string JSON values are shown as JSON.
pub fn test_variables(text: &str) -> Result<Vec<(String, String)>, String> {
    let text = text.trim();
    let pairs: Vec<(String, String)> = if text.starts_with('{') {
        let m: Map<String, Value> =
            serde_json::from_str(text).map_err(|e| format!("not a JSON object: {e}"))?;
        m.into_iter()
            .map(|(k, v)| {
                let s = match v {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                (k, s)
            })
            .collect()
    } else {
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| match l.split_once('=') {
                Some((n, v)) => (n.trim().to_string(), v.trim().to_string()),
                None => (String::new(), l.trim().to_string()),
            })
            .collect()
    };
    if pairs.len() > MAX_TEST_VARIABLES {
        return Err(format!("at most {MAX_TEST_VARIABLES} variables"));
    }
    Ok(pairs)
}

/// Empties a value object down to what says what it was, and marks it redacted.
fn cut(m: &mut Map<String, Value>) -> usize {
    m.retain(|k, _| matches!(k.as_str(), "name" | "type" | "declared" | "text"));
    m.insert("cut".into(), Value::String(CUT_REDACTED.into()));
    1
}

fn has_private_key(s: &str) -> bool {
    s.contains("-----BEGIN") && s.contains("PRIVATE KEY-----")
}

/// Card-number runs in `s`: (start, end) byte ranges of 13–19 digits, single spaces or dashes
/// allowed between digits, that pass the Luhn check. The same rule as the agent's.
fn card_runs(s: &str) -> Vec<(usize, usize)> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let starts = b.get(i).is_some_and(u8::is_ascii_digit)
            && (i == 0 || !b.get(i - 1).is_some_and(u8::is_ascii_digit));
        if !starts {
            i += 1;
            continue;
        }
        let mut digits: Vec<u8> = Vec::with_capacity(20);
        let mut j = i;
        let mut end = i;
        while let Some(&c) = b.get(j) {
            if c.is_ascii_digit() {
                digits.push(c - b'0');
                end = j + 1;
                if digits.len() > 19 {
                    break;
                }
            } else if (c == b' ' || c == b'-') && b.get(j + 1).is_some_and(u8::is_ascii_digit) {
            } else {
                break;
            }
            j += 1;
        }
        if (13..=19).contains(&digits.len()) && luhn(&digits) {
            out.push((i, end));
        }
        i = end.max(i + 1);
    }
    out
}

/// Whether `s` holds a card number (see [`card_runs`]).
pub fn has_card_number(s: &str) -> bool {
    !card_runs(s).is_empty()
}

fn replace_cards(s: &str) -> String {
    let runs = card_runs(s);
    if runs.is_empty() {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut last = 0;
    for (a, z) in runs {
        out.push_str(s.get(last..a).unwrap_or(""));
        out.push_str(LOG_MARK);
        last = z;
    }
    out.push_str(s.get(last..).unwrap_or(""));
    out
}

/// The Luhn check over digits, most significant first.
pub fn luhn(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use serde_json::json;

    fn default() -> Compiled {
        Compiled::new(&default_rules()).unwrap()
    }

    #[test]
    fn the_default_set_is_the_agents() {
        let c = default();
        assert_eq!(c.name_match("userPassword"), Some("passw(or)?d"));
        assert_eq!(
            c.name_match("PASSWD"),
            Some("passw(or)?d"),
            "case-insensitive"
        );
        assert_eq!(c.name_match("key"), Some("^key$"));
        assert_eq!(
            c.name_match("monkey"),
            None,
            "anchored where the pattern says so"
        );
        assert_eq!(c.name_match("order"), None);
        assert!(c.value_match("4111 1111 1111 1111").is_some());
        assert!(c.value_match("4111 1111 1111 1112").is_none(), "fails Luhn");
        assert!(c.value_match("eyJhbGciOiJIUzI1.eyJzdWIiOiIxMjM0").is_some());
        assert!(
            c.value_match("-----BEGIN RSA PRIVATE KEY-----\nMIIE")
                .is_some()
        );
        assert!(c.value_match("hello").is_none());
    }

    #[test]
    fn luhn_and_card_runs() {
        assert!(luhn(&[4, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]));
        assert!(!luhn(&[4, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2]));
        assert!(has_card_number("card 5500-0000-0000-0004 ok"));
        assert!(
            !has_card_number("id 41111111111111110000000"),
            "too long a run"
        );
        assert!(!has_card_number("411111111111"), "too short");
        assert_eq!(
            replace_cards("a 4111111111111111 b 4012888888881881"),
            "a [redacted] b [redacted]"
        );
    }

    #[test]
    fn the_library_compiles_and_finds_what_it_names() {
        let mut input = TemplateInput {
            name: "All".into(),
            ..Default::default()
        };
        for e in LIBRARY {
            input.add_library(e);
        }
        input.add_library(&LIBRARY[2]);
        let (_, rules) = check(&input).unwrap();
        assert_eq!(
            rules.name_patterns.len(),
            LIBRARY
                .iter()
                .filter(|e| e.kind == LibraryKind::Name)
                .count(),
            "adding twice adds once"
        );
        let c = Compiled::new(&rules).unwrap();
        for hit in [
            "mail me at alice@example.com",
            "Authorization: Bearer abcdefghijklmnop1234",
            "AKIAIOSFODNN7EXAMPLE",
            "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
            "ssn 123-45-6789",
            "NINO AB 12 34 56 C",
            "GB82 WEST 1234 5698 7654 32",
            "xoxb-1234567890-abcdef",
        ] {
            assert!(c.value_match(hit).is_some(), "{hit}");
        }
        for miss in ["hello world", "akiaiosfodnn7example", "version 1.2.3-4"] {
            assert!(c.value_match(miss).is_none(), "{miss}");
        }
        assert!(c.name_match("cardNumber").is_some());
        assert!(c.name_match("ssn").is_some());
    }

    #[test]
    fn bad_patterns_are_named_with_the_parsers_message() {
        let input = TemplateInput {
            name: String::new(),
            name_patterns: vec!["ok".into(), "(unclosed".into()],
            value_patterns: vec!["x".repeat(MAX_PATTERN_BYTES + 1), r"\w{200}{200}".into()],
            ..Default::default()
        };
        let errors = check(&input).unwrap_err();
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(errors.len(), 4, "{text:?}");
        assert_eq!(errors[0].field, "name");
        assert!(
            text[1].starts_with("name_patterns: line 2: \"(unclosed\": ")
                && text[1].contains("unclosed"),
            "{}",
            text[1]
        );
        assert!(text[2].contains("1 to 256 bytes"), "{}", text[2]);
        assert!(text[3].contains("too large"), "{}", text[3]);
        let many = TemplateInput {
            name: "x".into(),
            name_patterns: vec!["a".into(); MAX_PATTERNS + 1],
            ..Default::default()
        };
        assert!(check(&many).unwrap_err()[0].message.contains("at most 64"));
    }

    #[test]
    fn snapshots_are_redacted_by_name_value_key_and_watch() {
        let mut locals = json!([
            {"name": "password", "type": "java.lang.String", "value": "hunter2", "length": 7},
            {"name": "order", "type": "com.acme.Order", "fields": [
                {"name": "id", "type": "long", "value": 42},
                {"name": "card", "type": "java.lang.String", "value": "4111-1111-1111-1111"},
                {"name": "apiKey", "type": "com.acme.Key", "fields": [{"name": "v", "type": "int", "value": 1}]},
                {"name": "headers", "type": "java.util.HashMap", "length": 2, "entries": [
                    {"key": {"type": "java.lang.String", "value": "Cookie"},
                     "value": {"type": "java.lang.String", "value": "sid=1"}},
                    {"key": {"type": "java.lang.String", "value": "Accept"},
                     "value": {"type": "java.lang.String", "value": "*/*"}}]},
                {"name": "notes", "type": "java.util.ArrayList", "items": [
                    {"type": "java.lang.String", "value": "token eyJhbGciOiJIUzI1.eyJzdWIiOiIxMjM0"}]}]}
        ]);
        let n = default().snapshot(&mut locals);
        assert_eq!(n, 5);
        assert_eq!(
            locals[0],
            json!({"name": "password", "type": "java.lang.String", "cut": "redacted"})
        );
        let f = &locals[1]["fields"];
        assert_eq!(f[0]["value"], 42);
        assert_eq!(f[1]["cut"], "redacted");
        assert!(f[1].get("value").is_none());
        assert_eq!(
            f[2],
            json!({"name": "apiKey", "type": "com.acme.Key", "cut": "redacted"})
        );
        assert_eq!(f[3]["entries"][0]["value"]["cut"], "redacted");
        assert_eq!(f[3]["entries"][1]["value"]["value"], "*/*");
        assert_eq!(f[4]["items"][0]["cut"], "redacted");
        let mut watches = json!([{"text": "user.password", "type": "java.lang.String", "value": "x"},
                                 {"text": "order.id", "type": "long", "value": 1}]);
        assert_eq!(default().snapshot(&mut watches), 1);
        assert_eq!(
            watches[0],
            json!({"text": "user.password", "type": "java.lang.String", "cut": "redacted"})
        );
    }

    #[test]
    fn log_lines_are_redacted_in_place() {
        let c = default();
        assert_eq!(
            c.log_text("paid with 4111 1111 1111 1111 by User{name=al, password=hunter2}"),
            "paid with [redacted] by User{name=al, password=[redacted]}"
        );
        assert_eq!(
            c.log_text("jwt eyJhbGciOiJIUzI1.eyJzdWIiOiIxMjM0 end"),
            "jwt [redacted] end"
        );
        assert_eq!(
            c.log_text("k=-----BEGIN PRIVATE KEY-----abc"),
            "[redacted]",
            "a private key takes the line"
        );
        assert_eq!(c.log_text("order 42 for alice"), "order 42 for alice");
    }

    /// Adversarial input: deep nesting, non-objects where objects belong, odd Unicode and huge
    /// digit runs neither panic nor leave a matching value behind.
    #[test]
    fn hostile_snapshots_do_not_escape() {
        let c = default();
        let mut deep = json!({"type": "x", "value": "4111111111111111"});
        for _ in 0..100 {
            deep = json!({"type": "o", "fields": [{"name": "f", "type": "o", "fields": [deep]}]});
        }
        let mut v = json!([deep, 7, "password", null, {"name": 3, "value": "secret"},
                           {"name": "ok", "entries": [5, {"key": 1}]},
                           {"name": "é🦀", "value": "٤١١١ 4111 1111 1111 1111"}]);
        c.snapshot(&mut v);
        let text = v.to_string();
        assert!(!text.contains("4111111111111111"), "{text}");
        assert!(!text.contains("4111 1111 1111 1111"), "{text}");
        let digits = "9".repeat(100_000);
        assert_eq!(c.log_text(&digits), digits);
    }

    proptest::proptest! {
        /// Whatever surrounds a card number or a secret-named field, the stored text never
        /// holds it.
        #[test]
        fn no_card_survives_a_log_line(prefix in "[a-z =,{}]{0,20}", suffix in "[a-z =,{}]{0,20}") {
            let c = default();
            let line = format!("{prefix} 4111 1111 1111 1111 {suffix}");
            let out = c.log_text(&line);
            proptest::prop_assert!(!out.contains("4111 1111 1111 1111"), "{}", out);
            let mut v = json!([{"name": format!("x{prefix}password"), "type": "s", "value": suffix.clone()}]);
            c.snapshot(&mut v);
            proptest::prop_assert_eq!(&v[0]["cut"], "redacted");
        }
    }

    #[test]
    fn the_tester_explains_each_variable() {
        let vars =
            test_variables(r#"{"password": "x", "note": "hi", "n": 4111111111111111}"#).unwrap();
        let out = default().explain(&vars);
        let by = |n: &str| out.iter().find(|v| v.name == n).unwrap().clone();
        assert_eq!(
            by("password").reason.as_deref(),
            Some("name pattern passw(or)?d")
        );
        assert!(!by("note").redacted);
        assert_eq!(by("note").shown, "hi");
        assert_eq!(by("n").reason.as_deref(), Some("card number"));
        let lines = test_variables("token = abc\nplain").unwrap();
        assert_eq!(lines[0], ("token".into(), "abc".into()));
        assert_eq!(lines[1], (String::new(), "plain".into()));
        assert!(test_variables("{not json").is_err());
    }
}
