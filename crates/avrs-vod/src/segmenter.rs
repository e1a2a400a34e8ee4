//! Cutting frames into VoD segments (sans-IO), shared by import and
//! recording, and encoding a cut as one CMAF fragment.
//!
//! Video drives the cuts when there is video: a segment ends before the
//! first keyframe once it lasts the target, or before any frame once it
//! lasts [`MAX_SEGMENT_FACTOR`] targets or holds [`MAX_SEGMENT_BYTES`]
//! (a file with rare keyframes still gives bounded segments). Audio goes
//! into the segment covering its decode time.

use avrs_media::fmp4::{AAC_FRAME_SAMPLES, CmafWriter, TrackRun};
use avrs_media::{MediaFrame, TIMESCALE, TrackKind};
use bytes::Bytes;
use std::time::Duration;

/// A segment is forced out at this many target durations.
pub const MAX_SEGMENT_FACTOR: i64 = 4;
/// … or at this many bytes of media.
pub const MAX_SEGMENT_BYTES: usize = 64 << 20;
/// … or at this many video frames (the fragment writer's run cap is 65 536).
const MAX_SEGMENT_FRAMES: usize = 30_000;

/// The frames of one segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cut {
    pub video: Vec<MediaFrame>,
    pub audio: Vec<MediaFrame>,
    /// Decode time of the video frame after the segment, when known.
    pub next_video_dts: Option<i64>,
    /// Start of the segment (driver track), 90 kHz ticks.
    pub start: i64,
    /// 90 kHz ticks.
    pub duration: u64,
}

impl Cut {
    pub fn media_bytes(&self) -> usize {
        self.video
            .iter()
            .chain(&self.audio)
            .map(|f| f.data.len())
            .sum()
    }
}

/// Incremental cutter: frames in, completed segments out.
#[derive(Debug)]
pub struct Segmenter {
    target: i64,
    has_video: bool,
    audio_step: i64,
    /// A video stream has met its first keyframe (frames before are dropped).
    started: bool,
    start: Option<i64>,
    video: Vec<MediaFrame>,
    audio: Vec<MediaFrame>,
    bytes: usize,
    last_dts: Option<i64>,
    last_step: i64,
}

impl Segmenter {
    /// `audio_rate`: the AAC sample rate when there is audio.
    pub fn new(target: Duration, has_video: bool, audio_rate: Option<u32>) -> Self {
        let target = (target.as_millis() as i64).saturating_mul(90).max(90);
        let audio_step = audio_rate.map_or(0, |rate| {
            i64::from(AAC_FRAME_SAMPLES) * i64::from(TIMESCALE) / i64::from(rate.max(1))
        });
        Self {
            target,
            has_video,
            audio_step,
            started: !has_video,
            start: None,
            video: Vec::new(),
            audio: Vec::new(),
            bytes: 0,
            last_dts: None,
            last_step: 0,
        }
    }

    /// Takes one frame (decode order); returns the segment it completes.
    pub fn push(&mut self, frame: MediaFrame) -> Option<Cut> {
        let driver = self.has_video == (frame.track == TrackKind::Video);
        if frame.track == TrackKind::Video && !self.has_video {
            return None;
        }
        if driver && !self.started {
            if !frame.keyframe {
                return None;
            }
            self.started = true;
        }
        let mut cut = None;
        if driver {
            let start = *self.start.get_or_insert(frame.dts);
            if let Some(last) = self.last_dts
                && frame.dts > last
            {
                self.last_step = frame.dts - last;
            }
            self.last_dts = Some(frame.dts);
            if self.pending_driver() && self.should_cut(&frame, frame.dts - start) {
                cut = Some(self.cut(frame.dts));
            }
        }
        self.bytes += frame.data.len();
        if frame.track == TrackKind::Video {
            self.video.push(frame);
        } else {
            self.audio.push(frame);
        }
        cut
    }

    /// The last segment, if any frames are left.
    pub fn finish(&mut self) -> Option<Cut> {
        if !self.pending_driver() {
            return None;
        }
        let start = self.start?;
        let step = if self.has_video {
            self.last_step
        } else {
            self.audio_step
        };
        let end = self.last_dts? + step.max(1);
        let mut cut = self.cut(end);
        cut.next_video_dts = None;
        cut.audio.append(&mut self.audio);
        debug_assert!(end >= start);
        Some(cut)
    }

    fn pending_driver(&self) -> bool {
        if self.has_video {
            !self.video.is_empty()
        } else {
            !self.audio.is_empty()
        }
    }

