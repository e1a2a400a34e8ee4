//! `Tracks` > `TrackEntry`: the H.264 and AAC tracks to import, refusing
//! other audio and video codecs by name and skipping other track types.

use super::ebml::{children, read_float, read_string, read_uint};
use super::ids;
use crate::codec::{AudioSpecificConfig, audio_config_from_asc, video_config_from_avcc};
use crate::demux::assemble::{check_aac, unsupported_codec};
use crate::error::{MediaError, Result};
use crate::frame::{AudioConfig, VideoConfig};
use bytes::Bytes;

const TRACK_TYPE_VIDEO: u64 = 1;
const TRACK_TYPE_AUDIO: u64 = 2;

/// The imported tracks and their Matroska track numbers.
#[derive(Debug, Default)]
pub(super) struct Tracks {
    pub video: Option<(u64, VideoConfig)>,
    pub audio: Option<(u64, AudioConfig)>,
}

/// The fields of a `TrackEntry` import needs.
#[derive(Debug, Default)]
struct Entry {
    number: u64,
    kind: u64,
    codec_id: String,
    private: Option<Vec<u8>>,
    sample_rate: f64,
    output_rate: f64,
    channels: u64,
    encoded: bool,
}

/// Reads a `Tracks` body into `tracks` (the first H.264 and AAC track).
pub(super) fn read_tracks(body: &[u8], tracks: &mut Tracks) -> Result<()> {
    for element in children(body, "Matroska Tracks") {
        let element = element?;
        if element.id != ids::TRACK_ENTRY {
            continue;
        }
        let entry = read_entry(element.body)?;
        match entry.kind {
            TRACK_TYPE_VIDEO if tracks.video.is_none() => {
                tracks.video = Some((entry.number, video_config(&entry)?));
            }
            TRACK_TYPE_AUDIO if tracks.audio.is_none() => {
                tracks.audio = Some((entry.number, audio_config(&entry)?));
            }
            TRACK_TYPE_VIDEO => drop(video_config(&entry)?),
            TRACK_TYPE_AUDIO => drop(audio_config(&entry)?),
            _ => {} // subtitles, buttons, metadata …
        }
    }
    Ok(())
}

fn read_entry(body: &[u8]) -> Result<Entry> {
    let mut entry = Entry::default();
    for element in children(body, "Matroska TrackEntry") {
        let element = element?;
        let value = element.body;
        match element.id {
            ids::TRACK_NUMBER => entry.number = read_uint(value, "TrackNumber")?,
            ids::TRACK_TYPE => entry.kind = read_uint(value, "TrackType")?,
            ids::CODEC_ID => entry.codec_id = read_string(value),
            ids::CODEC_PRIVATE => entry.private = Some(value.to_vec()),
            ids::CONTENT_ENCODINGS => entry.encoded = true,
            ids::AUDIO => read_audio(value, &mut entry)?,
            _ => {}
        }
    }
    Ok(entry)
}

fn read_audio(body: &[u8], entry: &mut Entry) -> Result<()> {
    for element in children(body, "Matroska Audio") {
        let element = element?;
        match element.id {
            ids::SAMPLING_FREQUENCY => {
                entry.sample_rate = read_float(element.body, "SamplingFrequency")?
            }
            ids::OUTPUT_SAMPLING_FREQUENCY => {
                entry.output_rate = read_float(element.body, "OutputSamplingFrequency")?;
            }
            ids::CHANNELS => entry.channels = read_uint(element.body, "Channels")?,
            _ => {}
        }
    }
    Ok(())
}

fn video_config(entry: &Entry) -> Result<VideoConfig> {
    if entry.codec_id != "V_MPEG4/ISO/AVC" {
        return Err(refuse(entry, "video"));
    }
    check_not_encoded(entry)?;
    let avcc = entry.private.as_deref().ok_or(MediaError::MissingConfig {
        what: "Matroska H.264 track (no CodecPrivate)",
    })?;
    video_config_from_avcc(avcc)
}

fn audio_config(entry: &Entry) -> Result<AudioConfig> {
    if !entry.codec_id.starts_with("A_AAC") {
        return Err(refuse(entry, "audio"));
    }
    check_not_encoded(entry)?;
    let config = match &entry.private {
        Some(asc) => audio_config_from_asc(asc)?,
        None => asc_from_fields(entry)?,
    };
    check_aac(config)
}

/// Old-style `A_AAC/MPEG2/LC`, `A_AAC/MPEG4/LC/SBR` … tracks may carry no
/// CodecPrivate: the profile is in the codec id, the rest in `Audio`.
fn asc_from_fields(entry: &Entry) -> Result<AudioConfig> {
    let profile = entry.codec_id.rsplit('/').next().unwrap_or_default();
    let rate = entry.sample_rate as u32;
    let channels = u8::try_from(entry.channels).unwrap_or(0);
    if rate == 0 {
        return Err(MediaError::MissingConfig {
            what: "Matroska AAC track (no CodecPrivate nor SamplingFrequency)",
        });
    }
    let mut asc = match profile {
        "MAIN" => AudioSpecificConfig::new(1, rate, channels),
        "SSR" => AudioSpecificConfig::new(3, rate, channels),
        "LTP" => AudioSpecificConfig::new(4, rate, channels),
        _ => AudioSpecificConfig::new(2, rate, channels),
    };
    if profile == "SBR" {
        let output = match entry.output_rate as u32 {
            0 => rate.saturating_mul(2),
            output => output,
        };
        asc.object_type = crate::codec::OBJECT_TYPE_SBR;
        asc.extension = Some(crate::codec::SbrExtension {
            sample_rate: output,
            core_object_type: 2,
        });
    }
    let raw = Bytes::from(asc.to_bytes()?);
    asc.to_audio_config(raw)
}

fn check_not_encoded(entry: &Entry) -> Result<()> {
    if entry.encoded {
        return Err(MediaError::Unsupported {
            what: "Matroska track",
            detail: format!(
                "track {} uses ContentEncodings (compression or encryption)",
                entry.number
            ),
        });
    }
    Ok(())
}

fn refuse(entry: &Entry, kind: &str) -> MediaError {
    let id = entry.codec_id.as_str();
    let name = match id {
        "V_VP8" => "VP8",
        "V_VP9" => "VP9",
        "V_AV1" => "AV1",
        "V_MPEGH/ISO/HEVC" => "HEVC",
        "V_THEORA" => "Theora",
        "V_MPEG1" => "MPEG-1",
        "V_MPEG2" => "MPEG-2",
        "A_OPUS" => "Opus",
        "A_VORBIS" => "Vorbis",
        "A_FLAC" => "FLAC",
        "A_AC3" => "AC-3",
        "A_EAC3" => "E-AC-3",
        "A_DTS" => "DTS",
        "A_MPEG/L3" => "MP3",
        "A_MPEG/L2" => "MP2",
        "A_ALAC" => "ALAC",
        _ if id.starts_with("V_MPEG4/ISO/") => "MPEG-4 Part 2",
        _ if id.starts_with("A_PCM") => "PCM",
        _ if id.starts_with("V_MS/VFW") || id.starts_with("A_MS/ACM") => "Windows codec",
        _ => "unknown",
    };
    unsupported_codec(name, kind, id)
}
