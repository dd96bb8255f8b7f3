//! `idfed serve | apply | export | users …`: the identity provider.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Subcommand;
use idfed_idp::directory::{User, UserStatus};
use idfed_idp::secrets::Sealer;
use idfed_idp::service::Idp;
use idfed_idp::tenant::Tenant;
use idfed_saml::random::SystemRandom;
use idfed_store::DocumentStore;

use crate::Outcome;

#[derive(Subcommand)]
pub enum UsersCommand {
    /// Add a person; with --admin they can use the admin console (/admin). The password is
    /// read as for set-password; without one the person stays staged until one is set.
    Add {
        login: String,
        #[arg(long, default_value = "")]
        email: String,
        #[arg(long, default_value = "")]
        first_name: String,
        #[arg(long, default_value = "")]
        last_name: String,
        #[arg(long)]
        admin: bool,
        /// Read a password (IDFED_PASSWORD or the first line of standard input) and activate.
        #[arg(long)]
        with_password: bool,
        #[arg(long, default_value = "./idfed-data")]
        data_dir: PathBuf,
    },
    /// Set a password. It is read from the IDFED_PASSWORD environment variable or the first
    /// line of standard input, never from the command line.
    SetPassword {
        login: String,
        #[arg(long, default_value = "./idfed-data")]
        data_dir: PathBuf,
    },
    /// Enroll TOTP for a user: prints the otpauth:// URL to add to an authenticator app.
    EnrollTotp {
        login: String,
        #[arg(long, default_value = "./idfed-data")]
        data_dir: PathBuf,
    },
    /// Remove a user's TOTP (they sign in with the password alone until they enroll again).
    ResetTotp {
        login: String,
        #[arg(long, default_value = "./idfed-data")]
        data_dir: PathBuf,
    },
    /// End every session of a person, in browsers and the CLI, and forget their known devices
    /// (a lost laptop); the password and second factor stay.
    SignOut {
        login: String,
        #[arg(long, default_value = "./idfed-data")]
        data_dir: PathBuf,
    },
    /// Import people from a CSV file (header: login,email,first_name,last_name,status,groups and
    /// custom attributes). All rows or none: every bad row is listed with its line.
    Import {
        file: PathBuf,
        /// Check the file and say what would change, without changing anything.
        #[arg(long)]
        dry_run: bool,
        #[arg(long, default_value = "./idfed-data")]
        data_dir: PathBuf,
    },
    /// List users: login, status, name.
    List {
        #[arg(long, default_value = "./idfed-data")]
        data_dir: PathBuf,
    },
}

#[derive(Subcommand)]
pub enum GroupsCommand {
    /// List groups with their members.
    List {
        #[arg(long, default_value = "./idfed-data")]
        data_dir: PathBuf,
    },
    /// Create a group (source `okta` unless given).
    Create {
        name: String,
        #[arg(long, default_value = "okta")]
        source: String,
        #[arg(long, default_value = "./idfed-data")]
        data_dir: PathBuf,
    },
    /// Add people to a group.
    AddMember {
        group: String,
        logins: Vec<String>,
        #[arg(long, default_value = "./idfed-data")]
        data_dir: PathBuf,
    },
    /// Remove people from a group.
    RemoveMember {
        group: String,
        logins: Vec<String>,
        #[arg(long, default_value = "./idfed-data")]
        data_dir: PathBuf,
    },
}

pub fn groups(command: GroupsCommand) -> Result<Outcome, String> {
    runtime()?.block_on(async move {
        match command {
            GroupsCommand::List { data_dir } => {
                let idp = open_offline(&data_dir).await?;
                idp.with_tenant(|t| {
                    for group in &t.groups {
                        println!("{}\t{}\t{}", group.name, group.source, group.members.join(","));
                    }
                });
            }
            GroupsCommand::Create { name, source, data_dir } => {
                let idp = open_offline(&data_dir).await?;
                let group = idfed_idp::directory::Group {
                    name: name.clone(),
                    description: String::new(),
                    source,
                    members: vec![],
                };
                admin_change(&idp, "group.create", &name, |t| {
                    if t.group(&group.name).is_some() {
                        return Err(idfed_idp::IdpError::conflict(format!("group {:?} exists already", group.name)));
                    }
                    t.groups.push(group.clone());
                    Ok(())
                })
                .await?;
                println!("group {name} created");
            }
            GroupsCommand::AddMember { group, logins, data_dir } => members(&group, &logins, true, &data_dir).await?,
            GroupsCommand::RemoveMember { group, logins, data_dir } => {
                members(&group, &logins, false, &data_dir).await?
            }
        }
        Ok(Outcome::Success)
    })
}

