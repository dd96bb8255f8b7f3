//! SP-initiated sign-on for generic SAML apps: an AuthnRequest by HTTP-Redirect or HTTP-POST,
//! checked against the app (issuer, registered ACS, signature when the app requires one,
//! freshness) before anyone is asked to sign in.

use idfed_saml::Instant;
use idfed_saml::bindings::{parse_redirect, verify_redirect};
use idfed_saml::dsig::{VerifyOptions, verify_enveloped};
use idfed_saml::encoding::base64_decode;
use idfed_saml::model::{AuthnRequest, LogoutRequest, RequestedAuthnContext, Status};
use idfed_saml::{Certificate, ns, xml};

use crate::apps::{App, AppKind, SamlApp};
use crate::error::{IdpError, Result};
use crate::tenant::Tenant;

/// How old an AuthnRequest may be, and how far in the future (clock skew).
pub const MAX_AGE_SECONDS: i64 = 300;
pub const SKEW_SECONDS: i64 = 60;
/// The longest RelayState kept with a held request. The bindings say 80 bytes; SPs put deep
/// links there and exceed that, but nothing needs kilobytes, and anyone may send requests.
pub const MAX_RELAY_STATE_BYTES: usize = 4096;

/// A request that passed every check: what the response must answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub app: String,
    pub request_id: String,
    /// Unix seconds of the request's IssueInstant.
    pub issue_instant: i64,
    pub acs_url: String,
    pub relay_state: Option<String>,
    pub force_authn: bool,
    pub is_passive: bool,
    pub requested_authn_context: Option<RequestedAuthnContext>,
    /// The NameIDPolicy Format asked for, when the request names one.
    pub name_id_format: Option<String>,
}

/// A non-success status: `code` (`Requester` or `Responder`), the second-level `sub_code`,
/// and why, for the StatusMessage.
pub fn status(code: &str, sub_code: &str, why: String) -> Status {
    Status { code: code.to_owned(), sub_code: Some(sub_code.to_owned()), message: Some(why) }
}

/// Not a SAML 2.0 format (`unspecified` is SAML 1.1's), but SPs send it meaning "any".
const NAMEID_UNSPECIFIED_2_0: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:unspecified";

/// The request asks for a NameID format the app does not send (SAML core 3.4.1.1:
/// `InvalidNameIDPolicy`), or for an authentication context no sign-in here can meet
/// (`NoAuthnContext`).
/// Such a request is answered with the status returned, before anyone signs in.
pub fn unanswerable(app: &App, accepted: &Accepted) -> Result<Option<Status>> {
    let sent = app.name_id.format_uri()?;
    if let Some(asked) = accepted.name_id_format.as_deref()
        && ![ns::NAMEID_UNSPECIFIED, NAMEID_UNSPECIFIED_2_0, sent].contains(&asked)
    {
        let asked = crate::authn_context::cut(asked, 120);
        let why = format!("the app asks for NameID format {asked}; {} sends {sent}", app.label);
        return Ok(Some(status(ns::STATUS_REQUESTER, ns::STATUS_INVALID_NAMEID_POLICY, why)));
    }
    Ok(crate::authn_context::satisfiable(accepted.requested_authn_context.as_ref())
        .err()
        .map(|why| status(ns::STATUS_RESPONDER, ns::STATUS_NO_AUTHN_CONTEXT, why)))
}

fn refuse(message: impl Into<String>) -> IdpError {
    IdpError::invalid(message)
}

fn saml_app<'t>(tenant: &'t Tenant, name: &str) -> Result<&'t SamlApp> {
    let app = tenant.app(name).ok_or_else(|| IdpError::not_found(format!("there is no app {name:?}")))?;
    match &app.kind {
        AppKind::Saml(saml) => Ok(saml),
        AppKind::Aws(_) => Err(refuse(format!(
            "{} is an AWS app: AWS sign-in is IdP-initiated only; open the app's tile instead",
            app.label
        ))),
    }
}

fn certificate(pem: &str) -> Result<Vec<Certificate>> {
    Certificate::from_pem_or_base64(pem).map_err(|e| IdpError::internal(format!("the app's request certificate: {e}")))
}

