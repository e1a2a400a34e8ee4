//! Session-control code tables: packet types, argument codes, content flags.

use crate::avrs::cluster::ValueKind;
use crate::avrs::control::ControlKind;
use crate::avrs::labels;
use crate::avrs::subtype::SubType;
use crate::avrs::wire_enum::wire_enum;
use crate::error::{ProtoError, Result};

/// TSD code of the SIGN item in session packets (not the cluster one).
pub const SESSION_SIGN_CODE: u16 = 0x0001;

wire_enum! {
    /// The type byte of a session (`'S'`) packet.
    pub enum SessionType: u8, what = labels::SESSION_TYPE {
        Open = 0x01 => "OPEN",
        Update = 0x02 => "UPDATE",
        Close = 0x03 => "CLOSE",
        ContentAdd = 0x10 => "CONTENT_ADD",
        ContentRemove = 0x11 => "CONTENT_REMOVE",
        ContentUpdate = 0x12 => "CONTENT_UPDATE",
        ClusterAdd = 0x20 => "CLUSTER_ADD",
        ClusterDel = 0x21 => "CLUSTER_DEL",
        ClusterUpdate = 0x22 => "CLUSTER_UPDATE",
    }
}

impl ControlKind for SessionType {
    const SUBTYPE: SubType = SubType::Session;
    const SIGN_CODE: u16 = SESSION_SIGN_CODE;

    fn type_code(self) -> u8 {
        self.code()
    }

    fn from_type_code(code: u8) -> Result<Self> {
        Self::from_code(code)
    }
}

wire_enum! {
    /// TSD codes of session-packet arguments.
    pub enum SessionArg: u16, what = labels::SESSION_ARG {
        Sign = 0x0001 => "SIGN",
        ClusterUuid = 0x0010 => "CLUSTER_UUID",
        /// No size or handling is defined; no request takes it.
        ClusterId = 0x0011 => "CLUSTER_ID",
        ContentUuid = 0x0020 => "CONTENT_UUID",
        ContentId = 0x0021 => "CONTENT_ID",
        ContentFlags = 0x0022 => "CONTENT_FLAGS",
    }
}

impl SessionArg {
    /// What this argument's value holds.
    pub const fn value_kind(self) -> ValueKind {
        match self {
            SessionArg::Sign => ValueKind::Sign,
            SessionArg::ClusterUuid | SessionArg::ContentUuid => ValueKind::Guuid,
            SessionArg::ClusterId => ValueKind::Unspecified,
            SessionArg::ContentId | SessionArg::ContentFlags => ValueKind::U32,
        }
    }
}

bitflags::bitflags! {
    /// Session `CONTENT_FLAGS` (`u32`): which way a session's content slot
    /// streams.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct ContentFlags: u32 {
        /// Server to this client: the session subscribes.
        const STREAMING_OUT = 0x1;
        /// This client uploads: the session publishes.
        const STREAMING_IN = 0x2;
    }
}

impl ContentFlags {
    /// Reads the wire value; undefined bits are refused.
    pub fn from_wire(bits: u32) -> Result<Self> {
        Self::from_bits(bits).ok_or(ProtoError::UnknownValue {
            what: labels::SESSION_CONTENT_FLAGS,
            value: bits,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_type_codes_are_pinned() {
        let pinned: &[(SessionType, u8, &str)] = &[
            (SessionType::Open, 0x01, "OPEN"),
            (SessionType::Update, 0x02, "UPDATE"),
            (SessionType::Close, 0x03, "CLOSE"),
            (SessionType::ContentAdd, 0x10, "CONTENT_ADD"),
            (SessionType::ContentRemove, 0x11, "CONTENT_REMOVE"),
            (SessionType::ContentUpdate, 0x12, "CONTENT_UPDATE"),
            (SessionType::ClusterAdd, 0x20, "CLUSTER_ADD"),
            (SessionType::ClusterDel, 0x21, "CLUSTER_DEL"),
            (SessionType::ClusterUpdate, 0x22, "CLUSTER_UPDATE"),
        ];
        assert_eq!(pinned.len(), SessionType::ALL.len());
        for &(kind, code, name) in pinned {
            assert_eq!(kind.code(), code);
            assert_eq!(kind.name(), name);
            assert_eq!(SessionType::from_code(code), Ok(kind));
            assert_eq!(SessionType::from_name(name), Some(kind));
        }
        let known: Vec<u8> = pinned.iter().map(|p| p.1).collect();
        for byte in (0..=u8::MAX).filter(|b| !known.contains(b)) {
            assert_eq!(
                SessionType::from_code(byte),
                Err(ProtoError::UnknownValue {
                    what: labels::SESSION_TYPE,
                    value: u32::from(byte)
                })
            );
        }
    }

    #[test]
    fn session_arg_codes_are_pinned() {
        let pinned: &[(SessionArg, u16, &str, ValueKind)] = &[
            (SessionArg::Sign, 0x0001, "SIGN", ValueKind::Sign),
            (
                SessionArg::ClusterUuid,
                0x0010,
                "CLUSTER_UUID",
                ValueKind::Guuid,
            ),
            (
                SessionArg::ClusterId,
                0x0011,
                "CLUSTER_ID",
                ValueKind::Unspecified,
            ),
            (
                SessionArg::ContentUuid,
                0x0020,
                "CONTENT_UUID",
                ValueKind::Guuid,
            ),
            (SessionArg::ContentId, 0x0021, "CONTENT_ID", ValueKind::U32),
            (
                SessionArg::ContentFlags,
                0x0022,
                "CONTENT_FLAGS",
                ValueKind::U32,
            ),
        ];
        assert_eq!(pinned.len(), SessionArg::ALL.len());
        for &(arg, code, name, kind) in pinned {
            assert_eq!(arg.code(), code);
            assert_eq!(arg.name(), name);
            assert_eq!(arg.value_kind(), kind);
            assert_eq!(SessionArg::from_code(code), Ok(arg));
        }
        assert_eq!(SESSION_SIGN_CODE, 0x0001);
        assert_eq!(
            <SessionType as ControlKind>::SIGN_CODE,
            SessionArg::Sign.code()
        );
        for code in [0x0000u16, 0x0002, 0x0012, 0x0023, 0xFFFF] {
            assert!(matches!(
                SessionArg::from_code(code),
                Err(ProtoError::UnknownValue {
                    what: labels::SESSION_ARG,
                    ..
                })
            ));
        }
    }

    #[test]
    fn content_flags_are_pinned_and_strict() {
        assert_eq!(ContentFlags::STREAMING_OUT.bits(), 1);
        assert_eq!(ContentFlags::STREAMING_IN.bits(), 2);
        assert_eq!(ContentFlags::from_wire(3), Ok(ContentFlags::all()));
        assert_eq!(ContentFlags::from_wire(0), Ok(ContentFlags::empty()));
        for bits in [4u32, 5, 0x8000_0000] {
            assert_eq!(
                ContentFlags::from_wire(bits),
                Err(ProtoError::UnknownValue {
                    what: labels::SESSION_CONTENT_FLAGS,
                    value: bits
                })
            );
        }
    }
}
