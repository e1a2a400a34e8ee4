//! FLV/RTMP video and audio tag payloads, both directions.

use avrs_media::codec::{audio_config_from_asc, video_config_from_avcc};
use avrs_media::flv::{
    AudioTag, TagMedia, VideoTag, audio_config_payload, audio_tag_to_media, avc_end_of_sequence,
    frame_payload, frame_tag, parse_audio_tag, parse_tag, parse_video_tag, video_config_payload,
    video_tag_to_media,
};
use avrs_media::{MediaError, MediaFrame, TrackKind};
use bytes::Bytes;

const AVCC_720P: &[u8] = &[
    0x01, 0x64, 0x00, 0x1f, 0xff, 0xe1, 0x00, 0x1a, 0x67, 0x64, 0x00, 0x1f, 0xac, 0xd9, 0x40, 0x50,
    0x05, 0xbb, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00, 0x10, 0x00, 0x00, 0x03, 0x03, 0xc0, 0xf1, 0x83,
    0x19, 0x60, 0x01, 0x00, 0x04, 0x68, 0xef, 0xbc, 0xb0, 0xfd, 0xf8, 0xf8, 0x00,
];

fn unsupported_detail(result: Result<impl std::fmt::Debug, MediaError>) -> String {
    match result {
        Err(MediaError::Unsupported { detail, .. }) => detail,
        other => panic!("expected Unsupported, got {other:?}"),
    }
}

#[test]
fn legacy_avc_packets() {
    let seq = [&[0x17, 0x00, 0, 0, 0][..], AVCC_720P].concat();
    assert_eq!(
        parse_video_tag(&seq).unwrap(),
        VideoTag::AvcSequenceHeader(AVCC_720P)
    );
    let key = [0x17, 0x01, 0x00, 0x00, 0x21, 0, 0, 0, 1, 0x65];
    assert_eq!(
        parse_video_tag(&key).unwrap(),
        VideoTag::AvcFrame {
            keyframe: true,
            composition_time: 33,
            data: &[0, 0, 0, 1, 0x65],
        }
    );
    let inter = [0x27, 0x01, 0xFF, 0xFF, 0xDF, 0x41];
    assert_eq!(
        parse_video_tag(&inter).unwrap(),
        VideoTag::AvcFrame {
            keyframe: false,
            composition_time: -33,
            data: &[0x41],
        }
    );
    assert_eq!(
        parse_video_tag(&avc_end_of_sequence()).unwrap(),
        VideoTag::AvcEndOfSequence
    );
    assert_eq!(parse_video_tag(&[0x57, 0x00]).unwrap(), VideoTag::Command);
}

#[test]
fn enhanced_avc_packets() {
    let seq = [&[0x90][..], b"avc1", AVCC_720P].concat();
    assert_eq!(
        parse_video_tag(&seq).unwrap(),
        VideoTag::AvcSequenceHeader(AVCC_720P)
    );
    let coded = [&[0x91][..], b"avc1", &[0, 0, 0x42, 0xAA]].concat();
    assert_eq!(
        parse_video_tag(&coded).unwrap(),
        VideoTag::AvcFrame {
            keyframe: true,
            composition_time: 0x42,
            data: &[0xAA],
        }
    );
    let coded_x = [&[0xA3][..], b"avc1", &[0xBB]].concat();
    assert_eq!(
        parse_video_tag(&coded_x).unwrap(),
        VideoTag::AvcFrame {
            keyframe: false,
            composition_time: 0,
            data: &[0xBB],
        }
    );
    let end = [&[0x92][..], b"avc1"].concat();
    assert_eq!(parse_video_tag(&end).unwrap(), VideoTag::AvcEndOfSequence);
    let meta = [&[0x94][..], b"avc1", &[0x02]].concat();
    assert_eq!(parse_video_tag(&meta).unwrap(), VideoTag::Metadata(&[0x02]));
    assert_eq!(parse_video_tag(&[0xD0, 0x01]).unwrap(), VideoTag::Command);
}

#[test]
fn other_video_codecs_are_named() {
    assert_eq!(
        unsupported_detail(parse_video_tag(&[0x22, 0x00])),
        "video codec id 2 (Sorenson H.263)"
    );
    assert_eq!(
        unsupported_detail(parse_video_tag(&[0x1C, 0x00, 0, 0, 0])),
        "video codec id 12 (HEVC (non-standard extension))"
    );
    for fourcc in [b"hvc1", b"av01", b"vp09"] {
        let tag = [&[0x90][..], fourcc, &[1, 2, 3]].concat();
        let expected = format!("enhanced fourcc {}", std::str::from_utf8(fourcc).unwrap());
        assert_eq!(unsupported_detail(parse_video_tag(&tag)), expected);
    }
    let binary = [0x90, 0x00, 0x01, 0x02, 0x03];
    assert_eq!(
        unsupported_detail(parse_video_tag(&binary)),
        "enhanced fourcc 0x00010203"
    );
    let multitrack = [&[0x96][..], b"avc1"].concat();
    assert_eq!(
        unsupported_detail(parse_video_tag(&multitrack)),
        "multitrack"
    );
    assert_eq!(unsupported_detail(parse_video_tag(&[0x97])), "ModEx");
    let ts_start = [&[0x95][..], b"avc1"].concat();
    assert_eq!(
        unsupported_detail(parse_video_tag(&ts_start)),
        "MPEG2TSSequenceStart"
    );
}

