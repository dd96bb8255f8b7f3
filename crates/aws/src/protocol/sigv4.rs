//! Verifying AWS Signature Version 4 on incoming requests: our own canonicalizer, AWS-LC's
//! HMAC-SHA256. Errors carry the codes and texts AWS answers with.

use aws_lc_rs::{digest, hmac};

use crate::error::AwsError;

/// The parts of an HTTP request that SigV4 covers, as received.
#[derive(Debug, Clone)]
pub struct HttpParts<'a> {
    pub method: &'a str,
    /// The path as sent, still percent-encoded.
    pub path: &'a str,
    /// The query string as sent, without `?`.
    pub query: &'a str,
    /// Header names in any case, values as received.
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

impl HttpParts<'_> {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// `Authorization: AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/iam/aws4_request,
/// SignedHeaders=host;x-amz-date, Signature=hex`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    pub access_key: String,
    pub date: String,
    pub region: String,
    pub service: String,
    pub signed_headers: Vec<String>,
    pub signature: String,
}

fn incomplete(message: impl Into<String>) -> AwsError {
    AwsError::sender(400, "IncompleteSignature", message)
}

impl Authorization {
    pub fn parse(header: &str) -> Result<Authorization, AwsError> {
        let rest = header.strip_prefix("AWS4-HMAC-SHA256 ").ok_or_else(|| {
            incomplete(format!("Authorization header requires the AWS4-HMAC-SHA256 algorithm: {header}"))
        })?;
        let (mut credential, mut signed, mut signature) = (None, None, None);
        for part in rest.split(',').map(str::trim) {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            match k {
                "Credential" => credential = Some(v),
                "SignedHeaders" => signed = Some(v),
                "Signature" => signature = Some(v),
                _ => {}
            }
        }
        let missing = |what: &str| {
            incomplete(format!("Authorization header requires '{what}' parameter. Authorization={header}"))
        };
        let credential = credential.ok_or_else(|| missing("Credential"))?;
        let signed = signed.ok_or_else(|| missing("SignedHeaders"))?;
        let signature = signature.ok_or_else(|| missing("Signature"))?;
        let scope: Vec<&str> = credential.split('/').collect();
        let [access_key, date, region, service, terminator] = scope.as_slice() else {
            return Err(incomplete(format!("Credential should be scoped to a valid region, not '{credential}'. ")));
        };
        if *terminator != "aws4_request" {
            return Err(incomplete(format!(
                "Credential should be scoped with a valid terminator: 'aws4_request', not '{terminator}'. "
            )));
        }
        Ok(Authorization {
            access_key: (*access_key).to_owned(),
            date: (*date).to_owned(),
            region: (*region).to_owned(),
            service: (*service).to_owned(),
            signed_headers: signed.split(';').map(str::to_ascii_lowercase).collect(),
            signature: signature.to_ascii_lowercase(),
        })
    }

    pub fn scope(&self) -> String {
        format!("{}/{}/{}/aws4_request", self.date, self.region, self.service)
    }
}

/// RFC 3986 encoding as SigV4 wants it: unreserved characters kept, everything else `%XX`
/// (upper case); `/` kept when `keep_slash`.
pub fn uri_encode(text: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') || (keep_slash && b == b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn uri_decode(text: &str) -> String {
    idfed_saml::encoding::percent_decode(text, true).unwrap_or_else(|_| text.to_owned())
}

/// The canonical request of SigV4 for a non-S3 service.
pub fn canonical_request(parts: &HttpParts, signed_headers: &[String], payload_hash: &str) -> String {
    // Non-S3 services encode the (already encoded) path once more, segment by segment.
    let path = if parts.path.is_empty() { "/" } else { parts.path };
    let canonical_uri = uri_encode(path, true);
    let mut query: Vec<(String, String)> = parts
        .query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (uri_encode(&uri_decode(k), false), uri_encode(&uri_decode(v), false))
        })
        .collect();
    query.sort();
    let canonical_query = query.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
    let mut canonical_headers = String::new();
    for name in signed_headers {
        let values: Vec<String> = parts
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        canonical_headers.push_str(name);
        canonical_headers.push(':');
        canonical_headers.push_str(&values.join(","));
        canonical_headers.push('\n');
    }
    format!(
        "{}\n{canonical_uri}\n{canonical_query}\n{canonical_headers}\n{}\n{payload_hash}",
        parts.method,
        signed_headers.join(";")
    )
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex(digest::digest(&digest::SHA256, data).as_ref())
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data).as_ref().to_vec()
}

/// `kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")`.
pub fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> Vec<u8> {
    let k_date = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, service.as_bytes());
    hmac(&k_service, b"aws4_request")
}

pub fn string_to_sign(amz_date: &str, scope: &str, canonical_request: &str) -> String {
    format!("AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}", sha256_hex(canonical_request.as_bytes()))
}

/// What a verified request proves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub access_key: String,
    pub region: String,
    pub service: String,
}

