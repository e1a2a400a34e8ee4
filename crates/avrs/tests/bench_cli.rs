//! `avrs publish --synthetic` and `avrs bench` against a real `avrs serve`,
//! over HTTP-FLV, RTMP, LL-HLS and native AVRS (QUIC): the bench's figures are checked for
//! sense (every viewer connected, no frame lost, latency present and
//! small), never for speed.

use serde_json::Value;
mod support;

use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;
use support::{Server, have, http_get, wait_until};

/// A child killed when the test ends, whatever happens.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn avrs(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_avrs"))
        .args(args)
        .output()
        .expect("run avrs")
}

/// Starts `avrs publish --synthetic` to `live/NAME` and waits until the
/// server lists the stream.
fn publish(server: &Server, name: &str, seconds: u32) -> Reaped {
    let child = Command::new(env!("CARGO_BIN_EXE_avrs"))
        .args(["publish", "--synthetic", "--duration", &seconds.to_string()])
        .arg(format!("rtmp://{}/live/{name}", server.rtmp))
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start avrs publish");
    let publisher = Reaped(child);
    let wanted = format!("\"live/{name}\"");
    let live = wait_until(Duration::from_secs(15), || {
        http_get(server.http, "/api/streams").contains(&wanted)
    });
    assert!(live, "live/{name} shows up in /api/streams");
    publisher
}

/// Runs `avrs bench --json` and returns its report.
fn bench(url: &str, extra: &[&str]) -> Value {
    let mut args = vec!["bench", "--url", url, "--viewers", "5", "--duration", "2"];
    args.extend_from_slice(extra);
    args.push("--json");
    let out = avrs(&args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "bench failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("bad JSON ({e}): {stdout}"))
}

/// What every run against a healthy server must show.
fn assert_clean(report: &Value) {
    let r = report;
    assert_eq!(r["viewers"]["connected"], 5, "{r:#}");
    assert_eq!(r["viewers"]["failed"], 0, "{r:#}");
    assert!(r["frames"]["video"].as_u64().unwrap() > 0, "{r:#}");
    assert_eq!(r["frames"]["lost"], 0, "{r:#}");
    assert_eq!(r["frames"]["unstamped"], 0, "{r:#}");
    assert!(r["throughput_mbit_s"].as_f64().unwrap() > 0.0, "{r:#}");
    // At 30 fps, 5 viewers and a 2 s window give about 300 samples.
    assert!(r["latency_ms"]["count"].as_u64().unwrap() > 100, "{r:#}");
    for figure in ["p50", "p99", "max"] {
        let ms = r["latency_ms"][figure].as_f64().unwrap();
        assert!((0.0..1000.0).contains(&ms), "latency {figure}: {r:#}");
    }
    assert_eq!(r["ttff_ms"]["count"], 5, "{r:#}");
    assert!(r["ttff_ms"]["p99"].as_f64().unwrap() < 1000.0, "{r:#}");
}

#[test]
fn bench_http_flv_viewers_see_every_stamped_frame() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let _publisher = publish(&server, "b", 8);
    let pid = server.child.id().to_string();
    let url = format!("http://{}/live/b.flv", server.http);
    let report = bench(&url, &["--server-pid", &pid]);
    assert_clean(&report);
    assert_eq!(report["protocol"], "flv");
    let s = &report["server"];
    assert!(s["pids"][0].as_u64().unwrap() == u64::from(server.child.id()));
    assert!(s["cpu_seconds"].as_f64().unwrap() >= 0.0, "{report:#}");
    assert!(s["rss_after_kib"].as_u64().unwrap() > 0, "{report:#}");
}

#[test]
fn bench_rtmp_viewers_see_every_stamped_frame() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let _publisher = publish(&server, "b", 8);
    let report = bench(&format!("rtmp://{}/live/b", server.rtmp), &[]);
    assert_clean(&report);
    assert_eq!(report["protocol"], "rtmp");
    assert_eq!(report["server"], Value::Null);
}

#[test]
fn bench_native_viewers_see_every_stamped_frame() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let _publisher = publish(&server, "b", 8);
    let pid = server.child.id().to_string();
    let url = format!("avrs://{}/live/b", server.quic);
    let report = bench(&url, &["--server-pid", &pid]);
    assert_clean(&report);
    assert_eq!(report["protocol"], "native");
    assert!(report["window_bytes"].as_u64().unwrap() > 0, "{report:#}");
    assert!(report["server"]["cpu_seconds"].as_f64().unwrap() >= 0.0);
}

/// The stamp is a well-formed SEI: ffmpeg decodes the published stream
/// without a complaint, at both bit rates.
#[test]
fn ffmpeg_decodes_the_synthetic_stream() {
    if !have("ffmpeg") {
        eprintln!("SKIP: ffmpeg not installed (scripts/test-all installs it)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    for class in ["low", "high"] {
        let child = Command::new(env!("CARGO_BIN_EXE_avrs"))
            .args(["publish", "--synthetic", "--bitrate-class", class])
            .args(["--duration", "8"])
            .arg(format!("rtmp://{}/live/{class}", server.rtmp))
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let _publisher = Reaped(child);
        let wanted = format!("\"live/{class}\"");
        assert!(wait_until(Duration::from_secs(15), || {
            http_get(server.http, "/api/streams").contains(&wanted)
        }));
        let decode = Command::new("ffmpeg")
            .args(["-nostdin", "-v", "error", "-i"])
            .arg(format!("http://{}/live/{class}.flv", server.http))
            .args(["-t", "2", "-f", "null", "-"])
            .output()
            .unwrap();
        let errors = String::from_utf8_lossy(&decode.stderr);
        assert!(decode.status.success(), "{class}: {errors}");
        assert_eq!(errors, "", "{class}: ffmpeg complains");
    }
}

#[test]
fn bench_ll_hls_viewers_see_every_stamped_frame() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let _publisher = publish(&server, "b", 8);
    // The first playlist waits for a whole segment; a bench started
    // before it would measure the stream's start, not its steady state.
    let has_parts = wait_until(Duration::from_secs(15), || {
        http_get(server.http, "/live/b/index.m3u8").contains("#EXT-X-PART:")
    });
    assert!(has_parts, "the playlist lists parts");
    let url = format!("http://{}/live/b/index.m3u8", server.http);
    let report = bench(&url, &[]);
    assert_clean(&report);
    assert_eq!(report["protocol"], "hls");
}

#[test]
fn malformed_requests_are_refused_with_a_reason() {
    let out = avrs(&["bench", "--url", "http://127.0.0.1:9/live/b"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--protocol"));

    let out = avrs(&["bench", "--url", "https://h/live/b.flv"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("https is not supported"));

    let out = avrs(&["publish", "--synthetic", "a.flv", "rtmp://h/live/b"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("only the rtmp:// URL"));

    let out = avrs(&["publish", "--synthetic", "rtmp://h/nokey"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("APP/NAME"));
}

/// A viewer that cannot connect is a failed viewer, not a hung bench.
#[test]
fn bench_reports_failed_viewers_when_nothing_listens() {
    // Bind then drop: the port is (almost surely) closed afterwards.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/live/none.flv");
    let out = avrs(&[
        "bench",
        "--url",
        &url,
        "--viewers",
        "3",
        "--duration",
        "0.2",
        "--settle",
        "0",
        "--json",
    ]);
    assert!(!out.status.success(), "no viewer connected: an error exit");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["viewers"]["failed"], 3, "{report:#}");
    assert_eq!(report["viewers"]["connected"], 0);
    assert_eq!(report["latency_ms"], Value::Null);
}
