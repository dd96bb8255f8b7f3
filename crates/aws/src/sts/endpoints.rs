//! The sign-in endpoints a SAML Recipient may name, and the audiences AWS accepts, per partition.

/// The AWS partition an account lives in: each has its own ARN prefix, sign-in host and
/// audience, and a response for one is not accepted by another.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Partition {
    #[default]
    #[serde(rename = "aws")]
    Aws,
    #[serde(rename = "aws-us-gov")]
    GovCloud,
    #[serde(rename = "aws-cn")]
    China,
}

impl Partition {
    /// As ARNs spell it: `aws`, `aws-us-gov`, `aws-cn`.
    pub fn name(self) -> &'static str {
        match self {
            Partition::Aws => "aws",
            Partition::GovCloud => "aws-us-gov",
            Partition::China => "aws-cn",
        }
    }

    /// The ARN of `resource` in `account` (`region` empty for global services).
    pub fn arn(self, service: &str, region: &str, account: &str, resource: &str) -> String {
        format!("arn:{}:{service}:{region}:{account}:{resource}", self.name())
    }

    pub fn parse(name: &str) -> Option<Partition> {
        [Partition::Aws, Partition::GovCloud, Partition::China].into_iter().find(|p| p.name() == name)
    }

    /// `arn:aws-us-gov:…` is GovCloud, `arn:aws-cn:…` China, anything else the commercial one.
    pub fn of_arn(arn: &str) -> Partition {
        match arn.split(':').nth(1) {
            Some("aws-us-gov") => Partition::GovCloud,
            Some("aws-cn") => Partition::China,
            _ => Partition::Aws,
        }
    }

    /// The partition of a region: `us-gov-…` is GovCloud, `cn-…` China.
    pub fn of_region(region: &str) -> Partition {
        if region.starts_with("us-gov-") {
            Partition::GovCloud
        } else if region.starts_with("cn-") {
            Partition::China
        } else {
            Partition::Aws
        }
    }

    /// IAM's endpoint in this partition (IAM is global within it), and the region its requests
    /// are signed for.
    pub fn iam_endpoint(self) -> (&'static str, &'static str) {
        match self {
            Partition::Aws => ("https://iam.amazonaws.com", "us-east-1"),
            Partition::GovCloud => ("https://iam.us-gov.amazonaws.com", "us-gov-west-1"),
            Partition::China => ("https://iam.cn-north-1.amazonaws.com.cn", "cn-north-1"),
        }
    }

    /// A regional service's endpoint, such as `https://connect.us-west-2.amazonaws.com`.
    pub fn regional_endpoint(self, service: &str, region: &str) -> String {
        let suffix = if self == Partition::China { "amazonaws.com.cn" } else { "amazonaws.com" };
        format!("https://{service}.{region}.{suffix}")
    }

    /// The entity ID an IdP names as the audience.
    pub fn audience(self) -> &'static str {
        match self {
            Partition::Aws => "urn:amazon:webservices",
            Partition::GovCloud => "urn:amazon:webservices:govcloud",
            Partition::China => "urn:amazon:webservices:cn-north-1",
        }
    }

    fn host_ok(self, host: &str) -> bool {
        match self {
            Partition::Aws => {
                host == "signin.aws.amazon.com"
                    || host.strip_suffix(".signin.aws.amazon.com").is_some_and(is_region_label)
            }
            Partition::GovCloud => host == "signin.amazonaws-us-gov.com",
            Partition::China => host == "signin.amazonaws.cn",
        }
    }
}

