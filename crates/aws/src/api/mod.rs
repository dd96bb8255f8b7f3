//! The operations behind the wire protocols: Query actions for IAM and STS.

pub mod iam_actions;
pub mod sts_actions;

use idfed_saml::Instant;

use crate::protocol::sigv4::uri_encode;

/// AWS returns policy documents URL-encoded (botocore decodes them).
pub fn encoded_policy(document: &str) -> String {
    uri_encode(document, false)
}

/// ISO 8601 with seconds, as IAM writes dates.
pub fn date(instant: Instant) -> String {
    let text = Instant::from_unix_seconds(instant.unix_seconds()).to_string();
    text.strip_suffix(".000Z").map(|t| format!("{t}Z")).unwrap_or(text)
}
