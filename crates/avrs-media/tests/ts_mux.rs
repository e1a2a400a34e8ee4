//! The MPEG-TS muxer, checked by an independent minimal demuxer below.

use std::collections::HashMap;

use avrs_media::codec::{audio_config_from_asc, video_config_from_avcc};
use avrs_media::ts::{AUDIO_PID, PAT_PID, PMT_PID, TS_PACKET_LEN, TsMuxer, VIDEO_PID};
use avrs_media::{AudioConfig, MediaError, MediaFrame, TrackKind, VideoConfig};
use bytes::Bytes;
use proptest::prelude::*;

const AVCC_720P: &[u8] = &[
    0x01, 0x64, 0x00, 0x1f, 0xff, 0xe1, 0x00, 0x1a, 0x67, 0x64, 0x00, 0x1f, 0xac, 0xd9, 0x40, 0x50,
    0x05, 0xbb, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00, 0x10, 0x00, 0x00, 0x03, 0x03, 0xc0, 0xf1, 0x83,
    0x19, 0x60, 0x01, 0x00, 0x04, 0x68, 0xef, 0xbc, 0xb0, 0xfd, 0xf8, 0xf8, 0x00,
];
const SPS: &[u8] = AVCC_720P.split_at(34).0.split_at(8).1;
const PPS: &[u8] = AVCC_720P.split_at(41).0.split_at(37).1;
const AUD: &[u8] = &[0, 0, 0, 1, 0x09, 0xF0];

fn video_config() -> VideoConfig {
    video_config_from_avcc(AVCC_720P).unwrap()
}

fn audio_config() -> AudioConfig {
    audio_config_from_asc(&[0x12, 0x10]).unwrap()
}

fn video_frame(dts: i64, pts: i64, keyframe: bool, avcc: &[u8]) -> MediaFrame {
    MediaFrame {
        track: TrackKind::Video,
        dts,
        pts,
        keyframe,
        data: Bytes::copy_from_slice(avcc),
    }
}

fn audio_frame(dts: i64, data: &[u8]) -> MediaFrame {
    MediaFrame {
        track: TrackKind::Audio,
        dts,
        pts: dts,
        keyframe: true,
        data: Bytes::copy_from_slice(data),
    }
}

/// One parsed TS packet.
#[derive(Debug)]
struct Packet {
    pid: u16,
    unit_start: bool,
    cc: u8,
    random_access: bool,
    pcr: Option<u64>,
    payload: Vec<u8>,
}

fn parse_packets(ts: &[u8]) -> Vec<Packet> {
    assert_eq!(ts.len() % TS_PACKET_LEN, 0, "whole packets only");
    ts.chunks(TS_PACKET_LEN)
        .map(|p| {
            assert_eq!(p[0], 0x47);
            let control = (p[3] >> 4) & 3;
            assert!(control == 1 || control == 3, "every packet carries payload");
            let mut offset = 4;
            let (mut random_access, mut pcr) = (false, None);
            if control == 3 {
                let len = usize::from(p[4]);
                if len > 0 {
                    random_access = p[5] & 0x40 != 0;
                    if p[5] & 0x10 != 0 {
                        let b = &p[6..12];
                        let base = (u64::from(b[0]) << 25)
                            | (u64::from(b[1]) << 17)
                            | (u64::from(b[2]) << 9)
                            | (u64::from(b[3]) << 1)
                            | u64::from(b[4] >> 7);
                        pcr = Some(base);
                    }
                    assert!(
                        p[6 + if pcr.is_some() { 6 } else { 0 }..5 + len]
                            .iter()
                            .all(|&b| b == 0xFF)
                    );
                }
                offset += 1 + len;
            }
            Packet {
                pid: (u16::from(p[1] & 0x1F) << 8) | u16::from(p[2]),
                unit_start: p[1] & 0x40 != 0,
                cc: p[3] & 0x0F,
                random_access,
                pcr,
                payload: p[offset..].to_vec(),
            }
        })
        .collect()
}

