//! The live packager: frames in, CMAF parts and segments out, published on
//! a [`Timeline`]. No clock: every decision comes from frame times.
//!
//! One track drives the cuts: video if the stream has video, else audio.
//! The packager holds the latest driver frame until the next one tells its
//! duration, then:
//!
//! - a **segment** ends before a driver keyframe (any audio frame, for
//!   audio-only streams) once it lasts `segment_target`, or before a frame
//!   that would make it round above the target duration;
//! - a **part** ends as soon as one more frame of the last frame's length
//!   would take it over `part_target` (give or take 2 ms of timestamp
//!   jitter), and before any frame that actually would: parts never exceed PART-TARGET (unless one frame alone does),
//!   and stay above 85 % of it when frames are shorter than 15 % of it
//!   (RFC 8216bis §4.4.4.9);
//! - a part also ends before a keyframe inside a segment once it reaches
//!   85 %, so the keyframe opens an INDEPENDENT part players can join at.
//!   Only parts that start with a keyframe are marked INDEPENDENT;
//! - parts and segments are also cut when their bytes reach the caps (and
//!   a segment cut that way may start without a keyframe).
//!
//! Audio frames of a video stream go into the part covering their decode
//! time, or the next one if they arrive after it was cut.

mod buffer;
mod period;

use bytes::Bytes;

use super::config::{PackagerConfig, Settings};
use super::timeline::{Limits, Timeline};
use crate::fmp4::{AAC_FRAME_SAMPLES, TrackRun};
use crate::{AudioConfig, MediaError, MediaFrame, Result, TIMESCALE, TrackKind, VideoConfig};
use buffer::{MAX_PART_FRAMES, PartBuffer};
use period::{Period, Verdict};

/// RFC 8216bis §4.4.4.9: parts last at least 85 % of PART-TARGET, except
/// independent ones and the last of a segment.
const PART_FLOOR_PERCENT: i64 = 85;

/// Room given to the guess that one more frame would overfill the part:
/// millisecond timestamps make equal frames last 33 or 34 ms, and cutting
/// on such a guess would leave a one-frame part before every segment end.
/// A frame that really overfills is still cut before, one frame later.
const ESTIMATE_SLACK: i64 = 180;

/// What a call published.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    /// New parts.
    pub parts: u64,
    /// Newly completed segments.
    pub segments: u64,
}

impl Progress {
    /// Nothing new: playlists are unchanged.
    pub fn is_empty(&self) -> bool {
        self.parts == 0 && self.segments == 0
    }
}

/// Packages one live stream for LL-HLS (see the module documentation).
#[derive(Debug)]
pub struct Packager {
    settings: Settings,
    timeline: Timeline,
    period: Period,
    part: PartBuffer,
    /// The latest driver frame, whose duration the next one will tell.
    pending: Option<MediaFrame>,
    last_driver_duration: Option<i64>,
    segment_start: i64,
    segment_bytes: usize,
    /// Output time where the driver track's media written so far ends:
    /// where the next period starts, so EXTINF times and decode times agree.
    driver_end: i64,
    sequence: u32,
    next_init_id: u32,
}

impl Packager {
    /// A packager for a stream with these tracks (at least one).
    pub fn new(
        config: &PackagerConfig,
        video: Option<VideoConfig>,
        audio: Option<AudioConfig>,
    ) -> Result<Self> {
        let settings = config.settings()?;
        let period = Period::new(video, audio, 0)?;
        let limits = Limits {
            target_duration: settings.target_duration,
            part_target: settings.part_target,
            window: settings.window,
            max_segments: settings.max_segments,
        };
        let timeline = Timeline::new(limits, 0, period.writer.init_segment());
        Ok(Self {
            settings,
            timeline,
            period,
            part: PartBuffer::default(),
            pending: None,
            last_driver_duration: None,
            segment_start: 0,
            segment_bytes: 0,
            driver_end: 0,
            sequence: 1,
            next_init_id: 1,
        })
    }

    /// What has been published: read it to write playlists and serve parts.
    pub fn timeline(&self) -> &Timeline {
        &self.timeline
    }

    /// The init segment of the current period.
    pub fn init_segment(&self) -> Bytes {
        self.period.writer.init_segment()
    }

    /// Id of the current init segment (`init{id}.mp4`).
    pub fn init_id(&self) -> u32 {
        self.period.init_id
    }

