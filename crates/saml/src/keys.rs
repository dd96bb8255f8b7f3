//! Certificates, public keys and signing keys, from PEM or DER.

use std::sync::{Arc, OnceLock};

use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair, ParsedPublicKey, RsaKeyPair, VerificationAlgorithm};

use crate::encoding::base64_decode;
use crate::error::{Error, Reason, Result};

fn key_error(message: impl Into<String>) -> Error {
    Error::new(Reason::Key, message)
}

/// Elliptic curves the signature profile allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Curve {
    P256,
    P384,
}

/// A public key taken from a trusted certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKey {
    /// PKCS#1 RSAPublicKey DER and modulus size in bits.
    Rsa { pkcs1: Vec<u8>, bits: usize },
    /// Uncompressed point.
    Ec { curve: Curve, point: Vec<u8> },
}

/// An X.509 certificate trusted by configuration. Validity dates are not checked: the
/// certificate is pinned, as AWS and SAML SPs pin it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    pub der: Vec<u8>,
    /// SubjectPublicKeyInfo DER, for key transport.
    pub spki: Vec<u8>,
    pub public_key: PublicKey,
    pub subject: String,
    parsed: ParsedKeys,
}

/// How many verification algorithms a certificate's key may be parsed for.
pub(crate) const VERIFY_ALGORITHMS: usize = 6;

/// The certificate's key parsed for verification, once per algorithm and shared by clones:
/// parsing an RSA key costs about a fifth of a verification.
#[derive(Clone, Default)]
struct ParsedKeys(Arc<[OnceLock<Option<ParsedPublicKey>>; VERIFY_ALGORITHMS]>);

impl PartialEq for ParsedKeys {
    /// Derived from the certificate's key, so it never tells two certificates apart.
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for ParsedKeys {}

impl std::fmt::Debug for ParsedKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ParsedKeys")
    }
}

const OID_RSA: &str = "1.2.840.113549.1.1.1";
const OID_EC: &str = "1.2.840.10045.2.1";
const OID_P256: &str = "1.2.840.10045.3.1.7";
const OID_P384: &str = "1.3.132.0.34";

impl Certificate {
    pub fn from_der(der: &[u8]) -> Result<Self> {
        let (_, cert) = x509_parser::parse_x509_certificate(der)
            .map_err(|e| key_error(format!("not an X.509 certificate: {e}")))?;
        let spki = cert.public_key();
        let key_bytes = spki.subject_public_key.data.to_vec();
        let public_key = match spki.algorithm.algorithm.to_id_string().as_str() {
            OID_RSA => {
                let bits = match spki.parsed() {
                    Ok(x509_parser::public_key::PublicKey::RSA(rsa)) => rsa.key_size(),
                    _ => {
                        return Err(key_error("RSA public key in the certificate does not parse"));
                    }
                };
                if bits < 1024 {
                    return Err(key_error(format!("RSA key of {bits} bits is too small (at least 1024)")));
                }
                PublicKey::Rsa { pkcs1: key_bytes, bits }
            }
            OID_EC => {
                let curve_oid = spki
                    .algorithm
                    .parameters
                    .as_ref()
                    .and_then(|p| p.as_oid().ok())
                    .map(|o| o.to_id_string())
                    .unwrap_or_default();
                let curve = match curve_oid.as_str() {
                    OID_P256 => Curve::P256,
                    OID_P384 => Curve::P384,
                    other => {
                        return Err(key_error(format!("elliptic curve {other} is not supported (P-256, P-384)")));
                    }
                };
                PublicKey::Ec { curve, point: key_bytes }
            }
            other => {
                return Err(key_error(format!("public key algorithm {other} is not supported")));
            }
        };
        Ok(Certificate {
            der: der.to_vec(),
            spki: spki.raw.to_vec(),
            public_key,
            subject: cert.subject().to_string(),
            parsed: ParsedKeys::default(),
        })
    }

