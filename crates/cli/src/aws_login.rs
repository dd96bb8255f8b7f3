//! `idfed aws login` and `idfed aws credential-process`: AWS CLI credentials from the IdP's
//! client API (no page scraping): sign in (password, TOTP), get the app's SAML response, pick
//! a role, AssumeRoleWithSAML, then write a profile or print credential_process JSON.
//! Passwords and codes come from a prompt without echo or from IDFED_PASSWORD / IDFED_TOTP;
//! they are never written anywhere. The IdP session and the credentials are cached (0600) so
//! later calls refresh silently while the session lasts.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use idfed_idp::aws_client::{post_json, query_unsigned, xml_field};
use serde_json::{Value, json};

use crate::Outcome;
use crate::input::Access;

#[derive(clap::Args, Clone)]
pub struct Target {
    /// The IdP's base URL, e.g. https://idp.example.com.
    #[arg(long)]
    pub idp: String,
    /// The AWS app's name in the IdP.
    #[arg(long)]
    pub app: String,
    /// The IdP login (default: IDFED_USERNAME, else asked).
    #[arg(long)]
    pub username: Option<String>,
    /// The role to assume: its ARN or name (default: the only one offered, else asked).
    #[arg(long)]
    pub role: Option<String>,
    /// The region of the STS endpoint (and of the profile).
    #[arg(long, default_value = "us-east-1")]
    pub region: String,
    /// Session length in seconds (at most the role's MaxSessionDuration).
    #[arg(long)]
    pub duration: Option<i64>,
    /// Another STS endpoint (the sandbox: http://127.0.0.1:4566).
    #[arg(long)]
    pub sts_endpoint: Option<String>,
}

struct Credentials {
    access_key_id: String,
    secret_access_key: String,
    session_token: String,
    expiration: String,
    assumed_role: String,
}

fn cache_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("IDFED_CACHE_DIR") {
        return PathBuf::from(dir);
    }
    let home = std::env::var("HOME").unwrap_or_else(|_| ".".into());
    Path::new(&home).join(".cache/idfed")
}

fn key_of(parts: &[&str]) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, parts.join("\n").as_bytes());
    digest.as_ref().iter().take(12).map(|b| format!("{b:02x}")).collect()
}

fn read_cache(name: &str) -> Option<Value> {
    std::fs::read_to_string(cache_dir().join(name)).ok().and_then(|t| serde_json::from_str(&t).ok())
}

fn write_cache(name: &str, value: &Value) -> Result<(), String> {
    let dir = cache_dir();
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    crate::input::write_private(&dir.join(name), &value.to_string())
}

fn ask(prompt: &str) -> Result<String, String> {
    if !std::io::stdin().is_terminal() {
        return Err(format!("{prompt} is needed, and there is no terminal to ask on (set it in the environment)"));
    }
    eprint!("{prompt}: ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).map_err(|e| e.to_string())?;
    Ok(line.trim().to_owned())
}

fn secret(env: &str, prompt: &str) -> Result<String, String> {
    if let Ok(value) = std::env::var(env) {
        return Ok(value);
    }
    if !std::io::stdin().is_terminal() {
        return Err(format!("{prompt} is needed: set {env}, or run on a terminal"));
    }
    rpassword::prompt_password(format!("{prompt}: ")).map_err(|e| format!("reading the {prompt}: {e}"))
}

fn idp_error(status: u16, body: &str) -> (String, String) {
    let v: Value = serde_json::from_str(body).unwrap_or_default();
    let code = v.pointer("/error/code").and_then(Value::as_str).unwrap_or("error").to_owned();
    let message =
        v.pointer("/error/message").and_then(Value::as_str).map(str::to_owned).unwrap_or(format!("HTTP {status}"));
    (code, message)
}

/// The cache file of this machine's known-device entries for `idp` (see the IdP's
/// `devices`): sent with each sign-in, so people who signed in from here before are not held
/// back by their office address's back-off.
fn device_file(idp: &str) -> String {
    format!("device-{}.json", key_of(&[idp.trim_end_matches('/')]))
}

/// The body of a sign-in request: the `device` entries only when this machine has some.
fn authn_body(username: &str, password: &str, device: Option<&str>) -> Value {
    let mut body = json!({ "username": username, "password": password });
    if let (Some(device), Some(fields)) = (device, body.as_object_mut()) {
        fields.insert("device".into(), json!(device));
    }
    body
}

/// Signs in to the IdP's client API; returns the session token.
async fn sign_in(idp: &str, username: &str) -> Result<String, String> {
    let password = secret("IDFED_PASSWORD", "Password")?;
    let url = format!("{}/api/client/authn", idp.trim_end_matches('/'));
    let device = read_cache(&device_file(idp)).and_then(|v| v.get("device").and_then(Value::as_str).map(str::to_owned));
    let mut body = authn_body(username, &password, device.as_deref());
    loop {
        let (status, text) = post_json(&url, None, &body.to_string()).await.map_err(|e| e.message)?;
        if status == 200 {
            let v: Value = serde_json::from_str(&text).map_err(|e| format!("the IdP answered: {e}"))?;
            // Not keeping them costs only the exemption next time, never this sign-in.
            if let Some(device) = v.get("device").and_then(Value::as_str)
                && let Err(e) = write_cache(&device_file(idp), &json!({ "device": device }))
            {
                eprintln!("idfed: warning: could not keep this machine's known-device entries: {e}");
            }
            return v
                .get("session")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| "the IdP gave no session".into());
        }
        let (code, message) = idp_error(status, &text);
        if code == "mfa_required" && body.get("code").is_none() {
            let code = secret("IDFED_TOTP", "Code from your authenticator app")?;
            if let Some(fields) = body.as_object_mut() {
                fields.insert("code".into(), json!(code));
            }
            continue;
        }
        return Err(format!("the IdP refused the sign-in: {message}"));
    }
}

