//! The 37-byte stream packet header and the 9-byte `SERVICE` body.
//!
//! Header layout (little-endian, packed):
//! `sig[8] | size u32 | timestamp u64 | type u8 | src_addr u64 | dst_addr u64`.

use bytes::{Buf, BufMut};

use super::{MAX_PACKET_SIZE, SERVICE_BODY_SIZE, SIGNATURE, STREAM_HEADER_SIZE};
use crate::error::{ProtoError, Result};

/// The `type` byte of a stream packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum PacketType {
    /// A sealed channel packet.
    Data = 0x00,
    /// A sealed piece of a large channel packet.
    Fragment = 0x01,
    /// "Are you there?": header only.
    Keepalive = 0x11,
    /// The answer to a keepalive: header only.
    Alive = 0x12,
    /// A plaintext session attachment (the UDP / legacy path).
    Service = 0xFF,
}

impl PacketType {
    pub const fn code(self) -> u8 {
        self as u8
    }

    /// Looks a wire byte up; unknown types are refused.
    pub fn from_code(code: u8) -> Result<Self> {
        match code {
            0x00 => Ok(Self::Data),
            0x01 => Ok(Self::Fragment),
            0x11 => Ok(Self::Keepalive),
            0x12 => Ok(Self::Alive),
            0xFF => Ok(Self::Service),
            _ => Err(ProtoError::UnknownValue {
                what: "stream packet type",
                value: code.into(),
            }),
        }
    }

    /// Whether the payload goes through the [`super::PayloadCipher`].
    pub const fn is_sealed(self) -> bool {
        matches!(self, Self::Data | Self::Fragment)
    }

    /// The payload size this type requires, if it is fixed.
    const fn fixed_size(self) -> Option<usize> {
        match self {
            Self::Keepalive | Self::Alive => Some(0),
            Self::Service => Some(SERVICE_BODY_SIZE),
            Self::Data | Self::Fragment => None,
        }
    }
}

/// A decoded stream packet header (the signature is implied).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StreamHeader {
    /// Payload bytes after the header, as sealed.
    pub size: u32,
    /// Unix seconds at the sender.
    pub timestamp: u64,
    pub packet_type: PacketType,
    /// The sender's node address (informative, not checked on receive).
    pub src_addr: u64,
    /// The receiver's node address (informative, not checked on receive).
    pub dst_addr: u64,
}

impl StreamHeader {
    /// A header-only packet of `packet_type` with every other field 0.
    pub const fn bare(packet_type: PacketType) -> Self {
        Self {
            size: 0,
            timestamp: 0,
            packet_type,
            src_addr: 0,
            dst_addr: 0,
        }
    }

    /// The payload size as a `usize`.
    pub fn payload_len(&self) -> usize {
        // u32 always fits usize on the 32- and 64-bit targets we build for.
        self.size as usize
    }

    pub fn encode(&self) -> [u8; STREAM_HEADER_SIZE] {
        let mut out = [0u8; STREAM_HEADER_SIZE];
        let mut w = &mut out[..];
        w.put_slice(&SIGNATURE);
        w.put_u32_le(self.size);
        w.put_u64_le(self.timestamp);
        w.put_u8(self.packet_type.code());
        w.put_u64_le(self.src_addr);
        w.put_u64_le(self.dst_addr);
        out
    }

    /// Decodes and validates the first 37 bytes of `buf`: signature, known
    /// type, `size` within [`MAX_PACKET_SIZE`] (else [`ProtoError::TooLarge`])
    /// and the exact size of fixed-size types. Fewer than 37 bytes is
    /// [`ProtoError::Incomplete`].
    pub fn decode(buf: &[u8]) -> Result<Self> {
        if buf.len() < STREAM_HEADER_SIZE {
            return Err(ProtoError::Incomplete {
                needed: STREAM_HEADER_SIZE - buf.len(),
            });
        }
        let mut r = &buf[..STREAM_HEADER_SIZE];
        if r[..SIGNATURE.len()] != SIGNATURE {
            return Err(ProtoError::Malformed {
                what: "stream header",
                reason: "bad signature",
            });
        }
        r.advance(SIGNATURE.len());
        let size = r.get_u32_le();
        let timestamp = r.get_u64_le();
        let packet_type = PacketType::from_code(r.get_u8())?;
        let header = Self {
            size,
            timestamp,
            packet_type,
            src_addr: r.get_u64_le(),
            dst_addr: r.get_u64_le(),
        };
        header.check_size()?;
        Ok(header)
    }

