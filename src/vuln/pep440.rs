//! Python package versions: PEP 440 parsing, normalisation and order exactly as `packaging`
//! 26.4 implements them, plus the legacy order for the strings PEP 440 refuses.
//!
//! Real advisory records still carry pre-PEP 440 versions (`0.9-ivysaur`, `0.3m1`,
//! `1.0-SNAPSHOT`-like tags of old uploads); `packaging` dropped its `LegacyVersion` in 22.0,
//! but range evaluation must still place them somewhere. [`PypiVersion`] does what
//! `packaging` < 22 did, which is also what osv-scalibr's test data expects: a legacy version
//! sorts below every valid one (its epoch is -1), and legacy versions order among themselves
//! by setuptools' old `parse_version` key. That keeps one total order over every string.

use std::cmp::Ordering;
use std::fmt;

/// Why a string is not a PEP 440 version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Pep440Error {
    /// The text does not match the PEP 440 grammar.
    #[error("not a PEP 440 version: {0:?}")]
    Invalid(String),
    /// The text is longer than any scheme here reads.
    #[error("version longer than {} bytes", super::MAX_VERSION_LEN)]
    TooLong,
}

/// More than normalising can add to a version's text: `.post`/`.dev` for a separator and a
/// letter or nothing (`1-1`, `1r`, `1dev`: at most 5 bytes each), a `0` for a missing number
/// (`1a`: 1 byte), a `.` before a local part's separator (none: `+` stays).
const NORMAL_FORM_GROWTH: usize = 32;

/// A non-negative integer of any size: Python's `int()` has no upper bound, and a release
/// segment of 25 digits is valid PEP 440.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Number {
    /// Up to 19 digits (fits a u64).
    Small(u64),
    /// 20 digits or more, without leading zeros: always above every `Small`.
    Big(Box<str>),
}

impl Number {
    /// `digits` is a non-empty run of ASCII digits.
    fn parse(digits: &str) -> Number {
        let stripped = digits.trim_start_matches('0');
        if stripped.len() <= 19 {
            Number::Small(stripped.parse().unwrap_or(0))
        } else {
            Number::Big(stripped.into())
        }
    }

    fn is_zero(&self) -> bool {
        matches!(self, Number::Small(0))
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Number::Small(n) => write!(f, "{n}"),
            Number::Big(s) => f.write_str(s),
        }
    }
}

/// The pre-release kinds, in their order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PreKind {
    /// `a`, `alpha`
    Alpha,
    /// `b`, `beta`
    Beta,
    /// `rc`, `c`, `pre`, `preview`
    Rc,
}

impl PreKind {
    fn as_str(self) -> &'static str {
        match self {
            PreKind::Alpha => "a",
            PreKind::Beta => "b",
            PreKind::Rc => "rc",
        }
    }
}

/// One segment of a local version label: PEP 440 orders words before numbers.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum LocalPart {
    Word(Box<str>),
    Number(Number),
}

/// A valid PEP 440 version. `==` and the order are PEP 440's (`1.0 == 1.0.0`); the
/// normalised text is [`fmt::Display`].
#[derive(Debug, Clone)]
pub struct Pep440Version {
    epoch: Number,
    release: Vec<Number>,
    pre: Option<(PreKind, Number)>,
    post: Option<Number>,
    dev: Option<Number>,
    local: Option<Vec<LocalPart>>,
}

/// Python's `str.isspace`, which the `\s*` around `packaging`'s pattern matches: Unicode
/// White_Space plus the four ASCII information separators.
fn is_python_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

fn is_separator(b: Option<&u8>) -> bool {
    matches!(b, Some(b'.' | b'_' | b'-'))
}

/// End of the run of ASCII digits starting at `i`.
fn digits_end(b: &[u8], i: usize) -> usize {
    b.get(i..).map_or(i, |rest| {
        i + rest.iter().take_while(|c| c.is_ascii_digit()).count()
    })
}

fn alnum_end(b: &[u8], i: usize) -> usize {
    b.get(i..).map_or(i, |rest| {
        i + rest
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric())
            .count()
    })
}

fn slice_text(b: &[u8], from: usize, to: usize) -> &str {
    b.get(from..to)
        .and_then(|s| std::str::from_utf8(s).ok())
        .unwrap_or("")
}

