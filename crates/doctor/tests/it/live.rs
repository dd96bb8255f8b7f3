//! The AWS side read live, as `idfed doctor --aws-live` reads real AWS, here from a sandbox served
//! on loopback: an account larger than one page of every list, whose federation permission is an
//! inline policy, with AWS's own large managed policy attached, a role trusting a deleted
//! provider, and a role and a policy this reader cannot judge.

use std::sync::Arc;

use idfed_aws::server::{Sandbox, serve};
use idfed_aws::state::{ManagedPolicy, Role};
use idfed_doctor::live::{Live, Reading, read};

use super::*;

const FILLER_ROLES: usize = 1_000;
const EXTRA_INSTANCES: usize = 11;
const EXTRA_USERS: usize = 1_200;
const READ_ONLY: &str = "arn:aws:iam::aws:policy/ReadOnlyAccess";
const UNJUDGED_POLICY: &str = "arn:aws:iam::111122223333:policy/unjudged";

/// The seeds' working account grown past the first page of ListRoles (1,000), ListInstances (10)
/// and ListUsers (1,000); Okta_Role sorts after every filler role, so it is on the second page.
fn large_account() -> State {
    let rng = SystemRandom::new();
    let mut w = world();
    let state = &mut w.state;
    let service_trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    for n in 0..FILLER_ROLES {
        let name = format!("Filler_{n:04}");
        let role = roles::NewRole {
            name: &name,
            path: "/",
            trust_policy: service_trust,
            max_session_duration: None,
            description: None,
        };
        roles::create(state, ACCOUNT, &role, now(), &rng).unwrap();
    }
    for n in 0..EXTRA_INSTANCES {
        connect::create_instance(state, ACCOUNT, "us-east-1", &format!("cc-{n}"), "SAML", now(), &rng).unwrap();
    }
    let agent = state.connect_instances[&w.instance].security_profiles["Agent"].clone();
    for n in 0..EXTRA_USERS {
        let user = NewUser {
            username: &format!("agent{n}"),
            first_name: Some("Agent"),
            last_name: Some("Filler"),
            email: None,
            password: None,
            security_profile_ids: vec![agent.clone()],
        };
        connect::create_user(state, ACCOUNT, &w.instance, &user, &rng).unwrap();
    }

    // The federation permission moves from the managed policy to an inline one.
    let managed = state.roles[ROLE].attached_policies[0].clone();
    policies::detach(state, ACCOUNT, &policies::Holder::Role("Okta_Role"), &managed).unwrap();
    let document = state.policies[&managed].document.clone();
    roles::put_inline_policy(state, ACCOUNT, "Okta_Role", "federate", &document).unwrap();

    // AWS's own managed policies are larger than a customer policy may be.
    let statements: Vec<String> = (0..120)
        .map(|n| {
            format!(
                r#"{{"Sid":"Read{n}","Effect":"Allow","Action":["service{n}:Get*","service{n}:List*"],"Resource":"*"}}"#
            )
        })
        .collect();
    let large = format!(r#"{{"Version":"2012-10-17","Statement":[{}]}}"#, statements.join(","));
    assert!(large.len() > 6144);
    let aws_managed = |arn: &str, document: &str| ManagedPolicy {
        arn: arn.into(),
        name: arn.rsplit('/').next().unwrap().into(),
        id: "ANPAEXAMPLE".into(),
        path: "/".into(),
        document: document.into(),
        created: now(),
    };
    policies::adopt(state, aws_managed(READ_ONLY, &large)).unwrap();
    // A document this reader's policy grammar refuses (whatever AWS made of it).
    state.policies.insert(UNJUDGED_POLICY.into(), aws_managed(UNJUDGED_POLICY, r#"{"Statement":"not a list"}"#));
    for arn in [READ_ONLY, UNJUDGED_POLICY] {
        state.roles.get_mut(ROLE).unwrap().attached_policies.push(arn.into());
    }

    // A role whose provider was deleted since: AWS keeps its trust policy as it was.
    providers::create(state, ACCOUNT, "Retired", &metadata_for("http://retired"), now(), &rng).unwrap();
    let retired = "arn:aws:iam::111122223333:saml-provider/Retired";
    let legacy = roles::NewRole {
        name: "Legacy_Okta_Role",
        path: "/",
        trust_policy: &trust("\"sts:AssumeRoleWithSAML\"", retired, SIGNIN),
        max_session_duration: None,
        description: None,
    };
    roles::create(state, ACCOUNT, &legacy, now(), &rng).unwrap();
    providers::delete(state, retired).unwrap();

    // A trust policy this reader cannot judge.
    let mut odd: Role = state.roles["arn:aws:iam::111122223333:role/Legacy_Okta_Role"].clone();
    odd.name = "Odd_Role".into();
    odd.arn = "arn:aws:iam::111122223333:role/Odd_Role".into();
    odd.trust_policy_text = r#"{"Version":"2012-10-17","Statement":"SAML, not a list"}"#.into();
    state.roles.insert(odd.arn.clone(), odd);
    w.state
}

/// Serves `state` on loopback, reads it live and stops; with the progress reports heard.
fn read_served(state: State) -> (Reading, Vec<(usize, usize)>) {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    runtime.block_on(async {
        let sandbox = Sandbox::new(state, Arc::new(now), Vec::new());
        let admin = sandbox.ensure_account(ACCOUNT, None, None).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(listener, Arc::new(sandbox), async {
            let _ = stopped.await;
        }));
        let live = Live {
            iam_endpoint: &endpoint,
            iam_region: "us-east-1",
            connect_endpoint: &endpoint,
            access_key_id: &admin.access_key,
            secret_access_key: &admin.secret,
            session_token: None,
            region: "us-east-1",
        };
        let mut heard = Vec::new();
        let reading = tokio::time::timeout(
            std::time::Duration::from_secs(120),
            read(&live, now(), &mut |d, t| heard.push((d, t))),
        )
        .await
        .expect("the live read finishes")
        .unwrap();
        let _ = stop.send(());
        server.await.unwrap().unwrap();
        (reading, heard)
    })
}

#[test]
fn every_page_of_a_large_account_is_read_and_its_login_judged_as_working() {
    let served = large_account();
    let instance = served.connect_instances.iter().find(|(_, i)| i.users.len() > 1).map(|(id, _)| id.clone()).unwrap();
    let (reading, heard) = read_served(served);
    let state = &reading.state;

    assert!(state.roles.contains_key(ROLE), "Okta_Role is on ListRoles' second page");
    assert_eq!(state.roles.len(), FILLER_ROLES + 2, "every role but the one that cannot be judged");
    assert!(
        state.roles.contains_key("arn:aws:iam::111122223333:role/Legacy_Okta_Role"),
        "a role trusting a deleted provider is kept"
    );
    assert_eq!(state.connect_instances.len(), EXTRA_INSTANCES + 1, "ListInstances' second page");
    assert_eq!(state.connect_instances[&instance].users.len(), EXTRA_USERS + 1, "ListUsers' second page");
    let okta = &state.roles[ROLE];
    assert_eq!(okta.inline_policies.keys().collect::<Vec<_>>(), ["federate"]);
    assert_eq!(okta.attached_policies, [READ_ONLY], "AWS's large managed policy kept under its own ARN");
    assert_eq!(heard.last(), Some(&(2, 2)), "policies are read for the two roles a SAML login could assume");

    let notes: Vec<(Severity, &str, &str)> =
        reading.notes.iter().map(|f| (f.severity, f.id.as_str(), f.title.as_str())).collect();
    assert_eq!(
        notes,
        [
            (
                Severity::Warning,
                "live-role-unread",
                "Role arn:aws:iam::111122223333:role/Odd_Role could not be read here"
            ),
            (
                Severity::Warning,
                "live-policy-unread",
                "Policy arn:aws:iam::111122223333:policy/unjudged could not be read here"
            ),
            (Severity::Info, "live-read", "Read account 111122223333 (aws) live"),
        ]
    );
    assert_eq!(
        reading.notes[2].cause,
        "1002 roles (2 a SAML login could assume, with their policies), 2 SAML providers, 12 Connect instances in us-east-1 with 1201 users."
    );

    let judged = World { state: reading.state, instance };
    let findings = judge(&judged, &signed(&response(), key(0)), now());
    assert!(findings.iter().all(|f| f.severity != Severity::Error), "{findings:#?}");
    assert!(findings.iter().any(|f| f.id == "connect"), "{findings:#?}");
}
