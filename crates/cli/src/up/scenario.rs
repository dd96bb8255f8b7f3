//! The seeds' scenario, set up on first start through the same APIs a person would use: the
//! AWS side through the sandbox's IAM and Amazon Connect APIs (SigV4, over loopback), the IdP
//! side through `apply` and the API integration.

use idfed_idp::aws_client::{AwsClient, xml_field};
use idfed_idp::service::Idp;
use idfed_saml::Instant;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

pub const ACCOUNT: &str = "111122223333";
pub const REGION: &str = "us-east-1";
pub const INSTANCE_ALIAS: &str = "idfed-demo";
const SEEDS_TENANT: &str = include_str!("../../scenario/seeds.yaml");

/// What the first start made, kept in the data directory so later starts can say it again.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Scenario {
    /// Where the two halves were when the scenario was set up (apps and IAM point there).
    #[serde(default)]
    pub idp: String,
    #[serde(default)]
    pub aws: String,
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

/// Sets up both halves. `admin` is the sandbox account's administrator key.
pub async fn set_up(
    idp: &Idp,
    sandbox: &str,
    admin: (&str, &str),
    now: &dyn Fn() -> Instant,
) -> Result<Scenario, String> {
    let aws = Aws { client: AwsClient::new(sandbox, admin.0, admin.1, REGION), now };

    // Amazon Connect: an instance with SAML identity management, an admin and two agents.
    let instance = aws
        .connect(
            "PUT",
            "/instance",
            Some(json!({ "IdentityManagementType": "SAML", "InstanceAlias": INSTANCE_ALIAS,
                         "InboundCallsEnabled": true, "OutboundCallsEnabled": true })),
        )
        .await?;
    let instance_id =
        instance.get("Id").and_then(Value::as_str).ok_or("Connect CreateInstance answered without Id")?.to_owned();
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
    for (username, first, last, security) in [
        ("ada.admin@example.com", "Ada", "Admin", "Admin"),
        ("alex.agent@example.com", "Alex", "Agent", "Agent"),
        ("SamVoice", "Sam", "Voice", "Agent"),
    ] {
        let body = json!({
            "Username": username,
            "IdentityInfo": { "FirstName": first, "LastName": last },
            "PhoneConfig": { "PhoneType": "SOFT_PHONE" },
            "SecurityProfileIds": [profile(security)?],
            "RoutingProfileId": "default",
        });
        aws.connect("PUT", &format!("/users/{instance_id}"), Some(body)).await?;
    }

    // IAM: the two policies of seed 002, the API user with its key.
    let federation = json!({
        "Version": "2012-10-17",
        "Statement": [{ "Effect": "Allow", "Action": "connect:GetFederationToken",
            "Resource": format!("arn:aws:connect:{REGION}:{ACCOUNT}:instance/{instance_id}/user/${{aws:userid}}") }]
    })
    .to_string();
    let cli_policy = json!({
        "Version": "2012-10-17",
        "Statement": [{ "Effect": "Allow", "Action": ["iam:ListRoles", "iam:ListAccountAliases"], "Resource": "*" }]
    })
    .to_string();
    let federation_arn = field(
        &aws.iam(&[
            ("Action", "CreatePolicy"),
            ("PolicyName", "okta_federation_policy"),
            ("PolicyDocument", &federation),
        ])
        .await?,
        "Arn",
    )?;
    let cli_arn = field(
        &aws.iam(&[("Action", "CreatePolicy"), ("PolicyName", "okta_cli_policy"), ("PolicyDocument", &cli_policy)])
            .await?,
        "Arn",
    )?;
    aws.iam(&[("Action", "CreateUser"), ("UserName", "okta_cli_user")]).await?;
    aws.iam(&[("Action", "AttachUserPolicy"), ("UserName", "okta_cli_user"), ("PolicyArn", &cli_arn)]).await?;
    let key = aws.iam(&[("Action", "CreateAccessKey"), ("UserName", "okta_cli_user")]).await?;
    let (cli_key_id, cli_secret) = (field(&key, "AccessKeyId")?, field(&key, "SecretAccessKey")?);

    // The IdP: its tenant (apps name the providers about to exist), then IAM trusts it.
    let tenant_text = SEEDS_TENANT
        .replace("{{sandbox}}", sandbox)
        .replace("{{account}}", ACCOUNT)
        .replace("{{region}}", REGION)
        .replace("{{instance_id}}", &instance_id)
        .replace("{{cli_key_id}}", &cli_key_id)
        .replace("{{cli_secret}}", &cli_secret);
    let tenant: idfed_idp::tenant::Tenant =
        serde_norway::from_str(&tenant_text).map_err(|e| format!("the scenario's tenant: {e}"))?;
    idp.change_tenant(|t| t.apply(tenant.clone(), || idp.new_user_id())).await.map_err(|e| e.message)?;

    let mut providers = Vec::new();
    for (app, provider) in [
        ("connect-admin", "Okta_Connect_Admin"),
        ("connect-ccp", "Okta_Connect_CCP"),
        ("connect-scv", "Okta_Connect_SCV"),
        ("aws-console", "Okta_Console"),
    ] {
        let metadata = idfed_idp::web::app_metadata(idp, app).ok_or_else(|| format!("no metadata for {app}"))?;
        let created = aws
            .iam(&[("Action", "CreateSAMLProvider"), ("Name", provider), ("SAMLMetadataDocument", &metadata)])
            .await?;
        providers.push((provider, field(&created, "SAMLProviderArn")?));
    }
    let all: Vec<String> = providers.iter().map(|(_, arn)| arn.clone()).collect();
    let console: Vec<String> = providers.iter().filter(|(n, _)| *n == "Okta_Console").map(|(_, a)| a.clone()).collect();
    aws.iam(&[
        ("Action", "CreateRole"),
        ("RoleName", "Okta_Role"),
        ("AssumeRolePolicyDocument", &trust(&all, sandbox)),
    ])
    .await?;
    aws.iam(&[("Action", "AttachRolePolicy"), ("RoleName", "Okta_Role"), ("PolicyArn", &federation_arn)]).await?;
    aws.iam(&[
        ("Action", "CreateRole"),
        ("RoleName", "Okta_ReadOnly"),
        ("AssumeRolePolicyDocument", &trust(&console, sandbox)),
    ])
    .await?;

    // The API integration reads the roles back, as Okta's Provisioning tab does.
    let imported = idp.import_roles("idfed up", "connect-admin").await.map_err(|e| e.message)?;
    if !imported.iter().any(|r| r.ends_with(":role/Okta_Role")) {
        return Err(format!("the API integration did not find Okta_Role (found {imported:?})"));
    }

    let mut people = Vec::new();
    for (login, what) in [
        ("ada.admin@example.com", "Connect administrator: tile \"Amazon Connect Administrator\" → admin console"),
        ("alex.agent@example.com", "agent: tile \"Amazon Connect CCP\" → Contact Control Panel"),
        ("sam.scv@example.com", "seed 001: signs in to Connect as SamVoice (custom attributes)"),
        ("max.multi@example.com", "two roles: tile \"AWS Console\" → AWS's role picker"),
    ] {
        let secret = password(idp)?;
        idp.change_credentials(|c| c.set_password(login, &secret, idp.rng.as_ref()))
            .await
            .map_err(|e| e.message)?
            .map_err(|e| e.message)?;
        people.push(Person { login: login.to_owned(), what: what.to_owned(), password: Some(secret) });
    }
    Ok(Scenario {
        idp: idp.base_url.clone(),
        aws: sandbox.to_owned(),
        instance_id,
        instance_alias: INSTANCE_ALIAS.to_owned(),
        people,
    })
}
