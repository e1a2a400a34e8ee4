//! Blocking playlist reload decisions (RFC 8216bis §6.2.5.2).

mod fmp4_support;
mod hls_support;

use std::time::Duration;

use avrs_media::MediaError;
use avrs_media::hls::{
    PackagerConfig, ReloadDecision, ReloadRequest, is_ready, parse_reload_query, reload_decision,
};
use hls_support::Shape;

fn request(msn: u64, part: Option<u64>) -> ReloadRequest {
    ReloadRequest { msn, part }
}

#[test]
fn parses_delivery_directives() {
    assert_eq!(parse_reload_query(""), Ok(None));
    assert_eq!(parse_reload_query("token=abc"), Ok(None));
    assert_eq!(
        parse_reload_query("_HLS_msn=12"),
        Ok(Some(request(12, None)))
    );
    assert_eq!(
        parse_reload_query("a=1&_HLS_part=3&_HLS_msn=12&_HLS_skip=YES"),
        Ok(Some(request(12, Some(3))))
    );
    for bad in [
        "_HLS_part=3",
        "_HLS_msn=",
        "_HLS_msn",
        "_HLS_msn=-1",
        "_HLS_msn=1.5",
        "_HLS_msn=18446744073709551616",
        "_HLS_msn=1&_HLS_msn=2",
        "_HLS_msn=1&_HLS_part=x",
    ] {
        assert!(
            matches!(parse_reload_query(bad), Err(MediaError::Malformed { .. })),
            "{bad}"
        );
    }
}

/// A timeline with segments 0 and 1 complete (4 parts of 0.5 s each) and
/// two parts of segment 2.
fn packager() -> avrs_media::hls::Packager {
    let shape = Shape {
        gop: 60,
        audio_rate: 0,
        rtmp_ms: false,
        ..Shape::AV
    };
    let mut packager = shape.packager(&PackagerConfig::default());
    for frame in shape.frames(0, 5.1) {
        packager.push(frame).unwrap();
    }
    let timeline = packager.timeline();
    assert_eq!(timeline.last_segment_msn(), Some(1));
    assert_eq!(timeline.last_part(), Some((2, 1)));
    packager
}

#[test]
fn segment_requests_wait_for_the_segment() {
    let packager = packager();
    let timeline = packager.timeline();
    assert_eq!(
        reload_decision(timeline, request(0, None)),
        ReloadDecision::Ready
    );
    assert_eq!(
        reload_decision(timeline, request(1, None)),
        ReloadDecision::Ready
    );
    assert_eq!(
        reload_decision(timeline, request(2, None)),
        ReloadDecision::Wait
    );
    assert_eq!(
        reload_decision(timeline, request(3, None)),
        ReloadDecision::Wait
    );
    // More than two past the last completed segment (1).
    assert_eq!(
        reload_decision(timeline, request(4, None)),
        ReloadDecision::TooFar
    );
}

#[test]
fn part_requests_wait_for_that_part_or_a_later_one() {
    let packager = packager();
    let timeline = packager.timeline();
    assert!(is_ready(timeline, 2, Some(0)));
    assert!(is_ready(timeline, 2, Some(1)));
    assert!(!is_ready(timeline, 2, Some(2)));
    assert!(is_ready(timeline, 1, Some(3)));
    // Segment 1 has 4 parts: its part 4 means part 0 of segment 2, here.
    assert!(is_ready(timeline, 1, Some(4)));
    assert!(is_ready(timeline, 1, Some(400)));
    assert!(is_ready(timeline, 0, Some(9)));
}

#[test]
fn a_part_past_a_complete_segment_waits_for_the_next_segment() {
    let shape = Shape {
        gop: 60,
        audio_rate: 0,
        rtmp_ms: false,
        ..Shape::AV
    };
    let mut packager = shape.packager(&PackagerConfig::default());
    // Stop right after the keyframe at 2 s closed segment 0.
    for frame in shape.frames(0, 2.01) {
        packager.push(frame).unwrap();
    }
    let timeline = packager.timeline();
    assert_eq!(timeline.last_part(), Some((0, 3)));
    assert!(timeline.open().parts.is_empty());
    assert!(
        !is_ready(timeline, 0, Some(4)),
        "part 0 of segment 1 is not out yet"
    );
    assert!(is_ready(timeline, 0, Some(3)));
    assert!(!is_ready(timeline, 1, Some(0)));
}

#[test]
fn the_advance_part_limit_scales_with_the_part_target() {
    let packager = packager();
    let timeline = packager.timeline();
    // PART-TARGET 0.5 s: the limit is 3 / 0.5 = 6 parts past the last (2.1).
    assert_eq!(
        reload_decision(timeline, request(2, Some(7))),
        ReloadDecision::Wait
    );
    assert_eq!(
        reload_decision(timeline, request(2, Some(8))),
        ReloadDecision::TooFar
    );
    // A later segment's part counts from its part 0.
    assert_eq!(
        reload_decision(timeline, request(3, Some(5))),
        ReloadDecision::Wait
    );
    assert_eq!(
        reload_decision(timeline, request(3, Some(6))),
        ReloadDecision::TooFar
    );

    // With one-second parts the limit is 3 parts.
    let config = PackagerConfig {
        part_target: Duration::from_secs(1),
        ..PackagerConfig::default()
    };
    let shape = Shape {
        gop: 60,
        audio_rate: 0,
        rtmp_ms: false,
        ..Shape::AV
    };
    let mut packager = shape.packager(&config);
    for frame in shape.frames(0, 1.1) {
        packager.push(frame).unwrap();
    }
    let timeline = packager.timeline();
    assert_eq!(timeline.last_part(), Some((0, 0)));
    assert_eq!(
        reload_decision(timeline, request(0, Some(3))),
        ReloadDecision::Wait
    );
    assert_eq!(
        reload_decision(timeline, request(0, Some(4))),
        ReloadDecision::TooFar
    );
}

#[test]
fn before_anything_is_published() {
    let packager = Shape::AV.packager(&PackagerConfig::default());
    let timeline = packager.timeline();
    assert_eq!(
        reload_decision(timeline, request(0, None)),
        ReloadDecision::Wait
    );
    assert_eq!(
        reload_decision(timeline, request(0, Some(0))),
        ReloadDecision::Wait
    );
    assert_eq!(
        reload_decision(timeline, request(1, None)),
        ReloadDecision::Wait
    );
    assert_eq!(
        reload_decision(timeline, request(2, None)),
        ReloadDecision::TooFar
    );
}

#[test]
fn an_ended_playlist_answers_everything_at_once() {
    let mut packager = packager();
    packager.finish().unwrap();
    let timeline = packager.timeline();
    for (msn, part) in [(0, None), (3, Some(0)), (1_000, None), (2, Some(1_000))] {
        assert_eq!(
            reload_decision(timeline, request(msn, part)),
            ReloadDecision::Ready
        );
    }
}
