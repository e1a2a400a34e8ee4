//! ENCRYPTED contents on the wire: the SEALED frame flag's payload layout
//! and the content key a server hands to an authorised session.
//!
//! A SEALED frame's bytes (after the signature block, when SIGNED) are
//! `epoch u32 LE · AES-256-GCM ciphertext and tag`; the signature covers
//! those bytes, so a relay checks it without the key. The key reaches a
//! session only in the CONTENT_UPDATE of its control stream (item
//! CONTENT_KEY), never on group streams.

use crate::error::{ProtoError, Result};

const KEY_LABEL: &str = "content key";
const SEALED_LABEL: &str = "sealed frame";

/// Bytes of a content key.
pub const CONTENT_KEY_SIZE: usize = 32;

/// CONTENT_UPDATE item CONTENT_KEY: `epoch u32 LE · key[32]`.
#[derive(Clone, PartialEq, Eq)]
pub struct ContentKeyGrant {
    pub epoch: u32,
    pub key: [u8; CONTENT_KEY_SIZE],
}

impl std::fmt::Debug for ContentKeyGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.debug_struct("ContentKeyGrant")
            .field("epoch", &self.epoch)
            .finish()
    }
}

impl ContentKeyGrant {
    pub fn encode_value(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4 + CONTENT_KEY_SIZE);
        out.extend_from_slice(&self.epoch.to_le_bytes());
        out.extend_from_slice(&self.key);
        out
    }

    pub fn decode_value(value: &[u8]) -> Result<Self> {
        if value.len() != 4 + CONTENT_KEY_SIZE {
            return Err(ProtoError::WrongSize {
                what: KEY_LABEL,
                expected: 4 + CONTENT_KEY_SIZE,
                actual: value.len(),
            });
        }
        let (epoch, key) = value.split_at(4);
        let mut out = [0u8; CONTENT_KEY_SIZE];
        out.copy_from_slice(key);
        Ok(Self {
            epoch: u32::from_le_bytes([epoch[0], epoch[1], epoch[2], epoch[3]]),
            key: out,
        })
    }
}

/// A SEALED frame's bytes: `epoch u32 LE · sealed`.
pub fn sealed_payload(epoch: u32, sealed: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + sealed.len());
    out.extend_from_slice(&epoch.to_le_bytes());
    out.extend_from_slice(sealed);
    out
}

/// Splits a SEALED frame's bytes into the key epoch and the sealed bytes.
pub fn split_sealed(payload: &[u8]) -> Result<(u32, &[u8])> {
    crate::error::need(SEALED_LABEL, payload, 4)?;
    let (epoch, sealed) = payload.split_at(4);
    Ok((
        u32::from_le_bytes([epoch[0], epoch[1], epoch[2], epoch[3]]),
        sealed,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_grant_has_its_layout_and_hides_the_key_in_debug() {
        let grant = ContentKeyGrant {
            epoch: 2,
            key: [0xAB; 32],
        };
        let bytes = grant.encode_value();
        assert_eq!(&bytes[..4], &[2, 0, 0, 0]);
        assert_eq!(ContentKeyGrant::decode_value(&bytes), Ok(grant.clone()));
        assert!(ContentKeyGrant::decode_value(&bytes[..35]).is_err());
        assert!(!format!("{grant:?}").contains("171"), "no key bytes");
        assert!(!format!("{grant:?}").to_lowercase().contains("ab, ab"));
    }

    #[test]
    fn a_sealed_payload_starts_with_its_epoch() {
        let payload = sealed_payload(7, b"xyz");
        assert_eq!(payload, [7, 0, 0, 0, b'x', b'y', b'z']);
        assert_eq!(split_sealed(&payload), Ok((7, &b"xyz"[..])));
        assert!(split_sealed(&[1, 2, 3]).is_err());
    }
}
