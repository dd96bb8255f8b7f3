//! The sign-in SAML endpoint (`POST /saml`): the role picker, AWS's error pages, the console
//! session and the redirect to RelayState.

use std::collections::BTreeMap;

use idfed_saml::aws::ATTR_ROLE;
use idfed_saml::bindings::html_escape;
use idfed_saml::encoding::base64_decode;
use idfed_saml::random::Random;
use idfed_saml::{Instant, ns, xml};

use crate::error::AwsError;
use crate::ids;
use crate::pages::{error_page, page};
use crate::state::{ConsoleSession, State};
use crate::sts::assume_role_with_saml::{AssumeRequest, assume_role_with_saml};

pub const INVALID_RESPONSE: &str = "Your request included an invalid SAML response. To logout, click here.";

/// What the browser gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// An HTML page with this status.
    Page(u16, String),
    /// Signed in: set this console cookie and go there.
    SignedIn { cookie: String, max_age: i64, location: String },
    /// Go there.
    Redirect(String),
}

/// The role pairs offered by the response's Role attribute, read without trusting it (the
/// chosen one is then verified by STS). `(role, provider)`, either order accepted.
fn offered_roles(text: &str) -> Vec<(String, String)> {
    let Ok(doc) = xml::parse(text, xml::Limits::MESSAGE) else { return Vec::new() };
    doc.descendants()
        .filter(|n| xml::is(*n, ns::SAML, "Attribute") && n.attribute("Name") == Some(ATTR_ROLE))
        .flat_map(|a| xml::children(a, ns::SAML, "AttributeValue").map(xml::text_content).collect::<Vec<_>>())
        .filter_map(|value| {
            let mut parts = value.split(',').map(|p| p.trim().to_owned());
            let (a, b) = (parts.next()?, parts.next()?);
            if parts.next().is_some() {
                return None;
            }
            match (
                a.contains(":role/"),
                b.contains(":saml-provider/"),
                a.contains(":saml-provider/"),
                b.contains(":role/"),
            ) {
                (true, true, _, _) => Some((a, b)),
                (_, _, true, true) => Some((b, a)),
                _ => None,
            }
        })
        .collect()
}

/// AWS shows STS failures on the page in this form.
fn sts_text(e: &AwsError, request_id: &str) -> String {
    format!(
        "{} (Service: AWSSecurityTokenService; Status Code: {}; Error Code: {}; Request ID: {request_id})",
        e.message, e.status, e.code
    )
}

/// The sandbox's console URLs that RelayState may send the browser to (no open redirect).
pub fn safe_relay_state(relay: &str, origin: &str) -> Option<String> {
    let path = relay
        .strip_prefix(origin)
        .filter(|p| p.starts_with('/'))
        .or_else(|| relay.starts_with('/').then_some(relay))?;
    if path.starts_with("//") || path.contains('\\') {
        return None;
    }
    (path.starts_with("/connect/") || path.starts_with("/console")).then(|| path.to_owned())
}

pub struct SignInRequest<'a> {
    pub form: &'a BTreeMap<String, String>,
    /// The URL this endpoint answers at (the Recipient the IdP must name).
    pub sign_in_urls: &'a [String],
    /// `http://host:port` of the sandbox, for RelayState checks.
    pub origin: &'a str,
}

