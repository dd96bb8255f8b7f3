//! Building the signed Response an app receives for one person: the AWS Account Federation
//! app to the checklist of reference/aws-federation.md §8, or a generic SAML app.

use idfed_saml::Instant;
use idfed_saml::aws::{ATTR_ROLE, ATTR_ROLE_SESSION_NAME, ATTR_SESSION_DURATION};
use idfed_saml::build::{ResponseSpec, StatusResponseSpec, new_id};
use idfed_saml::dsig::SignOptions;
use idfed_saml::issue::{Signer, issue_response, issue_status_response};
use idfed_saml::keys::{Certificate, SigningKey};
use idfed_saml::model::{Attribute, NameId, RequestedAuthnContext, Status};
use idfed_saml::ns;
use idfed_saml::random::Random;
use idfed_saml::xmlenc::{DataAlgorithm, EncryptOptions, OaepDigest};

use crate::apps::{App, AppKind, AttributeFormat, AwsApp, EncryptionAlgorithm, SamlApp};
use crate::assignments::role_value;
use crate::authn_context::{Strength, stated_class};
use crate::directory::{ProfileValue, User, UserStatus};
use crate::error::{ErrorKind, IdpError, Result};
use crate::expr::{Expression, Subject, Value};
use crate::tenant::Tenant;
use crate::tenant_view::TenantView;

/// How long a response's bearer confirmation and conditions stay valid.
pub const VALIDITY_SECONDS: i64 = 300;

/// The IdP's signing key and the certificate published in metadata.
pub struct IdpKey<'a> {
    pub key: &'a SigningKey,
    pub certificate: &'a Certificate,
}

/// What the launch asks for: an SP-initiated request's ID and ACS, and the RelayState.
#[derive(Debug, Default, Clone)]
pub struct Request<'a> {
    pub in_response_to: Option<&'a str>,
    pub acs_index: Option<u16>,
    pub acs_url: Option<&'a str>,
    pub relay_state: Option<&'a str>,
    /// When and how the person proved who they are (their session); `None`: now, by password.
    pub authenticated: Option<Authenticated>,
    /// The authentication context an SP-initiated request asked for.
    pub requested: Option<&'a RequestedAuthnContext>,
}

/// The sign-in behind a response: its AuthnInstant, and whether a second factor was proven
/// (then the AuthnContextClassRef says so: see [`crate::authn_context`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Authenticated {
    pub at: Instant,
    pub second_factor: bool,
}

/// Who issues, with which key, when, and the random source for IDs and keys.
pub struct Issuer<'a> {
    pub entity_id: &'a str,
    pub key: IdpKey<'a>,
    pub now: Instant,
    pub rng: &'a dyn Random,
}

/// A signed response, where to post it and what it said (for the system log).
#[derive(Debug, Clone)]
pub struct Issued {
    pub xml: String,
    pub acs_url: String,
    pub relay_state: Option<String>,
    pub attributes: Vec<Attribute>,
}

/// A person as the expression language sees them.
pub struct Person<'a> {
    pub user: &'a User,
    pub groups: Vec<(&'a str, &'a str)>,
}

impl Subject for Person<'_> {
    fn attribute(&self, name: &str) -> Value {
        let text = |s: &str| if s.is_empty() { Value::Null } else { Value::String(s.to_owned()) };
        match name {
            "id" => text(&self.user.id),
            "login" => text(&self.user.login),
            "email" => text(&self.user.email),
            "firstName" => text(&self.user.first_name),
            "lastName" => text(&self.user.last_name),
            "displayName" => text(&self.user.display_name()),
            custom => match self.user.profile.get(custom) {
                None => Value::Null,
                Some(ProfileValue::String(s)) => text(s),
                Some(ProfileValue::Boolean(b)) => Value::Boolean(*b),
                Some(ProfileValue::Integer(i)) => Value::Integer(*i),
                Some(ProfileValue::StringArray(items)) => Value::List(items.clone()),
            },
        }
    }

    fn groups(&self) -> Vec<(&str, &str)> {
        self.groups.clone()
    }
}

