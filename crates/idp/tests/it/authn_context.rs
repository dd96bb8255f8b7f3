//! What an SP asks of the sign-in in its AuthnRequest: RequestedAuthnContext (met, met after a
//! step-up to the second factor, or answered with `NoAuthnContext`) and IsPassive (answered
//! with `NoPassive` rather than a sign-in page). Every refusal is a signed status Response
//! posted to the app, which our SP validator and python3-saml read.

use axum::http::StatusCode;
use idfed_saml::build::{AuthnRequestSpec, authn_request_xml};
use idfed_saml::dsig::{VerifyOptions, verify_enveloped};
use idfed_saml::encoding::{base64_encode, find_saml};
use idfed_saml::model::{Comparison, RequestedAuthnContext, ResponseHeader};
use idfed_saml::ns;
use idfed_saml::random::SystemRandom;
use idfed_saml::sp::validate_response;

use idfed_idp::web::percent_encode;

use crate::common::*;
use crate::sp_initiated::{ACS, python3_saml_sp, request_spec, sp_config, tenant_with_wiki};
use crate::web::{Browser, form_value, idp_with};

fn asking(comparison: Comparison, classes: &[&str]) -> Option<RequestedAuthnContext> {
    Some(RequestedAuthnContext {
        comparison,
        class_refs: classes.iter().map(|c| (*c).to_owned()).collect(),
        decl_refs: vec![],
    })
}

/// Sends `spec` by HTTP-POST (the wiki takes unsigned requests) with a RelayState; the answer.
async fn send(browser: &mut Browser, spec: AuthnRequestSpec) -> crate::web::Answer {
    let encoded = base64_encode(authn_request_xml(&spec).unwrap().as_bytes());
    browser.post("/app/wiki/saml", &[("SAMLRequest", &encoded), ("RelayState", "back-to-page")]).await
}

/// The Response a page posts to the wiki's ACS (with the RelayState sent back).
fn posted(page: &crate::web::Answer) -> String {
    assert_eq!(page.status, StatusCode::OK, "{:?} {}", page.location, page.body);
    assert!(page.body.contains(&format!("action=\"{ACS}\"")), "{}", page.body);
    assert_eq!(form_value(&page.body, "RelayState").as_deref(), Some("back-to-page"));
    find_saml(form_value(&page.body, "SAMLResponse").unwrap().as_bytes()).unwrap().xml
}

/// A status Response's header, once its signature (over the whole Response) verifies.
fn signed_status(xml: &str) -> ResponseHeader {
    let doc = roxmltree::Document::parse(xml).unwrap();
    let trusted = std::slice::from_ref(&idp_key().certificate);
    assert!(verify_enveloped(doc.root_element(), VerifyOptions { trusted, allow_sha1: false }).unwrap().is_some());
    assert!(!xml.contains("Assertion"), "no assertion: {xml}");
    ResponseHeader::from_node(doc.root_element()).unwrap()
}

fn status_of(header: &ResponseHeader) -> (String, String) {
    let status = header.status.clone().unwrap();
    assert_eq!(status.code, ns::STATUS_RESPONDER);
    (status.sub_code.unwrap(), status.message.unwrap_or_default())
}

