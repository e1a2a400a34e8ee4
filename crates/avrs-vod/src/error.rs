//! The one error type of the VoD layer. Every message names the problem
//! (and the file, key, id or object it concerns).

use thiserror::Error;

/// What can go wrong in the VoD library, import, recording and uploads.
#[derive(Debug, Error)]
pub enum VodError {
    /// A `[vod]` or `[record.NAME]` key with a bad value.
    #[error("{file}:{line}: [{section}] {key}: {problem}")]
    Config {
        file: String,
        line: usize,
        section: String,
        key: String,
        problem: String,
    },
    /// Text that should be a content or upload id is not one.
    #[error("{what} {text:?} is not an id (expected 32 lower-case hex digits)")]
    BadId { what: &'static str, text: String },
    /// No such content, object or upload.
    #[error("{0} not found")]
    NotFound(String),
    /// The file cannot be imported: unsupported codec or container,
    /// corrupt or truncated data.
    #[error("cannot import this file: {0}")]
    Media(#[from] avrs_media::MediaError),
    /// Input that is well-formed but not usable (no tracks, no frames …).
    #[error("cannot import this file: {0}")]
    Unusable(String),
    /// A file or upload over its cap.
    #[error("{what} is {size} bytes; the limit (max_upload_size) is {max}")]
    TooLarge { what: String, size: u64, max: u64 },
    /// Another process (a running node) holds the library.
    #[error(
        "the VoD library {path} is in use by another process (a running `avrs serve`?); \
         import through it with --server URL"
    )]
    Locked { path: String },
    /// The embedded database failed.
    #[error("VoD database {what}: {detail}")]
    Database { what: &'static str, detail: String },
    /// A stored record cannot be read back.
    #[error("VoD database record {key:?} is corrupt: {reason}")]
    Corrupt { key: String, reason: String },
    /// The object store failed (disk full, network, permissions …).
    #[error("object store, {what}: {source}")]
    Store {
        what: String,
        #[source]
        source: object_store::Error,
    },
    /// A local file operation failed.
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// A resumable upload's `Upload-Offset` is not where the upload is.
    #[error("upload {id}: Upload-Offset {given} does not match the {have} bytes received so far")]
    OffsetMismatch { id: String, given: u64, have: u64 },
    /// Another request is appending to the same upload.
    #[error("upload {0} is busy with another request")]
    Busy(String),
}

/// Result alias of the VoD layer.
pub type Result<T, E = VodError> = std::result::Result<T, E>;

impl VodError {
    pub(crate) fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            what: what.into(),
            source,
        }
    }

    pub(crate) fn store(what: impl Into<String>, source: object_store::Error) -> Self {
        match source {
            object_store::Error::NotFound { path, .. } => Self::NotFound(format!("object {path}")),
            source => Self::Store {
                what: what.into(),
                source,
            },
        }
    }

    pub(crate) fn db(what: &'static str, detail: impl std::fmt::Display) -> Self {
        Self::Database {
            what,
            detail: detail.to_string(),
        }
    }

    /// The input was refused (a client error), not a server failure.
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            Self::Media(_) | Self::Unusable(_) | Self::TooLarge { .. } | Self::BadId { .. }
        )
    }
}
