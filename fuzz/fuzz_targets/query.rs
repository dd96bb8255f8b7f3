//! Untrusted Query-protocol requests (query string and form body) through the decoder.
#![no_main]
use idfed_aws::protocol::query::Params;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (query, body) = text.split_once('\n').unwrap_or((text, ""));
    if let Ok(params) = Params::decode(&[query, body]) {
        let _ = params.get("Action");
        let _ = params.int_in("DurationSeconds", 900, 43_200);
        let _ = params.required("RoleArn");
    }
});
