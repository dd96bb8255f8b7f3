//! What idfed signs, encrypts and binds, idfed verifies, decrypts and reads back.

use idfed_saml::aws::{ATTR_ROLE, ATTR_ROLE_SESSION_NAME};
use idfed_saml::bindings::{Param, parse_redirect, post_form, redirect_url, verify_redirect};
use idfed_saml::dsig::{SignOptions, SignatureAlgorithm};
use idfed_saml::issue::{SignWhat, Signer, issue_response};
use idfed_saml::sp::{SpConfig, validate_response};
use idfed_saml::xmlenc::{DataAlgorithm, DecryptionKey, EncryptOptions, OaepDigest};
use idfed_saml::{Reason, c14n, metadata, xml};

use crate::common::*;

fn with_decryption(mut config: SpConfig) -> SpConfig {
    config.decryption_keys = vec![DecryptionKey::from_pem(&sp_encryption().key_pem).unwrap()];
    config
}

#[test]
fn every_signing_mode_round_trips_for_rsa_and_ecdsa() {
    for idp in [rsa_idp(), ec_idp()] {
        for what in [SignWhat::Assertion, SignWhat::Response, SignWhat::Both] {
            let xml = signed(idp, what);
            let accepted = validate_response(&xml, &aws_sp(idp), now()).unwrap_or_else(|e| panic!("{what:?}: {e}"));
            assert_eq!(accepted.name_id.value, "alice@example.test");
            assert_eq!(accepted.assertion.attribute_values(ATTR_ROLE).len(), 2);
            assert_eq!(accepted.assertion.attribute_values(ATTR_ROLE_SESSION_NAME), ["alice@example.test"]);
            assert_eq!(accepted.signed.assertion.is_some(), what != SignWhat::Response);
            assert_eq!(accepted.signed.response.is_some(), what != SignWhat::Assertion);
            assert_eq!(
                accepted.response.is_some(),
                what != SignWhat::Assertion,
                "the envelope is handed out only when signed"
            );
        }
    }
}

#[test]
fn encrypted_assertions_round_trip_for_every_data_algorithm() {
    for data in [DataAlgorithm::Aes256Gcm, DataAlgorithm::Aes128Gcm, DataAlgorithm::Aes128Cbc, DataAlgorithm::Aes256Cbc]
    {
        for oaep in [OaepDigest::Sha1, OaepDigest::Sha256] {
            let xml = signed_at(rsa_idp(), SignWhat::Both, Some(EncryptOptions { data, oaep }), now());
            assert!(
                xml.contains("EncryptedAssertion") && !xml.contains("alice@example.test"),
                "{data:?}: plaintext leaked"
            );
            let accepted = validate_response(&xml, &with_decryption(aws_sp(rsa_idp())), now())
                .unwrap_or_else(|e| panic!("{data:?} {oaep:?}: {e}"));
            assert!(accepted.encrypted);
            assert!(accepted.signed.assertion.is_some() && accepted.signed.response.is_some());
            assert_eq!(accepted.name_id.value, "alice@example.test");
        }
    }
    let xml = signed_at(rsa_idp(), SignWhat::Assertion, Some(EncryptOptions::default()), now());
    let wrong_key =
        SpConfig { decryption_keys: vec![DecryptionKey::from_pem(&other_rsa().key_pem).unwrap()], ..aws_sp(rsa_idp()) };
    assert_eq!(validate_response(&xml, &wrong_key, now()).unwrap_err().reason, Reason::Decryption);
}

