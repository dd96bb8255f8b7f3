//! Lists answered a page at a time, as AWS pages them: IAM's `MaxItems`/`Marker`/`IsTruncated`,
//! Connect's `maxResults`/`nextToken`/`NextToken`, with their limits.

use idfed_aws::api::iam_actions;
use idfed_aws::auth::Caller;
use idfed_aws::connect::{self, NewUser};
use idfed_aws::iam::roles;
use idfed_aws::protocol::query::Params;
use idfed_aws::state::State;
use serde_json::Value;

use crate::common::*;

fn root() -> Caller {
    Caller::Root { account: ACCOUNT.into(), partition: Default::default() }
}

fn iam(state: &mut State, query: &str) -> Result<String, idfed_aws::AwsError> {
    let params = Params::decode(&[query]).unwrap();
    let rng = Seeded::new(9);
    let call =
        iam_actions::Call { params: &params, caller: &root(), now: now(), rng: &rng, request_id: "r", source_ip: None };
    iam_actions::handle(state, &call)
}

fn connect_get(state: &mut State, path: &str, query: &str) -> Result<Value, idfed_aws::AwsError> {
    let rng = Seeded::new(10);
    let caller = root();
    let call = connect::api::Call {
        caller: &caller,
        region: "us-east-1",
        method: "GET",
        path,
        query,
        body: b"",
        now: now(),
        rng: &rng,
    };
    connect::api::handle(state, &call)
}

/// Every element `name`'s text in an IAM answer (its elements hold text or elements, never both).
fn texts(xml: &str, name: &str) -> Vec<String> {
    let (open, close) = (format!("<{name}>"), format!("</{name}>"));
    xml.split(&open).skip(1).map(|rest| rest.split(&close).next().unwrap().to_owned()).collect()
}

#[test]
fn iam_lists_page_with_a_marker_until_not_truncated() {
    let mut state = seeded_state();
    for n in 0..5 {
        let doc = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"s3:GetObject{n}","Resource":"*"}}]}}"#
        );
        roles::put_inline_policy(&mut state, ACCOUNT, "Okta_Role", &format!("inline{n}"), &doc).unwrap();
    }
    let mut names = Vec::new();
    let mut marker = String::new();
    for page in 0.. {
        assert!(page < 5, "the pages end");
        let answer =
            iam(&mut state, &format!("Action=ListRolePolicies&RoleName=Okta_Role&MaxItems=2{marker}")).unwrap();
        let got = texts(&answer, "member");
        assert!(got.len() <= 2, "{answer}");
        names.extend(got);
        if texts(&answer, "IsTruncated") == ["false"] {
            assert!(texts(&answer, "Marker").is_empty(), "{answer}");
            break;
        }
        marker = format!("&Marker={}", texts(&answer, "Marker")[0]);
    }
    assert_eq!(names, ["inline0", "inline1", "inline2", "inline3", "inline4"]);

    let attached = iam(&mut state, "Action=ListAttachedRolePolicies&RoleName=Okta_Role").unwrap();
    assert_eq!(texts(&attached, "IsTruncated"), ["false"]);
    let e = iam(&mut state, "Action=ListRolePolicies&RoleName=Okta_Role&MaxItems=1001").unwrap_err();
    assert_eq!((e.code.as_str(), e.status), ("ValidationError", 400));
    assert!(e.message.ends_with("Member must have value less than or equal to 1000"), "{}", e.message);
    let e = iam(&mut state, "Action=ListRoles&Marker=not-a-marker").unwrap_err();
    assert_eq!((e.code.as_str(), e.status), ("ValidationError", 400), "{}", e.message);
}

#[test]
fn connect_lists_page_with_next_tokens_within_their_limits() {
    let mut state = seeded_state();
    let rng = Seeded::new(4);
    let mut instances = Vec::new();
    for n in 0..12 {
        let (id, _) =
            connect::create_instance(&mut state, ACCOUNT, "us-east-1", &format!("cc-{n}"), "SAML", now(), &rng)
                .unwrap();
        instances.push(id);
    }
    let first = connect_get(&mut state, "/instance", "").unwrap();
    assert_eq!(first["InstanceSummaryList"].as_array().unwrap().len(), 10, "ListInstances gives 10 by default");
    let token = first["NextToken"].as_str().unwrap();
    let second = connect_get(&mut state, "/instance", &format!("nextToken={token}")).unwrap();
    assert_eq!(second["InstanceSummaryList"].as_array().unwrap().len(), 2);
    assert!(second.get("NextToken").is_none(), "the last page has no token: {second}");
    let e = connect_get(&mut state, "/instance", "maxResults=11").unwrap_err();
    assert_eq!((e.code.as_str(), e.status), ("InvalidParameterException", 400));
    assert!(e.message.ends_with("Member must have value less than or equal to 10"), "{}", e.message);

    let instance = &instances[0];
    let agent = state.connect_instances[instance].security_profiles["Agent"].clone();
    for n in 0..5 {
        let user = NewUser {
            username: &format!("agent{n}"),
            first_name: Some("A"),
            last_name: Some("B"),
            email: None,
            password: None,
            security_profile_ids: vec![agent.clone()],
        };
        connect::create_user(&mut state, ACCOUNT, instance, &user, &rng).unwrap();
    }
    let path = format!("/users-summary/{instance}");
    let mut seen = Vec::new();
    let mut query = "maxResults=2".to_owned();
    loop {
        let page = connect_get(&mut state, &path, &query).unwrap();
        let users = page["UserSummaryList"].as_array().unwrap();
        assert!(users.len() <= 2);
        seen.extend(users.iter().map(|u| u["Username"].as_str().unwrap().to_owned()));
        match page.get("NextToken").and_then(Value::as_str) {
            Some(token) => query = format!("maxResults=2&nextToken={token}"),
            None => break,
        }
    }
    seen.sort();
    assert_eq!(seen, ["agent0", "agent1", "agent2", "agent3", "agent4"]);
    for bad in ["maxResults=0", "maxResults=1001", "maxResults=many", "nextToken=forged"] {
        let e = connect_get(&mut state, &path, bad).unwrap_err();
        assert_eq!((e.code.as_str(), e.status), ("InvalidParameterException", 400), "{bad}: {}", e.message);
    }
}