/// A reassembled PES: stream id, PTS, DTS and elementary-stream data.
#[derive(Debug, PartialEq)]
struct Pes {
    stream_id: u8,
    pts: u64,
    dts: Option<u64>,
    data: Vec<u8>,
}

fn decode_timestamp(b: &[u8]) -> u64 {
    (u64::from(b[0] >> 1 & 7) << 30)
        | (u64::from(b[1]) << 22)
        | (u64::from(b[2] >> 1) << 15)
        | (u64::from(b[3]) << 7)
        | u64::from(b[4] >> 1)
}

fn parse_pes(raw: &[u8]) -> Pes {
    assert_eq!(&raw[..3], &[0, 0, 1]);
    let declared = usize::from(u16::from_be_bytes([raw[4], raw[5]]));
    if declared != 0 {
        assert_eq!(declared, raw.len() - 6, "PES_packet_length");
    }
    let header_len = usize::from(raw[8]);
    let dts = (raw[7] & 0x40 != 0).then(|| decode_timestamp(&raw[14..19]));
    Pes {
        stream_id: raw[3],
        pts: decode_timestamp(&raw[9..14]),
        dts,
        data: raw[9 + header_len..].to_vec(),
    }
}

/// Checks continuity counters and splits each elementary PID into PES.
fn demux(ts: &[u8]) -> (Vec<Packet>, HashMap<u16, Vec<Pes>>) {
    let packets = parse_packets(ts);
    let mut last_cc: HashMap<u16, u8> = HashMap::new();
    let mut pending: HashMap<u16, Vec<u8>> = HashMap::new();
    let mut pes: HashMap<u16, Vec<Pes>> = HashMap::new();
    for p in &packets {
        if let Some(last) = last_cc.insert(p.pid, p.cc) {
            assert_eq!(p.cc, (last + 1) & 0x0F, "continuity on PID {:#x}", p.pid);
        }
        if p.pid == PAT_PID || p.pid == PMT_PID {
            continue;
        }
        if p.unit_start
            && let Some(raw) = pending.remove(&p.pid)
        {
            pes.entry(p.pid).or_default().push(parse_pes(&raw));
        }
        pending
            .entry(p.pid)
            .or_default()
            .extend_from_slice(&p.payload);
    }
    for (pid, raw) in pending {
        pes.entry(pid).or_default().push(parse_pes(&raw));
    }
    (packets, pes)
}

#[test]
fn starts_with_pat_and_pmt() {
    let mut muxer = TsMuxer::new(Some(&video_config()), Some(&audio_config())).unwrap();
    let mut out = Vec::new();
    muxer
        .write_frame(
            &video_frame(0, 0, true, &[0, 0, 0, 2, 0x65, 0x88]),
            &mut out,
        )
        .unwrap();
    let pat_packet = [
        &[0x47, 0x40, 0x00, 0x10, 0x00][..],
        &[
            0x00, 0xB0, 0x0D, 0x00, 0x01, 0xC1, 0x00, 0x00, 0x00, 0x01, 0xF0, 0x00,
        ],
        &[0x2A, 0xB1, 0x04, 0xB2],
    ]
    .concat();
    assert_eq!(&out[..pat_packet.len()], &pat_packet[..]);
    assert!(out[pat_packet.len()..188].iter().all(|&b| b == 0xFF));
    let pmt_start = [0x47, 0x50, 0x00, 0x10, 0x00, 0x02, 0xB0, 0x17];
    assert_eq!(&out[188..196], &pmt_start);
    assert_eq!(
        &out[188 + 27..188 + 31],
        &[0x2F, 0x44, 0xB9, 0x9B],
        "PMT CRC"
    );
}

