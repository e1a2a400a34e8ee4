//! The media model every muxer and demuxer of this crate shares: codec
//! configurations and timed frames.
//!
//! Times are in 90 kHz ticks (the MPEG clock): RTMP's milliseconds convert
//! exactly (×90), and MPEG-TS uses the clock as it is. fMP4 writers rescale
//! to each track's own timescale.

use bytes::Bytes;

/// Ticks per second of every [`MediaFrame`] time.
pub const TIMESCALE: u32 = 90_000;

/// Converts milliseconds to 90 kHz ticks.
pub const fn ms_to_ticks(ms: i64) -> i64 {
    ms * 90
}

/// Which elementary stream a frame belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrackKind {
    Video,
    Audio,
}

/// H.264 decoder configuration, from an `AVCDecoderConfigurationRecord`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideoConfig {
    /// The whole `AVCDecoderConfigurationRecord` (the `avcC` box body).
    pub avcc: Bytes,
    /// RFC 6381 codec string, such as `avc1.64001F`.
    pub codec: String,
    pub width: u32,
    pub height: u32,
    /// Bytes of the NAL length prefix in frames (1, 2 or 4).
    pub nal_length_size: u8,
}

/// AAC decoder configuration, from an `AudioSpecificConfig`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioConfig {
    /// The raw `AudioSpecificConfig` bytes.
    pub asc: Bytes,
    /// RFC 6381 codec string, such as `mp4a.40.2`.
    pub codec: String,
    pub object_type: u8,
    pub sample_rate: u32,
    pub channels: u8,
}

/// One access unit: a video picture (AVCC length-prefixed NAL units) or one
/// raw AAC frame (no ADTS header).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaFrame {
    pub track: TrackKind,
    /// Decode time, 90 kHz ticks.
    pub dts: i64,
    /// Presentation time, 90 kHz ticks (equals `dts` for audio).
    pub pts: i64,
    /// A video frame that starts a group of pictures (IDR). Audio frames are
    /// all sync samples and carry `true`.
    pub keyframe: bool,
    pub data: Bytes,
}
