//! Writing SAML responses with quick-xml. Output is deterministic for a given spec.

use std::io;

use crate::random::Random;
use quick_xml::Writer;
use quick_xml::events::BytesText;
use quick_xml::writer::ElementWriter;

use crate::error::{Error, Reason, Result};
use crate::model::{Attribute, NameId, RequestedAuthnContext, Status};
use crate::ns::{self, SAML, SAMLP, XS, XSI};
use crate::time::Instant;

/// Everything a signed-to-be Response says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseSpec {
    pub response_id: String,
    pub assertion_id: String,
    pub issue_instant: Instant,
    pub issuer: String,
    pub destination: Option<String>,
    pub in_response_to: Option<String>,
    pub name_id: NameId,
    /// SubjectConfirmationData Recipient (the ACS URL).
    pub recipient: String,
    /// SubjectConfirmationData NotOnOrAfter.
    pub confirmation_not_on_or_after: Instant,
    pub not_before: Instant,
    pub not_on_or_after: Instant,
    pub audiences: Vec<String>,
    pub one_time_use: bool,
    pub authn_instant: Instant,
    pub session_index: Option<String>,
    pub session_not_on_or_after: Option<Instant>,
    pub authn_context_class_ref: String,
    pub attributes: Vec<Attribute>,
}

/// A fresh SAML ID: `_` and 32 hex digits from `rng` (an NCName, 128 bits of entropy).
pub fn new_id(rng: &dyn Random) -> Result<String> {
    let mut bytes = [0u8; 16];
    rng.fill(&mut bytes)?;
    Ok(std::iter::once("_".to_owned()).chain(bytes.iter().map(|b| format!("{b:02x}"))).collect())
}

fn io_error(e: io::Error) -> Error {
    Error::new(Reason::Malformed, format!("writing XML failed: {e}"))
}

/// The start tag every protocol message shares: both SAML namespaces, ID, Version, IssueInstant.
fn protocol_message<'w>(
    w: &'w mut Writer<Vec<u8>>,
    name: &'w str,
    id: &str,
    issue_instant: Instant,
) -> ElementWriter<'w, Vec<u8>> {
    let instant = issue_instant.to_xml();
    w.create_element(name)
        .with_attribute(("xmlns:samlp", SAMLP))
        .with_attribute(("xmlns:saml", SAML))
        .with_attribute(("ID", id))
        .with_attribute(("Version", "2.0"))
        .with_attribute(("IssueInstant", instant.as_str()))
}

fn into_text(w: Writer<Vec<u8>>) -> Result<String> {
    String::from_utf8(w.into_inner()).map_err(|_| Error::new(Reason::Malformed, "non-UTF-8 output"))
}

/// Writes the unsigned Response. The Assertion declares its own namespaces so it stays valid
/// when encrypted, decrypted or read on its own.
pub fn response_xml(spec: &ResponseSpec) -> Result<String> {
    let mut w = Writer::new(Vec::with_capacity(4096));
    let mut response = protocol_message(&mut w, "samlp:Response", &spec.response_id, spec.issue_instant);
    if let Some(d) = &spec.destination {
        response = response.with_attribute(("Destination", d.as_str()));
    }
    if let Some(irt) = &spec.in_response_to {
        response = response.with_attribute(("InResponseTo", irt.as_str()));
    }
    response
        .write_inner_content(|w| {
            w.create_element("saml:Issuer").write_text_content(BytesText::new(&spec.issuer))?;
            w.create_element("samlp:Status").write_inner_content(|w| {
                w.create_element("samlp:StatusCode").with_attribute(("Value", ns::STATUS_SUCCESS)).write_empty()?;
                Ok(())
            })?;
            write_assertion(w, spec)
        })
        .map_err(io_error)?;
    into_text(w)
}

fn write_assertion(w: &mut Writer<Vec<u8>>, spec: &ResponseSpec) -> io::Result<()> {
    let issue_instant = spec.issue_instant.to_xml();
    w.create_element("saml:Assertion")
        .with_attribute(("xmlns:saml", SAML))
        .with_attribute(("xmlns:xs", XS))
        .with_attribute(("xmlns:xsi", XSI))
        .with_attribute(("ID", spec.assertion_id.as_str()))
        .with_attribute(("Version", "2.0"))
        .with_attribute(("IssueInstant", issue_instant.as_str()))
        .write_inner_content(|w| {
            w.create_element("saml:Issuer").write_text_content(BytesText::new(&spec.issuer))?;
            write_subject(w, spec)?;
            write_conditions(w, spec)?;
            write_authn_statement(w, spec)?;
            if !spec.attributes.is_empty() {
                w.create_element("saml:AttributeStatement").write_inner_content(|w| {
                    for attribute in &spec.attributes {
                        write_attribute(w, attribute)?;
                    }
                    Ok(())
                })?;
            }
            Ok(())
        })?;
    Ok(())
}

