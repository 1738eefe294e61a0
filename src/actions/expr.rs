//! Conditions, watch expressions, log placeholders and metric values as users write them
//! (`order.total > 100 && user != null`), parsed on the appliance into the small tree the
//! agents evaluate (agents/PROTOCOL.md, "Expressions"). Field paths, literals and comparisons
//! only: no calls, no arithmetic, so evaluating one can never run application code.
//!
//! Grammar, loosest first:
//! `or := and ('||' and)*`, `and := not ('&&' not)*`, `not := '!' not | cmp`,
//! `cmp := primary (('=='|'!='|'<'|'<='|'>'|'>=') primary)?`,
//! `primary := '(' or ')' | number | string | 'true' | 'false' | 'null' | path`,
//! `path := name ('.' name)*`. Every error names its byte position, so the portal can point at
//! it. The limits are the protocol's: 64 nodes, depth 16, 16 names per path, 1,024 bytes per
//! string literal.

use serde_json::{Value, json};

/// Most nodes in one tree.
pub const MAX_NODES: usize = 64;
/// Deepest nesting of one tree.
pub const MAX_DEPTH: usize = 16;
/// Most names in one field path.
pub const MAX_PATH: usize = 16;
/// Longest string literal, in bytes.
pub const MAX_LITERAL_BYTES: usize = 1024;
/// Most operands of one `&&` / `||` node; longer chains nest.
const MAX_ARGS: usize = 16;
/// Deepest recursion of the parser (parentheses count, though they make no node).
const MAX_RECURSION: usize = 4 * (MAX_DEPTH + 16);
/// Longest expression text accepted at all.
pub const MAX_TEXT_BYTES: usize = 4096;

/// Why an expression was refused, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} at position {position}")]
pub struct ExprError {
    /// Byte offset into the text (0-based) where the problem was found.
    pub position: usize,
    /// What is wrong, for people.
    pub message: String,
}

fn err<T>(position: usize, message: impl Into<String>) -> Result<T, ExprError> {
    Err(ExprError {
        position,
        message: message.into(),
    })
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Name(String),
    Num(serde_json::Number),
    Str(String),
    Op(&'static str),
    LParen,
    RParen,
    Dot,
}

const OPERATORS: [&str; 9] = ["==", "!=", "<=", ">=", "&&", "||", "<", ">", "!"];

fn lex(text: &str) -> Result<Vec<(usize, Tok)>, ExprError> {
    if text.len() > MAX_TEXT_BYTES {
        return err(
            MAX_TEXT_BYTES,
            format!("longer than {MAX_TEXT_BYTES} bytes"),
        );
    }
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let start = i;
        match b {
            b' ' | b'\t' | b'\n' | b'\r' => i += 1,
            b'(' => {
                out.push((start, Tok::LParen));
                i += 1;
            }
            b')' => {
                out.push((start, Tok::RParen));
                i += 1;
            }
            b'.' if !bytes.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                out.push((start, Tok::Dot));
                i += 1;
            }
            b'"' | b'\'' => {
                let (s, next) = string(text, i)?;
                out.push((start, Tok::Str(s)));
                i = next;
            }
            b'0'..=b'9' | b'-' | b'.' => {
                let mut end = i + 1;
                while bytes
                    .get(end)
                    .is_some_and(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E'))
                    || (bytes.get(end).is_some_and(|c| matches!(c, b'+' | b'-'))
                        && bytes.get(end - 1).is_some_and(|c| matches!(c, b'e' | b'E')))
                {
                    end += 1;
                }
                let lexeme = text.get(start..end).unwrap_or_default();
                let number = lexeme
                    .parse::<i64>()
                    .ok()
                    .map(serde_json::Number::from)
                    .or_else(|| {
                        lexeme
                            .parse::<f64>()
                            .ok()
                            .and_then(serde_json::Number::from_f64)
                    });
                let Some(number) = number else {
                    return err(start, format!("{lexeme:?} is not a number"));
                };
                out.push((start, Tok::Num(number)));
                i = end;
            }
            c if c == b'_' || c == b'$' || c.is_ascii_alphabetic() => {
                let mut end = i + 1;
                while bytes
                    .get(end)
                    .is_some_and(|c| *c == b'_' || *c == b'$' || c.is_ascii_alphanumeric())
                {
                    end += 1;
                }
                out.push((
                    start,
                    Tok::Name(text.get(start..end).unwrap_or_default().into()),
                ));
                i = end;
            }
            _ => {
                let rest = text.get(i..).unwrap_or_default();
                let Some(op) = OPERATORS.iter().find(|op| rest.starts_with(**op)) else {
                    let shown = rest.chars().next().unwrap_or(' ');
                    return err(
                        start,
                        match shown {
                            '=' => "'=' assigns; compare with '=='".to_string(),
                            '&' | '|' => format!("'{shown}' alone: use '{shown}{shown}'"),
                            '+' | '*' | '/' | '%' => {
                                "arithmetic is not allowed: field paths and comparisons only"
                                    .to_string()
                            }
                            _ => format!("unexpected {shown:?}"),
                        },
                    );
                };
                out.push((start, Tok::Op(op)));
                i += op.len();
            }
        }
    }
    Ok(out)
}

