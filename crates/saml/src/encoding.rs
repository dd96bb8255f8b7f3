//! Turning what people paste into XML text: raw XML, base64 (with line breaks, a UTF-8 BOM, or
//! URL-encoding), a form body `SAMLResponse=…&RelayState=…`, or a browser HAR export.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::error::{Result, malformed};

const BOM: char = '\u{feff}';

/// Standard base64 with any ASCII whitespace in it (the line-wrapped form IdPs post).
pub fn base64_decode(text: &str) -> Result<Vec<u8>> {
    let text = text.trim_start_matches(BOM).as_bytes();
    let decoded = if text.iter().any(u8::is_ascii_whitespace) {
        let compact: Vec<u8> = text.iter().copied().filter(|c| !c.is_ascii_whitespace()).collect();
        STANDARD.decode(compact)
    } else {
        STANDARD.decode(text)
    };
    decoded.map_err(|e| malformed(format!("not valid base64: {e}")))
}

pub fn base64_encode(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Decodes `%XX` escapes and, when `plus_is_space`, `+` as a space (form encoding).
pub fn percent_decode(text: &str, plus_is_space: bool) -> Result<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    loop {
        let rest = bytes.get(i..).unwrap_or_default();
        // Runs without an escape are copied whole.
        let next = if plus_is_space { memchr::memchr2(b'%', b'+', rest) } else { memchr::memchr(b'%', rest) };
        let Some(offset) = next else {
            out.extend_from_slice(rest);
            break;
        };
        out.extend_from_slice(rest.get(..offset).unwrap_or_default());
        i += offset;
        if bytes.get(i) == Some(&b'+') {
            out.push(b' ');
            i += 1;
        } else {
            let value =
                bytes.get(i + 1..i + 3).and_then(|h| Some(hex_digit(*h.first()?)? << 4 | hex_digit(*h.get(1)?)?));
            out.push(value.ok_or_else(|| malformed("bad %-escape in URL-encoded text"))?);
            i += 3;
        }
    }
    String::from_utf8(out).map_err(|_| malformed("URL-encoded text is not UTF-8"))
}

fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Hands `text` to `push` in pieces: the runs between the bytes `replacement` names, each copied
/// whole, and those bytes' replacements. The named bytes must be ASCII, so every run is whole
/// characters. Shared by the canonical form's escapes and the HTML/XML escape.
pub(crate) fn escape_ascii(text: &str, replacement: impl Fn(u8) -> Option<&'static str>, mut push: impl FnMut(&str)) {
    let bytes = text.as_bytes();
    // Most values need no escape; a scan without early exit lets the compiler vectorize it.
    if !bytes.iter().fold(false, |found, b| found | replacement(*b).is_some()) {
        push(text);
        return;
    }
    let mut run = 0;
    for (i, b) in bytes.iter().enumerate() {
        if let Some(escaped) = replacement(*b) {
            push(text.get(run..i).unwrap_or_default());
            push(escaped);
            run = i + 1;
        }
    }
    push(text.get(run..).unwrap_or_default());
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3 / 2);
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Splits `a=1&b=2` into decoded pairs.
pub fn form_pairs(body: &str) -> Result<Vec<(String, String)>> {
    body.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            Ok((percent_decode(k, true)?, percent_decode(v, true)?))
        })
        .collect()
}

/// A SAML message found in pasted input, with the RelayState when the input carried one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub xml: String,
    pub relay_state: Option<String>,
}

/// Finds the SAML XML in whatever the user gave: raw XML, base64 (URL-encoded or not, with a BOM
/// or line breaks), a form body, or a HAR file with a POST carrying `SAMLResponse`/`SAMLRequest`.
pub fn find_saml(input: &[u8]) -> Result<Found> {
    let text = std::str::from_utf8(input).map_err(|_| malformed("input is not UTF-8"))?;
    let text = text.trim_start_matches(BOM).trim();
    if text.starts_with('<') {
        return Ok(Found { xml: text.to_owned(), relay_state: None });
    }
    if text.starts_with('{') {
        return find_in_har(text);
    }
    if text.contains("SAMLResponse=") || text.contains("SAMLRequest=") {
        let pairs = form_pairs(text)?;
        let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let message = get("SAMLResponse").or_else(|| get("SAMLRequest")).unwrap_or_default();
        return Ok(Found { xml: decode_message(&message)?, relay_state: get("RelayState") });
    }
    let text = if text.contains('%') { percent_decode(text, false)? } else { text.to_owned() };
    Ok(Found { xml: decode_message(&text)?, relay_state: None })
}

