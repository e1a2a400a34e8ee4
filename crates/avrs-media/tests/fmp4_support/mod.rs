//! Test helpers: configurations, frames, and a reader of MP4 boxes written
//! independently of the crate's writer.
#![allow(dead_code)]

use avrs_media::{AudioConfig, MediaFrame, TrackKind, VideoConfig};
use bytes::Bytes;
use proptest::test_runner::{Config, RngSeed};

/// Property tests run the same cases every time (a fixed seed) and leave
/// no regression files behind.
pub fn proptest_config(cases: u32) -> Config {
    Config {
        cases,
        rng_seed: RngSeed::Fixed(0x5EED_0FA5),
        failure_persistence: None,
        ..Config::default()
    }
}

/// A High-profile 3.1 `avcC` with one tiny SPS and PPS.
pub const AVCC: [u8; 17] = [
    0x01, 0x64, 0x00, 0x1F, 0xFF, 0xE1, 0x00, 0x04, 0x67, 0x64, 0x00, 0x1F, 0x01, 0x00, 0x02, 0x68,
    0xEE,
];

pub fn video_config() -> VideoConfig {
    VideoConfig {
        avcc: Bytes::from_static(&AVCC),
        codec: "avc1.64001F".into(),
        width: 640,
        height: 360,
        nal_length_size: 4,
    }
}

/// AAC-LC, 44.1 kHz, stereo.
pub fn audio_config() -> AudioConfig {
    AudioConfig {
        asc: Bytes::from_static(&[0x12, 0x10]),
        codec: "mp4a.40.2".into(),
        object_type: 2,
        sample_rate: 44_100,
        channels: 2,
    }
}

pub fn video(dts: i64, pts: i64, keyframe: bool, data: &'static [u8]) -> MediaFrame {
    MediaFrame {
        track: TrackKind::Video,
        dts,
        pts,
        keyframe,
        data: Bytes::from_static(data),
    }
}

pub fn audio(dts: i64, data: &'static [u8]) -> MediaFrame {
    MediaFrame {
        track: TrackKind::Audio,
        dts,
        pts: dts,
        keyframe: true,
        data: Bytes::from_static(data),
    }
}

/// One box: its type and its body (after the 8-byte header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mp4Box<'a> {
    pub kind: [u8; 4],
    pub body: &'a [u8],
    /// The whole box, header included.
    pub bytes: &'a [u8],
}

/// Splits `data` into its boxes; panics on anything but well-formed
/// 32-bit boxes, which is what the writer must produce.
pub fn boxes(data: &[u8]) -> Vec<Mp4Box<'_>> {
    let mut out = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        assert!(rest.len() >= 8, "truncated box header");
        let size = u32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
        assert!(size >= 8 && size <= rest.len(), "bad box size {size}");
        out.push(Mp4Box {
            kind: rest[4..8].try_into().unwrap(),
            body: &rest[8..size],
            bytes: &rest[..size],
        });
        rest = &rest[size..];
    }
    out
}

/// The first box of type `kind` among `data`'s boxes.
pub fn child<'a>(data: &'a [u8], kind: &[u8; 4]) -> Mp4Box<'a> {
    *boxes(data)
        .iter()
        .find(|b| &b.kind == kind)
        .unwrap_or_else(|| panic!("no {} box", String::from_utf8_lossy(kind)))
}

/// Follows a path of box types from `data`.
pub fn path<'a>(data: &'a [u8], kinds: &[&[u8; 4]]) -> Mp4Box<'a> {
    let mut current = child(data, kinds[0]);
    for kind in &kinds[1..] {
        current = child(current.body, kind);
    }
    current
}

/// Types of `data`'s boxes, as text.
pub fn kinds(data: &[u8]) -> Vec<String> {
    boxes(data)
        .iter()
        .map(|b| String::from_utf8_lossy(&b.kind).into_owned())
        .collect()
}

pub fn be32(data: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(data[at..at + 4].try_into().unwrap())
}

pub fn be64(data: &[u8], at: usize) -> u64 {
    u64::from_be_bytes(data[at..at + 8].try_into().unwrap())
}

/// One sample as a `trun` describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    pub duration: u32,
    pub size: u32,
    pub flags: u32,
    pub composition_offset: i32,
}

/// A `traf` read back: track, decode time, samples, data offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Traf {
    pub track_id: u32,
    pub base_decode_time: u64,
    pub data_offset: i32,
    pub samples: Vec<Sample>,
}

/// Reads the `traf`s of a fragment (`moof` + `mdat`), assuming the flags
/// the writer uses (every per-sample field present but maybe the offset).
pub fn trafs(fragment: &[u8]) -> Vec<Traf> {
    let moof = child(fragment, b"moof");
    boxes(moof.body)
        .iter()
        .filter(|b| &b.kind == b"traf")
        .map(|traf| {
            let tfhd = child(traf.body, b"tfhd").body;
            let tfdt = child(traf.body, b"tfdt").body;
            let trun = child(traf.body, b"trun").body;
            assert_eq!(tfdt[0], 1, "tfdt version 1");
            let flags = be32(trun, 0) & 0xFF_FFFF;
            let count = be32(trun, 4) as usize;
            let with_cto = flags & 0x800 != 0;
            let stride = if with_cto { 16 } else { 12 };
            let samples = (0..count)
                .map(|i| {
                    let at = 12 + i * stride;
                    Sample {
                        duration: be32(trun, at),
                        size: be32(trun, at + 4),
                        flags: be32(trun, at + 8),
                        composition_offset: if with_cto {
                            be32(trun, at + 12) as i32
                        } else {
                            0
                        },
                    }
                })
                .collect();
            Traf {
                track_id: be32(tfhd, 4),
                base_decode_time: be64(tfdt, 4),
                data_offset: be32(trun, 8) as i32,
                samples,
            }
        })
        .collect()
}
