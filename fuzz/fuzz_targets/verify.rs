//! SP-side validation of arbitrary responses against a fixed trusted certificate. Seed it with
//! signed responses (see fuzz/README.md) so mutations reach the signature code.
#![no_main]
use std::sync::OnceLock;

use idfed_saml::sp::{SpConfig, validate_response};
use idfed_saml::{Certificate, Instant};
use libfuzzer_sys::fuzz_target;

const CERT: &str = include_str!("../seeds/idp-cert.pem");

fn config() -> &'static SpConfig {
    static CONFIG: OnceLock<SpConfig> = OnceLock::new();
    CONFIG.get_or_init(|| SpConfig {
        trusted: Certificate::from_pem_or_base64(CERT).expect("seed certificate"),
        audiences: vec!["urn:amazon:webservices".into()],
        recipient: Some("https://signin.aws.amazon.com/saml".into()),
        skew_seconds: 60,
        ..SpConfig::default()
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let now = Instant::from_unix_seconds(1_795_428_000);
    if let Ok(accepted) = validate_response(text, config(), now) {
        assert!(accepted.signed.assertion.is_some() || accepted.signed.response.is_some());
    }
});
