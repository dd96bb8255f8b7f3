//! The AWS Query protocol: form-encoded requests, XML answers in AWS's shapes.

use std::collections::BTreeMap;

use crate::error::AwsError;

pub const IAM_NAMESPACE: &str = "https://iam.amazonaws.com/doc/2010-05-08/";
pub const STS_NAMESPACE: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

/// The decoded parameters of a Query request (body and query string together).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(BTreeMap<String, String>);

impl Params {
    /// Decodes `a=1&b=2` parts; a repeated name is refused, as AWS refuses it.
    pub fn decode(parts: &[&str]) -> Result<Params, AwsError> {
        let mut map = BTreeMap::new();
        for text in parts {
            let pairs = idfed_saml::encoding::form_pairs(text).map_err(|_| {
                AwsError::sender(
                    400,
                    "MalformedQueryString",
                    "The request body or query string is not valid URL-encoded form data.",
                )
            })?;
            for (k, v) in pairs {
                if map.insert(k.clone(), v).is_some() {
                    return Err(AwsError::sender(
                        400,
                        "MalformedQueryString",
                        format!("Parameter {k} appears more than once."),
                    ));
                }
            }
        }
        Ok(Params(map))
    }

    /// The `Action` alone, without decoding the other parameters (a SAMLAssertion is kilobytes).
    /// `None` when there is none or its name or value is not valid form encoding.
    pub fn action_of(parts: &[&str]) -> Option<String> {
        let decode = |text| idfed_saml::encoding::percent_decode(text, true).ok();
        parts.iter().flat_map(|text| text.split('&')).find_map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            if decode(name)? == "Action" { decode(value) } else { None }
        })
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// A required parameter, or AWS's ValidationError naming it.
    pub fn required(&self, name: &str) -> Result<&str, AwsError> {
        self.get(name).ok_or_else(|| {
            AwsError::sender(
                400,
                "ValidationError",
                format!("1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null", lower_first(name)),
            )
        })
    }

    pub fn action(&self) -> Result<&str, AwsError> {
        self.get("Action").ok_or_else(|| AwsError::sender(400, "MissingAction", "Missing Action"))
    }

    /// `Name.member.1`, `Name.member.2`, … in order.
    pub fn members(&self, name: &str) -> Vec<&str> {
        self.indexed(&format!("{name}.member."), "")
    }

    /// `Name.member.N.Field` values in order of N.
    pub fn member_fields(&self, name: &str, field: &str) -> Vec<&str> {
        self.indexed(&format!("{name}.member."), &format!(".{field}"))
    }

    fn indexed(&self, prefix: &str, suffix: &str) -> Vec<&str> {
        let mut found: Vec<(u32, &str)> = self
            .0
            .iter()
            .filter_map(|(k, v)| {
                let n = k.strip_prefix(prefix)?.strip_suffix(suffix)?.parse().ok()?;
                Some((n, v.as_str()))
            })
            .collect();
        found.sort_by_key(|(n, _)| *n);
        found.into_iter().map(|(_, v)| v).collect()
    }

    /// An optional integer parameter within bounds, with AWS's validation message.
    pub fn int_in(&self, name: &str, min: i64, max: i64) -> Result<Option<i64>, AwsError> {
        let Some(text) = self.get(name) else { return Ok(None) };
        let value: i64 = text.parse().map_err(|_| {
            AwsError::sender(
                400,
                "ValidationError",
                format!(
                    "Value '{text}' at '{}' failed to satisfy constraint: Member must be a number",
                    lower_first(name)
                ),
            )
        })?;
        if value < min {
            return Err(AwsError::sender(
                400,
                "ValidationError",
                format!(
                    "1 validation error detected: Value '{value}' at '{}' failed to satisfy constraint: Member must have value greater than or equal to {min}",
                    lower_first(name)
                ),
            ));
        }
        if value > max {
            return Err(AwsError::sender(
                400,
                "ValidationError",
                format!(
                    "1 validation error detected: Value '{value}' at '{}' failed to satisfy constraint: Member must have value less than or equal to {max}",
                    lower_first(name)
                ),
            ));
        }
        Ok(Some(value))
    }
}

fn lower_first(name: &str) -> String {
    let mut chars = name.chars();
    chars.next().map(|c| c.to_ascii_lowercase().to_string() + chars.as_str()).unwrap_or_default()
}

/// XML text escaping (the same rules as the HTML forms'). A character XML 1.0 cannot carry (a
/// control character a request echoed, say) becomes U+FFFD, so that every answer still parses.
pub fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    xml_escape_into(&mut out, text);
    out
}

fn xml_escape_into(out: &mut String, text: &str) {
    if text.chars().all(xml_char) {
        idfed_saml::bindings::html_escape_into(out, text);
    } else {
        let kept: String = text.chars().map(|c| if xml_char(c) { c } else { '\u{FFFD}' }).collect();
        idfed_saml::bindings::html_escape_into(out, &kept);
    }
}

/// XML 1.0's Char production.
fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Writes the inside of a Query answer.
#[derive(Debug, Default)]
pub struct Xml(String);