async fn members(group: &str, logins: &[String], adding: bool, data_dir: &Path) -> Result<(), String> {
    let idp = open_offline(data_dir).await?;
    let event = if adding { "group.member.add" } else { "group.member.remove" };
    admin_change(&idp, event, group, |t| {
        for login in logins {
            let login = t
                .user(login)
                .map(|u| u.login.clone())
                .ok_or_else(|| idfed_idp::IdpError::not_found(format!("there is no user {login:?}")))?;
            let members = &mut t.group_mut(group)?.members;
            members.retain(|m| !m.eq_ignore_ascii_case(&login));
            if adding {
                members.push(login);
            }
        }
        Ok(())
    })
    .await?;
    println!("group {group}: {} {}", if adding { "added" } else { "removed" }, logins.join(", "));
    Ok(())
}

/// `idfed assign APP --user LOGIN | --group NAME [--role ROLE]…`
pub fn assign(
    app: String,
    user: Option<String>,
    group: Option<String>,
    roles: Vec<String>,
    remove: bool,
    data_dir: PathBuf,
) -> Result<Outcome, String> {
    use idfed_idp::assignments::{Assignment, Principal};
    let principal = match (user, group) {
        (Some(user), None) => Principal::User(user),
        (None, Some(group)) => Principal::Group(group),
        _ => return Err("name exactly one of --user or --group".into()),
    };
    runtime()?.block_on(async move {
        let idp = open_offline(&data_dir).await?;
        let target = format!("{app} → {}", principal.describe());
        if remove {
            admin_change(&idp, "assignment.delete", &target, |t| {
                let before = t.assignments.len();
                t.assignments.retain(|a| !(a.app == app && a.principal == principal));
                if before == t.assignments.len() {
                    return Err(idfed_idp::IdpError::not_found(format!("{target} is not assigned")));
                }
                Ok(())
            })
            .await?;
            println!("unassigned {target}");
        } else {
            let assignment = Assignment { app: app.clone(), principal: principal.clone(), roles };
            admin_change(&idp, "assignment.put", &target, |t| t.assign(assignment.clone())).await?;
            println!("assigned {target}");
        }
        Ok(Outcome::Success)
    })
}

/// A tenant change made from the command line, logged with actor `cli`.
async fn admin_change<T>(
    idp: &Idp,
    event: &str,
    target: &str,
    change: impl FnMut(&mut Tenant) -> Result<T, idfed_idp::IdpError>,
) -> Result<T, String> {
    let result = idp.change_tenant(change).await;
    let detail = match &result {
        Ok(_) => serde_json::json!({}),
        Err(e) => serde_json::json!({ "reason": e.message }),
    };
    idp.log("cli", event, target, "", result.is_ok(), detail).await;
    result.map_err(|e| e.message)
}

#[derive(Subcommand)]
pub enum TokensCommand {
    /// Make a token for the admin API (`Authorization: Bearer …`); it is printed once.
    Create {
        name: String,
        #[arg(long, default_value = "./idfed-data")]
        data_dir: PathBuf,
    },
    /// Revoke a token by name.
    Revoke {
        name: String,
        #[arg(long, default_value = "./idfed-data")]
        data_dir: PathBuf,
    },
    /// List token names and when they were made.
    List {
        #[arg(long, default_value = "./idfed-data")]
        data_dir: PathBuf,
    },
}

pub fn tokens(command: TokensCommand) -> Result<Outcome, String> {
    runtime()?.block_on(async move {
        match command {
            TokensCommand::Create { name, data_dir } => {
                let idp = open_offline(&data_dir).await?;
                println!("{}", idp.create_api_token(&name).await.map_err(|e| e.message)?);
            }
            TokensCommand::Revoke { name, data_dir } => {
                let idp = open_offline(&data_dir).await?;
                if !idp.change_credentials(|c| c.revoke_api_token(&name)).await.map_err(|e| e.message)? {
                    return Err(format!("there is no token {name:?}"));
                }
                idp.log("cli", "api_token.revoke", &name, "", true, serde_json::json!({})).await;
                println!("revoked {name}");
            }
            TokensCommand::List { data_dir } => {
                let idp = open_offline(&data_dir).await?;
                idp.with_credentials(|c| {
                    for token in c.api_tokens.values() {
                        let made = idfed_saml::Instant::from_unix_seconds(token.created).to_xml();
                        println!("{}\t{made}", token.name);
                    }
                });
            }
        }
        Ok(Outcome::Success)
    })
}

