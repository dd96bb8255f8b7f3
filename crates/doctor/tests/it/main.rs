//! One test per failure ID the doctor can judge from a response and the AWS side, each starting
//! from the seeds' working state broken one way, checking the finding, its cause and its fix.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::sync::OnceLock;

mod live;

use idfed_aws::connect::{self, NewUser};
use idfed_aws::iam::{policies, providers, roles};
use idfed_aws::state::{Account, State};
use idfed_doctor::{Finding, Inputs, Severity, diagnose};
use idfed_saml::aws::{AwsResponse, RolePair};
use idfed_saml::dsig::SignOptions;
use idfed_saml::issue::{SignWhat, Signer, issue_response};
use idfed_saml::model::Attribute;
use idfed_saml::random::SystemRandom;
use idfed_saml::{Certificate, Instant, SigningKey, metadata, ns};

const ACCOUNT: &str = "111122223333";
const ISSUER: &str = "http://127.0.0.1:8080/app/connect-admin";
const SIGNIN: &str = "https://signin.aws.amazon.com/saml";
const PROVIDER: &str = "arn:aws:iam::111122223333:saml-provider/Okta_Connect_Admin";
const ROLE: &str = "arn:aws:iam::111122223333:role/Okta_Role";

struct Key {
    key: SigningKey,
    cert: Certificate,
    pem: String,
}

fn key(n: usize) -> &'static Key {
    static KEYS: OnceLock<Vec<Key>> = OnceLock::new();
    let keys = KEYS.get_or_init(|| {
        (0..2)
            .map(|i| {
                let rsa = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
                let der = aws_lc_rs::encoding::AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&rsa).unwrap();
                let pair = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(
                    &der.as_ref().to_vec().into(),
                    &rcgen::PKCS_RSA_SHA256,
                )
                .unwrap();
                let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
                params.distinguished_name.push(rcgen::DnType::CommonName, format!("idp {i}"));
                let cert = params.self_signed(&pair).unwrap();
                Key {
                    key: SigningKey::from_pem(&pair.serialize_pem()).unwrap(),
                    cert: Certificate::from_pem_or_base64(&cert.pem()).unwrap().remove(0),
                    pem: pair.serialize_pem(),
                }
            })
            .collect()
    });
    &keys[n]
}

fn now() -> Instant {
    Instant::parse("2026-12-02T10:00:00Z").unwrap()
}

fn metadata_for(entity_id: &str) -> String {
    metadata::idp_metadata_xml(&metadata::IdpMetadata {
        entity_id,
        signing_certificates: std::slice::from_ref(&key(0).cert),
        sso_post: Some("http://127.0.0.1:8080/app/connect-admin/saml"),
        sso_redirect: None,
        slo_redirect: None,
        name_id_formats: &[ns::NAMEID_PERSISTENT],
        want_authn_requests_signed: false,
    })
}

fn trust(actions: &str, provider: &str, aud: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Federated":"{provider}"}},"Action":{actions},"Condition":{{"StringEquals":{{"SAML:aud":"{aud}"}}}}}}]}}"#
    )
}

struct World {
    state: State,
    instance: String,
}

