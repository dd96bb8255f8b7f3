//! The system log, filtered by person, app, event and time, newest first.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;

use super::{Chrome, Outcome, Shared, admin, page};
use idfed_saml::Instant;

const SHOWN: u32 = 200;

struct Row {
    at: String,
    actor: String,
    event: String,
    target: String,
    app: String,
    outcome: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "admin/log.html")]
struct LogPage {
    chrome: Chrome,
    actor: String,
    app: String,
    event: String,
    since: String,
    until: String,
    rows: Vec<Row>,
    older: Option<String>,
}

/// A time typed in the filter: RFC 3339, or a browser's `datetime-local` value (read as UTC).
fn typed_time(text: &str) -> Result<Option<i64>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let full = match text.len() {
        16 => format!("{text}:00Z"),
        19 => format!("{text}Z"),
        _ => text.to_owned(),
    };
    Instant::parse(&full)
        .map(|i| Some(i.unix_millis()))
        .map_err(|_| format!("{text:?} is not a time (2026-12-02T10:00)"))
}

/// An event's detail as `key: value` pairs (lists joined), for reading rather than parsing.
fn readable_detail(json: &str) -> String {
    let Ok(serde_json::Value::Object(fields)) = serde_json::from_str::<serde_json::Value>(json) else {
        return json.to_owned();
    };
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    fields
        .iter()
        .map(|(key, value)| match value {
            serde_json::Value::Array(items) => {
                format!("{key}: {}", items.iter().map(text).collect::<Vec<_>>().join(", "))
            }
            other => format!("{key}: {}", text(other)),
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

pub(super) async fn show(State(idp): Shared, headers: HeaderMap, Query(q): Query<HashMap<String, String>>) -> Response {
    let admin = match admin(&idp, &headers, "/admin/log").await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let field = |name: &str| q.get(name).map(|v| v.trim().to_owned()).unwrap_or_default();
    let (actor, app, event, since, until) =
        (field("actor"), field("app"), field("event"), field("since"), field("until"));
    let some = |v: &String| Some(v.clone()).filter(|v| !v.is_empty());
    let mut outcome = Outcome::None;
    let mut time = |text: &str| match typed_time(text) {
        Ok(t) => t,
        Err(message) => {
            outcome = Outcome::Error(message);
            None
        }
    };
    let filter = idfed_store::EventFilter {
        actor: some(&actor),
        app: some(&app),
        event: some(&event),
        since: time(&since),
        until: time(&until),
        limit: SHOWN,
    };
    let events = match idp.events(&filter).await {
        Ok(events) => events,
        Err(e) => return crate::web::failure(&e),
    };
    let older = (events.len() == SHOWN as usize).then(|| {
        let oldest = events.last().map_or(0, |e| e.at - 1);
        let until = Instant::from_unix_millis(oldest).to_xml();
        format!(
            "/admin/log?actor={}&app={}&event={}&since={}&until={}",
            crate::web::percent_encode(&actor),
            crate::web::percent_encode(&app),
            crate::web::percent_encode(&event),
            crate::web::percent_encode(&since),
            crate::web::percent_encode(&until)
        )
    });
    let rows = events
        .into_iter()
        .map(|e| Row {
            at: super::when(e.at),
            actor: e.actor,
            event: e.event,
            target: e.target,
            app: e.app,
            outcome: e.outcome,
            detail: readable_detail(&e.detail),
        })
        .collect();
    let status = outcome.status();
    let template =
        LogPage { chrome: Chrome::new(&admin, "log").with(outcome), actor, app, event, since, until, rows, older };
    page(&admin, &idp, status, &template)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_read_as_pairs() {
        assert_eq!(
            readable_detail(r#"{"via":"admin console","roles":["a","b"],"n":3}"#),
            "n: 3 · roles: a, b · via: admin console"
        );
        assert_eq!(readable_detail("{}"), "");
        assert_eq!(readable_detail("not json"), "not json");
    }

    #[test]
    fn browser_times_are_read_as_utc_and_nonsense_is_refused() {
        let at = typed_time("2026-12-02T10:00").unwrap().unwrap();
        assert_eq!(at, Instant::parse("2026-12-02T10:00:00Z").unwrap().unix_millis());
        assert_eq!(typed_time("  ").unwrap(), None);
        assert!(typed_time("yesterday").is_err());
    }
}