    /// The key, parsed for `algorithm` (whose slot is `slot`, below [`VERIFY_ALGORITHMS`]) the
    /// first time it is asked for; `None` when the key does not parse for it.
    pub(crate) fn verification_key(
        &self,
        slot: usize,
        algorithm: &'static dyn VerificationAlgorithm,
    ) -> Option<&ParsedPublicKey> {
        let key_bytes = match &self.public_key {
            PublicKey::Rsa { pkcs1, .. } => pkcs1,
            PublicKey::Ec { point, .. } => point,
        };
        self.parsed.0.get(slot)?.get_or_init(|| ParsedPublicKey::new(algorithm, key_bytes).ok()).as_ref()
    }

    /// Every certificate in a PEM text, or the base64 DER of one (as in KeyInfo and metadata).
    pub fn from_pem_or_base64(text: &str) -> Result<Vec<Self>> {
        let blocks = pem_blocks(text, "CERTIFICATE")?;
        if blocks.is_empty() {
            let der = base64_decode(text).map_err(|_| key_error("no PEM certificate and not base64 DER"))?;
            // Some IdPs (ADFS exports) put a whole PEM text, base64-encoded, in X509Certificate.
            if let Some(pem) = std::str::from_utf8(&der).ok().filter(|t| t.contains("-----BEGIN CERTIFICATE-----")) {
                return pem_blocks(pem, "CERTIFICATE")?.iter().map(|d| Certificate::from_der(d)).collect();
            }
            return Ok(vec![Certificate::from_der(&der)?]);
        }
        blocks.iter().map(|der| Certificate::from_der(der)).collect()
    }

    /// Base64 DER, as written in `ds:X509Certificate`.
    pub fn to_base64(&self) -> String {
        crate::encoding::base64_encode(&self.der)
    }

    pub fn to_pem(&self) -> String {
        to_pem("CERTIFICATE", &self.der)
    }

    /// SHA-256 fingerprint, lowercase hex with colons.
    pub fn fingerprint_sha256(&self) -> String {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &self.der);
        digest.as_ref().iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":")
    }
}

/// A private key that signs (and, for RSA, decrypts key transport).
pub enum SigningKey {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair, Curve),
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SigningKey::Rsa(k) => write!(f, "SigningKey::Rsa({} bits)", k.public_modulus_len() * 8),
            SigningKey::Ec(_, c) => write!(f, "SigningKey::Ec({c:?})"),
        }
    }
}

impl SigningKey {
    /// From PEM: PKCS#8 (`PRIVATE KEY`), PKCS#1 (`RSA PRIVATE KEY`) or SEC1 (`EC PRIVATE KEY`).
    pub fn from_pem(text: &str) -> Result<Self> {
        if let Some(der) = pem_blocks(text, "PRIVATE KEY")?.first() {
            return Self::from_pkcs8(der);
        }
        if let Some(der) = pem_blocks(text, "RSA PRIVATE KEY")?.first() {
            return RsaKeyPair::from_der(der).map(SigningKey::Rsa).map_err(|e| key_error(format!("bad RSA key: {e}")));
        }
        if let Some(der) = pem_blocks(text, "EC PRIVATE KEY")?.first() {
            for (alg, curve) in [
                (&signature::ECDSA_P256_SHA256_FIXED_SIGNING, Curve::P256),
                (&signature::ECDSA_P384_SHA384_FIXED_SIGNING, Curve::P384),
            ] {
                if let Ok(k) = EcdsaKeyPair::from_private_key_der(alg, der) {
                    return Ok(SigningKey::Ec(k, curve));
                }
            }
            return Err(key_error("EC private key is not on P-256 or P-384"));
        }
        Err(key_error("no PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY block in the PEM text"))
    }

