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

/// The page of `all` from `start` holding at most `size` items, and where the next page starts
/// when there are more (what a list's marker or next token carries).
pub fn page<T>(all: &[T], start: usize, size: usize) -> (&[T], Option<usize>) {
    let rest = all.get(start..).unwrap_or_default();
    let page = rest.get(..size).unwrap_or(rest);
    let end = start.saturating_add(page.len());
    (page, (end < all.len()).then_some(end))
}
