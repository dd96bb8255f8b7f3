//! The browser side of the sandbox, in process: the sign-in endpoint with its role picker and
//! error pages, the console session, and Amazon Connect federation to the admin console or
//! the CCP, with the failures F01, F02, F04, F20, F21, F22 and F23 as AWS shows them.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{Request, StatusCode, header};
use idfed_aws::auth::Caller;
use idfed_aws::connect::{self, NewUser};
use idfed_aws::iam::{policies, roles};
use idfed_aws::server::{Sandbox, router};
use idfed_aws::state::State;
use idfed_saml::aws::RolePair;
use idfed_saml::encoding::percent_encode;
use tower::ServiceExt;

use crate::common::*;

const SANDBOX: &str = "http://127.0.0.1:4566";

struct World {
    app: axum::Router,
    instance: String,
}

fn world(with_federation_policy: bool, agent_username: &str) -> World {
    world_where(with_federation_policy, agent_username, |_| {})
}

/// As [`world`], with the state changed by `change` before the sandbox starts.
fn world_where(with_federation_policy: bool, agent_username: &str, change: impl FnOnce(&mut State)) -> World {
    let mut state: State = seeded_state();
    let rng = Seeded::new(11);
    // The browser posts to the sandbox's own sign-in URL, which becomes SAML:aud.
    roles::update_assume_role_policy(
        &mut state,
        ACCOUNT,
        "Okta_Role",
        &trust_policy(&["sts:AssumeRoleWithSAML"], PROVIDER, &format!("{SANDBOX}/saml")),
    )
    .unwrap();
    let (instance, _) =
        connect::create_instance(&mut state, ACCOUNT, "us-east-1", "corp-cc", "SAML", now(), &rng).unwrap();
    let agent_profile = state.connect_instances[&instance].security_profiles["Agent"].clone();
    let new = NewUser {
        username: agent_username,
        first_name: Some("Ada"),
        last_name: Some("Agent"),
        email: None,
        password: None,
        security_profile_ids: vec![agent_profile],
    };
    connect::create_user(&mut state, ACCOUNT, &instance, &new, &rng).unwrap();
    if with_federation_policy {
        let doc = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"connect:GetFederationToken","Resource":"arn:aws:connect:us-east-1:{ACCOUNT}:instance/{instance}/user/${{aws:userid}}"}}]}}"#
        );
        let arn = policies::create(&mut state, ACCOUNT, "okta_federation_policy", "/", &doc, now(), &rng).unwrap();
        policies::attach(&mut state, ACCOUNT, &policies::Holder::Role("Okta_Role"), &arn).unwrap();
    }
    change(&mut state);
    let sandbox = Sandbox::new(state, Arc::new(now), vec![format!("{SANDBOX}/saml")]);
    let app = router(Arc::new(sandbox)).layer(MockConnectInfo(SocketAddr::from(([127, 0, 0, 1], 50_000))));
    World { app, instance }
}

struct Reply {
    status: StatusCode,
    location: Option<String>,
    cookie: Option<String>,
    body: String,
}

async fn send(app: &axum::Router, request: Request<Body>) -> Reply {
    let response = app.clone().oneshot(request).await.unwrap();
    let get = |h: header::HeaderName| response.headers().get(h).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (status, location, cookie) = (response.status(), get(header::LOCATION), get(header::SET_COOKIE));
    let body = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
    Reply { status, location, cookie, body: String::from_utf8_lossy(&body).into_owned() }
}

async fn post_saml(app: &axum::Router, xml: &str, relay: Option<&str>, role: Option<&str>) -> Reply {
    post_saml_to(app, "/saml", xml, relay, role).await
}

async fn post_saml_to(app: &axum::Router, path: &str, xml: &str, relay: Option<&str>, role: Option<&str>) -> Reply {
    let mut form = format!("SAMLResponse={}", percent_encode(&b64(xml)));
    if let Some(r) = relay {
        form.push_str(&format!("&RelayState={}", percent_encode(r)));
    }
    if let Some(r) = role {
        form.push_str(&format!("&roleIndex={}", percent_encode(r)));
    }
    let request = Request::post(path)
        .header(header::HOST, "127.0.0.1:4566")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form))
        .unwrap();
    send(app, request).await
}

