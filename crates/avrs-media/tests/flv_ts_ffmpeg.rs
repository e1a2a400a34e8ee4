//! End to end against ffmpeg: demux the ffmpeg-made fixture, mux its frames
//! back into FLV and into MPEG-TS, and let ffprobe/ffmpeg judge the files.
//! Skips (with a printed reason) only when ffmpeg is not installed.

use std::path::Path;
use std::process::Command;

use avrs_media::flv::{FlvDemuxer, TagMedia, frame_tag, stream_head, tag_to_media};
use avrs_media::ts::TsMuxer;
use avrs_media::{AudioConfig, MediaFrame, TrackKind, VideoConfig};

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/testsrc2-720p30-aac.flv"
);
const VIDEO_FRAMES: u64 = 30;
const AUDIO_FRAMES: u64 = 45;

struct Media {
    video: VideoConfig,
    audio: AudioConfig,
    frames: Vec<MediaFrame>,
}

fn demux_flv(data: &[u8]) -> Media {
    let mut demuxer = FlvDemuxer::default();
    demuxer.push(data);
    let (mut video, mut audio, mut frames) = (None, None, Vec::new());
    while let Some(tag) = demuxer.next_tag().unwrap() {
        match tag_to_media(&tag).unwrap() {
            TagMedia::VideoConfig(v) => video = Some(v),
            TagMedia::AudioConfig(a) => audio = Some(a),
            TagMedia::Frame(f) => frames.push(f),
            TagMedia::EndOfSequence(_) | TagMedia::Skipped => {}
        }
    }
    Media {
        video: video.expect("video config"),
        audio: audio.expect("audio config"),
        frames,
    }
}

fn mux_flv(media: &Media) -> Vec<u8> {
    let mut out = stream_head(Some(&media.video), Some(&media.audio)).unwrap();
    for frame in &media.frames {
        out.extend_from_slice(&frame_tag(frame).unwrap());
    }
    out
}

fn mux_ts(media: &Media) -> Vec<u8> {
    let mut muxer = TsMuxer::new(Some(&media.video), Some(&media.audio)).unwrap();
    let mut out = Vec::new();
    for frame in &media.frames {
        muxer.write_frame(frame, &mut out).unwrap();
    }
    out
}

fn ffmpeg_available() -> bool {
    ["ffmpeg", "ffprobe"].iter().all(|tool| {
        Command::new(tool)
            .arg("-version")
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

/// Runs a tool, asserting success and an empty error log.
fn run_clean(tool: &str, args: &[&str]) -> String {
    let output = Command::new(tool).args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{tool} {args:?} failed: {stderr}");
    assert!(
        stderr.trim().is_empty(),
        "{tool} {args:?} reported: {stderr}"
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Checks both streams with ffprobe (codecs, size, packet and frame counts)
/// and decodes the whole file with ffmpeg.
fn check_with_ffmpeg(path: &Path) {
    let path = path.to_str().unwrap();
    let json = run_clean(
        "ffprobe",
        &[
            "-v",
            "error",
            "-count_packets",
            "-count_frames",
            "-show_entries",
            "stream=codec_name,width,height,nb_read_packets,nb_read_frames",
            "-of",
            "json",
            path,
        ],
    );
    let probe: serde_json::Value = serde_json::from_str(&json).unwrap();
    let streams = probe["streams"].as_array().unwrap();
    assert_eq!(streams.len(), 2, "{path}: {probe}");
    let stream = |codec: &str| {
        streams
            .iter()
            .find(|s| s["codec_name"] == codec)
            .unwrap_or_else(|| panic!("{path}: no {codec} stream in {probe}"))
    };
    let count = |s: &serde_json::Value, key: &str| s[key].as_str().unwrap().parse::<u64>().unwrap();
    let video = stream("h264");
    assert_eq!(
        (video["width"].as_u64(), video["height"].as_u64()),
        (Some(1280), Some(720))
    );
    assert_eq!(count(video, "nb_read_packets"), VIDEO_FRAMES, "{path}");
    assert_eq!(count(video, "nb_read_frames"), VIDEO_FRAMES, "{path}");
    assert_eq!(
        count(stream("aac"), "nb_read_packets"),
        AUDIO_FRAMES,
        "{path}"
    );
    run_clean("ffmpeg", &["-v", "error", "-i", path, "-f", "null", "-"]);
}

#[test]
fn remuxed_flv_and_ts_play_in_ffmpeg() {
    let media = demux_flv(&std::fs::read(FIXTURE).unwrap());
    let count = |track| media.frames.iter().filter(|f| f.track == track).count() as u64;
    assert_eq!(
        (count(TrackKind::Video), count(TrackKind::Audio)),
        (VIDEO_FRAMES, AUDIO_FRAMES)
    );

    let flv = mux_flv(&media);
    let again = demux_flv(&flv);
    assert_eq!(
        again.frames, media.frames,
        "our FLV demuxes to the same frames"
    );
    assert_eq!(
        (again.video, again.audio),
        (media.video.clone(), media.audio.clone())
    );
    let ts = mux_ts(&media);
    assert_eq!(ts.len() % 188, 0);

    if !ffmpeg_available() {
        println!("SKIPPED: ffmpeg/ffprobe not installed; install ffmpeg to run this check");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in [("remux.flv", &flv), ("remux.ts", &ts)] {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        check_with_ffmpeg(&path);
    }
}