#[derive(Subcommand)]
pub enum AppsCommand {
    /// List apps: name, type, label.
    List {
        #[arg(long, default_value = "./idfed-data")]
        data_dir: PathBuf,
    },
    /// Create or replace an AWS app from Okta's AWS app settings JSON (appFilter, groupFilter,
    /// joinAllRoles, roleValuePattern, sessionDuration, useGroupMapping, identityProviderArn,
    /// awsEnvironmentType, loginURL).
    ImportOkta {
        file: PathBuf,
        #[arg(long)]
        name: String,
        #[arg(long)]
        label: String,
        #[arg(long, default_value = "./idfed-data")]
        data_dir: PathBuf,
    },
    /// "Test API Credentials": call IAM ListRoles and ListAccountAliases with the app's keys.
    TestApiCredentials {
        app: String,
        #[arg(long, default_value = "./idfed-data")]
        data_dir: PathBuf,
    },
    /// Import the IAM roles that trust the app's Identity Provider ARN (for assignments).
    ImportRoles {
        app: String,
        #[arg(long, default_value = "./idfed-data")]
        data_dir: PathBuf,
    },
}

pub fn apps(command: AppsCommand) -> Result<Outcome, String> {
    runtime()?.block_on(async move {
        match command {
            AppsCommand::List { data_dir } => {
                let idp = open_offline(&data_dir).await?;
                idp.with_tenant(|t| {
                    for app in &t.apps {
                        let kind = match app.kind {
                            idfed_idp::apps::AppKind::Aws(_) => "aws",
                            idfed_idp::apps::AppKind::Saml(_) => "saml",
                        };
                        println!("{}\t{kind}\t{}", app.name, app.label);
                    }
                });
            }
            AppsCommand::ImportOkta { file, name, label, data_dir } => {
                let text = crate::input::read_text(&file)?;
                let converted = idfed_idp::okta_import::aws_app(&name, &label, &text)
                    .map_err(|e| format!("{}: {e}", file.display()))?;
                let idp = open_offline(&data_dir).await?;
                let app = converted.app;
                let result = idp.change_tenant(|t| t.put_app(app.clone())).await;
                let detail = serde_json::json!({ "file": file.display().to_string(), "notes": converted.notes });
                idp.log("cli", "app.import_okta", &name, &name, result.is_ok(), detail).await;
                result.map_err(|e| format!("{}: {e}", file.display()))?;
                for note in &converted.notes {
                    eprintln!("note: {note}");
                }
                println!("app {name} imported from {}", file.display());
            }
            AppsCommand::TestApiCredentials { app, data_dir } => {
                let idp = open_offline(&data_dir).await?;
                match idp.test_api_credentials("cli", &app).await {
                    Ok(text) => println!("{text}"),
                    Err(e) => {
                        println!("{}", e.message);
                        return Ok(Outcome::Negative);
                    }
                }
            }
            AppsCommand::ImportRoles { app, data_dir } => {
                let idp = open_offline(&data_dir).await?;
                let roles = idp.import_roles("cli", &app).await.map_err(|e| e.message)?;
                println!("{} roles trust the app's identity provider:", roles.len());
                for role in roles {
                    println!("  {role}");
                }
            }
        }
        Ok(Outcome::Success)
    })
}

