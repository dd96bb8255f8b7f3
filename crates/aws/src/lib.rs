//! The AWS sandbox: IAM, STS, the sign-in SAML endpoint, console federation and Amazon
//! Connect, speaking AWS's wire protocols so that `aws`, boto3 and the SDKs work unchanged.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing))]

pub mod api;
pub mod auth;
pub mod connect;
pub mod error;
pub mod iam;
pub mod pages;
pub mod persist;
pub mod protocol;
pub mod server;
pub mod signin;

pub use error::AwsError;
pub mod ids;
pub mod metrics;
pub mod state;
pub mod sts;
