//! People, groups and the profile schema: what Okta's Directory menu holds.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{IdpError, Result};

/// A user's lifecycle state. Only `Active` users sign in or receive assertions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum UserStatus {
    /// Created but not yet activated (no password set by the person yet).
    Staged,
    #[default]
    Active,
    Suspended,
    Deactivated,
}

impl UserStatus {
    pub fn name(self) -> &'static str {
        match self {
            UserStatus::Staged => "staged",
            UserStatus::Active => "active",
            UserStatus::Suspended => "suspended",
            UserStatus::Deactivated => "deactivated",
        }
    }

    pub fn parse(text: &str) -> Result<Self> {
        match text.to_ascii_lowercase().as_str() {
            "staged" => Ok(UserStatus::Staged),
            "active" => Ok(UserStatus::Active),
            "suspended" => Ok(UserStatus::Suspended),
            "deactivated" => Ok(UserStatus::Deactivated),
            other => Err(IdpError::invalid(format!(
                "unknown status {other:?}: use staged, active, suspended or deactivated"
            ))),
        }
    }
}

/// The type of a custom profile attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttributeType {
    String,
    Boolean,
    Integer,
    StringArray,
}

impl AttributeType {
    pub fn name(self) -> &'static str {
        match self {
            AttributeType::String => "string",
            AttributeType::Boolean => "boolean",
            AttributeType::Integer => "integer",
            AttributeType::StringArray => "string_array",
        }
    }
}

/// A custom attribute of the user profile (Directory → Profile Editor → Add Attribute).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomAttribute {
    /// The variable name used in expressions: `user.<name>`.
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub title: String,
    #[serde(rename = "type", default = "default_attribute_type")]
    pub kind: AttributeType,
}

fn default_attribute_type() -> AttributeType {
    AttributeType::String
}

/// A value in a user's profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ProfileValue {
    Boolean(bool),
    Integer(i64),
    String(String),
    StringArray(Vec<String>),
}

impl ProfileValue {
    fn type_name(&self) -> &'static str {
        match self {
            ProfileValue::Boolean(_) => "boolean",
            ProfileValue::Integer(_) => "integer",
            ProfileValue::String(_) => "string",
            ProfileValue::StringArray(_) => "string_array",
        }
    }

    /// Reads a value typed as `kind` from text (CSV cells, CLI arguments): arrays are
    /// separated by `;` or `,`.
    pub fn parse_as(kind: AttributeType, text: &str) -> Result<ProfileValue> {
        match kind {
            AttributeType::String => Ok(ProfileValue::String(text.to_owned())),
            AttributeType::Boolean => match text.to_ascii_lowercase().as_str() {
                "true" | "yes" | "1" => Ok(ProfileValue::Boolean(true)),
                "false" | "no" | "0" => Ok(ProfileValue::Boolean(false)),
                _ => Err(IdpError::invalid(format!("{text:?} is not a boolean (true or false)"))),
            },
            AttributeType::Integer => text
                .trim()
                .parse()
                .map(ProfileValue::Integer)
                .map_err(|_| IdpError::invalid(format!("{text:?} is not an integer"))),
            AttributeType::StringArray => Ok(ProfileValue::StringArray(
                text.split([';', ',']).map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect(),
            )),
        }
    }
}

/// The built-in profile attributes, as expressions name them.
pub const BASE_ATTRIBUTES: [&str; 6] = ["id", "login", "email", "firstName", "lastName", "displayName"];

/// The profile schema: built-in attributes plus the custom ones.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schema {
    #[serde(default)]
    pub custom: Vec<CustomAttribute>,
}

impl Schema {
    pub fn custom_attribute(&self, name: &str) -> Option<&CustomAttribute> {
        self.custom.iter().find(|a| a.name == name)
    }

    /// Adds a custom attribute; its name must be a new identifier.
    pub fn add(&mut self, attribute: CustomAttribute) -> Result<()> {
        if !is_identifier(&attribute.name) {
            return Err(IdpError::invalid(format!(
                "attribute name {:?} must start with a letter and hold only letters, digits and _ (at most 64)",
                attribute.name
            )));
        }
        if BASE_ATTRIBUTES.contains(&attribute.name.as_str()) || self.custom_attribute(&attribute.name).is_some() {
            return Err(IdpError::conflict(format!("the profile already has an attribute {:?}", attribute.name)));
        }
        self.custom.push(attribute);
        Ok(())
    }

    /// Checks that every value of `profile` is a declared custom attribute of the right type.
    pub fn check_profile(&self, profile: &BTreeMap<String, ProfileValue>) -> Result<()> {
        for (name, value) in profile {
            let Some(attribute) = self.custom_attribute(name) else {
                return Err(IdpError::invalid(format!(
                    "the profile has no custom attribute {name:?}; add it in the profile schema first"
                )));
            };
            if value.type_name() != attribute.kind.name() {
                return Err(IdpError::invalid(format!(
                    "attribute {name:?} is a {} but the value is a {}",
                    attribute.kind.name(),
                    value.type_name()
                )));
            }
        }
        Ok(())
    }
}

