//! Condition operators and their evaluation against the request context.

use std::net::IpAddr;

use crate::arn::arn_like;
use crate::context::{Context, Value};
use crate::pattern::Pattern;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Base {
    StringEquals,
    StringNotEquals,
    StringEqualsIgnoreCase,
    StringNotEqualsIgnoreCase,
    StringLike,
    StringNotLike,
    NumericEquals,
    NumericNotEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateNotEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    BinaryEquals,
    IpAddress,
    NotIpAddress,
    ArnEquals,
    ArnLike,
    ArnNotEquals,
    ArnNotLike,
    Null,
}

const BASES: &[(&str, Base)] = &[
    ("StringEquals", Base::StringEquals),
    ("StringNotEquals", Base::StringNotEquals),
    ("StringEqualsIgnoreCase", Base::StringEqualsIgnoreCase),
    ("StringNotEqualsIgnoreCase", Base::StringNotEqualsIgnoreCase),
    ("StringLike", Base::StringLike),
    ("StringNotLike", Base::StringNotLike),
    ("NumericEquals", Base::NumericEquals),
    ("NumericNotEquals", Base::NumericNotEquals),
    ("NumericLessThan", Base::NumericLessThan),
    ("NumericLessThanEquals", Base::NumericLessThanEquals),
    ("NumericGreaterThan", Base::NumericGreaterThan),
    ("NumericGreaterThanEquals", Base::NumericGreaterThanEquals),
    ("DateEquals", Base::DateEquals),
    ("DateNotEquals", Base::DateNotEquals),
    ("DateLessThan", Base::DateLessThan),
    ("DateLessThanEquals", Base::DateLessThanEquals),
    ("DateGreaterThan", Base::DateGreaterThan),
    ("DateGreaterThanEquals", Base::DateGreaterThanEquals),
    ("Bool", Base::Bool),
    ("BinaryEquals", Base::BinaryEquals),
    ("IpAddress", Base::IpAddress),
    ("NotIpAddress", Base::NotIpAddress),
    ("ArnEquals", Base::ArnEquals),
    ("ArnLike", Base::ArnLike),
    ("ArnNotEquals", Base::ArnNotEquals),
    ("ArnNotLike", Base::ArnNotLike),
    ("Null", Base::Null),
];

impl Base {
    /// Negated operators hold when no value matches, including when the key is absent.
    pub fn is_negated(self) -> bool {
        matches!(
            self,
            Base::StringNotEquals
                | Base::StringNotEqualsIgnoreCase
                | Base::StringNotLike
                | Base::NumericNotEquals
                | Base::DateNotEquals
                | Base::NotIpAddress
                | Base::ArnNotEquals
                | Base::ArnNotLike
        )
    }

