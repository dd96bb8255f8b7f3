//! IAM's Query actions end to end in process: SAML provider encryption settings with IAM's
//! texts, session credentials that expire, and the answers' XML.

use idfed_aws::api::iam_actions::{Call, handle};
use idfed_aws::auth::{Caller, resolve};
use idfed_aws::protocol::query::Params;
use idfed_aws::state::State;

use crate::common::*;

fn call(state: &mut State, query: &str) -> Result<String, idfed_aws::AwsError> {
    let params = Params::decode(&[query]).unwrap();
    let caller = Caller::Root { account: ACCOUNT.into(), partition: Default::default() };
    // Each call its own seed, as each would get new random IDs from AWS.
    static CALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(2);
    let rng = Seeded::new(CALLS.fetch_add(1, std::sync::atomic::Ordering::SeqCst));
    handle(state, &Call { params: &params, caller: &caller, now: now(), rng: &rng, request_id: "r", source_ip: None })
}

#[test]
fn saml_provider_encryption_settings() {
    let mut state = seeded_state();
    let arn = enc(PROVIDER);
    let e = call(&mut state, &format!("Action=UpdateSAMLProvider&SAMLProviderArn={arn}")).unwrap_err();
    assert_eq!(
        e.message,
        "Unable to update identity provider. No updates are defined for metadata or encryption assertion."
    );
    let e =
        call(&mut state, &format!("Action=UpdateSAMLProvider&SAMLProviderArn={arn}&AssertionEncryptionMode=Required"))
            .unwrap_err();
    assert_eq!(e.message, "Unable to set assertion encryption mode to Required because no private key is provided.");
    let e = call(&mut state, &format!("Action=UpdateSAMLProvider&SAMLProviderArn={arn}&AddPrivateKey=not-a-key"))
        .unwrap_err();
    assert_eq!((e.code.as_str(), e.message.as_str()), ("InvalidInput", "Invalid private key."));
    let key = enc(&rotated_idp().key_pem);
    call(
        &mut state,
        &format!(
            "Action=UpdateSAMLProvider&SAMLProviderArn={arn}&AddPrivateKey={key}&AssertionEncryptionMode=Required"
        ),
    )
    .unwrap();
    let got = call(&mut state, &format!("Action=GetSAMLProvider&SAMLProviderArn={arn}")).unwrap();
    assert!(got.contains("<AssertionEncryptionMode>Required</AssertionEncryptionMode>"), "{got}");
    assert!(got.contains("<PrivateKeyList><member><KeyId>SAMLSP"), "{got}");
    assert!(got.contains("<SAMLProviderUUID>SAMLSP"));
    call(&mut state, &format!("Action=UpdateSAMLProvider&SAMLProviderArn={arn}&AddPrivateKey={key}")).unwrap();
    let e =
        call(&mut state, &format!("Action=UpdateSAMLProvider&SAMLProviderArn={arn}&AddPrivateKey={key}")).unwrap_err();
    assert_eq!(e.message, "Private key limit of 2 is reached.");
    let e = call(
        &mut state,
        &format!("Action=UpdateSAMLProvider&SAMLProviderArn={arn}&AddPrivateKey={key}&RemovePrivateKey=X"),
    )
    .unwrap_err();
    assert_eq!(
        e.message,
        "Unable to add and remove private keys in the same request. Set a value for only one of the two parameters."
    );
    let e = call(&mut state, &format!("Action=UpdateSAMLProvider&SAMLProviderArn={arn}&RemovePrivateKey=NOPE"))
        .unwrap_err();
    assert_eq!(e.message, "Failed to remove private key because the Key ID does not match a private key.");
    // Keys go one at a time; the last one stays while encryption is Required.
    let ids = |state: &idfed_aws::state::State| -> Vec<String> {
        state.providers[PROVIDER].private_keys.iter().map(|(id, _, _)| id.clone()).collect()
    };
    let [first, last] = ids(&state).try_into().unwrap();
    call(&mut state, &format!("Action=UpdateSAMLProvider&SAMLProviderArn={arn}&RemovePrivateKey={first}")).unwrap();
    let remove_last = format!("Action=UpdateSAMLProvider&SAMLProviderArn={arn}&RemovePrivateKey={last}");
    assert_eq!(call(&mut state, &remove_last).unwrap_err().message, "Failed to remove private key.");
    assert_eq!(ids(&state), std::slice::from_ref(&last), "the refused removal removed nothing");
    call(&mut state, &format!("{remove_last}&AssertionEncryptionMode=Allowed")).unwrap();
    assert!(ids(&state).is_empty());
    let e = call(
        &mut state,
        "Action=GetSAMLProvider&SAMLProviderArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Asaml-provider%2FNone",
    )
    .unwrap_err();
    assert_eq!((e.code.as_str(), e.status), ("NoSuchEntity", 404));
}