/// Verifies the request's Authorization header with the secret of its access key.
/// `secret_of` returns the secret for an access key the sandbox issued, or `None`.
/// `now_unix` bounds the request time to AWS's 15 minutes either way.
pub fn verify(
    parts: &HttpParts,
    now_unix: i64,
    secret_of: impl Fn(&str) -> Option<String>,
) -> Result<Verified, AwsError> {
    let header = parts.header("authorization").ok_or_else(|| {
        AwsError::sender(403, "MissingAuthenticationToken", "Request is missing Authentication Token")
    })?;
    let auth = Authorization::parse(header)?;
    let amz_date = parts.header("x-amz-date").ok_or_else(|| {
        incomplete("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
    })?;
    if !auth.signed_headers.iter().any(|h| h == "host") {
        return Err(incomplete("Signature must include the host header"));
    }
    let request_time = parse_amz_date(amz_date).ok_or_else(|| incomplete(format!("Invalid X-Amz-Date {amz_date}")))?;
    if !amz_date.starts_with(&auth.date) {
        return Err(AwsError::sender(
            403,
            "SignatureDoesNotMatch",
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP",
        ));
    }
    if (now_unix - request_time).abs() > 15 * 60 {
        return Err(AwsError::sender(
            403,
            "SignatureDoesNotMatch",
            format!(
                "Signature expired: {amz_date} is now earlier than the allowed window (15 minutes either side of the server's time)"
            ),
        ));
    }
    let secret = secret_of(&auth.access_key).ok_or_else(|| {
        AwsError::sender(403, "InvalidClientTokenId", "The security token included in the request is invalid.")
    })?;
    // The body is always hashed here: a client's `x-amz-content-sha256` (or UNSIGNED-PAYLOAD)
    // would let a captured signature carry any body, as IAM, STS and Connect never allow.
    let payload_hash = sha256_hex(parts.body);
    let canonical = canonical_request(parts, &auth.signed_headers, &payload_hash);
    let to_sign = string_to_sign(amz_date, &auth.scope(), &canonical);
    let expected = hex(&hmac(&signing_key(&secret, &auth.date, &auth.region, &auth.service), to_sign.as_bytes()));
    if !constant_time_eq(expected.as_bytes(), auth.signature.as_bytes()) {
        return Err(AwsError::sender(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
        ));
    }
    Ok(Verified { access_key: auth.access_key, region: auth.region, service: auth.service })
}

/// `20150830T123600Z` → Unix seconds.
fn parse_amz_date(text: &str) -> Option<i64> {
    if text.len() != 16 || text.as_bytes().get(8) != Some(&b'T') || !text.ends_with('Z') {
        return None;
    }
    let iso = format!(
        "{}-{}-{}T{}:{}:{}Z",
        text.get(0..4)?,
        text.get(4..6)?,
        text.get(6..8)?,
        text.get(9..11)?,
        text.get(11..13)?,
        text.get(13..15)?
    );
    idfed_saml::Instant::parse(&iso).ok().map(idfed_saml::Instant::unix_seconds)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    // The worked example of AWS's SigV4 documentation (IAM ListUsers, 2015-08-30).
    fn example() -> Vec<(String, String)> {
        vec![
            ("Content-Type".into(), "application/x-www-form-urlencoded; charset=utf-8".into()),
            ("Host".into(), "iam.amazonaws.com".into()),
            ("X-Amz-Date".into(), "20150830T123600Z".into()),
        ]
    }

    #[test]
    fn aws_documentation_example() {
        let headers = example();
        let parts = HttpParts {
            method: "GET",
            path: "/",
            query: "Action=ListUsers&Version=2010-05-08",
            headers: &headers,
            body: b"",
        };
        let signed: Vec<String> = ["content-type", "host", "x-amz-date"].map(String::from).to_vec();
        let canonical = canonical_request(&parts, &signed, &sha256_hex(b""));
        assert_eq!(
            sha256_hex(canonical.as_bytes()),
            "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59"
        );
        let key = signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20150830", "us-east-1", "iam");
        assert_eq!(hex(&key), "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9");
        let to_sign = string_to_sign("20150830T123600Z", "20150830/us-east-1/iam/aws4_request", &canonical);
        assert_eq!(
            hex(&hmac(&key, to_sign.as_bytes())),
            "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
        );
    }

    #[test]
    fn verify_accepts_the_example_and_names_each_failure() {
        let mut headers = example();
        headers.push((
            "Authorization".into(),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7".into(),
        ));
        let parts = HttpParts {
            method: "GET",
            path: "/",
            query: "Action=ListUsers&Version=2010-05-08",
            headers: &headers,
            body: b"",
        };
        let now = 1_440_938_160; // 2015-08-30T12:36:00Z
        let secret = |k: &str| (k == "AKIDEXAMPLE").then(|| "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".to_owned());
        let ok = verify(&parts, now, secret).unwrap();
        assert_eq!((ok.access_key.as_str(), ok.service.as_str()), ("AKIDEXAMPLE", "iam"));
        assert_eq!(verify(&parts, now, |_| None).unwrap_err().code, "InvalidClientTokenId");
        assert_eq!(verify(&parts, now, |_| Some("wrong".into())).unwrap_err().code, "SignatureDoesNotMatch");
        let late = verify(&parts, now + 16 * 60, secret).unwrap_err();
        assert!(late.message.starts_with("Signature expired"), "{}", late.message);
        let tampered = HttpParts { query: "Action=ListUsers&Version=2010-05-09", ..parts.clone() };
        assert_eq!(verify(&tampered, now, secret).unwrap_err().code, "SignatureDoesNotMatch");
        // A captured signature cannot carry another body, whatever payload hash the request claims.
        let mut claimed = headers.clone();
        let empty_body_hash = sha256_hex(b"");
        claimed.push(("X-Amz-Content-SHA256".into(), empty_body_hash));
        let swapped = HttpParts { headers: &claimed, body: b"Action=CreateUser&UserName=mallory", ..parts.clone() };
        assert_eq!(verify(&swapped, now, secret).unwrap_err().code, "SignatureDoesNotMatch");
        let none = HttpParts { headers: &headers[..3], ..parts };
        let e = verify(&none, now, secret).unwrap_err();
        assert_eq!((e.code.as_str(), e.status), ("MissingAuthenticationToken", 403));
    }
}
