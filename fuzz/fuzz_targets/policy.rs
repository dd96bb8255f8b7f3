//! Untrusted policy documents through IAM's parser and validation, both kinds.
#![no_main]
use idfed_policy::document::{Kind, Policy};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = Policy::parse(text, Kind::Identity);
    let _ = Policy::parse(text, Kind::Trust);
});
