//! SP-initiated sign-on for a generic SAML app: AuthnRequests by HTTP-Redirect (signed) and
//! HTTP-POST, refused when unsigned, from another issuer, or for an unregistered ACS; the
//! answer carries InResponseTo and is accepted by our SP validator and by python3-saml.

use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use axum::http::StatusCode;

use idfed_idp::apps::{AcsEndpoint, App, AppKind, NameIdSource, SamlApp, Signing};
use idfed_idp::assignments::{Assignment, Principal};
use idfed_saml::bindings::{Param, redirect_url};
use idfed_saml::build::{AuthnRequestSpec, authn_request_xml};
use idfed_saml::dsig::SignatureAlgorithm;
use idfed_saml::sp::{SpConfig, validate_response};
use idfed_saml::xmlenc::DecryptionKey;

use crate::common::*;
use crate::web::{Browser, form_value, idp_with};

pub(crate) const SP: &str = "https://wiki.example.com/saml/metadata";
pub(crate) const ACS: &str = "https://wiki.example.com/saml/acs";

fn wiki(require_signed: bool, encrypt: bool) -> App {
    App {
        name: "wiki".into(),
        label: "Team Wiki".into(),
        kind: AppKind::Saml(SamlApp {
            entity_id: SP.into(),
            acs: vec![
                AcsEndpoint { url: ACS.into(), index: 0, default: true },
                AcsEndpoint { url: "https://wiki.example.com/saml/acs2".into(), index: 1, default: false },
            ],
            encryption_certificate: encrypt.then(|| other_key().cert_pem.clone()),
            encryption_algorithm: Default::default(),
            authn_request_certificate: require_signed.then(|| other_key().cert_pem.clone()),
            slo_url: None,
            one_time_use: false,
        }),
        default_relay_state: None,
        attribute_statements: vec![idfed_idp::apps::AttributeStatement {
            name: "email".into(),
            format: Default::default(),
            value: "user.email".into(),
        }],
        name_id: NameIdSource { format: "email".into(), value: "user.email".into() },
        signing: Signing::default(),
    }
}

pub(crate) fn tenant_with_wiki(require_signed: bool, encrypt: bool) -> idfed_idp::tenant::Tenant {
    let mut tenant = seeds_tenant();
    tenant.put_app(wiki(require_signed, encrypt)).unwrap();
    tenant.assign(Assignment { app: "wiki".into(), principal: Principal::User("test".into()), roles: vec![] }).unwrap();
    tenant
}

fn request(id: &str, acs: Option<&str>, issuer: &str) -> String {
    request_to("http://127.0.0.1:8080/app/wiki/saml", id, acs, issuer)
}

fn request_to(destination: &str, id: &str, acs: Option<&str>, issuer: &str) -> String {
    authn_request_xml(&AuthnRequestSpec {
        destination: destination.into(),
        acs_url: acs.map(str::to_owned),
        issuer: issuer.into(),
        ..request_spec(id)
    })
    .unwrap()
}

/// An AuthnRequest from the wiki's SP to this IdP, with the default ACS.
pub(crate) fn request_spec(id: &str) -> AuthnRequestSpec {
    AuthnRequestSpec {
        id: id.into(),
        issue_instant: now(),
        issuer: SP.into(),
        destination: "http://127.0.0.1:8080/app/wiki/saml".into(),
        acs_url: None,
        protocol_binding: Some(idfed_saml::ns::BINDING_POST.into()),
        name_id_format: None,
        force_authn: false,
        is_passive: false,
        requested_authn_context: None,
    }
}

fn signed_redirect(xml: &str, relay: Option<&str>) -> String {
    let signer = Some((&other_key().key, SignatureAlgorithm::RsaSha256));
    redirect_url("/app/wiki/saml", Param::SamlRequest, xml, relay, signer).unwrap()
}

