//! Attacks generated at test time against freshly signed responses. Each must be refused,
//! and none may ever hand the attacker's subject to the caller.

use std::time::Instant as Clock;

use idfed_saml::aws::{AwsResponse, RolePair};
use idfed_saml::dsig::SignOptions;
use idfed_saml::issue::{SignWhat, Signer, issue_response};
use idfed_saml::sp::validate_response;
use idfed_saml::{Reason, xml};

use crate::common::*;

const EVIL: &str = "mallory@evil.test";

fn assertion_of(doc: &str) -> &str {
    let start = doc.find("<saml:Assertion").unwrap();
    let end = doc.rfind("</saml:Assertion>").unwrap() + "</saml:Assertion>".len();
    &doc[start..end]
}

fn signature_of(element: &str) -> &str {
    let start = element.find("<ds:Signature").unwrap();
    let end = element.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
    &element[start..end]
}

/// The assertion with another subject and ID, its signature removed: what an attacker forges.
fn evil_assertion(original: &str) -> String {
    original.replace(signature_of(original), "").replace("alice@example.test", EVIL).replacen("ID=\"_", "ID=\"_evil", 1)
}

fn expect_refused(name: &str, doc: &str, allowed: &[Reason]) {
    match validate_response(doc, &aws_sp(rsa_idp()), now()) {
        Ok(a) => panic!("{name}: accepted with NameID {:?}", a.name_id.value),
        Err(e) => assert!(allowed.contains(&e.reason), "{name}: refused as {e}, expected one of {allowed:?}"),
    }
}

const WRAPPING: &[Reason] = &[Reason::Wrapping, Reason::Profile];

#[test]
fn the_eight_classic_signature_wrapping_permutations() {
    let by_response = signed(rsa_idp(), SignWhat::Response);
    let by_assertion = signed(rsa_idp(), SignWhat::Assertion);
    let resp_sig = signature_of(&by_response).to_owned();
    let original_response = by_response.clone();
    let evil_response = by_response.replace(&resp_sig, "").replace("alice@example.test", EVIL);
    let assertion = assertion_of(&by_assertion).to_owned();
    let assertion_sig = signature_of(&assertion).to_owned();
    let evil = evil_assertion(&assertion);
    let unsigned_original = assertion.replace(&assertion_sig, "");

    // 1: the signed Response moves into the Signature of an evil Response root.
    let xsw1 = evil_response.replacen(
        "</saml:Issuer>",
        &format!(
            "</saml:Issuer>{}",
            resp_sig.replace("</ds:Signature>", &format!("<ds:Object>{original_response}</ds:Object></ds:Signature>"))
        ),
        1,
    );
    // 2: the signed Response is a sibling before the Signature of the evil one.
    let xsw2 = evil_response.replacen("</saml:Issuer>", &format!("</saml:Issuer>{original_response}{resp_sig}"), 1);
    // 3: an evil assertion is placed before the signed one.
    let xsw3 = by_assertion.replace(&assertion, &format!("{evil}{assertion}"));
    // 4: the evil assertion wraps the signed one.
    let xsw4 =
        by_assertion.replace(&assertion, &evil.replace("</saml:Assertion>", &format!("{assertion}</saml:Assertion>")));
    // 5: the evil assertion carries the original Signature; the original sits after it, unsigned.
    let xsw5 = by_assertion.replace(
        &assertion,
        &format!(
            "{}{unsigned_original}",
            evil.replacen("</saml:Issuer>", &format!("</saml:Issuer>{assertion_sig}"), 1)
        ),
    );
    // 6: the evil assertion's Signature holds the original in ds:Object.
    let sig_with_object =
        assertion_sig.replace("</ds:Signature>", &format!("<ds:Object>{assertion}</ds:Object></ds:Signature>"));
    let xsw6 = by_assertion
        .replace(&assertion, &evil.replacen("</saml:Issuer>", &format!("</saml:Issuer>{sig_with_object}"), 1));
    // 7: the signed assertion hides in Extensions, the evil one is read.
    let xsw7 = by_assertion.replace(&assertion, &format!("<samlp:Extensions>{assertion}</samlp:Extensions>{evil}"));
    // 8: the evil assertion's Signature holds the unsigned original in ds:Object.
    let sig_with_unsigned =
        assertion_sig.replace("</ds:Signature>", &format!("<ds:Object>{unsigned_original}</ds:Object></ds:Signature>"));
    let xsw8 = by_assertion
        .replace(&assertion, &evil.replacen("</saml:Issuer>", &format!("</saml:Issuer>{sig_with_unsigned}"), 1));

    for (name, doc) in [
        ("XSW1", xsw1),
        ("XSW2", xsw2),
        ("XSW3", xsw3),
        ("XSW4", xsw4),
        ("XSW5", xsw5),
        ("XSW6", xsw6),
        ("XSW7", xsw7),
        ("XSW8", xsw8),
    ] {
        assert!(doc.contains(EVIL), "{name} was not built");
        expect_refused(name, &doc, &[Reason::Wrapping, Reason::Profile, Reason::Malformed]);
    }
}

