//! IAM's Query actions: parameters in, AWS's XML shapes out, the caller's permissions enforced.

use idfed_saml::Instant;
use idfed_saml::random::Random;

use crate::api::{date, encoded_policy};
use crate::auth::{Caller, authorize, base_context};
use crate::error::AwsError;
use crate::iam::policies::Holder;
use crate::iam::{account, no_such_entity, policies, providers, roles, users};
use crate::protocol::query::{IAM_NAMESPACE, Params, Xml, response};
use crate::state::{ManagedPolicy, Role, SamlProvider, State, User};

pub struct Call<'a> {
    pub params: &'a Params,
    pub caller: &'a Caller,
    pub now: Instant,
    pub rng: &'a dyn Random,
    pub request_id: &'a str,
    pub source_ip: Option<std::net::IpAddr>,
}

/// A Role as GetRole and CreateRole answer it.
fn role_xml(x: &mut Xml, r: &Role) {
    listed_role_xml(x, r);
    // Never used by anything but STS here; AWS sends the empty element too.
    x.node("RoleLastUsed", |_| {});
}

/// A Role as ListRoles answers it (AWS leaves RoleLastUsed, Tags and PermissionsBoundary out).
fn listed_role_xml(x: &mut Xml, r: &Role) {
    x.leaf("Path", &r.path)
        .leaf("RoleName", &r.name)
        .leaf("RoleId", &r.id)
        .leaf("Arn", &r.arn)
        .leaf("CreateDate", &date(r.created))
        .leaf("AssumeRolePolicyDocument", &encoded_policy(&r.trust_policy_text))
        .opt("Description", r.description.as_deref())
        .leaf("MaxSessionDuration", &r.max_session_duration.to_string());
}

fn user_xml(x: &mut Xml, u: &User) {
    x.leaf("Path", &u.path)
        .leaf("UserName", &u.name)
        .leaf("UserId", &u.id)
        .leaf("Arn", &u.arn)
        .leaf("CreateDate", &date(u.created));
}

fn policy_xml(state: &State, x: &mut Xml, p: &ManagedPolicy) {
    let attachments = state.roles.values().filter(|r| r.attached_policies.contains(&p.arn)).count()
        + state.users.values().filter(|u| u.attached_policies.contains(&p.arn)).count();
    x.leaf("PolicyName", &p.name)
        .leaf("PolicyId", &p.id)
        .leaf("Arn", &p.arn)
        .leaf("Path", &p.path)
        .leaf("DefaultVersionId", "v1")
        .leaf("AttachmentCount", &attachments.to_string())
        .leaf("PermissionsBoundaryUsageCount", "0")
        .leaf("IsAttachable", "true")
        .leaf("CreateDate", &date(p.created))
        .leaf("UpdateDate", &date(p.created))
        .node("Tags", |_| {});
}

fn provider_xml(x: &mut Xml, p: &SamlProvider) {
    x.leaf("SAMLProviderUUID", &p.uuid)
        .leaf("SAMLMetadataDocument", &p.metadata)
        .leaf("CreateDate", &date(p.created))
        .leaf("ValidUntil", &date(p.valid_until))
        .opt("AssertionEncryptionMode", p.assertion_encryption_mode.as_deref());
    if !p.private_keys.is_empty() {
        x.members("PrivateKeyList", &p.private_keys, |m, (id, _, at)| {
            m.leaf("KeyId", id).leaf("Timestamp", &date(*at));
        });
    }
}

