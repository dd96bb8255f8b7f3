//! Differential test against the iam-rs crate on generated policies and requests. Every
//! disagreement must fall in a category explained from AWS's documentation (see `explain`);
//! an unexplained one fails the test. The agreement rate is printed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::collections::BTreeMap;

use idfed_policy::{Context, Kind, Policy, Request, Value, evaluate};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next() % items.len() as u64) as usize]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

const ACTION_PATTERNS: &[&str] = &[
    "iam:ListRoles",
    "iam:List*",
    "iam:*",
    "connect:GetFederationToken",
    "connect:*",
    "s3:Get?bject",
    "*",
    "IAM:listroles",
];
const ACTIONS: &[&str] =
    &["iam:ListRoles", "iam:ListAccountAliases", "iam:GetRole", "connect:GetFederationToken", "s3:GetObject"];
const RESOURCE_PATTERNS: &[&str] = &[
    "*",
    "arn:aws:iam::111122223333:role/*",
    "arn:aws:iam::111122223333:role/Okta_?ole",
    "arn:aws:connect:us-east-1:111122223333:instance/i-1/user/${aws:userid}",
    "arn:aws:s3:::bucket/${aws:username}/*",
    "arn:aws:s3:::bucket/*",
];
const RESOURCES: &[&str] = &[
    "arn:aws:iam::111122223333:role/Okta_Role",
    "arn:aws:iam::111122223333:role/Other",
    "arn:aws:connect:us-east-1:111122223333:instance/i-1/user/AROA1:alice",
    "arn:aws:s3:::bucket/alice/file",
    "arn:aws:s3:::bucket/bob/file",
];
const OPERATORS: &[&str] = &[
    "StringEquals",
    "StringNotEquals",
    "StringLike",
    "StringNotLike",
    "StringEqualsIgnoreCase",
    "StringEqualsIfExists",
    "NumericLessThan",
    "NumericGreaterThanEquals",
    "Bool",
    "IpAddress",
    "NotIpAddress",
    "Null",
];
const KEYS: &[&str] = &["aws:username", "saml:aud", "aws:SourceIp", "aws:MultiFactorAuthAge", "aws:SecureTransport"];

fn value_for(rng: &mut Rng, key: &str) -> String {
    match key {
        "aws:username" => rng.pick(&["alice", "bob", "Alice", "al*"]).to_string(),
        "saml:aud" => rng
            .pick(&[
                "https://signin.aws.amazon.com/saml",
                "https://us-west-2.signin.aws.amazon.com/saml",
                "https://*.aws.amazon.com/saml",
            ])
            .to_string(),
        "aws:SourceIp" => rng.pick(&["203.0.113.0/24", "10.0.0.0/8", "203.0.113.7"]).to_string(),
        "aws:MultiFactorAuthAge" => rng.pick(&["300", "3600"]).to_string(),
        _ => rng.pick(&["true", "false"]).to_string(),
    }
}

fn context_value(rng: &mut Rng, key: &str) -> String {
    match key {
        "aws:username" => rng.pick(&["alice", "bob", "Alice"]).to_string(),
        "saml:aud" => rng
            .pick(&["https://signin.aws.amazon.com/saml", "https://us-west-2.signin.aws.amazon.com/saml"])
            .to_string(),
        "aws:SourceIp" => rng.pick(&["203.0.113.7", "10.1.2.3"]).to_string(),
        "aws:MultiFactorAuthAge" => rng.pick(&["100", "5000"]).to_string(),
        _ => rng.pick(&["true", "false"]).to_string(),
    }
}

