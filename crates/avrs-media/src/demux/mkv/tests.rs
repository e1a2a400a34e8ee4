use crate::MediaError;
use crate::demux::tests::{idr_frame, test_video_config};
use crate::demux::{Container, demux};
use crate::frame::TrackKind;

/// An element with a 1-byte size (bodies here are < 127 bytes) or an
/// 8-byte size.
fn el(id: u32, body: &[u8]) -> Vec<u8> {
    let mut out = id
        .to_be_bytes()
        .iter()
        .copied()
        .skip_while(|&b| b == 0)
        .collect::<Vec<_>>();
    if body.len() < 127 {
        out.push(0x80 | body.len() as u8);
    } else {
        out.push(0x01);
        out.extend_from_slice(&(body.len() as u64).to_be_bytes()[1..]);
    }
    out.extend_from_slice(body);
    out
}

/// An element of unknown size: its header only.
fn unknown(id: u32) -> Vec<u8> {
    let mut out = id
        .to_be_bytes()
        .iter()
        .copied()
        .skip_while(|&b| b == 0)
        .collect::<Vec<_>>();
    out.push(0xFF);
    out
}

fn header(doc_type: &str) -> Vec<u8> {
    el(0x1A45_DFA3, &el(0x4282, doc_type.as_bytes()))
}

fn tracks(video_codec: &str) -> Vec<u8> {
    let video = [
        el(0xD7, &[1]),
        el(0x83, &[1]),
        el(0x86, video_codec.as_bytes()),
        el(0x63A2, &test_video_config().avcc),
    ]
    .concat();
    // AAC without CodecPrivate: the ASC comes from SamplingFrequency/Channels.
    let audio = [
        el(0xD7, &[2]),
        el(0x83, &[2]),
        el(0x86, b"A_AAC/MPEG4/LC"),
        el(
            0xE1,
            &[el(0xB5, &44_100f32.to_be_bytes()), el(0x9F, &[2])].concat(),
        ),
    ]
    .concat();
    let subtitles = [el(0xD7, &[3]), el(0x83, &[17]), el(0x86, b"S_TEXT/UTF8")].concat();
    el(
        0x1654_AE6B,
        &[el(0xAE, &video), el(0xAE, &audio), el(0xAE, &subtitles)].concat(),
    )
}

fn simple_block(track: u8, time: i16, flags: u8, data: &[u8]) -> Vec<u8> {
    let mut body = vec![0x80 | track];
    body.extend_from_slice(&time.to_be_bytes());
    body.push(flags);
    body.extend_from_slice(data);
    el(0xA3, &body)
}

/// A live-written file: Segment and Cluster of unknown size.
fn live_file(video_codec: &str) -> Vec<u8> {
    let info = el(0x1549_A966, &el(0x2A_D7B1, &1_000_000u32.to_be_bytes()));
    // Video in decode order I0 P2 B1 (presentation 0, 66, 33 ms).
    let cluster = [
        el(0xE7, &[10]),
        simple_block(1, 0, 0x80, &idr_frame()),
        simple_block(1, 66, 0, &[0, 0, 0, 2, 0x41, 0x9A]),
        simple_block(1, 33, 0, &[0, 0, 0, 2, 0x01, 0x9E]),
        // Two Xiph-laced AAC frames of 2 and 3 bytes.
        simple_block(2, 0, 0x82, &[1, 2, 0xA1, 0xA2, 0xB1, 0xB2, 0xB3]),
        simple_block(3, 0, 0x80, b"subtitle"),
    ]
    .concat();
    [
        header("matroska"),
        unknown(0x1853_8067),
        info,
        tracks(video_codec),
        unknown(0x1F43_B675),
        cluster,
        el(0x1254_C367, &[]),
    ]
    .concat()
}

#[test]
fn a_live_written_file_with_unknown_sizes_and_lacing() {
    let demuxed = demux(&live_file("V_MPEG4/ISO/AVC")).unwrap();
    assert_eq!(demuxed.container, Container::Matroska);
    let audio_config = demuxed.audio.as_ref().unwrap();
    assert_eq!(
        (audio_config.sample_rate, audio_config.channels),
        (44_100, 2)
    );
    let video: Vec<(i64, i64, bool)> = demuxed
        .frames
        .iter()
        .filter(|f| f.track == TrackKind::Video)
        .map(|f| (f.dts, f.pts, f.keyframe))
        .collect();
    // dts: sorted pts (0, 33, 66 ms) moved back by one frame.
    assert_eq!(
        video,
        [(0, 2970, true), (2970, 8910, false), (5940, 5940, false)]
    );
    let audio: Vec<(i64, usize)> = demuxed
        .frames
        .iter()
        .filter(|f| f.track == TrackKind::Audio)
        .map(|f| (f.dts, f.data.len()))
        .collect();
    assert_eq!(audio, [(2970, 2), (2970 + 2089, 3)]);
}

#[test]
fn vp9_is_refused_naming_the_codec_id() {
    match demux(&live_file("V_VP9")) {
        Err(MediaError::Unsupported { detail, .. }) => {
            assert!(detail.starts_with("VP9 video (V_VP9)"), "{detail}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_unknown_doc_type_and_a_cut_element_are_refused() {
    let mut file = live_file("V_MPEG4/ISO/AVC");
    let at = file.windows(8).position(|w| w == b"matroska").unwrap();
    file[at..at + 8].copy_from_slice(b"matrosky");
    assert!(demux(&file).unwrap_err().to_string().contains("DocType"));
    let file = live_file("V_MPEG4/ISO/AVC");
    let error = demux(&file[..file.len() - 12]).unwrap_err();
    assert!(matches!(error, MediaError::Truncated { .. }), "{error}");
}
