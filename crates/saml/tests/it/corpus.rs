//! Every row of ../shared/corpus/MANIFEST.tsv gets its verdict.

use std::path::Path;

use idfed_saml::dsig::{VerifyOptions, verify_enveloped};
use idfed_saml::encoding::find_saml;
use idfed_saml::sp::{SpConfig, validate_response};
use idfed_saml::{Certificate, Instant, Reason, metadata, ns, xml};

use crate::common::corpus_dir;

struct Row {
    line: usize,
    file: String,
    kind: String,
    verdict: String,
    notes: String,
}

impl Row {
    fn note(&self, key: &str) -> Option<&str> {
        let at = self.notes.find(&format!("{key}="))?;
        let rest = &self.notes[at + key.len() + 1..];
        Some(rest.split(|c: char| c == ';' || c.is_whitespace()).next().unwrap_or(""))
    }
    fn label(&self) -> String {
        format!("line {} {} [{}]", self.line, self.file, self.kind)
    }
}

fn rows(dir: &Path) -> Vec<Row> {
    let text = std::fs::read_to_string(dir.join("MANIFEST.tsv")).unwrap();
    text.lines()
        .enumerate()
        .skip(1)
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            let cols: Vec<&str> = l.split('\t').collect();
            Row {
                line: i + 1,
                file: cols[0].into(),
                kind: cols[3].into(),
                verdict: cols[4].into(),
                notes: cols.get(5).copied().unwrap_or("").into(),
            }
        })
        .collect()
}

fn cert(dir: &Path, rel: &str) -> Certificate {
    Certificate::from_pem_or_base64(&std::fs::read_to_string(dir.join(rel)).unwrap()).unwrap().remove(0)
}

/// The reason class a `reject: …` verdict names. Signature-wrapping rows may be caught either by
/// the structure checks or by the signature profile; both are rejections for wrapping.
fn expected_reasons(row: &Row) -> Vec<Reason> {
    let v = row.verdict.to_lowercase();
    let k = row.kind.to_lowercase();
    use Reason::*;
    if v.contains("malformed xml") {
        vec![Malformed]
    } else if k.starts_with("attack/xsw") || v.contains("xsw") || v.contains("signature element not on") {
        vec![Wrapping, Profile]
    } else if v.contains("signature on wrong element")
        || v.contains("duplicated signature")
        || v.contains("exactly one assertion")
    {
        vec![Wrapping]
    } else if k.starts_with("attack/xpath") {
        // The document also carries a second assertion, so the structure check may fire first.
        vec![Profile, Wrapping]
    } else if k.starts_with("attack/xpointer") {
        // Its root is an unqualified <Response>, refused before any signature is read.
        vec![Malformed, Signature, Profile]
    } else if v.contains("transform") || k.contains("nonstandard alg") {
        vec![Profile]
    } else if v.contains("no signature") {
        vec![Unsigned]
    } else if v.contains("invalid signature") || v.contains("not by trusted cert") || v.contains("does not verify") {
        vec![Signature]
    } else if v.contains("status") {
        vec![Status]
    } else if v.contains("empty destination") || v.contains("destination/recipient") {
        vec![Destination]
    } else if v.contains("no conditions") || v.contains("audience mismatch") {
        vec![Audience]
    } else if v.contains("subjectconfirmation") || v.contains("recipient mismatch") {
        vec![SubjectConfirmation]
    } else if v.contains("expired") {
        vec![Expired]
    } else if v.contains("notbefore") {
        vec![NotYetValid]
    } else if v.contains("inresponseto") {
        vec![InResponseTo]
    } else {
        panic!("{}: no reason class known for verdict {:?}", row.label(), row.verdict)
    }
}

fn sp_config(dir: &Path, row: &Row, with_sp_checks: bool) -> SpConfig {
    let trusted = row.note("cert").map(|c| vec![cert(dir, c)]).unwrap_or_default();
    // The corpus comes from SPs that accept RSA-SHA1; idfed does so only behind this switch
    // (`sha1_rows_need_the_switch` checks the default refuses them).
    let mut config = SpConfig { trusted, skew_seconds: 0, allow_sha1: true, ..SpConfig::default() };
    if with_sp_checks {
        config.audiences = row.note("audience").map(|a| vec![a.to_owned()]).unwrap_or_default();
        config.recipient = row.note("acs").map(str::to_owned);
        config.in_response_to = row.note("InResponseTo").map(str::to_owned);
    }
    config
}

fn now_of(row: &Row) -> Instant {
    Instant::parse(row.note("now").unwrap_or("2020-01-01T00:00:00Z")).unwrap()
}