/// base64 → XML text; a DEFLATE-compressed payload (HTTP-Redirect) is inflated.
fn decode_message(b64: &str) -> Result<String> {
    let bytes = base64_decode(b64)?;
    let bytes = match bytes.first() {
        Some(b'<') | Some(0xEF) => bytes,
        _ => crate::bindings::inflate(&bytes)?,
    };
    let xml = String::from_utf8(bytes).map_err(|_| malformed("decoded message is not UTF-8"))?;
    Ok(xml.trim_start_matches(BOM).to_owned())
}

/// Finds the first SAML message posted in a HAR capture: a form param `SAMLResponse` or
/// `SAMLRequest`, or a request whose URL query carries one.
fn find_in_har(text: &str) -> Result<Found> {
    let mut rest = text;
    for key in ["\"SAMLResponse\"", "\"SAMLRequest\""] {
        // Bounded: each look-up scans ahead for its value.
        for _ in 0..64 {
            let Some(at) = rest.find(key) else { break };
            rest = rest.get(at + key.len()..).unwrap_or_default();
            if let Some(value) = json_value_after(rest) {
                let value = if value.contains('%') { percent_decode(&value, true)? } else { value };
                if let Ok(xml) = decode_message(&value) {
                    return Ok(Found { xml, relay_state: har_relay_state(text, text.len() - rest.len()) });
                }
            }
        }
        rest = text;
    }
    for marker in ["SAMLResponse=", "SAMLRequest="] {
        if let Some(at) = text.find(marker) {
            let value = percent_decode(form_field(text.get(at + marker.len()..).unwrap_or_default()), true)?;
            return Ok(Found { xml: decode_message(&value)?, relay_state: har_relay_state(text, at) });
        }
    }
    Err(malformed("no SAMLResponse or SAMLRequest found in the HAR file"))
}

/// A form field's value in posted text inside a HAR's JSON string: up to the next field (`&`),
/// the string's end (`"`) or an escape (`\\`).
fn form_field(tail: &str) -> &str {
    tail.get(..tail.find(['&', '"', '\\']).unwrap_or(tail.len())).unwrap_or_default()
}

/// The RelayState posted with the message found at `at` in a HAR capture: a form param, or a
/// field of the posted text, in the same entry (between the `"request"` keys around `at`).
fn har_relay_state(text: &str, at: usize) -> Option<String> {
    let start = text.get(..at)?.rfind("\"request\"").unwrap_or(0);
    let end = text.get(at..)?.find("\"request\"").map_or(text.len(), |n| at + n);
    let entry = text.get(start..end)?;
    let value = match entry.find("\"RelayState\"") {
        Some(key) => json_value_after(entry.get(key + 12..)?)?,
        None => form_field(entry.get(entry.find("RelayState=")? + 11..)?).to_owned(),
    };
    let value = if value.contains('%') || value.contains('+') { percent_decode(&value, true).ok()? } else { value };
    (!value.is_empty()).then_some(value)
}