/// `idfed logs`: the system log, newest first.
pub fn logs(filter: idfed_store::EventFilter, json: bool, data_dir: PathBuf) -> Result<Outcome, String> {
    runtime()?.block_on(async move {
        let idp = open_offline(&data_dir).await?;
        for e in idp.events(&filter).await.map_err(|e| e.message)? {
            if json {
                let detail: serde_json::Value = serde_json::from_str(&e.detail).unwrap_or_default();
                let at = idfed_saml::Instant::from_unix_millis(e.at).to_xml();
                let line = serde_json::json!({ "seq": e.seq, "at": at, "actor": e.actor, "event": e.event,
                    "target": e.target, "app": e.app, "outcome": e.outcome, "detail": detail });
                println!("{line}");
            } else {
                let at = idfed_saml::Instant::from_unix_millis(e.at).to_xml();
                println!("{at}  {:<8} {:<20} {:<24} {:<12} {}", e.outcome, e.event, e.actor, e.app, e.detail);
            }
        }
        Ok(Outcome::Success)
    })
}

/// A step of the IdP's signing-key rotation.
pub enum KeyStep {
    List,
    Stage,
    Activate,
    Retire,
    /// A scheduled rotation with this overlap in seconds.
    Rotate(i64),
}

/// `idfed keys list | stage | activate | retire | rotate`: the IdP's signing-key rotation.
pub fn signing_keys(data_dir: PathBuf, step: KeyStep) -> Result<Outcome, String> {
    runtime()?.block_on(async move {
        let idp = open_offline(&data_dir).await?;
        let done = match step {
            KeyStep::Rotate(overlap) => idp.rotate("cli", overlap).await,
            KeyStep::Stage => idp.stage_next_key("cli").await,
            KeyStep::Activate => idp.activate_next_key("cli").await,
            KeyStep::Retire => idp.retire_previous_key("cli").await,
            KeyStep::List => Ok(()),
        };
        done.map_err(|e| e.message)?;
        let keys = idp.signing();
        let show = |role: &str, identity: &idfed_idp::keys::Identity| {
            println!("{role:<9} {}  {}", identity.certificate.fingerprint_sha256(), identity.certificate.subject);
        };
        show("active", &keys.active);
        if let Some(next) = &keys.next {
            show("next", next);
        }
        if let Some(previous) = &keys.previous {
            show("previous", previous);
        }
        let when = |t: i64| idfed_saml::Instant::from_unix_seconds(t).to_xml();
        if let Some(t) = keys.schedule.activate_at {
            println!("the next key signs from {}; the active one is retired {} later", when(t), keys.schedule.overlap);
        }
        if let Some(t) = keys.schedule.retire_at {
            println!("the previous key leaves metadata at {}", when(t));
        }
        Ok(Outcome::Success)
    })
}

/// `idfed backup FILE`: a consistent copy of the IdP's SQLite store, taken while it serves.
pub fn backup(file: PathBuf, data_dir: PathBuf) -> Result<Outcome, String> {
    if file.exists() {
        return Err(format!("{} exists; choose a new file", file.display()));
    }
    runtime()?.block_on(async move {
        let idp = open_offline(&data_dir).await?;
        idp.backup_to(&file).await.map_err(|e| e.message)?;
        idp.log("cli", "backup", &file.display().to_string(), "", true, serde_json::json!({})).await;
        println!(
            "backed up to {}. Keep {} (or IDFED_SECRET_KEY) with it: the sealed secrets open only with that key.",
            file.display(),
            data_dir.join("secret.key").display()
        );
        Ok(Outcome::Success)
    })
}

/// `idfed restore FILE`: replaces the IdP's store with a backup, after checking that it is one
/// and that this data directory's key opens its secrets. Stop the IdP first.
pub fn restore(file: PathBuf, data_dir: PathBuf) -> Result<Outcome, String> {
    if database_url().is_some() {
        return Err("the IdP's store is the database of --database-url (IDFED_DATABASE_URL or the configuration \
                    file), and `idfed restore` restores a SQLite backup into --data-dir: restore PostgreSQL with \
                    pg_restore (see the README's operations section)"
            .into());
    }
    let target = store_path(&data_dir)?;
    let staged = data_dir.join("idp.sqlite.restoring");
    std::fs::copy(&file, &staged).map_err(|e| format!("reading {}: {e}", file.display()))?;
    let checked: Result<(usize, usize), String> = runtime()?.block_on(async {
        let store = DocumentStore::open_sqlite(&staged)
            .await
            .map_err(|e| format!("{} is not an idfed backup: {e}", file.display()))?;
        let idp = Idp::open(
            store,
            "http://127.0.0.1:8080",
            Arc::new(crate::clock::now),
            Box::new(SystemRandom::new()),
            sealer(&data_dir)?,
        )
        .await
        .map_err(|e| format!("{}: {}", file.display(), e.message))?;
        Ok(idp.with_tenant(|t| (t.users.len(), t.apps.len())))
    });
    let prepared = checked.and_then(|counts| Ok((counts, keep_before_restore(&data_dir, &target)?)));
    let ((users, apps), kept) = match prepared {
        Ok(prepared) => prepared,
        Err(e) => {
            let _ = std::fs::remove_file(&staged);
            return Err(e);
        }
    };
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", target.display()));
        let _ = std::fs::remove_file(format!("{}{suffix}", staged.display()));
    }
    std::fs::rename(&staged, &target).map_err(|e| format!("replacing {}: {e}", target.display()))?;
    println!("restored {} into {} ({users} users, {apps} apps)", file.display(), target.display());
    if let Some(kept) = kept {
        println!("the store it replaced is kept in {}", kept.display());
    }
    Ok(Outcome::Success)
}

