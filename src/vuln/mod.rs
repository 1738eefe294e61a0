//! Vulnerability matching: OSV records read from JSON files or osv.dev dumps, the version
//! orders of the ecosystems the appliance inventories (Maven `ComparableVersion`, PEP 440
//! with the legacy fallback, SemVer 2.0), and the OSV evaluation of "is this package at this
//! version affected by this record".
//!
//! `index` compiles records once into the matcher the appliance queries; `db` keeps them
//! in the store and runs imports. Everything else here is pure (no I/O beyond the reader functions that are handed a path or
//! bytes, no clock, no tokio) so that it can be fuzzed, benchmarked and property-tested on
//! its own. Every parser bounds its input: a version string longer than
//! [`MAX_VERSION_LEN`] is cut there, a record or a dump larger than its limit is refused.

pub mod cvss;
pub mod db;
pub mod index;
pub mod matching;
pub mod maven;
pub mod osv;
pub mod pep440;
pub mod semver;
pub mod spool;

/// Longest version string any scheme here looks at, in bytes. Real versions are short (the
/// longest in the PyPA and GitHub advisory data is well under 100 bytes); Maven itself
/// refuses more than 256 characters. Past this bound the tail is ignored, which keeps parsing
/// and comparison cost, and the nesting depth of a Maven version, small whatever the input.
pub const MAX_VERSION_LEN: usize = 256;

/// The longest prefix of `text` that fits in [`MAX_VERSION_LEN`] bytes and ends on a
/// character boundary.
pub(crate) fn bounded(text: &str) -> &str {
    if text.len() <= MAX_VERSION_LEN {
        return text;
    }
    let mut end = MAX_VERSION_LEN;
    // A char is at most 4 bytes, so this walks back at most 3 steps.
    while end > 0 && !text.is_char_boundary(end) {
        end -= 1;
    }
    text.get(..end).unwrap_or("")
}

/// The code points of the digit zero of every run of Unicode decimal digits (general category
/// Nd, Unicode 15): each run is ten consecutive code points 0..9, which Unicode guarantees.
/// Java's `Character.isDigit` and Python's `\d`/`int()` accept all of them, so the Maven and
/// legacy PyPI orders must as well.
const DECIMAL_ZEROS: [u32; 68] = [
    0x30, 0x660, 0x6F0, 0x7C0, 0x966, 0x9E6, 0xA66, 0xAE6, 0xB66, 0xBE6, 0xC66, 0xCE6, 0xD66,
    0xDE6, 0xE50, 0xED0, 0xF20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80, 0x1A90,
    0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0, 0xFF10,
    0x104A0, 0x10D30, 0x11066, 0x110F0, 0x11136, 0x111D0, 0x112F0, 0x11450, 0x114D0, 0x11650,
    0x116C0, 0x11730, 0x118E0, 0x11950, 0x11C50, 0x11D50, 0x11DA0, 0x11F50, 0x16A60, 0x16AC0,
    0x16B50, 0x1D7CE, 0x1D7D8, 0x1D7E2, 0x1D7EC, 0x1D7F6, 0x1E140, 0x1E2F0, 0x1E4F0, 0x1E950,
    0x1FBF0,
];

/// The value of `c` if it is a Unicode decimal digit (category Nd), in any script.
pub(crate) fn decimal_digit(c: char) -> Option<u32> {
    let code = u32::from(c);
    if c.is_ascii_digit() {
        return Some(code - 0x30);
    }
    if code < 0x660 {
        return None;
    }
    // The table is sorted: the run that could hold `c` starts at the last zero <= c.
    let i = DECIMAL_ZEROS.partition_point(|&z| z <= code);
    let zero = DECIMAL_ZEROS.get(i.checked_sub(1)?)?;
    let value = code - zero;
    (value < 10).then_some(value)
}

/// Reads a file of `tests/fixtures/vuln/` (test data copied with its origin notes).
#[cfg(test)]
pub(crate) fn fixture(path: &str) -> String {
    let full = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/vuln")
        .join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

/// The `a op b` lines of an osv-scalibr ordering file, comments and blank lines left out.
#[cfg(test)]
pub(crate) fn scalibr_pairs(path: &str) -> Vec<(String, std::cmp::Ordering, String)> {
    fixture(path)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with("//"))
        .map(|l| {
            let parts: Vec<&str> = l.split(' ').collect();
            assert_eq!(parts.len(), 3, "line {l:?}");
            let op = match parts[1] {
                "<" => std::cmp::Ordering::Less,
                "=" => std::cmp::Ordering::Equal,
                ">" => std::cmp::Ordering::Greater,
                other => panic!("operator {other:?} in {l:?}"),
            };
            (parts[0].to_string(), op, parts[2].to_string())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_digits_in_several_scripts() {
        assert_eq!(decimal_digit('7'), Some(7));
        assert_eq!(decimal_digit('\u{668}'), Some(8)); // Arabic-Indic eight
        assert_eq!(decimal_digit('\u{FF15}'), Some(5)); // fullwidth five
        assert_eq!(decimal_digit('\u{1D7CE}'), Some(0)); // mathematical bold zero
        assert_eq!(decimal_digit('a'), None);
        assert_eq!(decimal_digit('\u{2167}'), None); // Roman numeral eight is Nl, not Nd
        assert_eq!(decimal_digit('\u{66A}'), None); // Arabic percent sign, just past the run
    }

    #[test]
    fn bounded_cuts_on_a_char_boundary() {
        let long = "é".repeat(200);
        let cut = bounded(&long);
        assert!(cut.len() <= MAX_VERSION_LEN);
        assert_eq!(cut.len(), MAX_VERSION_LEN);
        assert_eq!(bounded("1.0"), "1.0");
    }
}