/// The first of `words` that `b` holds at `i` (the regex alternation tries them in order).
fn word_at(b: &[u8], i: usize, words: &[&'static str]) -> Option<&'static str> {
    let rest = b.get(i..)?;
    words
        .iter()
        .copied()
        .find(|w| rest.starts_with(w.as_bytes()))
}

impl Pep440Version {
    /// Parses `text` as `packaging.version.Version` does: surrounding whitespace allowed,
    /// case-insensitive, every spelling PEP 440 permits (`1.0-DEV`, `v1.0.a`, `1.0-1`, ...).
    ///
    /// The grammar is `packaging`'s pattern with its possessive quantifiers (Python ≥ 3.11):
    /// each optional part, once it starts to match, keeps what it took.
    pub fn parse(text: &str) -> Result<Pep440Version, Pep440Error> {
        if text.len() > super::MAX_VERSION_LEN {
            return Err(Pep440Error::TooLong);
        }
        let invalid = || Pep440Error::Invalid(text.to_string());
        let trimmed = text.trim_matches(is_python_space);
        // Outside the surrounding whitespace the pattern is ASCII only (`(?a:...)`).
        if !trimmed.is_ascii() {
            return Err(invalid());
        }
        let lower = trimmed.to_ascii_lowercase();
        let b = lower.as_bytes();
        let mut i = 0;
        if b.first() == Some(&b'v') {
            i = 1;
        }

        let mut epoch = Number::Small(0);
        let end = digits_end(b, i);
        if end > i && b.get(end) == Some(&b'!') {
            epoch = Number::parse(text_of(b, i, end));
            i = end + 1;
        }

        let mut release = Vec::new();
        let end = digits_end(b, i);
        if end == i {
            return Err(invalid());
        }
        release.push(Number::parse(text_of(b, i, end)));
        i = end;
        // Bounded by the input length: each turn consumes at least two bytes.
        while b.get(i) == Some(&b'.') && b.get(i + 1).is_some_and(u8::is_ascii_digit) {
            let end = digits_end(b, i + 1);
            release.push(Number::parse(text_of(b, i + 1, end)));
            i = end;
        }

        let mut pre = None;
        {
            let mut j = i;
            if is_separator(b.get(j)) {
                j += 1;
            }
            let words = ["alpha", "a", "beta", "b", "preview", "pre", "c", "rc"];
            if let Some(word) = word_at(b, j, &words) {
                j += word.len();
                if is_separator(b.get(j)) {
                    j += 1;
                }
                let end = digits_end(b, j);
                let n = if end > j {
                    Number::parse(text_of(b, j, end))
                } else {
                    Number::Small(0)
                };
                let kind = match word {
                    "alpha" | "a" => PreKind::Alpha,
                    "beta" | "b" => PreKind::Beta,
                    _ => PreKind::Rc,
                };
                pre = Some((kind, n));
                i = end;
            }
        }

        let mut post = None;
        if b.get(i) == Some(&b'-') && b.get(i + 1).is_some_and(u8::is_ascii_digit) {
            // The implicit post-release spelling `1.0-1`.
            let end = digits_end(b, i + 1);
            post = Some(Number::parse(text_of(b, i + 1, end)));
            i = end;
        } else {
            let mut j = i;
            if is_separator(b.get(j)) {
                j += 1;
            }
            if let Some(word) = word_at(b, j, &["post", "rev", "r"]) {
                j += word.len();
                if is_separator(b.get(j)) {
                    j += 1;
                }
                let end = digits_end(b, j);
                post = Some(if end > j {
                    Number::parse(text_of(b, j, end))
                } else {
                    Number::Small(0)
                });
                i = end;
            }
        }

        let mut dev = None;
        {
            let mut j = i;
            if is_separator(b.get(j)) {
                j += 1;
            }
            if word_at(b, j, &["dev"]).is_some() {
                j += 3;
                if is_separator(b.get(j)) {
                    j += 1;
                }
                let end = digits_end(b, j);
                dev = Some(if end > j {
                    Number::parse(text_of(b, j, end))
                } else {
                    Number::Small(0)
                });
                i = end;
            }
        }

        let mut local = None;
        if b.get(i) == Some(&b'+') {
            let end = alnum_end(b, i + 1);
            if end > i + 1 {
                let mut parts = vec![local_part(text_of(b, i + 1, end))];
                let mut j = end;
                while is_separator(b.get(j)) && b.get(j + 1).is_some_and(u8::is_ascii_alphanumeric)
                {
                    let end = alnum_end(b, j + 1);
                    parts.push(local_part(text_of(b, j + 1, end)));
                    j = end;
                }
                local = Some(parts);
                i = j;
            }
        }

        if i != b.len() {
            return Err(invalid());
        }
        let version = Pep440Version {
            epoch,
            release,
            pre,
            post,
            dev,
            local,
        };
        // The normal form can be longer than the text (`1-1` is `1.post1`): a version is
        // accepted only if its normal form also fits, so that it parses back (found by
        // fuzzing). Normalising adds fewer than NORMAL_FORM_GROWTH bytes, so only texts near
        // the limit pay for the check.
        if text.len() + NORMAL_FORM_GROWTH > super::MAX_VERSION_LEN
            && version.to_string().len() > super::MAX_VERSION_LEN
        {
            return Err(Pep440Error::TooLong);
        }
        Ok(version)
    }

    /// The release segment without trailing zeros: what the order compares.
    fn trimmed_release(&self) -> &[Number] {
        let keep = self
            .release
            .iter()
            .rposition(|n| !n.is_zero())
            .map_or(0, |i| i + 1);
        self.release.get(..keep).unwrap_or(&[])
    }

    /// `packaging`'s sort key for pre/post/dev: a dev-only release sorts before any
    /// alpha, a release without pre-release after every rc; no post before any post; a dev
    /// release before the same without.
    fn suffix_key(
        &self,
    ) -> (
        i8,
        Option<&Number>,
        i8,
        Option<&Number>,
        i8,
        Option<&Number>,
    ) {
        let (pre_rank, pre_n) = match (&self.pre, &self.post, &self.dev) {
            (None, None, Some(_)) => (-1, None),
            (None, _, _) => (3, None),
            (Some((kind, n)), _, _) => (*kind as i8, Some(n)),
        };
        let (post_rank, post_n) = match &self.post {
            None => (0, None),
            Some(n) => (1, Some(n)),
        };
        let (dev_rank, dev_n) = match &self.dev {
            Some(n) => (0, Some(n)),
            None => (1, None),
        };
        (pre_rank, pre_n, post_rank, post_n, dev_rank, dev_n)
    }

    /// The public part: the normalised version without its local label.
    pub fn public(&self) -> String {
        let full = self.to_string();
        match full.split_once('+') {
            Some((public, _)) => public.to_string(),
            None => full,
        }
    }

    /// Epoch and release only (`1!1.0a1.post2+x` → `1!1.0`).
    pub fn base_version(&self) -> String {
        let release = join_release(&self.release);
        if self.epoch.is_zero() {
            release
        } else {
            format!("{}!{release}", self.epoch)
        }
    }

    /// A pre-release or development release.
    pub fn is_prerelease(&self) -> bool {
        self.pre.is_some() || self.dev.is_some()
    }
}

/// The ASCII text of `b[from..to]` (the parser only ever slices at ASCII positions).
fn text_of(b: &[u8], from: usize, to: usize) -> &str {
    slice_text(b, from, to)
}

fn local_part(part: &str) -> LocalPart {
    if part.bytes().all(|c| c.is_ascii_digit()) {
        LocalPart::Number(Number::parse(part))
    } else {
        LocalPart::Word(part.into())
    }
}

fn join_release(release: &[Number]) -> String {
    release
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(".")
}

impl fmt::Display for Pep440Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.base_version())?;
        if let Some((kind, n)) = &self.pre {
            write!(f, "{}{n}", kind.as_str())?;
        }
        if let Some(n) = &self.post {
            write!(f, ".post{n}")?;
        }
        if let Some(n) = &self.dev {
            write!(f, ".dev{n}")?;
        }
        if let Some(parts) = &self.local {
            let text: Vec<String> = parts
                .iter()
                .map(|p| match p {
                    LocalPart::Word(w) => w.to_string(),
                    LocalPart::Number(n) => n.to_string(),
                })
                .collect();
            write!(f, "+{}", text.join("."))?;
        }
        Ok(())
    }
}

