//! Member identity as the gossip layer sees it.

use crate::error::{ClusterError, Result};
use avrs_proto::Hash32;
use bytes::{Buf, BufMut};

/// Where a member receives gossip: an IPv6 (or IPv4-mapped) address and a
/// UDP port. The core never opens it; the driver does.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Default)]
pub struct PeerAddr {
    pub ip: [u8; 16],
    pub port: u16,
}

/// A member: its key hash (the protocol's member id), where it listens, and
/// a restart counter so a node that comes back after being declared down
/// rejoins at once under a fresh identity (`foca::Identity::renew`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct MemberId {
    pub key: Hash32,
    pub addr: PeerAddr,
    /// Bumped on each rejoin. Not foca's refutation counter.
    pub incarnation: u32,
}

impl MemberId {
    /// Bytes of the encoded form.
    pub const ENCODED_LEN: usize = 32 + 16 + 2 + 4;

    pub fn new(key: Hash32, addr: PeerAddr) -> Self {
        Self {
            key,
            addr,
            incarnation: 0,
        }
    }

    pub fn encode(&self, mut out: impl BufMut) {
        out.put_slice(self.key.as_bytes());
        out.put_slice(&self.addr.ip);
        out.put_u16(self.addr.port);
        out.put_u32(self.incarnation);
    }

    /// Reads one identity; fails without reading past the buffer.
    pub fn decode(mut buf: impl Buf) -> Result<Self> {
        if buf.remaining() < Self::ENCODED_LEN {
            return Err(ClusterError::Malformed("member identity"));
        }
        let mut key = [0u8; 32];
        buf.copy_to_slice(&mut key);
        let mut ip = [0u8; 16];
        buf.copy_to_slice(&mut ip);
        let port = buf.get_u16();
        let incarnation = buf.get_u32();
        Ok(Self {
            key: Hash32(key),
            addr: PeerAddr { ip, port },
            incarnation,
        })
    }
}

impl foca::Identity for MemberId {
    // The key is unique per member, so foca keeps one entry per key and
    // forgets stale incarnations of it.
    type Addr = Hash32;

    fn renew(&self) -> Option<Self> {
        let incarnation = self.incarnation.checked_add(1)?;
        Some(Self {
            incarnation,
            ..*self
        })
    }

    fn addr(&self) -> Hash32 {
        self.key
    }

    fn win_addr_conflict(&self, adversary: &Self) -> bool {
        self.incarnation > adversary.incarnation
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use foca::Identity;

    #[test]
    fn round_trip_and_renew() {
        let id = MemberId::new(
            Hash32([7; 32]),
            PeerAddr {
                ip: [1; 16],
                port: 9,
            },
        );
        let mut buf = Vec::new();
        id.encode(&mut buf);
        assert_eq!(buf.len(), MemberId::ENCODED_LEN);
        assert_eq!(MemberId::decode(&buf[..]).unwrap(), id);
        assert!(MemberId::decode(&buf[..10]).is_err());
        let renewed = id.renew().unwrap();
        assert!(renewed.win_addr_conflict(&id));
        assert!(!id.win_addr_conflict(&renewed));
        assert_eq!(renewed.addr(), id.addr());
    }
}
