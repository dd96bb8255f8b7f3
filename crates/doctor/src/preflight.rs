//! Before anyone logs in: every person assigned to every AWS app gets the response the IdP
//! would send them now, and each is judged as AWS would judge it. Problems that only show for
//! some people (a Connect username differing in case, an empty profile attribute, an expression
//! failing) are found here, with the person and the app named.

use idfed_aws::state::State;
use idfed_idp::apps::AppKind;
use idfed_idp::directory::UserStatus;
use idfed_idp::sso::{IdpKey, Issuer, Request, issue};
use idfed_idp::tenant::Tenant;
use idfed_idp::tenant_view::TenantView;
use idfed_saml::Instant;
use idfed_saml::random::SystemRandom;

use crate::findings::{Finding, Severity};
use crate::{Inputs, diagnose};

/// How the IdP signs: its entity ID for an app, and its active key.
pub struct IdpSide<'a> {
    pub tenant: &'a TenantView,
    pub entity_id: &'a dyn Fn(&str) -> String,
    pub key: IdpKey<'a>,
    /// The certificate of the key the IdP will sign with next (a rotation in progress).
    pub next_certificate: Option<&'a idfed_saml::Certificate>,
}

pub fn preflight(idp: &IdpSide, state: &State, sign_in_urls: &[String], now: Instant) -> Vec<Finding> {
    let mut findings: Vec<Finding> = Vec::new();
    let rng = SystemRandom::new();
    for app in &idp.tenant.apps {
        let AppKind::Aws(aws) = &app.kind else { continue };
        for user in idp.tenant.users.iter().filter(|u| u.status == UserStatus::Active) {
            let groups: Vec<&str> = idp.tenant.groups_of(&user.login).into_iter().map(|(n, _)| n).collect();
            if !idp.tenant.applicable(&app.name, &user.login, &groups).is_assigned() {
                continue;
            }
            let entity_id = (idp.entity_id)(&app.name);
            let by = Issuer {
                entity_id: &entity_id,
                key: IdpKey { key: idp.key.key, certificate: idp.key.certificate },
                now,
                rng: &rng,
            };
            let issued = match issue(idp.tenant, &app.name, &user.login, &Request::default(), &by) {
                Ok(issued) => issued,
                Err(e) => {
                    findings.push(Finding::note(
                        "lint-issue",
                        Severity::Error,
                        format!("{} cannot sign in to {}", user.login, app.label),
                        e.message,
                        "Fix the app's expressions or the person's profile.",
                    ));
                    continue;
                }
            };
            let inputs = Inputs {
                response: Some(&issued.xml),
                relay_state: issued.relay_state.as_deref(),
                aws: Some(state),
                sign_in_urls,
                now,
                duration_seconds: None,
                metadata: None,
                private_keys_known: true,
            };
            for mut finding in diagnose(&inputs).into_iter().filter(|f| f.severity != Severity::Info) {
                if finding.id.starts_with("lint-trusted") {
                    continue;
                }
                finding.title = format!("{} → {}: {}", user.login, app.label, finding.title);
                if !findings.contains(&finding) {
                    findings.push(finding);
                }
            }
        }
        // A rotation in progress: providers must hold the next certificate before it signs.
        if let Some(next) = idp.next_certificate {
            for arn in &aws.identity_provider_arns {
                let Some(provider) = state.providers.values().find(|p| &p.arn == arn) else { continue };
                if !provider.certificates.iter().any(|c| c == next) {
                    let finding = Finding::note(
                        "lint-next-certificate",
                        Severity::Warning,
                        format!("{}: {} lacks the IdP's next signing certificate", app.label, provider.name),
                        format!(
                            "The IdP is rotating its key (next certificate SHA-256 {}); once it signs with it, sign-ins through {arn} fail with F06.",
                            next.fingerprint_sha256()
                        ),
                        format!(
                            "aws iam update-saml-provider --saml-provider-arn {arn} --saml-metadata-document file://<{} metadata>",
                            app.name
                        ),
                    );
                    if !findings.contains(&finding) {
                        findings.push(finding);
                    }
                }
            }
        }
        // Console sessions may last SessionDuration; API callers asking for as long get F18.
        for role in state.roles.values() {
            let pairs_role = idfed_idp::assignments::role_value(aws, &role.arn).is_ok();
            let assigned = idp
                .tenant
                .assignments
                .iter()
                .any(|a| a.app == app.name && a.roles.iter().any(|r| r == &role.arn || r == &role.name));
            if pairs_role && assigned && i64::from(aws.session_duration) > role.max_session_duration {
                findings.push(Finding::note(
                    "lint-session-duration",
                    Severity::Warning,
                    format!("{}: Session Duration is above {}'s maximum for API use", app.label, role.name),
                    format!(
                        "The app asks for {} s; {} allows {} s. The console accepts it, but `idfed aws login --duration {}` (AssumeRoleWithSAML) would fail with F18.",
                        aws.session_duration, role.name, role.max_session_duration, aws.session_duration
                    ),
                    format!("aws iam update-role --role-name {} --max-session-duration {}, or lower the app's Session Duration.", role.name, aws.session_duration),
                ));
            }
        }
    }
    findings.sort_by_key(|f| f.severity);
    findings
}

/// The preflight from a tenant export: the export holds no signing key, so responses are signed
/// with a stand-in whose certificate every provider is taken to hold; all else is judged.
pub fn preflight_export(
    tenant: &Tenant,
    base_url: &str,
    state: &State,
    sign_in_urls: &[String],
    now: Instant,
) -> Result<Vec<Finding>, idfed_idp::IdpError> {
    let stand_in = idfed_idp::keys::Identity::generate("idfed doctor stand-in", now)?;
    let mut state = state.clone();
    for provider in state.providers.values_mut() {
        provider.certificates.push(stand_in.certificate.clone());
    }
    let base = base_url.trim_end_matches('/').to_owned();
    let entity_id = move |app: &str| format!("{base}/app/{app}");
    let tenant = TenantView::new(tenant.clone());
    let side = IdpSide {
        tenant: &tenant,
        entity_id: &entity_id,
        key: IdpKey { key: &stand_in.key, certificate: &stand_in.certificate },
        next_certificate: None,
    };
    let mut findings = preflight(&side, &state, sign_in_urls, now);
    findings.push(Finding::note(
        "signing-not-checked",
        Severity::Info,
        "Signing certificates were not compared",
        "A tenant export holds no keys; use --idp-data-dir to compare the IdP's certificate with IAM's metadata (F06).",
        "",
    ));
    Ok(findings)
}
