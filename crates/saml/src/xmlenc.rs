//! XML Encryption of assertions: RSA-OAEP key transport with AES-GCM (default) or AES-CBC.

use crate::random::Random;
use aws_lc_rs::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::cipher::{self, PaddedBlockDecryptingKey, PaddedBlockEncryptingKey, UnboundCipherKey};
use aws_lc_rs::rsa::{
    self, OaepPrivateDecryptingKey, OaepPublicEncryptingKey, PrivateDecryptingKey, PublicEncryptingKey,
};
use roxmltree::{Document, Node};

use crate::encoding::{base64_decode, base64_encode};
use crate::error::{Error, Reason, Result};
use crate::keys::{Certificate, pem_blocks};
use crate::ns::{DS, SAML, XENC, XENC11};
use crate::xml::{self, only_child, required_child, trimmed_text};

fn decryption(message: impl Into<String>) -> Error {
    Error::new(Reason::Decryption, message)
}

/// The block cipher that encrypts the assertion itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataAlgorithm {
    Aes128Gcm,
    Aes256Gcm,
    Aes128Cbc,
    Aes256Cbc,
}

impl DataAlgorithm {
    pub const fn uri(self) -> &'static str {
        match self {
            Self::Aes128Gcm => "http://www.w3.org/2009/xmlenc11#aes128-gcm",
            Self::Aes256Gcm => "http://www.w3.org/2009/xmlenc11#aes256-gcm",
            Self::Aes128Cbc => "http://www.w3.org/2001/04/xmlenc#aes128-cbc",
            Self::Aes256Cbc => "http://www.w3.org/2001/04/xmlenc#aes256-cbc",
        }
    }
    pub fn from_uri(uri: &str) -> Option<Self> {
        [Self::Aes128Gcm, Self::Aes256Gcm, Self::Aes128Cbc, Self::Aes256Cbc].into_iter().find(|a| a.uri() == uri)
    }
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "aes128-gcm" => Some(Self::Aes128Gcm),
            "aes256-gcm" => Some(Self::Aes256Gcm),
            "aes128-cbc" => Some(Self::Aes128Cbc),
            "aes256-cbc" => Some(Self::Aes256Cbc),
            _ => None,
        }
    }
    const fn key_len(self) -> usize {
        match self {
            Self::Aes128Gcm | Self::Aes128Cbc => 16,
            Self::Aes256Gcm | Self::Aes256Cbc => 32,
        }
    }
}

/// The OAEP digest used for key transport (MGF1 uses the same digest).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OaepDigest {
    Sha1,
    Sha256,
}

/// An SP's private key for key transport (PKCS#8 or PKCS#1 PEM).
pub struct DecryptionKey {
    der: Vec<u8>,
    modern: Option<PrivateDecryptingKey>,
}

impl std::fmt::Debug for DecryptionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DecryptionKey(..)")
    }
}

impl DecryptionKey {
    pub fn from_pem(text: &str) -> Result<Self> {
        let der = pem_blocks(text, "PRIVATE KEY")?
            .into_iter()
            .chain(pem_blocks(text, "RSA PRIVATE KEY")?)
            .next()
            .ok_or_else(|| Error::new(Reason::Key, "no RSA private key in the PEM text"))?;
        let modern = PrivateDecryptingKey::from_pkcs8(&der).ok();
        if modern.is_none() && !crate::legacy_rsa::is_rsa_private_key(&der) {
            return Err(Error::new(Reason::Key, "the private key is not an RSA key"));
        }
        Ok(DecryptionKey { der, modern })
    }

