//! The login replayed against the AWS side as AWS judges it (the sandbox's own validation), and
//! each refusal traced to its cause in this configuration.

use idfed_aws::state::{Role, SamlProvider, State};
use idfed_aws::sts::assume_role_with_saml::{self as sts, AssumeRequest};
use idfed_policy::document::{Effect, Statement, Version};
use idfed_policy::eval::{Outcome, Request, action_matches, evaluate, principal_matches};
use idfed_saml::random::SystemRandom;

use crate::Inputs;
use crate::findings::{Finding, Severity};
use crate::response::Facts;

fn push(findings: &mut Vec<Finding>, finding: Finding) {
    if !findings.iter().any(|f| f.id == finding.id) {
        findings.push(finding);
    }
}

pub fn replay(facts: &Facts, xml: &str, inputs: &Inputs, state: &State, findings: &mut Vec<Finding>) {
    let encoded = idfed_saml::encoding::base64_encode(xml.as_bytes());
    let pairs: Vec<(String, String)> = if facts.pairs.is_empty() && facts.encrypted {
        match encrypted_pairs(facts, &encoded, inputs, state, findings) {
            Some(pairs) => pairs,
            None => return,
        }
    } else {
        facts.pairs.clone()
    };
    for (role_arn, provider_arn) in &pairs {
        let request = AssumeRequest {
            role_arn,
            principal_arn: provider_arn,
            saml_assertion: &encoded,
            duration_seconds: inputs.duration_seconds,
            ..Default::default()
        };
        match sts::assume_role_with_saml(state, &request, inputs.sign_in_urls, inputs.now, &SystemRandom::new()) {
            Ok(assumed) => {
                findings.push(Finding::note(
                    "accepted",
                    Severity::Info,
                    format!("AWS accepts this response for {role_arn}"),
                    format!("The session would be {}.", assumed.session.assumed_role_arn),
                    "",
                ));
                connect(inputs, state, &assumed.session, findings);
            }
            Err(e) if e.message == sts::NOT_AUTHORIZED => {
                push(findings, not_authorized(facts, &request, inputs, state));
            }
            Err(e) => explain(&e.message, facts, role_arn, provider_arn, state, findings),
        }
    }
}

/// The Role pairs inside an encrypted assertion, read as AWS reads them: decrypted with the
/// private keys of the provider whose entityID is the response's Issuer. What stops that is
/// explained instead (`None`: nothing to replay).
fn encrypted_pairs(
    facts: &Facts,
    encoded: &str,
    inputs: &Inputs,
    state: &State,
    findings: &mut Vec<Finding>,
) -> Option<Vec<(String, String)>> {
    let issuer = facts.issuer.as_deref().unwrap_or("");
    let providers: Vec<&SamlProvider> = state.providers.values().filter(|p| p.entity_id == issuer).collect();
    if providers.is_empty() {
        let known: Vec<&str> = state.providers.values().map(|p| p.entity_id.as_str()).collect();
        push(
            findings,
            Finding::failure(
                "F07",
                format!(
                    "The response's Issuer is {issuer:?}; no SAML provider of the account has that entityID (they have: {}).",
                    if known.is_empty() { "none".to_owned() } else { known.join(", ") }
                ),
                "Upload the metadata of the app whose Issuer this is to the provider its Role attribute names.",
            ),
        );
        return None;
    }
    let mut pairs = Vec::new();
    for provider in providers {
        let request = AssumeRequest { principal_arn: &provider.arn, saml_assertion: encoded, ..Default::default() };
        match sts::verify_assertion(&request, Some(provider), inputs.sign_in_urls, None, inputs.now) {
            Ok(verified) => pairs.extend(verified.role_pairs()),
            Err(e) if e.message.starts_with("Unable to decrypt") && !inputs.private_keys_known => push(
                findings,
                Finding::note(
                    "encrypted-unread",
                    Severity::Info,
                    "The encrypted assertion cannot be judged here",
                    format!(
                        "AWS never returns a SAML provider's private keys, so {} cannot be opened from the AWS side read live.",
                        provider.arn
                    ),
                    "Capture the response with encryption off, or judge it against the sandbox (--aws-data-dir).",
                ),
            ),
            Err(e) => explain(&e.message, facts, "", &provider.arn, state, findings),
        }
    }
    Some(pairs)
}

