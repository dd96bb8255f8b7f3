//! Errors as AWS returns them: a code, an HTTP status, a message, and who is at fault.

/// An AWS error. Rendered as Query-protocol XML (`ErrorResponse`) or rest-json at the edge.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code} ({status}): {message}")]
pub struct AwsError {
    pub code: String,
    pub status: u16,
    pub message: String,
    /// `Sender` for the caller's faults, `Receiver` for the service's.
    pub sender_fault: bool,
}

impl AwsError {
    pub fn sender(status: u16, code: &str, message: impl Into<String>) -> Self {
        AwsError { code: code.to_owned(), status, message: message.into(), sender_fault: true }
    }
    pub fn receiver(status: u16, code: &str, message: impl Into<String>) -> Self {
        AwsError { code: code.to_owned(), status, message: message.into(), sender_fault: false }
    }
}