    fn unwrap_key(&self, digest: OaepDigest, wrapped: &[u8]) -> Result<Vec<u8>> {
        if let Some(key) = &self.modern {
            let alg = match digest {
                OaepDigest::Sha1 => &rsa::OAEP_SHA1_MGF1SHA1,
                OaepDigest::Sha256 => &rsa::OAEP_SHA256_MGF1SHA256,
            };
            let oaep = OaepPrivateDecryptingKey::new(key.clone()).map_err(|_| decryption("unusable RSA key"))?;
            let mut out = vec![0; oaep.min_output_size()];
            let plain = oaep
                .decrypt(alg, wrapped, &mut out, None)
                .map_err(|_| decryption("key transport did not decrypt with this key"))?;
            return Ok(plain.to_vec());
        }
        // Keys under 2048 bits (as in older SP configurations) go through AWS-LC's EVP API.
        crate::legacy_rsa::oaep_decrypt(&self.der, digest == OaepDigest::Sha256, wrapped)
            .ok_or_else(|| decryption("key transport did not decrypt with this key"))
    }
}

/// How to encrypt an assertion.
#[derive(Debug, Clone, Copy)]
pub struct EncryptOptions {
    pub data: DataAlgorithm,
    pub oaep: OaepDigest,
}

impl Default for EncryptOptions {
    fn default() -> Self {
        EncryptOptions { data: DataAlgorithm::Aes256Gcm, oaep: OaepDigest::Sha1 }
    }
}

/// Replaces the `saml:Assertion` of `document` with a `saml:EncryptedAssertion` for the holder
/// of `recipient`'s private key. Sign the assertion before, and the Response after, this step.
pub fn encrypt_assertion(
    document: &str,
    recipient: &Certificate,
    options: EncryptOptions,
    rng: &dyn Random,
) -> Result<String> {
    let doc = xml::parse(document, xml::Limits::MESSAGE)?;
    let assertion = doc
        .descendants()
        .find(|n| xml::is(*n, SAML, "Assertion"))
        .ok_or_else(|| Error::new(Reason::Malformed, "no Assertion to encrypt"))?;
    let range = assertion.range();
    let plaintext = document.get(range.clone()).unwrap_or_default().as_bytes();

    let fill = |buf: &mut [u8]| rng.fill(buf);
    let mut content_key = vec![0u8; options.data.key_len()];
    fill(&mut content_key)?;
    let cipher_value = match options.data {
        DataAlgorithm::Aes128Gcm | DataAlgorithm::Aes256Gcm => {
            let alg = if options.data == DataAlgorithm::Aes128Gcm { &aead::AES_128_GCM } else { &aead::AES_256_GCM };
            let key = LessSafeKey::new(UnboundKey::new(alg, &content_key).map_err(|_| decryption("bad AES key"))?);
            let mut iv = [0u8; 12];
            fill(&mut iv)?;
            let mut data = plaintext.to_vec();
            key.seal_in_place_append_tag(Nonce::assume_unique_for_key(iv), Aad::empty(), &mut data)
                .map_err(|_| decryption("AES-GCM encryption failed"))?;
            [iv.as_slice(), &data].concat()
        }
        DataAlgorithm::Aes128Cbc | DataAlgorithm::Aes256Cbc => {
            let alg = if options.data == DataAlgorithm::Aes128Cbc { &cipher::AES_128 } else { &cipher::AES_256 };
            let key = PaddedBlockEncryptingKey::cbc_pkcs7(
                UnboundCipherKey::new(alg, &content_key).map_err(|_| decryption("bad AES key"))?,
            )
            .map_err(|_| decryption("AES-CBC unavailable"))?;
            let mut iv = [0u8; 16];
            fill(&mut iv)?;
            let mut data = plaintext.to_vec();
            key.less_safe_encrypt(&mut data, cipher::EncryptionContext::Iv128(iv.into()))
                .map_err(|_| decryption("AES-CBC encryption failed"))?;
            [iv.as_slice(), &data].concat()
        }
    };

    let public = PublicEncryptingKey::from_der(&recipient.spki)
        .map_err(|_| Error::new(Reason::Key, "recipient certificate has no usable RSA key"))?;
    let oaep =
        OaepPublicEncryptingKey::new(public).map_err(|_| Error::new(Reason::Key, "recipient key unusable for OAEP"))?;
    let (oaep_alg, digest_uri) = match options.oaep {
        OaepDigest::Sha1 => (&rsa::OAEP_SHA1_MGF1SHA1, "http://www.w3.org/2000/09/xmldsig#sha1"),
        OaepDigest::Sha256 => (&rsa::OAEP_SHA256_MGF1SHA256, "http://www.w3.org/2001/04/xmlenc#sha256"),
    };
    let mut wrapped = vec![0; oaep.ciphertext_size()];
    let wrapped = oaep
        .encrypt(oaep_alg, &content_key, &mut wrapped, None)
        .map_err(|_| decryption("key transport encryption failed"))?;
    let mgf = match options.oaep {
        OaepDigest::Sha1 => String::new(),
        OaepDigest::Sha256 => {
            format!("<xenc11:MGF xmlns:xenc11=\"{XENC11}\" Algorithm=\"http://www.w3.org/2009/xmlenc11#mgf1sha256\"/>")
        }
    };
    let key_transport = if options.oaep == OaepDigest::Sha1 {
        "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"
    } else {
        "http://www.w3.org/2009/xmlenc11#rsa-oaep"
    };

    let encrypted = format!(
        "<saml:EncryptedAssertion xmlns:saml=\"{SAML}\"><xenc:EncryptedData xmlns:xenc=\"{XENC}\" Type=\"http://www.w3.org/2001/04/xmlenc#Element\">\
<xenc:EncryptionMethod Algorithm=\"{data_uri}\"/><ds:KeyInfo xmlns:ds=\"{DS}\"><xenc:EncryptedKey>\
<xenc:EncryptionMethod Algorithm=\"{key_transport}\"><ds:DigestMethod Algorithm=\"{digest_uri}\"/>{mgf}</xenc:EncryptionMethod>\
<ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>\
<xenc:CipherData><xenc:CipherValue>{wrapped}</xenc:CipherValue></xenc:CipherData></xenc:EncryptedKey></ds:KeyInfo>\
<xenc:CipherData><xenc:CipherValue>{data}</xenc:CipherValue></xenc:CipherData></xenc:EncryptedData></saml:EncryptedAssertion>",
        data_uri = options.data.uri(),
        cert = recipient.to_base64(),
        wrapped = base64_encode(wrapped),
        data = base64_encode(&cipher_value),
    );
    Ok([document.get(..range.start).unwrap_or_default(), &encrypted, document.get(range.end..).unwrap_or_default()]
        .concat())
}

