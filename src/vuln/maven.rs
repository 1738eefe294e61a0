//! Maven's version order: `ComparableVersion` of apache/maven master
//! (`compat/maven-artifact`, as of commit 0288c858), item for item.
//!
//! A version is parsed into a list of items: numbers (int, long, big integer), strings
//! (qualifiers), combinations (a qualifier glued to a number, `rc1`) and nested lists (each
//! `-` or digit/letter transition opens one). Known qualifiers order as
//! `alpha < beta < milestone < rc = cr < snapshot < "" = ga = final = release < sp`, unknown
//! ones after them, lexically. Trailing zeros and release qualifiers are dropped by the same
//! normalisation Maven applies.
//!
//! Why master and not the commit the test vectors were measured on (540897d3, 2026-08-22):
//! that older code is not a total order (`1.foo-bar > 1 > 1-alpha > 1.foo-bar`; `1-ga1 = 1 =
//! 1-ga2` while `1-ga1 < 1-ga2`). Maven fixed both afterwards (apache/maven#12942,
//! MNG-6568 in #13102). A Rust `Ord` must be total: `sort` may panic otherwise, and an OSV
//! range sorts its events. The current code agrees with every one of the 976 vectors and
//! with all osv-scalibr pairs; it differs from the older measurement only on five odd
//! versions (`4.0.16.Final` vs `4.0.16.Final-jason1` and the like, see the tests).
//!
//! Maven accepts any string, and so does [`MavenVersion::parse`]; where Java would throw
//! (a number part Java's `Integer.parseInt` refuses, such as `x-٨y`, or more than 256
//! characters) this keeps a deterministic place instead: the odd token becomes a plain
//! qualifier, and a long string is cut at [`super::MAX_VERSION_LEN`] bytes.

use std::cmp::Ordering;
use std::fmt;

/// A parsed Maven version. Ordering (and so `==`) is Maven's `compareTo`: `1.0` equals `1`,
/// `1-ga` equals `1`. [`MavenVersion::same_items`] is Maven's stricter `equals`.
#[derive(Debug, Clone)]
pub struct MavenVersion {
    /// The text as given (after the length bound), for display.
    text: Box<str>,
    /// The top-level item list, normalised.
    items: Vec<Item>,
}

/// A number item. Maven picks the type by the digit count (after leading ASCII zeros are
/// dropped) and orders by type first: every long is above every int, every big integer above
/// every long, whatever the values. That matters only for digits in other scripts, which
/// Java parses but does not strip.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Num {
    /// Up to 9 digits.
    Int(u32),
    /// 10 to 18 digits.
    Long(u64),
    /// More than 18 digits: ASCII digits without leading zeros ("0" for zero).
    Big(Box<str>),
}

/// A qualifier, with its rank among the well-known ones computed once.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Qualifier {
    /// The lower-cased text after Maven's aliases (`cr` → `rc`, `a1` → `alpha1`, ...).
    value: Box<str>,
    /// 0 alpha, 1 beta, 2 milestone, 3 rc, 4 snapshot, 5 release ("", ga, final, release),
    /// 6 sp, 7 anything else.
    rank: u8,
}

/// The rank of a release (the empty qualifier): what "no qualifier" compares as.
const RELEASE_RANK: u8 = 5;
/// The rank shared by every qualifier Maven does not know.
const UNKNOWN_RANK: u8 = 7;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    Num(Num),
    Str(Qualifier),
    /// A qualifier followed directly by a number (`rc1`, `-beta-2`).
    Combo(Qualifier, Num),
    List(Vec<Item>),
}

impl Num {
    fn is_zero(&self) -> bool {
        match self {
            Num::Int(v) => *v == 0,
            Num::Long(v) => *v == 0,
            Num::Big(v) => &**v == "0",
        }
    }

    fn cmp_num(&self, other: &Num) -> Ordering {
        match (self, other) {
            (Num::Int(a), Num::Int(b)) => a.cmp(b),
            (Num::Long(a), Num::Long(b)) => a.cmp(b),
            (Num::Big(a), Num::Big(b)) => cmp_digits(a, b),
            // Maven orders an int below a long below a big integer by type alone. That is the
            // order of their values while the type follows the number of digits, which it
            // does unless the text starts with zeros that are not ASCII (`᥆`: Java strips
            // only '0'). Then the type says nothing of the value, and ordering by type is not
            // even transitive: a long zero below a big zero while both equal no number
            // (found by fuzzing; a sort can panic on such an order). By value it stays total,
            // and agrees with Maven everywhere else.
            _ => cmp_digits(&self.to_string(), &other.to_string()),
        }
    }

