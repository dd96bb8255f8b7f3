//! Diagnostics over configs and SAML responses. Not built yet.
