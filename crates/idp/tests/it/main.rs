//! The IdP's integration tests: one binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod admin;
mod api;
mod apps;
mod authn_context;
mod common;
mod csv;
mod hostile;
mod regressions;
mod sp_initiated;
mod sso;
mod storage;
mod web;
