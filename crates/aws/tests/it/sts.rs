//! AssumeRoleWithSAML against the sandbox state: success, and every failure F02–F18, F24 that
//! STS produces, with AWS's code, status and text.

use idfed_aws::AwsError;
use idfed_aws::iam::{providers, roles};
use idfed_aws::state::State;
use idfed_aws::sts::assume_role_with_saml::*;
use idfed_saml::Instant;
use idfed_saml::model::Attribute;

use crate::common::*;

fn assume(state: &State, assertion_xml: &str, duration: Option<i64>, at: Instant) -> Result<Assumed, AwsError> {
    let request = AssumeRequest {
        role_arn: ROLE,
        principal_arn: PROVIDER,
        saml_assertion: &b64(assertion_xml),
        duration_seconds: duration,
        ..Default::default()
    };
    assume_role_with_saml(state, &request, &[], at, &Seeded::new(5))
}

fn signed(r: &idfed_saml::aws::AwsResponse) -> String {
    sign_with(&spec_of(r, now()), idp(), |x| x)
}

fn expect(result: Result<Assumed, AwsError>, code: &str, status: u16, message: &str) {
    let e = result.map(|a| a.session.assumed_role_arn).unwrap_err();
    assert_eq!((e.code.as_str(), e.status, e.message.as_str()), (code, status, message));
}

/// Okta_Role's trust policy allowing `actions` to the provider, with SAML:aud the sign-in URL.
fn trusting(state: &mut State, actions: &[&str]) {
    roles::update_assume_role_policy(state, ACCOUNT, "Okta_Role", &trust_policy(actions, PROVIDER, SIGNIN)).unwrap();
}

fn attr(name: &str, values: &[&str]) -> Attribute {
    Attribute {
        name: name.into(),
        name_format: None,
        friendly_name: None,
        values: values.iter().map(|v| v.to_string()).collect(),
    }
}

#[test]
fn success_answers_like_sts() {
    let state = seeded_state();
    let mut r = response();
    r.session_duration = Some(7200);
    let a = assume(&state, &signed(&r), Some(1800), now()).unwrap();
    let role = state.role(ROLE).unwrap();
    assert_eq!(a.session.assumed_role_arn, "arn:aws:sts::111122223333:assumed-role/Okta_Role/alice@example.com");
    assert_eq!(a.session.assumed_role_id, format!("{}:alice@example.com", role.id));
    assert!(a.session.access_key.starts_with("ASIA") && a.session.access_key.len() == 20);
    assert_eq!(a.session.expires, now().plus_seconds(1800));
    assert_eq!((a.subject.as_str(), a.subject_type.as_str()), ("alice@example.com", "persistent"));
    assert_eq!((a.issuer.as_str(), a.audience.as_str()), (ISSUER, SIGNIN));
    assert_eq!(a.name_qualifier, name_qualifier(ISSUER, ACCOUNT, "Okta_Connect_Admin"));
    assert_eq!(a.session.saml.get("saml:aud").unwrap(), &vec![SIGNIN.to_owned()]);
    // Default lifetime one hour; SessionNotOnOrAfter caps it.
    assert_eq!(assume(&state, &signed(&r), None, now()).unwrap().session.expires, now().plus_seconds(3600));
    let mut capped = response();
    capped.session_not_on_or_after = Some(now().plus_seconds(1000));
    assert_eq!(assume(&state, &signed(&capped), None, now()).unwrap().session.expires, now().plus_seconds(1000));
}

