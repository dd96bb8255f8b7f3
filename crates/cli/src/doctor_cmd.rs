//! `idfed doctor`: why a login fails. Reads a captured response (XML, base64, form body or a
//! browser HAR) and the AWS side (a sandbox export or data directory), prints each finding
//! with its failure ID, AWS's text, the cause and the fix; exit 1 when something is wrong.

use std::path::PathBuf;

use idfed_aws::persist;
use idfed_aws::state::State;
use idfed_aws::sts::endpoints::Partition;
use idfed_doctor::{Inputs, Severity, catalogue, diagnose};
use idfed_store::DocumentStore;

use crate::Outcome;

#[derive(clap::Args)]
pub struct Options {
    /// The captured response: XML, base64, the form body (SAMLResponse=…&RelayState=…) or a HAR.
    #[arg(long)]
    pub response: Option<PathBuf>,
    /// The RelayState it was posted with (taken from the capture when it has one).
    #[arg(long)]
    pub relay_state: Option<String>,
    /// The AWS side as `idfed aws export` wrote it.
    #[arg(long)]
    pub aws_export: Option<PathBuf>,
    /// The AWS side from a sandbox data directory (idfed up, idfed aws serve).
    #[arg(long)]
    pub aws_data_dir: Option<PathBuf>,
    /// A sign-in URL the response may name besides AWS's (the sandbox's /saml); repeatable.
    #[arg(long = "sign-in-url")]
    pub sign_in_urls: Vec<String>,
    /// Judge as of this instant (RFC 3339), to replay an old capture.
    #[arg(long)]
    pub now: Option<String>,
    #[arg(long)]
    pub json: bool,
    /// Print what a failure ID means, its cause and fix.
    #[arg(long)]
    pub explain: Option<String>,
    /// Read the AWS side from AWS itself with read-only calls (IAM, Amazon Connect), with the
    /// credentials of AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN.
    #[arg(long)]
    pub aws_live: bool,
    /// As --aws-live, at another endpoint speaking AWS's APIs (the sandbox, LocalStack).
    #[arg(long)]
    pub aws_endpoint: Option<String>,
    /// Amazon Connect's region for --aws-live (its partition picks IAM's endpoint); default: the
    /// region of the console URL in the RelayState, else AWS_REGION or AWS_DEFAULT_REGION, else
    /// us-east-1.
    #[arg(long)]
    pub aws_region: Option<String>,
    /// The DurationSeconds an API caller asks for (checks F18 against the role's maximum).
    #[arg(long)]
    pub duration: Option<i64>,
    /// IdP metadata about to be uploaded to IAM: checked as CreateSAMLProvider would (F19).
    #[arg(long)]
    pub metadata: Option<PathBuf>,
    /// Preflight: simulate every assigned person's login from this IdP data directory.
    #[arg(long)]
    pub idp_data_dir: Option<PathBuf>,
    /// Preflight from a tenant file (`idfed export`) instead: everything but the signing
    /// certificates is judged (an export holds no keys).
    #[arg(long)]
    pub idp_export: Option<PathBuf>,
    /// The IdP's external URL (entity IDs depend on it); default: what `idfed up` recorded.
    #[arg(long)]
    pub idp_base_url: Option<String>,
}

