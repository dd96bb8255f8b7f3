//! AssumeRoleWithSAML, validating in AWS's order with AWS's codes and texts
//! (reference/aws-federation.md §3.1 and §8; failures F03–F18, F24).

use std::collections::BTreeMap;

use aws_lc_rs::digest;
use idfed_policy::{Context, Request, Value, evaluate};
use idfed_saml::aws::{
    ATTR_PRINCIPAL_TAG_PREFIX, ATTR_ROLE, ATTR_ROLE_SESSION_NAME, ATTR_SESSION_DURATION, ATTR_SOURCE_IDENTITY,
    ATTR_TRANSITIVE_TAG_KEYS,
};
use idfed_saml::encoding::{base64_decode, base64_encode};
use idfed_saml::random::Random;
use idfed_saml::sp::{Accepted, SpConfig, validate_response};
use idfed_saml::xmlenc::DecryptionKey;
use idfed_saml::{Instant, Reason, ns, xml};

use crate::error::AwsError;
use crate::ids;
use crate::state::{Role, SamlProvider, Session, State};
use crate::sts::endpoints::{Partition, endpoint_path, is_aws_audience, is_signin_url, provider_id_of};
use crate::sts::session_policy::SessionPolicies;

pub const NOT_AUTHORIZED: &str = "Not authorized to perform sts:AssumeRoleWithSAML";
pub const SIGNATURE_INVALID: &str = "Response signature invalid";
pub const ROLE_SESSION_NAME_REQUIRED: &str = "RoleSessionName is required in AuthnResponse";
pub const ROLE_SESSION_NAME_PATTERN: &str = "RoleSessionName in AuthnResponse must match [a-zA-Z_0-9+=,.@-]{2,64}";
pub const SOURCE_IDENTITY_PATTERN: &str =
    "Source Identity must match [a-zA-Z_0-9+=,.@-]{2,64} and not begin with \"aws:\"";
pub const ISSUER_NOT_PRESENT: &str = "Failed to assume role: Issuer not present in specified provider";
pub const PROVIDER_MISSING: &str = "Specified provider doesn't exist.";
pub const AUDIENCE_MISSING: &str = "Response does not contain the required audience.";
pub const TOKEN_EXPIRED: &str = "Token must be redeemed within 5 minutes of issuance";
pub const DURATION_EXCEEDS: &str = "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.";
/// AWS publishes no text for a replayed assertion; this is the sandbox's (InvalidIdentityToken, 400).
pub const ALREADY_USED: &str = "Invalid SAML response: this assertion was already used";

/// The request, as the Query parameters give it.
#[derive(Debug, Clone, Default)]
pub struct AssumeRequest<'a> {
    pub role_arn: &'a str,
    pub principal_arn: &'a str,
    pub saml_assertion: &'a str,
    pub duration_seconds: Option<i64>,
    /// `Policy` and `PolicyArns`; the sign-in endpoint has none.
    pub session_policies: SessionPolicies,
}

/// What AssumeRoleWithSAML answers besides the credentials.
#[derive(Debug, Clone)]
pub struct Assumed {
    pub session: Session,
    pub subject: String,
    pub subject_type: String,
    pub issuer: String,
    pub audience: String,
    pub name_qualifier: String,
    pub source_identity: Option<String>,
    pub packed_policy_size: Option<u32>,
    /// The AuthnStatement's SessionNotOnOrAfter, which also caps console sessions.
    pub session_not_on_or_after: Option<Instant>,
    /// The SessionDuration attribute of the verified assertion, when it is 900–43200 seconds.
    pub session_duration: Option<i64>,
    /// The verified assertion's ID, and until when it could still be redeemed (IssueInstant
    /// plus five minutes): a replay guard keeps it that long ([`crate::state::State::redeem`]).
    pub assertion_id: String,
    pub redeemable_until: Instant,
}

impl Assumed {
    /// Records the assertion as used at the sign-in endpoint; refuses it when it was used there
    /// before (replay).
    pub fn redeem(&self, state: &mut crate::state::State, now: Instant) -> Result<(), AwsError> {
        self.redeem_as(state, &self.assertion_id, now)
    }