#[test]
fn malformed_video_tags() {
    let cases: &[(&[u8], &str)] = &[
        (&[], "truncated"),
        (&[0x17, 0x01, 0x00], "truncated"),
        (&[0x07, 0x01, 0, 0, 0], "frame type 0"),
        (&[0x67, 0x01, 0, 0, 0], "frame type 6"),
        (&[0x17, 0x03, 0, 0, 0], "AVCPacketType 3"),
        (&[0x91, b'a', b'v'], "truncated"),
        (
            &[0x98, b'a', b'v', b'c', b'1'],
            "reserved enhanced packet type 8",
        ),
        (&[0x80, b'a', b'v', b'c', b'1'], "frame type 0"),
    ];
    for (raw, expected) in cases {
        let err = parse_video_tag(raw).unwrap_err();
        assert!(err.to_string().contains(expected), "{raw:02X?}: {err}");
    }
}

#[test]
fn aac_packets() {
    assert_eq!(
        parse_audio_tag(&[0xAF, 0x00, 0x12, 0x10]).unwrap(),
        AudioTag::AacSequenceHeader(&[0x12, 0x10])
    );
    assert_eq!(
        parse_audio_tag(&[0xAE, 0x01, 0x21, 0x00]).unwrap(),
        AudioTag::AacFrame(&[0x21, 0x00])
    );
    let ex_seq = [&[0x90][..], b"mp4a", &[0x12, 0x10]].concat();
    assert_eq!(
        parse_audio_tag(&ex_seq).unwrap(),
        AudioTag::AacSequenceHeader(&[0x12, 0x10])
    );
    let ex_frame = [&[0x91][..], b"mp4a", &[0x21]].concat();
    assert_eq!(
        parse_audio_tag(&ex_frame).unwrap(),
        AudioTag::AacFrame(&[0x21])
    );
    let ex_end = [&[0x92][..], b"mp4a"].concat();
    assert_eq!(
        parse_audio_tag(&ex_end).unwrap(),
        AudioTag::AacEndOfSequence
    );
    let ex_layout = [&[0x94][..], b"mp4a", &[1]].concat();
    assert_eq!(
        parse_audio_tag(&ex_layout).unwrap(),
        AudioTag::MultichannelConfig(&[1])
    );
}

#[test]
fn other_audio_codecs_are_named() {
    assert_eq!(
        unsupported_detail(parse_audio_tag(&[0x2F, 0xFF])),
        "sound format 2 (MP3)"
    );
    assert_eq!(
        unsupported_detail(parse_audio_tag(&[0x7E])),
        "sound format 7 (G.711 A-law)"
    );
    let opus = [&[0x90][..], b"Opus", &[1]].concat();
    assert_eq!(
        unsupported_detail(parse_audio_tag(&opus)),
        "enhanced fourcc Opus"
    );
    assert_eq!(unsupported_detail(parse_audio_tag(&[0x95])), "multitrack");
    assert_eq!(unsupported_detail(parse_audio_tag(&[0x97])), "ModEx");
}

#[test]
fn malformed_audio_tags() {
    let cases: &[(&[u8], &str)] = &[
        (&[], "truncated"),
        (&[0xAF], "truncated"),
        (&[0xAF, 0x02], "AACPacketType 2"),
        (&[0x90, b'm', b'p'], "truncated"),
        (
            &[0x93, b'm', b'p', b'4', b'a'],
            "reserved enhanced packet type 3",
        ),
    ];
    for (raw, expected) in cases {
        let err = parse_audio_tag(raw).unwrap_err();
        assert!(err.to_string().contains(expected), "{raw:02X?}: {err}");
    }
}

#[test]
fn video_payloads_to_media() {
    let seq = Bytes::from([&[0x17, 0x00, 0, 0, 0][..], AVCC_720P].concat());
    assert_eq!(
        video_tag_to_media(&seq, 0).unwrap(),
        TagMedia::VideoConfig(video_config_from_avcc(AVCC_720P).unwrap())
    );
    let payload = Bytes::from_static(&[0x27, 0x01, 0x00, 0x00, 0x42, 0, 0, 0, 1, 0x41]);
    let TagMedia::Frame(frame) = video_tag_to_media(&payload, 1000).unwrap() else {
        panic!("expected a frame");
    };
    assert_eq!(
        frame,
        MediaFrame {
            track: TrackKind::Video,
            dts: 90_000,
            pts: (1000 + 0x42) * 90,
            keyframe: false,
            data: Bytes::from_static(&[0, 0, 0, 1, 0x41]),
        }
    );
    // The frame shares the payload's memory.
    assert_eq!(frame.data.as_ptr(), payload[5..].as_ptr());
    let empty = Bytes::from_static(&[0x17, 0x01, 0, 0, 0]);
    assert_eq!(video_tag_to_media(&empty, 0).unwrap(), TagMedia::Skipped);
    let end = Bytes::from_static(&[0x17, 0x02, 0, 0, 0]);
    assert_eq!(
        video_tag_to_media(&end, 0).unwrap(),
        TagMedia::EndOfSequence(TrackKind::Video)
    );
    assert!(video_tag_to_media(&payload, i64::MAX / 10).is_err());
}

