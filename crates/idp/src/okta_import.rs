//! Okta's AWS Account Federation app settings (the `settings.app` JSON of Okta's Apps API) as
//! an import format: the same app, here.

use serde_json::Value;

use crate::apps::{App, AppKind, AwsApp, EnvironmentType, NameIdSource, Signing};
use crate::error::{IdpError, Result};
use crate::group_mapping::GroupMapping;

/// The app, and what was left out and why.
#[derive(Debug)]
pub struct Converted {
    pub app: App,
    pub notes: Vec<String>,
}

const KNOWN: [&str; 11] = [
    "appFilter",
    "awsEnvironmentType",
    "groupFilter",
    "identityProviderArn",
    "joinAllRoles",
    "loginURL",
    "roleValuePattern",
    "sessionDuration",
    "useGroupMapping",
    "accessKey",
    "secretKey",
];

/// Converts Okta's settings (either the `settings.app` object or a whole app with it inside).
pub fn aws_app(name: &str, label: &str, json: &str) -> Result<Converted> {
    let value: Value = serde_json::from_str(json).map_err(|e| IdpError::invalid(format!("Okta settings JSON: {e}")))?;
    let settings = value.pointer("/settings/app").unwrap_or(&value);
    let Some(map) = settings.as_object() else {
        return Err(IdpError::invalid("Okta settings JSON: expected an object with appFilter, groupFilter, …"));
    };
    let text =
        |key: &str| map.get(key).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
    let flag =
        |key: &str| map.get(key).and_then(|v| v.as_bool().or_else(|| v.as_str().map(|s| s == "true"))).unwrap_or(false);
    let mut notes: Vec<String> = map
        .keys()
        .filter(|k| !KNOWN.contains(&k.as_str()))
        .map(|k| format!("{k} is not an AWS app setting idfed knows; ignored"))
        .collect();
    let (environment, region, acs_url) = environment(text("awsEnvironmentType").as_deref(), text("loginURL"))?;
    let identity_provider_arns: Vec<String> = text("identityProviderArn")
        .map(|arns| arns.split(',').map(str::trim).filter(|a| !a.is_empty()).map(str::to_owned).collect())
        .unwrap_or_default();
    let session_duration = match map.get("sessionDuration") {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.parse().ok(),
        _ => Some(3600),
    }
    .and_then(|n| u32::try_from(n).ok())
    .ok_or_else(|| IdpError::invalid("sessionDuration must be a number of seconds"))?;
    let group_mapping = if flag("useGroupMapping") {
        Some(GroupMapping {
            app_filter: text("appFilter").unwrap_or_else(|| "okta".into()),
            group_filter: text("groupFilter")
                .ok_or_else(|| IdpError::invalid("useGroupMapping is on but groupFilter is empty"))?,
            role_value_pattern: text("roleValuePattern")
                .ok_or_else(|| IdpError::invalid("useGroupMapping is on but roleValuePattern is empty"))?,
        })
    } else {
        None
    };
    if text("accessKey").is_some() || text("secretKey").is_some() {
        notes.push(
            "accessKey/secretKey are not imported from a file: set the API integration with `idfed apply` or the API"
                .into(),
        );
    }
    let app = App {
        name: name.to_owned(),
        label: label.to_owned(),
        kind: AppKind::Aws(AwsApp {
            environment,
            region,
            acs_url,
            identity_provider_arns,
            session_duration,
            join_all_roles: flag("joinAllRoles"),
            group_mapping,
            role_session_name: "user.login".into(),
            api_integration: None,
            connect: None,
        }),
        default_relay_state: None,
        attribute_statements: Vec::new(),
        name_id: NameIdSource::default(),
        signing: Signing::default(),
    };
    Ok(Converted { app, notes })
}

/// Okta's environment names; `loginURL` is the ACS URL for environments Okta does not list.
fn environment(
    kind: Option<&str>,
    login_url: Option<String>,
) -> Result<(EnvironmentType, Option<String>, Option<String>)> {
    let regional = login_url
        .as_deref()
        .and_then(|url| url.strip_prefix("https://")?.strip_suffix(".signin.aws.amazon.com/saml").map(str::to_owned));
    Ok(match (kind, login_url) {
        (_, Some(_)) if regional.is_some() => (EnvironmentType::Regional, regional, None),
        (Some("aws.amazon") | None, None) => (EnvironmentType::Commercial, None, None),
        (Some("aws.amazon"), Some(url)) if url.starts_with("https://signin.aws.amazon.com/") => {
            (EnvironmentType::Commercial, None, None)
        }
        (Some("amazonaws-us-gov" | "aws-us-gov"), _) => (EnvironmentType::GovCloud, None, None),
        (Some("amazonaws.cn" | "aws-cn"), _) => (EnvironmentType::China, None, None),
        (_, Some(url)) => (EnvironmentType::Custom, None, Some(url)),
        (Some(other), None) => {
            return Err(IdpError::invalid(format!(
                "awsEnvironmentType {other:?} is not one idfed knows (aws.amazon, amazonaws-us-gov, amazonaws.cn); give loginURL"
            )));
        }
    })
}
