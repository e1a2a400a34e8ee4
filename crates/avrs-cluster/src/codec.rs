//! Our wire form of foca's messages: fixed-size identities, one tag byte per
//! message, big-endian numbers. Every read checks the length first.

use crate::error::ClusterError;
use crate::identity::MemberId;
use bytes::{Buf, BufMut};
use foca::{Header, Member, Message, State};

/// foca's codec for [`MemberId`].
#[derive(Debug, Clone, Copy, Default)]
pub struct MemberCodec;

const MEMBER_LEN: usize = MemberId::ENCODED_LEN + 2 + 1;

fn need(buf: &impl Buf, n: usize, what: &'static str) -> Result<(), ClusterError> {
    if buf.remaining() < n {
        return Err(ClusterError::Malformed(what));
    }
    Ok(())
}

fn put_probe(buf: &mut impl BufMut, tag: u8, id: Option<&MemberId>, probe: u8) {
    buf.put_u8(tag);
    if let Some(id) = id {
        id.encode(&mut *buf);
    }
    buf.put_u8(probe);
}

impl foca::Codec<MemberId> for MemberCodec {
    type Error = ClusterError;

    fn encode_header(
        &mut self,
        header: &Header<MemberId>,
        mut buf: impl BufMut,
    ) -> Result<(), ClusterError> {
        header.src.encode(&mut buf);
        buf.put_u16(header.src_incarnation);
        header.dst.encode(&mut buf);
        match &header.message {
            Message::Ping(n) => put_probe(&mut buf, 0, None, *n),
            Message::Ack(n) => put_probe(&mut buf, 1, None, *n),
            Message::PingReq {
                target,
                probe_number,
            } => put_probe(&mut buf, 2, Some(target), *probe_number),
            Message::IndirectPing {
                origin,
                probe_number,
            } => put_probe(&mut buf, 3, Some(origin), *probe_number),
            Message::IndirectAck {
                target,
                probe_number,
            } => put_probe(&mut buf, 4, Some(target), *probe_number),
            Message::ForwardedAck {
                origin,
                probe_number,
            } => put_probe(&mut buf, 5, Some(origin), *probe_number),
            Message::Announce => buf.put_u8(6),
            Message::Feed => buf.put_u8(7),
            Message::Gossip => buf.put_u8(8),
            Message::Broadcast => buf.put_u8(9),
            Message::TurnUndead => buf.put_u8(10),
        }
        Ok(())
    }

    fn decode_header(&mut self, mut buf: impl Buf) -> Result<Header<MemberId>, ClusterError> {
        let src = MemberId::decode(&mut buf)?;
        need(&buf, 2, "gossip header")?;
        let src_incarnation = buf.get_u16();
        let dst = MemberId::decode(&mut buf)?;
        need(&buf, 1, "gossip message tag")?;
        let tag = buf.get_u8();
        let probe = |buf: &mut dyn Buf| -> Result<u8, ClusterError> {
            if buf.remaining() < 1 {
                return Err(ClusterError::Malformed("probe number"));
            }
            Ok(buf.get_u8())
        };
        let message = match tag {
            0 => Message::Ping(probe(&mut buf)?),
            1 => Message::Ack(probe(&mut buf)?),
            2..=5 => {
                let id = MemberId::decode(&mut buf)?;
                let probe_number = probe(&mut buf)?;
                match tag {
                    2 => Message::PingReq {
                        target: id,
                        probe_number,
                    },
                    3 => Message::IndirectPing {
                        origin: id,
                        probe_number,
                    },
                    4 => Message::IndirectAck {
                        target: id,
                        probe_number,
                    },
                    _ => Message::ForwardedAck {
                        origin: id,
                        probe_number,
                    },
                }
            }
            6 => Message::Announce,
            7 => Message::Feed,
            8 => Message::Gossip,
            9 => Message::Broadcast,
            10 => Message::TurnUndead,
            _ => return Err(ClusterError::Malformed("gossip message tag")),
        };
        Ok(Header {
            src,
            src_incarnation,
            dst,
            message,
        })
    }

    fn encode_member(
        &mut self,
        member: &Member<MemberId>,
        mut buf: impl BufMut,
    ) -> Result<(), ClusterError> {
        // foca fills a bounded buffer and needs it left clean when full.
        if buf.remaining_mut() < MEMBER_LEN {
            return Err(ClusterError::TooLarge {
                what: "member update",
                max: buf.remaining_mut(),
                actual: MEMBER_LEN,
            });
        }
        member.id().encode(&mut buf);
        buf.put_u16(member.incarnation());
        buf.put_u8(match member.state() {
            State::Alive => 0,
            State::Suspect => 1,
            State::Down => 2,
        });
        Ok(())
    }

    fn decode_member(&mut self, mut buf: impl Buf) -> Result<Member<MemberId>, ClusterError> {
        need(&buf, MEMBER_LEN, "member update")?;
        let id = MemberId::decode(&mut buf)?;
        let incarnation = buf.get_u16();
        let state = match buf.get_u8() {
            0 => State::Alive,
            1 => State::Suspect,
            2 => State::Down,
            _ => return Err(ClusterError::Malformed("member state")),
        };
        Ok(Member::new(id, incarnation, state))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::PeerAddr;
    use avrs_proto::Hash32;
    use foca::Codec;

    fn id(n: u8) -> MemberId {
        MemberId::new(Hash32([n; 32]), PeerAddr::default())
    }

    #[test]
    fn every_message_round_trips() {
        let messages = [
            Message::Ping(1),
            Message::Ack(2),
            Message::PingReq {
                target: id(3),
                probe_number: 4,
            },
            Message::IndirectPing {
                origin: id(5),
                probe_number: 6,
            },
            Message::IndirectAck {
                target: id(7),
                probe_number: 8,
            },
            Message::ForwardedAck {
                origin: id(9),
                probe_number: 10,
            },
            Message::Announce,
            Message::Feed,
            Message::Gossip,
            Message::Broadcast,
            Message::TurnUndead,
        ];
        for message in messages {
            let header = Header {
                src: id(1),
                src_incarnation: 3,
                dst: id(2),
                message,
            };
            let mut buf = Vec::new();
            MemberCodec.encode_header(&header, &mut buf).unwrap();
            assert_eq!(MemberCodec.decode_header(&buf[..]).unwrap(), header);
            // Every strict prefix is refused, never a panic.
            for cut in 0..buf.len() {
                assert!(MemberCodec.decode_header(&buf[..cut]).is_err());
            }
        }
    }

    #[test]
    fn member_round_trips_and_refuses_bad_state() {
        let member = Member::new(id(4), 9, State::Suspect);
        let mut buf = Vec::new();
        MemberCodec.encode_member(&member, &mut buf).unwrap();
        assert_eq!(MemberCodec.decode_member(&buf[..]).unwrap(), member);
        *buf.last_mut().unwrap() = 7;
        assert!(MemberCodec.decode_member(&buf[..]).is_err());
        let mut small = [0u8; 10];
        assert!(MemberCodec.encode_member(&member, &mut small[..]).is_err());
    }
}
