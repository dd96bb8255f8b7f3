//! `idfed saml sign | decode | verify | metadata`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::Subcommand;
use idfed_saml::aws::{AwsResponse, RolePair};
use idfed_saml::dsig::{SignOptions, SignatureAlgorithm};
use idfed_saml::encoding::{base64_encode, find_saml};
use idfed_saml::issue::{SignWhat, Signer, issue_response};
use idfed_saml::model::Attribute;
use idfed_saml::random::SystemRandom;
use idfed_saml::sp::{Accepted, SpConfig, validate_response};
use idfed_saml::xmlenc::{DataAlgorithm, DecryptionKey, EncryptOptions};
use idfed_saml::{Certificate, SigningKey, metadata, ns};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::Outcome;
use crate::input::{read_bytes, read_text, write_text};

#[derive(Subcommand)]
pub enum SamlCommand {
    /// Build and sign an AWS-style SAML Response from flags or a JSON description.
    Sign(Box<SignArgs>),
    /// Pretty-print a SAML message: raw XML, base64, a URL-encoded form body or a HAR export.
    Decode {
        /// File to read, or - for standard input.
        file: PathBuf,
    },
    /// Verify a SAML Response as a strict SP. Exit 0 when valid, 1 when invalid, 2 on usage errors.
    Verify(Box<VerifyArgs>),
    /// Write IdP metadata for a certificate and endpoints.
    Metadata {
        /// Signing certificate(s), PEM; give several during a key rollover.
        #[arg(long = "cert", required = true)]
        certs: Vec<PathBuf>,
        #[arg(long)]
        entity_id: String,
        /// SingleSignOnService URL for the HTTP-POST binding.
        #[arg(long)]
        sso_url: String,
        /// SingleSignOnService URL for the HTTP-Redirect binding.
        #[arg(long)]
        sso_redirect_url: Option<String>,
        /// SingleLogoutService URL (HTTP-Redirect).
        #[arg(long)]
        slo_url: Option<String>,
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(clap::Args)]
pub struct SignArgs {
    /// IdP private key, PEM.
    #[arg(long)]
    key: PathBuf,
    /// IdP certificate, PEM (placed in KeyInfo).
    #[arg(long)]
    cert: Option<PathBuf>,
    /// A JSON description of the response (fields as the flags, `roles` as ["role,provider", …]).
    #[arg(long)]
    json: Option<PathBuf>,
    #[arg(long)]
    issuer: Option<String>,
    #[arg(long)]
    name_id: Option<String>,
    #[arg(long)]
    name_id_format: Option<String>,
    /// A Role value `ROLE_ARN,PROVIDER_ARN`; repeat for several roles.
    #[arg(long = "role")]
    roles: Vec<String>,
    #[arg(long)]
    session_name: Option<String>,
    #[arg(long)]
    session_duration: Option<u32>,
    /// ACS URL: Destination and Recipient.
    #[arg(long)]
    acs: Option<String>,
    #[arg(long)]
    audience: Option<String>,
    /// An extra attribute `NAME=VALUE`; repeat a name for several values.
    #[arg(long = "attribute")]
    attributes: Vec<String>,
    /// assertion, response or both.
    #[arg(long, default_value = "assertion")]
    sign: String,
    /// rsa-sha256 (default for RSA keys), rsa-sha384, rsa-sha512, ecdsa-sha256, ecdsa-sha384.
    #[arg(long)]
    alg: Option<String>,
    /// Issue instant, RFC 3339 (default: now).
    #[arg(long)]
    now: Option<String>,
    /// Seconds the assertion stays valid.
    #[arg(long)]
    validity: Option<i64>,
    /// Encrypt the assertion for this SP certificate (PEM).
    #[arg(long)]
    encrypt_for: Option<PathBuf>,
    /// aes256-gcm (default), aes128-gcm, aes128-cbc, aes256-cbc.
    #[arg(long, default_value = "aes256-gcm")]
    encryption: String,
    /// Print base64 (as posted in SAMLResponse) instead of XML.
    #[arg(long)]
    base64: bool,
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct VerifyArgs {
    /// The response: raw XML, base64, form body or HAR; - for standard input.
    file: PathBuf,
    /// Trusted IdP certificate(s), PEM. Keys inside the document are never trusted.
    #[arg(long = "cert", required = true)]
    certs: Vec<PathBuf>,
    /// Verify at this instant (RFC 3339) instead of now.
    #[arg(long)]
    now: Option<String>,
    #[arg(long, default_value_t = 60)]
    skew: i64,
    /// Acceptable audience(s); when none is given, audience is not checked.
    #[arg(long = "audience")]
    audiences: Vec<String>,
    /// The ACS URL the response was posted to (Destination and Recipient).
    #[arg(long)]
    recipient: Option<String>,
    /// The expected Issuer.
    #[arg(long)]
    issuer: Option<String>,
    /// The ID of the AuthnRequest this answers (SP-initiated); unsolicited responses otherwise.
    #[arg(long)]
    in_response_to: Option<String>,
    /// SP private key (PEM) to decrypt an EncryptedAssertion.
    #[arg(long = "decrypt-key")]
    decrypt_keys: Vec<PathBuf>,
    /// Accept RSA-SHA1 signatures and SHA-1 digests.
    #[arg(long)]
    allow_sha1: bool,
    /// Accept an AES-CBC encrypted assertion in an unsigned Response (a decryption oracle
    /// risk; a signed Response is always fine).
    #[arg(long)]
    allow_cbc: bool,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

pub fn run(command: SamlCommand) -> Result<Outcome, String> {
    match command {
        SamlCommand::Sign(args) => sign(*args),
        SamlCommand::Decode { file } => decode(&file),
        SamlCommand::Verify(args) => verify(*args),
        SamlCommand::Metadata { certs, entity_id, sso_url, sso_redirect_url, slo_url, out } => {
            let certificates = certs.iter().map(|p| load_certs(p)).collect::<Result<Vec<_>, _>>()?.concat();
            let text = metadata::idp_metadata_xml(&metadata::IdpMetadata {
                entity_id: &entity_id,
                signing_certificates: &certificates,
                sso_post: Some(&sso_url),
                sso_redirect: sso_redirect_url.as_deref(),
                slo_redirect: slo_url.as_deref(),
                name_id_formats: &[ns::NAMEID_PERSISTENT, ns::NAMEID_EMAIL, ns::NAMEID_UNSPECIFIED],
                want_authn_requests_signed: false,
            });
            write_text(out.as_deref(), &text)?;
            Ok(Outcome::Success)
        }
    }
}

fn load_certs(path: &Path) -> Result<Vec<Certificate>, String> {
    Certificate::from_pem_or_base64(&read_text(path)?).map_err(|e| format!("{}: {e}", path.display()))
}

/// The JSON form of `idfed saml sign`; every field is optional and flags win.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Description {
    issuer: Option<String>,
    name_id: Option<String>,
    name_id_format: Option<String>,
    roles: Option<Vec<String>>,
    session_name: Option<String>,
    session_duration: Option<u32>,
    acs: Option<String>,
    audience: Option<String>,
    attributes: Option<BTreeMap<String, Vec<String>>>,
    validity: Option<i64>,
}

fn role_pair(value: &str) -> Result<RolePair, String> {
    let (a, b) = value.split_once(',').ok_or_else(|| format!("role {value:?} is not ROLE_ARN,PROVIDER_ARN"))?;
    let (a, b) = (a.trim().to_owned(), b.trim().to_owned());
    match (a.contains(":role/"), b.contains(":saml-provider/"), a.contains(":saml-provider/"), b.contains(":role/")) {
        (true, true, _, _) => Ok(RolePair { role_arn: a, provider_arn: b }),
        (_, _, true, true) => Ok(RolePair { role_arn: b, provider_arn: a }),
        _ => Err(format!("role {value:?} needs one :role/ ARN and one :saml-provider/ ARN")),
    }
}

fn sign(args: SignArgs) -> Result<Outcome, String> {
    let description: Description = match &args.json {
        Some(path) => serde_json::from_str(&read_text(path)?).map_err(|e| format!("{}: {e}", path.display()))?,
        None => Description::default(),
    };
    let key = SigningKey::from_pem(&read_text(&args.key)?).map_err(|e| format!("{}: {e}", args.key.display()))?;
    let cert = args.cert.as_deref().map(load_certs).transpose()?.and_then(|mut c| (!c.is_empty()).then(|| c.remove(0)));
    let issuer = args.issuer.or(description.issuer).ok_or("--issuer is required (or \"issuer\" in --json)")?;
    let name_id = args.name_id.or(description.name_id).ok_or("--name-id is required (or \"name_id\" in --json)")?;
    let roles = if args.roles.is_empty() { description.roles.unwrap_or_default() } else { args.roles };
    let roles = roles.iter().map(|r| role_pair(r)).collect::<Result<Vec<_>, _>>()?;
    let session_name = args.session_name.or(description.session_name).unwrap_or_else(|| name_id.clone());
    let mut response = AwsResponse::new(&issuer, &name_id, &session_name, roles);
    if let Some(format) = args.name_id_format.or(description.name_id_format) {
        response.name_id.format = Some(format);
    }
    response.session_duration = args.session_duration.or(description.session_duration);
    if let Some(acs) = args.acs.or(description.acs) {
        response.acs_url = acs;
    }
    if let Some(audience) = args.audience.or(description.audience) {
        response.audience = audience;
    }
    if let Some(validity) = args.validity.or(description.validity) {
        response.validity_seconds = validity;
    }
    let mut extra: BTreeMap<String, Vec<String>> = description.attributes.unwrap_or_default();
    for pair in &args.attributes {
        let (name, value) = pair.split_once('=').ok_or_else(|| format!("--attribute {pair:?} is not NAME=VALUE"))?;
        extra.entry(name.to_owned()).or_default().push(value.to_owned());
    }
    response.extra_attributes = extra
        .into_iter()
        .map(|(name, values)| Attribute {
            name,
            name_format: Some(ns::ATTRNAME_FORMAT_URI.into()),
            friendly_name: None,
            values,
        })
        .collect();

    let mut options = SignOptions::for_key(&key);
    if let Some(name) = &args.alg {
        options.algorithm =
            SignatureAlgorithm::from_name(name).ok_or_else(|| format!("--alg {name:?} is not known"))?;
    }
    let what = SignWhat::from_name(&args.sign).ok_or("--sign must be assertion, response or both")?;
    let encrypt_cert =
        args.encrypt_for.as_deref().map(load_certs).transpose()?.and_then(|mut c| (!c.is_empty()).then(|| c.remove(0)));
    let data = DataAlgorithm::from_name(&args.encryption)
        .ok_or_else(|| format!("--encryption {:?} is not known", args.encryption))?;
    let encrypt = encrypt_cert.as_ref().map(|c| (c, EncryptOptions { data, ..EncryptOptions::default() }));

    let rng = SystemRandom::new();
    let now = crate::clock::now_or(args.now.as_deref())?;
    let spec = response.to_spec(now, &rng).map_err(|e| e.to_string())?;
    let signer = Signer { key: &key, certificate: cert.as_ref(), options };
    let xml = issue_response(&spec, &signer, what, encrypt, &rng).map_err(|e| e.to_string())?;
    let text = if args.base64 { base64_encode(xml.as_bytes()) + "\n" } else { xml + "\n" };
    write_text(args.out.as_deref(), &text)?;
    Ok(Outcome::Success)
}

fn decode(file: &Path) -> Result<Outcome, String> {
    let found = find_saml(&read_bytes(file)?).map_err(|e| e.to_string())?;
    // The message limits bound the nesting `pretty` recurses through and the namespaces it compares.
    let doc = idfed_saml::xml::parse(&found.xml, idfed_saml::xml::Limits::MESSAGE).map_err(|e| e.to_string())?;
    let mut out = String::new();
    pretty(doc.root_element(), 0, &mut out);
    if let Some(relay) = &found.relay_state {
        out.push_str(&format!("\nRelayState: {relay}\n"));
    }
    print!("{out}");
    Ok(Outcome::Success)
}

/// Indented XML for people: elements with their attributes as written, text trimmed.
fn pretty(node: roxmltree::Node, depth: usize, out: &mut String) {
    use idfed_saml::bindings::html_escape;
    let pad = "  ".repeat(depth);
    let input = node.document().input_text();
    let qname = idfed_saml::xml::source_qname(node);
    let mut head = format!("{pad}<{qname}");
    for ns in node.namespaces().filter(|n| node.parent_element().is_none_or(|p| !p.namespaces().any(|pn| pn == *n))) {
        match ns.name() {
            Some(prefix) => head.push_str(&format!(" xmlns:{prefix}=\"{}\"", ns.uri())),
            None => head.push_str(&format!(" xmlns=\"{}\"", ns.uri())),
        }
    }
    for a in node.attributes() {
        let name = input.get(a.range_qname()).unwrap_or(a.name());
        head.push_str(&format!(" {name}=\"{}\"", html_escape(a.value())));
    }
    let children: Vec<_> = node
        .children()
        .filter(|c| c.is_element() || (c.is_text() && !c.text().unwrap_or("").trim().is_empty()))
        .collect();
    match children.as_slice() {
        [] => out.push_str(&format!("{head}/>\n")),
        [only] if only.is_text() => {
            out.push_str(&format!("{head}>{}</{qname}>\n", html_escape(only.text().unwrap_or("").trim())))
        }
        _ => {
            out.push_str(&format!("{head}>\n"));
            for child in children {
                if child.is_element() {
                    pretty(child, depth + 1, out);
                } else {
                    out.push_str(&format!("{pad}  {}\n", html_escape(child.text().unwrap_or("").trim())));
                }
            }
            out.push_str(&format!("{pad}</{qname}>\n"));
        }
    }
}

fn verify(args: VerifyArgs) -> Result<Outcome, String> {
    let trusted = args.certs.iter().map(|p| load_certs(p)).collect::<Result<Vec<_>, _>>()?.concat();
    let decryption_keys = args
        .decrypt_keys
        .iter()
        .map(|p| DecryptionKey::from_pem(&read_text(p)?).map_err(|e| format!("{}: {e}", p.display())))
        .collect::<Result<Vec<_>, _>>()?;
    let now = crate::clock::now_or(args.now.as_deref())?;
    let config = SpConfig {
        trusted,
        audiences: args.audiences,
        recipient: args.recipient,
        expected_issuer: args.issuer,
        in_response_to: args.in_response_to,
        skew_seconds: args.skew,
        allow_sha1: args.allow_sha1,
        decryption_keys,
        allow_cbc: args.allow_cbc,
    };
    let bytes = read_bytes(&args.file)?;
    let result = find_saml(&bytes).and_then(|found| validate_response(&found.xml, &config, now));
    let valid = result.is_ok();
    if args.json {
        println!("{}", verdict_json(&result));
    } else {
        match &result {
            Ok(a) => print!("{}", verdict_text(a)),
            Err(e) => println!("INVALID ({}): {}", e.reason, e.message),
        }
    }
    Ok(if valid { Outcome::Success } else { Outcome::Negative })
}

/// The stable `--json` interface: valid/reason/message always, the rest only when valid.
fn verdict_json(result: &idfed_saml::Result<Accepted>) -> Value {
    match result {
        Err(e) => json!({"valid": false, "reason": e.reason.as_str(), "message": e.message}),
        Ok(a) => {
            let mut attributes = serde_json::Map::new();
            for attr in a.attributes() {
                let entry = attributes.entry(attr.name.clone()).or_insert_with(|| Value::Array(Vec::new()));
                if let Value::Array(values) = entry {
                    values.extend(attr.values.iter().cloned().map(Value::String));
                }
            }
            json!({
                "valid": true,
                "reason": "ok",
                "message": signed_by(a),
                "issuer": a.issuer(),
                "name_id": a.name_id.value,
                "name_id_format": a.name_id.format,
                "attributes": attributes,
                "session_not_on_or_after": a.session_not_on_or_after.map(|t| t.to_string()),
            })
        }
    }
}

fn signed_by(a: &Accepted) -> String {
    let what = match (a.signed.response.is_some(), a.signed.assertion.is_some()) {
        (true, true) => "Response and Assertion signed",
        (true, false) => "Response signed",
        _ => "Assertion signed",
    };
    let alg = a.signed.assertion.or(a.signed.response).map(|v| v.algorithm.uri()).unwrap_or_default();
    format!("{what} ({alg}){}", if a.encrypted { ", assertion was encrypted" } else { "" })
}

fn verdict_text(a: &Accepted) -> String {
    let mut out = format!("VALID: {}\n", signed_by(a));
    out.push_str(&format!("Issuer:  {}\n", a.issuer().unwrap_or("-")));
    out.push_str(&format!("NameID:  {} ({})\n", a.name_id.value, a.name_id.format.as_deref().unwrap_or("no format")));
    if let Some(end) = a.session_not_on_or_after {
        out.push_str(&format!("Session not on or after: {end}\n"));
    }
    for attr in a.attributes() {
        for value in &attr.values {
            out.push_str(&format!("  {} = {value}\n", attr.name));
        }
    }
    out
}
