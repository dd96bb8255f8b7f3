//! Every HTTP endpoint of the IdP, read from the router sources themselves, walked with
//! malformed, oversized and hostile input — unexpected methods, invalid UTF-8, bad base64, an
//! XML entity bomb, a YAML alias loop, truncated and deeply nested JSON, a 3 MB body, garbage
//! cookies and tokens — anonymously and as a signed-in administrator with valid CSRF and API
//! tokens. Every answer is a clear status below 500, nothing panics, and nothing changes.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};

use crate::common::*;
use crate::web::{Browser, idp_with};

/// The route patterns of the IdP's routers, as the sources declare them.
fn routes() -> Vec<String> {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut found = Vec::new();
    for file in ["web.rs", "api.rs", "client_api.rs", "admin/mod.rs"] {
        let text = std::fs::read_to_string(src.join(file)).unwrap();
        for part in text.split(".route(\"").skip(1) {
            found.push(part.split('"').next().unwrap().to_owned());
        }
    }
    assert!(found.len() >= 50, "the route list looks wrong: {found:?}");
    found
}

/// A concrete path for a pattern: placeholders name things that do not exist, so a request
/// that got through every check would still have nothing to change.
fn concrete(pattern: &str) -> String {
    pattern
        .split('/')
        .map(|segment| match segment {
            "{action}" => "frobnicate",
            s if s.starts_with('{') => "no-such-thing",
            s => s,
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn bomb() -> String {
    let mut xml = String::from("<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY a \"aaaaaaaaaa\">");
    for i in 1..10 {
        xml.push_str(&format!(
            "<!ENTITY a{i} \"{}\">",
            format!("&a{};", if i == 1 { String::new() } else { (i - 1).to_string() }).repeat(10)
        ));
    }
    xml.push_str("]><r>&a9;</r>");
    xml
}

fn bodies(csrf: &str) -> Vec<(&'static str, Vec<u8>)> {
    let b64_bomb = idfed_saml::encoding::base64_encode(bomb().as_bytes());
    let nested = format!("{}{}", "[".repeat(20_000), "]".repeat(20_000));
    vec![
        ("application/x-www-form-urlencoded", [format!("csrf={csrf}&login=").as_bytes(), b"\xff\xfe\xc3\x28"].concat()),
        (
            "application/x-www-form-urlencoded",
            format!(
                "csrf={csrf}&SAMLResponse=%25%25not-base64!!&SAMLRequest=%3C%3Cxml&RelayState=javascript:alert(1)\
                 &login=%00nul&name=%00&op=bogus&who=%00&password=x&expression=user.((((&policy=root&key=..%2F..&code=abc"
            )
            .into_bytes(),
        ),
        ("application/x-www-form-urlencoded", format!("csrf={csrf}&SAMLResponse={b64_bomb}&SAMLRequest={b64_bomb}").into_bytes()),
        ("application/x-www-form-urlencoded", [format!("csrf={csrf}&a=").as_bytes(), &vec![b'a'; 3 << 20]].concat()),
        ("application/json", br#"{"login": ["x", {"#.to_vec()),
        ("application/json", nested.into_bytes()),
        ("application/yaml", b"a: &a [*a, *a]\nb: *a\n".to_vec()),
        ("text/xml", bomb().into_bytes()),
        ("application/octet-stream", (0..=255u8).cycle().take(4096).collect()),
    ]
}

async fn snapshot(idp: &idfed_idp::service::Idp) -> String {
    let tenant = serde_json::to_string(&idp.tenant()).unwrap();
    let credentials = idp.with_credentials(|c| serde_json::to_string(c).unwrap());
    let keys = idp.signing().published().iter().map(|c| c.fingerprint_sha256()).collect::<Vec<_>>().join(",");
    let sessions = idp.sessions(1000).await.unwrap().len();
    format!("{tenant}\n{credentials}\n{keys}\n{sessions}")
}

async fn walk(browser: &mut Browser, authorization: Option<&str>, csrf: &str, skip: &[&str]) -> usize {
    let mut requests = 0;
    for pattern in routes() {
        if skip.contains(&pattern.as_str()) {
            continue;
        }
        let path = concrete(&pattern);
        for method in [Method::GET, Method::POST, Method::PUT, Method::DELETE, Method::PATCH] {
            let hostile_query = format!("{path}?SAMLRequest=%ZZ&return_to=//evil.test&request=..%2F&q=%00&page=-1");
            let mut cases: Vec<(String, &'static str, Vec<u8>)> = vec![(hostile_query, "text/plain", Vec::new())];
            if method != Method::GET {
                cases.extend(bodies(csrf).into_iter().map(|(t, b)| (path.clone(), t, b)));
            }
            for (uri, content_type, body) in cases {
                let mut request =
                    Request::builder().method(method.clone()).uri(&uri).header(header::CONTENT_TYPE, content_type);
                if let Some(token) = authorization {
                    request = request.header(header::AUTHORIZATION, token);
                }
                let answer = browser.send(request.body(Body::from(body)).unwrap()).await;
                requests += 1;
                assert!(
                    answer.status < StatusCode::INTERNAL_SERVER_ERROR,
                    "{method} {uri} ({content_type}) answered {}: {}",
                    answer.status,
                    answer.body.chars().take(300).collect::<String>()
                );
                // A hostile body is never accepted; sign-out from the client API ends whatever
                // session the token names (none here) and says so whatever the body holds.
                let body_independent = pattern == "/api/client/logout";
                if method != Method::GET && !body_independent && answer.status.is_success() {
                    panic!(
                        "{method} {uri} ({content_type}) accepted hostile input: {}",
                        answer.body.chars().take(300).collect::<String>()
                    );
                }
            }
        }
    }
    requests
}

#[tokio::test]
async fn every_endpoint_refuses_hostile_input_clearly_and_changes_nothing() {
    let mut tenant = seeds_tenant();
    tenant.users.iter_mut().find(|u| u.login == "test").unwrap().admin = true;
    let idp = idp_with(tenant).await;
    let token = idp.create_api_token("hostile").await.unwrap();

    // Anonymous, with garbage cookies and a garbage token.
    let mut anonymous = Browser::new(&idp);
    anonymous.jar_insert("idfed_session", &"x".repeat(5000));
    anonymous.jar_insert("idfed_csrf", "\u{1}");
    let before = snapshot(&idp).await;
    let bearer = format!("Bearer {}", "A".repeat(10_000));
    let anonymous_requests = walk(&mut anonymous, Some(&bearer), "nope", &[]).await;
    assert_eq!(snapshot(&idp).await, before, "anonymous hostile input changed nothing");

    // Signed in as an administrator, with the right CSRF token and a valid API token: the
    // checks behind authentication hold too. Sign-out is left out (it would end the session).
    let mut admin = Browser::new(&idp);
    admin.sign_in("test", "correct horse battery").await;
    let csrf = admin.csrf();
    let before = snapshot(&idp).await;
    let admin_requests = walk(&mut admin, Some(&format!("Bearer {token}")), &csrf, &["/logout"]).await;
    assert_eq!(snapshot(&idp).await, before, "authenticated hostile input changed nothing");
    assert_eq!(admin.get("/app").await.status, StatusCode::OK, "the session still works");
    eprintln!("hostile walk: {} routes, {anonymous_requests} + {admin_requests} requests", routes().len());
}