    pub fn from_pkcs8(der: &[u8]) -> Result<Self> {
        if let Ok(k) = RsaKeyPair::from_pkcs8(der) {
            return Ok(SigningKey::Rsa(k));
        }
        for (alg, curve) in [
            (&signature::ECDSA_P256_SHA256_FIXED_SIGNING, Curve::P256),
            (&signature::ECDSA_P384_SHA384_FIXED_SIGNING, Curve::P384),
        ] {
            if let Ok(k) = EcdsaKeyPair::from_pkcs8(alg, der) {
                return Ok(SigningKey::Ec(k, curve));
            }
        }
        Err(key_error("PKCS#8 key is neither RSA nor ECDSA P-256/P-384"))
    }

    /// The public half, comparable with a certificate's key.
    pub fn public_key(&self) -> PublicKey {
        match self {
            SigningKey::Rsa(k) => {
                PublicKey::Rsa { pkcs1: k.public_key().as_ref().to_vec(), bits: k.public_modulus_len() * 8 }
            }
            SigningKey::Ec(k, curve) => PublicKey::Ec { curve: *curve, point: k.public_key().as_ref().to_vec() },
        }
    }

    /// Signs `message` with the padding/hash the algorithm names (ECDSA in the fixed r‖s form
    /// XML-DSig uses).
    pub(crate) fn sign(&self, alg: crate::dsig::SignatureAlgorithm, message: &[u8]) -> Result<Vec<u8>> {
        use crate::dsig::SignatureAlgorithm as A;
        match (self, alg) {
            (_, A::RsaSha1) => Err(key_error("idfed does not sign with RSA-SHA1")),
            (SigningKey::Rsa(k), A::RsaSha256 | A::RsaSha384 | A::RsaSha512) => {
                let padding: &dyn signature::RsaEncoding = match alg {
                    A::RsaSha384 => &signature::RSA_PKCS1_SHA384,
                    A::RsaSha512 => &signature::RSA_PKCS1_SHA512,
                    _ => &signature::RSA_PKCS1_SHA256,
                };
                let mut out = vec![0; k.public_modulus_len()];
                k.sign(padding, &crate::random::signing_rng(), message, &mut out)
                    .map_err(|_| key_error("RSA signing failed"))?;
                Ok(out)
            }
            (SigningKey::Ec(k, Curve::P256), A::EcdsaSha256) | (SigningKey::Ec(k, Curve::P384), A::EcdsaSha384) => {
                Ok(k.sign(&crate::random::signing_rng(), message)
                    .map_err(|_| key_error("ECDSA signing failed"))?
                    .as_ref()
                    .to_vec())
            }
            _ => Err(key_error(format!("a {self:?} cannot sign with {}", alg.uri()))),
        }
    }

    /// The signature algorithm that suits this key by default.
    pub fn default_algorithm(&self) -> crate::dsig::SignatureAlgorithm {
        match self {
            SigningKey::Rsa(_) => crate::dsig::SignatureAlgorithm::RsaSha256,
            SigningKey::Ec(_, Curve::P256) => crate::dsig::SignatureAlgorithm::EcdsaSha256,
            SigningKey::Ec(_, Curve::P384) => crate::dsig::SignatureAlgorithm::EcdsaSha384,
        }
    }
}

/// The DER bodies of every `-----BEGIN {label}-----` block.
pub fn pem_blocks(text: &str, label: &str) -> Result<Vec<Vec<u8>>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(&begin) {
        let body_start = start + begin.len();
        let tail = rest.get(body_start..).unwrap_or_default();
        let stop = tail.find(&end).ok_or_else(|| key_error(format!("PEM block {label} has no END line")))?;
        let body = tail.get(..stop).unwrap_or_default();
        out.push(base64_decode(body).map_err(|_| key_error(format!("PEM block {label} is not base64")))?);
        rest = tail.get(stop + end.len()..).unwrap_or_default();
    }
    Ok(out)
}

pub fn to_pem(label: &str, der: &[u8]) -> String {
    let b64 = crate::encoding::base64_encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}
