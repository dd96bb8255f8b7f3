//! Third-party oracles: xmlsec1 (libxmlsec1) and python3-saml in strict mode judge what idfed
//! signs, and xmlsec1's canonicalization is compared byte for byte with ours on the corpus.
//! The test script installs them and sets IDFED_REQUIRE_ORACLES=1; without that, a missing tool
//! skips loudly.

use std::path::{Path, PathBuf};
use std::process::Command;

use idfed_saml::encoding::find_saml;
use idfed_saml::issue::SignWhat;
use idfed_saml::xmlenc::EncryptOptions;
use idfed_saml::{Instant, c14n, ns, xml};

use crate::common::*;

fn tool_present(program: &str, what: &str) -> bool {
    let ok = Command::new(program).arg("--version").output().is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            !oracles_required(),
            "{what} is required (IDFED_REQUIRE_ORACLES=1) but `{program}` does not run; run scripts/setup-oracles.sh"
        );
        eprintln!("SKIPPED: {what} not installed; run scripts/setup-oracles.sh");
    }
    ok
}

fn python() -> PathBuf {
    repo_root().join(".venv/bin/python")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("idfed-oracles-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// The wall clock, for oracles that read it themselves (python3-saml has no clock to inject).
#[allow(clippy::disallowed_methods)]
fn wall_clock() -> Instant {
    let ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis();
    Instant::from_unix_millis(ms as i64)
}

struct Case {
    name: String,
    idp: &'static Identity,
    what: SignWhat,
    encrypt: Option<EncryptOptions>,
}

fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    for (label, idp) in [("rsa", rsa_idp()), ("p256", ec_idp())] {
        for what in [SignWhat::Assertion, SignWhat::Response, SignWhat::Both] {
            out.push(Case { name: format!("{label}-{what:?}"), idp, what, encrypt: None });
        }
    }
    for what in [SignWhat::Assertion, SignWhat::Both] {
        out.push(Case {
            name: format!("rsa-{what:?}-encrypted"),
            idp: rsa_idp(),
            what,
            encrypt: Some(EncryptOptions::default()),
        });
    }
    out.push(Case {
        name: "rsa-Assertion-encrypted-cbc".into(),
        idp: rsa_idp(),
        what: SignWhat::Assertion,
        encrypt: Some(EncryptOptions {
            data: idfed_saml::xmlenc::DataAlgorithm::Aes256Cbc,
            ..EncryptOptions::default()
        }),
    });
    out
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

/// xmlsec1 decrypts (when encrypted) and then verifies each signature idfed made, trusting only
/// the IdP certificate; it must also refuse the same document under another certificate.
#[test]
fn xmlsec1_verifies_every_kind_of_signed_response() {
    if !tool_present("xmlsec1", "xmlsec1") {
        return;
    }
    let script = repo_root().join("tools/oracles/xmlsec_verify.sh");
    let idp_cert = scratch("idp-rsa.pem");
    let ec_cert = scratch("idp-ec.pem");
    let sp_key = scratch("sp-key.pem");
    write(&idp_cert, &rsa_idp().cert_pem);
    write(&ec_cert, &ec_idp().cert_pem);
    write(&sp_key, &sp_encryption().key_pem);
    let mut checked = 0;
    for case in cases() {
        let mut doc = signed_at(case.idp, case.what, case.encrypt, now());
        if case.encrypt.is_some() {
            if matches!(case.what, SignWhat::Both | SignWhat::Response) {
                let path = scratch(&format!("{}-outer.xml", case.name));
                write(&path, &doc);
                let cert = if std::ptr::eq(case.idp, rsa_idp()) { &idp_cert } else { &ec_cert };
                let status = Command::new(&script).arg(cert).arg(&path).arg("Response").status().unwrap();
                assert!(
                    status.success(),
                    "{}: xmlsec1 refused the Response signature over the encrypted assertion",
                    case.name
                );
            }
            let path = scratch(&format!("{}-enc.xml", case.name));
            write(&path, &doc);
            let out = Command::new("xmlsec1")
                .args(["--decrypt", "--privkey-pem"])
                .arg(&sp_key)
                .args(["--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:protocol:Response"])
                .arg(&path)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}: xmlsec1 --decrypt failed: {}",
                case.name,
                String::from_utf8_lossy(&out.stderr)
            );
            doc = String::from_utf8(out.stdout).unwrap();
            assert!(doc.contains("alice@example.test"), "{}: decrypted text lacks the subject", case.name);
        }
        let path = scratch(&format!("{}.xml", case.name));
        write(&path, &doc);
        let cert = if std::ptr::eq(case.idp, rsa_idp()) { &idp_cert } else { &ec_cert };
        let other = if std::ptr::eq(case.idp, rsa_idp()) { &ec_cert } else { &idp_cert };
        let mut elements = Vec::new();
        if matches!(case.what, SignWhat::Assertion | SignWhat::Both) {
            elements.push("Assertion");
        }
        if matches!(case.what, SignWhat::Response | SignWhat::Both) && case.encrypt.is_none() {
            elements.push("Response");
        }
        for element in elements {
            let ok = Command::new(&script).arg(cert).arg(&path).arg(element).output().unwrap();
            assert!(
                ok.status.success(),
                "{} {element}: xmlsec1 says {}",
                case.name,
                String::from_utf8_lossy(&ok.stdout)
            );
            let bad = Command::new(&script).arg(other).arg(&path).arg(element).output().unwrap();
            assert_eq!(
                bad.status.code(),
                Some(1),
                "{} {element}: xmlsec1 accepted an untrusted certificate",
                case.name
            );
            checked += 1;
        }
    }
    eprintln!("xmlsec1 verified {checked} signatures made by idfed");
    assert!(checked >= 11);
}

