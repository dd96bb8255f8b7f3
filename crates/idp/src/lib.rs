//! The identity provider: the directory (people, groups, profile schema), SAML apps with the
//! AWS Account Federation app, assignments and role resolution, the attribute-statement
//! expression language, sign-in and SSO.

pub mod directory;
pub mod error;
pub mod expr;

pub use error::{ErrorKind, IdpError};
pub mod admin;
pub mod api;
pub mod apps;
pub mod assignments;
pub mod authn_context;
pub mod aws_client;
pub mod backoff;
pub mod client_api;
pub mod credentials;
pub mod csv_import;
pub mod devices;
pub mod event_writer;
pub mod group_mapping;
pub mod hex;
pub mod integration;
pub mod keys;
pub mod metrics;
pub mod okta_import;
pub mod proxy;
pub mod secrets;
pub mod service;
pub mod signing;
pub mod sp_initiated;
pub mod sso;
pub mod tenant;
pub mod tenant_view;
pub mod web;