#[test]
fn role_pairs_in_either_order_f02() {
    let state = seeded_state();
    let mut r = response();
    r.extra_attributes = vec![];
    let provider_first = signed(&r).replace(&format!("{ROLE},{PROVIDER}"), &format!("{PROVIDER},{ROLE}"));
    // Changing the signed text breaks the signature, so sign the reordered form instead.
    assert!(assume(&state, &provider_first, None, now()).is_err());
    let reordered = sign_with(&spec_of(&r, now()), idp(), |x| {
        x.replace(&format!("{ROLE},{PROVIDER}"), &format!("{PROVIDER},{ROLE}"))
    });
    assert!(assume(&state, &reordered, None, now()).is_ok());
    // F02: only the provider ARN in the Role attribute.
    let only_provider = sign_with(&spec_of(&r, now()), idp(), |x| x.replace(&format!("{ROLE},{PROVIDER}"), PROVIDER));
    expect(assume(&state, &only_provider, None, now()), "AccessDenied", 403, NOT_AUTHORIZED);
}

#[test]
fn role_session_name_f03_f04() {
    let state = seeded_state();
    let missing = sign_with(&spec_of(&response(), now()), idp(), |x| {
        let start = x.find("<saml:Attribute Name=\"https://aws.amazon.com/SAML/Attributes/RoleSessionName\"").unwrap();
        let end = start + x[start..].find("</saml:Attribute>").unwrap() + "</saml:Attribute>".len();
        format!("{}{}", &x[..start], &x[end..])
    });
    expect(assume(&state, &missing, None, now()), "InvalidIdentityToken", 400, ROLE_SESSION_NAME_REQUIRED);
    for bad in ["alice smith", "a", &"a".repeat(65)] {
        let mut r = response();
        r.role_session_name = bad.to_owned();
        expect(assume(&state, &signed(&r), None, now()), "InvalidIdentityToken", 400, ROLE_SESSION_NAME_PATTERN);
    }
    let mut ok = response();
    ok.role_session_name = "a".repeat(64);
    assert!(assume(&state, &signed(&ok), None, now()).is_ok());
    let two = sign_with(&spec_of(&response(), now()), idp(), |x| {
        let value = "<saml:AttributeValue xsi:type=\"xs:string\">alice@example.com</saml:AttributeValue>";
        assert!(x.contains(value), "the fixture's RoleSessionName value");
        x.replacen(
            value,
            &format!("{value}<saml:AttributeValue xsi:type=\"xs:string\">bob@example.com</saml:AttributeValue>"),
            1,
        )
    });
    let e = assume(&state, &two, None, now()).unwrap_err();
    assert_eq!((e.code.as_str(), e.status), ("InvalidIdentityToken", 400));
    assert!(e.message.contains("RoleSessionName has 2 values; AWS takes exactly one"), "{}", e.message);
    let mut two_sources = response();
    two_sources.extra_attributes = vec![attr(idfed_saml::aws::ATTR_SOURCE_IDENTITY, &["alice", "bob"])];
    let e = assume(&state, &signed(&two_sources), None, now()).unwrap_err();
    assert!(e.message.contains("SourceIdentity has 2 values"), "{}", e.message);
}

#[test]
fn source_identity_f05_f15() {
    let mut state = seeded_state();
    let mut r = response();
    r.extra_attributes = vec![attr(idfed_saml::aws::ATTR_SOURCE_IDENTITY, &["aws:alice"])];
    expect(assume(&state, &signed(&r), None, now()), "InvalidIdentityToken", 400, SOURCE_IDENTITY_PATTERN);
    r.extra_attributes = vec![attr(idfed_saml::aws::ATTR_SOURCE_IDENTITY, &["alice"])];
    expect(assume(&state, &signed(&r), None, now()), "AccessDenied", 403, NOT_AUTHORIZED);
    let trust = trust_policy(&["sts:AssumeRoleWithSAML", "sts:SetSourceIdentity"], PROVIDER, SIGNIN);
    roles::update_assume_role_policy(&mut state, ACCOUNT, "Okta_Role", &trust).unwrap();
    assert_eq!(assume(&state, &signed(&r), None, now()).unwrap().source_identity.as_deref(), Some("alice"));
}

