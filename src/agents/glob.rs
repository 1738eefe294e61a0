//! `*` wildcard patterns over agent names and tags, as the Agents filter and custom-source
//! rules use them: `*` stands for any run of characters (also none), everything else matches
//! itself, and case does not matter (`Orders-*` matches `orders-eu-1`).
//!
//! Pure and bounded: patterns and names are at most a few hundred characters (the protocol's
//! limits), and matching is the classic greedy walk that backtracks only to the last `*`, so
//! it costs at most pattern length × text length steps and never recurses.

/// A compiled pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    /// The pattern, lower-cased character by character (the text is folded the same way).
    chars: Vec<char>,
}

/// Folds case the same way for patterns and texts, so that characters whose lower case is
/// several characters still compare equal to themselves.
fn fold(s: &str) -> Vec<char> {
    s.chars().flat_map(char::to_lowercase).collect()
}

impl Glob {
    /// Compiles `pattern` (any string; validation of what a field allows is the caller's).
    pub fn new(pattern: &str) -> Glob {
        Glob {
            chars: fold(pattern),
        }
    }

    /// Whether the whole of `text` matches.
    pub fn matches(&self, text: &str) -> bool {
        let text = fold(text);
        let (mut p, mut t) = (0usize, 0usize);
        // Where the last `*` was, and how much text it has swallowed so far.
        let mut star: Option<(usize, usize)> = None;
        while t < text.len() {
            match (self.chars.get(p), text.get(t)) {
                (Some('*'), _) => {
                    star = Some((p, t));
                    p += 1;
                }
                (Some(a), Some(b)) if a == b => {
                    p += 1;
                    t += 1;
                }
                _ => match star {
                    // Let the last `*` take one more character and try again after it.
                    Some((sp, st)) => {
                        p = sp + 1;
                        t = st + 1;
                        star = Some((sp, st + 1));
                    }
                    None => return false,
                },
            }
        }
        self.chars
            .get(p..)
            .is_some_and(|rest| rest.iter().all(|c| *c == '*'))
    }

    /// Whether the pattern is only `*`s (matches everything).
    pub fn matches_everything(&self) -> bool {
        self.chars.iter().all(|c| *c == '*')
    }
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

    #[test]
    fn stars_and_case() {
        let m = |p: &str, t: &str| Glob::new(p).matches(t);
        assert!(m("orders", "orders"));
        assert!(m("ORDERS", "orders"));
        assert!(!m("orders", "orders-1"));
        assert!(m("orders*", "orders-1"));
        assert!(m("orders*", "orders"));
        assert!(m("*-eu-*", "orders-eu-1"));
        assert!(!m("*-eu-*", "orders-us-1"));
        assert!(m("*", ""));
        assert!(m("", ""));
        assert!(!m("", "x"));
        assert!(m("a*b*c", "aXXbYYc"));
        assert!(!m("a*b*c", "aXXbYY"));
        assert!(m("a**c", "abc"));
        assert!(m("*a", "aaaa"));
        assert!(!m("*ab", "aaaa"));
        assert!(m("team/*:prod", "team/payments:prod"));
        assert!(m("zoë*", "ZOË-1"));
        assert!(Glob::new("**").matches_everything());
        assert!(!Glob::new("*a").matches_everything());
    }

    #[test]
    fn long_inputs_finish_quickly() {
        let text = "a".repeat(2_000);
        let pattern = format!("{}b", "*a".repeat(60));
        let started = std::time::Instant::now();
        assert!(!Glob::new(&pattern).matches(&text));
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
    }
}