pub(crate) fn sp_config(request_id: &str) -> SpConfig {
    SpConfig {
        trusted: vec![idp_key().certificate.clone()],
        audiences: vec![SP.into()],
        recipient: Some(ACS.into()),
        expected_issuer: Some("http://127.0.0.1:8080/app/wiki".into()),
        in_response_to: Some(request_id.into()),
        ..SpConfig::default()
    }
}

#[tokio::test]
async fn a_signed_redirect_request_is_answered_after_sign_in_with_in_response_to() {
    let idp = idp_with(tenant_with_wiki(true, false)).await;
    let mut browser = Browser::new(&idp);
    let held = browser.get(&signed_redirect(&request("_req1", Some(ACS), SP), Some("/page/42"))).await;
    assert_eq!(held.status, axum::http::StatusCode::SEE_OTHER, "{}", held.body);
    let next = held.location.unwrap();
    assert!(next.starts_with("/app/wiki/saml/continue?request="), "{next}");
    let to_login = browser.get(&next).await;
    assert!(to_login.location.as_deref().unwrap().starts_with("/login?return_to=/app/wiki/saml/continue"));
    browser.get("/login").await;
    let csrf = browser.csrf();
    let signed = browser
        .post(
            "/login",
            &[("csrf", &csrf), ("username", "test"), ("password", "correct horse battery"), ("return_to", &next)],
        )
        .await;
    assert_eq!(signed.location.as_deref(), Some(next.as_str()));
    let form = browser.get(&next).await;
    assert!(form.body.contains(&format!("action=\"{ACS}\"")), "{}", form.body);
    assert_eq!(form_value(&form.body, "RelayState").as_deref(), Some("/page/42"));
    let xml = idfed_saml::encoding::find_saml(form_value(&form.body, "SAMLResponse").unwrap().as_bytes()).unwrap().xml;
    let accepted = validate_response(&xml, &sp_config("_req1"), now()).unwrap();
    assert_eq!(accepted.name_id.value, "test@example.com");
    assert_eq!(accepted.assertion.attribute_values("email"), ["test@example.com"]);
    let again = browser.get(&next).await;
    assert_eq!(again.status, axum::http::StatusCode::BAD_REQUEST, "a request is answered once");
    let replayed = browser.get(&signed_redirect(&request("_req1", Some(ACS), SP), Some("/page/42"))).await;
    assert_eq!(replayed.status, axum::http::StatusCode::BAD_REQUEST, "the same AuthnRequest cannot be replayed");
    assert!(replayed.body.contains("already used"), "{}", replayed.body);
}

