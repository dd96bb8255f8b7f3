//! IAM operations as pure functions over the sandbox state, with IAM's validation and texts.

pub mod account;
pub mod policies;
pub mod providers;
pub mod roles;
pub mod users;

use crate::error::AwsError;

pub fn no_such_entity(message: impl Into<String>) -> AwsError {
    AwsError::sender(404, "NoSuchEntity", message)
}

pub fn invalid_input(message: impl Into<String>) -> AwsError {
    AwsError::sender(400, "InvalidInput", message)
}

pub fn already_exists(message: impl Into<String>) -> AwsError {
    AwsError::sender(409, "EntityAlreadyExists", message)
}

pub fn malformed_policy(e: idfed_policy::MalformedPolicy) -> AwsError {
    AwsError::sender(400, "MalformedPolicyDocument", e.0)
}

/// IAM's path: `/`, or `/…/` of visible ASCII, at most 512 characters.
pub fn check_path(path: &str) -> Result<(), AwsError> {
    if path.len() > 512 {
        return Err(validation(path, "path", "Member must have length less than or equal to 512"));
    }
    let nested = path.len() >= 3 && path.starts_with('/') && path.ends_with('/');
    if !(path == "/" || nested && path.bytes().all(|b| b.is_ascii_graphic())) {
        return Err(validation(
            path,
            "path",
            "Member must satisfy regular expression pattern: (\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)",
        ));
    }
    Ok(())
}

/// A role's description: at most 1,000 characters of tab, line breaks, printable ASCII and Latin-1.
pub fn check_description(description: &str) -> Result<(), AwsError> {
    if description.chars().count() > 1000 {
        return Err(validation(description, "description", "Member must have length less than or equal to 1000"));
    }
    let allowed = |c: char| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{7E}' | '\u{A1}'..='\u{FF}');
    if !description.chars().all(allowed) {
        return Err(validation(
            description,
            "description",
            "Member must satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u007E\\u00A1-\\u00FF]*",
        ));
    }
    Ok(())
}

/// `1 validation error detected: Value '…' at 'name' failed to satisfy constraint: …`.
pub fn validation(value: &str, field: &str, constraint: &str) -> AwsError {
    AwsError::sender(
        400,
        "ValidationError",
        format!("{ONE_VALIDATION_ERROR}Value '{value}' at '{field}' failed to satisfy constraint: {constraint}"),
    )
}

/// Several checks' ValidationErrors as AWS reports them together:
/// `2 validation errors detected: Value … failed to satisfy constraint: …; Value …`. Other
/// errors (a malformed policy) come after every constraint holds: the first of them then.
pub fn validations<const N: usize>(checks: [Result<(), AwsError>; N]) -> Result<(), AwsError> {
    let (shape, other): (Vec<AwsError>, Vec<AwsError>) =
        checks.into_iter().filter_map(Result::err).partition(|e| e.code == "ValidationError");
    let found: Vec<String> = shape
        .into_iter()
        .map(|e| e.message.strip_prefix(ONE_VALIDATION_ERROR).map(str::to_owned).unwrap_or(e.message))
        .collect();
    match found.len() {
        0 => other.into_iter().next().map_or(Ok(()), Err),
        1 => Err(AwsError::sender(400, "ValidationError", format!("{ONE_VALIDATION_ERROR}{}", found.join("")))),
        n => Err(AwsError::sender(
            400,
            "ValidationError",
            format!("{n} validation errors detected: {}", found.join("; ")),
        )),
    }
}

const ONE_VALIDATION_ERROR: &str = "1 validation error detected: ";

/// A length in characters within `bounds`, or AWS's ValidationError saying which bound.
pub fn check_length(value: &str, field: &str, bounds: std::ops::RangeInclusive<usize>) -> Result<(), AwsError> {
    let length = value.chars().count();
    let bound = if length < *bounds.start() {
        format!("greater than or equal to {}", bounds.start())
    } else if length > *bounds.end() {
        format!("less than or equal to {}", bounds.end())
    } else {
        return Ok(());
    };
    Err(validation(value, field, &format!("Member must have length {bound}")))
}

/// `[\w+=,.@-]+` within bounds: IAM's pattern for names.
pub fn check_name(value: &str, field: &str, max: usize, extra: &str) -> Result<(), AwsError> {
    if value.is_empty() || value.chars().count() > max {
        return Err(validation(value, field, &format!("Member must have length less than or equal to {max}")));
    }
    if !value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || extra.contains(c)) {
        return Err(validation(
            value,
            field,
            &format!("Member must satisfy regular expression pattern: [\\w{extra}]+"),
        ));
    }
    Ok(())
}