    fn should_cut(&self, frame: &MediaFrame, elapsed: i64) -> bool {
        let key = frame.keyframe || !self.has_video;
        (key && elapsed >= self.target)
            || elapsed >= self.target * MAX_SEGMENT_FACTOR
            || self.bytes >= MAX_SEGMENT_BYTES
            || self.video.len() >= MAX_SEGMENT_FRAMES
    }

    /// Ends the open segment before time `next`.
    fn cut(&mut self, next: i64) -> Cut {
        let start = self.start.unwrap_or(next);
        let video = std::mem::take(&mut self.video);
        let keep_from = self.audio.partition_point(|f| f.dts < next);
        let later = self.audio.split_off(keep_from);
        let audio = std::mem::replace(&mut self.audio, later);
        self.bytes = self.audio.iter().map(|f| f.data.len()).sum();
        self.start = Some(next);
        Cut {
            next_video_dts: (!video.is_empty()).then_some(next),
            video,
            audio,
            start,
            duration: u64::try_from(next - start).unwrap_or(0),
        }
    }
}

/// One segment as a CMAF fragment (`moof` + `mdat`); `seq` from 0.
pub fn encode(writer: &mut CmafWriter, seq: u32, cut: &Cut) -> avrs_media::Result<Bytes> {
    let mut runs = Vec::with_capacity(2);
    if !cut.video.is_empty() {
        let run = TrackRun::new(TrackKind::Video, &cut.video);
        runs.push(match cut.next_video_dts {
            Some(next) => run.followed_by(next),
            None => run,
        });
    }
    if !cut.audio.is_empty() && writer.has_track(TrackKind::Audio) {
        runs.push(TrackRun::new(TrackKind::Audio, &cut.audio));
    }
    writer.fragment(seq.saturating_add(1), &runs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(track: TrackKind, ms: i64, keyframe: bool) -> MediaFrame {
        MediaFrame {
            track,
            dts: ms * 90,
            pts: ms * 90,
            keyframe,
            data: Bytes::from_static(&[0, 0, 0, 1, 0x65]),
        }
    }

    /// 30 fps video with a keyframe every `gop` frames and 48 kHz audio.
    fn stream(seconds: i64, gop: i64) -> Vec<MediaFrame> {
        let mut frames = Vec::new();
        for n in 0..seconds * 30 {
            frames.push(frame(TrackKind::Video, n * 100 / 3, n % gop == 0));
        }
        for n in 0..seconds * 1000 * 48 / 1024 {
            frames.push(frame(TrackKind::Audio, n * 1024 / 48, true));
        }
        frames.sort_by_key(|f| f.dts);
        frames
    }

    fn cut_all(frames: Vec<MediaFrame>, target: u64) -> Vec<Cut> {
        let mut segmenter = Segmenter::new(Duration::from_secs(target), true, Some(48_000));
        let mut cuts: Vec<Cut> = frames
            .into_iter()
            .filter_map(|f| segmenter.push(f))
            .collect();
        cuts.extend(segmenter.finish());
        cuts
    }

    #[test]
    fn cuts_at_keyframes_after_the_target_and_keeps_every_frame() {
        let frames = stream(10, 30);
        let total = frames.len();
        let cuts = cut_all(frames, 2);
        assert_eq!(cuts.len(), 5);
        assert!(cuts.iter().all(|c| c.video[0].keyframe));
        assert!(
            cuts[..4].iter().all(|c| c.duration == 180_000),
            "{:?}",
            cuts.iter().map(|c| c.duration).collect::<Vec<_>>()
        );
        let kept: usize = cuts.iter().map(|c| c.video.len() + c.audio.len()).sum();
        assert_eq!(kept, total);
        let sum: u64 = cuts.iter().map(|c| c.duration).sum();
        assert!((sum as i64 - 900_000).abs() <= 3_000, "{sum}");
        for cut in &cuts {
            let end = cut.start + cut.duration as i64;
            assert!(
                cut.audio
                    .iter()
                    .all(|a| a.dts >= cut.start && a.dts < end + 3_000)
            );
        }
    }

    #[test]
    fn rare_keyframes_force_bounded_segments() {
        let cuts = cut_all(stream(20, 600), 1);
        assert!(cuts.iter().all(|c| c.duration <= 4 * 90_000));
        assert!(cuts.len() >= 5);
    }

    #[test]
    fn frames_before_the_first_keyframe_are_dropped() {
        let mut frames = stream(2, 30);
        frames.retain(|f| !(f.track == TrackKind::Video && f.dts == 0));
        let cuts = cut_all(frames, 1);
        assert!(cuts[0].video[0].keyframe);
        assert_eq!(cuts[0].start, 90_000);
    }
}
