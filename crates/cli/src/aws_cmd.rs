//! `idfed aws serve`: the AWS sandbox on a local address.

use std::sync::Arc;

use clap::Subcommand;
use std::path::{Path, PathBuf};

use idfed_aws::persist;
use idfed_aws::server::{AdminKey, Sandbox, serve};
use idfed_aws::state::State;
use idfed_aws::sts::endpoints::Partition;
use idfed_store::DocumentStore;

use crate::Outcome;

#[derive(Subcommand)]
pub enum AwsCommand {
    /// Serve IAM and STS (Query protocol, SigV4) for `aws --endpoint-url` and boto3.
    Serve {
        /// Address to listen on; port 0 picks a free one.
        #[arg(long, default_value = "127.0.0.1:4566")]
        listen: String,
        /// An account as ID or ID=alias; repeat for several. Default: 111122223333.
        #[arg(long = "account")]
        accounts: Vec<String>,
        /// The accounts' partition: aws (the default), aws-us-gov (GovCloud) or aws-cn (China).
        /// It sets their ARNs and the SAML audience and sign-in URLs their providers accept.
        #[arg(long, value_parser = parse_partition)]
        partition: Option<Partition>,
        /// Print one JSON line with the endpoint and the administrator keys (for scripts).
        #[arg(long)]
        json: bool,
        /// Where the sandbox keeps its state (`aws.sqlite` inside); created if missing.
        #[arg(long, default_value = "./idfed-data")]
        data_dir: PathBuf,
        /// Keep the state in memory only (nothing is written).
        #[arg(long)]
        in_memory: bool,
    },
    /// AWS CLI credentials from the IdP: sign in (password, TOTP), pick a role, AssumeRoleWithSAML,
    /// write the profile to the AWS CLI files (other profiles untouched).
    Login {
        #[command(flatten)]
        target: crate::aws_login::Target,
        /// The AWS CLI profile to write.
        #[arg(long, default_value = "default")]
        profile: String,
    },
    /// For `credential_process` in ~/.aws/config: prints AWS's JSON, cached until five minutes
    /// before expiry, refreshed silently while the IdP session lasts.
    CredentialProcess {
        #[command(flatten)]
        target: crate::aws_login::Target,
    },
    /// Write the whole sandbox state as JSON.
    Export {
        #[arg(long, default_value = "./idfed-data")]
        data_dir: PathBuf,
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Load a JSON export into a data directory (stop the sandbox first: a running one refuses
    /// its next change, and asks to be restarted). A directory already holding a sandbox is
    /// written over only with --replace, after what it held is saved beside it.
    Import {
        file: PathBuf,
        #[arg(long, default_value = "./idfed-data")]
        data_dir: PathBuf,
        /// Write over the sandbox the directory holds (saved first to aws-before-import-….json).
        #[arg(long)]
        replace: bool,
    },
}

fn store_path(data_dir: &Path) -> Result<PathBuf, String> {
    std::fs::create_dir_all(data_dir).map_err(|e| format!("creating {}: {e}", data_dir.display()))?;
    Ok(data_dir.join("aws.sqlite"))
}

pub fn run(command: AwsCommand) -> Result<Outcome, String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("starting the runtime: {e}"))?;
    match command {
        AwsCommand::Serve { listen, accounts, partition, json, data_dir, in_memory } => {
            let data_dir = if in_memory { None } else { Some(data_dir) };
            runtime.block_on(serve_command(listen, accounts, partition, json, data_dir))
        }
        AwsCommand::Login { target, profile } => crate::aws_login::login(target, profile),
        AwsCommand::CredentialProcess { target } => crate::aws_login::credential_process(target),
        AwsCommand::Export { data_dir, out } => runtime.block_on(async move {
            let store = DocumentStore::open_sqlite(&store_path(&data_dir)?).await.map_err(|e| e.to_string())?;
            let (Some(_), state, _) = persist::load(&store).await? else {
                return Err(format!("no sandbox state in {}", data_dir.display()));
            };
            // The state holds IAM secret keys and providers' private keys: owner-only on disk.
            crate::input::write_output(out.as_deref(), &(state.to_json()? + "\n"), crate::input::Access::OwnerOnly)?;
            Ok(Outcome::Success)
        }),
        AwsCommand::Import { file, data_dir, replace } => runtime.block_on(async move {
            let text = crate::input::read_text(&file)?;
            let state = State::from_json(&text).map_err(|e| format!("{}: {e}", file.display()))?;
            let store = DocumentStore::open_sqlite(&store_path(&data_dir)?).await.map_err(|e| e.to_string())?;
            if let (Some(_), held, _) = persist::load(&store).await? {
                if !replace {
                    return Err(format!(
                        "{} already holds a sandbox ({}): add --replace to write over it (what it holds is saved \
                         beside it first), or import into another --data-dir",
                        data_dir.display(),
                        summary(&held)
                    ));
                }
                let backup = save_before_import(&data_dir, &held)?;
                println!("saved the sandbox it held ({}) to {}", summary(&held), backup.display());
            }
            persist::replace(&store, &state).await?;
            println!(
                "imported {} roles, {} SAML providers, {} Connect instances into {}",
                state.roles.len(),
                state.providers.len(),
                state.connect_instances.len(),
                data_dir.display()
            );
            Ok(Outcome::Success)
        }),
    }
}

