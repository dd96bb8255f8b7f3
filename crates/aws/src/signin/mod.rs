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
use crate::sts::assume_role_with_saml::{AssumeRequest, assume_verified, role_pairs, verify_assertion};
use crate::sts::endpoints::{is_region_label, provider_id_of};

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

/// The role pairs the response's Role attribute offers, read before anything is verified: only
/// to find the provider whose certificates then verify it (AWS too finds the keys from the
/// response). The picker shows the verified pairs.
fn offered_roles(text: &str) -> Vec<(String, String)> {
    let Ok(doc) = xml::parse(text, xml::Limits::MESSAGE) else { return Vec::new() };
    let values: Vec<String> = doc
        .descendants()
        .filter(|n| xml::is(*n, ns::SAML, "Attribute") && n.attribute("Name") == Some(ATTR_ROLE))
        .flat_map(|a| xml::children(a, ns::SAML, "AttributeValue").map(xml::text_content).collect::<Vec<_>>())
        .collect();
    role_pairs(values.iter().map(String::as_str))
}

/// AWS shows STS failures on the page in this form; a wrong Issuer comes from the service
/// that looks the provider up (aws-federation.md §1.2).
fn sts_text(e: &AwsError, request_id: &str) -> String {
    let service = match e.code.as_str() {
        "AuthSamlInvalidSamlResponseException" => "AWSOpenIdDiscoveryService",
        _ => "AWSSecurityTokenService",
    };
    format!(
        "{} (Service: {service}; Status Code: {}; Error Code: {}; Request ID: {request_id})",
        e.message, e.status, e.code
    )
}

/// Where RelayState may send the browser after sign-in: the sandbox's console pages (`/console…`,
/// `/connect/…`), named by path, by the sandbox's own URL, or by AWS's console URL as an IdP set
/// up for AWS sends it (`https://<region>.console.aws.amazon.com/connect/federate/<id>`), which
/// the sandbox serves itself. Anything else gives `None` (no open redirect).
pub fn safe_relay_state(relay: &str, host: &str) -> Option<String> {
    let own =
        |scheme: &str| relay.strip_prefix(scheme).and_then(|r| r.strip_prefix(host)).filter(|p| p.starts_with('/'));
    let path = own("http://")
        .or_else(|| own("https://"))
        .or_else(|| aws_console_path(relay))
        .or_else(|| relay.starts_with('/').then_some(relay))?;
    if path.starts_with("//") || path.contains('\\') {
        return None;
    }
    (path.starts_with("/connect/") || path.starts_with("/console")).then(|| header_safe(path))
}

/// `path` with every byte outside visible ASCII percent-encoded, so that it can be a Location
/// header (a space, CR, LF or non-ASCII character cannot).
fn header_safe(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for byte in path.bytes() {
        if byte.is_ascii_graphic() {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The path of a URL on AWS's console, in any partition and region
/// (`console.aws.amazon.com`, `<region>.console.aws.amazon.com`, `console.amazonaws-us-gov.com`,
/// `console.amazonaws.cn`, …).
fn aws_console_path(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("https://")?;
    let at = rest.find('/')?;
    let (host, path) = rest.split_at(at);
    let console = AWS_CONSOLES.iter().any(|base| host == *base || console_region_of(host, base).is_some());
    console.then_some(path)
}

const AWS_CONSOLES: [&str; 3] = ["console.aws.amazon.com", "console.amazonaws-us-gov.com", "console.amazonaws.cn"];

/// The region a URL on AWS's console names in its host (`https://us-west-2.console.aws.amazon.com/…`).
pub fn aws_console_region(url: &str) -> Option<&str> {
    let host = url.strip_prefix("https://")?.split(['/', '?', '#']).next()?;
    AWS_CONSOLES.iter().find_map(|base| console_region_of(host, base))
}

fn console_region_of<'h>(host: &'h str, base: &str) -> Option<&'h str> {
    host.strip_suffix(base).and_then(|r| r.strip_suffix('.')).filter(|r| is_region_label(r))
}

pub struct SignInRequest<'a> {
    pub form: &'a BTreeMap<String, String>,
    /// The URL this endpoint answers at (the Recipient the IdP must name).
    pub sign_in_urls: &'a [String],
    /// `host:port` of the sandbox as the browser named it, for RelayState checks.
    pub host: &'a str,
    /// The path the browser posted to: `/saml`, or `/saml/acs/<provider-id>` (the endpoint of
    /// one provider, where encrypted assertions go).
    pub path: &'a str,
}

