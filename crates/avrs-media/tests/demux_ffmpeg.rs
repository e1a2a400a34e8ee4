//! Import demuxers against real files: ffmpeg encodes one 4 s source (H.264
//! with B-frames + AAC) and remuxes it with `-c copy` into every container;
//! each demuxed file must carry exactly the source's frames.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use avrs_media::codec::nal::{avcc_nal_units, nal_type};
use avrs_media::demux::{Container, Demuxed, demux};
use avrs_media::{MediaError, TrackKind};

/// The remuxes of the source, with their expected container.
const REMUXES: [(&str, &[&str], Container); 5] = [
    ("faststart.mp4", &["-movflags", "faststart"], Container::Mp4),
    (
        "fragmented.mp4",
        &["-movflags", "frag_keyframe+empty_moov"],
        Container::Mp4,
    ),
    ("remux.mkv", &[], Container::Matroska),
    ("remux.flv", &[], Container::Flv),
    ("remux.ts", &[], Container::MpegTs),
];

struct Fixture {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl Fixture {
    fn file(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.path.join(name)).expect("read generated file")
    }
}

fn ffmpeg(dir: &Path, args: &[&str]) {
    let output = Command::new("ffmpeg")
        .current_dir(dir)
        .args(["-v", "error", "-y", "-nostdin"])
        .args(args)
        .output()
        .expect("ffmpeg is needed for these tests (apt-get install ffmpeg)");
    assert!(
        output.status.success(),
        "ffmpeg {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Generates every file once for all tests of this binary.
fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().to_path_buf();
        ffmpeg(
            &path,
            &[
                "-f",
                "lavfi",
                "-i",
                "testsrc2=size=1280x720:rate=30",
                "-f",
                "lavfi",
                "-i",
                "sine=frequency=440:sample_rate=44100",
                "-t",
                "4",
                "-c:v",
                "libx264",
                "-g",
                "30",
                "-bf",
                "2",
                "-c:a",
                "aac",
                "-pix_fmt",
                "yuv420p",
                "src.mp4",
            ],
        );
        for (name, flags, _) in REMUXES {
            let mut args = vec!["-i", "src.mp4", "-c", "copy"];
            args.extend_from_slice(flags);
            args.push(name);
            ffmpeg(&path, &args);
        }
        Fixture { _dir: dir, path }
    })
}

fn track(demuxed: &Demuxed, kind: TrackKind) -> Vec<&avrs_media::MediaFrame> {
    demuxed.frames.iter().filter(|f| f.track == kind).collect()
}

/// The slice NAL units of each video frame (AUD, SPS, PPS and SEI, which
/// muxers add or drop, are left out).
fn slices(demuxed: &Demuxed) -> Vec<Vec<Vec<u8>>> {
    let length_size = demuxed
        .video
        .as_ref()
        .expect("video config")
        .nal_length_size;
    track(demuxed, TrackKind::Video)
        .iter()
        .map(|frame| {
            avcc_nal_units(&frame.data, length_size)
                .expect("length size")
                .map(|unit| unit.expect("AVCC framing"))
                .filter(|unit| !matches!(nal_type(unit), Some(6..=9)))
                .map(<[u8]>::to_vec)
                .collect()
        })
        .collect()
}

fn check_shape(name: &str, demuxed: &Demuxed) {
    let video = demuxed.video.as_ref().expect("video config");
    assert_eq!((video.width, video.height), (1280, 720), "{name}");
    assert!(
        video.codec.starts_with("avc1.64"),
        "{name}: {}",
        video.codec
    );
    let audio = demuxed.audio.as_ref().expect("audio config");
    assert_eq!((audio.sample_rate, audio.channels), (44_100, 1), "{name}");
    assert_eq!(audio.codec, "mp4a.40.2", "{name}");

    let frames = track(demuxed, TrackKind::Video);
    assert_eq!(frames.len(), 120, "{name}: video frames");
    let keyframes: Vec<usize> = (0..frames.len()).filter(|&i| frames[i].keyframe).collect();
    assert_eq!(keyframes, [0, 30, 60, 90], "{name}: keyframes");
    assert!(frames.iter().all(|f| f.pts >= f.dts), "{name}: pts >= dts");
    let audio_frames = track(demuxed, TrackKind::Audio);
    let expected = 4 * 44_100 / 1024;
    assert!(
        audio_frames.len().abs_diff(expected) <= 2,
        "{name}: {} audio frames",
        audio_frames.len()
    );
    for kind in [frames, audio_frames] {
        assert!(
            kind.windows(2).all(|w| w[0].dts < w[1].dts),
            "{name}: dts increase"
        );
    }
    let first = demuxed.frames.iter().map(|f| f.dts.min(f.pts)).min();
    assert_eq!(first, Some(0), "{name}: times start at 0");
    // Video spans 4 s. The AAC track is longer: the encoder's
    // priming frame (which an edit list would hide, and the demuxers keep),
    // and ffmpeg's fragmented writer stretches the first audio sample.
    let duration = demuxed.duration() as i64;
    // Matroska rounds times to milliseconds.
    let video_span = track_span(&track(demuxed, TrackKind::Video));
    assert!(
        (video_span - 360_000).abs() <= 180,
        "{name}: video span {video_span}"
    );
    assert!(
        (360_000 - 3000..=360_000 + 4 * 2090).contains(&duration),
        "{name}: duration {duration}"
    );
}

