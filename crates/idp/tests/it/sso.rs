//! What the IdP issues for the AWS Account Federation app: seed 004's role joining, group
//! mapping, seed 001's custom attributes, checked by our SP validator with AWS's rules and by
//! xmlsec1 and python3-saml.

use std::process::Command;

use idfed_idp::sso::{IdpKey, Issued, Issuer, Request, issue};
use idfed_idp::tenant::Tenant;
use idfed_idp::tenant_view::TenantView;
use idfed_saml::aws::{ATTR_ROLE, ATTR_ROLE_SESSION_NAME, ATTR_SESSION_DURATION};
use idfed_saml::sp::{SpConfig, validate_response};

use crate::common::*;

fn issue_for(tenant: &Tenant, app: &str, login: &str) -> Result<Issued, idfed_idp::IdpError> {
    let key = IdpKey { key: &idp_key().key, certificate: &idp_key().certificate };
    let rng = Seeded::new(7);
    issue(
        &TenantView::new(tenant.clone()),
        app,
        login,
        &Request::default(),
        &Issuer { entity_id: ISSUER, key, now: now(), rng: &rng },
    )
}

fn aws_sp(acs: &str) -> SpConfig {
    SpConfig {
        trusted: vec![idp_key().certificate.clone()],
        audiences: vec!["urn:amazon:webservices".into()],
        recipient: Some(acs.into()),
        expected_issuer: Some(ISSUER.into()),
        skew_seconds: 60,
        ..SpConfig::default()
    }
}

fn values<'a>(accepted: &'a idfed_saml::sp::Accepted, name: &str) -> Vec<&'a str> {
    accepted.attributes().iter().filter(|a| a.name == name).flat_map(|a| a.values.iter().map(String::as_str)).collect()
}

fn role_names(accepted: &idfed_saml::sp::Accepted) -> Vec<String> {
    values(accepted, ATTR_ROLE)
        .iter()
        .map(|pair| {
            let role = pair.split(',').find(|p| p.contains(":role/")).unwrap();
            role.rsplit('/').next().unwrap().to_owned()
        })
        .collect()
}

#[test]
fn join_all_roles_off_gives_the_direct_roles_on_gives_all_of_seed_004() {
    let tenant = seeds_tenant();
    let off = issue_for(&tenant, "aws", "test").unwrap();
    assert_eq!(off.acs_url, "https://signin.aws.amazon.com/saml");
    let accepted = validate_response(&off.xml, &aws_sp(&off.acs_url), now()).unwrap();
    assert_eq!(role_names(&accepted), ["Role1", "Role2"]);
    assert_eq!(values(&accepted, ATTR_ROLE_SESSION_NAME), ["test"]);
    assert_eq!(values(&accepted, ATTR_SESSION_DURATION), ["7200"]);
    assert_eq!(
        values(&accepted, ATTR_ROLE)[0],
        "arn:aws:iam::111122223333:role/Role1,arn:aws:iam::111122223333:saml-provider/Okta"
    );
    assert_eq!(accepted.name_id.value, "u1");
    assert!(accepted.signed.assertion.is_some(), "the assertion is signed, as AWS needs");

    let on = issue_for(&tenant, "aws-joined", "test").unwrap();
    let accepted = validate_response(&on.xml, &aws_sp(&on.acs_url), now()).unwrap();
    assert_eq!(role_names(&accepted), ["Role1", "Role2", "RoleA", "RoleB"]);
    assert_eq!(values(&accepted, ATTR_SESSION_DURATION), ["3600"], "Okta's default session duration");
}

#[test]
fn group_mapping_picks_roles_across_two_accounts_from_group_names() {
    let tenant = seeds_tenant();
    let issued = issue_for(&tenant, "aws-mapped", "mapped").unwrap();
    let accepted = validate_response(&issued.xml, &aws_sp(&issued.acs_url), now()).unwrap();
    assert_eq!(
        values(&accepted, ATTR_ROLE),
        [
            "arn:aws:iam::111122223333:saml-provider/Okta,arn:aws:iam::111122223333:role/Admin",
            "arn:aws:iam::444455556666:saml-provider/Okta,arn:aws:iam::444455556666:role/ReadOnly",
        ],
        "the active_directory group is filtered out by the app filter"
    );
}

