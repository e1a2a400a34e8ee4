//! The state each node spreads by gossip: roles, region, load and the
//! contents it holds with their place in the relay tree.

use crate::error::{ClusterError, Result};
use avrs_proto::avrs::Roles;
use avrs_proto::{Guuid, Hash32};
use bytes::{Buf, BufMut};

/// At most this many contents ride in one node's state, so one state item
/// always fits a gossip datagram with room for others.
pub const MAX_ADVERTISED_CONTENTS: usize = 16;
/// Format 2 added the service addresses and each content's parent.
const FORMAT: u8 = 2;
const FIXED_LEN: usize = 1 + 32 + 8 + 2 + 2 + 18 + ServiceAddrs::LEN + 1;
const CONTENT_LEN: usize = 16 + 1 + 1 + 2 + 2 + 32;
/// Largest encoded state.
pub const MAX_STATE_LEN: usize = FIXED_LEN + MAX_ADVERTISED_CONTENTS * CONTENT_LEN;

/// What a node carries now and what it can carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Load {
    pub connections: u32,
    pub max_connections: u32,
    pub egress_kbps: u32,
    pub max_egress_kbps: u32,
    /// CPU busy share, 0–1000.
    pub cpu_permille: u16,
}

impl Load {
    /// The tightest of connections, egress and CPU, in permille of capacity
    /// (1000 = full). A capacity of 0 means "not limited".
    pub fn score_permille(&self) -> u32 {
        let share = |used: u32, max: u32| {
            if max == 0 {
                0
            } else {
                (u64::from(used) * 1000 / u64::from(max)).min(u64::from(u32::MAX)) as u32
            }
        };
        share(self.connections, self.max_connections)
            .max(share(self.egress_kbps, self.max_egress_kbps))
            .max(u32::from(self.cpu_permille))
    }
}

/// Where a node serves clients: one IP (IPv6 or IPv4-mapped) and the
/// ports of its listeners; 0 = not listening. The balancer redirects to
/// these and relays pull from `quic`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ServiceAddrs {
    pub ip: [u8; 16],
    pub http: u16,
    pub quic: u16,
    pub rtmp: u16,
}

impl ServiceAddrs {
    pub const LEN: usize = 16 + 2 + 2 + 2;

    /// `port` at this node's IP, or None when not listening.
    pub fn socket(&self, port: u16) -> Option<std::net::SocketAddr> {
        if port == 0 {
            return None;
        }
        let ip = std::net::Ipv6Addr::from(self.ip);
        let ip = match ip.to_ipv4_mapped() {
            Some(v4) => std::net::IpAddr::V4(v4),
            None => std::net::IpAddr::V6(ip),
        };
        Some(std::net::SocketAddr::new(ip, port))
    }
}

/// One content a node holds, and where it sits in that content's tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContentLocation {
    pub content: Guuid,
    /// 0 at the origin, parent's depth + 1 at a relay.
    pub depth: u8,
    /// The node has a live path to the origin and may take children.
    pub attached: bool,
    pub children: u16,
    pub child_cap: u16,
    /// The member this node pulls the content from (None at the origin):
    /// lets a parent count its children from gossip alone.
    pub parent: Option<Hash32>,
}

/// A node's gossiped state. A newer `version` from the same member replaces
/// an older one everywhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeState {
    pub member: Hash32,
    pub version: u64,
    pub roles: Roles,
    pub region: u16,
    pub load: Load,
    pub service: ServiceAddrs,
    pub contents: Vec<ContentLocation>,
}

impl NodeState {
    pub fn new(member: Hash32, roles: Roles, region: u16) -> Self {
        Self {
            member,
            version: 0,
            roles,
            region,
            load: Load::default(),
            service: ServiceAddrs::default(),
            contents: Vec::new(),
        }
    }

    pub fn location(&self, content: Guuid) -> Option<&ContentLocation> {
        self.contents.iter().find(|c| c.content == content)
    }

    pub fn encode(&self, mut out: impl BufMut) -> Result<()> {
        if self.contents.len() > MAX_ADVERTISED_CONTENTS {
            return Err(ClusterError::TooLarge {
                what: "advertised contents",
                max: MAX_ADVERTISED_CONTENTS,
                actual: self.contents.len(),
            });
        }
        out.put_u8(FORMAT);
        out.put_slice(self.member.as_bytes());
        out.put_u64(self.version);
        out.put_u16(self.roles.mask());
        out.put_u16(self.region);
        let l = &self.load;
        out.put_u32(l.connections);
        out.put_u32(l.max_connections);
        out.put_u32(l.egress_kbps);
        out.put_u32(l.max_egress_kbps);
        out.put_u16(l.cpu_permille);
        out.put_slice(&self.service.ip);
        out.put_u16(self.service.http);
        out.put_u16(self.service.quic);
        out.put_u16(self.service.rtmp);
        out.put_u8(self.contents.len() as u8);
        for c in &self.contents {
            out.put_slice(&c.content.to_bytes());
            out.put_u8(c.depth);
            out.put_u8(u8::from(c.attached));
            out.put_u16(c.children);
            out.put_u16(c.child_cap);
            // All zeros is no parent: no key hashes to zero in practice.
            out.put_slice(c.parent.unwrap_or_default().as_bytes());
        }
        Ok(())
    }

