//! End-to-end payload encryption of content frames (ENCRYPTED contents).
//!
//! The ingesting node seals each frame's bytes once with the content's key
//! (AES-256-GCM), then signs the ciphertext: relays check the signature and
//! forward bytes they cannot read; only sessions given the key open them.
//!
//! - Key: 32 random bytes per content and **epoch**; a new epoch (rotation,
//!   e.g. when a viewer is revoked) is a new random key, so what a revoked
//!   viewer holds opens nothing sent after it.
//! - Nonce: `epoch u32 BE · seq u64 BE`. A frame's `seq` is never reused
//!   within a content and a key never outlives its epoch, so a nonce is
//!   never used twice with one key.
//! - Associated data: what the signature binds besides the bytes (content
//!   GUUID, position, flow, flags, times) plus the epoch, so a sealed frame
//!   cannot be moved to another place or replayed under another epoch.

use crate::error::{CryptoError, Result};
use crate::frame::FramePlace;
use avrs_proto::avrs::quic::signed_flags;
use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use zeroize::Zeroizing;

/// Bytes of a content key.
pub const CONTENT_KEY_LEN: usize = 32;
/// Bytes the seal adds to a frame (the GCM tag).
pub const SEAL_OVERHEAD: usize = 16;

const AAD_DOMAIN: &[u8; 14] = b"avrs/1 sealed\0";
const AAD_LEN: usize = AAD_DOMAIN.len() + 16 + 8 + 1 + 1 + 8 + 8 + 4;

/// One epoch's key of one content.
pub struct ContentKey {
    epoch: u32,
    bytes: Zeroizing<[u8; CONTENT_KEY_LEN]>,
    key: LessSafeKey,
}

impl std::fmt::Debug for ContentKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key bytes.
        f.debug_struct("ContentKey")
            .field("epoch", &self.epoch)
            .finish()
    }
}

impl ContentKey {
    /// A fresh random key for `epoch`.
    pub fn generate(epoch: u32) -> Result<Self> {
        let bytes = crate::provider::random_bytes::<CONTENT_KEY_LEN>()?;
        Self::from_bytes(epoch, &bytes)
    }

    /// The key a session was given (over its authenticated channel).
    pub fn from_bytes(epoch: u32, bytes: &[u8]) -> Result<Self> {
        let array: [u8; CONTENT_KEY_LEN] = bytes
            .try_into()
            .map_err(|_| CryptoError::Backend("a content key has 32 bytes"))?;
        let unbound = UnboundKey::new(&AES_256_GCM, &array)
            .map_err(|_| CryptoError::Backend("AES-256-GCM key setup failed"))?;
        Ok(Self {
            epoch,
            bytes: Zeroizing::new(array),
            key: LessSafeKey::new(unbound),
        })
    }

    pub fn epoch(&self) -> u32 {
        self.epoch
    }

    /// The raw key, to hand to an authorised session (and nobody else).
    pub fn secret_bytes(&self) -> &[u8; CONTENT_KEY_LEN] {
        &self.bytes
    }

    /// Seals a frame's bytes: ciphertext followed by the 16-byte tag.
    pub fn seal(&self, place: &FramePlace, frame: &[u8]) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(frame.len() + SEAL_OVERHEAD);
        out.extend_from_slice(frame);
        self.key
            .seal_in_place_append_tag(self.nonce(place.seq), Aad::from(self.aad(place)), &mut out)
            .map_err(|_| CryptoError::Backend("AES-256-GCM seal failed"))?;
        Ok(out)
    }

    /// Opens a sealed frame; any change to the bytes, the place or the
    /// epoch fails.
    pub fn open(&self, place: &FramePlace, sealed: &[u8]) -> Result<Vec<u8>, OpenError> {
        if sealed.len() < SEAL_OVERHEAD {
            return Err(OpenError::Truncated { seq: place.seq });
        }
        let mut buf = sealed.to_vec();
        let plain = self
            .key
            .open_in_place(self.nonce(place.seq), Aad::from(self.aad(place)), &mut buf)
            .map_err(|_| OpenError::Forged { seq: place.seq })?;
        let len = plain.len();
        buf.truncate(len);
        Ok(buf)
    }

    fn nonce(&self, seq: u64) -> Nonce {
        let mut nonce = [0u8; NONCE_LEN];
        nonce[..4].copy_from_slice(&self.epoch.to_be_bytes());
        nonce[4..].copy_from_slice(&seq.to_be_bytes());
        Nonce::assume_unique_for_key(nonce)
    }

    fn aad(&self, place: &FramePlace) -> [u8; AAD_LEN] {
        let mut out = [0u8; AAD_LEN];
        let mut at = 0;
        let mut put = |bytes: &[u8]| {
            out[at..at + bytes.len()].copy_from_slice(bytes);
            at += bytes.len();
        };
        put(AAD_DOMAIN);
        put(&place.content.to_bytes());
        put(&place.seq.to_le_bytes());
        put(&[place.flow, signed_flags(place.header.flags)]);
        put(&place.header.dts.to_le_bytes());
        put(&place.header.pts.to_le_bytes());
        put(&self.epoch.to_le_bytes());
        out
    }
}

/// Why a sealed frame did not open: CONTENT_CORRUPTED on the wire.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    #[error("sealed frame {seq} is shorter than its tag")]
    Truncated { seq: u64 },
    #[error("sealed frame {seq} does not open (altered, moved, or another key)")]
    Forged { seq: u64 },
}

impl OpenError {
    pub fn retcode(&self) -> avrs_proto::avrs::RetCode {
        avrs_proto::avrs::RetCode::ContentCorrupted
    }
}

#[cfg(test)]
mod tests;
