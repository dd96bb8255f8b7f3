//! The sandbox's HTTP endpoints walked with malformed, oversized and hostile input: unexpected
//! methods, invalid UTF-8, bad base64, XML entity bombs (in SAML responses, SAML metadata and
//! policy documents), truncated and deeply nested JSON, a 3 MB body, garbage SigV4 headers —
//! anonymously and SigV4-signed by the account's administrator. Every answer is below 500,
//! nothing panics, and the state is unchanged.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{Method, Request, StatusCode, header};
use idfed_aws::iam::users;
use idfed_aws::protocol::sigv4::{HttpParts, canonical_request, hex, sha256_hex, signing_key, string_to_sign};
use idfed_aws::server::{Sandbox, router};
use idfed_saml::encoding::{base64_encode, percent_encode};
use tower::ServiceExt;

use crate::common::*;

const PATHS: [&str; 17] = [
    "/",
    "/saml",
    "/saml/acs/abc",
    "/console",
    "/console/home",
    "/connect/home",
    "/connect/ccp-v2",
    "/connect/federate/no-such-instance",
    "/metrics",
    "/healthz",
    "/instance",
    "/instance/no-such-instance",
    "/security-profiles-summary/no-such-instance",
    "/users/no-such-instance",
    "/users-summary/no-such-instance",
    "/users/no-such-instance/no-such-user",
    "/user/federate/no-such-instance",
];

fn bomb() -> String {
    let mut xml = String::from("<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY a0 \"aaaaaaaaaa\">");
    for i in 1..10 {
        xml.push_str(&format!("<!ENTITY a{i} \"{}\">", format!("&a{};", i - 1).repeat(10)));
    }
    xml.push_str("]><r>&a9;</r>");
    xml
}

