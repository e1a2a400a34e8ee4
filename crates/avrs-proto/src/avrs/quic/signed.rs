//! Signed content packets: where a frame's signature travels and what it
//! covers.
//!
//! A frame message whose header has [`FrameFlags::SIGNED`] carries, right
//! after the 20-byte frame header, `sig_len u16 LE · signature[sig_len]`,
//! then the frame bytes. The signature is made once, by the node that
//! ingested the frame, over [`signing_message`]: a fixed-size digest of what
//! a player acts on (content id, position, flow, flags, times, and the
//! SHA-256 of the frame bytes). It never covers the per-session slot id or
//! the channel header, so a relay forwards the same signature to every
//! viewer, whatever slot each one gave the content, and verifies it once.

use super::{FrameFlags, FrameHeader};
use crate::error::{ProtoError, Result};
use crate::ids::Guuid;

/// Largest signature a frame may carry: an ML-DSA-65 signature (3309
/// bytes) fits; anything larger is refused before it is read.
pub const MAX_FRAME_SIGNATURE: usize = 4096;

/// Separates frame signatures from every other use of a node's key.
pub const FRAME_SIGNING_DOMAIN: &[u8; 13] = b"avrs/1 frame\0";

/// Size of [`signing_message`].
pub const FRAME_SIGNING_SIZE: usize = FRAME_SIGNING_DOMAIN.len() + 16 + 8 + 1 + 1 + 8 + 8 + 32;

const SIGNATURE_LABEL: &str = "frame signature";
pub(super) const ORIGIN_LABEL: &str = "content origin";

/// Largest signer public key: an ML-DSA-65 key (1952 bytes) fits.
pub const MAX_SIGNER_KEY: usize = 4096;

/// CONTENT_UPDATE item `CONTENT_ORIGIN`: the content's cluster-wide id and
/// the public key that signs its frames,
/// `GUUID[16] · algorithm u16 LE · public key`. A player checks the key
/// against the ones it trusts before it believes any frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentOrigin {
    pub content: Guuid,
    /// A dap_sign_t algorithm code (0x0A01 Ed25519, 0x0A02 ML-DSA-65).
    pub algorithm: u16,
    pub public_key: Vec<u8>,
}

impl ContentOrigin {
    pub fn encode_value(&self) -> Result<Vec<u8>> {
        if self.public_key.is_empty() || self.public_key.len() > MAX_SIGNER_KEY {
            return Err(ProtoError::TooLarge {
                what: ORIGIN_LABEL,
                size: self.public_key.len(),
                max: MAX_SIGNER_KEY,
            });
        }
        let mut out = Vec::with_capacity(18 + self.public_key.len());
        out.extend_from_slice(&self.content.to_bytes());
        out.extend_from_slice(&self.algorithm.to_le_bytes());
        out.extend_from_slice(&self.public_key);
        Ok(out)
    }

    pub fn decode_value(value: &[u8]) -> Result<Self> {
        crate::error::need(ORIGIN_LABEL, value, 19)?;
        let (id, rest) = value.split_at(16);
        let (algorithm, key) = rest.split_at(2);
        if key.len() > MAX_SIGNER_KEY {
            return Err(ProtoError::TooLarge {
                what: ORIGIN_LABEL,
                size: key.len(),
                max: MAX_SIGNER_KEY,
            });
        }
        Ok(Self {
            content: Guuid::from_slice(id)?,
            algorithm: u16::from_le_bytes([algorithm[0], algorithm[1]]),
            public_key: key.to_vec(),
        })
    }
}

/// The frame flags a signature covers: what a player acts on. SIGNED itself
/// is how the bytes travel, not what they mean.
pub fn signed_flags(flags: FrameFlags) -> u8 {
    (flags - FrameFlags::SIGNED).bits()
}

/// The bytes a frame signature covers:
/// `domain · content GUUID · seq u64 · flow u8 · flags u8 · dts i64 · pts i64 · SHA-256(frame)`,
/// integers little-endian.
pub fn signing_message(
    content: Guuid,
    seq: u64,
    flow: u8,
    header: FrameHeader,
    frame_digest: &[u8; 32],
) -> [u8; FRAME_SIGNING_SIZE] {
    let mut out = [0u8; FRAME_SIGNING_SIZE];
    let mut at = 0;
    let mut put = |bytes: &[u8]| {
        out[at..at + bytes.len()].copy_from_slice(bytes);
        at += bytes.len();
    };
    put(FRAME_SIGNING_DOMAIN);
    put(&content.to_bytes());
    put(&seq.to_le_bytes());
    put(&[flow, signed_flags(header.flags)]);
    put(&header.dts.to_le_bytes());
    put(&header.pts.to_le_bytes());
    put(frame_digest);
    out
}

