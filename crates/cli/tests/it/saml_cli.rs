use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

fn idfed(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_idfed")).args(args).output().unwrap()
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn workdir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("idfed-cli-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for (name, alg) in [("rsa", "rsa2048"), ("ec", "p256"), ("sp", "rsa2048")] {
            let out = idfed(&["keys", "generate", "--alg", alg, "--out", dir.join(name).to_str().unwrap()]);
            assert!(out.status.success(), "{}", text(&out));
        }
        dir
    })
}

fn p(rel: &str) -> String {
    workdir().join(rel).to_str().unwrap().to_owned()
}

const ROLE: &str =
    "arn:aws:iam::111122223333:role/Okta_Role,arn:aws:iam::111122223333:saml-provider/Okta_Connect_Admin";

fn sign(out: &str, extra: &[&str]) {
    let (key, cert, out) = (p("rsa/key.pem"), p("rsa/cert.pem"), p(out));
    let mut args = vec![
        "saml",
        "sign",
        "--key",
        &key,
        "--cert",
        &cert,
        "--issuer",
        "https://idp.test",
        "--name-id",
        "alice@example.com",
    ];
    args.extend(["--role", ROLE, "--now", "2026-11-23T10:00:00Z", "--out", &out]);
    args.extend(extra);
    let o = idfed(&args);
    assert!(o.status.success(), "{}", text(&o));
}

fn verify_json(file: &str, cert: &str, extra: &[&str]) -> (i32, serde_json::Value) {
    let (file, cert) = (p(file), p(cert));
    let mut args = vec!["saml", "verify", &file, "--cert", &cert, "--json"];
    if !extra.contains(&"--now") {
        args.extend(["--now", "2026-11-23T10:01:00Z"]);
    }
    args.extend(extra);
    let o = idfed(&args);
    let value = serde_json::from_slice(&o.stdout).unwrap_or_else(|_| panic!("not JSON: {}", text(&o)));
    (o.status.code().unwrap(), value)
}

#[test]
fn keys_are_private_and_never_overwritten() {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(p("rsa/key.pem")).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "key.pem is readable by others: {mode:o}");
    }
    let before = std::fs::read(p("rsa/key.pem")).unwrap();
    let o = idfed(&["keys", "generate", "--out", &p("rsa")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("--force"));
    assert_eq!(std::fs::read(p("rsa/key.pem")).unwrap(), before);
}

#[test]
fn sign_then_verify_with_json_verdicts() {
    sign("ok.xml", &["--session-duration", "3600", "--sign", "both"]);
    let (code, v) = verify_json(
        "ok.xml",
        "rsa/cert.pem",
        &["--audience", "urn:amazon:webservices", "--recipient", "https://signin.aws.amazon.com/saml"],
    );
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["valid"], true);
    assert_eq!(v["name_id"], "alice@example.com");
    assert_eq!(v["issuer"], "https://idp.test");
    assert_eq!(v["attributes"]["https://aws.amazon.com/SAML/Attributes/Role"][0], ROLE);
    assert_eq!(v["attributes"]["https://aws.amazon.com/SAML/Attributes/SessionDuration"][0], "3600");

    let (code, v) = verify_json("ok.xml", "ec/cert.pem", &[]);
    assert_eq!((code, v["valid"].clone(), v["reason"].clone()), (1, false.into(), "signature".into()));
    assert!(v.get("name_id").is_none(), "no data from an invalid response");

    let (code, v) = verify_json("ok.xml", "rsa/cert.pem", &["--now", "2026-11-23T11:00:00Z"]);
    assert_eq!((code, v["reason"].clone()), (1, "expired".into()));
    let (code, v) = verify_json("ok.xml", "rsa/cert.pem", &["--audience", "urn:other"]);
    assert_eq!((code, v["reason"].clone()), (1, "audience".into()));
}

