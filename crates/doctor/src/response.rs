//! What a captured response says, checked before AWS is consulted: the attributes AWS needs,
//! their formats, the audience and the time window.

use idfed_saml::aws::{ATTR_PRINCIPAL_TAG_PREFIX, ATTR_ROLE, ATTR_ROLE_SESSION_NAME, ATTR_SOURCE_IDENTITY};
use idfed_saml::model::{Assertion, Status};
use idfed_saml::{Instant, ns, xml};

use crate::findings::{Finding, Severity};

/// The facts the replay needs.
pub struct Facts {
    pub issuer: Option<String>,
    /// (role ARN, provider ARN) of every well-formed Role value.
    pub pairs: Vec<(String, String)>,
    pub principal_tags: Vec<String>,
    pub recipient: Option<String>,
    pub encrypted: bool,
}

const AWS_AUDIENCES: [&str; 3] =
    ["urn:amazon:webservices", "urn:amazon:webservices:govcloud", "urn:amazon:webservices:cn-north-1"];

fn name_ok(value: &str) -> bool {
    (2..=64).contains(&value.len()) && value.chars().all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c))
}

/// Why a response holds no assertion, as far as it says: its status when that is a failure
/// (the IdP refused the sign-in, with its reason), else that it is no response at all.
fn no_assertion_cause(root: roxmltree::Node) -> String {
    let status = root.children().find(|n| xml::is(*n, ns::SAMLP, "Status")).and_then(|n| Status::from_node(n).ok());
    let Some(status) = status else { return "It has no status either: it is not a SAML response.".to_owned() };
    if status.is_success() {
        return "Its status says Success, yet the IdP sent no assertion: the IdP's response is broken.".to_owned();
    }
    let last = |uri: &str| uri.rsplit(':').next().unwrap_or(uri).to_owned();
    let code = match &status.sub_code {
        Some(sub) => format!("{} / {}", last(&status.code), last(sub)),
        None => last(&status.code),
    };
    match status.message {
        Some(message) => format!("The IdP answered with status {code}: {message}"),
        None => format!("The IdP answered with status {code}, and no message."),
    }
}

