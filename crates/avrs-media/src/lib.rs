//! Sans-IO media handling for avrs: parsing what publishers send and writing
//! what players read. No sockets, no runtime.
//!
//! - [`frame`]: the shared model (codec configurations, timed frames).
//! - [`codec`]: H.264 (`AVCDecoderConfigurationRecord`, SPS) and AAC
//!   (`AudioSpecificConfig`, ADTS) parsing and codec strings.
//! - [`flv`]: FLV container and RTMP/FLV tag payloads, both directions.
//! - [`ts`]: MPEG-TS muxing.
//! - [`demux`]: whole files (FLV, MP4, Matroska/WebM, MPEG-TS) for VoD import.
//! - [`fmp4`]: fragmented MP4 / CMAF init segments and fragments.
//! - [`hls`]: HLS and LL-HLS playlists, and a checker of their rules.

pub mod codec;
pub mod demux;
pub mod error;
pub mod flv;
pub mod fmp4;
pub mod frame;
pub mod hls;
pub mod ts;

pub use error::{MediaError, Result};
pub use frame::{AudioConfig, MediaFrame, TIMESCALE, TrackKind, VideoConfig};
