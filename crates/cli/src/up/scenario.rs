//! The seeds' scenario, set up on first start through the same APIs a person would use: the
//! AWS side through the sandbox's IAM and Amazon Connect APIs (SigV4, over loopback), the IdP
//! side through `apply` and the API integration.

use idfed_idp::aws_client::{AwsClient, xml_field};
use idfed_idp::service::Idp;
use idfed_saml::Instant;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The seeds' scenario, used unless `--scenario FILE` names another.
pub const SEEDS: &str = include_str!("../../scenario/seeds.yaml");

/// A scenario file: the AWS side, who the people are, and the IdP's tenant (a template).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Description {
    pub aws: AwsSide,
    #[serde(default)]
    pub people: Vec<Described>,
    pub tenant: serde_norway::Value,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsSide {
    #[serde(default = "default_account")]
    pub account: String,
    #[serde(default)]
    pub alias: Option<String>,
    #[serde(default = "default_region")]
    pub region: String,
    #[serde(default)]
    pub connect: Option<ConnectSide>,
    #[serde(default)]
    pub api_user: Option<String>,
    #[serde(default)]
    pub providers: Vec<ProviderSide>,
    #[serde(default)]
    pub roles: Vec<RoleSide>,
    #[serde(default)]
    pub import_roles_for: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectSide {
    pub alias: String,
    #[serde(default)]
    pub users: Vec<ConnectUserSide>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectUserSide {
    pub username: String,
    pub first_name: String,
    pub last_name: String,
    #[serde(default = "default_profile")]
    pub security_profile: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderSide {
    pub name: String,
    /// The IdP app whose metadata the provider is created from.
    pub app: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleSide {
    pub name: String,
    pub trusts: Vec<String>,
    /// Attach a policy allowing connect:GetFederationToken on the instance's user/${aws:userid}.
    #[serde(default)]
    pub connect_federation: bool,
    #[serde(default)]
    pub max_session_duration: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Described {
    pub login: String,
    #[serde(default)]
    pub what: String,
}

fn default_account() -> String {
    "111122223333".into()
}

fn default_region() -> String {
    "us-east-1".into()
}

fn default_profile() -> String {
    "Agent".into()
}

impl Description {
    pub fn parse(text: &str, origin: &str) -> Result<Description, String> {
        let description: Description = serde_norway::from_str(text).map_err(|e| format!("{origin}: {e}"))?;
        let account_ok =
            description.aws.account.len() == 12 && description.aws.account.bytes().all(|b| b.is_ascii_digit());
        if !account_ok {
            return Err(format!("{origin}: aws.account must be 12 digits"));
        }
        Ok(description)
    }
}

/// What the first start made, kept in the data directory so later starts can say it again.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Scenario {
    /// Where the two halves were when the scenario was set up (apps and IAM point there).
    #[serde(default)]
    pub idp: String,
    #[serde(default)]
    pub aws: String,
    #[serde(default = "default_account")]
    pub account: String,
    pub instance_id: String,
    pub instance_alias: String,
    pub people: Vec<Person>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Person {
    pub login: String,
    pub what: String,
    /// Printed once at first start, never stored.
    #[serde(skip)]
    pub password: Option<String>,
}

struct Aws<'a> {
    client: AwsClient,
    now: &'a dyn Fn() -> Instant,
}

impl Aws<'_> {
    async fn iam(&self, params: &[(&str, &str)]) -> Result<String, String> {
        let action = params.first().map(|(_, v)| *v).unwrap_or_default();
        let mut all = params.to_vec();
        all.push(("Version", "2010-05-08"));
        match self.client.query("iam", &all, (self.now)()).await.map_err(|e| e.message)? {
            Ok(body) => Ok(body),
            Err(fault) => Err(format!("IAM {action}: {}: {}", fault.code, fault.message)),
        }
    }

    async fn connect(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        let text = body.map(|b| b.to_string());
        let answer = self.client.rest_json("connect", method, path, text.as_deref(), (self.now)()).await;
        match answer.map_err(|e| e.message)? {
            Ok(body) => serde_json::from_str(&body).map_err(|e| format!("Connect {path}: {e}")),
            Err(fault) => Err(format!("Connect {method} {path}: {}: {}", fault.code, fault.message)),
        }
    }
}

fn field(text: &str, name: &str) -> Result<String, String> {
    xml_field(text, name).ok_or_else(|| format!("IAM answered without {name}"))
}

fn trust(providers: &[String], sandbox: &str) -> String {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": { "Federated": providers },
            "Action": "sts:AssumeRoleWithSAML",
            "Condition": { "StringEquals": { "SAML:aud": format!("{sandbox}/saml") } }
        }]
    })
    .to_string()
}

