//! Typed SAML 2.0 messages, read from parsed (and, for responses, verified) elements.

use roxmltree::Node;

use crate::error::{Result, malformed};
use crate::ns::{SAML, SAMLP};
use crate::time::Instant;
use crate::xml::{children, id_of, is, only_child, required_child, text_content, trimmed_text};

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NameId {
    pub value: String,
    pub format: Option<String>,
    pub name_qualifier: Option<String>,
    pub sp_name_qualifier: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SubjectConfirmationData {
    pub not_before: Option<Instant>,
    pub not_on_or_after: Option<Instant>,
    pub recipient: Option<String>,
    pub in_response_to: Option<String>,
    pub address: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SubjectConfirmation {
    pub method: String,
    pub data: Option<SubjectConfirmationData>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Conditions {
    pub not_before: Option<Instant>,
    pub not_on_or_after: Option<Instant>,
    /// One list per AudienceRestriction; each must contain the SP.
    pub audience_restrictions: Vec<Vec<String>>,
    pub one_time_use: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuthnStatement {
    pub authn_instant: Option<Instant>,
    pub session_index: Option<String>,
    pub session_not_on_or_after: Option<Instant>,
    pub authn_context_class_ref: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Attribute {
    pub name: String,
    pub name_format: Option<String>,
    pub friendly_name: Option<String>,
    pub values: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Assertion {
    pub id: String,
    pub issue_instant: Option<Instant>,
    pub issuer: Option<String>,
    pub name_id: Option<NameId>,
    pub subject_confirmations: Vec<SubjectConfirmation>,
    pub conditions: Option<Conditions>,
    pub authn_statements: Vec<AuthnStatement>,
    pub attributes: Vec<Attribute>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Status {
    pub code: String,
    pub sub_code: Option<String>,
    pub message: Option<String>,
}

impl Status {
    pub fn is_success(&self) -> bool {
        self.code == crate::ns::STATUS_SUCCESS
    }
}

/// The envelope of a Response: what sits outside the Assertion.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResponseHeader {
    pub id: String,
    pub in_response_to: Option<String>,
    pub issue_instant: Option<Instant>,
    pub destination: Option<String>,
    pub issuer: Option<String>,
    pub status: Option<Status>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuthnRequest {
    pub id: String,
    pub issue_instant: Option<Instant>,
    pub destination: Option<String>,
    pub issuer: Option<String>,
    pub assertion_consumer_service_url: Option<String>,
    pub assertion_consumer_service_index: Option<u16>,
    pub protocol_binding: Option<String>,
    pub name_id_policy_format: Option<String>,
    pub force_authn: bool,
    pub is_passive: bool,
    pub requested_authn_context: Option<RequestedAuthnContext>,
}

/// How the IdP's authentication context must compare with the ones an SP lists
/// (SAML core 3.3.2.2.1); `exact` when the request does not say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize), serde(rename_all = "lowercase"))]
pub enum Comparison {
    #[default]
    Exact,
    Minimum,
    Maximum,
    Better,
}

impl Comparison {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "exact" => Some(Comparison::Exact),
            "minimum" => Some(Comparison::Minimum),
            "maximum" => Some(Comparison::Maximum),
            "better" => Some(Comparison::Better),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Comparison::Exact => "exact",
            Comparison::Minimum => "minimum",
            Comparison::Maximum => "maximum",
            Comparison::Better => "better",
        }
    }
}

/// An AuthnRequest's RequestedAuthnContext: the authentication classes (or declarations) the
/// SP will accept, and how they compare.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RequestedAuthnContext {
    pub comparison: Comparison,
    pub class_refs: Vec<String>,
    pub decl_refs: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LogoutRequest {
    pub id: String,
    pub issue_instant: Option<Instant>,
    pub destination: Option<String>,
    pub issuer: Option<String>,
    pub name_id: Option<NameId>,
    pub session_indexes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LogoutResponse {
    pub header: ResponseHeader,
}

fn attr(node: Node, name: &str) -> Option<String> {
    node.attribute(name).map(str::to_owned)
}

fn time_attr(node: Node, name: &str) -> Result<Option<Instant>> {
    node.attribute(name).map(Instant::parse).transpose()
}

fn issuer_of(node: Node) -> Result<Option<String>> {
    Ok(only_child(node, SAML, "Issuer")?.map(trimmed_text))
}

fn bool_attr(node: Node, name: &str) -> bool {
    matches!(node.attribute(name), Some("true" | "1"))
}

fn required_id(node: Node) -> Result<String> {
    id_of(node).map(str::to_owned).ok_or_else(|| malformed(format!("{} has no ID", node.tag_name().name())))
}

fn check_version(node: Node) -> Result<()> {
    match node.attribute("Version") {
        Some("2.0") => Ok(()),
        other => Err(malformed(format!("unsupported SAML version {other:?} (expected 2.0)"))),
    }
}

impl NameId {
    pub fn from_node(node: Node) -> Self {
        NameId {
            value: text_content(node).trim().to_owned(),
            format: attr(node, "Format"),
            name_qualifier: attr(node, "NameQualifier"),
            sp_name_qualifier: attr(node, "SPNameQualifier"),
        }
    }
}

impl Assertion {
    pub fn from_node(node: Node) -> Result<Self> {
        if !is(node, SAML, "Assertion") {
            return Err(malformed("expected a saml:Assertion"));
        }
        check_version(node)?;
        let mut out = Assertion {
            id: required_id(node)?,
            issue_instant: time_attr(node, "IssueInstant")?,
            issuer: issuer_of(node)?,
            ..Assertion::default()
        };
        if let Some(subject) = only_child(node, SAML, "Subject")? {
            out.name_id = only_child(subject, SAML, "NameID")?.map(NameId::from_node);
            for sc in children(subject, SAML, "SubjectConfirmation") {
                let data = match only_child(sc, SAML, "SubjectConfirmationData")? {
                    Some(d) => Some(SubjectConfirmationData {
                        not_before: time_attr(d, "NotBefore")?,
                        not_on_or_after: time_attr(d, "NotOnOrAfter")?,
                        recipient: attr(d, "Recipient"),
                        in_response_to: attr(d, "InResponseTo"),
                        address: attr(d, "Address"),
                    }),
                    None => None,
                };
                out.subject_confirmations
                    .push(SubjectConfirmation { method: attr(sc, "Method").unwrap_or_default(), data });
            }
        }
        if let Some(c) = only_child(node, SAML, "Conditions")? {
            out.conditions = Some(Conditions {
                not_before: time_attr(c, "NotBefore")?,
                not_on_or_after: time_attr(c, "NotOnOrAfter")?,
                audience_restrictions: children(c, SAML, "AudienceRestriction")
                    .map(|r| children(r, SAML, "Audience").map(trimmed_text).collect())
                    .collect(),
                one_time_use: children(c, SAML, "OneTimeUse").next().is_some(),
            });
        }
        for s in children(node, SAML, "AuthnStatement") {
            let class_ref = only_child(s, SAML, "AuthnContext")?
                .map(|ctx| only_child(ctx, SAML, "AuthnContextClassRef"))
                .transpose()?
                .flatten()
                .map(trimmed_text);
            out.authn_statements.push(AuthnStatement {
                authn_instant: time_attr(s, "AuthnInstant")?,
                session_index: attr(s, "SessionIndex"),
                session_not_on_or_after: time_attr(s, "SessionNotOnOrAfter")?,
                authn_context_class_ref: class_ref,
            });
        }
        for statement in children(node, SAML, "AttributeStatement") {
            for a in children(statement, SAML, "Attribute") {
                out.attributes.push(Attribute {
                    name: attr(a, "Name").ok_or_else(|| malformed("Attribute has no Name"))?,
                    name_format: attr(a, "NameFormat"),
                    friendly_name: attr(a, "FriendlyName"),
                    values: children(a, SAML, "AttributeValue").map(|v| text_content(v)).collect(),
                });
            }
        }
        Ok(out)
    }

    /// Every value of the attribute with this exact (case-sensitive) name.
    pub fn attribute_values(&self, name: &str) -> Vec<&str> {
        self.attributes.iter().filter(|a| a.name == name).flat_map(|a| a.values.iter().map(String::as_str)).collect()
    }
}

impl Status {
    pub fn from_node(node: Node) -> Result<Self> {
        let code = required_child(node, SAMLP, "StatusCode")?;
        let sub = only_child(code, SAMLP, "StatusCode")?;
        Ok(Status {
            code: attr(code, "Value").unwrap_or_default(),
            sub_code: sub.and_then(|s| attr(s, "Value")),
            message: only_child(node, SAMLP, "StatusMessage")?.map(text_content),
        })
    }
}

impl ResponseHeader {
    /// Reads the envelope of a `samlp:Response` or `samlp:LogoutResponse`.
    pub fn from_node(node: Node) -> Result<Self> {
        check_version(node)?;
        Ok(ResponseHeader {
            id: required_id(node)?,
            in_response_to: attr(node, "InResponseTo"),
            issue_instant: time_attr(node, "IssueInstant")?,
            destination: attr(node, "Destination"),
            issuer: issuer_of(node)?,
            status: only_child(node, SAMLP, "Status")?.map(Status::from_node).transpose()?,
        })
    }
}

impl AuthnRequest {
    pub fn from_node(node: Node) -> Result<Self> {
        if !is(node, SAMLP, "AuthnRequest") {
            return Err(malformed("expected a samlp:AuthnRequest"));
        }
        check_version(node)?;
        let index = node
            .attribute("AssertionConsumerServiceIndex")
            .map(|v| v.parse::<u16>().map_err(|_| malformed("AssertionConsumerServiceIndex is not a number")))
            .transpose()?;
        Ok(AuthnRequest {
            id: required_id(node)?,
            issue_instant: time_attr(node, "IssueInstant")?,
            destination: attr(node, "Destination"),
            issuer: issuer_of(node)?,
            assertion_consumer_service_url: attr(node, "AssertionConsumerServiceURL"),
            assertion_consumer_service_index: index,
            protocol_binding: attr(node, "ProtocolBinding"),
            name_id_policy_format: only_child(node, SAMLP, "NameIDPolicy")?.and_then(|p| attr(p, "Format")),
            force_authn: bool_attr(node, "ForceAuthn"),
            is_passive: bool_attr(node, "IsPassive"),
            requested_authn_context: only_child(node, SAMLP, "RequestedAuthnContext")?
                .map(RequestedAuthnContext::from_node)
                .transpose()?,
        })
    }
}

impl RequestedAuthnContext {
    pub fn from_node(node: Node) -> Result<Self> {
        let comparison = match node.attribute("Comparison") {
            None => Comparison::Exact,
            Some(text) => Comparison::parse(text).ok_or_else(|| {
                malformed(format!("RequestedAuthnContext Comparison {text:?} is not exact, minimum, maximum or better"))
            })?,
        };
        let context = RequestedAuthnContext {
            comparison,
            class_refs: children(node, SAML, "AuthnContextClassRef").map(trimmed_text).collect(),
            decl_refs: children(node, SAML, "AuthnContextDeclRef").map(trimmed_text).collect(),
        };
        if context.class_refs.is_empty() && context.decl_refs.is_empty() {
            return Err(malformed("RequestedAuthnContext names no AuthnContextClassRef or AuthnContextDeclRef"));
        }
        Ok(context)
    }
}

impl LogoutRequest {
    pub fn from_node(node: Node) -> Result<Self> {
        if !is(node, SAMLP, "LogoutRequest") {
            return Err(malformed("expected a samlp:LogoutRequest"));
        }
        check_version(node)?;
        Ok(LogoutRequest {
            id: required_id(node)?,
            issue_instant: time_attr(node, "IssueInstant")?,
            destination: attr(node, "Destination"),
            issuer: issuer_of(node)?,
            name_id: only_child(node, SAML, "NameID")?.map(NameId::from_node),
            session_indexes: children(node, SAMLP, "SessionIndex").map(trimmed_text).collect(),
        })
    }
}

impl LogoutResponse {
    pub fn from_node(node: Node) -> Result<Self> {
        if !is(node, SAMLP, "LogoutResponse") {
            return Err(malformed("expected a samlp:LogoutResponse"));
        }
        Ok(LogoutResponse { header: ResponseHeader::from_node(node)? })
    }
}
