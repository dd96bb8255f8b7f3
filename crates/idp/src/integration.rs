//! The AWS app's API integration (Okta's Provisioning tab): IAM ListRoles and
//! ListAccountAliases, signed with SigV4 by the AWS SDK's own signer, at AWS's global IAM
//! endpoint or any other (the sandbox, moto). Only roles whose trust policy lets the app's
//! SAML provider call sts:AssumeRoleWithSAML are offered.

use idfed_saml::Instant;

use crate::aws_client::{AwsClient, AwsFault};
use crate::error::{ErrorKind, IdpError, Result};

pub const AWS_IAM_ENDPOINT: &str = "https://iam.amazonaws.com/";
const MAX_PAGES: usize = 100;

/// A role as ListRoles describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleInfo {
    pub name: String,
    pub arn: String,
    /// The trust policy, decoded from IAM's URL-encoded JSON.
    pub trust_policy: String,
}

/// Keys and endpoint for one IAM account.
pub struct IamClient {
    client: AwsClient,
}

impl IamClient {
    /// IAM is global and signs in us-east-1.
    pub fn new(endpoint: Option<&str>, access_key_id: &str, secret_access_key: &str) -> IamClient {
        IamClient {
            client: AwsClient::new(endpoint.unwrap_or(AWS_IAM_ENDPOINT), access_key_id, secret_access_key, "us-east-1"),
        }
    }

    async fn call(&self, params: &[(&str, &str)], now: Instant) -> Result<String> {
        self.client.query("iam", params, now).await?.map_err(|fault| explain(&fault))
    }

    /// Every role in the account (following IsTruncated/Marker).
    pub async fn list_roles(&self, now: Instant) -> Result<Vec<RoleInfo>> {
        let mut roles = Vec::new();
        let mut marker: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut params = vec![("Action", "ListRoles"), ("Version", "2010-05-08"), ("MaxItems", "1000")];
            if let Some(m) = &marker {
                params.push(("Marker", m));
            }
            let text = self.call(&params, now).await?;
            let doc = roxmltree::Document::parse(&text).map_err(|e| bad_answer(&e))?;
            for member in doc
                .descendants()
                .filter(|n| n.has_tag_name("member") && n.parent().is_some_and(|p| p.has_tag_name("Roles")))
            {
                let field = |name: &str| {
                    member
                        .children()
                        .find(|c| c.has_tag_name(name))
                        .and_then(|c| c.text())
                        .unwrap_or_default()
                        .to_owned()
                };
                let encoded = field("AssumeRolePolicyDocument");
                let trust_policy = idfed_saml::encoding::percent_decode(&encoded, false).unwrap_or(encoded);
                roles.push(RoleInfo { name: field("RoleName"), arn: field("Arn"), trust_policy });
            }
            let text_of =
                |name: &str| doc.descendants().find(|n| n.has_tag_name(name)).and_then(|n| n.text()).map(str::to_owned);
            if text_of("IsTruncated").as_deref() != Some("true") {
                return Ok(roles);
            }
            marker = text_of("Marker");
            if marker.is_none() {
                return Ok(roles);
            }
        }
        Err(IdpError::unavailable(format!("ListRoles returned more than {MAX_PAGES} pages")))
    }

    /// The account alias, if it has one.
    pub async fn account_alias(&self, now: Instant) -> Result<Option<String>> {
        let text = self.call(&[("Action", "ListAccountAliases"), ("Version", "2010-05-08")], now).await?;
        let doc = roxmltree::Document::parse(&text).map_err(|e| bad_answer(&e))?;
        Ok(doc
            .descendants()
            .find(|n| n.has_tag_name("member") && n.parent().is_some_and(|p| p.has_tag_name("AccountAliases")))
            .and_then(|n| n.text())
            .map(str::to_owned))
    }
}

fn bad_answer(e: &dyn std::fmt::Display) -> IdpError {
    IdpError::unavailable(format!("IAM answered with something that is not its XML: {e}"))
}