#[test]
fn sp_checks_hold_at_their_edges() {
    let xml = signed(rsa_idp(), SignWhat::Assertion);
    let sp = aws_sp(rsa_idp());
    // Valid for 300 s after issue, 60 s skew.
    assert!(validate_response(&xml, &sp, now().plus_seconds(359)).is_ok());
    assert_eq!(validate_response(&xml, &sp, now().plus_seconds(360)).unwrap_err().reason, Reason::Expired);
    assert_eq!(validate_response(&xml, &sp, now().minus_seconds(70)).unwrap_err().reason, Reason::NotYetValid);
    let wrong_audience = SpConfig { audiences: vec!["urn:other".into()], ..aws_sp(rsa_idp()) };
    assert_eq!(validate_response(&xml, &wrong_audience, now()).unwrap_err().reason, Reason::Audience);
    let regional =
        SpConfig { recipient: Some("https://us-west-2.signin.aws.amazon.com/saml".into()), ..aws_sp(rsa_idp()) };
    assert_eq!(validate_response(&xml, &regional, now()).unwrap_err().reason, Reason::Destination);
    let issuer = SpConfig { expected_issuer: Some("https://other".into()), ..aws_sp(rsa_idp()) };
    assert_eq!(validate_response(&xml, &issuer, now()).unwrap_err().reason, Reason::Issuer);
    let sp_initiated = SpConfig { in_response_to: Some("_req1".into()), ..aws_sp(rsa_idp()) };
    assert_eq!(validate_response(&xml, &sp_initiated, now()).unwrap_err().reason, Reason::InResponseTo);
    let untrusted = SpConfig { trusted: vec![other_rsa().cert.clone()], ..aws_sp(rsa_idp()) };
    assert_eq!(validate_response(&xml, &untrusted, now()).unwrap_err().reason, Reason::Signature);
}

#[test]
fn issued_responses_are_deterministic_under_a_seeded_source() {
    let a = signed(rsa_idp(), SignWhat::Both);
    let b = signed(rsa_idp(), SignWhat::Both);
    assert_eq!(a, b, "same spec, key and seed must give the same bytes");
    assert!(a.contains("IssueInstant=\"2026-11-23T10:00:00.000Z\""));
}

#[test]
fn signed_info_is_written_in_canonical_form() {
    let xml = signed(rsa_idp(), SignWhat::Assertion);
    let doc = xml::parse(&xml, xml::Limits::MESSAGE).unwrap();
    let si = doc.descendants().find(|n| n.tag_name().name() == "SignedInfo").unwrap();
    let canonical = String::from_utf8(c14n::canonicalize(si, None, c14n::Options::default())).unwrap();
    let written = &xml[si.range()];
    assert_eq!(
        canonical,
        written.replacen("<ds:SignedInfo>", "<ds:SignedInfo xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\">", 1)
    );
}

#[test]
fn responses_name_xs_in_the_prefix_list_by_default() {
    let xml = signed(rsa_idp(), SignWhat::Both);
    assert_eq!(
        xml.matches("<ec:InclusiveNamespaces xmlns:ec=\"http://www.w3.org/2001/10/xml-exc-c14n#\" PrefixList=\"xs\">")
            .count(),
        2
    );
}

#[test]
fn inclusive_prefix_list_round_trips() {
    let rng = Seeded::new(3);
    let spec = aws_response().to_spec(now(), &rng).unwrap();
    for prefixes in [vec![], vec!["xs".to_owned()], vec!["xs".to_owned(), "#default".to_owned()]] {
        let options = SignOptions { inclusive_prefixes: prefixes.clone(), ..SignOptions::for_key(&rsa_idp().key) };
        let signer = Signer { key: &rsa_idp().key, certificate: None, options };
        let xml = issue_response(&spec, &signer, SignWhat::Both, None, &rng).unwrap();
        assert_eq!(xml.contains("PrefixList="), !prefixes.is_empty());
        validate_response(&xml, &aws_sp(rsa_idp()), now()).unwrap_or_else(|e| panic!("{prefixes:?}: {e}"));
    }
}

#[test]
fn redirect_binding_signs_and_verifies() {
    let request = r#"<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_r1" Version="2.0" IssueInstant="2026-11-23T10:00:00Z"/>"#;
    for idp in [rsa_idp(), ec_idp()] {
        let alg = idp.key.default_algorithm();
        let url = redirect_url(
            "https://idp.test/sso?tenant=a",
            Param::SamlRequest,
            request,
            Some("state & more"),
            Some((&idp.key, alg)),
        )
        .unwrap();
        assert!(url.starts_with("https://idp.test/sso?tenant=a&SAMLRequest="));
        let message = parse_redirect(url.split_once('?').unwrap().1).unwrap();
        assert_eq!(message.xml, request);
        assert_eq!(message.relay_state.as_deref(), Some("state & more"));
        assert_eq!(verify_redirect(&message, std::slice::from_ref(&idp.cert), false).unwrap(), alg);
        let tampered = url.replace("RelayState=state", "RelayState=evil");
        let message = parse_redirect(tampered.split_once('?').unwrap().1).unwrap();
        assert_eq!(
            verify_redirect(&message, std::slice::from_ref(&idp.cert), false).unwrap_err().reason,
            Reason::Signature
        );
    }
    let unsigned = redirect_url("https://idp.test/sso", Param::SamlRequest, request, None, None).unwrap();
    let message = parse_redirect(unsigned.split_once('?').unwrap().1).unwrap();
    assert_eq!(verify_redirect(&message, &[rsa_idp().cert.clone()], false).unwrap_err().reason, Reason::Unsigned);
    let sha1 = unsigned + "&SigAlg=http%3A%2F%2Fwww.w3.org%2F2000%2F09%2Fxmldsig%23rsa-sha1&Signature=AAAA";
    let message = parse_redirect(sha1.split_once('?').unwrap().1).unwrap();
    assert_eq!(verify_redirect(&message, &[rsa_idp().cert.clone()], false).unwrap_err().reason, Reason::Profile);
}

