//! Decode times and sample durations of a run of frames, in the track's
//! timescale.
//!
//! Video keeps the frames' 90 kHz clock, so durations are exact differences
//! of decode times. Audio counts samples: every AAC frame lasts 1024 samples
//! and the decode time accumulates them, so no rounding of the 90 kHz times
//! (RTMP gives whole milliseconds) ever creeps in. The accumulated time only
//! follows the frames' clock again when the two drift apart by more than a
//! frame: a real gap or overlap in the source.

use crate::{MediaError, MediaFrame, Result, TIMESCALE};

/// Samples per AAC frame (AAC-LC and the core of HE-AAC).
pub const AAC_FRAME_SAMPLES: u32 = 1024;

/// Duration used for a lone video frame when nothing else tells: 1/30 s.
pub(crate) const DEFAULT_VIDEO_DURATION: u32 = TIMESCALE / 30;

/// The decode time of a run's first sample and each sample's duration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RunTiming {
    pub(crate) base_decode_time: u64,
    pub(crate) durations: Vec<u32>,
}

/// Converts a non-negative 90 kHz time to `timescale`, rounding to nearest.
pub(crate) fn rescale(ticks: i64, timescale: u32) -> Result<u64> {
    let ticks = u64::try_from(ticks).map_err(|_| MediaError::Malformed {
        what: "fragment",
        reason: format!("negative decode time {ticks}"),
    })?;
    let scaled = (u128::from(ticks) * u128::from(timescale) + u128::from(TIMESCALE / 2))
        / u128::from(TIMESCALE);
    u64::try_from(scaled).map_err(|_| MediaError::Malformed {
        what: "fragment",
        reason: "decode time out of range".into(),
    })
}

/// Video timing: each duration is the next frame's decode time minus this
/// one's; the last frame uses `next_dts`, else the previous duration, else
/// `fallback` (the track's last known duration).
pub(crate) fn video_run(
    frames: &[MediaFrame],
    next_dts: Option<i64>,
    fallback: Option<u32>,
) -> Result<RunTiming> {
    let first = frames.first().ok_or_else(empty_run)?;
    let base_decode_time = rescale(first.dts, TIMESCALE)?;
    let mut durations = Vec::with_capacity(frames.len());
    for pair in frames.windows(2) {
        durations.push(video_gap(pair[0].dts, pair[1].dts)?);
    }
    let last_dts = frames.last().map_or(first.dts, |f| f.dts);
    let last = match next_dts {
        Some(next) => video_gap(last_dts, next)?,
        None => durations
            .last()
            .copied()
            .or(fallback)
            .unwrap_or(DEFAULT_VIDEO_DURATION),
    };
    durations.push(last);
    Ok(RunTiming {
        base_decode_time,
        durations,
    })
}

fn video_gap(dts: i64, next: i64) -> Result<u32> {
    next.checked_sub(dts)
        .and_then(|d| u32::try_from(d).ok())
        .filter(|&d| d > 0)
        .ok_or_else(|| MediaError::Malformed {
            what: "video frame",
            reason: format!("decode time {next} does not follow {dts}"),
        })
}

fn empty_run() -> MediaError {
    MediaError::Malformed {
        what: "fragment",
        reason: "empty track run".into(),
    }
}

/// The running decode time of an audio track, in samples.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AudioClock {
    timescale: u32,
    next: Option<u64>,
}

impl AudioClock {
    pub(crate) fn new(timescale: u32) -> Self {
        Self {
            timescale,
            next: None,
        }
    }

    /// Places a run of AAC frames after the previous run.
    pub(crate) fn place(&mut self, frames: &[MediaFrame]) -> Result<RunTiming> {
        let mut expected = Vec::with_capacity(frames.len());
        for frame in frames {
            expected.push(rescale(frame.dts, self.timescale)?);
        }
        let first = *expected.first().ok_or_else(empty_run)?;
        let base_decode_time = follow(self.next, first);
        let mut time = base_decode_time;
        let mut durations = Vec::with_capacity(frames.len());
        for next_expected in expected.iter().skip(1) {
            let duration = audio_duration(time, *next_expected);
            durations.push(duration);
            time += u64::from(duration);
        }
        durations.push(AAC_FRAME_SAMPLES);
        self.next = Some(time + u64::from(AAC_FRAME_SAMPLES));
        Ok(RunTiming {
            base_decode_time,
            durations,
        })
    }
}