#[test]
fn signature_f06() {
    let state = seeded_state();
    let tampered = signed(&response()).replace("alice@example.com</saml:NameID>", "mallory@example.com</saml:NameID>");
    expect(assume(&state, &tampered, None, now()), "InvalidIdentityToken", 400, SIGNATURE_INVALID);
    let rotated = sign_with(&spec_of(&response(), now()), rotated_idp(), |x| x);
    expect(assume(&state, &rotated, None, now()), "InvalidIdentityToken", 400, SIGNATURE_INVALID);
    let unsigned = idfed_saml::build::response_xml(&spec_of(&response(), now())).unwrap();
    expect(assume(&state, &unsigned, None, now()), "InvalidIdentityToken", 400, SIGNATURE_INVALID);
}

#[test]
fn issuer_and_provider_f07_f08() {
    let state = seeded_state();
    let mut r = response();
    r.issuer = "http://www.okta.com/someone-else".into();
    expect(assume(&state, &signed(&r), None, now()), "AuthSamlInvalidSamlResponseException", 400, ISSUER_NOT_PRESENT);
    // The wrong Issuer is named before any other fault of the same response.
    let tampered = signed(&r).replace("alice@example.com</saml:NameID>", "mallory@example.com</saml:NameID>");
    expect(assume(&state, &tampered, None, now()), "AuthSamlInvalidSamlResponseException", 400, ISSUER_NOT_PRESENT);
    let late = now().plus_seconds(3600);
    expect(assume(&state, &signed(&r), None, late), "AuthSamlInvalidSamlResponseException", 400, ISSUER_NOT_PRESENT);
    let request = AssumeRequest {
        role_arn: ROLE,
        principal_arn: "arn:aws:iam::111122223333:saml-provider/Missing",
        saml_assertion: &b64(&signed(&response())),
        ..Default::default()
    };
    let e = assume_role_with_saml(&state, &request, &[], now(), &Seeded::new(1)).unwrap_err();
    assert_eq!((e.code.as_str(), e.message.as_str()), ("InvalidIdentityToken", PROVIDER_MISSING));
}

#[test]
fn audience_f09() {
    let state = seeded_state();
    let mut r = response();
    r.audience = "https://sp.example.test/metadata".into();
    expect(assume(&state, &signed(&r), None, now()), "InvalidIdentityToken", 400, AUDIENCE_MISSING);
    r.audience = "https://us-west-2.signin.aws.amazon.com/saml".into();
    assert!(assume(&state, &signed(&r), None, now()).is_ok(), "a sign-in URL is an AWS audience");
    for elsewhere in ["urn:amazon:webservices:govcloud", "http://127.0.0.1:4566/saml"] {
        r.audience = elsewhere.into();
        let request = AssumeRequest {
            role_arn: ROLE,
            principal_arn: PROVIDER,
            saml_assertion: &b64(&signed(&r)),
            ..Default::default()
        };
        let sandbox = ["http://127.0.0.1:4566/saml".to_owned()];
        let e = assume_role_with_saml(&state, &request, &sandbox, now(), &Seeded::new(1)).unwrap_err();
        assert_eq!(e.message, AUDIENCE_MISSING, "{elsewhere} is not the audience of a commercial-AWS provider");
    }
}

