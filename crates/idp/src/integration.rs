//! The AWS app's API integration (Okta's Provisioning tab): IAM ListRoles and
//! ListAccountAliases, signed with SigV4 by the AWS SDK's own signer, at AWS's global IAM
//! endpoint or any other (the sandbox, moto). Only roles whose trust policy lets the app's
//! SAML provider call sts:AssumeRoleWithSAML are offered.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use idfed_saml::Instant;

use crate::error::{ErrorKind, IdpError, Result};

pub const AWS_IAM_ENDPOINT: &str = "https://iam.amazonaws.com/";
const MAX_RESPONSE: usize = 8 << 20;
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
    pub endpoint: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    /// IAM is global and signs in us-east-1 (aws-us-gov-west-1 / cn-north-1 in other partitions).
    pub region: String,
}

impl IamClient {
    pub fn new(endpoint: Option<&str>, access_key_id: &str, secret_access_key: &str) -> IamClient {
        IamClient {
            endpoint: endpoint.unwrap_or(AWS_IAM_ENDPOINT).to_owned(),
            access_key_id: access_key_id.to_owned(),
            secret_access_key: secret_access_key.to_owned(),
            region: "us-east-1".into(),
        }
    }

    async fn call(&self, params: &[(&str, &str)], now: Instant) -> Result<String> {
        let mut body = String::new();
        for (key, value) in params {
            if !body.is_empty() {
                body.push('&');
            }
            body.push_str(&format!("{key}={}", idfed_saml::encoding::percent_encode(value)));
        }
        let mut request = http::Request::post(&self.endpoint)
            .header("content-type", "application/x-www-form-urlencoded; charset=utf-8")
            .body(body.clone())
            .map_err(|e| IdpError::invalid(format!("IAM endpoint {:?}: {e}", self.endpoint)))?;
        let identity = Credentials::new(&self.access_key_id, &self.secret_access_key, None, None, "idfed").into();
        let at = SystemTime::UNIX_EPOCH + Duration::from_millis(u64::try_from(now.unix_millis()).unwrap_or(0));
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("iam")
            .time(at)
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| IdpError::internal(format!("SigV4: {e}")))?
            .into();
        let headers: Vec<(String, String)> = request
            .headers()
            .iter()
            .filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str().to_owned(), v.to_owned())))
            .collect();
        let signable = SignableRequest::new(
            "POST",
            self.endpoint.as_str(),
            headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            SignableBody::Bytes(body.as_bytes()),
        )
        .map_err(|e| IdpError::internal(format!("SigV4: {e}")))?;
        let (instructions, _) =
            sign(signable, &params).map_err(|e| IdpError::internal(format!("SigV4: {e}")))?.into_parts();
        instructions.apply_to_request_http1x(&mut request);
        let request = request.map(|b| Full::new(Bytes::from(b)));

        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(rustls::crypto::aws_lc_rs::default_provider())
            .map_err(|e| IdpError::internal(format!("TLS: {e}")))?
            .https_or_http()
            .enable_http1()
            .build();
        let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build(connector);
        let unreachable =
            |e: &dyn std::fmt::Display| IdpError::unavailable(format!("cannot reach IAM at {}: {e}", self.endpoint));
        let response = tokio::time::timeout(Duration::from_secs(20), client.request(request))
            .await
            .map_err(|_| unreachable(&"no answer within 20 seconds"))?
            .map_err(|e| unreachable(&e))?;
        let status = response.status();
        let bytes =
            Limited::new(response.into_body(), MAX_RESPONSE).collect().await.map_err(|e| unreachable(&e))?.to_bytes();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        if status.is_success() { Ok(text) } else { Err(aws_error(&text, status.as_u16())) }
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

/// IAM's ErrorResponse, explained for the administrator (seed 004 step 3).
fn aws_error(text: &str, status: u16) -> IdpError {
    let doc = roxmltree::Document::parse(text).ok();
    let field = |name: &str| {
        doc.as_ref()
            .and_then(|d| d.descendants().find(|n| n.has_tag_name(name)).and_then(|n| n.text()).map(str::to_owned))
            .unwrap_or_default()
    };
    let (code, message) = (field("Code"), field("Message"));
    let advice = match code.as_str() {
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
    let code = if code.is_empty() { format!("HTTP {status}") } else { code };
    IdpError::new(
        if status == 403 || status == 401 { ErrorKind::Forbidden } else { ErrorKind::Unavailable },
        format!("IAM refused the API credentials: {code}: {message} {advice}").trim_end().to_owned(),
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
        let denied = aws_error(
            "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: x is not authorized</Message></Error></ErrorResponse>",
            403,
        );
        assert_eq!(denied.kind, ErrorKind::Forbidden);
        assert!(
            denied.message.contains("AccessDenied: User: x is not authorized")
                && denied.message.contains("iam:ListRoles")
        );
        let unknown = aws_error(
            "<ErrorResponse><Error><Code>InvalidClientTokenId</Code><Message>The security token included in the request is invalid.</Message></Error></ErrorResponse>",
            403,
        );
        assert!(unknown.message.contains("does not know this access key ID"));
    }
}
