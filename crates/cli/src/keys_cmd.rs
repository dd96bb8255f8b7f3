//! `idfed keys generate`: a private key and a self-signed certificate for an IdP.

use std::path::PathBuf;

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize};
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use clap::{Subcommand, ValueEnum};
use idfed_saml::Certificate;

use crate::Outcome;
use crate::idp_cmd::{KeyStep, signing_keys};

#[derive(Subcommand)]
pub enum KeysCommand {
    /// The IdP's signing keys: fingerprints of the active, next and previous ones.
    List {
        #[arg(long, default_value = "./idfed-data")]
        data_dir: PathBuf,
    },
    /// Scheduled rotation: the next key is published now, signs after OVERLAP, and the old one
    /// leaves metadata one OVERLAP later (e.g. 7d, 24h, 3600). Update IAM's SAML providers with
    /// the app metadata during the first overlap; `idfed doctor` warns about those that lack it.
    Rotate {
        #[arg(long, default_value = "7d")]
        overlap: String,
        #[arg(long, default_value = "./idfed-data")]
        data_dir: PathBuf,
    },
    /// Rotation, step 1: make the IdP's next signing key and publish it in metadata (it does not
    /// sign yet). Update the SAML providers (AWS keeps up to 10 certificates each), then activate.
    Stage {
        #[arg(long, default_value = "./idfed-data")]
        data_dir: PathBuf,
    },
    /// Rotation, step 2: the next key signs from now on; the old one stays in metadata.
    Activate {
        #[arg(long, default_value = "./idfed-data")]
        data_dir: PathBuf,
    },
    /// Rotation, step 3: stop publishing the previous key.
    Retire {
        #[arg(long, default_value = "./idfed-data")]
        data_dir: PathBuf,
    },
    /// Generate a signing key (key.pem, mode 0600) and a self-signed certificate (cert.pem).
    Generate {
        #[arg(long, value_enum, default_value = "rsa2048")]
        alg: KeyAlgorithm,
        /// Distinguished name, e.g. "CN=idfed,O=Example".
        #[arg(long, default_value = "CN=idfed IdP")]
        subject: String,
        /// Directory to write key.pem and cert.pem into (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// Years the certificate is valid, 1 to 100 (SAML peers pin it and ignore dates, but some tools show them).
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(i32).range(1..=100))]
        years: i32,
        /// Replace existing files.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum KeyAlgorithm {
    Rsa2048,
    Rsa3072,
    P256,
}

pub fn run(command: KeysCommand) -> Result<Outcome, String> {
    let (alg, subject, out, years, force) = match command {
        KeysCommand::Generate { alg, subject, out, years, force } => (alg, subject, out, years, force),
        KeysCommand::List { data_dir } => return signing_keys(data_dir, KeyStep::List),
        KeysCommand::Rotate { overlap, data_dir } => {
            return signing_keys(data_dir, KeyStep::Rotate(parse_duration(&overlap)?));
        }
        KeysCommand::Stage { data_dir } => return signing_keys(data_dir, KeyStep::Stage),
        KeysCommand::Activate { data_dir } => return signing_keys(data_dir, KeyStep::Activate),
        KeysCommand::Retire { data_dir } => return signing_keys(data_dir, KeyStep::Retire),
    };
    let key_path = out.join("key.pem");
    let cert_path = out.join("cert.pem");
    for path in [&key_path, &cert_path] {
        if path.exists() && !force {
            return Err(format!("{} exists; pass --force to replace it", path.display()));
        }
    }
    let (pkcs8, sign_alg) = generate(alg)?;
    let key_pair =
        rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&pkcs8.into(), sign_alg).map_err(|e| format!("key: {e}"))?;
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).map_err(|e| e.to_string())?;
    params.distinguished_name = distinguished_name(&subject)?;
    let today = crate::clock::now().to_string();
    let (y, m, d) = parse_ymd(&today)?;
    params.not_before = rcgen::date_time_ymd(y, m, d);
    params.not_after = rcgen::date_time_ymd(y + years.max(1), m, d.min(28));
    let cert = params.self_signed(&key_pair).map_err(|e| format!("certificate: {e}"))?;

    std::fs::create_dir_all(&out).map_err(|e| format!("creating {}: {e}", out.display()))?;
    crate::input::write_private(&key_path, &key_pair.serialize_pem())?;
    crate::input::replace_file(&cert_path, &cert.pem(), crate::input::Access::AsBefore)?;
    let parsed = Certificate::from_pem_or_base64(&cert.pem()).map_err(|e| e.to_string())?;
    let fingerprint = parsed.first().map(Certificate::fingerprint_sha256).unwrap_or_default();
    println!("key:         {}", key_path.display());
    println!("certificate: {}", cert_path.display());
    println!("subject:     {subject}");
    println!("SHA-256:     {fingerprint}");
    Ok(Outcome::Success)
}