/// CVE-2017-11427 family: a comment or CDATA section inside a signed value does not change the
/// canonical form, so the signature stays valid; the value must still read whole.
#[test]
fn comments_and_cdata_never_split_a_value() {
    let mut response = aws_response();
    response.name_id.value = "alice@example.test.evil.test".into();
    response.role_session_name = "alice@example.test.evil.test".into();
    let rng = Seeded::new(9);
    let spec = response.to_spec(now(), &rng).unwrap();
    let signer = Signer { key: &rsa_idp().key, certificate: None, options: SignOptions::for_key(&rsa_idp().key) };
    let doc = issue_response(&spec, &signer, SignWhat::Assertion, None, &rng).unwrap();
    for injected in [
        "alice@example.test<!---->.evil.test",
        "alice@example.test<![CDATA[.evil.test]]>",
        "<!-- x -->alice@example.test<!--y-->.evil.test",
    ] {
        let attacked = doc.replace(">alice@example.test.evil.test<", &format!(">{injected}<"));
        assert_ne!(attacked, doc);
        let accepted =
            validate_response(&attacked, &aws_sp(rsa_idp()), now()).unwrap_or_else(|e| panic!("{injected}: {e}"));
        assert_eq!(accepted.name_id.value, "alice@example.test.evil.test", "{injected}");
        assert_eq!(
            accepted.assertion.attribute_values(idfed_saml::aws::ATTR_ROLE_SESSION_NAME),
            ["alice@example.test.evil.test"]
        );
    }
}

#[test]
fn duplicate_ids_are_refused() {
    let doc = signed(rsa_idp(), SignWhat::Assertion);
    let assertion = assertion_of(&doc);
    let id = &assertion[assertion.find("ID=\"").unwrap() + 4..];
    let id = &id[..id.find('"').unwrap()];
    let attacked = doc.replacen(
        "<samlp:Status>",
        &format!("<samlp:Extensions><x:y xmlns:x=\"urn:x\" ID=\"{id}\"/></samlp:Extensions><samlp:Status>"),
        1,
    );
    expect_refused("duplicate ID", &attacked, &[Reason::Wrapping]);
}

#[test]
fn a_key_in_key_info_is_never_trusted() {
    let doc = signed(other_rsa(), SignWhat::Both);
    assert!(doc.contains("<ds:X509Certificate>"), "the attacker's certificate travels in KeyInfo");
    expect_refused("attacker key in KeyInfo", &doc, &[Reason::Signature]);
}

#[test]
fn transforms_and_references_outside_the_profile_are_refused() {
    let doc = signed(rsa_idp(), SignWhat::Assertion);
    let xpath = doc.replacen(
        "</ds:Transforms>",
        "<ds:Transform Algorithm=\"http://www.w3.org/TR/1999/REC-xpath-19991116\"><ds:XPath>not(ancestor-or-self::x)</ds:XPath></ds:Transform></ds:Transforms>",
        1,
    );
    expect_refused("extra XPath transform", &xpath, &[Reason::Profile]);
    let unknown = doc.replacen(
        "xml-exc-c14n#\"></ds:Transform>",
        "xml-exc-c14n#\"></ds:Transform><ds:Transform Algorithm=\"urn:unknown\"></ds:Transform>",
        1,
    );
    expect_refused("unknown transform", &unknown, &[Reason::Profile]);
    let inclusive = doc.replacen(
        "Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"></ds:CanonicalizationMethod>",
        "Algorithm=\"http://www.w3.org/TR/2001/REC-xml-c14n-20010315\"></ds:CanonicalizationMethod>",
        1,
    );
    expect_refused("inclusive c14n", &inclusive, &[Reason::Profile]);
    let id_start = doc.find("URI=\"#").unwrap() + 6;
    let id = &doc[id_start..id_start + doc[id_start..].find('"').unwrap()];
    let xpointer = doc.replacen(&format!("URI=\"#{id}\""), &format!("URI=\"#xpointer(id('{id}'))\""), 1);
    expect_refused("XPointer reference", &xpointer, WRAPPING);
    let empty_uri = doc.replacen(&format!("URI=\"#{id}\""), "URI=\"\"", 1);
    expect_refused("whole-document reference", &empty_uri, WRAPPING);
    let object = doc.replacen("</ds:SignatureValue>", "</ds:SignatureValue><ds:Object>x</ds:Object>", 1);
    expect_refused("ds:Object", &object, &[Reason::Profile]);
    let md5 = doc.replacen("http://www.w3.org/2001/04/xmlenc#sha256", "http://www.w3.org/2001/04/xmldsig-more#md5", 1);
    expect_refused("MD5 digest", &md5, &[Reason::Profile]);
}

