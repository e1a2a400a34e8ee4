//! End to end with real tools: ffmpeg encodes H.264 + AAC into FLV, a small
//! FLV reader of this file turns it into frames, the packager writes init,
//! segments and a playlist to disk, and ffmpeg and ffprobe must decode them
//! without a single error, with the frame counts of the input.
//!
//! Skips (with a printed reason) only when ffmpeg or ffprobe is missing.

mod fmp4_support;

use std::fs;
use std::path::Path;
use std::process::Command;

use avrs_media::hls::{
    Lookup, Packager, PackagerConfig, Resource, check_media_playlist, media_playlist,
    plain_media_playlist,
};
use avrs_media::{AudioConfig, MediaFrame, TrackKind, VideoConfig};
use bytes::Bytes;

fn tools_present() -> bool {
    let found = ["ffmpeg", "ffprobe"]
        .iter()
        .all(|tool| Command::new(tool).arg("-version").output().is_ok());
    if !found {
        println!("skipped: ffmpeg or ffprobe not installed");
    }
    found
}

/// Encodes 4 s of test pattern and tone to FLV with `bframes` B-frames.
fn encode(dir: &Path, bframes: u32) -> Vec<u8> {
    let out = dir.join("in.flv");
    let status = Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=640x360:rate=30",
        ])
        .args(["-f", "lavfi", "-i", "sine=frequency=440", "-t", "4"])
        .args(["-c:v", "libx264", "-g", "30", "-bf", &bframes.to_string()])
        .args(["-c:a", "aac", "-f", "flv"])
        .arg(&out)
        .status()
        .expect("run ffmpeg");
    assert!(status.success(), "ffmpeg could not encode the input");
    fs::read(out).unwrap()
}

/// What the FLV holds, as the packager wants it.
struct Input {
    video: VideoConfig,
    audio: AudioConfig,
    frames: Vec<MediaFrame>,
}

/// A minimal FLV reader (FLV spec v10, annex E): header, then tags of
/// type 8 (audio) and 9 (video), each followed by its back pointer.
fn read_flv(data: &[u8]) -> Input {
    assert_eq!(&data[..3], b"FLV");
    let header_len = u32::from_be_bytes(data[5..9].try_into().unwrap()) as usize;
    let mut at = header_len + 4;
    let (mut avcc, mut asc, mut frames) = (None, None, Vec::new());
    while at + 11 <= data.len() {
        let kind = data[at];
        let size = u32::from_be_bytes([0, data[at + 1], data[at + 2], data[at + 3]]) as usize;
        let ms = u32::from_be_bytes([data[at + 7], data[at + 4], data[at + 5], data[at + 6]]);
        let body = &data[at + 11..at + 11 + size];
        let dts = i64::from(ms) * 90;
        match kind {
            9 => video_tag(body, dts, &mut avcc, &mut frames),
            8 => audio_tag(body, dts, &mut asc, &mut frames),
            _ => {}
        }
        at += 11 + size + 4;
    }
    let avcc: Bytes = avcc.expect("AVC sequence header");
    let asc: Bytes = asc.expect("AAC sequence header");
    let video = VideoConfig {
        codec: format!("avc1.{:02X}{:02X}{:02X}", avcc[1], avcc[2], avcc[3]),
        nal_length_size: (avcc[4] & 3) + 1,
        avcc,
        width: 640,
        height: 360,
    };
    const RATES: [u32; 13] = [
        96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350,
    ];
    let rate_index = (((asc[0] & 7) << 1) | (asc[1] >> 7)) as usize;
    let audio = AudioConfig {
        codec: format!("mp4a.40.{}", asc[0] >> 3),
        object_type: asc[0] >> 3,
        sample_rate: RATES[rate_index],
        channels: (asc[1] >> 3) & 0x0F,
        asc,
    };
    Input {
        video,
        audio,
        frames,
    }
}

/// Video tag: frame type and codec, AVC packet type, composition time
/// (signed 24 bits, ms), then an avcC (type 0) or AVCC NAL units (type 1).
fn video_tag(body: &[u8], dts: i64, avcc: &mut Option<Bytes>, frames: &mut Vec<MediaFrame>) {
    assert_eq!(body[0] & 0x0F, 7, "AVC");
    let cts = (i32::from_be_bytes([body[2], body[3], body[4], 0]) >> 8) as i64 * 90;
    let payload = Bytes::copy_from_slice(&body[5..]);
    match body[1] {
        0 => *avcc = Some(payload),
        1 => frames.push(MediaFrame {
            track: TrackKind::Video,
            dts,
            pts: dts + cts,
            keyframe: body[0] >> 4 == 1,
            data: payload,
        }),
        _ => {}
    }
}