    /// The positive form of a negated operator.
    fn positive(self) -> Base {
        match self {
            Base::StringNotEquals => Base::StringEquals,
            Base::StringNotEqualsIgnoreCase => Base::StringEqualsIgnoreCase,
            Base::StringNotLike => Base::StringLike,
            Base::NumericNotEquals => Base::NumericEquals,
            Base::DateNotEquals => Base::DateEquals,
            Base::NotIpAddress => Base::IpAddress,
            Base::ArnNotEquals => Base::ArnEquals,
            Base::ArnNotLike => Base::ArnLike,
            other => other,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetQualifier {
    None,
    ForAllValues,
    ForAnyValue,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operator {
    pub base: Base,
    pub set: SetQualifier,
    pub if_exists: bool,
}

impl Operator {
    /// As written in a policy: `[ForAllValues:|ForAnyValue:]Name[IfExists]`.
    pub fn name(self) -> String {
        let set = match self.set {
            SetQualifier::None => "",
            SetQualifier::ForAllValues => "ForAllValues:",
            SetQualifier::ForAnyValue => "ForAnyValue:",
        };
        let base = BASES.iter().find(|(_, b)| *b == self.base).map_or("?", |(n, _)| *n);
        format!("{set}{base}{}", if self.if_exists { "IfExists" } else { "" })
    }

    /// `[ForAllValues:|ForAnyValue:]Name[IfExists]`; operator names are case-sensitive.
    pub fn parse(text: &str) -> Option<Operator> {
        let (set, rest) = if let Some(r) = text.strip_prefix("ForAllValues:") {
            (SetQualifier::ForAllValues, r)
        } else if let Some(r) = text.strip_prefix("ForAnyValue:") {
            (SetQualifier::ForAnyValue, r)
        } else {
            (SetQualifier::None, text)
        };
        let (name, if_exists) = match rest.strip_suffix("IfExists") {
            Some(n) => (n, true),
            None => (rest, false),
        };
        let base = BASES.iter().find(|(n, _)| *n == name).map(|(_, b)| *b)?;
        if base == Base::Null && (if_exists || set != SetQualifier::None) {
            return None;
        }
        Some(Operator { base, set, if_exists })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub operator: Operator,
    /// As written; looked up case-insensitively.
    pub key: String,
    pub values: Vec<String>,
}

impl Condition {
    /// Whether the condition holds for `context`. `variables` enables `${…}` in values.
    pub fn holds(&self, context: &Context, variables: bool) -> bool {
        let op = self.operator;
        let found = context.get(&self.key).filter(|v| !v.is_empty());
        if op.base == Base::Null {
            let want_absent = self.values.iter().any(|v| v.eq_ignore_ascii_case("true"));
            return found.is_none() == want_absent;
        }
        let Some(request_values) = found else {
            return match op.set {
                SetQualifier::ForAllValues => true,
                SetQualifier::ForAnyValue => false,
                SetQualifier::None => op.if_exists || op.base.is_negated(),
            };
        };
        let positive = op.base.positive();
        let matches_any = |value: &Value| self.values.iter().any(|p| compare(positive, value, p, context, variables));
        // A negated operator matches a value that equals none of the policy values; a request
        // value that is not of the operator's type (an IP, a number, a date) matches neither way.
        let value_ok = |value: &Value| comparable(positive, value) && (matches_any(value) != op.base.is_negated());
        match op.set {
            SetQualifier::ForAllValues => request_values.iter().all(value_ok),
            SetQualifier::ForAnyValue => request_values.iter().any(value_ok),
            SetQualifier::None if op.base.is_negated() => request_values.iter().all(value_ok),
            SetQualifier::None => request_values.iter().any(value_ok),
        }
    }
}

fn compare(base: Base, value: &Value, policy: &str, context: &Context, variables: bool) -> bool {
    let text = value.as_text();
    match base {
        Base::StringEquals => literal(policy, context, variables).is_some_and(|p| p == text),
        Base::StringEqualsIgnoreCase => {
            literal(policy, context, variables).is_some_and(|p| p.to_lowercase() == text.to_lowercase())
        }
        Base::StringLike => Pattern::compile(policy, Some(context), variables).is_some_and(|p| p.matches(&text, false)),
        Base::NumericEquals
        | Base::NumericLessThan
        | Base::NumericLessThanEquals
        | Base::NumericGreaterThan
        | Base::NumericGreaterThanEquals => match (number(value), policy.trim().parse::<f64>().ok()) {
            (Some(a), Some(b)) => ordered(base, a.partial_cmp(&b)),
            _ => false,
        },
        Base::DateEquals
        | Base::DateLessThan
        | Base::DateLessThanEquals
        | Base::DateGreaterThan
        | Base::DateGreaterThanEquals => match (date(value), parse_date(policy)) {
            (Some(a), Some(b)) => ordered(date_as_numeric(base), a.partial_cmp(&b)),
            _ => false,
        },
        Base::Bool => match value {
            Value::Bool(b) => policy.eq_ignore_ascii_case(&b.to_string()),
            other => policy.eq_ignore_ascii_case(&other.as_text()),
        },
        Base::BinaryEquals => policy == text,
        Base::IpAddress => ip(value).is_some_and(|addr| in_cidr(addr, policy)),
        Base::ArnEquals | Base::ArnLike => arn_like_with_variables(policy, &text, context, variables),
        _ => false,
    }
}

fn comparable(base: Base, value: &Value) -> bool {
    match base {
        Base::IpAddress => ip(value).is_some(),
        Base::NumericEquals
        | Base::NumericLessThan
        | Base::NumericLessThanEquals
        | Base::NumericGreaterThan
        | Base::NumericGreaterThanEquals => number(value).is_some(),
        Base::DateEquals
        | Base::DateLessThan
        | Base::DateLessThanEquals
        | Base::DateGreaterThan
        | Base::DateGreaterThanEquals => date(value).is_some(),
        _ => true,
    }
}

fn arn_like_with_variables(policy: &str, value: &str, context: &Context, variables: bool) -> bool {
    if variables && policy.contains("${") {
        return value.splitn(6, ':').count() == 6
            && Pattern::compile(policy, Some(context), true).is_some_and(|p| p.matches(value, false));
    }
    arn_like(policy, value)
}

fn literal(policy: &str, context: &Context, variables: bool) -> Option<String> {
    Pattern::compile_literal(policy, Some(context), variables).and_then(|p| p.as_literal())
}

fn date_as_numeric(base: Base) -> Base {
    match base {
        Base::DateEquals => Base::NumericEquals,
        Base::DateLessThan => Base::NumericLessThan,
        Base::DateLessThanEquals => Base::NumericLessThanEquals,
        Base::DateGreaterThan => Base::NumericGreaterThan,
        _ => Base::NumericGreaterThanEquals,
    }
}

fn ordered(base: Base, ord: Option<std::cmp::Ordering>) -> bool {
    use std::cmp::Ordering::*;
    matches!(
        (base, ord),
        (Base::NumericEquals, Some(Equal))
            | (Base::NumericLessThan, Some(Less))
            | (Base::NumericLessThanEquals, Some(Less | Equal))
            | (Base::NumericGreaterThan, Some(Greater))
            | (Base::NumericGreaterThanEquals, Some(Greater | Equal))
    )
}

fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => Some(*n),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn date(value: &Value) -> Option<f64> {
    match value {
        Value::Date(d) => Some(*d as f64),
        Value::Number(n) => Some(*n),
        Value::String(s) => parse_date(s),
        _ => None,
    }
}

fn ip(value: &Value) -> Option<IpAddr> {
    match value {
        Value::Ip(ip) => Some(*ip),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// `a.b.c.d/n`, `x::y/n`, or a bare address (a /32 or /128).
fn in_cidr(addr: IpAddr, cidr: &str) -> bool {
    let (net, bits) = match cidr.trim().split_once('/') {
        Some((n, b)) => (n, b.parse::<u32>().ok()),
        None => (cidr.trim(), None),
    };
    match (addr, net.parse::<IpAddr>()) {
        (IpAddr::V4(a), Ok(IpAddr::V4(n))) => {
            let bits = bits.unwrap_or(32);
            bits <= 32 && mask_eq(u128::from(u32::from(a)), u128::from(u32::from(n)), 32, bits)
        }
        (IpAddr::V6(a), Ok(IpAddr::V6(n))) => {
            let bits = bits.unwrap_or(128);
            bits <= 128 && mask_eq(u128::from(a), u128::from(n), 128, bits)
        }
        _ => false,
    }
}

fn mask_eq(a: u128, b: u128, width: u32, bits: u32) -> bool {
    if bits == 0 {
        return true;
    }
    let shift = width - bits;
    (a >> shift) == (b >> shift)
}

/// ISO 8601 date-time (`2026-11-23T10:00:00Z`, with fractions or an offset), a date
/// (`2026-11-23`), or epoch seconds: as epoch seconds.
pub fn parse_date(text: &str) -> Option<f64> {
    let t = text.trim();
    if let Ok(n) = t.parse::<f64>() {
        return Some(n);
    }
    let b = t.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> { t.get(r)?.parse().ok() };
    if b.len() < 10 || b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let mut secs = days_from_civil(y, m, d) * 86_400;
    if b.len() == 10 {
        return Some(secs as f64);
    }
    if !matches!(b.get(10), Some(b'T' | b't' | b' ')) || b.get(13) != Some(&b':') {
        return None;
    }
    secs += num(11..13)? * 3600 + num(14..16)? * 60;
    let mut rest = t.get(16..)?;
    if let Some(r) = rest.strip_prefix(':') {
        secs += r.get(0..2)?.parse::<i64>().ok()?;
        rest = r.get(2..)?;
    }
    let mut frac = 0.0;
    if let Some(r) = rest.strip_prefix('.') {
        let n = r.chars().take_while(char::is_ascii_digit).count();
        frac = format!("0.{}", r.get(..n)?).parse().ok()?;
        rest = r.get(n..)?;
    }
    let offset = match rest {
        "" | "Z" | "z" => 0,
        _ => {
            let sign = if rest.starts_with('-') {
                -1
            } else if rest.starts_with('+') {
                1
            } else {
                return None;
            };
            let hm = rest.get(1..)?.replace(':', "");
            let h: i64 = hm.get(0..2)?.parse().ok()?;
            let mi: i64 = hm.get(2..4).unwrap_or("00").parse().ok()?;
            sign * (h * 3600 + mi * 60)
        }
    };
    Some((secs - offset) as f64 + frac)
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cond(op: &str, key: &str, values: &[&str]) -> Condition {
        Condition {
            operator: Operator::parse(op).unwrap(),
            key: key.into(),
            values: values.iter().map(|v| v.to_string()).collect(),
        }
    }

    fn ctx(pairs: &[(&str, &[&str])]) -> Context {
        let mut c = Context::default();
        for (k, vs) in pairs {
            c.insert(k, vs.iter().map(|v| Value::String(v.to_string())).collect());
        }
        c
    }

    #[test]
    fn strings_keys_are_case_insensitive_values_are_not() {
        let c = ctx(&[("saml:aud", &["https://signin.aws.amazon.com/saml"])]);
        assert!(cond("StringEquals", "SAML:aud", &["x", "https://signin.aws.amazon.com/saml"]).holds(&c, true));
        assert!(!cond("StringEquals", "SAML:aud", &["https://SIGNIN.aws.amazon.com/saml"]).holds(&c, true));
        assert!(cond("StringEqualsIgnoreCase", "saml:AUD", &["https://SIGNIN.aws.amazon.com/saml"]).holds(&c, true));
        assert!(cond("StringLike", "saml:aud", &["https://*.aws.amazon.com/saml"]).holds(&c, true));
        assert!(!cond("StringNotEquals", "saml:aud", &["https://signin.aws.amazon.com/saml"]).holds(&c, true));
        assert!(cond("StringNotEquals", "saml:aud", &["https://us-west-2.signin.aws.amazon.com/saml"]).holds(&c, true));
    }

    #[test]
    fn missing_keys() {
        let c = Context::default();
        assert!(!cond("StringEquals", "saml:aud", &["x"]).holds(&c, true));
        assert!(cond("StringEqualsIfExists", "saml:aud", &["x"]).holds(&c, true));
        assert!(cond("StringNotEquals", "saml:aud", &["x"]).holds(&c, true));
        assert!(cond("Null", "saml:aud", &["true"]).holds(&c, true));
        assert!(!cond("Null", "saml:aud", &["false"]).holds(&c, true));
        assert!(cond("ForAllValues:StringEquals", "aws:TagKeys", &["a"]).holds(&c, true));
        assert!(!cond("ForAnyValue:StringEquals", "aws:TagKeys", &["a"]).holds(&c, true));
    }

    #[test]
    fn set_operators() {
        let c = ctx(&[("aws:TagKeys", &["a", "b"])]);
        assert!(cond("ForAllValues:StringEquals", "aws:TagKeys", &["a", "b", "c"]).holds(&c, true));
        assert!(!cond("ForAllValues:StringEquals", "aws:TagKeys", &["a"]).holds(&c, true));
        assert!(cond("ForAnyValue:StringEquals", "aws:TagKeys", &["b"]).holds(&c, true));
        assert!(!cond("ForAnyValue:StringEquals", "aws:TagKeys", &["z"]).holds(&c, true));
        assert!(cond("ForAnyValue:StringNotEquals", "aws:TagKeys", &["a"]).holds(&c, true));
    }

    #[test]
    fn numbers_dates_bools_ips_arns() {
        let c = ctx(&[
            ("n", &["10"]),
            ("aws:CurrentTime", &["2026-11-23T10:00:00Z"]),
            ("aws:SecureTransport", &["true"]),
            ("aws:SourceIp", &["203.0.113.7"]),
            ("aws:PrincipalArn", &["arn:aws:iam::111122223333:role/Okta_Role"]),
        ]);
        assert!(cond("NumericLessThan", "n", &["11"]).holds(&c, true));
        assert!(!cond("NumericGreaterThan", "n", &["10"]).holds(&c, true));
        assert!(cond("NumericGreaterThanEquals", "n", &["10"]).holds(&c, true));
        assert!(cond("DateLessThan", "aws:CurrentTime", &["2026-11-23T10:00:01Z"]).holds(&c, true));
        assert!(cond("DateGreaterThan", "aws:CurrentTime", &["2026-11-23"]).holds(&c, true));
        assert!(cond("DateEquals", "aws:CurrentTime", &["1795428000"]).holds(&c, true));
        assert!(cond("Bool", "aws:SecureTransport", &["true"]).holds(&c, true));
        assert!(cond("IpAddress", "aws:SourceIp", &["203.0.113.0/24"]).holds(&c, true));
        assert!(cond("NotIpAddress", "aws:SourceIp", &["10.0.0.0/8"]).holds(&c, true));
        assert!(!cond("IpAddress", "aws:SourceIp", &["10.0.0.0/8", "::1/128"]).holds(&c, true));
        assert!(cond("ArnLike", "aws:PrincipalArn", &["arn:aws:iam::*:role/Okta*"]).holds(&c, true));
        assert!(cond("ArnNotLike", "aws:PrincipalArn", &["arn:aws:iam::*:user/*"]).holds(&c, true));
    }

    #[test]
    fn operator_names() {
        assert!(Operator::parse("ForAnyValue:StringLikeIfExists").is_some());
        assert!(Operator::parse("stringequals").is_none());
        assert!(Operator::parse("NullIfExists").is_none());
        assert!(Operator::parse("Nope").is_none());
    }

    #[test]
    fn variables_in_values() {
        let c = ctx(&[("saml:sub", &["alice"]), ("aws:username", &["alice"])]);
        assert!(cond("StringEquals", "aws:username", &["${saml:sub}"]).holds(&c, true));
        assert!(!cond("StringEquals", "aws:username", &["${saml:sub}"]).holds(&c, false));
    }
}

#[cfg(test)]
mod type_mismatch {
    use super::*;

    #[test]
    fn uncomparable_request_values_match_neither_way() {
        let mut c = Context::default();
        c.insert("aws:SourceIp", vec![Value::String("not-an-ip".into())]);
        for op in ["IpAddress", "NotIpAddress"] {
            let cond = Condition {
                operator: Operator::parse(op).unwrap(),
                key: "aws:SourceIp".into(),
                values: vec!["10.0.0.0/8".into()],
            };
            assert!(!cond.holds(&c, true), "{op}");
        }
    }
}
