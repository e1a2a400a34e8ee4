//! Why an RTMP connection ended.

use super::guard::GuardError;
use rml_rtmp::sessions::ServerSessionError;

/// The end of a connection other than a normal close.
#[derive(Debug, thiserror::Error)]
pub enum ConnError {
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error("handshake failed: {0}")]
    Handshake(String),
    #[error("timed out: {0}")]
    Timeout(&'static str),
    #[error("RTMP protocol error: {0}")]
    Protocol(String),
    #[error("malformed media from the publisher: {0}")]
    Media(String),
}

impl ConnError {
    /// A protocol fault of the peer, counted in `rtmp_errors`. Network
    /// errors, timeouts and refusals are not.
    pub fn is_fault(&self) -> bool {
        matches!(
            self,
            Self::Handshake(_) | Self::Protocol(_) | Self::Media(_)
        )
    }
}

impl From<ServerSessionError> for ConnError {
    fn from(err: ServerSessionError) -> Self {
        Self::Protocol(err.to_string())
    }
}

impl From<GuardError> for ConnError {
    fn from(err: GuardError) -> Self {
        Self::Protocol(err.to_string())
    }
}
