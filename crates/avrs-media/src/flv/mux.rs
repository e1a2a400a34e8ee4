//! The shared media model to FLV/RTMP tag payloads and whole FLV tags.
//!
//! Built for fan-out: each function makes one exactly-sized buffer per
//! message, which the server then shares among all viewers. RTMP play sends
//! the payloads; HTTP-FLV sends [`stream_head`] (file header, `onMetaData`,
//! sequence headers), then frame tags.

use crate::error::Result;
use crate::flv::audio::{aac_frame_prefix, aac_sequence_header_prefix};
use crate::flv::header::{FileHeader, PREVIOUS_TAG_SIZE_LEN, TAG_HEADER_LEN, TagHeader, TagType};
use crate::flv::meta::OnMetaData;
use crate::flv::video::{avc_frame_prefix, avc_sequence_header_prefix};
use crate::frame::{AudioConfig, MediaFrame, TrackKind, VideoConfig};

/// The payload of an AVC sequence header tag.
pub fn video_config_payload(config: &VideoConfig) -> Vec<u8> {
    concat(&[&avc_sequence_header_prefix(), &config.avcc])
}

/// The payload of an AAC sequence header tag.
pub fn audio_config_payload(config: &AudioConfig) -> Vec<u8> {
    concat(&[&aac_sequence_header_prefix(), &config.asc])
}

/// The payload of a frame's tag (RTMP message body).
pub fn frame_payload(frame: &MediaFrame) -> Result<Vec<u8>> {
    let (prefix, len) = frame_prefix(frame)?;
    Ok(concat(&[&prefix[..len], &frame.data]))
}

/// The FLV timestamp of a frame: its DTS in milliseconds, modulo 2^32 as
/// RTMP timestamps wrap.
pub fn frame_timestamp_ms(frame: &MediaFrame) -> u32 {
    ticks_to_ms(frame.dts) as u32
}

/// A whole FLV tag (header, payload, `PreviousTagSize`) for a frame.
pub fn frame_tag(frame: &MediaFrame) -> Result<Vec<u8>> {
    let (prefix, len) = frame_prefix(frame)?;
    let tag_type = match frame.track {
        TrackKind::Video => TagType::Video,
        TrackKind::Audio => TagType::Audio,
    };
    build_tag(
        tag_type,
        frame_timestamp_ms(frame),
        &[&prefix[..len], &frame.data],
    )
}

/// A whole FLV tag for a video sequence header, at `timestamp_ms`.
pub fn video_config_tag(config: &VideoConfig, timestamp_ms: u32) -> Result<Vec<u8>> {
    build_tag(
        TagType::Video,
        timestamp_ms,
        &[&avc_sequence_header_prefix(), &config.avcc],
    )
}

/// A whole FLV tag for an audio sequence header, at `timestamp_ms`.
pub fn audio_config_tag(config: &AudioConfig, timestamp_ms: u32) -> Result<Vec<u8>> {
    build_tag(
        TagType::Audio,
        timestamp_ms,
        &[&aac_sequence_header_prefix(), &config.asc],
    )
}

/// A whole `onMetaData` script tag at time 0.
pub fn metadata_tag(metadata: &OnMetaData) -> Result<Vec<u8>> {
    build_tag(TagType::Script, 0, &[&metadata.to_payload()])
}

/// A whole FLV tag whose payload is the concatenation of `parts`.
pub fn build_tag(tag_type: TagType, timestamp_ms: u32, parts: &[&[u8]]) -> Result<Vec<u8>> {
    let data_size: usize = parts.iter().map(|p| p.len()).sum();
    let header = TagHeader::new(tag_type, data_size, timestamp_ms)?;
    let mut out = Vec::with_capacity(header.tag_len());
    out.extend_from_slice(&header.to_bytes());
    parts.iter().for_each(|p| out.extend_from_slice(p));
    // `data_size` fits 24 bits, so the sum fits 32.
    out.extend_from_slice(&((TAG_HEADER_LEN + data_size) as u32).to_be_bytes());
    debug_assert_eq!(
        out.len(),
        data_size + TAG_HEADER_LEN + PREVIOUS_TAG_SIZE_LEN
    );
    Ok(out)
}

/// The codec header before a frame's data: 5 bytes for AVC, 2 for AAC.
fn frame_prefix(frame: &MediaFrame) -> Result<([u8; 5], usize)> {
    Ok(match frame.track {
        TrackKind::Video => {
            let cts = ticks_to_ms(frame.pts) - ticks_to_ms(frame.dts);
            let cts = i32::try_from(cts).unwrap_or(i32::MAX);
            (avc_frame_prefix(frame.keyframe, cts)?, 5)
        }
        TrackKind::Audio => {
            let [a, b] = aac_frame_prefix();
            ([a, b, 0, 0, 0], 2)
        }
    })
}

/// Floor division, so that PTS − DTS stays exact for ms-aligned times.
fn ticks_to_ms(ticks: i64) -> i64 {
    ticks.div_euclid(90)
}

fn concat(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(parts.iter().map(|p| p.len()).sum());
    parts.iter().for_each(|p| out.extend_from_slice(p));
    out
}

/// What an HTTP-FLV viewer receives first: the file header, `onMetaData`,
/// then the sequence headers (at time 0) of the tracks present.
pub fn stream_head(video: Option<&VideoConfig>, audio: Option<&AudioConfig>) -> Result<Vec<u8>> {
    let header = FileHeader {
        has_audio: audio.is_some(),
        has_video: video.is_some(),
    };
    let mut out = header.to_bytes().to_vec();
    out.extend_from_slice(&metadata_tag(&OnMetaData::from_configs(video, audio))?);
    if let Some(config) = video {
        out.extend_from_slice(&video_config_tag(config, 0)?);
    }
    if let Some(config) = audio {
        out.extend_from_slice(&audio_config_tag(config, 0)?);
    }
    Ok(out)
}
