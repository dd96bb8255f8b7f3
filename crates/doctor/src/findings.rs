//! A finding: a failure ID, how bad, AWS's text, the cause here and the fix.

use serde::Serialize;

use crate::catalogue;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// F01–F24, or a lint name such as `lint-relay-instance`.
    pub id: String,
    pub severity: Severity,
    pub title: String,
    /// What AWS shows (empty for lints and notes).
    pub aws_text: String,
    pub cause: String,
    pub fix: String,
}

impl Finding {
    /// A failure of the catalogue, with the cause and fix as they apply here.
    pub fn failure(id: &str, cause: impl Into<String>, fix: impl Into<String>) -> Finding {
        let entry = catalogue::entry(id);
        Finding {
            id: id.to_owned(),
            severity: Severity::Error,
            title: entry.map(|e| e.title).unwrap_or(id).to_owned(),
            aws_text: entry.map(|e| e.aws_text).unwrap_or_default().to_owned(),
            cause: cause.into(),
            fix: fix.into(),
        }
    }

    pub fn note(
        id: &str,
        severity: Severity,
        title: impl Into<String>,
        cause: impl Into<String>,
        fix: impl Into<String>,
    ) -> Finding {
        Finding {
            id: id.to_owned(),
            severity,
            title: title.into(),
            aws_text: String::new(),
            cause: cause.into(),
            fix: fix.into(),
        }
    }
}
