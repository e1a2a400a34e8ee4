//! FLV: the file container (for HTTP-FLV and file import) and the tag
//! payloads that RTMP messages carry, in both directions.
//!
//! - [`FileHeader`], [`TagHeader`]: the 9- and 11-byte headers.
//! - [`FlvDemuxer`]: a streaming demuxer fed with chunks of any size.
//! - [`parse_video_tag`], [`parse_audio_tag`]: payloads (legacy and
//!   Enhanced RTMP) to borrowed enums; codecs other than H.264/AAC are
//!   refused with [`MediaError::Unsupported`](crate::MediaError) naming them.
//! - [`tag_to_media`] and friends: payloads to configs and [`MediaFrame`]s
//!   (`dts = ms × 90`, `pts = (ms + cts) × 90`).
//! - [`frame_tag`], [`stream_head`] and friends: the model back to
//!   payloads and whole tags.
//! - [`amf0`], [`ScriptTag`], [`OnMetaData`]: script data.
//!
//! [`MediaFrame`]: crate::MediaFrame

pub mod amf0;
mod audio;
mod convert;
mod demux;
mod header;
mod meta;
mod mux;
mod video;

pub use audio::{
    AAC_TAG_FLAGS, AudioTag, SOUND_FORMAT_AAC, SOUND_FORMAT_EX_HEADER, aac_frame_prefix,
    aac_sequence_header_prefix, parse_audio_tag, sound_format_name,
};
pub use convert::{TagMedia, audio_tag_to_media, tag_to_media, video_tag_to_media};
pub use demux::{DEFAULT_MAX_TAG_SIZE, FlvDemuxer, FlvTag, parse_tag};
pub use header::{
    FILE_HEADER_LEN, FileHeader, MAX_HEADER_OFFSET, MAX_TAG_DATA_SIZE, PREVIOUS_TAG_SIZE_LEN,
    TAG_HEADER_LEN, TagHeader, TagType,
};
pub use meta::{OnMetaData, ScriptTag};
pub use mux::{
    audio_config_payload, audio_config_tag, build_tag, frame_payload, frame_tag,
    frame_timestamp_ms, metadata_tag, stream_head, video_config_payload, video_config_tag,
};
pub use video::{
    CODEC_ID_AVC, FRAME_TYPE_COMMAND, FRAME_TYPE_INTER, FRAME_TYPE_KEY, MAX_COMPOSITION_TIME,
    MIN_COMPOSITION_TIME, VideoTag, avc_end_of_sequence, avc_frame_prefix,
    avc_sequence_header_prefix, codec_id_name, parse_video_tag,
};
