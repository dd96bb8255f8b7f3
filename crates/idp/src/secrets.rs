//! Secrets at rest (signing keys, API integration secrets, TOTP seeds): AES-256-GCM under a
//! key the operator holds (a file in the data directory, or `IDFED_SECRET_KEY`). Sealed values
//! read `sealed:v1:<base64 of nonce ‖ ciphertext ‖ tag>`; anything else is plain text an
//! administrator wrote, and is sealed when it is stored. The key is rotatable: a sealer holds
//! the current key (which seals) and earlier ones (which still open), and `Idp::reseal`
//! rewrites everything under the current key.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use idfed_saml::random::Random;

use crate::error::{IdpError, Result};

const PREFIX: &str = "sealed:v1:";

pub struct Sealer {
    /// The current key first (it seals); the others only open.
    keys: Vec<LessSafeKey>,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(..)")
    }
}

impl Sealer {
    /// A sealer from 32 key bytes.
    pub fn new(key: &[u8]) -> Result<Sealer> {
        let unbound = UnboundKey::new(&AES_256_GCM, key)
            .map_err(|_| IdpError::invalid("the secret key must be 32 bytes (44 characters of base64)"))?;
        Ok(Sealer { keys: vec![LessSafeKey::new(unbound)] })
    }

    /// This sealer, also opening what `earlier` sealed (keys being rotated out).
    pub fn with_earlier(mut self, earlier: Sealer) -> Sealer {
        self.keys.extend(earlier.keys);
        self
    }

    /// How many keys open secrets (1 when no rotation is under way).
    pub fn key_count(&self) -> usize {
        self.keys.len()
    }

    /// A sealed value sealed again under the current key (plain values are sealed).
    pub fn reseal(&self, text: &str, rng: &dyn Random) -> Result<String> {
        self.seal(&self.open(text)?, rng)
    }

    /// A sealer from the base64 text of a key file or `IDFED_SECRET_KEY`.
    pub fn from_base64(text: &str) -> Result<Sealer> {
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|_| IdpError::invalid("the secret key is not base64 (expected 44 characters)"))?;
        Sealer::new(&bytes)
    }

    /// New key text (base64 of 32 random bytes), for a first start.
    pub fn generate_base64(rng: &dyn Random) -> Result<String> {
        let mut key = [0u8; 32];
        rng.fill(&mut key)?;
        Ok(STANDARD.encode(key))
    }

    pub fn is_sealed(text: &str) -> bool {
        text.starts_with(PREFIX)
    }

    pub fn seal(&self, plain: &str, rng: &dyn Random) -> Result<String> {
        self.seal_bound(PREFIX, plain, rng)
    }

    /// The plain text of a sealed value (plain values pass through).
    pub fn open(&self, text: &str) -> Result<String> {
        let Some(encoded) = text.strip_prefix(PREFIX) else { return Ok(text.to_owned()) };
        self.open_bound(PREFIX, encoded)
    }

    /// Seals `plain` for one `purpose`: it opens only through [`Sealer::open_for`] with the same
    /// purpose. A stored secret never opens as it, and it never opens as a stored secret, so
    /// sealed text someone obtained for one use (an administrator reading back an API secret
    /// they chose) cannot be passed off for another.
    pub fn seal_for(&self, purpose: &str, plain: &str, rng: &dyn Random) -> Result<String> {
        self.seal_bound(&format!("{PREFIX}{purpose}"), plain, rng)
    }

    /// The plain text of what [`Sealer::seal_for`] sealed for `purpose`; anything else, plain
    /// text included, is an error.
    pub fn open_for(&self, purpose: &str, text: &str) -> Result<String> {
        let encoded = text.strip_prefix(PREFIX).ok_or_else(damaged)?;
        self.open_bound(&format!("{PREFIX}{purpose}"), encoded)
    }

    /// Seals under the current key, authenticating `aad` with the text.
    fn seal_bound(&self, aad: &str, plain: &str, rng: &dyn Random) -> Result<String> {
        let mut nonce = [0u8; NONCE_LEN];
        rng.fill(&mut nonce)?;
        let mut data = plain.as_bytes().to_vec();
        let key = self.keys.first().ok_or_else(|| IdpError::internal("no sealing key"))?;
        key.seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(aad.as_bytes()), &mut data)
            .map_err(|_| IdpError::internal("sealing a secret failed"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        Ok(format!("{PREFIX}{}", STANDARD.encode(out)))
    }

    /// Opens the base64 after the prefix with any key, checking `aad`.
    fn open_bound(&self, aad: &str, encoded: &str) -> Result<String> {
        let bytes = STANDARD.decode(encoded).map_err(|_| damaged())?;
        let (nonce, sealed) = bytes.split_at_checked(NONCE_LEN).ok_or_else(damaged)?;
        for key in &self.keys {
            let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| damaged())?;
            let mut data = sealed.to_vec();
            if let Ok(plain) = key.open_in_place(nonce, Aad::from(aad.as_bytes()), &mut data) {
                return String::from_utf8(plain.to_vec()).map_err(|_| damaged());
            }
        }
        Err(damaged())
    }
}

