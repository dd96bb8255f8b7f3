//! Signing and verifying a typical AWS response (two Role pairs, about 4 KB) against the raw
//! RSA-2048 operations it cannot beat, measured in the same run. `bench/run.sh` turns the
//! results into BENCHMARKS.md.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::hint::black_box;

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::rand::SystemRandom as AwsRandom;
use aws_lc_rs::signature::{self, KeyPair, RsaKeyPair, UnparsedPublicKey};
use criterion::{Criterion, criterion_group, criterion_main};
use idfed_saml::aws::{AwsResponse, RolePair};
use idfed_saml::dsig::SignOptions;
use idfed_saml::dsig::{VerifyOptions, verify_enveloped};
use idfed_saml::issue::{SignWhat, Signer, issue_response};
use idfed_saml::random::SystemRandom;
use idfed_saml::sp::{SpConfig, validate_response};
use idfed_saml::{Certificate, Instant, SigningKey, ns, xml};

fn response() -> AwsResponse {
    let role = |name: &str| RolePair {
        role_arn: format!("arn:aws:iam::111122223333:role/{name}"),
        provider_arn: "arn:aws:iam::111122223333:saml-provider/Okta_Connect_Admin".into(),
    };
    let mut r = AwsResponse::new(
        "http://www.okta.com/exk1a2b3c4d5e6f7g8h9",
        "alice@example.com",
        "alice@example.com",
        vec![role("Okta_Role"), role("Connect_Agent")],
    );
    r.session_duration = Some(3600);
    r
}

fn bench(c: &mut Criterion) {
    let rsa = RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
    let pkcs8: Pkcs8V1Der = rsa.as_der().unwrap();
    let rc_key =
        rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&pkcs8.as_ref().to_vec().into(), &rcgen::PKCS_RSA_SHA256).unwrap();
    let cert_pem = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap().self_signed(&rc_key).unwrap().pem();
    let cert = Certificate::from_pem_or_base64(&cert_pem).unwrap().remove(0);
    let key = SigningKey::from_pkcs8(pkcs8.as_ref()).unwrap();
    let now = Instant::from_unix_seconds(1_795_428_000);
    let rng = SystemRandom::new();
    let spec = response().to_spec(now, &rng).unwrap();
    let signer = Signer { key: &key, certificate: Some(&cert), options: SignOptions::for_key(&key) };
    let signed = issue_response(&spec, &signer, SignWhat::Assertion, None, &rng).unwrap();
    let config = SpConfig {
        trusted: vec![cert.clone()],
        audiences: vec!["urn:amazon:webservices".into()],
        recipient: Some("https://signin.aws.amazon.com/saml".into()),
        skew_seconds: 60,
        ..SpConfig::default()
    };
    eprintln!("signed response: {} bytes", signed.len());

    // The SignedInfo idfed signs is about this long.
    let message = vec![b'x'; 700];
    let aws_rng = AwsRandom::new();
    let mut sig = vec![0; rsa.public_modulus_len()];
    rsa.sign(&signature::RSA_PKCS1_SHA256, &aws_rng, &message, &mut sig).unwrap();
    let public = UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, rsa.public_key().as_ref().to_vec());

    let mut g = c.benchmark_group("rsa2048");
    g.bench_function("raw_sign", |b| {
        b.iter(|| {
            let mut out = vec![0; 256];
            rsa.sign(&signature::RSA_PKCS1_SHA256, &aws_rng, black_box(&message), &mut out).unwrap();
            out
        })
    });
    g.bench_function("idfed_issue_signed_response", |b| {
        b.iter(|| issue_response(black_box(&spec), &signer, SignWhat::Assertion, None, &rng).unwrap())
    });
    g.bench_function("raw_verify", |b| b.iter(|| public.verify(black_box(&message), black_box(&sig)).unwrap()));
    let parsed =
        signature::ParsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, rsa.public_key().as_ref()).unwrap();
    g.bench_function("raw_verify_parsed_key", |b| {
        b.iter(|| parsed.verify_sig(black_box(&message), black_box(&sig)).unwrap())
    });
    g.bench_function("idfed_validate_response", |b| {
        b.iter(|| validate_response(black_box(&signed), &config, now).unwrap())
    });
    g.finish();

    // Where validation's time goes: the parse alone, and the signature check alone.
    let mut parts = c.benchmark_group("validate_parts");
    parts.bench_function("parse_with_limits", |b| {
        b.iter(|| xml::parse(black_box(&signed), xml::Limits::MESSAGE).unwrap().root_element().id())
    });
    let doc = xml::parse(&signed, xml::Limits::MESSAGE).unwrap();
    let assertion = doc.descendants().find(|n| xml::is(*n, ns::SAML, "Assertion")).unwrap();
    let options = VerifyOptions { trusted: std::slice::from_ref(&cert), allow_sha1: false };
    parts.bench_function("verify_enveloped", |b| b.iter(|| verify_enveloped(black_box(assertion), options).unwrap()));
    parts.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(60).measurement_time(std::time::Duration::from_secs(6));
    targets = bench
}
criterion_main!(benches);
