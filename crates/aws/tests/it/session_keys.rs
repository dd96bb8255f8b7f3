//! What a federated session brings to every later request's context (IAM's global condition
//! keys): its session tags as `aws:PrincipalTag/*`, its SourceIdentity, the provider as
//! `aws:FederatedProvider`, `aws:PrincipalType`, and only the three SAML keys AWS passes on.

use idfed_aws::auth::{Caller, authorize, base_context};
use idfed_aws::iam::roles;
use idfed_aws::state::{Session, State};
use idfed_aws::sts::assume_role_with_saml::{AssumeRequest, assume_role_with_saml};
use idfed_saml::model::Attribute;

use crate::common::*;

const ROLE_ARN: &str = "arn:aws:iam::111122223333:role/Okta_Role";

fn attr(name: &str, value: &str) -> Attribute {
    Attribute { name: name.into(), name_format: None, friendly_name: None, values: vec![value.into()] }
}

/// A session of alice's on Okta_Role, tagged team=voice and owner=alice, with SourceIdentity alice and a
/// trust-only SAML key (eduPersonAffiliation).
fn tagged_session() -> (State, Session) {
    let mut state = seeded_state();
    let trust = trust_policy(&["sts:AssumeRoleWithSAML", "sts:TagSession", "sts:SetSourceIdentity"], PROVIDER, SIGNIN);
    roles::update_assume_role_policy(&mut state, ACCOUNT, "Okta_Role", &trust).unwrap();
    let mut r = response();
    r.extra_attributes = vec![
        attr("https://aws.amazon.com/SAML/Attributes/PrincipalTag:team", "voice"),
        attr("https://aws.amazon.com/SAML/Attributes/PrincipalTag:owner", "alice"),
        attr("https://aws.amazon.com/SAML/Attributes/SourceIdentity", "alice"),
        attr("urn:oid:1.3.6.1.4.1.5923.1.1.1.1", "staff"),
    ];
    let xml = sign_with(&spec_of(&r, now()), idp(), |x| x);
    let request =
        AssumeRequest { role_arn: ROLE, principal_arn: PROVIDER, saml_assertion: &b64(&xml), ..Default::default() };
    let session = assume_role_with_saml(&state, &request, &[], now(), &Seeded::new(3)).unwrap().session;
    (state, session)
}

/// Whether Okta_Role, given an identity policy that allows iam:GetRole under `condition`, lets
/// `caller` read itself.
fn allowed_under(state: &mut State, caller: &Caller, condition: &str) -> bool {
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"iam:GetRole","Resource":"*","Condition":{condition}}}]}}"#
    );
    roles::put_inline_policy(state, ACCOUNT, "Okta_Role", "abac", &policy).unwrap();
    let context = base_context(caller, now(), None);
    authorize(state, caller, "iam:GetRole", ROLE_ARN, &context).is_ok()
}

#[test]
fn a_session_carries_its_tags_source_identity_provider_and_subject() {
    let (mut state, session) = tagged_session();
    let caller = Caller::from_session(&session);
    for (condition, expected) in [
        (r#"{"StringEquals":{"aws:PrincipalTag/team":"voice"}}"#, true),
        (r#"{"StringEquals":{"aws:PrincipalTag/team":"billing"}}"#, false),
        (r#"{"StringEquals":{"aws:PrincipalTag/Team":"voice"}}"#, true),
        (r#"{"StringEquals":{"aws:SourceIdentity":"alice"}}"#, true),
        (r#"{"StringEquals":{"aws:SourceIdentity":"bob"}}"#, false),
        (&format!(r#"{{"StringEquals":{{"aws:FederatedProvider":"{PROVIDER}"}}}}"#), true),
        (r#"{"StringEquals":{"saml:sub":"alice@example.com"}}"#, true),
        (r#"{"StringEquals":{"saml:sub_type":"persistent"}}"#, true),
        (r#"{"StringLike":{"saml:namequalifier":"*"}}"#, true),
        (r#"{"StringEquals":{"aws:PrincipalType":"AssumedRole"}}"#, true),
        // Policy variables read the same keys.
        (r#"{"StringEquals":{"saml:sub":"${aws:SourceIdentity}@example.com"}}"#, true),
        (r#"{"StringEquals":{"aws:SourceIdentity":"${aws:PrincipalTag/owner}"}}"#, true),
        (r#"{"StringEquals":{"aws:SourceIdentity":"${aws:PrincipalTag/team}"}}"#, false),
        // Trust-only SAML keys do not follow the session into other services.
        (r#"{"StringEquals":{"saml:edupersonaffiliation":"staff"}}"#, false),
        (r#"{"Null":{"saml:edupersonaffiliation":"true"}}"#, true),
        (r#"{"Null":{"saml:aud":"true"}}"#, true),
        (r#"{"Null":{"aws:username":"true"}}"#, true),
    ] {
        assert_eq!(allowed_under(&mut state, &caller, condition), expected, "{condition}");
    }
}

#[test]
fn a_deny_on_a_session_key_refuses_what_the_role_otherwise_allows() {
    let (mut state, session) = tagged_session();
    let caller = Caller::from_session(&session);
    let policy = r#"{"Version":"2012-10-17","Statement":[
        {"Effect":"Allow","Action":"iam:GetRole","Resource":"*"},
        {"Effect":"Deny","Action":"iam:GetRole","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"voice"}}}]}"#;
    roles::put_inline_policy(&mut state, ACCOUNT, "Okta_Role", "deny-voice", policy).unwrap();
    let e = authorize(&state, &caller, "iam:GetRole", ROLE_ARN, &base_context(&caller, now(), None)).unwrap_err();
    assert_eq!((e.code.as_str(), e.status), ("AccessDenied", 403));
    assert!(e.message.ends_with("with an explicit deny in an identity-based policy"), "{}", e.message);

    let mut untagged = session.clone();
    untagged.tags.clear();
    let caller = Caller::from_session(&untagged);
    assert!(authorize(&state, &caller, "iam:GetRole", ROLE_ARN, &base_context(&caller, now(), None)).is_ok());
}

#[test]
fn users_and_the_account_key_are_their_own_principal_types() {
    let user = Caller::User {
        arn: "arn:aws:iam::111122223333:user/ops".into(),
        account: ACCOUNT.into(),
        user_id: "AIDAEXAMPLE".into(),
    };
    let root = Caller::Root { account: ACCOUNT.into(), partition: Default::default() };
    for (caller, kind) in [(user, "User"), (root, "Account")] {
        let context = base_context(&caller, now(), None);
        let found = context.get("aws:PrincipalType").map(|v| v.iter().map(|v| v.as_text()).collect::<Vec<_>>());
        assert_eq!(found, Some(vec![kind.to_owned()]));
        assert!(context.get("aws:FederatedProvider").is_none());
    }
}