#[test]
fn keyframes_get_aud_parameter_sets_pcr_and_random_access() {
    let mut muxer = TsMuxer::new(Some(&video_config()), None).unwrap();
    let mut out = Vec::new();
    let idr = [
        &[0, 0, 0, 2, 0x09, 0xF0][..],
        &[0, 0, 0, 3, 0x65, 0x88, 0x84],
    ]
    .concat();
    muxer
        .write_frame(&video_frame(90_000, 93_000, true, &idr), &mut out)
        .unwrap();
    let (packets, pes) = demux(&out);
    assert_eq!(packets.len(), 3, "PAT, PMT, one video packet");
    let video = &packets[2];
    assert_eq!(video.pid, VIDEO_PID);
    assert!(video.unit_start && video.random_access);
    assert_eq!(video.pcr, Some(90_000));
    let expected = [
        AUD,
        &[0, 0, 0, 1],
        SPS,
        &[0, 0, 0, 1],
        PPS,
        &[0, 0, 0, 1, 0x65, 0x88, 0x84],
    ]
    .concat();
    assert_eq!(
        pes[&VIDEO_PID],
        vec![Pes {
            stream_id: 0xE0,
            pts: 93_000,
            dts: Some(90_000),
            data: expected,
        }]
    );
}

#[test]
fn inter_frames_get_no_psi_or_parameter_sets() {
    let mut muxer = TsMuxer::new(Some(&video_config()), None).unwrap();
    let mut out = Vec::new();
    muxer
        .write_frame(&video_frame(0, 0, true, &[0, 0, 0, 1, 0x65]), &mut out)
        .unwrap();
    let first_len = out.len();
    muxer
        .write_frame(
            &video_frame(3000, 3000, false, &[0, 0, 0, 1, 0x41]),
            &mut out,
        )
        .unwrap();
    let (packets, pes) = demux(&out);
    assert_eq!(out.len() - first_len, TS_PACKET_LEN);
    let last = packets.last().unwrap();
    assert!(!last.random_access);
    assert_eq!(last.pcr, Some(3000));
    let inter = &pes[&VIDEO_PID][1];
    assert_eq!(inter.data, [AUD, &[0, 0, 0, 1, 0x41]].concat());
    assert_eq!((inter.pts, inter.dts), (3000, None));
}

#[test]
fn psi_repeats_at_every_keyframe() {
    let mut muxer = TsMuxer::new(Some(&video_config()), Some(&audio_config())).unwrap();
    let mut out = Vec::new();
    for i in 0..6 {
        let frame = video_frame(i * 3000, i * 3000, i % 3 == 0, &[0, 0, 0, 1, 0x41]);
        muxer.write_frame(&frame, &mut out).unwrap();
        muxer
            .write_frame(&audio_frame(i * 3000, &[0x21; 20]), &mut out)
            .unwrap();
    }
    let (packets, pes) = demux(&out);
    let pats = packets.iter().filter(|p| p.pid == PAT_PID).count();
    let pmts = packets.iter().filter(|p| p.pid == PMT_PID).count();
    assert_eq!((pats, pmts), (2, 2));
    assert_eq!(pes[&VIDEO_PID].len(), 6);
    assert_eq!(pes[&AUDIO_PID].len(), 6);
}

#[test]
fn frame_parameter_sets_are_not_duplicated() {
    let mut muxer = TsMuxer::new(Some(&video_config()), None).unwrap();
    let mut frame_data = Vec::new();
    for unit in [SPS, PPS, &[0x65, 0x88]] {
        frame_data.extend_from_slice(&(unit.len() as u32).to_be_bytes());
        frame_data.extend_from_slice(unit);
    }
    let mut out = Vec::new();
    muxer
        .write_frame(&video_frame(0, 0, true, &frame_data), &mut out)
        .unwrap();
    let (_, pes) = demux(&out);
    let expected = [
        AUD,
        &[0, 0, 0, 1],
        SPS,
        &[0, 0, 0, 1],
        PPS,
        &[0, 0, 0, 1, 0x65, 0x88],
    ]
    .concat();
    assert_eq!(pes[&VIDEO_PID][0].data, expected);
}

