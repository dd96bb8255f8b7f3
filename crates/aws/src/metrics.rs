//! The sandbox's Prometheus metrics: AssumeRoleWithSAML outcomes by AWS error code, for the
//! STS API and the sign-in page. Process-wide counters, like a metrics registry.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

static OUTCOMES: Mutex<BTreeMap<(&'static str, String), u64>> = Mutex::new(BTreeMap::new());

/// `via`: `api` or `signin`; `outcome`: `Success` or AWS's error code.
pub fn assume_role_with_saml(via: &'static str, outcome: &str) {
    let mut outcomes = OUTCOMES.lock().unwrap_or_else(|e| e.into_inner());
    *outcomes.entry((via, outcome.to_owned())).or_default() += 1;
}

pub fn render() -> String {
    let mut out = String::from(
        "# HELP idfed_sandbox_assume_role_with_saml_total AssumeRoleWithSAML outcomes by AWS error code.\n\
         # TYPE idfed_sandbox_assume_role_with_saml_total counter\n",
    );
    for ((via, outcome), n) in OUTCOMES.lock().unwrap_or_else(|e| e.into_inner()).iter() {
        let _ = writeln!(out, "idfed_sandbox_assume_role_with_saml_total{{via=\"{via}\",outcome=\"{outcome}\"}} {n}");
    }
    out
}
