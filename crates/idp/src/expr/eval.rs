//! Evaluation over one person. Every step is bounded by the limits in the module docs.

use super::parser::{Expr, Function, Node};
use super::{ExprError, MAX_LIST, MAX_STRING, Value};

/// The person an expression is evaluated for.
pub trait Subject {
    /// `user.<name>`: a built-in or custom profile attribute (`Value::Null` when unset).
    fn attribute(&self, name: &str) -> Value;
    /// The person's groups as (name, source).
    fn groups(&self) -> Vec<(&str, &str)>;
}

pub(super) fn evaluate(expr: &Expr, subject: &dyn Subject) -> Result<Value, ExprError> {
    let value = match &expr.node {
        Node::Literal(v) => v.clone(),
        Node::UserAttribute(name) => subject.attribute(name),
        Node::Concat(a, b) => {
            let mut text = text_of(evaluate(a, subject)?);
            text.push_str(&text_of(evaluate(b, subject)?));
            Value::String(text)
        }
        Node::Equals { left, right, negated } => {
            let equal = evaluate(left, subject)? == evaluate(right, subject)?;
            Value::Boolean(equal != *negated)
        }
        Node::Not(a) => Value::Boolean(!truthy(&evaluate(a, subject)?)),
        Node::And(a, b) => Value::Boolean(truthy(&evaluate(a, subject)?) && truthy(&evaluate(b, subject)?)),
        Node::Or(a, b) => Value::Boolean(truthy(&evaluate(a, subject)?) || truthy(&evaluate(b, subject)?)),
        Node::Conditional(c, then, otherwise) => {
            if truthy(&evaluate(c, subject)?) {
                evaluate(then, subject)?
            } else {
                evaluate(otherwise, subject)?
            }
        }
        Node::Call(function, args) => {
            let mut values = Vec::with_capacity(args.len());
            for arg in args {
                values.push(evaluate(arg, subject)?);
            }
            call(function, values, subject).map_err(|TooLarge| ExprError::at(expr.column, SIZE_LIMIT))?
        }
    };
    check_size(&value, expr.column)?;
    Ok(value)
}

fn check_size(value: &Value, column: usize) -> Result<(), ExprError> {
    let too_big = match value {
        Value::String(s) => s.len() > MAX_STRING,
        Value::List(items) => items.len() > MAX_LIST || items.iter().map(String::len).sum::<usize>() > MAX_STRING * 4,
        _ => false,
    };
    if too_big {
        return Err(ExprError::at(column, SIZE_LIMIT));
    }
    Ok(())
}

fn truthy(value: &Value) -> bool {
    matches!(value, Value::Boolean(true))
}

fn text_of(value: Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s,
        Value::Boolean(b) => b.to_string(),
        Value::Integer(i) => i.to_string(),
        Value::List(items) => items.join(","),
    }
}

const SIZE_LIMIT: &str = "the value grew past the expression size limit";

/// A function's result would pass the size limit; found before it is built.
struct TooLarge;

