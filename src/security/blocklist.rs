//! The blocklist: code where no action may be placed, org-wide. Pure: no store, no HTTP.
//!
//! A rule is a pattern over packages and classes (`com.acme.secret.*`, `com.acme.Keys`) or
//! over files and paths (`*Crypto*.java`, `com/acme/billing/**`); exceptions use the same
//! patterns and win over rules. Both kinds become one path glob: dots of a class pattern are
//! path separators, so `com.acme.secret.*` and `com/acme/secret/**` block the same code.
//! `*` matches within one part of the path, `**` any number of parts, and a class pattern
//! ending in `.*` takes in its sub-packages too. A class location (`com.acme.Keys`) is matched
//! as its whole path `com/acme/Keys`; a file location as its path with and without the
//! extension, or any tail of those that starts at a `/` (a file may be `OrderServlet.java` or
//! `src/main/java/com/acme/OrderServlet.java`). A file-name pattern (`*Crypto*.java`) matches
//! file locations only: a class location does not say its file.
//!
//! The appliance refuses an action whose location is blocked; the agents get the same lists in
//! `config.update` (`blocklist`, agents/PROTOCOL.md) and refuse or remove such probes, with
//! the same matching (`Blocklist.java`).

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::actions::model::Location;

/// Most rules, and most exceptions.
pub const MAX_PATTERNS: usize = 200;
/// Longest pattern, in bytes.
pub const MAX_PATTERN_BYTES: usize = 256;
/// File extensions that make a pattern without `/` a file-name pattern.
pub const SOURCE_EXTENSIONS: &[&str] = &[".java", ".kt", ".scala", ".groovy", ".py", ".clj"];

/// Why a list was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    /// `rules` or `exceptions`.
    pub field: &'static str,
    /// What is wrong, naming the line.
    pub message: String,
}

/// The blocklist as stored and as sent to agents (the `blocklist` of `config.update`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Blocklist {
    /// What is blocked.
    #[serde(default)]
    pub rules: Vec<String>,
    /// What is not, although a rule says so.
    #[serde(default)]
    pub exceptions: Vec<String>,
}

/// One pattern, ready.
#[derive(Debug, Clone)]
struct Pattern {
    text: String,
    re: Regex,
}

/// Whether a pattern names files (else packages and classes).
fn is_file_pattern(p: &str) -> bool {
    p.contains('/') || SOURCE_EXTENSIONS.iter().any(|e| p.ends_with(e))
}

/// The path glob of a pattern, as a regular expression anchored at both ends.
fn glob_regex(p: &str) -> String {
    let path = if is_file_pattern(p) {
        p.to_string()
    } else {
        let dotted = p.replace('.', "/");
        match dotted.strip_suffix("/*") {
            Some(pkg) => format!("{pkg}/**"),
            None => dotted,
        }
    };
    let mut re = String::from("^");
    let mut chars = path.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '*' {
            if chars.peek() == Some(&'*') {
                chars.next();
                // `a/**/b` also matches `a/b`.
                if chars.peek() == Some(&'/') {
                    chars.next();
                    re.push_str("(?:.*/)?");
                } else {
                    re.push_str(".*");
                }
            } else {
                re.push_str("[^/]*");
            }
        } else {
            re.push_str(&regex::escape(&c.to_string()));
        }
    }
    re.push('$');
    re
}

fn pattern(p: &str) -> Result<Pattern, String> {
    if p.is_empty() || p.len() > MAX_PATTERN_BYTES {
        return Err(format!(
            "a pattern must have 1 to {MAX_PATTERN_BYTES} bytes"
        ));
    }
    if let Some(c) = p
        .chars()
        .find(|c| !(c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '$' | '/' | '*')))
    {
        return Err(format!(
            "{c:?} is not allowed: use letters, digits, . _ - $ / and * or **"
        ));
    }
    if p.split(['/', '.']).all(|s| s.chars().all(|c| c == '*')) {
        return Err("this would block every location; name a package, class, file or path".into());
    }
    let re = Regex::new(&glob_regex(p)).map_err(|e| e.to_string())?;
    Ok(Pattern {
        text: p.to_string(),
        re,
    })
}

