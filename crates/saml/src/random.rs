//! The randomness the crate consumes (IDs, content keys, IVs) comes from the caller.

use crate::error::{Error, Reason, Result};

/// A source of random bytes. Production passes [`SystemRandom`]; tests pass a seeded one so
/// that IDs and ciphertexts are reproducible.
pub trait Random {
    fn fill(&self, dest: &mut [u8]) -> Result<()>;
}

/// The operating system's CSPRNG, through AWS-LC.
#[derive(Debug, Default)]
pub struct SystemRandom(aws_lc_rs::rand::SystemRandom);

impl SystemRandom {
    pub fn new() -> Self {
        SystemRandom(aws_lc_rs::rand::SystemRandom::new())
    }
}

impl Random for SystemRandom {
    fn fill(&self, dest: &mut [u8]) -> Result<()> {
        aws_lc_rs::rand::SecureRandom::fill(&self.0, dest)
            .map_err(|_| Error::new(Reason::Key, "the system random source failed"))
    }
}

/// RSA PKCS#1 v1.5 signatures are deterministic and AWS-LC draws ECDSA nonces itself, so the
/// signing calls get this stand-in rather than the caller's source.
pub(crate) fn signing_rng() -> aws_lc_rs::rand::SystemRandom {
    aws_lc_rs::rand::SystemRandom::new()
}
