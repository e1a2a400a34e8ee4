use super::*;
use crate::flv::{audio_config_tag, frame_tag, stream_head, video_config_tag};
use bytes::Bytes;

#[test]
fn detects_each_container_by_its_first_bytes() {
    assert_eq!(detect(b"FLV\x01\x05"), Some(Container::Flv));
    assert_eq!(detect(b"\0\0\0\x20ftypisom"), Some(Container::Mp4));
    let mut ebml = vec![0x1A, 0x45, 0xDF, 0xA3, 0x9F, 0x42, 0x82, 0x84];
    ebml.extend_from_slice(b"webm");
    assert_eq!(detect(&ebml), Some(Container::WebM));
    ebml.truncate(8);
    ebml.extend_from_slice(b"matroska");
    assert_eq!(detect(&ebml), Some(Container::Matroska));
    let mut ts = vec![0u8; 376];
    ts[0] = 0x47;
    ts[188] = 0x47;
    assert_eq!(detect(&ts), Some(Container::MpegTs));
    assert_eq!(detect(b"hello world"), None);
    assert_eq!(detect(b""), None);
}

#[test]
fn unknown_bytes_are_refused_with_a_reason() {
    let error = demux(b"just some text, not media").unwrap_err();
    assert!(error.to_string().contains("unknown first bytes"), "{error}");
}

#[test]
fn duration_spans_first_to_last_frame_plus_one_step() {
    let frame = |dts| MediaFrame {
        track: TrackKind::Video,
        dts,
        pts: dts,
        keyframe: true,
        data: Bytes::from_static(b"x"),
    };
    let demuxed = Demuxed {
        container: Container::Flv,
        video: None,
        audio: None,
        frames: vec![frame(0), frame(3000), frame(6000)],
    };
    assert_eq!(demuxed.duration(), 9000);
}

/// SPS of a libx264 720p30 High stream.
const SPS: [u8; 26] = [
    0x67, 0x64, 0x00, 0x1f, 0xac, 0xd9, 0x40, 0x50, 0x05, 0xbb, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00,
    0x10, 0x00, 0x00, 0x03, 0x03, 0xc0, 0xf1, 0x83, 0x19, 0x60,
];
const PPS: [u8; 4] = [0x68, 0xeb, 0xe3, 0xcb];

fn media_frame(track: TrackKind, ms: i64, keyframe: bool) -> MediaFrame {
    MediaFrame {
        track,
        dts: ms * 90,
        pts: ms * 90,
        keyframe,
        data: Bytes::from_static(&[0, 0, 0, 2, 0x65, 0x88]),
    }
}

#[test]
fn an_flv_file_round_trips_through_the_flv_muxer() {
    let video = crate::codec::video_config_from_parameter_sets(&[&SPS], &[&PPS]).unwrap();
    let audio = crate::codec::audio_config_from_asc(&[0x12, 0x10]).unwrap();
    let mut file = stream_head(Some(&video), Some(&audio)).unwrap();
    file.extend_from_slice(&video_config_tag(&video, 0).unwrap());
    file.extend_from_slice(&audio_config_tag(&audio, 0).unwrap());
    let sent = [
        media_frame(TrackKind::Video, 1000, true),
        media_frame(TrackKind::Audio, 1010, true),
        media_frame(TrackKind::Video, 1033, false),
    ];
    for frame in &sent {
        file.extend_from_slice(&frame_tag(frame).unwrap());
    }
    let demuxed = demux(&file).unwrap();
    assert_eq!(demuxed.container, Container::Flv);
    assert_eq!(demuxed.video.as_ref().unwrap().width, 1280);
    assert_eq!(demuxed.audio.as_ref().unwrap().sample_rate, 44_100);
    let times: Vec<i64> = demuxed.frames.iter().map(|f| f.dts).collect();
    assert_eq!(times, [0, 900, 2970], "shifted to start at 0");
    assert!(demuxed.frames[0].keyframe);

    // Cut inside the last tag: refused as truncated, nothing returned.
    let error = demux(&file[..file.len() - 3]).unwrap_err();
    assert!(error.to_string().contains("truncated"), "{error}");
}

/// A one-slice IDR access unit, as AVCC with 4-byte lengths.
pub(super) fn idr_frame() -> Vec<u8> {
    vec![0, 0, 0, 3, 0x65, 0x88, 0x84]
}

pub(super) fn test_video_config() -> crate::frame::VideoConfig {
    crate::codec::video_config_from_parameter_sets(&[&SPS], &[&PPS]).unwrap()
}

pub(super) const TEST_SPS: [u8; 26] = SPS;
pub(super) const TEST_PPS: [u8; 4] = PPS;

mod never_panic {
    use super::super::demux;
    use proptest::prelude::*;

    const PREFIXES: [&[u8]; 5] = [
        b"\0\0\0\x18ftypisom",
        b"\0\0\0\x08moov",
        &[0x1A, 0x45, 0xDF, 0xA3],
        &[0x1A, 0x45, 0xDF, 0xA3, 0x84, 0x42, 0x82, 0x81, b'w'],
        &[0x47, 0x40, 0x00, 0x10],
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn arbitrary_bytes_after_a_magic_prefix(prefix in 0usize..5, tail in proptest::collection::vec(any::<u8>(), 0..600)) {
            let mut data = PREFIXES[prefix].to_vec();
            data.extend_from_slice(&tail);
            let _ = demux(&data);
        }

        #[test]
        fn arbitrary_ts_packets(packets in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 187), 1..6)) {
            let data: Vec<u8> = packets.iter().flat_map(|p| std::iter::once(0x47).chain(p.iter().copied())).collect();
            let _ = demux(&data);
        }
    }
}