/// The app's response and the roles in it, signing in when the cached session is gone.
async fn saml_response(target: &Target, username: &str) -> Result<(String, Vec<(String, String)>), String> {
    let session_file = format!("session-{}.json", key_of(&[&target.idp, username]));
    let url = format!("{}/api/client/apps/{}/saml", target.idp.trim_end_matches('/'), target.app);
    let cached = read_cache(&session_file).and_then(|v| v.get("session").and_then(Value::as_str).map(str::to_owned));
    let mut tried_cache = cached.is_some();
    let mut session = match cached {
        Some(s) => s,
        None => sign_in(&target.idp, username).await?,
    };
    loop {
        let (status, text) = post_json(&url, Some(&session), "{}").await.map_err(|e| e.message)?;
        if status == 401 && tried_cache {
            tried_cache = false;
            session = sign_in(&target.idp, username).await?;
            continue;
        }
        if status != 200 {
            let (_, message) = idp_error(status, &text);
            return Err(format!("the IdP did not issue a response for {}: {message}", target.app));
        }
        write_cache(&session_file, &json!({ "session": session }))?;
        let v: Value = serde_json::from_str(&text).map_err(|e| format!("the IdP answered: {e}"))?;
        let response = v.get("saml_response").and_then(Value::as_str).unwrap_or_default().to_owned();
        let pairs = v
            .get("roles")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter_map(|pair| {
                let parts: Vec<&str> = pair.split(',').map(str::trim).collect();
                let role = parts.iter().find(|p| p.contains(":role/"))?;
                let provider = parts.iter().find(|p| p.contains(":saml-provider/"))?;
                Some(((*role).to_owned(), (*provider).to_owned()))
            })
            .collect();
        return Ok((response, pairs));
    }
}

fn choose(target: &Target, pairs: &[(String, String)]) -> Result<(String, String), String> {
    let offered = || pairs.iter().map(|(r, _)| format!("  {r}")).collect::<Vec<_>>().join("\n");
    if pairs.is_empty() {
        return Err(format!("{} offers you no AWS role", target.app));
    }
    if let Some(wanted) = &target.role {
        return pairs
            .iter()
            .find(|(role, _)| role == wanted || role.rsplit('/').next() == Some(wanted.as_str()))
            .cloned()
            .ok_or_else(|| {
                format!("the role {wanted} is not offered to you by {}; offered:\n{}", target.app, offered())
            });
    }
    if let [only] = pairs {
        return Ok(only.clone());
    }
    if !std::io::stdin().is_terminal() {
        return Err(format!("{} offers several roles; choose one with --role:\n{}", target.app, offered()));
    }
    for (n, (role, _)) in pairs.iter().enumerate() {
        eprintln!("  {}) {role}", n + 1);
    }
    let answer = ask("Role")?;
    let index = answer.parse::<usize>().ok().and_then(|n| n.checked_sub(1)).filter(|i| *i < pairs.len());
    index.and_then(|i| pairs.get(i).cloned()).ok_or_else(|| format!("{answer:?} is not one of the numbers above"))
}

