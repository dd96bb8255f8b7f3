//! Okta's AWS app settings as an import format, and the Default Relay State helper for Amazon
//! Connect (admin console or CCP, on AWS or the local sandbox).

use idfed_idp::apps::{AppKind, ConnectRelay};
use idfed_idp::okta_import::aws_app;
use idfed_idp::tenant_view::TenantView;
use idfed_saml::sp::{SpConfig, validate_response};

use crate::common::*;

const OKTA_SETTINGS: &str = r#"{
  "settings": { "app": {
    "appFilter": "okta",
    "awsEnvironmentType": "aws.amazon",
    "groupFilter": "aws#(?{{accountid}}\\d{12})#(?{{role}}[\\w\\-]+)",
    "joinAllRoles": false,
    "loginURL": "https://us-west-2.signin.aws.amazon.com/saml",
    "roleValuePattern": "arn:aws:iam::${accountid}:saml-provider/Okta,arn:aws:iam::${accountid}:role/${role}",
    "sessionDuration": 7200,
    "useGroupMapping": true,
    "identityProviderArn": "arn:aws:iam::111122223333:saml-provider/Okta, arn:aws:iam::444455556666:saml-provider/Okta",
    "webSSOAllowedClient": null
  } }
}"#;

#[test]
fn okta_settings_become_the_same_app() {
    let converted = aws_app("aws-okta", "AWS (from Okta)", OKTA_SETTINGS).unwrap();
    assert_eq!(converted.notes, ["webSSOAllowedClient is not an AWS app setting idfed knows; ignored"]);
    let mut tenant = seeds_tenant();
    tenant.put_app(converted.app).unwrap();
    tenant
        .assign(idfed_idp::assignments::Assignment {
            app: "aws-okta".into(),
            principal: idfed_idp::assignments::Principal::User("mapped".into()),
            roles: vec![],
        })
        .unwrap();
    let AppKind::Aws(aws) = &tenant.app("aws-okta").unwrap().kind else { panic!() };
    assert_eq!(aws.identity_provider_arns.len(), 2);
    assert_eq!(aws.session_duration, 7200);
    let key = idfed_idp::sso::IdpKey { key: &idp_key().key, certificate: &idp_key().certificate };
    let rng = Seeded::new(3);
    let by = idfed_idp::sso::Issuer { entity_id: ISSUER, key, now: now(), rng: &rng };
    let issued =
        idfed_idp::sso::issue(&TenantView::new(tenant.clone()), "aws-okta", "mapped", &Default::default(), &by)
            .unwrap();
    assert_eq!(issued.acs_url, "https://us-west-2.signin.aws.amazon.com/saml", "loginURL named the regional endpoint");
    let config = SpConfig {
        trusted: vec![idp_key().certificate.clone()],
        audiences: vec!["urn:amazon:webservices".into()],
        recipient: Some(issued.acs_url.clone()),
        ..SpConfig::default()
    };
    let accepted = validate_response(&issued.xml, &config, now()).unwrap();
    assert_eq!(
        accepted.assertion.attribute_values(idfed_saml::aws::ATTR_ROLE).len(),
        2,
        "group mapping across two accounts"
    );

    let gov = aws_app("gov", "GovCloud", r#"{"awsEnvironmentType":"amazonaws-us-gov","identityProviderArn":"arn:aws-us-gov:iam::111122223333:saml-provider/Okta"}"#).unwrap();
    let AppKind::Aws(aws) = &gov.app.kind else { panic!() };
    assert_eq!(aws.environment().unwrap().audience(), "urn:amazon:webservices:govcloud");
    assert_eq!(aws.environment().unwrap().acs_url(), "https://signin.amazonaws-us-gov.com/saml");
    let custom = aws_app("c", "C", r#"{"awsEnvironmentType":"other","loginURL":"http://127.0.0.1:4566/saml","identityProviderArn":"arn:aws:iam::111122223333:saml-provider/X"}"#).unwrap();
    let AppKind::Aws(aws) = &custom.app.kind else { panic!() };
    assert_eq!(aws.environment().unwrap().acs_url(), "http://127.0.0.1:4566/saml");
    let broken = aws_app("b", "B", r#"{"useGroupMapping":true,"roleValuePattern":"x"}"#).unwrap_err();
    assert!(broken.message.contains("groupFilter is empty"));
    assert!(aws_app("b", "B", "[1,2]").is_err());
}

#[test]
fn the_connect_relay_helper_builds_the_federate_url() {
    let mut tenant = seeds_tenant();
    let mut app = tenant.app("aws").unwrap().clone();
    let AppKind::Aws(aws) = &mut app.kind else { panic!() };
    aws.connect = Some(ConnectRelay {
        instance_id: "4c1a2f6e-0000-4000-8000-000000000001".into(),
        region: "eu-west-2".into(),
        destination: "ccp".into(),
        console_url: None,
    });
    tenant.put_app(app.clone()).unwrap();
    assert_eq!(
        tenant.app("aws").unwrap().default_relay_state().as_deref(),
        Some(
            "https://eu-west-2.console.aws.amazon.com/connect/federate/4c1a2f6e-0000-4000-8000-000000000001?destination=%2Fccp-v2"
        )
    );
    let AppKind::Aws(aws) = &mut app.kind else { panic!() };
    aws.environment = idfed_idp::apps::EnvironmentType::Custom;
    aws.acs_url = Some("http://127.0.0.1:4566/saml".into());
    if let Some(c) = aws.connect.as_mut() {
        c.destination = "admin".into();
    }
    tenant.put_app(app.clone()).unwrap();
    assert_eq!(
        tenant.app("aws").unwrap().default_relay_state().as_deref(),
        Some("http://127.0.0.1:4566/connect/federate/4c1a2f6e-0000-4000-8000-000000000001"),
        "the local sandbox's own console"
    );
    let AppKind::Aws(aws) = &mut app.kind else { panic!() };
    if let Some(c) = aws.connect.as_mut() {
        c.instance_id = "../evil".into();
    }
    assert!(tenant.put_app(app).unwrap_err().message.contains("not an Amazon Connect instance ID"));
}