fn compile_list(
    errors: &mut Vec<FieldError>,
    field: &'static str,
    list: &[String],
) -> Vec<Pattern> {
    if list.len() > MAX_PATTERNS {
        errors.push(FieldError {
            field,
            message: format!("at most {MAX_PATTERNS} patterns ({} given)", list.len()),
        });
        return Vec::new();
    }
    let mut out = Vec::new();
    for (i, p) in list.iter().enumerate() {
        match pattern(p.trim()) {
            Ok(p) => out.push(p),
            Err(why) => errors.push(FieldError {
                field,
                message: format!("line {}: {p:?}: {why}", i + 1),
            }),
        }
    }
    out
}

/// Checks both lists (trimmed, blank lines dropped, duplicates removed); every problem listed.
pub fn check(input: &Blocklist) -> Result<Blocklist, Vec<FieldError>> {
    let clean = |l: &[String]| {
        let mut out: Vec<String> = Vec::new();
        for p in l.iter().map(|p| p.trim()).filter(|p| !p.is_empty()) {
            if !out.iter().any(|q| q == p) {
                out.push(p.to_string());
            }
        }
        out
    };
    let list = Blocklist {
        rules: clean(&input.rules),
        exceptions: clean(&input.exceptions),
    };
    let mut errors = Vec::new();
    compile_list(&mut errors, "rules", &list.rules);
    compile_list(&mut errors, "exceptions", &list.exceptions);
    if errors.is_empty() {
        Ok(list)
    } else {
        Err(errors)
    }
}

/// The blocklist ready to match.
#[derive(Debug, Clone, Default)]
pub struct Compiled {
    list: Blocklist,
    rules: Vec<Pattern>,
    exceptions: Vec<Pattern>,
}

/// The paths a location is matched as, and whether their tails count: a class as its whole
/// path (`com/acme/Keys`, an inner class as its outer one; a class name is always complete),
/// a file as given and without its extension, tails included (a file may be named with or
/// without the source directories before its package).
fn paths(location: &Location) -> (Vec<String>, bool) {
    match location {
        Location::Method { class, .. } => {
            let outer = class.split('$').next().unwrap_or(class);
            (vec![outer.replace('.', "/")], false)
        }
        Location::Line { file, .. } => {
            let file = file.replace('\\', "/");
            let file = file.trim_start_matches('/').to_string();
            let mut out = vec![file.clone()];
            if let Some((stem, _)) = file.rsplit_once('.')
                && !stem.ends_with('/')
                && !stem.is_empty()
            {
                out.push(stem.to_string());
            }
            (out, true)
        }
    }
}

/// Whether `p` matches `path`, or (with `tails`) a tail of it starting after a `/`.
fn matches(p: &Pattern, path: &str, tails: bool) -> bool {
    if p.re.is_match(path) {
        return true;
    }
    tails
        && path
            .match_indices('/')
            .any(|(i, _)| path.get(i + 1..).is_some_and(|tail| p.re.is_match(tail)))
}

impl Compiled {
    /// Compiles a checked list (patterns that fail are left out; [`check`] refuses them first).
    pub fn new(list: &Blocklist) -> Compiled {
        let mut ignored = Vec::new();
        Compiled {
            rules: compile_list(&mut ignored, "rules", &list.rules),
            exceptions: compile_list(&mut ignored, "exceptions", &list.exceptions),
            list: list.clone(),
        }
    }

    /// The lists these came from.
    pub fn list(&self) -> &Blocklist {
        &self.list
    }

