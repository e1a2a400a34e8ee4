//! Cluster-control code tables: packet types, argument codes and the kind of
//! value each argument holds, setups, member addresses.

use crate::avrs::control::ControlKind;
use crate::avrs::labels;
use crate::avrs::subtype::SubType;
use crate::avrs::wire_enum::wire_enum;
use crate::error::{ProtoError, Result};

/// TSD code of the SIGN item in cluster packets.
pub const CLUSTER_SIGN_CODE: u16 = 0xFFFF;

wire_enum! {
    /// The type byte of a cluster (`'C'`) packet.
    pub enum ClusterType: u8, what = labels::CLUSTER_TYPE {
        Create = 0x01 => "CREATE",
        Destroy = 0x02 => "DESTROY",
        Change = 0x03 => "CHANGE",
        Info = 0x04 => "INFO",
        ListRequest = 0x05 => "LIST_REQUEST",
        ListResponse = 0x06 => "LIST_RESPONSE",
        MemberRequestAdd = 0x10 => "MEMBER_REQUEST_ADD",
        MemberRequestDel = 0x11 => "MEMBER_REQUEST_DEL",
        MemberRequestApprove = 0x12 => "MEMBER_REQUEST_APPROVE",
        MemberRemove = 0x13 => "MEMBER_REMOVE",
        MemberRoleAssign = 0x14 => "MEMBER_ROLE_ASSIGN",
        ContentAdd = 0x20 => "CONTENT_ADD",
        ContentUpdate = 0x21 => "CONTENT_UPDATE",
        ContentDel = 0x22 => "CONTENT_DEL",
        ContentListRequest = 0x23 => "CONTENT_LIST_REQUEST",
        ContentListResponse = 0x24 => "CONTENT_LIST_RESPONSE",
        BalanceRequest = 0x30 => "BALANCE_REQUEST",
        BalanceResponse = 0x31 => "BALANCE_RESPONSE",
        RouteAdd = 0x40 => "ROUTE_ADD",
        RouteDel = 0x41 => "ROUTE_DEL",
        RouteFind = 0x42 => "ROUTE_FIND",
        RouteCheck = 0x43 => "ROUTE_CHECK",
        /// Ours: the answer to ROUTE_FIND.
        RouteFindResponse = 0x44 => "ROUTE_FIND_RESPONSE",
        /// Ours: the answer to ROUTE_CHECK.
        RouteCheckResponse = 0x45 => "ROUTE_CHECK_RESPONSE",
        // Ours: an operator's replica of the host's book (`book_sync`).
        BookSync = 0x50 => "BOOK_SYNC",
        BookSyncResponse = 0x51 => "BOOK_SYNC_RESPONSE",
    }
}

impl ControlKind for ClusterType {
    const SUBTYPE: SubType = SubType::Cluster;
    const SIGN_CODE: u16 = CLUSTER_SIGN_CODE;

    fn type_code(self) -> u8 {
        self.code()
    }

    fn from_type_code(code: u8) -> Result<Self> {
        Self::from_code(code)
    }
}

