//! `avrs play` end to end: the real `avrs serve`, ffmpeg publishing over
//! RTMP, `avrs play` over native AVRS (QUIC) writing FLV, MPEG-TS and FLV on
//! stdout, and ffmpeg/ffprobe checking what it wrote.

mod support;

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};
use support::{Server, have, http_get, publish_ffmpeg as publish, wait_until};

fn play(server: &Server, name: &str, out: &str, extra: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_avrs"));
    command
        .arg("play")
        .arg(format!("avrs://{}/live/{name}", server.quic))
        .args(["--out", out])
        .args(extra)
        .stdin(Stdio::null());
    command
}

/// Waits for a child with a deadline, killing it past that.
fn finish(mut child: Child, limit: Duration, what: &str) -> Output {
    let deadline = Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{what} did not end within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

#[derive(Debug, Default)]
struct Probe {
    codecs: Vec<String>,
    video_pts: Vec<f64>,
    audio_pts: Vec<f64>,
}

/// What ffmpeg says decoding `file` (nothing when clean), and ffprobe's view.
fn probe(file: &Path) -> (String, Probe) {
    let decode = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(file)
        .args(["-f", "null", "-"])
        .output()
        .unwrap();
    let errors = String::from_utf8_lossy(&decode.stderr).into_owned();
    let streams = Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "stream=codec_name"])
        .args(["-of", "csv=p=0"])
        .arg(file)
        .output()
        .unwrap();
    let frames = Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "frame=media_type,pts_time"])
        .args(["-of", "csv=p=0"])
        .arg(file)
        .output()
        .unwrap();
    let mut result = Probe {
        codecs: String::from_utf8_lossy(&streams.stdout)
            .lines()
            .map(|l| l.trim_end_matches(',').to_owned())
            .collect(),
        ..Probe::default()
    };
    for line in String::from_utf8_lossy(&frames.stdout).lines() {
        let mut fields = line.split(',');
        let (kind, pts) = (fields.next(), fields.next().and_then(|p| p.parse().ok()));
        match (kind, pts) {
            (Some("video"), Some(pts)) => result.video_pts.push(pts),
            (Some("audio"), Some(pts)) => result.audio_pts.push(pts),
            _ => {}
        }
    }
    (errors, result)
}

/// A clean recording of both tracks with no frame missing: video frames
/// 1/30 s apart from the first to the last (a lost frame or group shows as
/// a hole), audio spanning the same time.
fn assert_clean(file: &Path, min_seconds: f64, max_seconds: f64) {
    let (errors, probe) = probe(file);
    let name = file.display();
    assert_eq!(errors, "", "{name} decodes without errors");
    assert!(
        probe.codecs.contains(&"h264".to_owned()),
        "{name}: {probe:?}"
    );
    assert!(
        probe.codecs.contains(&"aac".to_owned()),
        "{name}: {probe:?}"
    );
    let mut video = probe.video_pts.clone();
    video.sort_by(f64::total_cmp);
    let (first, last) = (video[0], video[video.len() - 1]);
    let span = last - first;
    assert!(
        (min_seconds..=max_seconds).contains(&span),
        "{name}: {span} s of video, frames {}",
        video.len()
    );
    let expected = (span * 30.0).round() as usize + 1;
    assert!(
        video.len().abs_diff(expected) <= 1,
        "{name}: {} video frames over {span} s, expected {expected}",
        video.len()
    );
    assert!(
        video.windows(2).all(|w| w[1] - w[0] < 0.05),
        "{name}: no hole in the video"
    );
    let audio = &probe.audio_pts;
    assert!(
        audio.windows(2).all(|w| w[0] < w[1]),
        "{name}: monotonic audio pts"
    );
    let audio_span = audio[audio.len() - 1] - audio[0];
    assert!(
        (audio_span - span).abs() < 0.5,
        "{name}: audio {audio_span} s, video {span} s"
    );
}

#[test]
fn play_writes_flv_ts_and_stdout_that_ffmpeg_reads() {
    if !have("ffmpeg") || !have("ffprobe") {
        eprintln!("SKIP: ffmpeg/ffprobe not installed (scripts/test-all installs them)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let mut publisher = publish(server.rtmp, "p", 6);
    let live = wait_until(Duration::from_secs(15), || {
        http_get(server.http, "/api/streams").contains("\"live/p\"")
    });
    assert!(live, "the stream is live");

    let flv = dir.path().join("out.flv");
    let ts = dir.path().join("out.ts");
    let short = dir.path().join("short.flv");
    let to_flv = play(&server, "p", flv.to_str().unwrap(), &[])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let to_ts = play(&server, "p", ts.to_str().unwrap(), &[])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let two_seconds = play(&server, "p", short.to_str().unwrap(), &["--duration", "2"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut to_stdout = play(&server, "p", "-", &[])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let piped = Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "stream=codec_name"])
        .args(["-of", "csv=p=0", "-"])
        .stdin(to_stdout.stdout.take().unwrap())
        .output()
        .unwrap();

    assert!(
        publisher.wait().unwrap().success(),
        "publisher ran to the end"
    );
    let limit = Duration::from_secs(20);
    for (child, what) in [
        (to_flv, "play to FLV"),
        (to_ts, "play to TS"),
        (two_seconds, "play --duration 2"),
        (to_stdout, "play to stdout"),
    ] {
        let output = finish(child, limit, what);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{what}: {stderr}");
        // Every frame came signed by the node and verified.
        assert!(
            stderr.contains("dropped as corrupted 0, unsigned 0")
                && !stderr.contains("frames verified 0,"),
            "{what}: {stderr}"
        );
    }
    let codecs = String::from_utf8_lossy(&piped.stdout);
    assert!(
        codecs.contains("h264") && codecs.contains("aac"),
        "ffprobe on the pipe: {codecs} {}",
        String::from_utf8_lossy(&piped.stderr)
    );
    // Joined at most a few seconds into a 6 s publish (often at its first
    // keyframe), played to the end.
    assert_clean(&flv, 2.5, 6.0);
    assert_clean(&ts, 2.5, 6.0);
    // 2 s of media, stopped before the frame at 2 s.
    assert_clean(&short, 1.9, 2.0);
}

#[test]
fn play_explains_what_went_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let out = dir.path().join("none.flv");
    // With a post-quantum session key from a key file: the OPEN passes, the
    // content is what is missing.
    let key = dir.path().join("viewer.key");
    let keygen = Command::new(env!("CARGO_BIN_EXE_avrs"))
        .args(["keygen", "--alg", "ml-dsa-65", "--out"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(keygen.status.success());
    let missing = play(&server, "none", out.to_str().unwrap(), &["--key"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(!missing.status.success());
    let text = String::from_utf8_lossy(&missing.stderr);
    assert!(text.contains("CONTENT_NOT_FOUND"), "{text}");
    assert!(text.contains("live/none"), "{text}");

    // Nothing listens on this UDP port.
    let idle = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_avrs"))
        .arg("play")
        .arg(format!("avrs://{}/live/x", idle.local_addr().unwrap()))
        .args(["--out", out.to_str().unwrap(), "--connect-timeout", "0.5"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let text = String::from_utf8_lossy(&output.stderr);
    assert!(text.contains("no answer"), "{text}");

    let bad = Command::new(env!("CARGO_BIN_EXE_avrs"))
        .args(["play", "http://x/live/y", "--out", "-"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("avrs://HOST:PORT/live/NAME"));
}
