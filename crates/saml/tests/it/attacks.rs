//! Attacks generated at test time against freshly signed responses. Each must be refused,
//! and none may ever hand the attacker's subject to the caller.

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

/// `doc` with `from` replaced once by `to`; fails the test when `from` is not there.
fn changed(doc: &str, from: &str, to: &str) -> String {
    changed_with(doc, |d| d.replacen(from, to, 1))
}

fn changed_with(doc: &str, edit: impl Fn(&str) -> String) -> String {
    let out = edit(doc);
    assert_ne!(out, doc, "the attack was not built: its pattern is not in the document");
    out
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
        let attacked = changed(&doc, ">alice@example.test.evil.test<", &format!(">{injected}<"));
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
    let attacked = changed_with(&doc, |doc| {
        doc.replacen(
            "<samlp:Status>",
            &format!("<samlp:Extensions><x:y xmlns:x=\"urn:x\" ID=\"{id}\"/></samlp:Extensions><samlp:Status>"),
            1,
        )
    });
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
    let xpath = changed_with(&doc, |d| {
        d.replacen(
        "</ds:Transforms>",
        "<ds:Transform Algorithm=\"http://www.w3.org/TR/1999/REC-xpath-19991116\"><ds:XPath>not(ancestor-or-self::x)</ds:XPath></ds:Transform></ds:Transforms>",
        1,
    )
    });
    expect_refused("extra XPath transform", &xpath, &[Reason::Profile]);
    let unknown =
        changed(&doc, "</ds:Transforms>", "<ds:Transform Algorithm=\"urn:unknown\"></ds:Transform></ds:Transforms>");
    expect_refused("unknown transform", &unknown, &[Reason::Profile]);
    let inclusive = changed_with(&doc, |d| {
        d.replacen(
            "Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"></ds:CanonicalizationMethod>",
            "Algorithm=\"http://www.w3.org/TR/2001/REC-xml-c14n-20010315\"></ds:CanonicalizationMethod>",
            1,
        )
    });
    expect_refused("inclusive c14n", &inclusive, &[Reason::Profile]);
    let id_start = doc.find("URI=\"#").unwrap() + 6;
    let id = &doc[id_start..id_start + doc[id_start..].find('"').unwrap()];
    let xpointer = changed(&doc, &format!("URI=\"#{id}\""), &format!("URI=\"#xpointer(id('{id}'))\""));
    expect_refused("XPointer reference", &xpointer, WRAPPING);
    let empty_uri = changed(&doc, &format!("URI=\"#{id}\""), "URI=\"\"");
    expect_refused("whole-document reference", &empty_uri, WRAPPING);
    let object = changed(&doc, "</ds:SignatureValue>", "</ds:SignatureValue><ds:Object>x</ds:Object>");
    expect_refused("ds:Object", &object, &[Reason::Profile]);
    let md5 = changed(&doc, "http://www.w3.org/2001/04/xmlenc#sha256", "http://www.w3.org/2001/04/xmldsig-more#md5");
    expect_refused("MD5 digest", &md5, &[Reason::Profile]);
}

#[test]
fn signatures_in_the_wrong_place_are_refused() {
    let doc = signed(rsa_idp(), SignWhat::Assertion);
    let sig = signature_of(&doc).to_owned();
    let in_subject = changed(&doc, &sig, "").replacen("<saml:Subject>", &format!("<saml:Subject>{sig}"), 1);
    expect_refused("signature in Subject", &in_subject, &[Reason::Wrapping]);
    let twice = changed(&doc, &sig, &format!("{sig}{sig}"));
    expect_refused("two signatures on one element", &twice, &[Reason::Wrapping]);
    let unsigned = changed(&doc, &sig, "");
    expect_refused("signature removed", &unsigned, &[Reason::Unsigned]);
    let tampered = changed(&doc, "arn:aws:iam::111122223333:role/Agent", "arn:aws:iam::111122223333:role/Admin");
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
    // Refused by the scan before the parser runs: nothing is expanded (no timing is asserted;
    // the suite must pass on slow machines).
    for (name, doc) in [("billion laughs", laughs.as_str()), ("external entity", external)] {
        let error = validate_response(doc, &aws_sp(rsa_idp()), now()).unwrap_err();
        assert_eq!(error.reason, Reason::Malformed, "{name}");
        assert_eq!(error.message, "DTDs and entity declarations are not allowed", "{name}");
    }
}

