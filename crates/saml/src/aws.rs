//! The shape of a SAML response for AWS sign-in and STS AssumeRoleWithSAML
//! (reference/aws-federation.md §1–2).

use crate::random::Random;

use crate::build::{ResponseSpec, new_id};
use crate::error::Result;
use crate::model::{Attribute, NameId};
use crate::ns;
use crate::time::Instant;

pub const ATTR_ROLE: &str = "https://aws.amazon.com/SAML/Attributes/Role";
pub const ATTR_ROLE_SESSION_NAME: &str = "https://aws.amazon.com/SAML/Attributes/RoleSessionName";
pub const ATTR_SESSION_DURATION: &str = "https://aws.amazon.com/SAML/Attributes/SessionDuration";
pub const ATTR_SOURCE_IDENTITY: &str = "https://aws.amazon.com/SAML/Attributes/SourceIdentity";
pub const ATTR_PRINCIPAL_TAG_PREFIX: &str = "https://aws.amazon.com/SAML/Attributes/PrincipalTag:";
pub const ATTR_TRANSITIVE_TAG_KEYS: &str = "https://aws.amazon.com/SAML/Attributes/TransitiveTagKeys";
pub const AUDIENCE: &str = "urn:amazon:webservices";
pub const SIGNIN_URL: &str = "https://signin.aws.amazon.com/saml";

/// One Role attribute value: the role and the SAML provider that may assume it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolePair {
    pub role_arn: String,
    pub provider_arn: String,
}

impl RolePair {
    /// `role,provider`, the order AWS documents (either order is accepted).
    pub fn to_value(&self) -> String {
        format!("{},{}", self.role_arn, self.provider_arn)
    }
}

/// What the AWS Account Federation app puts in a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsResponse {
    pub issuer: String,
    pub name_id: NameId,
    pub roles: Vec<RolePair>,
    pub role_session_name: String,
    /// Console session length in seconds (900–43200); omitted when `None`.
    pub session_duration: Option<u32>,
    pub acs_url: String,
    pub audience: String,
    pub extra_attributes: Vec<Attribute>,
    /// How long the bearer confirmation and conditions stay valid, in seconds.
    pub validity_seconds: i64,
    pub session_not_on_or_after: Option<Instant>,
}

impl AwsResponse {
    /// A response to the commercial-partition sign-in endpoint with sane defaults.
    pub fn new(issuer: &str, subject: &str, role_session_name: &str, roles: Vec<RolePair>) -> Self {
        AwsResponse {
            issuer: issuer.to_owned(),
            name_id: NameId {
                value: subject.to_owned(),
                format: Some(ns::NAMEID_PERSISTENT.to_owned()),
                ..NameId::default()
            },
            roles,
            role_session_name: role_session_name.to_owned(),
            session_duration: None,
            acs_url: SIGNIN_URL.to_owned(),
            audience: AUDIENCE.to_owned(),
            extra_attributes: Vec::new(),
            validity_seconds: 300,
            session_not_on_or_after: None,
        }
    }

    pub fn to_spec(&self, now: Instant, rng: &dyn Random) -> Result<ResponseSpec> {
        let uri = |name: &str, values: Vec<String>| Attribute {
            name: name.to_owned(),
            name_format: Some(ns::ATTRNAME_FORMAT_URI.to_owned()),
            friendly_name: None,
            values,
        };
        let mut attributes = vec![
            uri(ATTR_ROLE, self.roles.iter().map(RolePair::to_value).collect()),
            uri(ATTR_ROLE_SESSION_NAME, vec![self.role_session_name.clone()]),
        ];
        if let Some(d) = self.session_duration {
            attributes.push(uri(ATTR_SESSION_DURATION, vec![d.to_string()]));
        }
        attributes.extend(self.extra_attributes.iter().cloned());
        let end = now.plus_seconds(self.validity_seconds);
        Ok(ResponseSpec {
            response_id: new_id(rng)?,
            assertion_id: new_id(rng)?,
            issue_instant: now,
            issuer: self.issuer.clone(),
            destination: Some(self.acs_url.clone()),
            in_response_to: None,
            name_id: self.name_id.clone(),
            recipient: self.acs_url.clone(),
            confirmation_not_on_or_after: end,
            not_before: now.minus_seconds(5),
            not_on_or_after: end,
            audiences: vec![self.audience.clone()],
            one_time_use: false,
            authn_instant: now,
            session_index: Some(new_id(rng)?),
            session_not_on_or_after: self.session_not_on_or_after,
            authn_context_class_ref: ns::AC_PASSWORD_PROTECTED.to_owned(),
            attributes,
        })
    }
}