impl Xml {
    pub fn leaf(&mut self, name: &str, text: &str) -> &mut Self {
        self.open(name);
        xml_escape_into(&mut self.0, text);
        self.close(name)
    }
    pub fn opt(&mut self, name: &str, text: Option<&str>) -> &mut Self {
        if let Some(t) = text {
            self.leaf(name, t);
        }
        self
    }
    pub fn node(&mut self, name: &str, inner: impl FnOnce(&mut Xml)) -> &mut Self {
        self.open(name);
        inner(self);
        self.close(name)
    }
    fn open(&mut self, name: &str) {
        self.0.push('<');
        self.0.push_str(name);
        self.0.push('>');
    }
    fn close(&mut self, name: &str) -> &mut Self {
        self.0.push_str("</");
        self.0.push_str(name);
        self.0.push('>');
        self
    }
    /// `<name><member>…</member>…</name>`.
    pub fn members<T>(&mut self, name: &str, items: &[T], each: impl Fn(&mut Xml, &T)) -> &mut Self {
        self.node(name, |x| {
            for item in items {
                x.node("member", |m| each(m, item));
            }
        })
    }
}

/// `<{Action}Response xmlns=…><{Action}Result>…</{Action}Result><ResponseMetadata>…`.
pub fn response(action: &str, namespace: &str, request_id: &str, result: impl FnOnce(&mut Xml)) -> String {
    let mut xml = Xml(String::with_capacity(1024));
    xml.0.push('<');
    xml.0.push_str(action);
    xml.0.push_str("Response xmlns=\"");
    xml.0.push_str(namespace);
    xml.0.push_str("\">");
    let result_tag = format!("{action}Result");
    let result_start = xml.0.len();
    xml.open(&result_tag);
    let content_start = xml.0.len();
    result(&mut xml);
    if xml.0.len() == content_start {
        xml.0.truncate(result_start);
    } else {
        xml.close(&result_tag);
    }
    xml.node("ResponseMetadata", |m| {
        m.leaf("RequestId", request_id);
    });
    xml.close(&format!("{action}Response"));
    xml.0
}

/// AWS's Query-protocol error document.
pub fn error_response(namespace: &str, error: &AwsError, request_id: &str) -> String {
    format!(
        "<ErrorResponse xmlns=\"{namespace}\"><Error><Type>{}</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>",
        if error.sender_fault { "Sender" } else { "Receiver" },
        xml_escape(&error.code),
        xml_escape(&error.message)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_members_and_bounds() {
        let p = Params::decode(&[
            "Action=AssumeRoleWithSAML&PolicyArns.member.2.arn=b&PolicyArns.member.1.arn=a&DurationSeconds=100",
            "Version=2011-06-15",
        ])
        .unwrap();
        assert_eq!(p.action().unwrap(), "AssumeRoleWithSAML");
        assert_eq!(p.member_fields("PolicyArns", "arn"), ["a", "b"]);
        let e = p.int_in("DurationSeconds", 900, 43200).unwrap_err();
        assert_eq!(e.code, "ValidationError");
        assert!(e.message.contains(
            "'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900"
        ));
        assert_eq!(
            p.required("RoleArn").unwrap_err().message,
            "1 validation error detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null"
        );
        assert_eq!(Params::decode(&["A=1&A=2"]).unwrap_err().code, "MalformedQueryString");
        let big = format!("SAMLAssertion={}&Act%69on=AssumeRoleWithSAML", "QUJD".repeat(2000));
        assert_eq!(Params::action_of(&["", &big]).as_deref(), Some("AssumeRoleWithSAML"));
        assert_eq!(Params::action_of(&["Action=ListRoles", "Action=CreateRole"]).as_deref(), Some("ListRoles"));
        assert_eq!(Params::action_of(&["Version=2010-05-08"]), None);
    }

    #[test]
    fn writes_aws_shapes() {
        let xml = response("ListAccountAliases", IAM_NAMESPACE, "rid", |x| {
            x.members("AccountAliases", &["corp"], |m, a| {
                m.0.push_str(&xml_escape(a));
            });
            x.leaf("IsTruncated", "false");
        });
        assert_eq!(
            xml,
            "<ListAccountAliasesResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><ListAccountAliasesResult><AccountAliases><member>corp</member></AccountAliases><IsTruncated>false</IsTruncated></ListAccountAliasesResult><ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata></ListAccountAliasesResponse>"
        );
        assert_eq!(
            response("DeleteRole", IAM_NAMESPACE, "r", |_| {}),
            "<DeleteRoleResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DeleteRoleResponse>",
            "an action without a result has no Result element"
        );
        let mut escaped = Xml::default();
        escaped.leaf("Subject", "a<b>&\"c'");
        assert_eq!(escaped.0, "<Subject>a&lt;b&gt;&amp;&quot;c&#39;</Subject>");
        let mut control = Xml::default();
        control.leaf("Description", "a\u{1}b\tc");
        assert_eq!(control.0, "<Description>a\u{FFFD}b\tc</Description>");
        assert!(error_response(IAM_NAMESPACE, &AwsError::sender(400, "X", "bad \u{0}"), "r").contains("bad \u{FFFD}"));
        let e = AwsError::sender(400, "InvalidIdentityToken", "Response signature invalid");
        assert_eq!(
            error_response(STS_NAMESPACE, &e, "r"),
            "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type><Code>InvalidIdentityToken</Code><Message>Response signature invalid</Message></Error><RequestId>r</RequestId></ErrorResponse>"
        );
    }
}