#[test]
fn roles_and_max_session_duration() {
    let mut state = seeded_state();
    let e = call(&mut state, "Action=UpdateRole&RoleName=Okta_Role&MaxSessionDuration=50000").unwrap_err();
    assert_eq!(e.code, "ValidationError");
    call(&mut state, "Action=UpdateRole&RoleName=Okta_Role&MaxSessionDuration=43200").unwrap();
    assert_eq!(state.role(ROLE).unwrap().max_session_duration, 43_200);
    let trust =
        enc(&trust_policy(&["sts:AssumeRoleWithSAML"], "arn:aws:iam::111122223333:saml-provider/Missing", SIGNIN));
    let e =
        call(&mut state, &format!("Action=CreateRole&RoleName=Other&AssumeRolePolicyDocument={trust}")).unwrap_err();
    assert_eq!(
        (e.code.as_str(), e.message.as_str()),
        (
            "MalformedPolicyDocument",
            "Invalid principal in policy: \"Federated\":\"arn:aws:iam::111122223333:saml-provider/Missing\""
        )
    );
    let e = call(
        &mut state,
        &format!(
            "Action=CreateRole&RoleName=okta_role&AssumeRolePolicyDocument={}",
            enc(&trust_policy(&["sts:AssumeRoleWithSAML"], PROVIDER, SIGNIN))
        ),
    )
    .unwrap_err();
    assert_eq!((e.code.as_str(), e.status), ("EntityAlreadyExists", 409), "role names are unique ignoring case");
    let doc = enc(r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}}"#);
    call(&mut state, &format!("Action=PutRolePolicy&RoleName=Okta_Role&PolicyName=inline&PolicyDocument={doc}"))
        .unwrap();
    let got = call(&mut state, "Action=GetRolePolicy&RoleName=Okta_Role&PolicyName=inline").unwrap();
    assert!(got.contains("<PolicyDocument>%7B%22Version%22"), "policy documents are URL-encoded: {got}");
    let e = call(&mut state, "Action=DeleteRole&RoleName=Okta_Role").unwrap_err();
    assert_eq!((e.code.as_str(), e.status), ("DeleteConflict", 409));
    let e = call(&mut state, "Action=Frobnicate").unwrap_err();
    assert_eq!(e.code, "InvalidAction");
}

#[test]
fn session_credentials_expire() {
    let state = seeded_state();
    let xml = sign_with(&spec_of(&response(), now()), idp(), |x| x);
    let request = idfed_aws::sts::assume_role_with_saml::AssumeRequest {
        role_arn: ROLE,
        principal_arn: PROVIDER,
        saml_assertion: &b64(&xml),
        duration_seconds: Some(900),
        ..Default::default()
    };
    let session =
        idfed_aws::sts::assume_role_with_saml::assume_role_with_saml(&state, &request, &[], now(), &Seeded::new(1))
            .unwrap()
            .session;
    let mut state = state;
    state.sessions.insert(session.access_key.clone(), session.clone());
    let (caller, _) = resolve(&state, &session.access_key, Some(&session.token), now().plus_seconds(899)).unwrap();
    assert_eq!(caller.arn(), session.assumed_role_arn);
    let e = resolve(&state, &session.access_key, Some(&session.token), now().plus_seconds(900)).unwrap_err();
    assert_eq!(
        (e.code.as_str(), e.status, e.message.as_str()),
        ("ExpiredToken", 403, "The security token included in the request is expired")
    );
    let e = resolve(&state, &session.access_key, Some("forged"), now()).unwrap_err();
    assert_eq!(e.code, "InvalidClientTokenId");
}

