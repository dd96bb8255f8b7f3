//! Issue 9's proof: seed 002's whole setup done through the admin console in headless
//! Chromium, starting from an IdP that holds only its first administrator and an AWS account
//! (the sandbox) with an Amazon Connect instance; the AWS steps in between are done with the
//! `aws` CLI, as the seed's engineer does them in the AWS console. Then the Connect
//! administrator signs in and lands in Amazon Connect.

use std::process::Command;

use serde_json::{Value, json};

use crate::browser::{Up, artifacts, browser_ready, up_with};
use crate::sandbox_clients::{repo, text};

const SCENARIO: &str = r#"
aws:
  account: "111122223333"
  alias: corp
  region: us-east-1
  connect:
    alias: idfed-demo
    users:
      - { username: ada.admin@example.com, first_name: Ada, last_name: Admin, security_profile: Admin }
tenant: {}
"#;

const ADA: &str = "ada.admin@example.com";
const ADA_PASSWORD: &str = "ada-chooses-a-long-password";

fn admin_setup(phase: &str, args: &[(&str, &str)]) -> Value {
    let mut command = Command::new("node");
    command.arg(repo().join("tools/browser/admin_setup.js")).args(["--phase", phase]);
    for (name, value) in args {
        command.arg(format!("--{name}")).arg(value);
    }
    command.args(["--shots", artifacts().to_str().unwrap(), "--name", &format!("admin-{phase}")]);
    let out = command.output().unwrap();
    let result: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{phase}: {}", text(&out)));
    assert!(result.get("error").is_none(), "{phase}: the browser failed: {result}");
    result
}

fn field(json: &str, path: &[&str]) -> String {
    let value: Value = serde_json::from_str(json).unwrap();
    path.iter().fold(&value, |v, key| &v[key]).as_str().unwrap().to_owned()
}

/// What seed 002 does in IAM before the API integration: okta_cli_user with a policy allowing
/// iam:ListRoles and iam:ListAccountAliases, and its access key.
fn api_user(up: &Up) -> (String, String) {
    let policy = json!({ "Version": "2012-10-17", "Statement": [{ "Effect": "Allow",
        "Action": ["iam:ListRoles", "iam:ListAccountAliases"], "Resource": "*" }] });
    let created =
        up.aws(&["iam", "create-policy", "--policy-name", "okta_cli_policy", "--policy-document", &policy.to_string()]);
    let policy_arn = field(&created, &["Policy", "Arn"]);
    up.aws(&["iam", "create-user", "--user-name", "okta_cli_user"]);
    up.aws(&["iam", "attach-user-policy", "--user-name", "okta_cli_user", "--policy-arn", &policy_arn]);
    let key = up.aws(&["iam", "create-access-key", "--user-name", "okta_cli_user"]);
    (field(&key, &["AccessKey", "AccessKeyId"]), field(&key, &["AccessKey", "SecretAccessKey"]))
}

/// The SAML provider from the metadata the browser downloaded, and Okta_Role trusting it with
/// Connect's federation policy. Returns the provider ARN and the instance ID.
fn provider_and_role(up: &Up, metadata: &str) -> (String, String) {
    let created = up.aws(&[
        "iam",
        "create-saml-provider",
        "--name",
        "Okta_Connect_Admin",
        "--saml-metadata-document",
        &format!("file://{metadata}"),
    ]);
    let provider = field(&created, &["SAMLProviderArn"]);
    let instances: Value = serde_json::from_str(&up.aws(&["connect", "list-instances"])).unwrap();
    let instance = instances["InstanceSummaryList"][0]["Id"].as_str().unwrap().to_owned();
    let trust = json!({ "Version": "2012-10-17", "Statement": [{ "Effect": "Allow",
        "Principal": { "Federated": provider }, "Action": "sts:AssumeRoleWithSAML",
        "Condition": { "StringEquals": { "SAML:aud": format!("{}/saml", up.url("aws")) } } }] });
    up.aws(&["iam", "create-role", "--role-name", "Okta_Role", "--assume-role-policy-document", &trust.to_string()]);
    let federation = json!({ "Version": "2012-10-17", "Statement": [{ "Effect": "Allow",
        "Action": "connect:GetFederationToken",
        "Resource": format!("arn:aws:connect:us-east-1:111122223333:instance/{instance}/user/${{aws:userid}}") }] });
    up.aws(&[
        "iam",
        "put-role-policy",
        "--role-name",
        "Okta_Role",
        "--policy-name",
        "connect_federation",
        "--policy-document",
        &federation.to_string(),
    ]);
    (provider, instance)
}

