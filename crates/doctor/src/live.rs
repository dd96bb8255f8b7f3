//! The AWS side read from AWS itself (or anything speaking its APIs, such as the sandbox) with
//! read-only calls: IAM's SAML providers, roles with their trust, managed and inline policies,
//! the account alias, and Amazon Connect's instances and users. Every list is read to its last
//! page. The result is a state the replay judges exactly as it judges a sandbox export, with
//! notes on what could not be rebuilt from it.

use std::collections::BTreeMap;

use idfed_aws::iam::{policies, providers, roles};
use idfed_aws::state::{Account, ConnectInstance, ConnectUser, ManagedPolicy, State};
use idfed_aws::sts::endpoints::Partition;
use idfed_idp::aws_client::AwsClient;
use idfed_saml::Instant;
use idfed_saml::encoding::{percent_decode, percent_encode};
use idfed_saml::random::SystemRandom;
use roxmltree::{Document, Node};
use serde_json::Value;

use crate::findings::{Finding, Severity};

/// Where and as whom to read.
pub struct Live<'a> {
    /// IAM's endpoint (`https://iam.amazonaws.com` on AWS), and the region its requests are
    /// signed for (`us-east-1`; see `Partition::iam_endpoint`).
    pub iam_endpoint: &'a str,
    pub iam_region: &'a str,
    /// Amazon Connect's (`https://connect.<region>.amazonaws.com` on AWS).
    pub connect_endpoint: &'a str,
    pub access_key_id: &'a str,
    pub secret_access_key: &'a str,
    pub session_token: Option<&'a str>,
    /// Amazon Connect's region.
    pub region: &'a str,
}

/// What was read: the account as a state, and notes on what of it could not be rebuilt.
pub struct Reading {
    pub state: State,
    pub notes: Vec<Finding>,
}

fn client(live: &Live, endpoint: &str, region: &str) -> AwsClient {
    let mut client = AwsClient::new(endpoint, live.access_key_id, live.secret_access_key, region);
    client.session_token = live.session_token.map(str::to_owned);
    client
}

async fn iam(c: &AwsClient, params: &[(&str, &str)], now: Instant) -> Result<String, String> {
    let mut all = params.to_vec();
    all.push(("Version", "2010-05-08"));
    let action = params.first().map(|(_, v)| *v).unwrap_or_default();
    let body = match c.query("iam", &all, now).await.map_err(|e| e.message)? {
        Ok(body) => body,
        Err(fault) => return Err(format!("IAM {action}: {}: {}", fault.code, fault.message)),
    };
    Document::parse(&body).map_err(|e| format!("IAM {action}: AWS answered something that is not XML: {e}"))?;
    Ok(body)
}

/// Every page of an IAM list action, each handed to `each`: IAM says `IsTruncated` and gives a
/// `Marker` while there is more.
async fn iam_pages(
    c: &AwsClient,
    params: &[(&str, &str)],
    now: Instant,
    mut each: impl FnMut(&Document),
) -> Result<(), String> {
    let mut marker: Option<String> = None;
    loop {
        let mut asked = params.to_vec();
        asked.push(("MaxItems", "1000"));
        if let Some(m) = &marker {
            asked.push(("Marker", m));
        }
        let body = iam(c, &asked, now).await?;
        let doc = Document::parse(&body).map_err(|e| e.to_string())?;
        each(&doc);
        let truncated = first_text(&doc, "IsTruncated").is_some_and(|t| t == "true");
        let next = first_text(&doc, "Marker").filter(|m| truncated && !m.is_empty());
        if next.is_none() || next == marker {
            return Ok(());
        }
        marker = next;
    }
}