fn sts_endpoint(target: &Target, role_arn: &str) -> String {
    if let Some(url) = &target.sts_endpoint {
        return url.clone();
    }
    let suffix = if role_arn.starts_with("arn:aws-cn:") { "amazonaws.com.cn" } else { "amazonaws.com" };
    format!("https://sts.{}.{suffix}", target.region)
}

async fn assume(target: &Target) -> Result<Credentials, String> {
    let username = match &target.username {
        Some(u) => u.clone(),
        None => match std::env::var("IDFED_USERNAME") {
            Ok(u) => u,
            Err(_) => ask("Username")?,
        },
    };
    let (response, pairs) = saml_response(target, &username).await?;
    let (role_arn, provider_arn) = choose(target, &pairs)?;
    let duration = target.duration.map(|d| d.to_string());
    let mut params = vec![
        ("Action", "AssumeRoleWithSAML"),
        ("Version", "2011-06-15"),
        ("RoleArn", role_arn.as_str()),
        ("PrincipalArn", provider_arn.as_str()),
        ("SAMLAssertion", response.as_str()),
    ];
    if let Some(d) = &duration {
        params.push(("DurationSeconds", d));
    }
    let endpoint = sts_endpoint(target, &role_arn);
    let answer = query_unsigned(&endpoint, &params).await.map_err(|e| e.message)?;
    let text = answer.map_err(|fault| format!("AWS STS refused {role_arn}: {}: {}", fault.code, fault.message))?;
    let field = |name: &str| xml_field(&text, name).ok_or_else(|| format!("STS answered without {name}"));
    Ok(Credentials {
        access_key_id: field("AccessKeyId")?,
        secret_access_key: field("SecretAccessKey")?,
        session_token: field("SessionToken")?,
        expiration: field("Expiration")?,
        assumed_role: field("Arn")?,
    })
}

/// Sets `keys` in `[section]` of an INI text, keeping every other line as it was.
pub fn set_section(text: &str, section: &str, keys: &[(&str, &str)]) -> String {
    let header = format!("[{section}]");
    let mut out: Vec<String> = Vec::new();
    let mut in_section = false;
    let mut found = false;
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            in_section = trimmed == header;
            if in_section {
                found = true;
                out.push(line.to_owned());
                out.extend(keys.iter().map(|(k, v)| format!("{k} = {v}")));
                continue;
            }
        }
        let replaced =
            in_section && trimmed.split_once('=').is_some_and(|(k, _)| keys.iter().any(|(key, _)| k.trim() == *key));
        if !replaced {
            out.push(line.to_owned());
        }
    }
    if !found {
        if out.last().is_some_and(|l| !l.trim().is_empty()) {
            out.push(String::new());
        }
        out.push(header);
        out.extend(keys.iter().map(|(k, v)| format!("{k} = {v}")));
    }
    out.join("\n") + "\n"
}

fn aws_file(env: &str, name: &str) -> PathBuf {
    match std::env::var(env) {
        Ok(path) => PathBuf::from(path),
        Err(_) => Path::new(&std::env::var("HOME").unwrap_or_else(|_| ".".into())).join(".aws").join(name),
    }
}

fn update_file(path: &Path, section: &str, keys: &[(&str, &str)], private: bool) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    }
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        // Rewriting a file that could not be read would drop every other profile in it.
        Err(e) => return Err(format!("reading {}: {e} (left unchanged)", path.display())),
    };
    let updated = set_section(&text, section, keys);
    let access = if private { Access::OwnerOnly } else { Access::AsBefore };
    crate::input::replace_file(path, &updated, access)
}

pub fn login(target: Target, profile: String) -> Result<Outcome, String> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
    let creds = runtime.block_on(assume(&target))?;
    let credentials = aws_file("AWS_SHARED_CREDENTIALS_FILE", "credentials");
    update_file(
        &credentials,
        &profile,
        &[
            ("aws_access_key_id", &creds.access_key_id),
            ("aws_secret_access_key", &creds.secret_access_key),
            ("aws_session_token", &creds.session_token),
        ],
        true,
    )?;
    let config = aws_file("AWS_CONFIG_FILE", "config");
    let section = if profile == "default" { "default".to_owned() } else { format!("profile {profile}") };
    update_file(&config, &section, &[("region", &target.region)], false)?;
    println!("{} until {} (profile {profile} in {})", creds.assumed_role, creds.expiration, credentials.display());
    Ok(Outcome::Success)
}