#[test]
fn seed_002_set_up_by_clicking_through_the_admin_console() {
    if !browser_ready() {
        return;
    }
    let scenario = std::env::temp_dir().join(format!("idfed-admin-console-{}.yaml", std::process::id()));
    std::fs::write(&scenario, SCENARIO).unwrap();
    let up = up_with("admin-console", &["--scenario", scenario.to_str().unwrap()]);
    let before = up.idfed(&["export"]);
    assert!(!before.contains("login:") && !before.contains("type: aws"), "the IdP starts empty:\n{before}");
    // The first administrator, from the command line, while the IdP runs.
    let admin_password = "the-first-administrator-password";
    let added = Command::new(env!("CARGO_BIN_EXE_idfed"))
        .args(["users", "add", "it.admin@example.com", "--first-name", "Ian", "--admin", "--with-password"])
        .arg("--data-dir")
        .arg(up.dir())
        .env("IDFED_PASSWORD", admin_password)
        .env_remove("IDFED_DATABASE_URL")
        .output()
        .unwrap();
    assert!(text(&added).contains("added it.admin@example.com (active, administrator)"), "{}", text(&added));
    let (key, secret) = api_user(&up);
    let (idp, sandbox) = (up.url("idp"), up.url("aws"));
    let state = std::env::temp_dir().join(format!("idfed-admin-console-{}.json", std::process::id()));

    let created = admin_setup(
        "create",
        &[
            ("idp", &idp),
            ("admin", "it.admin@example.com"),
            ("admin-password", admin_password),
            ("person", ADA),
            ("person-password", ADA_PASSWORD),
            ("acs", &format!("{sandbox}/saml")),
            ("state", state.to_str().unwrap()),
        ],
    );
    let metadata = created["metadata"].as_str().unwrap();
    assert!(std::fs::read_to_string(metadata).unwrap().contains("<md:EntityDescriptor"), "metadata downloaded");

    let (provider, instance) = provider_and_role(&up, metadata);
    let relay = format!("{sandbox}/connect/federate/{instance}");
    let finished = admin_setup(
        "finish",
        &[
            ("idp", &idp),
            ("state", state.to_str().unwrap()),
            ("arn", &provider),
            ("relay", &relay),
            ("key", &key),
            ("secret", &secret),
            ("iam", &sandbox),
            ("person", ADA),
            ("person-password", ADA_PASSWORD),
        ],
    );
    for phase in [&created, &finished] {
        assert_eq!(phase["unlabeled"], json!([]), "every control of the admin pages has a label");
    }
    let said = |field: &str| finished[field].as_str().unwrap_or_default().to_owned();
    assert!(said("expression_check").starts_with("Valid"), "{finished}");
    assert!(said("test").contains("The API credentials work"), "{finished}");
    assert!(said("import").contains("Okta_Role"), "the role trusting the provider was imported: {finished}");
    assert!(said("final_url").ends_with("/connect/home"), "{finished}");
    assert_eq!(said("heading"), "Amazon Connect: idfed-demo");
    assert!(said("text").contains("Welcome, Ada Admin (ada.admin@example.com)"), "{finished}");

    // Every change is in the system log under the administrator who clicked.
    let log = up.idfed(&["logs", "--actor", "it.admin@example.com", "--limit", "200"]);
    for event in ["user.create", "app.create", "app.update", "app.api.update", "app.api.test", "app.roles.import"] {
        assert!(log.contains(event), "{event} missing from the log:\n{log}");
    }
    assert!(log.contains("assignment.put"), "{log}");
    let exported = up.idfed(&["export"]);
    assert!(exported.contains(&provider) && exported.contains(&relay), "{exported}");
    assert!(!exported.contains(&secret), "the API secret is never exported in clear");
}
