//! Account aliases.

use crate::error::AwsError;
use crate::iam::validation;
use crate::state::State;

/// `^[a-z0-9]([a-z0-9]|-(?!-)){1,61}[a-z0-9]$`; one alias per account.
pub fn create_alias(state: &mut State, account: &str, alias: &str) -> Result<(), AwsError> {
    let bytes = alias.as_bytes();
    let edge_ok = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    let valid = (3..=63).contains(&bytes.len())
        && edge_ok(bytes.first())
        && edge_ok(bytes.last())
        && bytes.iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && !alias.contains("--");
    if !valid {
        return Err(validation(
            alias,
            "accountAlias",
            "Member must satisfy regular expression pattern: ^[a-z0-9]([a-z0-9]|-(?!-)){1,61}[a-z0-9]$",
        ));
    }
    if state.accounts.iter().any(|a| a.id != account && a.alias.as_deref() == Some(alias)) {
        return Err(AwsError::sender(409, "EntityAlreadyExists", format!("The account alias {alias} already exists.")));
    }
    let entry = state
        .accounts
        .iter_mut()
        .find(|a| a.id == account)
        .ok_or_else(|| AwsError::receiver(500, "ServiceFailure", "unknown account"))?;
    entry.alias = Some(alias.to_owned());
    Ok(())
}
