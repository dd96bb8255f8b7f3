//! The configuration file (TOML) and the `IDFED_…` environment variables that override it.
//! Precedence: command-line flag, then environment, then file, then default. `idfed config
//! check` reports mistakes with their line and column; `idfed config print` shows the
//! effective configuration with secrets masked.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: Server,
    pub database: Database,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<Tls>,
    pub proxy: Proxy,
    pub sign_in: SignIn,
    pub metrics: Metrics,
    pub log: Log,
}

/// `/metrics`: open (for a scraper on a private network) unless a bearer token is set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Metrics {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Server {
    /// Address to listen on.
    pub listen: String,
    /// The external URL (entity IDs, metadata, links); default http:// + listen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    pub data_dir: PathBuf,
}

impl Default for Server {
    fn default() -> Self {
        Server { listen: "127.0.0.1:8080".into(), base_url: None, data_dir: PathBuf::from("./idfed-data") }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Database {
    /// `postgres://…`; unset: SQLite in the data directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tls {
    pub cert: PathBuf,
    pub key: PathBuf,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Proxy {
    /// Addresses or CIDR ranges whose X-Forwarded-* headers are believed.
    pub trusted: Vec<String>,
}

/// Sign-in: the per-source back-off (failures from one address within the window pause sign-in
/// from it; people in a browser they signed in from before are exempt), how long a sign-in lasts,
/// and how long it may go unused (0: no idle limit).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SignIn {
    pub source_failures: i64,
    pub source_window_minutes: i64,
    /// SP-initiated requests (AuthnRequests) one address may send a minute.
    pub sp_requests_per_minute: i64,
    pub session_hours: i64,
    pub idle_minutes: i64,
}

impl Default for SignIn {
    fn default() -> Self {
        let limit = idfed_idp::backoff::SourceLimit::default();
        SignIn {
            source_failures: limit.count,
            source_window_minutes: limit.window_seconds / 60,
            sp_requests_per_minute: idfed_idp::backoff::REQUESTS,
            session_hours: idfed_idp::service::SESSION_SECONDS / 3600,
            idle_minutes: idfed_idp::service::IDLE_SECONDS / 60,
        }
    }
}

impl SignIn {
    pub fn session_seconds(&self) -> i64 {
        self.session_hours.saturating_mul(3600)
    }

    /// `None` when sign-ins have no idle limit.
    pub fn idle_seconds(&self) -> Option<i64> {
        (self.idle_minutes != 0).then(|| self.idle_minutes.saturating_mul(60))
    }

    pub fn source_limit(&self) -> idfed_idp::backoff::SourceLimit {
        idfed_idp::backoff::SourceLimit {
            count: self.source_failures,
            window_seconds: self.source_window_minutes.saturating_mul(60),
        }
    }

    pub fn request_limit(&self) -> idfed_idp::backoff::SourceLimit {
        idfed_idp::backoff::SourceLimit::requests(self.sp_requests_per_minute)
    }
}

/// Bounds of the back-off settings: at least one failure and one minute; at most what no
/// office needs (a higher limit is the same as none) and a day.
const SOURCE_FAILURES: std::ops::RangeInclusive<i64> = 1..=100_000;
const SOURCE_WINDOW_MINUTES: std::ops::RangeInclusive<i64> = 1..=1440;
const SP_REQUESTS_PER_MINUTE: std::ops::RangeInclusive<i64> = 1..=100_000;
/// A sign-in lasts at least an hour and at most a week (a 12-hour contact-centre shift fits).
const SESSION_HOURS: std::ops::RangeInclusive<i64> = 1..=168;
/// An idle limit, when there is one, is at least five minutes and at most a day.
const IDLE_MINUTES: std::ops::RangeInclusive<i64> = 5..=1440;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Log {
    /// `human` or `json`.
    pub format: String,
    /// `error`, `warn`, `info`, `debug`.
    pub level: String,
}

impl Default for Log {
    fn default() -> Self {
        Log { format: "human".into(), level: "info".into() }
    }
}

/// Line and column (1-based) of a byte offset.
fn position(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset.min(text.len())).unwrap_or_default();
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

impl Config {
    /// Parses a file's text; errors read `FILE:LINE:COLUMN: what is wrong`.
    pub fn parse(text: &str, origin: &str) -> Result<Config, Vec<String>> {
        let config: Config = toml::from_str(text).map_err(|e| {
            let (line, column) = e.span().map_or((1, 1), |span| position(text, span.start));
            vec![format!("{origin}:{line}:{column}: {}", e.message())]
        })?;
        let errors = config.problems(|key| {
            locate(text, key).map(|(l, c)| format!("{origin}:{l}:{c}")).unwrap_or_else(|| origin.to_owned())
        });
        if errors.is_empty() { Ok(config) } else { Err(errors) }
    }

    /// What is wrong with the values (types are already right), each with where it is.
    fn problems(&self, at: impl Fn(&str) -> String) -> Vec<String> {
        let mut errors = Vec::new();
        if self.server.listen.parse::<SocketAddr>().is_err() {
            errors.push(format!(
                "{}: server.listen {:?} is not an address such as 127.0.0.1:8080",
                at("listen"),
                self.server.listen
            ));
        }
        if let Some(url) = &self.server.base_url
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            errors.push(format!("{}: server.base_url {url:?} must start with https:// or http://", at("base_url")));
        }
        if let Some(url) = &self.database.url
            && !(url.starts_with("postgres://") || url.starts_with("postgresql://"))
        {
            errors.push(format!("{}: database.url must be a postgres:// URL (SQLite needs none)", at("url")));
        }
        for entry in &self.proxy.trusted {
            let (address, bits) = entry.split_once('/').map_or((entry.as_str(), None), |(a, b)| (a, Some(b)));
            let ok = address.parse::<std::net::IpAddr>().is_ok()
                && bits.is_none_or(|b| b.parse::<u8>().is_ok_and(|n| n <= 128));
            if !ok {
                errors.push(format!("{}: proxy.trusted {entry:?} is not an IP address or CIDR range", at("trusted")));
            }
        }
        for (key, value, bounds) in [
            ("source_failures", self.sign_in.source_failures, SOURCE_FAILURES),
            ("source_window_minutes", self.sign_in.source_window_minutes, SOURCE_WINDOW_MINUTES),
            ("sp_requests_per_minute", self.sign_in.sp_requests_per_minute, SP_REQUESTS_PER_MINUTE),
            ("session_hours", self.sign_in.session_hours, SESSION_HOURS),
        ] {
            if !bounds.contains(&value) {
                let (low, high) = bounds.into_inner();
                errors.push(format!("{}: sign_in.{key} {value} must be from {low} to {high}", at(key)));
            }
        }
        let idle = self.sign_in.idle_minutes;
        if idle != 0 && !IDLE_MINUTES.contains(&idle) {
            let (low, high) = IDLE_MINUTES.into_inner();
            errors.push(format!(
                "{}: sign_in.idle_minutes {idle} must be from {low} to {high}, or 0 for no idle limit",
                at("idle_minutes")
            ));
        }
        if let Some(token) = &self.metrics.token
            && (token.trim().len() < 16 || token.trim() != token)
        {
            errors.push(format!(
                "{}: metrics.token must be at least 16 characters, without surrounding spaces",
                at("token")
            ));
        }
        if !matches!(self.log.format.as_str(), "human" | "json") {
            errors.push(format!("{}: log.format {:?}: use human or json", at("format"), self.log.format));
        }
        if !matches!(self.log.level.as_str(), "error" | "warn" | "info" | "debug") {
            errors.push(format!("{}: log.level {:?}: use error, warn, info or debug", at("level"), self.log.level));
        }
        errors
    }

    /// Applies `IDFED_…` variables (`env` reads one), then checks again.
    pub fn with_env(mut self, env: impl Fn(&str) -> Option<String>) -> Result<Config, Vec<String>> {
        if let Some(v) = env("IDFED_LISTEN") {
            self.server.listen = v;
        }
        if let Some(v) = env("IDFED_BASE_URL") {
            self.server.base_url = Some(v);
        }
        if let Some(v) = env("IDFED_DATA_DIR") {
            self.server.data_dir = PathBuf::from(v);
        }
        if let Some(v) = env("IDFED_DATABASE_URL") {
            self.database.url = Some(v);
        }
        match (env("IDFED_TLS_CERT"), env("IDFED_TLS_KEY")) {
            (Some(cert), Some(key)) => self.tls = Some(Tls { cert: cert.into(), key: key.into() }),
            (None, None) => {}
            _ => return Err(vec!["IDFED_TLS_CERT and IDFED_TLS_KEY go together".into()]),
        }
        if let Some(v) = env("IDFED_METRICS_TOKEN") {
            self.metrics.token = Some(v);
        }
        if let Some(v) = env("IDFED_TRUSTED_PROXIES") {
            self.proxy.trusted = v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect();
        }
        for (name, setting) in [
            ("IDFED_SIGN_IN_SOURCE_FAILURES", &mut self.sign_in.source_failures),
            ("IDFED_SIGN_IN_SOURCE_WINDOW_MINUTES", &mut self.sign_in.source_window_minutes),
            ("IDFED_SIGN_IN_SP_REQUESTS_PER_MINUTE", &mut self.sign_in.sp_requests_per_minute),
            ("IDFED_SIGN_IN_SESSION_HOURS", &mut self.sign_in.session_hours),
            ("IDFED_SIGN_IN_IDLE_MINUTES", &mut self.sign_in.idle_minutes),
        ] {
            if let Some(v) = env(name) {
                *setting = v.trim().parse().map_err(|_| vec![format!("{name} {v:?} is not a whole number")])?;
            }
        }
        if let Some(v) = env("IDFED_LOG_FORMAT") {
            self.log.format = v;
        }
        if let Some(v) = env("IDFED_LOG_LEVEL") {
            self.log.level = v;
        }
        let errors = self.problems(|key| format!("environment ({key})"));
        if errors.is_empty() { Ok(self) } else { Err(errors) }
    }

    /// The file (if any) plus the environment.
    pub fn load(path: Option<&Path>) -> Result<Config, Vec<String>> {
        let base = match path {
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|e| vec![format!("reading {}: {e}", p.display())])?;
                Config::parse(&text, &p.display().to_string())?
            }
            None => Config::default(),
        };
        base.with_env(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
    }

