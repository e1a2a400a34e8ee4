//! Behaviour of the live packager: where it cuts, what it keeps, how it
//! handles reconnects and bad input.

mod fmp4_support;
mod hls_support;

use std::time::Duration;

use avrs_media::hls::{
    Lookup, Packager, PackagerConfig, Resource, check_media_playlist, media_playlist,
};
use avrs_media::{MediaError, MediaFrame, TrackKind};
use bytes::Bytes;
use fmp4_support::{audio, trafs, video};
use hls_support::{Shape, check_now, feed_checked};

fn seconds(ticks: u64) -> f64 {
    ticks as f64 / 90_000.0
}

#[test]
fn segments_start_at_keyframes_once_the_target_is_reached() {
    // Keyframes every second, segment target 2 s.
    let shape = Shape {
        gop: 30,
        ..Shape::AV
    };
    let mut packager = shape.packager(&PackagerConfig::default());
    feed_checked(&mut packager, shape.frames(0, 7.0), None);
    let timeline = packager.timeline();
    assert_eq!(timeline.segments().len(), 3);
    let mut start = 0;
    for segment in timeline.segments() {
        assert!(segment.independent());
        assert_eq!(segment.duration, 180_000);
        // Parts of exactly 0.5 s: the keyframe at each odd second opens one.
        for part in &segment.parts {
            assert_eq!(part.duration, 45_000);
            assert_eq!(part.independent, start % 90_000 == 0, "part at {start}");
            start += part.duration;
        }
    }
}

#[test]
fn a_keyframe_inside_a_segment_opens_a_part_when_the_part_may_end() {
    // Exact 30 fps, keyframes every 29 frames (0.967 s): the part before the
    // keyframe lasts 0.467 s, over 85 % of 0.5 s, so it ends there. The
    // segment (target 1.5 s) ends at the keyframe at 1.933 s.
    let shape = Shape {
        gop: 29,
        rtmp_ms: false,
        audio_rate: 0,
        ..Shape::AV
    };
    let config = PackagerConfig {
        segment_target: Duration::from_millis(1500),
        ..PackagerConfig::default()
    };
    let mut packager = shape.packager(&config);
    feed_checked(&mut packager, shape.frames(0, 2.5), None);
    let segment = &packager.timeline().segments()[0];
    let durations: Vec<u64> = segment.parts.iter().map(|p| p.duration).collect();
    assert_eq!(durations, [45_000, 42_000, 45_000, 42_000]);
    let independent: Vec<bool> = segment.parts.iter().map(|p| p.independent).collect();
    assert_eq!(independent, [true, false, true, false]);
    // The keyframe at frame 29 opens the third part.
    let first = &trafs(&segment.parts[2].data)[0];
    assert_eq!(first.base_decode_time, 29 * 3000);
    assert_eq!(first.samples[0].flags, avrs_media::fmp4::SYNC_SAMPLE_FLAGS);
}

#[test]
fn parts_stay_between_85_and_100_percent_of_the_target() {
    let mut packager = Shape::AV.packager(&PackagerConfig::default());
    feed_checked(&mut packager, Shape::AV.frames(0, 10.0), None);
    let timeline = packager.timeline();
    for segment in timeline.segments() {
        let (last, rest) = segment.parts.split_last().unwrap();
        assert!(last.duration <= 45_000);
        for part in rest {
            assert!(
                (38_250..=45_000).contains(&part.duration),
                "{}",
                part.duration
            );
        }
    }
}

#[test]
fn a_segment_is_its_parts_back_to_back() {
    let mut packager = Shape::AV.packager(&PackagerConfig::default());
    feed_checked(&mut packager, Shape::AV.frames(0, 5.0), None);
    let timeline = packager.timeline();
    let segment = &timeline.segments()[0];
    let Lookup::Ready(body) = timeline.lookup(Resource::Segment(segment.msn)) else {
        panic!("segment not served");
    };
    assert_eq!(
        body,
        segment
            .parts
            .iter()
            .map(|p| p.data.clone())
            .collect::<Vec<_>>()
    );
    assert_eq!(body.concat().len(), segment.size());
    // Each part is a CMAF fragment carrying both tracks.
    for part in &segment.parts {
        assert_eq!(&part.data[4..8], b"moof");
        assert_eq!(trafs(&part.data).len(), 2);
    }
}