fn bodies() -> Vec<(&'static str, Vec<u8>)> {
    let bomb = bomb();
    let b64 = base64_encode(bomb.as_bytes());
    let nested = format!("{}{}", "[".repeat(20_000), "]".repeat(20_000));
    vec![
        ("application/x-www-form-urlencoded", b"Action=\xff\xfe&SAMLResponse=\xc3\x28".to_vec()),
        ("application/x-www-form-urlencoded", b"SAMLResponse=%%%not-base64!!&RelayState=javascript:alert(1)".to_vec()),
        (
            "application/x-www-form-urlencoded",
            format!("SAMLResponse={}&roleIndex=%00", percent_encode(&b64)).into_bytes(),
        ),
        (
            "application/x-www-form-urlencoded",
            format!(
                "Action=AssumeRoleWithSAML&Version=2011-06-15&RoleArn=arn:aws:iam::111122223333:role/Okta_Role\
                 &PrincipalArn=arn:aws:iam::111122223333:saml-provider/Okta_Connect_Admin&SAMLAssertion={}",
                percent_encode(&b64)
            )
            .into_bytes(),
        ),
        (
            "application/x-www-form-urlencoded",
            format!(
                "Action=CreateSAMLProvider&Version=2010-05-08&Name=Bomb&SAMLMetadataDocument={}",
                percent_encode(&bomb)
            )
            .into_bytes(),
        ),
        (
            "application/x-www-form-urlencoded",
            format!(
                "Action=CreateRole&Version=2010-05-08&RoleName=Bomb&AssumeRolePolicyDocument={}",
                percent_encode(&nested)
            )
            .into_bytes(),
        ),
        ("application/x-www-form-urlencoded", b"Action=Frobnicate&Version=2010-05-08&RoleName=%00".to_vec()),
        ("application/x-www-form-urlencoded", [b"Action=ListRoles&a=".as_slice(), &vec![b'a'; 3 << 20]].concat()),
        ("application/x-amz-json-1.1", br#"{"InstanceAlias": ["x", {"#.to_vec()),
        ("application/json", nested.into_bytes()),
        ("application/json", br#"{"Username":"\u0000","SecurityProfileIds":[1,2],"IdentityInfo":"x"}"#.to_vec()),
        ("text/xml", bomb.into_bytes()),
    ]
}

/// SigV4 headers for a request, as the AWS CLI would send them (service from the path).
fn signed_headers(
    key: &idfed_aws::state::AccessKey,
    method: &str,
    path: &str,
    query: &str,
    body: &[u8],
) -> Vec<(String, String)> {
    let service = if path == "/" { "iam" } else { "connect" };
    let amz_date = "20261123T100000Z";
    let mut headers =
        vec![("host".to_owned(), "127.0.0.1:4566".to_owned()), ("x-amz-date".to_owned(), amz_date.to_owned())];
    let names: Vec<String> = vec!["host".into(), "x-amz-date".into()];
    let payload = sha256_hex(body);
    let parts = HttpParts { method, path, query, headers: &headers, body };
    let canonical = canonical_request(&parts, &names, &payload);
    let scope = format!("20261123/us-east-1/{service}/aws4_request");
    let to_sign = string_to_sign(amz_date, &scope, &canonical);
    let signing = signing_key(&key.secret, "20261123", "us-east-1", service);
    let tag =
        aws_lc_rs::hmac::sign(&aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &signing), to_sign.as_bytes());
    headers.push((
        "authorization".to_owned(),
        format!(
            "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders=host;x-amz-date, Signature={}",
            key.id,
            hex(tag.as_ref())
        ),
    ));
    headers
}

#[tokio::test]
async fn every_endpoint_refuses_hostile_input_clearly_and_changes_nothing() {
    let mut state = seeded_state();
    let rng = Seeded::new(5);
    users::create(&mut state, ACCOUNT, "admin", "/", now(), &rng).unwrap();
    let allow_all = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
    users::put_inline_policy(&mut state, ACCOUNT, "admin", "all", allow_all).unwrap();
    let key = users::create_access_key(&mut state, ACCOUNT, "admin", now(), &rng).unwrap();
    let sandbox = Arc::new(Sandbox::new(state, Arc::new(now), vec!["http://127.0.0.1:4566/saml".into()]));
    let app = router(sandbox.clone()).layer(MockConnectInfo(SocketAddr::from(([127, 0, 0, 1], 50_000))));
    let snapshot = || sandbox.state.lock().unwrap().to_json().unwrap();
    let before = snapshot();

    // The signing is right: a well-formed signed call is answered.
    let body = b"Action=ListRoles&Version=2010-05-08".to_vec();
    let mut control = Request::post("/").header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    for (name, value) in signed_headers(&key, "POST", "/", "", &body) {
        control = control.header(name, value);
    }
    let answer = app.clone().oneshot(control.body(Body::from(body)).unwrap()).await.unwrap();
    let status = answer.status();
    let text = axum::body::to_bytes(answer.into_body(), 1 << 20).await.unwrap();
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&text));

    let mut requests = 0;
    let mut signed_accepted = Vec::new();
    for path in PATHS {
        for method in [Method::GET, Method::POST, Method::PUT, Method::DELETE, Method::PATCH] {
            let mut cases = vec![("?Action=%ZZ&destination=//evil.test&x=%00".to_owned(), "text/plain", Vec::new())];
            if method != Method::GET {
                cases.extend(bodies().into_iter().map(|(t, b)| (String::new(), t, b)));
            }
            for (query, content_type, body) in cases {
                for signed in [false, true] {
                    let uri = format!("{path}{query}");
                    let mut request = Request::builder()
                        .method(method.clone())
                        .uri(&uri)
                        .header(header::CONTENT_TYPE, content_type)
                        .header(header::COOKIE, format!("aws-console-session={}", "x".repeat(3000)));
                    if signed {
                        for (name, value) in
                            signed_headers(&key, method.as_str(), path, query.trim_start_matches('?'), &body)
                        {
                            request = request.header(name, value);
                        }
                    } else {
                        request = request
                            .header(header::HOST, "127.0.0.1:4566")
                            .header(header::AUTHORIZATION, "AWS4-HMAC-SHA256 Credential=AKIA/../x, Signature=zz");
                    }
                    let response = app.clone().oneshot(request.body(Body::from(body.clone())).unwrap()).await.unwrap();
                    requests += 1;
                    let status = response.status();
                    assert!(
                        status < StatusCode::INTERNAL_SERVER_ERROR,
                        "{method} {uri} ({content_type}, signed {signed}): {status}"
                    );
                    if method != Method::GET && status.is_success() {
                        signed_accepted.push(format!("{method} {uri} {content_type}"));
                    }
                }
            }
        }
    }
    assert_eq!(snapshot(), before, "hostile input changed nothing");
    assert!(signed_accepted.is_empty(), "accepted: {signed_accepted:#?}");
    eprintln!("hostile walk of the sandbox: {} paths, {requests} requests", PATHS.len());
}