fn write_subject(w: &mut Writer<Vec<u8>>, spec: &ResponseSpec) -> io::Result<()> {
    w.create_element("saml:Subject").write_inner_content(|w| {
        let n = &spec.name_id;
        let mut name_id = w.create_element("saml:NameID");
        for (key, value) in
            [("Format", &n.format), ("NameQualifier", &n.name_qualifier), ("SPNameQualifier", &n.sp_name_qualifier)]
        {
            if let Some(v) = value {
                name_id = name_id.with_attribute((key, v.as_str()));
            }
        }
        name_id.write_text_content(BytesText::new(&n.value))?;
        w.create_element("saml:SubjectConfirmation").with_attribute(("Method", ns::CM_BEARER)).write_inner_content(
            |w| {
                let end = spec.confirmation_not_on_or_after.to_xml();
                let mut data = w
                    .create_element("saml:SubjectConfirmationData")
                    .with_attribute(("NotOnOrAfter", end.as_str()))
                    .with_attribute(("Recipient", spec.recipient.as_str()));
                if let Some(irt) = &spec.in_response_to {
                    data = data.with_attribute(("InResponseTo", irt.as_str()));
                }
                data.write_empty()?;
                Ok(())
            },
        )?;
        Ok(())
    })?;
    Ok(())
}

fn write_conditions(w: &mut Writer<Vec<u8>>, spec: &ResponseSpec) -> io::Result<()> {
    let (start, end) = (spec.not_before.to_xml(), spec.not_on_or_after.to_xml());
    w.create_element("saml:Conditions")
        .with_attribute(("NotBefore", start.as_str()))
        .with_attribute(("NotOnOrAfter", end.as_str()))
        .write_inner_content(|w| {
            w.create_element("saml:AudienceRestriction").write_inner_content(|w| {
                for audience in &spec.audiences {
                    w.create_element("saml:Audience").write_text_content(BytesText::new(audience))?;
                }
                Ok(())
            })?;
            if spec.one_time_use {
                w.create_element("saml:OneTimeUse").write_empty()?;
            }
            Ok(())
        })?;
    Ok(())
}

fn write_authn_statement(w: &mut Writer<Vec<u8>>, spec: &ResponseSpec) -> io::Result<()> {
    let instant = spec.authn_instant.to_xml();
    let session_end = spec.session_not_on_or_after.map(Instant::to_xml);
    let mut statement = w.create_element("saml:AuthnStatement").with_attribute(("AuthnInstant", instant.as_str()));
    if let Some(index) = &spec.session_index {
        statement = statement.with_attribute(("SessionIndex", index.as_str()));
    }
    if let Some(end) = &session_end {
        statement = statement.with_attribute(("SessionNotOnOrAfter", end.as_str()));
    }
    statement.write_inner_content(|w| {
        w.create_element("saml:AuthnContext").write_inner_content(|w| {
            w.create_element("saml:AuthnContextClassRef")
                .write_text_content(BytesText::new(&spec.authn_context_class_ref))?;
            Ok(())
        })?;
        Ok(())
    })?;
    Ok(())
}

fn write_attribute(w: &mut Writer<Vec<u8>>, attribute: &Attribute) -> io::Result<()> {
    let mut element = w.create_element("saml:Attribute").with_attribute(("Name", attribute.name.as_str()));
    if let Some(format) = &attribute.name_format {
        element = element.with_attribute(("NameFormat", format.as_str()));
    }
    if let Some(friendly) = &attribute.friendly_name {
        element = element.with_attribute(("FriendlyName", friendly.as_str()));
    }
    element.write_inner_content(|w| {
        for value in &attribute.values {
            w.create_element("saml:AttributeValue")
                .with_attribute(("xsi:type", "xs:string"))
                .write_text_content(BytesText::new(value))?;
        }
        Ok(())
    })?;
    Ok(())
}

/// An AuthnRequest as an SP sends it (SP-initiated SSO).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthnRequestSpec {
    pub id: String,
    pub issue_instant: Instant,
    pub issuer: String,
    pub destination: String,
    pub acs_url: Option<String>,
    pub protocol_binding: Option<String>,
    pub name_id_format: Option<String>,
    pub force_authn: bool,
    pub is_passive: bool,
    pub requested_authn_context: Option<RequestedAuthnContext>,
}

pub fn authn_request_xml(spec: &AuthnRequestSpec) -> Result<String> {
    let mut w = Writer::new(Vec::with_capacity(1024));
    let mut request = protocol_message(&mut w, "samlp:AuthnRequest", &spec.id, spec.issue_instant)
        .with_attribute(("Destination", spec.destination.as_str()));
    if let Some(acs) = &spec.acs_url {
        request = request.with_attribute(("AssertionConsumerServiceURL", acs.as_str()));
    }
    if let Some(binding) = &spec.protocol_binding {
        request = request.with_attribute(("ProtocolBinding", binding.as_str()));
    }
    if spec.force_authn {
        request = request.with_attribute(("ForceAuthn", "true"));
    }
    if spec.is_passive {
        request = request.with_attribute(("IsPassive", "true"));
    }
    request
        .write_inner_content(|w| {
            w.create_element("saml:Issuer").write_text_content(BytesText::new(&spec.issuer))?;
            if let Some(format) = &spec.name_id_format {
                w.create_element("samlp:NameIDPolicy")
                    .with_attribute(("Format", format.as_str()))
                    .with_attribute(("AllowCreate", "true"))
                    .write_empty()?;
            }
            if let Some(context) = &spec.requested_authn_context {
                write_requested_authn_context(w, context)?;
            }
            Ok(())
        })
        .map_err(io_error)?;
    into_text(w)
}