fn evaluate(tenant: &Tenant, person: &Person, what: &str, text: &str) -> Result<Value> {
    let expression = Expression::parse(text, &tenant.schema)
        .map_err(|e| IdpError::internal(format!("{what}: {e} (the app changed without validation)")))?;
    expression.evaluate(person).map_err(|e| IdpError::invalid(format!("{what}: {e}")))
}

/// The Role attribute values a launch of `app_name` would send for `login` (direct and group
/// assignments, Join all roles, or group mapping), without building or signing anything.
pub fn roles_for(tenant: &TenantView, app_name: &str, login: &str) -> Result<Vec<String>> {
    let app = app_named(tenant, app_name)?;
    let user = user_named(tenant, login)?;
    let person = Person { user, groups: tenant.groups_of(&user.login) };
    let group_names: Vec<&str> = person.groups.iter().map(|(name, _)| *name).collect();
    let assigned = tenant.applicable(&app.name, &user.login, &group_names);
    match &app.kind {
        AppKind::Aws(aws) => aws_roles(tenant, app, aws, &assigned, &person),
        AppKind::Saml(_) => Ok(Vec::new()),
    }
}

/// Issues the response of `app_name` for `login`. Refuses people who are not active or not
/// assigned; issues whatever the configuration says otherwise, even a Role attribute AWS will
/// refuse, because that is what an administrator must be able to see fail (and the doctor explain).
pub fn issue(tenant: &TenantView, app_name: &str, login: &str, request: &Request, by: &Issuer) -> Result<Issued> {
    let (issuer, key, now, rng) = (by.entity_id, &by.key, by.now, by.rng);
    let (app, person, assigned) = admitted(tenant, app_name, login)?;
    let name_id = NameId {
        value: text_of(evaluate(tenant, &person, "NameID", &app.name_id.value)?),
        format: Some(app.name_id.format_uri()?.to_owned()),
        ..NameId::default()
    };
    let mut statements = Vec::new();
    for statement in &app.attribute_statements {
        let values = evaluate(tenant, &person, &statement.name, &statement.value)?.into_attribute_values();
        statements.push(attribute(&statement.name, statement.format, values));
    }
    let relay_state = request.relay_state.map(str::to_owned).or_else(|| app.default_relay_state());
    let (spec, acs_url, encrypt) = match &app.kind {
        AppKind::Aws(aws) => {
            let roles = aws_roles(tenant, app, aws, &assigned, &person)?;
            let session_name = text_of(evaluate(tenant, &person, "RoleSessionName", &aws.role_session_name)?);
            let environment = aws.environment()?;
            let acs = environment.acs_url();
            let spec = base_spec(issuer, name_id, &acs, vec![environment.audience().to_owned()], now, rng)?;
            (with_attributes(spec, aws_attributes(aws, roles, session_name, statements)), acs, None)
        }
        AppKind::Saml(saml) => {
            let acs = saml.acs_for(request.acs_index, request.acs_url)?.url.clone();
            let mut spec = base_spec(issuer, name_id, &acs, vec![saml.entity_id.clone()], now, rng)?;
            spec.in_response_to = request.in_response_to.map(str::to_owned);
            spec.one_time_use = saml.one_time_use;
            let statements = statements.into_iter().filter(|a| !a.values.is_empty()).collect();
            (with_attributes(spec, statements), acs, encryption(saml)?)
        }
    };
    let mut spec = spec;
    if let Some(authenticated) = request.authenticated {
        spec.authn_instant = authenticated.at.min(now);
    }
    let proven = Strength::proven(request.authenticated.is_some_and(|a| a.second_factor));
    spec.authn_context_class_ref =
        stated_class(request.requested, proven).map_err(|shortfall| IdpError::invalid(shortfall.to_string()))?;
    let signer = signer_for(app, key)?;
    let encrypt_for = encrypt.as_ref().map(|(cert, options)| (cert, *options));
    let xml = issue_response(&spec, &signer, app.signing.what()?, encrypt_for, rng)?;
    Ok(Issued { xml, acs_url, relay_state, attributes: spec.attributes })
}