#[test]
fn unparseable_metadata_f19() {
    let mut state = seeded_state();
    for metadata in [
        "x".repeat(1200),
        format!("\u{feff}{}", idp_metadata(&idp().cert)),
        idp_metadata(&idp().cert).replace("IDPSSODescriptor", "SPSSODescriptor"),
    ] {
        let e =
            call(&mut state, &format!("Action=CreateSAMLProvider&Name=Broken&SAMLMetadataDocument={}", enc(&metadata)))
                .unwrap_err();
        assert_eq!((e.code.as_str(), e.status, e.message.as_str()), ("InvalidInput", 400, "Could not parse metadata."));
    }
    let short = call(&mut state, "Action=CreateSAMLProvider&Name=Short&SAMLMetadataDocument=%3Cx%2F%3E").unwrap_err();
    assert_eq!(short.code, "ValidationError");
}

#[test]
fn an_assertion_is_redeemed_once_at_sts_within_its_window() {
    let state = std::sync::Mutex::new(seeded_state());
    let xml = sign_with(&spec_of(&response(), now()), idp(), |x| x);
    let query = assume_query(ROLE, &b64(&xml));
    let params = Params::decode(&[query.as_str()]).unwrap();
    let rng = Seeded::new(4);
    let assume = |at| idfed_aws::api::sts_actions::assume_role_with_saml_action(&state, &params, &[], at, &rng, "r");
    let sessions = |state: &std::sync::Mutex<State>| state.lock().unwrap().sessions.len();
    assume(now()).unwrap();
    let made = sessions(&state);
    let replay = assume(now().plus_seconds(10)).unwrap_err();
    assert_eq!((replay.code.as_str(), replay.status), ("InvalidIdentityToken", 400));
    assert_eq!(replay.message, idfed_aws::sts::assume_role_with_saml::ALREADY_USED);
    assert_eq!(sessions(&state), made, "a replay makes no session");
    // Past the five minutes the assertion is refused as expired, and its mark is dropped.
    let late = assume(now().plus_seconds(301)).unwrap_err();
    assert_eq!(late.code, "ExpiredTokenException");
    let mut state = state.lock().unwrap();
    assert!(state.redeem("other", now().plus_seconds(400), now().plus_seconds(301)));
    assert!(state.redeemed.keys().all(|mark| mark == "other"), "expired marks are dropped");
}

#[test]
fn one_assertion_gives_credentials_for_each_of_its_roles_once() {
    let mut seeded = seeded_state();
    let second = "arn:aws:iam::111122223333:role/Readonly";
    let role = idfed_aws::iam::roles::NewRole {
        name: "Readonly",
        path: "/",
        trust_policy: &trust_policy(&["sts:AssumeRoleWithSAML"], PROVIDER, SIGNIN),
        max_session_duration: None,
        description: None,
    };
    idfed_aws::iam::roles::create(&mut seeded, ACCOUNT, &role, now(), &Seeded::new(3)).unwrap();
    let state = std::sync::Mutex::new(seeded);
    let mut r = response();
    r.roles.push(idfed_saml::aws::RolePair { role_arn: second.into(), provider_arn: PROVIDER.into() });
    let assertion = b64(&sign_with(&spec_of(&r, now()), idp(), |x| x));
    let rng = Seeded::new(4);
    let assume = |role: &str| {
        let query = assume_query(role, &assertion);
        let params = Params::decode(&[query.as_str()]).unwrap();
        idfed_aws::api::sts_actions::assume_role_with_saml_action(&state, &params, &[], now(), &rng, "r")
    };
    assert!(assume(ROLE).is_ok());
    assert!(assume(second).is_ok(), "another role of the same assertion, as gimme-aws-creds asks for");
    for role in [ROLE, second] {
        let again = assume(role).unwrap_err();
        assert_eq!(again.message, idfed_aws::sts::assume_role_with_saml::ALREADY_USED, "{role} twice");
    }
}

