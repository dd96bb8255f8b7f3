//! The Connect console reached through `/connect/federate/<instance-id>`: the admin home and the
//! Contact Control Panel, or AWS's failure pages (F20–F22).

use idfed_saml::Instant;
use idfed_saml::bindings::html_escape;

use crate::connect::federate;
use crate::pages::{error_page, page};
use crate::signin::{Answer, console_session};
use crate::state::State;

pub const ACCESS_DENIED_ADMIN: &str = "Access denied, Please contact your AWS account administrator for assistance.";
pub const NOT_ONBOARDED: &str =
    "Access Denied. Your account has been authenticated, but has not been onboarded to this application.";
pub const SESSION_EXPIRED: &str = "Session Expired";

fn expired() -> Answer {
    Answer::Page(401, error_page(SESSION_EXPIRED, SESSION_EXPIRED))
}

/// Where `destination` may lead: the CCP (`/ccp-v2…`, `/agent-app-v2`, or the legacy
/// `/connect/ccp`) or the admin home of this sandbox.
fn destination_path(destination: Option<&str>) -> String {
    match destination.map(|d| d.trim_start_matches("/connect")) {
        Some(d) if d.starts_with("/ccp") => "/connect/ccp-v2".to_owned(),
        Some(d) if d.starts_with("/agent-app-v2") => "/connect/ccp-v2".to_owned(),
        _ => "/connect/home".to_owned(),
    }
}

pub fn federate_page(
    state: &mut State,
    cookie: Option<&str>,
    instance_id: &str,
    destination: Option<&str>,
    now: Instant,
) -> Answer {
    let Some(session) = console_session(state, cookie, now).cloned() else { return expired() };
    let user = match federate(state, &session, instance_id, now) {
        Ok(user) => user.id.clone(),
        Err(e) if e.code == "AccessDenied" => {
            return Answer::Page(403, error_page("Access denied", ACCESS_DENIED_ADMIN));
        }
        Err(e) if e.code == "UserNotFoundException" => {
            return Answer::Page(403, error_page("Access Denied", NOT_ONBOARDED));
        }
        Err(e) => return Answer::Page(e.status, error_page("Amazon Connect", &e.message)),
    };
    if let Some(console) = cookie.and_then(|c| state.console_session_mut(c)) {
        console.connect_user = Some((instance_id.to_owned(), user));
    }
    Answer::Redirect(destination_path(destination))
}

/// The admin console (`home`) or the CCP, for the Connect user of this console session.
pub fn connect_page(state: &State, cookie: Option<&str>, ccp: bool, now: Instant) -> Answer {
    let Some(console) = cookie.and_then(|c| state.console_sessions.get(c)).filter(|c| now < c.expires) else {
        return expired();
    };
    let Some((instance_id, user_id)) = &console.connect_user else { return expired() };
    let Some(inst) = state.connect_instances.get(instance_id) else { return expired() };
    let Some(user) = inst.users.get(user_id) else {
        return Answer::Page(403, error_page("Access Denied", NOT_ONBOARDED));
    };
    let name = format!("{} {}", user.first_name, user.last_name);
    let profiles: Vec<&str> = inst
        .security_profiles
        .iter()
        .filter(|(_, id)| user.security_profile_ids.contains(id))
        .map(|(n, _)| n.as_str())
        .collect();
    if ccp {
        let body = format!(
            "<h1>Contact Control Panel</h1><p>Signed in as <strong id=\"agent-name\">{}</strong> (<span id=\"agent-username\">{}</span>)</p>\
<p>Status: <strong id=\"agent-status\">Available</strong></p><p>Instance: {}</p>",
            html_escape(&name),
            html_escape(&user.username),
            html_escape(&inst.alias)
        );
        return Answer::Page(200, page("Contact Control Panel", &body));
    }
    let body = format!(
        "<h1>Amazon Connect: {}</h1><p>Welcome, <strong id=\"connect-user\">{}</strong> ({})</p><p>Security profiles: <span id=\"security-profiles\">{}</span></p>\
<p><a href=\"/connect/ccp-v2\">Open the Contact Control Panel</a></p>",
        html_escape(&inst.alias),
        html_escape(&name),
        html_escape(&user.username),
        html_escape(&profiles.join(", "))
    );
    Answer::Page(200, page("Amazon Connect", &body))
}