pub fn sign_in(state: &mut State, request: &SignInRequest, now: Instant, rng: &dyn Random) -> Answer {
    let request_id = ids::request_id(rng);
    let Some(encoded) = request.form.get("SAMLResponse") else {
        return Answer::Page(400, error_page("Sign-in error", INVALID_RESPONSE));
    };
    let Some(text) = base64_decode(encoded).ok().and_then(|b| String::from_utf8(b).ok()) else {
        return Answer::Page(400, error_page("Sign-in error", INVALID_RESPONSE));
    };
    let roles = offered_roles(&text);
    if roles.is_empty() {
        return Answer::Page(400, error_page("Sign-in error", INVALID_RESPONSE));
    }
    let chosen = match request.form.get("roleIndex") {
        Some(role) => roles.iter().find(|(r, _)| r == role).cloned(),
        None if roles.len() == 1 => roles.first().cloned(),
        None => return Answer::Page(200, role_picker(state, &roles, encoded, request.form.get("RelayState"))),
    };
    let Some((role_arn, provider_arn)) = chosen else {
        return Answer::Page(400, error_page("Sign-in error", INVALID_RESPONSE));
    };
    let assume = AssumeRequest {
        role_arn: &role_arn,
        principal_arn: &provider_arn,
        saml_assertion: encoded,
        duration_seconds: None,
    };
    let assumed = assume_role_with_saml(state, &assume, request.sign_in_urls, now, rng)
        .and_then(|assumed| assumed.redeem(state, now).map(|()| assumed));
    let assumed = match assumed {
        Ok(a) => {
            crate::metrics::assume_role_with_saml("signin", "Success");
            a
        }
        Err(e) => {
            crate::metrics::assume_role_with_saml("signin", &e.code);
            return Answer::Page(e.status, error_page("Sign-in error", &sts_text(&e, &request_id)));
        }
    };
    // The console session lasts SessionDuration (not limited by MaxSessionDuration), capped by
    // SessionNotOnOrAfter, which STS already applied to the credentials' expiry.
    let mut session = assumed.session;
    let console_end = now.plus_seconds(assumed.session_duration.unwrap_or(3600));
    session.expires = assumed.session_not_on_or_after.map_or(console_end, |cap| cap.min(console_end));
    let token = ids::secret(rng).replace(['/', '+'], "x");
    let max_age = session.expires.unix_seconds() - now.unix_seconds();
    state.add_console_session(ConsoleSession {
        token: token.clone(),
        access_key: session.access_key.clone(),
        expires: session.expires,
        connect_user: None,
    });
    state.add_session(session);
    let location = request
        .form
        .get("RelayState")
        .and_then(|r| safe_relay_state(r, request.origin))
        .unwrap_or_else(|| "/console/home".to_owned());
    Answer::SignedIn { cookie: token, max_age, location }
}

/// AWS's role-selection form: `saml_form`, `roleIndex` radios, `Account: alias (id)` headings.
fn role_picker(state: &State, roles: &[(String, String)], encoded: &str, relay: Option<&String>) -> String {
    let mut by_account: BTreeMap<String, Vec<&String>> = BTreeMap::new();
    for (role, _) in roles {
        let account = role.split(':').nth(4).unwrap_or_default().to_owned();
        by_account.entry(account).or_default().push(role);
    }
    let mut accounts = String::new();
    for (account, roles) in by_account {
        let heading = match state.account(&account).and_then(|a| a.alias.clone()) {
            Some(alias) => format!("Account: {} ({account})", html_escape(&alias)),
            None => format!("Account: {account}"),
        };
        accounts.push_str(&format!("<div class=\"saml-account\"><div class=\"saml-account-name\">{heading}</div>"));
        for role in roles {
            let name = role.rsplit('/').next().unwrap_or(role);
            let r = html_escape(role);
            accounts.push_str(&format!(
                "<div class=\"saml-role\"><input type=\"radio\" name=\"roleIndex\" value=\"{r}\" id=\"{r}\"> <label for=\"{r}\" class=\"saml-role-description\">{}</label></div>",
                html_escape(name)
            ));
        }
        accounts.push_str("</div>");
    }
    let relay = relay.map(|r| html_escape(r)).unwrap_or_default();
    page(
        "Amazon Web Services Sign-In",
        &format!(
            "<h1>Select a role:</h1><form id=\"saml_form\" name=\"saml_form\" action=\"/saml\" method=\"post\">\
<input type=\"hidden\" name=\"RelayState\" value=\"{relay}\"><input type=\"hidden\" name=\"SAMLResponse\" value=\"{}\"><input type=\"hidden\" name=\"name\" value=\"\">\
<fieldset>{accounts}</fieldset><p><button type=\"submit\" id=\"signin_button\">Sign in</button></p></form>",
            html_escape(encoded)
        ),
    )
}

/// The console home: who is signed in and until when.
pub fn console_home(state: &State, cookie: Option<&str>, now: Instant) -> Answer {
    let Some(session) = console_session(state, cookie, now) else {
        return Answer::Page(401, error_page("Session Expired", "Session Expired"));
    };
    let body = format!(
        "<h1>Console Home</h1><dl><dt>Federated user</dt><dd id=\"federated-user\">{}</dd><dt>Account</dt><dd>{}</dd><dt>Role</dt><dd>{}</dd>\
<dt>Session ends</dt><dd id=\"session-ends\">{}</dd></dl>",
        html_escape(&session.assumed_role_arn),
        html_escape(&session.account),
        html_escape(&session.role_arn),
        session.expires
    );
    Answer::Page(200, page("Console Home", &body))
}

/// The STS session behind a console cookie, while it lasts.
pub fn console_session<'s>(state: &'s State, cookie: Option<&str>, now: Instant) -> Option<&'s crate::state::Session> {
    let console = state.console_sessions.get(cookie?)?;
    (now < console.expires).then_some(())?;
    state.sessions.get(&console.access_key)
}