#[test]
fn post_form_escapes_everything() {
    let page =
        post_form("https://sp.test/acs?a=1&b=\"2\"", Param::SamlResponse, "<x/>", Some("\"><script>alert(1)</script>"))
            .unwrap();
    assert!(page.contains("action=\"https://sp.test/acs?a=1&amp;b=&quot;2&quot;\""));
    assert!(page.contains("value=\"&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;\""));
    assert!(!page.contains("<script>alert"));
    assert!(page.contains("name=\"SAMLResponse\" value=\"PHgvPg==\""));
    for action in ["javascript:alert(1)", "data:text/html,x", "//evil.test/acs", "HTTPS://ok.test/acs"] {
        assert_eq!(
            post_form(action, Param::SamlResponse, "<x/>", None).is_ok(),
            action.starts_with("HTTPS"),
            "{action}"
        );
    }
}

#[test]
fn idp_metadata_round_trips_with_rollover_certificates() {
    let certs = [rsa_idp().cert.clone(), ec_idp().cert.clone()];
    let text = metadata::idp_metadata_xml(&metadata::IdpMetadata {
        entity_id: ISSUER,
        signing_certificates: &certs,
        sso_post: Some("https://idp.test/sso/post"),
        sso_redirect: Some("https://idp.test/sso/redirect"),
        slo_redirect: None,
        name_id_formats: &[idfed_saml::ns::NAMEID_PERSISTENT],
        want_authn_requests_signed: false,
    });
    let parsed = metadata::parse(&text).unwrap();
    let idp = parsed[0].idp.as_ref().unwrap();
    assert_eq!(parsed[0].entity_id, ISSUER);
    assert_eq!(idp.signing_certificates().len(), 2);
    assert_eq!(idp.single_sign_on.len(), 2);
    assert_eq!(idp.name_id_formats, [idfed_saml::ns::NAMEID_PERSISTENT]);
}

#[test]
fn sha1_signing_is_refused() {
    let options = SignOptions { algorithm: SignatureAlgorithm::RsaSha1, ..SignOptions::for_key(&rsa_idp().key) };
    let rng = Seeded::new(1);
    let spec = aws_response().to_spec(now(), &rng).unwrap();
    let signer = Signer { key: &rsa_idp().key, certificate: None, options };
    assert!(issue_response(&spec, &signer, SignWhat::Assertion, None, &rng).is_err());
}