pub(crate) fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 64
}

/// A person in the directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Stable, opaque identifier (used as the persistent NameID by default); assigned when
    /// the user is created, kept by `apply` for the same login.
    #[serde(default)]
    pub id: String,
    /// The sign-in name; unique, compared case-insensitively, kept as typed (Amazon Connect
    /// compares the RoleSessionName derived from it case-sensitively).
    pub login: String,
    pub email: String,
    #[serde(default)]
    pub first_name: String,
    #[serde(default)]
    pub last_name: String,
    #[serde(default)]
    pub status: UserStatus,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub profile: BTreeMap<String, ProfileValue>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub admin: bool,
}

impl User {
    pub fn display_name(&self) -> String {
        let name = format!("{} {}", self.first_name, self.last_name);
        let name = name.trim();
        if name.is_empty() { self.login.clone() } else { name.to_owned() }
    }

    /// Checks the fields people type.
    pub fn validate(&self) -> Result<()> {
        validate_login(&self.login)?;
        if !self.email.is_empty() && !looks_like_email(&self.email) {
            return Err(IdpError::invalid(format!("{:?} is not an email address", self.email)));
        }
        for (field, value) in [("first name", &self.first_name), ("last name", &self.last_name)] {
            if value.len() > 100 || value.chars().any(char::is_control) {
                return Err(IdpError::invalid(format!("the {field} must be at most 100 printable characters")));
            }
        }
        Ok(())
    }
}

/// Logins: 1–100 characters without spaces or control characters. Amazon Connect and
/// RoleSessionName have their own, narrower rules, checked where a login meets them.
pub fn validate_login(login: &str) -> Result<()> {
    if login.is_empty() || login.len() > 100 || login.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(IdpError::invalid(format!(
            "login {login:?} must be 1–100 characters without spaces or control characters"
        )));
    }
    Ok(())
}

fn looks_like_email(text: &str) -> bool {
    match text.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty() && domain.contains('.') && !text.chars().any(|c| c.is_whitespace() || c.is_control())
        }
        None => false,
    }
}

/// A group of people. `source` is where the group comes from (`okta` for groups made here,
/// or a directory name such as `active_directory`): the AWS app's group mapping filters on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    #[serde(default = "default_group_source")]
    pub source: String,
    /// Logins of the members.
    #[serde(default)]
    pub members: Vec<String>,
}

pub fn default_group_source() -> String {
    "okta".to_owned()
}

impl Group {
    pub fn validate(&self) -> Result<()> {
        if self.name.trim().is_empty() || self.name.len() > 255 || self.name.chars().any(char::is_control) {
            return Err(IdpError::invalid(format!("group name {:?} must be 1–255 printable characters", self.name)));
        }
        Ok(())
    }

    pub fn has_member(&self, login: &str) -> bool {
        self.members.iter().any(|m| m.eq_ignore_ascii_case(login))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_values_must_match_the_schema() {
        let mut schema = Schema::default();
        schema
            .add(CustomAttribute { name: "connect_username".into(), title: String::new(), kind: AttributeType::String })
            .unwrap();
        let err = schema
            .add(CustomAttribute { name: "login".into(), title: String::new(), kind: AttributeType::String })
            .unwrap_err();
        assert!(err.to_string().contains("already has"), "{err}");
        let mut profile = BTreeMap::new();
        profile.insert("connect_username".to_owned(), ProfileValue::String("Agent1".into()));
        schema.check_profile(&profile).unwrap();
        profile.insert("connect_username".to_owned(), ProfileValue::Integer(3));
        assert!(schema.check_profile(&profile).unwrap_err().to_string().contains("is a string"));
        profile.clear();
        profile.insert("undeclared".to_owned(), ProfileValue::String("x".into()));
        assert!(schema.check_profile(&profile).unwrap_err().to_string().contains("no custom attribute"));
    }

    #[test]
    fn typed_values_parse_from_text() {
        assert_eq!(ProfileValue::parse_as(AttributeType::Boolean, "Yes").unwrap(), ProfileValue::Boolean(true));
        assert!(ProfileValue::parse_as(AttributeType::Integer, "x1").is_err());
        assert_eq!(
            ProfileValue::parse_as(AttributeType::StringArray, "a; b,,c").unwrap(),
            ProfileValue::StringArray(vec!["a".into(), "b".into(), "c".into()])
        );
    }

    #[test]
    fn logins_and_emails_are_checked() {
        assert!(validate_login("has space").is_err());
        assert!(validate_login("").is_err());
        assert!(validate_login("Agent.One@example.com").is_ok());
        let user = User {
            id: "u1".into(),
            login: "a".into(),
            email: "not-an-email".into(),
            first_name: String::new(),
            last_name: String::new(),
            status: UserStatus::Active,
            profile: BTreeMap::new(),
            admin: false,
        };
        assert!(user.validate().is_err());
    }
}
