//! Byte layouts of the CMAF init segment and fragments, pinned with
//! literal bytes, and the writer's error paths.

mod fmp4_support;

use avrs_media::fmp4::{CmafWriter, NON_SYNC_SAMPLE_FLAGS, SYNC_SAMPLE_FLAGS, TrackRun};
use avrs_media::{MediaError, MediaFrame, TrackKind};
use bytes::Bytes;
use fmp4_support::*;

fn both() -> CmafWriter {
    CmafWriter::new(Some(video_config()), Some(audio_config())).unwrap()
}

#[test]
fn init_segment_box_tree() {
    let init = both().init_segment();
    assert_eq!(kinds(&init), ["ftyp", "moov"]);
    let moov = child(&init, b"moov");
    assert_eq!(kinds(moov.body), ["mvhd", "trak", "trak", "mvex"]);
    let trak = child(moov.body, b"trak");
    assert_eq!(kinds(trak.body), ["tkhd", "mdia"]);
    assert_eq!(
        kinds(path(trak.body, &[b"mdia"]).body),
        ["mdhd", "hdlr", "minf"]
    );
    let minf = path(trak.body, &[b"mdia", b"minf"]);
    assert_eq!(kinds(minf.body), ["vmhd", "dinf", "stbl"]);
    assert_eq!(
        kinds(child(minf.body, b"stbl").body),
        ["stsd", "stts", "stsc", "stco", "stsz"]
    );
    let mvex = child(moov.body, b"mvex");
    assert_eq!(kinds(mvex.body), ["trex", "trex"]);
}

#[test]
fn ftyp_and_mvhd_bytes() {
    let init = both().init_segment();
    assert_eq!(
        child(&init, b"ftyp").bytes,
        b"\0\0\0\x1cftypiso6\0\0\0\0iso6cmfcmp41"
    );
    let mvhd = path(&init, &[b"moov", b"mvhd"]);
    assert_eq!(mvhd.bytes.len(), 108);
    assert_eq!(&mvhd.bytes[..8], b"\0\0\0\x6cmvhd");
    assert_eq!(
        &mvhd.body[..20],
        &[
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x03, 0xE8, 0, 0, 0, 0
        ]
    );
    assert_eq!(be32(mvhd.body, 20), 0x0001_0000, "rate 1.0");
    assert_eq!(be32(mvhd.body, 96), 3, "next_track_ID");
}

