//! An IdP key, a sandbox account with the seeds' provider and role, and signed responses.

use std::cell::Cell;
use std::sync::OnceLock;

use idfed_aws::iam::{providers, roles};
use idfed_aws::state::{Account, State};
use idfed_saml::aws::{AwsResponse, RolePair};
use idfed_saml::build::{ResponseSpec, response_xml};
use idfed_saml::dsig::{SignOptions, sign_element};
use idfed_saml::random::Random;
use idfed_saml::{Certificate, Instant, SigningKey, metadata};

pub const ACCOUNT: &str = "111122223333";
pub const ISSUER: &str = "http://www.okta.com/exk_idfed_test";
pub const PROVIDER: &str = "arn:aws:iam::111122223333:saml-provider/Okta_Connect_Admin";
pub const ROLE: &str = "arn:aws:iam::111122223333:role/Okta_Role";
pub const SIGNIN: &str = "https://signin.aws.amazon.com/saml";

pub struct Idp {
    pub key: SigningKey,
    pub cert: Certificate,
    pub key_pem: String,
}

fn make(cn: &str) -> Idp {
    let rsa = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
    let der = aws_lc_rs::encoding::AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&rsa).unwrap();
    let key_pair =
        rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&der.as_ref().to_vec().into(), &rcgen::PKCS_RSA_SHA256).unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(rcgen::DnType::CommonName, cn);
    let cert_pem = params.self_signed(&key_pair).unwrap().pem();
    let key_pem = key_pair.serialize_pem();
    Idp {
        key: SigningKey::from_pem(&key_pem).unwrap(),
        cert: Certificate::from_pem_or_base64(&cert_pem).unwrap().remove(0),
        key_pem,
    }
}

pub fn idp() -> &'static Idp {
    static IDP: OnceLock<Idp> = OnceLock::new();
    IDP.get_or_init(|| make("idfed test IdP"))
}

pub fn rotated_idp() -> &'static Idp {
    static IDP: OnceLock<Idp> = OnceLock::new();
    IDP.get_or_init(|| make("idfed rotated key"))
}

pub struct Seeded(Cell<u64>);

impl Seeded {
    pub fn new(seed: u64) -> Self {
        Seeded(Cell::new(seed))
    }
}

impl Random for Seeded {
    fn fill(&self, dest: &mut [u8]) -> idfed_saml::Result<()> {
        for b in dest.iter_mut() {
            let z = self.0.get().wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            self.0.set(z);
            *b = (z >> 33) as u8;
        }
        Ok(())
    }
}

pub fn now() -> Instant {
    Instant::parse("2026-11-23T10:00:00Z").unwrap()
}

pub fn idp_metadata(cert: &Certificate) -> String {
    metadata::idp_metadata_xml(&metadata::IdpMetadata {
        entity_id: ISSUER,
        signing_certificates: std::slice::from_ref(cert),
        sso_post: Some("https://idp.example.test/app/aws/sso/saml"),
        sso_redirect: None,
        slo_redirect: None,
        name_id_formats: &[idfed_saml::ns::NAMEID_PERSISTENT, idfed_saml::ns::NAMEID_EMAIL],
        want_authn_requests_signed: false,
    })
}

pub fn trust_policy(actions: &[&str], provider: &str, aud: &str) -> String {
    let actions = actions.iter().map(|a| format!("\"{a}\"")).collect::<Vec<_>>().join(",");
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Federated":"{provider}"}},"Action":[{actions}],"Condition":{{"StringEquals":{{"SAML:aud":"{aud}"}}}}}}]}}"#
    )
}

/// The seeds' account: provider Okta_Connect_Admin and role Okta_Role trusting it.
pub fn seeded_state() -> State {
    let rng = Seeded::new(1);
    let mut state = State {
        accounts: vec![Account { id: ACCOUNT.into(), alias: Some("corp".into()), ..Default::default() }],
        ..State::default()
    };
    providers::create(&mut state, ACCOUNT, "Okta_Connect_Admin", &idp_metadata(&idp().cert), now(), &rng).unwrap();
    let role = roles::NewRole {
        name: "Okta_Role",
        path: "/",
        trust_policy: &trust_policy(&["sts:AssumeRoleWithSAML"], PROVIDER, SIGNIN),
        max_session_duration: Some(7200),
        description: None,
    };
    roles::create(&mut state, ACCOUNT, &role, now(), &rng).unwrap();
    state
}

pub fn response() -> AwsResponse {
    AwsResponse::new(
        ISSUER,
        "alice@example.com",
        "alice@example.com",
        vec![RolePair { role_arn: ROLE.into(), provider_arn: PROVIDER.into() }],
    )
}

pub fn spec_of(response: &AwsResponse, at: Instant) -> ResponseSpec {
    response.to_spec(at, &Seeded::new(at.unix_millis() as u64)).unwrap()
}

/// Signs the Assertion of `spec` (after `edit` changes its unsigned XML) with `signer`.
pub fn sign_with(spec: &ResponseSpec, signer: &Idp, edit: impl Fn(String) -> String) -> String {
    let xml = edit(response_xml(spec).unwrap());
    sign_element(&xml, &spec.assertion_id, &signer.key, Some(&signer.cert), &SignOptions::for_key(&signer.key)).unwrap()
}

/// A Query parameter value, percent-encoded.
pub fn enc(text: &str) -> String {
    idfed_saml::encoding::percent_encode(text)
}

/// The Query parameters of AssumeRoleWithSAML for `role`, the seeds' provider and a base64
/// assertion.
pub fn assume_query(role: &str, assertion: &str) -> String {
    format!(
        "Action=AssumeRoleWithSAML&RoleArn={}&PrincipalArn={}&SAMLAssertion={}",
        enc(role),
        enc(PROVIDER),
        enc(assertion)
    )
}

pub fn b64(xml: &str) -> String {
    idfed_saml::encoding::base64_encode(xml.as_bytes())
}