    /// RFC 6381 codec strings of the current period, video first.
    pub fn codecs(&self) -> Vec<String> {
        let video = self.period.video().map(|v| v.codec.clone());
        video
            .into_iter()
            .chain(self.period.audio().map(|a| a.codec.clone()))
            .collect()
    }

    /// Width and height of the current video, if any.
    pub fn resolution(&self) -> Option<(u32, u32)> {
        self.period.video().map(|v| (v.width, v.height))
    }

    /// Adds a frame. Frames may interleave tracks; each track's decode times
    /// must increase. A rejected frame is dropped and changes nothing.
    pub fn push(&mut self, frame: MediaFrame) -> Result<Progress> {
        self.ensure_live()?;
        let before = self.marks();
        let max_jump = self.settings.max_jump;
        if self.period.check(&frame, max_jump)? == Verdict::Restart {
            self.flush()?;
            self.timeline.mark_discontinuity();
            self.period.restart();
        }
        if let Some(frame) = self.period.place(frame, self.driver_end, max_jump)? {
            if frame.track == self.period.driver() {
                self.on_driver(frame)?;
            } else {
                self.on_follower(frame)?;
            }
        }
        Ok(self.progress_since(before))
    }

    /// The publisher reconnected or changed its encoding: ends the current
    /// segment and puts EXT-X-DISCONTINUITY before the next one, with a new
    /// init segment if the configurations changed.
    pub fn discontinuity(
        &mut self,
        video: Option<VideoConfig>,
        audio: Option<AudioConfig>,
    ) -> Result<Progress> {
        self.ensure_live()?;
        let before = self.marks();
        let replacement = if self.period.has_configs(&video, &audio) {
            None
        } else {
            Some(Period::new(video, audio, self.next_init_id)?)
        };
        self.flush()?;
        self.timeline.mark_discontinuity();
        match replacement {
            Some(period) => {
                self.timeline
                    .use_init(period.init_id, period.writer.init_segment());
                self.next_init_id += 1;
                self.period = period;
            }
            None => self.period.restart(),
        }
        Ok(self.progress_since(before))
    }

    /// The stream ended: publishes what is left and closes the playlist
    /// (EXT-X-ENDLIST). Later calls fail.
    pub fn finish(&mut self) -> Result<Progress> {
        self.ensure_live()?;
        let before = self.marks();
        self.flush()?;
        self.timeline.finish();
        Ok(self.progress_since(before))
    }

    fn ensure_live(&self) -> Result<()> {
        if self.timeline.is_ended() {
            return Err(MediaError::Malformed {
                what: "live stream",
                reason: "already finished".into(),
            });
        }
        Ok(())
    }

    fn marks(&self) -> (u64, u64) {
        (self.timeline.next_part_number(), self.timeline.open().msn)
    }

    fn progress_since(&self, (parts, msn): (u64, u64)) -> Progress {
        let (parts_now, msn_now) = self.marks();
        Progress {
            parts: parts_now - parts,
            segments: msn_now - msn,
        }
    }

    fn on_driver(&mut self, frame: MediaFrame) -> Result<()> {
        match self.pending.take() {
            Some(previous) => {
                let duration = frame.dts - previous.dts;
                self.commit_driver(previous, duration)?;
            }
            None if !self.part.has_driver() => {
                // The first frame of a period starts its first part.
                self.part.start = frame.dts;
                self.segment_start = frame.dts;
            }
            None => {}
        }
        self.cut_before(&frame)?;
        self.pending = Some(frame);
        Ok(())
    }

    /// Adds a driver frame whose duration is now known, first cutting where
    /// it would overfill the part or the segment.
    fn commit_driver(&mut self, frame: MediaFrame, duration: i64) -> Result<()> {
        let end = frame.dts + duration;
        if end - self.part.start > self.settings.part_target as i64 {
            self.cut_part(frame.dts, false)?;
        }
        let segment_has_media = self.part.has_driver() || !self.timeline.open().parts.is_empty();
        if segment_has_media && end - self.segment_start >= self.settings.segment_limit() as i64 {
            self.cut_part(frame.dts, false)?;
            self.close_segment();
        }
        self.part.push_driver(frame);
        self.last_driver_duration = Some(duration);
        Ok(())
    }

