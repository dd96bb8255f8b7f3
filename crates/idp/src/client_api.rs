//! The API programmatic clients use instead of scraping pages (`idfed aws login`,
//! `credential_process`): authenticate with password and TOTP, then ask for an app's SAML
//! response. JSON in and out; no cookies, so no CSRF; the same lockout and log as the pages.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Deserialize;
use serde_json::json;

use crate::credentials::{GENERIC_FAILURE, Refusal};
use crate::directory::UserStatus;
use crate::error::{ErrorKind, IdpError};
use crate::service::Idp;
use crate::sso::Request;

type Shared = State<Arc<Idp>>;

pub fn router(idp: Arc<Idp>) -> Router {
    Router::new()
        .route("/api/client/authn", post(authn))
        .route("/api/client/apps/{name}/saml", post(saml))
        .route("/api/client/logout", post(logout))
        .with_state(idp)
}

fn answer(status: StatusCode, value: serde_json::Value) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json"), (header::CACHE_CONTROL, "no-store")], value.to_string())
        .into_response()
}

fn refused(code: &str, message: &str) -> Response {
    answer(StatusCode::UNAUTHORIZED, json!({ "error": { "code": code, "message": message } }))
}

#[derive(Deserialize)]
struct Authn {
    username: String,
    password: String,
    /// The TOTP code, when the person has enrolled one.
    #[serde(default)]
    code: Option<String>,
    /// The `device` a previous successful sign-in from this client returned: the client's
    /// known-device entries (see `crate::devices`), which exempt its people from the
    /// per-source back-off as a browser's cookie does.
    #[serde(default)]
    device: Option<String>,
}

