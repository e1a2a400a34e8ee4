//! The AVRS channel `'A'`: its sub-packets, codes, roles and flags.
//!
//! A channel-`'A'` packet's 16-byte channel header carries a `type` byte that
//! says which sub-packet its data holds ([`SubType`]); [`AvrsPacket::decode`]
//! is the one entry point.
//!
//! - [`control`]: the 8-byte header + TSD arguments of `'C'` and `'S'`, the
//!   SIGN item rule, and a builder for signing.
//! - [`cluster`], [`session`]: code tables and typed requests ([`Request`]).
//! - [`content`]: the `'c'` data packet; [`flow`]: flows and codecs.
//! - [`retcode`]: the `'r'` packet; [`retcode_for`]: error → return code.
//! - [`roles`]: role masks and their names.

pub mod cluster;
pub mod content;
pub mod control;
pub mod flow;
pub mod labels;
pub mod packet;
pub mod quic;
pub mod request;
pub mod retcode;
pub mod retcode_map;
pub mod roles;
pub mod session;
pub mod subtype;
mod wire_enum;

pub use cluster::{CLUSTER_SIGN_CODE, ClusterArg, ClusterRequest, ClusterType};
pub use content::{ContentHeader, ContentKind, ContentPacket, ContentState, ContentSubtype};
pub use control::{ControlBuilder, ControlKind, ControlPacket, SignItem};
pub use flow::{FlowCodec, Flows};
pub use packet::AvrsPacket;
pub use request::Request;
pub use retcode::{RetCode, RetCodePacket};
pub use retcode_map::retcode_for;
pub use roles::{Roles, RolesParseError};
pub use session::{ContentFlags, SESSION_SIGN_CODE, SessionArg, SessionRequest, SessionType};
pub use subtype::SubType;

/// The DAP stream channel id of AVRS.
pub const CHANNEL_ID: u8 = b'A';