/// Reads the response; pushes what is wrong with it on its own. `None` when it cannot be read.
pub fn read(text: &str, now: Instant, sign_in_urls: &[String], findings: &mut Vec<Finding>) -> Option<Facts> {
    let doc = match xml::parse(text, xml::Limits::MESSAGE) {
        Ok(doc) => doc,
        Err(e) => {
            findings.push(Finding::note(
                "unreadable",
                Severity::Error,
                "The response cannot be read",
                format!("{e}"),
                "Capture the SAMLResponse form field (base64) or the browser's HAR export and try again.",
            ));
            return None;
        }
    };
    let root = doc.root_element();
    let encrypted = root.descendants().any(|n| xml::is(n, ns::SAML, "EncryptedAssertion"));
    let Some(node) = root.descendants().find(|n| xml::is(*n, ns::SAML, "Assertion")) else {
        if encrypted {
            findings.push(Finding::note(
                "encrypted",
                Severity::Info,
                "The assertion is encrypted",
                "Its attributes cannot be read without the SAML provider's private key; the replay below still judges it.",
                "",
            ));
            let issuer = root.children().find(|n| xml::is(*n, ns::SAML, "Issuer")).map(xml::trimmed_text);
            return Some(Facts { issuer, pairs: Vec::new(), principal_tags: Vec::new(), recipient: None, encrypted });
        }
        findings.push(Finding::note(
            "no-assertion",
            Severity::Error,
            "The response holds no assertion",
            no_assertion_cause(root),
            "Check the IdP's system log for the sign-in.",
        ));
        return None;
    };
    let assertion = match Assertion::from_node(node) {
        Ok(a) => a,
        Err(e) => {
            findings.push(Finding::note(
                "unreadable",
                Severity::Error,
                "The assertion cannot be read",
                format!("{e}"),
                "",
            ));
            return None;
        }
    };
    let values = |name: &str| -> Vec<String> {
        assertion.attributes.iter().filter(|a| a.name == name).flat_map(|a| a.values.iter().cloned()).collect()
    };

    let roles = values(ATTR_ROLE);
    let mut pairs = Vec::new();
    if roles.is_empty() {
        let near = assertion
            .attributes
            .iter()
            .find(|a| a.name != ATTR_ROLE && a.name.eq_ignore_ascii_case(ATTR_ROLE) && !a.values.is_empty())
            .map(|a| a.name.clone());
        let cause = match near {
            Some(name) => format!("The attribute is named {name:?}; AWS matches {ATTR_ROLE:?} exactly."),
            None => "The response carries no Role attribute value: the person has no roles for this app.".to_owned(),
        };
        findings.push(Finding::failure(
            "F01",
            cause,
            "Assign the person (or their group) with a role, or fix the attribute's name.",
        ));
    }
    for value in &roles {
        let parts: Vec<&str> = value.split(',').map(str::trim).collect();
        let role = parts.iter().find(|p| p.contains(":role/"));
        let provider = parts.iter().find(|p| p.contains(":saml-provider/"));
        match (role, provider, parts.len()) {
            (Some(role), Some(provider), 2) => pairs.push(((*role).to_owned(), (*provider).to_owned())),
            (None, Some(_), _) => findings.push(Finding::failure(
                "F02",
                format!("The Role value {value:?} has the provider ARN but no role ARN."),
                "Send `role ARN,provider ARN` in each value (the app's role assignment or role value pattern).",
            )),
            _ => findings.push(Finding::failure(
                "F02",
                format!("The Role value {value:?} is not a `role ARN,provider ARN` pair."),
                "Send `arn:aws:iam::<account>:role/<role>,arn:aws:iam::<account>:saml-provider/<provider>`.",
            )),
        }
    }

    let session_names = values(ATTR_ROLE_SESSION_NAME);
    let role_session_name = session_names.first().cloned();
    match role_session_name.as_deref() {
        None | Some("") => findings.push(Finding::failure(
            "F03",
            "The response has no RoleSessionName value (an empty profile attribute, or no statement for it).",
            "Send RoleSessionName: Okta sends the login; an attribute statement may send another profile attribute every person has.",
        )),
        Some(name) if !name_ok(name) => findings.push(Finding::failure(
            "F04",
            format!("RoleSessionName is {name:?}: {}.", if name.len() < 2 || name.len() > 64 { "not 2–64 characters" } else { "it has characters outside [a-zA-Z_0-9+=,.@-]" }),
            "Change the value or the expression making it, e.g. remove spaces with String.replace.",
        )),
        _ => {}
    }
    let source_identity = values(ATTR_SOURCE_IDENTITY).first().cloned();
    if let Some(si) = &source_identity
        && (!name_ok(si) || si.starts_with("aws:"))
    {
        findings.push(Finding::failure(
            "F05",
            format!("SourceIdentity is {si:?}."),
            "Send 2–64 characters from [a-zA-Z_0-9+=,.@-] not starting with aws:.",
        ));
    }
    if assertion.name_id.as_ref().is_none_or(|n| n.value.trim().is_empty()) {
        findings.push(Finding::failure(
            "F17",
            "The Subject has no NameID value.",
            "Give the app a NameID source every person has (the user id, persistent).",
        ));
    }
    let recipient =
        assertion.subject_confirmations.iter().find_map(|c| c.data.as_ref().and_then(|d| d.recipient.clone()));
    let audiences: Vec<String> =
        assertion.conditions.iter().flat_map(|c| c.audience_restrictions.iter().flatten().cloned()).collect();
    let accepted = |a: &String| {
        AWS_AUDIENCES.contains(&a.as_str()) || a.ends_with("signin.aws.amazon.com/saml") || sign_in_urls.contains(a)
    };
    if !audiences.is_empty() && !audiences.iter().any(accepted) {
        findings.push(Finding::failure(
            "F09",
            format!("The audience is {audiences:?}, not urn:amazon:webservices."),
            "Set the app's audience (SP entity ID) to urn:amazon:webservices.",
        ));
    }
    let issued = assertion.issue_instant;
    let late = assertion.subject_confirmations.iter().filter_map(|c| c.data.as_ref()?.not_on_or_after).min();
    let too_old = issued.is_some_and(|at| now.unix_seconds() - at.unix_seconds() > 300);
    if too_old || late.is_some_and(|end| now >= end) {
        let at = issued.map(|i| i.to_xml()).unwrap_or_else(|| "?".into());
        findings.push(Finding::failure(
            "F10",
            format!("The response was issued at {at}; it is now {} (AWS takes it for five minutes).", now.to_xml()),
            "Sign in again (a capture cannot be replayed later); check the IdP's clock.",
        ));
    }
    let principal_tags = assertion
        .attributes
        .iter()
        .filter_map(|a| a.name.strip_prefix(ATTR_PRINCIPAL_TAG_PREFIX).map(str::to_owned))
        .collect();
    Some(Facts { issuer: assertion.issuer, pairs, principal_tags, recipient, encrypted })
}
