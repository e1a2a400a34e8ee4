//! Property tests: random streams through the packager always give
//! playlists that pass the checker, version after version, with bounded
//! memory and no frame lost; and no text makes the checker panic.

mod fmp4_support;
mod hls_support;

use std::time::Duration;

use avrs_media::hls::{
    Lookup, Packager, PackagerConfig, Resource, check_media_playlist, inspect_media_playlist,
    is_ready, plain_media_playlist,
};
use avrs_media::{MediaFrame, TrackKind};
use bytes::Bytes;
use fmp4_support::trafs;
use hls_support::{Shape, check_now};
use proptest::prelude::*;

/// How a stretch of the stream ends.
#[derive(Debug, Clone, Copy)]
enum Break {
    /// The publisher reconnects and says so.
    Announced,
    /// Its clock jumps without notice.
    Silent,
}

#[derive(Debug, Clone)]
struct Stretch {
    /// Video frame durations in ms (15..=45, so frames stay under 15 % of
    /// a 334 ms part target and parts can honour the 85 % floor).
    video_ms: Vec<u32>,
    /// Keyframe every this many frames.
    gop: usize,
    /// Whether the stretch starts on a keyframe.
    starts_on_key: bool,
    end: Break,
}

#[derive(Debug, Clone)]
struct Stream {
    video: bool,
    audio_rate: u32,
    frame_bytes: usize,
    stretches: Vec<Stretch>,
    config: PackagerConfig,
}

fn stretch() -> impl Strategy<Value = Stretch> {
    (
        prop::collection::vec(15u32..=45, 1..400),
        1usize..150,
        prop::bool::weighted(0.8),
        prop::bool::ANY,
    )
        .prop_map(|(video_ms, gop, starts_on_key, silent)| Stretch {
            video_ms,
            gop,
            starts_on_key,
            end: if silent {
                Break::Silent
            } else {
                Break::Announced
            },
        })
}

fn config() -> impl Strategy<Value = PackagerConfig> {
    (
        prop::sample::select(vec![334u64, 500, 1000]),
        prop::sample::select(vec![1u64, 2, 4]),
        2usize..8,
    )
        .prop_map(|(part_ms, segment_s, window)| PackagerConfig {
            part_target: Duration::from_millis(part_ms),
            segment_target: Duration::from_secs(segment_s),
            window,
            ..PackagerConfig::default()
        })
}

fn stream() -> impl Strategy<Value = Stream> {
    (
        prop::bool::weighted(0.8),
        prop::sample::select(vec![0u32, 44_100, 48_000]),
        1usize..2000,
        prop::collection::vec(stretch(), 1..4),
        config(),
    )
        .prop_map(
            |(video, audio_rate, frame_bytes, stretches, config)| Stream {
                // At least one track.
                audio_rate: if video {
                    audio_rate
                } else {
                    audio_rate.max(48_000)
                },
                video,
                frame_bytes,
                stretches,
                config,
            },
        )
}

/// The frames of one stretch, from `base` ticks, as RTMP would time them.
fn stretch_frames(stream: &Stream, stretch: &Stretch, base: i64) -> Vec<MediaFrame> {
    let mut frames = Vec::new();
    let mut ms = 0i64;
    for (i, &duration) in stretch.video_ms.iter().enumerate() {
        if stream.video {
            let keyframe = (i + usize::from(!stretch.starts_on_key)) % stretch.gop == 0;
            frames.push(MediaFrame {
                track: TrackKind::Video,
                dts: base + ms * 90,
                pts: base + ms * 90,
                keyframe,
                data: Bytes::from(vec![0x65; stream.frame_bytes]),
            });
        }
        ms += i64::from(duration);
    }
    if stream.audio_rate > 0 {
        let shape = Shape {
            fps: 0,
            gop: 1,
            audio_rate: stream.audio_rate,
            rtmp_ms: true,
            video_bytes: 0,
        };
        frames.extend(shape.frames(base, ms as f64 / 1000.0));
    }
    frames.sort_by_key(|f| (f.dts, f.track == TrackKind::Audio));
    frames
}

/// Video frames the packager must keep: each period's from its first
/// keyframe on.
fn kept_video(frames: &[MediaFrame]) -> u64 {
    let mut started = false;
    frames
        .iter()
        .filter(|f| f.track == TrackKind::Video)
        .filter(|f| {
            started |= f.keyframe;
            started
        })
        .count() as u64
}

/// Counts the video samples (track 1, when there is video) of parts
/// `from..to`.
fn video_samples(packager: &Packager, from: u64, to: u64) -> u64 {
    if !packager.codecs()[0].starts_with("avc1") {
        return 0;
    }
    (from..to)
        .map(|n| {
            let part = packager.timeline().part(n).expect("a new part is listed");
            trafs(&part.data)
                .iter()
                .filter(|t| t.track_id == 1)
                .map(|t| t.samples.len() as u64)
                .sum::<u64>()
        })
        .sum()
}

