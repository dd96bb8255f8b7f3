//! The HTTP-Redirect binding: query parsing, inflation and signature checking.
#![no_main]
use idfed_saml::bindings::{parse_redirect, verify_redirect};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(query) = std::str::from_utf8(data) else { return };
    if let Ok(message) = parse_redirect(query) {
        let _ = verify_redirect(&message, &[], false);
    }
    let _ = idfed_saml::bindings::inflate(data);
});