/// Every page of a Connect list at `path` (which has no query yet), each handed to `each`:
/// Connect gives a `NextToken` while there is more.
async fn connect_pages(
    c: &AwsClient,
    path: &str,
    page_size: u32,
    now: Instant,
    mut each: impl FnMut(&Value),
) -> Result<(), String> {
    let mut token: Option<String> = None;
    loop {
        let mut url = format!("{path}?maxResults={page_size}");
        if let Some(t) = &token {
            url.push_str("&nextToken=");
            url.push_str(&percent_encode(t));
        }
        let page = match c.rest_json("connect", "GET", &url, None, now).await.map_err(|e| e.message)? {
            Ok(body) => serde_json::from_str::<Value>(&body).map_err(|e| format!("Connect {path}: {e}"))?,
            Err(fault) => return Err(format!("Connect {path}: {}: {}", fault.code, fault.message)),
        };
        each(&page);
        let next = page.get("NextToken").and_then(Value::as_str).filter(|t| !t.is_empty()).map(str::to_owned);
        if next.is_none() || next == token {
            return Ok(());
        }
        token = next;
    }
}

fn first_text(doc: &Document, name: &str) -> Option<String> {
    doc.descendants().find(|n| n.has_tag_name(name)).and_then(|n| n.text()).map(str::to_owned)
}

/// The `member` elements of the list element `list`.
fn members<'d>(doc: &'d Document, list: &str) -> Vec<Node<'d, 'd>> {
    doc.descendants()
        .filter(|n| n.has_tag_name(list))
        .flat_map(|l| l.children().filter(|m| m.has_tag_name("member")))
        .collect()
}

fn child_text(node: Node, name: &str) -> Option<String> {
    node.children().find(|c| c.has_tag_name(name)).map(|c| c.text().unwrap_or_default().to_owned())
}

fn decoded(text: &str) -> String {
    percent_decode(text, false).unwrap_or_else(|_| text.to_owned())
}

/// A role as ListRoles gives it.
struct ListedRole {
    name: String,
    id: String,
    arn: String,
    path: String,
    trust: String,
    max_session_duration: Option<i64>,
}

impl ListedRole {
    fn read(member: Node) -> Option<ListedRole> {
        Some(ListedRole {
            name: child_text(member, "RoleName")?,
            id: child_text(member, "RoleId").unwrap_or_default(),
            arn: child_text(member, "Arn").unwrap_or_default(),
            path: child_text(member, "Path").unwrap_or_else(|| "/".into()),
            trust: decoded(&child_text(member, "AssumeRolePolicyDocument").unwrap_or_default()),
            max_session_duration: child_text(member, "MaxSessionDuration").and_then(|m| m.parse().ok()),
        })
    }

    /// Whether a SAML login could assume it, so its permissions matter: its trust policy names
    /// SAML (a provider, the action or a `SAML:` key) or lets anyone in.
    fn may_trust_saml(&self) -> bool {
        let trust = self.trust.to_ascii_lowercase();
        trust.contains("saml") || trust.contains("\"*\"")
    }
}

/// Reads the account. Every call is read-only (List*, Get*). `progress` hears how many of the
/// roles a SAML login could assume have had their policies read, of how many.
pub async fn read(live: &Live<'_>, now: Instant, progress: &mut dyn FnMut(usize, usize)) -> Result<Reading, String> {
    let rng = SystemRandom::new();
    let c = client(live, live.iam_endpoint, live.iam_region);
    let mut listed: Vec<ListedRole> = Vec::new();
    iam_pages(&c, &[("Action", "ListRoles")], now, |doc| {
        listed.extend(members(doc, "Roles").into_iter().filter_map(ListedRole::read));
    })
    .await?;
    let (account, partition) = listed
        .iter()
        .find_map(|role| {
            let account = role.arn.split(':').nth(4).filter(|a| a.len() == 12)?;
            Some((account.to_owned(), Partition::of_arn(&role.arn)))
        })
        .ok_or("ListRoles named no role: nothing to judge (or not allowed to list roles)")?;
    let alias = match iam(&c, &[("Action", "ListAccountAliases")], now).await {
        Ok(body) => Document::parse(&body).ok().and_then(|d| first_text(&d, "member")),
        Err(_) => None,
    };
    // The account's partition (GovCloud, China) from its roles' ARNs, so the providers and roles
    // rebuilt here have the ARNs AWS gave them.
    let state = State { accounts: vec![Account { id: account.clone(), alias, partition }], ..State::default() };
    let mut reading = Reading { state, notes: Vec::new() };

    read_providers(&c, &mut reading.state, &account, now, &rng).await?;

    let mut saml_roles = Vec::new();
    for role in &listed {
        let new = roles::NewRole {
            name: &role.name,
            path: &role.path,
            trust_policy: &role.trust,
            max_session_duration: role.max_session_duration,
            description: None,
        };
        match roles::adopt(&mut reading.state, &account, &new, &role.id, now) {
            Ok(_) if role.may_trust_saml() => saml_roles.push(role.name.as_str()),
            Ok(_) => {}
            Err(e) => reading.notes.push(role_unread(role, &e.message)),
        }
    }
    // Each managed policy's ARN, and whether it could be kept.
    let mut known_policies: BTreeMap<String, bool> = BTreeMap::new();
    for (done, role) in saml_roles.iter().enumerate() {
        read_role_policies(&c, &mut reading, &account, role, &mut known_policies, now).await?;
        progress(done + 1, saml_roles.len());
    }

    read_connect(live, &mut reading.state, &account, now).await?;
    let state = &reading.state;
    let users: usize = state.connect_instances.values().map(|i| i.users.len()).sum();
    reading.notes.push(Finding::note(
        "live-read",
        Severity::Info,
        format!("Read account {account} ({}) live", partition.name()),
        format!(
            "{} roles ({} a SAML login could assume, with their policies), {} SAML providers, {} Connect instances in {} with {users} users.",
            state.roles.len(),
            saml_roles.len(),
            state.providers.len(),
            state.connect_instances.len(),
            live.region,
        ),
        "",
    ));
    Ok(reading)
}

