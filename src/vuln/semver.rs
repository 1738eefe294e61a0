//! Semantic Versioning 2.0.0 precedence, for OSV ranges of type `SEMVER` (and the ecosystems
//! whose versions are SemVer: npm, crates.io, Go).
//!
//! [`SemVer::parse`] is strict SemVer 2.0. Records do not always hold strict SemVer (Go's
//! `v1.2.3`, a missing patch `1.2`), so [`SemverOrder`] reads those leniently the way OSV
//! tooling does (optional `v`, missing minor/patch are 0, leading zeros tolerated) and puts
//! whatever still does not parse below every version, ordered by its bytes, so that range
//! evaluation always has an answer.

use std::cmp::Ordering;
use std::fmt;

/// Why a string is not SemVer 2.0.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SemverError {
    /// The text does not follow the SemVer 2.0 grammar; the text says which part.
    #[error("not SemVer 2.0 ({part}): {text:?}")]
    Invalid {
        /// The version as given.
        text: String,
        /// The part that is wrong.
        part: &'static str,
    },
    /// Longer than any scheme here reads.
    #[error("version longer than {} bytes", super::MAX_VERSION_LEN)]
    TooLong,
}

/// A numeric identifier of any size, kept as its digits without leading zeros: longer is
/// larger, equal lengths compare lexically.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Digits(Box<str>);

impl Digits {
    fn new(digits: &str) -> Digits {
        let stripped = digits.trim_start_matches('0');
        Digits(if stripped.is_empty() { "0" } else { stripped }.into())
    }
}

impl Ord for Digits {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0
            .len()
            .cmp(&other.0.len())
            .then_with(|| self.0.cmp(&other.0))
    }
}

impl PartialOrd for Digits {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A pre-release identifier: numeric ones sort below alphanumeric ones.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Ident {
    Numeric(Digits),
    Alpha(Box<str>),
}

/// A SemVer 2.0 version. Build metadata is kept for display but ignored by the order and by
/// `==`, as the specification requires.
#[derive(Debug, Clone)]
pub struct SemVer {
    major: Digits,
    minor: Digits,
    patch: Digits,
    pre: Vec<Ident>,
    build: Option<Box<str>>,
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-'
}

impl SemVer {
    /// Strict SemVer 2.0: three numeric parts without leading zeros, dot-separated
    /// pre-release identifiers (no leading zeros in numeric ones), optional build metadata.
    pub fn parse(text: &str) -> Result<SemVer, SemverError> {
        Self::parse_with(text, false)
    }

    fn parse_with(text: &str, lenient: bool) -> Result<SemVer, SemverError> {
        if text.len() > super::MAX_VERSION_LEN {
            return Err(SemverError::TooLong);
        }
        let bad = |part| SemverError::Invalid {
            text: text.to_string(),
            part,
        };
        let mut rest = text;
        if lenient {
            rest = rest.trim();
            rest = rest.strip_prefix(['v', 'V']).unwrap_or(rest);
        }
        let (rest, build) = match rest.split_once('+') {
            Some((head, build)) => {
                if build.is_empty()
                    || !build
                        .split('.')
                        .all(|p| !p.is_empty() && p.chars().all(is_ident_char))
                {
                    return Err(bad("build metadata"));
                }
                (head, Some(build))
            }
            None => (rest, None),
        };
        // The first `-` after the core starts the pre-release (identifiers may hold `-`).
        let (core, pre) = match rest.split_once('-') {
            Some((core, pre)) => (core, Some(pre)),
            None => (rest, None),
        };
        let mut numbers = core.split('.');
        let mut next_number = |name: &'static str, required: bool| -> Result<Digits, SemverError> {
            match numbers.next() {
                None if !required => Ok(Digits::new("0")),
                None => Err(bad(name)),
                Some(n) if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) => Err(bad(name)),
                Some(n) if !lenient && n.len() > 1 && n.starts_with('0') => Err(bad(name)),
                Some(n) => Ok(Digits::new(n)),
            }
        };
        let major = next_number("major", true)?;
        let minor = next_number("minor", !lenient)?;
        let patch = next_number("patch", !lenient)?;
        if numbers.next().is_some() {
            return Err(bad("more than three numbers"));
        }
        let mut idents = Vec::new();
        if let Some(pre) = pre {
            for ident in pre.split('.') {
                if ident.is_empty() || !ident.chars().all(is_ident_char) {
                    return Err(bad("pre-release"));
                }
                if ident.bytes().all(|b| b.is_ascii_digit()) {
                    if !lenient && ident.len() > 1 && ident.starts_with('0') {
                        return Err(bad("pre-release"));
                    }
                    idents.push(Ident::Numeric(Digits::new(ident)));
                } else {
                    idents.push(Ident::Alpha(ident.into()));
                }
            }
        }
        Ok(SemVer {
            major,
            minor,
            patch,
            pre: idents,
            build: build.map(Into::into),
        })
    }

    /// Whether the version has pre-release identifiers.
    pub fn is_prerelease(&self) -> bool {
        !self.pre.is_empty()
    }
}