    /// Records the assertion as used through the STS API for this role; refuses it when it was
    /// used for the same role before. Other roles of the same assertion stay open: tools that
    /// fetch credentials for every role an assertion offers (gimme-aws-creds) do so with one
    /// assertion against real STS.
    pub fn redeem_for_role(&self, state: &mut crate::state::State, now: Instant) -> Result<(), AwsError> {
        self.redeem_as(state, &format!("{} {}", self.assertion_id, self.session.role_arn), now)
    }

    fn redeem_as(&self, state: &mut crate::state::State, mark: &str, now: Instant) -> Result<(), AwsError> {
        if state.redeem(mark, self.redeemable_until, now) { Ok(()) } else { Err(invalid_token(ALREADY_USED)) }
    }
}

fn invalid_token(message: impl Into<String>) -> AwsError {
    AwsError::sender(400, "InvalidIdentityToken", message)
}

fn access_denied() -> AwsError {
    AwsError::sender(403, "AccessDenied", NOT_AUTHORIZED)
}

/// `sign_in_urls` are the sandbox's own sign-in URLs, accepted as Recipients besides AWS's.
pub fn assume_role_with_saml(
    state: &State,
    request: &AssumeRequest,
    sign_in_urls: &[String],
    now: Instant,
    rng: &dyn Random,
) -> Result<Assumed, AwsError> {
    let verified = verify_assertion(request, state.providers.get(request.principal_arn), sign_in_urls, None, now)?;
    assume_verified(state, request, verified, now, rng)
}

/// STS's bounds for SAMLAssertion (base64), 4–100,000 characters; AWS's message leaves the
/// value out.
pub fn check_assertion_length(assertion: &str) -> Result<(), AwsError> {
    let length = assertion.len();
    if (4..=100_000).contains(&length) {
        return Ok(());
    }
    Err(AwsError::sender(
        400,
        "ValidationError",
        format!(
            "1 validation error detected: Value at 'sAMLAssertion' failed to satisfy constraint: Member must have length {}",
            if length < 4 { "greater than or equal to 4" } else { "less than or equal to 100000" }
        ),
    ))
}

/// What the assertion alone establishes, checked against the named provider's certificates.
#[derive(Debug)]
pub struct Verified {
    accepted: Accepted,
    issued: Instant,
    recipient: String,
    session_name: String,
    source_identity: Option<String>,
    tags: BTreeMap<String, String>,
}

impl Verified {
    /// What the trust policy's conditions see when this assertion is posted for `provider`
    /// (`saml:aud`, `saml:sub`, …), as the second half evaluates them: for explaining a refusal.
    pub fn trust_context(&self, provider: &SamlProvider, now: Instant) -> Context {
        let issuer = self.accepted.issuer().unwrap_or_default();
        let name_qualifier = name_qualifier(issuer, &provider.account, &provider.name);
        saml_context(&self.accepted, provider, &self.recipient, &name_qualifier, now)
    }

    /// The trust actions AssumeRoleWithSAML asks for, in the order it asks: TagSession when the
    /// assertion carries session tags, SetSourceIdentity when it carries a SourceIdentity.
    pub fn trust_actions(&self) -> Vec<&'static str> {
        let mut actions = vec!["sts:AssumeRoleWithSAML"];
        if !self.tags.is_empty() {
            actions.push("sts:TagSession");
        }
        if self.source_identity.is_some() {
            actions.push("sts:SetSourceIdentity");
        }
        actions
    }

    /// Whether the assertion's Role attribute offers this pair.
    pub fn offers(&self, role_arn: &str, provider_arn: &str) -> bool {
        role_pair_offered(&self.accepted, role_arn, provider_arn)
    }
}

