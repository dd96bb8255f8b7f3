//! STS's Query actions.

use std::sync::Mutex;

use idfed_saml::Instant;
use idfed_saml::random::Random;

use crate::api::date;
use crate::auth::Caller;
use crate::error::AwsError;
use crate::iam::{check_length, validations};
use crate::protocol::query::{Params, STS_NAMESPACE, response};
use crate::state::State;
use crate::sts::assume_role_with_saml::{AssumeRequest, assume_verified, check_assertion_length, verify_assertion};
use crate::sts::session_policy::SessionPolicies;

/// STS's bounds for RoleArn and PrincipalArn.
const ARN_LENGTH: std::ops::RangeInclusive<usize> = 20..=2048;

fn only_error<T>(result: &Result<T, AwsError>) -> Result<(), AwsError> {
    result.as_ref().map(drop).map_err(Clone::clone)
}

/// AssumeRoleWithSAML: needs no signature, as on AWS. The assertion is verified without
/// holding the state (only the provider is copied out), so calls verify in parallel; the state
/// is held only to check the role, redeem the assertion and keep the session.
pub fn assume_role_with_saml_action(
    state: &Mutex<State>,
    params: &Params,
    sign_in_urls: &[String],
    now: Instant,
    rng: &dyn Random,
    request_id: &str,
) -> Result<String, AwsError> {
    let role_arn = params.required("RoleArn");
    let principal_arn = params.required("PrincipalArn");
    let saml_assertion = params.required("SAMLAssertion");
    let duration_seconds = params.int_in("DurationSeconds", 900, 43_200);
    let session_policies = SessionPolicies::from_params(params);
    // Every parameter's constraints are checked before anything else and reported together, as
    // AWS does; a role or provider name where its ARN belongs (a common slip) is one of them.
    let length = |value: &Result<&str, AwsError>, check: &dyn Fn(&str) -> Result<(), AwsError>| {
        value.as_ref().map_or(Ok(()), |v| check(v))
    };
    validations([
        only_error(&role_arn),
        length(&role_arn, &|v| check_length(v, "roleArn", ARN_LENGTH)),
        only_error(&principal_arn),
        length(&principal_arn, &|v| check_length(v, "principalArn", ARN_LENGTH)),
        only_error(&saml_assertion),
        length(&saml_assertion, &check_assertion_length),
        only_error(&session_policies),
        only_error(&duration_seconds),
    ])?;
    let request = AssumeRequest {
        role_arn: role_arn?,
        principal_arn: principal_arn?,
        saml_assertion: saml_assertion?,
        duration_seconds: duration_seconds?,
        session_policies: session_policies?,
    };
    let hold = || state.lock().unwrap_or_else(|e| e.into_inner());
    let provider = hold().providers.get(request.principal_arn).cloned();
    let assumed = verify_assertion(&request, provider.as_ref(), sign_in_urls, None, now).and_then(|verified| {
        let mut state = hold();
        let assumed = assume_verified(&state, &request, verified, now, rng)?;
        assumed.redeem_for_role(&mut state, now)?;
        state.add_session(assumed.session.clone());
        Ok(assumed)
    });
    crate::metrics::assume_role_with_saml("api", assumed.as_ref().map_or_else(|e| e.code.as_str(), |_| "Success"));
    let assumed = assumed?;
    let s = &assumed.session;
    let xml = response("AssumeRoleWithSAML", STS_NAMESPACE, request_id, |x| {
        x.node("Credentials", |c| {
            c.leaf("AccessKeyId", &s.access_key)
                .leaf("SecretAccessKey", &s.secret)
                .leaf("SessionToken", &s.token)
                .leaf("Expiration", &date(s.expires));
        });
        x.node("AssumedRoleUser", |u| {
            u.leaf("AssumedRoleId", &s.assumed_role_id).leaf("Arn", &s.assumed_role_arn);
        });
        if let Some(size) = assumed.packed_policy_size {
            x.leaf("PackedPolicySize", &size.to_string());
        }
        x.leaf("Subject", &assumed.subject)
            .leaf("SubjectType", &assumed.subject_type)
            .leaf("Issuer", &assumed.issuer)
            .leaf("Audience", &assumed.audience)
            .leaf("NameQualifier", &assumed.name_qualifier)
            .opt("SourceIdentity", assumed.source_identity.as_deref());
    });
    Ok(xml)
}

pub fn get_caller_identity(caller: &Caller, request_id: &str) -> String {
    response("GetCallerIdentity", STS_NAMESPACE, request_id, |x| {
        x.leaf("UserId", &caller.user_id()).leaf("Account", caller.account()).leaf("Arn", &caller.arn());
    })
}