fn signer_for<'k>(app: &App, key: &IdpKey<'k>) -> Result<Signer<'k>> {
    let options = SignOptions { algorithm: app.signing.algorithm()?, ..SignOptions::for_key(key.key) };
    Ok(Signer { key: key.key, certificate: Some(key.certificate), options })
}

/// The signed Response that tells an SAML app no one is signed in, and why: `status` and no
/// assertion (SAML core 3.2.2.2), posted to the ACS the request was accepted for.
pub fn issue_status(
    tenant: &TenantView,
    app_name: &str,
    request: &Request,
    status: Status,
    by: &Issuer,
) -> Result<Issued> {
    let app = app_named(tenant, app_name)?;
    let (AppKind::Saml(saml), Some(in_response_to)) = (&app.kind, request.in_response_to) else {
        return Err(IdpError::internal("only an SP-initiated request to a SAML app is answered with a status"));
    };
    let acs_url = saml.acs_for(request.acs_index, request.acs_url)?.url.clone();
    let spec = StatusResponseSpec {
        id: new_id(by.rng)?,
        in_response_to: in_response_to.to_owned(),
        issue_instant: by.now,
        issuer: by.entity_id.to_owned(),
        destination: acs_url.clone(),
        status,
    };
    let xml = issue_status_response(&spec, &signer_for(app, &by.key)?)?;
    Ok(Issued { xml, acs_url, relay_state: request.relay_state.map(str::to_owned), attributes: Vec::new() })
}

fn app_named<'t>(tenant: &'t TenantView, name: &str) -> Result<&'t App> {
    tenant.app(name).ok_or_else(|| IdpError::not_found(format!("there is no app {name:?}")))
}

fn user_named<'t>(tenant: &'t TenantView, login: &str) -> Result<&'t User> {
    tenant.user(login).ok_or_else(|| IdpError::not_found(format!("there is no user {login:?}")))
}

/// Refuses (Forbidden) someone who is not active or not assigned to the app: what every launch
/// checks first.
pub fn may_launch(tenant: &TenantView, app_name: &str, login: &str) -> Result<()> {
    admitted(tenant, app_name, login).map(|_| ())
}

fn admitted<'t>(
    tenant: &'t TenantView,
    app_name: &str,
    login: &str,
) -> Result<(&'t App, Person<'t>, crate::assignments::Applicable<'t>)> {
    let app = app_named(tenant, app_name)?;
    let user = user_named(tenant, login)?;
    if user.status != UserStatus::Active {
        return Err(IdpError::new(ErrorKind::Forbidden, format!("the account is {}", user.status.name())));
    }
    let person = Person { user, groups: tenant.groups_of(&user.login) };
    let group_names: Vec<&str> = person.groups.iter().map(|(name, _)| *name).collect();
    let assigned = tenant.applicable(&app.name, &user.login, &group_names);
    if !assigned.is_assigned() {
        return Err(IdpError::new(ErrorKind::Forbidden, format!("{} is not assigned to {}", user.login, app.label)));
    }
    Ok((app, person, assigned))
}

/// The NameID value `app_name` sends for `login` (single logout checks requests against it).
pub fn name_id_value(tenant: &TenantView, app_name: &str, login: &str) -> Result<String> {
    let app = app_named(tenant, app_name)?;
    let user = user_named(tenant, login)?;
    let person = Person { user, groups: tenant.groups_of(&user.login) };
    Ok(text_of(evaluate(tenant, &person, "NameID", &app.name_id.value)?))
}

fn text_of(value: Value) -> String {
    value.into_attribute_values().join(",")
}

fn attribute(name: &str, format: AttributeFormat, values: Vec<String>) -> Attribute {
    Attribute { name: name.to_owned(), name_format: format.uri().map(str::to_owned), friendly_name: None, values }
}

