//! The one error type of the wire layer.
//!
//! "Need more bytes" ([`ProtoError::Incomplete`]) is kept apart from every
//! "this is malformed" variant: a streaming reader waits on the first and
//! drops the connection (or the packet) on the others.

use thiserror::Error;

/// Everything that can go wrong while encoding or decoding AVRS and DAP bytes.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProtoError {
    /// The buffer ends before the structure does; more input may complete it.
    #[error("incomplete input: {needed} more byte(s) needed")]
    Incomplete { needed: usize },

    /// A fixed-size structure or a length-prefixed body is cut short inside a
    /// complete packet (no more input can fix it).
    #[error("{what} truncated: need {need} byte(s), have {have}")]
    Truncated {
        what: &'static str,
        need: usize,
        have: usize,
    },

    /// A declared size is larger than the cap for it.
    #[error("{what} too large: {size} byte(s), at most {max}")]
    TooLarge {
        what: &'static str,
        size: usize,
        max: usize,
    },

    /// More items than the cap allows.
    #[error("too many {what}: more than {max}")]
    TooMany { what: &'static str, max: usize },

    /// A value whose size must be exact has another size.
    #[error("{what} has size {actual}, expected {expected}")]
    WrongSize {
        what: &'static str,
        expected: usize,
        actual: usize,
    },

    /// A numeric code that the protocol does not define.
    #[error("unknown {what} 0x{value:X}")]
    UnknownValue { what: &'static str, value: u32 },

    /// A string item is not NUL-terminated, holds an inner NUL, or is not UTF-8.
    #[error("bad string in {what}: {reason}")]
    BadString {
        what: &'static str,
        reason: &'static str,
    },

    /// A required item is absent.
    #[error("missing {what}")]
    Missing { what: &'static str },

    /// An item that may appear once appears again.
    #[error("duplicate {what}")]
    Duplicate { what: &'static str },

    /// Bytes remain after a structure that must fill its container exactly.
    #[error("{what}: {extra} unexpected trailing byte(s)")]
    TrailingBytes { what: &'static str, extra: usize },

    /// A stream packet whose `seq_id` is not above the last accepted one.
    #[error("replayed seq_id {seq_id}: the last accepted was {last}")]
    Replay { seq_id: u64, last: u64 },

    /// A sealed payload that does not authenticate (tampered, or not ours).
    #[error("{what} failed authentication")]
    Unauthenticated { what: &'static str },

    /// Any other structural rule broken; the text names the rule.
    #[error("malformed {what}: {reason}")]
    Malformed {
        what: &'static str,
        reason: &'static str,
    },
}

/// Result alias of the wire layer.
pub type Result<T, E = ProtoError> = std::result::Result<T, E>;

/// Checks that `buf` holds at least `need` bytes of `what`.
pub(crate) fn need(what: &'static str, buf: &[u8], need: usize) -> Result<()> {
    if buf.len() < need {
        return Err(ProtoError::Truncated {
            what,
            need,
            have: buf.len(),
        });
    }
    Ok(())
}
