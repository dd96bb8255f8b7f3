//! `idfed up`: the IdP and the AWS sandbox on loopback with the seeds' scenario, set up on
//! first start through the same APIs a person would call, reused on later starts.

mod scenario;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use idfed_aws::server::Sandbox;
use idfed_idp::service::Idp;
use idfed_saml::random::SystemRandom;
use idfed_store::DocumentStore;

use crate::Outcome;

pub struct Options {
    pub data_dir: PathBuf,
    pub idp_listen: String,
    pub aws_listen: String,
    /// One JSON line for scripts instead of the text summary.
    pub json: bool,
    /// One's own scenario (the format of scenario/seeds.yaml); the seeds' by default.
    pub scenario: Option<PathBuf>,
    /// Seconds the IdP's clock is off (to rehearse F10, a response AWS finds too old).
    pub idp_clock_skew: i64,
}

const MARKER: &str = "scenario.json";

/// `idfed up` sets the scenario up over an IdP that holds nothing yet: one that has people or
/// apps (an `idfed serve` data directory, or a database named by IDFED_DATABASE_URL) would be
/// replaced by the demo's.
fn refuse_a_tenant_of_its_own(idp: &Idp, dir: &std::path::Path) -> Result<(), String> {
    let tenant = idp.tenant();
    if tenant.users.is_empty() && tenant.apps.is_empty() {
        return Ok(());
    }
    Err(format!(
        "the IdP store idfed up would use ({}) already holds {} people and {} apps that idfed up did not set up; \
         setting up the scenario would replace them. Run idfed up with another --data-dir (and without \
         IDFED_DATABASE_URL), or remove {} to start over",
        match crate::idp_cmd::database_url() {
            Some(_) => "the database IDFED_DATABASE_URL names".to_owned(),
            None => dir.display().to_string(),
        },
        tenant.users.len(),
        tenant.apps.len(),
        dir.display()
    ))
}

pub fn run(options: Options) -> Result<Outcome, String> {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| format!("starting: {e}"))?;
    runtime.block_on(up(options))
}

async fn listen(address: &str, what: &str) -> Result<(tokio::net::TcpListener, String), String> {
    let listener = tokio::net::TcpListener::bind(address).await.map_err(|e| {
        format!(
            "cannot listen on {address} for the {what}: {e} (choose another with --{}-listen)",
            if what == "IdP" { "idp" } else { "aws" }
        )
    })?;
    let url = format!("http://{}", listener.local_addr().map_err(|e| e.to_string())?);
    Ok((listener, url))
}

async fn up(options: Options) -> Result<Outcome, String> {
    let description = match &options.scenario {
        Some(path) => scenario::Description::parse(&crate::input::read_text(path)?, &path.display().to_string())?,
        None => scenario::Description::parse(scenario::SEEDS, "the seeds' scenario")?,
    };
    let dir = &options.data_dir;
    std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let (aws_listener, sandbox_url) = listen(&options.aws_listen, "AWS sandbox").await?;
    let (idp_listener, idp_url) = listen(&options.idp_listen, "IdP").await?;

    let aws_store = DocumentStore::open_sqlite(&dir.join("aws.sqlite")).await.map_err(|e| e.to_string())?;
    let sandbox =
        Sandbox::with_store(aws_store, Arc::new(crate::clock::now), vec![format!("{sandbox_url}/saml")]).await?;
    let admin = sandbox.ensure_account(&description.aws.account, description.aws.alias.as_deref(), None)?;
    sandbox.persist().await.map_err(|e| e.message)?;
    let sandbox = Arc::new(sandbox);

    let idp_store = crate::idp_cmd::open_store(dir).await?;
    let sealer = crate::idp_cmd::sealer(dir)?;
    let skew = options.idp_clock_skew;
    let idp_clock = Arc::new(move || crate::clock::now().plus_seconds(skew));
    let mut idp = Idp::open(idp_store, &idp_url, idp_clock, Box::new(SystemRandom::new()), sealer)
        .await
        .map_err(|e| e.message)?;
    idp.reload_window = idfed_idp::service::SERVER_RELOAD_WINDOW;
    let idp = Arc::new(idp);

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let aws_task = tokio::spawn(idfed_aws::server::serve(aws_listener, sandbox.clone(), stopped(stop_rx.clone())));
    let idp_task = tokio::spawn(
        axum::serve(idp_listener, idfed_idp::web::router(idp.clone()))
            .with_graceful_shutdown(stopped(stop_rx.clone()))
            .into_future(),
    );

    // Listen for Ctrl-C and SIGTERM before saying we are up: a script that reads our first
    // line and stops us at once must not find the default handler still in place.
    let stop_requested = stop_signals()?;
    let marker = dir.join(MARKER);
    let (scenario, first) = if marker.exists() {
        let text = crate::input::read_text(&marker)?;
        let scenario: scenario::Scenario =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", marker.display()))?;
        // The apps post to the sandbox's old address and IAM holds metadata naming the IdP's old
        // address: a different port breaks every sign-in (F07), so say so now.
        for (what, then, now, flag) in [
            ("IdP", &scenario.idp, &idp_url, "--idp-listen"),
            ("AWS sandbox", &scenario.aws, &sandbox_url, "--aws-listen"),
        ] {
            if !then.is_empty() && then != now {
                eprintln!(
                    "idfed up: warning: the scenario in {} was set up with the {what} at {then}, now it is at {now}; \
                     sign-ins will fail. Start with {flag} {} or remove the data directory to set up again.",
                    dir.display(),
                    then.trim_start_matches("http://")
                );
            }
        }
        (scenario, false)
    } else {
        refuse_a_tenant_of_its_own(&idp, dir)?;
        let scenario =
            scenario::set_up(&description, &idp, &sandbox_url, (&admin.access_key, &admin.secret), &crate::clock::now)
                .await
                .map_err(|e| {
                    format!(
                        "setting up the scenario: {e}\n(remove {} and run idfed up again to start over)",
                        dir.display()
                    )
                })?;
        let text = serde_json::to_string_pretty(&scenario).map_err(|e| e.to_string())?;
        crate::input::replace_file(&marker, &(text + "\n"), crate::input::Access::AsBefore)?;
        (scenario, true)
    };
    report(&options, &idp_url, &sandbox_url, &admin, &scenario, first);

    stop_requested.await;
    let _ = stop_tx.send(true);
    let _ = aws_task.await;
    let _ = idp_task.await;
    Ok(Outcome::Success)
}

