//! `idfed`: the command line. Each subcommand lives in its own module; this file only parses
//! arguments and maps outcomes to exit codes (0 success, 1 a negative verdict, 2 usage or
//! input errors).

mod aws_cmd;
mod aws_login;
mod clock;
mod config;
mod doctor_cmd;
mod idp_cmd;
mod input;
mod keys_cmd;
mod memory;
mod progress;
mod saml_cmd;
mod secrets_cmd;
mod tls;
mod up;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "idfed", version, about = "Self-hosted single sign-on for AWS and Amazon Connect")]
struct Cli {
    /// The IdP's database: `postgres://…` for PostgreSQL (several IdP nodes can share it);
    /// default: `idp.sqlite` in the data directory.
    #[arg(long, global = true, env = "IDFED_DATABASE_URL")]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the identity provider and the AWS sandbox on loopback with the seeds' scenario (Okta →
    /// IAM → Amazon Connect), set up at first start and reused after.
    Up {
        #[arg(long, default_value = "./idfed-data")]
        data_dir: PathBuf,
        #[arg(long, default_value = "127.0.0.1:8080")]
        idp_listen: String,
        #[arg(long, default_value = "127.0.0.1:4566")]
        aws_listen: String,
        /// One JSON line (URLs, keys, people with first-start passwords) for scripts.
        #[arg(long)]
        json: bool,
        /// One's own scenario: the AWS side and the tenant (see crates/cli/scenario/seeds.yaml);
        /// used at first start.
        #[arg(long)]
        scenario: Option<PathBuf>,
        /// Run the IdP's clock this many seconds off, to rehearse a clock fault (F10).
        #[arg(long, default_value_t = 0, allow_hyphen_values = true)]
        idp_clock_skew: i64,
    },
    /// Explain why a login fails: a captured SAMLResponse judged against the AWS side, each
    /// finding with its failure ID (F01–F24), AWS's text, the cause and the fix; or a preflight
    /// of every assigned person's login.
    Doctor(doctor_cmd::Options),
    /// Serve the identity provider: sign-in, app tiles, SSO launch links and metadata.
    Serve {
        /// The configuration file (TOML); IDFED_… variables and these flags override it.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Address to listen on (default 127.0.0.1:8080).
        #[arg(long)]
        listen: Option<String>,
        /// The URL people and SPs reach the IdP at (entity IDs and metadata use it).
        /// Default: http:// and the listening address.
        #[arg(long)]
        base_url: Option<String>,
        /// Default ./idfed-data.
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// The configuration file: check one, or print the effective configuration.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Make the IdP's tenant equal to a YAML file (people, groups, apps, assignments): creates,
    /// updates and removes, all or nothing.
    Apply {
        #[arg(short = 'f', long = "file")]
        file: PathBuf,
        #[arg(long, default_value = "./idfed-data")]
        data_dir: PathBuf,
        /// Check the file and print what would change, without changing anything.
        #[arg(long)]
        dry_run: bool,
    },
    /// Write the IdP's tenant as YAML (the format `idfed apply` reads). Secrets are never written.
    Export {
        #[arg(long, default_value = "./idfed-data")]
        data_dir: PathBuf,
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// A consistent copy of the IdP's SQLite store, taken while it serves (PostgreSQL: pg_dump).
    Backup {
        file: PathBuf,
        #[arg(long, default_value = "./idfed-data")]
        data_dir: PathBuf,
    },
    /// Replace the IdP's store with a backup (stop the IdP first; the data directory's
    /// secret.key must be the one the backup was sealed with).
    Restore {
        file: PathBuf,
        #[arg(long, default_value = "./idfed-data")]
        data_dir: PathBuf,
    },
    /// People in the IdP's directory: passwords and TOTP.
    Users {
        #[command(subcommand)]
        command: idp_cmd::UsersCommand,
    },
    /// The IdP's system log (sign-ins, assertions issued, admin changes), newest first.
    Logs {
        /// Only this person (login) as actor.
        #[arg(long)]
        actor: Option<String>,
        #[arg(long)]
        app: Option<String>,
        /// Event name or prefix, e.g. `user.session` or `app.sso`.
        #[arg(long)]
        event: Option<String>,
        /// Only events at or after this instant (RFC 3339).
        #[arg(long)]
        since: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: u32,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
        #[arg(long, default_value = "./idfed-data")]
        data_dir: PathBuf,
    },
    /// Groups in the IdP's directory.
    Groups {
        #[command(subcommand)]
        command: idp_cmd::GroupsCommand,
    },
    /// Assign an app to a person or group, with AWS roles (role ARNs, or names with one
    /// Identity Provider ARN); --remove unassigns.
    Assign {
        app: String,
        #[arg(long, conflicts_with = "group")]
        user: Option<String>,
        #[arg(long)]
        group: Option<String>,
        /// Repeat for several roles.
        #[arg(long = "role")]
        roles: Vec<String>,
        #[arg(long)]
        remove: bool,
        #[arg(long, default_value = "./idfed-data")]
        data_dir: PathBuf,
    },
    /// Tokens for the IdP's admin REST API (`/api/v1`, described at /api/v1/openapi.json).
    ApiTokens {
        #[command(subcommand)]
        command: idp_cmd::TokensCommand,
    },
    /// The key sealing secrets at rest (signing keys, API secrets, TOTP seeds): rotate, reseal.
    Secrets {
        #[command(subcommand)]
        command: secrets_cmd::SecretsCommand,
    },
    /// The IdP's apps: list, test the AWS API integration, import roles.
    Apps {
        #[command(subcommand)]
        command: idp_cmd::AppsCommand,
    },
    /// The AWS sandbox: IAM, STS and (next) sign-in and Amazon Connect, on loopback.
    Aws {
        #[command(subcommand)]
        command: aws_cmd::AwsCommand,
    },
    /// Signing keys and certificates.
    Keys {
        #[command(subcommand)]
        command: keys_cmd::KeysCommand,
    },
    /// Build, sign, decode and verify SAML messages; write IdP metadata.
    Saml {
        #[command(subcommand)]
        command: saml_cmd::SamlCommand,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Check a configuration file: every mistake with its line and column.
    Check { file: PathBuf },
    /// The effective configuration (file, then IDFED_… variables), secrets masked.
    Print {
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

/// What a command ended with, for the exit code.
pub enum Outcome {
    Success,
    /// A verdict was negative (for example an invalid response); the output says why.
    Negative,
}

/// Process logs on standard error: human lines or JSON objects, at the configured level.
fn init_logs(log: &config::Log) {
    let filter = tracing_subscriber::EnvFilter::new(format!("{},sqlx=warn,hyper=warn", log.level));
    let builder = tracing_subscriber::fmt().with_writer(std::io::stderr).with_env_filter(filter).with_target(false);
    let _ = if log.format == "json" { builder.json().try_init() } else { builder.try_init() };
}

fn main() -> ExitCode {
    memory::return_large_blocks_to_the_system();
    let cli = Cli::parse();
    idp_cmd::use_database(cli.database_url.clone());
    let result = match cli.command {
        Command::Up { data_dir, idp_listen, aws_listen, json, scenario, idp_clock_skew } => {
            up::run(up::Options { data_dir, idp_listen, aws_listen, json, scenario, idp_clock_skew })
        }
        Command::Serve { config, listen, base_url, data_dir } => (|| {
            let mut settings = config::Config::load(config.as_deref()).map_err(|errors| errors.join("\n"))?;
            if let Some(listen) = listen {
                settings.server.listen = listen;
            }
            if base_url.is_some() {
                settings.server.base_url = base_url;
            }
            if let Some(dir) = data_dir {
                settings.server.data_dir = dir;
            }
            // Parsed and checked, but not served yet: refuse rather than ignore them.
            init_logs(&settings.log);
            if settings.database.url.is_some() && cli.database_url.is_none() {
                idp_cmd::use_database(settings.database.url.clone());
            }
            let tls = settings.tls.map(|t| (t.cert, t.key));
            idp_cmd::serve(
                settings.server.listen,
                settings.server.base_url,
                settings.server.data_dir,
                tls,
                &settings.proxy.trusted,
                &settings.sign_in,
                settings.metrics.token,
            )
        })(),
        Command::Config { command } => match command {
            ConfigCommand::Check { file } => match config::Config::load(Some(&file)) {
                Ok(_) => {
                    println!("{}: ok", file.display());
                    Ok(Outcome::Success)
                }
                Err(errors) => Err(errors.join("\n")),
            },
            ConfigCommand::Print { config } => match config::Config::load(config.as_deref()) {
                Ok(settings) => {
                    print!("{}", settings.printable());
                    Ok(Outcome::Success)
                }
                Err(errors) => Err(errors.join("\n")),
            },
        },
        Command::Apply { file, data_dir, dry_run } => idp_cmd::apply(file, data_dir, dry_run),
        Command::Export { data_dir, out } => idp_cmd::export(data_dir, out),
        Command::Users { command } => idp_cmd::users(command),
        Command::Backup { file, data_dir } => idp_cmd::backup(file, data_dir),
        Command::Restore { file, data_dir } => idp_cmd::restore(file, data_dir),
        Command::Apps { command } => idp_cmd::apps(command),
        Command::ApiTokens { command } => idp_cmd::tokens(command),
        Command::Secrets { command } => secrets_cmd::run(command),
        Command::Groups { command } => idp_cmd::groups(command),
        Command::Assign { app, user, group, roles, remove, data_dir } => {
            idp_cmd::assign(app, user, group, roles, remove, data_dir)
        }
        Command::Logs { actor, app, event, since, limit, json, data_dir } => (|| {
            let since = match since {
                Some(text) => {
                    Some(idfed_saml::Instant::parse(&text).map_err(|e| format!("--since: {e}"))?.unix_millis())
                }
                None => None,
            };
            let filter = idfed_store::EventFilter { actor, app, event, since, until: None, limit };
            idp_cmd::logs(filter, json, data_dir)
        })(),
        Command::Doctor(options) => doctor_cmd::run(options),
        Command::Aws { command } => aws_cmd::run(command),
        Command::Keys { command } => keys_cmd::run(command),
        Command::Saml { command } => saml_cmd::run(command),
    };
    match result {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::Negative) => ExitCode::from(1),
        Err(message) => {
            eprintln!("idfed: {message}");
            ExitCode::from(2)
        }
    }
}