async fn get(app: &axum::Router, path: &str, cookie: Option<&str>) -> Reply {
    let mut request = Request::get(path).header(header::HOST, "127.0.0.1:4566");
    if let Some(c) = cookie {
        request = request.header(header::COOKIE, c.split(';').next().unwrap());
    }
    send(app, request.body(Body::empty()).unwrap()).await
}

fn for_sandbox(mut r: idfed_saml::aws::AwsResponse) -> String {
    r.acs_url = format!("{SANDBOX}/saml");
    sign_with(&spec_of(&r, now()), idp(), |x| x)
}

fn agent_response() -> idfed_saml::aws::AwsResponse {
    let mut r = response();
    r.role_session_name = "agent@example.com".into();
    r.session_duration = Some(28_800);
    r
}

#[tokio::test]
async fn single_role_signs_in_and_federates_to_the_ccp() {
    let w = world(true, "agent@example.com");
    let relay = format!("{SANDBOX}/connect/federate/{}?destination=%2Fconnect%2Fccp-v2", w.instance);
    let signed_in = post_saml(&w.app, &for_sandbox(agent_response()), Some(&relay), None).await;
    assert_eq!(signed_in.status, StatusCode::FOUND, "{}", signed_in.body);
    assert_eq!(
        signed_in.location.as_deref(),
        Some(format!("/connect/federate/{}?destination=%2Fconnect%2Fccp-v2", w.instance).as_str())
    );
    let cookie = signed_in.cookie.unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Max-Age=28800"),
        "{cookie}"
    );
    let federated = get(&w.app, signed_in.location.as_deref().unwrap(), Some(&cookie)).await;
    assert_eq!((federated.status, federated.location.as_deref()), (StatusCode::FOUND, Some("/connect/ccp-v2")));
    let ccp = get(&w.app, "/connect/ccp-v2", Some(&cookie)).await;
    assert_eq!(ccp.status, StatusCode::OK);
    assert!(
        ccp.body.contains("<strong id=\"agent-name\">Ada Agent</strong>") && ccp.body.contains("agent@example.com"),
        "{}",
        ccp.body
    );
    let home = get(&w.app, "/console/home", Some(&cookie)).await;
    assert!(home.body.contains("assumed-role/Okta_Role/agent@example.com"), "{}", home.body);
    assert!(
        home.body.contains(&now().plus_seconds(28_800).to_string()),
        "SessionDuration sets the console session: {}",
        home.body
    );
    // Without destination, the admin home of the instance.
    let admin = get(&w.app, &format!("/connect/federate/{}", w.instance), Some(&cookie)).await;
    assert_eq!(admin.location.as_deref(), Some("/connect/home"));
    assert!(
        get(&w.app, "/connect/home", Some(&cookie))
            .await
            .body
            .contains("Security profiles: <span id=\"security-profiles\">Agent</span>")
    );
}

#[tokio::test]
async fn two_roles_show_the_role_picker() {
    let w = world(true, "agent@example.com");
    let mut r = agent_response();
    r.roles
        .push(RolePair { role_arn: "arn:aws:iam::111122223333:role/Okta_Role".into(), provider_arn: PROVIDER.into() });
    r.roles[1].role_arn = "arn:aws:iam::111122223333:role/Readonly".into();
    let xml = for_sandbox(r);
    let picker = post_saml(&w.app, &xml, Some("/console/home"), None).await;
    assert_eq!(picker.status, StatusCode::OK);
    for expected in [
        "<form id=\"saml_form\" name=\"saml_form\" action=\"/saml\" method=\"post\">",
        "<div class=\"saml-account-name\">Account: corp (111122223333)</div>",
        "<input type=\"radio\" name=\"roleIndex\" value=\"arn:aws:iam::111122223333:role/Okta_Role\" id=\"arn:aws:iam::111122223333:role/Okta_Role\">",
        "<label for=\"arn:aws:iam::111122223333:role/Readonly\" class=\"saml-role-description\">Readonly</label>",
    ] {
        assert!(picker.body.contains(expected), "missing {expected}");
    }
    let chosen = post_saml(&w.app, &xml, Some("/console/home"), Some(ROLE)).await;
    assert_eq!((chosen.status, chosen.location.as_deref()), (StatusCode::FOUND, Some("/console/home")));
    // Readonly does not exist: STS says AccessDenied on the page.
    let denied = post_saml(&w.app, &xml, None, Some("arn:aws:iam::111122223333:role/Readonly")).await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    assert!(denied.body.contains("Not authorized to perform sts:AssumeRoleWithSAML (Service: AWSSecurityTokenService; Status Code: 403; Error Code: AccessDenied; Request ID: "));
}