#[test]
fn oversized_and_deep_documents_are_refused() {
    let doc = signed(rsa_idp(), SignWhat::Assertion);
    let huge = changed_with(&doc, |doc| {
        doc.replacen(
            "<samlp:Status>",
            &format!(
                "<samlp:Extensions><x xmlns=\"urn:x\">{}</x></samlp:Extensions><samlp:Status>",
                "a".repeat(2 << 20)
            ),
            1,
        )
    });
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
    let two = changed(&doc, &assertion, &format!("{assertion}{second}"));
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

/// Review finding: an attacker's PrefixList once drove a quadratic canonicalization of the
/// whole document before any key was checked.
#[test]
fn hostile_prefix_lists_cost_nothing_without_a_valid_signature() {
    let doc = signed(rsa_idp(), SignWhat::Response);
    let padding = "<x/>".repeat(49_000);
    let list = "#default ".repeat(55_000);
    let hostile = doc.replacen("PrefixList=\"xs\"", &format!("PrefixList=\"{list}\""), 1).replacen(
        "<samlp:Status>",
        &format!("<samlp:Extensions><e xmlns=\"urn:e\">{padding}</e></samlp:Extensions><samlp:Status>"),
        1,
    );
    // The SignedInfo no longer verifies, and that is found before the referenced element is
    // canonicalized: the answer is the signature's, not the digest's.
    let error = validate_response(&hostile, &aws_sp(rsa_idp()), now()).unwrap_err();
    assert_eq!(error.reason, Reason::Signature);
    assert_eq!(error.message, "signature does not verify with any trusted certificate");
    // A long list on a validly signed SignedInfo is refused by the profile's cap.
    let many: String = (0..40).map(|i| format!("p{i} ")).collect();
    let original = signed(rsa_idp(), SignWhat::Assertion);
    let doc = original.replacen("PrefixList=\"xs\"", &format!("PrefixList=\"{many}\""), 1);
    assert_ne!(doc, original, "the PrefixList was not found in {original}");
    expect_refused("40-prefix PrefixList", &doc, &[Reason::Profile]);
}

/// Review finding: roxmltree is quadratic in namespace declarations and in attributes per
/// element; both are bounded before it runs.
#[test]
fn namespace_and_attribute_bombs_are_refused_fast() {
    // 250 on the root (under the per-element cap) and one on each of 200 children.
    let decls: String = (0..250).map(|i| format!(" xmlns:p{i}=\"u\"")).collect();
    let kids = "<c xmlns:q=\"v\"/>".repeat(200);
    let ns_bomb = format!("<r{decls}>{kids}</r>");
    let attrs: String = (0..100_000).map(|i| format!(" a{i}=\"\"")).collect();
    let attr_bomb = format!("<r{attrs}/>");
    // Both are refused by the scan before roxmltree sees them.
    for (name, doc, message) in [
        ("namespace declarations", ns_bomb, "more than 256 namespace declarations"),
        ("attributes", attr_bomb, "an element has 100000 attributes, over the limit of 256"),
    ] {
        let error = xml::parse(&doc, xml::Limits::MESSAGE).unwrap_err();
        assert_eq!((error.reason, error.message.as_str()), (Reason::Malformed, message), "{name}");
    }
    // A value containing `=` or `>` is not mistaken for markup.
    xml::parse("<r a=\"x=y>z\" b='1'><!-- a=b --><![CDATA[<c d=\"e\">]]></r>", xml::Limits::MESSAGE).unwrap();
}

/// Review finding: AES-CBC on an unsigned Response was a padding and parse-error oracle.
#[test]
fn cbc_is_no_decryption_oracle() {
    use idfed_saml::xmlenc::{DataAlgorithm, DecryptionKey, EncryptOptions, UNDECRYPTABLE};
    let cbc = EncryptOptions { data: DataAlgorithm::Aes256Cbc, ..EncryptOptions::default() };
    let doc = signed_at(rsa_idp(), SignWhat::Assertion, Some(cbc), now());
    let mut sp = aws_sp(rsa_idp());
    sp.decryption_keys = vec![DecryptionKey::from_pem(&sp_encryption().key_pem).unwrap()];
    let refused = validate_response(&doc, &sp, now()).unwrap_err();
    assert_eq!(refused.reason, Reason::Decryption);
    assert!(refused.message.contains("AES-CBC is refused"), "{}", refused.message);

    sp.allow_cbc = true;
    validate_response(&doc, &sp, now()).unwrap();
    // Every change to the ciphertext gives the same answer.
    let cipher_start = doc.rfind("<xenc:CipherValue>").unwrap() + "<xenc:CipherValue>".len();
    let cipher_end = doc[cipher_start..].find('<').unwrap() + cipher_start;
    let bytes = idfed_saml::encoding::base64_decode(&doc[cipher_start..cipher_end]).unwrap();
    let mut answers = std::collections::BTreeSet::new();
    for position in [0, 5, 16, bytes.len() - 17, bytes.len() - 1] {
        for flip in [0x01u8, 0x80, 0xff] {
            let mut changed = bytes.clone();
            changed[position] ^= flip;
            let tampered = format!(
                "{}{}{}",
                &doc[..cipher_start],
                idfed_saml::encoding::base64_encode(&changed),
                &doc[cipher_end..]
            );
            if let Err(e) = validate_response(&tampered, &sp, now()) {
                answers.insert((e.reason, e.message));
            }
        }
    }
    let expected: std::collections::BTreeSet<_> =
        [(Reason::Decryption, UNDECRYPTABLE.to_owned())].into_iter().collect();
    // A flip may also land in the signed assertion and fail its signature: that is no oracle.
    let oracle: Vec<_> = answers.iter().filter(|(r, _)| *r != Reason::Signature).cloned().collect();
    assert_eq!(oracle.into_iter().collect::<std::collections::BTreeSet<_>>(), expected);
}

/// Review finding: every EncryptedKey cost an RSA private-key operation.
#[test]
fn encrypted_keys_are_bounded() {
    use idfed_saml::xmlenc::{DecryptionKey, EncryptOptions};
    let doc = signed_at(rsa_idp(), SignWhat::Assertion, Some(EncryptOptions::default()), now());
    let key_start = doc.find("<xenc:EncryptedKey>").unwrap();
    let key_end = doc.find("</xenc:EncryptedKey>").unwrap() + "</xenc:EncryptedKey>".len();
    let key = &doc[key_start..key_end];
    let many = changed(&doc, key, &key.repeat(50));
    let mut sp = aws_sp(rsa_idp());
    sp.decryption_keys = vec![DecryptionKey::from_pem(&sp_encryption().key_pem).unwrap()];
    // Refused by counting, before any RSA private-key operation.
    let error = validate_response(&many, &sp, now()).unwrap_err();
    assert_eq!(error.reason, Reason::Decryption);
    assert!(error.message.contains("at most 4"), "{}", error.message);
}

/// Review findings: a Reference with only the enveloped-signature transform implies inclusive
/// c14n (refused as out of profile), and a plaintext must be exactly one Assertion.
#[test]
fn out_of_profile_references_and_plaintexts() {
    let doc = signed(rsa_idp(), SignWhat::Assertion);
    let enveloped_only = changed_with(&doc, |doc| {
        doc.replacen(
            &doc[doc.find("<ds:Transform Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\">").unwrap()
                ..doc.find("</ds:Transforms>").unwrap()],
            "",
            1,
        )
    });
    let error = validate_response(&enveloped_only, &aws_sp(rsa_idp()), now()).unwrap_err();
    assert_eq!(error.reason, Reason::Profile);
    assert!(error.message.contains("inclusive c14n"), "{}", error.message);
}
