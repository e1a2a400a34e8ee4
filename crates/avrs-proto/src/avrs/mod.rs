//! The AVRS channel `'A'`: its sub-packets, codes, roles and flags.
//!
//! A channel-`'A'` packet's 16-byte channel header carries a `type` byte that
//! says which sub-packet its data holds ([`SubType`]).

pub mod retcode;

pub use retcode::{RetCode, RetCodePacket};

/// The DAP stream channel id of AVRS.
pub const CHANNEL_ID: u8 = b'A';