/// A consistent copy of the store about to be replaced (what its write-ahead log holds
/// included), in a new `idp-before-restore-<time>.sqlite`; `None` when there is no store.
fn keep_before_restore(data_dir: &Path, target: &Path) -> Result<Option<PathBuf>, String> {
    if !target.exists() {
        return Ok(None);
    }
    let kept = crate::input::unused_path(data_dir, "idp-before-restore", "sqlite")?;
    runtime()?.block_on(async {
        let store = DocumentStore::open_sqlite(target).await.map_err(|e| format!("{}: {e}", target.display()))?;
        store.backup_to(&kept).await.map_err(|e| format!("keeping {} before the restore: {e}", target.display()))
    })?;
    Ok(Some(kept))
}

fn store_path(data_dir: &Path) -> Result<PathBuf, String> {
    std::fs::create_dir_all(data_dir).map_err(|e| format!("creating {}: {e}", data_dir.display()))?;
    Ok(data_dir.join("idp.sqlite"))
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| format!("starting: {e}"))
}

pub(crate) use crate::secrets_cmd::sealer;

/// Opens the IdP's data with `sealer` and reseals every stored secret under its current key.
pub(crate) fn reseal(data_dir: &Path, sealer: Sealer) -> Result<usize, String> {
    runtime()?.block_on(async move {
        let store = open_store(data_dir).await?;
        let idp = Idp::open(
            store,
            "http://127.0.0.1:8080",
            Arc::new(crate::clock::now),
            Box::new(SystemRandom::new()),
            sealer,
        )
        .await
        .map_err(|e| e.message)?;
        idp.reseal("cli").await.map_err(|e| e.message)
    })
}

static DATABASE_URL: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

/// `--database-url` / `IDFED_DATABASE_URL` (or the configuration file), for every IdP command.
pub fn use_database(url: Option<String>) {
    if let Some(url) = url {
        *DATABASE_URL.lock().unwrap_or_else(|e| e.into_inner()) = Some(url);
    }
}

