//! AVRS signatures and identities.
//!
//! - [`Algorithm`]: Ed25519 and ML-DSA-65, with the `dap_sign_t` type codes
//!   avrs gives them (in the range 0x0A00–0x0AFF, which DAP does not use).
//! - [`SigningKey`] / [`PublicKey`]: keys; a key's identity is the
//!   SHA3-256 of its serialized public key ([`PublicKey::id`]).
//! - [`envelope`]: the `dap_sign_t` codec (14-byte header, key, signature)
//!   and signing / verification of arbitrary data.
//! - [`packet`]: the signed control packet rule (`avrs_ch_tsd_sign_pkt_verify`):
//!   a SIGN item, last, over every byte before it.
//! - [`frame`]: content frame signatures, made once at ingest and checked
//!   once per frame by relays and players.
//! - [`sealed`]: end-to-end payload encryption of frames (AES-256-GCM),
//!   sealed once at ingest, opened only by sessions given the content key.
//! - [`identity`]: SHA3-256 and the DAP node address of a key hash.
//! - [`keyfile`]: the armoured private key file and its safe load/save.
//!
//! All cryptography goes through one provider (aws-lc-rs, the library rustls
//! uses too), called from a single module so another algorithm slots in by
//! adding an [`Algorithm`] variant and its arms there.
//!
//! Nothing here does network I/O; only [`keyfile`] touches the file system.

pub mod algorithm;
pub mod envelope;
pub mod error;
pub mod frame;
#[doc(hidden)]
pub mod fuzzing;
pub mod identity;
pub mod keyfile;
pub mod keys;
pub mod packet;
mod provider;
pub mod sealed;

pub use algorithm::Algorithm;
pub use envelope::{HashType, KeyField, SignEnvelope, SignOptions};
pub use error::{CryptoError, KeyFileProblem, Result};
pub use frame::{FrameCheckError, FramePlace, FrameVerifier, OriginError, sign_frame};
pub use identity::{NodeAddr, sha3_256};
pub use keys::{PublicKey, SigningKey};
pub use packet::{
    SignCheckError, SignIncorrect, VerifiedSigner, sign_packet, verify_packet,
    verify_packet_with_key,
};
pub use provider::random_bytes;
pub use sealed::{CONTENT_KEY_LEN, ContentKey, OpenError, SEAL_OVERHEAD};
