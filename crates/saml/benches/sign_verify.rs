//! Signing and verifying a typical AWS response (two Role pairs, about 4 KB) against the raw
//! RSA-2048 operations it cannot beat, measured in the same run. `bench/run.sh` turns the
//! results into BENCHMARKS.md.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use idfed_saml::dsig::{VerifyOptions, verify_enveloped};
use idfed_saml::issue::{SignWhat, issue_response};
use idfed_saml::sp::validate_response;
use idfed_saml::{ns, xml};

fn bench(c: &mut Criterion) {
    let f = common::Fixture::new();
    let signer = f.signer();
    eprintln!("signed response: {} bytes", f.signed.len());

    let mut g = c.benchmark_group("rsa2048");
    g.bench_function("raw_sign", |b| b.iter(|| f.raw_sign()));
    g.bench_function("idfed_issue_signed_response", |b| {
        b.iter(|| issue_response(black_box(&f.spec), &signer, SignWhat::Assertion, None, &f.rng).unwrap())
    });
    g.bench_function("raw_verify", |b| {
        b.iter(|| f.public.verify(black_box(&f.message), black_box(&f.signature)).unwrap())
    });
    g.bench_function("raw_verify_parsed_key", |b| {
        b.iter(|| f.parsed.verify_sig(black_box(&f.message), black_box(&f.signature)).unwrap())
    });
    g.bench_function("idfed_validate_response", |b| {
        b.iter(|| validate_response(black_box(&f.signed), &f.config, f.now).unwrap())
    });
    g.finish();

    // Where validation's time goes: the parse alone, and the signature check alone.
    let mut parts = c.benchmark_group("validate_parts");
    parts.bench_function("parse_with_limits", |b| {
        b.iter(|| xml::parse(black_box(&f.signed), xml::Limits::MESSAGE).unwrap().root_element().id())
    });
    let doc = xml::parse(&f.signed, xml::Limits::MESSAGE).unwrap();
    let assertion = doc.descendants().find(|n| xml::is(*n, ns::SAML, "Assertion")).unwrap();
    let options = VerifyOptions { trusted: std::slice::from_ref(&f.cert), allow_sha1: false };
    parts.bench_function("verify_enveloped", |b| b.iter(|| verify_enveloped(black_box(assertion), options).unwrap()));
    parts.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(60).measurement_time(std::time::Duration::from_secs(6));
    targets = bench
}
criterion_main!(benches);