pub fn run(options: Options) -> Result<Outcome, String> {
    if let Some(id) = &options.explain {
        let entry = catalogue::entry(id).ok_or_else(|| format!("{id} is not a failure ID (F01–F24)"))?;
        println!(
            "{} {}\n  shows on: {}\n  AWS says: {}\n  cause:    {}\n  fix:      {}",
            entry.id, entry.title, entry.shows, entry.aws_text, entry.cause, entry.fix
        );
        return Ok(Outcome::Success);
    }
    let captured = match &options.response {
        Some(path) => Some(
            idfed_saml::encoding::find_saml(&crate::input::read_bytes(path)?)
                .map_err(|e| format!("{}: {e}", path.display()))?,
        ),
        None => None,
    };
    let relay = options.relay_state.clone().or_else(|| captured.as_ref().and_then(|c| c.relay_state.clone()));
    // Read live, the AWS side comes with notes on what could not be read.
    let (state, live_notes) = match (&options.aws_export, &options.aws_data_dir) {
        (Some(file), _) => (
            Some(State::from_json(&crate::input::read_text(file)?).map_err(|e| format!("{}: {e}", file.display()))?),
            Vec::new(),
        ),
        (None, Some(dir)) => (Some(load_sandbox(dir)?), Vec::new()),
        (None, None) if options.aws_live || options.aws_endpoint.is_some() => {
            let reading = read_live(&options, relay.as_deref())?;
            (Some(reading.state), reading.notes)
        }
        (None, None) => (None, Vec::new()),
    };
    let metadata = options.metadata.as_ref().map(|p| crate::input::read_text(p)).transpose()?;
    if captured.is_none() && state.is_none() && metadata.is_none() {
        return Err(
            "give a captured response (--response), the AWS side (--aws-export or --aws-data-dir) or --metadata".into(),
        );
    }
    if (options.idp_data_dir.is_some() || options.idp_export.is_some()) && state.is_none() {
        return Err("the preflight (--idp-data-dir) needs the AWS side too (--aws-export or --aws-data-dir)".into());
    }
    let now = crate::clock::now_or(options.now.as_deref())?;
    let mut findings = diagnose(&Inputs {
        response: captured.as_ref().map(|c| c.xml.as_str()),
        relay_state: relay.as_deref(),
        aws: state.as_ref(),
        sign_in_urls: &options.sign_in_urls,
        now,
        duration_seconds: options.duration,
        metadata: metadata.as_deref(),
        private_keys_known: options.aws_export.is_some() || options.aws_data_dir.is_some(),
    });
    findings.extend(live_notes);
    if let (Some(dir), Some(state)) = (&options.idp_data_dir, &state) {
        findings.extend(preflight_of(dir, options.idp_base_url.as_deref(), state, &options.sign_in_urls, now)?);
    }
    if let (Some(file), Some(state)) = (&options.idp_export, &state) {
        let tenant = crate::idp_cmd::parse_tenant(&crate::input::read_text(file)?, file)?;
        let base = options.idp_base_url.as_deref().unwrap_or("http://127.0.0.1:8080");
        findings.extend(
            idfed_doctor::preflight_export(&tenant, base, state, &options.sign_in_urls, now).map_err(|e| e.message)?,
        );
    }
    // Errors first; a stable sort keeps each part's own order within a severity.
    findings.sort_by_key(|f| f.severity);
    let failed = findings.iter().any(|f| f.severity == Severity::Error);
    if options.json {
        println!("{}", serde_json::json!({ "ok": !failed, "findings": findings }));
    } else {
        for f in &findings {
            let level = match f.severity {
                Severity::Error => "ERROR",
                Severity::Warning => "WARN ",
                Severity::Info => "ok   ",
            };
            println!("{level} {} {}", f.id, f.title);
            for (label, text) in [("AWS says", &f.aws_text), ("cause", &f.cause), ("fix", &f.fix)] {
                if !text.is_empty() {
                    println!("      {label:<8} {text}");
                }
            }
        }
        if findings.is_empty() {
            println!("nothing to report");
        }
    }
    Ok(if failed { Outcome::Negative } else { Outcome::Success })
}