    /// Maven's `compareTo(null)`: is this number above "nothing" (zero) or equal to it.
    fn cmp_absent(&self) -> Ordering {
        if self.is_zero() {
            Ordering::Equal
        } else {
            Ordering::Greater
        }
    }

    /// Java's `Integer.parseInt`/`Long.parseLong`/`new BigInteger` on `text` after Maven's
    /// `stripLeadingZeroes`, or `None` where Java would throw `NumberFormatException`.
    fn parse(text: &str) -> Option<Num> {
        let stripped = text.trim_start_matches('0');
        let stripped = if stripped.is_empty() { "0" } else { stripped };
        // Java counts UTF-16 units; the digits it accepts here are all in the BMP (it reads
        // one `char` at a time), so that is the char count.
        let mut digits = String::with_capacity(stripped.len());
        for c in stripped.chars() {
            if u32::from(c) > 0xFFFF {
                return None;
            }
            let d = super::decimal_digit(c)?;
            digits.push(char::from_digit(d, 10)?);
        }
        let count = digits.chars().count();
        if count <= 9 {
            digits.parse().ok().map(Num::Int)
        } else if count <= 18 {
            digits.parse().ok().map(Num::Long)
        } else {
            let value = digits.trim_start_matches('0');
            Some(Num::Big(if value.is_empty() { "0" } else { value }.into()))
        }
    }
}

/// Two numbers written without leading zeros ("0" for zero): the longer is larger, the same
/// length compares lexically.
fn cmp_digits(a: &str, b: &str) -> Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

impl fmt::Display for Num {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Num::Int(v) => write!(f, "{v}"),
            Num::Long(v) => write!(f, "{v}"),
            Num::Big(v) => f.write_str(v),
        }
    }
}

impl Qualifier {
    /// Maven's `StringItem(value, followedByDigit)`.
    fn new(value: &str, followed_by_digit: bool) -> Qualifier {
        let value = match value {
            "a" if followed_by_digit => "alpha",
            "b" if followed_by_digit => "beta",
            "m" if followed_by_digit => "milestone",
            "cr" => "rc",
            other => other,
        };
        let rank = match value {
            "alpha" => 0,
            "beta" => 1,
            "milestone" => 2,
            "rc" => 3,
            "snapshot" => 4,
            "" | "ga" | "final" | "release" => RELEASE_RANK,
            "sp" => 6,
            _ => UNKNOWN_RANK,
        };
        Qualifier {
            value: value.into(),
            rank,
        }
    }

    fn is_empty(&self) -> bool {
        self.value.is_empty()
    }

    /// Maven compares `comparableQualifier` strings: the index of a known qualifier ("0".."6")
    /// or "7-" + the qualifier. Index digits order as the ranks do, every index is below "7-",
    /// and two unknown qualifiers compare as Java strings (UTF-16 code units).
    fn cmp_qualifier(&self, other: &Qualifier) -> Ordering {
        if self.rank == UNKNOWN_RANK && other.rank == UNKNOWN_RANK {
            self.value.encode_utf16().cmp(other.value.encode_utf16())
        } else {
            self.rank.cmp(&other.rank)
        }
    }

    /// Against "nothing", a qualifier compares as against the release rank.
    fn cmp_absent(&self) -> Ordering {
        self.rank.cmp(&RELEASE_RANK)
    }
}

impl Item {
    fn is_null(&self) -> bool {
        match self {
            Item::Num(n) => n.is_zero(),
            Item::Str(q) => q.is_empty(),
            Item::Combo(..) => false,
            Item::List(items) => items.is_empty(),
        }
    }