#[tokio::test]
async fn an_app_asking_for_a_second_factor_gets_no_authn_context_until_the_person_steps_up() {
    let idp = idp_with(tenant_with_wiki(false, false)).await;
    let mut browser = Browser::new(&idp);
    browser.sign_in("test", "correct horse battery").await;
    let mfa = asking(Comparison::Exact, &[ns::AC_REFEDS_MFA]);

    // Signed in with the password alone, and no authenticator to step up with.
    let held =
        send(&mut browser, AuthnRequestSpec { requested_authn_context: mfa.clone(), ..request_spec("_mfa1") }).await;
    let xml = posted(&browser.get(held.location.as_deref().unwrap()).await);
    let header = signed_status(&xml);
    assert_eq!(header.in_response_to.as_deref(), Some("_mfa1"));
    assert_eq!(header.destination.as_deref(), Some(ACS));
    let (sub_code, message) = status_of(&header);
    assert_eq!(sub_code, ns::STATUS_NO_AUTHN_CONTEXT);
    assert_eq!(message, "the app asks for a sign-in with a second factor");
    let refused = validate_response(&xml, &sp_config("_mfa1"), now()).unwrap_err();
    assert_eq!(refused.reason, idfed_saml::Reason::Status, "{refused}");
    python3_saml_reads_the_status(&xml);
    let log =
        idp.events(&idfed_store::EventFilter { event: Some("app.sso".into()), ..Default::default() }).await.unwrap();
    let refusal = log.iter().find(|e| e.outcome == "failure").unwrap();
    let detail: serde_json::Value = serde_json::from_str(&refusal.detail).unwrap();
    assert_eq!(detail["status"], ns::STATUS_NO_AUTHN_CONTEXT);
    assert!(
        detail["reason"].as_str().unwrap().contains("test has no authenticator set up"),
        "the log says who: {detail}"
    );
    assert_eq!(detail["in_response_to"], "_mfa1");

    // With an authenticator, the same ask is a full sign-in: password, then code, then on. A code
    // alone would not do: it could be an authenticator enrolled by whoever holds this session.
    idp.change_credentials(|c| c.enroll_totp("test", &SystemRandom::new())).await.unwrap().unwrap();
    let held = send(&mut browser, AuthnRequestSpec { requested_authn_context: mfa, ..request_spec("_mfa2") }).await;
    let next = held.location.unwrap();
    let step_up = browser.get(&next).await;
    assert_eq!(
        step_up.location,
        Some(format!("/login?return_to={}", percent_encode(&next))),
        "a sign-in, not just a code"
    );
    let code_only = browser.get(&format!("/login/mfa?return_to={next}")).await;
    assert!(code_only.location.unwrap().starts_with("/login?"), "no code page for a complete session");
    browser.get("/login").await;
    let csrf = browser.csrf();
    let form =
        [("csrf", csrf.as_str()), ("username", "test"), ("password", "correct horse battery"), ("return_to", &next)];
    let password = browser.post("/login", &form).await;
    assert_eq!(password.location, Some(format!("/login/mfa?return_to={}", percent_encode(&next))));
    let csrf = browser.csrf();
    let code = idp.with_credentials(|c| c.current_totp("test", now())).unwrap();
    let proven = browser.post("/login/mfa", &[("csrf", &csrf), ("code", &code), ("return_to", &next)]).await;
    assert_eq!(proven.location.as_deref(), Some(next.as_str()));
    let xml = posted(&browser.get(&next).await);
    let accepted = validate_response(&xml, &sp_config("_mfa2"), now()).unwrap();
    let statement = &accepted.assertion.authn_statements[0];
    assert_eq!(statement.authn_context_class_ref.as_deref(), Some(ns::AC_REFEDS_MFA));

    // At most PasswordProtectedTransport: a multi-factor sign-in states the password only.
    let capped = asking(Comparison::Maximum, &[ns::AC_PASSWORD_PROTECTED]);
    let held = send(&mut browser, AuthnRequestSpec { requested_authn_context: capped, ..request_spec("_max") }).await;
    let xml = posted(&browser.get(held.location.as_deref().unwrap()).await);
    let accepted = validate_response(&xml, &sp_config("_max"), now()).unwrap();
    let statement = &accepted.assertion.authn_statements[0];
    assert_eq!(statement.authn_context_class_ref.as_deref(), Some(ns::AC_PASSWORD_PROTECTED));
}

