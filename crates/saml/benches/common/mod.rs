//! The response the benchmarks sign and validate, and the raw RSA-2048 material beside it.
//! Shared by `sign_verify`, `paired` and `bench/rust-peers` (which includes this file by path).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
// Each benchmark uses its own subset of the fixture.
#![allow(dead_code)]

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::rand::SystemRandom as AwsRandom;
use aws_lc_rs::signature::{self, KeyPair, ParsedPublicKey, RsaKeyPair, UnparsedPublicKey};
use idfed_saml::aws::{AwsResponse, RolePair};
use idfed_saml::build::ResponseSpec;
use idfed_saml::issue::{SignWhat, Signer, issue_response};
use idfed_saml::random::SystemRandom;
use idfed_saml::sp::SpConfig;
use idfed_saml::{Certificate, Instant, SigningKey};

pub struct Fixture {
    pub rsa: RsaKeyPair,
    /// The same key as PKCS#8 DER and PEM, and its self-signed certificate, for peers.
    pub pkcs8: Vec<u8>,
    pub key_pem: String,
    pub cert_pem: String,
    pub cert: Certificate,
    pub key: SigningKey,
    pub now: Instant,
    pub rng: SystemRandom,
    pub spec: ResponseSpec,
    /// The signed response (signature on the Assertion), about 4 KB.
    pub signed: String,
    /// What AWS's sign-in endpoint checks.
    pub config: SpConfig,
    /// A message the size of the SignedInfo idfed signs, and its raw signature.
    pub message: Vec<u8>,
    pub signature: Vec<u8>,
    pub aws_rng: AwsRandom,
    pub public: UnparsedPublicKey<Vec<u8>>,
    pub parsed: ParsedPublicKey,
}

impl Fixture {
    pub fn new() -> Self {
        let rsa = RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
        let pkcs8: Pkcs8V1Der = rsa.as_der().unwrap();
        let rc_key =
            rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&pkcs8.as_ref().to_vec().into(), &rcgen::PKCS_RSA_SHA256)
                .unwrap();
        let cert_pem = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap().self_signed(&rc_key).unwrap().pem();
        let cert = Certificate::from_pem_or_base64(&cert_pem).unwrap().remove(0);
        let key = SigningKey::from_pkcs8(pkcs8.as_ref()).unwrap();
        let now = Instant::from_unix_seconds(1_795_428_000);
        let rng = SystemRandom::new();
        let spec = response().to_spec(now, &rng).unwrap();
        let signed = issue_response(&spec, &signer(&key, &cert), SignWhat::Assertion, None, &rng).unwrap();
        let config = SpConfig {
            trusted: vec![cert.clone()],
            audiences: vec!["urn:amazon:webservices".into()],
            recipient: Some("https://signin.aws.amazon.com/saml".into()),
            skew_seconds: 60,
            ..SpConfig::default()
        };
        let message = vec![b'x'; 700];
        let aws_rng = AwsRandom::new();
        let mut signature = vec![0; rsa.public_modulus_len()];
        rsa.sign(&signature::RSA_PKCS1_SHA256, &aws_rng, &message, &mut signature).unwrap();
        let public_der = rsa.public_key().as_ref().to_vec();
        let parsed = ParsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, &public_der).unwrap();
        let public = UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, public_der);
        let (pkcs8, key_pem) = (pkcs8.as_ref().to_vec(), rc_key.serialize_pem());
        Fixture {
            rsa,
            pkcs8,
            key_pem,
            cert_pem,
            cert,
            key,
            now,
            rng,
            spec,
            signed,
            config,
            message,
            signature,
            aws_rng,
            public,
            parsed,
        }
    }

    pub fn signer(&self) -> Signer<'_> {
        signer(&self.key, &self.cert)
    }

    /// One raw aws-lc-rs RSA-2048 PKCS#1 v1.5 SHA-256 signature over `message`.
    pub fn raw_sign(&self) -> Vec<u8> {
        let mut out = vec![0; 256];
        self.rsa.sign(&signature::RSA_PKCS1_SHA256, &self.aws_rng, &self.message, &mut out).unwrap();
        out
    }
}

fn signer<'a>(key: &'a SigningKey, cert: &'a Certificate) -> Signer<'a> {
    Signer { key, certificate: Some(cert), options: idfed_saml::dsig::SignOptions::for_key(key) }
}

/// An AWS Account Federation response with two Role pairs, RoleSessionName and SessionDuration.
fn response() -> AwsResponse {
    let role = |name: &str| RolePair {
        role_arn: format!("arn:aws:iam::111122223333:role/{name}"),
        provider_arn: "arn:aws:iam::111122223333:saml-provider/Okta_Connect_Admin".into(),
    };
    let mut r = AwsResponse::new(
        "http://www.okta.com/exk1a2b3c4d5e6f7g8h9",
        "alice@example.com",
        "alice@example.com",
        vec![role("Okta_Role"), role("Connect_Agent")],
    );
    r.session_duration = Some(3600);
    r
}