fn check_blocking_and_hints(packager: &Packager) {
    let timeline = packager.timeline();
    if let Some((msn, part)) = timeline.last_part() {
        assert!(is_ready(timeline, msn, Some(part)));
        assert!(!is_ready(
            timeline,
            timeline.open().msn,
            Some(timeline.open().parts.len() as u64)
        ));
    }
    let next = Resource::Part(timeline.next_part_number());
    assert_eq!(timeline.lookup(next), Lookup::Pending);
}

proptest! {
    #![proptest_config(fmp4_support::proptest_config(96))]

    #[test]
    fn random_streams_give_valid_playlists(stream in stream()) {
        let video = stream.video.then(fmp4_support::video_config);
        let audio = (stream.audio_rate > 0).then(|| avrs_media::AudioConfig {
            sample_rate: stream.audio_rate,
            ..fmp4_support::audio_config()
        });
        let mut packager = Packager::new(&stream.config, video.clone(), audio.clone()).unwrap();
        let window = stream.config.window;
        let mut previous = None;
        let mut base = 0i64;
        let (mut expected_video, mut seen_video) = (0u64, 0u64);
        let mut max_frame_rate_bytes = 0usize;
        for stretch in &stream.stretches {
            let frames = stretch_frames(&stream, stretch, base);
            expected_video += kept_video(&frames);
            max_frame_rate_bytes = max_frame_rate_bytes.max(frames.iter().map(|f| f.data.len()).sum());
            let last_dts = frames.last().map_or(base, |f| f.dts);
            for frame in frames {
                let before = packager.timeline().next_part_number();
                let progress = packager.push(frame).unwrap();
                let after = packager.timeline().next_part_number();
                seen_video += video_samples(&packager, before, after);
                if !progress.is_empty() {
                    previous = Some(check_now(&packager, previous.as_ref()));
                    check_media_playlist(&plain_media_playlist(packager.timeline())).unwrap();
                    check_blocking_and_hints(&packager);
                }
                prop_assert!(packager.timeline().segments().len() <= 2 * window);
            }
            match stretch.end {
                Break::Announced => {
                    let before = packager.timeline().next_part_number();
                    packager.discontinuity(video.clone(), audio.clone()).unwrap();
                    let after = packager.timeline().next_part_number();
                    seen_video += video_samples(&packager, before, after);
                    previous = Some(check_now(&packager, previous.as_ref()));
                    base = 0;
                }
                Break::Silent => base = last_dts + 11 * 90_000,
            }
        }
        let before = packager.timeline().next_part_number();
        packager.finish().unwrap();
        seen_video += video_samples(&packager, before, packager.timeline().next_part_number());
        let report = check_now(&packager, previous.as_ref());
        prop_assert!(report.ended);
        prop_assert_eq!(seen_video, expected_video, "every kept video frame once");
        // Memory: the window (at most twice its size) of segments of at most
        // a stretch's bytes each, plus the open segment and the inits.
        let held = packager.timeline().held_bytes();
        prop_assert!(held <= (2 * window + 2) * (max_frame_rate_bytes + 64 * 1024), "{} bytes held", held);
    }

    #[test]
    fn any_frames_are_taken_or_refused(
        frames in prop::collection::vec(
            (any::<bool>(), any::<i64>(), -3000i64..3000, any::<bool>(), 0usize..64), 0..200),
        small_steps in any::<bool>(),
    ) {
        let mut packager = Shape::AV.packager(&PackagerConfig::default());
        let mut clock = 0i64;
        for (video, time, step, keyframe, size) in frames {
            // Either wild times, or a clock wandering by small steps.
            clock = clock.saturating_add(step);
            let dts = if small_steps { clock } else { time };
            let frame = MediaFrame {
                track: if video { TrackKind::Video } else { TrackKind::Audio },
                dts,
                pts: dts.saturating_add(step),
                keyframe,
                data: Bytes::from(vec![0; size]),
            };
            if packager.push(frame).is_ok_and(|p| !p.is_empty()) {
                check_media_playlist(&avrs_media::hls::media_playlist(packager.timeline())).unwrap();
            }
        }
        packager.finish().unwrap();
        check_media_playlist(&avrs_media::hls::media_playlist(packager.timeline())).unwrap();
    }

    #[test]
    fn the_checker_reads_any_text(text in ".{0,2000}") {
        let _ = inspect_media_playlist(&text);
    }

    #[test]
    fn the_checker_reads_mangled_playlists(
        cuts in prop::collection::vec((0usize..4000, 0usize..40, ".{0,12}"), 0..8)
    ) {
        let shape = Shape::AV;
        let mut packager = shape.packager(&PackagerConfig::default());
        for frame in shape.frames(0, 5.0) {
            packager.push(frame).unwrap();
        }
        let mut text = avrs_media::hls::media_playlist(packager.timeline());
        for (at, len, insert) in cuts {
            let start = text.floor_char_boundary(at.min(text.len()));
            let end = text.floor_char_boundary((start + len).min(text.len()));
            text.replace_range(start..end, &insert);
        }
        let _ = inspect_media_playlist(&text);
    }
}