#[test]
fn custom_attributes_become_role_session_name_and_role_as_in_seed_001() {
    let tenant = seeds_tenant();
    let issued = issue_for(&tenant, "connect-scv", "agent.one@example.com").unwrap();
    assert_eq!(issued.acs_url, "https://us-west-2.signin.aws.amazon.com/saml");
    assert_eq!(
        issued.relay_state.as_deref(),
        Some("https://us-west-2.console.aws.amazon.com/connect/federate/4c1a2f6e-0000-4000-8000-000000000001")
    );
    let accepted = validate_response(&issued.xml, &aws_sp(&issued.acs_url), now()).unwrap();
    assert_eq!(values(&accepted, ATTR_ROLE_SESSION_NAME), ["AgentOne"], "case kept: Connect compares it exactly");
    assert_eq!(role_names(&accepted), ["Okta_Role"]);
    assert_eq!(values(&accepted, "email"), ["agent.one@example.com"]);
}

#[test]
fn people_not_assigned_or_not_active_get_nothing() {
    let tenant = seeds_tenant();
    let err = issue_for(&tenant, "connect-scv", "test").unwrap_err();
    assert!(err.message.contains("not assigned"), "{err}");
    let err = issue_for(&tenant, "aws", "gone").unwrap_err();
    assert!(err.message.contains("suspended"), "{err}");
    assert!(issue_for(&tenant, "nope", "test").is_err());
}

#[test]
fn a_response_signed_by_another_key_is_refused_by_the_validator() {
    let tenant = seeds_tenant();
    let key = IdpKey { key: &other_key().key, certificate: &other_key().certificate };
    let rng = Seeded::new(1);
    let by = Issuer { entity_id: ISSUER, key, now: now(), rng: &rng };
    let issued = issue(&TenantView::new(tenant.clone()), "aws", "test", &Request::default(), &by).unwrap();
    assert!(validate_response(&issued.xml, &aws_sp(&issued.acs_url), now()).is_err());
}

fn tool_present(program: &str, what: &str) -> bool {
    let ok = Command::new(program).arg("--version").output().is_ok_and(|o| o.status.success());
    if !ok {
        assert!(!oracles_required(), "{what} is required (IDFED_REQUIRE_ORACLES=1) but `{program}` does not run");
        eprintln!("SKIPPED: {what} not installed; run scripts/setup-oracles.sh");
    }
    ok
}

#[test]
fn xmlsec1_and_python3_saml_accept_the_aws_app_responses() {
    let tenant = seeds_tenant();
    let cert = scratch("idp-cert.pem");
    std::fs::write(&cert, &idp_key().cert_pem).unwrap();
    let other = scratch("other-cert.pem");
    std::fs::write(&other, &other_key().cert_pem).unwrap();
    let cases =
        [("aws", "test"), ("aws-joined", "test"), ("aws-mapped", "mapped"), ("connect-scv", "agent.one@example.com")];
    if tool_present("xmlsec1", "xmlsec1") {
        let script = repo_root().join("tools/oracles/xmlsec_verify.sh");
        for (app, login) in cases {
            let issued = issue_for(&tenant, app, login).unwrap();
            let path = scratch(&format!("{app}.xml"));
            std::fs::write(&path, &issued.xml).unwrap();
            let ok = Command::new(&script).arg(&cert).arg(&path).arg("Assertion").output().unwrap();
            assert!(ok.status.success(), "{app}: xmlsec1 says {}", String::from_utf8_lossy(&ok.stdout));
            let bad = Command::new(&script).arg(&other).arg(&path).arg("Assertion").output().unwrap();
            assert_eq!(bad.status.code(), Some(1), "{app}: xmlsec1 trusted the wrong certificate");
        }
    }
    let python = repo_root().join(".venv/bin/python");
    if tool_present(python.to_str().unwrap(), "python3-saml (.venv)") {
        for (app, login) in cases {
            let issued = issue_for(&tenant, app, login).unwrap();
            let path = scratch(&format!("p3-{app}.xml"));
            std::fs::write(&path, &issued.xml).unwrap();
            let out = Command::new(&python)
                .arg(repo_root().join("tools/oracles/p3saml_sp.py"))
                .arg("--response")
                .arg(&path)
                .args(["--idp-entity-id", ISSUER, "--idp-cert"])
                .arg(&cert)
                .args(["--sp-entity-id", "urn:amazon:webservices", "--acs", &issued.acs_url])
                .args(["--want-assertions-signed", "--now", "2026-12-02T10:00:30Z"])
                .output()
                .unwrap();
            let verdict: serde_json::Value = serde_json::from_slice(&out.stdout)
                .unwrap_or_else(|_| panic!("{app}: {}", String::from_utf8_lossy(&out.stderr)));
            assert_eq!(verdict["valid"], true, "{app}: python3-saml (strict) says {verdict}");
        }
    }
}