#[test]
fn audio_is_wrapped_in_adts() {
    let mut muxer = TsMuxer::new(Some(&video_config()), Some(&audio_config())).unwrap();
    let mut out = Vec::new();
    muxer
        .write_frame(&audio_frame(1800, &[0xDE, 0xAD]), &mut out)
        .unwrap();
    let (packets, pes) = demux(&out);
    assert_eq!(packets[0].pid, PAT_PID, "PSI comes before anything");
    let audio = packets.last().unwrap();
    assert_eq!(audio.pcr, None, "the PCR rides on video");
    assert_eq!(
        pes[&AUDIO_PID],
        vec![Pes {
            stream_id: 0xC0,
            pts: 1800,
            dts: None,
            data: vec![0xFF, 0xF1, 0x50, 0x80, 0x01, 0x3F, 0xFC, 0xDE, 0xAD],
        }]
    );
}

#[test]
fn audio_only_streams_carry_pcr_and_repeat_psi_each_second() {
    let mut muxer = TsMuxer::new(None, Some(&audio_config())).unwrap();
    let mut out = Vec::new();
    // 2.5 s of 1024-sample frames at 44.1 kHz, in 90 kHz ticks.
    let mut frames = 0;
    for i in 0..108 {
        let dts = i * 1024 * 90_000 / 44_100;
        muxer
            .write_frame(&audio_frame(dts, &[0x21; 30]), &mut out)
            .unwrap();
        frames += 1;
    }
    let (packets, pes) = demux(&out);
    assert_eq!(pes[&AUDIO_PID].len(), frames);
    assert_eq!(packets.iter().filter(|p| p.pid == PAT_PID).count(), 3);
    assert!(
        packets
            .iter()
            .filter(|p| p.pid == AUDIO_PID)
            .all(|p| p.pcr.is_some())
    );
    // The PMT names the audio PID as PCR PID.
    let pmt = packets.iter().find(|p| p.pid == PMT_PID).unwrap();
    assert_eq!(&pmt.payload[9..11], &[0xE1, 0x01]);
}

#[test]
fn large_frames_span_packets_with_unbounded_length() {
    let mut muxer = TsMuxer::new(Some(&video_config()), None).unwrap();
    let body: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8 | 1).collect();
    let mut frame = (body.len() as u32 + 1).to_be_bytes().to_vec();
    frame.push(0x41);
    frame.extend_from_slice(&body);
    let mut out = Vec::new();
    muxer
        .write_frame(&video_frame(0, 0, false, &frame), &mut out)
        .unwrap();
    let (packets, pes) = demux(&out);
    assert!(packets.len() > 500);
    let pes = &pes[&VIDEO_PID][0];
    assert_eq!(pes.data.len(), AUD.len() + 4 + 1 + body.len());
    assert_eq!(&pes.data[AUD.len() + 5..], &body[..]);
}

#[test]
fn timestamps_wrap_at_33_bits() {
    let mut muxer = TsMuxer::new(Some(&video_config()), None).unwrap();
    let mut out = Vec::new();
    let frame = video_frame((1 << 33) + 5, (1 << 33) + 5, true, &[0, 0, 0, 1, 0x65]);
    muxer.write_frame(&frame, &mut out).unwrap();
    let (packets, pes) = demux(&out);
    assert_eq!(pes[&VIDEO_PID][0].pts, 5);
    assert_eq!(packets[2].pcr, Some(5));
}

#[test]
fn error_paths_append_nothing() {
    assert!(matches!(
        TsMuxer::new(None, None),
        Err(MediaError::MissingConfig { .. })
    ));
    let mut video_only = TsMuxer::new(Some(&video_config()), None).unwrap();
    let mut out = Vec::new();
    assert!(matches!(
        video_only.write_frame(&audio_frame(0, &[1]), &mut out),
        Err(MediaError::MissingConfig { .. })
    ));
    assert!(matches!(
        video_only.write_frame(&video_frame(0, 0, true, &[0, 0, 0, 9, 0x65]), &mut out),
        Err(MediaError::Truncated { .. })
    ));
    let mut audio_only = TsMuxer::new(None, Some(&audio_config())).unwrap();
    assert!(matches!(
        audio_only.write_frame(&video_frame(0, 0, true, &[]), &mut out),
        Err(MediaError::MissingConfig { .. })
    ));
    assert!(matches!(
        audio_only.write_frame(&audio_frame(0, &[0; 8190]), &mut out),
        Err(MediaError::TooLarge { .. })
    ));
    assert!(out.is_empty());
}