/// A host label that can be a region (`us-east-1`): lower-case letters, digits and dashes.
pub(crate) fn is_region_label(label: &str) -> bool {
    !label.is_empty() && label.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// The partition's entity ID, or one of its sign-in URLs (older AWS guidance allowed both).
pub fn is_aws_audience(audience: &str, partition: Partition) -> bool {
    audience == partition.audience() || is_aws_signin_url(audience, partition)
}

/// One of the partition's sign-in endpoints (`https://signin.aws.amazon.com/saml`,
/// `…/static/saml`, `https://<region>.signin.aws.amazon.com/saml`, `…/saml/acs/<provider-id>`),
/// or one of the sandbox's own (`extra`, with their `/acs/<provider-id>` forms).
pub fn is_signin_url(url: &str, partition: Partition, extra: &[String]) -> bool {
    extra.iter().any(|e| url == e || url.strip_prefix(e.as_str()).is_some_and(|rest| acs_id(rest).is_some()))
        || is_aws_signin_url(url, partition)
}

fn is_aws_signin_url(url: &str, partition: Partition) -> bool {
    let Some(rest) = url.strip_prefix("https://") else { return false };
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    partition.host_ok(host) && endpoint_path(&format!("/{path}")).is_some()
}

/// The sign-in endpoint a URL or path names, as the sandbox serves it: `/saml` (also for
/// AWS's `/static/saml`) or `/saml/acs/<provider-id>`; `None` for anything else.
pub fn endpoint_path(url_or_path: &str) -> Option<String> {
    let path = match url_or_path.split_once("://") {
        Some((_, rest)) => rest.find('/').and_then(|i| rest.get(i..)).unwrap_or(""),
        None => url_or_path,
    };
    match path {
        "/saml" | "/static/saml" => Some("/saml".to_owned()),
        _ => path.strip_prefix("/saml").and_then(acs_id).map(|id| format!("/saml/acs/{id}")),
    }
}

/// The provider id of `/acs/<id>`: letters and digits only.
fn acs_id(rest: &str) -> Option<&str> {
    rest.strip_prefix("/acs/").filter(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// The provider id a sign-in URL or path ends in (`…/saml/acs/<id>`), if any.
pub fn provider_id_of(url_or_path: &str) -> Option<String> {
    endpoint_path(url_or_path)?.strip_prefix("/saml/acs/").map(str::to_owned)
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
        ] {
            assert!(is_signin_url(ok, Partition::Aws, &[]), "{ok}");
        }
        for bad in [
            "http://signin.aws.amazon.com/saml",
            "https://signin.aws.amazon.com.evil.test/saml",
            "https://evil.test/saml",
            "https://signin.aws.amazon.com/other",
            "https://signin.aws.amazon.com/saml/acs/",
            "https://signin.aws.amazon.com/saml/acs/a/b",
            "https://signin.amazonaws-us-gov.com/saml",
        ] {
            assert!(!is_signin_url(bad, Partition::Aws, &[]), "{bad}");
        }
        assert!(is_signin_url("https://signin.amazonaws-us-gov.com/saml", Partition::GovCloud, &[]));
        assert!(!is_signin_url("https://signin.aws.amazon.com/saml", Partition::China, &[]));
        let local = vec!["http://127.0.0.1:8443/saml".to_owned()];
        assert!(is_signin_url("http://127.0.0.1:8443/saml", Partition::Aws, &local));
        assert!(is_signin_url("http://127.0.0.1:8443/saml/acs/SAMLSPX", Partition::Aws, &local));
        assert!(!is_signin_url("http://127.0.0.1:8443/saml/other", Partition::Aws, &local));
    }

    #[test]
    fn audiences_belong_to_the_providers_partition() {
        assert!(is_aws_audience("urn:amazon:webservices", Partition::Aws));
        assert!(is_aws_audience("https://signin.aws.amazon.com/saml", Partition::Aws));
        assert!(!is_aws_audience("urn:amazon:webservices:govcloud", Partition::Aws));
        assert!(
            !is_aws_audience("http://127.0.0.1:8443/saml", Partition::Aws),
            "the sandbox's URL is not AWS's audience"
        );
        assert!(is_aws_audience("urn:amazon:webservices:govcloud", Partition::GovCloud));
        assert!(!is_aws_audience("urn:amazon:webservices", Partition::China));
        assert_eq!(Partition::of_arn("arn:aws-us-gov:iam::1:saml-provider/x"), Partition::GovCloud);
        assert_eq!(Partition::of_arn("arn:aws-cn:iam::1:saml-provider/x"), Partition::China);
        assert_eq!(Partition::of_arn("arn:aws:iam::1:saml-provider/x"), Partition::Aws);
    }

    #[test]
    fn endpoint_paths() {
        assert_eq!(endpoint_path("https://signin.aws.amazon.com/static/saml").as_deref(), Some("/saml"));
        assert_eq!(endpoint_path("http://127.0.0.1:1/saml/acs/SAMLX").as_deref(), Some("/saml/acs/SAMLX"));
        assert_eq!(endpoint_path("/saml/acs/SAMLX").as_deref(), Some("/saml/acs/SAMLX"));
        assert_eq!(endpoint_path("https://signin.aws.amazon.com"), None);
        assert_eq!(provider_id_of("https://signin.aws.amazon.com/saml/acs/SAMLX").as_deref(), Some("SAMLX"));
        assert_eq!(provider_id_of("/saml"), None);
    }
}