fn explain(
    message: &str,
    facts: &Facts,
    role_arn: &str,
    provider_arn: &str,
    state: &State,
    findings: &mut Vec<Finding>,
) {
    let provider = state.providers.values().find(|p| p.arn == provider_arn);
    if message == sts::PROVIDER_MISSING {
        let known: Vec<&str> = state.providers.values().map(|p| p.arn.as_str()).collect();
        return push(
            findings,
            Finding::failure(
                "F08",
                format!(
                    "{provider_arn} is not a SAML provider of the account (it has: {}).",
                    if known.is_empty() { "none".to_owned() } else { known.join(", ") }
                ),
                "Create it from the IdP app's metadata, or correct the app's Identity Provider ARN.",
            ),
        );
    }
    if message.starts_with(sts::ISSUER_NOT_PRESENT) {
        let entity = provider.map(|p| p.entity_id.as_str()).unwrap_or("?");
        return push(
            findings,
            Finding::failure(
                "F07",
                format!(
                    "The response's Issuer is {:?}; the metadata in {provider_arn} has entityID {entity:?}.",
                    facts.issuer.as_deref().unwrap_or("")
                ),
                format!(
                    "Upload the metadata of the app whose Issuer is {:?} to {provider_arn}.",
                    facts.issuer.as_deref().unwrap_or("")
                ),
            ),
        );
    }
    if message == sts::SIGNATURE_INVALID {
        let certs: Vec<String> =
            provider.map(|p| p.certificates.iter().map(|c| c.fingerprint_sha256()).collect()).unwrap_or_default();
        return push(
            findings,
            Finding::failure(
                "F06",
                format!(
                    "The signature does not verify with the certificates in {provider_arn} (SHA-256 {}): the IdP signs with another key (rotated?), or the response was changed.",
                    certs.join(", ")
                ),
                format!(
                    "aws iam update-saml-provider --saml-provider-arn {provider_arn} --saml-metadata-document file://<the app's current metadata>"
                ),
            ),
        );
    }
    if message == sts::DURATION_EXCEEDS {
        let max = state.roles.values().find(|r| r.arn == role_arn).map(|r| r.max_session_duration).unwrap_or_default();
        return push(
            findings,
            Finding::failure(
                "F18",
                format!("The caller asks for a longer session than {role_arn} allows ({max} s)."),
                format!(
                    "Ask for at most {max} s (idfed aws login --duration {max}), or raise the role's MaxSessionDuration."
                ),
            ),
        );
    }
    let simple = [
        (sts::AUDIENCE_MISSING, "F09"),
        (sts::TOKEN_EXPIRED, "F10"),
        (sts::ROLE_SESSION_NAME_REQUIRED, "F03"),
        (sts::ROLE_SESSION_NAME_PATTERN, "F04"),
        (sts::SOURCE_IDENTITY_PATTERN, "F05"),
    ];
    if let Some((_, id)) = simple.iter().find(|(text, _)| message.starts_with(text)) {
        if !findings.iter().any(|f| f.id == *id) {
            let entry = crate::catalogue::entry(id);
            push(
                findings,
                Finding::failure(
                    id,
                    entry.map(|e| e.cause).unwrap_or_default(),
                    entry.map(|e| e.fix).unwrap_or_default(),
                ),
            );
        }
        return;
    }
    if let Some(fix) = endpoint_fix(message, provider) {
        return push(
            findings,
            Finding::note("endpoint", Severity::Error, "AWS refuses the response's Subject", message.to_owned(), fix),
        );
    }
    if message.contains("requires encrypted assertions") {
        return push(
            findings,
            Finding::failure(
                "F24",
                format!("{provider_arn} requires encrypted assertions: {message}"),
                "Encrypt assertions for the provider's key in the IdP app, or set the provider's AssertionEncryptionMode to Allowed.",
            ),
        );
    }
    if message.starts_with("Unable to decrypt") {
        return push(
            findings,
            Finding::failure(
                "F24",
                format!("The assertion is encrypted, but no private key {provider_arn} holds opens it: {message}"),
                "Upload to the provider (UpdateSAMLProvider AddPrivateKey) the private key of the certificate the IdP app encrypts for, or have the app encrypt for the certificate whose key the provider holds.",
            ),
        );
    }
    push(findings, refused(message));
}