pub(crate) fn database_url() -> Option<String> {
    DATABASE_URL.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

pub(crate) async fn open_store(data_dir: &Path) -> Result<DocumentStore, String> {
    match database_url() {
        Some(url) => DocumentStore::open(&url).await.map_err(|e| format!("opening the database: {e}")),
        None => DocumentStore::open_sqlite(&store_path(data_dir)?).await.map_err(|e| e.to_string()),
    }
}

/// The IdP kept in `data_dir` (or `--database-url`), as seen at `base_url`.
pub(crate) async fn open_at(data_dir: &Path, base_url: &str) -> Result<Idp, String> {
    open(data_dir, base_url).await
}

/// The IdP for an administration command run beside (or without) the server: entity IDs are
/// not used there, so any base URL serves.
async fn open_offline(data_dir: &Path) -> Result<Idp, String> {
    open(data_dir, "http://127.0.0.1:8080").await
}

async fn open(data_dir: &Path, base_url: &str) -> Result<Idp, String> {
    std::fs::create_dir_all(data_dir).map_err(|e| format!("creating {}: {e}", data_dir.display()))?;
    let store = open_store(data_dir).await?;
    let sealer = sealer(data_dir)?;
    Idp::open(store, base_url, Arc::new(crate::clock::now), Box::new(SystemRandom::new()), sealer)
        .await
        .map_err(|e| e.message)
}

pub fn serve(
    listen: String,
    base_url: Option<String>,
    data_dir: PathBuf,
    tls: Option<(PathBuf, PathBuf)>,
    trusted_proxies: &[String],
    sign_in: &crate::config::SignIn,
    metrics_token: Option<String>,
) -> Result<Outcome, String> {
    let trusted = idfed_idp::proxy::TrustedProxies::parse(trusted_proxies)?;
    runtime()?.block_on(async move {
        let listener =
            tokio::net::TcpListener::bind(&listen).await.map_err(|e| format!("listening on {listen}: {e}"))?;
        let address = listener.local_addr().map_err(|e| e.to_string())?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        let base_url = base_url.unwrap_or_else(|| format!("{scheme}://{address}"));
        let mut idp = open(&data_dir, &base_url).await?;
        idp.trusted_proxies = trusted;
        idp.source_limit = sign_in.source_limit();
        idp.request_limit = sign_in.request_limit();
        idp.session_seconds = sign_in.session_seconds();
        idp.idle_seconds = sign_in.idle_seconds();
        idp.metrics_token = metrics_token;
        idp.reload_window = idfed_idp::service::SERVER_RELOAD_WINDOW;
        let idp = Arc::new(idp);
        let (users, apps) = idp.with_tenant(|t| (t.users.len(), t.apps.len()));
        // Whoever started us may stop reading; the server keeps serving regardless.
        let mut out = std::io::stdout().lock();
        let kept = match database_url() {
            Some(url) if url.starts_with("postgres") => "data in PostgreSQL".to_owned(),
            Some(url) => format!("data in {url}"),
            None => format!("data in {}", data_dir.display()),
        };
        let _ = writeln!(
            out,
            "idfed IdP: {base_url}  ({users} users, {apps} apps; {kept}; listening on {scheme}://{address})"
        );
        let _ = writeln!(out, "  sign in at {base_url}/login; app metadata at {base_url}/app/<app>/metadata");
        let _ = out.flush();
        drop(out);
        let app = idfed_idp::web::router(idp);
        match tls {
            Some((cert, key)) => crate::tls::serve(listener, app, cert, key, crate::aws_cmd::shutdown_signal()).await?,
            None => axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>())
                .with_graceful_shutdown(crate::aws_cmd::shutdown_signal())
                .await
                .map_err(|e| format!("serving: {e}"))?,
        }
        Ok(Outcome::Success)
    })
}

/// Parses a tenant file (YAML or JSON), reporting the line and column of a mistake.
pub fn parse_tenant(text: &str, path: &Path) -> Result<Tenant, String> {
    serde_norway::from_str(text).map_err(|e| format!("{}: {e}", path.display()))
}

pub fn apply(file: PathBuf, data_dir: PathBuf, dry_run: bool) -> Result<Outcome, String> {
    let desired = parse_tenant(&crate::input::read_text(&file)?, &file)?;
    runtime()?.block_on(async move {
        let idp = open_offline(&data_dir).await?;
        let summary = if dry_run {
            let mut copy = idp.tenant();
            copy.apply(desired.clone(), || idp.new_user_id()).map_err(|e| format!("{}: {e}", file.display()))?
        } else {
            let applied = idp.change_tenant(|t| t.apply(desired.clone(), || idp.new_user_id())).await;
            let detail = match &applied {
                Ok(summary) => {
                    serde_json::json!({ "file": file.display().to_string(), "summary": summary.to_string() })
                }
                Err(e) => serde_json::json!({ "file": file.display().to_string(), "reason": e.message }),
            };
            idp.log("cli", "tenant.apply", "tenant", "", applied.is_ok(), detail).await;
            applied.map_err(|e| format!("{}: {e}", file.display()))?
        };
        let verb = if dry_run { "would apply" } else { "applied" };
        println!("{verb} {}: {summary}", file.display());
        Ok(Outcome::Success)
    })
}

pub fn export(data_dir: PathBuf, out: Option<PathBuf>) -> Result<Outcome, String> {
    runtime()?.block_on(async move {
        let idp = open_offline(&data_dir).await?;
        let text = serde_norway::to_string(&idp.tenant()).map_err(|e| e.to_string())?;
        crate::input::write_text(out.as_deref(), &text)?;
        Ok(Outcome::Success)
    })
}