fn damaged() -> IdpError {
    IdpError::internal("a stored secret cannot be opened: the secret key changed or the value is damaged")
}

#[cfg(test)]
mod tests {
    use super::*;
    use idfed_saml::random::SystemRandom;

    #[test]
    fn text_sealed_for_a_purpose_opens_only_for_that_purpose() {
        let rng = SystemRandom::new();
        let sealer = Sealer::new(&[3u8; 32]).unwrap();
        let device = sealer.seal_for("device", "entry", &rng).unwrap();
        assert_eq!(sealer.open_for("device", &device).unwrap(), "entry");
        assert!(sealer.open(&device).is_err(), "not a stored secret");
        assert!(sealer.open_for("other", &device).is_err(), "not another purpose");
        let secret = sealer.seal("entry", &rng).unwrap();
        assert!(sealer.open_for("device", &secret).is_err(), "a stored secret is not a device entry");
        assert!(sealer.open_for("device", "entry").is_err(), "plain text does not pass through");
        let rotated = Sealer::new(&[4u8; 32]).unwrap().with_earlier(Sealer::new(&[3u8; 32]).unwrap());
        assert_eq!(rotated.open_for("device", &device).unwrap(), "entry", "earlier keys still open");
    }

    #[test]
    fn sealed_secrets_open_only_with_their_key() {
        let rng = SystemRandom::new();
        let sealer = Sealer::from_base64(&Sealer::generate_base64(&rng).unwrap()).unwrap();
        let sealed = sealer.seal("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", &rng).unwrap();
        assert!(Sealer::is_sealed(&sealed) && !sealed.contains("wJalr"));
        assert_eq!(sealer.open(&sealed).unwrap(), "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
        assert_eq!(sealer.open("plain").unwrap(), "plain");
        let other = Sealer::from_base64(&Sealer::generate_base64(&rng).unwrap()).unwrap();
        assert!(other.open(&sealed).unwrap_err().message.contains("cannot be opened"));
        assert!(Sealer::from_base64("short").is_err());
    }

    #[test]
    fn a_rotated_key_opens_what_the_earlier_one_sealed_and_seals_anew() {
        let rng = SystemRandom::new();
        let old = Sealer::from_base64(&Sealer::generate_base64(&rng).unwrap()).unwrap();
        let sealed = old.seal("totp seed", &rng).unwrap();
        let new_text = Sealer::generate_base64(&rng).unwrap();
        let rotating = Sealer::from_base64(&new_text).unwrap().with_earlier(old);
        assert_eq!(rotating.key_count(), 2);
        assert_eq!(rotating.open(&sealed).unwrap(), "totp seed");
        let resealed = rotating.reseal(&sealed, &rng).unwrap();
        let new_only = Sealer::from_base64(&new_text).unwrap();
        assert_eq!(new_only.open(&resealed).unwrap(), "totp seed", "resealed under the new key alone");
        assert!(new_only.open(&sealed).is_err(), "the new key alone does not open the old value");
    }
}