    /// Cuts before `next`, the newest driver frame, when it starts a new
    /// segment or would likely overfill the part.
    fn cut_before(&mut self, next: &MediaFrame) -> Result<()> {
        if !self.part.has_driver() {
            return Ok(());
        }
        let at = next.dts;
        let starts_group = next.keyframe || next.track == TrackKind::Audio;
        if starts_group && at - self.segment_start >= self.settings.segment_target as i64 {
            self.cut_part(at, false)?;
            self.close_segment();
            return Ok(());
        }
        let elapsed = at - self.part.start;
        let estimate = self.last_driver_duration.unwrap_or(0);
        let full = elapsed + estimate > self.settings.part_target as i64 + ESTIMATE_SLACK;
        // A keyframe inside a segment starts a part of its own (a join point
        // for players) when the part before it is long enough to end.
        let joinable =
            next.keyframe && elapsed * 100 >= PART_FLOOR_PERCENT * self.settings.part_target as i64;
        let heavy = self.part.bytes() >= self.settings.max_part_bytes
            || self.part.frames() >= MAX_PART_FRAMES;
        let segment_heavy =
            self.segment_bytes + self.part.bytes() >= self.settings.max_segment_bytes;
        if full || joinable || heavy || segment_heavy {
            self.cut_part(at, false)?;
        }
        if segment_heavy {
            self.close_segment();
        }
        Ok(())
    }

    fn on_follower(&mut self, frame: MediaFrame) -> Result<()> {
        // Followers wait for the driver; if it stalls they cannot wait
        // without bound.
        let waiting = self.part.bytes() + frame.data.len();
        if waiting > 2 * self.settings.max_part_bytes || self.part.frames() >= 2 * MAX_PART_FRAMES {
            return Err(MediaError::TooLarge {
                what: "frames waiting for the next part",
                size: waiting,
                max: 2 * self.settings.max_part_bytes,
            });
        }
        self.part.push_follower(frame);
        Ok(())
    }

    /// Publishes the buffered driver frames, and the followers before `end`
    /// (all of them with `all_followers`), as a part ending at `end`.
    fn cut_part(&mut self, end: i64, all_followers: bool) -> Result<()> {
        if !self.part.has_driver() {
            return Ok(());
        }
        let driver = self.period.driver();
        let follower = match driver {
            TrackKind::Video => TrackKind::Audio,
            TrackKind::Audio => TrackKind::Video,
        };
        let followers = self.part.followers_before((!all_followers).then_some(end));
        let runs = [
            TrackRun::new(driver, self.part.driver()).followed_by(end),
            TrackRun::new(follower, followers),
        ];
        let data = self.period.writer.fragment(self.sequence, &runs)?;
        let independent =
            driver == TrackKind::Audio || self.part.driver().first().is_some_and(|f| f.keyframe);
        let taken = followers.len();
        self.driver_end = end;
        self.segment_bytes += data.len();
        self.timeline
            .push_part((end - self.part.start) as u64, independent, data);
        self.part.consume(taken, end);
        self.sequence = self.sequence.wrapping_add(1);
        Ok(())
    }

    fn close_segment(&mut self) {
        self.timeline.close_segment();
        self.segment_start = self.part.start;
        self.segment_bytes = 0;
    }

    /// Publishes everything buffered and completes the open segment.
    fn flush(&mut self) -> Result<()> {
        if let Some(last) = self.pending.take() {
            let duration = self
                .last_driver_duration
                .unwrap_or_else(|| self.default_driver_duration());
            let end = last.dts + duration;
            self.commit_driver(last, duration)?;
            self.cut_part(end, true)?;
        }
        self.part.clear();
        self.close_segment();
        self.last_driver_duration = None;
        Ok(())
    }

    fn default_driver_duration(&self) -> i64 {
        match self.period.driver() {
            TrackKind::Video => i64::from(TIMESCALE / 30),
            TrackKind::Audio => self.audio_frame_ticks(),
        }
    }

    /// One AAC frame in 90 kHz ticks.
    fn audio_frame_ticks(&self) -> i64 {
        let rate = self.period.audio().map_or(48_000, |a| a.sample_rate.max(1));
        i64::from(AAC_FRAME_SAMPLES) * i64::from(TIMESCALE) / i64::from(rate)
    }
}