fn summary(state: &State) -> String {
    format!(
        "{} roles, {} SAML providers, {} Connect instances, {} access keys",
        state.roles.len(),
        state.providers.len(),
        state.connect_instances.len(),
        state.access_keys.len()
    )
}

/// Writes `held` (owner-only: it holds secret keys) to a new `aws-before-import-<time>.json` in
/// `data_dir`, never over an earlier one.
fn save_before_import(data_dir: &Path, held: &State) -> Result<PathBuf, String> {
    let path = crate::input::unused_path(data_dir, "aws-before-import", "json")?;
    crate::input::write_private(&path, &(held.to_json()? + "\n"))?;
    Ok(path)
}

fn parse_partition(name: &str) -> Result<Partition, String> {
    Partition::parse(name).ok_or_else(|| format!("{name:?} is not a partition: use aws, aws-us-gov or aws-cn"))
}

async fn serve_command(
    listen: String,
    accounts: Vec<String>,
    partition: Option<Partition>,
    json: bool,
    data_dir: Option<PathBuf>,
) -> Result<Outcome, String> {
    let listener = tokio::net::TcpListener::bind(&listen).await.map_err(|e| format!("listening on {listen}: {e}"))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    let endpoint = format!("http://{address}");
    let sign_in = vec![format!("{endpoint}/saml")];
    let sandbox = match &data_dir {
        Some(dir) => {
            let store = DocumentStore::open_sqlite(&store_path(dir)?).await.map_err(|e| e.to_string())?;
            Sandbox::with_store(store, Arc::new(crate::clock::now), sign_in).await?
        }
        None => Sandbox::new(State::default(), Arc::new(crate::clock::now), sign_in),
    };
    let sandbox = Arc::new(sandbox);
    let accounts = if accounts.is_empty() { vec!["111122223333".to_owned()] } else { accounts };
    let mut keys: Vec<AdminKey> = Vec::new();
    for spec in &accounts {
        let (id, alias) = spec.split_once('=').map_or((spec.as_str(), None), |(i, a)| (i, Some(a)));
        if id.len() != 12 || !id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("--account {spec:?}: an account ID is 12 digits"));
        }
        keys.push(sandbox.ensure_account(id, alias, partition)?);
    }
    sandbox.persist().await.map_err(|e| e.message)?;
    if json {
        let accounts: Vec<_> = keys
            .iter()
            .map(|k| serde_json::json!({"account": k.account, "access_key_id": k.access_key, "secret_access_key": k.secret}))
            .collect();
        println!("{}", serde_json::json!({"endpoint": endpoint, "accounts": accounts}));
    } else {
        let kept =
            data_dir.as_ref().map_or("in memory".to_owned(), |d| format!("in {}", d.join("aws.sqlite").display()));
        println!("idfed AWS sandbox: {endpoint}  (IAM, STS, sign-in at {endpoint}/saml, Amazon Connect; state {kept})");
        for k in &keys {
            println!("  account {}: AWS_ACCESS_KEY_ID={} AWS_SECRET_ACCESS_KEY={}", k.account, k.access_key, k.secret);
        }
        println!("  try: aws --endpoint-url {endpoint} --region us-east-1 iam list-roles");
    }
    serve(listener, sandbox, shutdown_signal()).await.map_err(|e| format!("serving: {e}"))?;
    Ok(Outcome::Success)
}

pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