/// credential_process: cached credentials while they have five minutes left, else fresh ones.
pub fn credential_process(target: Target) -> Result<Outcome, String> {
    let user = target.username.clone().or_else(|| std::env::var("IDFED_USERNAME").ok()).unwrap_or_default();
    let name = format!(
        "credentials-{}.json",
        key_of(&[
            &target.idp,
            &target.app,
            &user,
            target.role.as_deref().unwrap_or(""),
            target.sts_endpoint.as_deref().unwrap_or("")
        ])
    );
    let now = crate::clock::now();
    if let Some(cached) = read_cache(&name) {
        let fresh = cached
            .get("Expiration")
            .and_then(Value::as_str)
            .and_then(|e| idfed_saml::Instant::parse(e).ok())
            .is_some_and(|end| end.unix_seconds() - now.unix_seconds() > 300);
        if fresh {
            println!("{cached}");
            return Ok(Outcome::Success);
        }
    }
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
    let creds = runtime.block_on(assume(&target))?;
    let answer = json!({
        "Version": 1,
        "AccessKeyId": creds.access_key_id,
        "SecretAccessKey": creds.secret_access_key,
        "SessionToken": creds.session_token,
        "Expiration": creds.expiration,
    });
    write_cache(&name, &answer)?;
    println!("{answer}");
    Ok(Outcome::Success)
}

#[cfg(test)]
mod tests {
    use super::{authn_body, device_file, set_section, update_file};
    use serde_json::json;

    #[test]
    fn a_sign_in_carries_the_device_entries_only_when_there_are_some() {
        assert_eq!(authn_body("max", "pw", None), json!({ "username": "max", "password": "pw" }));
        assert_eq!(
            authn_body("max", "pw", Some("sealed:v1:abc")),
            json!({ "username": "max", "password": "pw", "device": "sealed:v1:abc" })
        );
        assert_eq!(device_file("https://idp.example.com/"), device_file("https://idp.example.com"));
        assert_ne!(device_file("https://idp.example.com"), device_file("https://other.example.com"));
    }

    #[test]
    fn profiles_are_set_without_disturbing_the_others() {
        let before = "[default]\naws_access_key_id = KEEP\n\n[work]\naws_access_key_id = OLD\nregion = eu-west-1\n";
        let after = set_section(before, "work", &[("aws_access_key_id", "NEW")]);
        assert_eq!(
            after,
            "[default]\naws_access_key_id = KEEP\n\n[work]\naws_access_key_id = NEW\nregion = eu-west-1\n"
        );
        let added = set_section(before, "idfed", &[("a", "1"), ("b", "2")]);
        assert!(added.starts_with(before) && added.ends_with("\n[idfed]\na = 1\nb = 2\n"), "{added}");
        assert_eq!(set_section("", "x", &[("k", "v")]), "[x]\nk = v\n");
    }

    #[test]
    fn a_credentials_file_that_cannot_be_read_is_left_as_it_is() {
        let dir = std::env::temp_dir().join(format!("idfed-aws-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("credentials");
        let mut bytes = b"[prod]\naws_access_key_id = AKIAPRODPRODPRODPROD\n# caf\xe9\n".to_vec();
        std::fs::write(&path, &bytes).unwrap();
        let err = update_file(&path, "idfed", &[("aws_access_key_id", "AKIANEW")], true).unwrap_err();
        assert!(
            err.starts_with(&format!("reading {}: ", path.display())) && err.ends_with("(left unchanged)"),
            "{err}"
        );
        assert_eq!(std::fs::read(&path).unwrap(), bytes, "the other profiles are not lost");

        bytes.truncate(bytes.len() - 8);
        std::fs::write(&path, &bytes).unwrap();
        update_file(&path, "idfed", &[("aws_access_key_id", "AKIANEW")], true).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("[prod]\naws_access_key_id = AKIAPRODPRODPRODPROD\n"), "{text}");
        assert!(text.contains("[idfed]\naws_access_key_id = AKIANEW\n"), "{text}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