/// The signatures on the Response and on its direct Assertion children, as verify_enveloped
/// sees them on their own (no structure checks).
fn signatures_verify(xml_text: &str, trusted: &[Certificate]) -> Result<usize, String> {
    let doc = xml::parse(xml_text, xml::Limits::MESSAGE).map_err(|e| e.to_string())?;
    let root = doc.root_element();
    let options = VerifyOptions { trusted, allow_sha1: true };
    let mut verified = 0;
    let mut elements = vec![root];
    elements.extend(xml::children(root, ns::SAML, "Assertion"));
    for element in elements {
        if verify_enveloped(element, options).map_err(|e| e.to_string())?.is_some() {
            verified += 1;
        }
    }
    Ok(verified)
}

fn check_response_row(dir: &Path, row: &Row) -> Result<(), String> {
    let bytes = std::fs::read(dir.join(&row.file)).map_err(|e| e.to_string())?;
    let found = find_saml(&bytes);
    let verdict = row.verdict.as_str();
    let now = now_of(row);

    if (verdict.starts_with("reject") && !verdict.starts_with("reject or ignore")) || verdict.starts_with("divergent") {
        let Ok(found) = found else { return Ok(()) };
        let expected = expected_reasons(row);
        return match validate_response(&found.xml, &sp_config(dir, row, true), now) {
            Ok(a) => Err(format!("accepted (NameID {:?}); expected {expected:?}", a.name_id.value)),
            Err(e) if expected.contains(&e.reason) => Ok(()),
            Err(e) => Err(format!("rejected as {e}; expected {expected:?}")),
        };
    }
    let found = found.map_err(|e| e.to_string())?;
    let trusted = sp_config(dir, row, false).trusted;
    if verdict == "accept" || verdict.starts_with("accept (") {
        let accepted =
            validate_response(&found.xml, &sp_config(dir, row, true), now).map_err(|e| format!("rejected: {e}"))?;
        if let Some(at) = row.notes.find("valid nameid=") {
            let want = row.notes[at + 13..].trim_end_matches(']').split(']').next().unwrap_or("");
            if accepted.name_id.value != want {
                return Err(format!("NameID {:?}, expected {want:?}", accepted.name_id.value));
            }
        }
        return Ok(());
    }
    if verdict.starts_with("reject or ignore") {
        return match validate_response(&found.xml, &sp_config(dir, row, true), now) {
            Err(_) => Ok(()),
            Ok(a) => Err(format!("accepted signed content from ds:Object: {a:?}")),
        };
    }
    if verdict.starts_with("signature ok; attacker content") {
        let result = validate_response(&found.xml, &sp_config(dir, row, true), now);
        if format!("{result:?}").contains("attacker.evil.com") {
            return Err("attacker content reached the caller".into());
        }
        return if signatures_verify(&found.xml, &trusted).is_ok() || result.is_err() {
            Ok(())
        } else {
            Err("".into())
        };
    }
    // accept-signature and the comment-injection rows: the signature must verify, and every
    // rejection must be for a reason outside the signature (the row's SP config is partial).
    let count = signatures_verify(&found.xml, &trusted)?;
    if count == 0 {
        return Err("no signature verified".into());
    }
    match validate_response(&found.xml, &sp_config(dir, row, true), now) {
        Ok(a) => {
            for quoted in ["'test@onelogin.com'", "'ross@octolabs.io'"] {
                if verdict.contains(quoted) && a.name_id.value != quoted.trim_matches('\'') {
                    return Err(format!("NameID read as {:?}, expected {quoted}", a.name_id.value));
                }
            }
            Ok(())
        }
        Err(e) if matches!(e.reason, Reason::Signature | Reason::Profile | Reason::Wrapping | Reason::Unsigned) => {
            Err(format!("signature verified alone but validation refused it: {e}"))
        }
        Err(e) if verdict.contains("NameID MUST read") => {
            // Full validation fails on Recipient; the NameID must still read whole.
            let doc = xml::parse(&found.xml, xml::Limits::MESSAGE).unwrap();
            let name_id =
                doc.descendants().find(|n| xml::is(*n, ns::SAML, "NameID")).map(xml::text_content).unwrap_or_default();
            if name_id.trim() == "test@onelogin.com" { Ok(()) } else { Err(format!("{e}; NameID read as {name_id:?}")) }
        }
        Err(_) => Ok(()),
    }
}