    pub fn to_vec(&self) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(MAX_STATE_LEN);
        self.encode(&mut out)?;
        Ok(out)
    }

    /// Reads exactly one state from `bytes`; leftovers are an error.
    pub fn decode(mut bytes: &[u8]) -> Result<Self> {
        if bytes.len() < FIXED_LEN {
            return Err(ClusterError::Malformed("node state"));
        }
        if bytes.get_u8() != FORMAT {
            return Err(ClusterError::Malformed("node state format"));
        }
        let mut member = [0u8; 32];
        bytes.copy_to_slice(&mut member);
        let version = bytes.get_u64();
        let roles =
            Roles::from_mask(bytes.get_u16()).map_err(|_| ClusterError::Malformed("node roles"))?;
        let region = bytes.get_u16();
        let load = Load {
            connections: bytes.get_u32(),
            max_connections: bytes.get_u32(),
            egress_kbps: bytes.get_u32(),
            max_egress_kbps: bytes.get_u32(),
            cpu_permille: bytes.get_u16().min(1000),
        };
        let mut ip = [0u8; 16];
        bytes.copy_to_slice(&mut ip);
        let service = ServiceAddrs {
            ip,
            http: bytes.get_u16(),
            quic: bytes.get_u16(),
            rtmp: bytes.get_u16(),
        };
        let count = usize::from(bytes.get_u8());
        if count > MAX_ADVERTISED_CONTENTS {
            return Err(ClusterError::TooLarge {
                what: "advertised contents",
                max: MAX_ADVERTISED_CONTENTS,
                actual: count,
            });
        }
        if bytes.len() != count * CONTENT_LEN {
            return Err(ClusterError::Malformed("node state contents"));
        }
        let mut contents = Vec::with_capacity(count);
        for _ in 0..count {
            let mut id = [0u8; 16];
            bytes.copy_to_slice(&mut id);
            let depth = bytes.get_u8();
            let attached = match bytes.get_u8() {
                0 => false,
                1 => true,
                _ => return Err(ClusterError::Malformed("attached flag")),
            };
            let children = bytes.get_u16();
            let child_cap = bytes.get_u16();
            let mut parent = [0u8; 32];
            bytes.copy_to_slice(&mut parent);
            contents.push(ContentLocation {
                content: Guuid::from_bytes(id),
                depth,
                attached,
                children,
                child_cap,
                parent: (parent != [0; 32]).then_some(Hash32(parent)),
            });
        }
        Ok(Self {
            member: Hash32(member),
            version,
            roles,
            region,
            load,
            service,
            contents,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> NodeState {
        let mut s = NodeState::new(Hash32([3; 32]), Roles::SERVER, 2);
        s.version = 9;
        s.load.connections = 10;
        s.load.max_connections = 100;
        s.contents.push(ContentLocation {
            content: Guuid::new(1, 2),
            depth: 1,
            attached: true,
            children: 3,
            child_cap: 8,
            parent: Some(Hash32([4; 32])),
        });
        s.service.http = 8080;
        s
    }

    #[test]
    fn round_trip_and_caps() {
        let s = sample();
        let bytes = s.to_vec().unwrap();
        assert_eq!(NodeState::decode(&bytes).unwrap(), s);
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(NodeState::decode(&longer).is_err());
        let mut big = s.clone();
        big.contents = vec![s.contents[0]; MAX_ADVERTISED_CONTENTS + 1];
        assert!(big.to_vec().is_err());
        big.contents.truncate(MAX_ADVERTISED_CONTENTS);
        assert_eq!(big.to_vec().unwrap().len(), MAX_STATE_LEN);
    }

    #[test]
    fn load_score_takes_the_tightest_resource() {
        let mut l = Load {
            connections: 50,
            max_connections: 100,
            egress_kbps: 900,
            max_egress_kbps: 1000,
            cpu_permille: 100,
        };
        assert_eq!(l.score_permille(), 900);
        l.max_egress_kbps = 0;
        assert_eq!(l.score_permille(), 500);
    }

    proptest! {
        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = NodeState::decode(&bytes);
        }
    }
}
