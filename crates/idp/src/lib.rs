//! The identity provider. Not built yet.
