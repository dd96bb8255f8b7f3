//! Issuing a signed (and optionally encrypted) Response: the IdP's one call.

use crate::random::Random;

use crate::build::{ResponseSpec, StatusResponseSpec, response_xml, status_response_xml};
use crate::dsig::{SignOptions, sign_element};
use crate::error::Result;
use crate::keys::{Certificate, SigningKey};
use crate::xmlenc::{EncryptOptions, encrypt_assertion};

/// Which elements carry a signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SignWhat {
    #[default]
    Assertion,
    Response,
    Both,
}

impl SignWhat {
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "assertion" => Some(SignWhat::Assertion),
            "response" => Some(SignWhat::Response),
            "both" => Some(SignWhat::Both),
            _ => None,
        }
    }
}

/// The IdP's key, the certificate published for it, and how to sign.
#[derive(Debug)]
pub struct Signer<'a> {
    pub key: &'a SigningKey,
    pub certificate: Option<&'a Certificate>,
    pub options: SignOptions,
}

/// Builds the Response of `spec`, signs the Assertion and/or the Response, and encrypts the
/// Assertion for `encrypt_for` when given (assertion signed before encryption, response after).
pub fn issue_response(
    spec: &ResponseSpec,
    signer: &Signer,
    what: SignWhat,
    encrypt_for: Option<(&Certificate, EncryptOptions)>,
    rng: &dyn Random,
) -> Result<String> {
    let mut xml = response_xml(spec)?;
    if matches!(what, SignWhat::Assertion | SignWhat::Both) {
        xml = sign_element(&xml, &spec.assertion_id, signer.key, signer.certificate, &signer.options)?;
    }
    if let Some((recipient, options)) = encrypt_for {
        xml = encrypt_assertion(&xml, recipient, options, rng)?;
    }
    if matches!(what, SignWhat::Response | SignWhat::Both) {
        xml = sign_element(&xml, &spec.response_id, signer.key, signer.certificate, &signer.options)?;
    }
    Ok(xml)
}

/// Builds and signs a Response that carries only a status (an error answer to an AuthnRequest).
pub fn issue_status_response(spec: &StatusResponseSpec, signer: &Signer) -> Result<String> {
    let xml = status_response_xml(spec)?;
    sign_element(&xml, &spec.id, signer.key, signer.certificate, &signer.options)
}