/// python3-saml, strict, as the SP at AWS's sign-in endpoint, accepts what idfed issues now.
#[test]
fn python3_saml_strict_accepts_every_kind_of_response() {
    if !tool_present(python().to_str().unwrap(), "python3-saml (.venv)") {
        return;
    }
    let script = repo_root().join("tools/oracles/p3saml_sp.py");
    let now = wall_clock();
    let mut accepted = 0;
    for case in cases() {
        let doc = signed_at(case.idp, case.what, case.encrypt, now);
        let path = scratch(&format!("p3-{}.xml", case.name));
        write(&path, &doc);
        let cert = scratch(&format!("p3-{}-cert.pem", case.name));
        write(&cert, &case.idp.cert_pem);
        let mut command = Command::new(python());
        command.arg(&script).arg("--response").arg(&path).args(["--idp-entity-id", ISSUER, "--idp-cert"]).arg(&cert);
        command.args(["--sp-entity-id", "urn:amazon:webservices", "--acs", "https://signin.aws.amazon.com/saml"]);
        if matches!(case.what, SignWhat::Assertion | SignWhat::Both) {
            command.arg("--want-assertions-signed");
        }
        if matches!(case.what, SignWhat::Response | SignWhat::Both) {
            command.arg("--want-messages-signed");
        }
        if case.encrypt.is_some() {
            let (key, sp_cert) = (scratch("p3-sp-key.pem"), scratch("p3-sp-cert.pem"));
            write(&key, &sp_encryption().key_pem);
            write(&sp_cert, &sp_encryption().cert_pem);
            command.arg("--sp-key").arg(&key).arg("--sp-cert").arg(&sp_cert).arg("--want-assertions-encrypted");
        }
        let out = command.output().unwrap();
        let verdict: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
            panic!("{}: {}{}", case.name, String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
        });
        assert_eq!(verdict["valid"], true, "{}: python3-saml says {verdict}", case.name);
        assert_eq!(verdict["name_id"], "alice@example.test", "{}", case.name);
        assert_eq!(
            verdict["attributes"][idfed_saml::aws::ATTR_ROLE].as_array().map(Vec::len),
            Some(2),
            "{}",
            case.name
        );
        accepted += 1;
    }
    // And it refuses a tampered one, so the acceptance above means something.
    let doc = signed_at(rsa_idp(), SignWhat::Assertion, None, now).replace("role/Agent", "role/Admin");
    let path = scratch("p3-tampered.xml");
    write(&path, &doc);
    let cert = scratch("p3-tampered-cert.pem");
    write(&cert, &rsa_idp().cert_pem);
    let out = Command::new(python())
        .arg(&script)
        .arg("--response")
        .arg(&path)
        .args(["--idp-entity-id", ISSUER, "--idp-cert"])
        .arg(&cert)
        .args([
            "--sp-entity-id",
            "urn:amazon:webservices",
            "--acs",
            "https://signin.aws.amazon.com/saml",
            "--want-assertions-signed",
        ])
        .output()
        .unwrap();
    let verdict: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(verdict["valid"], false, "python3-saml accepted a tampered response");
    eprintln!("python3-saml accepted {accepted} kinds of idfed response");
}