#[test]
fn ecdsa_and_encrypted_responses_verify() {
    let (key, cert) = (p("ec/key.pem"), p("ec/cert.pem"));
    let out = p("ec.xml");
    let o = idfed(&[
        "saml",
        "sign",
        "--key",
        &key,
        "--cert",
        &cert,
        "--issuer",
        "i",
        "--name-id",
        "n",
        "--role",
        ROLE,
        "--now",
        "2026-11-23T10:00:00Z",
        "--out",
        &out,
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(verify_json("ec.xml", "ec/cert.pem", &[]).0, 0);

    sign("enc.xml", &["--encrypt-for", &p("sp/cert.pem"), "--encryption", "aes128-cbc"]);
    assert!(!std::fs::read_to_string(p("enc.xml")).unwrap().contains("alice@example.com"));
    // AES-CBC in an unsigned Response is an oracle risk: refused unless allowed.
    let (code, v) = verify_json("enc.xml", "rsa/cert.pem", &["--decrypt-key", &p("sp/key.pem")]);
    assert_eq!((code, v["reason"].clone()), (1, "decryption".into()), "{v}");
    let (code, v) = verify_json("enc.xml", "rsa/cert.pem", &["--decrypt-key", &p("sp/key.pem"), "--allow-cbc"]);
    assert_eq!((code, v["name_id"].clone()), (0, "alice@example.com".into()), "{v}");
    let (code, v) = verify_json("enc.xml", "rsa/cert.pem", &[]);
    assert_eq!((code, v["reason"].clone()), (1, "decryption".into()));
}

#[test]
fn decode_reads_every_input_form() {
    sign("b64.txt", &["--base64"]);
    let b64 = std::fs::read_to_string(p("b64.txt")).unwrap();
    std::fs::write(
        p("form.txt"),
        format!("SAMLResponse={}&RelayState=https%3A%2F%2Fconsole", b64.trim().replace('+', "%2B").replace('=', "%3D")),
    )
    .unwrap();
    for file in ["b64.txt", "form.txt"] {
        let o = idfed(&["saml", "decode", &p(file)]);
        assert!(o.status.success(), "{}", text(&o));
        assert!(text(&o).contains("<saml:NameID Format=\"urn:oasis:names:tc:SAML:2.0:nameid-format:persistent\">alice@example.com</saml:NameID>"), "{}", text(&o));
    }
    assert!(text(&idfed(&["saml", "decode", &p("form.txt")])).contains("RelayState: https://console"));
    let o = idfed(&["saml", "decode", &p("missing")]);
    assert_eq!(o.status.code(), Some(2));
    // Hostile XML is refused under the message limits (review finding: it was parsed without
    // them, and deep nesting overflowed the stack of the pretty-printer).
    let deep = format!("{}{}", "<a>".repeat(100_000), "</a>".repeat(100_000));
    let declarations: String = (0..2000).map(|i| format!(" xmlns:p{i}=\"urn:{i}\"")).collect();
    let wide = format!("<r{declarations}>{}</r>", "<c/>".repeat(20_000));
    for (name, xml) in [("deep.xml", deep), ("wide.xml", wide)] {
        std::fs::write(p(name), xml).unwrap();
        let o = idfed(&["saml", "decode", &p(name)]);
        assert_eq!(o.status.code(), Some(2), "{name}: {}", text(&o));
        assert!(text(&o).contains("limit"), "{name}: {}", text(&o));
    }
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(idfed(&["saml", "verify", "x"]).status.code(), Some(2), "--cert is required");
    let o = idfed(&["keys", "generate", "--subject", "CN=x", "--out", &p("years"), "--years", "8000"]);
    assert_eq!(o.status.code(), Some(2), "years past the certificate's dates: {}", text(&o));
    assert!(text(&o).contains("not in 1..=100"), "{}", text(&o));
    let o =
        idfed(&["saml", "sign", "--key", &p("rsa/key.pem"), "--issuer", "i", "--name-id", "n", "--role", "not-a-pair"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("ROLE_ARN,PROVIDER_ARN"));
    let o = idfed(&["up", "--scenario", "/nonexistent/scenario.yaml", "--data-dir", "/nonexistent/data"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("/nonexistent/scenario.yaml"), "{}", text(&o));
}

#[test]
fn metadata_carries_every_certificate() {
    let o = idfed(&[
        "saml",
        "metadata",
        "--cert",
        &p("rsa/cert.pem"),
        "--cert",
        &p("ec/cert.pem"),
        "--entity-id",
        "https://idp.test",
        "--sso-url",
        "https://idp.test/sso",
    ]);
    assert!(o.status.success());
    let parsed = idfed_saml::metadata::parse(&String::from_utf8(o.stdout).unwrap()).unwrap();
    assert_eq!(parsed[0].idp.as_ref().unwrap().signing_certificates().len(), 2);
}