/// The `sig_len · signature` block that follows a SIGNED frame header.
pub fn signature_block(signature: &[u8]) -> Result<Vec<u8>> {
    if signature.is_empty() || signature.len() > MAX_FRAME_SIGNATURE {
        return Err(ProtoError::TooLarge {
            what: SIGNATURE_LABEL,
            size: signature.len(),
            max: MAX_FRAME_SIGNATURE,
        });
    }
    let len = u16::try_from(signature.len()).map_err(|_| ProtoError::TooLarge {
        what: SIGNATURE_LABEL,
        size: signature.len(),
        max: MAX_FRAME_SIGNATURE,
    })?;
    let mut out = Vec::with_capacity(2 + signature.len());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(signature);
    Ok(out)
}

/// Splits the bytes after a frame header into the signature (when the
/// header says SIGNED) and the frame bytes.
pub fn split_signature(flags: FrameFlags, rest: &[u8]) -> Result<(Option<&[u8]>, &[u8])> {
    if !flags.contains(FrameFlags::SIGNED) {
        return Ok((None, rest));
    }
    crate::error::need(SIGNATURE_LABEL, rest, 2)?;
    let len = usize::from(u16::from_le_bytes([rest[0], rest[1]]));
    if len == 0 {
        return Err(ProtoError::Malformed {
            what: SIGNATURE_LABEL,
            reason: "a SIGNED frame with an empty signature",
        });
    }
    if len > MAX_FRAME_SIGNATURE {
        return Err(ProtoError::TooLarge {
            what: SIGNATURE_LABEL,
            size: len,
            max: MAX_FRAME_SIGNATURE,
        });
    }
    crate::error::need(SIGNATURE_LABEL, rest, 2 + len)?;
    let (signature, frame) = rest[2..].split_at(len);
    Ok((Some(signature), frame))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(flags: FrameFlags) -> FrameHeader {
        FrameHeader {
            flags,
            dts: 0x0102,
            pts: -3,
        }
    }

    #[test]
    fn the_signing_message_is_pinned() {
        let message = signing_message(
            Guuid::new(1, 2),
            7,
            1,
            header(FrameFlags::KEYFRAME | FrameFlags::SIGNED),
            &[0xEE; 32],
        );
        assert_eq!(FRAME_SIGNING_SIZE, 87);
        assert_eq!(&message[..13], b"avrs/1 frame\0");
        assert_eq!(&message[13..29], &Guuid::new(1, 2).to_bytes());
        assert_eq!(&message[29..37], &7u64.to_le_bytes());
        assert_eq!(message[37..39], [1, 0x01], "flow, flags without SIGNED");
        assert_eq!(&message[39..47], &0x0102i64.to_le_bytes());
        assert_eq!(&message[47..55], &(-3i64).to_le_bytes());
        assert_eq!(&message[55..], &[0xEE; 32]);
    }

    #[test]
    fn every_field_changes_the_message() {
        let base = || {
            (
                Guuid::new(1, 2),
                7u64,
                0u8,
                header(FrameFlags::KEYFRAME),
                [1u8; 32],
            )
        };
        let sign = |(g, s, f, h, d): (Guuid, u64, u8, FrameHeader, [u8; 32])| {
            signing_message(g, s, f, h, &d)
        };
        let original = sign(base());
        let mut changed = Vec::new();
        let mut v = base();
        v.0 = Guuid::new(1, 3);
        changed.push(sign(v));
        let mut v = base();
        v.1 = 8;
        changed.push(sign(v));
        let mut v = base();
        v.2 = 1;
        changed.push(sign(v));
        let mut v = base();
        v.3.flags = FrameFlags::DISCONTINUITY;
        changed.push(sign(v));
        let mut v = base();
        v.3.dts += 1;
        changed.push(sign(v));
        let mut v = base();
        v.3.pts += 1;
        changed.push(sign(v));
        let mut v = base();
        v.4[31] ^= 1;
        changed.push(sign(v));
        for message in changed {
            assert_ne!(message, original);
        }
    }

    #[test]
    fn the_signature_block_round_trips_and_bad_ones_are_refused() {
        let block = signature_block(&[9; 64]).unwrap();
        assert_eq!(&block[..2], &[64, 0]);
        let mut rest = block.clone();
        rest.extend_from_slice(b"frame");
        let (signature, frame) = split_signature(FrameFlags::SIGNED, &rest).unwrap();
        assert_eq!((signature, frame), (Some(&[9u8; 64][..]), &b"frame"[..]));
        // Not SIGNED: everything is frame bytes.
        assert_eq!(
            split_signature(FrameFlags::KEYFRAME, &rest).unwrap(),
            (None, &rest[..])
        );
        assert!(signature_block(&[]).is_err());
        assert!(signature_block(&vec![0; MAX_FRAME_SIGNATURE + 1]).is_err());
        for bad in [
            &[][..],
            &[5][..],
            &[0, 0, 1][..],
            &[10, 0, 1, 2][..],
            &[0x01, 0x10][..],
        ] {
            assert!(split_signature(FrameFlags::SIGNED, bad).is_err(), "{bad:?}");
        }
    }
}