#[test]
fn protocol_messages_round_trip_through_the_redirect_binding() {
    use idfed_saml::build::{
        AuthnRequestSpec, LogoutRequestSpec, authn_request_xml, logout_request_xml, logout_response_xml,
    };
    use idfed_saml::model::{AuthnRequest, Comparison, LogoutRequest, LogoutResponse, NameId, RequestedAuthnContext};
    let request = authn_request_xml(&AuthnRequestSpec {
        id: "_req1".into(),
        issue_instant: now(),
        issuer: "https://sp.test".into(),
        destination: "https://idp.test/sso".into(),
        acs_url: Some("https://sp.test/acs?x=1&y=<2>".into()),
        protocol_binding: Some(idfed_saml::ns::BINDING_POST.into()),
        name_id_format: Some(idfed_saml::ns::NAMEID_EMAIL.into()),
        force_authn: true,
        is_passive: true,
        requested_authn_context: Some(RequestedAuthnContext {
            comparison: Comparison::Minimum,
            class_refs: vec![idfed_saml::ns::AC_PASSWORD_PROTECTED.into(), idfed_saml::ns::AC_REFEDS_MFA.into()],
            decl_refs: vec![],
        }),
    })
    .unwrap();
    let url = redirect_url(
        "https://idp.test/sso",
        Param::SamlRequest,
        &request,
        None,
        Some((&ec_idp().key, ec_idp().key.default_algorithm())),
    )
    .unwrap();
    let message = parse_redirect(url.split_once('?').unwrap().1).unwrap();
    verify_redirect(&message, std::slice::from_ref(&ec_idp().cert), false).unwrap();
    let doc = xml::parse(&message.xml, xml::Limits::MESSAGE).unwrap();
    let parsed = AuthnRequest::from_node(doc.root_element()).unwrap();
    assert_eq!(parsed.assertion_consumer_service_url.as_deref(), Some("https://sp.test/acs?x=1&y=<2>"));
    assert_eq!(parsed.name_id_policy_format.as_deref(), Some(idfed_saml::ns::NAMEID_EMAIL));
    assert!(parsed.force_authn && parsed.is_passive);
    let context = parsed.requested_authn_context.unwrap();
    assert_eq!(context.comparison, Comparison::Minimum);
    assert_eq!(context.class_refs, [idfed_saml::ns::AC_PASSWORD_PROTECTED, idfed_saml::ns::AC_REFEDS_MFA]);
    assert_eq!(parsed.issue_instant, Some(now()));

    let name_id = NameId {
        value: "alice@example.test".into(),
        format: Some(idfed_saml::ns::NAMEID_EMAIL.into()),
        ..NameId::default()
    };
    let logout = logout_request_xml(&LogoutRequestSpec {
        id: "_lo1".into(),
        issue_instant: now(),
        issuer: ISSUER.into(),
        destination: "https://sp.test/slo".into(),
        name_id: name_id.clone(),
        session_index: Some("_s1".into()),
    })
    .unwrap();
    let doc = xml::parse(&logout, xml::Limits::MESSAGE).unwrap();
    let parsed = LogoutRequest::from_node(doc.root_element()).unwrap();
    assert_eq!(parsed.name_id, Some(name_id));
    assert_eq!(parsed.session_indexes, ["_s1"]);

    let answer = logout_response_xml(
        "_lr1",
        "_lo1",
        now(),
        "https://sp.test",
        "https://idp.test/slo",
        idfed_saml::ns::STATUS_SUCCESS,
    )
    .unwrap();
    let doc = xml::parse(&answer, xml::Limits::MESSAGE).unwrap();
    let parsed = LogoutResponse::from_node(doc.root_element()).unwrap();
    assert_eq!(parsed.header.in_response_to.as_deref(), Some("_lo1"));
    assert!(parsed.header.status.unwrap().is_success());
}

#[test]
fn p384_keys_sign_and_verify() {
    let key_pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(rcgen::DnType::CommonName, "P-384");
    let cert_pem = params.self_signed(&key_pair).unwrap().pem();
    let key = idfed_saml::SigningKey::from_pem(&key_pair.serialize_pem()).unwrap();
    let cert = idfed_saml::Certificate::from_pem_or_base64(&cert_pem).unwrap().remove(0);
    assert_eq!(key.default_algorithm(), SignatureAlgorithm::EcdsaSha384);
    let rng = Seeded::new(5);
    let spec = aws_response().to_spec(now(), &rng).unwrap();
    let signer = Signer { key: &key, certificate: Some(&cert), options: SignOptions::for_key(&key) };
    let doc = issue_response(&spec, &signer, SignWhat::Both, None, &rng).unwrap();
    let config = SpConfig { trusted: vec![cert], ..aws_sp(rsa_idp()) };
    let accepted = validate_response(&doc, &config, now()).unwrap();
    assert_eq!(accepted.signed.assertion.unwrap().algorithm, SignatureAlgorithm::EcdsaSha384);
}

