//! The saml crate's integration tests: one binary, one module per concern.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod attacks;
mod common;
mod corpus;
mod oracles;
mod roundtrip;