    /// Maven's `Item.compareTo(null)`, used when one list runs out before the other.
    fn cmp_absent(&self) -> Ordering {
        match self {
            Item::Num(n) => n.cmp_absent(),
            Item::Str(q) => q.cmp_absent(),
            Item::Combo(q, n) => match q.cmp_absent() {
                // A release qualifier with a number (`ga1`) is decided by the number, so that
                // `1-ga1` sorts above `1` (apache/maven#12942).
                Ordering::Equal => n.cmp_absent(),
                other => other,
            },
            Item::List(items) => {
                for item in items {
                    let result = item.cmp_absent();
                    if result != Ordering::Equal {
                        return result;
                    }
                }
                Ordering::Equal
            }
        }
    }

    /// Maven's `Item.compareTo(item)` for a present item.
    fn cmp_item(&self, other: &Item) -> Ordering {
        match (self, other) {
            (Item::Num(a), Item::Num(b)) => a.cmp_num(b),
            (Item::Num(_), _) => Ordering::Greater,

            (Item::Str(_), Item::Num(_)) => Ordering::Less,
            (Item::Str(a), Item::Str(b)) => a.cmp_qualifier(b),
            (Item::Str(a), Item::Combo(b, digits)) => match a.cmp_qualifier(b) {
                Ordering::Equal if a.cmp_absent() == Ordering::Equal => {
                    digits.cmp_absent().reverse()
                }
                Ordering::Equal => Ordering::Less,
                other => other,
            },
            (Item::Str(_), Item::List(_)) => other.cmp_item(self).reverse(),

            (Item::Combo(..), Item::Num(_)) => Ordering::Less,
            (Item::Combo(a, digits), Item::Str(b)) => match a.cmp_qualifier(b) {
                Ordering::Equal if a.cmp_absent() == Ordering::Equal => digits.cmp_absent(),
                // `X1 > X`
                Ordering::Equal => Ordering::Greater,
                other => other,
            },
            (Item::Combo(..), Item::List(_)) => other.cmp_item(self).reverse(),
            (Item::Combo(a, x), Item::Combo(b, y)) => a.cmp_qualifier(b).then_with(|| x.cmp_num(y)),

            (Item::List(_), Item::Num(_)) => Ordering::Less,
            // A list against a single qualifier compares its first item with it and then
            // the rest with nothing (MNG-6568): the order stays transitive.
            (Item::List(items), Item::Str(_) | Item::Combo(..)) => {
                let mut rest = items.iter();
                let mut result = match rest.next() {
                    None => other.cmp_absent().reverse(),
                    Some(first) => first.cmp_item(other),
                };
                for item in rest {
                    if result != Ordering::Equal {
                        break;
                    }
                    result = item.cmp_absent();
                }
                result
            }
            (Item::List(a), Item::List(b)) => cmp_lists(a, b),
        }
    }

    fn write_canonical(&self, out: &mut String) {
        match self {
            Item::Num(n) => out.push_str(&n.to_string()),
            Item::Str(q) => out.push_str(&q.value),
            Item::Combo(q, n) => {
                out.push_str(&q.value);
                out.push_str(&n.to_string());
            }
            Item::List(items) => write_list(items, out),
        }
    }
}

fn cmp_lists(a: &[Item], b: &[Item]) -> Ordering {
    let mut left = a.iter();
    let mut right = b.iter();
    loop {
        let result = match (left.next(), right.next()) {
            (None, None) => return Ordering::Equal,
            (Some(l), Some(r)) => l.cmp_item(r),
            (Some(l), None) => l.cmp_absent(),
            (None, Some(r)) => r.cmp_absent().reverse(),
        };
        if result != Ordering::Equal {
            return result;
        }
    }
}

fn write_list(items: &[Item], out: &mut String) {
    let start = out.len();
    for item in items {
        if out.len() > start {
            out.push(if matches!(item, Item::List(_)) {
                '-'
            } else {
                '.'
            });
        }
        item.write_canonical(out);
    }
}