fn read_password() -> Result<String, String> {
    if let Ok(password) = std::env::var("IDFED_PASSWORD") {
        return Ok(password);
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).map_err(|e| format!("reading the password: {e}"))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

pub fn users(command: UsersCommand) -> Result<Outcome, String> {
    runtime()?.block_on(async move {
        match command {
            UsersCommand::Add { login, email, first_name, last_name, admin, with_password, data_dir } => {
                let idp = open_offline(&data_dir).await?;
                let password = if with_password { Some(read_password()?) } else { None };
                let status = if password.is_some() { UserStatus::Active } else { UserStatus::Staged };
                let user = User {
                    id: String::new(),
                    login,
                    email,
                    first_name,
                    last_name,
                    status,
                    profile: Default::default(),
                    admin,
                };
                let result = idp.create_person(user, password.as_deref()).await;
                let detail = serde_json::json!({ "admin": admin });
                let target = result.as_ref().map(|u| u.login.clone()).unwrap_or_default();
                idp.log("cli", "user.create", &target, "", result.is_ok(), detail).await;
                let user = result.map_err(|e| e.message)?;
                println!("added {} ({}{})", user.login, user.status.name(), if admin { ", administrator" } else { "" });
            }
            UsersCommand::SetPassword { login, data_dir } => {
                let idp = open_offline(&data_dir).await?;
                let login = known_login(&idp, &login)?;
                let password = read_password()?;
                idp.change_credentials(|c| c.set_password(&login, &password, idp.rng.as_ref()))
                    .await
                    .map_err(|e| e.message)?
                    .map_err(|e| e.message)?;
                println!("password set for {login}");
            }
            UsersCommand::EnrollTotp { login, data_dir } => {
                let idp = open_offline(&data_dir).await?;
                let login = known_login(&idp, &login)?;
                let url = idp
                    .change_credentials(|c| c.enroll_totp(&login, idp.rng.as_ref()))
                    .await
                    .map_err(|e| e.message)?
                    .map_err(|e| e.message)?;
                println!("{url}");
            }
            UsersCommand::ResetTotp { login, data_dir } => {
                let idp = open_offline(&data_dir).await?;
                let login = known_login(&idp, &login)?;
                idp.change_credentials(|c| c.reset_totp(&login)).await.map_err(|e| e.message)?;
                println!("TOTP removed for {login}");
            }
            UsersCommand::SignOut { login, data_dir } => {
                let idp = open_offline(&data_dir).await?;
                let login = known_login(&idp, &login)?;
                idp.change_credentials(|c| c.end_sessions(&login)).await.map_err(|e| e.message)?;
                idp.log("cli", "user.session.revoke_all", &login, "", true, serde_json::json!({})).await;
                println!("{login} is signed out everywhere (browsers, CLI sessions, known devices)");
            }
            UsersCommand::Import { file, dry_run, data_dir } => {
                let text = crate::input::read_text(&file)?;
                let idp = open_offline(&data_dir).await?;
                let mut bar = crate::progress::Bar::new("rows");
                let result = idp
                    .import_csv("cli", &text, dry_run, &mut |done, total| bar.show(done, total))
                    .await
                    .map_err(|e| e.message)?;
                bar.finish();
                match result {
                    Ok(done) => {
                        let verb = if dry_run { "would import" } else { "imported" };
                        println!(
                            "{verb} {}: {} created, {} updated, {} group memberships added",
                            file.display(),
                            done.created,
                            done.updated,
                            done.memberships
                        );
                    }
                    Err(errors) => {
                        for error in &errors {
                            eprintln!("{}: {error}", file.display());
                        }
                        return Err(format!("{} bad rows in {}; nothing was imported", errors.len(), file.display()));
                    }
                }
            }
            UsersCommand::List { data_dir } => {
                let idp = open_offline(&data_dir).await?;
                idp.with_tenant(|t| {
                    for user in &t.users {
                        println!("{}\t{}\t{}", user.login, user.status.name(), user.display_name());
                    }
                });
            }
        }
        Ok(Outcome::Success)
    })
}

fn known_login(idp: &Idp, login: &str) -> Result<String, String> {
    idp.with_tenant(|t| t.user(login).map(|u| u.login.clone())).ok_or_else(|| format!("there is no user {login:?}"))
}
