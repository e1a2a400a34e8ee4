//! Content data (`'c'`): `flow_id u8 | padding[3] | content_id u32 | data…`,
//! plus the content-related code tables (kinds, subtypes, states).
//!
//! Decoding never copies the payload: [`ContentPacket::decode`] borrows it
//! and [`split_bytes`] hands back a `Bytes` view of the same buffer, so a
//! relay can re-stamp the header per subscriber and share one payload.

use super::flow::Flows;
use super::labels;
use super::wire_enum::wire_enum;
use crate::error::{ProtoError, Result};
use bytes::Bytes;

/// Size of the content header.
pub const HEADER_SIZE: usize = 8;

/// The 8-byte header of a content packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ContentHeader {
    /// Index into the content's flows string.
    pub flow_id: u8,
    /// The receiving session's handle for the content (per session, so a
    /// relay rewrites it for each subscriber).
    pub content_id: u32,
}

impl ContentHeader {
    pub const fn new(flow_id: u8, content_id: u32) -> Self {
        Self {
            flow_id,
            content_id,
        }
    }

    /// The wire form; padding is written as zeros.
    pub fn to_bytes(self) -> [u8; HEADER_SIZE] {
        let mut out = [0u8; HEADER_SIZE];
        out[0] = self.flow_id;
        out[4..].copy_from_slice(&self.content_id.to_le_bytes());
        out
    }

    /// Reads the header and returns the bytes after it. The packet must hold
    /// the whole header and the padding must be zero.
    pub fn decode(data: &[u8]) -> Result<(Self, &[u8])> {
        crate::error::need(labels::CONTENT_HEADER, data, HEADER_SIZE)?;
        let (head, payload) = data.split_at(HEADER_SIZE);
        if head[1..4] != [0, 0, 0] {
            return Err(ProtoError::Malformed {
                what: labels::CONTENT_HEADER,
                reason: "padding is not zero",
            });
        }
        let content_id = u32::from_le_bytes(head[4..8].try_into().expect("4 bytes"));
        Ok((Self::new(head[0], content_id), payload))
    }

    /// Checks the flow id against the content's flows (the error maps to
    /// `CONTENT_FLOW_WRONG_ID`).
    pub fn check_flow(&self, flows: &Flows) -> Result<()> {
        flows.check(self.flow_id)
    }
}

/// A content packet over borrowed bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContentPacket<'a> {
    pub header: ContentHeader,
    /// The payload, possibly empty.
    pub data: &'a [u8],
}

impl<'a> ContentPacket<'a> {
    pub fn new(flow_id: u8, content_id: u32, data: &'a [u8]) -> Self {
        Self {
            header: ContentHeader::new(flow_id, content_id),
            data,
        }
    }

    /// Decodes without copying: `data` borrows from the input.
    pub fn decode(packet: &'a [u8]) -> Result<Self> {
        let (header, data) = ContentHeader::decode(packet)?;
        Ok(Self { header, data })
    }

    pub fn encoded_len(&self) -> usize {
        HEADER_SIZE + self.data.len()
    }

    /// Appends header and payload to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        out.reserve(self.encoded_len());
        out.extend_from_slice(&self.header.to_bytes());
        out.extend_from_slice(self.data);
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.encode_into(&mut out);
        out
    }
}

/// Splits an owned packet into its header and a zero-copy view of the
/// payload.
pub fn split_bytes(packet: Bytes) -> Result<(ContentHeader, Bytes)> {
    let (header, _) = ContentHeader::decode(&packet)?;
    Ok((header, packet.slice(HEADER_SIZE..)))
}

bitflags::bitflags! {
    /// What a content item's source is (content flags of the data model).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct ContentKind: u32 {
        /// Live: produced as it is watched.
        const LIVE = 0x1;
        /// Local: a file path or a capture device on this node.
        const LOCAL = 0x2;
        /// Native: a remote flow from a cluster member or session.
        const NATIVE = 0x4;
        /// Proxy: re-streams another source (a URL).
        const PROXY = 0x8;
    }
}

impl ContentKind {
    /// Reads a wire value; undefined bits are refused.
    pub fn from_wire(bits: u32) -> Result<Self> {
        Self::from_bits(bits).ok_or(ProtoError::UnknownValue {
            what: labels::CONTENT_KIND,
            value: bits,
        })
    }
}

wire_enum! {
    /// Content subtype constants (defined by the protocol, not yet carried by
    /// any header field).
    pub enum ContentSubtype: u8, what = labels::CONTENT_SUBTYPE {
        ActionRequest = 0x01 => "ACTION_REQUEST",
        ActionResponse = 0x02 => "ACTION_RESPONSE",
        State = 0x03 => "STATE",
        Metadata = 0x04 => "METADATA",
        Info = 0x05 => "INFO",
        Audio = 0x10 => "AUDIO",
        Video = 0x11 => "VIDEO",
    }
}

