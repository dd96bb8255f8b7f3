//! STS: AssumeRoleWithSAML and the sessions it creates.

pub mod assume_role_with_saml;
pub mod endpoints;
pub mod session_policy;