/// The first half of AssumeRoleWithSAML: decoding, the provider's Issuer, the signature and the
/// assertion's own conditions. It needs only the provider, so a server runs it without holding
/// the sandbox's state (the expensive part: parsing and an RSA verify). `posted_to` is the
/// sign-in path a browser posted the response to (`/saml` or `/saml/acs/<id>`), which the
/// Recipient must name; `None` for the STS API.
pub fn verify_assertion(
    request: &AssumeRequest,
    provider: Option<&SamlProvider>,
    sign_in_urls: &[String],
    posted_to: Option<&str>,
    now: Instant,
) -> Result<Verified, AwsError> {
    check_assertion_length(request.saml_assertion)?;
    let bytes = base64_decode(request.saml_assertion)
        .map_err(|_| invalid_token("Invalid SAML response: the assertion is not base64"))?;
    let text =
        String::from_utf8(bytes).map_err(|_| invalid_token("Invalid SAML response: the assertion is not UTF-8 XML"))?;

    let provider = provider.ok_or_else(|| invalid_token(PROVIDER_MISSING))?;
    // A response validation accepts has the provider's Issuer, so only a refused one is read
    // again, to give a wrong Issuer the error AWS gives it before any other.
    let accepted = validate(&text, provider, now)
        .map_err(|refused| check_issuer_before_trusting(&text, provider).err().unwrap_or(refused))?;

    let assertion = &accepted.assertion;
    let issued = assertion
        .issue_instant
        .ok_or_else(|| invalid_token("Invalid SAML response: the Assertion has no IssueInstant"))?;
    if now.unix_millis().saturating_sub(issued.unix_millis()) > 300_000 {
        return Err(AwsError::sender(400, "ExpiredTokenException", TOKEN_EXPIRED));
    }
    let recipient = sole_recipient(&accepted)?;
    if !is_signin_url(&recipient, Partition::of_arn(&provider.arn), sign_in_urls) {
        return Err(invalid_token(format!(
            "Invalid SAML response: Recipient {recipient} is not an AWS sign-in endpoint"
        )));
    }
    check_endpoint(&recipient, provider, accepted.encrypted, posted_to)?;

    let session_name = role_session_name(&accepted)?;
    let source_identity = source_identity(&accepted)?;
    check_principal_tags(&accepted)?;
    let tags = principal_tags(&accepted);
    Ok(Verified { accepted, issued, recipient, session_name, source_identity, tags })
}

/// The second half: the Role pair, the role's trust policy and the session, read from `state`
/// as it is now (the provider is looked up again: it may have gone meanwhile).
pub fn assume_verified(
    state: &State,
    request: &AssumeRequest,
    verified: Verified,
    now: Instant,
    rng: &dyn Random,
) -> Result<Assumed, AwsError> {
    let trust_actions = verified.trust_actions();
    let Verified { accepted, issued, recipient, session_name, source_identity, tags } = verified;
    let provider = state.providers.get(request.principal_arn).ok_or_else(|| invalid_token(PROVIDER_MISSING))?;
    if !role_pair_offered(&accepted, request.role_arn, request.principal_arn) {
        return Err(access_denied());
    }
    let role = state.role(request.role_arn).ok_or_else(access_denied)?;
    let issuer = accepted.issuer().unwrap_or_default().to_owned();
    let name_qualifier = name_qualifier(&issuer, &provider.account, &provider.name);
    let context = saml_context(&accepted, provider, &recipient, &name_qualifier, now);
    for action in trust_actions {
        trust_allows(role, request.principal_arn, &context, action)?;
    }
    if let Some(d) = request.duration_seconds
        && d > role.max_session_duration
    {
        return Err(AwsError::sender(400, "ValidationError", DURATION_EXCEEDS));
    }
    request.session_policies.check_arns_exist(state, &role.account)?;

    let mut lifetime = request.duration_seconds.unwrap_or(3600);
    if let Some(end) = accepted.session_not_on_or_after {
        lifetime = lifetime.min((end.unix_seconds() - now.unix_seconds()).max(0));
    }
    let account = role.account.clone();
    let session = Session {
        access_key: ids::id(rng, "ASIA"),
        secret: ids::secret(rng),
        token: ids::session_token(rng),
        expires: now.plus_seconds(lifetime),
        role_arn: role.arn.clone(),
        assumed_role_arn: state.arn(&account, "sts", "", &format!("assumed-role/{}/{session_name}", role.name)),
        assumed_role_id: format!("{}:{session_name}", role.id),
        account,
        source_identity: source_identity.clone(),
        tags: tags.clone(),
        saml: context_strings(&context),
        session_policies: request.session_policies.clone(),
    };
    let subject_type = subject_type(&accepted);
    Ok(Assumed {
        subject: accepted.name_id.value.clone(),
        subject_type,
        issuer,
        audience: recipient,
        name_qualifier,
        source_identity,
        packed_policy_size: (!tags.is_empty() || !request.session_policies.is_empty())
            .then(|| packed_size(&tags, &request.session_policies)),
        session_not_on_or_after: accepted.session_not_on_or_after,
        session_duration: single(&accepted, ATTR_SESSION_DURATION)
            .and_then(|v| v.parse::<i64>().ok())
            .filter(|d| (900..=43_200).contains(d)),
        assertion_id: accepted.assertion.id.clone(),
        redeemable_until: issued.plus_seconds(300),
        session,
    })
}

