//! The one place the CLI reads the wall clock; everything below it takes `now` as a value.

use idfed_saml::Instant;

#[allow(clippy::disallowed_methods)]
pub fn now() -> Instant {
    let since_epoch = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    Instant::from_unix_millis(i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX))
}

/// `--now RFC3339` when given, else the wall clock.
pub fn now_or(given: Option<&str>) -> Result<Instant, String> {
    match given {
        Some(text) => Instant::parse(text).map_err(|e| format!("--now: {e}")),
        None => Ok(now()),
    }
}
