//! Signing and checking content frames (the native `'c'` packets).
//!
//! The node that ingests a frame signs it once ([`sign_frame`]); the
//! signature travels with the frame through relays to every viewer. A relay
//! or a player checks it with a [`FrameVerifier`] made once per content from
//! the CONTENT_UPDATE's origin: one SHA-256 of the frame bytes plus one
//! signature check per frame, whatever the number of viewers behind it.
//! What is covered is defined in `avrs_proto::avrs::quic::signing_message`.

use crate::algorithm::Algorithm;
use crate::error::Result;
use crate::keys::{PublicKey, SigningKey};
use crate::provider;
use avrs_proto::Guuid;
use avrs_proto::avrs::RetCode;
use avrs_proto::avrs::quic::{ContentOrigin, FrameHeader, signing_message};
use thiserror::Error;

/// Where a frame sits: the fields its signature binds besides its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FramePlace {
    pub content: Guuid,
    pub seq: u64,
    pub flow: u8,
    pub header: FrameHeader,
}

impl FramePlace {
    fn message(&self, frame: &[u8]) -> [u8; avrs_proto::avrs::quic::FRAME_SIGNING_SIZE] {
        let digest = provider::sha256(frame);
        signing_message(self.content, self.seq, self.flow, self.header, &digest)
    }
}

/// Signs one frame with the ingesting node's key.
pub fn sign_frame(key: &SigningKey, place: &FramePlace, frame: &[u8]) -> Result<Vec<u8>> {
    key.sign_raw(&place.message(frame))
}

/// Why a frame was not believed. Every case is CONTENT_CORRUPTED on the
/// wire: the frame is dropped and counted, the session goes on.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FrameCheckError {
    #[error("frame {seq} is not signed, but its content is")]
    Unsigned { seq: u64 },
    #[error("frame {seq}: signature does not verify (altered or forged)")]
    BadSignature { seq: u64 },
}

impl FrameCheckError {
    pub fn retcode(&self) -> RetCode {
        RetCode::ContentCorrupted
    }
}

/// Why a content's origin was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum OriginError {
    #[error("content origin: {0}")]
    BadKey(String),
    #[error("content is signed by {got}, not by a trusted key")]
    Untrusted { got: String },
}

impl OriginError {
    pub fn retcode(&self) -> RetCode {
        match self {
            OriginError::BadKey(_) => RetCode::SignIncorrect,
            OriginError::Untrusted { .. } => RetCode::SignAlien,
        }
    }
}

/// Checks the frames of one content against its signer's key.
#[derive(Debug, Clone)]
pub struct FrameVerifier {
    content: Guuid,
    key: PublicKey,
}

impl FrameVerifier {
    /// From a CONTENT_UPDATE's origin. `trusted`: identities (key ids) the
    /// caller accepts; empty means any key (integrity against relays and
    /// the network still holds once the key is pinned elsewhere).
    pub fn new(origin: &ContentOrigin, trusted: &[[u8; 32]]) -> Result<Self, OriginError> {
        let algorithm = Algorithm::from_sign_type_code(u32::from(origin.algorithm))
            .map_err(|e| OriginError::BadKey(e.to_string()))?;
        let key = PublicKey::from_bytes(algorithm, &origin.public_key)
            .map_err(|e| OriginError::BadKey(e.to_string()))?;
        if !trusted.is_empty() && !trusted.contains(&key.id().0) {
            return Err(OriginError::Untrusted {
                got: hex::encode(key.id().0),
            });
        }
        Ok(Self {
            content: origin.content,
            key,
        })
    }

    pub fn signer(&self) -> &PublicKey {
        &self.key
    }

    /// Checks one frame received on `flow` at position `seq`.
    pub fn check(
        &self,
        seq: u64,
        flow: u8,
        header: FrameHeader,
        signature: Option<&[u8]>,
        frame: &[u8],
    ) -> Result<(), FrameCheckError> {
        let signature = signature.ok_or(FrameCheckError::Unsigned { seq })?;
        let place = FramePlace {
            content: self.content,
            seq,
            flow,
            header,
        };
        self.key
            .verify_raw(&place.message(frame), signature)
            .map_err(|_| FrameCheckError::BadSignature { seq })
    }
}

#[cfg(test)]
mod tests;
