//! Wildcard patterns (`*` any run, `?` one character) with IAM policy variables resolved into
//! literal text, so that a `*` coming from `${*}` or from a context value matches only itself.

use crate::context::Context;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Literal(char),
    AnyRun,
    AnyOne,
}

/// A pattern ready to match. `None` from [`Pattern::compile`] means a variable was absent and
/// had no default: the element it sits in then matches nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern(Vec<Token>);

impl Pattern {
    /// Compiles `text`, resolving `${key}`, `${key, 'default'}`, `${*}`, `${?}` and `${$}` from
    /// `context` when `variables` is true (Version 2012-10-17).
    pub fn compile(text: &str, context: Option<&Context>, variables: bool) -> Option<Pattern> {
        let mut tokens = Vec::with_capacity(text.len());
        let mut rest = text;
        while let Some(c) = rest.chars().next() {
            if variables
                && rest.starts_with("${")
                && let Some(end) = rest.find('}')
            {
                let inner = rest.get(2..end).unwrap_or_default();
                let value = resolve(inner, context)?;
                tokens.extend(value.chars().map(Token::Literal));
                rest = rest.get(end + 1..).unwrap_or_default();
                continue;
            }
            tokens.push(match c {
                '*' => Token::AnyRun,
                '?' => Token::AnyOne,
                other => Token::Literal(other),
            });
            rest = rest.get(c.len_utf8()..).unwrap_or_default();
        }
        Some(Pattern(tokens))
    }

    /// A pattern with no wildcards: every character literal (after variables).
    pub fn compile_literal(text: &str, context: Option<&Context>, variables: bool) -> Option<Pattern> {
        let mut p = Pattern::compile(text, context, variables)?;
        for t in &mut p.0 {
            *t = match t {
                Token::AnyRun => Token::Literal('*'),
                Token::AnyOne => Token::Literal('?'),
                Token::Literal(c) => Token::Literal(*c),
            };
        }
        Some(p)
    }

    /// Matches the whole of `value`; `ignore_case` folds ASCII case on both sides.
    pub fn matches(&self, value: &str, ignore_case: bool) -> bool {
        let text: Vec<char> = value.chars().collect();
        let eq = |a: char, b: char| if ignore_case { a.eq_ignore_ascii_case(&b) } else { a == b };
        // Greedy matching with one backtrack point: linear in practice, O(n·m) at worst.
        let (mut p, mut t) = (0usize, 0usize);
        let mut star: Option<(usize, usize)> = None;
        while t < text.len() {
            match (self.0.get(p), text.get(t)) {
                (Some(Token::AnyRun), _) => {
                    star = Some((p, t));
                    p += 1;
                }
                (Some(Token::AnyOne), Some(_)) => {
                    p += 1;
                    t += 1;
                }
                (Some(Token::Literal(a)), Some(b)) if eq(*a, *b) => {
                    p += 1;
                    t += 1;
                }
                _ => match star {
                    Some((sp, st)) => {
                        p = sp + 1;
                        t = st + 1;
                        star = Some((sp, st + 1));
                    }
                    None => return false,
                },
            }
        }
        self.0.get(p..).unwrap_or_default().iter().all(|t| *t == Token::AnyRun)
    }

    /// The literal text, when the pattern has no wildcards.
    pub fn as_literal(&self) -> Option<String> {
        self.0.iter().map(|t| if let Token::Literal(c) = t { Some(*c) } else { None }).collect()
    }
}

/// `${key}` / `${key, 'default'}` / `${*}` / `${?}` / `${$}`. Multi-valued keys do not
/// substitute (AWS: "the variable … must be single-valued").
fn resolve(inner: &str, context: Option<&Context>) -> Option<String> {
    match inner.trim() {
        "*" => return Some("*".into()),
        "?" => return Some("?".into()),
        "$" => return Some("$".into()),
        _ => {}
    }
    let (key, default) = match inner.split_once(',') {
        Some((k, d)) => {
            let d = d.trim();
            let d = d.strip_prefix('\'').and_then(|d| d.strip_suffix('\'')).unwrap_or(d);
            (k.trim(), Some(d.to_owned()))
        }
        None => (inner.trim(), None),
    };
    let found = context.and_then(|c| c.get(key)).and_then(|values| match values {
        [one] => Some(one.as_text()),
        _ => None,
    });
    found.or(default)
}

/// Glob match without variables (actions, principals).
pub fn glob(pattern: &str, value: &str, ignore_case: bool) -> bool {
    Pattern::compile(pattern, None, false).is_some_and(|p| p.matches(value, ignore_case))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::Value;

    #[test]
    fn wildcards() {
        assert!(glob("iam:List*", "iam:ListRoles", false));
        assert!(glob("iam:list*", "IAM:ListRoles", true));
        assert!(!glob("iam:List*", "iam:GetRole", false));
        assert!(glob("a?c*", "abcdef", false));
        assert!(glob("*", "", false));
        assert!(!glob("a?", "a", false));
        assert!(glob("*a*b*c*", "xxaxxbxxcxx", false));
        assert!(!glob("*a*b*c", "xxaxxbxxcxx", false));
    }

    #[test]
    fn variables_are_literal() {
        let mut ctx = Context::default();
        ctx.insert("aws:userid", vec![Value::String("AROA1:al*ce".into())]);
        let p = Pattern::compile("user/${aws:userid}", Some(&ctx), true).unwrap();
        assert!(p.matches("user/AROA1:al*ce", false));
        assert!(!p.matches("user/AROA1:alice", false), "a * from a value is literal");
        let p = Pattern::compile("a${*}b", None, true).unwrap();
        assert!(p.matches("a*b", false) && !p.matches("axb", false));
        assert!(Pattern::compile("user/${aws:username}", Some(&ctx), true).is_none());
        let p = Pattern::compile("user/${aws:username, 'guest'}", Some(&ctx), true).unwrap();
        assert_eq!(p.as_literal().as_deref(), Some("user/guest"));
        let p = Pattern::compile("user/${aws:username}", None, false).unwrap();
        assert_eq!(p.as_literal().as_deref(), Some("user/${aws:username}"), "Version 2008: no variables");
    }
}
