//! Fragmented MP4 as CMAF: one init segment (`ftyp` + `moov`), then
//! fragments (`moof` + `mdat`) that carry the media.
//!
//! [`CmafWriter`] holds the tracks and their running clocks:
//!
//! ```
//! # use avrs_media::{fmp4::{CmafWriter, TrackRun}, AudioConfig, MediaFrame, TrackKind};
//! # use bytes::Bytes;
//! let audio = AudioConfig {
//!     asc: Bytes::from_static(&[0x12, 0x10]),
//!     codec: "mp4a.40.2".into(),
//!     object_type: 2,
//!     sample_rate: 44_100,
//!     channels: 2,
//! };
//! let mut writer = CmafWriter::new(None, Some(audio))?;
//! let init = writer.init_segment(); // serve as init.mp4
//! let frame = MediaFrame {
//!     track: TrackKind::Audio,
//!     dts: 0,
//!     pts: 0,
//!     keyframe: true,
//!     data: Bytes::from_static(&[0x21, 0x00]),
//! };
//! let chunk = writer.fragment(1, &[TrackRun::new(TrackKind::Audio, &[frame])])?;
//! assert_eq!(&chunk[4..8], b"moof");
//! # assert_eq!(&init[4..8], b"ftyp");
//! # Ok::<(), avrs_media::MediaError>(())
//! ```
//!
//! Video keeps the 90 kHz clock of the frames; audio uses its sample rate
//! and counts 1024 samples per AAC frame (see `timing`).

mod boxes;
mod fragment;
mod init;
mod timing;
mod track;

use bytes::Bytes;

use crate::{AudioConfig, MediaError, MediaFrame, Result, TrackKind, VideoConfig};
pub use fragment::{MAX_FRAGMENT_DATA, MAX_RUN_SAMPLES, NON_SYNC_SAMPLE_FLAGS, SYNC_SAMPLE_FLAGS};
pub use timing::AAC_FRAME_SAMPLES;
pub use track::{MAX_ASC_BYTES, MAX_AVCC_BYTES};

use fragment::TrafPlan;
use timing::AudioClock;
use track::{Track, TrackCodec};

/// The frames of one track that go into a fragment.
#[derive(Debug, Clone, Copy)]
pub struct TrackRun<'a> {
    pub track: TrackKind,
    /// In decode order, 90 kHz times, none negative.
    pub frames: &'a [MediaFrame],
    /// Decode time of the frame after the run, when known: it gives the
    /// last video frame its exact duration.
    pub next_dts: Option<i64>,
}

impl<'a> TrackRun<'a> {
    /// A run whose follower is not known yet.
    pub fn new(track: TrackKind, frames: &'a [MediaFrame]) -> Self {
        Self {
            track,
            frames,
            next_dts: None,
        }
    }

    /// A run followed by a frame decoded at `next_dts`.
    pub fn followed_by(mut self, next_dts: i64) -> Self {
        self.next_dts = Some(next_dts);
        self
    }
}

/// Writes the init segment and the fragments of a CMAF presentation with at
/// most one video (H.264) and one audio (AAC) track.
#[derive(Debug, Clone)]
pub struct CmafWriter {
    tracks: Vec<TrackState>,
    init: Bytes,
}

#[derive(Debug, Clone)]
struct TrackState {
    track: Track,
    /// Duration of the last video sample written, for a lone last frame.
    last_video_duration: Option<u32>,
    audio_clock: AudioClock,
}

impl CmafWriter {
    /// Checks the configurations and writes the init segment. At least one
    /// track is needed.
    pub fn new(video: Option<VideoConfig>, audio: Option<AudioConfig>) -> Result<Self> {
        let tracks = track::tracks(video, audio)?;
        let init = Bytes::from(init::init_segment(&tracks)?);
        let tracks = tracks
            .into_iter()
            .map(|track| TrackState {
                audio_clock: AudioClock::new(track.timescale()),
                last_video_duration: None,
                track,
            })
            .collect();
        Ok(Self { tracks, init })
    }

    /// The init segment (`ftyp` + `moov`); the same bytes every call.
    pub fn init_segment(&self) -> Bytes {
        self.init.clone()
    }

    /// The track id of `kind` in the init segment and fragments.
    pub fn track_id(&self, kind: TrackKind) -> Option<u32> {
        self.state(kind).map(|s| s.track.id)
    }

    /// Ticks per second of `kind`'s media times in the fragments.
    pub fn timescale(&self, kind: TrackKind) -> Option<u32> {
        self.state(kind).map(|s| s.track.timescale())
    }

    /// Whether the writer has a track of `kind`.
    pub fn has_track(&self, kind: TrackKind) -> bool {
        self.state(kind).is_some()
    }

    /// Writes one fragment (`moof` + `mdat`) with sequence number
    /// `sequence`. Runs without frames are skipped; at least one run must
    /// have frames, and each track may appear once.
    pub fn fragment(&mut self, sequence: u32, runs: &[TrackRun<'_>]) -> Result<Bytes> {
        let runs: Vec<&TrackRun<'_>> = runs.iter().filter(|r| !r.frames.is_empty()).collect();
        self.check_runs(&runs)?;
        // Time the runs on copies of the clocks: a failure leaves them as
        // they were.
        let mut updated = self.tracks.clone();
        let mut plans = Vec::with_capacity(runs.len());
        for run in &runs {
            let state = updated
                .iter_mut()
                .find(|s| s.track.kind() == run.track)
                .ok_or_else(|| unknown_track(run.track))?;
            plans.push(state.plan(run)?);
        }
        let bytes = fragment::write_fragment(sequence, &plans)?;
        self.tracks = updated;
        Ok(Bytes::from(bytes))
    }

    fn state(&self, kind: TrackKind) -> Option<&TrackState> {
        self.tracks.iter().find(|s| s.track.kind() == kind)
    }

    fn check_runs(&self, runs: &[&TrackRun<'_>]) -> Result<()> {
        if runs.is_empty() {
            return Err(MediaError::Malformed {
                what: "fragment",
                reason: "no samples".into(),
            });
        }
        for (i, run) in runs.iter().enumerate() {
            if !self.has_track(run.track) {
                return Err(unknown_track(run.track));
            }
            if runs[..i].iter().any(|r| r.track == run.track) {
                return Err(MediaError::Malformed {
                    what: "fragment",
                    reason: format!("two runs of the {:?} track", run.track),
                });
            }
            if run.frames.iter().any(|f| f.track != run.track) {
                return Err(MediaError::Malformed {
                    what: "fragment",
                    reason: format!("a frame of another track in the {:?} run", run.track),
                });
            }
        }
        Ok(())
    }
}

impl TrackState {
    fn plan<'a>(&mut self, run: &TrackRun<'a>) -> Result<TrafPlan<'a>> {
        let video = matches!(self.track.codec, TrackCodec::Video(_));
        let timing = if video {
            let timing = timing::video_run(run.frames, run.next_dts, self.last_video_duration)?;
            self.last_video_duration = timing.durations.last().copied();
            timing
        } else {
            self.audio_clock.place(run.frames)?
        };
        Ok(TrafPlan {
            track_id: self.track.id,
            timing,
            frames: run.frames,
            video,
        })
    }
}

fn unknown_track(kind: TrackKind) -> MediaError {
    MediaError::MissingConfig {
        what: match kind {
            TrackKind::Video => "video run",
            TrackKind::Audio => "audio run",
        },
    }
}