async fn authn(
    State(idp): Shared,
    axum::extract::Extension(crate::web::ClientIp(source)): axum::extract::Extension<crate::web::ClientIp>,
    body: Bytes,
) -> Response {
    let Ok(request) = serde_json::from_slice::<Authn>(&body) else {
        return IdpError::invalid(
            "send {\"username\": …, \"password\": …, \"code\": … (TOTP, when enrolled), \"device\": … (optional: \
             the string the last sign-in returned)}",
        )
        .into_response();
    };
    if let Err(e) = idp.refresh().await {
        return e.into_response();
    }
    let known = idp.with_tenant(|t| {
        t.user(request.username.trim()).filter(|u| u.status == UserStatus::Active).map(|u| u.login.clone())
    });
    let device = request.device.as_deref();
    let attempt = match idp.admit_attempt(source, device, known.as_deref().unwrap_or_default()).await {
        Ok(Ok(attempt)) => attempt,
        Ok(Err(wait)) => {
            idp.metrics.sign_in("backed_off");
            let mut response = answer(
                StatusCode::TOO_MANY_REQUESTS,
                json!({ "error": { "code": "backed_off", "message": "Too many failed sign-ins from your network; try again later." } }),
            );
            if let Ok(value) = axum::http::HeaderValue::from_str(&wait.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            return response;
        }
        Err(e) => return e.into_response(),
    };
    let login = known.clone().unwrap_or_else(|| request.username.clone());
    let now = idp.now();
    let checked = idp
        .change_credentials(|c| c.check_password(&login, &request.password, known.is_some(), attempt.origin(), now))
        .await;
    let actor = known.as_deref().unwrap_or("unknown");
    match checked {
        Err(e) => return e.into_response(),
        Ok(Err(refusal)) => {
            let reason = if matches!(refusal, Refusal::Locked { .. }) { "locked" } else { "bad credentials" };
            idp.metrics.sign_in(if reason == "locked" { "locked" } else { "failure" });
            idp.log(actor, "user.session.start", actor, "", false, json!({ "reason": reason, "via": "api" })).await;
            return refused("unauthenticated", GENERIC_FAILURE);
        }
        Ok(Ok(())) => {}
    }
    let enrolled = idp.with_credentials(|c| c.has_totp(&login));
    if !enrolled && idp.with_tenant(|t| t.requires_mfa(&login)) {
        idp.log(
            &login,
            "user.session.start",
            &login,
            "",
            false,
            json!({ "reason": "mfa enrollment due", "via": "api" }),
        )
        .await;
        // The password was right: enrollment being due is not a failed attempt.
        if let Err(e) = idp.attempt_succeeded(attempt).await {
            return e.into_response();
        }
        return refused(
            "mfa_enrollment_required",
            "Two-step verification is required: sign in once in the browser to set it up.",
        );
    }
    if enrolled {
        let Some(code) = request.code.as_deref().filter(|c| !c.trim().is_empty()) else {
            // The password was right: asking for the code is not a failed attempt.
            if let Err(e) = idp.attempt_succeeded(attempt).await {
                return e.into_response();
            }
            return refused("mfa_required", "Enter the current code from your authenticator app.");
        };
        let checked = idp.change_credentials(|c| c.check_totp(&login, code, attempt.origin(), now)).await;
        match checked {
            Err(e) => return e.into_response(),
            Ok(Err(_)) => {
                idp.log(&login, "user.mfa.verify", &login, "", false, json!({ "reason": "wrong code", "via": "api" }))
                    .await;
                return refused(
                    "mfa_invalid",
                    "That code is not valid. Enter the current code from your authenticator app.",
                );
            }
            Ok(Ok(())) => {}
        }
    }
    if let Err(e) = idp.attempt_succeeded(attempt).await {
        return e.into_response();
    }
    match idp.start_session(&login, true, enrolled).await {
        Ok(token) => {
            idp.log(&login, "user.session.start", &login, "", true, json!({ "via": "api" })).await;
            idp.metrics.sign_in("success");
            let expires = now.unix_seconds() + idp.session_seconds;
            let device = idp
                .device_cookie_after_sign_in(request.device.as_deref(), &login)
                .inspect_err(|e| eprintln!("idfed: remembering the device of {login} failed: {e}"))
                .ok();
            answer(StatusCode::OK, json!({ "session": token, "login": login, "expires": expires, "device": device }))
        }
        Err(e) => e.into_response(),
    }
}

/// The person behind `Authorization: Bearer <session>`.
async fn person(idp: &Idp, headers: &HeaderMap) -> Result<crate::service::Session, IdpError> {
    let token = crate::web::bearer(headers)
        .ok_or_else(|| IdpError::new(ErrorKind::Unauthenticated, "sign in first: POST /api/client/authn"))?;
    // Reading the session refreshes the cached tenant and credentials first.
    let session = idp
        .session(token.trim())
        .await?
        .ok_or_else(|| IdpError::new(ErrorKind::Unauthenticated, "the session has ended: sign in again"))?;
    let active = idp.with_tenant(|t| {
        t.user(&session.login).is_some_and(|u| u.status == UserStatus::Active) && session.satisfies(t)
    });
    if !active {
        return Err(IdpError::new(ErrorKind::Unauthenticated, "the session has ended: sign in again"));
    }
    Ok(session)
}

/// The signed response `name` would post for this person, and the roles in it.
async fn saml(State(idp): Shared, headers: HeaderMap, Path(name): Path<String>) -> Response {
    let (login, authenticated) = match person(&idp, &headers).await {
        Ok(session) => (session.login.clone(), session.authenticated()),
        Err(e) => return e.into_response(),
    };
    let issued = idp.issue(&name, &login, &Request { authenticated: Some(authenticated), ..Request::default() });
    let issued = match issued {
        Ok(issued) => issued,
        Err(e) => {
            idp.log(&login, "app.sso", &login, &name, false, json!({ "reason": e.message, "via": "api" })).await;
            return e.into_response();
        }
    };
    let roles: Vec<String> = issued
        .attributes
        .iter()
        .filter(|a| a.name == idfed_saml::aws::ATTR_ROLE)
        .flat_map(|a| a.values.iter().cloned())
        .collect();
    idp.log(&login, "app.sso", &login, &name, true, json!({ "acs": issued.acs_url, "roles": roles, "via": "api" }))
        .await;
    answer(
        StatusCode::OK,
        json!({
            "saml_response": idfed_saml::encoding::base64_encode(issued.xml.as_bytes()),
            "relay_state": issued.relay_state,
            "acs_url": issued.acs_url,
            "roles": roles,
        }),
    )
}

async fn logout(State(idp): Shared, headers: HeaderMap) -> Response {
    if let Some(token) = crate::web::bearer(&headers)
        && let Err(e) = idp.end_session(token.trim()).await
    {
        return e.into_response();
    }
    StatusCode::NO_CONTENT.into_response()
}