#[test]
fn audio_payloads_to_media() {
    let seq = Bytes::from_static(&[0xAF, 0x00, 0x12, 0x10]);
    assert_eq!(
        audio_tag_to_media(&seq, 0).unwrap(),
        TagMedia::AudioConfig(audio_config_from_asc(&[0x12, 0x10]).unwrap())
    );
    let raw = Bytes::from_static(&[0xAF, 0x01, 0x21, 0x1A]);
    assert_eq!(
        audio_tag_to_media(&raw, 23).unwrap(),
        TagMedia::Frame(MediaFrame {
            track: TrackKind::Audio,
            dts: 2070,
            pts: 2070,
            keyframe: true,
            data: Bytes::from_static(&[0x21, 0x1A]),
        })
    );
    let empty = Bytes::from_static(&[0xAF, 0x01]);
    assert_eq!(audio_tag_to_media(&empty, 0).unwrap(), TagMedia::Skipped);
    let bad_asc = Bytes::from_static(&[0xAF, 0x00, 0x12]);
    assert!(audio_tag_to_media(&bad_asc, 0).is_err());
}

#[test]
fn configs_to_payloads() {
    let video = video_config_from_avcc(AVCC_720P).unwrap();
    assert_eq!(
        video_config_payload(&video),
        [&[0x17, 0x00, 0, 0, 0][..], AVCC_720P].concat()
    );
    let audio = audio_config_from_asc(&[0x12, 0x10]).unwrap();
    assert_eq!(audio_config_payload(&audio), [0xAF, 0x00, 0x12, 0x10]);
}

#[test]
fn frames_to_payloads_and_tags() {
    let video = MediaFrame {
        track: TrackKind::Video,
        dts: 90_000,
        pts: 93_060,
        keyframe: true,
        data: Bytes::from_static(&[0, 0, 0, 1, 0x65]),
    };
    assert_eq!(
        frame_payload(&video).unwrap(),
        [0x17, 0x01, 0x00, 0x00, 0x22, 0, 0, 0, 1, 0x65]
    );
    let tag = frame_tag(&video).unwrap();
    assert_eq!(
        tag,
        [
            0x09, 0x00, 0x00, 0x0A, 0x00, 0x03, 0xE8, 0x00, 0, 0, 0, // header, 1000 ms
            0x17, 0x01, 0x00, 0x00, 0x22, 0, 0, 0, 1, 0x65, // payload, cts 34
            0x00, 0x00, 0x00, 0x15, // PreviousTagSize 21
        ]
    );
    let (header, body, used) = parse_tag(&tag).unwrap();
    assert_eq!((header.timestamp, body.len(), used), (1000, 10, tag.len()));

    let audio = MediaFrame {
        track: TrackKind::Audio,
        dts: 2070,
        pts: 2070,
        keyframe: true,
        data: Bytes::from_static(&[0x21]),
    };
    assert_eq!(frame_payload(&audio).unwrap(), [0xAF, 0x01, 0x21]);
    assert_eq!(&frame_tag(&audio).unwrap()[..8], &[8, 0, 0, 3, 0, 0, 23, 0]);
}

#[test]
fn composition_time_out_of_range_is_refused() {
    let frame = MediaFrame {
        track: TrackKind::Video,
        dts: 0,
        pts: 0x80_0000 * 90,
        keyframe: false,
        data: Bytes::new(),
    };
    assert!(matches!(
        frame_payload(&frame),
        Err(MediaError::TooLarge { .. })
    ));
    let negative = MediaFrame {
        pts: -0x80_0000 * 90,
        ..frame
    };
    assert_eq!(
        &frame_payload(&negative).unwrap()[..5],
        &[0x27, 0x01, 0x80, 0x00, 0x00]
    );
}

#[test]
fn timestamps_wrap_like_rtmp() {
    let frame = MediaFrame {
        track: TrackKind::Audio,
        dts: (1i64 << 32) * 90 + 90 * 7,
        pts: 0,
        keyframe: true,
        data: Bytes::new(),
    };
    assert_eq!(avrs_media::flv::frame_timestamp_ms(&frame), 7);
}

#[test]
fn parse_tag_needs_the_whole_tag() {
    let tag = frame_tag(&MediaFrame {
        track: TrackKind::Audio,
        dts: 0,
        pts: 0,
        keyframe: true,
        data: Bytes::from_static(&[1, 2, 3]),
    })
    .unwrap();
    assert!(matches!(
        parse_tag(&tag[..tag.len() - 1]),
        Err(MediaError::Truncated { .. })
    ));
}
