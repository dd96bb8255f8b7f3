//! SAML apps: the generic SAML 2.0 app and the AWS Account Federation app, with Okta's
//! settings, and their checks at save time.

use serde::{Deserialize, Serialize};

use crate::directory::Schema;
use crate::error::{IdpError, Result};
use crate::expr::{Expression, Type};
use crate::group_mapping::GroupMapping;

/// One configured app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct App {
    /// The app's key in URLs and configuration: letters, digits, `-` and `_`.
    pub name: String,
    /// What people see on their tile.
    pub label: String,
    #[serde(flatten)]
    pub kind: AppKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_relay_state: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attribute_statements: Vec<AttributeStatement>,
    #[serde(default)]
    pub name_id: NameIdSource,
    #[serde(default)]
    pub signing: Signing,
}

// Apps are configuration, held a few at a time: boxing the larger variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AppKind {
    Aws(AwsApp),
    Saml(SamlApp),
}

/// Okta's "AWS Environment" choice, as written in configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum EnvironmentType {
    #[default]
    Commercial,
    /// A regional sign-in endpoint (`region` says which), as AWS recommends for Connect.
    Regional,
    #[serde(rename = "govcloud")]
    GovCloud,
    China,
    /// Any other sign-in endpoint (`acs_url`), such as the local sandbox's.
    Custom,
}

/// Where an AWS app posts its responses, resolved from the type and its fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AwsEnvironment {
    Commercial,
    Regional { region: String },
    GovCloud,
    China,
    Custom { acs_url: String },
}

impl AwsEnvironment {
    pub fn acs_url(&self) -> String {
        match self {
            AwsEnvironment::Commercial => "https://signin.aws.amazon.com/saml".into(),
            AwsEnvironment::Regional { region } => format!("https://{region}.signin.aws.amazon.com/saml"),
            AwsEnvironment::GovCloud => "https://signin.amazonaws-us-gov.com/saml".into(),
            AwsEnvironment::China => "https://signin.amazonaws.cn/saml".into(),
            AwsEnvironment::Custom { acs_url } => acs_url.clone(),
        }
    }

    /// AWS's SP entity ID for the partition (reference §1.2).
    pub fn audience(&self) -> &'static str {
        match self {
            AwsEnvironment::GovCloud => "urn:amazon:webservices:govcloud",
            AwsEnvironment::China => "urn:amazon:webservices:cn-north-1",
            _ => "urn:amazon:webservices",
        }
    }

    /// The console host for the partition, for the Connect relay-state helpers.
    pub fn console_base(&self, region: &str) -> String {
        match self {
            AwsEnvironment::GovCloud => "https://console.amazonaws-us-gov.com".into(),
            AwsEnvironment::China => format!("https://{region}.console.amazonaws.cn"),
            _ => format!("https://{region}.console.aws.amazon.com"),
        }
    }
}

/// The AWS Account Federation app's settings (Okta's Sign On and Provisioning tabs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AwsApp {
    #[serde(default)]
    pub environment: EnvironmentType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acs_url: Option<String>,
    /// Identity Provider ARN(s): one SAML provider per AWS account the app signs in to.
    #[serde(default)]
    pub identity_provider_arns: Vec<String>,
    /// Console session length in seconds (the SessionDuration attribute), 900–43200.
    #[serde(default = "default_session_duration")]
    pub session_duration: u32,
    #[serde(default)]
    pub join_all_roles: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_mapping: Option<GroupMapping>,
    /// Expression for RoleSessionName (Okta: the app username, by default the login).
    #[serde(default = "default_role_session_name")]
    pub role_session_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_integration: Option<ApiIntegration>,
    /// The Default Relay State helper for Amazon Connect: used when `default_relay_state` is unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect: Option<ConnectRelay>,
}

impl Default for AwsApp {
    /// What an app written with only its type gets (the serde defaults): commercial AWS, one
    /// hour, RoleSessionName from the login, nothing else set.
    fn default() -> Self {
        AwsApp {
            environment: EnvironmentType::default(),
            region: None,
            acs_url: None,
            identity_provider_arns: Vec::new(),
            session_duration: default_session_duration(),
            join_all_roles: false,
            group_mapping: None,
            role_session_name: default_role_session_name(),
            api_integration: None,
            connect: None,
        }
    }
}