impl Ord for SemVer {
    fn cmp(&self, other: &Self) -> Ordering {
        self.major
            .cmp(&other.major)
            .then_with(|| self.minor.cmp(&other.minor))
            .then_with(|| self.patch.cmp(&other.patch))
            .then_with(|| match (self.pre.is_empty(), other.pre.is_empty()) {
                // A release is above its pre-releases.
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                // Identifier by identifier; a shorter list that is a prefix sorts first.
                (false, false) => self.pre.cmp(&other.pre),
            })
    }
}

impl PartialOrd for SemVer {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for SemVer {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for SemVer {}

impl fmt::Display for SemVer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major.0, self.minor.0, self.patch.0)?;
        for (i, ident) in self.pre.iter().enumerate() {
            f.write_str(if i == 0 { "-" } else { "." })?;
            match ident {
                Ident::Numeric(d) => f.write_str(&d.0)?,
                Ident::Alpha(a) => f.write_str(a)?,
            }
        }
        if let Some(build) = &self.build {
            write!(f, "+{build}")?;
        }
        Ok(())
    }
}

/// The order the matcher uses for SemVer ranges: lenient SemVer, with anything unparseable
/// below every version and ordered by its text.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum SemverOrder {
    /// Not even lenient SemVer (declared first: sorts first).
    Unparsed(Box<str>),
    /// Lenient SemVer.
    Parsed(SemVer),
}

impl SemverOrder {
    /// Never fails.
    pub fn parse(text: &str) -> SemverOrder {
        let text = super::bounded(text);
        match SemVer::parse_with(text, true) {
            Ok(v) => SemverOrder::Parsed(v),
            Err(_) => SemverOrder::Unparsed(text.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn specification_precedence_example() {
        // The list from semver.org, section 11.
        let ascending = [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
            "2.0.0",
            "2.1.0",
            "2.1.1",
        ];
        let parsed: Vec<SemVer> = ascending
            .iter()
            .map(|s| SemVer::parse(s).unwrap())
            .collect();
        for pair in parsed.windows(2) {
            assert!(pair[0] < pair[1], "{} < {}", pair[0], pair[1]);
        }
        assert_eq!(
            SemVer::parse("1.0.0+build.1").unwrap(),
            SemVer::parse("1.0.0+other").unwrap()
        );
        assert_eq!(
            SemVer::parse("1.0.0-x-y.7+b").unwrap().to_string(),
            "1.0.0-x-y.7+b"
        );
        assert!(SemVer::parse("1.0.0-x").unwrap().is_prerelease());
        let big = SemVer::parse("1.0.123456789012345678901234567890").unwrap();
        assert!(big > SemVer::parse("1.0.99999999999999999999").unwrap());
    }

    #[test]
    fn strict_parsing_refuses_what_semver_refuses() {
        for bad in [
            "1",
            "1.2",
            "01.2.3",
            "1.2.3-01",
            "1.2.3-",
            "1.2.3+",
            "1.2.3.4",
            "v1.2.3",
            "1.2.3-a..b",
            "1.2.x",
        ] {
            assert!(SemVer::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(SemverOrder::parse("v1.2"), SemverOrder::parse("1.2.0"));
        assert!(SemverOrder::parse("not a version") < SemverOrder::parse("0.0.0-0"));
    }

    proptest! {
        #[test]
        fn order_is_total(a in "[0-9v.a-z+-]{0,12}", b in "[0-9v.a-z+-]{0,12}", c in "[0-9v.a-z+-]{0,12}") {
            let (x, y, z) = (SemverOrder::parse(&a), SemverOrder::parse(&b), SemverOrder::parse(&c));
            prop_assert_eq!(x.cmp(&y), y.cmp(&x).reverse());
            if x <= y && y <= z {
                prop_assert!(x <= z);
            }
        }

        #[test]
        fn order_is_total_on_valid_versions(
            a in "[0-2]\\.[0-2]\\.[0-2](-[0-9a-c]{1,2}(\\.[0-9a-c]{1,2}){0,2})?",
            b in "[0-2]\\.[0-2]\\.[0-2](-[0-9a-c]{1,2}(\\.[0-9a-c]{1,2}){0,2})?",
            c in "[0-2]\\.[0-2]\\.[0-2](-[0-9a-c]{1,2}(\\.[0-9a-c]{1,2}){0,2})?",
        ) {
            let (x, y, z) = (SemverOrder::parse(&a), SemverOrder::parse(&b), SemverOrder::parse(&c));
            prop_assert_eq!(x.cmp(&y), y.cmp(&x).reverse());
            if x <= y && y <= z {
                prop_assert!(x <= z);
            }
            if x == y && y == z {
                prop_assert!(x == z);
            }
        }

        #[test]
        fn parsing_never_panics(text in "\\PC{0,40}") {
            let _ = SemVer::parse(&text);
            let v = SemverOrder::parse(&text);
            prop_assert_eq!(v.cmp(&v), Ordering::Equal);
        }
    }
}