/// AWS checks the audience before the time: a response both too old (or not yet valid) and for
/// another audience is refused for its audience; with AWS's audience, for its time.
#[test]
fn the_audience_is_named_before_the_time() {
    let state = seeded_state();
    let mut r = response();
    r.audience = "https://sp.example.test/metadata".into();
    let wrong = signed(&r);
    let right = signed(&response());
    let (late, early) = (now().plus_seconds(3600), now().minus_seconds(3600));
    expect(assume(&state, &wrong, None, late), "InvalidIdentityToken", 400, AUDIENCE_MISSING);
    expect(assume(&state, &right, None, late), "ExpiredTokenException", 400, TOKEN_EXPIRED);
    expect(assume(&state, &wrong, None, early), "InvalidIdentityToken", 400, AUDIENCE_MISSING);
    let not_yet = assume(&state, &right, None, early).unwrap_err();
    assert!(not_yet.message.contains("not valid before"), "{}", not_yet.message);
    // The signature still comes first.
    let tampered = wrong.replace("alice@example.com</saml:NameID>", "mallory@example.com</saml:NameID>");
    expect(assume(&state, &tampered, None, late), "InvalidIdentityToken", 400, "Response signature invalid");
    // Only signed text decides: the Response's unsigned IssueInstant, moved, changes nothing.
    let response_instant = wrong.split("IssueInstant=\"").nth(1).and_then(|rest| rest.split('"').next()).unwrap();
    let moved = wrong.replacen(response_instant, "2001-01-01T00:00:00Z", 1);
    assert_ne!(moved, wrong);
    expect(assume(&state, &moved, None, late), "InvalidIdentityToken", 400, AUDIENCE_MISSING);
}

#[test]
fn freshness_f10() {
    let state = seeded_state();
    let mut r = response();
    r.validity_seconds = 3600;
    let old = signed(&r);
    assert!(assume(&state, &old, None, now().plus_seconds(300)).is_ok());
    expect(assume(&state, &old, None, now().plus_seconds(301)), "ExpiredTokenException", 400, TOKEN_EXPIRED);
    let short = signed(&response());
    expect(assume(&state, &short, None, now().plus_seconds(300)), "ExpiredTokenException", 400, TOKEN_EXPIRED);
}

#[test]
fn trust_policy_f11_f12_f13_f14() {
    let mut state = seeded_state();
    let xml = signed(&response());
    for trust in [
        trust_policy(&["sts:AssumeRole"], PROVIDER, SIGNIN),
        trust_policy(&["sts:AssumeRoleWithSAML"], PROVIDER, "https://us-west-2.signin.aws.amazon.com/saml"),
    ] {
        roles::update_assume_role_policy(&mut state, ACCOUNT, "Okta_Role", &trust).unwrap();
        expect(assume(&state, &xml, None, now()), "AccessDenied", 403, NOT_AUTHORIZED);
    }
    // F12: the trust policy names another provider.
    let rng = Seeded::new(9);
    providers::create(&mut state, ACCOUNT, "Other", &idp_metadata(&idp().cert), now(), &rng).unwrap();
    let other = trust_policy(&["sts:AssumeRoleWithSAML"], "arn:aws:iam::111122223333:saml-provider/Other", SIGNIN);
    roles::update_assume_role_policy(&mut state, ACCOUNT, "Okta_Role", &other).unwrap();
    expect(assume(&state, &xml, None, now()), "AccessDenied", 403, NOT_AUTHORIZED);
    // F14: PrincipalTag attributes need sts:TagSession.
    roles::update_assume_role_policy(
        &mut state,
        ACCOUNT,
        "Okta_Role",
        &trust_policy(&["sts:AssumeRoleWithSAML"], PROVIDER, SIGNIN),
    )
    .unwrap();
    let mut tagged = response();
    tagged.extra_attributes =
        vec![attr("https://aws.amazon.com/SAML/Attributes/PrincipalTag:team", &["contact-centre"])];
    expect(assume(&state, &signed(&tagged), None, now()), "AccessDenied", 403, NOT_AUTHORIZED);
    trusting(&mut state, &["sts:AssumeRoleWithSAML", "sts:TagSession"]);
    let a = assume(&state, &signed(&tagged), None, now()).unwrap();
    assert_eq!(a.session.tags.get("team").map(String::as_str), Some("contact-centre"));
    assert!(a.packed_policy_size.is_some());
}