/// Where Amazon Connect opens after sign-in (seed 002): the admin console or the CCP.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectRelay {
    pub instance_id: String,
    /// The instance's region (default us-east-1).
    #[serde(default = "default_region")]
    pub region: String,
    /// `admin` (default), `ccp` (the Contact Control Panel), `agent-app`, or a path such as `/ccp-v2/chat`.
    #[serde(default = "default_destination")]
    pub destination: String,
    /// The console's base URL; by default AWS's for the partition and region, or the ACS's
    /// origin for a custom environment such as the local sandbox.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub console_url: Option<String>,
}

fn default_region() -> String {
    "us-east-1".into()
}

fn default_destination() -> String {
    "admin".into()
}

impl ConnectRelay {
    /// `…/connect/federate/<instance-id>[?destination=…]` for `environment`.
    pub fn relay_state(&self, environment: &AwsEnvironment) -> String {
        let base = match (&self.console_url, environment) {
            (Some(url), _) => url.trim_end_matches('/').to_owned(),
            (None, AwsEnvironment::Custom { acs_url }) => origin(acs_url).to_owned(),
            (None, env) => env.console_base(&self.region),
        };
        let destination = match self.destination.as_str() {
            "admin" | "" => None,
            "ccp" => Some("/ccp-v2".to_owned()),
            "agent-app" => Some("/agent-app-v2".to_owned()),
            path => Some(path.to_owned()),
        };
        let query = destination
            .map(|d| format!("?destination={}", idfed_saml::encoding::percent_encode(&d)))
            .unwrap_or_default();
        format!("{base}/connect/federate/{}{query}", self.instance_id)
    }

    fn validate(&self) -> Result<()> {
        let id_ok = !self.instance_id.is_empty()
            && self.instance_id.len() <= 100
            && self.instance_id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        if !id_ok {
            return Err(IdpError::invalid(format!("{:?} is not an Amazon Connect instance ID", self.instance_id)));
        }
        if let Some(url) = &self.console_url {
            check_url("Connect console URL", url)?;
        }
        if !matches!(self.destination.as_str(), "admin" | "ccp" | "agent-app") && !self.destination.starts_with('/') {
            return Err(IdpError::invalid(
                "the Connect destination is admin, ccp, agent-app or a path starting with /",
            ));
        }
        Ok(())
    }
}

/// `scheme://host[:port]` of a URL.
fn origin(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url.get(after_scheme..).and_then(|rest| rest.find('/')) {
        Some(slash) => url.get(..after_scheme + slash).unwrap_or(url),
        None => url,
    }
}

fn default_session_duration() -> u32 {
    3600
}

fn default_role_session_name() -> String {
    "user.login".into()
}

/// The Provisioning tab's API integration: the keys IAM ListRoles is called with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiIntegration {
    pub access_key_id: String,
    /// Stored sealed (`crate::secrets`); plain text only in files an operator writes.
    pub secret_access_key: String,
    /// IAM's endpoint; AWS's global one when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Roles found by the last import: only those trusting one of the app's provider ARNs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub imported_roles: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_alias: Option<String>,
}

/// A generic SAML 2.0 app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SamlApp {
    /// The SP's entity ID: the Audience of every assertion.
    pub entity_id: String,
    pub acs: Vec<AcsEndpoint>,
    /// PEM certificate of the SP: assertions are encrypted for it when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption_certificate: Option<String>,
    #[serde(default)]
    pub encryption_algorithm: EncryptionAlgorithm,
    /// PEM certificate AuthnRequests must be signed with; unsigned requests are refused when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authn_request_certificate: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slo_url: Option<String>,
    /// The SP asks for assertions it may use only once: they carry Conditions/OneTimeUse.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub one_time_use: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcsEndpoint {
    pub url: String,
    #[serde(default)]
    pub index: u16,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub default: bool,
}

