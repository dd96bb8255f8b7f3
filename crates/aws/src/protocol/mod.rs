//! AWS wire protocols: SigV4, the Query protocol (IAM, STS) and rest-json (Connect).

pub mod query;
pub mod sigv4;
