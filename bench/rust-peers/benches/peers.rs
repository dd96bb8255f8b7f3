//! idfed next to bergshamra (another Rust XML-DSig implementation) and raw aws-lc-rs RSA-2048,
//! signing and verifying the same typical AWS response (two Role pairs) in one criterion run.
//! Every peer row's output is checked outside the timing before anything is measured: a row
//! whose signature does not verify (or whose verifier accepts a tampered copy) panics.
//!
//! Built with bergshamra's `aws-lc` provider by default (the crypto idfed uses); with
//! `--no-default-features --features rustcrypto` only the bergshamra rows run, suffixed
//! `_rustcrypto`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::hint::black_box;
use std::path::Path;
use std::process::Command;

#[path = "../../../crates/saml/benches/common/mod.rs"]
mod common;

use aws_lc_rs::signature::{self, RsaKeyPair};
use bergshamra::{DsigContext, KeysManager, VerifyResult};
use criterion::{Criterion, criterion_group, criterion_main};
use idfed_saml::build::response_xml;
use idfed_saml::dsig::{VerifyOptions, sign_element, verify_enveloped};
use idfed_saml::issue::{SignWhat, issue_response};
use idfed_saml::sp::validate_response;
use idfed_saml::{ns, xml};

#[cfg(all(feature = "aws-lc", not(feature = "rustcrypto")))]
const BACKEND: &str = "aws-lc";
#[cfg(feature = "rustcrypto")]
const BACKEND: &str = "rustcrypto";
/// Row-name suffix: the aws-lc rows are the headline ones and carry none.
const SUFFIX: &str = if cfg!(feature = "rustcrypto") { "_rustcrypto" } else { "" };

const TAMPER_FROM: &str = "role/Okta_Role,";
const TAMPER_TO: &str = "role/Okta_Evil,";

/// The text between the end of `open`'s start tag and `close`, replaced by `with`.
fn replace_between(doc: &str, open: &str, close: &str, with: &str) -> String {
    let start = doc.find(open).unwrap_or_else(|| panic!("{open} not found")) + open.len();
    let end = start + doc[start..].find(close).unwrap_or_else(|| panic!("{close} not found"));
    [&doc[..start], with, &doc[end..]].concat()
}

/// idfed's own check of a signed response: parse, find the Assertion, verify its signature.
fn idfed_verify(doc: &str, options: VerifyOptions) -> idfed_saml::Result<()> {
    let parsed = xml::parse(doc, xml::Limits::MESSAGE)?;
    let assertion = parsed.descendants().find(|n| xml::is(*n, ns::SAML, "Assertion")).expect("an Assertion");
    match verify_enveloped(assertion, options)? {
        Some(_) => Ok(()),
        None => panic!("the Assertion carries no signature"),
    }
}

/// bergshamra's check, as a SAML SP would call it: the first Signature must be valid with a
/// trusted (pre-loaded) key and its Reference must name the Assertion we consume.
fn bergshamra_verify(ctx: &DsigContext, doc: &str, assertion_ref: &str) -> Result<(), String> {
    match bergshamra::verify(ctx, doc).map_err(|e| format!("error: {e}"))? {
        VerifyResult::Valid { references, .. } => {
            if references.iter().any(|r| r.uri == assertion_ref && r.digest_verified) {
                Ok(())
            } else {
                Err(format!("valid, but no verified reference to {assertion_ref}"))
            }
        }
        VerifyResult::Invalid { reason } => Err(format!("invalid: {reason}")),
    }
}

/// xmlsec1 (libxmlsec1, the C reference implementation) on `doc`; `None` when it is not installed.
fn xmlsec1_verifies(dir: &Path, cert_pem: &str, name: &str, doc: &str) -> Option<bool> {
    let cert_path = dir.join("cert.pem");
    std::fs::write(&cert_path, cert_pem).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, doc).unwrap();
    let out = Command::new("xmlsec1")
        .args(["--verify", "--enabled-key-data", "rsa", "--pubkey-cert-pem"])
        .arg(&cert_path)
        .args(["--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:assertion:Assertion"])
        .arg(&path)
        .output()
        .ok()?;
    Some(out.status.success())
}