impl SamlApp {
    /// The ACS a response goes to: the requested index or URL when registered, else the default.
    pub fn acs_for(&self, index: Option<u16>, url: Option<&str>) -> Result<&AcsEndpoint> {
        if let Some(url) = url {
            return self.acs.iter().find(|a| a.url == url).ok_or_else(|| {
                IdpError::invalid(format!("the AssertionConsumerServiceURL {url:?} is not registered for this app"))
            });
        }
        if let Some(index) = index {
            return self.acs.iter().find(|a| a.index == index).ok_or_else(|| {
                IdpError::invalid(format!("the AssertionConsumerServiceIndex {index} is not registered for this app"))
            });
        }
        self.acs
            .iter()
            .find(|a| a.default)
            .or_else(|| self.acs.first())
            .ok_or_else(|| IdpError::invalid("the app has no ACS URL"))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum EncryptionAlgorithm {
    #[default]
    Aes256Gcm,
    Aes128Cbc,
    Aes256Cbc,
}

/// One attribute of the AttributeStatement, its value an expression.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttributeStatement {
    pub name: String,
    #[serde(default)]
    pub format: AttributeFormat,
    pub value: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum AttributeFormat {
    #[default]
    Unspecified,
    Uri,
    Basic,
}

impl AttributeFormat {
    pub fn uri(self) -> Option<&'static str> {
        match self {
            AttributeFormat::Unspecified => Some("urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified"),
            AttributeFormat::Uri => Some(idfed_saml::ns::ATTRNAME_FORMAT_URI),
            AttributeFormat::Basic => Some(idfed_saml::ns::ATTRNAME_FORMAT_BASIC),
        }
    }
}

/// The NameID: its format and an expression for its value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NameIdSource {
    #[serde(default = "default_name_id_format")]
    pub format: String,
    #[serde(default = "default_name_id_value")]
    pub value: String,
}

impl Default for NameIdSource {
    fn default() -> Self {
        NameIdSource { format: default_name_id_format(), value: default_name_id_value() }
    }
}

fn default_name_id_format() -> String {
    "persistent".into()
}

fn default_name_id_value() -> String {
    "user.id".into()
}

impl NameIdSource {
    pub fn format_uri(&self) -> Result<&str> {
        use idfed_saml::ns;
        Ok(match self.format.as_str() {
            "persistent" => ns::NAMEID_PERSISTENT,
            "transient" => ns::NAMEID_TRANSIENT,
            "email" | "emailAddress" => ns::NAMEID_EMAIL,
            "unspecified" => ns::NAMEID_UNSPECIFIED,
            uri if uri.starts_with("urn:") => uri,
            other => {
                return Err(IdpError::invalid(format!(
                    "NameID format {other:?}: use persistent, transient, email, unspecified or a URN"
                )));
            }
        })
    }
}

/// What is signed and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signing {
    /// `assertion` (default; what AWS needs), `response` or `both`.
    #[serde(default = "default_sign")]
    pub sign: String,
    /// `rsa-sha256` (default), `rsa-sha384`, `rsa-sha512`.
    #[serde(default = "default_algorithm")]
    pub algorithm: String,
}

impl Default for Signing {
    fn default() -> Self {
        Signing { sign: default_sign(), algorithm: default_algorithm() }
    }
}

fn default_sign() -> String {
    "assertion".into()
}

fn default_algorithm() -> String {
    "rsa-sha256".into()
}

impl Signing {
    pub fn what(&self) -> Result<idfed_saml::issue::SignWhat> {
        idfed_saml::issue::SignWhat::from_name(&self.sign)
            .ok_or_else(|| IdpError::invalid(format!("sign {:?}: use assertion, response or both", self.sign)))
    }

    pub fn algorithm(&self) -> Result<idfed_saml::dsig::SignatureAlgorithm> {
        use idfed_saml::dsig::SignatureAlgorithm as A;
        match self.algorithm.as_str() {
            "rsa-sha256" => Ok(A::RsaSha256),
            "rsa-sha384" => Ok(A::RsaSha384),
            "rsa-sha512" => Ok(A::RsaSha512),
            other => Err(IdpError::invalid(format!(
                "signature algorithm {other:?}: use rsa-sha256, rsa-sha384 or rsa-sha512"
            ))),
        }
    }
}

