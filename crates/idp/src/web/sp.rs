//! Requests from apps' SPs: SP-initiated sign-on (AuthnRequests by HTTP-Redirect and
//! HTTP-POST, held until their person signs in, answered with an assertion or a signed status)
//! and single logout.

use axum::http::Uri;
use idfed_saml::model::Status;

use super::*;
use crate::authn_context::{Shortfall, Strength, stated_class};

// ---- single logout --------------------------------------------------------------------------

/// SP-initiated single logout (HTTP-Redirect): ends the IdP session and answers the SP with a
/// signed LogoutResponse at its SLO URL. A request may end only the session of the person it
/// names (a signed request captured by one person does not sign out whoever opens it); an
/// unsigned one (the app has no request certificate) is confirmed by that person first: anyone
/// who knows a person's NameID could otherwise sign them out with a link.
pub(super) async fn sp_logout(State(idp): Shared, headers: HeaderMap, Path(name): Path<String>, uri: Uri) -> Response {
    let query = uri.query().unwrap_or_default();
    let logout = match read_logout(&idp, &name, query, crate::sp_initiated::MAX_AGE_SECONDS).await {
        Ok(logout) => logout,
        Err(response) => return response,
    };
    match named_session(&idp, &headers, &name, &logout).await {
        Ok(Some(_)) if !logout.signed => confirm_logout(&idp, &headers, &name, query),
        Ok(session) => end_and_answer(&idp, &headers, &name, &logout, session.as_ref()).await,
        Err(response) => response,
    }
}

/// The person's answer to [`confirm_logout`].
pub(super) async fn sp_logout_confirmed(
    State(idp): Shared,
    headers: HeaderMap,
    Path(name): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if !csrf_ok(&idp, &headers, &form) {
        return csrf_refused();
    }
    let query = form.get("request").map(String::as_str).unwrap_or_default();
    let logout = match read_logout(&idp, &name, query, crate::sp_initiated::CONFIRM_SECONDS).await {
        Ok(logout) => logout,
        Err(response) => return response,
    };
    match named_session(&idp, &headers, &name, &logout).await {
        Ok(session) => end_and_answer(&idp, &headers, &name, &logout, session.as_ref()).await,
        Err(response) => response,
    }
}

async fn read_logout(
    idp: &Idp,
    name: &str,
    query: &str,
    max_age: i64,
) -> Result<crate::sp_initiated::Logout, Response> {
    idp.refresh().await.map_err(|e| failure(&e))?;
    let endpoint = idp.app_endpoint(name, "slo");
    let at = crate::sp_initiated::Received { app: name, endpoint: &endpoint };
    let logout = idp.with_tenant(|t| crate::sp_initiated::logout_from_redirect(t, at, query, idp.now(), max_age));
    match logout {
        Ok(logout) => Ok(logout),
        Err(e) => {
            idp.log("anonymous", "app.logout_request", name, name, false, serde_json::json!({ "reason": e.message }))
                .await;
            Err(failure(&e))
        }
    }
}

/// The browser's session, if any; refused when the request names someone else.
async fn named_session(
    idp: &Idp,
    headers: &HeaderMap,
    name: &str,
    logout: &crate::sp_initiated::Logout,
) -> Result<Option<Session>, Response> {
    let Some(token) = cookie(headers, session_cookie(idp)) else { return Ok(None) };
    let Some(session) = idp.session(token).await.map_err(|e| failure(&e))? else { return Ok(None) };
    let expected = idp.with_tenant(|t| crate::sso::name_id_value(t, name, &session.login)).ok();
    if logout.name_id.is_none() || logout.name_id != expected {
        let detail = serde_json::json!({ "reason": "the LogoutRequest names another person" });
        idp.log(&session.login, "app.logout_request", name, name, false, detail).await;
        return Err(failure(&IdpError::invalid("This sign-out request does not name you; you are still signed in.")));
    }
    Ok(Some(session))
}

fn confirm_logout(idp: &Idp, headers: &HeaderMap, name: &str, query: &str) -> Response {
    let (csrf, fresh) = match csrf_token(idp, headers) {
        Ok(token) => token,
        Err(e) => return failure(&e),
    };
    let label = idp.with_tenant(|t| t.app(name).map(|a| a.label.clone())).unwrap_or_else(|| name.to_owned());
    let page = LogoutConfirmPage { csrf: &csrf, app_name: name, app_label: &label, request: query };
    with_csrf_cookie(render(StatusCode::OK, &page), idp, &csrf, fresh)
}