/// Decrypts an `EncryptedAssertion` element with the first key that unwraps its content key,
/// returning the plaintext (the `saml:Assertion` element's text).
/// Which data algorithms decryption accepts. AES-CBC has no integrity: on an unsigned
/// Response its padding and parse errors are a decryption oracle (Jager and Somorovsky,
/// CCS 2011), so it is refused unless allowed or the Response signature already covers the
/// ciphertext.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CbcPolicy {
    Refuse,
    Allow,
}

/// The one message for every failure after the content key is unwrapped, so that a changed
/// ciphertext teaches an attacker nothing about the plaintext.
pub const UNDECRYPTABLE: &str = "the encrypted assertion could not be decrypted";

pub fn decrypt_assertion(encrypted_assertion: Node, keys: &[DecryptionKey], cbc: CbcPolicy) -> Result<String> {
    if keys.is_empty() {
        return Err(decryption("the assertion is encrypted and no decryption key is configured"));
    }
    let data = required_child(encrypted_assertion, XENC, "EncryptedData")?;
    let method = required_child(data, XENC, "EncryptionMethod")?.attribute("Algorithm").unwrap_or_default();
    let algorithm = DataAlgorithm::from_uri(method)
        .ok_or_else(|| decryption(format!("data encryption {method:?} is not supported")))?;
    if matches!(algorithm, DataAlgorithm::Aes128Cbc | DataAlgorithm::Aes256Cbc) && cbc == CbcPolicy::Refuse {
        return Err(decryption(
            "AES-CBC is refused on an unsigned Response (it has no integrity): sign the Response, use AES-GCM, or allow CBC explicitly",
        ));
    }
    let ciphertext = base64_decode(&trimmed_text(cipher_value(data)?))?;

    let all_keys = encrypted_assertion.descendants().filter(|n| xml::is(*n, XENC, "EncryptedKey")).count();
    let encrypted_keys = encrypted_key_candidates(encrypted_assertion, data)?;
    if encrypted_keys.is_empty() {
        return Err(decryption("no EncryptedKey in EncryptedData's KeyInfo or beside EncryptedData"));
    }
    if all_keys != encrypted_keys.len() || encrypted_keys.len() > MAX_ENCRYPTED_KEYS {
        return Err(decryption(format!(
            "{all_keys} EncryptedKey elements: at most {MAX_ENCRYPTED_KEYS}, in EncryptedData's KeyInfo or beside it"
        )));
    }
    let mut last_error = decryption("no key could decrypt the assertion");
    for encrypted_key in encrypted_keys {
        let digest = match oaep_digest(encrypted_key) {
            Ok(d) => d,
            Err(e) => {
                last_error = e;
                continue;
            }
        };
        let wrapped = base64_decode(&trimmed_text(cipher_value(encrypted_key)?))?;
        for key in keys {
            let Ok(content_key) = key.unwrap_key(digest, &wrapped) else {
                continue;
            };
            if content_key.len() != algorithm.key_len() {
                last_error = decryption("content key has the wrong length for the data algorithm");
                continue;
            }
            let plain = decrypt_data(algorithm, &content_key, &ciphertext).map_err(|_| decryption(UNDECRYPTABLE))?;
            return String::from_utf8(plain).map_err(|_| decryption(UNDECRYPTABLE));
        }
    }
    Err(last_error)
}