fn base_spec(
    issuer: &str,
    name_id: NameId,
    acs: &str,
    audiences: Vec<String>,
    now: Instant,
    rng: &dyn Random,
) -> Result<ResponseSpec> {
    let end = now.plus_seconds(VALIDITY_SECONDS);
    Ok(ResponseSpec {
        response_id: new_id(rng)?,
        assertion_id: new_id(rng)?,
        issue_instant: now,
        issuer: issuer.to_owned(),
        destination: Some(acs.to_owned()),
        in_response_to: None,
        name_id,
        recipient: acs.to_owned(),
        confirmation_not_on_or_after: end,
        not_before: now.minus_seconds(5),
        not_on_or_after: end,
        audiences,
        one_time_use: false,
        authn_instant: now,
        session_index: Some(new_id(rng)?),
        session_not_on_or_after: None,
        authn_context_class_ref: ns::AC_PASSWORD_PROTECTED.to_owned(),
        attributes: Vec::new(),
    })
}

fn with_attributes(mut spec: ResponseSpec, attributes: Vec<Attribute>) -> ResponseSpec {
    spec.attributes = attributes;
    spec
}

/// The Role values: from group names under group mapping, else from the assignments.
fn aws_roles(
    tenant: &TenantView,
    app: &App,
    aws: &AwsApp,
    assigned: &crate::assignments::Applicable,
    person: &Person,
) -> Result<Vec<String>> {
    match tenant.group_mapping(&app.name) {
        Some(mapping) => Ok(mapping?.role_values(person.groups.iter().copied())),
        None => assigned.roles(aws.join_all_roles).into_iter().map(|role| role_value(aws, role)).collect(),
    }
}

/// Role, RoleSessionName and SessionDuration first (URI format, as AWS's metadata asks), then
/// the statements; a statement naming one of the three replaces the built-in one, as in seed 001.
fn aws_attributes(
    aws: &AwsApp,
    roles: Vec<String>,
    session_name: String,
    statements: Vec<Attribute>,
) -> Vec<Attribute> {
    let builtin = [
        (ATTR_ROLE, roles),
        (ATTR_ROLE_SESSION_NAME, vec![session_name].into_iter().filter(|s| !s.is_empty()).collect()),
        (ATTR_SESSION_DURATION, vec![aws.session_duration.to_string()]),
    ];
    let mut attributes: Vec<Attribute> = builtin
        .into_iter()
        .map(|(name, values)| match statements.iter().find(|s| s.name == name) {
            Some(stated) => attribute(name, AttributeFormat::Uri, stated.values.clone()),
            None => attribute(name, AttributeFormat::Uri, values),
        })
        .collect();
    attributes.extend(
        statements
            .into_iter()
            .filter(|s| ![ATTR_ROLE, ATTR_ROLE_SESSION_NAME, ATTR_SESSION_DURATION].contains(&s.name.as_str())),
    );
    attributes.retain(|a| !a.values.is_empty());
    attributes
}

fn encryption(saml: &SamlApp) -> Result<Option<(Certificate, EncryptOptions)>> {
    let Some(pem) = &saml.encryption_certificate else { return Ok(None) };
    let certificate = Certificate::from_pem_or_base64(pem)
        .map_err(|e| IdpError::invalid(format!("encryption certificate: {e}")))?
        .into_iter()
        .next()
        .ok_or_else(|| IdpError::invalid("the encryption certificate is empty"))?;
    let data = match saml.encryption_algorithm {
        EncryptionAlgorithm::Aes256Gcm => DataAlgorithm::Aes256Gcm,
        EncryptionAlgorithm::Aes128Cbc => DataAlgorithm::Aes128Cbc,
        EncryptionAlgorithm::Aes256Cbc => DataAlgorithm::Aes256Cbc,
    };
    Ok(Some((certificate, EncryptOptions { data, oaep: OaepDigest::Sha1 })))
}