#[tokio::test]
async fn a_passive_request_is_answered_without_a_sign_in_page() {
    let idp = idp_with(tenant_with_wiki(false, false)).await;
    let mut browser = Browser::new(&idp);
    let passive = |id: &str| AuthnRequestSpec { is_passive: true, ..request_spec(id) };

    let held = send(&mut browser, passive("_p1")).await;
    let xml = posted(&browser.get(held.location.as_deref().unwrap()).await);
    let (sub_code, message) = status_of(&signed_status(&xml));
    assert_eq!(sub_code, ns::STATUS_NO_PASSIVE);
    assert!(message.contains("IsPassive"), "{message}");

    browser.sign_in("test", "correct horse battery").await;
    let held = send(&mut browser, passive("_p2")).await;
    let xml = posted(&browser.get(held.location.as_deref().unwrap()).await);
    validate_response(&xml, &sp_config("_p2"), now()).unwrap();

    // Without an authenticator no interaction would help: that is NoAuthnContext.
    let mfa = asking(Comparison::Minimum, &[ns::AC_MICROSOFT_MFA]);
    let held = send(&mut browser, AuthnRequestSpec { requested_authn_context: mfa, ..passive("_p2b") }).await;
    let xml = posted(&browser.get(held.location.as_deref().unwrap()).await);
    assert_eq!(status_of(&signed_status(&xml)).0, ns::STATUS_NO_AUTHN_CONTEXT);

    // A step-up is interaction too.
    idp.change_credentials(|c| c.enroll_totp("test", &SystemRandom::new())).await.unwrap().unwrap();
    let mfa = asking(Comparison::Minimum, &[ns::AC_MICROSOFT_MFA]);
    let held = send(&mut browser, AuthnRequestSpec { requested_authn_context: mfa, ..passive("_p3") }).await;
    let xml = posted(&browser.get(held.location.as_deref().unwrap()).await);
    assert_eq!(status_of(&signed_status(&xml)).0, ns::STATUS_NO_PASSIVE);
}

#[tokio::test]
async fn a_request_no_sign_in_can_meet_is_answered_before_anyone_signs_in() {
    let idp = idp_with(tenant_with_wiki(false, false)).await;
    let mut browser = Browser::new(&idp);
    let smartcard = asking(Comparison::Exact, &["urn:oasis:names:tc:SAML:2.0:ac:classes:Smartcard"]);
    let answer =
        send(&mut browser, AuthnRequestSpec { requested_authn_context: smartcard, ..request_spec("_sc") }).await;
    let header = signed_status(&posted(&answer));
    assert_eq!(header.in_response_to.as_deref(), Some("_sc"));
    let (sub_code, message) = status_of(&header);
    assert_eq!(sub_code, ns::STATUS_NO_AUTHN_CONTEXT);
    assert!(message.contains("Smartcard") && message.contains("none of the authentication classes"), "{message}");
    let better = asking(Comparison::Better, &[ns::AC_REFEDS_MFA]);
    let answer = send(&mut browser, AuthnRequestSpec { requested_authn_context: better, ..request_spec("_b") }).await;
    assert_eq!(status_of(&signed_status(&posted(&answer))).0, ns::STATUS_NO_AUTHN_CONTEXT);
}

/// python3-saml, as the SP, refuses the Response for its status and says so.
fn python3_saml_reads_the_status(xml: &str) {
    let response = scratch("no-authn-context.xml");
    std::fs::write(&response, xml).unwrap();
    let Some(verdict) = python3_saml_sp(&response, "_mfa1", &[]) else { return };
    assert_eq!(verdict["valid"], false, "{verdict}");
    let error = verdict["error"].as_str().unwrap_or_default();
    assert!(error.contains("Responder -> the app asks for a sign-in with a second factor"), "{verdict}");
}

