//! The whole login over loopback with real processes: `idfed apply` and `idfed serve` for the
//! IdP, `idfed aws serve` for the AWS side set up with the real `aws` CLI (SAML provider from
//! the IdP's own metadata, roles trusting it), then a cookie-keeping HTTP client signs in,
//! opens the app tile, posts the response to the sandbox's sign-in endpoint, meets the role
//! picker, and lands in the console as the chosen role.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use crate::sandbox_clients::{Server, aws, ok_json, repo, required, start, text};

fn idfed(args: &[&str], data_dir: &Path) -> std::process::Output {
    idfed_on(args, data_dir, None)
}

/// `idfed … --data-dir D`, on PostgreSQL when `database` is given.
fn idfed_on(args: &[&str], data_dir: &Path, database: Option<&str>) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_idfed"));
    command.args(args).arg("--data-dir").arg(data_dir).env_remove("IDFED_DATABASE_URL");
    if let Some(url) = database {
        command.args(["--database-url", url]);
    }
    command.output().unwrap()
}

/// Sets `login`'s password in the IdP at `dir`, as an administrator does.
fn set_password(dir: &Path, login: &str, password: &str) {
    let set = Command::new(env!("CARGO_BIN_EXE_idfed"))
        .args(["users", "set-password", login, "--data-dir"])
        .arg(dir)
        .env("IDFED_PASSWORD", password)
        .env_remove("IDFED_DATABASE_URL")
        .output()
        .unwrap();
    assert!(set.status.success(), "{}", text(&set));
}

/// One person, `ann`, assigned to an AWS app, with `password`.
fn ann_tenant(dir: &Path, password: &str) {
    let tenant = dir.join("tenant.yaml");
    std::fs::write(
        &tenant,
        "users:\n  - { login: ann, email: ann@example.com }\napps:\n  - { name: aws, label: AWS, type: aws, identity_provider_arns: [\"arn:aws:iam::111122223333:saml-provider/Okta\"] }\nassignments:\n  - { app: aws, user: ann, roles: [Okta_Role] }\n",
    )
    .unwrap();
    assert!(idfed(&["apply", "-f", tenant.to_str().unwrap()], dir).status.success());
    set_password(dir, "ann", password);
}

fn start_idp(data_dir: &Path, database: Option<&str>) -> (Server, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_idfed"));
    command.env_remove("IDFED_DATABASE_URL");
    if let Some(url) = database {
        command.args(["--database-url", url]);
    }
    let mut child = command
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url = line.split_whitespace().nth(2).unwrap_or_else(|| panic!("the IdP said {line:?}")).to_owned();
    (Server::new(child), url)
}

fn flow(idp: &str, username: &str, app: &str, role: Option<&str>) -> serde_json::Value {
    let mut command = Command::new(repo().join(".venv/bin/python"));
    command.arg(repo().join("tools/clients/idp_browser_flow.py"));
    command.args(["--idp", idp, "--username", username, "--password", "correct horse battery", "--app", app]);
    if let Some(role) = role {
        command.args(["--role", role]);
    }
    let out = command.output().unwrap();
    serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("flow: {}", text(&out)))
}

#[test]
fn sign_in_at_the_idp_and_land_in_the_sandbox_console_as_the_chosen_role() {
    if !repo().join(".venv/bin/aws").exists() {
        assert!(!required(), "the aws CLI (.venv) is required; run scripts/setup-oracles.sh");
        eprintln!("SKIPPED: .venv/bin/aws missing; run scripts/setup-oracles.sh");
        return;
    }
    login_flow("sqlite", None);
}

#[test]
fn the_same_login_with_the_idp_on_postgresql() {
    let Some(admin) = idfed_store::testing::postgres_url() else {
        assert!(!required(), "PostgreSQL is required (IDFED_REQUIRE_ORACLES=1); run scripts/pg-test-server.sh start");
        eprintln!("SKIPPED: IDFED_TEST_DATABASE_URL is not set; run scripts/pg-test-server.sh start");
        return;
    };
    if !repo().join(".venv/bin/aws").exists() {
        assert!(!required(), "the aws CLI (.venv) is required; run scripts/setup-oracles.sh");
        return;
    }
    let name = format!("idfed_cli_flow_{}", std::process::id());
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let url = rt.block_on(idfed_store::testing::fresh_postgres_database(&admin, &name)).unwrap();
    login_flow("postgres", Some(&url));
}

