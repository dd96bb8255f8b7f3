//! AWS ARNs and the IAM policy language, as IAM and STS apply them: parsing and validating
//! documents with IAM's `MalformedPolicyDocument` messages, and evaluating requests (explicit
//! deny over allow over implicit deny), saying which statement decided.
//!
//! Pure: no I/O, no clock. Time-based condition keys (`aws:CurrentTime`) come in the request
//! context like any other key.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing))]
#![deny(unsafe_code)]

pub mod arn;
pub mod condition;
pub mod context;
pub mod document;
pub mod eval;
pub mod pattern;

pub use arn::Arn;
pub use context::{Context, Value};
pub use document::{Kind, MalformedPolicy, Policy, Statement};
pub use eval::{Decision, Outcome, Request, evaluate};