wire_enum! {
    /// TSD codes of cluster-packet arguments.
    pub enum ClusterArg: u16, what = labels::CLUSTER_ARG {
        Id = 0x0001 => "ID",
        Title = 0x0002 => "TITLE",
        Setup = 0x0003 => "SETUP",
        Encrypted = 0x0004 => "ENCRYPTED",
        /// No size or handling is defined; no request takes it.
        MembersCount = 0x0010 => "MEMBERS_COUNT",
        /// No size or handling is defined; no request takes it.
        MembersCountMax = 0x0011 => "MEMBERS_COUNT_MAX",
        Member = 0x0013 => "MEMBER",
        MemberRole = 0x0014 => "MEMBER_ROLE",
        MemberAddr = 0x0015 => "MEMBER_ADDR",
        MemberDisplayName = 0x0016 => "MEMBER_DISPLAY_NAME",
        MemberName = 0x0017 => "MEMBER_NAME",
        MemberSecondName = 0x0018 => "MEMBER_SECOND_NAME",
        MemberSurname = 0x0019 => "MEMBER_SURNAME",
        MemberPatronim = 0x001A => "MEMBER_PATRONIM",
        MemberAvatar = 0x001B => "MEMBER_AVATAR",
        MemberStatus = 0x001C => "MEMBER_STATUS",
        MemberTitle = 0x001D => "MEMBER_TITLE",
        /// No size or handling is defined; no request takes it.
        MemberSignal = 0x001E => "MEMBER_SIGNAL",
        ContentId = 0x0030 => "CONTENT_ID",
        /// `CONTENT_TITEL` in the C headers.
        ContentTitle = 0x0031 => "CONTENT_TITLE",
        ContentFlows = 0x0033 => "CONTENT_FLOWS",
        ContentFlowCodec = 0x0034 => "CONTENT_FLOW_CODEC",
        /// Ours: where a server listens (BALANCE_RESPONSE), a
        /// [`ServiceAddr`].
        ServiceAddr = 0x0040 => "SERVICE_ADDR",
        /// Ours: how many candidates ROUTE_FIND wants, a `u8` from 1 to
        /// [`super::MAX_ROUTE_CANDIDATES`].
        RouteLimit = 0x0050 => "ROUTE_LIMIT",
        /// Ours: one ROUTE_FIND_RESPONSE candidate, a
        /// [`super::ParentCandidate`].
        RouteCandidate = 0x0051 => "ROUTE_CANDIDATE",
        /// Ours: the ROUTE_CHECK answer, a [`super::RouteState`].
        RouteState = 0x0052 => "ROUTE_STATE",
        /// Ours: the answering node's upstream, a [`super::RouteUpstream`].
        RouteUpstream = 0x0053 => "ROUTE_UPSTREAM",
        // Ours: BOOK_SYNC and its response (`book_sync`).
        BookNonce = 0x0060 => "BOOK_NONCE",
        BookRevision = 0x0061 => "BOOK_REVISION",
        BookDigest = 0x0062 => "BOOK_DIGEST",
        BookSize = 0x0063 => "BOOK_SIZE",
        BookOffset = 0x0064 => "BOOK_OFFSET",
        BookChunk = 0x0065 => "BOOK_CHUNK",
        Sign = 0xFFFF => "SIGN",
    }
}

/// What an argument's value holds on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueKind {
    /// A 16-byte GUUID.
    Guuid,
    /// A NUL-terminated UTF-8 string; `max` bytes of text at most.
    Str {
        max: usize,
    },
    U8,
    U16,
    U32,
    U64,
    /// A 32-byte SHA3-256 hash.
    Hash,
    /// A 16-byte [`MemberAddr`].
    MemberAddr,
    /// A 22-byte [`ServiceAddr`].
    ServiceAddr,
    /// A 40-byte [`super::ParentCandidate`].
    RouteCandidate,
    /// A 34-byte [`super::RouteUpstream`].
    RouteUpstream,
    /// Opaque bytes, `max` at most.
    Bytes {
        max: usize,
    },
    /// A [`crate::avrs::FlowCodec`] value.
    FlowCodec,
    /// A `dap_sign_t`.
    Sign,
    /// The protocol defines the code but not its value.
    Unspecified,
}

impl ValueKind {
    /// The exact value size, for fixed-size kinds.
    pub const fn fixed_size(self) -> Option<usize> {
        match self {
            ValueKind::U8 => Some(1),
            ValueKind::U16 => Some(2),
            ValueKind::U32 => Some(4),
            ValueKind::U64 => Some(8),
            ValueKind::Guuid | ValueKind::MemberAddr => Some(16),
            ValueKind::ServiceAddr => Some(ServiceAddr::SIZE),
            ValueKind::RouteCandidate => Some(super::ParentCandidate::SIZE),
            ValueKind::RouteUpstream => Some(super::RouteUpstream::SIZE),
            ValueKind::Hash => Some(32),
            _ => None,
        }
    }
}

/// Longest cluster or content title, in bytes (our cap; the C code has none).
pub const MAX_TITLE: usize = 255;
/// Longest member info string, in bytes (NUL excluded).
pub const MAX_INFO: usize = 63;
/// Largest avatar, in bytes.
pub const MAX_AVATAR: usize = 100 * 1024;