#[tokio::test]
async fn invalid_responses_f01_f02_f04() {
    let w = world(true, "agent@example.com");
    let no_role = sign_with(&spec_of(&agent_response(), now()), idp(), |x| {
        x.replace(idfed_saml::aws::ATTR_ROLE, "https://aws.amazon.com/SAML/Attributes/Rol")
    });
    let only_provider =
        sign_with(&spec_of(&agent_response(), now()), idp(), |x| x.replace(&format!("{ROLE},{PROVIDER}"), PROVIDER));
    for xml in [no_role, only_provider] {
        let page = post_saml(&w.app, &xml, None, None).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST);
        assert!(page.body.contains("Your request included an invalid SAML response. To logout, click here."));
    }
    let mut bad_name = agent_response();
    bad_name.role_session_name = "Ada Agent".into();
    let page = post_saml(&w.app, &for_sandbox(bad_name), None, None).await;
    assert!(page.body.contains(
        "RoleSessionName in AuthnResponse must match [a-zA-Z_0-9+=,.@-]{2,64} (Service: AWSSecurityTokenService; Status Code: 400; Error Code: InvalidIdentityToken; Request ID: "
    ), "{}", page.body);
}

#[tokio::test]
async fn connect_failures_f20_f21_f22() {
    // F20: the role has no connect:GetFederationToken.
    let w = world(false, "agent@example.com");
    let cookie = post_saml(&w.app, &for_sandbox(agent_response()), None, None).await.cookie.unwrap();
    let page = get(&w.app, &format!("/connect/federate/{}", w.instance), Some(&cookie)).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.body.contains("Access denied, Please contact your AWS account administrator for assistance."));
    // F21: the Connect username differs in case from RoleSessionName.
    let w = world(true, "Agent@example.com");
    let cookie = post_saml(&w.app, &for_sandbox(agent_response()), None, None).await.cookie.unwrap();
    let page = get(&w.app, &format!("/connect/federate/{}", w.instance), Some(&cookie)).await;
    assert!(page.body.contains(
        "Access Denied. Your account has been authenticated, but has not been onboarded to this application."
    ));
    // F22: no federated session at all.
    let page = get(&w.app, &format!("/connect/federate/{}", w.instance), None).await;
    assert!(page.body.contains("Session Expired"));
    assert!(get(&w.app, "/connect/ccp-v2", None).await.body.contains("Session Expired"));
}

#[tokio::test]
async fn relay_state_never_leaves_the_sandbox() {
    let w = world(true, "agent@example.com");
    for (i, relay) in [
        "https://evil.test/",
        "//evil.test/connect/",
        "/\\evil.test",
        "javascript:alert(1)",
        "http://127.0.0.1:4566.evil.test/connect/x",
        "https://console.aws.amazon.com.evil.test/connect/x",
        "https://us-east-1.console.aws.amazon.com//evil.test/connect/",
        "http://us-east-1.console.aws.amazon.com/connect/federate/x",
        "https://us-east-1.console.aws.amazon.com/s3/home",
    ]
    .into_iter()
    .enumerate()
    {
        let r = post_saml(&w.app, &fresh_for_sandbox(agent_response(), i), Some(relay), None).await;
        assert_eq!(r.location.as_deref(), Some("/console/home"), "{relay}");
    }
}

