//! Session policies: the `Policy` and `PolicyArns` parameters of AssumeRoleWithSAML. A session
//! may do only what both the role's identity policies and its session policies allow.

use idfed_policy::{Kind, Policy};
use serde::{Deserialize, Serialize};

use crate::error::AwsError;
use crate::iam::{check_length, malformed_policy, validation};
use crate::protocol::query::Params;
use crate::state::State;

/// STS's limits: the inline document is 1–2,048 characters from tab, newline, carriage return
/// and U+0020–U+00FF; at most ten managed policy ARNs of 20–2,048 characters.
const POLICY_CHARS: std::ops::RangeInclusive<usize> = 1..=2048;
const MAX_POLICY_ARNS: usize = 10;
const ARN_CHARS: std::ops::RangeInclusive<usize> = 20..=2048;

/// The session policies a session was given, kept with it: the inline document as sent, and
/// the managed policies by ARN (read when a request is evaluated, as AWS packs only the ARN).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionPolicies {
    pub inline: Option<String>,
    pub arns: Vec<String>,
}

impl SessionPolicies {
    /// Reads and checks the parameters: AWS's ValidationError for the limits, and
    /// MalformedPolicyDocument (with IAM's text) for an inline document that is not a valid
    /// identity policy.
    pub fn from_params(params: &Params) -> Result<SessionPolicies, AwsError> {
        let inline = params.get("Policy").map(str::to_owned);
        if let Some(text) = &inline {
            check_inline(text)?;
        }
        let arns: Vec<String> = params.member_fields("PolicyArns", "arn").into_iter().map(str::to_owned).collect();
        if arns.len() > MAX_POLICY_ARNS {
            return Err(validation(
                &format!("[{}]", arns.join(", ")),
                "policyArns",
                &format!("Member must have length less than or equal to {MAX_POLICY_ARNS}"),
            ));
        }
        for arn in &arns {
            check_length(arn, "policyArns.member.arn", ARN_CHARS)?;
        }
        Ok(SessionPolicies { inline, arns })
    }

    pub fn is_empty(&self) -> bool {
        self.inline.is_none() && self.arns.is_empty()
    }

    /// Each managed policy must exist when the role is assumed, in the role's account (or be
    /// one of AWS's own, `arn:aws:iam::aws:policy/…`).
    pub fn check_arns_exist(&self, state: &State, account: &str) -> Result<(), AwsError> {
        let usable = |arn: &str| {
            let owner = arn.split(':').nth(4).unwrap_or_default();
            (owner == account || owner == "aws") && state.policies.contains_key(arn)
        };
        match self.arns.iter().find(|arn| !usable(arn)) {
            // AWS publishes no text for this refusal; this is the sandbox's.
            Some(arn) => Err(AwsError::sender(
                400,
                "MalformedPolicyDocument",
                format!("Policy {arn} does not exist or is not attachable."),
            )),
            None => Ok(()),
        }
    }

    /// The documents in force now: the inline one, then each managed one that still exists.
    pub fn documents(&self, state: &State) -> Vec<Policy> {
        let managed = self.arns.iter().filter_map(|arn| state.policies.get(arn)).map(|p| p.document.as_str());
        self.inline
            .iter()
            .map(String::as_str)
            .chain(managed)
            .filter_map(|text| Policy::parse(text, Kind::Identity).ok())
            .collect()
    }

    /// What the policies add to the packed size: the inline document without its whitespace
    /// (outside strings), and the ARNs.
    pub fn packed_bytes(&self) -> usize {
        self.inline.as_deref().map_or(0, compact_len) + self.arns.iter().map(String::len).sum::<usize>()
    }
}

fn check_inline(text: &str) -> Result<(), AwsError> {
    check_length(text, "policy", POLICY_CHARS)?;
    if !text.chars().all(|c| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{ff}')) {
        return Err(validation(
            text,
            "policy",
            "Member must satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u00FF]+",
        ));
    }
    Policy::parse(text, Kind::Identity).map(drop).map_err(malformed_policy)
}

/// The length of a JSON text without the whitespace between its tokens.
fn compact_len(json: &str) -> usize {
    let (mut length, mut in_string, mut escaped) = (0, false, false);
    for c in json.chars() {
        if in_string {
            length += c.len_utf8();
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
        } else if !c.is_whitespace() {
            length += c.len_utf8();
            in_string = c == '"';
        }
    }
    length
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitespace_counts_only_inside_strings() {
        assert_eq!(compact_len("{ \"a b\" : [ 1 ,\n 2 ] }"), "{\"a b\":[1,2]}".len());
        assert_eq!(compact_len(r#"{"q": "say \"x y\""}"#), r#"{"q":"say \"x y\""}"#.len());
    }
}
