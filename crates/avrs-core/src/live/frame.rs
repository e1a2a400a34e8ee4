//! A frame as the fan-out holds it: shared by every viewer, with a cache of
//! its encodings per output format.

use avrs_media::{AudioConfig, MediaFrame, VideoConfig};
use avrs_proto::avrs::quic::ContentOrigin;
use bytes::Bytes;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

/// The codec configurations in force for a run of frames. Frames point at
/// their configuration, so a muxer sees a change (publisher reconnect with new
/// parameters) exactly where it happens: compare with `Arc::ptr_eq`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TrackConfigs {
    pub video: Option<VideoConfig>,
    pub audio: Option<AudioConfig>,
}

/// Output encodings a frame can cache. One slot each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// A complete FLV tag (header, payload, previous-tag-size).
    FlvTag,
    /// RTMP chunks of the frame's message.
    RtmpMessage,
    /// A native AVRS content packet.
    Native,
    /// The frame's signature by the node that ingested it (relays and
    /// viewers check it; it is made once, whatever the number of viewers).
    Signature,
    /// The frame's bytes sealed for an ENCRYPTED content (sealed once,
    /// whatever the number of viewers).
    Sealed,
}

impl Encoding {
    const COUNT: usize = 5;

    fn index(self) -> usize {
        self as usize
    }
}

/// A relayed frame as its origin signed it. A relay forwards this to its
/// native viewers unchanged (position, times, signature, CONTENT_ORIGIN),
/// so they check the origin's signature end to end and the relay never
/// signs what it did not ingest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    /// The signer and the origin content's GUUID.
    pub origin: Arc<ContentOrigin>,
    /// The frame's position in the origin content.
    pub seq: u64,
    /// Times as signed (the relay's own copy may be rebased).
    pub dts: i64,
    pub pts: i64,
    pub discontinuity: bool,
    pub signature: Bytes,
    /// The bytes are sealed (an ENCRYPTED content): this node holds no key
    /// and forwards them unopened.
    pub sealed: bool,
}

/// One frame of a live content.
#[derive(Debug)]
pub struct LiveFrame {
    /// Position in the content, from 0, never reused.
    pub seq: u64,
    /// The frame, with times already rebased to keep the content monotonic
    /// across publisher reconnects.
    pub media: MediaFrame,
    /// The configurations that decode this frame.
    pub configs: Arc<TrackConfigs>,
    /// The first frame after a publisher came back: players see a
    /// discontinuity here.
    pub discontinuity: bool,
    /// When the server received the frame (for latency figures).
    pub received: Instant,
    /// Set when the frame was relayed from another node.
    pub upstream: Option<Upstream>,
    encodings: [OnceLock<Bytes>; Encoding::COUNT],
}

impl LiveFrame {
    pub(crate) fn new(
        seq: u64,
        media: MediaFrame,
        configs: Arc<TrackConfigs>,
        discontinuity: bool,
        received: Instant,
    ) -> Self {
        Self {
            seq,
            media,
            configs,
            discontinuity,
            received,
            upstream: None,
            encodings: Default::default(),
        }
    }

    /// This frame in `encoding`, made by `make` the first time any viewer
    /// asks and shared with every later one.
    pub fn encoded(&self, encoding: Encoding, make: impl FnOnce(&LiveFrame) -> Bytes) -> Bytes {
        self.encodings[encoding.index()]
            .get_or_init(|| make(self))
            .clone()
    }

    /// Bytes this frame keeps alive (payload only; caches are bounded by it).
    pub fn payload_len(&self) -> usize {
        self.media.data.len()
    }
}
