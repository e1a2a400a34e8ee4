//! FLV/RTMP tag payloads to the shared media model.

use bytes::Bytes;

use crate::codec::{audio_config_from_asc, video_config_from_avcc};
use crate::error::{MediaError, Result};
use crate::flv::audio::{AudioTag, parse_audio_tag};
use crate::flv::demux::FlvTag;
use crate::flv::header::TagType;
use crate::flv::video::{VideoTag, parse_video_tag};
use crate::frame::{AudioConfig, MediaFrame, TrackKind, VideoConfig};

/// What one tag means for the media model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagMedia {
    VideoConfig(VideoConfig),
    AudioConfig(AudioConfig),
    Frame(MediaFrame),
    /// The publisher ended a track's sequence.
    EndOfSequence(TrackKind),
    /// Nothing for the model: script data, command frames, empty frames,
    /// unknown tag types.
    Skipped,
}

/// Interprets a video tag payload received at `timestamp_ms` (DTS).
/// `payload` is sliced, not copied, into the frame.
pub fn video_tag_to_media(payload: &Bytes, timestamp_ms: i64) -> Result<TagMedia> {
    Ok(match parse_video_tag(payload)? {
        VideoTag::AvcSequenceHeader(avcc) => TagMedia::VideoConfig(video_config_from_avcc(avcc)?),
        VideoTag::AvcFrame { data: [], .. } => TagMedia::Skipped,
        VideoTag::AvcFrame {
            keyframe,
            composition_time,
            data,
        } => {
            let dts = ms_to_ticks(timestamp_ms)?;
            let pts = ms_to_ticks(timestamp_ms.saturating_add(i64::from(composition_time)))?;
            TagMedia::Frame(MediaFrame {
                track: TrackKind::Video,
                dts,
                pts,
                keyframe,
                data: payload.slice_ref(data),
            })
        }
        VideoTag::AvcEndOfSequence => TagMedia::EndOfSequence(TrackKind::Video),
        VideoTag::Command | VideoTag::Metadata(_) => TagMedia::Skipped,
    })
}

/// Interprets an audio tag payload received at `timestamp_ms`.
pub fn audio_tag_to_media(payload: &Bytes, timestamp_ms: i64) -> Result<TagMedia> {
    Ok(match parse_audio_tag(payload)? {
        AudioTag::AacSequenceHeader(asc) => TagMedia::AudioConfig(audio_config_from_asc(asc)?),
        AudioTag::AacFrame([]) => TagMedia::Skipped,
        AudioTag::AacFrame(data) => {
            let ticks = ms_to_ticks(timestamp_ms)?;
            TagMedia::Frame(MediaFrame {
                track: TrackKind::Audio,
                dts: ticks,
                pts: ticks,
                keyframe: true,
                data: payload.slice_ref(data),
            })
        }
        AudioTag::AacEndOfSequence => TagMedia::EndOfSequence(TrackKind::Audio),
        AudioTag::MultichannelConfig(_) => TagMedia::Skipped,
    })
}

/// Interprets a demuxed FLV tag.
pub fn tag_to_media(tag: &FlvTag) -> Result<TagMedia> {
    let ms = i64::from(tag.timestamp);
    match tag.tag_type {
        TagType::Video => video_tag_to_media(&tag.data, ms),
        TagType::Audio => audio_tag_to_media(&tag.data, ms),
        TagType::Script | TagType::Other(_) => Ok(TagMedia::Skipped),
    }
}

/// Milliseconds to 90 kHz ticks, refusing overflow (a saturated sum
/// overflows here too).
fn ms_to_ticks(ms: i64) -> Result<i64> {
    ms.checked_mul(90).ok_or_else(|| MediaError::Malformed {
        what: "FLV timestamp",
        reason: format!("{ms} ms overflows 90 kHz ticks"),
    })
}