/// `persistent`, `transient`, or the whole Format URI (unspecified when the NameID has none):
/// both the response's SubjectType and the `saml:sub_type` condition key.
fn subject_type(accepted: &Accepted) -> String {
    let format = accepted.name_id.format.clone().unwrap_or_else(|| ns::NAMEID_UNSPECIFIED.to_owned());
    format.strip_prefix("urn:oasis:names:tc:SAML:2.0:nameid-format:").map(str::to_owned).unwrap_or(format)
}

/// AWS finds the provider's keys by the Issuer, so a wrong Issuer is reported before the
/// signature is looked at. This reads the unverified Issuer of a refused response only to
/// choose the error.
fn check_issuer_before_trusting(text: &str, provider: &SamlProvider) -> Result<(), AwsError> {
    let Ok(doc) = xml::parse(text, xml::Limits::MESSAGE) else { return Ok(()) };
    let root = doc.root_element();
    let issuer = xml::children(root, ns::SAML, "Issuer")
        .next()
        .or_else(|| {
            xml::children(root, ns::SAML, "Assertion").next().and_then(|a| xml::children(a, ns::SAML, "Issuer").next())
        })
        .map(xml::trimmed_text);
    match issuer {
        Some(found) if found != provider.entity_id => {
            Err(AwsError::sender(400, "AuthSamlInvalidSamlResponseException", ISSUER_NOT_PRESENT))
        }
        _ => Ok(()),
    }
}

fn validate(text: &str, provider: &SamlProvider, now: Instant) -> Result<Accepted, AwsError> {
    let config = sp_config(provider);
    let accepted = validate_response(text, &config, now).map_err(|e| {
        let timing = matches!(e.reason, Reason::Expired | Reason::NotYetValid);
        let audience_first = if timing { audience_fault_when_issued(text, &config, provider) } else { None };
        audience_first.unwrap_or_else(|| refusal(e))
    })?;
    if provider.assertion_encryption_mode.as_deref() == Some("Required") && !accepted.encrypted {
        return Err(invalid_token(
            "The identity provider requires encrypted assertions, and this SAML response is not encrypted.",
        ));
    }
    check_aws_audience(&accepted, provider)?;
    Ok(accepted)
}

fn sp_config(provider: &SamlProvider) -> SpConfig {
    let decryption_keys =
        provider.private_keys.iter().filter_map(|(_, pem, _)| DecryptionKey::from_pem(pem).ok()).collect::<Vec<_>>();
    SpConfig {
        trusted: provider.certificates.clone(),
        // AWS's audiences are checked below, after the signature, with AWS's text.
        audiences: Vec::new(),
        recipient: None,
        expected_issuer: Some(provider.entity_id.clone()),
        in_response_to: None,
        skew_seconds: 0,
        allow_sha1: true,
        decryption_keys,
        // AWS accepts AES-CBC ("AES-GCM or AES-CBC", IAM API reference).
        allow_cbc: true,
    }
}

