//! `avrs serve` end to end, as a user runs it: the real binary, real ffmpeg
//! publishing over RTMP, real ffmpeg/ffprobe reading HTTP-FLV, the JSON API
//! and metrics read over HTTP, then SIGTERM and a clean exit.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("-version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A running `avrs serve` on ephemeral loopback ports.
struct Server {
    child: Child,
    rtmp: SocketAddr,
    http: SocketAddr,
}

impl Server {
    fn start(data_dir: &std::path::Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_avrs"))
            .args([
                "serve",
                "--rtmp",
                "127.0.0.1:0",
                "--http",
                "127.0.0.1:0",
                "--quic",
                "127.0.0.1:0",
            ])
            // Viewers end 1 s after the publisher leaves (default 60 s).
            .args(["--reconnect-timeout", "1s"])
            .arg("--data-dir")
            .arg(data_dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start avrs serve");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let listening = lines
            .by_ref()
            .map(|l| l.unwrap())
            .find(|l| l.starts_with("avrs listening:"))
            .expect("avrs serve prints its listening line");
        // "avrs listening: rtmp ADDR http ADDR"
        let words: Vec<&str> = listening.split_whitespace().collect();
        let rtmp = words[3].parse().unwrap();
        let http = words[5].parse().unwrap();
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Server { child, rtmp, http }
    }

    fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        wait_with_deadline(&mut self.child, Duration::from_secs(10)).expect("exits after SIGTERM")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_with_deadline(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A minimal HTTP/1.0 GET: status code and body.
fn http_get(address: SocketAddr, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(stream, "GET {path} HTTP/1.0\r\nHost: test\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response[9..12].parse().unwrap();
    let body = response
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_owned();
    (status, body)
}

/// Polls `check` every 20 ms until it holds or `limit` passes.
fn wait_until(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

fn publish(rtmp: SocketAddr, name: &str, seconds: u32) -> Child {
    Command::new("ffmpeg")
        .args(["-v", "error", "-re"])
        .args(["-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30"])
        .args(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100"])
        .args(["-t", &seconds.to_string()])
        .args([
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-tune",
            "zerolatency",
            "-g",
            "30",
        ])
        .args(["-c:a", "aac", "-f", "flv"])
        .arg(format!("rtmp://{rtmp}/live/{name}"))
        .stdin(Stdio::null())
        .spawn()
        .expect("start ffmpeg publisher")
}

#[derive(Debug, Default)]
struct Probe {
    video_frames: usize,
    audio_frames: usize,
    video_pts: Vec<f64>,
}

/// Decodes `file` fully: returns ffmpeg's error output and per-stream counts.
fn probe(file: &std::path::Path) -> (String, Probe) {
    let decode = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(file)
        .args(["-f", "null", "-"])
        .output()
        .unwrap();
    let errors = String::from_utf8_lossy(&decode.stderr).into_owned();
    let frames = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "frame=media_type,pts_time",
            "-of",
            "csv=p=0",
        ])
        .arg(file)
        .output()
        .unwrap();
    let mut result = Probe::default();
    for line in String::from_utf8_lossy(&frames.stdout).lines() {
        let mut fields = line.split(',');
        match (fields.next(), fields.next()) {
            (Some("video"), pts) => {
                result.video_frames += 1;
                if let Some(pts) = pts.and_then(|p| p.parse().ok()) {
                    result.video_pts.push(pts);
                }
            }
            (Some("audio"), _) => result.audio_frames += 1,
            _ => {}
        }
    }
    (errors, result)
}

#[test]
fn serve_takes_rtmp_from_ffmpeg_and_serves_http_flv_api_and_metrics() {
    if !have("ffmpeg") || !have("ffprobe") {
        eprintln!("SKIP: ffmpeg/ffprobe not installed (scripts/test-all installs them)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    assert!(dir.path().join("data").is_dir(), "the data dir is created");

    let mut publisher = publish(server.rtmp, "e2e", 6);
    let live = wait_until(Duration::from_secs(15), || {
        http_get(server.http, "/api/streams")
            .1
            .contains("\"live/e2e\"")
    });
    assert!(live, "the stream shows up in /api/streams");

    let out = dir.path().join("viewer.flv");
    let viewer = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(format!("http://{}/live/e2e.flv", server.http))
        .args(["-c", "copy", "-f", "flv", "-y"])
        .arg(&out)
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start ffmpeg viewer");

    // While live: the API and the metrics see the stream and its viewer.
    let mut stream = serde_json::Value::Null;
    let watched = wait_until(Duration::from_secs(10), || {
        let (_, body) = http_get(server.http, "/api/streams");
        let list: serde_json::Value = serde_json::from_str(&body).unwrap();
        stream = list[0].clone();
        stream["viewers"]["http_flv"] == 1
    });
    assert!(watched, "the HTTP-FLV viewer is counted: {stream}");
    assert_eq!(stream["name"], "live/e2e");
    assert_eq!(stream["publishing"], true);
    assert_eq!(stream["width"], 1280);
    assert_eq!(stream["height"], 720);
    assert!(stream["video_codec"].as_str().unwrap().starts_with("avc1."));
    assert_eq!(stream["audio_codec"], "mp4a.40.2");
    assert!(stream["content_id"].as_str().unwrap().contains('-'));
    let (status, metrics) = http_get(server.http, "/metrics");
    assert_eq!(status, 200);
    let metric = |prefix: &str| {
        metrics
            .lines()
            .find(|l| l.starts_with(prefix))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or_else(|| panic!("metric {prefix} in:\n{metrics}"))
    };
    assert!(metric("avrs_stream_frames_in_total{stream=\"live/e2e\"}") > 0);
    assert!(metric("avrs_stream_bytes_in_total{stream=\"live/e2e\"}") > 0);
    assert_eq!(
        metric("avrs_stream_viewers{stream=\"live/e2e\",protocol=\"http_flv\"}"),
        1
    );
    assert_eq!(metric("avrs_http_connections"), 1);
    assert_eq!(metric("avrs_rtmp_connections"), 1, "the publisher");

    assert!(
        publisher.wait().unwrap().success(),
        "publisher ran to the end"
    );
    let viewer = viewer.wait_with_output().unwrap();
    assert!(
        viewer.status.success(),
        "viewer: {}",
        String::from_utf8_lossy(&viewer.stderr)
    );

    let (errors, probe) = probe(&out);
    assert_eq!(errors, "", "the HTTP-FLV recording decodes without errors");
    // The viewer joined up to a few seconds into a 6 s, 30 fps publish.
    assert!(probe.video_frames >= 45, "video frames: {probe:?}");
    assert!(probe.video_frames <= 181, "video frames: {probe:?}");
    assert!(probe.audio_frames >= 60, "audio frames: {probe:?}");
    let pts = &probe.video_pts;
    assert!(pts.windows(2).all(|w| w[0] < w[1]), "monotonic video pts");
    let frame_span = (pts[pts.len() - 1] - pts[0]) * 30.0 + 1.0;
    assert!(
        (frame_span - probe.video_frames as f64).abs() <= 2.0,
        "no frame lost inside the viewed span: {} frames over {frame_span} slots",
        probe.video_frames
    );

    let (status, body) = http_get(server.http, "/live/absent.flv");
    assert_eq!(status, 404, "{body}");

    let status = server.terminate();
    assert!(status.success(), "clean exit on SIGTERM: {status:?}");
}