impl ClusterArg {
    /// What this argument's value holds.
    pub const fn value_kind(self) -> ValueKind {
        use ClusterArg as A;
        match self {
            A::Id | A::ContentId => ValueKind::Guuid,
            A::Title | A::ContentTitle => ValueKind::Str { max: MAX_TITLE },
            A::Setup | A::Encrypted | A::RouteLimit | A::RouteState => ValueKind::U8,
            A::MembersCount | A::MembersCountMax | A::MemberSignal => ValueKind::Unspecified,
            A::Member => ValueKind::Hash,
            A::MemberRole => ValueKind::U16,
            A::MemberAddr => ValueKind::MemberAddr,
            A::MemberDisplayName
            | A::MemberName
            | A::MemberSecondName
            | A::MemberSurname
            | A::MemberPatronim
            | A::MemberStatus
            | A::MemberTitle => ValueKind::Str { max: MAX_INFO },
            A::MemberAvatar => ValueKind::Bytes { max: MAX_AVATAR },
            A::ContentFlows => ValueKind::Str {
                max: crate::avrs::flow::MAX_FLOWS,
            },
            A::ContentFlowCodec => ValueKind::FlowCodec,
            A::ServiceAddr => ValueKind::ServiceAddr,
            A::RouteCandidate => ValueKind::RouteCandidate,
            A::RouteUpstream => ValueKind::RouteUpstream,
            A::Sign => ValueKind::Sign,

            A::BookNonce => ValueKind::Bytes {
                max: super::book_sync::BOOK_NONCE_SIZE,
            },
            A::BookRevision => ValueKind::U64,
            A::BookDigest => ValueKind::Hash,
            A::BookSize | A::BookOffset => ValueKind::U32,
            A::BookChunk => ValueKind::Bytes {
                max: super::book_sync::MAX_BOOK_CHUNK,
            },
        }
    }
}

/// Where a server listens: `ip[16]` (IPv6, IPv4-mapped for IPv4) then the
/// HTTP, QUIC and RTMP ports, `u16` LE each (0: not served).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ServiceAddr {
    pub ip: std::net::Ipv6Addr,
    pub http: u16,
    pub quic: u16,
    pub rtmp: u16,
}

impl ServiceAddr {
    /// Encoded size in bytes.
    pub const SIZE: usize = 22;

    pub fn to_bytes(self) -> [u8; Self::SIZE] {
        let mut out = [0u8; Self::SIZE];
        out[..16].copy_from_slice(&self.ip.octets());
        out[16..18].copy_from_slice(&self.http.to_le_bytes());
        out[18..20].copy_from_slice(&self.quic.to_le_bytes());
        out[20..].copy_from_slice(&self.rtmp.to_le_bytes());
        out
    }

    /// Reads exactly [`Self::SIZE`] bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self> {
        let arr: [u8; Self::SIZE] = bytes.try_into().map_err(|_| ProtoError::WrongSize {
            what: labels::SERVICE_ADDR,
            expected: Self::SIZE,
            actual: bytes.len(),
        })?;
        let port = |at: usize| u16::from_le_bytes([arr[at], arr[at + 1]]);
        let mut ip = [0u8; 16];
        ip.copy_from_slice(&arr[..16]);
        Ok(Self {
            ip: std::net::Ipv6Addr::from(ip),
            http: port(16),
            quic: port(18),
            rtmp: port(20),
        })
    }

    /// `port` at this address (IPv4 when mapped), if served.
    pub fn socket(self, port: u16) -> Option<std::net::SocketAddr> {
        let ip = match self.ip.to_ipv4_mapped() {
            Some(v4) => std::net::IpAddr::V4(v4),
            None => std::net::IpAddr::V6(self.ip),
        };
        (port != 0).then_some(std::net::SocketAddr::new(ip, port))
    }
}

wire_enum! {
    /// Cluster `SETUP`: how the session is staged.
    pub enum Setup: u8, what = labels::CLUSTER_SETUP {
        RoundTable = 1 => "ROUND_TABLE",
        Lecture = 2 => "LECTURE",
        PanelDiscussion = 3 => "PANEL_DISCUSSION",
        Meeting = 4 => "MEETING",
    }
}