/// Maven's `ListItem.normalize`: drop null items (zeros, empty qualifiers, empty lists) at the
/// end of a list or before a qualifier, and a zero before a sub-list that starts with a
/// qualifier; then a list holding only a sub-list becomes that sub-list.
fn normalize(items: &mut Vec<Item>) {
    let mut i = items.len();
    while i > 0 {
        i -= 1;
        let null = items.get(i).is_some_and(Item::is_null);
        if !null {
            continue;
        }
        let remove = match items.get(i + 1) {
            None | Some(Item::Str(_)) => true,
            Some(Item::List(sub)) => {
                matches!(sub.first(), Some(Item::Combo(..) | Item::Str(_)))
            }
            Some(_) => false,
        };
        if remove {
            items.remove(i);
        }
    }
    if items.len() == 1
        && let Some(Item::List(_)) = items.first()
        && let Some(Item::List(sub)) = items.pop()
    {
        *items = sub;
    }
}

/// Maven's `parseItem`: a token is a combination, a number or a qualifier.
fn parse_item(combination: bool, digit: bool, token: &str) -> Item {
    if combination {
        let glued: String = token.chars().filter(|&c| c != '-').collect();
        // The number starts at the first decimal digit Java's `Character.isDigit(char)`
        // sees (any script, BMP only); with none, Java parses the whole token as a number.
        let split = glued
            .char_indices()
            .find(|&(_, c)| u32::from(c) <= 0xFFFF && super::decimal_digit(c).is_some())
            .map_or(0, |(i, _)| i);
        let (letters, digits) = glued.split_at(split);
        return match Num::parse(digits) {
            Some(n) => Item::Combo(Qualifier::new(letters, true), n),
            // Java throws here (`x-٨y`); keep the token as a plain qualifier instead.
            None => Item::Str(Qualifier::new(&glued, false)),
        };
    }
    if digit {
        // Digit tokens are ASCII digits only, which `Num::parse` always accepts.
        return Num::parse(token)
            .map_or_else(|| Item::Str(Qualifier::new(token, false)), Item::Num);
    }
    Item::Str(Qualifier::new(token, false))
}

impl MavenVersion {
    /// Parses any string the way Maven does. Never fails; see the module notes for the few
    /// strings Maven itself refuses.
    pub fn parse(text: &str) -> MavenVersion {
        let text = super::bounded(text);
        let lower = text.to_lowercase();
        let chars: Vec<char> = lower.chars().collect();
        // Each list opened by `-` or a digit/letter transition is the last item of the one
        // before it, so the nesting is a chain: `levels[k + 1]` goes at the end of
        // `levels[k]` once both are complete.
        let mut levels: Vec<Vec<Item>> = vec![Vec::new()];
        let mut is_digit = false;
        let mut is_combination = false;
        let mut start = 0usize;
        let token = |from: usize, to: usize| -> String {
            chars.get(from..to).unwrap_or_default().iter().collect()
        };
        // Bounded: `chars` holds at most MAX_VERSION_LEN characters.
        for (i, &c) in chars.iter().enumerate() {
            let level_empty = levels.last().is_none_or(Vec::is_empty);
            if c == '.' {
                let item = if i == start {
                    Item::Num(Num::Int(0))
                } else {
                    parse_item(is_combination, is_digit, &token(start, i))
                };
                push(&mut levels, item);
                is_combination = false;
                start = i + 1;
            } else if c == '-' {
                if i == start {
                    push(&mut levels, Item::Num(Num::Int(0)));
                } else {
                    // `X-1` is read as `X1`.
                    let next_is_digit = chars.get(i + 1).is_some_and(|&n| {
                        u32::from(n) <= 0xFFFF && super::decimal_digit(n).is_some()
                    });
                    if !is_digit && next_is_digit {
                        is_combination = true;
                        continue;
                    }
                    push(
                        &mut levels,
                        parse_item(is_combination, is_digit, &token(start, i)),
                    );
                }
                start = i + 1;
                if !levels.last().is_none_or(Vec::is_empty) {
                    levels.push(Vec::new());
                }
                is_combination = false;
            } else if c.is_ascii_digit() {
                if !is_digit && i > start {
                    // `X1`
                    is_combination = true;
                    if !level_empty {
                        levels.push(Vec::new());
                    }
                }
                is_digit = true;
            } else {
                if is_digit && i > start {
                    push(
                        &mut levels,
                        parse_item(is_combination, true, &token(start, i)),
                    );
                    start = i;
                    levels.push(Vec::new());
                    is_combination = false;
                }
                is_digit = false;
            }
        }
        if chars.len() > start {
            // `1.0.0.X1 < 1.0.0-X2`: a trailing `.X` counts as `-X`.
            if !is_digit && !levels.last().is_none_or(Vec::is_empty) {
                levels.push(Vec::new());
            }
            push(
                &mut levels,
                parse_item(is_combination, is_digit, &token(start, chars.len())),
            );
        }
        let mut child: Option<Vec<Item>> = None;
        while let Some(mut level) = levels.pop() {
            if let Some(done) = child.take() {
                level.push(Item::List(done));
            }
            normalize(&mut level);
            child = Some(level);
        }
        MavenVersion {
            text: text.into(),
            items: child.unwrap_or_default(),
        }
    }