fn check_metadata_row(dir: &Path, row: &Row) -> Result<(), String> {
    let text = std::fs::read_to_string(dir.join(&row.file)).map_err(|e| e.to_string())?;
    let parsed = metadata::parse(&text);
    let verdict = row.verdict.as_str();
    if verdict.starts_with("reject: malformed") {
        return match parsed {
            Err(e) if e.reason == Reason::Malformed => Ok(()),
            other => Err(format!("expected a malformed error, got {other:?}")),
        };
    }
    let entities = parsed.map_err(|e| format!("did not parse: {e}"))?;
    if verdict.starts_with("signature valid") {
        let expected = cert(dir, row.note("cert").ok_or("no cert note")?);
        let doc = xml::parse(&text, xml::Limits::METADATA).map_err(|e| e.to_string())?;
        let options = VerifyOptions { trusted: std::slice::from_ref(&expected), allow_sha1: true };
        return match verify_enveloped(doc.root_element(), options) {
            Ok(Some(_)) => Ok(()),
            other => Err(format!("metadata signature: {other:?}")),
        };
    }
    let named = verdict.strip_prefix("parse: IdP ");
    let idp = entities.iter().filter(|e| named.is_none_or(|n| e.entity_id == n)).find_map(|e| e.idp.as_ref());
    if verdict.starts_with("reject for CreateSAMLProvider") {
        return if idp.is_none() { Ok(()) } else { Err("found an IDPSSODescriptor".into()) };
    }
    let idp = idp.ok_or("no IDPSSODescriptor")?;
    let signing = idp.signing_certificates();
    if verdict.contains(">1 signing cert") {
        return if signing.len() > 1 { Ok(()) } else { Err(format!("{} signing certificates", signing.len())) };
    }
    if named.is_some() {
        // The row names the IdP entity; its `cert=` comes from another role of the aggregate.
        return if signing.is_empty() { Err("the IdP publishes no signing certificate".into()) } else { Ok(()) };
    }
    if let Some(c) = row.note("cert") {
        let expected = cert(dir, c);
        if !signing.iter().any(|s| s.der == expected.der) {
            return Err(format!("signing certificates do not include {c}"));
        }
    }
    Ok(())
}

#[test]
fn every_manifest_row_gets_its_verdict() {
    let Some(dir) = corpus_dir() else {
        eprintln!(
            "SKIPPED: ../shared/corpus is absent; the 89 corpus rows were not run (set IDFED_CORPUS to run them)"
        );
        return;
    };
    let rows = rows(&dir);
    let mut failures = Vec::new();
    for row in &rows {
        let result = if row.kind.starts_with("metadata") {
            check_metadata_row(&dir, row)
        } else {
            check_response_row(&dir, row)
        };
        if let Err(e) = result {
            failures.push(format!("{}: {e}", row.label()));
        }
    }
    eprintln!("corpus: {} rows, {} failed", rows.len(), failures.len());
    assert!(
        failures.is_empty(),
        "{} of {} corpus rows got the wrong verdict:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
}

/// The RSA-SHA1 rows that are accepted behind the switch are refused by default.
#[test]
fn sha1_rows_need_the_switch() {
    let Some(dir) = corpus_dir() else {
        eprintln!("SKIPPED: corpus absent; the SHA-1 rows were not run");
        return;
    };
    let mut checked = 0;
    for row in rows(&dir).iter().filter(|r| r.verdict == "accept") {
        let xml = find_saml(&std::fs::read(dir.join(&row.file)).unwrap()).unwrap().xml;
        if !xml.contains("xmldsig#rsa-sha1") {
            continue;
        }
        let config = SpConfig { allow_sha1: false, ..sp_config(&dir, row, true) };
        let error = validate_response(&xml, &config, now_of(row)).unwrap_err();
        assert_eq!(error.reason, Reason::Profile, "{}: {error}", row.label());
        checked += 1;
    }
    assert!(checked >= 5, "only {checked} SHA-1 rows found");
}

#[test]
fn okta_encrypted_assertion_decrypts_and_verifies() {
    let Some(dir) = corpus_dir() else {
        eprintln!("SKIPPED: corpus absent; the Okta encrypted-assertion case was not run");
        return;
    };
    let base = dir.join("crewjam-saml/testdata");
    let bytes = std::fs::read(base.join("TestSPCanHandleOktaSignedResponseEncryptedAssertion_response")).unwrap();
    let found = find_saml(&bytes).unwrap();
    let key = idfed_saml::xmlenc::DecryptionKey::from_pem(&std::fs::read_to_string(base.join("sp_key.pem")).unwrap())
        .unwrap();
    let config = SpConfig {
        trusted: vec![cert(&dir, "_certs/d40df01ccede49d2.pem")],
        recipient: Some("http://localhost:8000/saml/acs".into()),
        in_response_to: Some("id-a7364d1e4432aa9085a7a8bd824ea2fa8fa8f684".into()),
        decryption_keys: vec![key],
        ..SpConfig::default()
    };
    let now = Instant::parse("2020-03-03T19:24:30Z").unwrap();
    let accepted = validate_response(&found.xml, &config, now).unwrap();
    assert!(accepted.encrypted);
    assert!(accepted.signed.response.is_some(), "Okta signs the Response");
    assert!(!accepted.name_id.value.is_empty());
    // Without the key, the same response is refused for decryption, not accepted.
    let without_key = SpConfig { decryption_keys: Vec::new(), ..config };
    assert_eq!(validate_response(&found.xml, &without_key, now).unwrap_err().reason, Reason::Decryption);
}
