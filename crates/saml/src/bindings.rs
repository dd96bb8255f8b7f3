//! SAML bindings: HTTP-POST (an auto-submitting form) and HTTP-Redirect (DEFLATE, base64, and
//! a signature over the query string).

use std::io::{Read, Write};

use crate::dsig::{SignatureAlgorithm, verify_bytes};
use crate::encoding::{base64_decode, base64_encode, percent_decode, percent_encode};
use crate::error::{Error, Reason, Result, malformed};
use crate::keys::{Certificate, SigningKey};

/// Inflated messages larger than this are refused (a DEFLATE bomb guard).
pub const MAX_INFLATED: usize = 1 << 20;

/// Which parameter carries the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Param {
    SamlRequest,
    SamlResponse,
}

impl Param {
    pub const fn name(self) -> &'static str {
        match self {
            Param::SamlRequest => "SAMLRequest",
            Param::SamlResponse => "SAMLResponse",
        }
    }
}

/// The inline script of the POST form; its hash goes into the page's Content-Security-Policy.
pub const AUTO_SUBMIT_SCRIPT: &str = "document.forms[0].submit();";

/// An HTML page that POSTs `xml` (base64) and RelayState to `action` as soon as it loads, with
/// a button for browsers without JavaScript. Every value is HTML-escaped, and the action must
/// be an http(s) URL (never `javascript:`).
pub fn post_form(action: &str, param: Param, xml: &str, relay_state: Option<&str>) -> Result<String> {
    let scheme_ok =
        ["https://", "http://"].iter().any(|s| action.get(..s.len()).is_some_and(|p| p.eq_ignore_ascii_case(s)));
    if !scheme_ok {
        return Err(malformed(format!("the form action {action:?} is not an http(s) URL")));
    }
    let relay = relay_state
        .map(|r| format!("<input type=\"hidden\" name=\"RelayState\" value=\"{}\"/>", html_escape(r)))
        .unwrap_or_default();
    Ok(format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Signing in…</title></head>\
<body><form method=\"post\" action=\"{action}\"><input type=\"hidden\" name=\"{name}\" value=\"{value}\"/>{relay}\
<noscript><p>JavaScript is off: press Continue to finish signing in.</p><button type=\"submit\">Continue</button></noscript></form>\
<script>{AUTO_SUBMIT_SCRIPT}</script></body></html>\n",
        action = html_escape(action),
        name = param.name(),
        value = base64_encode(xml.as_bytes()),
    ))
}

/// Escapes text for HTML content and double-quoted attributes.
pub fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    html_escape_into(&mut out, text);
    out
}

/// [`html_escape`], appending to `out`.
pub fn html_escape_into(out: &mut String, text: &str) {
    let replacement = |b| match b {
        b'&' => Some("&amp;"),
        b'<' => Some("&lt;"),
        b'>' => Some("&gt;"),
        b'"' => Some("&quot;"),
        b'\'' => Some("&#39;"),
        _ => None,
    };
    crate::encoding::escape_ascii(text, replacement, |piece| out.push_str(piece));
}

pub fn deflate(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(data);
    encoder.finish().unwrap_or_default()
}

/// Raw DEFLATE decompression, refusing output over [`MAX_INFLATED`].
pub fn inflate(data: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let limit = u64::try_from(MAX_INFLATED + 1).unwrap_or(u64::MAX);
    flate2::read::DeflateDecoder::new(data)
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|e| malformed(format!("not valid DEFLATE data: {e}")))?;
    if out.len() > MAX_INFLATED {
        return Err(malformed(format!("inflated message exceeds {MAX_INFLATED} bytes")));
    }
    Ok(out)
}

