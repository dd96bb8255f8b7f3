//! Policy documents: parsing and validation with IAM's `MalformedPolicyDocument` messages.

use std::collections::HashSet;

use serde_json::{Map, Value as Json};

use crate::condition::{Condition, Operator};

/// Where a document is used: it decides which elements are required or prohibited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Managed and inline policies of users, groups and roles.
    Identity,
    /// A role's AssumeRolePolicyDocument.
    Trust,
}

/// The text IAM returns with `MalformedPolicyDocument` (HTTP 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct MalformedPolicy(pub String);

fn syntax() -> MalformedPolicy {
    MalformedPolicy("Syntax errors in policy.".into())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// 2012-10-17: policy variables are substituted.
    V2012,
    /// 2008-10-17 (or absent): no variables.
    V2008,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

/// A Principal or NotPrincipal value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principals {
    /// `"*"`: everyone.
    Any,
    /// `{"AWS": …, "Federated": …, "Service": …, "CanonicalUser": …}`, each a list.
    Typed(Vec<(String, Vec<String>)>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub sid: Option<String>,
    pub effect: Effect,
    /// (negated, principals): `NotPrincipal` when negated.
    pub principal: Option<(bool, Principals)>,
    /// (negated, actions): `NotAction` when negated.
    pub actions: (bool, Vec<String>),
    /// (negated, resources): `NotResource` when negated; `None` in trust policies.
    pub resources: Option<(bool, Vec<String>)>,
    pub conditions: Vec<Condition>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub version: Version,
    pub id: Option<String>,
    pub statements: Vec<Statement>,
}

const IAM_RESOURCE_TYPES: &[&str] = &[
    "user/",
    "federated-user/",
    "role/",
    "group/",
    "instance-profile/",
    "mfa/",
    "server-certificate/",
    "policy/",
    "sms-mfa/",
    "saml-provider/",
    "oidc-provider/",
    "report/",
    "access-report/",
];

impl Policy {
    /// Parses and validates `text` as IAM does for a document of this kind.
    pub fn parse(text: &str, kind: Kind) -> Result<Policy, MalformedPolicy> {
        let json: Json = serde_json::from_str(text).map_err(|_| syntax())?;
        let top = json.as_object().ok_or_else(syntax)?;
        if top.keys().any(|k| !matches!(k.as_str(), "Version" | "Id" | "Statement")) {
            return Err(syntax());
        }
        let id = match top.get("Id") {
            None => None,
            Some(Json::String(s)) => Some(s.clone()),
            Some(_) => return Err(syntax()),
        };
        let raw_statements: Vec<&Map<String, Json>> = match top.get("Statement") {
            Some(Json::Object(one)) => vec![one],
            Some(Json::Array(many)) if !many.is_empty() => {
                many.iter().map(|s| s.as_object().ok_or_else(syntax)).collect::<Result<_, _>>()?
            }
            _ => return Err(syntax()),
        };
        let statements = raw_statements.into_iter().map(statement).collect::<Result<Vec<_>, _>>()?;
        let version = match top.get("Version") {
            Some(Json::String(v)) if v == "2012-10-17" => Version::V2012,
            Some(Json::String(v)) if v == "2008-10-17" && kind == Kind::Trust => Version::V2008,
            None if kind == Kind::Trust => Version::V2008,
            Some(Json::String(v)) if v == "2008-10-17" => {
                return Err(MalformedPolicy("Policy document must be version 2012-10-17 or greater.".into()));
            }
            None => return Err(MalformedPolicy("Policy document must be version 2012-10-17 or greater.".into())),
            Some(_) => return Err(syntax()),
        };
        let policy = Policy { version, id, statements };
        policy.validate(kind)?;
        Ok(policy)
    }

    fn validate(&self, kind: Kind) -> Result<(), MalformedPolicy> {
        let mut sids = HashSet::new();
        for s in &self.statements {
            if let Some(sid) = &s.sid
                && !sids.insert(sid)
            {
                return Err(MalformedPolicy("Statement IDs (SID) in a single policy must be unique.".into()));
            }
        }
        for s in &self.statements {
            if s.actions.1.is_empty() {
                return Err(MalformedPolicy("Policy statement must contain actions.".into()));
            }
        }
        for s in &self.statements {
            match (kind, &s.resources, &s.principal) {
                (Kind::Identity, None, _) => {
                    return Err(MalformedPolicy("Policy statement must contain resources.".into()));
                }
                (Kind::Identity, Some((_, r)), _) if r.is_empty() => {
                    return Err(MalformedPolicy("Policy statement must contain resources.".into()));
                }
                (Kind::Identity, _, Some(_)) => {
                    return Err(MalformedPolicy("Policy document should not specify a principal.".into()));
                }
                (Kind::Trust, Some(_), _) => return Err(MalformedPolicy("Has prohibited field Resource".into())),
                (Kind::Trust, _, None) => return Err(MalformedPolicy("Missing required field Principal".into())),
                _ => {}
            }
        }
        for s in &self.statements {
            for action in &s.actions.1 {
                validate_action(action)?;
            }
            for c in &s.conditions {
                if c.key.split_once(':').is_none_or(|(vendor, _)| vendor.is_empty()) {
                    return Err(MalformedPolicy(
                        "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.".into(),
                    ));
                }
            }
            if let Some((_, resources)) = &s.resources {
                for resource in resources {
                    validate_resource(resource)?;
                }
            }
            if let Some((_, Principals::Typed(map))) = &s.principal {
                for (kind, values) in map {
                    if !matches!(kind.as_str(), "AWS" | "Federated" | "Service" | "CanonicalUser") || values.is_empty()
                    {
                        return Err(MalformedPolicy(format!("Invalid principal in policy: \"{kind}\"")));
                    }
                }
            }
        }
        Ok(())
    }

    /// Every `Federated` principal named by an Allow statement (what a trust policy trusts).
    pub fn federated_principals(&self) -> Vec<&str> {
        self.statements
            .iter()
            .filter(|s| s.effect == Effect::Allow)
            .filter_map(|s| match &s.principal {
                Some((false, Principals::Typed(map))) => Some(map),
                _ => None,
            })
            .flatten()
            .filter(|(kind, _)| kind == "Federated")
            .flat_map(|(_, values)| values.iter().map(String::as_str))
            .collect()
    }
}

fn validate_action(action: &str) -> Result<(), MalformedPolicy> {
    if action == "*" {
        return Ok(());
    }
    match action.split_once(':') {
        Some((vendor, name))
            if !vendor.is_empty()
                && !name.is_empty()
                && vendor.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') =>
        {
            Ok(())
        }
        _ => Err(MalformedPolicy("Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.".into())),
    }
}

fn validate_resource(resource: &str) -> Result<(), MalformedPolicy> {
    if resource == "*" {
        return Ok(());
    }
    if !resource.starts_with("arn:") {
        return Err(MalformedPolicy(format!("Resource {resource} must be in ARN format or \"*\".")));
    }
    let parts: Vec<&str> = resource.splitn(6, ':').collect();
    let vendor = parts.get(2).copied().unwrap_or("");
    if vendor.is_empty() || vendor.contains(['*', '?']) {
        return Err(MalformedPolicy("Resource vendor must be fully qualified and cannot contain regexes.".into()));
    }
    if parts.len() < 6 {
        return Err(MalformedPolicy("The policy failed legacy parsing".into()));
    }
    let region = parts.get(3).copied().unwrap_or("");
    let rest = parts.get(5).copied().unwrap_or("");
    match vendor {
        "iam" if !region.is_empty() => Err(MalformedPolicy(format!("IAM resource {resource} cannot contain region information."))),
        "iam" if rest != "*" && !IAM_RESOURCE_TYPES.iter().any(|t| rest.starts_with(t)) => Err(MalformedPolicy(
            "IAM resource path must either be \"*\" or start with user/, federated-user/, role/, group/, instance-profile/, mfa/, server-certificate/, policy/, sms-mfa/, saml-provider/, oidc-provider/, report/, access-report/.".into(),
        )),
        "s3" if !region.is_empty() => Err(MalformedPolicy(format!("Resource {resource} can not contain region information."))),
        _ => Ok(()),
    }
}

fn string_or_list(value: &Json) -> Result<Vec<String>, MalformedPolicy> {
    match value {
        Json::String(s) => Ok(vec![s.clone()]),
        Json::Array(items) => items.iter().map(|i| i.as_str().map(str::to_owned).ok_or_else(syntax)).collect(),
        _ => Err(syntax()),
    }
}

fn statement(raw: &Map<String, Json>) -> Result<Statement, MalformedPolicy> {
    const FIELDS: &[&str] =
        &["Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource", "Condition"];
    if raw.keys().any(|k| !FIELDS.contains(&k.as_str())) {
        return Err(syntax());
    }
    let pair = |a: &str, b: &str| raw.contains_key(a) && raw.contains_key(b);
    if pair("Action", "NotAction") || pair("Resource", "NotResource") || pair("Principal", "NotPrincipal") {
        return Err(syntax());
    }
    let sid = match raw.get("Sid") {
        None => None,
        Some(Json::String(s)) => Some(s.clone()),
        Some(_) => return Err(syntax()),
    };
    let effect = match raw.get("Effect").and_then(Json::as_str) {
        Some("Allow") => Effect::Allow,
        Some("Deny") => Effect::Deny,
        _ => return Err(syntax()),
    };
    let actions = match (raw.get("Action"), raw.get("NotAction")) {
        (Some(a), _) => (false, string_or_list(a)?),
        (_, Some(a)) => (true, string_or_list(a)?),
        _ => (false, Vec::new()),
    };
    let resources = match (raw.get("Resource"), raw.get("NotResource")) {
        (Some(r), _) => Some((false, string_or_list(r)?)),
        (_, Some(r)) => Some((true, string_or_list(r)?)),
        _ => None,
    };
    let principal = match (raw.get("Principal"), raw.get("NotPrincipal")) {
        (Some(p), _) => Some((false, principals(p)?)),
        (_, Some(p)) => Some((true, principals(p)?)),
        _ => None,
    };
    let conditions = match raw.get("Condition") {
        None => Vec::new(),
        Some(Json::Object(blocks)) => conditions(blocks)?,
        Some(_) => return Err(syntax()),
    };
    Ok(Statement { sid, effect, principal, actions, resources, conditions })
}

fn principals(value: &Json) -> Result<Principals, MalformedPolicy> {
    match value {
        Json::String(s) if s == "*" => Ok(Principals::Any),
        Json::Object(map) => map
            .iter()
            .map(|(k, v)| Ok((k.clone(), string_or_list(v)?)))
            .collect::<Result<Vec<_>, _>>()
            .map(Principals::Typed),
        _ => Err(syntax()),
    }
}

fn conditions(blocks: &Map<String, Json>) -> Result<Vec<Condition>, MalformedPolicy> {
    let mut out = Vec::new();
    for (operator, keys) in blocks {
        let operator = Operator::parse(operator).ok_or_else(syntax)?;
        let keys = keys.as_object().ok_or_else(syntax)?;
        for (key, values) in keys {
            let values = match values {
                Json::Array(items) => items.iter().map(scalar).collect::<Result<Vec<_>, _>>()?,
                other => vec![scalar(other)?],
            };
            out.push(Condition { operator, key: key.clone(), values });
        }
    }
    Ok(out)
}

fn scalar(value: &Json) -> Result<String, MalformedPolicy> {
    match value {
        Json::String(s) => Ok(s.clone()),
        Json::Bool(b) => Ok(b.to_string()),
        Json::Number(n) => Ok(n.to_string()),
        _ => Err(syntax()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(doc: &str, kind: Kind) -> String {
        Policy::parse(doc, kind).unwrap_err().0
    }

    #[test]
    fn iam_messages() {
        let id = Kind::Identity;
        assert_eq!(err("not json", id), "Syntax errors in policy.");
        assert_eq!(
            err(r#"{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}"#, id),
            "Policy document must be version 2012-10-17 or greater."
        );
        assert_eq!(
            err(r#"{"Version":"2013-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}"#, id),
            "Syntax errors in policy."
        );
        assert_eq!(err(r#"{"Version":"2012-10-17","Statement":[]}"#, id), "Syntax errors in policy.");
        assert_eq!(
            err(r#"{"Version":"2012-10-17","Statement":{"Effect":"invalid","Action":"s3:*","Resource":"*"}}"#, id),
            "Syntax errors in policy."
        );
        assert_eq!(
            err(r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Resource":"*"}}"#, id),
            "Policy statement must contain actions."
        );
        assert_eq!(
            err(r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*"}}"#, id),
            "Policy statement must contain resources."
        );
        assert_eq!(
            err(r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"invalid","Resource":"*"}}"#, id),
            "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
        );
        assert_eq!(
            err(
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"invalid resource"}}"#,
                id
            ),
            "Resource invalid resource must be in ARN format or \"*\"."
        );
        assert_eq!(
            err(
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3::example_bucket"}}"#,
                id
            ),
            "The policy failed legacy parsing"
        );
        assert_eq!(
            err(r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws"}}"#, id),
            "Resource vendor must be fully qualified and cannot contain regexes."
        );
        assert_eq!(
            err(
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:iam:us-east-1::role/x"}}"#,
                id
            ),
            "IAM resource arn:aws:iam:us-east-1::role/x cannot contain region information."
        );
        assert!(err(r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:iam:::bucket"}}"#, id).starts_with("IAM resource path must either be"));
        assert_eq!(
            err(
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"a":"b"}}}"#,
                id
            ),
            "Syntax errors in policy."
        );
        assert_eq!(
            err(
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"DateGreaterThan":"b"}}}"#,
                id
            ),
            "Syntax errors in policy."
        );
        assert_eq!(
            err(
                r#"{"Version":"2012-10-17","Statement":[{"Sid":"a","Effect":"Allow","Action":"s3:*","Resource":"*"},{"Sid":"a","Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#,
                id
            ),
            "Statement IDs (SID) in a single policy must be unique."
        );
        assert_eq!(
            err(
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}}"#,
                id
            ),
            "Policy document should not specify a principal."
        );
        assert_eq!(
            err(
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*","Extra":1}}"#,
                id
            ),
            "Syntax errors in policy."
        );
    }

    #[test]
    fn trust_policies() {
        let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111122223333:saml-provider/Okta"},
            "Action":["sts:AssumeRoleWithSAML","sts:TagSession"],"Condition":{"StringEquals":{"SAML:aud":"https://signin.aws.amazon.com/saml"}}}]}"#;
        let p = Policy::parse(trust, Kind::Trust).unwrap();
        assert_eq!(p.federated_principals(), ["arn:aws:iam::111122223333:saml-provider/Okta"]);
        assert_eq!(p.statements[0].conditions.len(), 1);
        assert_eq!(
            err(
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"sts:AssumeRoleWithSAML"}}"#,
                Kind::Trust
            ),
            "Missing required field Principal"
        );
        assert_eq!(
            err(
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Federated":"x"},"Action":"sts:AssumeRoleWithSAML","Resource":"*"}}"#,
                Kind::Trust
            ),
            "Has prohibited field Resource"
        );
        let old =
            r#"{"Statement":{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}}"#;
        assert_eq!(Policy::parse(old, Kind::Trust).unwrap().version, Version::V2008);
    }
}
