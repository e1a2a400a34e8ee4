//! `avrs serve` end to end, as a user runs it: the real binary, real ffmpeg
//! publishing over RTMP, real ffmpeg/ffprobe reading HTTP-FLV, the JSON API
//! and metrics read over HTTP, then SIGTERM and a clean exit.

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;
use support::{Server, have, probe, publish_ffmpeg as publish, status_and_body, wait_until};

/// GET over HTTP/1.0: status code and body.
fn http_get(address: std::net::SocketAddr, path: &str) -> (u16, String) {
    let response = support::http_get(address, path);
    let (status, body) = status_and_body(&response);
    (status, body.to_owned())
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

    let probe = probe(&out);
    assert_eq!(
        probe.errors, "",
        "the HTTP-FLV recording decodes without errors"
    );
    // The viewer joined up to a few seconds into a 6 s, 30 fps publish.
    let pts = &probe.video_pts;
    let (video_frames, audio_frames) = (pts.len(), probe.audio_pts.len());
    assert!(video_frames >= 45, "video frames: {video_frames}");
    assert!(video_frames <= 181, "video frames: {video_frames}");
    assert!(audio_frames >= 60, "audio frames: {audio_frames}");
    assert!(pts.windows(2).all(|w| w[0] < w[1]), "monotonic video pts");
    let frame_span = (pts[pts.len() - 1] - pts[0]) * 30.0 + 1.0;
    assert!(
        (frame_span - video_frames as f64).abs() <= 2.0,
        "no frame lost inside the viewed span: {video_frames} frames over {frame_span} slots"
    );

    let (status, body) = http_get(server.http, "/live/absent.flv");
    assert_eq!(status, 404, "{body}");

    let status = server.terminate();
    assert!(status.success(), "clean exit on SIGTERM: {status:?}");
}
