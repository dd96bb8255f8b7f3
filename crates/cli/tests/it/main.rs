//! The `idfed` binary as users, scripts and real AWS clients call it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod admin_console;
mod aws_login;
mod browser;
mod faults;
mod idp_flow;
mod moto_shapes;
mod saml_cli;
mod sandbox_clients;
mod scale_out;
mod secrets;
mod up;
mod users;