fn generate(alg: KeyAlgorithm) -> Result<(Vec<u8>, &'static rcgen::SignatureAlgorithm), String> {
    match alg {
        KeyAlgorithm::Rsa2048 | KeyAlgorithm::Rsa3072 => {
            let size = if matches!(alg, KeyAlgorithm::Rsa2048) { KeySize::Rsa2048 } else { KeySize::Rsa3072 };
            let key = RsaKeyPair::generate(size).map_err(|_| "RSA key generation failed")?;
            let der: Pkcs8V1Der = key.as_der().map_err(|_| "encoding the RSA key failed")?;
            Ok((der.as_ref().to_vec(), &rcgen::PKCS_RSA_SHA256))
        }
        KeyAlgorithm::P256 => {
            let key =
                EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).map_err(|_| "EC key generation failed")?;
            let der = key.to_pkcs8v1().map_err(|_| "encoding the EC key failed")?;
            Ok((der.as_ref().to_vec(), &rcgen::PKCS_ECDSA_P256_SHA256))
        }
    }
}

/// `CN=a,O=b,OU=c,C=US,ST=x,L=y` → a distinguished name; commas inside values are not supported.
fn distinguished_name(subject: &str) -> Result<rcgen::DistinguishedName, String> {
    let mut dn = rcgen::DistinguishedName::new();
    for part in subject.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, value) = part.split_once('=').ok_or_else(|| format!("--subject part {part:?} is not KEY=VALUE"))?;
        let kind = match key.trim().to_ascii_uppercase().as_str() {
            "CN" => rcgen::DnType::CommonName,
            "O" => rcgen::DnType::OrganizationName,
            "OU" => rcgen::DnType::OrganizationalUnitName,
            "C" => rcgen::DnType::CountryName,
            "ST" => rcgen::DnType::StateOrProvinceName,
            "L" => rcgen::DnType::LocalityName,
            other => return Err(format!("--subject attribute {other:?} is not one of CN, O, OU, C, ST, L")),
        };
        dn.push(kind, value.trim());
    }
    Ok(dn)
}

fn parse_ymd(iso: &str) -> Result<(i32, u8, u8), String> {
    let bad = || format!("unexpected date {iso}");
    let y = iso.get(0..4).and_then(|s| s.parse().ok()).ok_or_else(bad)?;
    let m = iso.get(5..7).and_then(|s| s.parse().ok()).ok_or_else(bad)?;
    let d = iso.get(8..10).and_then(|s| s.parse().ok()).ok_or_else(bad)?;
    Ok((y, m, d))
}

/// `7d`, `24h`, `30m`, `3600` (seconds).
fn parse_duration(text: &str) -> Result<i64, String> {
    let text = text.trim();
    let (number, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len()));
    let n: i64 = number.parse().map_err(|_| format!("{text:?} is not a duration such as 7d, 24h, 30m or 3600"))?;
    let factor = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("{text:?}: the unit is s, m, h or d")),
    };
    n.checked_mul(factor).ok_or_else(|| format!("{text:?} is too long"))
}