/// A quoted string from `at` (the quote); answers it and the position after the closing quote.
fn string(text: &str, at: usize) -> Result<(String, usize), ExprError> {
    let quote = text.as_bytes().get(at).copied().unwrap_or(b'"');
    let mut out = String::new();
    let mut chars = text.get(at + 1..).unwrap_or_default().char_indices();
    while let Some((off, c)) = chars.next() {
        let pos = at + 1 + off;
        match c {
            '\\' => match chars.next() {
                Some((_, 'n')) => out.push('\n'),
                Some((_, 't')) => out.push('\t'),
                Some((_, c @ ('\\' | '"' | '\''))) => out.push(c),
                Some((_, other)) => return err(pos, format!("unknown escape '\\{other}'")),
                None => return err(pos, "unterminated string"),
            },
            c if c as u32 == u32::from(quote) => {
                if out.len() > MAX_LITERAL_BYTES {
                    return err(
                        at,
                        format!("a string longer than {MAX_LITERAL_BYTES} bytes"),
                    );
                }
                return Ok((out, pos + 1));
            }
            c => out.push(c),
        }
    }
    err(at, "unterminated string")
}

struct Parser {
    toks: Vec<(usize, Tok)>,
    at: usize,
    end: usize,
    nodes: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.at).map(|(_, t)| t)
    }

    fn pos(&self) -> usize {
        self.toks.get(self.at).map_or(self.end, |(p, _)| *p)
    }

    /// Counts one tree node. `depth` is the parser's own recursion, bounded so that no input
    /// can exhaust the stack; the tree's depth is checked on the finished tree.
    fn node(&mut self, depth: usize) -> Result<(), ExprError> {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return err(self.pos(), format!("more than {MAX_NODES} parts"));
        }
        if depth > MAX_RECURSION {
            return err(self.pos(), "nested too deeply");
        }
        Ok(())
    }

    fn chain(&mut self, op: &'static str, depth: usize) -> Result<Value, ExprError> {
        let next = |p: &mut Parser| {
            if op == "||" {
                p.chain("&&", depth + 1)
            } else {
                p.not(depth + 1)
            }
        };
        let first = next(self)?;
        let mut args = vec![first];
        while self.peek() == Some(&Tok::Op(op)) {
            self.at += 1;
            args.push(next(self)?);
        }
        if args.len() == 1 {
            return Ok(args.pop().unwrap_or(Value::Null));
        }
        self.node(depth)?;
        // Longer chains than a node may hold nest to the left: `a && b && ...` keeps its
        // meaning, and the agents' per-node bound holds.
        let mut rest = args.split_off(args.len().min(MAX_ARGS));
        let mut tree = json!({"op": op, "args": args});
        while !rest.is_empty() {
            let tail = rest.split_off(rest.len().min(MAX_ARGS - 1));
            let mut group = vec![tree];
            group.extend(rest);
            rest = tail;
            self.node(depth)?;
            tree = json!({"op": op, "args": group});
        }
        Ok(tree)
    }

    fn not(&mut self, depth: usize) -> Result<Value, ExprError> {
        if self.peek() == Some(&Tok::Op("!")) {
            self.at += 1;
            self.node(depth)?;
            let inner = self.not(depth + 1)?;
            return Ok(json!({"op": "!", "args": [inner]}));
        }
        self.cmp(depth)
    }

    fn cmp(&mut self, depth: usize) -> Result<Value, ExprError> {
        let left = self.primary(depth + 1)?;
        let Some(Tok::Op(op)) = self.peek().cloned() else {
            return Ok(left);
        };
        if !matches!(op, "==" | "!=" | "<" | "<=" | ">" | ">=") {
            return Ok(left);
        }
        self.at += 1;
        self.node(depth)?;
        let right = self.primary(depth + 1)?;
        if let Some(Tok::Op(again @ ("==" | "!=" | "<" | "<=" | ">" | ">="))) = self.peek() {
            return err(
                self.pos(),
                format!(
                    "comparisons do not chain: put '{again}' in its own comparison joined with '&&'"
                ),
            );
        }
        Ok(json!({"op": op, "args": [left, right]}))
    }

    fn primary(&mut self, depth: usize) -> Result<Value, ExprError> {
        let pos = self.pos();
        let Some(tok) = self.peek().cloned() else {
            return err(pos, "the expression ends too early");
        };
        self.at += 1;
        self.node(depth)?;
        match tok {
            Tok::LParen => {
                // The group itself is no node of the tree.
                self.nodes -= 1;
                let inner = self.chain("||", depth)?;
                if self.peek() != Some(&Tok::RParen) {
                    return err(self.pos(), "missing ')'");
                }
                self.at += 1;
                Ok(inner)
            }
            Tok::Num(n) => Ok(json!({"op": "lit", "value": n})),
            Tok::Str(s) => Ok(json!({"op": "lit", "value": s})),
            Tok::Name(name) if name == "true" || name == "false" => {
                Ok(json!({"op": "lit", "value": name == "true"}))
            }
            Tok::Name(name) if name == "null" => Ok(json!({"op": "null"})),
            Tok::Name(name) => {
                let mut path = vec![name];
                while self.peek() == Some(&Tok::Dot) {
                    self.at += 1;
                    let at = self.pos();
                    match self.peek().cloned() {
                        Some(Tok::Name(n)) => {
                            self.at += 1;
                            path.push(n);
                        }
                        _ => return err(at, "a field name must follow '.'"),
                    }
                    if path.len() > MAX_PATH {
                        return err(at, format!("a path of more than {MAX_PATH} names"));
                    }
                }
                if self.peek() == Some(&Tok::LParen) {
                    return err(
                        self.pos(),
                        "method calls are not allowed: field paths and comparisons only",
                    );
                }
                Ok(json!({"op": "path", "path": path}))
            }
            Tok::RParen => err(pos, "unexpected ')'"),
            Tok::Dot => err(pos, "unexpected '.'"),
            Tok::Op(op) => err(pos, format!("'{op}' needs something before it")),
        }
    }
}