#[tokio::test]
async fn bad_requests_are_refused_before_anyone_signs_in() {
    let idp = idp_with(tenant_with_wiki(true, false)).await;
    let mut browser = Browser::new(&idp);
    let unsigned = redirect_url("/app/wiki/saml", Param::SamlRequest, &request("_r", None, SP), None, None).unwrap();
    let answer = browser.get(&unsigned).await;
    assert_eq!(answer.status, axum::http::StatusCode::BAD_REQUEST);
    assert!(answer.body.contains("requires signed AuthnRequests"), "{}", answer.body);
    let tampered = signed_redirect(&request("_r", None, SP), None).replace("RelayState", "Relay");
    let answer = browser.get(&format!("{tampered}&RelayState=x")).await;
    assert_eq!(answer.status, axum::http::StatusCode::BAD_REQUEST);
    let answer = browser.get(&signed_redirect(&request("_r", Some("https://evil.example/acs"), SP), None)).await;
    assert!(answer.body.contains("is not registered for this app"), "{}", answer.body);
    let answer = browser.get(&signed_redirect(&request("_r", None, "https://other.example/sp"), None)).await;
    assert!(answer.body.contains("but this app&#39;s SP entity ID is"), "{}", answer.body);
    let answer = browser.get("/app/aws/saml?SAMLRequest=abc").await;
    assert!(answer.body.contains("IdP-initiated only"), "{}", answer.body);
    let long = "x".repeat(idfed_idp::sp_initiated::MAX_RELAY_STATE_BYTES + 1);
    let answer = browser.get(&signed_redirect(&request("_r3", None, SP), Some(&long))).await;
    assert!(answer.body.contains("the RelayState is longer than 4096 bytes"), "{}", answer.body);
    // Signed by the SP, but addressed to another IdP that trusts the same SP key.
    let elsewhere = request_to("https://other-idp.example/sso/saml", "_r2", None, SP);
    let answer = browser.get(&signed_redirect(&elsewhere, None)).await;
    assert_eq!(answer.status, axum::http::StatusCode::BAD_REQUEST);
    assert!(
        answer.body.contains("is addressed to &#34;https://other-idp.example/sso/saml&#34;, not to this IdP"),
        "{}",
        answer.body
    );
    let log = idp
        .events(&idfed_store::EventFilter { event: Some("app.authn_request".into()), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(log.len(), 7);
}

#[tokio::test]
async fn a_post_binding_request_gets_an_encrypted_assertion_python3_saml_accepts() {
    let idp = idp_with(tenant_with_wiki(false, true)).await;
    let mut browser = Browser::new(&idp);
    browser.sign_in("test", "correct horse battery").await;
    let encoded = idfed_saml::encoding::base64_encode(request("_post1", None, SP).as_bytes());
    let held = browser.post("/app/wiki/saml", &[("SAMLRequest", &encoded), ("RelayState", "home")]).await;
    let form = browser.get(held.location.as_deref().unwrap()).await;
    let b64 = form_value(&form.body, "SAMLResponse").unwrap();
    let xml = idfed_saml::encoding::find_saml(b64.as_bytes()).unwrap().xml;
    assert!(xml.contains("EncryptedAssertion") && !xml.contains("test@example.com"), "the assertion is encrypted");
    let mut config = sp_config("_post1");
    config.decryption_keys = vec![DecryptionKey::from_pem(&other_key().key_pem).unwrap()];
    let accepted = validate_response(&xml, &config, now()).unwrap();
    assert!(accepted.encrypted);
    let metadata = browser.get("/app/wiki/metadata").await;
    assert!(metadata.body.contains("WantAuthnRequestsSigned=\"false\""), "unsigned requests are taken");

    let (response, sp_key, sp_cert) = (scratch("sp-init.b64"), scratch("sp-init-key.pem"), scratch("sp-init-cert.pem"));
    std::fs::write(&response, &b64).unwrap();
    std::fs::write(&sp_key, &other_key().key_pem).unwrap();
    std::fs::write(&sp_cert, &other_key().cert_pem).unwrap();
    let encrypted = [
        OsStr::new("--want-assertions-signed"),
        OsStr::new("--want-assertions-encrypted"),
        OsStr::new("--sp-key"),
        sp_key.as_os_str(),
        OsStr::new("--sp-cert"),
        sp_cert.as_os_str(),
    ];
    let Some(verdict) = python3_saml_sp(&response, "_post1", &encrypted) else { return };
    assert_eq!(verdict["valid"], true, "python3-saml (strict) says {verdict}");
    assert_eq!(verdict["name_id"], "test@example.com");
}

#[tokio::test]
async fn single_logout_ends_the_session_and_answers_with_a_signed_logout_response() {
    let mut tenant = tenant_with_wiki(true, false);
    let mut app = tenant.app("wiki").unwrap().clone();
    if let AppKind::Saml(saml) = &mut app.kind {
        saml.slo_url = Some("https://wiki.example.com/saml/slo".into());
    }
    tenant.put_app(app).unwrap();
    let idp = idp_with(tenant).await;
    let mut browser = Browser::new(&idp);
    browser.sign_in("test", "correct horse battery").await;
    assert_eq!(browser.get("/app").await.status, axum::http::StatusCode::OK);
    let logout = idfed_saml::build::logout_request_xml(&idfed_saml::build::LogoutRequestSpec {
        id: "_lo1".into(),
        issue_instant: now(),
        issuer: SP.into(),
        destination: "http://127.0.0.1:8080/app/wiki/slo".into(),
        name_id: idfed_saml::model::NameId { value: "test@example.com".into(), ..Default::default() },
        session_index: None,
    })
    .unwrap();
    let signer = Some((&other_key().key, SignatureAlgorithm::RsaSha256));
    let url = redirect_url("/app/wiki/slo", Param::SamlRequest, &logout, Some("bye"), signer).unwrap();
    // Opened in someone else's browser, a signed request for test signs nobody out.
    let mut other = Browser::new(&idp);
    other.sign_in("agent.one@example.com", "correct horse battery").await;
    let refused = other.get(&url).await;
    assert_eq!(refused.status, axum::http::StatusCode::BAD_REQUEST, "{}", refused.body);
    assert_eq!(other.get("/app").await.status, axum::http::StatusCode::OK, "the other person stays signed in");
    let answer = browser.get(&url).await;
    assert_eq!(answer.status, axum::http::StatusCode::SEE_OTHER, "{}", answer.body);
    let location = answer.location.unwrap();
    let (endpoint, query) = location.split_once('?').unwrap();
    assert_eq!(endpoint, "https://wiki.example.com/saml/slo");
    let message = idfed_saml::bindings::parse_redirect(query).unwrap();
    idfed_saml::bindings::verify_redirect(&message, std::slice::from_ref(&idp_key().certificate), false).unwrap();
    assert!(message.xml.contains("InResponseTo=\"_lo1\"") && message.xml.contains("status:Success"), "{}", message.xml);
    assert_eq!(message.relay_state.as_deref(), Some("bye"));
    assert_eq!(browser.get("/app").await.status, axum::http::StatusCode::SEE_OTHER, "signed out at the IdP");
    // Signed in again, the same request replayed is refused: a request is answered once.
    browser.sign_in("test", "correct horse battery").await;
    let replayed = browser.get(&url).await;
    assert_eq!(replayed.status, axum::http::StatusCode::BAD_REQUEST);
    assert!(replayed.body.contains("already used"), "{}", replayed.body);
    assert_eq!(browser.get("/app").await.status, axum::http::StatusCode::OK, "still signed in");
    let unsigned = redirect_url("/app/wiki/slo", Param::SamlRequest, &logout, None, None).unwrap();
    assert_eq!(browser.get(&unsigned).await.status, axum::http::StatusCode::BAD_REQUEST);
    let misaddressed = logout.replace("/app/wiki/slo", "/app/wiki/saml");
    let url = redirect_url("/app/wiki/slo", Param::SamlRequest, &misaddressed, None, signer).unwrap();
    let refused = browser.get(&url).await;
    assert_eq!(refused.status, axum::http::StatusCode::BAD_REQUEST);
    assert!(refused.body.contains("the LogoutRequest is addressed to"), "{}", refused.body);
    assert_eq!(browser.get("/app").await.status, axum::http::StatusCode::OK, "still signed in");
    let metadata = browser.get("/app/wiki/metadata").await;
    assert!(metadata.body.contains("SingleLogoutService") && metadata.body.contains("/app/wiki/slo"));
    assert!(metadata.body.contains("WantAuthnRequestsSigned=\"true\""), "this app requires signed requests");
    let aws = browser.get("/app/aws/metadata").await;
    assert!(aws.body.contains("WantAuthnRequestsSigned=\"false\""), "{}", aws.body);
}

#[tokio::test]
async fn an_sp_that_asks_for_one_time_use_gets_it_in_the_conditions() {
    let mut tenant = tenant_with_wiki(false, false);
    let idp = idp_with(tenant.clone()).await;
    let plain = idp.issue("wiki", "test", &Default::default()).unwrap();
    let mut config = sp_config("unused");
    config.in_response_to = None;
    let accepted = validate_response(&plain.xml, &config, now()).unwrap();
    assert!(!accepted.assertion.conditions.unwrap().one_time_use, "not unless asked");

    if let AppKind::Saml(saml) = &mut tenant.apps.iter_mut().find(|a| a.name == "wiki").unwrap().kind {
        saml.one_time_use = true;
    }
    let idp = idp_with(tenant).await;
    let issued = idp.issue("wiki", "test", &Default::default()).unwrap();
    assert!(issued.xml.contains("<saml:OneTimeUse/>"), "{}", issued.xml);
    let accepted = validate_response(&issued.xml, &config, now()).unwrap();
    assert!(accepted.assertion.conditions.unwrap().one_time_use, "the signed assertion carries OneTimeUse");
}

/// python3-saml's strict SP (tools/oracles/p3saml_sp.py) on a Response for the wiki, answering
/// `request_id`; its verdict, or None (said loudly) where python3-saml is not installed.
pub(crate) fn python3_saml_sp(response: &Path, request_id: &str, extra: &[&OsStr]) -> Option<serde_json::Value> {
    let python = repo_root().join(".venv/bin/python");
    if !python.exists() {
        assert!(!oracles_required(), "python3-saml is required (IDFED_REQUIRE_ORACLES=1)");
        eprintln!("SKIPPED (part): python3-saml not installed");
        return None;
    }
    let idp_cert = scratch(&format!("p3saml-idp-{request_id}.pem"));
    std::fs::write(&idp_cert, &idp_key().cert_pem).unwrap();
    let out = Command::new(&python)
        .arg(repo_root().join("tools/oracles/p3saml_sp.py"))
        .arg("--response")
        .arg(response)
        .args(["--idp-entity-id", "http://127.0.0.1:8080/app/wiki", "--idp-cert"])
        .arg(&idp_cert)
        .args(["--sp-entity-id", SP, "--acs", ACS, "--request-id", request_id, "--now", "2026-12-02T10:00:30Z"])
        .args(extra)
        .output()
        .unwrap();
    let verdict = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)));
    Some(verdict)
}

