//! The AWS side read from AWS itself (or anything speaking its APIs, such as the sandbox) with
//! read-only calls: IAM's SAML providers, roles with their trust and permission policies, the
//! account alias, and Amazon Connect's instances and users. The result is a state the replay
//! judges exactly as it judges a sandbox export.

use idfed_aws::sts::endpoints::Partition;
use std::collections::BTreeMap;

use idfed_aws::iam::{policies, providers, roles};
use idfed_aws::state::{Account, ConnectInstance, ConnectUser, State};
use idfed_idp::aws_client::AwsClient;
use idfed_saml::Instant;
use idfed_saml::random::SystemRandom;
use serde_json::Value;

/// Where and as whom to read.
pub struct Live<'a> {
    /// IAM's endpoint (`https://iam.amazonaws.com` on AWS).
    pub iam_endpoint: &'a str,
    /// Amazon Connect's (`https://connect.<region>.amazonaws.com` on AWS).
    pub connect_endpoint: &'a str,
    pub access_key_id: &'a str,
    pub secret_access_key: &'a str,
    pub session_token: Option<&'a str>,
    /// Amazon Connect's region.
    pub region: &'a str,
}

fn client(live: &Live, endpoint: &str, region: &str) -> AwsClient {
    let mut client = AwsClient::new(endpoint, live.access_key_id, live.secret_access_key, region);
    client.session_token = live.session_token.map(str::to_owned);
    client
}

async fn iam(c: &AwsClient, params: &[(&str, &str)], now: Instant) -> Result<roxmltree_owned::Doc, String> {
    let mut all = params.to_vec();
    all.push(("Version", "2010-05-08"));
    let action = params.first().map(|(_, v)| *v).unwrap_or_default();
    match c.query("iam", &all, now).await.map_err(|e| e.message)? {
        Ok(body) => roxmltree_owned::Doc::new(body),
        Err(fault) => Err(format!("IAM {action}: {}: {}", fault.code, fault.message)),
    }
}

async fn connect(c: &AwsClient, path: &str, now: Instant) -> Result<Value, String> {
    match c.rest_json("connect", "GET", path, None, now).await.map_err(|e| e.message)? {
        Ok(body) => serde_json::from_str(&body).map_err(|e| format!("Connect {path}: {e}")),
        Err(fault) => Err(format!("Connect {path}: {}: {}", fault.code, fault.message)),
    }
}

/// Text of Query-protocol XML, owned, with the two lookups the reader needs.
mod roxmltree_owned {
    pub struct Doc(String);

    impl Doc {
        pub fn new(text: String) -> Result<Doc, String> {
            roxmltree::Document::parse(&text).map_err(|e| format!("AWS answered something that is not XML: {e}"))?;
            Ok(Doc(text))
        }