/// Parses one expression into its protocol tree.
pub fn parse(text: &str) -> Result<Value, ExprError> {
    let toks = lex(text)?;
    if toks.is_empty() {
        return err(0, "the expression is empty");
    }
    let mut p = Parser {
        toks,
        at: 0,
        end: text.len(),
        nodes: 0,
    };
    let tree = p.chain("||", 1)?;
    if p.at < p.toks.len() {
        return err(p.pos(), "unexpected text after the expression");
    }
    if depth_of(&tree) > MAX_DEPTH {
        return err(0, format!("nested deeper than {MAX_DEPTH}"));
    }
    Ok(tree)
}

/// The depth of a tree: a leaf is 1.
fn depth_of(tree: &Value) -> usize {
    1 + tree["args"]
        .as_array()
        .map_or(0, |args| args.iter().map(depth_of).max().unwrap_or(0))
}

/// A log template's parts: literal text, and each `{expression}` parsed. `{{` and `}}` stand
/// for braces. Positions in errors count from the template's start.
pub fn parse_template(template: &str) -> Result<Vec<Value>, ExprError> {
    let mut parts = Vec::new();
    let mut literal = String::new();
    let mut chars = template.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '{' if chars.peek().map(|(_, c)| *c) == Some('{') => {
                chars.next();
                literal.push('{');
            }
            '}' if chars.peek().map(|(_, c)| *c) == Some('}') => {
                chars.next();
                literal.push('}');
            }
            '}' => return err(i, "'}' without '{' (write '}}' for a brace)"),
            '{' => {
                let Some(close) = template.get(i + 1..).and_then(|r| r.find('}')) else {
                    return err(i, "'{' without '}' (write '{{' for a brace)");
                };
                let inner = template.get(i + 1..i + 1 + close).unwrap_or_default();
                let tree = parse(inner).map_err(|e| ExprError {
                    position: i + 1 + e.position,
                    message: e.message,
                })?;
                if !literal.is_empty() {
                    parts.push(Value::String(std::mem::take(&mut literal)));
                }
                parts.push(tree);
                while chars.peek().is_some_and(|(j, _)| *j <= i + 1 + close) {
                    chars.next();
                }
            }
            c => literal.push(c),
        }
    }
    if !literal.is_empty() {
        parts.push(Value::String(literal));
    }
    Ok(parts)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn path(p: &[&str]) -> Value {
        json!({"op": "path", "path": p})
    }

    #[test]
    fn comparisons_paths_and_literals() {
        assert_eq!(
            parse("order.total > 100").unwrap(),
            json!({"op": ">", "args": [path(&["order", "total"]), {"op": "lit", "value": 100}]})
        );
        assert_eq!(
            parse("s != null").unwrap(),
            json!({"op": "!=", "args": [path(&["s"]), {"op": "null"}]})
        );
        assert_eq!(
            parse("name == 'bob \\'x\\''").unwrap()["args"][1],
            json!({"op": "lit", "value": "bob 'x'"})
        );
        assert_eq!(
            parse("ratio >= -1.5e2").unwrap()["args"][1],
            json!({"op": "lit", "value": -150.0})
        );
        assert_eq!(parse("this.ok").unwrap(), path(&["this", "ok"]));
        assert_eq!(parse("true").unwrap(), json!({"op": "lit", "value": true}));
    }

    #[test]
    fn precedence_and_grouping() {
        // && binds tighter than ||; ! tighter than both.
        let t = parse("a == 1 || b == 2 && !c").unwrap();
        assert_eq!(t["op"], "||");
        assert_eq!(t["args"][1]["op"], "&&");
        assert_eq!(
            t["args"][1]["args"][1],
            json!({"op": "!", "args": [path(&["c"])]})
        );
        let g = parse("(a == 1 || b == 2) && c").unwrap();
        assert_eq!(g["op"], "&&");
        assert_eq!(g["args"][0]["op"], "||");
        // A chain is one node with every operand.
        let chain = parse("a && b && c").unwrap();
        assert_eq!(chain["args"].as_array().unwrap().len(), 3);
    }

    #[test]
    fn long_chains_nest_within_the_node_bound() {
        let text = (0..40)
            .map(|i| format!("v{i}"))
            .collect::<Vec<_>>()
            .join(" && ");
        let t = parse(&text).unwrap();
        fn check(v: &Value, leaves: &mut usize) {
            if let Some(args) = v["args"].as_array() {
                assert!(args.len() <= MAX_ARGS);
                for a in args {
                    check(a, leaves);
                }
            } else {
                *leaves += 1;
            }
        }
        let mut leaves = 0;
        check(&t, &mut leaves);
        assert_eq!(leaves, 40);
    }

    #[test]
    fn errors_say_what_and_where() {
        let e = parse("a = 1").unwrap_err();
        assert_eq!(e.position, 2);
        assert!(e.message.contains("=="), "{e}");
        let e = parse("order.getTotal() > 1").unwrap_err();
        assert_eq!(e.position, 14);
        assert!(e.message.contains("method calls"));
        assert!(parse("a + 1").unwrap_err().message.contains("arithmetic"));
        assert_eq!(parse("a &&").unwrap_err().position, 4);
        assert!(parse("(a == 1").unwrap_err().message.contains("')'"));
        assert!(parse("a.").unwrap_err().message.contains("field name"));
        assert!(parse("1 < a < 3").unwrap_err().message.contains("chain"));
        assert!(parse("'open").unwrap_err().message.contains("unterminated"));
        assert!(parse("").unwrap_err().message.contains("empty"));
        assert!(parse("a b").unwrap_err().message.contains("after"));
        assert!(parse("a & b").unwrap_err().message.contains("&&"));
        assert!(parse("1.2.3 == a").is_err());
    }

    #[test]
    fn limits_hold() {
        let deep = format!("{}a{}", "(".repeat(12), ")".repeat(12));
        assert_eq!(
            parse(&deep).unwrap(),
            path(&["a"]),
            "parentheses are no nodes"
        );
        let deeper = format!("{}a{}", "(".repeat(2000), ")".repeat(2000));
        assert!(parse(&deeper).unwrap_err().message.contains("deeply"));
        let nots = format!("{}a", "!".repeat(20));
        assert!(parse(&nots).unwrap_err().message.contains("deeper"));
        let many = (0..70)
            .map(|i| format!("v{i}"))
            .collect::<Vec<_>>()
            .join(" || ");
        assert!(parse(&many).unwrap_err().message.contains("parts"));
        let long_path = (0..17)
            .map(|i| format!("f{i}"))
            .collect::<Vec<_>>()
            .join(".");
        assert!(parse(&long_path).unwrap_err().message.contains("path"));
        let big = format!("s == '{}'", "x".repeat(MAX_LITERAL_BYTES + 1));
        assert!(parse(&big).unwrap_err().message.contains("bytes"));
        assert!(parse(&"a".repeat(MAX_TEXT_BYTES + 1)).is_err());
    }

    #[test]
    fn templates() {
        assert_eq!(
            parse_template("order {order.id} for {user.name}!").unwrap(),
            vec![
                json!("order "),
                path(&["order", "id"]),
                json!(" for "),
                path(&["user", "name"]),
                json!("!")
            ]
        );
        assert_eq!(
            parse_template("{{literal}} {x}").unwrap(),
            vec![json!("{literal} "), path(&["x"])]
        );
        let e = parse_template("total {order.}").unwrap_err();
        assert_eq!(e.position, 13, "{e}");
        assert!(parse_template("open { a").is_err());
        assert!(parse_template("close } a").is_err());
        assert_eq!(parse_template("").unwrap(), Vec::<Value>::new());
    }

    #[test]
    fn never_panics_on_odd_input() {
        for text in [
            "\u{1F600} == 'é'",
            "'\\",
            "-",
            ".",
            "..",
            "((",
            "))",
            "!!",
            "a.b.",
            "1e",
            "'a\\q'",
            "\"x\" == \"",
            "é",
            "a == -",
            "9999999999999999999999 == a",
        ] {
            let _ = parse(text);
            let _ = parse_template(text);
        }
        assert_eq!(
            parse("'é' == x").unwrap()["args"][0],
            json!({"op": "lit", "value": "é"})
        );
    }
}