#[test]
fn role_missing_or_case_f16_and_name_id_f17() {
    let state = seeded_state();
    let mut r = response();
    r.roles[0].role_arn = "arn:aws:iam::111122223333:role/okta_role".into();
    let xml = signed(&r);
    let request = AssumeRequest {
        role_arn: "arn:aws:iam::111122223333:role/okta_role",
        principal_arn: PROVIDER,
        saml_assertion: &b64(&xml),
        ..Default::default()
    };
    let e = assume_role_with_saml(&state, &request, &[], now(), &Seeded::new(1)).unwrap_err();
    assert_eq!((e.code.as_str(), e.status, e.message.as_str()), ("AccessDenied", 403, NOT_AUTHORIZED));
    let no_name_id = sign_with(&spec_of(&response(), now()), idp(), |x| {
        let start = x.find("<saml:NameID").unwrap();
        let end = x.find("</saml:NameID>").unwrap() + "</saml:NameID>".len();
        format!("{}{}", &x[..start], &x[end..])
    });
    expect(assume(&state, &no_name_id, None, now()), "AccessDenied", 403, NOT_AUTHORIZED);
    let mut empty = response();
    empty.name_id.value = String::new();
    expect(assume(&state, &signed(&empty), None, now()), "AccessDenied", 403, NOT_AUTHORIZED);
}

#[test]
fn duration_f18() {
    let state = seeded_state();
    expect(assume(&state, &signed(&response()), Some(7201), now()), "ValidationError", 400, DURATION_EXCEEDS);
    assert!(assume(&state, &signed(&response()), Some(7200), now()).is_ok());
}

#[test]
fn encryption_required_f24() {
    let mut state = seeded_state();
    let sp_key = rotated_idp();
    let provider = state.providers.get_mut(PROVIDER).unwrap();
    provider.assertion_encryption_mode = Some("Required".into());
    let plain = signed(&response());
    let e = assume(&state, &plain, None, now()).unwrap_err();
    assert_eq!((e.code.as_str(), e.status), ("InvalidIdentityToken", 400));
    assert!(e.message.contains("requires encrypted assertions"), "{}", e.message);
    let encrypted =
        idfed_saml::xmlenc::encrypt_assertion(&plain, &sp_key.cert, Default::default(), &Seeded::new(3)).unwrap();
    let e = assume(&state, &encrypted, None, now()).unwrap_err();
    assert!(e.message.starts_with("Unable to decrypt the SAML assertion"), "{}", e.message);
    state.providers.get_mut(PROVIDER).unwrap().private_keys.push(("KEY1".into(), sp_key.key_pem.clone(), now()));
    // Decrypted, but sent to the shared endpoint: AWS takes encrypted responses only at the
    // provider's own one.
    let e = assume(&state, &encrypted, None, now()).unwrap_err();
    assert_eq!((e.code.as_str(), e.status), ("InvalidIdentityToken", 400));
    assert!(e.message.contains("must be sent to the provider's own sign-in endpoint"), "{}", e.message);
    let uuid = state.providers[PROVIDER].uuid.clone();
    let to = |acs: String| {
        let mut r = response();
        r.acs_url = acs;
        let plain = signed(&r);
        idfed_saml::xmlenc::encrypt_assertion(&plain, &sp_key.cert, Default::default(), &Seeded::new(3)).unwrap()
    };
    let endpoint = format!("https://us-east-1.signin.aws.amazon.com/saml/acs/{uuid}");
    // The endpoint is SAML:aud, which the trust policy names.
    idfed_aws::iam::roles::update_assume_role_policy(
        &mut state,
        ACCOUNT,
        "Okta_Role",
        &trust_policy(&["sts:AssumeRoleWithSAML"], PROVIDER, &endpoint),
    )
    .unwrap();
    let own = to(endpoint.clone());
    assert_eq!(assume(&state, &own, None, now()).unwrap().audience, endpoint);
    let another = to("https://us-east-1.signin.aws.amazon.com/saml/acs/SAMLSPOTHERPROVIDER0001".into());
    let e = assume(&state, &another, None, now()).unwrap_err();
    assert!(e.message.contains("the sign-in endpoint of another SAML provider"), "{}", e.message);
}

