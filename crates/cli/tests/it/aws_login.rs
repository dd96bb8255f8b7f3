//! `idfed aws login` and `credential_process` end to end against `idfed up`: a profile the real
//! `aws` CLI uses, credential_process through the `aws` CLI with caching and refresh, a role not
//! offered, wrong password and TOTP, and F18 with AWS's text.

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

use crate::up::{start, stop};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

struct Env {
    dir: PathBuf,
    info: Value,
}

impl Env {
    fn password(&self, login: &str) -> String {
        let people = self.info["people"].as_array().unwrap();
        people.iter().find(|p| p["login"] == login).unwrap()["password"].as_str().unwrap().to_owned()
    }

    fn idfed(&self, args: &[&str], password: Option<&str>, totp: Option<&str>) -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_idfed"));
        command
            .args(args)
            .env("AWS_SHARED_CREDENTIALS_FILE", self.dir.join("credentials"))
            .env("AWS_CONFIG_FILE", self.dir.join("config"))
            .env("IDFED_CACHE_DIR", self.dir.join("cache"))
            .env_remove("IDFED_PASSWORD")
            .env_remove("IDFED_TOTP")
            .env_remove("IDFED_DATABASE_URL");
        if let Some(p) = password {
            command.env("IDFED_PASSWORD", p);
        }
        if let Some(t) = totp {
            command.env("IDFED_TOTP", t);
        }
        command.output().unwrap()
    }

    fn login_args<'a>(&'a self, login: &'a str, app: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
        let mut args =
            vec!["aws", "login", "--idp", self.info["idp"].as_str().unwrap(), "--app", app, "--username", login];
        args.extend_from_slice(&["--sts-endpoint", self.info["aws"].as_str().unwrap()]);
        args.extend_from_slice(extra);
        args
    }

    fn aws(&self, args: &[&str]) -> Output {
        Command::new(repo().join(".venv/bin/aws"))
            .args(["--endpoint-url", self.info["aws"].as_str().unwrap()])
            .args(args)
            .env("AWS_SHARED_CREDENTIALS_FILE", self.dir.join("credentials"))
            .env("AWS_CONFIG_FILE", self.dir.join("config"))
            .env("IDFED_CACHE_DIR", self.dir.join("cache"))
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .env_remove("AWS_SESSION_TOKEN")
            .env_remove("AWS_PROFILE")
            .output()
            .unwrap()
    }

    fn sso_count(&self, login: &str) -> usize {
        let out = Command::new(env!("CARGO_BIN_EXE_idfed"))
            .args(["logs", "--actor", login, "--event", "app.sso", "--data-dir"])
            .arg(self.dir.join("data"))
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).lines().count()
    }
}

fn ready() -> bool {
    if repo().join(".venv/bin/aws").exists() {
        return true;
    }
    assert!(std::env::var_os("IDFED_REQUIRE_ORACLES").is_none_or(|v| v != "1"), "the aws CLI is required");
    eprintln!("SKIPPED: .venv/bin/aws missing; run scripts/setup-oracles.sh");
    false
}

fn totp_now(secret: &str) -> String {
    let bytes = totp_rs::Secret::Encoded(secret.to_owned()).to_bytes().unwrap();
    let totp = totp_rs::TOTP::new(totp_rs::Algorithm::SHA1, 6, 1, 30, bytes, Some("idfed".into()), "x".into()).unwrap();
    totp.generate_current().unwrap()
}

