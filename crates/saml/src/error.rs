use std::fmt;

/// Why a SAML document or message was refused. The class is stable (tests, the CLI's
/// `--json` output and the doctor match on it); the message is for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reason {
    /// Not well-formed, over a limit, a DTD, bad encoding, or missing required structure.
    Malformed,
    /// No signature covers the data that would be used.
    Unsigned,
    /// A signature is present but does not verify with any trusted key.
    Signature,
    /// An algorithm, transform or reference form outside the strict profile.
    Profile,
    /// The signature does not cover the element that is read (signature wrapping), or sits in the
    /// wrong place, or there are duplicate IDs or several assertions.
    Wrapping,
    /// Status is not Success.
    Status,
    /// Response Destination does not match the expected endpoint.
    Destination,
    /// No bearer SubjectConfirmation valid for this recipient and time.
    SubjectConfirmation,
    /// Audience restriction does not name this SP.
    Audience,
    /// The Subject has no NameID.
    Subject,
    /// Issuer is not the expected one.
    Issuer,
    /// Conditions NotOnOrAfter (or SessionNotOnOrAfter) has passed.
    Expired,
    /// Conditions NotBefore is still in the future.
    NotYetValid,
    /// InResponseTo does not match the pending request, or is missing when one was sent.
    InResponseTo,
    /// The encrypted assertion could not be decrypted.
    Decryption,
    /// The key or certificate given is unusable.
    Key,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Malformed => "malformed",
            Reason::Unsigned => "unsigned",
            Reason::Signature => "signature",
            Reason::Profile => "profile",
            Reason::Wrapping => "wrapping",
            Reason::Status => "status",
            Reason::Destination => "destination",
            Reason::SubjectConfirmation => "subject-confirmation",
            Reason::Audience => "audience",
            Reason::Subject => "subject",
            Reason::Issuer => "issuer",
            Reason::Expired => "expired",
            Reason::NotYetValid => "not-yet-valid",
            Reason::InResponseTo => "in-response-to",
            Reason::Decryption => "decryption",
            Reason::Key => "key",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The one error type of the crate: a reason class and a message naming what was found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}: {message}")]
pub struct Error {
    pub reason: Reason,
    pub message: String,
}

impl Error {
    pub fn new(reason: Reason, message: impl Into<String>) -> Self {
        Error { reason, message: message.into() }
    }
}

pub(crate) fn malformed(message: impl Into<String>) -> Error {
    Error::new(Reason::Malformed, message)
}

pub type Result<T> = std::result::Result<T, Error>;