/// An IdP set up for AWS names AWS's console in the RelayState, as Connect's guide says; the
/// sandbox serves that console itself, and the legacy `destination=/connect/ccp` opens the CCP.
#[tokio::test]
async fn relay_state_in_aws_console_form_lands_in_the_sandboxs_connect() {
    let w = world(true, "agent@example.com");
    let instance = &w.instance;
    let federate = format!("/connect/federate/{instance}");
    for (i, (relay, landing)) in [
        (format!("https://us-east-1.console.aws.amazon.com{federate}"), federate.clone()),
        (
            format!("https://console.amazonaws-us-gov.com{federate}?destination=%2Fccp-v2"),
            format!("{federate}?destination=%2Fccp-v2"),
        ),
        (
            format!("https://{}{federate}?destination=%2Fconnect%2Fccp", "127.0.0.1:4566"),
            format!("{federate}?destination=%2Fconnect%2Fccp"),
        ),
        (
            "https://console.aws.amazon.com/console/home?region=us-east-1".to_owned(),
            "/console/home?region=us-east-1".to_owned(),
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let r = post_saml(&w.app, &fresh_for_sandbox(agent_response(), 100 + i), Some(&relay), None).await;
        assert_eq!(r.location.as_deref(), Some(landing.as_str()), "{relay}");
    }
    let r = post_saml(
        &w.app,
        &fresh_for_sandbox(agent_response(), 200),
        Some(&format!("https://eu-west-2.console.aws.amazon.com{federate}?destination=%2Fconnect%2Fccp")),
        None,
    )
    .await;
    let cookie = r.cookie.unwrap();
    let federated = get(&w.app, r.location.as_deref().unwrap(), Some(&cookie)).await;
    assert_eq!(federated.location.as_deref(), Some("/connect/ccp-v2"), "{}", federated.body);
}

/// A response for the sandbox whose assertion ID is its own (`n`), so it is not a replay.
fn fresh_for_sandbox(mut r: idfed_saml::aws::AwsResponse, n: usize) -> String {
    r.acs_url = format!("{SANDBOX}/saml");
    let mut spec = spec_of(&r, now());
    spec.assertion_id = format!("_fresh{n}");
    sign_with(&spec, idp(), |x| x)
}

#[tokio::test]
async fn an_assertion_signs_in_once() {
    let w = world(true, "agent@example.com");
    let xml = fresh_for_sandbox(agent_response(), 1);
    let first = post_saml(&w.app, &xml, None, None).await;
    assert_eq!(first.status, StatusCode::FOUND, "{}", first.body);
    let again = post_saml(&w.app, &xml, None, None).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST, "a replayed response is refused");
    assert!(again.body.contains("this assertion was already used"), "{}", again.body);
    let other = post_saml(&w.app, &fresh_for_sandbox(agent_response(), 2), None, None).await;
    assert_eq!(other.status, StatusCode::FOUND, "another assertion still signs in");
}

fn federate_call<'a>(caller: &'a Caller, path: &'a str, rng: &'a Seeded) -> connect::api::Call<'a> {
    connect::api::Call { caller, region: "us-east-1", method: "GET", path, query: "", body: b"", now: now(), rng }
}

#[test]
fn get_federation_token_f23() {
    let mut state = seeded_state();
    let rng = Seeded::new(3);
    let (instance, _) =
        connect::create_instance(&mut state, ACCOUNT, "us-east-1", "corp", "SAML", now(), &rng).unwrap();
    let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"connect:GetFederationToken","Resource":"*"}]}"#;
    roles::put_inline_policy(&mut state, ACCOUNT, "Okta_Role", "federate", doc).unwrap();
    let xml = sign_with(&spec_of(&agent_response(), now()), idp(), |x| x);
    let request = idfed_aws::sts::assume_role_with_saml::AssumeRequest {
        role_arn: ROLE,
        principal_arn: PROVIDER,
        saml_assertion: &b64(&xml),
        ..Default::default()
    };
    let session = idfed_aws::sts::assume_role_with_saml::assume_role_with_saml(&state, &request, &[], now(), &rng)
        .unwrap()
        .session;
    state.sessions.insert(session.access_key.clone(), session.clone());
    let caller = Caller::from_session(&session);
    let federate_path = format!("/user/federate/{instance}");
    let e = connect::api::handle(&mut state, &federate_call(&caller, &federate_path, &rng)).unwrap_err();
    assert_eq!(
        (e.code.as_str(), e.status, e.message.as_str()),
        ("UserNotFoundException", 404, connect::USER_NOT_FOUND)
    );
    // SAML username rules.
    let profile = state.connect_instances[&instance].security_profiles["Agent"].clone();
    for (username, first, email) in [
        ("testuser@example", Some("A"), None),
        ("a b", Some("A"), None),
        ("corp\\agent", Some("A"), None),
        ("ok", None, None),
        ("ok", Some("A"), Some("a@b.c")),
    ] {
        let new = NewUser {
            username,
            first_name: first,
            last_name: Some("B"),
            email,
            password: None,
            security_profile_ids: vec![profile.clone()],
        };
        assert_eq!(
            connect::create_user(&mut state, ACCOUNT, &instance, &new, &rng).unwrap_err().code,
            "InvalidParameterException",
            "{username}"
        );
    }
    let new = NewUser {
        username: "agent@example.com",
        first_name: Some("Ada"),
        last_name: Some("Agent"),
        email: None,
        password: None,
        security_profile_ids: vec![profile],
    };
    connect::create_user(&mut state, ACCOUNT, &instance, &new, &rng).unwrap();
    let ok = connect::api::handle(&mut state, &federate_call(&caller, &federate_path, &rng)).unwrap();
    assert!(ok["UserArn"].as_str().unwrap().contains("/agent/"));
}

