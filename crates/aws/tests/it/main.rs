//! The AWS sandbox's integration tests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod browser;
mod common;
mod corpus;
mod hostile;
mod iam_wire;
mod paging;
mod partitions;
mod persistence;
mod session_keys;
mod session_policies;
mod sts;