/// A password people can type: four groups of four letters and digits.
fn password(idp: &Idp) -> Result<String, String> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut bytes = [0u8; 16];
    idp.rng.fill(&mut bytes).map_err(|e| e.to_string())?;
    let chars: Vec<char> =
        bytes.iter().filter_map(|b| ALPHABET.get(usize::from(*b) % ALPHABET.len())).map(|c| char::from(*c)).collect();
    Ok(chars.chunks(4).map(|c| c.iter().collect::<String>()).collect::<Vec<_>>().join("-"))
}

/// Sets up both halves as `description` says. `admin` is the sandbox account's administrator key.
pub async fn set_up(
    description: &Description,
    idp: &Idp,
    sandbox: &str,
    admin: (&str, &str),
    now: &dyn Fn() -> Instant,
) -> Result<Scenario, String> {
    let side = &description.aws;
    let (account, region) = (side.account.as_str(), side.region.as_str());
    let aws = Aws { client: AwsClient::new(sandbox, admin.0, admin.1, region), now };

    // Amazon Connect: an instance with SAML identity management and its users.
    let (mut instance_id, mut instance_alias) = (String::new(), String::new());
    if let Some(connect) = &side.connect {
        let body = json!({ "IdentityManagementType": "SAML", "InstanceAlias": connect.alias,
                           "InboundCallsEnabled": true, "OutboundCallsEnabled": true });
        let instance = aws.connect("PUT", "/instance", Some(body)).await?;
        instance_id =
            instance.get("Id").and_then(Value::as_str).ok_or("Connect CreateInstance answered without Id")?.to_owned();
        instance_alias = connect.alias.clone();
        let profiles = aws.connect("GET", &format!("/security-profiles-summary/{instance_id}"), None).await?;
        let profile = |name: &str| -> Result<String, String> {
            profiles
                .get("SecurityProfileSummaryList")
                .and_then(Value::as_array)
                .and_then(|list| list.iter().find(|p| p.get("Name").and_then(Value::as_str) == Some(name)))
                .and_then(|p| p.get("Id").and_then(Value::as_str))
                .map(str::to_owned)
                .ok_or_else(|| format!("the instance has no {name} security profile"))
        };
        for user in &connect.users {
            let body = json!({
                "Username": user.username,
                "IdentityInfo": { "FirstName": user.first_name, "LastName": user.last_name },
                "PhoneConfig": { "PhoneType": "SOFT_PHONE" },
                "SecurityProfileIds": [profile(&user.security_profile)?],
                "RoutingProfileId": "default",
            });
            aws.connect("PUT", &format!("/users/{instance_id}"), Some(body)).await?;
        }
    }

    // IAM: the API user of the API integration (seed 004 step 3).
    let (mut cli_key_id, mut cli_secret) = (String::new(), String::new());
    if let Some(user) = &side.api_user {
        let cli_policy = json!({
            "Version": "2012-10-17",
            "Statement": [{ "Effect": "Allow", "Action": ["iam:ListRoles", "iam:ListAccountAliases"], "Resource": "*" }]
        })
        .to_string();
        let cli_arn = field(
            &aws.iam(&[("Action", "CreatePolicy"), ("PolicyName", "okta_cli_policy"), ("PolicyDocument", &cli_policy)])
                .await?,
            "Arn",
        )?;
        aws.iam(&[("Action", "CreateUser"), ("UserName", user)]).await?;
        aws.iam(&[("Action", "AttachUserPolicy"), ("UserName", user), ("PolicyArn", &cli_arn)]).await?;
        let key = aws.iam(&[("Action", "CreateAccessKey"), ("UserName", user)]).await?;
        (cli_key_id, cli_secret) = (field(&key, "AccessKeyId")?, field(&key, "SecretAccessKey")?);
    }

    // The IdP: its tenant (apps name the providers about to exist), then IAM trusts it.
    let template = serde_norway::to_string(&description.tenant).map_err(|e| e.to_string())?;
    let tenant_text = template
        .replace("{{sandbox}}", sandbox)
        .replace("{{account}}", account)
        .replace("{{region}}", region)
        .replace("{{instance_id}}", &instance_id)
        .replace("{{cli_key_id}}", &cli_key_id)
        .replace("{{cli_secret}}", &cli_secret);
    let tenant: idfed_idp::tenant::Tenant =
        serde_norway::from_str(&tenant_text).map_err(|e| format!("the scenario's tenant: {e}"))?;
    idp.change_tenant(|t| t.apply(tenant.clone(), || idp.new_user_id())).await.map_err(|e| e.message)?;

    let mut providers = Vec::new();
    for provider in &side.providers {
        let metadata = idfed_idp::web::app_metadata(idp, &provider.app)
            .ok_or_else(|| format!("provider {}: the tenant has no app {:?}", provider.name, provider.app))?;
        let created = aws
            .iam(&[("Action", "CreateSAMLProvider"), ("Name", &provider.name), ("SAMLMetadataDocument", &metadata)])
            .await?;
        providers.push((provider.name.clone(), field(&created, "SAMLProviderArn")?));
    }
    let federation_arn = match (&side.connect, side.roles.iter().any(|r| r.connect_federation)) {
        (Some(_), true) => {
            let federation = json!({
                "Version": "2012-10-17",
                "Statement": [{ "Effect": "Allow", "Action": "connect:GetFederationToken",
                    "Resource": format!("arn:aws:connect:{region}:{account}:instance/{instance_id}/user/${{aws:userid}}") }]
            })
            .to_string();
            let created = aws
                .iam(&[
                    ("Action", "CreatePolicy"),
                    ("PolicyName", "okta_federation_policy"),
                    ("PolicyDocument", &federation),
                ])
                .await?;
            Some(field(&created, "Arn")?)
        }
        (None, true) => return Err("a role asks for connect_federation but the scenario has no aws.connect".into()),
        _ => None,
    };
    for role in &side.roles {
        let trusted: Vec<String> = role
            .trusts
            .iter()
            .map(|name| {
                providers
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, arn)| arn.clone())
                    .ok_or_else(|| format!("role {} trusts {name}, which aws.providers does not create", role.name))
            })
            .collect::<Result<_, _>>()?;
        let max = role.max_session_duration.unwrap_or(3600).to_string();
        aws.iam(&[
            ("Action", "CreateRole"),
            ("RoleName", &role.name),
            ("AssumeRolePolicyDocument", &trust(&trusted, sandbox)),
            ("MaxSessionDuration", &max),
        ])
        .await?;
        if let (true, Some(arn)) = (role.connect_federation, &federation_arn) {
            aws.iam(&[("Action", "AttachRolePolicy"), ("RoleName", &role.name), ("PolicyArn", arn)]).await?;
        }
    }

    // The API integration reads the roles back, as Okta's Provisioning tab does.
    if let Some(app) = &side.import_roles_for {
        let imported = idp.import_roles("idfed up", app).await.map_err(|e| e.message)?;
        if imported.is_empty() {
            return Err(format!("the API integration of {app} found no role trusting its provider"));
        }
    }

    let mut people = Vec::new();
    for user in idp.tenant().users {
        let what =
            description.people.iter().find(|p| p.login.eq_ignore_ascii_case(&user.login)).map(|p| p.what.clone());
        let secret = password(idp)?;
        idp.change_credentials(|c| c.set_password(&user.login, &secret, idp.rng.as_ref()))
            .await
            .map_err(|e| e.message)?
            .map_err(|e| e.message)?;
        people.push(Person { login: user.login, what: what.unwrap_or_default(), password: Some(secret) });
    }
    Ok(Scenario {
        idp: idp.base_url.clone(),
        aws: sandbox.to_owned(),
        account: account.to_owned(),
        instance_id,
        instance_alias,
        people,
    })
}
