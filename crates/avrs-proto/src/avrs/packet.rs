//! One entry point for every channel-`'A'` packet: the channel header's
//! `type` byte picks the sub-packet, the data is decoded structurally.

use super::cluster::ClusterType;
use super::content::ContentPacket;
use super::control::ControlPacket;
use super::retcode::RetCodePacket;
use super::session::SessionType;
use super::subtype::SubType;
use crate::error::Result;

/// A decoded channel-`'A'` packet. Control packets are decoded structurally
/// only; read a typed request from them with
/// [`crate::avrs::ClusterRequest::from_packet`] or
/// [`crate::avrs::SessionRequest::from_packet`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AvrsPacket<'a> {
    Cluster(ControlPacket<'a, ClusterType>),
    Session(ControlPacket<'a, SessionType>),
    Content(ContentPacket<'a>),
    RetCode(RetCodePacket),
}

impl<'a> AvrsPacket<'a> {
    /// Decodes `data`, the payload after the 16-byte channel header, as the
    /// sub-packet named by `subtype` (the channel header's `type` byte).
    /// An unknown sub-type is `UnknownValue` "AVRS sub-type"; drop such a
    /// packet without a reply.
    pub fn decode(subtype: u8, data: &'a [u8]) -> Result<Self> {
        Ok(match SubType::from_code(subtype)? {
            SubType::Cluster => Self::Cluster(ControlPacket::decode(data)?),
            SubType::Session => Self::Session(ControlPacket::decode(data)?),
            SubType::Content => Self::Content(ContentPacket::decode(data)?),
            SubType::RetCode => Self::RetCode(RetCodePacket::decode(data)?),
        })
    }

    pub fn subtype(&self) -> SubType {
        match self {
            Self::Cluster(_) => SubType::Cluster,
            Self::Session(_) => SubType::Session,
            Self::Content(_) => SubType::Content,
            Self::RetCode(_) => SubType::RetCode,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::avrs::{RetCode, labels};
    use crate::error::ProtoError;

    #[test]
    fn each_subtype_decodes_its_own_layout() {
        let control = [0x01, 0, 0, 0, 0, 0, 0, 0];
        let cluster = AvrsPacket::decode(b'C', &control).unwrap();
        assert!(matches!(&cluster, AvrsPacket::Cluster(p) if p.kind() == ClusterType::Create));
        assert_eq!(cluster.subtype(), SubType::Cluster);

        let session = AvrsPacket::decode(b'S', &control).unwrap();
        assert!(matches!(&session, AvrsPacket::Session(p) if p.kind() == SessionType::Open));
        assert_eq!(session.subtype(), SubType::Session);

        let content = AvrsPacket::decode(b'c', &[4, 0, 0, 0, 9, 0, 0, 0, 0xEE]).unwrap();
        assert_eq!(
            content,
            AvrsPacket::Content(ContentPacket::new(4, 9, &[0xEE]))
        );
        assert_eq!(content.subtype(), SubType::Content);

        let retcode = AvrsPacket::decode(b'r', &[0, 0, 0, 0, 0, 0, 0, 0]).unwrap();
        assert_eq!(
            retcode,
            AvrsPacket::RetCode(RetCodePacket::with_text(RetCode::Success, ""))
        );
        assert_eq!(retcode.subtype(), SubType::RetCode);
    }

    #[test]
    fn all_four_sub_headers_are_eight_bytes() {
        for subtype in [b'C', b'S', b'c', b'r'] {
            assert!(
                matches!(
                    AvrsPacket::decode(subtype, &[0; 7]),
                    Err(ProtoError::Truncated {
                        need: 8,
                        have: 7,
                        ..
                    })
                ),
                "{}",
                subtype as char
            );
        }
    }

    #[test]
    fn unknown_subtypes_are_refused() {
        assert_eq!(
            AvrsPacket::decode(b'A', &[0; 8]),
            Err(ProtoError::UnknownValue {
                what: labels::SUBTYPE,
                value: u32::from(b'A')
            })
        );
    }
}