/// Simulates every assigned person's login with the IdP's own key and configuration.
fn preflight_of(
    dir: &std::path::Path,
    base_url: Option<&str>,
    state: &State,
    sign_in_urls: &[String],
    now: idfed_saml::Instant,
) -> Result<Vec<idfed_doctor::Finding>, String> {
    // The IdP's address is part of every entity ID: `idfed up` records it; otherwise say it.
    let recorded = std::fs::read_to_string(dir.join("scenario.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v.get("idp").and_then(|u| u.as_str()).map(str::to_owned));
    let base = base_url.map(str::to_owned).or(recorded).unwrap_or_else(|| "http://127.0.0.1:8080".into());
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
    let idp = runtime.block_on(crate::idp_cmd::open_at(dir, &base))?;
    let tenant = idp.view();
    let signing = idp.signing();
    let entity_id = |app: &str| idp.entity_id(app);
    let side = idfed_doctor::IdpSide {
        tenant: &tenant,
        entity_id: &entity_id,
        key: idfed_idp::sso::IdpKey { key: &signing.active.key, certificate: &signing.active.certificate },
        next_certificate: signing.next.as_ref().map(|n| &n.certificate),
    };
    Ok(idfed_doctor::preflight(&side, state, sign_in_urls, now))
}

fn read_live(options: &Options, relay_state: Option<&str>) -> Result<idfed_doctor::live::Reading, String> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let key = env("AWS_ACCESS_KEY_ID")
        .ok_or("set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (read-only IAM and Connect access)")?;
    let secret = env("AWS_SECRET_ACCESS_KEY").ok_or("set AWS_SECRET_ACCESS_KEY")?;
    let token = env("AWS_SESSION_TOKEN");
    let region = live_region(
        options.aws_region.as_deref(),
        relay_state,
        env("AWS_REGION").or_else(|| env("AWS_DEFAULT_REGION")).as_deref(),
    );
    let partition = Partition::of_region(&region);
    let connect_endpoint = partition.regional_endpoint("connect", &region);
    let (iam_endpoint, iam_region) = match &options.aws_endpoint {
        Some(url) => (url.as_str(), region.as_str()),
        None => partition.iam_endpoint(),
    };
    let connect_endpoint = options.aws_endpoint.as_deref().unwrap_or(&connect_endpoint);
    let live = idfed_doctor::live::Live {
        iam_endpoint,
        iam_region,
        connect_endpoint,
        access_key_id: &key,
        secret_access_key: &secret,
        session_token: token.as_deref(),
        region: &region,
    };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
    let mut bar = crate::progress::Bar::new("roles a SAML login could assume read");
    let reading = runtime
        .block_on(idfed_doctor::live::read(&live, crate::clock::now(), &mut |done, total| bar.show(done, total)));
    bar.finish();
    reading
}

/// The region to read Connect in: as asked, else the one the RelayState's console URL names
/// (`https://us-west-2.console.aws.amazon.com/connect/federate/…`), else the environment's.
fn live_region(asked: Option<&str>, relay_state: Option<&str>, environment: Option<&str>) -> String {
    asked
        .or_else(|| relay_state.and_then(idfed_aws::signin::aws_console_region))
        .or(environment)
        .unwrap_or("us-east-1")
        .to_owned()
}

fn load_sandbox(dir: &std::path::Path) -> Result<State, String> {
    let path = dir.join("aws.sqlite");
    if !path.exists() {
        return Err(format!("{} has no sandbox state (aws.sqlite)", dir.display()));
    }
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let store = DocumentStore::open_sqlite(&path).await.map_err(|e| e.to_string())?;
        match persist::load(&store).await? {
            (Some(_), state, _) => Ok(state),
            (None, _, _) => Err("the sandbox state is empty".to_owned()),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_live_region_is_asked_else_the_relay_states_else_the_environments() {
        let relay = Some("https://eu-west-2.console.aws.amazon.com/connect/federate/abc");
        assert_eq!(live_region(Some("ap-southeast-2"), relay, Some("us-west-2")), "ap-southeast-2");
        assert_eq!(live_region(None, relay, Some("us-west-2")), "eu-west-2");
        let gov = Some("https://us-gov-west-1.console.amazonaws-us-gov.com/connect/federate/abc");
        assert_eq!(live_region(None, gov, None), "us-gov-west-1");
        let regionless = Some("https://console.aws.amazon.com/connect/federate/abc");
        assert_eq!(live_region(None, regionless, Some("us-west-2")), "us-west-2");
        assert_eq!(live_region(None, Some("https://evil.example/x.console.aws.amazon.com/"), None), "us-east-1");
        assert_eq!(live_region(None, None, None), "us-east-1");
    }

    #[test]
    fn a_regions_partition_picks_iam_and_connect_endpoints() {
        let endpoints = |region: &str| {
            let partition = Partition::of_region(region);
            (partition.iam_endpoint(), partition.regional_endpoint("connect", region))
        };
        assert_eq!(
            endpoints("eu-west-2"),
            (("https://iam.amazonaws.com", "us-east-1"), "https://connect.eu-west-2.amazonaws.com".into())
        );
        assert_eq!(
            endpoints("us-gov-west-1"),
            (
                ("https://iam.us-gov.amazonaws.com", "us-gov-west-1"),
                "https://connect.us-gov-west-1.amazonaws.com".into()
            )
        );
        assert_eq!(endpoints("cn-north-1").0, ("https://iam.cn-north-1.amazonaws.com.cn", "cn-north-1"),);
    }
}