/// `arn:<partition>:iam::<12 digits>:saml-provider/<name>`: returns (partition, account).
pub fn parse_provider_arn(arn: &str) -> Result<(&str, &str)> {
    parse_iam_arn(arn, "saml-provider/").ok_or_else(|| {
        IdpError::invalid(format!(
            "{arn:?} is not a SAML provider ARN (arn:aws:iam::<account id>:saml-provider/<name>)"
        ))
    })
}

/// `arn:<partition>:iam::<12 digits>:role/<path/name>`: returns (partition, account).
pub fn parse_role_arn(arn: &str) -> Option<(&str, &str)> {
    parse_iam_arn(arn, "role/")
}

fn parse_iam_arn<'a>(arn: &'a str, resource_prefix: &str) -> Option<(&'a str, &'a str)> {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(partition), Some("iam"), Some(""), Some(account), Some(resource)) =
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let name = resource.strip_prefix(resource_prefix)?;
    let valid_partition = matches!(partition, "aws" | "aws-us-gov" | "aws-cn");
    let valid_account = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
    let valid_name = !name.is_empty()
        && name.len() <= 512
        && name.chars().all(|c| c.is_ascii_alphanumeric() || "+=,.@_-/".contains(c));
    (valid_partition && valid_account && valid_name).then_some((partition, account))
}

fn check_url(what: &str, url: &str) -> Result<()> {
    let ok = (url.starts_with("https://") || url.starts_with("http://"))
        && url.len() <= 2048
        && !url.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok { Ok(()) } else { Err(IdpError::invalid(format!("{what} {url:?} must be an http(s) URL"))) }
}

fn check_expression(schema: &Schema, what: &str, text: &str) -> Result<Expression> {
    Expression::parse(text, schema).map_err(|e| IdpError::invalid(format!("{what}: {e}")))
}

impl App {
    /// The RelayState sent when a launch names none: the default, or the Connect helper's.
    pub fn default_relay_state(&self) -> Option<String> {
        if let Some(relay) = &self.default_relay_state {
            return Some(relay.clone());
        }
        match &self.kind {
            AppKind::Aws(aws) => {
                let connect = aws.connect.as_ref()?;
                Some(connect.relay_state(&aws.environment().ok()?))
            }
            AppKind::Saml(_) => None,
        }
    }

    /// Every check that can be made when the app is saved, so that sign-in never meets a
    /// configuration mistake: names, URLs, ARNs, durations, patterns and every expression.
    pub fn validate(&self, schema: &Schema) -> Result<()> {
        let name_ok = !self.name.is_empty()
            && self.name.len() <= 64
            && self.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !name_ok {
            return Err(IdpError::invalid(format!(
                "app name {:?} must be 1–64 letters, digits, '-' or '_'",
                self.name
            )));
        }
        if self.label.trim().is_empty() || self.label.len() > 100 {
            return Err(IdpError::invalid("the app label must be 1–100 characters"));
        }
        if let Some(relay) = &self.default_relay_state {
            check_url("default relay state", relay)?;
        }
        self.name_id.format_uri()?;
        check_expression(schema, "NameID value", &self.name_id.value)?;
        self.signing.what()?;
        self.signing.algorithm()?;
        let mut seen = std::collections::BTreeSet::new();
        for statement in &self.attribute_statements {
            if statement.name.trim().is_empty() || statement.name.len() > 512 {
                return Err(IdpError::invalid("attribute statement names must be 1–512 characters"));
            }
            if !seen.insert(statement.name.as_str()) {
                return Err(IdpError::invalid(format!("attribute {:?} is stated twice", statement.name)));
            }
            check_expression(schema, &format!("attribute {:?}", statement.name), &statement.value)?;
        }
        match &self.kind {
            AppKind::Aws(aws) => aws.validate(schema),
            AppKind::Saml(saml) => saml.validate(),
        }
    }
}