/// The URL that carries `xml` to `endpoint` by HTTP-Redirect, signed when `signer` is given.
pub fn redirect_url(
    endpoint: &str,
    param: Param,
    xml: &str,
    relay_state: Option<&str>,
    signer: Option<(&SigningKey, SignatureAlgorithm)>,
) -> Result<String> {
    let mut query = format!("{}={}", param.name(), percent_encode(&base64_encode(&deflate(xml.as_bytes()))));
    if let Some(relay) = relay_state {
        query.push_str("&RelayState=");
        query.push_str(&percent_encode(relay));
    }
    if let Some((key, alg)) = signer {
        query.push_str("&SigAlg=");
        query.push_str(&percent_encode(alg.uri()));
        let signature = key.sign(alg, query.as_bytes())?;
        query.push_str("&Signature=");
        query.push_str(&percent_encode(&base64_encode(&signature)));
    }
    let separator = if endpoint.contains('?') { '&' } else { '?' };
    Ok(format!("{endpoint}{separator}{query}"))
}

/// A message received by HTTP-Redirect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectMessage {
    pub param: Param,
    pub xml: String,
    pub relay_state: Option<String>,
    pub sig_alg: Option<String>,
    pub signature: Option<Vec<u8>>,
    /// The exact octets the signature covers, taken from the query as received.
    pub signed_octets: String,
}

/// Parses the query string of an HTTP-Redirect request.
pub fn parse_redirect(query: &str) -> Result<RedirectMessage> {
    let query = query.strip_prefix('?').unwrap_or(query);
    let mut message: Option<(Param, &str)> = None;
    let (mut relay, mut sig_alg, mut signature) = (None, None, None);
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, raw) = pair.split_once('=').unwrap_or((pair, ""));
        let slot = match key {
            "SAMLRequest" | "SAMLResponse" => {
                let param = if key == "SAMLRequest" { Param::SamlRequest } else { Param::SamlResponse };
                if message.replace((param, raw)).is_some() {
                    return Err(malformed("more than one SAML message in the query"));
                }
                continue;
            }
            "RelayState" => &mut relay,
            "SigAlg" => &mut sig_alg,
            "Signature" => &mut signature,
            _ => continue,
        };
        if slot.replace(raw).is_some() {
            return Err(malformed(format!("{key} appears more than once in the query")));
        }
    }
    let (param, raw_message) = message.ok_or_else(|| malformed("no SAMLRequest or SAMLResponse in the query"))?;
    let inflated = inflate(&base64_decode(&percent_decode(raw_message, true)?)?)?;
    let xml = String::from_utf8(inflated).map_err(|_| malformed("message is not UTF-8"))?;
    let mut signed_octets = format!("{}={raw_message}", param.name());
    if let Some(r) = relay {
        signed_octets.push_str("&RelayState=");
        signed_octets.push_str(r);
    }
    if let Some(a) = sig_alg {
        signed_octets.push_str("&SigAlg=");
        signed_octets.push_str(a);
    }
    Ok(RedirectMessage {
        param,
        xml,
        relay_state: relay.map(|r| percent_decode(r, true)).transpose()?,
        sig_alg: sig_alg.map(|a| percent_decode(a, true)).transpose()?,
        signature: signature.map(|s| percent_decode(s, true).and_then(|s| base64_decode(&s))).transpose()?,
        signed_octets,
    })
}

/// Verifies the query-string signature of a redirect message with a trusted certificate.
pub fn verify_redirect(
    message: &RedirectMessage,
    trusted: &[Certificate],
    allow_sha1: bool,
) -> Result<SignatureAlgorithm> {
    let (Some(alg), Some(signature)) = (&message.sig_alg, &message.signature) else {
        return Err(Error::new(Reason::Unsigned, "the redirect message carries no SigAlg/Signature"));
    };
    let algorithm = SignatureAlgorithm::from_uri(alg)
        .ok_or_else(|| Error::new(Reason::Profile, format!("SigAlg {alg:?} is not in the allow-list")))?;
    if algorithm == SignatureAlgorithm::RsaSha1 && !allow_sha1 {
        return Err(Error::new(
            Reason::Profile,
            "RSA-SHA1 signatures are refused (enable SHA-1 explicitly to accept them)",
        ));
    }
    verify_bytes(algorithm, trusted, message.signed_octets.as_bytes(), signature)?;
    Ok(algorithm)
}