/// Ends the browser's IdP session (`session`, as [`named_session`] found it; logged) and sends
/// the SP its signed LogoutResponse. A request is answered once (a captured one replayed within
/// its window is refused).
async fn end_and_answer(
    idp: &Idp,
    headers: &HeaderMap,
    name: &str,
    logout: &crate::sp_initiated::Logout,
    session: Option<&Session>,
) -> Response {
    let until = logout.issued + crate::sp_initiated::CONFIRM_SECONDS + crate::sp_initiated::SKEW_SECONDS;
    match idp.first_sight(name, &format!("logout\n{}", logout.request_id), until).await {
        Ok(true) => {}
        Ok(false) => {
            let reason = format!("the LogoutRequest {} was already answered", logout.request_id);
            idp.log("anonymous", "app.logout_request", name, name, false, serde_json::json!({ "reason": reason }))
                .await;
            return failure(&IdpError::invalid("This sign-out request was already used."));
        }
        Err(e) => return failure(&e),
    }
    if let Some(session) = session {
        let detail = serde_json::json!({ "via": "slo" });
        idp.log(&session.login, "user.session.end", &session.login, name, true, detail).await;
    }
    if let Some(token) = cookie(headers, session_cookie(idp))
        && let Err(e) = idp.end_session(token).await
    {
        return failure(&e);
    }
    let built = idfed_saml::build::new_id(idp.rng.as_ref()).and_then(|id| {
        let xml = idfed_saml::build::logout_response_xml(
            &id,
            &logout.request_id,
            idp.now(),
            &idp.entity_id(name),
            &logout.slo_url,
            ns::STATUS_SUCCESS,
        )?;
        let signing = idp.signing();
        let algorithm = signing.active.key.default_algorithm();
        idfed_saml::bindings::redirect_url(
            &logout.slo_url,
            Param::SamlResponse,
            &xml,
            logout.relay_state.as_deref(),
            Some((&signing.active.key, algorithm)),
        )
    });
    match built {
        Ok(url) => {
            let mut response = redirect(&url);
            set_cookie(&mut response, idp, session_cookie(idp), "", "Lax", Some(0));
            response
        }
        Err(e) => failure(&IdpError::internal(format!("building the LogoutResponse: {e}"))),
    }
}

// ---- SP-initiated ------------------------------------------------------------------------

pub(super) async fn sp_redirect(
    State(idp): Shared,
    Extension(ClientIp(source)): Extension<ClientIp>,
    Path(name): Path<String>,
    uri: Uri,
) -> Response {
    if let Some(refused) = admit_request(&idp, source).await {
        return refused;
    }
    if let Err(e) = idp.refresh().await {
        return failure(&e);
    }
    let query = uri.query().unwrap_or_default();
    let endpoint = idp.app_endpoint(&name, "saml");
    let at = crate::sp_initiated::Received { app: &name, endpoint: &endpoint };
    let accepted = idp.with_tenant(|t| crate::sp_initiated::from_redirect(t, at, query, idp.now()));
    hold(&idp, &name, accepted).await
}

pub(super) async fn sp_post(
    State(idp): Shared,
    Extension(ClientIp(source)): Extension<ClientIp>,
    Path(name): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = admit_request(&idp, source).await {
        return refused;
    }
    if let Err(e) = idp.refresh().await {
        return failure(&e);
    }
    let Some(encoded) = form.get("SAMLRequest") else {
        return failure(&IdpError::invalid("no SAMLRequest in the form"));
    };
    let relay = form.get("RelayState").map(String::as_str);
    let endpoint = idp.app_endpoint(&name, "saml");
    let at = crate::sp_initiated::Received { app: &name, endpoint: &endpoint };
    let accepted = idp.with_tenant(|t| crate::sp_initiated::from_post(t, at, encoded, relay, idp.now()));
    hold(&idp, &name, accepted).await
}