#[tokio::test]
async fn a_name_id_format_the_app_does_not_send_is_an_invalid_name_id_policy() {
    let idp = idp_with(tenant_with_wiki(false, false)).await;
    let mut browser = Browser::new(&idp);
    let asking_for =
        |id: &str, format: &str| AuthnRequestSpec { name_id_format: Some(format.into()), ..request_spec(id) };
    let answer = send(&mut browser, asking_for("_persistent", ns::NAMEID_PERSISTENT)).await;
    let header = signed_status(&posted(&answer));
    assert_eq!(header.in_response_to.as_deref(), Some("_persistent"));
    let status = header.status.unwrap();
    assert_eq!(status.code, ns::STATUS_REQUESTER);
    assert_eq!(status.sub_code.as_deref(), Some(ns::STATUS_INVALID_NAMEID_POLICY));
    let message = status.message.unwrap();
    assert!(
        message.contains("asks for NameID format urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"),
        "{message}"
    );
    assert!(message.contains("Team Wiki sends urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"), "{message}");
    // What the SP wrote goes into the signed message cut short.
    let long = format!("urn:x:{}", "f".repeat(10_000));
    let header = signed_status(&posted(&send(&mut browser, asking_for("_long", &long)).await));
    let message = header.status.unwrap().message.unwrap();
    assert!(message.len() < 300 && message.contains("urn:x:fff") && message.contains('…'), "{message}");
    // The format it sends, or any (unspecified, as SAML 1.1 or as SPs write it for 2.0), is held
    // for sign-in as before.
    let any_2_0 = "urn:oasis:names:tc:SAML:2.0:nameid-format:unspecified";
    for (id, format) in [("_email", ns::NAMEID_EMAIL), ("_any", ns::NAMEID_UNSPECIFIED), ("_any2", any_2_0)] {
        let held = send(&mut browser, asking_for(id, format)).await;
        assert_eq!(held.status, StatusCode::SEE_OTHER, "{format}: {}", held.body);
    }
}

#[tokio::test]
async fn force_authn_asks_for_the_password_again_and_cannot_be_passive() {
    let (clock, seconds) = moving_clock();
    let idp = crate::web::idp_on_clock(tenant_with_wiki(false, false), crate::web::BASE, clock).await;
    let mut browser = Browser::new(&idp);
    browser.sign_in("test", "correct horse battery").await;
    seconds.fetch_add(30, std::sync::atomic::Ordering::SeqCst);
    let forced = |id: &str| AuthnRequestSpec { force_authn: true, ..request_spec(id) };
    let held = send(&mut browser, AuthnRequestSpec { is_passive: true, ..forced("_fp") }).await;
    let xml = posted(&browser.get(held.location.as_deref().unwrap()).await);
    assert_eq!(status_of(&signed_status(&xml)).0, ns::STATUS_NO_PASSIVE, "a fresh sign-in is interaction");

    let held = send(&mut browser, forced("_f")).await;
    let next = held.location.unwrap();
    let asked = browser.get(&next).await.location;
    assert_eq!(asked, Some(format!("/login?return_to={}", percent_encode(&next))), "signed in, yet asked");
    browser.get("/login").await;
    let csrf = browser.csrf();
    let form =
        [("csrf", csrf.as_str()), ("username", "test"), ("password", "correct horse battery"), ("return_to", &next)];
    assert_eq!(browser.post("/login", &form).await.location.as_deref(), Some(next.as_str()));
    let xml = posted(&browser.get(&next).await);
    validate_response(&xml, &sp_config("_f"), now().plus_seconds(30)).unwrap();
}

#[tokio::test]
async fn a_passive_request_for_someone_the_app_is_not_assigned_to_is_denied_without_a_page() {
    let idp = idp_with(tenant_with_wiki(false, false)).await;
    let mut browser = Browser::new(&idp);
    browser.sign_in("agent.one@example.com", "correct horse battery").await;
    let held = send(&mut browser, AuthnRequestSpec { is_passive: true, ..request_spec("_denied") }).await;
    let xml = posted(&browser.get(held.location.as_deref().unwrap()).await);
    let (sub_code, message) = status_of(&signed_status(&xml));
    assert_eq!(sub_code, ns::STATUS_REQUEST_DENIED);
    assert_eq!(message, "the person may not use this app");
    // Not passive: the error page, as before, and no status goes to the app.
    let mfa = asking(Comparison::Exact, &[ns::AC_REFEDS_MFA]);
    let held = send(&mut browser, AuthnRequestSpec { requested_authn_context: mfa, ..request_spec("_page") }).await;
    let page = browser.get(held.location.as_deref().unwrap()).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.body);
    assert!(page.body.contains("is not assigned to Team Wiki") && !page.body.contains("SAMLResponse"), "{}", page.body);
    let reloaded = browser.get(held.location.as_deref().unwrap()).await;
    assert_eq!(reloaded.status, StatusCode::BAD_REQUEST, "answered once: {}", reloaded.body);
}