#[test]
fn a_refused_provider_change_leaves_nothing_behind() {
    let mut state = seeded_state();
    let metadata = enc(&idp_metadata(&idp().cert));
    let create = format!("Action=CreateSAMLProvider&Name=Encrypted&SAMLMetadataDocument={metadata}");
    let e = call(&mut state, &format!("{create}&AssertionEncryptionMode=Required")).unwrap_err();
    assert_eq!(e.message, "Unable to set assertion encryption mode to Required because no private key is provided.");
    let arn = format!("arn:aws:iam::{ACCOUNT}:saml-provider/Encrypted");
    assert!(!state.providers.contains_key(&arn), "the refused provider is not left half-made");
    // The same request with a key is taken (it would be EntityAlreadyExists had the first stayed).
    let key = enc(&rotated_idp().key_pem);
    call(&mut state, &format!("{create}&AssertionEncryptionMode=Required&AddPrivateKey={key}")).unwrap();
    assert_eq!(state.providers[&arn].private_keys.len(), 1);
    // A key alone at creation is kept, not dropped.
    call(
        &mut state,
        &format!("Action=CreateSAMLProvider&Name=KeyOnly&SAMLMetadataDocument={metadata}&AddPrivateKey={key}"),
    )
    .unwrap();
    assert_eq!(state.providers[&format!("arn:aws:iam::{ACCOUNT}:saml-provider/KeyOnly")].private_keys.len(), 1);
    // An update whose encryption part is refused does not keep its metadata part.
    let provider = enc(PROVIDER);
    let before = state.providers[PROVIDER].metadata.clone();
    let other = enc(&idp_metadata(&rotated_idp().cert));
    let e = call(
        &mut state,
        &format!(
            "Action=UpdateSAMLProvider&SAMLProviderArn={provider}&SAMLMetadataDocument={other}&AddPrivateKey=not-a-key"
        ),
    )
    .unwrap_err();
    assert_eq!(e.message, "Invalid private key.");
    assert_eq!(state.providers[PROVIDER].metadata, before);
}