impl Ord for Pep440Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| self.trimmed_release().cmp(other.trimmed_release()))
            .then_with(|| self.suffix_key().cmp(&other.suffix_key()))
            // No local label sorts before any (`None < Some`); labels compare part by part,
            // words before numbers, a shorter label first when one is a prefix of the other.
            .then_with(|| self.local.cmp(&other.local))
    }
}

impl PartialOrd for Pep440Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Pep440Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Pep440Version {}

/// A version string PEP 440 refuses, ordered as `packaging.version.LegacyVersion` (< 22)
/// did: by setuptools' old key, below every PEP 440 version.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LegacyVersion {
    /// The key: numbers zero-padded to 8 digits, words prefixed with `*`, trailing zeros
    /// and `-` before a pre-release tag removed, `*final` at the end.
    parts: Vec<Box<str>>,
}

impl LegacyVersion {
    /// Builds the key of any string (never fails).
    pub fn parse(text: &str) -> LegacyVersion {
        let lower = super::bounded(text).to_lowercase();
        let mut parts: Vec<Box<str>> = Vec::new();
        let mut add = |part: String| {
            if part.starts_with('*') {
                if part.as_str() < "*final" {
                    while parts.last().is_some_and(|p| &**p == "*final-") {
                        parts.pop();
                    }
                }
                while parts.last().is_some_and(|p| &**p == "00000000") {
                    parts.pop();
                }
            }
            parts.push(part.into());
        };
        for token in legacy_tokens(&lower) {
            let token = match token {
                "pre" | "preview" | "rc" => "c",
                "-" => "final-",
                "dev" => "@",
                other => other,
            };
            if token.is_empty() || token == "." {
                continue;
            }
            if token.starts_with(|c: char| c.is_ascii_digit()) {
                let width = token.chars().count();
                let mut padded = "0".repeat(8usize.saturating_sub(width));
                padded.push_str(token);
                add(padded);
            } else {
                add(format!("*{token}"));
            }
        }
        add("*final".to_string());
        LegacyVersion { parts }
    }
}

