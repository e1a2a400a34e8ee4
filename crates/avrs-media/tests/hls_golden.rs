//! Golden playlists for a fixed sequence of frames.

mod fmp4_support;
mod hls_support;

use std::time::Duration;

use avrs_media::hls::{
    PackagerConfig, Variant, VodSegment, check_media_playlist, media_playlist,
    multivariant_playlist, plain_media_playlist, vod_playlist,
};
use hls_support::Shape;

/// 25 fps video with a keyframe every 2 s and 48 kHz audio, both on exact
/// 90 kHz times; parts of 0.4 s are exactly 10 frames.
const SHAPE: Shape = Shape {
    fps: 25,
    gop: 50,
    audio_rate: 48_000,
    rtmp_ms: false,
    video_bytes: 16,
};

fn config() -> PackagerConfig {
    PackagerConfig {
        part_target: Duration::from_millis(400),
        window: 3,
        ..PackagerConfig::default()
    }
}

const LIVE: &str = "\
#EXTM3U
#EXT-X-VERSION:6
#EXT-X-TARGETDURATION:2
#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.20000
#EXT-X-PART-INF:PART-TARGET=0.40000
#EXT-X-MEDIA-SEQUENCE:0
#EXT-X-DISCONTINUITY-SEQUENCE:0
#EXT-X-MAP:URI=\"init0.mp4\"
#EXT-X-PART:DURATION=0.40000,URI=\"part0.m4s\",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.40000,URI=\"part1.m4s\"
#EXT-X-PART:DURATION=0.40000,URI=\"part2.m4s\"
#EXT-X-PART:DURATION=0.40000,URI=\"part3.m4s\"
#EXT-X-PART:DURATION=0.40000,URI=\"part4.m4s\"
#EXTINF:2.00000,
seg0.m4s
#EXT-X-PART:DURATION=0.40000,URI=\"part5.m4s\",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.40000,URI=\"part6.m4s\"
#EXT-X-PART:DURATION=0.40000,URI=\"part7.m4s\"
#EXT-X-PART:DURATION=0.40000,URI=\"part8.m4s\"
#EXT-X-PART:DURATION=0.40000,URI=\"part9.m4s\"
#EXTINF:2.00000,
seg1.m4s
#EXT-X-DISCONTINUITY
#EXT-X-PART:DURATION=0.40000,URI=\"part10.m4s\",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.40000,URI=\"part11.m4s\"
#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part12.m4s\"
";

const PLAIN: &str = "\
#EXTM3U
#EXT-X-VERSION:6
#EXT-X-TARGETDURATION:2
#EXT-X-MEDIA-SEQUENCE:0
#EXT-X-DISCONTINUITY-SEQUENCE:0
#EXT-X-MAP:URI=\"init0.mp4\"
#EXTINF:2.00000,
seg0.m4s
#EXTINF:2.00000,
seg1.m4s
";

const ENDED: &str = "\
#EXTM3U
#EXT-X-VERSION:6
#EXT-X-TARGETDURATION:2
#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.20000
#EXT-X-PART-INF:PART-TARGET=0.40000
#EXT-X-MEDIA-SEQUENCE:0
#EXT-X-DISCONTINUITY-SEQUENCE:0
#EXT-X-MAP:URI=\"init0.mp4\"
#EXT-X-PART:DURATION=0.40000,URI=\"part0.m4s\",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.40000,URI=\"part1.m4s\"
#EXT-X-PART:DURATION=0.40000,URI=\"part2.m4s\"
#EXT-X-PART:DURATION=0.40000,URI=\"part3.m4s\"
#EXT-X-PART:DURATION=0.40000,URI=\"part4.m4s\"
#EXTINF:2.00000,
seg0.m4s
#EXT-X-PART:DURATION=0.40000,URI=\"part5.m4s\",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.40000,URI=\"part6.m4s\"
#EXT-X-PART:DURATION=0.40000,URI=\"part7.m4s\"
#EXT-X-PART:DURATION=0.40000,URI=\"part8.m4s\"
#EXT-X-PART:DURATION=0.40000,URI=\"part9.m4s\"
#EXTINF:2.00000,
seg1.m4s
#EXT-X-DISCONTINUITY
#EXT-X-PART:DURATION=0.40000,URI=\"part10.m4s\",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.40000,URI=\"part11.m4s\"
#EXT-X-PART:DURATION=0.40000,URI=\"part12.m4s\"
#EXTINF:1.20000,
seg2.m4s
#EXT-X-ENDLIST
";

