//! The sign-in endpoints a SAML Recipient may name, and the audiences AWS accepts.

/// `urn:amazon:webservices` and its GovCloud and China forms, plus the sign-in URLs.
pub fn is_aws_audience(audience: &str, extra: &[String]) -> bool {
    matches!(
        audience,
        "urn:amazon:webservices" | "urn:amazon:webservices:govcloud" | "urn:amazon:webservices:cn-north-1"
    ) || is_signin_url(audience, extra)
}

/// `https://signin.aws.amazon.com/saml`, `…/static/saml`, `https://<region>.signin.aws.amazon.com/saml`,
/// `…/saml/acs/<provider-uuid>`, the GovCloud and China hosts, and the sandbox's own URLs.
pub fn is_signin_url(url: &str, extra: &[String]) -> bool {
    if extra.iter().any(|e| url == e || url.strip_prefix(e.as_str()).is_some_and(|rest| rest.starts_with("/acs/"))) {
        return true;
    }
    let Some(rest) = url.strip_prefix("https://") else { return false };
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let host_ok = matches!(host, "signin.aws.amazon.com" | "signin.amazonaws-us-gov.com" | "signin.amazonaws.cn")
        || host.strip_suffix(".signin.aws.amazon.com").is_some_and(|region| {
            !region.is_empty() && region.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        });
    let path_ok = path == "saml"
        || path == "static/saml"
        || path
            .strip_prefix("saml/acs/")
            .is_some_and(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric()));
    host_ok && path_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        for ok in [
            "https://signin.aws.amazon.com/saml",
            "https://us-west-2.signin.aws.amazon.com/saml",
            "https://signin.aws.amazon.com/static/saml",
            "https://signin.aws.amazon.com/saml/acs/SAMLSP4SHN3UIS2D558H46",
            "https://signin.amazonaws-us-gov.com/saml",
        ] {
            assert!(is_signin_url(ok, &[]), "{ok}");
        }
        for bad in [
            "http://signin.aws.amazon.com/saml",
            "https://signin.aws.amazon.com.evil.test/saml",
            "https://evil.test/saml",
            "https://signin.aws.amazon.com/other",
        ] {
            assert!(!is_signin_url(bad, &[]), "{bad}");
        }
        let local = vec!["http://127.0.0.1:8443/saml".to_owned()];
        assert!(is_signin_url("http://127.0.0.1:8443/saml", &local));
        assert!(is_signin_url("http://127.0.0.1:8443/saml/acs/SAMLSPX", &local));
        assert!(is_aws_audience("urn:amazon:webservices", &[]));
    }
}
