use crate::MediaError;
use crate::demux::tests::{TEST_PPS, TEST_SPS};
use crate::demux::{Container, demux};
use crate::frame::TrackKind;

/// Packets of one PID carrying `payload` (the first with payload start),
/// padded with adaptation-field stuffing.
fn packets(pid: u16, payload: &[u8], out: &mut Vec<u8>) {
    for (index, chunk) in payload.chunks(184).enumerate() {
        let start = if index == 0 { 0x40 } else { 0 };
        out.extend_from_slice(&[0x47, start | (pid >> 8) as u8, pid as u8]);
        if chunk.len() == 184 {
            out.push(0x10);
        } else {
            let field = 183 - chunk.len();
            out.push(0x30);
            out.push(field as u8);
            if field > 0 {
                out.push(0); // adaptation flags
                out.extend(std::iter::repeat_n(0xFF, field - 1));
            }
        }
        out.extend_from_slice(chunk);
    }
}

fn section(table_id: u8, body: &[u8]) -> Vec<u8> {
    let length = body.len() + 4; // + CRC (not checked)
    let mut out = vec![0, table_id, 0xB0 | (length >> 8) as u8, length as u8];
    out.extend_from_slice(body);
    out.extend_from_slice(&[0; 4]);
    out
}

fn psi(stream_types: &[(u8, u16)]) -> Vec<u8> {
    let mut out = Vec::new();
    packets(
        0,
        &section(0, &[0, 1, 0xC1, 0, 0, 0, 1, 0xF0, 0x00]),
        &mut out,
    );
    let mut pmt = vec![0, 1, 0xC1, 0, 0, 0xE1, 0x00, 0xF0, 0];
    for &(stream_type, pid) in stream_types {
        pmt.extend_from_slice(&[stream_type, 0xE0 | (pid >> 8) as u8, pid as u8, 0xF0, 0]);
    }
    packets(0x1000, &section(2, &pmt), &mut out);
    out
}

fn time_bytes(prefix: u8, time: i64) -> [u8; 5] {
    [
        (prefix << 4) | (((time >> 30) & 0x07) as u8) << 1 | 1,
        (time >> 22) as u8,
        (((time >> 15) & 0x7F) as u8) << 1 | 1,
        (time >> 7) as u8,
        ((time & 0x7F) as u8) << 1 | 1,
    ]
}

fn pes(stream_id: u8, pts: i64, dts: Option<i64>, data: &[u8]) -> Vec<u8> {
    let mut header = time_bytes(if dts.is_some() { 3 } else { 2 }, pts).to_vec();
    if let Some(dts) = dts {
        header.extend_from_slice(&time_bytes(1, dts));
    }
    let flags = if dts.is_some() { 0xC0 } else { 0x80 };
    let mut out = vec![0, 0, 1, stream_id, 0, 0, 0x80, flags, header.len() as u8];
    out.extend_from_slice(&header);
    out.extend_from_slice(data);
    out
}

fn access_unit() -> Vec<u8> {
    let mut au = vec![0, 0, 0, 1, 0x09, 0xF0];
    for unit in [&TEST_SPS[..], &TEST_PPS, &[0x65, 0x88, 0x84]] {
        au.extend_from_slice(&[0, 0, 0, 1]);
        au.extend_from_slice(unit);
    }
    au
}

/// Two ADTS frames (AAC-LC, 44.1 kHz, mono) of 3 payload bytes each.
fn adts_pair() -> Vec<u8> {
    let frame = [0xFF, 0xF1, 0x50, 0x40, 0x01, 0x5F, 0xFC, 0xA1, 0xA2, 0xA3];
    [frame, frame].concat()
}

fn file(video_pts: &[i64], audio_pts: i64) -> Vec<u8> {
    let mut out = psi(&[(0x1B, 0x100), (0x0F, 0x101)]);
    for &pts in video_pts {
        packets(
            0x100,
            &pes(0xE0, pts + 3000, Some(pts), &access_unit()),
            &mut out,
        );
    }
    packets(0x101, &pes(0xC0, audio_pts, None, &adts_pair()), &mut out);
    out
}

#[test]
fn annex_b_becomes_avcc_without_aud_and_adts_is_split() {
    let demuxed = demux(&file(&[90_000, 93_000], 90_000)).unwrap();
    assert_eq!(demuxed.container, Container::MpegTs);
    assert_eq!(demuxed.audio.as_ref().unwrap().sample_rate, 44_100);
    let video: Vec<_> = demuxed
        .frames
        .iter()
        .filter(|f| f.track == TrackKind::Video)
        .collect();
    assert_eq!(video.len(), 2);
    assert!(video[0].keyframe);
    assert_eq!((video[1].dts, video[1].pts), (3000, 6000));
    assert!(
        !video[0].data.windows(2).any(|w| w == [0x09, 0xF0]),
        "AUD dropped"
    );
    let audio: Vec<_> = demuxed
        .frames
        .iter()
        .filter(|f| f.track == TrackKind::Audio)
        .collect();
    let times: Vec<i64> = audio.iter().map(|f| f.dts).collect();
    assert_eq!(times, [0, 2089], "second frame 1024 samples later");
    assert_eq!(&audio[1].data[..], &[0xA1, 0xA2, 0xA3]);
}

#[test]
fn a_pts_wrap_continues_forward() {
    let near_wrap = (1i64 << 33) - 3000;
    let demuxed = demux(&file(&[near_wrap, 0], near_wrap)).unwrap();
    let video: Vec<i64> = demuxed
        .frames
        .iter()
        .filter(|f| f.track == TrackKind::Video)
        .map(|f| f.dts)
        .collect();
    assert_eq!(video, [0, 3000]);
}

#[test]
fn a_partial_packet_or_lost_sync_is_refused_naming_the_offset() {
    let mut data = file(&[0], 0);
    let error = demux(&data[..data.len() - 100]).unwrap_err();
    assert!(matches!(error, MediaError::Truncated { .. }), "{error}");
    data[188 * 2] = 0x00;
    let error = demux(&data).unwrap_err();
    assert!(error.to_string().contains("offset 376"), "{error}");
}

#[test]
fn other_stream_types_are_refused_by_number_and_data_is_skipped() {
    let error = demux(&psi(&[(0x1B, 0x100), (0x81, 0x101)])).unwrap_err();
    assert!(
        error.to_string().contains("AC-3 audio (stream type 0x81"),
        "{error}"
    );
    let mut data = psi(&[(0x1B, 0x100), (0x06, 0x102)]);
    packets(0x100, &pes(0xE0, 0, None, &access_unit()), &mut data);
    assert_eq!(demux(&data).unwrap().frames.len(), 1);
}