/// What `re.split(r"(\d+|[a-z]+|\.|-)", text)` yields: runs of decimal digits (any script),
/// runs of ASCII lower-case letters, single `.` and `-`, and the runs of anything else
/// between them.
fn legacy_tokens(text: &str) -> Vec<&str> {
    #[derive(PartialEq, Clone, Copy)]
    enum Class {
        Digit,
        Letter,
        Single,
        Other,
    }
    let class = |c: char| {
        if super::decimal_digit(c).is_some() {
            Class::Digit
        } else if c.is_ascii_lowercase() {
            Class::Letter
        } else if c == '.' || c == '-' {
            Class::Single
        } else {
            Class::Other
        }
    };
    let mut tokens = Vec::new();
    let mut start = 0;
    let mut current: Option<Class> = None;
    for (i, c) in text.char_indices() {
        let k = class(c);
        let joins = current == Some(k) && k != Class::Single;
        if !joins {
            if i > start {
                tokens.push(text.get(start..i).unwrap_or(""));
            }
            start = i;
        }
        current = Some(k);
    }
    if text.len() > start {
        tokens.push(text.get(start..).unwrap_or(""));
    }
    tokens
}

/// A PyPI version as the matcher orders it: PEP 440 when valid, the legacy key otherwise,
/// every legacy version below every valid one.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum PypiVersion {
    /// Not PEP 440 (declared first: sorts first).
    Legacy(LegacyVersion),
    /// PEP 440.
    Valid(Pep440Version),
}

impl PypiVersion {
    /// Never fails: a string PEP 440 refuses becomes a [`LegacyVersion`].
    pub fn parse(text: &str) -> PypiVersion {
        match Pep440Version::parse(text) {
            Ok(v) => PypiVersion::Valid(v),
            Err(_) => PypiVersion::Legacy(LegacyVersion::parse(text)),
        }
    }

