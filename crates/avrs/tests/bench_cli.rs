//! `avrs publish --synthetic` and `avrs bench` against a real `avrs serve`,
//! over HTTP-FLV, RTMP, LL-HLS and native AVRS (QUIC): the bench's figures are checked for
//! sense (every viewer connected, no frame lost, latency present and
//! small), never for speed.

use serde_json::Value;
mod support;

use std::process::{Command, Output, Stdio};
use std::time::Duration;
use support::{Reaped, Server, have, http_get, wait_until};

fn avrs(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_avrs"))
        .args(args)
        .output()
        .expect("run avrs")
}

/// Starts `avrs publish --synthetic` to `live/NAME` and waits until the
/// server lists the stream.
fn publish(server: &Server, name: &str, seconds: u32) -> Reaped {
    publish_to(server.rtmp, server.http, name, seconds)
}

/// [`publish`] to the node at these RTMP and HTTP addresses.
fn publish_to(
    rtmp: std::net::SocketAddr,
    http: std::net::SocketAddr,
    name: &str,
    seconds: u32,
) -> Reaped {
    let child = Command::new(env!("CARGO_BIN_EXE_avrs"))
        .args(["publish", "--synthetic", "--duration", &seconds.to_string()])
        .arg(format!("rtmp://{rtmp}/live/{name}"))
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start avrs publish");
    let publisher = Reaped(child);
    let wanted = format!("\"live/{name}\"");
    let live = wait_until(Duration::from_secs(15), || {
        http_get(http, "/api/streams").contains(&wanted)
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

    let out = avrs(&[
        "bench",
        "--url",
        "http://127.0.0.1:9/live/b.flv",
        "--verify",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("for native viewers"));

    let out = avrs(&[
        "bench",
        "opens",
        "avrs://127.0.0.1:9/live/b",
        "--sessions",
        "0",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 1"));

    let out = avrs(&["bench", "opens", "rtmp://127.0.0.1:9/live/b"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("avrs://HOST[:PORT]/live/NAME"));
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

/// `avrs serve` with `args` and `env`, on ephemeral loopback ports: the
/// node and its (rtmp, http, quic) addresses, read from its listening line.
fn serve(args: &[&str], env: &[(&str, &str)]) -> (Reaped, [std::net::SocketAddr; 3]) {
    use std::io::{BufRead, BufReader};
    let mut child = Command::new(env!("CARGO_BIN_EXE_avrs"))
        .arg("serve")
        .args(args)
        .args(["--rtmp", "127.0.0.1:0", "--http", "127.0.0.1:0"])
        .args(["--quic", "127.0.0.1:0"])
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start avrs serve");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let child = Reaped(child);
    let listening = lines
        .by_ref()
        .map(|l| l.unwrap())
        .find(|l| l.starts_with("avrs listening:"))
        .expect("avrs serve prints its listening line");
    let words: Vec<&str> = listening.split_whitespace().collect();
    let addresses = [3, 5, 7].map(|i| words[i].parse().unwrap());
    std::thread::spawn(move || lines.for_each(drop));
    (child, addresses)
}

/// Runs `avrs bench opens URL … --json`: (success, report).
fn opens(url: &str, extra: &[&str]) -> (bool, Value) {
    let mut args = vec!["bench", "opens", url, "--json"];
    args.extend_from_slice(extra);
    let out = avrs(&args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "bad JSON ({e}): {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.success(), report)
}

/// What a run of `bench opens` where every session got in must show.
fn assert_all_opened(report: &Value, sessions: u64) {
    let r = report;
    assert_eq!(r["sessions"]["requested"], sessions, "{r:#}");
    assert_eq!(r["sessions"]["completed"], sessions, "{r:#}");
    assert_eq!(r["sessions"]["failed"], 0, "{r:#}");
    assert_eq!(r["latency_ms"]["count"], sessions, "{r:#}");
    let (p50, p99, max) = (
        r["latency_ms"]["p50"].as_f64().unwrap(),
        r["latency_ms"]["p99"].as_f64().unwrap(),
        r["latency_ms"]["max"].as_f64().unwrap(),
    );
    assert!(0.0 < p50 && p50 <= p99 && p99 <= max, "{r:#}");
    assert!(r["opens_per_second"].as_f64().unwrap() > 0.0, "{r:#}");
    assert!(r["elapsed_seconds"].as_f64().unwrap() > 0.0, "{r:#}");
}

#[test]
fn bench_opens_counts_every_session_and_the_refused_ones() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let _publisher = publish(&server, "b", 30);
    let pid = server.child.id().to_string();
    let url = format!("avrs://{}/live/b", server.quic);

    let flags = [
        "--sessions",
        "24",
        "--concurrency",
        "4",
        "--server-pid",
        &pid,
    ];
    let (ok, report) = opens(&url, &flags);
    assert!(ok, "{report:#}");
    assert_all_opened(&report, 24);
    assert_eq!(report["measured"], "open+content_add");
    assert_eq!(report["token"], false);
    assert_eq!(report["concurrency"], 4);
    let server_report = &report["server"];
    assert_eq!(server_report["pids"][0], u64::from(server.child.id()));
    assert!(server_report["cpu_seconds"].as_f64().unwrap() >= 0.0);

    let (ok, report) = opens(&url, &["--sessions", "6", "--open-only"]);
    assert!(ok, "{report:#}");
    assert_all_opened(&report, 6);
    assert_eq!(report["measured"], "open");
    // More workers than sessions: only as many as there are sessions.
    assert_eq!(report["concurrency"], 6);

    // A content nobody publishes: every CONTENT_ADD is refused, and said so.
    let missing = format!("avrs://{}/live/none", server.quic);
    let (ok, report) = opens(&missing, &["--sessions", "3", "--concurrency", "2"]);
    assert!(!ok, "no session opened: an error exit");
    assert_eq!(report["sessions"]["completed"], 0, "{report:#}");
    assert_eq!(report["sessions"]["failed"], 3, "{report:#}");
    assert_eq!(report["latency_ms"], Value::Null);
    let errors = report["sessions"]["errors"].as_object().unwrap();
    assert!(
        errors.keys().all(|e| e.contains("cannot watch live/none")),
        "{report:#}"
    );
}

/// The protections of the secure-sessions issue, as `bench` sees them:
/// `play = token` (sessions without a token are refused, with one they
/// open), an ENCRYPTED content (viewers open the sealed frames: every
/// frame's clock stamp is read, so the clear bytes arrived) and `--verify`
/// (every frame's signature checked, none dropped).
#[test]
fn bench_with_a_token_on_an_encrypted_content_verifies_every_frame() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("token.key");
    let out = avrs(&["keygen", "--alg", "ed25519", "--out", key.to_str().unwrap()]);
    assert!(out.status.success());
    let config = dir.path().join("avrs.ini");
    std::fs::write(
        &config,
        "[avrs]\ndata_dir = data\n\
         [auth]\nplay = token\nencrypt = live/*\ntoken_ed25519_key_file = token.key\n",
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let issue = |role: &str| {
        let out = avrs(&[
            "token",
            "issue",
            "--config",
            config,
            "--role",
            role,
            "--content",
            "live/b",
            "--ttl",
            "10m",
        ]);
        assert!(out.status.success(), "{out:?}");
        let text = String::from_utf8(out.stdout).unwrap();
        text.lines().last().unwrap().to_owned()
    };
    let (_node, [rtmp, http, quic]) = serve(&["--config", config], &[]);
    let publisher = Command::new(env!("CARGO_BIN_EXE_avrs"))
        .args(["publish", "--synthetic", "--duration", "30"])
        .arg(format!("rtmp://{rtmp}/live/b?token={}", issue("publisher")))
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start avrs publish");
    let _publisher = Reaped(publisher);
    assert!(
        wait_until(Duration::from_secs(15), || {
            http_get(http, "/api/streams").contains("\"live/b\"")
        }),
        "live/b shows up in /api/streams"
    );
    let viewer = issue("viewer");
    let url = format!("avrs://{quic}/live/b");

    // By default the viewers count sealed frames unopened: every picture
    // counted, none stamped (the stamps are sealed), none lost.
    let sealed = bench(&url, &["--token", &viewer]);
    let frames = &sealed["frames"];
    assert!(frames["video"].as_u64().unwrap() > 0, "{sealed:#}");
    assert_eq!(frames["unstamped"], frames["video"], "{sealed:#}");
    assert_eq!(frames["lost"], 0, "{sealed:#}");
    assert_eq!(sealed["viewers"]["connected"], 5, "{sealed:#}");

    // --unseal: every viewer opens every frame, as avrs play does.
    let report = bench(&url, &["--token", &viewer, "--verify", "--unseal"]);
    assert_clean(&report);
    let frames = &report["frames"];
    let all = frames["video"].as_u64().unwrap() + frames["audio"].as_u64().unwrap();
    // Every frame played was checked first (empty ones are not counted).
    assert!(frames["verified"].as_u64().unwrap() >= all, "{report:#}");
    assert_eq!(frames["corrupted"], 0, "{report:#}");
    let media = report["window_media_bytes"].as_u64().unwrap();
    assert!(
        0 < media && media < report["window_bytes"].as_u64().unwrap(),
        "media bytes are part of what the connections received: {report:#}"
    );

    let (ok, report) = opens(&url, &["--sessions", "8", "--token", &viewer]);
    assert!(ok, "{report:#}");
    assert_all_opened(&report, 8);
    assert_eq!(report["token"], true);

    let (ok, report) = opens(&url, &["--sessions", "4"]);
    assert!(!ok, "without a token no session opens: {report:#}");
    assert_eq!(report["sessions"]["failed"], 4, "{report:#}");
}

/// `AVRS_BENCH_UNSIGNED=1` (the unprotected baseline of BENCHMARKS.md):
/// frames go out unsigned, which a player that checks refuses every one
/// of, while the bench's default unchecked viewers play them.
#[test]
fn an_unsigned_node_is_refused_by_checking_viewers() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (_node, [rtmp, http, quic]) = serve(
        &["--data-dir", data.to_str().unwrap()],
        &[("AVRS_BENCH_UNSIGNED", "1")],
    );
    let _publisher = publish_to(rtmp, http, "b", 30);
    let url = format!("avrs://{quic}/live/b");
    let report = bench(&url, &[]);
    assert_clean(&report);
    assert_eq!(report["frames"]["verified"], 0, "{report:#}");

    let out = avrs(&[
        "bench",
        "--url",
        &url,
        "--viewers",
        "2",
        "--duration",
        "1",
        "--verify",
        "--json",
    ]);
    assert!(!out.status.success(), "no frame verifies: an error exit");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["viewers"]["connected"], 0, "{report:#}");
    assert!(
        report["frames"]["corrupted"].as_u64().unwrap() > 0,
        "{report:#}"
    );
    assert_eq!(report["frames"]["verified"], 0, "{report:#}");
}

/// `avrs bench cluster` on the smallest cluster it measures: a host, a
/// balancer, an origin and two edges as real processes. The figures are
/// checked for sense (the origin feeds at least one edge and no more than
/// there are; every failover viewer resumes on another edge), never for
/// speed.
#[test]
fn bench_cluster_measures_egress_copies_and_failover() {
    let out = avrs(&[
        "bench",
        "cluster",
        "--edges",
        "2",
        "--viewers-per-edge",
        "1",
        "--failover-viewers",
        "2",
        "--failover-rounds",
        "1",
        "--json",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "bench cluster failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("bad JSON ({e}): {stdout}"));
    assert_eq!(r["setup"]["servers"], 3, "{r:#}");
    assert_eq!(r["setup"]["origin_child_cap"], 4, "{r:#}");
    let rows = r["egress"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{r:#}");
    let row = &rows[0];
    assert_eq!(row["edges"], 2, "{r:#}");
    assert_eq!(row["edges_playing"], 2, "{r:#}");
    let copies = row["origin_egress_copies"].as_u64().unwrap();
    assert!((1..=2).contains(&copies), "{r:#}");
    assert!(row["origin_egress_peak"].as_u64().unwrap() <= 2, "{r:#}");
    assert!(
        row["origin_native_sessions"].as_u64().unwrap() >= 1,
        "{r:#}"
    );
    let depth = row["max_depth"].as_u64().unwrap();
    assert!((1..=2).contains(&depth), "{r:#}");
    assert!(row["attach_ms"].as_f64().unwrap() > 0.0, "{r:#}");

    let failover = &r["failover"];
    let rounds = failover["rounds"].as_array().unwrap();
    assert_eq!(rounds.len(), 1, "{r:#}");
    assert_eq!(rounds[0]["on_victim"], 2, "both viewers pinned: {r:#}");
    assert_eq!(failover["measured"], 2, "{r:#}");
    assert_eq!(failover["resumed"], 2, "every viewer resumed: {r:#}");
    assert_eq!(failover["not_resumed"], 0, "{r:#}");
    let victim = rounds[0]["victim"].as_str().unwrap();
    let resumed_on = rounds[0]["resumed_on"].as_object().unwrap();
    assert!(!resumed_on.contains_key(victim), "on another server: {r:#}");
    let ms = &failover["failover_ms"];
    assert_eq!(ms["count"], 2, "{r:#}");
    let (p50, p99, max) = (
        ms["p50"].as_f64().unwrap(),
        ms["p99"].as_f64().unwrap(),
        ms["max"].as_f64().unwrap(),
    );
    assert!(0.0 < p50 && p50 <= p99 && p99 <= max, "{r:#}");
    assert!(
        rounds[0]["back_ms"].as_f64().is_some(),
        "the killed edge is back: {r:#}"
    );
}

/// What `avrs bench cluster` cannot run is refused before any node starts.
#[test]
fn bench_cluster_refuses_what_it_cannot_run() {
    let refused = |args: &[&str], why: &str| {
        let mut all = vec!["bench", "cluster"];
        all.extend_from_slice(args);
        let out = avrs(&all);
        assert!(!out.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(why), "{args:?}: {stderr}");
    };
    refused(&["--edges", "0"], "from 1 to 64");
    refused(&["--edges", "1"], "at least 2 edges");
    refused(&["--edges", "4,20"], "at most 16 edges");
    refused(&["--viewers-per-edge", "0"], "at least 1");
}