#[test]
fn login_writes_a_profile_and_credential_process_works_through_the_aws_cli() {
    if !ready() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("idfed-aws-login-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (child, info) = start(&dir.join("data"), "127.0.0.1:0", "127.0.0.1:0");
    let env = Env { dir: dir.clone(), info };
    std::fs::write(
        dir.join("credentials"),
        "[keep]\naws_access_key_id = AKIAKEEPKEEPKEEPKEEP\naws_secret_access_key = keep\n",
    )
    .unwrap();
    let max = "max.multi@example.com";
    let pw = env.password(max);

    // Several roles, no --role, no terminal: a clear error naming them.
    let out = env.idfed(&env.login_args(max, "aws-console", &[]), Some(&pw), None);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("offers several roles; choose one with --role")
            && text(&out).contains("role/Okta_ReadOnly"),
        "{}",
        text(&out)
    );
    // A role not offered.
    let out = env.idfed(&env.login_args(max, "aws-console", &["--role", "Admin"]), Some(&pw), None);
    assert!(text(&out).contains("the role Admin is not offered to you by aws-console"), "{}", text(&out));
    // Wrong password.
    let out = env.idfed(&env.login_args("alex.agent@example.com", "connect-ccp", &[]), Some("wrong password!"), None);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("the IdP refused the sign-in: Sign-in failed."), "{}", text(&out));
    // F18 with AWS's text.
    let out = env.idfed(
        &env.login_args(max, "aws-console", &["--role", "Okta_ReadOnly", "--duration", "43200"]),
        Some(&pw),
        None,
    );
    assert!(
        text(&out).contains(
            "ValidationError: The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
        ),
        "{}",
        text(&out)
    );

    // A profile the aws CLI uses, the other profile untouched.
    let out = env.idfed(
        &env.login_args(max, "aws-console", &["--role", "Okta_ReadOnly", "--profile", "idfed"]),
        Some(&pw),
        None,
    );
    assert!(out.status.success(), "{}", text(&out));
    let who = env.aws(&["sts", "get-caller-identity", "--profile", "idfed", "--output", "json"]);
    let who: Value = serde_json::from_slice(&who.stdout).unwrap_or_else(|_| panic!("{}", text(&who)));
    assert_eq!(who["Arn"], "arn:aws:sts::111122223333:assumed-role/Okta_ReadOnly/max.multi@example.com");
    let credentials = std::fs::read_to_string(dir.join("credentials")).unwrap();
    assert!(credentials.starts_with("[keep]\naws_access_key_id = AKIAKEEPKEEPKEEPKEEP\n"), "{credentials}");
    assert!(!credentials.contains(&pw), "no password in the AWS files");
    assert!(std::fs::read_to_string(dir.join("config")).unwrap().contains("[profile idfed]\nregion = us-east-1"));
    // The sign-in left this machine's known-device entries (sealed, private), sent with the next one.
    let device = std::fs::read_dir(dir.join("cache"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("device-"))
        .expect("a device cache file");
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&device).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let cached: Value = serde_json::from_str(&std::fs::read_to_string(&device).unwrap()).unwrap();
    assert!(cached["device"].as_str().unwrap().starts_with("sealed:v1:"), "{cached}");

    // credential_process through the aws CLI: the second call is served from the cache, and the
    // cached IdP session refreshes expired credentials without the password.
    let process = format!(
        "{} aws credential-process --idp {} --app aws-console --username {max} --role Okta_Role --sts-endpoint {}",
        env!("CARGO_BIN_EXE_idfed"),
        env.info["idp"].as_str().unwrap(),
        env.info["aws"].as_str().unwrap()
    );
    let config = std::fs::read_to_string(dir.join("config")).unwrap();
    std::fs::write(
        dir.join("config"),
        format!("{config}\n[profile cp]\nregion = us-east-1\ncredential_process = {process}\n"),
    )
    .unwrap();
    let before = env.sso_count(max);
    for _ in 0..2 {
        let who = env.aws(&["sts", "get-caller-identity", "--profile", "cp", "--output", "json"]);
        assert!(who.status.success(), "{}", text(&who));
        assert!(String::from_utf8_lossy(&who.stdout).contains("assumed-role/Okta_Role/max.multi@example.com"));
    }
    assert_eq!(
        env.sso_count(max),
        before + 1,
        "one response for the first call (the session cached by login, no password); the second came from the cache"
    );
    let cache: Vec<PathBuf> = std::fs::read_dir(dir.join("cache")).unwrap().map(|e| e.unwrap().path()).collect();
    let creds = cache.iter().find(|p| p.file_name().unwrap().to_string_lossy().starts_with("credentials-")).unwrap();
    let mut cached: Value = serde_json::from_str(&std::fs::read_to_string(creds).unwrap()).unwrap();
    cached["Expiration"] = Value::from("2020-01-01T00:00:00Z");
    std::fs::write(creds, cached.to_string()).unwrap();
    let who = env.aws(&["sts", "get-caller-identity", "--profile", "cp", "--output", "json"]);
    assert!(who.status.success(), "expired credentials are refreshed with the cached session: {}", text(&who));
    assert_eq!(env.sso_count(max), before + 2, "one new response for the refresh");

    // The sandbox's metrics count those AssumeRoleWithSAML calls by outcome.
    let metrics = Command::new("python3")
        .args([
            "-c",
            &format!(
                "import urllib.request as u;print(u.urlopen('{}/metrics').read().decode())",
                env.info["aws"].as_str().unwrap()
            ),
        ])
        .output()
        .unwrap();
    let parsed = Command::new(repo().join(".venv/bin/python"))
        .arg(repo().join("tools/clients/prom_parse.py"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(&metrics.stdout)?;
            child.wait_with_output()
        })
        .unwrap();
    let samples: Vec<Value> = serde_json::from_slice(&parsed.stdout).unwrap_or_else(|_| panic!("{}", text(&parsed)));
    let count = |outcome: &str| {
        samples
            .iter()
            .find(|s| {
                s["name"] == "idfed_sandbox_assume_role_with_saml_total"
                    && s["labels"]["via"] == "api"
                    && s["labels"]["outcome"] == outcome
            })
            .and_then(|s| s["value"].as_f64())
            .unwrap_or(0.0)
    };
    assert_eq!(count("ValidationError"), 1.0, "{samples:?}");
    assert!(count("Success") >= 3.0, "{samples:?}");
    stop(child);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn totp_is_asked_for_and_checked() {
    if !ready() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("idfed-aws-login-totp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (child, info) = start(&dir.join("data"), "127.0.0.1:0", "127.0.0.1:0");
    let env = Env { dir: dir.clone(), info };
    let alex = "alex.agent@example.com";
    let enrolled = Command::new(env!("CARGO_BIN_EXE_idfed"))
        .args(["users", "enroll-totp", alex, "--data-dir"])
        .arg(dir.join("data"))
        .output()
        .unwrap();
    let url = String::from_utf8_lossy(&enrolled.stdout).into_owned();
    let secret = url.split("secret=").nth(1).unwrap().split('&').next().unwrap().to_owned();
    let pw = env.password(alex);
    let out = env.idfed(&env.login_args(alex, "connect-ccp", &["--profile", "alex"]), Some(&pw), None);
    assert!(text(&out).contains("Code from your authenticator app is needed: set IDFED_TOTP"), "{}", text(&out));
    let out = env.idfed(&env.login_args(alex, "connect-ccp", &["--profile", "alex"]), Some(&pw), Some("000000"));
    assert!(text(&out).contains("That code is not valid"), "{}", text(&out));
    let out =
        env.idfed(&env.login_args(alex, "connect-ccp", &["--profile", "alex"]), Some(&pw), Some(&totp_now(&secret)));
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("assumed-role/Okta_Role/alex.agent@example.com"), "{}", text(&out));
    stop(child);
    let _ = std::fs::remove_dir_all(&dir);
}