/// The seeds' working AWS side: provider, Okta_Role trusting it, Connect with user "ada", the
/// federation policy.
fn world() -> World {
    let rng = SystemRandom::new();
    let mut state = State {
        accounts: vec![Account { id: ACCOUNT.into(), alias: Some("corp".into()), ..Default::default() }],
        ..State::default()
    };
    providers::create(&mut state, ACCOUNT, "Okta_Connect_Admin", &metadata_for(ISSUER), now(), &rng).unwrap();
    providers::create(&mut state, ACCOUNT, "Okta_Console", &metadata_for("http://other"), now(), &rng).unwrap();
    let role = roles::NewRole {
        name: "Okta_Role",
        path: "/",
        trust_policy: &trust("\"sts:AssumeRoleWithSAML\"", PROVIDER, SIGNIN),
        max_session_duration: Some(3600),
        description: None,
    };
    roles::create(&mut state, ACCOUNT, &role, now(), &rng).unwrap();
    let (instance, _) =
        connect::create_instance(&mut state, ACCOUNT, "us-east-1", "idfed-demo", "SAML", now(), &rng).unwrap();
    let agent = state.connect_instances[&instance].security_profiles["Agent"].clone();
    let user = NewUser {
        username: "ada",
        first_name: Some("Ada"),
        last_name: Some("Admin"),
        email: None,
        password: None,
        security_profile_ids: vec![agent],
    };
    connect::create_user(&mut state, ACCOUNT, &instance, &user, &rng).unwrap();
    let doc = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"connect:GetFederationToken","Resource":"arn:aws:connect:us-east-1:{ACCOUNT}:instance/{instance}/user/${{aws:userid}}"}}]}}"#
    );
    let arn = policies::create(&mut state, ACCOUNT, "okta_federation_policy", "/", &doc, now(), &rng).unwrap();
    policies::attach(&mut state, ACCOUNT, &policies::Holder::Role("Okta_Role"), &arn).unwrap();
    World { state, instance }
}

fn response() -> AwsResponse {
    AwsResponse::new(ISSUER, "u1", "ada", vec![RolePair { role_arn: ROLE.into(), provider_arn: PROVIDER.into() }])
}

fn signed(r: &AwsResponse, signer: &Key) -> String {
    let spec = r.to_spec(now(), &SystemRandom::new()).unwrap();
    let signer =
        Signer { key: &signer.key, certificate: Some(&signer.cert), options: SignOptions::for_key(&signer.key) };
    issue_response(&spec, &signer, SignWhat::Assertion, None, &SystemRandom::new()).unwrap()
}

/// The doctor's findings for a response posted with the seeds' relay state into Connect.
fn judge(world: &World, xml: &str, at: Instant) -> Vec<Finding> {
    let relay = format!("https://us-east-1.console.aws.amazon.com/connect/federate/{}", world.instance);
    diagnose(&Inputs {
        response: Some(xml),
        relay_state: Some(&relay),
        aws: Some(&world.state),
        sign_in_urls: &[],
        now: at,
        duration_seconds: None,
        metadata: None,
        private_keys_known: true,
    })
}

/// The finding with `id`, which must be an error that explains itself.
fn expect(findings: &[Finding], id: &str, cause: &str) -> Finding {
    let found = findings.iter().find(|f| f.id == id).unwrap_or_else(|| panic!("no {id} among {findings:#?}"));
    assert_eq!(found.severity, Severity::Error, "{found:?}");
    assert!(found.cause.contains(cause), "{id}: the cause {:?} should mention {cause:?}", found.cause);
    assert!(!found.fix.is_empty(), "{id} has no fix");
    assert_eq!(findings.first().map(|f| f.severity), Some(Severity::Error), "errors come first");
    found.clone()
}

fn with_attribute(mut r: AwsResponse, name: &str, value: &str) -> AwsResponse {
    r.extra_attributes.push(Attribute {
        name: name.into(),
        name_format: Some(ns::ATTRNAME_FORMAT_URI.into()),
        friendly_name: None,
        values: vec![value.into()],
    });
    r
}

#[test]
fn a_working_login_has_no_errors_and_reaches_connect() {
    let w = world();
    let findings = judge(&w, &signed(&response(), key(0)), now());
    assert!(findings.iter().all(|f| f.severity != Severity::Error), "{findings:#?}");
    assert!(findings.iter().any(|f| f.id == "accepted") && findings.iter().any(|f| f.id == "connect"));
}

#[test]
fn f01_role_attribute_missing() {
    let mut r = response();
    r.roles.clear();
    let found = expect(&judge(&world(), &signed(&r, key(0)), now()), "F01", "no Role attribute value");
    assert_eq!(found.aws_text, "Your request included an invalid SAML response. To logout, click here.");
}