/// AWS's refusal as it is, when no cause here explains it.
fn refused(message: &str) -> Finding {
    Finding::note("refused", Severity::Error, "AWS refuses the response", message, "")
}

/// AccessDenied has many causes; name the one that applies. The trust policy is taken apart
/// with the request context AssumeRoleWithSAML evaluates it with, action by action in the order
/// AWS asks: an explicit Deny, no statement for the provider (F12) or for the action (F11, F14,
/// F15), or the first condition that does not hold (F13 for `SAML:aud`).
fn not_authorized(facts: &Facts, request: &AssumeRequest, inputs: &Inputs, state: &State) -> Finding {
    let (role_arn, provider_arn) = (request.role_arn, request.principal_arn);
    let Some(role) = state.roles.values().find(|r| r.arn == role_arn) else {
        let near = state.roles.values().find(|r| r.arn.eq_ignore_ascii_case(role_arn));
        let cause = match near {
            Some(r) => format!("There is no role {role_arn}; there is {} (role names are compared exactly).", r.arn),
            None => format!("There is no role {role_arn} in the account."),
        };
        return Finding::failure(
            "F16",
            cause,
            "Assign the role's exact ARN (re-import the roles through the API integration).",
        );
    };
    let provider = state.providers.get(provider_arn);
    let verified =
        provider.and_then(|p| sts::verify_assertion(request, Some(p), inputs.sign_in_urls, None, inputs.now).ok());
    let (Some(provider), Some(verified)) = (provider, verified) else {
        return refused(sts::NOT_AUTHORIZED);
    };
    let context = verified.trust_context(provider, inputs.now);
    let policy = &role.trust_policy;
    let ask =
        |action| Request { action, resource: None, principal: Some(("Federated", provider_arn)), context: &context };
    let for_provider: Vec<(usize, &Statement)> = policy
        .statements
        .iter()
        .enumerate()
        .filter(|(_, s)| s.effect == Effect::Allow && principal_matches(s, &ask("sts:AssumeRoleWithSAML")))
        .collect();
    if for_provider.is_empty() {
        let trusted = policy.federated_principals();
        return Finding::failure(
            "F12",
            format!(
                "{} trusts {} but not {provider_arn}.",
                role.name,
                if trusted.is_empty() { "no SAML provider".to_owned() } else { trusted.join(", ") }
            ),
            format!("Add {provider_arn} to Principal.Federated in the trust policy of {}.", role.name),
        );
    }
    let refusal = verified.trust_actions().into_iter().find_map(|action| {
        let decision = evaluate(&[policy], &ask(action));
        (!decision.allowed()).then_some((action, decision))
    });
    let Some((action, decision)) = refusal else {
        if !verified.offers(role_arn, provider_arn) {
            return refused(sts::NOT_AUTHORIZED);
        }
        return Finding::failure(
            "F17",
            "The trust policy allows this login as the assertion reads, so the assertion itself is refused: most often its Subject has no NameID.",
            "Check the NameID against the response.",
        );
    };
    if decision.outcome == Outcome::ExplicitDeny {
        let which = decision.statement.map(|s| statement_label(policy, s.statement)).unwrap_or_default();
        return Finding::note(
            "trust-deny",
            Severity::Error,
            format!("The trust policy of {} denies {action}", role.name),
            format!("{which} of the trust policy of {} denies {action} for this login.", role.name),
            "Narrow or remove that Deny statement, or change what the IdP sends so that it does not apply.",
        );
    }
    let with_action: Vec<&(usize, &Statement)> =
        for_provider.iter().filter(|(_, s)| action_matches(s, action)).collect();
    if with_action.is_empty() {
        return missing_action(action, role, &for_provider, facts);
    }
    let variables = policy.version == Version::V2012;
    let failed = with_action
        .iter()
        .find_map(|(index, s)| s.conditions.iter().find(|c| !c.holds(&context, variables)).map(|c| (*index, c)));
    let Some((index, condition)) = failed else {
        return refused(sts::NOT_AUTHORIZED);
    };
    let actual: Vec<String> =
        context.get(&condition.key).unwrap_or_default().iter().map(idfed_policy::Value::as_text).collect();
    if condition.key.eq_ignore_ascii_case("SAML:aud") {
        let recipient = facts.recipient.clone().unwrap_or_default();
        return Finding::failure(
            "F13",
            format!(
                "The trust policy requires SAML:aud {:?}; the response was made for {recipient:?}.",
                condition.values
            ),
            format!("Put {recipient} in the SAML:aud condition (or post to the endpoint it names)."),
        );
    }
    let has = if actual.is_empty() { "does not have it".to_owned() } else { format!("has {actual:?}") };
    Finding::note(
        "trust-condition",
        Severity::Error,
        format!("A condition of the trust policy of {} does not hold", role.name),
        format!(
            "{} allows {action} only when {} {} {:?}; this login {has}.",
            statement_label(policy, index),
            condition.operator.name(),
            condition.key,
            condition.values
        ),
        format!("Send what the condition expects from the IdP, or change the condition of {}.", role.name),
    )
}

