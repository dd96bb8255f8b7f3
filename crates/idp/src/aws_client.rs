//! A small AWS client: SigV4 by the AWS SDK's own signer (aws-sigv4), HTTP/1.1 over hyper
//! with rustls on aws-lc-rs. Query-protocol calls (IAM, STS) and rest-json calls (Amazon
//! Connect), to AWS or to any endpoint that speaks the same (the sandbox, moto).

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use idfed_saml::Instant;

use crate::error::{IdpError, Result};

const MAX_RESPONSE: usize = 8 << 20;

/// An AWS error answer: its code, message and HTTP status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsFault {
    pub status: u16,
    pub code: String,
    pub message: String,
}

/// What a call ended with: the body of a success, an AWS error, or no answer at all.
pub type Answer = std::result::Result<String, AwsFault>;

pub struct AwsClient {
    /// `https://iam.amazonaws.com/`, `http://127.0.0.1:4566`, …
    pub endpoint: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
    pub region: String,
}

impl AwsClient {
    pub fn new(endpoint: &str, access_key_id: &str, secret_access_key: &str, region: &str) -> AwsClient {
        AwsClient {
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            access_key_id: access_key_id.to_owned(),
            secret_access_key: secret_access_key.to_owned(),
            session_token: None,
            region: region.to_owned(),
        }
    }

    /// A Query-protocol call: `Action=…&Version=…&…` POSTed as a form.
    pub async fn query(&self, service: &str, params: &[(&str, &str)], now: Instant) -> Result<Answer> {
        let body = params
            .iter()
            .map(|(k, v)| format!("{k}={}", idfed_saml::encoding::percent_encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let url = format!("{}/", self.endpoint);
        let answer =
            self.send(service, "POST", &url, "application/x-www-form-urlencoded; charset=utf-8", body, now).await?;
        Ok(answer.map_err(|(status, text)| query_fault(status, &text)))
    }

    /// A rest-json call (Amazon Connect): `path` with its query string, an optional JSON body.
    pub async fn rest_json(
        &self,
        service: &str,
        method: &str,
        path: &str,
        body: Option<&str>,
        now: Instant,
    ) -> Result<Answer> {
        let url = format!("{}{path}", self.endpoint);
        let body = body.unwrap_or_default().to_owned();
        let answer = self.send(service, method, &url, "application/json", body, now).await?;
        Ok(answer.map_err(|(status, text)| json_fault(status, &text)))
    }

    async fn send(
        &self,
        service: &str,
        method: &str,
        url: &str,
        content_type: &str,
        body: String,
        now: Instant,
    ) -> Result<std::result::Result<String, (u16, String)>> {
        let mut request = http::Request::builder()
            .method(method)
            .uri(url)
            .header("content-type", content_type)
            .body(body.clone())
            .map_err(|e| IdpError::invalid(format!("AWS endpoint {url:?}: {e}")))?;
        let identity =
            Credentials::new(&self.access_key_id, &self.secret_access_key, self.session_token.clone(), None, "idfed")
                .into();
        let at = SystemTime::UNIX_EPOCH + Duration::from_millis(u64::try_from(now.unix_millis()).unwrap_or(0));
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(service)
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
            method,
            url,
            headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            SignableBody::Bytes(body.as_bytes()),
        )
        .map_err(|e| IdpError::internal(format!("SigV4: {e}")))?;
        let (instructions, _) =
            sign(signable, &params).map_err(|e| IdpError::internal(format!("SigV4: {e}")))?.into_parts();
        instructions.apply_to_request_http1x(&mut request);
        let request = request.map(|b| Full::new(Bytes::from(b)));

        let (status, text) = exchange(request, &self.endpoint).await?;
        Ok(if (200..300).contains(&status) { Ok(text) } else { Err((status, text)) })
    }
}

/// Sends one request over HTTP(S) (rustls with AWS-LC, the web's roots) within 20 seconds and
/// returns the status and body (at most 8 MiB).
async fn exchange(request: http::Request<Full<Bytes>>, what: &str) -> Result<(u16, String)> {
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_webpki_roots(rustls::crypto::aws_lc_rs::default_provider())
        .map_err(|e| IdpError::internal(format!("TLS: {e}")))?
        .https_or_http()
        .enable_http1()
        .build();
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build(connector);
    let unreachable = |e: &dyn std::fmt::Display| IdpError::unavailable(format!("cannot reach {what}: {e}"));
    let response = tokio::time::timeout(Duration::from_secs(20), client.request(request))
        .await
        .map_err(|_| unreachable(&"no answer within 20 seconds"))?
        .map_err(|e| unreachable(&e))?;
    let status = response.status().as_u16();
    let bytes =
        Limited::new(response.into_body(), MAX_RESPONSE).collect().await.map_err(|e| unreachable(&e))?.to_bytes();
    Ok((status, String::from_utf8_lossy(&bytes).into_owned()))
}

/// A JSON POST (the IdP's client API), with a bearer token when given: (status, body).
pub async fn post_json(url: &str, bearer: Option<&str>, body: &str) -> Result<(u16, String)> {
    let mut builder = http::Request::post(url).header("content-type", "application/json");
    if let Some(token) = bearer {
        builder = builder.header("authorization", format!("Bearer {token}"));
    }
    let request = builder
        .body(Full::new(Bytes::from(body.to_owned())))
        .map_err(|e| IdpError::invalid(format!("{url:?}: {e}")))?;
    exchange(request, url).await
}

/// An unsigned Query-protocol POST (STS AssumeRoleWithSAML needs no AWS credentials).
pub async fn query_unsigned(endpoint: &str, params: &[(&str, &str)]) -> Result<Answer> {
    let body = params
        .iter()
        .map(|(k, v)| format!("{k}={}", idfed_saml::encoding::percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let url = format!("{}/", endpoint.trim_end_matches('/'));
    let request = http::Request::post(&url)
        .header("content-type", "application/x-www-form-urlencoded; charset=utf-8")
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| IdpError::invalid(format!("{url:?}: {e}")))?;
    let (status, text) = exchange(request, &url).await?;
    Ok(if (200..300).contains(&status) { Ok(text) } else { Err(query_fault(status, &text)) })
}

/// `<ErrorResponse><Error><Code>…</Code><Message>…</Message></Error></ErrorResponse>`.
fn query_fault(status: u16, text: &str) -> AwsFault {
    let doc = roxmltree::Document::parse(text).ok();
    let field = |name: &str| {
        doc.as_ref()
            .and_then(|d| d.descendants().find(|n| n.has_tag_name(name)).and_then(|n| n.text()).map(str::to_owned))
            .unwrap_or_default()
    };
    AwsFault { status, code: field("Code"), message: field("Message") }
}

/// rest-json: `{"Message": …}` with the code in `x-amzn-ErrorType` or `__type`.
fn json_fault(status: u16, text: &str) -> AwsFault {
    let value: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
    let field = |keys: &[&str]| {
        keys.iter().find_map(|k| value.get(*k).and_then(|v| v.as_str()).map(str::to_owned)).unwrap_or_default()
    };
    let code = field(&["__type", "code", "Code"]);
    let code = code.rsplit('#').next().unwrap_or_default().to_owned();
    AwsFault { status, code, message: field(&["Message", "message"]) }
}

/// Reads one element's text from a Query-protocol answer.
pub fn xml_field(text: &str, name: &str) -> Option<String> {
    let doc = roxmltree::Document::parse(text).ok()?;
    doc.descendants().find(|n| n.has_tag_name(name)).and_then(|n| n.text()).map(str::to_owned)
}
