//! The key that seals secrets at rest, and its rotation.
//!
//! Key files in the data directory: `secret.key` (the current key, base64), `secret.key.new`
//! (a key being rotated in) and `secret.key.previous` (earlier keys, one per line). Every one
//! of them opens; the current one seals. Rotation never leaves a store that no saved key
//! opens: the new key is written first, then everything is resealed, then the files swap.
//! With `IDFED_SECRET_KEY`, earlier keys come from `IDFED_SECRET_KEY_PREVIOUS` (comma
//! separated) and `idfed secrets reseal` rewrites the store under the current key.

use std::path::Path;

use clap::Subcommand;
use idfed_idp::secrets::Sealer;
use idfed_saml::random::SystemRandom;

use crate::Outcome;

#[derive(Subcommand)]
pub enum SecretsCommand {
    /// Make a new sealing key, reseal every stored secret under it, and keep the old key in
    /// secret.key.previous (delete that file once every backup you need is newer). Run it with
    /// the IdP stopped, or restart every node afterwards; if it stops half-way, run it again.
    Rotate {
        #[arg(long, default_value = "./idfed-data")]
        data_dir: std::path::PathBuf,
    },
    /// Reseal every stored secret under the current key (after changing IDFED_SECRET_KEY on
    /// every node, with the old key in IDFED_SECRET_KEY_PREVIOUS).
    Reseal {
        #[arg(long, default_value = "./idfed-data")]
        data_dir: std::path::PathBuf,
    },
}

fn parse(text: &str, origin: &str) -> Result<Sealer, String> {
    Sealer::from_base64(text).map_err(|e| format!("{origin}: {e}"))
}

/// Every key in `path` (one per line, blank lines skipped), if the file exists.
fn keys_in(path: &Path) -> Result<Vec<Sealer>, String> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    let text = crate::input::read_text(path)?;
    text.lines().filter(|l| !l.trim().is_empty()).map(|l| parse(l, &path.display().to_string())).collect()
}

/// The sealer of an IdP's data: `IDFED_SECRET_KEY` (with `IDFED_SECRET_KEY_PREVIOUS`), else the
/// key files, `secret.key` made (mode 0600) at first start. Back the files up with the
/// database: without them the stored secrets cannot be opened.
pub(crate) fn sealer(data_dir: &Path) -> Result<Sealer, String> {
    if let Ok(text) = std::env::var("IDFED_SECRET_KEY") {
        let mut sealer = parse(&text, "IDFED_SECRET_KEY")?;
        if let Ok(previous) = std::env::var("IDFED_SECRET_KEY_PREVIOUS") {
            for key in previous.split(',').filter(|k| !k.trim().is_empty()) {
                sealer = sealer.with_earlier(parse(key, "IDFED_SECRET_KEY_PREVIOUS")?);
            }
        }
        return Ok(sealer);
    }
    let path = data_dir.join("secret.key");
    if !path.exists() {
        // Two nodes first started on one data directory must not each keep a key of their own.
        let text = Sealer::generate_base64(&SystemRandom::new()).map_err(|e| e.message)?;
        crate::input::create_private_once(&path, &(text + "\n"))?;
    }
    let mut sealer = parse(&crate::input::read_text(&path)?, &path.display().to_string())?;
    for file in ["secret.key.new", "secret.key.previous"] {
        for key in keys_in(&data_dir.join(file))? {
            sealer = sealer.with_earlier(key);
        }
    }
    Ok(sealer)
}

pub fn run(command: SecretsCommand) -> Result<Outcome, String> {
    match command {
        SecretsCommand::Reseal { data_dir } => {
            let count = crate::idp_cmd::reseal(&data_dir, sealer(&data_dir)?)?;
            println!("resealed {count} secrets under the current key");
        }
        SecretsCommand::Rotate { data_dir } => {
            if std::env::var_os("IDFED_SECRET_KEY").is_some() {
                return Err("the key comes from IDFED_SECRET_KEY: set the new key there on every node (the old one \
                            in IDFED_SECRET_KEY_PREVIOUS), then run `idfed secrets reseal`"
                    .into());
            }
            let current = data_dir.join("secret.key");
            if !current.exists() {
                return Err(format!("{} does not exist: there is nothing to rotate", current.display()));
            }
            let old_text = crate::input::read_text(&current)?.trim().to_owned();
            // 1. The new key is saved before anything is sealed with it. A rotation that stopped
            // half-way left it here, with some secrets already sealed under it: resume with it.
            let staged = data_dir.join("secret.key.new");
            let new_text = if staged.exists() {
                crate::input::read_text(&staged)?.trim().to_owned()
            } else {
                let text = Sealer::generate_base64(&SystemRandom::new()).map_err(|e| e.message)?;
                crate::input::write_private(&staged, &format!("{text}\n"))?;
                text
            };
            // 2. Everything is resealed under it (the old key still opens).
            let mut sealer = parse(&new_text, "the new key")?.with_earlier(parse(&old_text, "secret.key")?);
            for key in keys_in(&data_dir.join("secret.key.previous"))? {
                sealer = sealer.with_earlier(key);
            }
            let count = crate::idp_cmd::reseal(&data_dir, sealer)?;
            // 3. The old key joins the earlier ones; the new one becomes current.
            let previous = data_dir.join("secret.key.previous");
            let mut earlier = if previous.exists() { crate::input::read_text(&previous)? } else { String::new() };
            earlier.push_str(&format!("{old_text}\n"));
            crate::input::write_private(&previous, &earlier)?;
            std::fs::rename(&staged, &current).map_err(|e| format!("installing the new key: {e}"))?;
            println!(
                "resealed {count} secrets under a new key in {}; the old key is kept in {} (needed to open backups \
                 taken before now; delete it when they have aged out). Restart every running node (on this host too): \
                 they hold the old key only.",
                current.display(),
                previous.display()
            );
        }
    }
    Ok(Outcome::Success)
}
