//! The one error type of the media layer.

use thiserror::Error;

/// What can go wrong while parsing or writing media.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MediaError {
    /// The input ends inside a structure.
    #[error("{what} truncated: need {need} byte(s), have {have}")]
    Truncated {
        what: &'static str,
        need: usize,
        have: usize,
    },
    /// A declared size is larger than its cap.
    #[error("{what} too large: {size} byte(s), at most {max}")]
    TooLarge {
        what: &'static str,
        size: usize,
        max: usize,
    },
    /// A codec, container feature or value we do not handle.
    #[error("unsupported {what}: {detail}")]
    Unsupported { what: &'static str, detail: String },
    /// Input that breaks the format's rules.
    #[error("malformed {what}: {reason}")]
    Malformed { what: &'static str, reason: String },
    /// A frame arrived before the configuration it needs.
    #[error("{what} before its codec configuration")]
    MissingConfig { what: &'static str },
}

/// Result alias of the media layer.
pub type Result<T, E = MediaError> = std::result::Result<T, E>;
