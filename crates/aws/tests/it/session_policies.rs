//! Session policies (`Policy`, `PolicyArns` of AssumeRoleWithSAML): a session may do only what
//! its role's identity policies and its session policies both allow, with IAM's AccessDenied
//! texts naming which one refused; bad parameters are refused and make no session.

use std::sync::Mutex;

use idfed_aws::AwsError;
use idfed_aws::api::iam_actions::{Call, handle};
use idfed_aws::api::sts_actions::assume_role_with_saml_action;
use idfed_aws::auth::Caller;
use idfed_aws::protocol::query::Params;
use idfed_aws::state::State;

use crate::common::*;

const ONLY_GET_ROLE: &str = "arn:aws:iam::111122223333:policy/OnlyGetRole";

fn allow(actions: &str) -> String {
    format!(r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":{actions},"Resource":"*"}}]}}"#)
}

/// The seeds' account, where Okta_Role may read roles and list them, and a managed policy that
/// allows only reading one.
fn world() -> Mutex<State> {
    let mut state = seeded_state();
    let root = Caller::Root { account: ACCOUNT.into(), partition: Default::default() };
    let identity = enc(&allow(r#"["iam:GetRole","iam:ListRoles"]"#));
    let managed = enc(&allow(r#""iam:GetRole""#));
    for query in [
        format!("Action=PutRolePolicy&RoleName=Okta_Role&PolicyName=read&PolicyDocument={identity}"),
        format!("Action=CreatePolicy&PolicyName=OnlyGetRole&PolicyDocument={managed}"),
    ] {
        run(&mut state, &root, &query).unwrap();
    }
    Mutex::new(state)
}

fn run(state: &mut State, caller: &Caller, query: &str) -> Result<String, AwsError> {
    let params = Params::decode(&[query]).unwrap();
    let rng = Seeded::new(2);
    handle(state, &Call { params: &params, caller, now: now(), rng: &rng, request_id: "r", source_ip: None })
}

/// AssumeRoleWithSAML through the Query action with `extra` parameters, with a fresh assertion
/// each time (`n` moves its issue instant, and so its ID).
fn assume(state: &Mutex<State>, n: i64, extra: &str) -> Result<String, AwsError> {
    let at = now().plus_seconds(n);
    let assertion = b64(&sign_with(&spec_of(&response(), at), idp(), |x| x));
    let query = assume_query(ROLE, &assertion) + extra;
    let params = Params::decode(&[query.as_str()]).unwrap();
    assume_role_with_saml_action(state, &params, &[], at, &Seeded::new(n as u64), "r")
}

fn session_caller(state: &Mutex<State>, answer: &str) -> Caller {
    let key = answer.split("<AccessKeyId>").nth(1).and_then(|rest| rest.split('<').next()).unwrap();
    Caller::from_session(&state.lock().unwrap().sessions[key])
}

/// Whether `caller` may run `action` (a read of Okta_Role or the role list), and the refusal.
fn may(state: &Mutex<State>, caller: &Caller, action: &str) -> Result<(), String> {
    let query = match action {
        "GetRole" => "Action=GetRole&RoleName=Okta_Role",
        "ListRoles" => "Action=ListRoles",
        other => panic!("no query for {other}"),
    };
    run(&mut state.lock().unwrap(), caller, query).map(drop).map_err(|e| {
        assert_eq!((e.code.as_str(), e.status), ("AccessDenied", 403), "{}", e.message);
        e.message
    })
}

fn denied(action: &str, resource: &str, why: &str) -> Result<(), String> {
    Err(format!(
        "User: arn:aws:sts::111122223333:assumed-role/Okta_Role/alice@example.com is not authorized to perform: iam:{action} on resource: {resource} {why}"
    ))
}

const ROLE_LIST: &str = "arn:aws:iam::111122223333:role/";

#[test]
fn a_session_may_do_only_what_its_role_and_its_session_policies_both_allow() {
    let state = world();
    let plain = session_caller(&state, &assume(&state, 0, "").unwrap());
    assert_eq!(may(&state, &plain, "GetRole"), Ok(()));
    assert_eq!(may(&state, &plain, "ListRoles"), Ok(()));

    let answer = assume(&state, 1, &format!("&Policy={}", enc(&allow(r#""iam:ListRoles""#)))).unwrap();
    assert!(answer.contains("<PackedPolicySize>"), "{answer}");
    let listing = session_caller(&state, &answer);
    assert_eq!(may(&state, &listing, "ListRoles"), Ok(()));
    assert_eq!(
        may(&state, &listing, "GetRole"),
        denied("GetRole", ROLE, "because no session policy allows the iam:GetRole action")
    );

    let managed =
        session_caller(&state, &assume(&state, 2, &format!("&PolicyArns.member.1.arn={ONLY_GET_ROLE}")).unwrap());
    assert_eq!(may(&state, &managed, "GetRole"), Ok(()));
    assert_eq!(
        may(&state, &managed, "ListRoles"),
        denied("ListRoles", ROLE_LIST, "because no session policy allows the iam:ListRoles action")
    );

    let deny_list = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"iam:ListRoles","Resource":"*"}]}"#;
    let everything_but = session_caller(&state, &assume(&state, 3, &format!("&Policy={}", enc(deny_list))).unwrap());
    assert_eq!(may(&state, &everything_but, "GetRole"), Ok(()));
    assert_eq!(
        may(&state, &everything_but, "ListRoles"),
        denied("ListRoles", ROLE_LIST, "with an explicit deny in a session policy")
    );
    // The role's own explicit deny wins over a session policy that allows.
    let deny_get = r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"iam:GetRole","Resource":"*"}}"#;
    let root = Caller::Root { account: ACCOUNT.into(), partition: Default::default() };
    let query = format!("Action=PutRolePolicy&RoleName=Okta_Role&PolicyName=no-get&PolicyDocument={}", enc(deny_get));
    run(&mut state.lock().unwrap(), &root, &query).unwrap();
    assert_eq!(
        may(&state, &everything_but, "GetRole"),
        denied("GetRole", ROLE, "with an explicit deny in an identity-based policy")
    );
    // A session policy grants nothing the role does not: creating a role stays refused.
    let refused =
        run(&mut state.lock().unwrap(), &everything_but, "Action=CreateRole&RoleName=X&AssumeRolePolicyDocument=x")
            .unwrap_err();
    assert!(
        refused.message.ends_with("because no identity-based policy allows the iam:CreateRole action"),
        "{}",
        refused.message
    );
}

#[test]
fn a_managed_session_policy_is_read_when_the_session_acts() {
    let state = world();
    let managed =
        session_caller(&state, &assume(&state, 0, &format!("&PolicyArns.member.1.arn={ONLY_GET_ROLE}")).unwrap());
    assert_eq!(may(&state, &managed, "GetRole"), Ok(()));
    state.lock().unwrap().policies.remove(ONLY_GET_ROLE);
    assert_eq!(
        may(&state, &managed, "GetRole"),
        denied("GetRole", ROLE, "because no session policy allows the iam:GetRole action"),
        "a session policy that is gone allows nothing"
    );
}

#[test]
fn bad_session_policy_parameters_are_refused_and_make_no_session() {
    let state = world();
    let refused = |n: i64, extra: &str| {
        let before = state.lock().unwrap().sessions.len();
        let e = assume(&state, n, extra).unwrap_err();
        assert_eq!(state.lock().unwrap().sessions.len(), before, "{extra}: no session");
        (e.code, e.status, e.message)
    };
    let (code, status, message) = refused(0, &format!("&Policy={}", enc(r#"{"Version":"2012-10-17"}"#)));
    assert_eq!((code.as_str(), status), ("MalformedPolicyDocument", 400), "{message}");
    let (code, _, message) = refused(1, "&Policy=not-json");
    assert_eq!((code.as_str(), message.as_str()), ("MalformedPolicyDocument", "Syntax errors in policy."));
    let (code, _, message) = refused(2, "&PolicyArns.member.1.arn=arn:aws:iam::111122223333:policy/Missing");
    assert_eq!(code, "MalformedPolicyDocument");
    assert!(message.contains("policy/Missing"), "{message}");
    // Another account's policy, even one the sandbox holds, is not the role's to use.
    let foreign = "arn:aws:iam::444455556666:policy/Elsewhere";
    let copy = state.lock().unwrap().policies[ONLY_GET_ROLE].clone();
    state
        .lock()
        .unwrap()
        .policies
        .insert(foreign.into(), idfed_aws::state::ManagedPolicy { arn: foreign.into(), ..copy });
    let (code, _, _) = refused(7, &format!("&PolicyArns.member.1.arn={foreign}"));
    assert_eq!(code, "MalformedPolicyDocument");

    let long = allow(&format!("\"{}\"", "s".repeat(2048)));
    let (code, _, message) = refused(3, &format!("&Policy={}", enc(&long)));
    assert_eq!(code, "ValidationError");
    assert!(
        message
            .ends_with("at 'policy' failed to satisfy constraint: Member must have length less than or equal to 2048"),
        "{message}"
    );
    let (code, _, message) = refused(4, &format!("&Policy={}", enc(&allow("\"iam:Get\u{0100}\""))));
    assert_eq!(code, "ValidationError");
    assert!(message.contains("regular expression pattern"), "{message}");
    let eleven: String = (1..=11).map(|n| format!("&PolicyArns.member.{n}.arn={ONLY_GET_ROLE}")).collect();
    let (code, _, message) = refused(5, &eleven);
    assert_eq!(code, "ValidationError");
    assert!(message.ends_with("Member must have length less than or equal to 10"), "{message}");
    let (code, _, _) = refused(6, "&PolicyArns.member.1.arn=arn%3Ashort");
    assert_eq!(code, "ValidationError");
}