#[test]
fn fragment_decode_times_follow_each_other() {
    let mut packager = Shape::AV.packager(&PackagerConfig::default());
    feed_checked(&mut packager, Shape::AV.frames(0, 5.0), None);
    let mut expected = [None, None];
    for segment in packager.timeline().segments() {
        for part in &segment.parts {
            for traf in trafs(&part.data) {
                let slot = traf.track_id as usize - 1;
                if let Some(time) = expected[slot] {
                    assert_eq!(traf.base_decode_time, time, "track {}", traf.track_id);
                }
                let total: u64 = traf.samples.iter().map(|s| u64::from(s.duration)).sum();
                expected[slot] = Some(traf.base_decode_time + total);
            }
        }
    }
    assert!(expected.iter().all(Option::is_some));
}

#[test]
fn long_groups_are_cut_before_they_round_above_the_target_duration() {
    // Keyframes every 4 s but a target duration of 2 s.
    let shape = Shape {
        gop: 120,
        ..Shape::AV
    };
    let mut packager = shape.packager(&PackagerConfig::default());
    feed_checked(&mut packager, shape.frames(0, 9.0), None);
    let timeline = packager.timeline();
    assert!(timeline.segments().len() >= 3);
    for segment in timeline.segments() {
        assert!(segment.duration < 225_000, "{}", segment.duration);
    }
    assert!(timeline.segments().iter().any(|s| !s.independent()));
}

#[test]
fn audio_only_streams_cut_on_any_frame_and_every_part_is_independent() {
    let shape = Shape {
        fps: 0,
        ..Shape::AV
    };
    let mut packager = shape.packager(&PackagerConfig::default());
    feed_checked(&mut packager, shape.frames(0, 6.0), None);
    let timeline = packager.timeline();
    assert_eq!(timeline.segments().len(), 2);
    for segment in timeline.segments() {
        assert!((seconds(segment.duration) - 2.0).abs() < 0.03);
        assert!(segment.parts.iter().all(|p| p.independent));
        assert_eq!(trafs(&segment.parts[0].data)[0].track_id, 1);
    }
    assert_eq!(packager.codecs(), ["mp4a.40.2"]);
    assert_eq!(packager.resolution(), None);
}

#[test]
fn video_only_streams_work() {
    let shape = Shape {
        audio_rate: 0,
        ..Shape::AV
    };
    let mut packager = shape.packager(&PackagerConfig::default());
    feed_checked(&mut packager, shape.frames(0, 5.0), None);
    assert_eq!(packager.timeline().segments().len(), 2);
    assert_eq!(packager.codecs(), ["avc1.64001F"]);
    assert_eq!(packager.resolution(), Some((640, 360)));
}

#[test]
fn frames_before_the_first_keyframe_are_dropped() {
    let mut packager = Shape::AV.packager(&PackagerConfig::default());
    for frame in [
        video(0, 0, false, b"p"),
        audio(900, b"a"),
        video(3000, 3000, false, b"p"),
    ] {
        assert!(packager.push(frame).unwrap().is_empty());
    }
    // The keyframe starts the stream; audio from before it stays out.
    packager.push(video(6000, 6000, true, b"I")).unwrap();
    packager.push(audio(5000, b"a")).unwrap();
    packager.push(audio(7000, b"b")).unwrap();
    packager.finish().unwrap();
    let segment = &packager.timeline().segments()[0];
    let trafs = trafs(&segment.parts[0].data);
    assert_eq!(
        trafs[0].base_decode_time, 0,
        "output time starts at the keyframe"
    );
    assert_eq!(trafs[0].samples.len(), 1);
    assert_eq!(
        trafs[1].samples.len(),
        1,
        "only the audio frame after the keyframe"
    );
}

