//! What every import demuxer shares: time rescaling, caps, codec checks and
//! the final pass that turns collected frames into a [`Demuxed`].

use super::{Container, Demuxed, normalise};
use crate::codec::nal::{NAL_IDR, avcc_nal_units, nal_type};
use crate::error::{MediaError, Result};
use crate::frame::{AudioConfig, MediaFrame, TIMESCALE, TrackKind, VideoConfig};

/// At most this many frames per track (16 Mi: over 6 days of 30 fps video).
pub(super) const MAX_FRAMES_PER_TRACK: usize = 16 << 20;

/// Converts `value` in units of `1/timescale` s to 90 kHz ticks (rounding
/// toward negative infinity), refusing a zero timescale or an overflow.
pub(super) fn to_ticks(value: i128, timescale: u64, what: &'static str) -> Result<i64> {
    if timescale == 0 {
        return Err(malformed(what, "timescale 0".into()));
    }
    let ticks = value
        .checked_mul(i128::from(TIMESCALE))
        .map(|scaled| scaled.div_euclid(i128::from(timescale)))
        .and_then(|ticks| i64::try_from(ticks).ok());
    match ticks {
        Some(ticks) => check_time(ticks, what),
        None => Err(malformed(what, format!("time {value} overflows"))),
    }
}

/// Times beyond ±2^50 ticks (about 400 years) are refused, so that later
/// differences and shifts cannot overflow.
pub(super) fn check_time(ticks: i64, what: &'static str) -> Result<i64> {
    if ticks.unsigned_abs() > MAX_TIME {
        return Err(malformed(what, format!("time {ticks} ticks out of range")));
    }
    Ok(ticks)
}

const MAX_TIME: u64 = 1 << 50;

/// Refuses one more frame once a track holds [`MAX_FRAMES_PER_TRACK`].
pub(super) fn check_frame_cap(count: usize, what: &'static str) -> Result<()> {
    if count >= MAX_FRAMES_PER_TRACK {
        return Err(MediaError::TooLarge {
            what,
            size: count.saturating_add(1),
            max: MAX_FRAMES_PER_TRACK,
        });
    }
    Ok(())
}

/// The refusal of a codec we do not store, naming it: `name` such as
/// "VP9", `kind` "video" or "audio", `code` the container's identifier.
pub(super) fn unsupported_codec(name: &str, kind: &str, code: &str) -> MediaError {
    MediaError::Unsupported {
        what: "codec",
        detail: format!("{name} {kind} ({code}): only H.264 and AAC can be imported"),
    }
}

/// Refuses an `AudioConfig` whose object type is not an AAC coder (an
/// `AudioSpecificConfig` can also describe CELP, MP3-in-MP4, ALS …).
pub(super) fn check_aac(config: AudioConfig) -> Result<AudioConfig> {
    let core = crate::codec::AudioSpecificConfig::parse(&config.asc)?.core_object_type();
    if matches!(core, 1..=4 | 6 | 17 | 19 | 20 | 22 | 23) {
        Ok(config)
    } else {
        let name = format!("MPEG-4 object type {core}");
        Err(unsupported_codec(&name, "audio", "AudioSpecificConfig"))
    }
}

/// Checks and completes collected frames: every video frame must be valid
/// AVCC (its keyframe flag becomes "contains an IDR slice"), video decode
/// times are moved back where a presentation time precedes them, and all
/// frames are put in decode order starting at 0.
pub(super) fn finish(
    container: Container,
    video: Option<VideoConfig>,
    audio: Option<AudioConfig>,
    mut frames: Vec<MediaFrame>,
) -> Result<Demuxed> {
    if frames.is_empty() {
        return Err(malformed(container.name(), "no H.264 or AAC frames".into()));
    }
    if let Some(config) = &video {
        mark_keyframes(&mut frames, config.nal_length_size)?;
        keep_pts_after_dts(&mut frames);
    }
    normalise(&mut frames);
    Ok(Demuxed {
        container,
        video,
        audio,
        frames,
    })
}

fn mark_keyframes(frames: &mut [MediaFrame], length_size: u8) -> Result<()> {
    let video = frames.iter_mut().filter(|f| f.track == TrackKind::Video);
    for (index, frame) in video.enumerate() {
        let mut idr = false;
        for unit in avcc_nal_units(&frame.data, length_size)? {
            let unit = unit.map_err(|e| malformed("H.264 frame", format!("frame {index}: {e}")))?;
            idr |= nal_type(unit) == Some(NAL_IDR);
        }
        frame.keyframe = idr;
    }
    Ok(())
}

/// A container may give a frame a presentation time before its decode time
/// (negative composition offsets without a shift): move every video decode
/// time back by the largest such gap, which keeps their order.
fn keep_pts_after_dts(frames: &mut [MediaFrame]) {
    let video = || frames.iter().filter(|f| f.track == TrackKind::Video);
    let lead = video()
        .map(|f| f.dts.saturating_sub(f.pts))
        .max()
        .unwrap_or(0);
    if lead > 0 {
        for frame in frames.iter_mut().filter(|f| f.track == TrackKind::Video) {
            frame.dts = frame.dts.saturating_sub(lead);
        }
    }
}

pub(super) fn malformed(what: &'static str, reason: String) -> MediaError {
    MediaError::Malformed { what, reason }
}