    /// The rule that blocks `location`, unless an exception lets it through.
    pub fn blocked(&self, location: &Location) -> Option<&str> {
        let (paths, tails) = paths(location);
        let rule = self
            .rules
            .iter()
            .find(|r| paths.iter().any(|p| matches(r, p, tails)))?;
        if self
            .exceptions
            .iter()
            .any(|e| paths.iter().any(|p| matches(e, p, tails)))
        {
            return None;
        }
        Some(&rule.text)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn class(c: &str) -> Location {
        Location::Method {
            class: c.into(),
            method: "m".into(),
        }
    }
    fn file(f: &str) -> Location {
        Location::Line {
            file: f.into(),
            line: 1,
        }
    }
    fn list(rules: &[&str], exceptions: &[&str]) -> Compiled {
        let l = check(&Blocklist {
            rules: rules.iter().map(|s| s.to_string()).collect(),
            exceptions: exceptions.iter().map(|s| s.to_string()).collect(),
        })
        .unwrap();
        Compiled::new(&l)
    }

    #[test]
    fn packages_classes_files_and_paths() {
        let b = list(
            &[
                "com.acme.secret.*",
                "*Crypto*.java",
                "com/acme/billing/**",
                "com.acme.Keys",
            ],
            &["com.acme.secret.Public"],
        );
        assert_eq!(
            b.blocked(&class("com.acme.secret.Vault")),
            Some("com.acme.secret.*")
        );
        assert_eq!(
            b.blocked(&class("com.acme.secret.inner.Deep")),
            Some("com.acme.secret.*"),
            "sub-packages too"
        );
        assert_eq!(b.blocked(&class("com.acme.secretive.X")), None);
        assert_eq!(
            b.blocked(&class("com.acme.secret.Public")),
            None,
            "exception"
        );
        assert_eq!(
            b.blocked(&class("com.acme.Keys$Inner")),
            Some("com.acme.Keys")
        );
        assert_eq!(
            b.blocked(&file("AesCryptoUtil.java")),
            Some("*Crypto*.java")
        );
        assert_eq!(
            b.blocked(&file("src/main/java/com/acme/CryptoBox.java")),
            Some("*Crypto*.java")
        );
        assert_eq!(
            b.blocked(&file("src/main/java/com/acme/billing/Pay.java")),
            Some("com/acme/billing/**")
        );
        assert_eq!(
            b.blocked(&class("com.acme.billing.Pay")),
            Some("com/acme/billing/**")
        );
        assert_eq!(
            b.blocked(&file("com/acme/secret/Vault.java")),
            Some("com.acme.secret.*"),
            "a class rule blocks the file of the class"
        );
        assert_eq!(b.blocked(&file("OrderServlet.java")), None);
        assert_eq!(b.blocked(&class("com.acme.OrderServlet")), None);
        assert_eq!(
            b.blocked(&file("com/acme/secret/Public.java")),
            None,
            "the exception covers the file too"
        );
    }

    #[test]
    fn double_star_in_the_middle_and_single_star_stays_in_its_part() {
        let b = list(&["com/**/internal/*.java", "org.x.*Impl"], &[]);
        assert!(b.blocked(&file("com/internal/A.java")).is_some());
        assert!(b.blocked(&file("com/a/b/internal/A.java")).is_some());
        assert!(b.blocked(&file("com/a/internal/sub/A.java")).is_none());
        assert!(b.blocked(&class("org.x.FooImpl")).is_some());
        assert!(b.blocked(&class("org.x.y.FooImpl")).is_none());
    }

    #[test]
    fn bad_patterns_are_refused_by_line() {
        let e = check(&Blocklist {
            rules: vec!["ok.pkg.*".into(), "a b".into(), "**".into(), " ".into()],
            exceptions: vec!["x".repeat(300)],
        })
        .unwrap_err();
        assert_eq!(e.len(), 3, "{e:?}");
        assert!(
            e[0].to_string()
                .starts_with("rules: line 2: \"a b\": ' ' is not allowed")
        );
        assert!(e[1].message.contains("every location"));
        assert_eq!(e[2].field, "exceptions");
        let ok = check(&Blocklist {
            rules: vec![" a.b ".into(), "a.b".into(), String::new()],
            exceptions: vec![],
        })
        .unwrap();
        assert_eq!(ok.rules, vec!["a.b".to_string()], "trimmed, deduplicated");
    }

    proptest::proptest! {
        /// Whatever sits around a blocked package, a class inside it is blocked, and one that
        /// only shares a prefix of its last part is not.
        #[test]
        fn a_package_rule_blocks_everything_below_it(
            pkg in "[a-z]{1,8}(\\.[a-z]{1,8}){0,3}", rest in "([a-z]{1,8}\\.){0,3}[A-Z][a-zA-Z]{0,8}"
        ) {
            let b = list(&[&format!("{pkg}.*")], &[]);
            let blocked_class = format!("{pkg}.{rest}");
            let sibling = format!("{pkg}x.{rest}");
            proptest::prop_assert!(b.blocked(&class(&blocked_class)).is_some());
            proptest::prop_assert!(b.blocked(&class(&sibling)).is_none());
        }
    }
}