wire_enum! {
    /// Playback state of a content slot in a session.
    pub enum ContentState: u8, what = labels::CONTENT_STATE {
        Idle = 0 => "IDLE",
        Playing = 1 => "PLAYING",
        Paused = 2 => "PAUSED",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn header_is_flow_id_padding_then_content_id_little_endian() {
        let packet = ContentPacket::new(0x02, 0x0A0B_0C0D, b"xyz");
        let bytes = packet.encode();
        assert_eq!(
            bytes,
            [0x02, 0, 0, 0, 0x0D, 0x0C, 0x0B, 0x0A, b'x', b'y', b'z']
        );
        assert_eq!(HEADER_SIZE, 8);
        assert_eq!(ContentPacket::decode(&bytes), Ok(packet));
        assert_eq!(packet.encoded_len(), 11);
    }

    #[test]
    fn decode_borrows_the_payload() {
        let bytes = [1, 0, 0, 0, 5, 0, 0, 0, 9, 9];
        let packet = ContentPacket::decode(&bytes).unwrap();
        assert!(std::ptr::eq(packet.data.as_ptr(), bytes[8..].as_ptr()));
        let empty = ContentPacket::decode(&bytes[..8]).unwrap();
        assert!(empty.data.is_empty());
    }

    #[test]
    fn split_bytes_shares_the_buffer() {
        let owned = Bytes::from(vec![3, 0, 0, 0, 1, 0, 0, 0, 7, 8]);
        let base = owned.as_ptr();
        let (header, payload) = split_bytes(owned).unwrap();
        assert_eq!(header, ContentHeader::new(3, 1));
        assert_eq!(&payload[..], [7, 8]);
        assert!(std::ptr::eq(payload.as_ptr(), base.wrapping_add(8)));
        assert!(split_bytes(Bytes::from_static(&[0; 7])).is_err());
    }

    #[test]
    fn short_or_padded_headers_are_refused() {
        for len in 0..HEADER_SIZE {
            assert_eq!(
                ContentPacket::decode(&[0; 8][..len]),
                Err(ProtoError::Truncated {
                    what: labels::CONTENT_HEADER,
                    need: 8,
                    have: len
                })
            );
        }
        for pad in 1..4 {
            let mut bytes = [0u8; 8];
            bytes[pad] = 1;
            assert!(matches!(
                ContentPacket::decode(&bytes),
                Err(ProtoError::Malformed {
                    what: labels::CONTENT_HEADER,
                    ..
                })
            ));
        }
    }

    #[test]
    fn flow_id_is_checked_against_the_flows() {
        let flows = Flows::new("av").unwrap();
        assert_eq!(ContentHeader::new(1, 0).check_flow(&flows), Ok(()));
        assert_eq!(
            ContentHeader::new(2, 0).check_flow(&flows),
            Err(ProtoError::UnknownValue {
                what: labels::FLOW_ID,
                value: 2
            })
        );
    }

    #[test]
    fn content_kind_flags_are_pinned_and_strict() {
        let pinned = [
            (ContentKind::LIVE, 0x1),
            (ContentKind::LOCAL, 0x2),
            (ContentKind::NATIVE, 0x4),
            (ContentKind::PROXY, 0x8),
        ];
        for (kind, bits) in pinned {
            assert_eq!(kind.bits(), bits);
            assert_eq!(ContentKind::from_wire(bits), Ok(kind));
        }
        assert_eq!(ContentKind::from_wire(0xF), Ok(ContentKind::all()));
        assert_eq!(
            ContentKind::from_wire(0x10),
            Err(ProtoError::UnknownValue {
                what: labels::CONTENT_KIND,
                value: 0x10
            })
        );
    }

    #[test]
    fn subtypes_and_states_are_pinned() {
        let subtypes = [
            (ContentSubtype::ActionRequest, 0x01, "ACTION_REQUEST"),
            (ContentSubtype::ActionResponse, 0x02, "ACTION_RESPONSE"),
            (ContentSubtype::State, 0x03, "STATE"),
            (ContentSubtype::Metadata, 0x04, "METADATA"),
            (ContentSubtype::Info, 0x05, "INFO"),
            (ContentSubtype::Audio, 0x10, "AUDIO"),
            (ContentSubtype::Video, 0x11, "VIDEO"),
        ];
        assert_eq!(subtypes.len(), ContentSubtype::ALL.len());
        for (subtype, code, name) in subtypes {
            assert_eq!((subtype.code(), subtype.name()), (code, name));
            assert_eq!(ContentSubtype::from_code(code), Ok(subtype));
        }
        for code in [0u8, 0x06, 0x0F, 0x12] {
            assert!(ContentSubtype::from_code(code).is_err());
        }
        let states = [
            (ContentState::Idle, 0, "IDLE"),
            (ContentState::Playing, 1, "PLAYING"),
            (ContentState::Paused, 2, "PAUSED"),
        ];
        assert_eq!(states.len(), ContentState::ALL.len());
        for (state, code, name) in states {
            assert_eq!((state.code(), state.name()), (code, name));
            assert_eq!(ContentState::from_code(code), Ok(state));
        }
        assert_eq!(
            ContentState::from_code(3),
            Err(ProtoError::UnknownValue {
                what: labels::CONTENT_STATE,
                value: 3
            })
        );
    }

    proptest! {
        #[test]
        fn content_packets_round_trip(
            flow_id in any::<u8>(),
            content_id in any::<u32>(),
            data in proptest::collection::vec(any::<u8>(), 0..512),
        ) {
            let packet = ContentPacket::new(flow_id, content_id, &data);
            let bytes = packet.encode();
            prop_assert_eq!(ContentPacket::decode(&bytes), Ok(packet));
            let (header, payload) = split_bytes(Bytes::from(bytes)).unwrap();
            prop_assert_eq!(header, packet.header);
            prop_assert_eq!(&payload[..], &data[..]);
        }
    }
}