#[test]
fn exactly_one_subject_confirmation_naming_its_endpoint() {
    let state = seeded_state();
    let second = sign_with(&spec_of(&response(), now()), idp(), |x| {
        let start = x.find("<saml:SubjectConfirmation ").unwrap();
        let end = x.find("</saml:SubjectConfirmation>").unwrap() + "</saml:SubjectConfirmation>".len();
        let one = &x[start..end];
        x.replacen(one, &format!("{one}{one}"), 1)
    });
    let e = assume(&state, &second, None, now()).unwrap_err();
    assert_eq!((e.code.as_str(), e.status), ("InvalidIdentityToken", 400));
    assert!(
        e.message.contains("the Subject has 2 SubjectConfirmation elements; AWS takes exactly one"),
        "{}",
        e.message
    );
    assert!(assume(&state, &signed(&response()), None, now()).is_ok(), "one is taken");
    let mut partition = response();
    partition.acs_url = "https://signin.amazonaws-us-gov.com/saml".into();
    let e = assume(&state, &signed(&partition), None, now()).unwrap_err();
    assert!(e.message.contains("is not an AWS sign-in endpoint"), "another partition's endpoint: {}", e.message);
}

#[test]
fn attribute_condition_keys_follow_aws_table_and_sub_type_agrees_with_subject_type() {
    let mut state = seeded_state();
    let policy = |key: &str, value: &str| {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Federated":"{PROVIDER}"}},"Action":"sts:AssumeRoleWithSAML","Condition":{{"ForAnyValue:StringEquals":{{"{key}":"{value}"}}}}}}]}}"#
        )
    };
    for (attribute, key) in [
        ("urn:oid:1.3.6.1.4.1.5923.1.1.1.11", "saml:edupersonassurance"),
        ("urn:oid:1.3.6.1.4.1.5923.1.2.1.4", "saml:eduorglegalname"),
        ("urn:oid:2.5.4.42", "saml:givenName"),
    ] {
        roles::update_assume_role_policy(&mut state, ACCOUNT, "Okta_Role", &policy(key, "yes")).unwrap();
        let mut r = response();
        r.extra_attributes = vec![attr(attribute, &["no"])];
        expect(assume(&state, &signed(&r), None, now()), "AccessDenied", 403, NOT_AUTHORIZED);
        r.extra_attributes = vec![attr(attribute, &["no", "yes"])];
        assert!(assume(&state, &signed(&r), None, now()).is_ok(), "{attribute} is {key}");
    }
    let unspecified = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified";
    roles::update_assume_role_policy(&mut state, ACCOUNT, "Okta_Role", &policy("saml:sub_type", unspecified)).unwrap();
    let mut r = response();
    r.name_id.format = None;
    let a = assume(&state, &signed(&r), None, now()).unwrap();
    assert_eq!(a.subject_type, unspecified);
}

#[test]
fn session_tags_follow_sts_limits() {
    let mut state = seeded_state();
    trusting(&mut state, &["sts:AssumeRoleWithSAML", "sts:TagSession"]);
    let tag = |key: &str, values: &[&str]| {
        attr(&format!("https://aws.amazon.com/SAML/Attributes/PrincipalTag:{key}"), values)
    };
    let refused = |attributes: Vec<Attribute>, says: &str| {
        let mut r = response();
        r.extra_attributes = attributes;
        let e = assume(&state, &signed(&r), None, now()).unwrap_err();
        assert_eq!((e.code.as_str(), e.status), ("InvalidIdentityToken", 400));
        assert!(e.message.contains(says), "{says}: {}", e.message);
    };
    refused(vec![tag("team", &["a", "b"])], "PrincipalTag:team has 2 values");
    refused((0..51).map(|i| tag(&format!("k{i}"), &["v"])).collect(), "51 PrincipalTag attributes; at most 50");
    refused(vec![tag(&"k".repeat(129), &["v"])], "must be 1 to 128");
    refused(vec![tag("team", &[&"v".repeat(257)])], "must be up to 256");
    refused(vec![tag("team", &["a;b"])], "must be up to 256");
    let mut ok = response();
    ok.extra_attributes = (0..50).map(|i| tag(&format!("k{i}"), &["contact centre/agents@east"])).collect();
    assert_eq!(assume(&state, &signed(&ok), None, now()).unwrap().session.tags.len(), 50);
}