/// `MEMBER_ADDR`: where a member is, `{net_id u64, node_addr u64}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct MemberAddr {
    /// Cellframe `dap_chain_net_id_t`.
    pub net_id: u64,
    /// DAP node address.
    pub node_addr: u64,
}

impl MemberAddr {
    /// Encoded size in bytes.
    pub const SIZE: usize = 16;

    pub fn to_bytes(self) -> [u8; 16] {
        let mut out = [0u8; 16];
        out[..8].copy_from_slice(&self.net_id.to_le_bytes());
        out[8..].copy_from_slice(&self.node_addr.to_le_bytes());
        out
    }

    /// Reads exactly 16 bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self> {
        let arr: [u8; 16] = bytes.try_into().map_err(|_| ProtoError::WrongSize {
            what: labels::MEMBER_ADDR,
            expected: Self::SIZE,
            actual: bytes.len(),
        })?;
        let (net, node) = arr.split_at(8);
        Ok(Self {
            net_id: u64::from_le_bytes(net.try_into().expect("split at 8")),
            node_addr: u64::from_le_bytes(node.try_into().expect("split at 8")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_type_codes_are_pinned() {
        let pinned: &[(ClusterType, u8, &str)] = &[
            (ClusterType::Create, 0x01, "CREATE"),
            (ClusterType::Destroy, 0x02, "DESTROY"),
            (ClusterType::Change, 0x03, "CHANGE"),
            (ClusterType::Info, 0x04, "INFO"),
            (ClusterType::ListRequest, 0x05, "LIST_REQUEST"),
            (ClusterType::ListResponse, 0x06, "LIST_RESPONSE"),
            (ClusterType::MemberRequestAdd, 0x10, "MEMBER_REQUEST_ADD"),
            (ClusterType::MemberRequestDel, 0x11, "MEMBER_REQUEST_DEL"),
            (
                ClusterType::MemberRequestApprove,
                0x12,
                "MEMBER_REQUEST_APPROVE",
            ),
            (ClusterType::MemberRemove, 0x13, "MEMBER_REMOVE"),
            (ClusterType::MemberRoleAssign, 0x14, "MEMBER_ROLE_ASSIGN"),
            (ClusterType::ContentAdd, 0x20, "CONTENT_ADD"),
            (ClusterType::ContentUpdate, 0x21, "CONTENT_UPDATE"),
            (ClusterType::ContentDel, 0x22, "CONTENT_DEL"),
            (
                ClusterType::ContentListRequest,
                0x23,
                "CONTENT_LIST_REQUEST",
            ),
            (
                ClusterType::ContentListResponse,
                0x24,
                "CONTENT_LIST_RESPONSE",
            ),
            (ClusterType::BalanceRequest, 0x30, "BALANCE_REQUEST"),
            (ClusterType::BalanceResponse, 0x31, "BALANCE_RESPONSE"),
            (ClusterType::RouteAdd, 0x40, "ROUTE_ADD"),
            (ClusterType::RouteDel, 0x41, "ROUTE_DEL"),
            (ClusterType::RouteFind, 0x42, "ROUTE_FIND"),
            (ClusterType::RouteCheck, 0x43, "ROUTE_CHECK"),
            (ClusterType::RouteFindResponse, 0x44, "ROUTE_FIND_RESPONSE"),
            (
                ClusterType::RouteCheckResponse,
                0x45,
                "ROUTE_CHECK_RESPONSE",
            ),
            (ClusterType::BookSync, 0x50, "BOOK_SYNC"),
            (ClusterType::BookSyncResponse, 0x51, "BOOK_SYNC_RESPONSE"),
        ];
        assert_eq!(pinned.len(), ClusterType::ALL.len());
        for &(kind, code, name) in pinned {
            assert_eq!(kind.code(), code);
            assert_eq!(kind.name(), name);
            assert_eq!(kind.to_string(), name);
            assert_eq!(ClusterType::from_code(code), Ok(kind));
            assert_eq!(ClusterType::from_name(&name.to_lowercase()), Some(kind));
            assert_eq!(u8::from(kind), code);
        }
        let known: Vec<u8> = pinned.iter().map(|p| p.1).collect();
        for byte in (0..=u8::MAX).filter(|b| !known.contains(b)) {
            assert_eq!(
                ClusterType::try_from(byte),
                Err(ProtoError::UnknownValue {
                    what: labels::CLUSTER_TYPE,
                    value: u32::from(byte)
                })
            );
        }
        assert_eq!(ClusterType::from_name("NOPE"), None);
    }

    #[test]
    fn cluster_arg_codes_and_value_kinds_are_pinned() {
        use ValueKind as V;
        let info = V::Str { max: 63 };
        let pinned: &[(ClusterArg, u16, &str, ValueKind)] = &[
            (ClusterArg::Id, 0x0001, "ID", V::Guuid),
            (ClusterArg::Title, 0x0002, "TITLE", V::Str { max: 255 }),
            (ClusterArg::Setup, 0x0003, "SETUP", V::U8),
            (ClusterArg::Encrypted, 0x0004, "ENCRYPTED", V::U8),
            (
                ClusterArg::MembersCount,
                0x0010,
                "MEMBERS_COUNT",
                V::Unspecified,
            ),
            (
                ClusterArg::MembersCountMax,
                0x0011,
                "MEMBERS_COUNT_MAX",
                V::Unspecified,
            ),
            (ClusterArg::Member, 0x0013, "MEMBER", V::Hash),
            (ClusterArg::MemberRole, 0x0014, "MEMBER_ROLE", V::U16),
            (ClusterArg::MemberAddr, 0x0015, "MEMBER_ADDR", V::MemberAddr),
            (
                ClusterArg::MemberDisplayName,
                0x0016,
                "MEMBER_DISPLAY_NAME",
                info,
            ),
            (ClusterArg::MemberName, 0x0017, "MEMBER_NAME", info),
            (
                ClusterArg::MemberSecondName,
                0x0018,
                "MEMBER_SECOND_NAME",
                info,
            ),
            (ClusterArg::MemberSurname, 0x0019, "MEMBER_SURNAME", info),
            (ClusterArg::MemberPatronim, 0x001A, "MEMBER_PATRONIM", info),
            (
                ClusterArg::MemberAvatar,
                0x001B,
                "MEMBER_AVATAR",
                V::Bytes { max: 102_400 },
            ),
            (ClusterArg::MemberStatus, 0x001C, "MEMBER_STATUS", info),
            (ClusterArg::MemberTitle, 0x001D, "MEMBER_TITLE", info),
            (
                ClusterArg::MemberSignal,
                0x001E,
                "MEMBER_SIGNAL",
                V::Unspecified,
            ),
            (ClusterArg::ContentId, 0x0030, "CONTENT_ID", V::Guuid),
            (
                ClusterArg::ServiceAddr,
                0x0040,
                "SERVICE_ADDR",
                V::ServiceAddr,
            ),
            (ClusterArg::RouteLimit, 0x0050, "ROUTE_LIMIT", V::U8),
            (
                ClusterArg::RouteCandidate,
                0x0051,
                "ROUTE_CANDIDATE",
                V::RouteCandidate,
            ),
            (ClusterArg::RouteState, 0x0052, "ROUTE_STATE", V::U8),
            (
                ClusterArg::RouteUpstream,
                0x0053,
                "ROUTE_UPSTREAM",
                V::RouteUpstream,
            ),
            (
                ClusterArg::ContentTitle,
                0x0031,
                "CONTENT_TITLE",
                V::Str { max: 255 },
            ),
            (
                ClusterArg::ContentFlows,
                0x0033,
                "CONTENT_FLOWS",
                V::Str { max: 94 },
            ),
            (
                ClusterArg::ContentFlowCodec,
                0x0034,
                "CONTENT_FLOW_CODEC",
                V::FlowCodec,
            ),
            (ClusterArg::Sign, 0xFFFF, "SIGN", V::Sign),
            (
                ClusterArg::BookNonce,
                0x0060,
                "BOOK_NONCE",
                V::Bytes { max: 16 },
            ),
            (ClusterArg::BookRevision, 0x0061, "BOOK_REVISION", V::U64),
            (ClusterArg::BookDigest, 0x0062, "BOOK_DIGEST", V::Hash),
            (ClusterArg::BookSize, 0x0063, "BOOK_SIZE", V::U32),
            (ClusterArg::BookOffset, 0x0064, "BOOK_OFFSET", V::U32),
            (
                ClusterArg::BookChunk,
                0x0065,
                "BOOK_CHUNK",
                V::Bytes { max: 48 * 1024 },
            ),
        ];
        assert_eq!(pinned.len(), ClusterArg::ALL.len());
        for &(arg, code, name, kind) in pinned {
            assert_eq!(arg.code(), code);
            assert_eq!(arg.name(), name);
            assert_eq!(arg.value_kind(), kind, "{name}");
            assert_eq!(ClusterArg::from_code(code), Ok(arg));
        }
        assert_eq!(ClusterArg::Sign.code(), CLUSTER_SIGN_CODE);
        assert_eq!(<ClusterType as ControlKind>::SIGN_CODE, 0xFFFF);
        for code in [
            0x0000, 0x0005, 0x0012, 0x001F, 0x0032, 0x0035, 0x0041, 0x0054, 0xFFFE,
        ] {
            assert_eq!(
                ClusterArg::from_code(code),
                Err(ProtoError::UnknownValue {
                    what: labels::CLUSTER_ARG,
                    value: u32::from(code)
                })
            );
        }
    }

    #[test]
    fn value_kind_sizes() {
        assert_eq!(ValueKind::U8.fixed_size(), Some(1));
        assert_eq!(ValueKind::U16.fixed_size(), Some(2));
        assert_eq!(ValueKind::U32.fixed_size(), Some(4));
        assert_eq!(ValueKind::U64.fixed_size(), Some(8));
        assert_eq!(ValueKind::Guuid.fixed_size(), Some(16));
        assert_eq!(ValueKind::MemberAddr.fixed_size(), Some(16));
        assert_eq!(ValueKind::Hash.fixed_size(), Some(32));
        assert_eq!(ValueKind::RouteCandidate.fixed_size(), Some(40));
        assert_eq!(ValueKind::RouteUpstream.fixed_size(), Some(34));
        assert_eq!(ValueKind::Str { max: 1 }.fixed_size(), None);
        assert_eq!(ValueKind::Sign.fixed_size(), None);
    }

    #[test]
    fn setup_values_are_pinned() {
        let pinned = [
            (Setup::RoundTable, 1),
            (Setup::Lecture, 2),
            (Setup::PanelDiscussion, 3),
            (Setup::Meeting, 4),
        ];
        assert_eq!(pinned.len(), Setup::ALL.len());
        for (setup, code) in pinned {
            assert_eq!(setup.code(), code);
            assert_eq!(Setup::from_code(code), Ok(setup));
        }
        for code in [0u8, 5, 0xFF] {
            assert!(matches!(
                Setup::from_code(code),
                Err(ProtoError::UnknownValue {
                    what: labels::CLUSTER_SETUP,
                    ..
                })
            ));
        }
    }

    #[test]
    fn member_addr_is_net_id_then_node_addr() {
        let addr = MemberAddr {
            net_id: 0x0102_0304_0506_0708,
            node_addr: 0xA1A2_A3A4_A5A6_A7A8,
        };
        let bytes = addr.to_bytes();
        assert_eq!(
            bytes,
            [
                8, 7, 6, 5, 4, 3, 2, 1, //
                0xA8, 0xA7, 0xA6, 0xA5, 0xA4, 0xA3, 0xA2, 0xA1
            ]
        );
        assert_eq!(MemberAddr::SIZE, 16);
        assert_eq!(MemberAddr::from_slice(&bytes), Ok(addr));
        assert_eq!(
            MemberAddr::from_slice(&bytes[..15]),
            Err(ProtoError::WrongSize {
                what: labels::MEMBER_ADDR,
                expected: 16,
                actual: 15
            })
        );
    }
}
