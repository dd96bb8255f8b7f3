//! The same boto3 script against moto server and against the sandbox: every key moto's answers
//! carry, the sandbox's carry too (AWS's shapes); extra keys the sandbox returns are AWS's and
//! are listed for review.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn shapes(endpoint: &str, key: &str, secret: &str, metadata: &str, assertion: &str) -> serde_json::Value {
    let o = Command::new(repo().join(".venv/bin/python"))
        .arg(repo().join("tools/clients/shape_compare.py"))
        .args([
            "--endpoint",
            endpoint,
            "--key",
            key,
            "--secret",
            secret,
            "--metadata",
            metadata,
            "--assertion",
            assertion,
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{} {}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn sandbox_answers_have_every_key_moto_answers_have() {
    let moto = repo().join(".venv/bin/moto_server");
    if !moto.exists() {
        assert!(
            std::env::var_os("IDFED_REQUIRE_ORACLES").is_none_or(|v| v != "1"),
            "moto is required; run scripts/setup-oracles.sh"
        );
        eprintln!("SKIPPED: moto server not installed; run scripts/setup-oracles.sh");
        return;
    }
    let dir = std::env::temp_dir().join(format!("idfed-moto-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = |n: &str| dir.join(n).to_str().unwrap().to_owned();
    let idfed = |args: &[&str]| {
        let o = Command::new(env!("CARGO_BIN_EXE_idfed")).args(args).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        o.stdout
    };
    idfed(&["keys", "generate", "--out", &path("idp")]);
    let md = idfed(&[
        "saml",
        "metadata",
        "--cert",
        &path("idp/cert.pem"),
        "--entity-id",
        "http://www.okta.com/exk_moto",
        "--sso-url",
        "https://idp.test/sso",
    ]);
    std::fs::write(path("md.xml"), md).unwrap();
    idfed(&[
        "saml",
        "sign",
        "--key",
        &path("idp/key.pem"),
        "--cert",
        &path("idp/cert.pem"),
        "--issuer",
        "http://www.okta.com/exk_moto",
        "--name-id",
        "agent@example.com",
        "--session-duration",
        "3600",
        "--base64",
        "--out",
        &path("assertion.b64"),
        "--role",
        "arn:aws:iam::111122223333:role/Okta_Role,arn:aws:iam::111122223333:saml-provider/Okta_Connect_Admin",
    ]);

    let port = free_port();
    let _moto = Killed(
        Command::new(&moto)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let moto_endpoint = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(started.elapsed() < Duration::from_secs(30), "moto server did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut sandbox = Command::new(env!("CARGO_BIN_EXE_idfed"))
        .args(["aws", "serve", "--listen", "127.0.0.1:0", "--json", "--in-memory"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(sandbox.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let _sandbox = Killed(sandbox);
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();

    let theirs = shapes(&moto_endpoint, "testing", "testing", &path("md.xml"), &path("assertion.b64"));
    let ours = shapes(
        v["endpoint"].as_str().unwrap(),
        v["accounts"][0]["access_key_id"].as_str().unwrap(),
        v["accounts"][0]["secret_access_key"].as_str().unwrap(),
        &path("md.xml"),
        &path("assertion.b64"),
    );
    let mut missing = Vec::new();
    for (operation, moto_keys) in theirs.as_object().unwrap() {
        let moto_keys: BTreeSet<&str> = moto_keys.as_array().unwrap().iter().filter_map(|k| k.as_str()).collect();
        let our_keys: BTreeSet<&str> = ours[operation].as_array().unwrap().iter().filter_map(|k| k.as_str()).collect();
        for key in moto_keys.difference(&our_keys) {
            // moto always sends PackedPolicySize=123; AWS sends it only when session tags or
            // policies are packed (STS API reference), as the sandbox does.
            if (operation.as_str(), *key) != ("AssumeRoleWithSAML", "PackedPolicySize") {
                missing.push(format!("{operation}: {key}"));
            }
        }
        let extra: Vec<&&str> = our_keys.difference(&moto_keys).collect();
        if !extra.is_empty() {
            eprintln!("{operation}: the sandbox also returns {extra:?}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(missing.is_empty(), "keys moto returns and the sandbox does not:\n{}", missing.join("\n"));
}