#[test]
fn progress_reports_new_parts_and_segments() {
    let shape = Shape {
        audio_rate: 0,
        gop: 30,
        ..Shape::AV
    };
    let mut packager = shape.packager(&PackagerConfig::default());
    let mut totals = (0, 0);
    for frame in shape.frames(0, 4.5) {
        let progress = packager.push(frame).unwrap();
        totals.0 += progress.parts;
        totals.1 += progress.segments;
    }
    let timeline = packager.timeline();
    assert_eq!(totals.0, timeline.next_part_number());
    assert_eq!(totals.1, timeline.segments().len() as u64);
    let last = packager.finish().unwrap();
    assert_eq!(last.segments, 1);
    assert!(last.parts >= 1);
}

#[test]
fn a_clock_jump_starts_a_new_period_after_a_discontinuity() {
    let shape = Shape {
        gop: 30,
        ..Shape::AV
    };
    let mut packager = shape.packager(&PackagerConfig::default());
    let report = feed_checked(&mut packager, shape.frames(1_000_000, 3.0), None);
    // The publisher restarts its clock at 0 without telling.
    let report = feed_checked(&mut packager, shape.frames(0, 3.0), report).unwrap();
    let timeline = packager.timeline();
    let flagged: Vec<_> = timeline
        .segments()
        .iter()
        .filter(|s| s.discontinuity)
        .collect();
    assert_eq!(flagged.len(), 1);
    assert_eq!(
        report.segments.iter().filter(|s| s.discontinuity).count(),
        1
    );
    // The output timeline runs on: the new period starts where the old ended.
    let before = &timeline.segments()[flagged[0].msn as usize - 1];
    let start: u64 = timeline
        .segments()
        .iter()
        .take_while(|s| s.msn < flagged[0].msn)
        .map(|s| s.duration)
        .sum();
    let first_video = trafs(&flagged[0].parts[0].data)[0].base_decode_time;
    assert_eq!(first_video, start, "after {before:?}");
}

#[test]
fn a_new_configuration_brings_a_new_init_segment() {
    let shape = Shape {
        gop: 30,
        ..Shape::AV
    };
    let mut packager = shape.packager(&PackagerConfig::default());
    let report = feed_checked(&mut packager, shape.frames(0, 3.0), None);
    let mut wider = shape.video_config().unwrap();
    wider.width = 1280;
    wider.height = 720;
    packager
        .discontinuity(Some(wider), shape.audio_config())
        .unwrap();
    assert_eq!(packager.init_id(), 1);
    assert_eq!(packager.resolution(), Some((1280, 720)));
    let report = feed_checked(&mut packager, shape.frames(0, 3.0), report).unwrap();
    let maps: Vec<_> = report
        .segments
        .iter()
        .map(|s| s.map_uri.clone().unwrap())
        .collect();
    assert!(maps.contains(&"init0.mp4".to_string()));
    assert!(maps.contains(&"init1.mp4".to_string()));
    let timeline = packager.timeline();
    let Lookup::Ready(init) = timeline.lookup(Resource::Init(1)) else {
        panic!("init1 not served");
    };
    assert_eq!(init.concat(), packager.init_segment().to_vec());
    // The same configuration again keeps the init segment.
    packager
        .discontinuity(
            shape.video_config().map(|mut v| {
                v.width = 1280;
                v.height = 720;
                v
            }),
            shape.audio_config(),
        )
        .unwrap();
    assert_eq!(packager.init_id(), 1);
}

#[test]
fn discontinuity_before_any_media_marks_nothing() {
    let mut packager = Shape::AV.packager(&PackagerConfig::default());
    packager
        .discontinuity(Shape::AV.video_config(), Shape::AV.audio_config())
        .unwrap();
    feed_checked(&mut packager, Shape::AV.frames(0, 3.0), None);
    assert!(
        packager
            .timeline()
            .segments()
            .iter()
            .all(|s| !s.discontinuity)
    );
    assert_eq!(packager.timeline().discontinuity_sequence(), 0);
}

