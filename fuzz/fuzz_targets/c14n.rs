//! Canonicalization of every element, with and without comments and a prefix list; the
//! canonical form of a canonical document is itself.
#![no_main]
use idfed_saml::{c14n, xml};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(doc) = xml::parse(text, xml::Limits::MESSAGE) else { return };
    let root = doc.root_element();
    for with_comments in [false, true] {
        let options = c14n::Options { with_comments, inclusive_prefixes: &["#default", "xs"] };
        let once = c14n::canonicalize(root, None, options);
        let once_text = String::from_utf8(once.clone()).expect("c14n output is UTF-8");
        if let Ok(again) = xml::parse(&once_text, xml::Limits::MESSAGE) {
            let twice = c14n::canonicalize(again.root_element(), None, options);
            assert_eq!(once, twice, "c14n is not idempotent");
        }
        for node in root.descendants().filter(|n| n.is_element()).take(50) {
            let _ = c14n::canonicalize(node, Some(root.id()), options);
        }
    }
});