#[test]
fn one_certificate_verifies_every_rsa_algorithm_in_turn_and_still_refuses_a_wrong_key() {
    // The certificate keeps its key parsed per algorithm; each use must still check that one.
    let config = aws_sp(rsa_idp());
    let rng = Seeded::new(7);
    let spec = aws_response().to_spec(now(), &rng).unwrap();
    for algorithm in [SignatureAlgorithm::RsaSha256, SignatureAlgorithm::RsaSha512, SignatureAlgorithm::RsaSha384] {
        for (idp, valid) in [(rsa_idp(), true), (other_rsa(), false)] {
            let options = SignOptions { algorithm, ..SignOptions::for_key(&idp.key) };
            let signer = Signer { key: &idp.key, certificate: None, options };
            let xml = issue_response(&spec, &signer, SignWhat::Assertion, None, &rng).unwrap();
            let verdict = validate_response(&xml, &config, now());
            assert_eq!(
                verdict.is_ok(),
                valid,
                "{algorithm:?} signed by the {} key: {verdict:?}",
                ["other", "trusted"][usize::from(valid)]
            );
        }
    }
}

#[test]
fn a_requested_authn_context_with_an_unknown_comparison_or_nothing_named_is_refused() {
    use idfed_saml::model::AuthnRequest;
    let request = |context: &str| {
        format!(
            r#"<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r" Version="2.0" IssueInstant="2026-12-02T10:00:00Z"><saml:Issuer>https://sp.test</saml:Issuer>{context}</samlp:AuthnRequest>"#
        )
    };
    let parse = |text: &str| {
        let doc = xml::parse(text, xml::Limits::MESSAGE).unwrap();
        AuthnRequest::from_node(doc.root_element()).map(|r| r.requested_authn_context)
    };
    let exact = parse(&request(
        "<samlp:RequestedAuthnContext><saml:AuthnContextClassRef> https://refeds.org/profile/mfa </saml:AuthnContextClassRef></samlp:RequestedAuthnContext>",
    ))
    .unwrap()
    .unwrap();
    assert_eq!(exact.comparison, idfed_saml::model::Comparison::Exact, "exact when unsaid");
    assert_eq!(exact.class_refs, ["https://refeds.org/profile/mfa"]);
    let odd = parse(&request(
        r#"<samlp:RequestedAuthnContext Comparison="stronger"><saml:AuthnContextClassRef>x</saml:AuthnContextClassRef></samlp:RequestedAuthnContext>"#,
    ))
    .unwrap_err();
    assert!(odd.to_string().contains(r#"Comparison "stronger" is not exact, minimum, maximum or better"#), "{odd}");
    let empty = parse(&request("<samlp:RequestedAuthnContext/>")).unwrap_err();
    assert!(empty.to_string().contains("names no AuthnContextClassRef"), "{empty}");
    assert_eq!(parse(&request("")).unwrap(), None);
}

#[test]
fn a_status_response_is_signed_whole_and_an_sp_reads_its_status() {
    use idfed_saml::build::StatusResponseSpec;
    use idfed_saml::issue::issue_status_response;
    use idfed_saml::model::Status;
    let spec = StatusResponseSpec {
        id: "_status1".into(),
        in_response_to: "_req9".into(),
        issue_instant: now(),
        issuer: ISSUER.into(),
        destination: "https://sp.test/acs".into(),
        status: Status {
            code: idfed_saml::ns::STATUS_RESPONDER.into(),
            sub_code: Some(idfed_saml::ns::STATUS_NO_AUTHN_CONTEXT.into()),
            message: Some("two-step verification <required>".into()),
        },
    };
    let options = SignOptions::for_key(&rsa_idp().key);
    let signer = Signer { key: &rsa_idp().key, certificate: Some(&rsa_idp().cert), options };
    let xml = issue_status_response(&spec, &signer).unwrap();
    assert!(!xml.contains("Assertion"), "{xml}");
    let doc = xml::parse(&xml, xml::Limits::MESSAGE).unwrap();
    let verified = idfed_saml::dsig::verify_enveloped(
        doc.root_element(),
        idfed_saml::dsig::VerifyOptions { trusted: std::slice::from_ref(&rsa_idp().cert), allow_sha1: false },
    )
    .unwrap();
    assert!(verified.is_some(), "the Response carries a signature that verifies");
    let header = idfed_saml::model::ResponseHeader::from_node(doc.root_element()).unwrap();
    assert_eq!(header.in_response_to.as_deref(), Some("_req9"));
    assert_eq!(header.status.as_ref(), Some(&spec.status));
    let refused = validate_response(&xml, &aws_sp(rsa_idp()), now()).unwrap_err();
    assert_eq!(refused.reason, Reason::Status);
    assert!(refused.message.contains("Responder / urn:oasis:names:tc:SAML:2.0:status:NoAuthnContext"), "{refused}");
}