/// A role or provider name where its ARN belongs is refused by the parameter check, with AWS's
/// ValidationError, before anything is looked up.
#[test]
fn a_name_where_an_arn_belongs_is_a_validation_error() {
    use idfed_aws::api::sts_actions::assume_role_with_saml_action;
    use idfed_aws::protocol::query::Params;
    let state = std::sync::Mutex::new(seeded_state());
    let assertion = b64(&signed(&response()));
    let call_with = |role: &str, provider: &str, extra: &str| {
        let query = assume_query(role, &assertion).replace(&enc(PROVIDER), &enc(provider)) + extra;
        let params = Params::decode(&[query.as_str()]).unwrap();
        assume_role_with_saml_action(&state, &params, &[], now(), &Seeded::new(1), "r").unwrap_err()
    };
    let call = |role: &str, provider: &str| call_with(role, provider, "");
    for (role, provider, message) in [
        (
            "Okta_Role",
            PROVIDER,
            "1 validation error detected: Value 'Okta_Role' at 'roleArn' failed to satisfy constraint: Member must have length greater than or equal to 20",
        ),
        (
            ROLE,
            "Okta",
            "1 validation error detected: Value 'Okta' at 'principalArn' failed to satisfy constraint: Member must have length greater than or equal to 20",
        ),
    ] {
        let e = call(role, provider);
        assert_eq!((e.code.as_str(), e.status, e.message.as_str()), ("ValidationError", 400, message));
    }
    let long = format!("{ROLE}{}", "x".repeat(2048));
    assert!(call(&long, PROVIDER).message.ends_with("Member must have length less than or equal to 2048"));
    assert_eq!(
        call("Okta_Role", "Okta").message,
        "2 validation errors detected: Value 'Okta_Role' at 'roleArn' failed to satisfy constraint: Member must have length greater than or equal to 20; Value 'Okta' at 'principalArn' failed to satisfy constraint: Member must have length greater than or equal to 20"
    );
    // Every parameter's constraints together; a malformed policy only once they all hold.
    let short = "&DurationSeconds=100";
    assert_eq!(
        call_with("Okta_Role", PROVIDER, short).message,
        "2 validation errors detected: Value 'Okta_Role' at 'roleArn' failed to satisfy constraint: Member must have length greater than or equal to 20; Value '100' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900"
    );
    let duration_only = call_with(ROLE, PROVIDER, short).message;
    assert!(
        duration_only.starts_with("1 validation error detected: Value '100' at 'durationSeconds'"),
        "{duration_only}"
    );
    let query = format!("Action=AssumeRoleWithSAML&RoleArn={}&PrincipalArn={}{short}", enc(ROLE), enc(PROVIDER));
    let params = Params::decode(&[query.as_str()]).unwrap();
    let e = assume_role_with_saml_action(&state, &params, &[], now(), &Seeded::new(1), "r").unwrap_err();
    assert_eq!(
        e.message,
        "2 validation errors detected: Value null at 'sAMLAssertion' failed to satisfy constraint: Member must not be null; Value '100' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900"
    );
    let malformed = &format!("&Policy={}", enc("{\"Version\":\"2012-10-17\"}"));
    assert_eq!(call_with(ROLE, PROVIDER, malformed).code, "MalformedPolicyDocument");
    let both = call_with("Okta_Role", PROVIDER, malformed);
    assert_eq!(
        (both.code.as_str(), both.message.starts_with("1 validation error detected: Value 'Okta_Role'")),
        ("ValidationError", true)
    );
}