    /// The effective configuration as TOML, with the database password masked.
    pub fn printable(&self) -> String {
        let mut shown = self.clone();
        if let Some(url) = &shown.database.url {
            shown.database.url = Some(mask_password(url));
        }
        if shown.metrics.token.is_some() {
            shown.metrics.token = Some("****".into());
        }
        toml::to_string(&shown).unwrap_or_default()
    }
}

/// Where `key = …` first appears in the text.
fn locate(text: &str, key: &str) -> Option<(usize, usize)> {
    text.lines().enumerate().find_map(|(n, line)| {
        let trimmed = line.trim_start();
        let rest = trimmed.strip_prefix(key)?;
        rest.trim_start().starts_with('=').then(|| (n + 1, line.len() - trimmed.len() + 1))
    })
}

fn mask_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    match rest.split_once('@') {
        Some((credentials, host)) => match credentials.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:****@{host}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mistakes_are_reported_with_their_line_and_column() {
        let errors = Config::parse("[server]\nlisten = \"127.0.0.1:8080\"\nport = 1\n", "idfed.toml").unwrap_err();
        assert!(errors[0].starts_with("idfed.toml:3:1:") && errors[0].contains("unknown field `port`"), "{errors:?}");
        let errors = Config::parse("[server]\nlisten = 8080\n", "idfed.toml").unwrap_err();
        assert!(errors[0].starts_with("idfed.toml:2:10:"), "{errors:?}");
        let errors =
            Config::parse("[server]\n  listen = \"everywhere\"\n[log]\nformat = \"xml\"\n", "c.toml").unwrap_err();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].starts_with("c.toml:2:3: server.listen"), "{errors:?}");
        assert!(errors[1].starts_with("c.toml:4:1: log.format"), "{errors:?}");
    }

    #[test]
    fn the_environment_overrides_the_file_and_secrets_are_masked() {
        let file = Config::parse(
            "[server]\nlisten = \"127.0.0.1:8080\"\n[database]\nurl = \"postgres://idfed:s3cret@db/idfed\"\n",
            "f",
        )
        .unwrap();
        let vars = |name: &str| match name {
            "IDFED_LISTEN" => Some("0.0.0.0:9090".to_owned()),
            "IDFED_TRUSTED_PROXIES" => Some("10.0.0.0/8, 127.0.0.1".to_owned()),
            _ => None,
        };
        let config = file.with_env(vars).unwrap();
        assert_eq!(config.server.listen, "0.0.0.0:9090");
        assert_eq!(config.proxy.trusted, ["10.0.0.0/8", "127.0.0.1"]);
        let printed = config.printable();
        assert!(printed.contains("postgres://idfed:****@db/idfed") && !printed.contains("s3cret"), "{printed}");
        let bad = Config::default().with_env(|n| (n == "IDFED_TLS_CERT").then(|| "c.pem".to_owned())).unwrap_err();
        assert!(bad[0].contains("go together"));
    }

    #[test]
    fn the_sign_in_back_off_is_configurable_within_bounds() {
        assert_eq!(Config::default().sign_in.source_limit(), idfed_idp::backoff::SourceLimit::default());
        let file = Config::parse("[sign_in]\nsource_failures = 200\nsource_window_minutes = 5\n", "f").unwrap();
        assert_eq!(file.sign_in.source_limit(), idfed_idp::backoff::SourceLimit { count: 200, window_seconds: 300 });
        assert_eq!(Config::default().sign_in.request_limit(), idfed_idp::backoff::SourceLimit::requests(300));
        let busy = Config::parse("[sign_in]\nsp_requests_per_minute = 2000\n", "f").unwrap();
        assert_eq!(busy.sign_in.request_limit(), idfed_idp::backoff::SourceLimit { count: 2000, window_seconds: 60 });
        let none = Config::parse("[sign_in]\nsp_requests_per_minute = 0\n", "f").unwrap_err();
        assert!(none[0].starts_with("f:2:1: sign_in.sp_requests_per_minute 0 must be from 1 to 100000"), "{none:?}");
        let errors = Config::parse("[sign_in]\nsource_failures = 0\nsource_window_minutes = 2000\n", "f").unwrap_err();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].starts_with("f:2:1: sign_in.source_failures 0 must be from 1 to 100000"), "{errors:?}");
        assert!(errors[1].starts_with("f:3:1: sign_in.source_window_minutes 2000"), "{errors:?}");
        let vars = |name: &str| (name == "IDFED_SIGN_IN_SOURCE_FAILURES").then(|| "500".to_owned());
        assert_eq!(file.clone().with_env(vars).unwrap().sign_in.source_failures, 500);
        let typo = |name: &str| (name == "IDFED_SIGN_IN_SOURCE_WINDOW_MINUTES").then(|| "15m".to_owned());
        assert!(file.with_env(typo).unwrap_err()[0].contains("is not a whole number"));
    }

    #[test]
    fn a_metrics_token_is_checked_and_never_printed() {
        let file = Config::parse("[metrics]\ntoken = \"metrics-token-0123456789\"\n", "f").unwrap();
        assert_eq!(file.metrics.token.as_deref(), Some("metrics-token-0123456789"));
        let printed = file.printable();
        assert!(printed.contains("****") && !printed.contains("metrics-token-0123456789"), "{printed}");
        let short = Config::parse("[metrics]\ntoken = \"short\"\n", "f").unwrap_err();
        assert!(short[0].starts_with("f:2:1: metrics.token must be at least 16 characters"), "{short:?}");
        let env = |name: &str| (name == "IDFED_METRICS_TOKEN").then(|| "from-the-environment-1234".to_owned());
        assert_eq!(
            Config::default().with_env(env).unwrap().metrics.token.as_deref(),
            Some("from-the-environment-1234")
        );
        let bad = |name: &str| (name == "IDFED_METRICS_TOKEN").then(|| "tiny".to_owned());
        assert!(Config::default().with_env(bad).is_err());
    }

    #[test]
    fn how_long_a_sign_in_lasts_is_configurable_within_bounds() {
        assert_eq!(Config::default().sign_in.session_seconds(), idfed_idp::service::SESSION_SECONDS);
        let shift = Config::parse("[sign_in]\nsession_hours = 12\n", "f").unwrap();
        assert_eq!(shift.sign_in.session_seconds(), 12 * 3600);
        assert_eq!(Config::default().sign_in.idle_seconds(), Some(idfed_idp::service::IDLE_SECONDS));
        let idle = |text: &str| Config::parse(&format!("[sign_in]\nidle_minutes = {text}\n"), "f");
        assert_eq!(idle("30").unwrap().sign_in.idle_seconds(), Some(1800));
        assert_eq!(idle("0").unwrap().sign_in.idle_seconds(), None, "0 turns the idle limit off");
        for refused in ["4", "1441", "-1"] {
            let errors = idle(refused).unwrap_err();
            assert!(errors[0].contains("sign_in.idle_minutes"), "{refused}: {errors:?}");
        }
        let vars = |name: &str| (name == "IDFED_SIGN_IN_IDLE_MINUTES").then(|| "15".to_owned());
        assert_eq!(Config::default().with_env(vars).unwrap().sign_in.idle_seconds(), Some(900));
        let errors = Config::parse("[sign_in]\nsession_hours = 0\n", "f").unwrap_err();
        assert!(errors[0].starts_with("f:2:1: sign_in.session_hours 0 must be from 1 to 168"), "{errors:?}");
        assert!(Config::parse("[sign_in]\nsession_hours = 169\n", "f").is_err());
        let vars = |name: &str| (name == "IDFED_SIGN_IN_SESSION_HOURS").then(|| "2".to_owned());
        assert_eq!(shift.with_env(vars).unwrap().sign_in.session_seconds(), 7200);
    }
}