fn write_requested_authn_context(w: &mut Writer<Vec<u8>>, context: &RequestedAuthnContext) -> io::Result<()> {
    w.create_element("samlp:RequestedAuthnContext")
        .with_attribute(("Comparison", context.comparison.name()))
        .write_inner_content(|w| {
            for (name, refs) in
                [("saml:AuthnContextClassRef", &context.class_refs), ("saml:AuthnContextDeclRef", &context.decl_refs)]
            {
                for value in refs {
                    w.create_element(name).write_text_content(BytesText::new(value))?;
                }
            }
            Ok(())
        })?;
    Ok(())
}

/// A LogoutRequest for the session a NameID and SessionIndex name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutRequestSpec {
    pub id: String,
    pub issue_instant: Instant,
    pub issuer: String,
    pub destination: String,
    pub name_id: NameId,
    pub session_index: Option<String>,
}

pub fn logout_request_xml(spec: &LogoutRequestSpec) -> Result<String> {
    let mut w = Writer::new(Vec::with_capacity(1024));
    protocol_message(&mut w, "samlp:LogoutRequest", &spec.id, spec.issue_instant)
        .with_attribute(("Destination", spec.destination.as_str()))
        .write_inner_content(|w| {
            w.create_element("saml:Issuer").write_text_content(BytesText::new(&spec.issuer))?;
            let n = &spec.name_id;
            let mut name_id = w.create_element("saml:NameID");
            if let Some(format) = &n.format {
                name_id = name_id.with_attribute(("Format", format.as_str()));
            }
            name_id.write_text_content(BytesText::new(&n.value))?;
            if let Some(index) = &spec.session_index {
                w.create_element("samlp:SessionIndex").write_text_content(BytesText::new(index))?;
            }
            Ok(())
        })
        .map_err(io_error)?;
    into_text(w)
}

/// A LogoutResponse answering `in_response_to` with a status code.
pub fn logout_response_xml(
    id: &str,
    in_response_to: &str,
    issue_instant: Instant,
    issuer: &str,
    destination: &str,
    status_code: &str,
) -> Result<String> {
    let status = Status { code: status_code.to_owned(), sub_code: None, message: None };
    let spec = StatusResponseSpec {
        id: id.to_owned(),
        in_response_to: in_response_to.to_owned(),
        issue_instant,
        issuer: issuer.to_owned(),
        destination: destination.to_owned(),
        status,
    };
    answer_xml("samlp:LogoutResponse", &spec)
}

/// A Response that answers a request with a status and no assertion: what an IdP sends when it
/// cannot authenticate the person as asked (SAML core 3.2.2.2: `Responder` with `NoPassive`,
/// `NoAuthnContext`…). It is signed as a whole, there being no assertion to sign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusResponseSpec {
    pub id: String,
    pub in_response_to: String,
    pub issue_instant: Instant,
    pub issuer: String,
    pub destination: String,
    pub status: Status,
}

pub fn status_response_xml(spec: &StatusResponseSpec) -> Result<String> {
    answer_xml("samlp:Response", spec)
}

fn answer_xml(element: &str, spec: &StatusResponseSpec) -> Result<String> {
    let mut w = Writer::new(Vec::with_capacity(1024));
    protocol_message(&mut w, element, &spec.id, spec.issue_instant)
        .with_attribute(("InResponseTo", spec.in_response_to.as_str()))
        .with_attribute(("Destination", spec.destination.as_str()))
        .write_inner_content(|w| {
            w.create_element("saml:Issuer").write_text_content(BytesText::new(&spec.issuer))?;
            write_status(w, &spec.status)
        })
        .map_err(io_error)?;
    into_text(w)
}

fn write_status(w: &mut Writer<Vec<u8>>, status: &Status) -> io::Result<()> {
    w.create_element("samlp:Status").write_inner_content(|w| {
        let code = w.create_element("samlp:StatusCode").with_attribute(("Value", status.code.as_str()));
        match &status.sub_code {
            Some(sub) => code.write_inner_content(|w| {
                w.create_element("samlp:StatusCode").with_attribute(("Value", sub.as_str())).write_empty()?;
                Ok(())
            })?,
            None => code.write_empty()?,
        };
        if let Some(message) = &status.message {
            w.create_element("samlp:StatusMessage").write_text_content(BytesText::new(message))?;
        }
        Ok(())
    })?;
    Ok(())
}
