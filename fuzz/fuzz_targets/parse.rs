//! Untrusted bytes through the parser and every typed reader.
#![no_main]
use idfed_saml::{metadata, model, xml};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(doc) = xml::parse(text, xml::Limits::MESSAGE) {
        for node in doc.descendants().filter(|n| n.is_element()) {
            let _ = model::Assertion::from_node(node);
            let _ = model::ResponseHeader::from_node(node);
            let _ = model::AuthnRequest::from_node(node);
            let _ = model::LogoutRequest::from_node(node);
            let _ = model::LogoutResponse::from_node(node);
        }
    }
    let _ = metadata::parse(text);
});
