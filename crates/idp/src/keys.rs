//! The IdP's signing identity: an RSA-2048 key and a self-signed certificate, made at first
//! start (AWS and most SPs pin the certificate and ignore its dates).

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::rsa::{KeyPair, KeySize};
use idfed_saml::{Certificate, Instant, SigningKey};

use crate::error::{IdpError, Result};

/// A key and its certificate, as PEM text and parsed.
pub struct Identity {
    pub key_pem: String,
    pub cert_pem: String,
    pub key: SigningKey,
    pub certificate: Certificate,
}

impl Identity {
    pub fn from_pem(key_pem: &str, cert_pem: &str) -> Result<Identity> {
        let key = SigningKey::from_pem(key_pem).map_err(|e| IdpError::internal(format!("signing key: {e}")))?;
        let certificate = Certificate::from_pem_or_base64(cert_pem)
            .map_err(|e| IdpError::internal(format!("signing certificate: {e}")))?
            .into_iter()
            .next()
            .ok_or_else(|| IdpError::internal("the signing certificate is empty"))?;
        Ok(Identity { key_pem: key_pem.to_owned(), cert_pem: cert_pem.to_owned(), key, certificate })
    }

    /// A new RSA-2048 key with a certificate for `common_name`, valid ten years from `now`.
    pub fn generate(common_name: &str, now: Instant) -> Result<Identity> {
        let failed = |e: &dyn std::fmt::Display| IdpError::internal(format!("generating the signing key: {e}"));
        let rsa = KeyPair::generate(KeySize::Rsa2048).map_err(|e| failed(&e))?;
        let der = AsDer::<Pkcs8V1Der>::as_der(&rsa).map_err(|e| failed(&e))?;
        let key_pair =
            rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&der.as_ref().to_vec().into(), &rcgen::PKCS_RSA_SHA256)
                .map_err(|e| failed(&e))?;
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).map_err(|e| failed(&e))?;
        params.distinguished_name.push(rcgen::DnType::CommonName, common_name);
        let (year, month, day) = civil_date(now);
        params.not_before = rcgen::date_time_ymd(year, month, day);
        params.not_after = rcgen::date_time_ymd(year + 10, month, day.min(28));
        let cert = params.self_signed(&key_pair).map_err(|e| failed(&e))?;
        Identity::from_pem(&key_pair.serialize_pem(), &cert.pem())
    }
}

fn civil_date(now: Instant) -> (i32, u8, u8) {
    let text = now.to_xml();
    let year = text.get(0..4).and_then(|s| s.parse::<i32>().ok());
    let number = |range: std::ops::Range<usize>| text.get(range).and_then(|s| s.parse::<u8>().ok());
    match (year, number(5..7), number(8..10)) {
        (Some(y), Some(m), Some(d)) => (y, m, d),
        _ => (2026, 1, 1),
    }
}