fn track_span(frames: &[&avrs_media::MediaFrame]) -> i64 {
    match (frames.first(), frames.len()) {
        (Some(first), n) if n >= 2 => {
            let step = frames[n - 1].dts - frames[n - 2].dts;
            frames[n - 1].dts - first.dts + step
        }
        _ => 0,
    }
}

#[test]
fn every_container_carries_the_source_frames() {
    let fixture = fixture();
    let source = demux(&fixture.file("src.mp4")).expect("src.mp4");
    assert_eq!(source.container, Container::Mp4);
    check_shape("src.mp4", &source);
    let source_slices = slices(&source);
    let source_audio: Vec<_> = track(&source, TrackKind::Audio)
        .iter()
        .map(|f| f.data.clone())
        .collect();
    for (name, _, container) in REMUXES {
        let demuxed = demux(&fixture.file(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(demuxed.container, container, "{name}");
        check_shape(name, &demuxed);
        let frames = slices(&demuxed);
        for (index, (got, want)) in frames.iter().zip(&source_slices).enumerate() {
            assert!(
                got == want,
                "{name}: video frame {index} differs from src.mp4"
            );
        }
        let audio: Vec<_> = track(&demuxed, TrackKind::Audio)
            .iter()
            .map(|f| f.data.clone())
            .collect();
        assert_eq!(audio.len(), source_audio.len(), "{name}: audio frame count");
        assert!(
            audio == source_audio,
            "{name}: audio frames differ from src.mp4"
        );
    }
}

fn unsupported_detail(result: Result<Demuxed, MediaError>) -> String {
    match result {
        Err(MediaError::Unsupported { detail, .. }) => detail,
        other => panic!("expected Unsupported, got {other:?}"),
    }
}

#[test]
fn vp9_and_opus_in_webm_are_refused_naming_vp9() {
    let dir = tempfile::tempdir().expect("tempdir");
    ffmpeg(
        dir.path(),
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=160x120:rate=15",
            "-f",
            "lavfi",
            "-i",
            "sine=sample_rate=48000",
            "-t",
            "1",
            "-c:v",
            "libvpx-vp9",
            "-deadline",
            "realtime",
            "-c:a",
            "libopus",
            "vp9.webm",
        ],
    );
    let data = std::fs::read(dir.path().join("vp9.webm")).expect("read");
    let detail = unsupported_detail(demux(&data));
    assert!(
        detail.contains("VP9") && detail.contains("V_VP9"),
        "{detail}"
    );
}

#[test]
fn mp2_audio_in_ts_is_refused_naming_the_stream_type() {
    let dir = tempfile::tempdir().expect("tempdir");
    ffmpeg(
        dir.path(),
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=160x120:rate=15",
            "-f",
            "lavfi",
            "-i",
            "sine",
            "-t",
            "1",
            "-c:v",
            "libx264",
            "-c:a",
            "mp2",
            "mp2.ts",
        ],
    );
    let data = std::fs::read(dir.path().join("mp2.ts")).expect("read");
    let detail = unsupported_detail(demux(&data));
    assert!(
        detail.contains("stream type 0x03") || detail.contains("stream type 0x04"),
        "{detail}"
    );
}

/// Offsets where an MP4 file's top-level boxes end: cutting there leaves a
/// well-formed (shorter) fragmented file.
fn mp4_box_ends(data: &[u8]) -> Vec<usize> {
    let mut ends = Vec::new();
    let mut pos = 0usize;
    while let Some(size) = data.get(pos..pos + 4) {
        let size = u32::from_be_bytes(size.try_into().expect("4 bytes")) as usize;
        if size < 8 {
            break;
        }
        pos += size;
        ends.push(pos);
    }
    ends
}

/// Offsets where an FLV file's tags end.
fn flv_tag_ends(data: &[u8]) -> Vec<usize> {
    let mut ends = Vec::new();
    let mut pos = 13usize;
    while let Some(header) = data.get(pos..pos + 4) {
        let size = u32::from_be_bytes([0, header[1], header[2], header[3]]) as usize;
        pos += 11 + size + 4;
        ends.push(pos);
    }
    ends
}

#[test]
fn truncated_files_are_refused_without_panicking() {
    let fixture = fixture();
    let mut names = vec!["src.mp4"];
    names.extend(REMUXES.iter().map(|(name, _, _)| *name));
    for name in names {
        let data = fixture.file(name);
        let boundaries = match name {
            "fragmented.mp4" => mp4_box_ends(&data),
            "remux.flv" => flv_tag_ends(&data),
            "remux.ts" => (0..data.len()).step_by(188).collect(),
            _ => Vec::new(),
        };
        // Many cuts near the start (headers, tables) and spread over the rest.
        let cuts = (0..400).chain((0..60).map(|i| data.len() * i / 60 + 7));
        for cut in cuts.filter(|&cut| cut < data.len()) {
            let result = demux(&data[..cut]);
            if !boundaries.contains(&cut) {
                assert!(result.is_err(), "{name} cut at {cut} was accepted");
            }
        }
    }
}