#[test]
fn configs_the_muxer_cannot_carry_are_refused() {
    let usac = audio_config_from_asc(&[0xF9, 0x46, 0x40]).unwrap();
    assert!(matches!(
        TsMuxer::new(None, Some(&usac)),
        Err(MediaError::Unsupported { .. })
    ));
    let mut broken = video_config();
    broken.avcc = Bytes::from_static(&[1, 2, 3]);
    assert!(TsMuxer::new(Some(&broken), None).is_err());
}

#[test]
fn write_psi_can_be_forced() {
    let mut muxer = TsMuxer::new(Some(&video_config()), None).unwrap();
    let mut out = Vec::new();
    muxer.write_psi(&mut out);
    muxer.write_psi(&mut out);
    let packets = parse_packets(&out);
    assert_eq!(packets.len(), 4);
    assert_eq!((packets[0].cc, packets[2].cc), (0, 1));
}

proptest! {
    #[test]
    fn any_frame_sequence_demuxes_back(
        frames in prop::collection::vec(
            (any::<bool>(), any::<bool>(), 0u32..3000, prop::collection::vec(1u8..=255, 1..2000)),
            1..20,
        ),
    ) {
        let mut muxer = TsMuxer::new(Some(&video_config()), Some(&audio_config())).unwrap();
        let mut out = Vec::new();
        let mut expected_video = Vec::new();
        let mut expected_audio = Vec::new();
        for (i, (is_video, keyframe, cts, body)) in frames.iter().enumerate() {
            let dts = i as i64 * 3000;
            if *is_video {
                // A non-IDR slice header, so the muxer keeps the unit as is.
                let mut avcc = (body.len() as u32 + 1).to_be_bytes().to_vec();
                avcc.push(0x41);
                avcc.extend_from_slice(body);
                let pts = dts + i64::from(*cts);
                muxer.write_frame(&video_frame(dts, pts, *keyframe, &avcc), &mut out).unwrap();
                expected_video.push((pts as u64, body.clone()));
            } else {
                muxer.write_frame(&audio_frame(dts, body), &mut out).unwrap();
                expected_audio.push((dts as u64, body.clone()));
            }
        }
        let (_, pes) = demux(&out);
        let video = pes.get(&VIDEO_PID).map_or(&[][..], |v| &v[..]);
        prop_assert_eq!(video.len(), expected_video.len());
        for (got, (pts, body)) in video.iter().zip(&expected_video) {
            prop_assert_eq!(got.pts, *pts);
            prop_assert!(got.data.starts_with(AUD));
            prop_assert!(got.data.ends_with(body));
        }
        let audio = pes.get(&AUDIO_PID).map_or(&[][..], |v| &v[..]);
        prop_assert_eq!(audio.len(), expected_audio.len());
        for (got, (pts, body)) in audio.iter().zip(&expected_audio) {
            prop_assert_eq!(got.pts, *pts);
            prop_assert_eq!(&got.data[7..], &body[..]);
        }
    }

    #[test]
    fn arbitrary_frame_data_never_panics(
        data in prop::collection::vec(any::<u8>(), 0..600),
        keyframe in any::<bool>(),
        dts in any::<i64>(),
        pts in any::<i64>(),
    ) {
        let mut muxer = TsMuxer::new(Some(&video_config()), Some(&audio_config())).unwrap();
        let mut out = Vec::new();
        let frame = MediaFrame { track: TrackKind::Video, dts, pts, keyframe, data: Bytes::from(data) };
        if muxer.write_frame(&frame, &mut out).is_ok() {
            prop_assert_eq!(out.len() % TS_PACKET_LEN, 0);
        } else {
            prop_assert!(out.is_empty());
        }
        let audio = MediaFrame { track: TrackKind::Audio, ..frame };
        let before = out.len();
        muxer.write_frame(&audio, &mut out).unwrap();
        prop_assert_eq!((out.len() - before) % TS_PACKET_LEN, 0);
    }
}
