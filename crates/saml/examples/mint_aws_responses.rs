//! Distinct signed AWS responses for the AssumeRoleWithSAML load benchmark (`bench/sts.sh`):
//! the sandbox redeems each assertion once, so a load run needs one per request. Signs on every
//! core and writes one base64 SAMLResponse per line.
//!
//! Usage: mint_aws_responses KEY.pem CERT.pem NOW_UNIX_SECONDS COUNT ROLE_ARN,PROVIDER_ARN… > out.txt
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::io::Write;

use idfed_saml::aws::{AwsResponse, RolePair};
use idfed_saml::dsig::SignOptions;
use idfed_saml::issue::{SignWhat, Signer, issue_response};
use idfed_saml::random::SystemRandom;
use idfed_saml::{Certificate, Instant, SigningKey, encoding};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 5 {
        eprintln!("usage: mint_aws_responses KEY.pem CERT.pem NOW_UNIX_SECONDS COUNT ROLE_ARN,PROVIDER_ARN…");
        std::process::exit(2);
    }
    let key = SigningKey::from_pem(&std::fs::read_to_string(&args[0]).unwrap()).unwrap();
    let cert = Certificate::from_pem_or_base64(&std::fs::read_to_string(&args[1]).unwrap()).unwrap().remove(0);
    let now = Instant::from_unix_seconds(args[2].parse().unwrap());
    let count: usize = args[3].parse().unwrap();
    let roles: Vec<RolePair> = args[4..]
        .iter()
        .map(|pair| {
            let (role_arn, provider_arn) = pair.split_once(',').expect("ROLE_ARN,PROVIDER_ARN");
            RolePair { role_arn: role_arn.into(), provider_arn: provider_arn.into() }
        })
        .collect();
    let mut response = AwsResponse::new("http://idfed.bench/idp", "bench@example.com", "bench@example.com", roles);
    response.validity_seconds = 600;

    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let lines: Vec<String> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|worker| {
                let (key, cert, response) = (&key, &cert, &response);
                scope.spawn(move || {
                    let rng = SystemRandom::new();
                    let signer = Signer { key, certificate: Some(cert), options: SignOptions::for_key(key) };
                    (worker..count)
                        .step_by(threads)
                        .map(|_| {
                            let spec = response.to_spec(now, &rng).unwrap();
                            let xml = issue_response(&spec, &signer, SignWhat::Assertion, None, &rng).unwrap();
                            encoding::base64_encode(xml.as_bytes())
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().unwrap()).collect()
    });
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for line in lines {
        writeln!(out, "{line}").unwrap();
    }
}