/// What AWS answers for each reason the validator refuses a response.
fn refusal(e: idfed_saml::Error) -> AwsError {
    match e.reason {
        Reason::Signature | Reason::Unsigned | Reason::Profile | Reason::Wrapping | Reason::Key => {
            invalid_token(SIGNATURE_INVALID)
        }
        Reason::Issuer => AwsError::sender(400, "AuthSamlInvalidSamlResponseException", ISSUER_NOT_PRESENT),
        Reason::Expired => AwsError::sender(400, "ExpiredTokenException", TOKEN_EXPIRED),
        Reason::Subject => access_denied(),
        Reason::Audience => invalid_token(AUDIENCE_MISSING),
        Reason::Decryption => invalid_token(format!(
            "Unable to decrypt the SAML assertion with the identity provider's private keys ({})",
            e.message
        )),
        _ => invalid_token(format!("Invalid SAML response: {}", e.message)),
    }
}

/// AWS checks the audience before the time. A response refused for its time is validated
/// again, signature and all, as of the Assertion's IssueInstant (the Response's when the
/// Assertion is encrypted); when it passes there, and the verified Assertion agrees that it was
/// issued then (within a minute), a wrong audience is what AWS names. Only signed text decides which error wins.
fn audience_fault_when_issued(text: &str, config: &SpConfig, provider: &SamlProvider) -> Option<AwsError> {
    let doc = xml::parse(text, xml::Limits::MESSAGE).ok()?;
    let stated = doc.descendants().find(|n| xml::is(*n, ns::SAML, "Assertion")).unwrap_or(doc.root_element());
    let issued = Instant::parse(stated.attribute("IssueInstant")?).ok()?;
    let accepted = validate_response(text, config, issued).ok()?;
    let signed = accepted.assertion.issue_instant?;
    if signed.unix_millis().abs_diff(issued.unix_millis()) > 60_000 {
        return None;
    }
    check_aws_audience(&accepted, provider).err()
}

/// AWS checks the audience itself: any AudienceRestriction must name AWS, in the provider's
/// partition (the sandbox's own URL is not an audience AWS would take).
fn check_aws_audience(accepted: &Accepted, provider: &SamlProvider) -> Result<(), AwsError> {
    let conditions = accepted.assertion.conditions.as_ref().ok_or_else(|| invalid_token(AUDIENCE_MISSING))?;
    let partition = Partition::of_arn(&provider.arn);
    let names_aws = |r: &Vec<String>| r.iter().any(|a| is_aws_audience(a, partition));
    if conditions.audience_restrictions.is_empty() || !conditions.audience_restrictions.iter().all(names_aws) {
        return Err(invalid_token(AUDIENCE_MISSING));
    }
    Ok(())
}

/// AWS takes exactly one SubjectConfirmation, with both NotOnOrAfter and Recipient.
fn sole_recipient(accepted: &Accepted) -> Result<String, AwsError> {
    let confirmations = &accepted.assertion.subject_confirmations;
    let [only] = confirmations.as_slice() else {
        return Err(invalid_token(format!(
            "Invalid SAML response: the Subject has {} SubjectConfirmation elements; AWS takes exactly one",
            confirmations.len()
        )));
    };
    let data = only.data.as_ref();
    if data.and_then(|d| d.not_on_or_after).is_none() {
        return Err(invalid_token("Invalid SAML response: SubjectConfirmationData has no NotOnOrAfter"));
    }
    data.and_then(|d| d.recipient.clone())
        .ok_or_else(|| invalid_token("Invalid SAML response: SubjectConfirmationData has no Recipient"))
}