/// Each EncryptedKey costs an RSA private-key operation per configured key, so only a few are
/// looked at, and only where XML-Enc puts them for SAML.
const MAX_ENCRYPTED_KEYS: usize = 4;

fn encrypted_key_candidates<'a, 'i>(
    encrypted_assertion: Node<'a, 'i>,
    data: Node<'a, 'i>,
) -> Result<Vec<Node<'a, 'i>>> {
    let mut out: Vec<Node> = xml::children(encrypted_assertion, XENC, "EncryptedKey").collect();
    if let Some(key_info) = only_child(data, DS, "KeyInfo")? {
        out.extend(xml::children(key_info, XENC, "EncryptedKey"));
    }
    Ok(out)
}

fn cipher_value<'a, 'i>(node: Node<'a, 'i>) -> Result<Node<'a, 'i>> {
    required_child(required_child(node, XENC, "CipherData")?, XENC, "CipherValue")
}

fn oaep_digest(encrypted_key: Node) -> Result<OaepDigest> {
    let method = required_child(encrypted_key, XENC, "EncryptionMethod")?;
    let digest = only_child(method, DS, "DigestMethod")?.and_then(|d| d.attribute("Algorithm"));
    let mgf = only_child(method, XENC11, "MGF")?.and_then(|m| m.attribute("Algorithm"));
    let digest = match digest {
        None | Some("http://www.w3.org/2000/09/xmldsig#sha1") => OaepDigest::Sha1,
        Some("http://www.w3.org/2001/04/xmlenc#sha256") => OaepDigest::Sha256,
        Some(other) => {
            return Err(decryption(format!("OAEP digest {other:?} is not supported")));
        }
    };
    match (method.attribute("Algorithm").unwrap_or_default(), mgf) {
        ("http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p", None) if digest == OaepDigest::Sha1 => Ok(digest),
        ("http://www.w3.org/2009/xmlenc11#rsa-oaep", None) if digest == OaepDigest::Sha1 => Ok(digest),
        ("http://www.w3.org/2009/xmlenc11#rsa-oaep", Some("http://www.w3.org/2009/xmlenc11#mgf1sha256"))
            if digest == OaepDigest::Sha256 =>
        {
            Ok(digest)
        }
        (alg, mgf) => {
            Err(decryption(format!("key transport {alg:?} with MGF {mgf:?} and this digest is not supported")))
        }
    }
}

