//! A period: the stretch of a stream between discontinuities, with one set
//! of codec configurations and one mapping from the publisher's clock to the
//! output timeline.
//!
//! The output timeline starts at 0 and runs on across periods: each period
//! begins where the previous one's driver track ended, so fragment decode
//! times never go back even when a publisher reconnects with its clock at
//! 0, and they keep matching the sum of the playlist's durations.

use crate::fmp4::CmafWriter;
use crate::{AudioConfig, MediaError, MediaFrame, Result, TrackKind, VideoConfig};

/// Largest magnitude accepted for a frame time: 2^52 ticks (1500 years)
/// leaves room for every sum the packager makes.
const MAX_TIME: i64 = 1 << 52;

/// Largest frame accepted: FLV tags cannot carry more, and it bounds what
/// one part may hold.
pub(crate) const MAX_FRAME_BYTES: usize = 16 * 1024 * 1024;

/// What to do with a frame that passed the checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Accept,
    /// Its clock jumped: end the period first.
    Restart,
}

#[derive(Debug)]
pub(crate) struct Period {
    pub(crate) writer: CmafWriter,
    pub(crate) init_id: u32,
    video: Option<VideoConfig>,
    audio: Option<AudioConfig>,
    /// Output time minus input time, and the output time the period starts
    /// at; set by the period's first driver frame.
    offset: Option<(i64, i64)>,
    /// Last input decode time per track (video, audio).
    last_dts: [Option<i64>; 2],
    /// Output decode time of the latest driver frame.
    driver_time: Option<i64>,
}

impl Period {
    pub(crate) fn new(
        video: Option<VideoConfig>,
        audio: Option<AudioConfig>,
        init_id: u32,
    ) -> Result<Self> {
        Ok(Self {
            writer: CmafWriter::new(video.clone(), audio.clone())?,
            init_id,
            video,
            audio,
            offset: None,
            last_dts: [None; 2],
            driver_time: None,
        })
    }

    /// The same configurations under a new clock mapping.
    pub(crate) fn restart(&mut self) {
        self.offset = None;
        self.last_dts = [None; 2];
        self.driver_time = None;
    }

    pub(crate) fn has_configs(
        &self,
        video: &Option<VideoConfig>,
        audio: &Option<AudioConfig>,
    ) -> bool {
        self.video == *video && self.audio == *audio
    }

    pub(crate) fn video(&self) -> Option<&VideoConfig> {
        self.video.as_ref()
    }

    pub(crate) fn audio(&self) -> Option<&AudioConfig> {
        self.audio.as_ref()
    }

    /// The track whose frames decide where parts and segments end: video
    /// when there is video (segments must start at keyframes), else audio.
    pub(crate) fn driver(&self) -> TrackKind {
        if self.video.is_some() {
            TrackKind::Video
        } else {
            TrackKind::Audio
        }
    }

    /// Checks a frame against the configuration and its track's clock.
    pub(crate) fn check(&self, frame: &MediaFrame, max_jump: i64) -> Result<Verdict> {
        if !self.writer.has_track(frame.track) {
            return Err(MediaError::MissingConfig {
                what: match frame.track {
                    TrackKind::Video => "video frame",
                    TrackKind::Audio => "audio frame",
                },
            });
        }
        if frame.data.len() > MAX_FRAME_BYTES {
            return Err(MediaError::TooLarge {
                what: "frame",
                size: frame.data.len(),
                max: MAX_FRAME_BYTES,
            });
        }
        let in_range = |t: i64| (-MAX_TIME..=MAX_TIME).contains(&t);
        if !in_range(frame.dts) || !in_range(frame.pts) {
            return Err(malformed(format!("time {} out of range", frame.dts)));
        }
        if (frame.pts - frame.dts).abs() > max_jump {
            return Err(malformed(format!(
                "presentation time {} too far from decode time {}",
                frame.pts, frame.dts
            )));
        }
        let Some(last) = self.last_dts[slot(frame.track)] else {
            return Ok(Verdict::Accept);
        };
        if (frame.dts - last).abs() > max_jump {
            Ok(Verdict::Restart)
        } else if frame.dts <= last {
            Err(malformed(format!(
                "decode time {} does not follow {last}",
                frame.dts
            )))
        } else {
            Ok(Verdict::Accept)
        }
    }

    /// Maps a checked frame onto the output timeline; a period that has not
    /// started yet starts at `start`. `None` drops the frame: frames before
    /// the period's first driver frame (for video, the first keyframe)
    /// cannot be decoded or would start before the period.
    pub(crate) fn place(
        &mut self,
        mut frame: MediaFrame,
        start: i64,
        max_jump: i64,
    ) -> Result<Option<MediaFrame>> {
        let driver = frame.track == self.driver();
        if self.offset.is_none() && driver && (frame.keyframe || frame.track == TrackKind::Audio) {
            self.offset = Some((start - frame.dts, start));
        }
        let Some((offset, start)) = self.offset else {
            self.last_dts[slot(frame.track)] = Some(frame.dts);
            return Ok(None);
        };
        let dts = frame.dts + offset;
        if !driver && self.driver_time.is_some_and(|t| (dts - t).abs() > max_jump) {
            return Err(malformed(format!(
                "{:?} decode time {} too far from the {:?} track",
                frame.track,
                frame.dts,
                self.driver()
            )));
        }
        self.last_dts[slot(frame.track)] = Some(frame.dts);
        if dts < start {
            return Ok(None);
        }
        if driver {
            self.driver_time = Some(dts);
        }
        frame.pts += offset;
        frame.dts = dts;
        Ok(Some(frame))
    }
}

fn slot(track: TrackKind) -> usize {
    match track {
        TrackKind::Video => 0,
        TrackKind::Audio => 1,
    }
}

fn malformed(reason: String) -> MediaError {
    MediaError::Malformed {
        what: "frame timing",
        reason,
    }
}