#[test]
fn live_playlist_with_a_reconnect() {
    let mut packager = SHAPE.packager(&config());
    for frame in SHAPE.frames(0, 4.0) {
        packager.push(frame).unwrap();
    }
    // The publisher reconnects with its clock back at 0.
    packager
        .discontinuity(SHAPE.video_config(), SHAPE.audio_config())
        .unwrap();
    for frame in SHAPE.frames(0, 1.2) {
        packager.push(frame).unwrap();
    }
    let live = media_playlist(packager.timeline());
    assert_eq!(live, LIVE);
    assert_eq!(plain_media_playlist(packager.timeline()), PLAIN);
    check_media_playlist(LIVE).unwrap();
    check_media_playlist(PLAIN).unwrap();

    packager.finish().unwrap();
    let ended = media_playlist(packager.timeline());
    assert_eq!(ended, ENDED);
    check_media_playlist(ENDED).unwrap();
}

#[test]
fn vod_playlist_lists_every_segment_and_changes_map_after_a_discontinuity() {
    let segments = [
        VodSegment {
            uri: "a/seg0.m4s".into(),
            duration: 180_000,
            discontinuity: false,
            init_uri: "a/init0.mp4".into(),
        },
        VodSegment {
            uri: "a/seg1.m4s".into(),
            duration: 135_000,
            discontinuity: false,
            init_uri: "a/init0.mp4".into(),
        },
        VodSegment {
            uri: "b/seg0.m4s".into(),
            duration: 224_999,
            discontinuity: true,
            init_uri: "b/init0.mp4".into(),
        },
    ];
    let text = vod_playlist(&segments).unwrap();
    assert_eq!(
        text,
        "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:2\n#EXT-X-PLAYLIST-TYPE:VOD\n\
         #EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-MAP:URI=\"a/init0.mp4\"\n#EXTINF:2.00000,\na/seg0.m4s\n\
         #EXTINF:1.50000,\na/seg1.m4s\n#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI=\"b/init0.mp4\"\n\
         #EXTINF:2.49999,\nb/seg0.m4s\n#EXT-X-ENDLIST\n"
    );
    let report = check_media_playlist(&text).unwrap();
    assert_eq!(report.segments.len(), 3);
    assert_eq!(report.segments[2].discontinuity_number, 1);
    assert_eq!(report.segments[2].map_uri.as_deref(), Some("b/init0.mp4"));
}

#[test]
fn multivariant_playlist_text() {
    let variants = [
        Variant {
            uri: "hi/index.m3u8".into(),
            bandwidth: 2_500_000,
            average_bandwidth: Some(2_000_000),
            codecs: vec!["avc1.64001F".into(), "mp4a.40.2".into()],
            resolution: Some((1280, 720)),
            frame_rate: Some(30.0),
        },
        Variant {
            uri: "audio/index.m3u8".into(),
            bandwidth: 96_000,
            average_bandwidth: None,
            codecs: vec!["mp4a.40.2".into()],
            resolution: None,
            frame_rate: None,
        },
    ];
    assert_eq!(
        multivariant_playlist(&variants).unwrap(),
        "#EXTM3U\n\
         #EXT-X-STREAM-INF:BANDWIDTH=2500000,AVERAGE-BANDWIDTH=2000000,CODECS=\"avc1.64001F,mp4a.40.2\",RESOLUTION=1280x720,FRAME-RATE=30.000\n\
         hi/index.m3u8\n\
         #EXT-X-STREAM-INF:BANDWIDTH=96000,CODECS=\"mp4a.40.2\"\n\
         audio/index.m3u8\n"
    );
}
