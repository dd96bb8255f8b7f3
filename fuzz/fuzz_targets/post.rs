//! The HTTP-POST binding's input side: form bodies, base64, URL-encoding, BOMs and HAR files;
//! and the form we write must keep any relay state inside its attribute.
#![no_main]
use idfed_saml::bindings::{Param, post_form};
use idfed_saml::encoding::find_saml;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = find_saml(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let page = post_form("https://sp.test/acs", Param::SamlResponse, text, Some(text)).expect("an https action is accepted");
        assert_eq!(page.matches("<script>").count(), 1, "relay state escaped its attribute");
        assert_eq!(page.matches("<input").count(), 2);
    }
});