fn role_unread(role: &ListedRole, why: &str) -> Finding {
    Finding::note(
        "live-role-unread",
        Severity::Warning,
        format!("Role {} could not be read here", role.arn),
        format!("Its trust policy, as AWS returned it, could not be judged: {why}. Logins to it are not judged."),
        "Check the role's trust policy in the IAM console, or judge the login against an export.",
    )
}

async fn read_providers(
    c: &AwsClient,
    state: &mut State,
    account: &str,
    now: Instant,
    rng: &SystemRandom,
) -> Result<(), String> {
    // ListSAMLProviders is not paginated: it returns every provider.
    let body = iam(c, &[("Action", "ListSAMLProviders")], now).await?;
    let arns: Vec<String> = Document::parse(&body)
        .map(|d| members(&d, "SAMLProviderList").into_iter().filter_map(|m| child_text(m, "Arn")).collect())
        .unwrap_or_default();
    for arn in arns {
        let body = iam(c, &[("Action", "GetSAMLProvider"), ("SAMLProviderArn", &arn)], now).await?;
        let doc = Document::parse(&body).map_err(|e| e.to_string())?;
        let metadata = first_text(&doc, "SAMLMetadataDocument").unwrap_or_default();
        let name = arn.rsplit('/').next().unwrap_or_default().to_owned();
        providers::create(state, account, &name, &metadata, now, rng)
            .map_err(|e| format!("provider {arn}: its metadata cannot be read here: {}", e.message))?;
        if let Some(mode) = first_text(&doc, "AssertionEncryptionMode")
            && let Some(p) = state.providers.values_mut().find(|p| p.arn == arn)
        {
            p.assertion_encryption_mode = Some(mode);
        }
    }
    Ok(())
}

