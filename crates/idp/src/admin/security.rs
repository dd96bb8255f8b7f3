//! Security: signing keys and their rotation, open sessions, and the MFA policy.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;

use super::{Admin, Chrome, Fields, Outcome, Shared, admin, admin_form, change, done, logged, page, shown};
use crate::error::IdpError;
use crate::service::Idp;
use crate::tenant::MfaPolicy;

/// How many sessions the page lists (newest first).
const SESSIONS_SHOWN: u32 = 500;

struct KeyRow {
    role: &'static str,
    fingerprint: String,
    subject: String,
}

struct SessionRow {
    key: String,
    login: String,
    started: String,
    /// Recorded at most once a minute.
    last_used: String,
    expires: String,
    complete: bool,
}

#[derive(Template)]
#[template(path = "admin/security.html")]
struct SecurityPage {
    chrome: Chrome,
    keys: Vec<KeyRow>,
    has_next: bool,
    has_previous: bool,
    schedule: Vec<String>,
    sessions: Vec<SessionRow>,
    mfa: &'static str,
    enrolled: usize,
    people: usize,
}

fn time(seconds: i64) -> String {
    super::when(seconds.saturating_mul(1000))
}

async fn security_page(idp: &Idp, admin: &Admin, outcome: Outcome) -> Response {
    let signing = idp.signing();
    let keys =
        [("active", Some(&signing.active)), ("next", signing.next.as_ref()), ("previous", signing.previous.as_ref())]
            .into_iter()
            .filter_map(|(role, identity)| {
                identity.map(|i| KeyRow {
                    role,
                    fingerprint: i.certificate.fingerprint_sha256(),
                    subject: i.certificate.subject.clone(),
                })
            })
            .collect();
    let mut schedule = Vec::new();
    if let Some(at) = signing.schedule.activate_at {
        schedule.push(format!("The next key starts signing at {}.", time(at)));
    }
    if let Some(at) = signing.schedule.retire_at {
        schedule.push(format!("The previous key leaves metadata at {}.", time(at)));
    }
    let sessions = match idp.sessions(SESSIONS_SHOWN).await {
        Ok(list) => list
            .into_iter()
            .map(|(key, s)| SessionRow {
                key,
                last_used: time(s.last_active()),
                login: s.login,
                started: time(s.started),
                expires: time(s.expires),
                complete: s.complete,
            })
            .collect(),
        Err(e) => return crate::web::failure(&e),
    };
    let (mfa, people, logins) = idp.with_tenant(|t| {
        (t.policy.mfa.name(), t.users.len(), t.users.iter().map(|u| u.login.clone()).collect::<Vec<_>>())
    });
    let enrolled = idp.with_credentials(|c| logins.iter().filter(|l| c.has_totp(l)).count());
    let status = outcome.status();
    let template = SecurityPage {
        chrome: Chrome::new(admin, "security").with(outcome),
        keys,
        has_next: signing.next.is_some(),
        has_previous: signing.previous.is_some(),
        schedule,
        sessions,
        mfa,
        enrolled,
        people,
    };
    page(admin, idp, status, &template)
}

pub(super) async fn show(State(idp): Shared, headers: HeaderMap, Query(q): Query<HashMap<String, String>>) -> Response {
    match admin(&idp, &headers, "/admin/security").await {
        Ok(admin) => security_page(&idp, &admin, Outcome::from_query(&q)).await,
        Err(r) => r,
    }
}

/// `op` = stage, activate, retire, rotate (overlap_days), end-session (key) or mfa (policy).
pub(super) async fn action(State(idp): Shared, headers: HeaderMap, form: Fields) -> Response {
    let admin = match admin_form(&idp, &headers, &form, "/admin/security").await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let actor = admin.login.as_str();
    let result: Result<&str, IdpError> = match form.get("op") {
        "stage" => idp.stage_next_key(actor).await.map(|()| "keys"),
        "activate" => idp.activate_next_key(actor).await.map(|()| "keys"),
        "retire" => idp.retire_previous_key(actor).await.map(|()| "keys"),
        "rotate" => match form.get("overlap_days").parse::<i64>() {
            Ok(days) if (0..=365).contains(&days) => idp.rotate(actor, days * 86_400).await.map(|()| "keys"),
            _ => Err(IdpError::invalid("the overlap is a number of days from 0 to 365")),
        },
        "end-session" => {
            let key = form.get("key").to_owned();
            let owner = match idp.sessions(SESSIONS_SHOWN).await {
                Ok(list) => list.into_iter().find(|(k, _)| *k == key).map(|(_, s)| s.login),
                Err(e) => return crate::web::failure(&e),
            };
            let result = match owner {
                Some(_) => idp.end_session_by_key(&key).await,
                None => Err(IdpError::not_found("that session has ended already")),
            };
            logged(&idp, &admin, "user.session.revoke", owner.as_deref().unwrap_or("unknown"), "", &result).await;
            result.map(|()| "session-ended")
        }
        "mfa" => match MfaPolicy::parse(form.get("policy")) {
            Ok(policy) => change(&idp, &admin, "policy.mfa", policy.name(), "", |t| {
                t.policy.mfa = policy;
                Ok(())
            })
            .await
            .map(|()| "saved"),
            Err(e) => Err(e),
        },
        _ => Err(IdpError::invalid("unknown security action")),
    };
    match result {
        Ok(code) => done("/admin/security", code),
        Err(e) => {
            let outcome = shown(e);
            security_page(&idp, &admin, outcome).await
        }
    }
}
