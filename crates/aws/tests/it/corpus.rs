//! The corpus's response rows replayed through AssumeRoleWithSAML: a provider made from the
//! row's certificate and Issuer, a role trusting it, the row's clock. Rows whose signature must
//! fail get "Response signature invalid"; rows whose signature is good never do, and the one
//! AWS-shaped row (samlify's) is accepted.

use std::path::PathBuf;

use idfed_aws::iam::{providers, roles};
use idfed_aws::state::{Account, State};
use idfed_aws::sts::assume_role_with_saml::{AssumeRequest, SIGNATURE_INVALID, assume_role_with_saml};
use idfed_saml::encoding::{base64_encode, find_saml};
use idfed_saml::{Certificate, Instant, metadata, ns, xml};

use crate::common::Seeded;

fn corpus() -> Option<PathBuf> {
    let dir = std::env::var_os("IDFED_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus"));
    dir.join("MANIFEST.tsv").is_file().then_some(dir)
}

fn note<'a>(notes: &'a str, key: &str) -> Option<&'a str> {
    let at = notes.find(&format!("{key}="))?;
    notes[at + key.len() + 1..].split(|c: char| c == ';' || c.is_whitespace()).next()
}

/// The Issuer and the Role pair the document names (unverified: only to set up IAM).
fn issuer_and_pair(text: &str) -> Option<(String, Option<(String, String)>)> {
    let doc = xml::parse(text, xml::Limits::MESSAGE).ok()?;
    let issuer = doc.descendants().find(|n| xml::is(*n, ns::SAML, "Issuer")).map(xml::trimmed_text)?;
    let pair = doc
        .descendants()
        .filter(|n| xml::is(*n, ns::SAML, "AttributeValue"))
        .map(xml::trimmed_text)
        .find(|v| v.contains(":role/") && v.contains(":saml-provider/"))
        .and_then(|v| {
            let (a, b) = v.split_once(',')?;
            Some(if a.contains(":role/") { (a.to_owned(), b.to_owned()) } else { (b.to_owned(), a.to_owned()) })
        });
    Some((issuer, pair))
}

#[test]
fn corpus_rows_through_assume_role_with_saml() {
    let Some(dir) = corpus() else {
        eprintln!("SKIPPED: ../shared/corpus is absent; no corpus row was replayed through AssumeRoleWithSAML");
        return;
    };
    let manifest = std::fs::read_to_string(dir.join("MANIFEST.tsv")).unwrap();
    let (mut replayed, mut failures) = (0, Vec::new());
    for line in manifest.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        let (file, kind, verdict, notes) = (cols[0], cols[3], cols[4], cols.get(5).copied().unwrap_or(""));
        let (Some(cert), Some(now)) = (note(notes, "cert"), note(notes, "now")) else { continue };
        if kind.starts_with("metadata") {
            continue;
        }
        let Ok(found) = find_saml(&std::fs::read(dir.join(file)).unwrap()) else { continue };
        let Some((issuer, pair)) = issuer_and_pair(&found.xml) else { continue };
        let certificate =
            Certificate::from_pem_or_base64(&std::fs::read_to_string(dir.join(cert)).unwrap()).unwrap().remove(0);
        let (role_arn, provider_arn) = pair.unwrap_or((
            "arn:aws:iam::111122223333:role/Corpus".into(),
            "arn:aws:iam::111122223333:saml-provider/Corpus".into(),
        ));
        let account = role_arn.split(':').nth(4).unwrap_or("111122223333").to_owned();
        let provider_name = provider_arn.rsplit('/').next().unwrap().to_owned();
        let role_name = role_arn.rsplit('/').next().unwrap().to_owned();

        let rng = Seeded::new(1);
        let at = Instant::parse(now).unwrap();
        let mut state = State {
            accounts: vec![Account {
                id: account.clone(),
                alias: None,
                partition: idfed_aws::sts::endpoints::Partition::of_arn(&role_arn),
            }],
            ..State::default()
        };
        let md = metadata::idp_metadata_xml(&metadata::IdpMetadata {
            entity_id: &issuer,
            signing_certificates: std::slice::from_ref(&certificate),
            sso_post: Some("https://idp.test/sso"),
            sso_redirect: None,
            slo_redirect: None,
            name_id_formats: &[],
            want_authn_requests_signed: false,
        });
        providers::create(&mut state, &account, &provider_name, &md, at, &rng).unwrap();
        let trust = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Federated":"{provider_arn}"}},"Action":"sts:AssumeRoleWithSAML"}}]}}"#
        );
        let new = roles::NewRole {
            name: &role_name,
            path: "/",
            trust_policy: &trust,
            max_session_duration: None,
            description: None,
        };
        roles::create(&mut state, &account, &new, at, &rng).unwrap();

        let assertion = base64_encode(found.xml.as_bytes());
        let request = AssumeRequest {
            role_arn: &role_arn,
            principal_arn: &provider_arn,
            saml_assertion: &assertion,
            ..Default::default()
        };
        let result = assume_role_with_saml(&state, &request, &[], at, &rng);
        replayed += 1;
        let v = verdict.to_lowercase();
        let k = kind.to_lowercase();
        let signature_must_fail = k.starts_with("attack/xsw")
            || v.contains("xsw")
            || v.contains("invalid signature")
            || v.contains("no signature")
            || v.contains("not by trusted")
            || v.contains("does not verify")
            || v.contains("transform")
            || v.contains("wrong element")
            || v.contains("duplicated signature")
            || v.contains("signature element not on")
            || k.contains("nonstandard alg");
        let signature_good = v.starts_with("accept") || v.starts_with("signature");
        let outcome = match &result {
            Ok(_) => "accepted".to_owned(),
            Err(e) => format!("{} {}", e.code, e.message),
        };
        let ok = if signature_must_fail {
            // Refused as an invalid token: a bad signature, or a document too broken to check.
            result.as_ref().is_err_and(|e| e.code == "InvalidIdentityToken")
        } else if file.ends_with("samlify-aws-response.xml") {
            result.is_ok()
        } else if signature_good {
            !outcome.contains(SIGNATURE_INVALID)
        } else {
            result.is_err()
        };
        if !ok {
            failures.push(format!("{file} [{kind}] expected {verdict:?}; STS said {outcome}"));
        }
    }
    eprintln!("corpus through AssumeRoleWithSAML: {replayed} rows, {} wrong", failures.len());
    assert!(replayed >= 60, "only {replayed} rows replayed");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
