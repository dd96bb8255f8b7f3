//! SAML 2.0 for idfed: parsing untrusted XML with limits, exclusive canonicalization, strict
//! enveloped XML signatures, XML encryption of assertions, the HTTP-POST and HTTP-Redirect
//! bindings, metadata, and SP-side validation of responses.
//!
//! The crate is pure: it reads no clock and owns no random source. Callers pass `now` and a
//! `SecureRandom`, so every verdict can be replayed exactly in a test.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing))]
#![deny(unsafe_code)]

pub mod aws;
pub mod bindings;
pub mod build;
pub mod c14n;
pub mod dsig;
pub mod encoding;
pub mod error;
pub mod issue;
pub mod keys;
mod legacy_rsa;
pub mod metadata;
pub mod model;
pub mod ns;
pub mod random;
pub mod sp;
pub mod time;
pub mod xml;
pub mod xmlenc;

pub use error::{Error, Reason, Result};
pub use keys::{Certificate, SigningKey};
pub use time::Instant;