#[test]
fn signatures_in_the_wrong_place_are_refused() {
    let doc = signed(rsa_idp(), SignWhat::Assertion);
    let sig = signature_of(&doc).to_owned();
    let in_subject = doc.replace(&sig, "").replacen("<saml:Subject>", &format!("<saml:Subject>{sig}"), 1);
    expect_refused("signature in Subject", &in_subject, &[Reason::Wrapping]);
    let twice = doc.replacen(&sig, &format!("{sig}{sig}"), 1);
    expect_refused("two signatures on one element", &twice, &[Reason::Wrapping]);
    let unsigned = doc.replace(&sig, "");
    expect_refused("signature removed", &unsigned, &[Reason::Unsigned]);
    let tampered = doc.replace("arn:aws:iam::111122223333:role/Agent", "arn:aws:iam::111122223333:role/Admin");
    expect_refused("content changed after signing", &tampered, &[Reason::Signature]);
}

#[test]
fn entity_bombs_and_dtds_are_refused_fast() {
    let laughs = format!(
        "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">{}]><samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\">&lol9;</samlp:Response>",
        (1..10)
            .map(|i| format!(
                "<!ENTITY lol{i} \"{}\">",
                format!("&lol{};", if i == 1 { String::new() } else { (i - 1).to_string() }).repeat(10)
            ))
            .collect::<String>()
    );
    let external = "<!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><r>&x;</r>";
    for (name, doc) in [("billion laughs", laughs.as_str()), ("external entity", external)] {
        let started = Clock::now();
        let error = validate_response(doc, &aws_sp(rsa_idp()), now()).unwrap_err();
        assert_eq!(error.reason, Reason::Malformed, "{name}");
        assert!(started.elapsed().as_millis() < 50, "{name} took {:?}", started.elapsed());
    }
}

#[test]
fn oversized_and_deep_documents_are_refused() {
    let doc = signed(rsa_idp(), SignWhat::Assertion);
    let huge = doc.replacen(
        "<samlp:Status>",
        &format!("<samlp:Extensions><x xmlns=\"urn:x\">{}</x></samlp:Extensions><samlp:Status>", "a".repeat(2 << 20)),
        1,
    );
    assert_eq!(validate_response(&huge, &aws_sp(rsa_idp()), now()).unwrap_err().reason, Reason::Malformed);
    let deep = format!("{}{}", "<a>".repeat(20_000), "</a>".repeat(20_000));
    assert_eq!(xml::parse(&deep, xml::Limits::MESSAGE).unwrap_err().reason, Reason::Malformed);
}

#[test]
fn one_assertion_only() {
    let doc = signed(rsa_idp(), SignWhat::Response);
    let assertion = assertion_of(&doc).to_owned();
    let second = assertion.replacen("ID=\"_", "ID=\"_second", 1);
    // Both in a signed Response would still be two assertions: refused before any signature.
    let two = doc.replace(&assertion, &format!("{assertion}{second}"));
    expect_refused("two assertions", &two, &[Reason::Wrapping]);
}

#[test]
fn roles_outside_the_signed_element_are_not_read() {
    // An unsigned Response around a signed Assertion: whatever sits in the envelope is not data.
    let rng = Seeded::new(4);
    let response = AwsResponse::new(
        ISSUER,
        "alice@example.test",
        "alice",
        vec![RolePair {
            role_arn: "arn:aws:iam::1:role/r".into(),
            provider_arn: "arn:aws:iam::1:saml-provider/p".into(),
        }],
    );
    let spec = response.to_spec(now(), &rng).unwrap();
    let signer = Signer { key: &rsa_idp().key, certificate: None, options: SignOptions::for_key(&rsa_idp().key) };
    let doc = issue_response(&spec, &signer, SignWhat::Assertion, None, &rng).unwrap();
    let accepted = validate_response(&doc, &aws_sp(rsa_idp()), now()).unwrap();
    assert!(accepted.response.is_none(), "the unsigned envelope is not handed out");
    assert_eq!(
        accepted.assertion.attribute_values(idfed_saml::aws::ATTR_ROLE),
        ["arn:aws:iam::1:role/r,arn:aws:iam::1:saml-provider/p"]
    );
}
