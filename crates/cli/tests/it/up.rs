//! `idfed up` without a browser: a second start reuses the data (no new people, no new
//! instance) and warns when the ports moved under the scenario.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};

use serde_json::Value;

pub(crate) fn start(dir: &std::path::Path, idp: &str, aws: &str) -> (std::process::Child, Value) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_idfed"))
        .args(["up", "--json", "--idp-listen", idp, "--aws-listen", aws, "--data-dir"])
        .arg(dir)
        .env_remove("IDFED_DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let info: Value = serde_json::from_str(&line).unwrap_or_else(|_| panic!("idfed up said {line:?}"));
    (child, info)
}

pub(crate) fn stop(mut child: std::process::Child) -> String {
    let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
    let status = child.wait().unwrap();
    assert!(status.success(), "idfed up stops cleanly on SIGTERM: {status:?}");
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    err
}

#[test]
fn a_second_start_reuses_the_scenario_and_warns_when_ports_move() {
    let dir = std::env::temp_dir().join(format!("idfed-up-reuse-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (first, info) = start(&dir, "127.0.0.1:0", "127.0.0.1:0");
    assert_eq!(info["first_start"], true);
    let people = info["people"].as_array().unwrap();
    assert_eq!(people.len(), 4);
    assert!(people.iter().all(|p| p["password"].as_str().is_some_and(|pw| pw.len() == 19)), "{info}");
    let (idp, aws) = (info["idp"].as_str().unwrap().to_owned(), info["aws"].as_str().unwrap().to_owned());
    stop(first);

    let (second, again) = start(&dir, idp.trim_start_matches("http://"), aws.trim_start_matches("http://"));
    assert_eq!(again["first_start"], false);
    assert_eq!(again["instance_id"], info["instance_id"], "the same Connect instance");
    assert!(again["people"].as_array().unwrap().iter().all(|p| p["password"].is_null()), "passwords are shown once");
    assert!(!stop(second).contains("warning"));

    let (third, _) = start(&dir, "127.0.0.1:0", "127.0.0.1:0");
    let err = stop(third);
    assert!(err.contains("was set up with the IdP at") && err.contains("--idp-listen"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The doctor on a captured login of the running scenario: clean before, F20 with its cause and
/// fix after the federation policy is detached (exit 1), and `--explain`.
#[test]
fn the_doctor_explains_a_captured_login_of_the_running_scenario() {
    let repo = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    if !repo.join(".venv/bin/aws").exists() {
        assert!(std::env::var_os("IDFED_REQUIRE_ORACLES").is_none_or(|v| v != "1"), "the aws CLI is required");
        eprintln!("SKIPPED: .venv/bin/aws missing; run scripts/setup-oracles.sh");
        return;
    }
    let dir = std::env::temp_dir().join(format!("idfed-up-doctor-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (child, info) = start(&dir, "127.0.0.1:0", "127.0.0.1:0");
    let (idp, aws) = (info["idp"].as_str().unwrap(), info["aws"].as_str().unwrap());
    let password = info["people"][0]["password"].as_str().unwrap();
    let capture = dir.join("capture.txt");
    let login = |capture: &std::path::Path| {
        let out = Command::new("python3")
            .arg(repo.join("tools/clients/idp_browser_flow.py"))
            .args([
                "--idp",
                idp,
                "--username",
                "ada.admin@example.com",
                "--password",
                password,
                "--app",
                "connect-admin",
                "--capture",
            ])
            .arg(capture)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    };
    let doctor = |capture: &std::path::Path| {
        Command::new(env!("CARGO_BIN_EXE_idfed"))
            .args(["doctor", "--response"])
            .arg(capture)
            .arg("--aws-data-dir")
            .arg(&dir)
            .args(["--sign-in-url", &format!("{aws}/saml")])
            .output()
            .unwrap()
    };
    login(&capture);
    let healthy = doctor(&capture);
    let text = String::from_utf8_lossy(&healthy.stdout).into_owned();
    assert!(healthy.status.success(), "{text}");
    assert!(
        text.contains("AWS accepts this response for arn:aws:iam::111122223333:role/Okta_Role")
            && text.contains("Amazon Connect lets this session in"),
        "{text}"
    );

    let policy = |action: &str| {
        let out = Command::new(repo.join(".venv/bin/aws"))
            .args(["--endpoint-url", aws, "--region", "us-east-1", "iam", action, "--role-name", "Okta_Role"])
            .args(["--policy-arn", "arn:aws:iam::111122223333:policy/okta_federation_policy"])
            .env("AWS_ACCESS_KEY_ID", info["access_key_id"].as_str().unwrap())
            .env("AWS_SECRET_ACCESS_KEY", info["secret_access_key"].as_str().unwrap())
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    };
    policy("detach-role-policy");
    let broken_capture = dir.join("capture-broken.txt");
    login(&broken_capture);
    let broken = doctor(&broken_capture);
    let text = String::from_utf8_lossy(&broken.stdout).into_owned();
    assert_eq!(broken.status.code(), Some(1), "{text}");
    assert!(text.starts_with("ERROR F20 Federation role lacks connect:GetFederationToken"), "{text}");
    assert!(
        text.contains("Access denied, Please contact your AWS account administrator for assistance.")
            && text.contains("Attach okta_federation_policy"),
        "{text}"
    );

    // The same capture as a browser's HAR export (the README's example): its RelayState is read
    // too, so Connect's refusal is found.
    let har = dir.join("capture-broken.har");
    let form = std::fs::read_to_string(&broken_capture).unwrap();
    std::fs::write(
        &har,
        format!(
            r#"{{"log":{{"entries":[{{"request":{{"method":"POST","url":"{aws}/saml","postData":{{"mimeType":"application/x-www-form-urlencoded","text":"{}"}}}}}}]}}}}"#,
            form.trim()
        ),
    )
    .unwrap();
    let from_har = doctor(&har);
    let text = String::from_utf8_lossy(&from_har.stdout).into_owned();
    assert_eq!(from_har.status.code(), Some(1), "{text}");
    assert!(text.starts_with("ERROR F20"), "{text}");

    // The same judgement with the AWS side read through AWS's own read-only APIs (here the
    // sandbox's, as --aws-live reads real AWS).
    let live = Command::new(env!("CARGO_BIN_EXE_idfed"))
        .args(["doctor", "--response"])
        .arg(&broken_capture)
        .args(["--aws-endpoint", aws, "--sign-in-url", &format!("{aws}/saml")])
        .env("AWS_ACCESS_KEY_ID", info["access_key_id"].as_str().unwrap())
        .env("AWS_SECRET_ACCESS_KEY", info["secret_access_key"].as_str().unwrap())
        .env_remove("AWS_SESSION_TOKEN")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&live.stdout).into_owned();
    assert_eq!(live.status.code(), Some(1), "{text}{}", String::from_utf8_lossy(&live.stderr));
    assert!(text.starts_with("ERROR F20"), "{text}");

    policy("attach-role-policy");
    // Preflight: every assigned person's login simulated; seed 001's person now has a Connect
    // username differing in case, and only that person is named.
    let export = Command::new(env!("CARGO_BIN_EXE_idfed")).arg("export").arg("--data-dir").arg(&dir).output().unwrap();
    let edited =
        String::from_utf8_lossy(&export.stdout).replace("connect_username: SamVoice", "connect_username: samvoice");
    std::fs::write(dir.join("edited.yaml"), edited).unwrap();
    let applied = Command::new(env!("CARGO_BIN_EXE_idfed"))
        .args(["apply", "-f"])
        .arg(dir.join("edited.yaml"))
        .arg("--data-dir")
        .arg(&dir)
        .output()
        .unwrap();
    assert!(applied.status.success());
    let preflight = Command::new(env!("CARGO_BIN_EXE_idfed"))
        .args(["doctor", "--idp-data-dir"])
        .arg(&dir)
        .arg("--aws-data-dir")
        .arg(&dir)
        .args(["--sign-in-url", &format!("{aws}/saml")])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&preflight.stdout).into_owned();
    assert_eq!(preflight.status.code(), Some(1), "{text}");
    assert!(text.contains("ERROR F21 sam.scv@example.com → Amazon Connect (Service Cloud Voice)"), "{text}");
    assert!(text.contains("\"samvoice\"; the Connect user is \"SamVoice\": they differ only in case"), "{text}");
    assert!(!text.contains("F20"), "the policy is back: {text}");
    assert!(!text.contains("max.multi@example.com"), "people whose login works are not listed: {text}");
    // The same from a tenant export (no keys: certificates are not compared).
    let exported = dir.join("tenant-export.yaml");
    let export = Command::new(env!("CARGO_BIN_EXE_idfed"))
        .args(["export", "--out"])
        .arg(&exported)
        .arg("--data-dir")
        .arg(&dir)
        .output()
        .unwrap();
    assert!(export.status.success());
    let from_export = Command::new(env!("CARGO_BIN_EXE_idfed"))
        .args(["doctor", "--idp-export"])
        .arg(&exported)
        .args(["--idp-base-url", idp, "--aws-data-dir"])
        .arg(&dir)
        .args(["--sign-in-url", &format!("{aws}/saml")])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&from_export.stdout).into_owned();
    assert_eq!(from_export.status.code(), Some(1), "{text}");
    assert!(
        text.contains("ERROR F21 sam.scv@example.com") && text.contains("Signing certificates were not compared"),
        "{text}"
    );

    let explain = Command::new(env!("CARGO_BIN_EXE_idfed")).args(["doctor", "--explain", "f06"]).output().unwrap();
    assert!(String::from_utf8_lossy(&explain.stdout).contains("Response signature invalid"));
    stop(child);
    let _ = std::fs::remove_dir_all(&dir);
}

/// `idfed up --scenario FILE`: one's own scenario (here one person, one role, no Connect) set up
/// the same way, and the person signs in to the console.
#[test]
fn one_s_own_scenario() {
    let repo = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = std::env::temp_dir().join(format!("idfed-up-own-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("scenario.yaml");
    std::fs::write(
        &file,
        r#"
aws:
  account: "444455556666"
  alias: lab
  providers: [{ name: LabIdP, app: lab }]
  roles: [{ name: LabAdmin, trusts: [LabIdP], max_session_duration: 7200 }]
people: [{ login: kim, what: "the lab's only person" }]
tenant:
  users: [{ login: kim, email: kim@example.com }]
  apps:
    - name: lab
      label: Lab account
      type: aws
      environment: custom
      acs_url: "{{sandbox}}/saml"
      identity_provider_arns: ["arn:aws:iam::{{account}}:saml-provider/LabIdP"]
  assignments: [{ app: lab, user: kim, roles: [LabAdmin] }]
"#,
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_idfed"))
        .args(["up", "--json", "--idp-listen", "127.0.0.1:0", "--aws-listen", "127.0.0.1:0", "--scenario"])
        .arg(&file)
        .arg("--data-dir")
        .arg(dir.join("data"))
        .env_remove("IDFED_DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let info: Value = serde_json::from_str(&line).unwrap_or_else(|_| panic!("idfed up said {line:?}"));
    assert_eq!(info["account"], "444455556666");
    assert_eq!(info["people"][0]["what"], "the lab's only person");
    let out = Command::new("python3")
        .arg(repo.join("tools/clients/idp_browser_flow.py"))
        .args(["--idp", info["idp"].as_str().unwrap(), "--username", "kim", "--password"])
        .arg(info["people"][0]["password"].as_str().unwrap())
        .args(["--app", "lab"])
        .output()
        .unwrap();
    let flow: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(flow["page"].as_str().unwrap().contains("arn:aws:sts::444455556666:assumed-role/LabAdmin/kim"), "{flow}");
    stop(child);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Review finding: `idfed up` where `idfed serve` keeps a tenant (the same default data
/// directory, or a database IDFED_DATABASE_URL names) replaced it with the demo's people and
/// apps. It refuses instead, and changes nothing.
#[test]
fn up_refuses_to_set_up_over_a_tenant_it_did_not_make() {
    let dir = std::env::temp_dir().join(format!("idfed-up-over-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let tenant = dir.join("tenant.yaml");
    std::fs::write(&tenant, "users:\n  - { login: someone@example.com, email: someone@example.com }\n").unwrap();
    let applied = Command::new(env!("CARGO_BIN_EXE_idfed"))
        .args(["apply", "-f"])
        .arg(&tenant)
        .arg("--data-dir")
        .arg(&dir)
        .env_remove("IDFED_DATABASE_URL")
        .output()
        .unwrap();
    assert!(applied.status.success(), "{}", String::from_utf8_lossy(&applied.stderr));
    let up = Command::new(env!("CARGO_BIN_EXE_idfed"))
        .args(["up", "--idp-listen", "127.0.0.1:0", "--aws-listen", "127.0.0.1:0", "--data-dir"])
        .arg(&dir)
        .env_remove("IDFED_DATABASE_URL")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&up.stderr);
    assert!(!up.status.success());
    assert!(err.contains("already holds 1 people and 0 apps that idfed up did not set up"), "{err}");
    assert!(!dir.join("scenario.json").exists());
    let export = Command::new(env!("CARGO_BIN_EXE_idfed"))
        .arg("export")
        .arg("--data-dir")
        .arg(&dir)
        .env_remove("IDFED_DATABASE_URL")
        .output()
        .unwrap();
    let kept = String::from_utf8_lossy(&export.stdout);
    assert!(kept.contains("someone@example.com") && !kept.contains("ada.admin"), "{kept}");
    let _ = std::fs::remove_dir_all(&dir);
}
