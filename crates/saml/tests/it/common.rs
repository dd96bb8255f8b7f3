//! Keys, certificates, a seeded random source and a frozen clock for the tests.

use std::cell::Cell;
use std::path::PathBuf;
use std::sync::OnceLock;

use idfed_saml::aws::{AwsResponse, RolePair};
use idfed_saml::dsig::SignOptions;
use idfed_saml::issue::{SignWhat, Signer, issue_response};
use idfed_saml::random::Random;
use idfed_saml::sp::SpConfig;
use idfed_saml::xmlenc::EncryptOptions;
use idfed_saml::{Certificate, Instant, SigningKey};

/// A key pair with its self-signed certificate, in both parsed and PEM forms.
pub struct Identity {
    pub key: SigningKey,
    pub cert: Certificate,
    pub key_pem: String,
    pub cert_pem: String,
}

fn make(alg: &'static rcgen::SignatureAlgorithm, cn: &str) -> Identity {
    let key_pair = if alg == &rcgen::PKCS_RSA_SHA256 {
        let rsa = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
        let der = aws_lc_rs::encoding::AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&rsa).unwrap();
        rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&der.as_ref().to_vec().into(), alg).unwrap()
    } else {
        rcgen::KeyPair::generate_for(alg).unwrap()
    };
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(rcgen::DnType::CommonName, cn);
    let cert = params.self_signed(&key_pair).unwrap();
    let key_pem = key_pair.serialize_pem();
    let cert_pem = cert.pem();
    Identity {
        key: SigningKey::from_pem(&key_pem).unwrap(),
        cert: Certificate::from_pem_or_base64(&cert_pem).unwrap().remove(0),
        key_pem,
        cert_pem,
    }
}

pub fn rsa_idp() -> &'static Identity {
    static ID: OnceLock<Identity> = OnceLock::new();
    ID.get_or_init(|| make(&rcgen::PKCS_RSA_SHA256, "idfed test IdP (RSA)"))
}

pub fn other_rsa() -> &'static Identity {
    static ID: OnceLock<Identity> = OnceLock::new();
    ID.get_or_init(|| make(&rcgen::PKCS_RSA_SHA256, "attacker"))
}

pub fn ec_idp() -> &'static Identity {
    static ID: OnceLock<Identity> = OnceLock::new();
    ID.get_or_init(|| make(&rcgen::PKCS_ECDSA_P256_SHA256, "idfed test IdP (P-256)"))
}

pub fn sp_encryption() -> &'static Identity {
    static ID: OnceLock<Identity> = OnceLock::new();
    ID.get_or_init(|| make(&rcgen::PKCS_RSA_SHA256, "test SP (encryption)"))
}

/// A deterministic byte stream (splitmix64) standing in for the system random source.
pub struct Seeded(Cell<u64>);

impl Seeded {
    pub fn new(seed: u64) -> Self {
        Seeded(Cell::new(seed))
    }
}

impl Random for Seeded {
    fn fill(&self, dest: &mut [u8]) -> idfed_saml::Result<()> {
        for chunk in dest.chunks_mut(8) {
            let mut z = self.0.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
            self.0.set(z);
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            chunk.copy_from_slice(&z.to_le_bytes()[..chunk.len()]);
        }
        Ok(())
    }
}

/// The frozen clock of these tests.
pub fn now() -> Instant {
    Instant::parse("2026-11-23T10:00:00Z").unwrap()
}

pub const ISSUER: &str = "https://idp.example.test/app/aws";

pub fn aws_response() -> AwsResponse {
    AwsResponse::new(
        ISSUER,
        "alice@example.test",
        "alice@example.test",
        vec![
            RolePair {
                role_arn: "arn:aws:iam::111122223333:role/Okta_Role".into(),
                provider_arn: "arn:aws:iam::111122223333:saml-provider/Okta_Connect_Admin".into(),
            },
            RolePair {
                role_arn: "arn:aws:iam::111122223333:role/Agent".into(),
                provider_arn: "arn:aws:iam::111122223333:saml-provider/Okta_Connect_Admin".into(),
            },
        ],
    )
}

/// A signed AWS-shaped response from `idp`, issued at `at`.
pub fn signed_at(idp: &Identity, what: SignWhat, encrypt: Option<EncryptOptions>, at: Instant) -> String {
    let rng = Seeded::new(7);
    let spec = aws_response().to_spec(at, &rng).unwrap();
    let signer = Signer { key: &idp.key, certificate: Some(&idp.cert), options: SignOptions::for_key(&idp.key) };
    issue_response(&spec, &signer, what, encrypt.map(|o| (&sp_encryption().cert, o)), &rng).unwrap()
}

pub fn signed(idp: &Identity, what: SignWhat) -> String {
    signed_at(idp, what, None, now())
}

/// The AWS sign-in endpoint's view as an SP, trusting `idp`.
pub fn aws_sp(idp: &Identity) -> SpConfig {
    SpConfig {
        trusted: vec![idp.cert.clone()],
        audiences: vec!["urn:amazon:webservices".into()],
        recipient: Some("https://signin.aws.amazon.com/saml".into()),
        expected_issuer: Some(ISSUER.into()),
        skew_seconds: 60,
        ..SpConfig::default()
    }
}

/// `../shared/corpus` beside the repository, or `IDFED_CORPUS`.
pub fn corpus_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("IDFED_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus"));
    dir.join("MANIFEST.tsv").is_file().then_some(dir)
}

/// Whether third-party tools must be present (the test script sets this).
pub fn oracles_required() -> bool {
    std::env::var_os("IDFED_REQUIRE_ORACLES").is_some_and(|v| v == "1")
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}