fn bench(c: &mut Criterion) {
    // --- Keys (one RSA-2048 key shared by every row, its self-signed certificate) and the
    // response idfed signs, which every verifier checks: the fixture of crates/saml's benches. ---
    let f = common::Fixture::new();
    let (pkcs8, key_pem, cert_pem, cert, key) = (&f.pkcs8, &f.key_pem, &f.cert_pem, &f.cert, &f.key);
    let (now, rng, spec, signed, config) = (f.now, &f.rng, &f.spec, &f.signed, &f.config);
    let signer = f.signer();
    let unsigned = response_xml(spec).unwrap();
    let trusted = std::slice::from_ref(cert);
    let options = VerifyOptions { trusted, allow_sha1: false };
    let assertion_ref = format!("#{}", spec.assertion_id);
    assert!(signed.contains(TAMPER_FROM), "the response should name role/Okta_Role");
    let tampered = signed.replacen(TAMPER_FROM, TAMPER_TO, 1);

    // --- bergshamra's template: idfed's signed response with its values emptied, i.e. the
    // unsigned response plus a Signature skeleton after the Assertion's Issuer (enveloped +
    // exc-c14n with PrefixList "xs", RSA-SHA256, SHA-256, URI="#<assertion ID>"). ---
    let template = replace_between(&signed, "<ds:DigestValue>", "</ds:DigestValue>", "");
    let template = replace_between(&template, "<ds:SignatureValue>", "</ds:SignatureValue>", "");
    let template = replace_between(&template, "<ds:KeyInfo>", "</ds:KeyInfo>", "<ds:X509Data/>");
    {
        let sig_start = template.find("<ds:Signature ").unwrap();
        let sig_end = template.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
        assert_eq!([&template[..sig_start], &template[sig_end..]].concat(), unsigned, "template minus Signature");
    }

    let mut sign_key = bergshamra::keys::loader::load_rsa_private_pem(key_pem.as_bytes()).unwrap();
    sign_key.x509_chain.push(cert.der.clone());
    let mut sign_keys = KeysManager::new();
    sign_keys.add_key(sign_key);
    let sign_ctx = DsigContext::new(sign_keys);

    // Verification trusts the certificate's key only; KeyInfo is ignored (trusted_keys_only and
    // strict reference positions are DsigContext::new's defaults, asserted here).
    let mut verify_keys = KeysManager::new();
    verify_keys.add_key(bergshamra::keys::loader::load_x509_cert_pem(cert_pem.as_bytes()).unwrap());
    let verify_ctx = DsigContext::new(verify_keys);
    assert!(verify_ctx.trusted_keys_only && verify_ctx.strict_verification);

    // --- Checks outside the timing. A failure here aborts the run: nothing is reported. ---
    let tmp = std::env::temp_dir().join(format!("idfed-rust-peers-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let xmlsec = |name: &str, doc: &str| xmlsec1_verifies(&tmp, &cert_pem, name, doc);

    idfed_verify(&signed, options).expect("idfed verifies its own response");
    assert!(idfed_verify(&tampered, options).is_err(), "idfed must reject the tampered response");
    if let Some(ok) = xmlsec("idfed.xml", &signed) {
        assert!(ok, "xmlsec1 rejects idfed's response");
        assert!(xmlsec("tampered.xml", &tampered) == Some(false), "xmlsec1 accepts the tampered response");
    } else {
        eprintln!("xmlsec1 not found: cross-checking with idfed only");
    }

    // bergshamra_sign: its output must verify with idfed and xmlsec1.
    let b_signed = bergshamra::sign(&sign_ctx, &template).unwrap();
    if let Err(e) = idfed_verify(&b_signed, options) {
        panic!("bergshamra_sign{SUFFIX}: idfed rejects bergshamra's signature: {e}\n{b_signed}");
    }
    if let Some(ok) = xmlsec("bergshamra.xml", &b_signed) {
        assert!(ok, "bergshamra_sign{SUFFIX}: xmlsec1 rejects bergshamra's signature");
    }
    bergshamra_verify(&verify_ctx, &b_signed, &assertion_ref).expect("bergshamra verifies its own signature");
    // RSA PKCS#1 v1.5 is deterministic, so the same template and key give the same bytes.
    eprintln!("bergshamra_sign{SUFFIX} output identical to idfed's: {}", &b_signed == signed);

    // bergshamra_sign_document: the document-native API (parse once, sign in place, serialize).
    let sign_document = |t: &str| {
        let mut doc = bergshamra::xml::uppsala::parse(t).unwrap();
        bergshamra::dsig::sign::sign_document(&sign_ctx, &mut doc).unwrap();
        doc.to_xml()
    };
    let d_signed = sign_document(&template);
    if let Err(e) = idfed_verify(&d_signed, options) {
        panic!("bergshamra_sign_document{SUFFIX}: idfed rejects it: {e}\n{d_signed}");
    }
    if let Some(ok) = xmlsec("bergshamra-document.xml", &d_signed) {
        assert!(ok, "bergshamra_sign_document{SUFFIX}: xmlsec1 rejects it");
    }

    // bergshamra_verify: accepts idfed's response, rejects the tampered copy.
    if let Err(e) = bergshamra_verify(&verify_ctx, &signed, &assertion_ref) {
        panic!("bergshamra_verify{SUFFIX}: rejects idfed's valid response: {e}");
    }
    match bergshamra_verify(&verify_ctx, &tampered, &assertion_ref) {
        Ok(()) => panic!("bergshamra_verify{SUFFIX}: ACCEPTS the tampered response"),
        Err(e) => eprintln!("bergshamra_verify{SUFFIX} rejects the tampered response: {e}"),
    }
    probes(&verify_ctx, &signed, &assertion_ref, &|doc: &str| {
        validate_response(doc, &config, now).map(|_| ()).map_err(|e| e.to_string())
    });
    std::fs::remove_dir_all(&tmp).ok();
    eprintln!("bergshamra {BACKEND} provider; response {} bytes unsigned, {} signed", unsigned.len(), signed.len());

    // --- Timed rows. ---
    let mut g = c.benchmark_group("peers_rsa2048");
    if !cfg!(feature = "rustcrypto") {
        let (message, sig, public, aws_rng) = (&f.message, &f.signature, &f.public, &f.aws_rng);
        g.bench_function("raw_sign", |b| b.iter(|| f.raw_sign()));
        // What bergshamra's aws-lc provider does per signature: import the PKCS#8 key, then sign.
        g.bench_function("raw_import_sign", |b| {
            b.iter(|| {
                let k = RsaKeyPair::from_pkcs8(black_box(pkcs8.as_ref())).unwrap();
                let mut out = vec![0; 256];
                k.sign(&signature::RSA_PKCS1_SHA256, aws_rng, black_box(message), &mut out).unwrap();
                out
            })
        });
        g.bench_function("raw_verify", |b| b.iter(|| public.verify(black_box(&message), black_box(&sig)).unwrap()));
        g.bench_function("idfed_sign", |b| {
            b.iter(|| issue_response(black_box(&spec), &signer, SignWhat::Assertion, None, rng).unwrap())
        });
        // Same input as bergshamra_sign: an already-built unsigned response.
        g.bench_function("idfed_sign_element", |b| {
            b.iter(|| {
                sign_element(black_box(&unsigned), &spec.assertion_id, &key, Some(&cert), &signer.options).unwrap()
            })
        });
        g.bench_function("idfed_verify_signature", |b| b.iter(|| idfed_verify(black_box(&signed), options).unwrap()));
        g.bench_function("idfed_validate_response", |b| {
            b.iter(|| validate_response(black_box(&signed), &config, now).unwrap())
        });
    }
    g.bench_function(format!("bergshamra_sign{SUFFIX}"), |b| {
        b.iter(|| bergshamra::sign(&sign_ctx, black_box(&template)).unwrap())
    });
    g.bench_function(format!("bergshamra_sign_document{SUFFIX}"), |b| b.iter(|| sign_document(black_box(&template))));
    g.bench_function(format!("bergshamra_verify{SUFFIX}"), |b| {
        b.iter(|| bergshamra_verify(&verify_ctx, black_box(&signed), &assertion_ref).unwrap())
    });
    g.finish();
}

/// A few attacks against bergshamra's SP-style verification, reported (not timed). Each line says
/// what bergshamra did; "ACCEPTED" on an attack is a finding, not a bench failure.
fn probes(ctx: &DsigContext, signed: &str, assertion_ref: &str, idfed_validate: &dyn Fn(&str) -> Result<(), String>) {
    let report = |what: &str, doc: &str| {
        match bergshamra_verify(ctx, doc, assertion_ref) {
            Ok(()) => eprintln!("probe {what}: bergshamra ACCEPTED"),
            Err(e) => eprintln!("probe {what}: bergshamra rejected ({e})"),
        }
        match idfed_validate(doc) {
            Ok(()) => eprintln!("    idfed validate_response ACCEPTED"),
            Err(e) => eprintln!("    idfed validate_response rejected ({e})"),
        }
    };
    // An attacker's own key: sign the tampered response with it and ship its certificate in KeyInfo.
    let evil = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256);
    if let Ok(evil) = evil {
        let evil_cert = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap().self_signed(&evil).unwrap();
        let mut k = bergshamra::keys::loader::load_rsa_private_pem(evil.serialize_pem().as_bytes()).unwrap();
        k.x509_chain.push(evil_cert.der().to_vec());
        let mut km = KeysManager::new();
        km.add_key(k);
        let evil_ctx = DsigContext::new(km);
        let t = replace_between(signed, "<ds:DigestValue>", "</ds:DigestValue>", "");
        let t = replace_between(&t, "<ds:SignatureValue>", "</ds:SignatureValue>", "");
        let t = replace_between(&t, "<ds:KeyInfo>", "</ds:KeyInfo>", "<ds:X509Data/>");
        let t = t.replacen(TAMPER_FROM, TAMPER_TO, 1);
        let forged = bergshamra::sign(&evil_ctx, &t).unwrap();
        report("tampered + re-signed with an attacker key in KeyInfo", &forged);
    } else {
        eprintln!("probe attacker key: rcgen cannot generate RSA keys here, skipped");
    }
    // Signature wrapping: the signed Assertion moved into an Extensions element, an evil unsigned
    // copy in its place, once with the same ID and once with a fresh one.
    let a_start = signed.find("<saml:Assertion").expect("saml:Assertion");
    let a_end = signed.rfind("</saml:Assertion>").expect("</saml:Assertion>") + "</saml:Assertion>".len();
    let original = &signed[a_start..a_end];
    let sig_start = original.find("<ds:Signature ").unwrap();
    let sig_end = original.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
    let evil = [&original[..sig_start], &original[sig_end..]].concat().replacen(TAMPER_FROM, TAMPER_TO, 1);
    let id = assertion_ref.trim_start_matches('#');
    let wrap = |evil: &str| {
        [
            &signed[..a_start],
            evil,
            "<samlp:Extensions xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\">",
            original,
            "</samlp:Extensions>",
            &signed[a_end..],
        ]
        .concat()
    };
    report("XSW, evil unsigned Assertion with the same ID", &wrap(&evil));
    report(
        "XSW, evil unsigned Assertion with another ID (caller must match the Reference to the Assertion it reads)",
        &wrap(&evil.replacen(id, "_evil", 1)),
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30);
    targets = bench
}
criterion_main!(benches);