/// One account's root (or any of its principals) cannot read, replace, delete or attach another
/// account's SAML provider or managed policy by naming its ARN.
#[test]
fn another_accounts_arns_are_out_of_reach() {
    let mut state = seeded_state();
    let other = "444455556666";
    state.accounts.push(idfed_aws::state::Account { id: other.into(), ..Default::default() });
    let document =
        enc(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListRoles","Resource":"*"}]}"#);
    call(&mut state, &format!("Action=CreatePolicy&PolicyName=Ops&PolicyDocument={document}")).unwrap();
    let policy = format!("arn:aws:iam::{ACCOUNT}:policy/Ops");
    assert!(state.policies.contains_key(&policy));
    let params_of = |query: &str| Params::decode(&[query]).unwrap();
    let stranger = Caller::Root { account: other.into(), partition: Default::default() };
    let rng = Seeded::new(3);
    let as_stranger = |state: &mut State, query: String| {
        let params = params_of(&query);
        handle(
            state,
            &Call { params: &params, caller: &stranger, now: now(), rng: &rng, request_id: "r", source_ip: None },
        )
    };
    let trust = enc(&trust_policy(&["sts:AssumeRoleWithSAML"], PROVIDER, SIGNIN));
    as_stranger(&mut state, format!("Action=CreateRole&RoleName=Mine&AssumeRolePolicyDocument={trust}")).unwrap();
    let provider = enc(PROVIDER);
    let before = state.providers[PROVIDER].metadata.clone();
    let metadata = enc(&idp_metadata(&rotated_idp().cert));
    for query in [
        format!("Action=GetSAMLProvider&SAMLProviderArn={provider}"),
        format!("Action=UpdateSAMLProvider&SAMLProviderArn={provider}&SAMLMetadataDocument={metadata}"),
        format!("Action=DeleteSAMLProvider&SAMLProviderArn={provider}"),
        format!("Action=GetPolicy&PolicyArn={}", enc(&policy)),
    ] {
        let e = as_stranger(&mut state, query.clone()).unwrap_err();
        assert_eq!((e.code.as_str(), e.status), ("AccessDenied", 403), "{query}");
        assert!(e.message.contains("because no resource-based policy allows the iam:"), "{}", e.message);
    }
    assert_eq!(state.providers[PROVIDER].metadata, before, "the provider is unchanged");
    let attach = format!("Action=AttachRolePolicy&RoleName=Mine&PolicyArn={}", enc(&policy));
    let e = as_stranger(&mut state, attach).unwrap_err();
    assert_eq!(
        (e.code.as_str(), e.message.as_str()),
        ("NoSuchEntity", &*format!("Policy {policy} does not exist or is not attachable."))
    );
    // Its own account's calls still work.
    call(&mut state, &format!("Action=GetSAMLProvider&SAMLProviderArn={provider}")).unwrap();

    // An attachment made before they were refused grants the stranger's user nothing.
    as_stranger(&mut state, "Action=CreateUser&UserName=old".into()).unwrap();
    let old_arn = format!("arn:aws:iam::{other}:user/old");
    state.users.get_mut(&old_arn).unwrap().attached_policies.push(policy.clone());
    let user = Caller::User { arn: old_arn, account: other.into(), user_id: "AIDAOLD".into() };
    let params = params_of("Action=ListRoles");
    let e = handle(
        &mut state,
        &Call { params: &params, caller: &user, now: now(), rng: &rng, request_id: "r", source_ip: None },
    )
    .unwrap_err();
    assert_eq!(e.code, "AccessDenied", "{}", e.message);
}

/// Descriptions and paths follow IAM's patterns, so nothing stored can break a later answer's XML.
#[test]
fn descriptions_and_paths_follow_iams_patterns() {
    let mut state = seeded_state();
    let trust = enc(&trust_policy(&["sts:AssumeRoleWithSAML"], PROVIDER, SIGNIN));
    let create = |extra: &str| format!("Action=CreateRole&RoleName=R&AssumeRolePolicyDocument={trust}{extra}");
    let long = format!("&Description={}", "d".repeat(1001));
    for (extra, field) in [
        ("&Description=a%01b", "'description'"),
        (long.as_str(), "'description'"),
        ("&Path=%2F%2F", "'path'"),
        ("&Path=%2Fa", "'path'"),
        ("&Path=%2Fa%20b%2F", "'path'"),
    ] {
        let e = call(&mut state, &create(extra)).unwrap_err();
        assert_eq!(e.code, "ValidationError", "{extra}");
        assert!(e.message.contains(field), "{extra}: {}", e.message);
    }
    assert!(!state.roles.values().any(|r| r.name == "R"), "nothing refused was kept");
    call(&mut state, &create("&Description=Caf%C3%A9%09desk&Path=%2Fteam%2Fa%2F")).unwrap();
    let e = call(&mut state, "Action=UpdateRole&RoleName=R&Description=%1B%5B31m").unwrap_err();
    assert_eq!(e.code, "ValidationError");
    let e = call(&mut state, "Action=CreateUser&UserName=u&Path=%2Fx").unwrap_err();
    assert_eq!(e.code, "ValidationError");
    let listed = call(&mut state, "Action=ListRoles").unwrap();
    assert!(listed.contains("<Description>Café\tdesk</Description>"), "{listed}");
    assert!(listed.contains("<Path>/team/a/</Path>"), "{listed}");
}