pub fn sign_in(state: &mut State, request: &SignInRequest, now: Instant, rng: &dyn Random) -> Answer {
    let request_id = ids::request_id(rng);
    let Some(encoded) = request.form.get("SAMLResponse") else {
        return Answer::Page(400, error_page("Sign-in error", INVALID_RESPONSE));
    };
    let Some(text) = base64_decode(encoded).ok().and_then(|b| String::from_utf8(b).ok()) else {
        return Answer::Page(400, error_page("Sign-in error", INVALID_RESPONSE));
    };
    let failed = |e: AwsError| {
        crate::metrics::assume_role_with_saml("signin", &e.code);
        Answer::Page(e.status, error_page("Sign-in error", &sts_text(&e, &request_id)))
    };
    // The provider whose keys verify the response: the one whose own endpoint this is, or the
    // first one a Role pair names that exists (else the first named, for AWS's error).
    let provider_arn = match provider_id_of(request.path) {
        Some(id) => state.providers.values().find(|p| p.uuid == id).map(|p| p.arn.clone()),
        None => {
            let named: Vec<String> = offered_roles(&text).into_iter().map(|(_, provider)| provider).collect();
            named.iter().find(|arn| state.providers.contains_key(*arn)).or(named.first()).cloned()
        }
    };
    let Some(provider_arn) = provider_arn else {
        return Answer::Page(400, error_page("Sign-in error", INVALID_RESPONSE));
    };
    let check = AssumeRequest { principal_arn: &provider_arn, saml_assertion: encoded, ..Default::default() };
    let verified = match verify_assertion(
        &check,
        state.providers.get(&provider_arn),
        request.sign_in_urls,
        Some(request.path),
        now,
    ) {
        Ok(verified) => verified,
        Err(e) => return failed(e),
    };
    let roles = verified.role_pairs();
    if roles.is_empty() {
        return Answer::Page(400, error_page("Sign-in error", INVALID_RESPONSE));
    }
    let chosen = match request.form.get("roleIndex") {
        Some(role) => roles.iter().find(|(r, _)| r == role).cloned(),
        None if roles.len() == 1 => roles.first().cloned(),
        None => {
            return Answer::Page(
                200,
                role_picker(state, &roles, encoded, request.form.get("RelayState"), request.path),
            );
        }
    };
    let Some((role_arn, chosen_provider)) = chosen else {
        return Answer::Page(400, error_page("Sign-in error", INVALID_RESPONSE));
    };
    let assume = AssumeRequest {
        role_arn: &role_arn,
        principal_arn: &chosen_provider,
        saml_assertion: encoded,
        ..Default::default()
    };
    // A pair naming another provider is verified again with that provider's keys.
    let verified = if chosen_provider == provider_arn {
        Ok(verified)
    } else {
        verify_assertion(&assume, state.providers.get(&chosen_provider), request.sign_in_urls, Some(request.path), now)
    };
    let assumed = verified
        .and_then(|verified| assume_verified(state, &assume, verified, now, rng))
        .and_then(|assumed| assumed.redeem(state, now).map(|()| assumed));
    let assumed = match assumed {
        Ok(a) => {
            crate::metrics::assume_role_with_saml("signin", "Success");
            a
        }
        Err(e) => return failed(e),
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
        .and_then(|r| safe_relay_state(r, request.host))
        .unwrap_or_else(|| "/console/home".to_owned());
    Answer::SignedIn { cookie: token, max_age, location }
}

/// AWS's role-selection form: `saml_form`, `roleIndex` radios, `Account: alias (id)` headings.
fn role_picker(
    state: &State,
    roles: &[(String, String)],
    encoded: &str,
    relay: Option<&String>,
    action: &str,
) -> String {
    let mut by_account: BTreeMap<String, Vec<&String>> = BTreeMap::new();
    for (role, _) in roles {
        let account = role.split(':').nth(4).unwrap_or_default().to_owned();
        by_account.entry(account).or_default().push(role);
    }
    let mut accounts = String::new();
    for (account, roles) in by_account {
        let heading = match state.account(&account).and_then(|a| a.alias.clone()) {
            Some(alias) => format!("Account: {} ({})", html_escape(&alias), html_escape(&account)),
            None => format!("Account: {}", html_escape(&account)),
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
            "<h1>Select a role:</h1><form id=\"saml_form\" name=\"saml_form\" action=\"{}\" method=\"post\">\
<input type=\"hidden\" name=\"RelayState\" value=\"{relay}\"><input type=\"hidden\" name=\"SAMLResponse\" value=\"{}\"><input type=\"hidden\" name=\"name\" value=\"\">\
<fieldset>{accounts}</fieldset><p><button type=\"submit\" id=\"signin_button\">Sign in</button></p></form>",
            html_escape(action),
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