fn decrypt_data(algorithm: DataAlgorithm, key: &[u8], ciphertext: &[u8]) -> Result<Vec<u8>> {
    match algorithm {
        DataAlgorithm::Aes128Gcm | DataAlgorithm::Aes256Gcm => {
            let alg = if algorithm == DataAlgorithm::Aes128Gcm { &aead::AES_128_GCM } else { &aead::AES_256_GCM };
            let (iv, rest) =
                ciphertext.split_at_checked(12).ok_or_else(|| decryption("GCM data shorter than its IV"))?;
            let nonce = Nonce::try_assume_unique_for_key(iv).map_err(|_| decryption("bad GCM IV"))?;
            let key = LessSafeKey::new(UnboundKey::new(alg, key).map_err(|_| decryption("bad AES key"))?);
            let mut data = rest.to_vec();
            let plain = key
                .open_in_place(nonce, Aad::empty(), &mut data)
                .map_err(|_| decryption("AES-GCM authentication failed"))?;
            Ok(plain.to_vec())
        }
        DataAlgorithm::Aes128Cbc | DataAlgorithm::Aes256Cbc => {
            let alg = if algorithm == DataAlgorithm::Aes128Cbc { &cipher::AES_128 } else { &cipher::AES_256 };
            let (iv, rest) =
                ciphertext.split_at_checked(16).ok_or_else(|| decryption("CBC data shorter than its IV"))?;
            if rest.is_empty() || rest.len() % 16 != 0 {
                return Err(decryption("CBC data is not a whole number of blocks"));
            }
            let iv: [u8; 16] = iv.try_into().map_err(|_| decryption("bad CBC IV"))?;
            // XML-Enc padding: only the last byte (the pad length) is defined.
            let key = PaddedBlockDecryptingKey::cbc_iso10126(
                UnboundCipherKey::new(alg, key).map_err(|_| decryption("bad AES key"))?,
            )
            .map_err(|_| decryption("AES-CBC unavailable"))?;
            let mut data = rest.to_vec();
            let plain = key
                .decrypt(&mut data, cipher::DecryptionContext::Iv128(iv.into()))
                .map_err(|_| decryption("AES-CBC decryption failed (bad key or padding)"))?;
            Ok(plain.to_vec())
        }
    }
}

/// Replaces the EncryptedAssertion of `document` with its decrypted Assertion and returns the
/// new document text.
pub fn decrypt_in_place(
    doc: &Document,
    encrypted_assertion: Node,
    keys: &[DecryptionKey],
    cbc: CbcPolicy,
) -> Result<String> {
    let plain = decrypt_assertion(encrypted_assertion, keys, cbc)?;
    let plain = strip_declaration(&plain);
    let text = doc.input_text();
    let range = encrypted_assertion.range();
    Ok([text.get(..range.start).unwrap_or_default(), plain, text.get(range.end..).unwrap_or_default()].concat())
}

/// The plaintext without a leading BOM, whitespace or XML declaration of any form.
fn strip_declaration(plain: &str) -> &str {
    let trimmed = plain.trim_start_matches('\u{feff}').trim_start();
    match trimmed.strip_prefix("<?xml") {
        Some(rest) => rest.find("?>").and_then(|end| rest.get(end + 2..)).unwrap_or(trimmed).trim_start(),
        None => trimmed,
    }
}