impl AwsApp {
    /// The environment with its region or ACS URL; an error names what is missing.
    pub fn environment(&self) -> Result<AwsEnvironment> {
        let field = |value: &Option<String>, what: &str| {
            value.clone().ok_or_else(|| {
                IdpError::invalid(format!(
                    "the {what} environment needs `{}`",
                    match what {
                        "regional" => "region",
                        _ => "acs_url",
                    }
                ))
            })
        };
        Ok(match self.environment {
            EnvironmentType::Commercial => AwsEnvironment::Commercial,
            EnvironmentType::Regional => AwsEnvironment::Regional { region: field(&self.region, "regional")? },
            EnvironmentType::GovCloud => AwsEnvironment::GovCloud,
            EnvironmentType::China => AwsEnvironment::China,
            EnvironmentType::Custom => AwsEnvironment::Custom { acs_url: field(&self.acs_url, "custom")? },
        })
    }

    fn validate(&self, schema: &Schema) -> Result<()> {
        match &self.environment()? {
            AwsEnvironment::Regional { region } => {
                let ok = !region.is_empty()
                    && region.len() <= 32
                    && region.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
                if !ok {
                    return Err(IdpError::invalid(format!("{region:?} is not an AWS region name")));
                }
            }
            AwsEnvironment::Custom { acs_url } => check_url("ACS URL", acs_url)?,
            _ => {}
        }
        for arn in &self.identity_provider_arns {
            parse_provider_arn(arn)?;
        }
        if !(900..=43200).contains(&self.session_duration) {
            return Err(IdpError::invalid(format!(
                "session duration {} s: AWS accepts 900 to 43200 seconds",
                self.session_duration
            )));
        }
        let session_name = check_expression(schema, "RoleSessionName", &self.role_session_name)?;
        if !matches!(session_name.result_type(), Type::String | Type::Null) {
            return Err(IdpError::invalid(format!(
                "RoleSessionName must be text, but {:?} is a {}",
                self.role_session_name,
                session_name.result_type().name()
            )));
        }
        // No Identity Provider ARN yet is allowed: the provider is made in IAM from this app's
        // metadata, so the app exists first. Roles then fail at sign-in with a clear message.
        if let Some(mapping) = &self.group_mapping {
            mapping.compile()?;
        }
        if let Some(connect) = &self.connect {
            connect.validate()?;
        }
        if let Some(api) = &self.api_integration {
            if let Some(endpoint) = &api.endpoint {
                check_url("IAM endpoint", endpoint)?;
            }
            let key_ok = (16..=128).contains(&api.access_key_id.len())
                && api.access_key_id.chars().all(|c| c.is_ascii_alphanumeric());
            if !key_ok {
                return Err(IdpError::invalid("the access key ID must be 16–128 letters and digits"));
            }
        }
        Ok(())
    }
}

impl SamlApp {
    fn validate(&self) -> Result<()> {
        if self.entity_id.trim().is_empty() || self.entity_id.len() > 1024 {
            return Err(IdpError::invalid("the SP entity ID must be 1–1024 characters"));
        }
        if self.acs.is_empty() {
            return Err(IdpError::invalid("add at least one ACS URL"));
        }
        let mut indexes = std::collections::BTreeSet::new();
        for acs in &self.acs {
            check_url("ACS URL", &acs.url)?;
            if !indexes.insert(acs.index) {
                return Err(IdpError::invalid(format!("ACS index {} is used twice", acs.index)));
            }
        }
        if self.acs.iter().filter(|a| a.default).count() > 1 {
            return Err(IdpError::invalid("only one ACS URL can be the default"));
        }
        if let Some(slo) = &self.slo_url {
            check_url("SLO URL", slo)?;
        }
        for (what, pem) in [
            ("encryption certificate", &self.encryption_certificate),
            ("AuthnRequest signing certificate", &self.authn_request_certificate),
        ] {
            if let Some(pem) = pem {
                idfed_saml::Certificate::from_pem_or_base64(pem)
                    .map_err(|e| IdpError::invalid(format!("{what}: {e}")))?;
            }
        }
        Ok(())
    }
}