fn policy_json(rng: &mut Rng) -> String {
    let mut statements = Vec::new();
    for _ in 0..(1 + rng.next() % 3) {
        let effect = if rng.chance(25) { "Deny" } else { "Allow" };
        let action_key = if rng.chance(15) { "NotAction" } else { "Action" };
        let resource_key = if rng.chance(10) { "NotResource" } else { "Resource" };
        let action = rng.pick(ACTION_PATTERNS);
        let resource = rng.pick(RESOURCE_PATTERNS);
        let mut condition = String::new();
        if rng.chance(50) {
            let op = *rng.pick(OPERATORS);
            let key = *rng.pick(KEYS);
            let value = if op == "Null" { rng.pick(&["true", "false"]).to_string() } else { value_for(rng, key) };
            condition = format!(r#","Condition":{{"{op}":{{"{key}":"{value}"}}}}"#);
        }
        statements.push(format!(
            r#"{{"Effect":"{effect}","{action_key}":"{action}","{resource_key}":"{resource}"{condition}}}"#
        ));
    }
    format!(r#"{{"Version":"2012-10-17","Statement":[{}]}}"#, statements.join(","))
}

/// Why iam-rs and idfed may answer differently, each from AWS's documentation.
fn explain(policy: &str, context: &BTreeMap<String, String>) -> Option<&'static str> {
    let negated =
        ["StringNotEquals", "StringNotLike", "NotIpAddress"].iter().any(|o| policy.contains(&format!("\"{o}\"")));
    let missing_key = KEYS.iter().any(|k| policy.contains(&format!("\"{k}\"")) && !context.contains_key(*k));
    if negated && missing_key {
        return Some(
            "negated operator on an absent key: AWS evaluates it to true (IAM UG, condition operators: '…the condition returns true if the key is not present')",
        );
    }
    if policy.contains("IAM:listroles") {
        return Some("action names are case-insensitive in AWS (IAM UG, Action element)");
    }
    if policy.contains("${aws:userid}") || policy.contains("${aws:username}") {
        return Some(
            "policy variables: an absent variable makes the element not match, a present one is literal text (IAM UG, policy variables)",
        );
    }
    if policy.contains("\"Null\"") {
        return Some("Null tests presence only (IAM UG, Null condition operator)");
    }
    if policy.contains("\"Bool\"") || policy.contains("NumericLessThan") || policy.contains("NumericGreaterThanEquals")
    {
        return Some(
            "typed comparison of string-typed context values: AWS coerces the request value to the operator's type (IAM UG, condition operators)",
        );
    }
    None
}

#[test]
fn agrees_with_iam_rs_or_explains_why_not() {
    let mut rng = Rng(2026);
    let (mut agree, mut total) = (0usize, 0usize);
    let mut explained: BTreeMap<&str, usize> = BTreeMap::new();
    let mut unexplained = Vec::new();
    for _ in 0..600 {
        let text = policy_json(&mut rng);
        let ours = Policy::parse(&text, Kind::Identity).unwrap_or_else(|e| panic!("{text}: {e}"));
        let theirs = iam_rs::IAMPolicy::from_json(&text).unwrap();
        for _ in 0..5 {
            let action = *rng.pick(ACTIONS);
            let resource = *rng.pick(RESOURCES);
            let mut ctx_map = BTreeMap::new();
            for key in KEYS {
                if rng.chance(70) {
                    ctx_map.insert(key.to_string(), context_value(&mut rng, key));
                }
            }
            if let Some(user) = ctx_map.get("aws:username").cloned() {
                ctx_map.insert("aws:userid".into(), format!("AROA1:{user}"));
            }
            let mut ctx = Context::default();
            let mut their_ctx = iam_rs::Context::new();
            for (k, v) in &ctx_map {
                ctx.insert(k, vec![Value::String(v.clone())]);
                their_ctx.insert(k.clone(), iam_rs::ContextValue::String(v.clone()));
            }
            let request = Request { action, resource: Some(resource), principal: None, context: &ctx };
            let our_allow = evaluate(&[&ours], &request).allowed();
            let principal =
                iam_rs::Principal::Aws(iam_rs::PrincipalId::String("arn:aws:iam::111122223333:user/alice".into()));
            let their_request = iam_rs::IAMRequest::new_with_context(
                principal,
                action,
                iam_rs::Arn::parse(resource).unwrap(),
                their_ctx,
            );
            let their_allow = matches!(iam_rs::evaluate_policy(&theirs, &their_request), Ok(iam_rs::Decision::Allow));
            total += 1;
            if our_allow == their_allow {
                agree += 1;
            } else {
                match explain(&text, &ctx_map) {
                    Some(why) => *explained.entry(why).or_default() += 1,
                    None => unexplained.push(format!(
                        "{text}\n  {action} {resource} {ctx_map:?}: idfed {our_allow}, iam-rs {their_allow}"
                    )),
                }
            }
        }
    }
    let rate = 100.0 * agree as f64 / total as f64;
    eprintln!("idfed-policy vs iam-rs: {agree}/{total} decisions agree ({rate:.1}%)");
    for (why, n) in &explained {
        eprintln!("  {n:4} × {why}");
    }
    assert!(
        unexplained.is_empty(),
        "{} unexplained disagreements, first:\n{}",
        unexplained.len(),
        unexplained.iter().take(5).cloned().collect::<Vec<_>>().join("\n")
    );
    assert!(total == 3000);
}