/// Registers the stop signals now; the future resolves when one arrives.
fn stop_signals() -> Result<impl std::future::Future<Output = ()>, String> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).map_err(|e| format!("listening for SIGTERM: {e}"))?;
        let mut interrupt = signal(SignalKind::interrupt()).map_err(|e| format!("listening for SIGINT: {e}"))?;
        Ok(async move {
            tokio::select! { _ = term.recv() => {}, _ = interrupt.recv() => {} }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}

fn report(
    options: &Options,
    idp_url: &str,
    sandbox_url: &str,
    admin: &idfed_aws::server::AdminKey,
    scenario: &scenario::Scenario,
    first: bool,
) {
    let mut out = std::io::stdout().lock();
    if options.json {
        let people: Vec<serde_json::Value> = scenario
            .people
            .iter()
            .map(|p| serde_json::json!({ "login": p.login, "password": p.password, "what": p.what }))
            .collect();
        let line = serde_json::json!({
            "idp": idp_url, "aws": sandbox_url, "account": scenario.account,
            "access_key_id": admin.access_key, "secret_access_key": admin.secret,
            "instance_id": scenario.instance_id, "instance_alias": scenario.instance_alias,
            "first_start": first, "people": people,
        });
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
        return;
    }
    let _ =
        writeln!(out, "idfed up: the seeds' scenario on loopback ({})", if first { "set up now" } else { "reused" });
    let _ = writeln!(out, "  sign in here:     {idp_url}/");
    let _ = writeln!(
        out,
        "  AWS sandbox:      {sandbox_url}  (account {} \"corp\", sign-in endpoint {sandbox_url}/saml)",
        scenario.account
    );
    let _ = writeln!(
        out,
        "                    AWS_ACCESS_KEY_ID={} AWS_SECRET_ACCESS_KEY={}",
        admin.access_key, admin.secret
    );
    let _ = writeln!(
        out,
        "  Amazon Connect:   instance {} ({}), SAML identity management, console {sandbox_url}/connect/federate/{}",
        scenario.instance_alias, scenario.instance_id, scenario.instance_id
    );
    let _ = writeln!(out, "People:");
    for person in &scenario.people {
        let password = person.password.as_deref().unwrap_or("(shown at first start)");
        let _ = writeln!(out, "  {:<24} {:<20} {}", person.login, password, person.what);
    }
    if first {
        let _ = writeln!(out, "Passwords are shown this once; set new ones with `idfed users set-password LOGIN`.");
    }
    let _ = writeln!(out, "Data in {}; a second start reuses it. Stop with Ctrl-C.", display(&options.data_dir));
    let _ = out.flush();
}

fn display(path: &Path) -> String {
    path.display().to_string()
}