/// A per-provider endpoint (`/saml/acs/<id>`) belongs to that provider; an encrypted assertion
/// must go to it; and a browser's response must name the endpoint it was posted to.
fn check_endpoint(
    recipient: &str,
    provider: &SamlProvider,
    encrypted: bool,
    posted_to: Option<&str>,
) -> Result<(), AwsError> {
    match provider_id_of(recipient) {
        Some(id) if id != provider.uuid => {
            return Err(invalid_token(format!(
                "Invalid SAML response: Recipient {recipient} is the sign-in endpoint of another SAML provider (this one's is …/saml/acs/{})",
                provider.uuid
            )));
        }
        None if encrypted => {
            return Err(invalid_token(format!(
                "Invalid SAML response: an encrypted assertion must be sent to the provider's own sign-in endpoint, …/saml/acs/{}, not {recipient}",
                provider.uuid
            )));
        }
        _ => {}
    }
    match posted_to {
        Some(path) if endpoint_path(recipient).as_deref() != endpoint_path(path).as_deref() => {
            Err(invalid_token(format!(
                "Invalid SAML response: Recipient {recipient} is not the sign-in endpoint the response was posted to ({path})"
            )))
        }
        _ => Ok(()),
    }
}

fn single(accepted: &Accepted, name: &str) -> Option<String> {
    accepted.assertion.attribute_values(name).first().map(|v| v.trim().to_owned())
}

fn session_name_ok(text: &str) -> bool {
    (2..=64).contains(&text.chars().count()) && text.chars().all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c))
}

/// RoleSessionName and SourceIdentity carry exactly one value (aws-federation.md §2); AWS
/// publishes no text for several, so this one is the sandbox's.
fn at_most_one_value(accepted: &Accepted, name: &str) -> Result<(), AwsError> {
    match accepted.assertion.attribute_values(name).len() {
        0 | 1 => Ok(()),
        n => Err(invalid_token(format!(
            "Invalid SAML response: the attribute {name} has {n} values; AWS takes exactly one"
        ))),
    }
}

fn role_session_name(accepted: &Accepted) -> Result<String, AwsError> {
    at_most_one_value(accepted, ATTR_ROLE_SESSION_NAME)?;
    let name = single(accepted, ATTR_ROLE_SESSION_NAME).ok_or_else(|| invalid_token(ROLE_SESSION_NAME_REQUIRED))?;
    if !session_name_ok(&name) {
        return Err(invalid_token(ROLE_SESSION_NAME_PATTERN));
    }
    Ok(name)
}

fn source_identity(accepted: &Accepted) -> Result<Option<String>, AwsError> {
    at_most_one_value(accepted, ATTR_SOURCE_IDENTITY)?;
    let Some(value) = single(accepted, ATTR_SOURCE_IDENTITY) else { return Ok(None) };
    if !session_name_ok(&value) || value.to_ascii_lowercase().starts_with("aws:") {
        return Err(invalid_token(SOURCE_IDENTITY_PATTERN));
    }
    Ok(Some(value))
}

/// Session tags as STS takes them (aws-federation.md §2): one value each, at most 50, keys of
/// 1–128 and values of up to 256 letters, digits, spaces and `_.:/=+-@`. AWS publishes no text
/// for these refusals; the texts are the sandbox's.
fn check_principal_tags(accepted: &Accepted) -> Result<(), AwsError> {
    let tags: Vec<(&str, &[String])> = accepted
        .attributes()
        .iter()
        .filter_map(|a| Some((a.name.strip_prefix(ATTR_PRINCIPAL_TAG_PREFIX)?, a.values.as_slice())))
        .collect();
    if tags.len() > 50 {
        return Err(invalid_token(format!(
            "Invalid SAML response: {} PrincipalTag attributes; at most 50",
            tags.len()
        )));
    }
    let allowed = |text: &str| text.chars().all(|c| c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c));
    for (key, values) in tags {
        let [value] = values else {
            return Err(invalid_token(format!(
                "Invalid SAML response: PrincipalTag:{key} has {} values; a session tag takes exactly one",
                values.len()
            )));
        };
        if !(1..=128).contains(&key.chars().count()) || !allowed(key) {
            return Err(invalid_token(format!(
                "Invalid SAML response: the session tag key {key:?} must be 1 to 128 letters, digits, spaces or _.:/=+-@"
            )));
        }
        if value.chars().count() > 256 || !allowed(value) {
            return Err(invalid_token(format!(
                "Invalid SAML response: the value of session tag {key:?} must be up to 256 letters, digits, spaces or _.:/=+-@"
            )));
        }
    }
    Ok(())
}