#[tokio::test]
async fn session_not_on_or_after_caps_the_console_session() {
    let w = world(true, "agent@example.com");
    let mut r = agent_response();
    r.session_not_on_or_after = Some(now().plus_seconds(1200));
    let signed_in = post_saml(&w.app, &for_sandbox(r), None, None).await;
    let cookie = signed_in.cookie.unwrap();
    assert!(cookie.contains("Max-Age=1200"), "{cookie}");
    let home = get(&w.app, "/console/home", Some(&cookie)).await;
    assert!(home.body.contains(&now().plus_seconds(1200).to_string()), "{}", home.body);
}

#[tokio::test]
async fn session_duration_comes_from_the_signed_assertion_only() {
    let w = world(true, "agent@example.com");
    let mut r = agent_response();
    r.session_duration = None;
    let signed = for_sandbox(r);
    // An attribute added to the unsigned envelope, ahead of the Assertion, must not count.
    let injected = signed.replacen(
        "<samlp:Status>",
        &format!(
            "<samlp:Extensions><saml:Attribute Name=\"{}\"><saml:AttributeValue>43200</saml:AttributeValue></saml:Attribute></samlp:Extensions><samlp:Status>",
            idfed_saml::aws::ATTR_SESSION_DURATION
        ),
        1,
    );
    assert_ne!(injected, signed);
    let signed_in = post_saml(&w.app, &injected, None, None).await;
    let cookie = signed_in.cookie.unwrap_or_else(|| panic!("not signed in: {}", signed_in.body));
    assert!(cookie.contains("Max-Age=3600"), "{cookie}");
}

fn two_roles(mut r: idfed_saml::aws::AwsResponse) -> idfed_saml::aws::AwsResponse {
    r.roles
        .push(RolePair { role_arn: "arn:aws:iam::111122223333:role/Readonly".into(), provider_arn: PROVIDER.into() });
    r.acs_url = format!("{SANDBOX}/saml");
    r
}

#[tokio::test]
async fn the_role_picker_is_shown_only_for_a_response_that_verifies() {
    let w = world(true, "agent@example.com");
    let forged = sign_with(&spec_of(&two_roles(agent_response()), now()), rotated_idp(), |x| x);
    let page = post_saml(&w.app, &forged, None, None).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(!page.body.contains("saml_form"), "no picker, no account names for a forged response");
    assert!(
        page.body.contains("Response signature invalid (Service: AWSSecurityTokenService; Status Code: 400; Error Code: InvalidIdentityToken; Request ID: "),
        "{}",
        page.body
    );
    let mut other_issuer = two_roles(agent_response());
    other_issuer.issuer = "http://www.okta.com/exkSOMEONEELSE".into();
    let page = post_saml(&w.app, &sign_with(&spec_of(&other_issuer, now()), idp(), |x| x), None, None).await;
    assert!(!page.body.contains("saml_form"));
    assert!(
        page.body.contains("Failed to assume role: Issuer not present in specified provider (Service: AWSOpenIdDiscoveryService; Status Code: 400; Error Code: AuthSamlInvalidSamlResponseException; Request ID: "),
        "F07 as the sign-in page shows it: {}",
        page.body
    );
    let genuine = sign_with(&spec_of(&two_roles(agent_response()), now()), idp(), |x| x);
    assert!(post_saml(&w.app, &genuine, None, None).await.body.contains("saml_form"), "the control");
}