/// Runs one IAM action against `state`; the answer is Query XML.
pub fn handle(state: &mut State, call: &Call) -> Result<String, AwsError> {
    let p = call.params;
    let account = call.caller.account().to_owned();
    let action = p.action()?;
    let iam_arn = |resource: &str| state.arn(&account, "iam", "", resource);
    let context = base_context(call.caller, call.now, call.source_ip);
    let allow =
        |state: &State, resource: &str| authorize(state, call.caller, &format!("iam:{action}"), resource, &context);
    let reply = |inner: &dyn Fn(&mut Xml)| response(action, IAM_NAMESPACE, call.request_id, inner);

    match action {
        "CreateSAMLProvider" => {
            let name = p.required("Name")?;
            allow(state, &iam_arn(&format!("saml-provider/{name}")))?;
            let metadata = p.required("SAMLMetadataDocument")?;
            let (mode, add) = (p.get("AssertionEncryptionMode"), p.get("AddPrivateKey"));
            let arn = all_or_nothing(state, |state| {
                let arn = providers::create(state, &account, name, metadata, call.now, call.rng)?;
                set_encryption(state, &arn, mode, add, None, call.now, call.rng)?;
                Ok(arn)
            })?;
            Ok(reply(&|x| {
                x.leaf("SAMLProviderArn", &arn);
            }))
        }
        "GetSAMLProvider" => {
            let arn = p.required("SAMLProviderArn")?;
            allow(state, arn)?;
            let provider = providers::get(state, arn)?;
            Ok(reply(&|x| provider_xml(x, provider)))
        }
        "ListSAMLProviders" => {
            allow(state, "*")?;
            let list: Vec<&SamlProvider> = state.providers.values().filter(|pr| pr.account == account).collect();
            Ok(reply(&|x| {
                x.members("SAMLProviderList", &list, |m, pr| {
                    m.leaf("Arn", &pr.arn)
                        .leaf("ValidUntil", &date(pr.valid_until))
                        .leaf("CreateDate", &date(pr.created));
                });
            }))
        }
        "UpdateSAMLProvider" => {
            let arn = p.required("SAMLProviderArn")?.to_owned();
            allow(state, &arn)?;
            let (metadata, mode, add, remove) = (
                p.get("SAMLMetadataDocument"),
                p.get("AssertionEncryptionMode"),
                p.get("AddPrivateKey"),
                p.get("RemovePrivateKey"),
            );
            if metadata.is_none() && mode.is_none() && add.is_none() && remove.is_none() {
                return Err(AwsError::sender(
                    400,
                    "InvalidInput",
                    "Unable to update identity provider. No updates are defined for metadata or encryption assertion.",
                ));
            }
            providers::get(state, &arn)?;
            all_or_nothing(state, |state| {
                if let Some(text) = metadata {
                    providers::update_metadata(state, &arn, text)?;
                }
                set_encryption(state, &arn, mode, add, remove, call.now, call.rng)
            })?;
            Ok(reply(&|x| {
                x.leaf("SAMLProviderArn", &arn);
            }))
        }
        "DeleteSAMLProvider" => {
            let arn = p.required("SAMLProviderArn")?;
            allow(state, arn)?;
            providers::delete(state, arn)?;
            Ok(reply(&|_| {}))
        }
        "CreateRole" => {
            let name = p.required("RoleName")?;
            let path = p.get("Path").unwrap_or("/");
            allow(state, &iam_arn(&format!("role{path}{name}")))?;
            let new = roles::NewRole {
                name,
                path,
                trust_policy: p.required("AssumeRolePolicyDocument")?,
                max_session_duration: p.int_in("MaxSessionDuration", 3600, 43_200)?,
                description: p.get("Description"),
            };
            let arn = roles::create(state, &account, &new, call.now, call.rng)?;
            let role = state.roles.get(&arn).ok_or_else(|| no_such_entity("role vanished"))?;
            Ok(reply(&|x| {
                x.node("Role", |r| role_xml(r, role));
            }))
        }
        "GetRole" => {
            let name = p.required("RoleName")?;
            allow(state, &iam_arn(&format!("role/{name}")))?;
            let role = roles::by_name(state, &account, name)?;
            Ok(reply(&|x| {
                x.node("Role", |r| role_xml(r, role));
            }))
        }
        "ListRoles" => {
            allow(state, &iam_arn("role/"))?;
            let prefix = p.get("PathPrefix").unwrap_or("/");
            let all: Vec<&Role> =
                state.roles.values().filter(|r| r.account == account && r.path.starts_with(prefix)).collect();
            let (page, marker) = page_of(p, &all)?;
            Ok(reply(&|x| {
                x.members("Roles", page, |m, r| listed_role_xml(m, r));
                truncation(x, marker.as_deref());
            }))
        }
        "UpdateRole" => {
            let name = p.required("RoleName")?;
            allow(state, &iam_arn(&format!("role/{name}")))?;
            roles::update(state, &account, name, p.int_in("MaxSessionDuration", 3600, 43_200)?, p.get("Description"))?;
            Ok(reply(&|_| {}))
        }
        "UpdateAssumeRolePolicy" => {
            let name = p.required("RoleName")?;
            allow(state, &iam_arn(&format!("role/{name}")))?;
            roles::update_assume_role_policy(state, &account, name, p.required("PolicyDocument")?)?;
            Ok(reply(&|_| {}))
        }
        "DeleteRole" => {
            let name = p.required("RoleName")?;
            allow(state, &iam_arn(&format!("role/{name}")))?;
            roles::delete(state, &account, name)?;
            Ok(reply(&|_| {}))
        }
        "PutRolePolicy" => {
            let name = p.required("RoleName")?;
            allow(state, &iam_arn(&format!("role/{name}")))?;
            roles::put_inline_policy(state, &account, name, p.required("PolicyName")?, p.required("PolicyDocument")?)?;
            Ok(reply(&|_| {}))
        }
        "GetRolePolicy" => {
            let (name, policy_name) = (p.required("RoleName")?, p.required("PolicyName")?);
            allow(state, &iam_arn(&format!("role/{name}")))?;
            let role = roles::by_name(state, &account, name)?;
            let document = role
                .inline_policies
                .get(policy_name)
                .ok_or_else(|| no_such_entity(format!("The role policy with name {policy_name} cannot be found.")))?;
            Ok(reply(&|x| {
                x.leaf("RoleName", name)
                    .leaf("PolicyName", policy_name)
                    .leaf("PolicyDocument", &encoded_policy(document));
            }))
        }
        "CreatePolicy" => {
            let name = p.required("PolicyName")?;
            let path = p.get("Path").unwrap_or("/");
            allow(state, &iam_arn(&format!("policy{path}{name}")))?;
            let arn = policies::create(state, &account, name, path, p.required("PolicyDocument")?, call.now, call.rng)?;
            let policy = policies::get(state, &arn)?;
            Ok(reply(&|x| {
                x.node("Policy", |n| policy_xml(state, n, policy));
            }))
        }
        "GetPolicy" => {
            let arn = p.required("PolicyArn")?;
            allow(state, arn)?;
            let policy = policies::get(state, arn)?;
            Ok(reply(&|x| {
                x.node("Policy", |n| policy_xml(state, n, policy));
            }))
        }
        "GetPolicyVersion" => {
            let arn = p.required("PolicyArn")?;
            allow(state, arn)?;
            let policy = policies::get(state, arn)?;
            if p.required("VersionId")? != "v1" {
                return Err(no_such_entity(format!(
                    "Policy {arn} version {} does not exist or is not attachable.",
                    p.get("VersionId").unwrap_or("")
                )));
            }
            Ok(reply(&|x| {
                x.node("PolicyVersion", |v| {
                    v.leaf("Document", &encoded_policy(&policy.document))
                        .leaf("VersionId", "v1")
                        .leaf("IsDefaultVersion", "true")
                        .leaf("CreateDate", &date(policy.created));
                });
            }))
        }
        "AttachRolePolicy" | "DetachRolePolicy" | "AttachUserPolicy" | "DetachUserPolicy" => {
            let (holder, resource) = if action.contains("Role") {
                let name = p.required("RoleName")?;
                (Holder::Role(name), iam_arn(&format!("role/{name}")))
            } else {
                let name = p.required("UserName")?;
                (Holder::User(name), iam_arn(&format!("user/{name}")))
            };
            allow(state, &resource)?;
            let policy_arn = p.required("PolicyArn")?;
            if action.starts_with("Attach") {
                policies::attach(state, &account, &holder, policy_arn)?;
            } else {
                policies::detach(state, &account, &holder, policy_arn)?;
            }
            Ok(reply(&|_| {}))
        }
        "ListAttachedRolePolicies" => {
            let name = p.required("RoleName")?;
            allow(state, &iam_arn(&format!("role/{name}")))?;
            let role = roles::by_name(state, &account, name)?;
            let attached: Vec<(&str, &str)> = role
                .attached_policies
                .iter()
                .map(|arn| (state.policies.get(arn).map(|p| p.name.as_str()).unwrap_or(""), arn.as_str()))
                .collect();
            let (page, marker) = page_of(p, &attached)?;
            Ok(reply(&|x| {
                x.members("AttachedPolicies", page, |m, (n, a)| {
                    m.leaf("PolicyName", n).leaf("PolicyArn", a);
                });
                truncation(x, marker.as_deref());
            }))
        }
        "ListRolePolicies" => {
            let name = p.required("RoleName")?;
            allow(state, &iam_arn(&format!("role/{name}")))?;
            let role = roles::by_name(state, &account, name)?;
            let names: Vec<&String> = role.inline_policies.keys().collect();
            let (page, marker) = page_of(p, &names)?;
            Ok(reply(&|x| {
                x.node("PolicyNames", |m| {
                    for name in page {
                        m.leaf("member", name);
                    }
                });
                truncation(x, marker.as_deref());
            }))
        }
        "CreateUser" => {
            let name = p.required("UserName")?;
            let path = p.get("Path").unwrap_or("/");
            allow(state, &iam_arn(&format!("user{path}{name}")))?;
            let arn = users::create(state, &account, name, path, call.now, call.rng)?;
            let user = state.users.get(&arn).ok_or_else(|| no_such_entity("user vanished"))?;
            Ok(reply(&|x| {
                x.node("User", |u| user_xml(u, user));
            }))
        }
        "GetUser" => {
            let name = match (p.get("UserName"), call.caller) {
                (Some(n), _) => n.to_owned(),
                (None, Caller::User { arn, .. }) => arn.rsplit('/').next().unwrap_or_default().to_owned(),
                (None, _) => {
                    return Err(AwsError::sender(
                        400,
                        "ValidationError",
                        "Must specify userName when calling with non-User credentials",
                    ));
                }
            };
            allow(state, &iam_arn(&format!("user/{name}")))?;
            let user = users::by_name(state, &account, &name)?;
            Ok(reply(&|x| {
                x.node("User", |u| user_xml(u, user));
            }))
        }
        "CreateAccessKey" => {
            let name = p.required("UserName")?;
            allow(state, &iam_arn(&format!("user/{name}")))?;
            let key = users::create_access_key(state, &account, name, call.now, call.rng)?;
            Ok(reply(&|x| {
                x.node("AccessKey", |k| {
                    k.leaf("UserName", name)
                        .leaf("AccessKeyId", &key.id)
                        .leaf("Status", "Active")
                        .leaf("SecretAccessKey", &key.secret)
                        .leaf("CreateDate", &date(key.created));
                });
            }))
        }
        "PutUserPolicy" => {
            let name = p.required("UserName")?;
            allow(state, &iam_arn(&format!("user/{name}")))?;
            users::put_inline_policy(state, &account, name, p.required("PolicyName")?, p.required("PolicyDocument")?)?;
            Ok(reply(&|_| {}))
        }
        "CreateAccountAlias" => {
            allow(state, "*")?;
            account::create_alias(state, &account, p.required("AccountAlias")?)?;
            Ok(reply(&|_| {}))
        }
        "ListAccountAliases" => {
            allow(state, "*")?;
            let aliases: Vec<String> = state.account(&account).and_then(|a| a.alias.clone()).into_iter().collect();
            Ok(reply(&|x| {
                x.node("AccountAliases", |m| {
                    for alias in &aliases {
                        m.leaf("member", alias);
                    }
                });
                x.leaf("IsTruncated", "false");
            }))
        }
        other => Err(AwsError::sender(
            400,
            "InvalidAction",
            format!("Could not find operation {other} for version 2010-05-08"),
        )),
    }
}