    /// Whether the text was PEP 440.
    pub fn is_valid(&self) -> bool {
        matches!(self, PypiVersion::Valid(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vuln::{fixture, scalibr_pairs};
    use proptest::prelude::*;
    use serde_json::Value;

    fn vectors() -> Value {
        serde_json::from_str(&fixture("versions/pep440-version-vectors.json")).unwrap()
    }

    fn strings(v: &Value) -> Vec<&str> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect()
    }

    #[test]
    fn the_92_versions_sort_in_their_order() {
        let v = vectors();
        let list = strings(&v["sorted_ascending"]);
        assert_eq!(list.len(), 92);
        let parsed: Vec<Pep440Version> = list
            .iter()
            .map(|s| Pep440Version::parse(s).unwrap())
            .collect();
        // Every pair, both ways, as packaging's own test does.
        for (i, a) in parsed.iter().enumerate() {
            for (j, b) in parsed.iter().enumerate() {
                assert_eq!(a.cmp(b), i.cmp(&j), "{} vs {}", list[i], list[j]);
            }
        }
    }

    #[test]
    fn the_20_invalid_versions_are_refused() {
        let v = vectors();
        let list = strings(&v["invalid"]);
        assert_eq!(list.len(), 20);
        for text in list {
            assert!(
                Pep440Version::parse(text).is_err(),
                "{text:?} must be invalid"
            );
            // ... and still get a place in the matcher's order, below every valid version.
            assert!(PypiVersion::parse(text) < PypiVersion::parse("0"));
        }
    }

    #[test]
    fn normalisations_public_base_and_prerelease() {
        let v = vectors();
        let mut counts = [0; 4];
        for pair in v["normalized"].as_array().unwrap() {
            let (text, want) = (pair[0].as_str().unwrap(), pair[1].as_str().unwrap());
            assert_eq!(
                Pep440Version::parse(text).unwrap().to_string(),
                want,
                "{text:?}"
            );
            counts[0] += 1;
        }
        for pair in v["public"].as_array().unwrap() {
            let (text, want) = (pair[0].as_str().unwrap(), pair[1].as_str().unwrap());
            assert_eq!(
                Pep440Version::parse(text).unwrap().public(),
                want,
                "{text:?}"
            );
            counts[1] += 1;
        }
        for pair in v["base_version"].as_array().unwrap() {
            let (text, want) = (pair[0].as_str().unwrap(), pair[1].as_str().unwrap());
            assert_eq!(
                Pep440Version::parse(text).unwrap().base_version(),
                want,
                "{text:?}"
            );
            counts[2] += 1;
        }
        for pair in v["is_prerelease"].as_array().unwrap() {
            let (text, want) = (pair[0].as_str().unwrap(), pair[1].as_bool().unwrap());
            assert_eq!(
                Pep440Version::parse(text).unwrap().is_prerelease(),
                want,
                "{text:?}"
            );
            counts[3] += 1;
        }
        assert_eq!(counts, [102, 29, 29, 22]);
    }

    #[test]
    fn spellings_packaging_accepts() {
        for (text, want) in [
            (" 1.0\n", "1.0"),
            ("1.0\u{1c}", "1.0"),
            ("V1.0", "1.0"),
            ("1.0a-", "1.0a0"),
            ("1.0a.", "1.0a0"),
            ("1.0-r", "1.0.post0"),
            ("1.0.post.dev1", "1.0.post0.dev1"),
            ("1.0+ABC.007", "1.0+abc.7"),
            (
                "1.123456789012345678901234567890",
                "1.123456789012345678901234567890",
            ),
        ] {
            assert_eq!(
                Pep440Version::parse(text).unwrap().to_string(),
                want,
                "{text:?}"
            );
        }
        for text in [
            "1.0-",
            "1.0_",
            "1.0.",
            "1.0+a-",
            "1!",
            "1.0+\u{212a}",
            "1.0.po\u{17f}t1",
            "",
        ] {
            assert!(Pep440Version::parse(text).is_err(), "{text:?}");
        }
        assert!(Pep440Version::parse(&"1".repeat(300)).is_err());
        assert_eq!(
            Pep440Version::parse("1.0").unwrap(),
            Pep440Version::parse("1.0.0").unwrap()
        );
    }

    #[test]
    fn osv_scalibr_pypi_pairs_with_the_legacy_fallback() {
        let mut counts = Vec::new();
        for file in ["pypi-versions.txt", "pypi-versions-generated.txt"] {
            let pairs = scalibr_pairs(&format!("versions/osv-scalibr/{file}"));
            let (mut passed, mut legacy) = (0, 0);
            for (a, op, b) in &pairs {
                let (x, y) = (PypiVersion::parse(a), PypiVersion::parse(b));
                assert_eq!(x.cmp(&y), *op, "{file}: {a} {op:?} {b}");
                assert_eq!(y.cmp(&x), op.reverse(), "{file}: {b} vs {a}");
                if !x.is_valid() || !y.is_valid() {
                    legacy += 1;
                }
                passed += 1;
            }
            counts.push((file, pairs.len(), passed, legacy));
        }
        // Every line passes; 80 of them order at least one non-PEP 440 version.
        assert_eq!(
            counts,
            vec![
                ("pypi-versions.txt", 37, 37, 11),
                ("pypi-versions-generated.txt", 12375, 12375, 69),
            ]
        );
    }

    #[test]
    fn legacy_versions_keep_setuptools_order() {
        let ascending = [
            "0.1-bulbasaur",
            "0.1-charmander",
            "0.9-doduo",
            "0.9-ivysaur",
            "1.0",
        ];
        for pair in ascending.windows(2) {
            assert!(
                PypiVersion::parse(pair[0]) < PypiVersion::parse(pair[1]),
                "{pair:?}"
            );
        }
        // Legacy pre-release tags sort before the same version's `final`.
        assert!(LegacyVersion::parse("1.0-pre1x") < LegacyVersion::parse("1.0-x"));
        assert!(LegacyVersion::parse("0.3m1") < LegacyVersion::parse("0.3m2"));
    }

    fn pep440ish() -> impl Strategy<Value = String> {
        let token = prop_oneof![
            Just("1".to_string()),
            Just("0".to_string()),
            Just("10".to_string()),
            Just(".".to_string()),
            Just("-".to_string()),
            Just("_".to_string()),
            Just("!".to_string()),
            Just("+".to_string()),
            Just("a".to_string()),
            Just("b".to_string()),
            Just("rc".to_string()),
            Just("c".to_string()),
            Just("post".to_string()),
            Just("r".to_string()),
            Just("dev".to_string()),
            Just("v".to_string()),
            Just("x".to_string()),
            Just("local".to_string()),
            Just(" ".to_string()),
        ];
        proptest::collection::vec(token, 0..10).prop_map(|t| t.concat())
    }

    /// Found by fuzzing: a text just under the length limit whose normal form is over it
    /// (`-1` becomes `.post1`) was accepted, and its normal form then refused as too long.
    #[test]
    fn a_version_whose_normal_form_is_too_long_is_refused() {
        let near = |tail: &str| {
            format!(
                "{}.0{tail}",
                "9".repeat(crate::vuln::MAX_VERSION_LEN - 2 - tail.len())
            )
        };
        for tail in ["-1", "r", "dev", "a", "-post"] {
            let text = near(tail);
            assert_eq!(text.len(), crate::vuln::MAX_VERSION_LEN);
            match Pep440Version::parse(&text) {
                Ok(v) => assert_eq!(Pep440Version::parse(&v.to_string()).unwrap(), v, "{tail}"),
                Err(e) => assert_eq!(e, Pep440Error::TooLong, "{tail}"),
            }
        }
        assert_eq!(Pep440Version::parse(&near("-1")), Err(Pep440Error::TooLong));
        // Well under the limit the same spelling is a post-release as before.
        assert_eq!(
            Pep440Version::parse("1.0-1").unwrap().to_string(),
            "1.0.post1"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        #[test]
        fn order_is_total(a in pep440ish(), b in pep440ish(), c in pep440ish()) {
            let (x, y, z) = (PypiVersion::parse(&a), PypiVersion::parse(&b), PypiVersion::parse(&c));
            prop_assert_eq!(x.cmp(&y), y.cmp(&x).reverse());
            if x <= y && y <= z {
                prop_assert!(x <= z, "{:?} <= {:?} <= {:?}", a, b, c);
            }
            if x == y && y == z {
                prop_assert!(x == z);
            }
        }

        #[test]
        fn normal_form_parses_to_the_same_version(text in pep440ish()) {
            if let Ok(v) = Pep440Version::parse(&text) {
                let again = Pep440Version::parse(&v.to_string()).unwrap();
                prop_assert_eq!(&again, &v);
                prop_assert_eq!(again.to_string(), v.to_string());
            }
        }

        #[test]
        fn parsing_never_panics(text in "\\PC{0,40}") {
            let v = PypiVersion::parse(&text);
            prop_assert_eq!(v.cmp(&v), Ordering::Equal);
        }
    }
}
