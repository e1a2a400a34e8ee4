//! Where payload protection plugs in, without this crate doing any crypto.
//!
//! The reference encrypts `DATA` and `FRAGMENT` payloads with ciphers that
//! have no MAC. avrs uses an AEAD instead, implemented in a crypto crate
//! behind [`PayloadCipher`]. The framing gives each sealed packet:
//!
//! - the 37 header bytes as they go on the wire, `size` already holding the
//!   sealed length, to authenticate as associated data (so type, size,
//!   timestamp and addresses cannot be altered);
//! - a per-direction packet counter, usable as an implicit nonce the way TLS
//!   uses its record sequence number. A cipher may instead carry an explicit
//!   nonce in its overhead (and check that it only grows).
//!
//! Overhead accounting: the plaintext limits ([`super::MAX_PLAINTEXT`],
//! [`super::FRAGMENT_THRESHOLD`]) apply *before* sealing. A cipher whose
//! overhead is at most 200 bytes keeps every sealed packet within
//! `MAX_PLAINTEXT + 200`, and any sealed size is refused by the reader above
//! [`super::MAX_PACKET_SIZE`].
//!
//! [`Plaintext`] is the identity, for tests and for when the transport below
//! already encrypts (QUIC, TLS).

use bytes::BytesMut;

use super::STREAM_HEADER_SIZE;
use crate::error::Result;

/// What a cipher binds one sealed packet to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketContext<'a> {
    /// The stream header exactly as on the wire: the associated data.
    pub header: &'a [u8; STREAM_HEADER_SIZE],
    /// How many sealed packets (`DATA` and `FRAGMENT`) this direction of
    /// the stream carried before this one, from 0. The reader counts every
    /// sealed packet whose header it accepted, opened successfully or not, so
    /// both sides agree as long as no bytes are lost or forged; after that,
    /// an implicit-nonce AEAD fails every later packet, which is the point.
    pub packet_index: u64,
}

/// Seals and opens the payload of `DATA` and `FRAGMENT` packets.
pub trait PayloadCipher {
    /// Bytes [`Self::seal`] appends for `plaintext_len` bytes of plaintext,
    /// tag, nonce or padding included. The writer puts it in the header's
    /// `size` before sealing, so the header can be associated data.
    fn sealed_len(&self, plaintext_len: usize) -> usize;

    /// Appends the sealed form of the plaintext to `out`: exactly
    /// `sealed_len(total)` bytes. The plaintext is the concatenation of
    /// `parts` (a header, then data), gathered so that nothing is copied
    /// twice: an AEAD appends the parts to `out` and seals them in place.
    fn seal(&mut self, ctx: &PacketContext<'_>, parts: &[&[u8]], out: &mut BytesMut) -> Result<()>;

    /// Replaces `payload` (the sealed bytes after the header) by its
    /// plaintext, in place. A payload that does not authenticate is an error
    /// (by convention [`crate::ProtoError::Unauthenticated`] with `what: "sealed
    /// payload"`), and the packet is dropped.
    fn open(&mut self, ctx: &PacketContext<'_>, payload: &mut BytesMut) -> Result<()>;
}

/// The identity cipher: the payload is the plaintext.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Plaintext;

impl PayloadCipher for Plaintext {
    fn sealed_len(&self, plaintext_len: usize) -> usize {
        plaintext_len
    }

    fn seal(&mut self, _: &PacketContext<'_>, parts: &[&[u8]], out: &mut BytesMut) -> Result<()> {
        for part in parts {
            out.extend_from_slice(part);
        }
        Ok(())
    }

    fn open(&mut self, _: &PacketContext<'_>, _: &mut BytesMut) -> Result<()> {
        Ok(())
    }
}

/// A test cipher with a 9-byte "tag" that depends on the header, the packet
/// index and the plaintext (FNV-1a, not cryptographic): enough to prove the
/// framing hands both sides the same context and that tampering is caught.
#[cfg(test)]
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ToyAead;

#[cfg(test)]
impl ToyAead {
    const TAG: usize = 9;

    fn tag(ctx: &PacketContext<'_>, plaintext: &[u8]) -> [u8; Self::TAG] {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let index = ctx.packet_index.to_le_bytes();
        for b in ctx.header.iter().chain(&index).chain(plaintext) {
            h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
        let mut tag = [0xA5; Self::TAG];
        tag[..8].copy_from_slice(&h.to_le_bytes());
        tag
    }
}

#[cfg(test)]
impl PayloadCipher for ToyAead {
    fn sealed_len(&self, plaintext_len: usize) -> usize {
        plaintext_len + Self::TAG
    }

    fn seal(&mut self, ctx: &PacketContext<'_>, parts: &[&[u8]], out: &mut BytesMut) -> Result<()> {
        let start = out.len();
        for part in parts {
            out.extend_from_slice(part);
        }
        let tag = Self::tag(ctx, &out[start..]);
        out.extend_from_slice(&tag);
        Ok(())
    }

    fn open(&mut self, ctx: &PacketContext<'_>, payload: &mut BytesMut) -> Result<()> {
        let bad = crate::ProtoError::Unauthenticated {
            what: "sealed payload",
        };
        let body_len = payload.len().checked_sub(Self::TAG).ok_or(bad.clone())?;
        if payload[body_len..] != Self::tag(ctx, &payload[..body_len]) {
            return Err(bad);
        }
        payload.truncate(body_len);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: [u8; STREAM_HEADER_SIZE] = [7; STREAM_HEADER_SIZE];

    fn ctx(packet_index: u64) -> PacketContext<'static> {
        PacketContext {
            header: &HEADER,
            packet_index,
        }
    }

    #[test]
    fn plaintext_is_the_identity() {
        let mut out = BytesMut::new();
        Plaintext.seal(&ctx(0), &[b"a", b"bc"], &mut out).unwrap();
        assert_eq!(&out[..], b"abc");
        assert_eq!(Plaintext.sealed_len(3), 3);
        Plaintext.open(&ctx(5), &mut out).unwrap();
        assert_eq!(&out[..], b"abc");
    }

    #[test]
    fn toy_aead_opens_what_it_sealed_and_nothing_else() {
        let mut sealed = BytesMut::new();
        ToyAead
            .seal(&ctx(3), &[b"hel", b"lo"], &mut sealed)
            .unwrap();
        assert_eq!(sealed.len(), ToyAead.sealed_len(5));

        let mut ok = sealed.clone();
        ToyAead.open(&ctx(3), &mut ok).unwrap();
        assert_eq!(&ok[..], b"hello");

        assert!(ToyAead.open(&ctx(4), &mut sealed.clone()).is_err());
        let other_header = [8; STREAM_HEADER_SIZE];
        let other = PacketContext {
            header: &other_header,
            packet_index: 3,
        };
        assert!(ToyAead.open(&other, &mut sealed.clone()).is_err());
        let mut flipped = sealed.clone();
        flipped[0] ^= 1;
        assert!(ToyAead.open(&ctx(3), &mut flipped).is_err());
        assert!(
            ToyAead
                .open(&ctx(3), &mut BytesMut::from(&b"short"[..]))
                .is_err()
        );
    }
}
