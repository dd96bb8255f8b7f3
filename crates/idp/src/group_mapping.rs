//! "Use Group Mapping": AWS roles named by group names, as Okta's AWS app does for several
//! accounts. A group filter (a regex with Okta's `(?{{name}}…)` captures) picks the groups and
//! captures the account and role; the role value pattern turns the captures into a Role value.

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::error::{IdpError, Result};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupMapping {
    /// Which groups are considered, by source (`okta`, `active_directory`, …).
    #[serde(default = "crate::directory::default_group_source")]
    pub app_filter: String,
    /// For example `aws#(?{{accountid}}\d+)#(?{{role}}[\w\-]+)`. It must match a whole name.
    pub group_filter: String,
    /// For example `arn:aws:iam::${accountid}:saml-provider/Okta,arn:aws:iam::${accountid}:role/${role}`.
    pub role_value_pattern: String,
}

/// A mapping ready to apply.
#[derive(Debug)]
pub struct CompiledMapping {
    source: String,
    filter: Regex,
    pattern: String,
}

impl GroupMapping {
    pub fn compile(&self) -> Result<CompiledMapping> {
        let translated = self.group_filter.replace("(?{{", "(?P<").replace("}}", ">");
        let filter = regex::RegexBuilder::new(&format!("^(?:{translated})$"))
            .size_limit(1 << 20)
            .build()
            .map_err(|e| IdpError::invalid(format!("group filter: {e}")))?;
        let captures: Vec<&str> = filter.capture_names().flatten().collect();
        for variable in pattern_variables(&self.role_value_pattern)? {
            if !captures.contains(&variable) {
                return Err(IdpError::invalid(format!(
                    "role value pattern uses ${{{variable}}} but the group filter captures no {variable:?} \
                     (write (?{{{{{variable}}}}}…) in the filter)"
                )));
            }
        }
        if !self.role_value_pattern.contains(":role/") || !self.role_value_pattern.contains(":saml-provider/") {
            return Err(IdpError::invalid(
                "the role value pattern must produce a role ARN and a SAML provider ARN separated by a comma",
            ));
        }
        Ok(CompiledMapping { source: self.app_filter.clone(), filter, pattern: self.role_value_pattern.clone() })
    }
}

/// The `${name}` variables of a pattern.
fn pattern_variables(pattern: &str) -> Result<Vec<&str>> {
    let mut variables = Vec::new();
    let mut rest = pattern;
    while let Some(start) = rest.find("${") {
        let after = rest.get(start + 2..).unwrap_or_default();
        let Some(end) = after.find('}') else {
            return Err(IdpError::invalid("role value pattern: a ${ is not closed"));
        };
        variables.push(after.get(..end).unwrap_or_default());
        rest = after.get(end + 1..).unwrap_or_default();
    }
    Ok(variables)
}

impl CompiledMapping {
    /// The Role values for a person's groups (name, source), in group order, without repeats.
    pub fn role_values<'a>(&self, groups: impl IntoIterator<Item = (&'a str, &'a str)>) -> Vec<String> {
        let mut values: Vec<String> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (name, source) in groups {
            if !source.eq_ignore_ascii_case(&self.source) {
                continue;
            }
            let Some(captures) = self.filter.captures(name) else { continue };
            let mut value = self.pattern.clone();
            for capture_name in self.filter.capture_names().flatten() {
                let text = captures.name(capture_name).map(|m| m.as_str()).unwrap_or_default();
                value = value.replace(&format!("${{{capture_name}}}"), text);
            }
            if seen.insert(value.clone()) {
                values.push(value);
            }
        }
        values
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping() -> GroupMapping {
        GroupMapping {
            app_filter: "okta".into(),
            group_filter: r"aws#(?{{accountid}}\d{12})#(?{{role}}[\w\-]+)".into(),
            role_value_pattern: "arn:aws:iam::${accountid}:saml-provider/Okta,arn:aws:iam::${accountid}:role/${role}"
                .into(),
        }
    }

    #[test]
    fn groups_across_two_accounts_become_role_pairs() {
        let compiled = mapping().compile().unwrap();
        let groups = [
            ("aws#111122223333#Admin", "okta"),
            ("aws#444455556666#ReadOnly", "okta"),
            ("aws#444455556666#ReadOnly", "okta"),
            ("aws#777788889999#FromAd", "active_directory"),
            ("Everyone", "okta"),
            ("xaws#111122223333#Admin", "okta"),
        ];
        assert_eq!(
            compiled.role_values(groups),
            vec![
                "arn:aws:iam::111122223333:saml-provider/Okta,arn:aws:iam::111122223333:role/Admin".to_owned(),
                "arn:aws:iam::444455556666:saml-provider/Okta,arn:aws:iam::444455556666:role/ReadOnly".to_owned(),
            ]
        );
    }

    #[test]
    fn mistakes_are_refused_when_saved() {
        let mut bad = mapping();
        bad.group_filter = "aws#(".into();
        assert!(bad.compile().unwrap_err().message.contains("group filter"));
        let mut bad = mapping();
        bad.group_filter = r"aws#(?{{role}}\w+)".into();
        assert!(bad.compile().unwrap_err().message.contains("captures no \"accountid\""));
        let mut bad = mapping();
        bad.role_value_pattern = "arn:aws:iam::${accountid}:role/${role}".into();
        assert!(bad.compile().unwrap_err().message.contains("SAML provider ARN"));
    }
}