/// In `"name": "SAMLResponse", "value": "…"`, the string after the next `"value"` key.
fn json_value_after(text: &str) -> Option<String> {
    let at = text.find("\"value\"")?;
    let tail = text.get(at + 7..)?.trim_start().strip_prefix(':')?.trim_start().strip_prefix('"')?;
    let mut out = String::new();
    let mut chars = tail.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(out),
            '\\' => match chars.next()? {
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                't' => out.push('\t'),
                'u' => {
                    let hex: String = chars.by_ref().take(4).collect();
                    out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                }
                other => out.push(other),
            },
            _ => out.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const XML: &str = "<samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\"/>";

    #[test]
    fn finds_xml_in_every_form() -> Result<()> {
        let b64 = base64_encode(XML.as_bytes());
        let wrapped: String =
            b64.as_bytes().chunks(10).map(|c| String::from_utf8_lossy(c).into_owned() + "\r\n").collect();
        let forms = [
            XML.to_owned(),
            b64.clone(),
            wrapped,
            format!("\u{feff}{b64}"),
            percent_encode(&b64),
            format!("SAMLResponse={}&RelayState=https%3A%2F%2Fx", percent_encode(&b64)),
            format!(
                "{{\"log\":{{\"entries\":[{{\"request\":{{\"postData\":{{\"params\":[{{\"name\":\"SAMLResponse\",\"value\":\"{}\"}}]}}}}}}]}}}}",
                percent_encode(&b64)
            ),
        ];
        for form in forms {
            assert_eq!(find_saml(form.as_bytes())?.xml, XML, "input {form:?}");
        }
        let relay = find_saml(format!("SAMLResponse={}&RelayState=https%3A%2F%2Fx", percent_encode(&b64)).as_bytes())?;
        assert_eq!(relay.relay_state.as_deref(), Some("https://x"));
        Ok(())
    }

    /// A browser's HAR export carries the RelayState posted with the response, as a form param
    /// or in the posted text; one from another request of the capture is not taken for it.
    #[test]
    fn finds_the_relay_state_posted_with_the_response_in_a_har() -> Result<()> {
        let b64 = percent_encode(&base64_encode(XML.as_bytes()));
        let federate = "https%3A%2F%2Fus-east-1.console.aws.amazon.com%2Fconnect%2Ffederate%2Fabc";
        let other =
            r#"{"request":{"url":"https://idp/","postData":{"params":[{"name":"RelayState","value":"elsewhere"}]}}}"#;
        let by_params = format!(
            r#"{{"log":{{"entries":[{other},{{"request":{{"postData":{{"params":[{{"name":"SAMLResponse","value":"{b64}"}},{{"name":"RelayState","value":"{federate}"}}]}}}}}}]}}}}"#
        );
        let by_text = format!(
            r#"{{"log":{{"entries":[{other},{{"request":{{"postData":{{"mimeType":"application/x-www-form-urlencoded","text":"SAMLResponse={b64}&RelayState={federate}"}}}}}}]}}}}"#
        );
        let without = format!(
            r#"{{"log":{{"entries":[{other},{{"request":{{"postData":{{"params":[{{"name":"SAMLResponse","value":"{b64}"}}]}}}}}}]}}}}"#
        );
        for har in [by_params, by_text] {
            let found = find_saml(har.as_bytes())?;
            assert_eq!(found.xml, XML);
            assert_eq!(
                found.relay_state.as_deref(),
                Some("https://us-east-1.console.aws.amazon.com/connect/federate/abc"),
                "{har}"
            );
        }
        assert_eq!(find_saml(without.as_bytes())?.relay_state, None, "not another request's");
        Ok(())
    }

    #[test]
    fn refuses_garbage() {
        assert!(find_saml(b"!!not base64!!").is_err());
        assert!(find_saml(&[0xff, 0xfe]).is_err());
        assert!(percent_decode("%G1", false).is_err());
    }

    #[test]
    fn percent_decoding_copies_runs_and_is_strict_about_escapes() -> Result<()> {
        assert_eq!(percent_decode("a+b%2Bc%2fd%C3%A9", true)?, "a b+c/d\u{e9}");
        assert_eq!(percent_decode("a+b", false)?, "a+b");
        assert_eq!(percent_decode("", true)?, "");
        assert_eq!(percent_decode("%41%42", true)?, "AB");
        for bad in ["%4", "%", "abc%zz", "%+1", "%-1", "%C3"] {
            assert!(percent_decode(bad, true).is_err(), "{bad:?}");
        }
        Ok(())
    }
}