    fn check_size(&self) -> Result<()> {
        let size = self.payload_len();
        if size > MAX_PACKET_SIZE {
            return Err(ProtoError::TooLarge {
                what: "stream packet",
                size,
                max: MAX_PACKET_SIZE,
            });
        }
        match self.packet_type.fixed_size() {
            Some(expected) if expected != size => Err(ProtoError::WrongSize {
                what: "stream packet payload",
                expected,
                actual: size,
            }),
            _ => Ok(()),
        }
    }
}

/// The whole bare `KEEPALIVE` packet: signature, type 0x11, every other field 0.
pub const KEEPALIVE_FRAME: [u8; STREAM_HEADER_SIZE] = bare_frame(PacketType::Keepalive);

/// The whole bare `ALIVE` packet: signature, type 0x12, every other field 0.
pub const ALIVE_FRAME: [u8; STREAM_HEADER_SIZE] = bare_frame(PacketType::Alive);

const fn bare_frame(packet_type: PacketType) -> [u8; STREAM_HEADER_SIZE] {
    let mut out = [0u8; STREAM_HEADER_SIZE];
    let mut i = 0;
    while i < SIGNATURE.len() {
        out[i] = SIGNATURE[i];
        i += 1;
    }
    out[20] = packet_type.code();
    out
}

/// The plaintext body of a `SERVICE` packet:
/// `session_id u32 | enc_type u8 | cookie u32`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ServiceBody {
    pub session_id: u32,
    pub enc_type: u8,
    pub cookie: u32,
}

impl ServiceBody {
    pub fn encode(&self) -> [u8; SERVICE_BODY_SIZE] {
        let mut out = [0u8; SERVICE_BODY_SIZE];
        let mut w = &mut out[..];
        w.put_u32_le(self.session_id);
        w.put_u8(self.enc_type);
        w.put_u32_le(self.cookie);
        out
    }

