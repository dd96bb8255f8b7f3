//! Amazon Resource Names: `arn:partition:service:region:account:resource`.

use std::fmt;

use crate::pattern::glob;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Arn {
    pub partition: String,
    pub service: String,
    pub region: String,
    pub account: String,
    /// Everything after the fifth colon, e.g. `role/Okta_Role` or `instance/ID/user/X`.
    pub resource: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an ARN (arn:partition:service:region:account:resource)")]
pub struct NotAnArn(pub String);

impl Arn {
    pub fn parse(text: &str) -> Result<Arn, NotAnArn> {
        let mut parts = text.splitn(6, ':');
        let bad = || NotAnArn(text.to_owned());
        if parts.next() != Some("arn") {
            return Err(bad());
        }
        let mut next = || parts.next().map(str::to_owned).ok_or_else(bad);
        let arn = Arn { partition: next()?, service: next()?, region: next()?, account: next()?, resource: next()? };
        if arn.partition.is_empty() || arn.service.is_empty() || arn.resource.is_empty() {
            return Err(bad());
        }
        Ok(arn)
    }

    /// The resource type and name: `role/Okta_Role` → (`role`, `Okta_Role`); paths kept in the name.
    pub fn resource_type_and_name(&self) -> (&str, &str) {
        self.resource.split_once(['/', ':']).unwrap_or((&self.resource, ""))
    }

    /// The last path segment of the resource (`role/path/Name` → `Name`).
    pub fn resource_name(&self) -> &str {
        self.resource.rsplit('/').next().unwrap_or(&self.resource)
    }

    /// IAM's account-scoped ARNs have no region.
    pub fn iam(account: &str, resource: &str) -> Arn {
        Arn {
            partition: "aws".into(),
            service: "iam".into(),
            region: String::new(),
            account: account.into(),
            resource: resource.into(),
        }
    }
}

impl fmt::Display for Arn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "arn:{}:{}:{}:{}:{}", self.partition, self.service, self.region, self.account, self.resource)
    }
}

/// `ArnLike`: each of the six colon-separated parts matched with `*`/`?` (the resource part,
/// which may itself contain colons, as one piece).
pub fn arn_like(pattern: &str, value: &str) -> bool {
    let p: Vec<&str> = pattern.splitn(6, ':').collect();
    let v: Vec<&str> = value.splitn(6, ':').collect();
    p.len() == 6 && v.len() == 6 && p.iter().zip(&v).all(|(p, v)| glob(p, v, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats() {
        let a = Arn::parse("arn:aws:connect:us-east-1:111122223333:instance/abc/user/AROA:alice").unwrap();
        assert_eq!(a.service, "connect");
        assert_eq!(a.resource, "instance/abc/user/AROA:alice");
        assert_eq!(a.to_string(), "arn:aws:connect:us-east-1:111122223333:instance/abc/user/AROA:alice");
        let r = Arn::parse("arn:aws:iam::111122223333:role/path/Okta_Role").unwrap();
        assert_eq!(r.resource_type_and_name(), ("role", "path/Okta_Role"));
        assert_eq!(r.resource_name(), "Okta_Role");
        for bad in
            ["", "arn", "arn:aws", "arn:aws:iam::1", "urn:aws:iam::1:role/x", "arn::iam::1:role/x", "arn:aws:iam::1:"]
        {
            assert!(Arn::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn arn_like_matches_part_by_part() {
        assert!(arn_like("arn:aws:iam::*:role/Okta*", "arn:aws:iam::111122223333:role/Okta_Role"));
        assert!(!arn_like("arn:aws:iam::*:role/Okta*", "arn:aws:iam::111122223333:user/Okta"));
        assert!(arn_like(
            "arn:aws:connect:*:*:instance/*/user/*",
            "arn:aws:connect:us-east-1:1:instance/i/user/AROA:bob"
        ));
        assert!(!arn_like("arn:aws:iam::*", "arn:aws:iam::1:role/x"), "six parts required");
    }
}
