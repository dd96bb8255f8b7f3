//! Accounts in AWS GovCloud (US) and China: their ARNs carry the partition, and their SAML
//! providers take that partition's audience and sign-in endpoint, not the commercial ones
//! (reference §1.1–1.2).

use idfed_aws::auth::{Caller, base_context};
use idfed_aws::connect;
use idfed_aws::iam::{providers, roles};
use idfed_aws::state::{Account, State};
use idfed_aws::sts::assume_role_with_saml::{AUDIENCE_MISSING, AssumeRequest, assume_role_with_saml};
use idfed_aws::sts::endpoints::Partition;
use idfed_saml::aws::RolePair;

use crate::common::*;

const GOV_PROVIDER: &str = "arn:aws-us-gov:iam::111122223333:saml-provider/Okta_Connect_Admin";
const GOV_ROLE: &str = "arn:aws-us-gov:iam::111122223333:role/Okta_Role";
const GOV_SIGNIN: &str = "https://signin.amazonaws-us-gov.com/saml";

/// The seeds' account and names, in GovCloud.
fn govcloud() -> State {
    let rng = Seeded::new(1);
    let account = Account { id: ACCOUNT.into(), alias: None, partition: Partition::GovCloud };
    let mut state = State { accounts: vec![account], ..State::default() };
    let provider =
        providers::create(&mut state, ACCOUNT, "Okta_Connect_Admin", &idp_metadata(&idp().cert), now(), &rng);
    assert_eq!(provider.unwrap(), GOV_PROVIDER);
    let role = roles::NewRole {
        name: "Okta_Role",
        path: "/",
        trust_policy: &trust_policy(&["sts:AssumeRoleWithSAML"], GOV_PROVIDER, GOV_SIGNIN),
        max_session_duration: None,
        description: None,
    };
    roles::create(&mut state, ACCOUNT, &role, now(), &rng).unwrap();
    assert!(state.role(GOV_ROLE).is_some(), "the role's ARN is in the partition");
    state
}

fn gov_response(audience: &str, recipient: &str) -> String {
    let mut r = response();
    r.roles = vec![RolePair { role_arn: GOV_ROLE.into(), provider_arn: GOV_PROVIDER.into() }];
    r.audience = audience.into();
    r.acs_url = recipient.into();
    sign_with(&spec_of(&r, now()), idp(), |x| x)
}

fn assume(state: &State, xml: &str) -> Result<idfed_aws::sts::assume_role_with_saml::Assumed, idfed_aws::AwsError> {
    let request = AssumeRequest {
        role_arn: GOV_ROLE,
        principal_arn: GOV_PROVIDER,
        saml_assertion: &b64(xml),
        ..Default::default()
    };
    assume_role_with_saml(state, &request, &[], now(), &Seeded::new(2))
}

#[test]
fn a_govcloud_account_takes_govcloud_responses_and_names_its_sessions_there() {
    let mut state = govcloud();
    let assumed = assume(&state, &gov_response("urn:amazon:webservices:govcloud", GOV_SIGNIN)).unwrap();
    assert_eq!(
        assumed.session.assumed_role_arn,
        "arn:aws-us-gov:sts::111122223333:assumed-role/Okta_Role/alice@example.com"
    );
    assert_eq!(assumed.audience, GOV_SIGNIN);

    let caller = Caller::from_session(&assumed.session);
    let context = base_context(&caller, now(), None);
    let provider = context.get("aws:FederatedProvider").map(|v| v.iter().map(|v| v.as_text()).collect::<Vec<_>>());
    assert_eq!(provider, Some(vec![GOV_PROVIDER.to_owned()]));
    let (instance, _) =
        connect::create_instance(&mut state, ACCOUNT, "us-gov-west-1", "agency", "SAML", now(), &Seeded::new(3))
            .unwrap();
    let arn = &state.connect_instances[&instance].arn;
    assert!(arn.starts_with("arn:aws-us-gov:connect:us-gov-west-1:111122223333:instance/"), "{arn}");
}

#[test]
fn a_govcloud_provider_refuses_the_commercial_audience_and_sign_in_endpoint() {
    let state = govcloud();
    let commercial_audience = assume(&state, &gov_response("urn:amazon:webservices", GOV_SIGNIN)).unwrap_err();
    assert_eq!(
        (commercial_audience.code.as_str(), commercial_audience.message.as_str()),
        ("InvalidIdentityToken", AUDIENCE_MISSING)
    );
    let commercial_endpoint = assume(&state, &gov_response("urn:amazon:webservices:govcloud", SIGNIN)).unwrap_err();
    assert!(commercial_endpoint.message.contains("is not an AWS sign-in endpoint"), "{}", commercial_endpoint.message);
}

#[test]
fn a_commercial_account_keeps_the_aws_partition_and_old_state_loads_as_commercial() {
    let state = seeded_state();
    assert!(state.role(ROLE).is_some());
    let old: Account = serde_json::from_str(r#"{"id":"111122223333","alias":null}"#).unwrap();
    assert_eq!(old.partition, Partition::Aws);
    let china: Account = serde_json::from_str(r#"{"id":"1","alias":null,"partition":"aws-cn"}"#).unwrap();
    assert_eq!(china.partition, Partition::China);
}