    /// Maven's `getCanonical()`: the normalised form (`1.0.0` → `1`, `1-ga` → `1-ga`, ...).
    pub fn canonical(&self) -> String {
        let mut out = String::new();
        write_list(&self.items, &mut out);
        out
    }

    /// Maven's `equals`: the same items after normalisation, which is stricter than equal
    /// order (`1-ga` orders as `1` but is not `equals` to it).
    pub fn same_items(&self, other: &MavenVersion) -> bool {
        self.items == other.items
    }

    /// The version text as given.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

fn push(levels: &mut [Vec<Item>], item: Item) {
    if let Some(level) = levels.last_mut() {
        level.push(item);
    }
}

impl Ord for MavenVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        cmp_lists(&self.items, &other.items)
    }
}

impl PartialOrd for MavenVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for MavenVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for MavenVersion {}

impl fmt::Display for MavenVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by fuzzing: with leading zeros that are not ASCII (`᥆` is a Limbu zero; Java
    /// strips only '0'), a long zero and a big-integer zero ordered by type, and the order
    /// was not transitive: x < y and y == z, yet x > z. By value it is.
    #[test]
    fn numbers_with_non_ascii_leading_zeros_order_by_value() {
        let x = MavenVersion::parse("\u{1946}00000000000*");
        let y = MavenVersion::parse("\u{1946}0000000000000000000000");
        let z = MavenVersion::parse("");
        assert_eq!(y.cmp(&z), Ordering::Equal);
        assert_eq!(x.cmp(&z), Ordering::Greater);
        assert_eq!(x.cmp(&y), Ordering::Greater);
        // Ten characters make a long, two an int: by type 1 would be above 9.
        assert_eq!(
            MavenVersion::parse("\u{1946}000000001").cmp(&MavenVersion::parse("\u{1946}9")),
            Ordering::Less
        );
    }

    use crate::vuln::{fixture, scalibr_pairs};
    use proptest::prelude::*;
    use serde_json::Value;

    fn cmp(a: &str, b: &str) -> Ordering {
        MavenVersion::parse(a).cmp(&MavenVersion::parse(b))
    }

    fn sign(o: Ordering) -> i64 {
        match o {
            Ordering::Less => -1,
            Ordering::Equal => 0,
            Ordering::Greater => 1,
        }
    }

    fn vectors() -> Value {
        serde_json::from_str(&fixture("versions/maven-comparableversion-vectors.json")).unwrap()
    }

    #[test]
    fn all_976_comparableversion_cases() {
        let v = vectors();
        let cases = v["cases"].as_array().unwrap();
        let mut passed = 0;
        let mut failures = Vec::new();
        let mut differs_from_387 = 0;
        for case in cases {
            let (a, b) = (case["a"].as_str().unwrap(), case["b"].as_str().unwrap());
            let want = case["maven4_compare"].as_i64().unwrap();
            let got = sign(cmp(a, b));
            // Antisymmetry on every vector, not only the stated direction.
            let back = sign(cmp(b, a));
            let equals = MavenVersion::parse(a).same_items(&MavenVersion::parse(b));
            if got == want && back == -want && equals == case["maven4_equals"].as_bool().unwrap() {
                passed += 1;
            } else {
                failures.push(format!(
                    "{a} vs {b}: got {got} (equals {equals}), want {case}"
                ));
            }
            if case["maven387_compare"].as_i64().unwrap() != want {
                differs_from_387 += 1;
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
        assert_eq!(passed, 976);
        assert_eq!(differs_from_387, 4, "the 4 documented 3.8.7 differences");
    }

    #[test]
    fn sorted_lists_ascend_and_canonical_forms() {
        let v = vectors();
        for (name, list) in v["sorted_lists"].as_object().unwrap() {
            let parsed: Vec<MavenVersion> = list
                .as_array()
                .unwrap()
                .iter()
                .map(|s| MavenVersion::parse(s.as_str().unwrap()))
                .collect();
            for pair in parsed.windows(2) {
                assert!(pair[0] < pair[1], "{name}: {} < {}", pair[0], pair[1]);
            }
        }
        for pair in v["canonical"].as_array().unwrap() {
            let (text, want) = (pair[0].as_str().unwrap(), pair[1].as_str().unwrap());
            assert_eq!(
                MavenVersion::parse(text).canonical(),
                want,
                "canonical of {text}"
            );
        }
        assert_eq!(MavenVersion::parse("1.0.0").canonical(), "1");
        assert_eq!(MavenVersion::parse("1.0-RC1").canonical(), "1-rc1");
    }

    /// The (a, op, b) lines of the disagreement file, with what master answers for each.
    fn disagreements() -> Vec<(String, String, String, i64)> {
        let v: Value =
            serde_json::from_str(&fixture("versions/maven-ordering-disagreements.json")).unwrap();
        v["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["a"].as_str().unwrap().to_string(),
                    r["op_osv_scalibr"].as_str().unwrap().to_string(),
                    r["b"].as_str().unwrap().to_string(),
                    r["maven4_compare"].as_i64().unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn osv_scalibr_pairs_minus_the_documented_disagreements() {
        let skip: Vec<(String, String, String)> = disagreements()
            .into_iter()
            .map(|(a, op, b, _)| (a, op, b))
            .collect();
        let mut counts = Vec::new();
        for file in ["maven-versions.txt", "maven-versions-generated.txt"] {
            let pairs = scalibr_pairs(&format!("versions/osv-scalibr/{file}"));
            let (mut passed, mut skipped) = (0, 0);
            for (a, op, b) in &pairs {
                let op_text = match op {
                    Ordering::Less => "<",
                    Ordering::Equal => "=",
                    Ordering::Greater => ">",
                };
                if skip
                    .iter()
                    .any(|(x, o, y)| x == a && o == op_text && y == b)
                {
                    skipped += 1;
                    continue;
                }
                assert_eq!(cmp(a, b), *op, "{file}: {a} {op_text} {b}");
                assert_eq!(cmp(b, a), op.reverse(), "{file}: {b} vs {a}");
                passed += 1;
            }
            counts.push((file, pairs.len(), passed, skipped));
        }
        assert_eq!(
            counts,
            vec![
                ("maven-versions.txt", 102, 100, 2),
                ("maven-versions-generated.txt", 14752, 14725, 27),
            ]
        );
    }

    /// The 29 disagreement rows: 24 give what apache/maven 540897d3 gave; the other 5 are
    /// where master's transitivity fix (MNG-6568) changed the answer, and master now agrees
    /// with osv-scalibr on them.
    #[test]
    fn disagreement_rows_against_maven() {
        let changed_by_mng_6568 = [
            ("4.0.16.Final", "4.0.16.Final-jason1"),
            ("4.0.17.Final", "4.0.17.Final-wildfly-1"),
            ("1.1.3.RELEASE", "1.1.3.RELEASE-A"),
            ("7.4.3.20", "7.4.3.20-ga20"),
            ("7.4.3.21", "7.4.3.21-ga21"),
        ];
        let rows = disagreements();
        assert_eq!(rows.len(), 29);
        let mut same = 0;
        for (a, op, b, maven4) in rows {
            let got = sign(cmp(&a, &b));
            if changed_by_mng_6568.contains(&(a.as_str(), b.as_str())) {
                assert_eq!(op, "<");
                assert_eq!(
                    got, -1,
                    "{a} vs {b}: master orders these as osv-scalibr does"
                );
                assert_ne!(got, maven4);
            } else {
                assert_eq!(got, maven4, "{a} vs {b}");
                same += 1;
            }
        }
        assert_eq!(same, 24);
    }

    #[test]
    fn qualifier_order_and_cycles_maven_fixed() {
        let ascending = [
            "1-alpha",
            "1-beta",
            "1-milestone",
            "1-rc",
            "1-snapshot",
            "1",
            "1-sp",
            "1-abc",
        ];
        for pair in ascending.windows(2) {
            assert_eq!(cmp(pair[0], pair[1]), Ordering::Less, "{pair:?}");
        }
        assert_eq!(cmp("1-cr", "1-rc"), Ordering::Equal);
        assert_eq!(cmp("1-ga", "1"), Ordering::Equal);
        assert_eq!(cmp("1-final", "1-release"), Ordering::Equal);
        // MNG-6568: 0-alpha < 0 < x, no cycle.
        assert_eq!(cmp("0-alpha", "0"), Ordering::Less);
        assert_eq!(cmp("0", "x"), Ordering::Less);
        assert_eq!(cmp("0-alpha", "x"), Ordering::Less);
        // apache/maven#12942: 1 < 1-ga1 < 1-ga2.
        assert_eq!(cmp("1", "1-ga1"), Ordering::Less);
        assert_eq!(cmp("1-ga1", "1-ga2"), Ordering::Less);
        // The cycle of the older code: 1.foo-bar > 1 > 1-alpha must not come back round.
        assert_eq!(cmp("1.foo-bar", "1"), Ordering::Greater);
        assert_eq!(cmp("1", "1-alpha"), Ordering::Greater);
        assert_eq!(cmp("1-alpha", "1.foo-bar"), Ordering::Less);
    }

    #[test]
    fn strings_java_refuses_still_parse() {
        // Java throws NumberFormatException for these; they get a fixed place instead.
        for odd in ["x-\u{668}y", "a\u{668}b1", "1-\u{668}\u{1D7CE}", ""] {
            let v = MavenVersion::parse(odd);
            assert_eq!(v.cmp(&v), Ordering::Equal);
        }
        // Digits of other scripts count in a combination: `x-٨` is `x8`.
        assert_eq!(cmp("1-x-\u{668}", "1-x8"), Ordering::Equal);
        let long = format!("1.{}", "-a".repeat(10_000));
        let v = MavenVersion::parse(&long);
        assert!(v.as_str().len() <= crate::vuln::MAX_VERSION_LEN);
    }

    fn version_text() -> impl Strategy<Value = String> {
        let token = prop_oneof![
            Just("0".to_string()),
            Just("1".to_string()),
            Just("2".to_string()),
            Just("10".to_string()),
            Just("1234567890".to_string()),
            Just("12345678901234567890".to_string()),
            Just(".".to_string()),
            Just("-".to_string()),
            Just("_".to_string()),
            Just("a".to_string()),
            Just("alpha".to_string()),
            Just("b".to_string()),
            Just("m".to_string()),
            Just("rc".to_string()),
            Just("cr".to_string()),
            Just("snapshot".to_string()),
            Just("ga".to_string()),
            Just("final".to_string()),
            Just("release".to_string()),
            Just("sp".to_string()),
            Just("x".to_string()),
            Just("foo".to_string()),
            Just("\u{668}".to_string()),
            "[a-z0-9.-]{1,3}",
        ];
        proptest::collection::vec(token, 0..8).prop_map(|t| t.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        #[test]
        fn order_is_total(a in version_text(), b in version_text(), c in version_text()) {
            let (x, y, z) = (MavenVersion::parse(&a), MavenVersion::parse(&b), MavenVersion::parse(&c));
            prop_assert_eq!(x.cmp(&y), y.cmp(&x).reverse());
            prop_assert_eq!(x.cmp(&x), Ordering::Equal);
            if x <= y && y <= z {
                prop_assert!(x <= z, "{} <= {} <= {} but not {} <= {}", a, b, c, a, c);
            }
            if x == y && y == z {
                prop_assert!(x == z);
            }
            // Sorting must agree with the pairwise order (and, being total, never panics).
            let mut all = [x.clone(), y.clone(), z.clone()];
            all.sort();
            prop_assert!(all[0] <= all[1] && all[1] <= all[2]);
        }

        #[test]
        fn parsing_any_text_never_panics(text in "\\PC{0,40}") {
            let v = MavenVersion::parse(&text);
            let _ = v.canonical();
            prop_assert_eq!(v.cmp(&v), Ordering::Equal);
        }
    }
}