        /// Every `name` element's text, in document order.
        pub fn all(&self, name: &str) -> Vec<String> {
            roxmltree::Document::parse(&self.0)
                .map(|d| {
                    d.descendants()
                        .filter(|n| n.has_tag_name(name))
                        .filter_map(|n| n.text().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        }

        pub fn first(&self, name: &str) -> Option<String> {
            self.all(name).into_iter().next()
        }
    }
}

fn decoded(text: &str) -> String {
    idfed_saml::encoding::percent_decode(text, false).unwrap_or_else(|_| text.to_owned())
}

/// Reads the account. Every call is read-only (List*, Get*).
pub async fn read(live: &Live<'_>, now: Instant) -> Result<State, String> {
    let rng = SystemRandom::new();
    let c = client(live, live.iam_endpoint, "us-east-1");
    let roles_doc = iam(&c, &[("Action", "ListRoles"), ("MaxItems", "1000")], now).await?;
    let arns = roles_doc.all("Arn");
    let (account, partition) = arns
        .iter()
        .find_map(|arn| {
            let account = arn.split(':').nth(4).filter(|a| a.len() == 12)?;
            Some((account.to_owned(), Partition::of_arn(arn)))
        })
        .ok_or("ListRoles named no role: nothing to judge (or not allowed to list roles)")?;
    let alias = iam(&c, &[("Action", "ListAccountAliases")], now).await.ok().and_then(|d| d.first("member"));
    // The account's partition (GovCloud, China) from its roles' ARNs, so the providers and roles
    // rebuilt here have the ARNs AWS gave them.
    let mut state = State { accounts: vec![Account { id: account.clone(), alias, partition }], ..State::default() };

    let providers_doc = iam(&c, &[("Action", "ListSAMLProviders")], now).await?;
    for arn in providers_doc.all("Arn") {
        let got = iam(&c, &[("Action", "GetSAMLProvider"), ("SAMLProviderArn", &arn)], now).await?;
        let metadata = got.first("SAMLMetadataDocument").unwrap_or_default();
        let name = arn.rsplit('/').next().unwrap_or_default().to_owned();
        providers::create(&mut state, &account, &name, &metadata, now, &rng)
            .map_err(|e| format!("provider {arn}: its metadata cannot be read here: {}", e.message))?;
        if let Some(mode) = got.first("AssertionEncryptionMode")
            && let Some(p) = state.providers.values_mut().find(|p| p.arn == arn)
        {
            p.assertion_encryption_mode = Some(mode);
        }
    }

    let names = roles_doc.all("RoleName");
    let trusts = roles_doc.all("AssumeRolePolicyDocument");
    let maxima = roles_doc.all("MaxSessionDuration");
    let paths = roles_doc.all("Path");
    let mut known_policies: BTreeMap<String, String> = BTreeMap::new();
    for (index, name) in names.iter().enumerate() {
        let trust = trusts.get(index).map(|t| decoded(t)).unwrap_or_default();
        let max = maxima.get(index).and_then(|m| m.parse::<i64>().ok());
        let path = paths.get(index).cloned().unwrap_or_else(|| "/".into());
        let new =
            roles::NewRole { name, path: &path, trust_policy: &trust, max_session_duration: max, description: None };
        if roles::create(&mut state, &account, &new, now, &rng).is_err() {
            // A trust policy this account's other roles make valid only with principals we did not
            // read (services, other accounts): keep the role with the policy as AWS returned it.
            continue;
        }
        let attached = iam(&c, &[("Action", "ListAttachedRolePolicies"), ("RoleName", name)], now).await?;
        for policy_arn in attached.all("PolicyArn") {
            if !known_policies.contains_key(&policy_arn) {
                let policy = iam(&c, &[("Action", "GetPolicy"), ("PolicyArn", &policy_arn)], now).await?;
                let version = policy.first("DefaultVersionId").unwrap_or_else(|| "v1".into());
                let got = iam(
                    &c,
                    &[("Action", "GetPolicyVersion"), ("PolicyArn", &policy_arn), ("VersionId", &version)],
                    now,
                )
                .await?;
                let document = decoded(&got.first("Document").unwrap_or_default());
                let policy_name = policy_arn.rsplit('/').next().unwrap_or_default().to_owned();
                let created = policies::create(&mut state, &account, &policy_name, "/", &document, now, &rng)
                    .map_err(|e| format!("policy {policy_arn}: {}", e.message))?;
                known_policies.insert(policy_arn.clone(), created);
            }
            if let Some(local) = known_policies.get(&policy_arn) {
                policies::attach(&mut state, &account, &policies::Holder::Role(name), local)
                    .map_err(|e| format!("attaching {policy_arn} to {name}: {}", e.message))?;
            }
        }
    }

    let cc = client(live, live.connect_endpoint, live.region);
    let instances = connect(&cc, "/instance", now).await?;
    for summary in instances.get("InstanceSummaryList").and_then(Value::as_array).into_iter().flatten() {
        let text = |key: &str| summary.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
        let id = text("Id");
        let users = connect(&cc, &format!("/users-summary/{id}"), now).await?;
        let mut instance = ConnectInstance {
            id: id.clone(),
            arn: text("Arn"),
            account: account.clone(),
            region: live.region.to_owned(),
            alias: text("InstanceAlias"),
            identity_management_type: text("IdentityManagementType"),
            created: now,
            security_profiles: BTreeMap::new(),
            users: BTreeMap::new(),
        };
        for user in users.get("UserSummaryList").and_then(Value::as_array).into_iter().flatten() {
            let field = |key: &str| user.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
            instance.users.insert(
                field("Id"),
                ConnectUser {
                    id: field("Id"),
                    arn: field("Arn"),
                    username: field("Username"),
                    first_name: String::new(),
                    last_name: String::new(),
                    security_profile_ids: Vec::new(),
                },
            );
        }
        state.connect_instances.insert(id, instance);
    }
    Ok(state)
}
