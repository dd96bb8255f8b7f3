//! Identifiers in AWS's formats, drawn from the injected random source.

use idfed_saml::random::Random;

const UPPER_ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const SECRET_CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn draw(rng: &dyn Random, alphabet: &[u8], len: usize) -> String {
    let mut bytes = vec![0u8; len];
    if rng.fill(&mut bytes).is_err() {
        // Without randomness every secret and key ID would be predictable (and IDs would
        // collide). The system source never fails this way (AWS-LC aborts first), so only a
        // broken injected source gets here; stop rather than hand out guessable credentials,
        // as AWS-LC and Go's crypto/rand do.
        eprintln!("idfed: the random source failed; stopping rather than issuing predictable credentials");
        std::process::abort();
    }
    bytes.iter().map(|b| char::from(*alphabet.get(usize::from(*b) % alphabet.len()).unwrap_or(&b'A'))).collect()
}

/// `AKIA…` (long-term), `ASIA…` (session), `AROA…` (role), `AIDA…` (user), `ANPA…` (policy).
pub fn id(rng: &dyn Random, prefix: &str) -> String {
    let len = if prefix == "AKIA" || prefix == "ASIA" { 16 } else { 17 };
    format!("{prefix}{}", draw(rng, UPPER_ALNUM, len))
}

pub fn secret(rng: &dyn Random) -> String {
    draw(rng, SECRET_CHARS, 40)
}

pub fn session_token(rng: &dyn Random) -> String {
    format!("IQoJb3JpZ2luX2VjE{}", draw(rng, SECRET_CHARS, 300))
}

/// A 12-digit account id.
pub fn account_id(rng: &dyn Random) -> String {
    draw(rng, b"0123456789", 12)
}

/// `SAMLProviderUUID`: `[A-Z0-9]{22}`.
pub fn provider_uuid(rng: &dyn Random) -> String {
    format!("SAMLSP{}", draw(rng, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 16))
}

pub fn request_id(rng: &dyn Random) -> String {
    let hex = draw(rng, b"0123456789abcdef", 32);
    let part = |r: std::ops::Range<usize>| hex.get(r).unwrap_or_default();
    format!("{}-{}-{}-{}-{}", part(0..8), part(8..12), part(12..16), part(16..20), part(20..32))
}