fn principal_tags(accepted: &Accepted) -> BTreeMap<String, String> {
    accepted
        .attributes()
        .iter()
        .filter_map(|a| Some((a.name.strip_prefix(ATTR_PRINCIPAL_TAG_PREFIX)?.to_owned(), a.values.first()?.clone())))
        .collect()
}

/// The Role attribute holds `role,provider` pairs in either order.
fn role_pair_offered(accepted: &Accepted, role_arn: &str, provider_arn: &str) -> bool {
    role_pairs(accepted.assertion.attribute_values(ATTR_ROLE)).iter().any(|(r, p)| r == role_arn && p == provider_arn)
}

impl Verified {
    /// The `(role, provider)` pairs of the verified assertion's Role attribute.
    pub fn role_pairs(&self) -> Vec<(String, String)> {
        role_pairs(self.accepted.assertion.attribute_values(ATTR_ROLE))
    }
}

/// `(role, provider)` from Role values that hold a role ARN and a provider ARN, either order.
pub fn role_pairs<'a>(values: impl IntoIterator<Item = &'a str>) -> Vec<(String, String)> {
    values
        .into_iter()
        .filter_map(|value| {
            let mut parts = value.split(',').map(|p| p.trim().to_owned());
            let (a, b) = (parts.next()?, parts.next()?);
            if parts.next().is_some() {
                return None;
            }
            match (a.contains(":role/"), b.contains(":saml-provider/")) {
                (true, true) => Some((a, b)),
                _ if a.contains(":saml-provider/") && b.contains(":role/") => Some((b, a)),
                _ => None,
            }
        })
        .collect()
}

/// `Base64(SHA1(Issuer + AccountId + "/" + ProviderName))` (aws-federation.md §4.3).
pub fn name_qualifier(issuer: &str, account: &str, provider_name: &str) -> String {
    let input = format!("{issuer}{account}/{provider_name}");
    base64_encode(digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, input.as_bytes()).as_ref())
}

fn saml_context(
    accepted: &Accepted,
    provider: &SamlProvider,
    recipient: &str,
    name_qualifier: &str,
    now: Instant,
) -> Context {
    let mut c = Context::default();
    c.set("saml:aud", recipient);
    c.set("saml:iss", accepted.issuer().unwrap_or_default());
    c.set("saml:sub", accepted.name_id.value.clone());
    c.set("saml:sub_type", subject_type(accepted));
    c.set("saml:namequalifier", name_qualifier);
    c.set("saml:doc", format!("{}/{}", provider.account, provider.name));
    c.set("aws:FederatedProvider", provider.arn.clone());
    c.insert("aws:CurrentTime", vec![Value::Date(now.unix_seconds())]);
    c.insert("aws:EpochTime", vec![Value::Number(now.unix_seconds() as f64)]);
    for (tag, value) in principal_tags(accepted) {
        c.set(&format!("aws:RequestTag/{tag}"), value);
    }
    let tag_keys: Vec<Value> = principal_tags(accepted).into_keys().map(Value::String).collect();
    if !tag_keys.is_empty() {
        c.insert("aws:TagKeys", tag_keys);
    }
    if let Some(keys) = Some(accepted.assertion.attribute_values(ATTR_TRANSITIVE_TAG_KEYS)).filter(|k| !k.is_empty()) {
        c.insert("sts:TransitiveTagKeys", keys.into_iter().map(|k| Value::String(k.to_owned())).collect());
    }
    for (attribute, key) in SAML_ATTRIBUTE_KEYS {
        let values = accepted.assertion.attribute_values(attribute);
        if !values.is_empty() {
            c.insert(key, values.into_iter().map(|v| Value::String(v.to_owned())).collect());
        }
    }
    c
}