/// For every corpus document with a signature, the canonical form xmlsec1 digests for the first
/// Reference equals ours byte for byte.
#[test]
fn c14n_matches_xmlsec1_on_the_corpus() {
    let Some(dir) = corpus_dir() else {
        eprintln!("SKIPPED: corpus absent; c14n was not compared with xmlsec1 on it");
        return;
    };
    if !tool_present("xmlsec1", "xmlsec1") {
        return;
    }
    let manifest = std::fs::read_to_string(dir.join("MANIFEST.tsv")).unwrap();
    let mut files: Vec<&str> = manifest.lines().skip(1).filter_map(|l| l.split('\t').next()).collect();
    files.sort_unstable();
    files.dedup();
    let (mut compared, mut mismatches) = (0, Vec::new());
    for file in files {
        let Ok(found) = find_saml(&std::fs::read(dir.join(file)).unwrap()) else { continue };
        let Ok(doc) = xml::parse(&found.xml, xml::Limits::METADATA) else { continue };
        let Some(sig) = doc.descendants().find(|n| xml::is(*n, ns::DS, "Signature")) else { continue };
        let Some(reference) = sig.descendants().find(|n| xml::is(*n, ns::DS, "Reference")) else { continue };
        let Some(id) = reference.attribute("URI").and_then(|u| u.strip_prefix('#')) else { continue };
        let Some(target) = doc.descendants().find(|n| n.is_element() && xml::id_of(*n) == Some(id)) else { continue };
        // A Reference with other transforms (XPath) digests a different node set by design.
        let outside_profile = reference.descendants().filter(|n| xml::is(*n, ns::DS, "Transform")).any(|t| {
            !matches!(t.attribute("Algorithm"), Some(ns::TRANSFORM_ENVELOPED | ns::C14N_EXCL | ns::C14N_EXCL_COMMENTS))
        });
        if outside_profile {
            eprintln!("not compared (transforms outside the profile): {file}");
            continue;
        }
        let prefixes: Vec<String> = reference
            .descendants()
            .filter(|n| n.tag_name().name() == "InclusiveNamespaces")
            .flat_map(|n| {
                n.attribute("PrefixList").unwrap_or("").split_whitespace().map(str::to_owned).collect::<Vec<_>>()
            })
            .collect();
        let prefixes: Vec<&str> = prefixes.iter().map(String::as_str).collect();
        let ours = c14n::canonicalize(
            target,
            Some(sig.id()),
            c14n::Options { with_comments: false, inclusive_prefixes: &prefixes },
        );

        let path = scratch("c14n-input.xml");
        write(&path, &found.xml);
        let element = format!("{}:{}", target.tag_name().namespace().unwrap_or(""), target.tag_name().name());
        let out = Command::new("xmlsec1")
            .args([
                "--verify",
                "--print-debug",
                "--store-references",
                "--enabled-reference-uris",
                "same-doc",
                "--id-attr:ID",
                &element,
            ])
            .args(["--enabled-key-data", "rsa,ecdsa", "--pubkey-cert-pem"])
            .arg(dir.join("_certs/c51cfa06c7a49767.pem"))
            .arg(&path)
            .output()
            .unwrap();
        let stdout = out.stdout;
        let start_marker = b"== PreDigest data - start buffer:\n";
        let end_marker = b"\n== PreDigest data - end buffer";
        let Some(start) = find(&stdout, start_marker) else { continue };
        let body = &stdout[start + start_marker.len()..];
        let Some(end) = find(body, end_marker) else { continue };
        let theirs = &body[..end];
        compared += 1;
        if theirs != ours.as_slice() {
            mismatches.push(format!("{file}: ours {} bytes, xmlsec1 {} bytes", ours.len(), theirs.len()));
        }
    }
    eprintln!("c14n compared with xmlsec1 on {compared} corpus documents, {} differ", mismatches.len());
    assert!(compared >= 30, "only {compared} documents compared");
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// samlify, an independent IdP from npm, signs AWS responses; idfed's SP accepts them, trusting
/// the certificate it reads from samlify's own metadata, and refuses a tampered copy.
#[test]
fn samlify_signed_responses_are_accepted() {
    let script = repo_root().join("tools/node/samlify_idp.js");
    let installed = repo_root().join("tools/node/node_modules/samlify").is_dir();
    if !installed || !tool_present("node", "node") {
        assert!(
            !oracles_required(),
            "samlify is required but tools/node/node_modules is missing; run scripts/setup-oracles.sh"
        );
        eprintln!("SKIPPED: samlify not installed; run scripts/setup-oracles.sh");
        return;
    }
    let (key, cert) = (scratch("samlify-key.pem"), scratch("samlify-cert.pem"));
    write(&key, &other_rsa().key_pem);
    write(&cert, &other_rsa().cert_pem);
    for what in ["assertion", "response", "both"] {
        let (response, metadata) =
            (scratch(&format!("samlify-{what}.xml")), scratch(&format!("samlify-{what}-md.xml")));
        let out = Command::new("node")
            .arg(&script)
            .arg("--key")
            .arg(&key)
            .arg("--cert")
            .arg(&cert)
            .arg("--out-response")
            .arg(&response)
            .arg("--out-metadata")
            .arg(&metadata)
            .args(["--sign", what, "--roles"])
            .arg("arn:aws:iam::111122223333:role/A,arn:aws:iam::111122223333:saml-provider/S;arn:aws:iam::111122223333:saml-provider/S,arn:aws:iam::111122223333:role/B")
            .output()
            .unwrap();
        assert!(out.status.success(), "samlify failed: {}", String::from_utf8_lossy(&out.stderr));
        let entity = idfed_saml::metadata::parse(&std::fs::read_to_string(&metadata).unwrap()).unwrap().remove(0);
        let trusted: Vec<_> = entity.idp.as_ref().unwrap().signing_certificates().into_iter().cloned().collect();
        let config = idfed_saml::sp::SpConfig {
            trusted,
            audiences: vec!["urn:amazon:webservices".into()],
            recipient: Some("https://signin.aws.amazon.com/saml".into()),
            expected_issuer: Some(entity.entity_id.clone()),
            skew_seconds: 60,
            ..Default::default()
        };
        let xml = std::fs::read_to_string(&response).unwrap();
        let accepted = idfed_saml::sp::validate_response(&xml, &config, wall_clock())
            .unwrap_or_else(|e| panic!("samlify {what}: {e}"));
        assert_eq!(accepted.assertion.attribute_values(idfed_saml::aws::ATTR_ROLE).len(), 2, "samlify {what}");
        assert_eq!(accepted.signed.assertion.is_some(), what != "response", "samlify {what}");
        let tampered = xml.replace("role/B", "role/Admin");
        assert_ne!(tampered, xml);
        let error = idfed_saml::sp::validate_response(&tampered, &config, wall_clock()).unwrap_err();
        assert_eq!(error.reason, idfed_saml::Reason::Signature, "samlify {what} tampered");
    }
}

/// A status-only Response (what the IdP posts when it refuses a request) carries a Response
/// signature xmlsec1 verifies, RSA and ECDSA, and refuses under another certificate.
#[test]
fn xmlsec1_verifies_a_signed_status_response() {
    if !tool_present("xmlsec1", "xmlsec1") {
        return;
    }
    use idfed_saml::build::StatusResponseSpec;
    use idfed_saml::issue::{Signer, issue_status_response};
    use idfed_saml::model::Status;
    let script = repo_root().join("tools/oracles/xmlsec_verify.sh");
    let (rsa_cert, ec_cert) = (scratch("status-idp-rsa.pem"), scratch("status-idp-ec.pem"));
    write(&rsa_cert, &rsa_idp().cert_pem);
    write(&ec_cert, &ec_idp().cert_pem);
    for (label, idp, cert, other) in [("rsa", rsa_idp(), &rsa_cert, &ec_cert), ("p256", ec_idp(), &ec_cert, &rsa_cert)]
    {
        let spec = StatusResponseSpec {
            id: "_status".into(),
            in_response_to: "_request".into(),
            issue_instant: now(),
            issuer: "https://idp.example.test/app/wiki".into(),
            destination: "https://sp.example.test/acs".into(),
            status: Status {
                code: idfed_saml::ns::STATUS_RESPONDER.into(),
                sub_code: Some(idfed_saml::ns::STATUS_NO_AUTHN_CONTEXT.into()),
                message: Some("the app asks for a sign-in with a second factor".into()),
            },
        };
        let signer = Signer {
            key: &idp.key,
            certificate: Some(&idp.cert),
            options: idfed_saml::dsig::SignOptions::for_key(&idp.key),
        };
        let path = scratch(&format!("status-{label}.xml"));
        write(&path, &issue_status_response(&spec, &signer).unwrap());
        let ok = Command::new(&script).arg(cert).arg(&path).arg("Response").output().unwrap();
        assert!(ok.status.success(), "{label}: xmlsec1 says {}", String::from_utf8_lossy(&ok.stdout));
        let bad = Command::new(&script).arg(other).arg(&path).arg("Response").output().unwrap();
        assert_eq!(bad.status.code(), Some(1), "{label}: xmlsec1 accepted an untrusted certificate");
    }
}