/// Where a request arrived: the app it names and the URL it was sent to (this IdP's endpoint,
/// which a request's Destination must name when it has one: SAML core 3.2.1).
#[derive(Debug, Clone, Copy)]
pub struct Received<'a> {
    pub app: &'a str,
    pub endpoint: &'a str,
}

/// An AuthnRequest received by HTTP-Redirect (the query string of the request).
pub fn from_redirect(tenant: &Tenant, at: Received, query: &str, now: Instant) -> Result<Accepted> {
    let app_name = at.app;
    let app = saml_app(tenant, app_name)?;
    let message = parse_redirect(query).map_err(|e| refuse(format!("the SAMLRequest cannot be read: {e}")))?;
    if let Some(pem) = &app.authn_request_certificate {
        if message.signature.is_none() {
            return Err(refuse("this app requires signed AuthnRequests, and this one is not signed"));
        }
        verify_redirect(&message, &certificate(pem)?, false)
            .map_err(|e| refuse(format!("the AuthnRequest signature does not verify: {e}")))?;
    }
    check(app, at, &message.xml, message.relay_state, now, |_| Ok(()))
}

/// An AuthnRequest received by HTTP-POST (the `SAMLRequest` form field, base64).
pub fn from_post(
    tenant: &Tenant,
    at: Received,
    encoded: &str,
    relay_state: Option<&str>,
    now: Instant,
) -> Result<Accepted> {
    let app = saml_app(tenant, at.app)?;
    let bytes = base64_decode(encoded).map_err(|e| refuse(format!("the SAMLRequest is not base64: {e}")))?;
    let text = String::from_utf8(bytes).map_err(|_| refuse("the SAMLRequest is not UTF-8"))?;
    let required = app.authn_request_certificate.as_deref().map(certificate).transpose()?;
    check(app, at, &text, relay_state.map(str::to_owned), now, |root| {
        let Some(trusted) = &required else { return Ok(()) };
        let verified = verify_enveloped(root, VerifyOptions { trusted, allow_sha1: false })
            .map_err(|e| refuse(format!("the AuthnRequest signature does not verify: {e}")))?;
        verified.map(|_| ()).ok_or_else(|| refuse("this app requires signed AuthnRequests, and this one is not signed"))
    })
}

fn check(
    app: &SamlApp,
    at: Received,
    text: &str,
    relay_state: Option<String>,
    now: Instant,
    verify: impl FnOnce(roxmltree::Node) -> Result<()>,
) -> Result<Accepted> {
    let doc = xml::parse(text, xml::Limits::MESSAGE)
        .map_err(|e| refuse(format!("the AuthnRequest is not valid XML: {e}")))?;
    if let Some(id) = xml::first_duplicate_id(&doc) {
        return Err(refuse(format!("the ID {id:?} appears more than once")));
    }
    let root = doc.root_element();
    verify(root)?;
    let request = AuthnRequest::from_node(root).map_err(|e| refuse(format!("not an AuthnRequest: {e}")))?;
    match request.issuer.as_deref() {
        Some(issuer) if issuer == app.entity_id => {}
        Some(other) => {
            return Err(refuse(format!(
                "the AuthnRequest comes from {other:?}, but this app's SP entity ID is {:?}",
                app.entity_id
            )));
        }
        None => return Err(refuse("the AuthnRequest names no Issuer")),
    }
    check_destination("AuthnRequest", request.destination.as_deref(), at.endpoint)?;
    // IssueInstant is required (SAML core 3.2.1): without it a captured request could be
    // replayed forever.
    let Some(issued) = request.issue_instant else {
        return Err(refuse("the AuthnRequest has no IssueInstant"));
    };
    let age = now.unix_seconds() - issued.unix_seconds();
    if !(-SKEW_SECONDS..=MAX_AGE_SECONDS).contains(&age) {
        return Err(refuse(format!(
            "the AuthnRequest was issued at {}, more than five minutes from now; check the SP's clock",
            issued.to_xml()
        )));
    }
    if let Some(binding) = &request.protocol_binding
        && binding != ns::BINDING_POST
    {
        return Err(refuse(format!("the response binding {binding:?} is not supported; use HTTP-POST")));
    }
    let acs =
        app.acs_for(request.assertion_consumer_service_index, request.assertion_consumer_service_url.as_deref())?;
    if relay_state.as_ref().is_some_and(|r| r.len() > MAX_RELAY_STATE_BYTES) {
        return Err(refuse(format!("the RelayState is longer than {MAX_RELAY_STATE_BYTES} bytes")));
    }
    Ok(Accepted {
        app: at.app.to_owned(),
        request_id: request.id,
        issue_instant: issued.unix_seconds(),
        acs_url: acs.url.clone(),
        relay_state,
        force_authn: request.force_authn,
        is_passive: request.is_passive,
        requested_authn_context: request.requested_authn_context,
        name_id_format: request.name_id_policy_format,
    })
}