/// "Statement \"Sid\"" or "Statement 2" (counted from 1), to name it in a finding.
fn statement_label(policy: &idfed_policy::Policy, index: usize) -> String {
    match policy.statements.get(index).and_then(|s| s.sid.as_deref()) {
        Some(sid) => format!("Statement {sid:?}"),
        None => format!("Statement {}", index + 1),
    }
}

/// No statement for the provider allows `action`: F11, F14 or F15.
fn missing_action(action: &str, role: &Role, for_provider: &[(usize, &Statement)], facts: &Facts) -> Finding {
    let actions: Vec<String> = for_provider.iter().flat_map(|(_, s)| s.actions.1.iter().cloned()).collect();
    match action {
        "sts:TagSession" => Finding::failure(
            "F14",
            format!(
                "The response sends session tags ({}) and the trust policy of {} does not allow sts:TagSession.",
                facts.principal_tags.join(", "),
                role.name
            ),
            "Add sts:TagSession to the statement's actions, or stop sending PrincipalTag attributes.",
        ),
        "sts:SetSourceIdentity" => Finding::failure(
            "F15",
            format!(
                "The response sends SourceIdentity and the trust policy of {} does not allow sts:SetSourceIdentity.",
                role.name
            ),
            "Add sts:SetSourceIdentity to the statement's actions, or stop sending SourceIdentity.",
        ),
        _ => Finding::failure(
            "F11",
            format!(
                "The trust policy of {} allows {} for the provider, not sts:AssumeRoleWithSAML.",
                role.name,
                actions.join(", ")
            ),
            "Set \"Action\": \"sts:AssumeRoleWithSAML\" in that statement.",
        ),
    }
}

/// When the RelayState leads into Amazon Connect, the federation check Connect makes next.
fn connect(inputs: &Inputs, state: &State, session: &idfed_aws::state::Session, findings: &mut Vec<Finding>) {
    let Some(relay) = inputs.relay_state else { return };
    let Some(rest) = relay.split("/connect/federate/").nth(1) else { return };
    let instance_id = rest.split(['?', '/', '#']).next().unwrap_or_default();
    let Some(inst) = state.connect_instances.get(instance_id) else {
        findings.push(Finding::note(
            "lint-relay-instance",
            Severity::Error,
            "The relay state names an unknown Connect instance",
            format!("RelayState {relay:?} names instance {instance_id:?}, which the account does not have."),
            "Put the instance ID (Connect console → instance → Distribution settings) in the app's relay state.",
        ));
        return;
    };
    match idfed_aws::connect::federate(state, session, instance_id, inputs.now) {
        Ok(_) => findings.push(Finding::note("connect", Severity::Info, "Amazon Connect lets this session in", format!("Instance {} (alias {}).", inst.id, inst.alias), "")),
        Err(e) if e.code == "UserNotFoundException" => {
            let name = session.assumed_role_arn.rsplit('/').next().unwrap_or_default();
            let near = inst.users.values().find(|u| u.username.eq_ignore_ascii_case(name));
            let cause = match near {
                Some(u) => format!("RoleSessionName is {name:?}; the Connect user is {:?}: they differ only in case, and Connect compares exactly.", u.username),
                None => format!("No user of instance {} is named {name:?}.", inst.alias),
            };
            findings.push(Finding::failure("F21", cause, format!("Create (or rename) the Connect user {name:?}, or send the Connect username as RoleSessionName.")));
        }
        Err(_) => findings.push(Finding::failure(
            "F20",
            format!("The session's role {} has no policy allowing connect:GetFederationToken on {}/user/${{aws:userid}}.", session.role_arn, inst.arn),
            "Attach okta_federation_policy (connect:GetFederationToken on the instance's user/${aws:userid}) to the role.",
        )),
    }
}