#[tokio::test]
async fn one_address_may_send_only_so_many_requests_a_minute_and_a_refused_one_leaves_nothing() {
    use std::sync::atomic::Ordering;
    let (clock, seconds) = moving_clock();
    let mut idp = crate::web::idp_on_clock(tenant_with_wiki(false, false), crate::web::BASE, clock).await;
    Arc::get_mut(&mut idp).unwrap().request_limit = idfed_idp::backoff::SourceLimit::requests(3);
    let mut browser = Browser::new(&idp);
    let encoded = |id: &str| idfed_saml::encoding::base64_encode(request(id, None, SP).as_bytes());
    for id in ["_n1", "_n2", "_n3"] {
        assert_eq!(
            browser.post("/app/wiki/saml", &[("SAMLRequest", &encoded(id))]).await.status,
            StatusCode::SEE_OTHER
        );
    }
    let refused = browser.post("/app/wiki/saml", &[("SAMLRequest", &encoded("_n4"))]).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS, "{}", refused.body);
    assert_eq!(refused.headers.get("retry-after").unwrap(), "60");
    assert!(refused.body.contains("Too many sign-in requests from your network"), "{}", refused.body);
    // Nothing of the refused request was kept: a minute later it is new, not a replay.
    seconds.fetch_add(60, Ordering::SeqCst);
    assert_eq!(browser.post("/app/wiki/saml", &[("SAMLRequest", &encoded("_n4"))]).await.status, StatusCode::SEE_OTHER);
    // The redirect binding counts against the same allowance.
    let redirect =
        |id: &str| redirect_url("/app/wiki/saml", Param::SamlRequest, &request(id, None, SP), None, None).unwrap();
    assert_eq!(browser.get(&redirect("_n5")).await.status, StatusCode::SEE_OTHER);
    assert_eq!(browser.get(&redirect("_n6")).await.status, StatusCode::SEE_OTHER);
    assert_eq!(browser.get(&redirect("_n7")).await.status, StatusCode::TOO_MANY_REQUESTS);
}