/// Attribute names AWS maps to `saml:*` condition keys (IAM UG, "Configuring SAML assertions").
const SAML_ATTRIBUTE_KEYS: &[(&str, &str)] = &[
    ("urn:oid:1.3.6.1.4.1.5923.1.1.1.1", "saml:edupersonaffiliation"),
    ("urn:oid:1.3.6.1.4.1.5923.1.1.1.2", "saml:edupersonnickname"),
    ("urn:oid:1.3.6.1.4.1.5923.1.1.1.3", "saml:edupersonorgdn"),
    ("urn:oid:1.3.6.1.4.1.5923.1.1.1.4", "saml:edupersonorgunitdn"),
    ("urn:oid:1.3.6.1.4.1.5923.1.1.1.5", "saml:edupersonprimaryaffiliation"),
    ("urn:oid:1.3.6.1.4.1.5923.1.1.1.6", "saml:edupersonprincipalname"),
    ("urn:oid:1.3.6.1.4.1.5923.1.1.1.7", "saml:edupersonentitlement"),
    ("urn:oid:1.3.6.1.4.1.5923.1.1.1.8", "saml:edupersonprimaryorgunitdn"),
    ("urn:oid:1.3.6.1.4.1.5923.1.1.1.9", "saml:edupersonscopedaffiliation"),
    ("urn:oid:1.3.6.1.4.1.5923.1.1.1.10", "saml:edupersontargetedid"),
    ("urn:oid:1.3.6.1.4.1.5923.1.1.1.11", "saml:edupersonassurance"),
    ("urn:oid:1.3.6.1.4.1.5923.1.2.1.2", "saml:eduorghomepageuri"),
    ("urn:oid:1.3.6.1.4.1.5923.1.2.1.3", "saml:eduorgidentityauthnpolicyuri"),
    ("urn:oid:1.3.6.1.4.1.5923.1.2.1.4", "saml:eduorglegalname"),
    ("urn:oid:1.3.6.1.4.1.5923.1.2.1.5", "saml:eduorgsuperioruri"),
    ("urn:oid:1.3.6.1.4.1.5923.1.2.1.6", "saml:eduorgwhitepagesuri"),
    ("urn:oid:2.5.4.3", "saml:cn"),
    ("urn:oid:2.5.4.4", "saml:surname"),
    ("urn:oid:2.5.4.42", "saml:givenName"),
    ("urn:oid:2.5.4.45", "saml:x500UniqueIdentifier"),
    ("http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name", "saml:name"),
    ("http://schemas.xmlsoap.org/claims/CommonName", "saml:commonName"),
    ("http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname", "saml:givenName"),
    ("http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname", "saml:surname"),
    ("http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress", "saml:mail"),
    ("urn:oid:0.9.2342.19200300100.1.1", "saml:uid"),
    ("urn:oid:0.9.2342.19200300100.1.3", "saml:mail"),
];

fn context_strings(c: &Context) -> BTreeMap<String, Vec<String>> {
    c.keys()
        .filter(|k| k.starts_with("saml:"))
        .map(|k| (k.to_owned(), c.get(k).unwrap_or_default().iter().map(Value::as_text).collect()))
        .collect()
}

fn trust_allows(role: &Role, provider_arn: &str, context: &Context, action: &str) -> Result<(), AwsError> {
    let request = Request { action, resource: None, principal: Some(("Federated", provider_arn)), context };
    if evaluate(&[&role.trust_policy], &request).allowed() { Ok(()) } else { Err(access_denied()) }
}

/// Session tags and session policies count against a packed limit; AWS reports the percentage
/// used. AWS compresses them first and publishes neither the method nor the limit, so this is an
/// estimate that never refuses (the parameters' own limits are checked).
fn packed_size(tags: &BTreeMap<String, String>, policies: &SessionPolicies) -> u32 {
    let bytes: usize = tags.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>() + policies.packed_bytes();
    u32::try_from((bytes * 100).div_ceil(2048)).unwrap_or(100).min(100)
}