#[test]
fn the_window_slides_and_memory_stays_bounded() {
    let config = PackagerConfig {
        window: 4,
        ..PackagerConfig::default()
    };
    let shape = Shape {
        video_bytes: 1000,
        ..Shape::AV
    };
    let mut packager = shape.packager(&config);
    let mut report = None;
    let mut peak = 0;
    for minute in 0..2 {
        report = feed_checked(
            &mut packager,
            shape.frames(minute * 60 * 90_000, 60.0),
            report,
        );
        peak = peak.max(packager.timeline().held_bytes());
    }
    let timeline = packager.timeline();
    assert_eq!(timeline.segments().len(), 4);
    // 59 segments completed in 2 minutes (the 60th is open); 4 kept.
    assert_eq!(timeline.media_sequence(), 59 - 4);
    // Four 2 s segments of ~30 kB/s video, plus the open one.
    assert!(peak < 6 * 2 * 35_000, "{peak}");
    assert!(timeline.segment(0).is_none());
    assert_eq!(timeline.lookup(Resource::Part(0)), Lookup::NotFound);
}

#[test]
fn parts_are_cut_early_when_they_grow_heavy() {
    let config = PackagerConfig {
        max_part_bytes: 64 * 1024,
        max_segment_bytes: 200 * 1024,
        ..PackagerConfig::default()
    };
    let shape = Shape {
        video_bytes: 20_000,
        audio_rate: 0,
        gop: 600,
        ..Shape::AV
    };
    let mut packager = shape.packager(&config);
    for frame in shape.frames(0, 3.0) {
        packager.push(frame).unwrap();
    }
    let timeline = packager.timeline();
    let parts: Vec<_> = timeline.segments().iter().flat_map(|s| &s.parts).collect();
    assert!(
        parts
            .iter()
            .all(|p| p.data.len() < 64 * 1024 + 20_000 + 1024)
    );
    assert!(
        timeline
            .segments()
            .iter()
            .all(|s| s.size() < 200 * 1024 + 64 * 1024 + 21_000)
    );
    assert!(timeline.segments().len() >= 2);
}

#[test]
fn followers_cannot_pile_up_while_the_video_stalls() {
    let config = PackagerConfig {
        max_part_bytes: 64 * 1024,
        ..PackagerConfig::default()
    };
    let mut packager = Shape::AV.packager(&config);
    packager.push(video(0, 0, true, b"I")).unwrap();
    let big = Bytes::from(vec![0; 8 * 1024]);
    let mut refused = None;
    for i in 0..40 {
        let frame = MediaFrame {
            data: big.clone(),
            ..audio(i * 1920, b"")
        };
        if let Err(error) = packager.push(frame) {
            refused = Some((i, error));
            break;
        }
    }
    let (index, error) = refused.expect("audio refused once the buffer is full");
    assert!(matches!(error, MediaError::TooLarge { .. }));
    assert_eq!(index, 16, "128 KiB waiting at most");
}

