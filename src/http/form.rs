//! Parsing of what browsers send: `application/x-www-form-urlencoded` bodies and query
//! strings, and the `Cookie` header. Pure functions with limits, so they can be fuzzed.

/// Most fields accepted in one form or query string.
pub const MAX_FIELDS: usize = 200;

/// Why a form could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormError {
    /// More than [`MAX_FIELDS`] fields.
    #[error("the form has more than {MAX_FIELDS} fields")]
    TooManyFields,
    /// A `%` escape is not followed by two hex digits.
    #[error("the form has a broken %-escape")]
    BadEscape,
    /// A decoded name or value is not UTF-8.
    #[error("the form is not valid UTF-8")]
    NotUtf8,
}

/// Decoded form fields in the order sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Form {
    fields: Vec<(String, String)>,
}

impl Form {
    /// Parses an urlencoded body or query string.
    pub fn parse(input: &[u8]) -> Result<Form, FormError> {
        let mut fields = Vec::new();
        for pair in input.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
            if fields.len() == MAX_FIELDS {
                return Err(FormError::TooManyFields);
            }
            let (name, value) = match pair.iter().position(|b| *b == b'=') {
                Some(i) => (
                    pair.get(..i).unwrap_or_default(),
                    pair.get(i + 1..).unwrap_or_default(),
                ),
                None => (pair, &[][..]),
            };
            fields.push((decode(name)?, decode(value)?));
        }
        Ok(Form { fields })
    }

    /// The first value of `name`, if sent.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first value of `name`, or "" if not sent.
    pub fn text(&self, name: &str) -> &str {
        self.get(name).unwrap_or_default()
    }

    /// The first value of `name` trimmed, or `None` when not sent or blank (list filters).
    pub fn filled(&self, name: &str) -> Option<String> {
        self.get(name)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    }

    /// Every value of `name` (multi-selects, checkboxes).
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.fields
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes `+` and `%XX` escapes.
fn decode(raw: &[u8]) -> Result<String, FormError> {
    let mut out = Vec::with_capacity(raw.len());
    let mut bytes = raw.iter();
    while let Some(&b) = bytes.next() {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = bytes.next().and_then(|h| hex_value(*h));
                let lo = bytes.next().and_then(|l| hex_value(*l));
                match (hi, lo) {
                    (Some(h), Some(l)) => out.push(h << 4 | l),
                    _ => return Err(FormError::BadEscape),
                }
            }
            other => out.push(other),
        }
    }
    String::from_utf8(out).map_err(|_| FormError::NotUtf8)
}

/// The value of cookie `name` in a `Cookie` header value, if present exactly once-or-first.
pub fn cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header
        .split(';')
        .take(MAX_FIELDS)
        .filter_map(|part| part.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.trim_matches('"'))
}

/// Percent-encodes a value for use in a query string.
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(char::from(b));
            }
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_decode() {
        let f = Form::parse(b"email=a%40b.c&password=p+w%2B&empty=&flag&x=1&x=2").unwrap();
        assert_eq!(f.get("email"), Some("a@b.c"));
        assert_eq!(f.get("password"), Some("p w+"));
        assert_eq!(f.get("empty"), Some(""));
        assert_eq!(f.get("flag"), Some(""));
        assert_eq!(f.all("x").collect::<Vec<_>>(), ["1", "2"]);
        assert_eq!(f.get("missing"), None);
        assert_eq!(f.text("missing"), "");
        assert_eq!(
            Form::parse(b"%C3%A9=%E2%82%AC").unwrap().get("é"),
            Some("€")
        );
    }

    #[test]
    fn bad_forms_are_refused() {
        assert_eq!(Form::parse(b"a=%4"), Err(FormError::BadEscape));
        assert_eq!(Form::parse(b"a=%zz"), Err(FormError::BadEscape));
        assert_eq!(Form::parse(b"a=%ff"), Err(FormError::NotUtf8));
        let many = "a=1&".repeat(MAX_FIELDS + 1);
        assert_eq!(Form::parse(many.as_bytes()), Err(FormError::TooManyFields));
    }

    #[test]
    fn cookies_are_found() {
        let h = "theme=dark; __Host-lantern=abc; other=\"q\"";
        assert_eq!(cookie(h, "__Host-lantern"), Some("abc"));
        assert_eq!(cookie(h, "other"), Some("q"));
        assert_eq!(cookie(h, "lantern"), None);
        assert_eq!(encode("/a b?c"), "/a%20b%3Fc");
    }
}
