//! Evaluating a request against policies: an explicit Deny wins over any Allow, and with no
//! Allow the answer is an implicit deny. The decision names the statement that decided.

use crate::context::Context;
use crate::document::{Effect, Policy, Principals, Statement, Version};
use crate::pattern::{Pattern, glob};

/// What is being asked.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// `service:Action`, matched case-insensitively.
    pub action: &'a str,
    /// The resource ARN; `None` for trust-policy checks, which have no Resource.
    pub resource: Option<&'a str>,
    /// The caller as a trust policy sees it: (`AWS` | `Federated` | `Service`, identifier).
    pub principal: Option<(&'a str, &'a str)>,
    pub context: &'a Context,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Allow,
    ExplicitDeny,
    ImplicitDeny,
}

/// Which statement decided: the index of the policy in the list given, of the statement in it,
/// and its Sid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementRef {
    pub policy: usize,
    pub statement: usize,
    pub sid: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub outcome: Outcome,
    /// The Deny or Allow statement that decided; `None` for an implicit deny.
    pub statement: Option<StatementRef>,
}

impl Decision {
    pub fn allowed(&self) -> bool {
        self.outcome == Outcome::Allow
    }
}

pub fn evaluate(policies: &[&Policy], request: &Request) -> Decision {
    let mut allow = None;
    for (p, policy) in policies.iter().enumerate() {
        for (s, statement) in policy.statements.iter().enumerate() {
            if !applies(statement, policy.version, request) {
                continue;
            }
            let found = StatementRef { policy: p, statement: s, sid: statement.sid.clone() };
            match statement.effect {
                Effect::Deny => return Decision { outcome: Outcome::ExplicitDeny, statement: Some(found) },
                Effect::Allow => {
                    allow.get_or_insert(found);
                }
            }
        }
    }
    match allow {
        Some(found) => Decision { outcome: Outcome::Allow, statement: Some(found) },
        None => Decision { outcome: Outcome::ImplicitDeny, statement: None },
    }
}

/// Whether a statement covers the request (before its Effect is applied).
pub fn applies(statement: &Statement, version: Version, request: &Request) -> bool {
    let variables = version == Version::V2012;
    principal_matches(statement, request)
        && action_matches(statement, request.action)
        && resource_matches(statement, request, variables)
        && statement.conditions.iter().all(|c| c.holds(request.context, variables))
}

/// Whether the statement's Principal (or NotPrincipal) names the request's caller.
pub fn principal_matches(statement: &Statement, request: &Request) -> bool {
    let Some((negated, principals)) = &statement.principal else { return true };
    let named = match (principals, request.principal) {
        (Principals::Any, _) => true,
        (Principals::Typed(_), None) => false,
        (Principals::Typed(map), Some((kind, id))) => map
            .iter()
            .filter(|(k, _)| k == kind)
            .flat_map(|(_, values)| values)
            .any(|v| v == "*" || v == id || aws_account_matches(kind, v, id)),
    };
    named != *negated
}

/// `"AWS": "111122223333"` names the account: any principal ARN in it.
fn aws_account_matches(kind: &str, value: &str, id: &str) -> bool {
    kind == "AWS"
        && value.len() == 12
        && value.bytes().all(|b| b.is_ascii_digit())
        && id.split(':').nth(4) == Some(value)
}

/// Whether the statement's Action (or NotAction) covers `action`.
pub fn action_matches(statement: &Statement, action: &str) -> bool {
    let (negated, actions) = &statement.actions;
    actions.iter().any(|a| glob(a, action, true)) != *negated
}