/// The role's attached managed policies (each read once for all roles) and its inline policies.
/// A policy that cannot be judged here is left out, with a note.
async fn read_role_policies(
    c: &AwsClient,
    reading: &mut Reading,
    account: &str,
    role: &str,
    known_policies: &mut BTreeMap<String, bool>,
    now: Instant,
) -> Result<(), String> {
    let mut attached = Vec::new();
    iam_pages(c, &[("Action", "ListAttachedRolePolicies"), ("RoleName", role)], now, |doc| {
        attached.extend(members(doc, "AttachedPolicies").into_iter().filter_map(|m| child_text(m, "PolicyArn")));
    })
    .await?;
    for arn in attached {
        if !known_policies.contains_key(&arn) {
            let policy = read_managed_policy(c, &arn, now).await?;
            let adopted = policies::adopt(&mut reading.state, policy);
            if let Err(e) = &adopted {
                reading.notes.push(policy_unread(&arn, &e.message));
            }
            known_policies.insert(arn.clone(), adopted.is_ok());
        }
        if known_policies.get(&arn) == Some(&true) {
            policies::attach(&mut reading.state, account, &policies::Holder::Role(role), &arn)
                .map_err(|e| format!("attaching {arn} to {role}: {}", e.message))?;
        }
    }

    let mut inline = Vec::new();
    iam_pages(c, &[("Action", "ListRolePolicies"), ("RoleName", role)], now, |doc| {
        inline.extend(members(doc, "PolicyNames").into_iter().filter_map(|m| m.text().map(str::to_owned)));
    })
    .await?;
    for name in inline {
        let body = iam(c, &[("Action", "GetRolePolicy"), ("RoleName", role), ("PolicyName", &name)], now).await?;
        let document =
            decoded(&Document::parse(&body).ok().and_then(|d| first_text(&d, "PolicyDocument")).unwrap_or_default());
        if let Err(e) = roles::put_inline_policy(&mut reading.state, account, role, &name, &document) {
            reading.notes.push(policy_unread(&format!("inline policy {name} of role {role}"), &e.message));
        }
    }
    Ok(())
}

/// A managed policy with its default version's document.
async fn read_managed_policy(c: &AwsClient, arn: &str, now: Instant) -> Result<ManagedPolicy, String> {
    let body = iam(c, &[("Action", "GetPolicy"), ("PolicyArn", arn)], now).await?;
    let doc = Document::parse(&body).map_err(|e| e.to_string())?;
    let field = |name: &str| first_text(&doc, name);
    let version = field("DefaultVersionId").unwrap_or_else(|| "v1".into());
    let got = iam(c, &[("Action", "GetPolicyVersion"), ("PolicyArn", arn), ("VersionId", &version)], now).await?;
    let document = decoded(&Document::parse(&got).ok().and_then(|d| first_text(&d, "Document")).unwrap_or_default());
    Ok(ManagedPolicy {
        arn: arn.to_owned(),
        name: field("PolicyName").unwrap_or_else(|| arn.rsplit('/').next().unwrap_or_default().to_owned()),
        id: field("PolicyId").unwrap_or_default(),
        path: field("Path").unwrap_or_else(|| "/".into()),
        document,
        created: now,
    })
}

fn policy_unread(what: &str, why: &str) -> Finding {
    Finding::note(
        "live-policy-unread",
        Severity::Warning,
        format!("Policy {what} could not be read here"),
        format!("{why}. What it allows or denies is left out of the judgement."),
        "Check the policy in the IAM console; an allow it holds (such as connect:GetFederationToken) is not seen here.",
    )
}

/// Connect's instances in the region, with their users.
async fn read_connect(live: &Live<'_>, state: &mut State, account: &str, now: Instant) -> Result<(), String> {
    let cc = client(live, live.connect_endpoint, live.region);
    let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
    let mut instances = Vec::new();
    // ListInstances gives at most 10 a page; ListUsers at most 1,000.
    connect_pages(&cc, "/instance", 10, now, |page| {
        instances.extend(page.get("InstanceSummaryList").and_then(Value::as_array).into_iter().flatten().cloned());
    })
    .await?;
    for summary in instances {
        let id = text(&summary, "Id");
        let mut instance = ConnectInstance {
            id: id.clone(),
            arn: text(&summary, "Arn"),
            account: account.to_owned(),
            region: live.region.to_owned(),
            alias: text(&summary, "InstanceAlias"),
            identity_management_type: text(&summary, "IdentityManagementType"),
            created: now,
            security_profiles: BTreeMap::new(),
            users: BTreeMap::new(),
        };
        connect_pages(&cc, &format!("/users-summary/{}", percent_encode(&id)), 1000, now, |page| {
            for user in page.get("UserSummaryList").and_then(Value::as_array).into_iter().flatten() {
                instance.users.insert(
                    text(user, "Id"),
                    ConnectUser {
                        id: text(user, "Id"),
                        arn: text(user, "Arn"),
                        username: text(user, "Username"),
                        first_name: String::new(),
                        last_name: String::new(),
                        security_profile_ids: Vec::new(),
                    },
                );
            }
        })
        .await?;
        state.connect_instances.insert(id, instance);
    }
    Ok(())
}
