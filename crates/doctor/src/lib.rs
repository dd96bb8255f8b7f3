//! The doctor: explains why a SAML login to AWS or Amazon Connect fails. It reads a captured
//! response and the AWS side (a sandbox export, or a running sandbox's state), replays the login
//! the way AWS judges it, and names each fault with its failure ID (reference/failures.md), the
//! text AWS shows, the cause in this configuration and the fix.

pub mod catalogue;
mod findings;
pub mod live;
mod preflight;
mod replay;
mod response;

pub use findings::{Finding, Severity};
pub use preflight::{IdpSide, preflight, preflight_export};

use idfed_aws::state::State;
use idfed_saml::Instant;

/// What the doctor looks at.
pub struct Inputs<'a> {
    /// The captured response as XML (see `idfed_saml::encoding::find_saml`).
    pub response: Option<&'a str>,
    /// The RelayState captured with it (where Connect federation starts).
    pub relay_state: Option<&'a str>,
    /// The AWS side, when known.
    pub aws: Option<&'a State>,
    /// The sign-in URLs AWS answers at besides its own (a sandbox's `/saml`).
    pub sign_in_urls: &'a [String],
    pub now: Instant,
    /// DurationSeconds an API caller asks AssumeRoleWithSAML for (`idfed aws login --duration`).
    pub duration_seconds: Option<i64>,
    /// IdP metadata about to be uploaded to IAM, checked as CreateSAMLProvider would.
    pub metadata: Option<&'a str>,
    /// Whether `aws` holds the SAML providers' private keys: false when it was read from AWS,
    /// which never returns them, so an encrypted assertion cannot be read here.
    pub private_keys_known: bool,
}

/// Every finding, errors first.
pub fn diagnose(inputs: &Inputs) -> Vec<Finding> {
    let mut findings = Vec::new();
    if let Some(text) = inputs.metadata {
        replay::metadata(text, inputs.now, &mut findings);
    }
    if let Some(xml) = inputs.response {
        let facts = response::read(xml, inputs.now, inputs.sign_in_urls, &mut findings);
        if let (Some(facts), Some(state)) = (facts, inputs.aws) {
            replay::replay(&facts, xml, inputs, state, &mut findings);
        }
    }
    if let Some(state) = inputs.aws {
        replay::lint(state, &mut findings);
    }
    findings.sort_by_key(|f| f.severity);
    findings
}