/// A request that names a Destination must name the endpoint it arrived at: a request signed
/// for another IdP (which trusts the same SP key) is not taken here.
fn check_destination(what: &str, destination: Option<&str>, endpoint: &str) -> Result<()> {
    match destination {
        Some(named) if named != endpoint => Err(refuse(format!(
            "the {what} is addressed to {named:?}, not to this IdP's endpoint {endpoint:?}; set the SP's IdP URL from this app's metadata"
        ))),
        _ => Ok(()),
    }
}

/// A LogoutRequest from an app's SP (HTTP-Redirect), checked like an AuthnRequest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logout {
    pub request_id: String,
    /// Its IssueInstant (unix seconds): the ID is remembered until the request could no
    /// longer be accepted.
    pub issued: i64,
    /// The NameID the request names.
    pub name_id: Option<String>,
    /// Whether the request's signature was verified (the app requires signed requests).
    pub signed: bool,
    pub relay_state: Option<String>,
    /// Where the LogoutResponse goes: the app's SLO URL.
    pub slo_url: String,
}

/// How long a person may take to confirm an unsigned LogoutRequest (the confirmation page
/// posts the request back; only they can, it carries their CSRF token).
pub const CONFIRM_SECONDS: i64 = 3600;

/// `max_age`: how old the request may be ([`MAX_AGE_SECONDS`] as it arrives, [`CONFIRM_SECONDS`]
/// when its person confirms it).
pub fn logout_from_redirect(tenant: &Tenant, at: Received, query: &str, now: Instant, max_age: i64) -> Result<Logout> {
    let app = saml_app(tenant, at.app)?;
    let Some(slo_url) = app.slo_url.clone() else {
        return Err(refuse("this app has no single logout URL configured"));
    };
    let message = parse_redirect(query).map_err(|e| refuse(format!("the SAMLRequest cannot be read: {e}")))?;
    if let Some(pem) = &app.authn_request_certificate {
        verify_redirect(&message, &certificate(pem)?, false)
            .map_err(|e| refuse(format!("the LogoutRequest signature does not verify: {e}")))?;
    }
    let doc = xml::parse(&message.xml, xml::Limits::MESSAGE)
        .map_err(|e| refuse(format!("the LogoutRequest is not valid XML: {e}")))?;
    let request =
        LogoutRequest::from_node(doc.root_element()).map_err(|e| refuse(format!("not a LogoutRequest: {e}")))?;
    if request.issuer.as_deref() != Some(app.entity_id.as_str()) {
        return Err(refuse(format!("the LogoutRequest does not come from this app's SP ({:?})", app.entity_id)));
    }
    check_destination("LogoutRequest", request.destination.as_deref(), at.endpoint)?;
    // IssueInstant is required (SAML core 3.2.1); without it a captured request would work forever.
    let issued = request.issue_instant.ok_or_else(|| refuse("the LogoutRequest has no IssueInstant"))?;
    if !(-SKEW_SECONDS..=max_age).contains(&(now.unix_seconds() - issued.unix_seconds())) {
        return Err(refuse(if max_age > MAX_AGE_SECONDS {
            "this sign-out request has expired; sign out from the application again"
        } else {
            "the LogoutRequest is more than five minutes from now; check the SP's clock"
        }));
    }
    Ok(Logout {
        request_id: request.id,
        issued: issued.unix_seconds(),
        name_id: request.name_id.map(|n| n.value),
        signed: app.authn_request_certificate.is_some(),
        relay_state: message.relay_state,
        slo_url,
    })
}