/// Keeps the accumulated time unless the frames' clock is more than a frame
/// away from it.
fn follow(accumulated: Option<u64>, expected: u64) -> u64 {
    match accumulated {
        Some(time) if time.abs_diff(expected) <= u64::from(AAC_FRAME_SAMPLES) => time,
        _ => expected,
    }
}

/// 1024 samples, stretched over a gap in the source so that the next frame
/// lands at its own time.
fn audio_duration(time: u64, next_expected: u64) -> u32 {
    let normal_end = time + u64::from(AAC_FRAME_SAMPLES);
    if next_expected > normal_end + u64::from(AAC_FRAME_SAMPLES) {
        u32::try_from(next_expected - time).unwrap_or(u32::MAX)
    } else {
        AAC_FRAME_SAMPLES
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TrackKind;
    use bytes::Bytes;

    fn frame(track: TrackKind, dts: i64) -> MediaFrame {
        MediaFrame {
            track,
            dts,
            pts: dts,
            keyframe: true,
            data: Bytes::from_static(b"x"),
        }
    }

    fn audio_at_ms(ms: &[i64]) -> Vec<MediaFrame> {
        ms.iter().map(|m| frame(TrackKind::Audio, m * 90)).collect()
    }

    #[test]
    fn rescale_rounds_to_nearest() {
        assert_eq!(rescale(90_000, 44_100).unwrap(), 44_100);
        assert_eq!(rescale(1, 44_100).unwrap(), 0); // 0.49 sample
        assert_eq!(rescale(2, 44_100).unwrap(), 1); // 0.98 sample
        assert!(rescale(-1, 44_100).is_err());
    }

    #[test]
    fn video_durations_follow_decode_times() {
        let frames: Vec<_> = [0, 3000, 6003]
            .iter()
            .map(|&d| frame(TrackKind::Video, d))
            .collect();
        let timing = video_run(&frames, Some(9000), None).unwrap();
        assert_eq!(timing.base_decode_time, 0);
        assert_eq!(timing.durations, [3000, 3003, 2997]);
    }

    #[test]
    fn last_video_duration_repeats_previous_then_fallback() {
        let two = [frame(TrackKind::Video, 0), frame(TrackKind::Video, 3600)];
        assert_eq!(
            video_run(&two, None, Some(1)).unwrap().durations,
            [3600, 3600]
        );
        let one = [frame(TrackKind::Video, 0)];
        assert_eq!(video_run(&one, None, Some(1500)).unwrap().durations, [1500]);
        assert_eq!(
            video_run(&one, None, None).unwrap().durations,
            [DEFAULT_VIDEO_DURATION]
        );
    }

    #[test]
    fn video_times_must_increase() {
        let same = [frame(TrackKind::Video, 10), frame(TrackKind::Video, 10)];
        assert!(video_run(&same, None, None).is_err());
        let one = [frame(TrackKind::Video, 10)];
        assert!(video_run(&one, Some(5), None).is_err());
        assert!(video_run(&[], None, None).is_err());
    }

    #[test]
    fn audio_accumulates_samples_despite_millisecond_jitter() {
        // 44.1 kHz AAC frames last 23.22 ms; RTMP rounds to 23 or 24 ms.
        let mut clock = AudioClock::new(44_100);
        let first = clock.place(&audio_at_ms(&[0, 23, 46, 70])).unwrap();
        assert_eq!(first.base_decode_time, 0);
        assert_eq!(first.durations, [1024; 4]);
        let second = clock.place(&audio_at_ms(&[93, 116])).unwrap();
        assert_eq!(second.base_decode_time, 4096);
    }

    #[test]
    fn audio_follows_a_real_gap() {
        let mut clock = AudioClock::new(48_000);
        // Frame at 0 ms, then a frame at 1000 ms: the first is stretched.
        let timing = clock.place(&audio_at_ms(&[0, 1000])).unwrap();
        assert_eq!(timing.durations, [48_000, 1024]);
        // A later run far from the accumulated time restarts from its clock.
        let later = clock.place(&audio_at_ms(&[5000])).unwrap();
        assert_eq!(later.base_decode_time, 240_000);
    }
}