#[test]
fn f02_provider_arn_only() {
    let mut r = response();
    r.roles.clear();
    let r = with_attribute(r, idfed_saml::aws::ATTR_ROLE, PROVIDER);
    expect(&judge(&world(), &signed(&r, key(0)), now()), "F02", "no role ARN");
}

#[test]
fn f03_role_session_name_missing() {
    let mut r = response();
    r.role_session_name = String::new();
    let xml = signed(&r, key(0));
    expect(&judge(&world(), &xml, now()), "F03", "no RoleSessionName");
}

#[test]
fn f04_role_session_name_with_a_space() {
    let mut r = response();
    r.role_session_name = "Ada Admin".into();
    expect(&judge(&world(), &signed(&r, key(0)), now()), "F04", "\"Ada Admin\"");
}

#[test]
fn f05_source_identity_with_aws_prefix() {
    let r = with_attribute(response(), idfed_saml::aws::ATTR_SOURCE_IDENTITY, "aws:ada");
    expect(&judge(&world(), &signed(&r, key(0)), now()), "F05", "aws:ada");
}

#[test]
fn f06_signed_with_a_key_iam_does_not_hold() {
    let found = expect(&judge(&world(), &signed(&response(), key(1)), now()), "F06", "does not verify");
    assert!(
        found.cause.contains(&key(0).cert.fingerprint_sha256()),
        "names the certificate IAM holds: {}",
        found.cause
    );
    assert!(found.fix.contains("update-saml-provider"));
}

#[test]
fn f07_issuer_not_the_providers_entity_id() {
    let mut r = response();
    r.issuer = "http://127.0.0.1:8080/app/connect-ccp".into();
    let found = expect(&judge(&world(), &signed(&r, key(0)), now()), "F07", "entityID");
    assert!(found.cause.contains("app/connect-ccp") && found.cause.contains("app/connect-admin"), "{}", found.cause);
}

#[test]
fn f08_provider_does_not_exist() {
    let mut r = response();
    r.roles[0].provider_arn = "arn:aws:iam::111122223333:saml-provider/Okta".into();
    let found = expect(&judge(&world(), &signed(&r, key(0)), now()), "F08", "saml-provider/Okta is not");
    assert!(found.cause.contains("Okta_Connect_Admin"), "lists the providers that exist: {}", found.cause);
}

#[test]
fn f09_audience_is_a_contact_centre_name() {
    let mut r = response();
    r.audience = "my-contact-center".into();
    expect(&judge(&world(), &signed(&r, key(0)), now()), "F09", "my-contact-center");
}

#[test]
fn f10_a_capture_replayed_ten_minutes_later() {
    let later = now().plus_seconds(600);
    expect(&judge(&world(), &signed(&response(), key(0)), later), "F10", "issued at");
}

fn with_trust(text: &str) -> World {
    let mut w = world();
    roles::update_assume_role_policy(&mut w.state, ACCOUNT, "Okta_Role", text).unwrap();
    w
}

#[test]
fn f11_trust_policy_allows_assume_role() {
    let w = with_trust(&trust("\"sts:AssumeRole\"", PROVIDER, SIGNIN));
    let found = expect(&judge(&w, &signed(&response(), key(0)), now()), "F11", "sts:AssumeRole");
    assert!(found.fix.contains("sts:AssumeRoleWithSAML"));
}

#[test]
fn f12_trust_policy_names_another_provider() {
    let w = with_trust(&trust(
        "\"sts:AssumeRoleWithSAML\"",
        "arn:aws:iam::111122223333:saml-provider/Okta_Console",
        SIGNIN,
    ));
    expect(&judge(&w, &signed(&response(), key(0)), now()), "F12", "Okta_Console but not");
}