/// Runs a change of the SAML providers that either succeeds whole or leaves them as they were
/// (a provider created, then refused for its encryption settings, is not left behind).
fn all_or_nothing<T>(state: &mut State, change: impl FnOnce(&mut State) -> Result<T, AwsError>) -> Result<T, AwsError> {
    let before = state.providers.clone();
    let result = change(state);
    if result.is_err() {
        state.providers = before;
    }
    result
}

/// AssertionEncryptionMode and private keys, with IAM's rules and texts.
fn set_encryption(
    state: &mut State,
    arn: &str,
    mode: Option<&str>,
    add: Option<&str>,
    remove: Option<&str>,
    now: Instant,
    rng: &dyn Random,
) -> Result<(), AwsError> {
    let invalid = |m: &str| AwsError::sender(400, "InvalidInput", m.to_owned());
    if add.is_some() && remove.is_some() {
        return Err(invalid(
            "Unable to add and remove private keys in the same request. Set a value for only one of the two parameters.",
        ));
    }
    let provider =
        state.providers.get_mut(arn).ok_or_else(|| no_such_entity(format!("Manifest not found for arn {arn}")))?;
    if let Some(pem) = add {
        if idfed_saml::xmlenc::DecryptionKey::from_pem(pem).is_err() {
            return Err(invalid("Invalid private key."));
        }
        if provider.private_keys.len() >= 2 {
            return Err(invalid("Private key limit of 2 is reached."));
        }
        provider.private_keys.push((crate::ids::provider_uuid(rng), pem.to_owned(), now));
    }
    if let Some(id) = remove {
        let before = provider.private_keys.len();
        provider.private_keys.retain(|(k, _, _)| k != id);
        if provider.private_keys.len() == before {
            return Err(invalid("Failed to remove private key because the Key ID does not match a private key."));
        }
        // The last key of a provider that requires encryption would leave every sign-in failing
        // (AWS's text; when AWS gives it is not published, so this condition is the sandbox's).
        let required_after = mode.unwrap_or(provider.assertion_encryption_mode.as_deref().unwrap_or("")) == "Required";
        if provider.private_keys.is_empty() && required_after {
            return Err(invalid("Failed to remove private key."));
        }
    }
    if let Some(mode) = mode {
        if !matches!(mode, "Required" | "Allowed") {
            return Err(crate::iam::validation(
                mode,
                "assertionEncryptionMode",
                "Member must satisfy enum value set: [Allowed, Required]",
            ));
        }
        if mode == "Required" && provider.private_keys.is_empty() {
            return Err(invalid(
                "Unable to set assertion encryption mode to Required because no private key is provided.",
            ));
        }
        provider.assertion_encryption_mode = Some(mode.to_owned());
    }
    Ok(())
}

/// One page of an IAM list, as `MaxItems` (1 to 1000, 100 when absent) and the `Marker` of the
/// page before ask for it; with the marker of the next page when there is one.
fn page_of<'t, T>(p: &Params, all: &'t [T]) -> Result<(&'t [T], Option<String>), AwsError> {
    let max = usize::try_from(p.int_in("MaxItems", 1, 1000)?.unwrap_or(100)).unwrap_or(100);
    let start = match p.get("Marker") {
        None => 0,
        Some(marker) => marker
            .parse::<usize>()
            .ok()
            .filter(|start| *start <= all.len())
            .ok_or_else(|| AwsError::sender(400, "ValidationError", format!("Invalid Marker: {marker}")))?,
    };
    let (page, next) = crate::api::page(all, start, max);
    Ok((page, next.map(|n| n.to_string())))
}

/// `IsTruncated`, and the `Marker` to ask for the rest with when it is.
fn truncation(x: &mut Xml, marker: Option<&str>) {
    x.leaf("IsTruncated", if marker.is_some() { "true" } else { "false" });
    x.opt("Marker", marker);
}