fn call(function: &Function, args: Vec<Value>, subject: &dyn Subject) -> Result<Value, TooLarge> {
    let mut args = std::collections::VecDeque::from(args);
    let mut next = || args.pop_front().unwrap_or(Value::Null);
    // String functions of a null give null, as a missing attribute should not invent text.
    macro_rules! text_or_null {
        ($value:expr) => {
            match $value {
                Value::Null => return Ok(Value::Null),
                other => text_of(other),
            }
        };
    }
    Ok(match function {
        Function::ToLowerCase => Value::String(text_or_null!(next()).to_lowercase()),
        Function::ToUpperCase => Value::String(text_or_null!(next()).to_uppercase()),
        Function::SubstringBefore => {
            let s = text_or_null!(next());
            let sep = text_of(next());
            Value::String(s.split_once(sep.as_str()).map(|(before, _)| before.to_owned()).unwrap_or(s))
        }
        Function::SubstringAfter => {
            let s = text_or_null!(next());
            let sep = text_of(next());
            Value::String(s.split_once(sep.as_str()).map(|(_, after)| after.to_owned()).unwrap_or_default())
        }
        Function::Replace(pattern) => {
            let s = text_or_null!(next());
            let _pattern_literal = next();
            let replacement = text_of(next());
            Value::String(bounded_replace(pattern, &s, &replacement)?)
        }
        Function::Len => Value::Integer(i64::try_from(text_or_null!(next()).chars().count()).unwrap_or(i64::MAX)),
        Function::StringContains => {
            let s = text_of(next());
            let part = text_of(next());
            Value::Boolean(s.contains(&part))
        }
        Function::Join => {
            let sep = text_of(next());
            let parts: Vec<String> = args.into_iter().map(text_of).collect();
            // Measured before it is built, as for replace: many parts and a long separator.
            let length = parts.iter().map(String::len).sum::<usize>() + sep.len() * parts.len().saturating_sub(1);
            if length > MAX_STRING {
                return Err(TooLarge);
            }
            Value::String(parts.join(&sep))
        }
        Function::ArraysContains => {
            let list = list_of(next());
            let item = text_of(next());
            Value::Boolean(list.contains(&item))
        }
        Function::ArraysSize => Value::Integer(i64::try_from(list_of(next()).len()).unwrap_or(i64::MAX)),
        Function::ArraysIsEmpty => Value::Boolean(list_of(next()).is_empty()),
        Function::ArraysToCsvString => Value::String(list_of(next()).join(",")),
        Function::IsMemberOfGroupName => {
            let name = text_of(next());
            Value::Boolean(subject.groups().iter().any(|(group, _)| *group == name))
        }
        Function::IsMemberOfAnyGroup => {
            let names: Vec<String> = args.into_iter().map(text_of).collect();
            Value::Boolean(subject.groups().iter().any(|(group, _)| names.iter().any(|n| n == group)))
        }
        Function::GroupsStartsWith | Function::GroupsContains => {
            let source = text_of(next());
            let needle = text_of(next());
            let limit = match next() {
                Value::Integer(n) => usize::try_from(n).unwrap_or(0),
                _ => 0,
            };
            let starts = matches!(function, Function::GroupsStartsWith);
            let names = subject
                .groups()
                .into_iter()
                .filter(|(_, group_source)| source.eq_ignore_ascii_case(group_source))
                .filter(|(name, _)| if starts { name.starts_with(&needle) } else { name.contains(&needle) })
                .take(limit)
                .map(|(name, _)| name.to_owned())
                .collect();
            Value::List(names)
        }
    })
}

/// Every match of `pattern` in `s` replaced by `replacement` (literally), refused as soon as the
/// result would pass the size limit: a pattern matching the empty string puts the replacement
/// between every two characters, which unbounded could be hundreds of megabytes.
fn bounded_replace(pattern: &regex::Regex, s: &str, replacement: &str) -> Result<String, TooLarge> {
    let mut out = String::new();
    let mut copied = 0;
    for found in pattern.find_iter(s) {
        let before = s.get(copied..found.start()).unwrap_or_default();
        if out.len() + before.len() + replacement.len() > MAX_STRING {
            return Err(TooLarge);
        }
        out.push_str(before);
        out.push_str(replacement);
        copied = found.end();
    }
    let rest = s.get(copied..).unwrap_or_default();
    if out.len() + rest.len() > MAX_STRING {
        return Err(TooLarge);
    }
    out.push_str(rest);
    Ok(out)
}

fn list_of(value: Value) -> Vec<String> {
    match value {
        Value::List(items) => items,
        Value::Null => Vec::new(),
        other => vec![text_of(other)],
    }
}

#[cfg(test)]
mod bounded {
    use super::*;

    #[test]
    fn replaces_like_the_regex_crate_and_refuses_before_passing_the_limit() {
        let pattern = regex::Regex::new("[.@]").unwrap();
        for s in ["alice@example.com", "", "..", "none"] {
            let expected = pattern.replace_all(s, regex::NoExpand("_$0")).into_owned();
            assert_eq!(bounded_replace(&pattern, s, "_$0").ok(), Some(expected), "{s}");
        }
        let empty = regex::Regex::new("").unwrap();
        assert_eq!(bounded_replace(&empty, "ab", "-").ok().as_deref(), Some("-a-b-"));
        let half = "y".repeat(MAX_STRING / 2);
        assert!(bounded_replace(&empty, "ab", &half).is_err(), "three copies pass the limit");
        assert!(bounded_replace(&pattern, &"x".repeat(MAX_STRING), "").is_ok(), "the limit itself is allowed");
        assert!(bounded_replace(&pattern, &"x".repeat(MAX_STRING + 1), "").is_err());
    }
}