fn resource_matches(statement: &Statement, request: &Request, variables: bool) -> bool {
    let (Some((negated, resources)), Some(resource)) = (&statement.resources, request.resource) else { return true };
    let mut any = false;
    for pattern in resources {
        match Pattern::compile(pattern, Some(request.context), variables) {
            Some(p) if p.matches(resource, false) => any = true,
            Some(_) => {}
            // An unresolvable variable: the element cannot be decided, so the statement does not apply.
            None if *negated => return false,
            None => {}
        }
    }
    any != *negated
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::Value;
    use crate::document::Kind;

    fn policy(text: &str, kind: Kind) -> Policy {
        Policy::parse(text, kind).unwrap()
    }

    const FEDERATION: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Federate","Effect":"Allow","Action":"connect:GetFederationToken",
        "Resource":"arn:aws:connect:us-east-1:111122223333:instance/i-1/user/${aws:userid}"}]}"#;

    #[test]
    fn connect_federation_uses_the_session_userid() {
        let p = policy(FEDERATION, Kind::Identity);
        let mut ctx = Context::default();
        ctx.insert("aws:userid", vec![Value::String("AROAEXAMPLE:alice".into())]);
        let ok = Request {
            action: "connect:GetFederationToken",
            resource: Some("arn:aws:connect:us-east-1:111122223333:instance/i-1/user/AROAEXAMPLE:alice"),
            principal: None,
            context: &ctx,
        };
        let d = evaluate(&[&p], &ok);
        assert!(d.allowed());
        assert_eq!(d.statement.unwrap().sid.as_deref(), Some("Federate"));
        let other_user = Request {
            resource: Some("arn:aws:connect:us-east-1:111122223333:instance/i-1/user/AROAEXAMPLE:bob"),
            ..ok
        };
        assert_eq!(evaluate(&[&p], &other_user).outcome, Outcome::ImplicitDeny);
        let other_action = Request { action: "connect:ListUsers", ..ok };
        assert_eq!(evaluate(&[&p], &other_action).outcome, Outcome::ImplicitDeny);
    }

    #[test]
    fn explicit_deny_wins_and_is_named() {
        let allow = policy(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iam:*","Resource":"*"}}"#,
            Kind::Identity,
        );
        let deny = policy(
            r#"{"Version":"2012-10-17","Statement":{"Sid":"NoDelete","Effect":"Deny","Action":"iam:Delete*","Resource":"*"}}"#,
            Kind::Identity,
        );
        let ctx = Context::default();
        let req = Request {
            action: "IAM:DeleteRole",
            resource: Some("arn:aws:iam::1:role/x"),
            principal: None,
            context: &ctx,
        };
        let d = evaluate(&[&allow, &deny], &req);
        assert_eq!(d.outcome, Outcome::ExplicitDeny);
        assert_eq!(d.statement, Some(StatementRef { policy: 1, statement: 0, sid: Some("NoDelete".into()) }));
        let list = Request { action: "iam:ListRoles", ..req };
        assert!(evaluate(&[&allow, &deny], &list).allowed());
    }

    #[test]
    fn trust_policy_for_saml() {
        let trust = policy(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111122223333:saml-provider/Okta"},
            "Action":"sts:AssumeRoleWithSAML","Condition":{"StringEquals":{"SAML:aud":"https://signin.aws.amazon.com/saml"}}}]}"#,
            Kind::Trust,
        );
        let mut ctx = Context::default();
        ctx.set("saml:aud", "https://signin.aws.amazon.com/saml");
        let req = Request {
            action: "sts:AssumeRoleWithSAML",
            resource: None,
            principal: Some(("Federated", "arn:aws:iam::111122223333:saml-provider/Okta")),
            context: &ctx,
        };
        assert!(evaluate(&[&trust], &req).allowed());
        assert!(
            !evaluate(
                &[&trust],
                &Request { principal: Some(("Federated", "arn:aws:iam::111122223333:saml-provider/Other")), ..req }
            )
            .allowed()
        );
        assert!(!evaluate(&[&trust], &Request { action: "sts:TagSession", ..req }).allowed());
        let mut regional = Context::default();
        regional.set("saml:aud", "https://us-west-2.signin.aws.amazon.com/saml");
        assert!(!evaluate(&[&trust], &Request { context: &regional, ..req }).allowed());
    }

    #[test]
    fn not_action_not_resource_not_principal() {
        let p = policy(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","NotAction":"iam:*","NotResource":"arn:aws:s3:::secret/*"}}"#,
            Kind::Identity,
        );
        let ctx = Context::default();
        let r = |action, resource| Request { action, resource: Some(resource), principal: None, context: &ctx };
        assert!(evaluate(&[&p], &r("s3:GetObject", "arn:aws:s3:::public/a")).allowed());
        assert!(!evaluate(&[&p], &r("s3:GetObject", "arn:aws:s3:::secret/a")).allowed());
        assert!(!evaluate(&[&p], &r("iam:ListRoles", "arn:aws:s3:::public/a")).allowed());
        let t = policy(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","NotPrincipal":{"AWS":"111122223333"},"Action":"sts:AssumeRole"}}"#,
            Kind::Trust,
        );
        let inside = Request {
            action: "sts:AssumeRole",
            resource: None,
            principal: Some(("AWS", "arn:aws:iam::111122223333:user/u")),
            context: &ctx,
        };
        assert!(!evaluate(&[&t], &inside).allowed());
        assert!(
            evaluate(&[&t], &Request { principal: Some(("AWS", "arn:aws:iam::999999999999:user/u")), ..inside })
                .allowed()
        );
    }
}
