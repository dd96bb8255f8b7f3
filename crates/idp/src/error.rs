//! The IdP's errors: what went wrong, in words an administrator can act on, and its class
//! (which decides the HTTP status and the CLI exit code).

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The input is wrong (400).
    Invalid,
    /// Something named does not exist (404).
    NotFound,
    /// It exists already or clashes with what exists (409).
    Conflict,
    /// Authentication failed or is required (401).
    Unauthenticated,
    /// Authenticated but not allowed (403).
    Forbidden,
    /// A dependency (the database, AWS) failed (503).
    Unavailable,
    /// Our own fault (500).
    Internal,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct IdpError {
    pub kind: ErrorKind,
    pub message: String,
}

impl IdpError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        IdpError { kind, message: message.into() }
    }
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Invalid, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unavailable, message)
    }

    pub fn http_status(&self) -> u16 {
        match self.kind {
            ErrorKind::Invalid => 400,
            ErrorKind::Unauthenticated => 401,
            ErrorKind::Forbidden => 403,
            ErrorKind::NotFound => 404,
            ErrorKind::Conflict => 409,
            ErrorKind::Internal => 500,
            ErrorKind::Unavailable => 503,
        }
    }
}

impl From<idfed_saml::Error> for IdpError {
    fn from(e: idfed_saml::Error) -> Self {
        IdpError::internal(format!("SAML: {e}"))
    }
}

pub type Result<T, E = IdpError> = std::result::Result<T, E>;