#[tokio::test]
async fn a_response_names_the_endpoint_it_is_posted_to() {
    let mut uuid = String::new();
    let w = world_where(true, "agent@example.com", |s| uuid = s.providers[PROVIDER].uuid.clone());
    let mut to_own = agent_response();
    to_own.acs_url = format!("{SANDBOX}/saml/acs/{uuid}");
    let page = post_saml(&w.app, &sign_with(&spec_of(&to_own, now()), idp(), |x| x), None, None).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(
        page.body.contains(&format!(
            "Recipient {SANDBOX}/saml/acs/{uuid} is not the sign-in endpoint the response was posted to (/saml)"
        )),
        "{}",
        page.body
    );
    let page = post_saml_to(&w.app, &format!("/saml/acs/{uuid}"), &for_sandbox(agent_response()), None, None).await;
    assert!(page.body.contains("is not the sign-in endpoint the response was posted to"), "{}", page.body);
    let page =
        post_saml_to(&w.app, "/saml/acs/SAMLSPNOSUCHPROVIDER01", &for_sandbox(agent_response()), None, None).await;
    assert!(page.body.contains("Your request included an invalid SAML response."), "{}", page.body);
}

#[tokio::test]
async fn an_encrypted_assertion_signs_in_at_the_providers_own_endpoint_f24() {
    let sp_key = rotated_idp();
    let mut uuid = String::new();
    let w = world_where(true, "agent@example.com", |s| {
        let provider = s.providers.get_mut(PROVIDER).unwrap();
        provider.assertion_encryption_mode = Some("Required".into());
        provider.private_keys.push(("KEY1".into(), sp_key.key_pem.clone(), now()));
        uuid = provider.uuid.clone();
        let own = format!("{SANDBOX}/saml/acs/{uuid}");
        roles::update_assume_role_policy(
            s,
            ACCOUNT,
            "Okta_Role",
            &trust_policy(&["sts:AssumeRoleWithSAML"], PROVIDER, &own),
        )
        .unwrap();
    });
    let mut r = agent_response();
    r.acs_url = format!("{SANDBOX}/saml/acs/{uuid}");
    let plain = sign_with(&spec_of(&r, now()), idp(), |x| x);
    let encrypted =
        idfed_saml::xmlenc::encrypt_assertion(&plain, &sp_key.cert, Default::default(), &Seeded::new(3)).unwrap();
    let refused = post_saml_to(&w.app, &format!("/saml/acs/{uuid}"), &plain, None, None).await;
    assert!(refused.body.contains("requires encrypted assertions"), "F24: {}", refused.body);
    let elsewhere = post_saml(&w.app, &encrypted, None, None).await;
    assert_eq!(elsewhere.status, StatusCode::BAD_REQUEST, "not at the shared endpoint");
    let signed_in = post_saml_to(&w.app, &format!("/saml/acs/{uuid}"), &encrypted, None, None).await;
    assert_eq!(signed_in.status, StatusCode::FOUND, "{}", signed_in.body);
    assert_eq!(signed_in.location.as_deref(), Some("/console/home"));
}

#[tokio::test]
async fn a_federation_policy_may_name_the_instance_by_its_condition_key() {
    let instance_policy = |instance: &str| {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"connect:GetFederationToken","Resource":"*","Condition":{{"StringEquals":{{"connect:InstanceId":"{instance}"}}}}}}]}}"#
        )
    };
    for (names_this_one, expected) in [(true, StatusCode::FOUND), (false, StatusCode::FORBIDDEN)] {
        let w = world_where(false, "agent@example.com", |s| {
            let this = s.connect_instances.keys().next().unwrap().clone();
            let named = if names_this_one { this } else { "00000000-0000-0000-0000-000000000000".to_owned() };
            let rng = Seeded::new(12);
            let arn = policies::create(s, ACCOUNT, "by_instance", "/", &instance_policy(&named), now(), &rng).unwrap();
            policies::attach(s, ACCOUNT, &policies::Holder::Role("Okta_Role"), &arn).unwrap();
        });
        let cookie = post_saml(&w.app, &for_sandbox(agent_response()), None, None).await.cookie.unwrap();
        let page = get(&w.app, &format!("/connect/federate/{}", w.instance), Some(&cookie)).await;
        assert_eq!(page.status, expected, "policy names this instance: {names_this_one}; {}", page.body);
    }
}