/// Configuration checks that need no response.
pub fn lint(state: &State, findings: &mut Vec<Finding>) {
    for role in state.roles.values() {
        for provider in role.trust_policy.federated_principals() {
            if provider.contains(":saml-provider/") && !state.providers.values().any(|p| p.arn == provider) {
                findings.push(Finding::note(
                    "lint-trusted-provider",
                    Severity::Warning,
                    format!("{} trusts a SAML provider that does not exist", role.name),
                    format!("{provider} is in the trust policy but not in IAM."),
                    "Create the provider, or remove it from the trust policy.",
                ));
            }
        }
    }
}

/// IdP metadata checked as IAM's CreateSAMLProvider checks it (F19).
pub fn metadata(text: &str, now: idfed_saml::Instant, findings: &mut Vec<Finding>) {
    let mut scratch = State {
        accounts: vec![idfed_aws::state::Account { id: "000000000000".into(), alias: None, ..Default::default() }],
        ..State::default()
    };
    let result =
        idfed_aws::iam::providers::create(&mut scratch, "000000000000", "check", text, now, &SystemRandom::new());
    match result {
        Ok(_) => findings.push(Finding::note("metadata", Severity::Info, "IAM accepts this metadata", "", "")),
        Err(e) => {
            let why = if text.starts_with('\u{feff}') {
                "The file starts with a byte-order mark (IAM wants UTF-8 without one).".to_owned()
            } else if text.trim_start().starts_with("<!DOCTYPE html") || text.trim_start().starts_with("<html") {
                "The file is an HTML page, not metadata (saved from a browser or a login page?).".to_owned()
            } else {
                format!("IAM answers {}: {}", e.code, e.message)
            };
            findings.push(Finding::failure(
                "F19",
                why,
                "Download the app's metadata itself (…/app/<name>/metadata?download) and upload that file unchanged.",
            ));
        }
    }
}

/// The sign-in endpoint named by SubjectConfirmationData: what to set in the IdP app.
fn endpoint_fix(message: &str, provider: Option<&idfed_aws::state::SamlProvider>) -> Option<String> {
    let own = provider.map_or_else(
        || "https://signin.aws.amazon.com/saml/acs/<the provider's id>".to_owned(),
        |p| format!("https://signin.aws.amazon.com/saml/acs/{}", p.uuid),
    );
    if message.contains("an encrypted assertion must be sent")
        || message.contains("sign-in endpoint of another SAML provider")
    {
        return Some(format!(
            "Set the app's ACS URL (the Recipient) to the provider's own endpoint, {own} (its SAMLProviderUUID; aws iam get-saml-provider shows it), and name it in the trust policy's SAML:aud."
        ));
    }
    if message.contains("SubjectConfirmation elements; AWS takes exactly one")
        || message.contains("SubjectConfirmationData has no NotOnOrAfter")
        || message.contains("SubjectConfirmationData has no Recipient")
    {
        return Some(
            "Send exactly one bearer SubjectConfirmation whose SubjectConfirmationData has NotOnOrAfter and Recipient = the AWS sign-in URL the browser posts to (https://signin.aws.amazon.com/saml)."
                .to_owned(),
        );
    }
    if message.contains("is not an AWS sign-in endpoint")
        || message.contains("is not the sign-in endpoint the response was posted to")
    {
        return Some(
            "Set the app's ACS URL (Recipient) to the AWS sign-in endpoint the browser posts the response to: https://signin.aws.amazon.com/saml (or the regional https://<region>.signin.aws.amazon.com/saml)."
                .to_owned(),
        );
    }
    None
}