/// IAM's error, explained for the administrator (seed 004 step 3).
fn explain(fault: &AwsFault) -> IdpError {
    let advice = match fault.code.as_str() {
        "AccessDenied" => {
            "Attach a policy allowing iam:ListRoles and iam:ListAccountAliases on \"*\" to the IAM user of these keys."
        }
        "InvalidClientTokenId" => {
            "AWS does not know this access key ID: check it, or create a new access key for the IAM user."
        }
        "SignatureDoesNotMatch" => "The secret access key does not belong to this access key ID: paste it again.",
        "ExpiredToken" | "RequestExpired" => "Check the clock of the machine running idfed.",
        _ => "",
    };
    let code = if fault.code.is_empty() { format!("HTTP {}", fault.status) } else { fault.code.clone() };
    let kind = if matches!(fault.status, 401 | 403) { ErrorKind::Forbidden } else { ErrorKind::Unavailable };
    IdpError::new(
        kind,
        format!("IAM refused the API credentials: {code}: {} {advice}", fault.message).trim_end().to_owned(),
    )
}

/// Whether a trust policy lets `provider_arn` call sts:AssumeRoleWithSAML (conditions aside:
/// they are judged at sign-in, as AWS does).
pub fn trusts(trust_policy: &str, provider_arn: &str) -> bool {
    let Ok(policy) = serde_json::from_str::<serde_json::Value>(trust_policy) else { return false };
    let statements = match policy.get("Statement") {
        Some(serde_json::Value::Array(items)) => items.clone(),
        Some(single @ serde_json::Value::Object(_)) => vec![single.clone()],
        _ => return false,
    };
    let field = |v: &serde_json::Value, path: &str| v.pointer(path).cloned().unwrap_or_default();
    let list = |v: &serde_json::Value| -> Vec<String> {
        match v {
            serde_json::Value::String(s) => vec![s.clone()],
            serde_json::Value::Array(items) => items.iter().filter_map(|i| i.as_str().map(str::to_owned)).collect(),
            _ => Vec::new(),
        }
    };
    statements.iter().any(|s| {
        field(s, "/Effect") == "Allow"
            && list(&field(s, "/Principal/Federated")).iter().any(|p| p == provider_arn)
            && list(&field(s, "/Action")).iter().any(|a| {
                let a = a.to_ascii_lowercase();
                a == "sts:assumerolewithsaml" || a == "sts:*" || a == "*"
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_roles_trusting_the_provider_for_saml_are_offered() {
        let provider = "arn:aws:iam::111122223333:saml-provider/Okta";
        let trust = |principal: &str, action: &str| {
            format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Federated":{principal}}},"Action":{action}}}]}}"#
            )
        };
        assert!(trusts(&trust(&format!("\"{provider}\""), "\"sts:AssumeRoleWithSAML\""), provider));
        assert!(trusts(
            &trust(&format!("[\"x\",\"{provider}\"]"), "[\"sts:TagSession\",\"sts:AssumeRoleWithSAML\"]"),
            provider
        ));
        assert!(!trusts(
            &trust("\"arn:aws:iam::111122223333:saml-provider/Other\"", "\"sts:AssumeRoleWithSAML\""),
            provider
        ));
        assert!(!trusts(&trust(&format!("\"{provider}\""), "\"sts:AssumeRole\""), provider), "seed 003's mistake");
        assert!(!trusts("not json", provider));
    }

    #[test]
    fn iam_errors_say_what_to_do() {
        let fault = |code: &str, message: &str| AwsFault { status: 403, code: code.into(), message: message.into() };
        let denied = explain(&fault("AccessDenied", "User: x is not authorized"));
        assert_eq!(denied.kind, ErrorKind::Forbidden);
        assert!(
            denied.message.contains("AccessDenied: User: x is not authorized")
                && denied.message.contains("iam:ListRoles")
        );
        let unknown = explain(&fault("InvalidClientTokenId", "The security token included in the request is invalid."));
        assert!(unknown.message.contains("does not know this access key ID"));
    }
}