fn login_flow(label: &str, database: Option<&str>) {
    let idfed = |args: &[&str], dir: &Path| idfed_on(args, dir, database);
    let dir = std::env::temp_dir().join(format!("idfed-idp-flow-{label}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (idp_dir, aws_dir) = (dir.join("idp"), dir.join("aws"));
    let sandbox = start(&aws_dir);
    let admin = (sandbox.key.as_str(), sandbox.secret.as_str());
    let provider = "arn:aws:iam::111122223333:saml-provider/idfed";
    let tenant = format!(
        r#"
users:
  - {{ login: Alice.Admin@example.com, email: alice@example.com, first_name: Alice, last_name: Admin }}
  - {{ login: bob, email: bob@example.com }}
groups:
  - {{ name: AWS Operators, members: [Alice.Admin@example.com] }}
apps:
  - name: aws
    label: Amazon Web Services
    type: aws
    environment: custom
    acs_url: {endpoint}/saml
    identity_provider_arns: ["{provider}"]
    join_all_roles: true
assignments:
  - {{ app: aws, user: Alice.Admin@example.com, roles: [Okta_Role] }}
  - {{ app: aws, group: AWS Operators, roles: [ReadOnly] }}
  - {{ app: aws, user: bob, roles: [Okta_Role] }}
"#,
        endpoint = sandbox.endpoint
    );
    std::fs::create_dir_all(&dir).unwrap();
    let tenant_file = dir.join("tenant.yaml");
    std::fs::write(&tenant_file, &tenant).unwrap();
    let applied = idfed(&["apply", "-f", tenant_file.to_str().unwrap()], &idp_dir);
    assert!(applied.status.success(), "{}", text(&applied));
    assert!(text(&applied).contains("users: 2 created"), "{}", text(&applied));
    let again = idfed(&["apply", "-f", tenant_file.to_str().unwrap()], &idp_dir);
    assert!(text(&again).contains("users: 0 created, 0 updated, 0 removed"), "apply is idempotent: {}", text(&again));
    for login in ["alice.admin@example.com", "bob"] {
        let set = Command::new(env!("CARGO_BIN_EXE_idfed"))
            .args(["users", "set-password", login, "--data-dir"])
            .arg(&idp_dir)
            .args(database.map(|url| ["--database-url", url]).into_iter().flatten())
            .env("IDFED_PASSWORD", "correct horse battery")
            .output()
            .unwrap();
        assert!(set.status.success(), "{}", text(&set));
    }
    let (_idp, idp_url) = start_idp(&idp_dir, database);

    // The AWS side, as seed 004 steps 1–2 do it, from the IdP's own metadata.
    let metadata = dir.join("metadata.xml");
    let fetched = Command::new(repo().join(".venv/bin/python"))
        .arg(repo().join("tools/clients/idp_browser_flow.py"))
        .args(["--fetch", &format!("{idp_url}/app/aws/metadata"), "--out", metadata.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(fetched.status.success(), "{}", text(&fetched));
    let created = ok_json(aws(
        &sandbox,
        admin,
        &[
            "iam",
            "create-saml-provider",
            "--name",
            "idfed",
            "--saml-metadata-document",
            &format!("file://{}", metadata.display()),
        ],
    ));
    assert_eq!(created["SAMLProviderArn"], provider);
    let trust = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Federated":"{provider}"}},"Action":"sts:AssumeRoleWithSAML","Condition":{{"StringEquals":{{"SAML:aud":"{}/saml"}}}}}}]}}"#,
        sandbox.endpoint
    );
    for role in ["Okta_Role", "ReadOnly"] {
        ok_json(aws(
            &sandbox,
            admin,
            &["iam", "create-role", "--role-name", role, "--assume-role-policy-document", &trust],
        ));
    }

    // One role: straight into the console.
    let bob = flow(&idp_url, "bob", "aws", None);
    assert_eq!(bob["acs"], format!("{}/saml", sandbox.endpoint));
    assert!(bob["role_picker"].is_null(), "{bob}");
    assert_eq!(bob["status"], 200, "{bob}");
    assert!(bob["final_url"].as_str().unwrap().ends_with("/console/home"), "{bob}");
    assert!(
        bob["page"].as_str().unwrap().contains("arn:aws:sts::111122223333:assumed-role/Okta_Role/bob"),
        "the RoleSessionName is the login: {bob}"
    );

    // Join all roles: the direct role and the group's; AWS's picker offers both.
    let alice = flow(&idp_url, "Alice.Admin@example.com", "aws", Some("arn:aws:iam::111122223333:role/ReadOnly"));
    let offered = alice["role_picker"].as_array().unwrap_or_else(|| panic!("{alice}"));
    assert_eq!(offered.len(), 2, "{alice}");
    assert!(
        alice["page"].as_str().unwrap().contains("assumed-role/ReadOnly/Alice.Admin@example.com"),
        "signed in as the chosen role: {alice}"
    );

    // A wrong password never reaches AWS.
    let mut wrong = Command::new(repo().join(".venv/bin/python"));
    wrong.arg(repo().join("tools/clients/idp_browser_flow.py"));
    wrong.args(["--idp", &idp_url, "--username", "bob", "--password", "nope-nope", "--app", "aws"]);
    let wrong: serde_json::Value = serde_json::from_slice(&wrong.output().unwrap().stdout).unwrap();
    assert_eq!(wrong["status"], 401, "{wrong}");
    assert!(wrong["page"].as_str().unwrap().contains("Sign-in failed"), "{wrong}");

    // Export writes back what was applied (ids added), and applying it changes nothing.
    let exported = dir.join("exported.yaml");
    let out = idfed(&["export", "--out", exported.to_str().unwrap()], &idp_dir);
    assert!(out.status.success(), "{}", text(&out));
    let round = idfed(&["apply", "--dry-run", "-f", exported.to_str().unwrap()], &idp_dir);
    assert!(text(&round).contains("users: 0 created, 0 updated, 0 removed"), "{}", text(&round));
    assert!(text(&round).contains("assignments: 0 created, 0 updated, 0 removed"), "{}", text(&round));
    let _ = std::fs::remove_dir_all(&dir);
}

fn apps_cmd(args: &[&str], data_dir: &Path) -> std::process::Output {
    let mut all = vec!["apps"];
    all.extend_from_slice(args);
    idfed(&all, data_dir)
}

fn api_tenant(iam_endpoint: &str, key: &str, secret: &str) -> String {
    format!(
        r#"
apps:
  - name: aws
    label: Amazon Connect Administrator
    type: aws
    identity_provider_arns: ["arn:aws:iam::111122223333:saml-provider/Okta_Connect_Admin"]
    api_integration:
      access_key_id: {key}
      secret_access_key: "{secret}"
      endpoint: {iam_endpoint}
"#
    )
}

/// IdP metadata for a SAML provider the test does not sign in with.
fn some_metadata(dir: &Path) -> std::path::PathBuf {
    let keys = dir.join("keys");
    let generate =
        Command::new(env!("CARGO_BIN_EXE_idfed")).args(["keys", "generate", "--out"]).arg(&keys).output().unwrap();
    assert!(generate.status.success(), "{}", text(&generate));
    let metadata = Command::new(env!("CARGO_BIN_EXE_idfed"))
        .args(["saml", "metadata", "--entity-id", "http://www.okta.com/exk_test", "--sso-url", "https://idp.test/sso"])
        .arg("--cert")
        .arg(keys.join("cert.pem"))
        .output()
        .unwrap();
    assert!(metadata.status.success(), "{}", text(&metadata));
    let path = dir.join("metadata.xml");
    std::fs::write(&path, &metadata.stdout).unwrap();
    path
}

fn trust(provider: &str, action: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Federated":"{provider}"}},"Action":"{action}"}}]}}"#
    )
}

/// Seed 002's okta_cli_user: Test API Credentials and role import through SigV4 against the
/// sandbox's IAM, with AccessDenied and a wrong secret explained; the secret sealed at rest.
#[test]
fn api_integration_imports_the_roles_that_trust_the_provider() {
    if !repo().join(".venv/bin/aws").exists() {
        assert!(!required(), "the aws CLI (.venv) is required; run scripts/setup-oracles.sh");
        eprintln!("SKIPPED: .venv/bin/aws missing; run scripts/setup-oracles.sh");
        return;
    }
    let dir = std::env::temp_dir().join(format!("idfed-api-integration-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let sandbox = start(&dir.join("aws"));
    let admin = (sandbox.key.as_str(), sandbox.secret.as_str());
    let provider = "arn:aws:iam::111122223333:saml-provider/Okta_Connect_Admin";
    let cmd = |args: &[&str]| ok_json(aws(&sandbox, admin, args));
    let metadata = some_metadata(&dir);
    for name in ["Okta_Connect_Admin", "Other"] {
        let document = format!("file://{}", metadata.display());
        cmd(&["iam", "create-saml-provider", "--name", name, "--saml-metadata-document", &document]);
    }
    cmd(&[
        "iam",
        "create-role",
        "--role-name",
        "Okta_Role",
        "--assume-role-policy-document",
        &trust(provider, "sts:AssumeRoleWithSAML"),
    ]);
    cmd(&[
        "iam",
        "create-role",
        "--role-name",
        "Wrong_Action",
        "--assume-role-policy-document",
        &trust(provider, "sts:AssumeRole"),
    ]);
    cmd(&[
        "iam",
        "create-role",
        "--role-name",
        "Other_Provider",
        "--assume-role-policy-document",
        &trust("arn:aws:iam::111122223333:saml-provider/Other", "sts:AssumeRoleWithSAML"),
    ]);
    cmd(&["iam", "create-user", "--user-name", "okta_cli_user"]);
    let policy = cmd(&[
        "iam",
        "create-policy",
        "--policy-name",
        "okta_cli_policy",
        "--policy-document",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:ListRoles","iam:ListAccountAliases"],"Resource":"*"}]}"#,
    ]);
    let key = cmd(&["iam", "create-access-key", "--user-name", "okta_cli_user"]);
    let (key_id, secret) =
        (key["AccessKey"]["AccessKeyId"].as_str().unwrap(), key["AccessKey"]["SecretAccessKey"].as_str().unwrap());
    let idp_dir = dir.join("idp");
    let file = dir.join("tenant.yaml");
    let apply = |yaml: &str| {
        std::fs::write(&file, yaml).unwrap();
        let o = idfed(&["apply", "-f", file.to_str().unwrap()], &idp_dir);
        assert!(o.status.success(), "{}", text(&o));
    };

    // Before the policy is attached: AccessDenied, with what to do.
    apply(&api_tenant(&sandbox.endpoint, key_id, secret));
    let denied = apps_cmd(&["test-api-credentials", "aws"], &idp_dir);
    assert_eq!(denied.status.code(), Some(1), "{}", text(&denied));
    assert!(text(&denied).contains("AccessDenied") && text(&denied).contains("iam:ListRoles"), "{}", text(&denied));

    cmd(&[
        "iam",
        "attach-user-policy",
        "--user-name",
        "okta_cli_user",
        "--policy-arn",
        policy["Policy"]["Arn"].as_str().unwrap(),
    ]);
    let works = apps_cmd(&["test-api-credentials", "aws"], &idp_dir);
    assert!(
        works.status.success() && text(&works).contains("The API credentials work: IAM lists 3 roles"),
        "{}",
        text(&works)
    );
    let imported = apps_cmd(&["import-roles", "aws"], &idp_dir);
    assert!(imported.status.success(), "{}", text(&imported));
    assert!(
        text(&imported).contains("1 roles trust") && text(&imported).contains("role/Okta_Role"),
        "{}",
        text(&imported)
    );
    assert!(!text(&imported).contains("Wrong_Action") && !text(&imported).contains("Other_Provider"));

    // The secret is sealed at rest and in exports; the export still applies and still works.
    let exported = idfed(&["export"], &idp_dir);
    let yaml = String::from_utf8_lossy(&exported.stdout).into_owned();
    assert!(!yaml.contains(secret) && yaml.contains("sealed:v1:"), "{yaml}");
    assert!(yaml.contains("arn:aws:iam::111122223333:role/Okta_Role"), "imported roles are kept: {yaml}");
    let raw = std::fs::read(idp_dir.join("idp.sqlite")).unwrap();
    assert!(!raw.windows(secret.len()).any(|w| w == secret.as_bytes()), "the database holds no plain secret");

    // A key AWS does not know: InvalidClientTokenId, explained.
    apply(&api_tenant(&sandbox.endpoint, "AKIAUNKNOWNUNKNOWN00", secret));
    let unknown = apps_cmd(&["test-api-credentials", "aws"], &idp_dir);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(
        text(&unknown).contains("InvalidClientTokenId") && text(&unknown).contains("does not know this access key ID"),
        "{}",
        text(&unknown)
    );

    // A wrong secret: SignatureDoesNotMatch, explained.
    apply(&api_tenant(&sandbox.endpoint, key_id, "0000000000000000000000000000000000000000"));
    let wrong = apps_cmd(&["test-api-credentials", "aws"], &idp_dir);
    assert_eq!(wrong.status.code(), Some(1));
    assert!(
        text(&wrong).contains("SignatureDoesNotMatch") && text(&wrong).contains("paste it again"),
        "{}",
        text(&wrong)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// moto server as an independent IAM: the same import, over the same SigV4 client.
#[test]
fn api_integration_reads_roles_from_moto_server_too() {
    let moto = repo().join(".venv/bin/moto_server");
    if !moto.exists() {
        assert!(!required(), "moto is required; run scripts/setup-oracles.sh");
        eprintln!("SKIPPED: moto server not installed; run scripts/setup-oracles.sh");
        return;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let _moto = Server::new(
        Command::new(&moto)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let endpoint = format!("http://127.0.0.1:{port}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(std::time::Instant::now() < deadline, "moto server did not start");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let moto_aws = |args: &[&str]| {
        let o = Command::new(repo().join(".venv/bin/aws"))
            .args(["--endpoint-url", &endpoint, "--region", "us-east-1", "--output", "json"])
            .args(args)
            .env("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
            .env("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", text(&o));
    };
    let provider = "arn:aws:iam::123456789012:saml-provider/Okta";
    moto_aws(&[
        "iam",
        "create-role",
        "--role-name",
        "Okta_Role",
        "--assume-role-policy-document",
        &trust(provider, "sts:AssumeRoleWithSAML"),
    ]);
    moto_aws(&[
        "iam",
        "create-role",
        "--role-name",
        "Unrelated",
        "--assume-role-policy-document",
        &trust("arn:aws:iam::123456789012:saml-provider/X", "sts:AssumeRoleWithSAML"),
    ]);
    let dir = std::env::temp_dir().join(format!("idfed-api-moto-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("tenant.yaml");
    let tenant = api_tenant(&endpoint, "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
        .replace("111122223333:saml-provider/Okta_Connect_Admin", "123456789012:saml-provider/Okta");
    std::fs::write(&file, tenant).unwrap();
    let applied = idfed(&["apply", "-f", file.to_str().unwrap()], &dir);
    assert!(applied.status.success(), "{}", text(&applied));
    let imported = apps_cmd(&["import-roles", "aws"], &dir);
    assert!(imported.status.success(), "{}", text(&imported));
    assert!(
        text(&imported).contains("1 roles trust") && text(&imported).contains("role/Okta_Role"),
        "{}",
        text(&imported)
    );
    assert!(!text(&imported).contains("Unrelated"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// `idfed users import`: a bad file lists its bad rows, exits 2 and changes nothing; a good one
/// imports, and `idfed users list` shows the people.
#[test]
fn csv_import_from_the_command_line() {
    let dir = std::env::temp_dir().join(format!("idfed-csv-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let tenant = dir.join("tenant.yaml");
    std::fs::write(&tenant, "groups:\n  - { name: Agents }\n").unwrap();
    assert!(idfed(&["apply", "-f", tenant.to_str().unwrap()], &dir).status.success());
    let bad = dir.join("bad.csv");
    std::fs::write(&bad, "login,email,groups\nann,ann@example.com,Agents\nbob,bob@example.com,Nope\n").unwrap();
    let out = idfed(&["users", "import", bad.to_str().unwrap()], &dir);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("line 3: there is no group \"Nope\"") && text(&out).contains("nothing was imported"),
        "{}",
        text(&out)
    );
    assert!(!text(&idfed(&["users", "list"], &dir)).contains("ann"), "all or nothing");
    let good = dir.join("good.csv");
    std::fs::write(&good, "login,email,groups\nann,ann@example.com,Agents\nbob,bob@example.com,\n").unwrap();
    let out = idfed(&["users", "import", good.to_str().unwrap()], &dir);
    assert!(out.status.success() && text(&out).contains("2 created, 0 updated, 1 group memberships"), "{}", text(&out));
    let listed = text(&idfed(&["users", "list"], &dir));
    assert!(listed.contains("ann\tstaged") && listed.contains("bob\tstaged"), "{listed}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `idfed groups …` and `idfed assign …` change the tenant as `idfed apply` would, checked the
/// same way, and `idfed logs` shows who did what.
#[test]
fn groups_and_assignments_from_the_command_line() {
    let dir = std::env::temp_dir().join(format!("idfed-assign-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let tenant = dir.join("tenant.yaml");
    std::fs::write(
        &tenant,
        "users:\n  - { login: ann, email: ann@example.com }\napps:\n  - { name: aws, label: AWS, type: aws, identity_provider_arns: [\"arn:aws:iam::111122223333:saml-provider/Okta\"] }\n",
    )
    .unwrap();
    assert!(idfed(&["apply", "-f", tenant.to_str().unwrap()], &dir).status.success());
    let ok = |args: &[&str]| {
        let out = idfed(args, &dir);
        assert!(out.status.success(), "{args:?}: {}", text(&out));
        text(&out)
    };
    ok(&["groups", "create", "Operators"]);
    ok(&["groups", "add-member", "Operators", "ANN"]);
    assert!(ok(&["groups", "list"]).contains("Operators\tokta\tann"));
    ok(&["assign", "aws", "--group", "Operators", "--role", "Okta_Role", "--role", "ReadOnly"]);
    let bad = idfed(&["assign", "aws", "--user", "ann", "--role", "arn:aws:iam::999999999999:role/X"], &dir);
    assert_eq!(bad.status.code(), Some(2));
    assert!(text(&bad).contains("no Identity Provider ARN for that account"), "{}", text(&bad));
    let exported = ok(&["export"]);
    assert!(exported.contains("group: Operators") && exported.contains("- ReadOnly"), "{exported}");
    ok(&["groups", "remove-member", "Operators", "ann"]);
    ok(&["assign", "aws", "--group", "Operators", "--remove"]);
    let logs = ok(&["logs", "--actor", "cli", "--event", "assignment"]);
    assert_eq!(logs.lines().count(), 3, "{logs}");
    assert!(logs.lines().next().unwrap().contains("assignment.delete"), "{logs}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `idfed backup` while the IdP serves, then `idfed restore`: the tenant export is the same as
/// before the backup, passwords still open, and a backup sealed with another key is refused.
#[test]
fn backup_and_restore_round_trip() {
    let dir = std::env::temp_dir().join(format!("idfed-backup-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let data = dir.join("data");
    let tenant = dir.join("tenant.yaml");
    std::fs::write(
        &tenant,
        "users:\n  - { login: ann, email: ann@example.com }\ngroups:\n  - { name: Ops, members: [ann] }\n",
    )
    .unwrap();
    assert!(idfed(&["apply", "-f", tenant.to_str().unwrap()], &data).status.success());
    set_password(&data, "ann", "correct horse battery");
    let before = String::from_utf8_lossy(&idfed(&["export"], &data).stdout).into_owned();
    let (serving, _) = start_idp(&data, None);
    let backup = dir.join("idp-backup.sqlite");
    let out = idfed(&["backup", backup.to_str().unwrap()], &data);
    assert!(out.status.success() && text(&out).contains("secret.key"), "{}", text(&out));
    drop(serving);
    assert!(idfed(&["backup", backup.to_str().unwrap()], &data).status.code() == Some(2), "never overwrites a file");

    std::fs::write(&tenant, "users:\n  - { login: bob, email: bob@example.com }\n").unwrap();
    assert!(idfed(&["apply", "-f", tenant.to_str().unwrap()], &data).status.success());
    assert_ne!(String::from_utf8_lossy(&idfed(&["export"], &data).stdout), before);
    let replaced = String::from_utf8_lossy(&idfed(&["export"], &data).stdout).into_owned();
    let out = idfed(&["restore", backup.to_str().unwrap()], &data);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(String::from_utf8_lossy(&idfed(&["export"], &data).stdout), before, "the tenant is as it was");
    // The store it replaced is kept, whole and owner-only, and opens as an IdP of its own.
    let kept = text(&out).lines().find_map(|l| l.strip_prefix("the store it replaced is kept in ")).unwrap().to_owned();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&kept).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(std::fs::metadata(&backup).unwrap().permissions().mode() & 0o777, 0o600, "so is a backup");
    }
    let look = dir.join("look");
    std::fs::create_dir_all(&look).unwrap();
    std::fs::copy(&kept, look.join("idp.sqlite")).unwrap();
    std::fs::copy(data.join("secret.key"), look.join("secret.key")).unwrap();
    assert_eq!(String::from_utf8_lossy(&idfed(&["export"], &look).stdout), replaced);
    let with_database =
        idfed_on(&["restore", backup.to_str().unwrap()], &data, Some("postgres://idfed@127.0.0.1:1/idfed"));
    assert_eq!(with_database.status.code(), Some(2), "{}", text(&with_database));
    assert!(text(&with_database).contains("pg_restore"), "{}", text(&with_database));
    let (_serving, url2) = start_idp(&data, None);
    let authn = Command::new("python3")
        .args(["-c", &format!(
            "import json,urllib.request;r=urllib.request.urlopen(urllib.request.Request('{url2}/api/client/authn',data=json.dumps({{'username':'ann','password':'correct horse battery'}}).encode(),headers={{'content-type':'application/json'}}));print(r.status)"
        )])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&authn.stdout).trim(), "200", "the password survived: {}", text(&authn));

    // A backup whose secrets were sealed with another key is refused, and nothing changes.
    let other = dir.join("other");
    assert!(idfed(&["apply", "-f", tenant.to_str().unwrap()], &other).status.success());
    let out = idfed(&["restore", backup.to_str().unwrap()], &other);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("cannot be opened"), "{}", text(&out));
    assert!(String::from_utf8_lossy(&idfed(&["export"], &other).stdout).contains("bob"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// The configuration file: `idfed config check` names the line, `serve --config` uses it, the
/// environment overrides it, `config print` masks the database password.
#[test]
fn the_configuration_file_and_the_environment() {
    let dir = std::env::temp_dir().join(format!("idfed-config-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "[server]\nlisten = \"127.0.0.1:0\"\n\n[log]\nformat = \"xml\"\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_idfed")).args(["config", "check"]).arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains(&format!("{}:5:1: log.format \"xml\"", bad.display())), "{}", text(&out));

    let good = dir.join("idfed.toml");
    std::fs::write(
        &good,
        format!("[server]\nlisten = \"127.0.0.1:0\"\ndata_dir = \"{}\"\n", dir.join("data").display()),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_idfed"))
        .args(["serve", "--config"])
        .arg(&good)
        .env_remove("IDFED_DATABASE_URL")
        .env("IDFED_BASE_URL", "https://idp.example.com")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(line.starts_with("idfed IdP: https://idp.example.com ") && line.contains("data in"), "{line}");
    assert!(dir.join("data/idp.sqlite").exists(), "the data directory came from the file");

    let out = Command::new(env!("CARGO_BIN_EXE_idfed"))
        .args(["config", "print", "--config"])
        .arg(&good)
        .env("IDFED_DATABASE_URL", "postgres://idfed:hunter2@db.example.com/idfed")
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        printed.contains("postgres://idfed:****@db.example.com/idfed") && !printed.contains("hunter2"),
        "{printed}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The example configuration in deploy/ stays valid.
#[test]
fn the_example_configuration_is_valid() {
    let out = Command::new(env!("CARGO_BIN_EXE_idfed"))
        .args(["config", "check"])
        .arg(repo().join("deploy/idfed.toml"))
        .env_remove("IDFED_DATABASE_URL")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
}

/// `/metrics` after a sign-in, a failed one and a launch, read by prometheus_client's parser.
#[test]
fn metrics_after_a_login_parse_as_prometheus_text() {
    if !repo().join(".venv/bin/python").exists() {
        assert!(!required(), "the Python venv is required; run scripts/setup-oracles.sh");
        eprintln!("SKIPPED: .venv missing; run scripts/setup-oracles.sh");
        return;
    }
    let dir = std::env::temp_dir().join(format!("idfed-metrics-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    ann_tenant(&dir, "correct horse battery");
    let (_server, url) = start_idp(&dir, None);
    let flow = |password: &str| {
        Command::new("python3")
            .arg(repo().join("tools/clients/idp_browser_flow.py"))
            .args(["--idp", &url, "--username", "ann", "--password", password, "--app", "aws"])
            .output()
            .unwrap()
    };
    flow("wrong password");
    flow("correct horse battery");
    let metrics = dir.join("metrics.txt");
    let fetched = Command::new("python3")
        .arg(repo().join("tools/clients/idp_browser_flow.py"))
        .args(["--fetch", &format!("{url}/metrics"), "--out"])
        .arg(&metrics)
        .output()
        .unwrap();
    assert!(fetched.status.success());
    let parsed = Command::new(repo().join(".venv/bin/python"))
        .arg(repo().join("tools/clients/prom_parse.py"))
        .stdin(std::fs::File::open(&metrics).unwrap())
        .output()
        .unwrap();
    assert!(parsed.status.success(), "not Prometheus text: {}", text(&parsed));
    let samples: Vec<serde_json::Value> = serde_json::from_slice(&parsed.stdout).unwrap();
    let value = |name: &str, key: &str, label: &str| {
        samples.iter().find(|s| s["name"] == name && s["labels"][key] == label).map(|s| s["value"].as_f64().unwrap())
    };
    assert_eq!(value("idfed_sign_ins_total", "outcome", "success"), Some(1.0), "{samples:?}");
    assert_eq!(value("idfed_sign_ins_total", "outcome", "failure"), Some(1.0));
    assert_eq!(value("idfed_assertions_issued_total", "app", "aws"), Some(1.0));
    assert!(samples.iter().any(|s| s["name"] == "idfed_signing_seconds_count" && s["value"] == 1.0));
    assert!(samples.iter().any(|s| s["name"] == "idfed_http_requests_total"
        && s["labels"]["route"] == "/app/{name}/sso"
        && s["labels"]["status"] == "200"));
    assert!(samples.iter().any(|s| s["name"] == "idfed_db_connections" && s["labels"]["state"] == "open"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// `/readyz` turns unready when PostgreSQL stops and ready again when it returns, on its own;
/// `/healthz` stays up throughout. A PostgreSQL of its own (scripts/pg-test-server.sh on another
/// port) so the shared test server is never stopped.
#[test]
fn readiness_follows_the_database() {
    let Some((pg, admin)) = crate::faults::OwnPostgres::start("ready") else { return };
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let url = rt.block_on(idfed_store::testing::fresh_postgres_database(&admin, "idfed_ready")).unwrap();
    let dir = std::env::temp_dir().join(format!("idfed-ready-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (_server, idp) = start_idp(&dir, Some(&url));
    let status = |path: &str| {
        let out = Command::new("python3")
            .args(["-c", &format!("import urllib.request,urllib.error\ntry:\n  print(urllib.request.urlopen('{idp}{path}',timeout=10).status)\nexcept urllib.error.HTTPError as e:\n  print(e.code)")])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    assert_eq!(status("/readyz"), "200");
    pg.kill();
    let started = std::time::Instant::now();
    assert_eq!(status("/readyz"), "503", "unready while the database is down");
    assert!(started.elapsed() < std::time::Duration::from_secs(6), "answered quickly: {:?}", started.elapsed());
    assert_eq!(status("/healthz"), "200", "alive all the same");
    // Start the same data again (not a fresh one): the pool reconnects by itself.
    pg.restart();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while status("/readyz") != "200" {
        assert!(std::time::Instant::now() < deadline, "ready again once PostgreSQL is back");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// JSON process logs of a whole login (pages and client API, debug level) hold request lines
/// with IDs, and none of the password, the session, the SAML response or a key.
#[test]
fn logs_of_a_full_login_hold_no_secrets() {
    let dir = std::env::temp_dir().join(format!("idfed-logs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let password = "Zebra-Quartz-9931-secret";
    ann_tenant(&dir, password);
    let log_file = dir.join("server.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_idfed"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&dir)
        .env("IDFED_LOG_FORMAT", "json")
        .env("IDFED_LOG_LEVEL", "debug")
        .env_remove("IDFED_DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log_file).unwrap())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url = line.split_whitespace().nth(2).unwrap().to_owned();
    let flow = Command::new("python3")
        .arg(repo().join("tools/clients/idp_browser_flow.py"))
        .args(["--idp", &url, "--username", "ann", "--password", password, "--app", "aws"])
        .output()
        .unwrap();
    let page: serde_json::Value = serde_json::from_slice(&flow.stdout).unwrap();
    assert!(page["acs"].as_str().is_some(), "{page}");
    let client = Command::new("python3")
        .args(["-c", &format!(
            "import json,urllib.request as u\nr=json.load(u.urlopen(u.Request('{url}/api/client/authn',data=json.dumps({{'username':'ann','password':'{password}'}}).encode(),headers={{'content-type':'application/json','x-request-id':'trace-me-42'}})))\ns=r['session']\nx=json.load(u.urlopen(u.Request('{url}/api/client/apps/aws/saml',data=b'{{}}',headers={{'authorization':'Bearer '+s,'content-type':'application/json'}})))\nprint(json.dumps({{'session':s,'saml':x['saml_response']}}))"
        )])
        .output()
        .unwrap();
    let secrets: serde_json::Value =
        serde_json::from_slice(&client.stdout).unwrap_or_else(|_| panic!("{}", text(&client)));
    let _ = child.kill();
    let _ = child.wait();
    let logs = std::fs::read_to_string(&log_file).unwrap();
    assert!(logs.lines().filter(|l| l.contains("\"request_id\"") && l.contains("\"route\"")).count() >= 5, "{logs}");
    assert!(logs.contains("trace-me-42"), "the caller's request ID is kept: {logs}");
    let session = secrets["session"].as_str().unwrap();
    let saml = secrets["saml"].as_str().unwrap();
    for (what, secret) in
        [("password", password), ("session", session), ("SAML response", &saml[..60]), ("private key", "PRIVATE KEY")]
    {
        assert!(!logs.contains(secret), "the logs hold the {what}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// HTTPS served directly with the configured certificate, and a new certificate picked up on
/// SIGHUP by new connections while the server keeps running.
#[test]
fn https_with_a_certificate_reloaded_on_sighup() {
    let dir = std::env::temp_dir().join(format!("idfed-tls-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let make = |name: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_idfed"))
            .args(["keys", "generate", "--subject", &format!("CN={name}"), "--out"])
            .arg(dir.join(name))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out));
    };
    make("first");
    make("second");
    let (cert, key) = (dir.join("tls.crt"), dir.join("tls.key"));
    std::fs::copy(dir.join("first/cert.pem"), &cert).unwrap();
    std::fs::copy(dir.join("first/key.pem"), &key).unwrap();
    let config = dir.join("idfed.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\ndata_dir = \"{}\"\n[tls]\ncert = \"{}\"\nkey = \"{}\"\n",
            dir.join("data").display(),
            cert.display(),
            key.display()
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_idfed"))
        .args(["serve", "--config"])
        .arg(&config)
        .env_remove("IDFED_DATABASE_URL")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url = line.split_whitespace().nth(2).unwrap().to_owned();
    assert!(url.starts_with("https://127.0.0.1:"), "{line}");
    let subject_and_health = || {
        let out = Command::new("python3")
            .args(["-c", &format!(
                "import ssl,socket,urllib.request,json\nu='{url}'\nh,p=u[8:].split(':')\nc=ssl.create_default_context();c.check_hostname=False;c.verify_mode=ssl.CERT_NONE\ns=c.wrap_socket(socket.create_connection((h,int(p))));d=s.getpeercert(True);s.close()\nimport hashlib\nprint(json.dumps({{'der':hashlib.sha256(d).hexdigest(),'health':urllib.request.urlopen(u+'/healthz',context=c).read().decode()}}))"
            )])
            .output()
            .unwrap();
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap_or_else(|_| panic!("{}", text(&out)))
    };
    let before = subject_and_health();
    assert_eq!(before["health"], "ok\n");
    std::fs::copy(dir.join("second/cert.pem"), &cert).unwrap();
    std::fs::copy(dir.join("second/key.pem"), &key).unwrap();
    let _ = Command::new("kill").arg("-HUP").arg(child.id().to_string()).status();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let after = loop {
        let now = subject_and_health();
        if now["der"] != before["der"] || std::time::Instant::now() > deadline {
            break now;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert_ne!(after["der"], before["der"], "the new certificate is served after SIGHUP");
    assert_eq!(after["health"], "ok\n", "and the server kept running");
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
}

/// X-Forwarded-For names the client only when the connection comes from a trusted proxy.
#[test]
fn forwarded_for_is_believed_only_from_trusted_proxies() {
    let dir = std::env::temp_dir().join(format!("idfed-proxy-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let client_seen = |trusted: &str| {
        let config = dir.join("idfed.toml");
        std::fs::write(
            &config,
            format!("[server]\nlisten = \"127.0.0.1:0\"\ndata_dir = \"{}\"\n[proxy]\ntrusted = [{trusted}]\n[log]\nformat = \"json\"\n", dir.join("data").display()),
        )
        .unwrap();
        let log = dir.join("server.log");
        let mut child = Command::new(env!("CARGO_BIN_EXE_idfed"))
            .args(["serve", "--config"])
            .arg(&config)
            .env_remove("IDFED_DATABASE_URL")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let url = line.split_whitespace().nth(2).unwrap().to_owned();
        let out = Command::new("python3")
            .args(["-c", &format!("import urllib.request as u\nu.urlopen(u.Request('{url}/healthz',headers={{'x-forwarded-for':'198.51.100.1, 203.0.113.9'}})).read()")])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out));
        let _ = child.kill();
        let _ = child.wait();
        let logs = std::fs::read_to_string(&log).unwrap();
        let entry = logs.lines().find(|l| l.contains("\"/healthz\"")).unwrap_or_else(|| panic!("{logs}")).to_owned();
        let v: serde_json::Value = serde_json::from_str(&entry).unwrap();
        v["fields"]["client"].as_str().unwrap().to_owned()
    };
    assert_eq!(client_seen("\"127.0.0.1\""), "203.0.113.9");
    assert_eq!(client_seen(""), "127.0.0.1", "nobody trusted: the peer's address");
    let _ = std::fs::remove_dir_all(&dir);
}