#[test]
fn bad_frames_are_refused_without_harm() {
    let video_only = Shape {
        audio_rate: 0,
        ..Shape::AV
    };
    let mut packager = video_only.packager(&PackagerConfig::default());
    assert_eq!(
        packager.push(audio(0, b"a")).unwrap_err(),
        MediaError::MissingConfig {
            what: "audio frame"
        }
    );
    packager.push(video(9000, 9000, true, b"I")).unwrap();
    let refuse = |p: &mut Packager, f: MediaFrame| {
        assert!(matches!(p.push(f), Err(MediaError::Malformed { .. })));
    };
    refuse(&mut packager, video(9000, 9000, false, b"same time"));
    refuse(&mut packager, video(6000, 6000, false, b"back in time"));
    refuse(
        &mut packager,
        video(12_000, 12_000 + 10 * 90_000 + 1, false, b"pts far away"),
    );
    refuse(
        &mut packager,
        video(1 << 53, 1 << 53, false, b"out of range"),
    );
    refuse(&mut packager, video(i64::MIN, 0, false, b"out of range"));
    refuse(
        &mut packager,
        video(12_000, i64::MAX, false, b"out of range"),
    );
    let huge = MediaFrame {
        data: Bytes::from(vec![0; 16 * 1024 * 1024 + 1]),
        ..video(12_000, 12_000, false, b"")
    };
    assert!(matches!(
        packager.push(huge),
        Err(MediaError::TooLarge { .. })
    ));
    // Nothing of that reached the stream.
    packager.push(video(12_000, 12_000, false, b"P")).unwrap();
    packager.finish().unwrap();
    let samples = &trafs(&packager.timeline().segments()[0].parts[0].data)[0].samples;
    assert_eq!(samples.len(), 2);
    assert_eq!(samples[0].duration, 3000);
}

#[test]
fn audio_far_from_the_video_is_refused() {
    let mut packager = Shape::AV.packager(&PackagerConfig::default());
    packager.push(video(0, 0, true, b"I")).unwrap();
    let far = audio(11 * 90_000, b"a");
    assert!(matches!(
        packager.push(far),
        Err(MediaError::Malformed { .. })
    ));
    packager.push(audio(900, b"a")).unwrap();
}

#[test]
fn a_finished_stream_takes_nothing_more() {
    let mut packager = Shape::AV.packager(&PackagerConfig::default());
    feed_checked(&mut packager, Shape::AV.frames(0, 1.0), None);
    packager.finish().unwrap();
    let text = media_playlist(packager.timeline());
    let report = check_media_playlist(&text).unwrap();
    assert!(report.ended && report.preload_hints.is_empty());
    assert!(report.segments.len() == 1 && report.open_parts.is_empty());
    assert!(packager.push(video(90_000, 90_000, true, b"I")).is_err());
    assert!(packager.finish().is_err());
    assert!(
        packager
            .discontinuity(None, Shape::AV.audio_config())
            .is_err()
    );
}

#[test]
fn new_checks_configurations() {
    let config = PackagerConfig {
        window: 0,
        ..PackagerConfig::default()
    };
    assert!(matches!(
        Packager::new(&config, Shape::AV.video_config(), None),
        Err(MediaError::Unsupported { .. })
    ));
    assert!(matches!(
        Packager::new(&PackagerConfig::default(), None, None),
        Err(MediaError::MissingConfig { .. })
    ));
    let mut packager = Shape::AV.packager(&PackagerConfig::default());
    assert!(packager.discontinuity(None, None).is_err());
    // The failed discontinuity changed nothing.
    feed_checked(&mut packager, Shape::AV.frames(0, 3.0), None);
    assert_eq!(packager.timeline().discontinuity_sequence(), 0);
    assert!(
        packager
            .timeline()
            .segments()
            .iter()
            .all(|s| !s.discontinuity)
    );
}

#[test]
fn a_short_part_target_and_a_long_segment_target() {
    let config = PackagerConfig {
        part_target: Duration::from_millis(334),
        segment_target: Duration::from_secs(4),
        ..PackagerConfig::default()
    };
    let shape = Shape {
        gop: 60,
        ..Shape::AV
    };
    let mut packager = shape.packager(&config);
    let report = feed_checked(&mut packager, shape.frames(0, 13.0), None).unwrap();
    assert_eq!(report.target_duration, Some(4));
    assert_eq!(report.part_target, Some(0.33400));
    assert!(
        packager
            .timeline()
            .segments()
            .iter()
            .all(|s| (seconds(s.duration) - 4.0).abs() < 0.01)
    );
    let _ = check_now(&packager, Some(&report));
    let _ = TrackKind::Video;
}