#[test]
fn f13_saml_aud_names_the_regional_endpoint() {
    let w = with_trust(&trust("\"sts:AssumeRoleWithSAML\"", PROVIDER, "https://us-west-2.signin.aws.amazon.com/saml"));
    expect(&judge(&w, &signed(&response(), key(0)), now()), "F13", "us-west-2");
}

#[test]
fn f14_session_tags_without_tag_session() {
    let r = with_attribute(response(), "https://aws.amazon.com/SAML/Attributes/PrincipalTag:Team", "voice");
    expect(&judge(&world(), &signed(&r, key(0)), now()), "F14", "Team");
}

#[test]
fn f15_source_identity_without_set_source_identity() {
    let r = with_attribute(response(), idfed_saml::aws::ATTR_SOURCE_IDENTITY, "ada");
    expect(&judge(&world(), &signed(&r, key(0)), now()), "F15", "sts:SetSourceIdentity");
}

/// A trust refusal other than F11–F15 is traced to the statement that decides it: an explicit
/// Deny, or the condition that does not hold with what this login has; a wildcard action is no
/// refusal at all.
#[test]
fn a_trust_policys_deny_and_its_conditions_are_named() {
    let allow = format!(
        r#"{{"Sid":"Federate","Effect":"Allow","Principal":{{"Federated":"{PROVIDER}"}},"Action":"sts:AssumeRole*","Condition":{{"StringEquals":{{"SAML:aud":"{SIGNIN}"}}}}}}"#
    );
    let working = with_trust(&format!(r#"{{"Version":"2012-10-17","Statement":[{allow}]}}"#));
    let findings = judge(&working, &signed(&response(), key(0)), now());
    assert!(findings.iter().all(|f| f.severity != Severity::Error), "sts:AssumeRole* allows it: {findings:#?}");

    let deny = r#"{"Sid":"NoAda","Effect":"Deny","Principal":"*","Action":"sts:*","Condition":{"StringEquals":{"SAML:sub":"u1"}}}"#;
    let denied = with_trust(&format!(r#"{{"Version":"2012-10-17","Statement":[{allow},{deny}]}}"#));
    let found = expect(&judge(&denied, &signed(&response(), key(0)), now()), "trust-deny", "Statement \"NoAda\"");
    assert!(found.cause.contains("denies sts:AssumeRoleWithSAML"), "{found:?}");

    let conditional = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Federated":"{PROVIDER}"}},"Action":"sts:AssumeRoleWithSAML","Condition":{{"StringEquals":{{"SAML:aud":"{SIGNIN}"}},"StringLike":{{"saml:sub":"admin-*"}}}}}}]}}"#
    );
    let found = expect(
        &judge(&with_trust(&conditional), &signed(&response(), key(0)), now()),
        "trust-condition",
        r#"Statement 1 allows sts:AssumeRoleWithSAML only when StringLike saml:sub ["admin-*"]; this login has ["u1"]"#,
    );
    assert!(found.fix.contains("Okta_Role"), "{found:?}");
}

#[test]
fn f16_role_differs_in_case() {
    let mut r = response();
    r.roles[0].role_arn = "arn:aws:iam::111122223333:role/okta_role".into();
    expect(&judge(&world(), &signed(&r, key(0)), now()), "F16", "there is arn:aws:iam::111122223333:role/Okta_Role");
}

#[test]
fn f17_no_name_id() {
    let mut r = response();
    r.name_id.value = String::new();
    expect(&judge(&world(), &signed(&r, key(0)), now()), "F17", "no NameID");
}

#[test]
fn f20_no_get_federation_token() {
    let mut w = world();
    let arn = format!("arn:aws:iam::{ACCOUNT}:policy/okta_federation_policy");
    policies::detach(&mut w.state, ACCOUNT, &policies::Holder::Role("Okta_Role"), &arn).unwrap();
    expect(&judge(&w, &signed(&response(), key(0)), now()), "F20", "connect:GetFederationToken");
}

#[test]
fn f21_connect_username_differs_in_case() {
    let mut r = response();
    r.role_session_name = "Ada".into();
    let found = expect(&judge(&world(), &signed(&r, key(0)), now()), "F21", "differ only in case");
    assert!(found.aws_text.contains("has not been onboarded"));
}

#[test]
fn f24_provider_requires_encryption() {
    let mut w = world();
    for p in w.state.providers.values_mut() {
        p.assertion_encryption_mode = Some("Required".into());
    }
    expect(&judge(&w, &signed(&response(), key(0)), now()), "F24", "requires encrypted assertions");
}

/// Review finding: an encrypted response was replayed against every role with every provider,
/// so a healthy one got F07 and F12 from providers and roles it never named, and a key that
/// does not open it was called "requires encrypted assertions". It is read as AWS reads it: with
/// the private keys of the provider whose entityID is its Issuer.
#[test]
fn an_encrypted_response_is_judged_with_its_providers_keys() {
    let encrypted_world = |held: &Key| {
        let mut w = world();
        let provider = w.state.providers.get_mut(PROVIDER).unwrap();
        provider.assertion_encryption_mode = Some("Required".into());
        provider.private_keys.push(("K1".into(), held.pem.clone(), now()));
        let own = format!("{SIGNIN}/acs/{}", provider.uuid);
        roles::update_assume_role_policy(
            &mut w.state,
            ACCOUNT,
            "Okta_Role",
            &trust("\"sts:AssumeRoleWithSAML\"", PROVIDER, &own),
        )
        .unwrap();
        (w, own)
    };
    let (w, own) = encrypted_world(key(1));
    let mut r = response();
    r.acs_url = own;
    let plain = signed(&r, key(0));
    let encrypted =
        idfed_saml::xmlenc::encrypt_assertion(&plain, &key(1).cert, Default::default(), &SystemRandom::new()).unwrap();
    let healthy = judge(&w, &encrypted, now());
    assert!(healthy.iter().all(|f| f.severity != Severity::Error), "{healthy:#?}");
    assert!(healthy.iter().any(|f| f.title.starts_with("AWS accepts this response for")), "{healthy:#?}");

    let (wrong_key, _) = encrypted_world(key(0));
    let found = expect(&judge(&wrong_key, &encrypted, now()), "F24", "no private key");
    assert!(found.fix.contains("AddPrivateKey"), "{found:#?}");

    let relay = format!("https://us-east-1.console.aws.amazon.com/connect/federate/{}", w.instance);
    let live = diagnose(&Inputs {
        response: Some(&encrypted),
        relay_state: Some(&relay),
        aws: Some(&wrong_key.state),
        sign_in_urls: &[],
        now: now(),
        duration_seconds: None,
        metadata: None,
        private_keys_known: false,
    });
    assert!(live.iter().all(|f| f.severity != Severity::Error), "read live, nothing is claimed: {live:#?}");
    assert!(live.iter().any(|f| f.id == "encrypted-unread"), "{live:#?}");
}

#[test]
fn a_recipient_naming_another_providers_endpoint_is_explained() {
    let w = world();
    let uuid = w.state.providers[PROVIDER].uuid.clone();
    let mut r = response();
    r.acs_url = "https://signin.aws.amazon.com/saml/acs/SAMLSPSOMEOTHERPROVIDER".into();
    let found = expect(&judge(&w, &signed(&r, key(0)), now()), "endpoint", "sign-in endpoint of another SAML provider");
    assert!(found.fix.contains(&format!("https://signin.aws.amazon.com/saml/acs/{uuid}")), "{}", found.fix);
}

#[test]
fn lint_relay_state_names_an_unknown_instance() {
    let w = world();
    let xml = signed(&response(), key(0));
    let relay = "https://us-east-1.console.aws.amazon.com/connect/federate/00000000-0000-0000-0000-000000000000";
    let findings = diagnose(&Inputs {
        response: Some(&xml),
        relay_state: Some(relay),
        aws: Some(&w.state),
        sign_in_urls: &[],
        now: now(),
        duration_seconds: None,
        metadata: None,
        private_keys_known: true,
    });
    let found = findings.iter().find(|f| f.id == "lint-relay-instance").unwrap();
    assert!(found.cause.contains("00000000-0000"), "{found:?}");
}

#[test]
fn lint_a_role_trusts_a_provider_that_does_not_exist() {
    let mut w = world();
    let text = trust("\"sts:AssumeRoleWithSAML\"", PROVIDER, SIGNIN)
        .replace(PROVIDER, "arn:aws:iam::111122223333:saml-provider/Gone");
    // As AWS keeps it: the provider was deleted after the trust policy named it.
    let policy = idfed_policy::Policy::parse(&text, idfed_policy::Kind::Trust).unwrap();
    w.state.roles.values_mut().for_each(|r| {
        r.trust_policy_text = text.clone();
        r.trust_policy = policy.clone();
    });
    let findings = diagnose(&Inputs {
        response: None,
        relay_state: None,
        aws: Some(&w.state),
        sign_in_urls: &[],
        now: now(),
        duration_seconds: None,
        metadata: None,
        private_keys_known: true,
    });
    assert!(
        findings.iter().any(|f| f.id == "lint-trusted-provider" && f.cause.contains("saml-provider/Gone")),
        "{findings:#?}"
    );
}

#[test]
fn the_catalogue_explains_every_failure_id() {
    let ids: Vec<&str> = idfed_doctor::catalogue::ENTRIES.iter().map(|e| e.id).collect();
    let expected: Vec<String> = (1..=24).map(|n| format!("F{n:02}")).collect();
    assert_eq!(ids, expected);
    assert!(
        idfed_doctor::catalogue::ENTRIES
            .iter()
            .all(|e| !e.aws_text.is_empty() && !e.cause.is_empty() && !e.fix.is_empty())
    );
}

fn tenant(session_duration: u32, connect_username: &str) -> idfed_idp::tenant::Tenant {
    let tenant: idfed_idp::tenant::Tenant = serde_json::from_value(serde_json::json!({
        "schema": { "custom": [{ "name": "connect_username", "type": "string" }] },
        "users": [
            { "id": "u1", "login": "ada@example.com", "email": "ada@example.com", "profile": { "connect_username": connect_username } },
            { "id": "u2", "login": "bob@example.com", "email": "bob@example.com" }
        ],
        "apps": [{
            "name": "connect-admin", "label": "Connect", "type": "aws",
            "identity_provider_arns": [PROVIDER], "session_duration": session_duration,
            "role_session_name": "user.connect_username",
            "connect": { "instance_id": "INSTANCE", "region": "us-east-1" }
        }],
        "assignments": [
            { "app": "connect-admin", "user": "ada@example.com", "roles": ["Okta_Role"] },
            { "app": "connect-admin", "user": "bob@example.com", "roles": ["Okta_Role"] }
        ]
    }))
    .unwrap();
    tenant.validate().unwrap();
    tenant
}

fn preflight_of(w: &World, tenant: &idfed_idp::tenant::Tenant) -> Vec<Finding> {
    preflight_signed_by(w, tenant, key(0))
}

/// Every assigned person's login to the tenant's apps (pointed at the world's instance), signed by `signer`.
fn preflight_signed_by(w: &World, tenant: &idfed_idp::tenant::Tenant, signer: &Key) -> Vec<Finding> {
    let mut tenant = tenant.clone();
    for app in &mut tenant.apps {
        if let idfed_idp::apps::AppKind::Aws(aws) = &mut app.kind {
            aws.connect.as_mut().unwrap().instance_id = w.instance.clone();
        }
    }
    let tenant = idfed_idp::tenant_view::TenantView::new(tenant);
    let entity_id = |_: &str| ISSUER.to_owned();
    let side = idfed_doctor::IdpSide {
        tenant: &tenant,
        entity_id: &entity_id,
        key: idfed_idp::sso::IdpKey { key: &signer.key, certificate: &signer.cert },
        next_certificate: None,
    };
    idfed_doctor::preflight(&side, &w.state, &[], now())
}

#[test]
fn preflight_names_the_person_whose_login_would_fail() {
    let w = world();
    let findings = preflight_of(&w, &tenant(3600, "ada"));
    // ada maps to Connect user "ada"; bob has no connect_username: no RoleSessionName (F03).
    let f03 = findings.iter().find(|f| f.id == "F03").unwrap_or_else(|| panic!("{findings:#?}"));
    assert!(f03.title.starts_with("bob@example.com → Connect"), "{f03:?}");
    assert!(!findings.iter().any(|f| f.title.starts_with("ada@example.com")), "ada signs in: {findings:#?}");
    let case = preflight_of(&w, &tenant(3600, "ADA"));
    assert!(
        case.iter().any(|f| f.id == "F21"
            && f.title.starts_with("ada@example.com")
            && f.cause.contains("differ only in case")),
        "{case:#?}"
    );
}

#[test]
fn lint_session_duration_above_the_roles_maximum_for_api_use() {
    let w = world();
    let findings = preflight_of(&w, &tenant(7200, "ada"));
    let lint = findings.iter().find(|f| f.id == "lint-session-duration").unwrap_or_else(|| panic!("{findings:#?}"));
    assert_eq!(lint.severity, Severity::Warning);
    assert!(
        lint.cause.contains("7200") && lint.cause.contains("3600") && lint.fix.contains("--max-session-duration 7200"),
        "{lint:?}"
    );
    assert!(!preflight_of(&w, &tenant(3600, "ada")).iter().any(|f| f.id == "lint-session-duration"));
}

#[test]
fn lint_provider_metadata_holds_another_certificate_than_the_idp_signs_with() {
    let w = world();
    let findings = preflight_signed_by(&w, &tenant(3600, "ada"), key(1));
    let f06 = findings.iter().find(|f| f.id == "F06").unwrap_or_else(|| panic!("{findings:#?}"));
    assert!(f06.cause.contains(&key(0).cert.fingerprint_sha256()), "{f06:?}");
}

#[test]
fn f18_an_api_caller_asks_for_more_than_the_roles_maximum() {
    let w = world();
    let xml = signed(&response(), key(0));
    let at = |duration| Inputs {
        response: Some(&xml),
        relay_state: None,
        aws: Some(&w.state),
        sign_in_urls: &[],
        now: now(),
        duration_seconds: Some(duration),
        metadata: None,
        private_keys_known: true,
    };
    let findings = diagnose(&at(7200));
    let found = expect(&findings, "F18", "3600 s");
    assert_eq!(found.aws_text, "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.");
    assert!(!diagnose(&at(3600)).iter().any(|f| f.id == "F18"));
}

#[test]
fn f19_metadata_iam_cannot_parse() {
    let check = |text: &str| {
        diagnose(&Inputs {
            response: None,
            relay_state: None,
            aws: None,
            sign_in_urls: &[],
            now: now(),
            duration_seconds: None,
            metadata: Some(text),
            private_keys_known: true,
        })
    };
    let html = check("<!DOCTYPE html><html><body>Sign in</body></html>");
    expect(&html, "F19", "HTML page");
    let bom = check(&format!("\u{feff}{}", metadata_for(ISSUER)));
    expect(&bom, "F19", "byte-order mark");
    assert!(check(&metadata_for(ISSUER)).iter().all(|f| f.severity == Severity::Info), "good metadata passes");
}

#[test]
fn f22_and_f23_are_explained_from_the_catalogue() {
    // Neither leaves a SAML response to judge: F22 is a Connect page opened without signing in,
    // F23 an API call; the doctor explains them (idfed doctor --explain) and the browser and
    // sandbox tests reproduce them.
    let f22 = idfed_doctor::catalogue::entry("f22").unwrap();
    assert_eq!(f22.aws_text, "Session Expired");
    assert!(f22.fix.contains("IdP"));
    let f23 = idfed_doctor::catalogue::entry("F23").unwrap();
    assert!(f23.aws_text.starts_with("No user with the specified credentials"));
}

#[test]
fn lint_a_provider_lacks_the_next_certificate_of_a_rotation() {
    let w = world();
    let mut tenant = tenant(3600, "ada");
    for app in &mut tenant.apps {
        if let idfed_idp::apps::AppKind::Aws(aws) = &mut app.kind {
            aws.connect.as_mut().unwrap().instance_id = w.instance.clone();
        }
    }
    let tenant = idfed_idp::tenant_view::TenantView::new(tenant);
    let entity_id = |_: &str| ISSUER.to_owned();
    let side = |next: &'static Key| idfed_doctor::IdpSide {
        tenant: &tenant,
        entity_id: &entity_id,
        key: idfed_idp::sso::IdpKey { key: &key(0).key, certificate: &key(0).cert },
        next_certificate: Some(&next.cert),
    };
    let findings = idfed_doctor::preflight(&side(key(1)), &w.state, &[], now());
    let lint = findings.iter().find(|f| f.id == "lint-next-certificate").unwrap_or_else(|| panic!("{findings:#?}"));
    assert!(
        lint.title.contains("Okta_Connect_Admin") && lint.cause.contains(&key(1).cert.fingerprint_sha256()),
        "{lint:?}"
    );
    assert!(
        !idfed_doctor::preflight(&side(key(0)), &w.state, &[], now()).iter().any(|f| f.id == "lint-next-certificate")
    );
}

#[test]
fn a_response_without_an_assertion_is_explained_by_its_status() {
    use idfed_saml::build::StatusResponseSpec;
    use idfed_saml::issue::issue_status_response;
    use idfed_saml::model::Status;
    let idp = key(0);
    let spec = StatusResponseSpec {
        id: "_refused".into(),
        in_response_to: "_request".into(),
        issue_instant: now(),
        issuer: ISSUER.into(),
        destination: "https://signin.aws.amazon.com/saml".into(),
        status: Status {
            code: ns::STATUS_RESPONDER.into(),
            sub_code: Some(ns::STATUS_NO_AUTHN_CONTEXT.into()),
            message: Some("the app asks for a sign-in with a second factor".into()),
        },
    };
    let signer = Signer { key: &idp.key, certificate: Some(&idp.cert), options: SignOptions::for_key(&idp.key) };
    let xml = issue_status_response(&spec, &signer).unwrap();
    let findings = judge(&world(), &xml, now());
    let found = findings.iter().find(|f| f.id == "no-assertion").unwrap_or_else(|| panic!("{findings:#?}"));
    assert_eq!(
        found.cause,
        "The IdP answered with status Responder / NoAuthnContext: the app asks for a sign-in with a second factor"
    );
    let bare = xml
        .replace("samlp:StatusMessage", "samlp:Extensions")
        .replace("<samlp:Extensions>the app asks for a sign-in with a second factor</samlp:Extensions>", "");
    let findings = judge(&world(), &bare, now());
    let found = findings.iter().find(|f| f.id == "no-assertion").unwrap();
    assert_eq!(found.cause, "The IdP answered with status Responder / NoAuthnContext, and no message.");
    let empty = bare
        .replace(ns::STATUS_RESPONDER, ns::STATUS_SUCCESS)
        .replace(&format!("<samlp:StatusCode Value=\"{}\"/>", ns::STATUS_NO_AUTHN_CONTEXT), "");
    let findings = judge(&world(), &empty, now());
    let found = findings.iter().find(|f| f.id == "no-assertion").unwrap_or_else(|| panic!("{empty}"));
    assert!(found.cause.starts_with("Its status says Success, yet the IdP sent no assertion"), "{}", found.cause);
}
