//! The one error type of the crate.
//!
//! Envelope errors come in the two kinds DAP's `dap_sign_verify` tells apart:
//! "malformed" (its −2: sizes, types, truncation; see
//! [`CryptoError::is_malformed_envelope`]) and "does not verify" (its −1:
//! [`CryptoError::BadSignature`]).

use crate::algorithm::Algorithm;
use crate::packet::SignCheckError;
use avrs_proto::ProtoError;
use std::path::PathBuf;
use thiserror::Error;

/// Everything that can go wrong in signing, verifying and key handling.
#[derive(Debug, Error)]
pub enum CryptoError {
    /// The envelope ends before its header or its declared key and signature.
    #[error("signature envelope truncated: need {need} byte(s), have {have}")]
    EnvelopeTruncated { need: usize, have: usize },

    /// A structural rule of `dap_sign_t` is broken; the text names it.
    #[error("malformed signature envelope: {0}")]
    MalformedEnvelope(&'static str),

    /// Bytes follow an envelope that must fill its container.
    #[error("signature envelope: {0} unexpected trailing byte(s)")]
    EnvelopeTrailingBytes(usize),

    /// A `dap_sign_t` type code avrs does not implement (DAP's included).
    #[error("unsupported signature type 0x{0:04X}")]
    UnsupportedSignType(u32),

    /// A `hash_type` other than none (0) or SHA3-256 (1), flag bit aside.
    #[error("unsupported signature hash type 0x{0:02X}")]
    UnsupportedHashType(u8),

    /// A key, signature or seed whose size is fixed by the algorithm.
    #[error("{algorithm} {what} has {actual} byte(s), expected {expected}")]
    WrongSize {
        algorithm: Algorithm,
        what: &'static str,
        expected: usize,
        actual: usize,
    },

    /// Public key bytes of the right size that the algorithm rejects.
    #[error("invalid {0} public key")]
    InvalidPublicKey(Algorithm),

    /// The signature does not verify (DAP's −1).
    #[error("signature does not verify")]
    BadSignature,

    /// The envelope names its signer by key hash only; verifying needs the key.
    #[error("the envelope holds only the signer's key hash; the public key is needed")]
    KeyNotEmbedded,

    /// The key given for verification is not the one the envelope names.
    #[error("the envelope names signer {named}, not the given key {given}")]
    SignerMismatch {
        named: avrs_proto::Hash32,
        given: avrs_proto::Hash32,
    },

    /// The crypto library failed (RNG, key generation, signing).
    #[error("crypto library failure: {0}")]
    Backend(&'static str),

    /// An AVRS control packet shorter than its 8-byte sub-header.
    #[error("packet of {0} byte(s) is shorter than its 8-byte header")]
    PacketTooShort(usize),

    /// The TSD items of a packet are structurally broken.
    #[error("packet arguments: {0}")]
    PacketStructure(#[from] ProtoError),

    /// A SIGN item with items after it.
    #[error("the SIGN item at argument offset {offset} is not the last item")]
    SignNotLast { offset: usize },

    /// `sign_packet` was given a packet that already carries a SIGN item.
    #[error("the packet already has a SIGN item at argument offset {offset}")]
    AlreadySigned { offset: usize },

    /// A signed-packet check failed.
    #[error(transparent)]
    SignCheck(#[from] SignCheckError),

    /// An algorithm name that is not one of [`Algorithm::ALL`].
    #[error("unknown algorithm {0:?} (expected ed25519 or ml-dsa-65)")]
    UnknownAlgorithmName(String),

    /// A private key file that lets group or other users in.
    #[error(
        "key file {path} has mode {mode:04o}: group/other users may access the private key; \
         run `chmod 600 {path}`",
        path = .path.display()
    )]
    KeyFileMode { path: PathBuf, mode: u32 },

    /// Any other problem with a key file, naming the file.
    #[error("key file {path}: {problem}", path = .path.display())]
    KeyFile {
        path: PathBuf,
        #[source]
        problem: KeyFileProblem,
    },
}

impl CryptoError {
    /// True for the errors DAP reports as −2: the envelope cannot even be
    /// checked (sizes, types, truncation, bad key bytes).
    pub fn is_malformed_envelope(&self) -> bool {
        matches!(
            self,
            CryptoError::EnvelopeTruncated { .. }
                | CryptoError::MalformedEnvelope(_)
                | CryptoError::EnvelopeTrailingBytes(_)
                | CryptoError::UnsupportedSignType(_)
                | CryptoError::UnsupportedHashType(_)
                | CryptoError::WrongSize { .. }
                | CryptoError::InvalidPublicKey(_)
        )
    }

    /// Attaches a file name to a key file problem.
    pub(crate) fn key_file(path: impl Into<PathBuf>, problem: KeyFileProblem) -> Self {
        CryptoError::KeyFile {
            path: path.into(),
            problem,
        }
    }
}

/// What is wrong with a key file (the file's name is in the outer error).
#[derive(Debug, Error)]
pub enum KeyFileProblem {
    #[error("{0}")]
    Io(#[from] std::io::Error),

    #[error("already exists (refusing to overwrite it)")]
    AlreadyExists,

    #[error("not a regular file")]
    NotRegularFile,

    #[error("{size} byte(s) is too large for a key file (at most {max})")]
    TooLarge { size: u64, max: usize },

    #[error("not an AVRS private key: {0}")]
    Armour(&'static str),

    #[error("damaged: bad base64 ({0})")]
    Base64(&'static str),

    #[error("not an AVRS private key: wrong magic (expected AVRSKEY1)")]
    BadMagic,

    #[error("damaged: checksum mismatch")]
    Checksum,

    #[error("damaged: {what} is cut short")]
    Truncated { what: &'static str },

    #[error("damaged: {what} has {actual} byte(s), expected {expected}")]
    WrongLength {
        what: &'static str,
        expected: usize,
        actual: usize,
    },

    #[error("damaged: {0} unexpected byte(s) before the checksum")]
    TrailingBytes(usize),

    #[error("unknown algorithm (signature type 0x{0:04X})")]
    UnknownAlgorithm(u32),

    #[error("damaged: the public key does not match the private key")]
    KeyMismatch,

    #[error("the private key is rejected: {0}")]
    BadKey(Box<CryptoError>),
}

/// Result alias of the crate.
pub type Result<T, E = CryptoError> = std::result::Result<T, E>;