/// Audio tag: sound format 10 (AAC), AAC packet type, then an ASC (type 0)
/// or a raw AAC frame (type 1).
fn audio_tag(body: &[u8], dts: i64, asc: &mut Option<Bytes>, frames: &mut Vec<MediaFrame>) {
    assert_eq!(body[0] >> 4, 10, "AAC");
    let payload = Bytes::copy_from_slice(&body[2..]);
    match body[1] {
        0 => *asc = Some(payload),
        _ => frames.push(MediaFrame {
            track: TrackKind::Audio,
            dts,
            pts: dts,
            keyframe: true,
            data: payload,
        }),
    }
}

/// Packages the input and writes every resource the playlist names.
fn package(dir: &Path, input: &Input) -> Packager {
    let config = PackagerConfig {
        window: 100,
        ..PackagerConfig::default()
    };
    let mut packager = Packager::new(
        &config,
        Some(input.video.clone()),
        Some(input.audio.clone()),
    )
    .unwrap();
    for frame in &input.frames {
        packager.push(frame.clone()).unwrap();
    }
    packager.finish().unwrap();
    let timeline = packager.timeline();
    let playlist = media_playlist(timeline);
    let report = check_media_playlist(&playlist).unwrap_or_else(|v| panic!("{v:#?}\n{playlist}"));
    fs::write(dir.join("index.m3u8"), &playlist).unwrap();
    fs::write(dir.join("plain.m3u8"), plain_media_playlist(timeline)).unwrap();
    let names = report
        .segments
        .iter()
        .map(|s| s.uri.clone())
        .chain(report.parts().map(|p| p.uri.clone()))
        .chain(report.segments.iter().filter_map(|s| s.map_uri.clone()));
    for name in names {
        let Lookup::Ready(pieces) = timeline.lookup(Resource::parse(&name).unwrap()) else {
            panic!("{name} not served");
        };
        fs::write(dir.join(&name), pieces.concat()).unwrap();
    }
    packager
}

/// Decodes `playlist` to nothing; returns ffmpeg's error output.
fn decode_errors(dir: &Path, playlist: &str) -> String {
    let output = Command::new("ffmpeg")
        .current_dir(dir)
        .args(["-v", "error", "-i", playlist, "-f", "null", "-"])
        .output()
        .unwrap();
    assert!(output.status.success(), "ffmpeg failed on {playlist}");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Per stream: codec type and decoded frame count, and the duration.
fn probe(dir: &Path, playlist: &str) -> (Vec<(String, u64)>, f64) {
    let output = Command::new("ffprobe")
        .current_dir(dir)
        .args(["-v", "error", "-count_frames", "-of", "compact=p=0:nk=1"])
        .args([
            "-show_entries",
            "stream=codec_type,nb_read_frames:format=duration",
        ])
        .arg(playlist)
        .output()
        .unwrap();
    assert!(output.status.success(), "ffprobe failed");
    let text = String::from_utf8_lossy(&output.stdout);
    let mut streams = Vec::new();
    let mut duration = 0.0;
    for line in text.lines().filter(|l| !l.is_empty()) {
        let fields: Vec<&str> = line.split('|').collect();
        match fields.as_slice() {
            [kind, count] => streams.push((kind.to_string(), count.parse().unwrap())),
            [seconds] => duration = seconds.parse().unwrap_or_else(|_| panic!("{text}")),
            _ => panic!("unexpected ffprobe line {line:?} in {text}"),
        }
    }
    (streams, duration)
}

fn round_trip(bframes: u32) {
    if !tools_present() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let input = read_flv(&encode(dir.path(), bframes));
    let count = |kind| input.frames.iter().filter(|f| f.track == kind).count() as u64;
    let (video_in, audio_in) = (count(TrackKind::Video), count(TrackKind::Audio));
    assert_eq!(video_in, 120, "4 s at 30 fps");
    if bframes > 0 {
        assert!(
            input.frames.iter().any(|f| f.pts != f.dts),
            "B-frames shift presentation"
        );
    }
    let packager = package(dir.path(), &input);
    assert!(packager.timeline().segments().len() >= 2);

    for playlist in ["index.m3u8", "plain.m3u8"] {
        assert_eq!(
            decode_errors(dir.path(), playlist),
            "",
            "errors decoding {playlist}"
        );
        let (streams, duration) = probe(dir.path(), playlist);
        let frames_of = |kind: &str| streams.iter().find(|(k, _)| k == kind).map(|(_, n)| *n);
        assert_eq!(
            frames_of("video"),
            Some(video_in),
            "{playlist}: {streams:?}"
        );
        let audio_out = frames_of("audio").expect("an audio stream");
        assert!(
            audio_out.abs_diff(audio_in) <= 1,
            "{playlist}: {audio_out} of {audio_in} audio frames"
        );
        assert!(
            (duration - 4.0).abs() < 0.15,
            "{playlist}: duration {duration}"
        );
    }
}

#[test]
fn ffmpeg_decodes_packaged_h264_and_aac() {
    round_trip(0);
}

#[test]
fn ffmpeg_decodes_packaged_stream_with_b_frames() {
    round_trip(2);
}
