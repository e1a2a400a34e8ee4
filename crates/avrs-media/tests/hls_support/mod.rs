//! Test helpers for the HLS packager: synthetic streams shaped like what
//! RTMP publishers send (millisecond timestamps, interleaved tracks).
#![allow(dead_code)]

use avrs_media::hls::{
    Packager, PackagerConfig, PlaylistReport, check_continuity, check_media_playlist,
    media_playlist,
};
use avrs_media::{AudioConfig, MediaFrame, TrackKind, VideoConfig};
use bytes::Bytes;

pub use crate::fmp4_support::{audio_config, video_config};

/// Shape of a synthetic stream.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// Video frames per second, 0 for no video.
    pub fps: u32,
    /// A keyframe every this many video frames.
    pub gop: u32,
    /// Audio sample rate, 0 for no audio.
    pub audio_rate: u32,
    /// Round times to whole milliseconds, as RTMP does.
    pub rtmp_ms: bool,
    /// Bytes per video frame.
    pub video_bytes: usize,
}

impl Shape {
    pub const AV: Shape = Shape {
        fps: 30,
        gop: 60,
        audio_rate: 44_100,
        rtmp_ms: true,
        video_bytes: 64,
    };

    pub fn video_config(&self) -> Option<VideoConfig> {
        (self.fps > 0).then(video_config)
    }

    pub fn audio_config(&self) -> Option<AudioConfig> {
        (self.audio_rate > 0).then(|| AudioConfig {
            sample_rate: self.audio_rate,
            ..audio_config()
        })
    }

    /// Frames covering `[from, from + seconds)` of stream time (90 kHz
    /// ticks), interleaved by decode time, video first on ties.
    pub fn frames(&self, from: i64, seconds: f64) -> Vec<MediaFrame> {
        let end = from + (seconds * 90_000.0) as i64;
        let mut frames = Vec::new();
        if self.fps > 0 {
            let period = 90_000.0 / f64::from(self.fps);
            for i in 0.. {
                let dts = from + self.round(i as f64 * period);
                if dts >= end {
                    break;
                }
                frames.push(MediaFrame {
                    track: TrackKind::Video,
                    dts,
                    pts: dts,
                    keyframe: i % i64::from(self.gop) == 0,
                    data: Bytes::from(vec![0x65; self.video_bytes]),
                });
            }
        }
        if self.audio_rate > 0 {
            let period = 1024.0 * 90_000.0 / f64::from(self.audio_rate);
            for i in 0.. {
                let dts = from + self.round(i as f64 * period);
                if dts >= end {
                    break;
                }
                frames.push(MediaFrame {
                    track: TrackKind::Audio,
                    dts,
                    pts: dts,
                    keyframe: true,
                    data: Bytes::from_static(&[0x21, 0x10, 0x04]),
                });
            }
        }
        frames.sort_by_key(|f| (f.dts, f.track == TrackKind::Audio));
        frames
    }

    fn round(&self, ticks: f64) -> i64 {
        if self.rtmp_ms {
            (ticks / 90.0).round() as i64 * 90
        } else {
            ticks.round() as i64
        }
    }

    pub fn packager(&self, config: &PackagerConfig) -> Packager {
        Packager::new(config, self.video_config(), self.audio_config()).unwrap()
    }
}

/// Pushes frames, checking every playlist version and every pair of
/// successive versions; returns the last report.
pub fn feed_checked(
    packager: &mut Packager,
    frames: impl IntoIterator<Item = MediaFrame>,
    mut previous: Option<PlaylistReport>,
) -> Option<PlaylistReport> {
    for frame in frames {
        let progress = packager.push(frame).unwrap();
        if progress.is_empty() {
            continue;
        }
        previous = Some(check_now(packager, previous.as_ref()));
    }
    previous
}

/// Checks the current playlist, and against `previous` if given.
pub fn check_now(packager: &Packager, previous: Option<&PlaylistReport>) -> PlaylistReport {
    let text = media_playlist(packager.timeline());
    let report =
        check_media_playlist(&text).unwrap_or_else(|v| panic!("violations {v:#?} in\n{text}"));
    if let Some(previous) = previous {
        check_continuity(previous, &report)
            .unwrap_or_else(|v| panic!("continuity violations {v:#?} in\n{text}"));
    }
    report
}