    /// Reads exactly 9 bytes.
    pub fn decode(buf: &[u8]) -> Result<Self> {
        if buf.len() != SERVICE_BODY_SIZE {
            return Err(ProtoError::WrongSize {
                what: "service body",
                expected: SERVICE_BODY_SIZE,
                actual: buf.len(),
            });
        }
        let mut r = buf;
        Ok(Self {
            session_id: r.get_u32_le(),
            enc_type: r.get_u8(),
            cookie: r.get_u32_le(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SIG: [u8; 8] = [0xA0, 0x95, 0x96, 0xA9, 0x9E, 0x5C, 0xFB, 0xFA];

    fn sample() -> StreamHeader {
        StreamHeader {
            size: 0x0030_2010,
            timestamp: 0x1112_1314_1516_1718,
            packet_type: PacketType::Fragment,
            src_addr: 0x2122_2324_2526_2728,
            dst_addr: 0x3132_3334_3536_3738,
        }
    }

    #[test]
    fn stream_header_is_37_packed_little_endian_bytes() {
        let mut expected = SIG.to_vec();
        expected.extend_from_slice(&[0x10, 0x20, 0x30, 0x00]);
        expected.extend_from_slice(&[0x18, 0x17, 0x16, 0x15, 0x14, 0x13, 0x12, 0x11]);
        expected.push(0x01);
        expected.extend_from_slice(&[0x28, 0x27, 0x26, 0x25, 0x24, 0x23, 0x22, 0x21]);
        expected.extend_from_slice(&[0x38, 0x37, 0x36, 0x35, 0x34, 0x33, 0x32, 0x31]);
        assert_eq!(STREAM_HEADER_SIZE, 37);
        assert_eq!(expected.len(), 37);
        assert_eq!(sample().encode().to_vec(), expected);
        assert_eq!(StreamHeader::decode(&expected).unwrap(), sample());
    }

    #[test]
    fn packet_type_codes_are_pinned_and_unknown_ones_refused() {
        let pinned = [
            (PacketType::Data, 0x00),
            (PacketType::Fragment, 0x01),
            (PacketType::Keepalive, 0x11),
            (PacketType::Alive, 0x12),
            (PacketType::Service, 0xFF),
        ];
        for (ty, code) in pinned {
            assert_eq!(ty.code(), code);
            assert_eq!(PacketType::from_code(code).unwrap(), ty);
        }
        let known: Vec<u8> = pinned.iter().map(|p| p.1).collect();
        for code in (0..=255u8).filter(|c| !known.contains(c)) {
            assert_eq!(
                PacketType::from_code(code),
                Err(ProtoError::UnknownValue {
                    what: "stream packet type",
                    value: code.into()
                })
            );
        }
    }

    #[test]
    fn keepalive_and_alive_frames_are_the_bare_header() {
        let mut keepalive = [0u8; 37];
        keepalive[..8].copy_from_slice(&SIG);
        keepalive[20] = 0x11;
        let mut alive = keepalive;
        alive[20] = 0x12;
        assert_eq!(KEEPALIVE_FRAME, keepalive);
        assert_eq!(ALIVE_FRAME, alive);
        assert_eq!(
            StreamHeader::bare(PacketType::Keepalive).encode(),
            KEEPALIVE_FRAME
        );
        assert_eq!(
            StreamHeader::decode(&ALIVE_FRAME).unwrap(),
            StreamHeader::bare(PacketType::Alive)
        );
    }

    #[test]
    fn service_body_is_9_bytes() {
        let body = ServiceBody {
            session_id: 0x0102_0304,
            enc_type: 6,
            cookie: 0xA1B2_C3D4,
        };
        let bytes = [0x04, 0x03, 0x02, 0x01, 0x06, 0xD4, 0xC3, 0xB2, 0xA1];
        assert_eq!(body.encode(), bytes);
        assert_eq!(ServiceBody::decode(&bytes).unwrap(), body);
        assert_eq!(
            ServiceBody::decode(&bytes[..8]),
            Err(ProtoError::WrongSize {
                what: "service body",
                expected: 9,
                actual: 8
            })
        );
        assert!(ServiceBody::decode(&[0; 10]).is_err());
    }

    #[test]
    fn short_header_is_incomplete() {
        let bytes = sample().encode();
        assert_eq!(
            StreamHeader::decode(&bytes[..30]),
            Err(ProtoError::Incomplete { needed: 7 })
        );
        assert_eq!(
            StreamHeader::decode(&[]),
            Err(ProtoError::Incomplete { needed: 37 })
        );
    }

    #[test]
    fn bad_signature_is_malformed() {
        let mut bytes = StreamHeader::bare(PacketType::Data).encode();
        bytes[7] ^= 1;
        assert_eq!(
            StreamHeader::decode(&bytes),
            Err(ProtoError::Malformed {
                what: "stream header",
                reason: "bad signature"
            })
        );
    }

    #[test]
    fn unknown_type_is_refused() {
        let mut bytes = StreamHeader::bare(PacketType::Data).encode();
        bytes[20] = 0x02;
        assert_eq!(
            StreamHeader::decode(&bytes),
            Err(ProtoError::UnknownValue {
                what: "stream packet type",
                value: 2
            })
        );
    }

    #[test]
    fn size_over_4_mib_is_too_large_and_4_mib_is_accepted() {
        let mut header = StreamHeader::bare(PacketType::Data);
        header.size = (MAX_PACKET_SIZE + 1) as u32;
        assert_eq!(
            StreamHeader::decode(&header.encode()),
            Err(ProtoError::TooLarge {
                what: "stream packet",
                size: MAX_PACKET_SIZE + 1,
                max: MAX_PACKET_SIZE
            })
        );
        header.size = MAX_PACKET_SIZE as u32;
        assert_eq!(StreamHeader::decode(&header.encode()).unwrap(), header);
    }

    #[test]
    fn fixed_size_types_refuse_other_sizes() {
        for (ty, expected) in [
            (PacketType::Keepalive, 0),
            (PacketType::Alive, 0),
            (PacketType::Service, 9),
        ] {
            let mut header = StreamHeader::bare(ty);
            header.size = 1 + expected as u32;
            assert_eq!(
                StreamHeader::decode(&header.encode()),
                Err(ProtoError::WrongSize {
                    what: "stream packet payload",
                    expected,
                    actual: expected + 1
                })
            );
        }
    }

    proptest! {
        #[test]
        fn header_round_trips(
            size in 0..=MAX_PACKET_SIZE as u32,
            timestamp: u64,
            src_addr: u64,
            dst_addr: u64,
            fragment: bool,
        ) {
            let packet_type = if fragment { PacketType::Fragment } else { PacketType::Data };
            let header = StreamHeader { size, timestamp, packet_type, src_addr, dst_addr };
            prop_assert_eq!(StreamHeader::decode(&header.encode()).unwrap(), header);
        }

        #[test]
        fn service_body_round_trips(session_id: u32, enc_type: u8, cookie: u32) {
            let body = ServiceBody { session_id, enc_type, cookie };
            prop_assert_eq!(ServiceBody::decode(&body.encode()).unwrap(), body);
        }

        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = StreamHeader::decode(&bytes);
        }
    }
}