/// The page (429) for an address that sent more SP-initiated requests than the limit allows,
/// or None when this one may be read. A refused request is not kept (only its address's count).
async fn admit_request(idp: &Idp, source: std::net::IpAddr) -> Option<Response> {
    let wait = match idp.request_admitted(source).await {
        Ok(wait) => wait?,
        Err(e) => return Some(failure(&e)),
    };
    Some(try_later(&format!("Too many sign-in requests from your network. Try again in {wait} seconds."), wait))
}

/// Keeps an accepted request and sends the browser on to answer it (after sign-in if needed).
async fn hold(idp: &Idp, name: &str, accepted: Result<crate::sp_initiated::Accepted, IdpError>) -> Response {
    let accepted = match accepted {
        Ok(a) => a,
        Err(e) => {
            idp.log("anonymous", "app.authn_request", name, name, false, serde_json::json!({ "reason": e.message }))
                .await;
            return failure(&e);
        }
    };
    // An AuthnRequest ID is answered once within its validity window (no replay).
    let until = accepted.issue_instant + crate::sp_initiated::MAX_AGE_SECONDS + crate::sp_initiated::SKEW_SECONDS;
    match idp.first_sight(name, &accepted.request_id, until).await {
        Ok(true) => {}
        Ok(false) => {
            let reason = format!("the AuthnRequest {} was already received", accepted.request_id);
            idp.log("anonymous", "app.authn_request", name, name, false, serde_json::json!({ "reason": reason })).await;
            return failure(&IdpError::invalid(
                "This sign-in request was already used. Start again from the application.",
            ));
        }
        Err(e) => return failure(&e),
    }
    // A request nothing here could meet is answered now, before anyone is asked to sign in.
    let unanswerable = idp.with_tenant(|t| match t.app(name) {
        Some(app) => crate::sp_initiated::unanswerable(app, &accepted),
        None => Ok(None),
    });
    match unanswerable {
        Ok(None) => {}
        Ok(Some(status)) => {
            let request = status_request(&accepted.request_id, &accepted.acs_url, accepted.relay_state.as_deref());
            let note = status.message.clone().unwrap_or_default();
            return answer_with_status(idp, name, "anonymous", &request, status, &note).await;
        }
        Err(e) => return failure(&e),
    }
    match idp.hold_request(accepted).await {
        Ok(handle) => redirect(&format!("/app/{}/saml/continue?request={handle}", percent_encode(name))),
        Err(e) => failure(&e),
    }
}

pub(super) async fn sp_continue(
    State(idp): Shared,
    headers: HeaderMap,
    Path(name): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let handle = query.get("request").cloned().unwrap_or_default();
    let here = format!("/app/{}/saml/continue?request={}", percent_encode(&name), percent_encode(&handle));
    let pending = match idp.held_request(&handle).await {
        Ok(Some(p)) if p.app == name => p,
        Ok(_) => {
            return message(
                StatusCode::BAD_REQUEST,
                "Sign-in expired",
                "This sign-in request has expired or was already used. Start again from the application.",
            );
        }
        Err(e) => return failure(&e),
    };
    let session = match signed_in_session(&idp, &headers).await {
        Ok(session) => session,
        Err(e) => return failure(&e),
    };
    // ForceAuthn: the person must have authenticated after the request arrived.
    let Some(session) = session.filter(|s| !(pending.force_authn && s.started < pending.received)) else {
        if pending.is_passive {
            let why =
                "the app asked for a sign-in without interaction (IsPassive), and the person would have to sign in";
            return answer_unmet(&idp, &name, &handle, "anonymous", ns::STATUS_NO_PASSIVE, why, why).await;
        }
        return login_redirect(&here);
    };
    let login = session.login.clone();
    if let Err(e) = idp.with_tenant(|t| crate::sso::may_launch(t, &name, &login)) {
        if pending.is_passive {
            let why = "the person may not use this app";
            return answer_unmet(&idp, &name, &handle, &login, ns::STATUS_REQUEST_DENIED, why, &e.message).await;
        }
        idp.log(&login, "app.sso", &login, &name, false, serde_json::json!({ "reason": e.message })).await;
        // Answered (with the error page): a reload does not log it again.
        return match take_held(&idp, &handle).await {
            Ok(_) => failure(&e),
            Err(refused) => refused,
        };
    }
    let strength = Strength::proven(session.second_factor);
    if let Err(shortfall) = stated_class(pending.requested_authn_context.as_ref(), strength) {
        let enrolled = idp.with_credentials(|c| c.has_totp(&login));
        let (status, why, note) = match shortfall {
            Shortfall::SecondFactor if pending.is_passive && enrolled => {
                (ns::STATUS_NO_PASSIVE, NO_PASSIVE_SECOND_FACTOR.to_owned(), NO_PASSIVE_SECOND_FACTOR.to_owned())
            }
            // Step-up: a full sign-in, password and code, then back here. A code alone is not
            // enough: whoever holds a password-only session could enroll an authenticator of
            // their own in it and then prove that.
            Shortfall::SecondFactor if enrolled => return login_redirect(&here),
            // The app learns only that the sign-in cannot meet its request; who lacks what is
            // for the IdP's log.
            Shortfall::SecondFactor => (
                ns::STATUS_NO_AUTHN_CONTEXT,
                shortfall.to_string(),
                format!("{shortfall}, and {login} has no authenticator set up"),
            ),
            Shortfall::Unsatisfiable(why) => (ns::STATUS_NO_AUTHN_CONTEXT, why.clone(), why),
        };
        return answer_unmet(&idp, &name, &handle, &login, status, &why, &note).await;
    }
    let pending = match take_held(&idp, &handle).await {
        Ok(p) => p,
        Err(refused) => return refused,
    };
    let request = Request {
        in_response_to: Some(&pending.request_id),
        acs_index: None,
        acs_url: Some(&pending.acs_url),
        relay_state: pending.relay_state.as_deref(),
        authenticated: Some(session.authenticated()),
        requested: pending.requested_authn_context.as_ref(),
    };
    answer(&idp, &name, &login, &request).await
}

