//! `idfed aws serve`: the AWS sandbox on a local address.

use std::sync::Arc;

use clap::Subcommand;
use idfed_aws::server::{AdminKey, Sandbox, serve};
use idfed_aws::state::State;

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
        /// Print one JSON line with the endpoint and the administrator keys (for scripts).
        #[arg(long)]
        json: bool,
    },
}

pub fn run(command: AwsCommand) -> Result<Outcome, String> {
    let AwsCommand::Serve { listen, accounts, json } = command;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("starting the runtime: {e}"))?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&listen).await.map_err(|e| format!("listening on {listen}: {e}"))?;
        let address = listener.local_addr().map_err(|e| e.to_string())?;
        let endpoint = format!("http://{address}");
        let sandbox = Arc::new(Sandbox::new(State::default(), Arc::new(crate::clock::now), vec![format!("{endpoint}/saml")]));
        let accounts = if accounts.is_empty() { vec!["111122223333".to_owned()] } else { accounts };
        let mut keys: Vec<AdminKey> = Vec::new();
        for spec in &accounts {
            let (id, alias) = spec.split_once('=').map_or((spec.as_str(), None), |(i, a)| (i, Some(a)));
            if id.len() != 12 || !id.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!("--account {spec:?}: an account ID is 12 digits"));
            }
            keys.push(sandbox.ensure_account(id, alias));
        }
        if json {
            let accounts: Vec<_> = keys
                .iter()
                .map(|k| serde_json::json!({"account": k.account, "access_key_id": k.access_key, "secret_access_key": k.secret}))
                .collect();
            println!("{}", serde_json::json!({"endpoint": endpoint, "accounts": accounts}));
        } else {
            println!("idfed AWS sandbox: {endpoint}  (IAM and STS; state in memory)");
            for k in &keys {
                println!("  account {}: AWS_ACCESS_KEY_ID={} AWS_SECRET_ACCESS_KEY={}", k.account, k.access_key, k.secret);
            }
            println!("  try: aws --endpoint-url {endpoint} --region us-east-1 iam list-roles");
        }
        serve(listener, sandbox, shutdown_signal()).await.map_err(|e| format!("serving: {e}"))?;
        Ok(Outcome::Success)
    })
}

async fn shutdown_signal() {
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
