//! The 16-byte channel packet header and the channel packet it starts.
//!
//! Layout (little-endian, packed):
//! `id u8 | enc_type u8 | type u8 | padding u8 | seq_id u64 | data_size u32`.
//! `enc_type` and `padding` are unused: written as 0, ignored on receive (as
//! in the reference; they sit inside the sealed payload, so ignoring them
//! gives an attacker nothing).

use bytes::{Buf, BufMut, Bytes};

use super::CHANNEL_HEADER_SIZE;
use crate::error::{ProtoError, Result};

/// A decoded channel packet header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChannelHeader {
    /// The channel char, such as `b'A'` for AVRS.
    pub id: u8,
    /// The channel's own sub-type (for `'A'`: `'C'`, `'S'`, `'c'`, `'r'`).
    pub subtype: u8,
    /// One counter per stream, shared by all channels, from 0.
    pub seq_id: u64,
    /// Bytes of data after the header.
    pub data_size: u32,
}

impl ChannelHeader {
    pub fn encode(&self) -> [u8; CHANNEL_HEADER_SIZE] {
        let mut out = [0u8; CHANNEL_HEADER_SIZE];
        let mut w = &mut out[..];
        w.put_u8(self.id);
        w.put_u8(0); // enc_type
        w.put_u8(self.subtype);
        w.put_u8(0); // padding
        w.put_u64_le(self.seq_id);
        w.put_u32_le(self.data_size);
        out
    }

    /// Reads the first 16 bytes of `buf`.
    pub fn decode(buf: &[u8]) -> Result<Self> {
        crate::error::need("channel header", buf, CHANNEL_HEADER_SIZE)?;
        let mut r = &buf[..CHANNEL_HEADER_SIZE];
        let id = r.get_u8();
        r.advance(1); // enc_type
        let subtype = r.get_u8();
        r.advance(1); // padding
        Ok(Self {
            id,
            subtype,
            seq_id: r.get_u64_le(),
            data_size: r.get_u32_le(),
        })
    }

    /// Header plus data: the size the whole channel packet must have.
    pub fn packet_len(&self) -> usize {
        CHANNEL_HEADER_SIZE + self.data_size as usize
    }
}

/// A whole channel packet as the reader delivers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelPacket {
    pub header: ChannelHeader,
    /// Exactly `header.data_size` bytes, shared (not copied) with the input.
    pub data: Bytes,
}

impl ChannelPacket {
    /// Splits a plaintext into header and data. Its length must equal
    /// `16 + data_size` exactly.
    pub fn decode(mut plaintext: Bytes) -> Result<Self> {
        let header = ChannelHeader::decode(&plaintext)?;
        if plaintext.len() != header.packet_len() {
            return Err(ProtoError::WrongSize {
                what: "channel packet",
                expected: header.packet_len(),
                actual: plaintext.len(),
            });
        }
        plaintext.advance(CHANNEL_HEADER_SIZE);
        Ok(Self {
            header,
            data: plaintext,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn channel_header_is_16_packed_little_endian_bytes() {
        let header = ChannelHeader {
            id: b'A',
            subtype: b'S',
            seq_id: 0x0102_0304_0506_0708,
            data_size: 0x1122_3344,
        };
        let bytes = [
            b'A', 0x00, b'S', 0x00, 0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, 0x44, 0x33,
            0x22, 0x11,
        ];
        assert_eq!(CHANNEL_HEADER_SIZE, 16);
        assert_eq!(header.encode(), bytes);
        assert_eq!(ChannelHeader::decode(&bytes).unwrap(), header);
    }

    #[test]
    fn enc_type_and_padding_are_ignored_on_receive() {
        let mut bytes = [0u8; 16];
        bytes[0] = b'A';
        bytes[1] = 0x06;
        bytes[3] = 0xEE;
        let header = ChannelHeader::decode(&bytes).unwrap();
        assert_eq!(header.id, b'A');
        assert_eq!(header.encode()[1], 0);
        assert_eq!(header.encode()[3], 0);
    }

    #[test]
    fn short_header_is_truncated() {
        assert_eq!(
            ChannelHeader::decode(&[0; 15]),
            Err(ProtoError::Truncated {
                what: "channel header",
                need: 16,
                have: 15
            })
        );
    }

    #[test]
    fn packet_length_must_match_data_size_exactly() {
        let header = ChannelHeader {
            id: b'A',
            subtype: b'c',
            seq_id: 1,
            data_size: 3,
        };
        let mut bytes = header.encode().to_vec();
        bytes.extend_from_slice(b"xyz");
        let packet = ChannelPacket::decode(Bytes::from(bytes.clone())).unwrap();
        assert_eq!(packet.header, header);
        assert_eq!(&packet.data[..], b"xyz");

        let short = Bytes::copy_from_slice(&bytes[..18]);
        assert_eq!(
            ChannelPacket::decode(short),
            Err(ProtoError::WrongSize {
                what: "channel packet",
                expected: 19,
                actual: 18
            })
        );
        bytes.push(b'!');
        assert_eq!(
            ChannelPacket::decode(Bytes::from(bytes)),
            Err(ProtoError::WrongSize {
                what: "channel packet",
                expected: 19,
                actual: 20
            })
        );
    }

    proptest! {
        #[test]
        fn channel_packet_round_trips(
            id: u8,
            subtype: u8,
            seq_id: u64,
            data in proptest::collection::vec(any::<u8>(), 0..256),
        ) {
            let header = ChannelHeader { id, subtype, seq_id, data_size: data.len() as u32 };
            let mut bytes = header.encode().to_vec();
            bytes.extend_from_slice(&data);
            let packet = ChannelPacket::decode(Bytes::from(bytes)).unwrap();
            prop_assert_eq!(packet.header, header);
            prop_assert_eq!(&packet.data[..], &data[..]);
        }
    }
}