/// Takes a held request to answer it, atomically: a second tab (or a racing request) finds it gone.
async fn take_held(idp: &Idp, handle: &str) -> Result<crate::service::PendingRequest, Response> {
    match idp.take_request(handle).await {
        Ok(Some(p)) => Ok(p),
        Ok(None) => {
            Err(message(StatusCode::BAD_REQUEST, "Sign-in expired", "This sign-in request was already answered."))
        }
        Err(e) => Err(failure(&e)),
    }
}

const NO_PASSIVE_SECOND_FACTOR: &str =
    "the app asked for a sign-in without interaction (IsPassive), and the person would have to prove a second factor";

/// Answers a held request that cannot be met with a status (`sub_code` under `Responder`) and
/// `why`; `note` goes to the system log.
async fn answer_unmet(
    idp: &Idp,
    name: &str,
    handle: &str,
    actor: &str,
    sub_code: &str,
    why: &str,
    note: &str,
) -> Response {
    let pending = match take_held(idp, handle).await {
        Ok(p) => p,
        Err(refused) => return refused,
    };
    let request = status_request(&pending.request_id, &pending.acs_url, pending.relay_state.as_deref());
    let status = crate::sp_initiated::status(ns::STATUS_RESPONDER, sub_code, why.to_owned());
    answer_with_status(idp, name, actor, &request, status, note).await
}

/// What a status answer needs of the request: its ID, the ACS it was accepted for, its RelayState.
fn status_request<'a>(request_id: &'a str, acs_url: &'a str, relay_state: Option<&'a str>) -> Request<'a> {
    Request { in_response_to: Some(request_id), acs_url: Some(acs_url), relay_state, ..Request::default() }
}

/// Posts the app a signed Response with `status` and no assertion: the app learns why no one
/// is signed in (SAML core 3.2.2.2). The system log records `note`.
async fn answer_with_status(
    idp: &Idp,
    name: &str,
    actor: &str,
    request: &Request<'_>,
    status: Status,
    note: &str,
) -> Response {
    let detail = serde_json::json!({
        "reason": note,
        "status": status.sub_code.as_deref().unwrap_or(&status.code),
        "in_response_to": request.in_response_to,
    });
    idp.log(actor, "app.sso", actor, name, false, detail).await;
    match idp.issue_status(name, request, status) {
        Ok(issued) => post_page(&issued),
        Err(e) => failure(&e),
    }
}
