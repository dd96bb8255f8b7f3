//! `idfed up` in a real browser (headless Chromium driven by playwright-core): the seeds' happy
//! paths, and the failures of reference/failures.md a person meets in a browser, each produced
//! by breaking the running scenario the way people do, with AWS's text on the page. Screenshots
//! are kept in target/tmp/browser-artifacts.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::sandbox_clients::{Server, repo, required, text};

pub(crate) struct Up {
    _server: Server,
    pub(crate) info: Value,
    dir: PathBuf,
}

impl Up {
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    pub(crate) fn url(&self, which: &str) -> String {
        self.info[which].as_str().unwrap().to_owned()
    }

    pub(crate) fn password(&self, login: &str) -> String {
        let people = self.info["people"].as_array().unwrap();
        people.iter().find(|p| p["login"] == login).unwrap()["password"].as_str().unwrap().to_owned()
    }

    /// An `idfed` command on this scenario's data directory.
    pub(crate) fn idfed(&self, args: &[&str]) -> String {
        let out = Command::new(env!("CARGO_BIN_EXE_idfed"))
            .args(args)
            .arg("--data-dir")
            .arg(&self.dir)
            .env_remove("IDFED_DATABASE_URL")
            .output()
            .unwrap();
        assert!(out.status.success(), "idfed {args:?}: {}", text(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The `aws` CLI as the account's administrator, against the sandbox.
    pub(crate) fn aws(&self, args: &[&str]) -> String {
        let out = Command::new(repo().join(".venv/bin/aws"))
            .args(["--endpoint-url", &self.url("aws"), "--region", "us-east-1", "--output", "json"])
            .args(args)
            .env("AWS_ACCESS_KEY_ID", self.info["access_key_id"].as_str().unwrap())
            .env("AWS_SECRET_ACCESS_KEY", self.info["secret_access_key"].as_str().unwrap())
            .env_remove("AWS_SESSION_TOKEN")
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .output()
            .unwrap();
        assert!(out.status.success(), "aws {args:?}: {}", text(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Changes the tenant the way an administrator edits an export and applies it.
    fn edit_tenant(&self, from: &str, to: &str) {
        let exported = self.idfed(&["export"]);
        assert!(exported.contains(from), "the export has no {from:?}");
        let file = self.dir.join("edited.yaml");
        std::fs::write(&file, exported.replace(from, to)).unwrap();
        self.idfed(&["apply", "-f", file.to_str().unwrap()]);
    }

    fn flow(&self, login: &str, app: &str, role: Option<&str>, name: &str) -> Value {
        let mut command = Command::new("node");
        command.arg(repo().join("tools/browser/flow.js"));
        command.args(["--idp", &self.url("idp"), "--user", login, "--password", &self.password(login), "--app", app]);
        if let Some(role) = role {
            command.args(["--role", role]);
        }
        run_flow(command, name)
    }

    fn open(&self, url: &str, name: &str) -> Value {
        let mut command = Command::new("node");
        command.arg(repo().join("tools/browser/flow.js")).args(["--open", url]);
        run_flow(command, name)
    }
}

pub(crate) fn artifacts() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub(crate) fn run_flow(mut command: Command, name: &str) -> Value {
    let out = command.args(["--shots", artifacts().to_str().unwrap(), "--name", name]).output().unwrap();
    let result: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{name}: {}", text(&out)));
    assert!(result.get("error").is_none(), "{name}: the browser failed: {result}");
    assert!(!result["shots"].as_array().unwrap().is_empty(), "{name}: no screenshot");
    result
}

/// Whether Chromium, node and playwright-core are here; skips loudly (or fails when required).
pub(crate) fn browser_ready() -> bool {
    let chromium = Path::new(&std::env::var("IDFED_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into())).exists();
    let playwright = repo().join("tools/node/node_modules/playwright-core").exists();
    let aws = repo().join(".venv/bin/aws").exists();
    if chromium && playwright && aws {
        return true;
    }
    assert!(
        !required(),
        "the browser tests need chromium, playwright-core and the aws CLI; run scripts/setup-oracles.sh"
    );
    eprintln!(
        "SKIPPED: chromium ({chromium}), playwright-core ({playwright}) or the aws CLI ({aws}) missing; run scripts/setup-oracles.sh"
    );
    false
}

fn up(label: &str) -> Up {
    up_with(label, &[])
}

pub(crate) fn up_with(label: &str, extra: &[&str]) -> Up {
    let dir = std::env::temp_dir().join(format!("idfed-up-{label}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut child = Command::new(env!("CARGO_BIN_EXE_idfed"))
        .args(["up", "--json", "--idp-listen", "127.0.0.1:0", "--aws-listen", "127.0.0.1:0"])
        .args(extra)
        .arg("--data-dir")
        .arg(&dir)
        .env_remove("IDFED_DATABASE_URL")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let info: Value = serde_json::from_str(&line).unwrap_or_else(|_| panic!("idfed up said {line:?}"));
    assert_eq!(info["first_start"], true);
    Up { _server: Server::new(child), info, dir }
}

fn page_says(result: &Value, expected: &str) {
    let text = result["text"].as_str().unwrap_or_default();
    assert!(text.contains(expected), "expected {expected:?} on the page, got {result}");
}

#[test]
fn the_seeds_happy_paths_in_a_browser() {
    if !browser_ready() {
        return;
    }
    let up = up("happy");
    let admin = up.flow("ada.admin@example.com", "connect-admin", None, "happy-admin-console");
    assert!(admin["final_url"].as_str().unwrap().ends_with("/connect/home"), "{admin}");
    assert_eq!(admin["heading"], "Amazon Connect: idfed-demo");
    page_says(&admin, "Welcome, Ada Admin (ada.admin@example.com)");
    page_says(&admin, "Security profiles: Admin");

    let ccp = up.flow("alex.agent@example.com", "connect-ccp", None, "happy-ccp");
    assert_eq!(ccp["heading"], "Contact Control Panel");
    page_says(&ccp, "Signed in as Alex Agent (alex.agent@example.com)");

    let scv = up.flow("sam.scv@example.com", "connect-scv", None, "happy-seed001-custom-attributes");
    page_says(&scv, "Signed in as Sam Voice (SamVoice)");

    let picked = up.flow(
        "max.multi@example.com",
        "aws-console",
        Some("arn:aws:iam::111122223333:role/Okta_ReadOnly"),
        "happy-role-picker",
    );
    let shots: Vec<&str> = picked["shots"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
    assert!(shots.iter().any(|s| s.contains("role-picker")), "AWS's role picker was shown: {picked}");
    page_says(&picked, "arn:aws:sts::111122223333:assumed-role/Okta_ReadOnly/max.multi@example.com");
}

#[test]
fn f01_role_attribute_missing_after_the_roles_are_unassigned() {
    if !browser_ready() {
        return;
    }
    let up = up("f01");
    up.idfed(&["assign", "connect-admin", "--user", "ada.admin@example.com"]);
    let result = up.flow("ada.admin@example.com", "connect-admin", None, "f01-role-missing");
    page_says(&result, "Your request included an invalid SAML response. To logout, click here.");
}

#[test]
fn f04_role_session_name_with_a_space() {
    if !browser_ready() {
        return;
    }
    let up = up("f04");
    up.edit_tenant("connect_username: SamVoice", "connect_username: Sam Voice");
    let result = up.flow("sam.scv@example.com", "connect-scv", None, "f04-role-session-name");
    page_says(&result, "RoleSessionName in AuthnResponse must match [a-zA-Z_0-9+=,.@-]{2,64}");
}

#[test]
fn f06_the_idp_rotated_its_key_and_iam_still_has_the_old_certificate() {
    if !browser_ready() {
        return;
    }
    let up = up("f06");
    up.idfed(&["keys", "stage"]);
    up.idfed(&["keys", "activate"]);
    let result = up.flow("ada.admin@example.com", "connect-admin", None, "f06-signature-invalid");
    page_says(&result, "Response signature invalid");
}

#[test]
fn f07_the_provider_holds_another_apps_metadata() {
    if !browser_ready() {
        return;
    }
    let up = up("f07");
    let other = up.dir.join("ccp-metadata.xml");
    download(&format!("{}/app/connect-ccp/metadata", up.url("idp")), &other);
    up.aws(&[
        "iam",
        "update-saml-provider",
        "--saml-provider-arn",
        "arn:aws:iam::111122223333:saml-provider/Okta_Connect_Admin",
        "--saml-metadata-document",
        &format!("file://{}", other.display()),
    ]);
    let result = up.flow("ada.admin@example.com", "connect-admin", None, "f07-issuer");
    page_says(&result, "Issuer not present in specified provider");
}

#[test]
fn f11_the_trust_policy_allows_assume_role_instead_of_saml() {
    if !browser_ready() {
        return;
    }
    let up = up("f11");
    let trust = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Federated":"arn:aws:iam::111122223333:saml-provider/Okta_Connect_Admin"}},"Action":"sts:AssumeRole","Condition":{{"StringEquals":{{"SAML:aud":"{}/saml"}}}}}}]}}"#,
        up.url("aws")
    );
    up.aws(&["iam", "update-assume-role-policy", "--role-name", "Okta_Role", "--policy-document", &trust]);
    let result = up.flow("ada.admin@example.com", "connect-admin", None, "f11-trust-action");
    page_says(&result, "Not authorized to perform sts:AssumeRoleWithSAML");
}

#[test]
fn f13_the_trust_policy_names_the_global_sign_in_endpoint() {
    if !browser_ready() {
        return;
    }
    let up = up("f13");
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111122223333:saml-provider/Okta_Connect_Admin"},"Action":"sts:AssumeRoleWithSAML","Condition":{"StringEquals":{"SAML:aud":"https://signin.aws.amazon.com/saml"}}}]}"#;
    up.aws(&["iam", "update-assume-role-policy", "--role-name", "Okta_Role", "--policy-document", trust]);
    let result = up.flow("ada.admin@example.com", "connect-admin", None, "f13-saml-aud");
    page_says(&result, "Not authorized to perform sts:AssumeRoleWithSAML");
}

#[test]
fn f16_the_assigned_role_differs_in_case() {
    if !browser_ready() {
        return;
    }
    let up = up("f16");
    up.idfed(&["assign", "connect-admin", "--user", "ada.admin@example.com", "--role", "okta_role"]);
    let result = up.flow("ada.admin@example.com", "connect-admin", None, "f16-role-case");
    page_says(&result, "Not authorized to perform sts:AssumeRoleWithSAML");
}

#[test]
fn f20_the_federation_policy_is_detached() {
    if !browser_ready() {
        return;
    }
    let up = up("f20");
    up.aws(&[
        "iam",
        "detach-role-policy",
        "--role-name",
        "Okta_Role",
        "--policy-arn",
        "arn:aws:iam::111122223333:policy/okta_federation_policy",
    ]);
    let result = up.flow("ada.admin@example.com", "connect-admin", None, "f20-no-federation-token");
    page_says(&result, "Access denied, Please contact your AWS account administrator for assistance.");
}

#[test]
fn f21_the_connect_username_differs_in_case() {
    if !browser_ready() {
        return;
    }
    let up = up("f21");
    up.edit_tenant("connect_username: SamVoice", "connect_username: samvoice");
    let result = up.flow("sam.scv@example.com", "connect-scv", None, "f21-not-onboarded");
    page_says(&result, "Your account has been authenticated, but has not been onboarded to this application.");
}

#[test]
fn f22_connect_opened_directly_without_signing_in() {
    if !browser_ready() {
        return;
    }
    let up = up("f22");
    let result = up.open(&format!("{}/connect/home", up.url("aws")), "f22-session-expired");
    page_says(&result, "Session Expired");
}

/// Downloads `url` to `to`, as a person saves the IdP's metadata.
fn download(url: &str, to: &Path) {
    let out = Command::new(repo().join(".venv/bin/python"))
        .arg(repo().join("tools/clients/idp_browser_flow.py"))
        .args(["--fetch", url, "--out"])
        .arg(to)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
}

/// Adds an attribute statement to the seed 001 app (before its Role statement).
fn add_statement(up: &Up, name: &str, value: &str) {
    let role = "  - name: https://aws.amazon.com/SAML/Attributes/Role\n";
    up.edit_tenant(role, &format!("  - name: {name}\n    format: uri\n    value: '{value}'\n{role}"));
}

#[test]
fn f02_the_role_attribute_holds_only_the_provider() {
    if !browser_ready() {
        return;
    }
    let up = up("f02");
    up.edit_tenant(
        "arn:aws:iam::111122223333:role/Okta_Role,arn:aws:iam::111122223333:saml-provider/Okta_Connect_SCV",
        "arn:aws:iam::111122223333:saml-provider/Okta_Connect_SCV",
    );
    let result = up.flow("sam.scv@example.com", "connect-scv", None, "f02-provider-only");
    page_says(&result, "Your request included an invalid SAML response. To logout, click here.");
}

#[test]
fn f03_role_session_name_missing_when_the_profile_attribute_is_empty() {
    if !browser_ready() {
        return;
    }
    let up = up("f03");
    up.edit_tenant("connect_username: SamVoice", "connect_username: ''");
    let result = up.flow("sam.scv@example.com", "connect-scv", None, "f03-no-role-session-name");
    page_says(&result, "RoleSessionName is required in AuthnResponse");
}

#[test]
fn f05_source_identity_starting_with_aws() {
    if !browser_ready() {
        return;
    }
    let up = up("f05");
    add_statement(&up, "https://aws.amazon.com/SAML/Attributes/SourceIdentity", "\"aws:\" + user.connect_username");
    let result = up.flow("sam.scv@example.com", "connect-scv", None, "f05-source-identity");
    page_says(&result, "Source Identity must match [a-zA-Z_0-9+=,.@-]{2,64} and not begin with \"aws:\"");
}

#[test]
fn f08_the_saml_provider_was_deleted() {
    if !browser_ready() {
        return;
    }
    let up = up("f08");
    up.aws(&[
        "iam",
        "delete-saml-provider",
        "--saml-provider-arn",
        "arn:aws:iam::111122223333:saml-provider/Okta_Connect_Admin",
    ]);
    let result = up.flow("ada.admin@example.com", "connect-admin", None, "f08-provider-missing");
    page_says(&result, "Specified provider doesn't exist.");
}

#[test]
fn f12_the_trust_policy_trusts_another_provider() {
    if !browser_ready() {
        return;
    }
    let up = up("f12");
    let trust = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Federated":"arn:aws:iam::111122223333:saml-provider/Okta_Console"}},"Action":"sts:AssumeRoleWithSAML","Condition":{{"StringEquals":{{"SAML:aud":"{}/saml"}}}}}}]}}"#,
        up.url("aws")
    );
    up.aws(&["iam", "update-assume-role-policy", "--role-name", "Okta_Role", "--policy-document", &trust]);
    let result = up.flow("ada.admin@example.com", "connect-admin", None, "f12-other-provider");
    page_says(&result, "Not authorized to perform sts:AssumeRoleWithSAML");
}

#[test]
fn f14_session_tags_without_tag_session_in_the_trust_policy() {
    if !browser_ready() {
        return;
    }
    let up = up("f14");
    add_statement(&up, "https://aws.amazon.com/SAML/Attributes/PrincipalTag:Team", "\"voice\"");
    let result = up.flow("sam.scv@example.com", "connect-scv", None, "f14-tag-session");
    page_says(&result, "Not authorized to perform sts:AssumeRoleWithSAML");
}

#[test]
fn f15_source_identity_without_set_source_identity_in_the_trust_policy() {
    if !browser_ready() {
        return;
    }
    let up = up("f15");
    add_statement(&up, "https://aws.amazon.com/SAML/Attributes/SourceIdentity", "user.connect_username");
    let result = up.flow("sam.scv@example.com", "connect-scv", None, "f15-set-source-identity");
    page_says(&result, "Not authorized to perform sts:AssumeRoleWithSAML");
}

#[test]
fn f24_the_provider_requires_encrypted_assertions() {
    if !browser_ready() {
        return;
    }
    let up = up("f24");
    let keys = up.dir.join("encryption");
    let made =
        Command::new(env!("CARGO_BIN_EXE_idfed")).args(["keys", "generate", "--out"]).arg(&keys).output().unwrap();
    assert!(made.status.success(), "{}", text(&made));
    up.aws(&[
        "iam",
        "update-saml-provider",
        "--saml-provider-arn",
        "arn:aws:iam::111122223333:saml-provider/Okta_Connect_Admin",
        "--assertion-encryption-mode",
        "Required",
        "--add-private-key",
        &format!("file://{}", keys.join("key.pem").display()),
    ]);
    let result = up.flow("ada.admin@example.com", "connect-admin", None, "f24-encryption-required");
    page_says(&result, "The identity provider requires encrypted assertions, and this SAML response is not encrypted.");
}

#[test]
fn f09_the_audience_is_the_contact_centres_name() {
    if !browser_ready() {
        return;
    }
    // Seed 001 builds a generic SAML app and types the contact centre's name as the SP entity ID.
    let up = up("f09");
    let exported = up.idfed(&["export"]);
    let mut tenant: serde_json::Value = serde_norway::from_str(&exported).unwrap();
    let apps = tenant["apps"].as_array_mut().unwrap();
    let scv = apps.iter_mut().find(|a| a["name"] == "connect-scv").unwrap();
    let generic = serde_json::json!({
        "name": "connect-scv", "label": scv["label"], "type": "saml",
        "entity_id": "my-contact-center",
        "acs": [{ "url": format!("{}/saml", up.url("aws")), "index": 0, "default": true }],
        "default_relay_state": format!("{}/connect/federate/{}?destination=%2Fccp-v2", up.url("aws"), up.info["instance_id"].as_str().unwrap()),
        "attribute_statements": scv["attribute_statements"],
        "name_id": { "format": "persistent", "value": "user.id" },
    });
    *scv = generic;
    let file = up.dir.join("generic.yaml");
    std::fs::write(&file, serde_norway::to_string(&tenant).unwrap()).unwrap();
    up.idfed(&["apply", "-f", file.to_str().unwrap()]);
    let result = up.flow("sam.scv@example.com", "connect-scv", None, "f09-audience");
    page_says(&result, "Response does not contain the required audience.");
}

#[test]
fn f10_the_idps_clock_is_ten_minutes_behind() {
    if !browser_ready() {
        return;
    }
    let up = up_with("f10", &["--idp-clock-skew", "-600"]);
    let result = up.flow("ada.admin@example.com", "connect-admin", None, "f10-expired");
    page_says(&result, "Token must be redeemed within 5 minutes of issuance");
}

#[test]
fn f17_the_name_id_comes_from_an_attribute_the_person_lacks() {
    if !browser_ready() {
        return;
    }
    let up = up("f17");
    let exported = up.idfed(&["export"]);
    let edited = exported.replacen("value: user.id", "value: user.connect_username", 1);
    assert_ne!(edited, exported);
    let file = up.dir.join("nameid.yaml");
    std::fs::write(&file, edited).unwrap();
    up.idfed(&["apply", "-f", file.to_str().unwrap()]);
    let result = up.flow("ada.admin@example.com", "connect-admin", None, "f17-no-name-id");
    page_says(&result, "Not authorized to perform sts:AssumeRoleWithSAML");
}
