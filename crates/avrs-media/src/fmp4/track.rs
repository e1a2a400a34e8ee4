//! The tracks of a CMAF presentation and the checks their configurations
//! pass before any box is written.

use crate::{AudioConfig, MediaError, Result, TIMESCALE, TrackKind, VideoConfig};

/// Largest `avcC` record we copy into an init segment (real ones are a few
/// dozen bytes; the cap keeps a hostile record from bloating every init).
pub const MAX_AVCC_BYTES: usize = 64 * 1024;

/// Largest `AudioSpecificConfig` we copy (real ones are 2 to 5 bytes).
pub const MAX_ASC_BYTES: usize = 1024;

/// The codec configuration of one track.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TrackCodec {
    Video(VideoConfig),
    Audio(AudioConfig),
}

/// One track of the presentation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Track {
    pub(crate) id: u32,
    pub(crate) codec: TrackCodec,
}

impl Track {
    pub(crate) fn kind(&self) -> TrackKind {
        match self.codec {
            TrackCodec::Video(_) => TrackKind::Video,
            TrackCodec::Audio(_) => TrackKind::Audio,
        }
    }

    /// Ticks per second of this track's media times: 90 kHz for video (the
    /// frames' own clock, so no rounding), the sample rate for audio (so
    /// every AAC frame lasts exactly 1024 ticks).
    pub(crate) fn timescale(&self) -> u32 {
        match &self.codec {
            TrackCodec::Video(_) => TIMESCALE,
            TrackCodec::Audio(audio) => audio.sample_rate,
        }
    }
}

/// Builds the track list, video first, with ids counting from 1.
pub(crate) fn tracks(video: Option<VideoConfig>, audio: Option<AudioConfig>) -> Result<Vec<Track>> {
    let mut list = Vec::with_capacity(2);
    if let Some(video) = video {
        check_video(&video)?;
        list.push(TrackCodec::Video(video));
    }
    if let Some(audio) = audio {
        check_audio(&audio)?;
        list.push(TrackCodec::Audio(audio));
    }
    if list.is_empty() {
        return Err(MediaError::MissingConfig {
            what: "CMAF presentation",
        });
    }
    Ok(list
        .into_iter()
        .zip(1u32..)
        .map(|(codec, id)| Track { id, codec })
        .collect())
}

fn check_video(video: &VideoConfig) -> Result<()> {
    if video.avcc.len() > MAX_AVCC_BYTES {
        return Err(MediaError::TooLarge {
            what: "avcC record",
            size: video.avcc.len(),
            max: MAX_AVCC_BYTES,
        });
    }
    // configurationVersion, profile, compatibility, level, length size.
    if video.avcc.len() < 5 || video.avcc[0] != 1 {
        return Err(MediaError::Malformed {
            what: "avcC record",
            reason: "not an AVCDecoderConfigurationRecord version 1".into(),
        });
    }
    for (name, value) in [("width", video.width), ("height", video.height)] {
        if value > u32::from(u16::MAX) {
            return Err(MediaError::Unsupported {
                what: "video dimension",
                detail: format!("{name} {value} exceeds 65535"),
            });
        }
    }
    Ok(())
}

fn check_audio(audio: &AudioConfig) -> Result<()> {
    if audio.asc.len() > MAX_ASC_BYTES {
        return Err(MediaError::TooLarge {
            what: "AudioSpecificConfig",
            size: audio.asc.len(),
            max: MAX_ASC_BYTES,
        });
    }
    if audio.asc.len() < 2 {
        return Err(MediaError::Truncated {
            what: "AudioSpecificConfig",
            need: 2,
            have: audio.asc.len(),
        });
    }
    if audio.sample_rate == 0 {
        return Err(MediaError::Malformed {
            what: "audio configuration",
            reason: "sample rate 0".into(),
        });
    }
    Ok(())
}
