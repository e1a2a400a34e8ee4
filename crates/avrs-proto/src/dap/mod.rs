//! DAP stream framing as a sans-IO codec: bytes in, events out; values in,
//! frames out. Nothing here reads a clock or a socket.
//!
//! A stream is a sequence of packets, each a 37-byte [`StreamHeader`]
//! (never encrypted) plus `size` payload bytes:
//!
//! - `DATA`: a sealed channel packet, the 16-byte [`ChannelHeader`] + data.
//! - `FRAGMENT`: a sealed 12-byte [`FragmentHeader`] + one piece of a channel
//!   packet too large for one `DATA` packet (see [`FRAGMENT_THRESHOLD`]).
//! - `KEEPALIVE` / `ALIVE`: the header alone.
//! - `SERVICE`: a plaintext 9-byte [`ServiceBody`].
//!
//! [`StreamWriter`] builds frames, [`StreamReader`] decodes any chunking of
//! them, [`Keepalive`] decides when to probe and when the peer is dead, and
//! [`PayloadCipher`] is where an AEAD plugs in (this crate ships only the
//! identity [`Plaintext`]).

mod channel;
mod cipher;
mod fragment;
mod header;
mod keepalive;
mod reader;
mod seq;
mod writer;

#[cfg(test)]
mod tests;

pub use channel::{ChannelHeader, ChannelPacket};
pub use cipher::{PacketContext, PayloadCipher, Plaintext};
pub use fragment::{Fragment, FragmentHeader, Reassembler, split_into_fragments};
pub use header::{ALIVE_FRAME, KEEPALIVE_FRAME, PacketType, ServiceBody, StreamHeader};
pub use keepalive::{Keepalive, KeepaliveAction, KeepaliveConfig};
pub use reader::{Event, ReaderStats, StreamReader};
pub use seq::{SeqTracker, SeqVerdict};
pub use writer::{NodeAddrs, StreamWriter};

use std::time::Duration;

/// The 8 bytes every stream packet starts with; the reader resynchronises on it.
pub const SIGNATURE: [u8; 8] = [0xA0, 0x95, 0x96, 0xA9, 0x9E, 0x5C, 0xFB, 0xFA];

/// Size of the stream packet header.
pub const STREAM_HEADER_SIZE: usize = 37;

/// Size of the channel packet header at the start of a `DATA` plaintext.
pub const CHANNEL_HEADER_SIZE: usize = 16;

/// Size of the fragment header at the start of a `FRAGMENT` plaintext.
pub const FRAGMENT_HEADER_SIZE: usize = 12;

/// Size of the `SERVICE` body.
pub const SERVICE_BODY_SIZE: usize = 9;

/// Most plaintext one packet may carry before sealing
/// (`DAP_STREAM_PKT_FRAGMENT_SIZE`).
pub const MAX_PLAINTEXT: usize = 16384;

/// A channel packet (header + data) larger than this is sent as fragments;
/// it is also the largest data chunk of one fragment. The 200 bytes leave
/// room for cipher overhead, the 12 for the fragment header.
pub const FRAGMENT_THRESHOLD: usize = MAX_PLAINTEXT - 200 - FRAGMENT_HEADER_SIZE;

/// Largest payload a stream header may declare, and largest channel packet
/// a reassembly may produce (`DAP_STREAM_PKT_SIZE_MAX`).
pub const MAX_PACKET_SIZE: usize = 4 * 1024 * 1024;

/// Most bytes the reader buffers: one header plus one largest payload.
pub const MAX_BUFFERED: usize = STREAM_HEADER_SIZE + MAX_PACKET_SIZE;

/// Keepalive interval of a stream (`STREAM_KEEPALIVE_TIMEOUT`).
pub const STREAM_KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(3);