#[tokio::test]
async fn each_chosen_pair_is_verified_with_its_own_providers_keys() {
    let other = "arn:aws:iam::111122223333:saml-provider/Other";
    let w = world_where(true, "agent@example.com", |s| {
        // Another provider, holding another IdP's certificate.
        idfed_aws::iam::providers::create(
            s,
            ACCOUNT,
            "Other",
            &idp_metadata(&rotated_idp().cert),
            now(),
            &Seeded::new(13),
        )
        .unwrap();
    });
    let mut r = agent_response();
    r.acs_url = format!("{SANDBOX}/saml");
    r.roles = vec![
        RolePair {
            role_arn: "arn:aws:iam::111122223333:role/Gone".into(),
            provider_arn: "arn:aws:iam::111122223333:saml-provider/Gone".into(),
        },
        RolePair { role_arn: ROLE.into(), provider_arn: PROVIDER.into() },
        RolePair { role_arn: "arn:aws:iam::111122223333:role/OtherRole".into(), provider_arn: other.into() },
    ];
    let xml = sign_with(&spec_of(&r, now()), idp(), |x| x);
    let picker = post_saml(&w.app, &xml, None, None).await;
    assert_eq!(
        picker.status,
        StatusCode::OK,
        "the first pair's provider is missing; the next one verifies: {}",
        picker.body
    );
    assert!(picker.body.contains("saml_form"));
    let chosen = post_saml(&w.app, &xml, None, Some("arn:aws:iam::111122223333:role/OtherRole")).await;
    assert_eq!(chosen.status, StatusCode::BAD_REQUEST);
    assert!(
        chosen.body.contains("Response signature invalid"),
        "verified again with Other's certificate: {}",
        chosen.body
    );
    let own = post_saml(&w.app, &xml, None, Some(ROLE)).await;
    assert_eq!(own.status, StatusCode::FOUND, "{}", own.body);
}

/// Whatever a signed Role value holds is text on the picker, its account field included.
#[tokio::test]
async fn the_role_picker_escapes_every_part_of_a_role() {
    let w = world(true, "agent@example.com");
    let mut r = two_roles(agent_response());
    r.roles.push(RolePair {
        role_arn: "arn:aws:iam::<img src=x onerror=alert(1)>:role/R".into(),
        provider_arn: PROVIDER.into(),
    });
    let page = post_saml(&w.app, &fresh_for_sandbox(r, 300), None, None).await;
    assert!(page.body.contains("saml_form"), "{}", page.body);
    assert!(!page.body.contains("<img"), "{}", page.body);
    assert!(page.body.contains("Account: &lt;img"), "{}", page.body);
}

/// A RelayState the sandbox keeps is sent on as a valid Location, percent-encoding what a header
/// cannot carry, so a sign-in that happened is never answered with an error.
#[tokio::test]
async fn a_relay_state_with_spaces_line_breaks_or_non_ascii_still_redirects() {
    let w = world(true, "agent@example.com");
    for (i, (relay, landing)) in [
        ("/connect/federate/é", "/connect/federate/%C3%A9"),
        ("/console\r\nSet-Cookie: x=1", "/console%0D%0ASet-Cookie:%20x=1"),
    ]
    .into_iter()
    .enumerate()
    {
        let r = post_saml(&w.app, &fresh_for_sandbox(agent_response(), 400 + i), Some(relay), None).await;
        assert_eq!(r.status, StatusCode::FOUND, "{relay:?}: {}", r.body);
        assert_eq!(r.location.as_deref(), Some(landing), "{relay:?}");
    }
}