#[test]
fn video_tkhd_bytes() {
    let init = both().init_segment();
    let tkhd = path(&init, &[b"moov", b"trak", b"tkhd"]);
    let expected: Vec<u8> = [
        &[0, 0, 0, 92][..],
        b"tkhd",
        &[0, 0, 0, 3],             // version 0, enabled | in movie
        &[0; 8],                   // creation, modification
        &[0, 0, 0, 1],             // track_ID
        &[0; 4],                   // reserved
        &[0; 4],                   // duration
        &[0; 8],                   // reserved
        &[0, 0, 0, 0, 0, 0, 0, 0], // layer, group, volume, reserved
        &[0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        &[0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0],
        &[0, 0, 0, 0, 0, 0, 0, 0, 0x40, 0, 0, 0],
        &[0x02, 0x80, 0, 0], // width 640.0
        &[0x01, 0x68, 0, 0], // height 360.0
    ]
    .concat();
    assert_eq!(tkhd.bytes, expected.as_slice());
}

#[test]
fn avc1_entry_bytes() {
    let init = both().init_segment();
    let stsd = path(
        &init,
        &[b"moov", b"trak", b"mdia", b"minf", b"stbl", b"stsd"],
    );
    assert_eq!(
        &stsd.body[..8],
        &[0, 0, 0, 0, 0, 0, 0, 1],
        "version, flags, one entry"
    );
    let avc1 = child(&stsd.body[8..], b"avc1");
    assert_eq!(avc1.bytes.len(), 86 + 8 + AVCC.len());
    let head: Vec<u8> = [
        &[0, 0, 0, 0, 0, 0, 0, 1][..],   // reserved, data_reference_index
        &[0; 16],                        // pre_defined, reserved
        &[0x02, 0x80, 0x01, 0x68],       // 640 x 360
        &[0, 0x48, 0, 0, 0, 0x48, 0, 0], // 72 dpi
        &[0, 0, 0, 0, 0, 1],             // reserved, frame_count
    ]
    .concat();
    assert_eq!(&avc1.body[..head.len()], head.as_slice());
    assert_eq!(
        &avc1.body[74..78],
        &[0, 0x18, 0xFF, 0xFF],
        "depth, pre_defined -1"
    );
    let avcc = child(&avc1.body[78..], b"avcC");
    assert_eq!(avcc.body, AVCC);
}

#[test]
fn mp4a_entry_and_audio_track_bytes() {
    let init = both().init_segment();
    let moov = child(&init, b"moov");
    let audio_trak = boxes(moov.body)
        .into_iter()
        .filter(|b| &b.kind == b"trak")
        .nth(1)
        .unwrap();
    let tkhd = child(audio_trak.body, b"tkhd");
    assert_eq!(be32(tkhd.body, 12), 2, "track_ID");
    assert_eq!(&tkhd.body[36..38], &[0x01, 0x00], "volume 1.0");
    let mdia = child(audio_trak.body, b"mdia");
    assert_eq!(
        be32(child(mdia.body, b"mdhd").body, 12),
        44_100,
        "timescale"
    );
    let hdlr = child(mdia.body, b"hdlr");
    assert_eq!(&hdlr.body[8..12], b"soun");
    assert_eq!(&hdlr.body[24..], b"SoundHandler\0");
    let smhd = path(mdia.body, &[b"minf", b"smhd"]);
    assert_eq!(smhd.bytes, b"\0\0\0\x10smhd\0\0\0\0\0\0\0\0");
    let stsd = path(mdia.body, &[b"minf", b"stbl", b"stsd"]);
    let mp4a = child(&stsd.body[8..], b"mp4a");
    let head: [u8; 28] = [
        0, 0, 0, 0, 0, 0, 0, 1, // reserved, data_reference_index
        0, 0, 0, 0, 0, 0, 0, 0, // reserved
        0, 2, 0, 16, // channels, sample size
        0, 0, 0, 0, // pre_defined, reserved
        0xAC, 0x44, 0, 0, // 44100.0
    ];
    assert_eq!(&mp4a.body[..28], head);
    let esds = child(&mp4a.body[28..], b"esds");
    assert_eq!(
        &esds.body[4..],
        &[
            0x03, 0x19, 0, 0, 0, 0x04, 0x11, 0x40, 0x15, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x05,
            0x02, 0x12, 0x10, 0x06, 0x01, 0x02
        ]
    );
}

#[test]
fn dinf_vmhd_and_trex_bytes() {
    let init = both().init_segment();
    let minf = path(&init, &[b"moov", b"trak", b"mdia", b"minf"]);
    assert_eq!(
        child(minf.body, b"vmhd").bytes,
        b"\0\0\0\x14vmhd\0\0\0\x01\0\0\0\0\0\0\0\0"
    );
    assert_eq!(
        child(minf.body, b"dinf").bytes,
        b"\0\0\0\x24dinf\0\0\0\x1cdref\0\0\0\0\0\0\0\x01\0\0\0\x0curl \0\0\0\x01"
    );
    let mvex = path(&init, &[b"moov", b"mvex"]);
    let trex = boxes(mvex.body)[1];
    assert_eq!(
        trex.bytes,
        b"\0\0\0\x20trex\0\0\0\0\0\0\0\x02\0\0\0\x01\0\0\0\0\0\0\0\0\0\0\0\0"
    );
}

#[test]
fn audio_only_and_video_only_inits_have_one_track() {
    let audio = CmafWriter::new(None, Some(audio_config())).unwrap();
    let moov = child(&audio.init_segment(), b"moov").body.to_vec();
    assert_eq!(kinds(&moov), ["mvhd", "trak", "mvex"]);
    assert_eq!(audio.track_id(TrackKind::Audio), Some(1));
    assert_eq!(audio.timescale(TrackKind::Audio), Some(44_100));
    assert_eq!(audio.track_id(TrackKind::Video), None);
    let video = CmafWriter::new(Some(video_config()), None).unwrap();
    assert_eq!(video.timescale(TrackKind::Video), Some(90_000));
    assert!(!video.has_track(TrackKind::Audio));
}

/// Two video frames (an IDR and a B-frame-like picture with a composition
/// offset) and two audio frames, pinned byte for byte.
#[test]
fn fragment_bytes() {
    let mut writer = both();
    let v = [
        video(0, 6000, true, b"VVVV"),
        video(3000, 3000, false, b"vv"),
    ];
    let a = [audio(0, b"AAA"), audio(2090, b"aa")];
    let chunk = writer
        .fragment(
            7,
            &[
                TrackRun::new(TrackKind::Video, &v).followed_by(6000),
                TrackRun::new(TrackKind::Audio, &a),
            ],
        )
        .unwrap();
    let expected: Vec<u8> = [
        // moof: 8 + mfhd 16 + video traf 96 + audio traf 88
        &[0, 0, 0, 0xD0][..],
        b"moof",
        &[0, 0, 0, 16],
        b"mfhd",
        &[0, 0, 0, 0, 0, 0, 0, 7],
        // video traf: tfhd 16 + tfdt 20 + trun 20 + 2 * 16
        &[0, 0, 0, 96],
        b"traf",
        &[0, 0, 0, 16],
        b"tfhd",
        &[0, 0x02, 0, 0, 0, 0, 0, 1], // default-base-is-moof, track 1
        &[0, 0, 0, 20],
        b"tfdt",
        &[1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], // version 1, time 0
        &[0, 0, 0, 52],
        b"trun",
        &[1, 0, 0x0F, 0x01, 0, 0, 0, 2], // version 1, flags, 2 samples
        &[0, 0, 0, 0xD8],                // data offset 208 + 8
        &[
            0, 0, 0x0B, 0xB8, 0, 0, 0, 4, 0x02, 0, 0, 0, 0, 0, 0x17, 0x70,
        ],
        &[0, 0, 0x0B, 0xB8, 0, 0, 0, 2, 0x01, 0x01, 0, 0, 0, 0, 0, 0],
        // audio traf: tfhd 16 + tfdt 20 + trun 20 + 2 * 12
        &[0, 0, 0, 88],
        b"traf",
        &[0, 0, 0, 16],
        b"tfhd",
        &[0, 0x02, 0, 0, 0, 0, 0, 2],
        &[0, 0, 0, 20],
        b"tfdt",
        &[1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        &[0, 0, 0, 44],
        b"trun",
        &[0, 0, 0x07, 0x01, 0, 0, 0, 2],
        &[0, 0, 0, 0xDE], // after the 6 video bytes
        &[0, 0, 0x04, 0, 0, 0, 0, 3, 0x02, 0, 0, 0],
        &[0, 0, 0x04, 0, 0, 0, 0, 2, 0x02, 0, 0, 0],
        &[0, 0, 0, 19],
        b"mdat",
        b"VVVVvvAAAaa",
    ]
    .concat();
    assert_eq!(chunk.as_ref(), expected.as_slice());
    assert_eq!(SYNC_SAMPLE_FLAGS, 0x0200_0000);
    assert_eq!(NON_SYNC_SAMPLE_FLAGS, 0x0101_0000);
}

#[test]
fn decode_times_run_on_across_fragments() {
    let mut writer = both();
    let v1 = [
        video(90_000, 90_000, true, b"a"),
        video(93_000, 93_000, false, b"b"),
    ];
    let a1 = [audio(90_000, b"x"), audio(92_070, b"y")];
    writer
        .fragment(
            1,
            &[
                TrackRun::new(TrackKind::Video, &v1),
                TrackRun::new(TrackKind::Audio, &a1),
            ],
        )
        .unwrap();
    let v2 = [video(96_000, 96_000, false, b"c")];
    let a2 = [audio(94_140, b"z")];
    let chunk = writer
        .fragment(
            2,
            &[
                TrackRun::new(TrackKind::Video, &v2),
                TrackRun::new(TrackKind::Audio, &a2),
            ],
        )
        .unwrap();
    let trafs = trafs(&chunk);
    assert_eq!(trafs[0].base_decode_time, 96_000);
    // No next time and a single frame: the track's last duration repeats.
    assert_eq!(trafs[0].samples[0].duration, 3000);
    // 44 100 samples per second from 1 s, then two whole AAC frames.
    assert_eq!(trafs[1].base_decode_time, 44_100 + 2048);
}

#[test]
fn empty_runs_are_skipped() {
    let mut writer = both();
    let a = [audio(0, b"x")];
    let chunk = writer
        .fragment(
            1,
            &[
                TrackRun::new(TrackKind::Video, &[]),
                TrackRun::new(TrackKind::Audio, &a),
            ],
        )
        .unwrap();
    assert_eq!(trafs(&chunk).len(), 1);
    assert_eq!(trafs(&chunk)[0].track_id, 2);
}

#[test]
fn configuration_errors() {
    assert_eq!(
        CmafWriter::new(None, None).unwrap_err(),
        MediaError::MissingConfig {
            what: "CMAF presentation"
        }
    );
    let mut bad_avcc = video_config();
    bad_avcc.avcc = Bytes::from_static(&[2, 0x64, 0, 0x1F, 0xFF]);
    assert!(matches!(
        CmafWriter::new(Some(bad_avcc), None),
        Err(MediaError::Malformed { .. })
    ));
    let mut short_avcc = video_config();
    short_avcc.avcc = Bytes::from_static(&[1, 0x64]);
    assert!(matches!(
        CmafWriter::new(Some(short_avcc), None),
        Err(MediaError::Malformed { .. })
    ));
    let mut huge_avcc = video_config();
    huge_avcc.avcc = Bytes::from(vec![1; 70_000]);
    assert!(matches!(
        CmafWriter::new(Some(huge_avcc), None),
        Err(MediaError::TooLarge { .. })
    ));
    let mut wide = video_config();
    wide.width = 70_000;
    assert!(matches!(
        CmafWriter::new(Some(wide), None),
        Err(MediaError::Unsupported { .. })
    ));
    let mut short_asc = audio_config();
    short_asc.asc = Bytes::from_static(&[0x12]);
    assert!(matches!(
        CmafWriter::new(None, Some(short_asc)),
        Err(MediaError::Truncated { .. })
    ));
    let mut long_asc = audio_config();
    long_asc.asc = Bytes::from(vec![0x12; 2000]);
    assert!(matches!(
        CmafWriter::new(None, Some(long_asc)),
        Err(MediaError::TooLarge { .. })
    ));
    let mut mute = audio_config();
    mute.sample_rate = 0;
    assert!(matches!(
        CmafWriter::new(None, Some(mute)),
        Err(MediaError::Malformed { .. })
    ));
}

#[test]
fn unusual_audio_entries_stay_valid() {
    let mut config = audio_config();
    config.sample_rate = 96_000;
    config.channels = 0;
    let init = CmafWriter::new(None, Some(config)).unwrap().init_segment();
    let stsd = path(
        &init,
        &[b"moov", b"trak", b"mdia", b"minf", b"stbl", b"stsd"],
    );
    let mp4a = child(&stsd.body[8..], b"mp4a");
    assert_eq!(
        &mp4a.body[16..18],
        &[0, 2],
        "channel count 2 for configuration 0"
    );
    assert_eq!(be32(mp4a.body, 24), 0, "96 kHz does not fit the 16.16 rate");
}

#[test]
fn fragment_errors_leave_the_clocks_alone() {
    let mut writer = both();
    let fail = |w: &mut CmafWriter, runs: &[TrackRun<'_>]| w.fragment(1, runs).unwrap_err();
    assert!(matches!(
        fail(&mut writer, &[]),
        MediaError::Malformed { .. }
    ));
    let a = [audio(0, b"x")];
    assert!(matches!(
        fail(
            &mut writer,
            &[
                TrackRun::new(TrackKind::Audio, &a),
                TrackRun::new(TrackKind::Audio, &a)
            ]
        ),
        MediaError::Malformed { .. }
    ));
    assert!(matches!(
        fail(&mut writer, &[TrackRun::new(TrackKind::Video, &a)]),
        MediaError::Malformed { .. }
    ));
    let back = [video(3000, 3000, true, b"a"), video(0, 0, false, b"b")];
    assert!(matches!(
        fail(&mut writer, &[TrackRun::new(TrackKind::Video, &back)]),
        MediaError::Malformed { .. }
    ));
    let negative = [video(-1, 0, true, b"a")];
    assert!(matches!(
        fail(&mut writer, &[TrackRun::new(TrackKind::Video, &negative)]),
        MediaError::Malformed { .. }
    ));
    let far = [video(0, i64::from(i32::MAX) + 1, true, b"a")];
    assert!(matches!(
        fail(&mut writer, &[TrackRun::new(TrackKind::Video, &far)]),
        MediaError::Malformed { .. }
    ));
    let ok = [video(0, 0, true, b"a")];
    assert!(matches!(
        fail(
            &mut writer,
            &[TrackRun::new(TrackKind::Video, &ok).followed_by(0)]
        ),
        MediaError::Malformed { .. }
    ));
    // A failed audio run after a good video run must not advance either clock.
    let bad_audio = [audio(-5, b"x")];
    let video_ok = [video(0, 0, true, b"a")];
    fail(
        &mut writer,
        &[
            TrackRun::new(TrackKind::Video, &video_ok).followed_by(1500),
            TrackRun::new(TrackKind::Audio, &bad_audio),
        ],
    );
    let lone = [video(9000, 9000, true, b"a")];
    let chunk = writer
        .fragment(2, &[TrackRun::new(TrackKind::Video, &lone)])
        .unwrap();
    assert_eq!(
        trafs(&chunk)[0].samples[0].duration,
        3000,
        "default, not the failed 1500"
    );

    let audio_only = CmafWriter::new(None, Some(audio_config())).unwrap();
    let mut audio_only = audio_only;
    let v = [video(0, 0, true, b"a")];
    assert_eq!(
        audio_only
            .fragment(1, &[TrackRun::new(TrackKind::Video, &v)])
            .unwrap_err(),
        MediaError::MissingConfig { what: "video run" }
    );
}

#[test]
fn oversized_runs_are_refused() {
    let mut writer = CmafWriter::new(None, Some(audio_config())).unwrap();
    let many: Vec<MediaFrame> = (0..65_537).map(|i| audio(i * 2090, b"")).collect();
    assert!(matches!(
        writer.fragment(1, &[TrackRun::new(TrackKind::Audio, &many)]),
        Err(MediaError::TooLarge { .. })
    ));
    let big = MediaFrame {
        data: Bytes::from(vec![0; 256 * 1024 * 1024 + 1]),
        ..audio(0, b"")
    };
    assert!(matches!(
        writer.fragment(1, &[TrackRun::new(TrackKind::Audio, &[big])]),
        Err(MediaError::TooLarge { .. })
    ));
}
