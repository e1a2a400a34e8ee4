//! RTMP ingest and play against real clients: ffmpeg publishes and plays,
//! ffprobe checks what a viewer got. Skipped (with a printed reason) only
//! when ffmpeg or ffprobe is missing.

/// Returns from the test, saying why, when the tools are missing.
macro_rules! require_tools {
    () => {
        if !support::tools_present() {
            return;
        }
    };
}

use avrs_core::live::{ContentLimits, Protocol};
use avrs_node::NodeContext;
use avrs_node::rtmp::{RtmpSettings, serve_with};
use std::sync::atomic::Ordering;
use std::time::Duration;
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

/// Publish with ffmpeg, play with ffmpeg while it publishes: the copy
/// decodes cleanly, has both tracks, the frames published since the viewer
/// joined (plus the group it joined in), and monotonic timestamps.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_and_play() {
    require_tools!();
    let _serial = serial().await;
    let node = start_node(Duration::from_secs(1)).await;
    let publisher = publish(&node, "live/test", 4, "aac");
    let content = wait_for_stream(&node, "live/test").await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("play.flv");
    let player = play(&node, "live/test", &out);
    wait_until("the viewer to join", || {
        content.stats.viewers(Protocol::Rtmp) == 1
    })
    .await;
    let frames_at_join = content.stats.frames_in.load(Ordering::Relaxed);
    expect_success("publisher", publisher).await;
    let frames_total = content.stats.frames_in.load(Ordering::Relaxed);
    // The stream ends a reconnect timeout later, and the player with it.
    expect_success("player", player).await;

    let packets = probe_packets(&out).await;
    let (video, audio) = (packets.video.len() as u64, packets.audio.len() as u64);
    println!(
        "viewer got {video} video + {audio} audio packets; {} frames published after it joined",
        frames_total - frames_at_join
    );
    assert!(video >= 30 && audio >= 30, "both tracks present");
    assert!(video <= 120, "no more video than published");
    // Everything after the join, plus at most the group it joined in
    // (30 video + ~44 audio frames) and a little slack for polling.
    let after_join = frames_total - frames_at_join;
    assert!(video + audio + 10 >= after_join, "frames lost");
    assert!(
        video + audio <= after_join + 90,
        "more than one group before the join"
    );
    packets.assert_monotonic();
    assert_decodes_cleanly(&out).await;
    assert!(content.stats.bytes_out.load(Ordering::Relaxed) > 100_000);
    node.shutdown().await;
}

/// A second publisher on a live name is refused with a message naming the
/// reason, and the first one keeps publishing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_publisher_is_refused() {
    require_tools!();
    let _serial = serial().await;
    let node = start_node(Duration::from_secs(1)).await;
    let first = publish(&node, "live/busy", 6, "aac");
    let content = wait_for_stream(&node, "live/busy").await;

    let second = publish(&node, "live/busy", 2, "aac");
    let output = finish(second).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "second publisher must fail");
    assert!(
        stderr.contains("already has a publisher"),
        "the client sees why: {stderr}"
    );
    assert_eq!(
        node.context.metrics.publish_refused.load(Ordering::Relaxed),
        1
    );

    let before = content.stats.frames_in.load(Ordering::Relaxed);
    wait_until("the first publisher to go on", || {
        content.stats.frames_in.load(Ordering::Relaxed) > before + 30
    })
    .await;
    assert!(content.is_publishing());
    expect_success("first publisher", first).await;
    node.shutdown().await;
}

/// Garbage, a truncated handshake, an abandoned handshake and hostile chunk
/// streams each close their own connection; a viewer playing meanwhile
/// keeps playing, and the node keeps accepting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_input_does_not_disturb_a_viewer() {
    require_tools!();
    let _serial = serial().await;
    let node = start_node(Duration::from_secs(1)).await;
    let address = node.rtmp_address;
    let publisher = publish(&node, "live/robust", 5, "aac");
    let content = wait_for_stream(&node, "live/robust").await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("play.flv");
    let player = play(&node, "live/robust", &out);
    wait_until("the viewer to join", || {
        content.stats.viewers(Protocol::Rtmp) == 1
    })
    .await;

    // Random bytes: not an RTMP version byte.
    let mut noise = TcpStream::connect(address).await.unwrap();
    let bytes: Vec<u8> = pseudo_random(4096, 7);
    let _ = noise.write_all(&bytes).await;
    assert_closed_by_server(&mut noise).await;

    // Random bytes that start like RTMP: the handshake "completes" with
    // nonsense, then the chunk stream is refused.
    let mut noise = TcpStream::connect(address).await.unwrap();
    let mut bytes = pseudo_random(20_000, 11);
    bytes[0] = 3;
    // The first chunk byte after C0+C1+C2: a type-1 header on a chunk
    // stream with no history, refused whatever the noise after it.
    bytes[1 + 1536 + 1536] = 0x44;
    let _ = noise.write_all(&bytes).await;
    assert_closed_by_server(&mut noise).await;

    // A truncated handshake: C0 and part of C1, then the client hangs up.
    let mut truncated = TcpStream::connect(address).await.unwrap();
    truncated.write_all(&[3u8; 700]).await.unwrap();
    truncated.shutdown().await.unwrap();
    assert_closed_by_server(&mut truncated).await;

    // A valid handshake, then deeply nested AMF0 (a stack overflow in an
    // unguarded parser), then chunks interleaved across chunk streams.
    for attack in [deep_amf_command(), interleaved_chunks()] {
        let mut hostile = client_handshake(address).await;
        hostile.write_all(&attack).await.unwrap();
        assert_closed_by_server(&mut hostile).await;
    }

    // The viewer is still there and still receiving.
    assert_eq!(content.stats.viewers(Protocol::Rtmp), 1);
    let sent = content.stats.bytes_out.load(Ordering::Relaxed);
    wait_until("the viewer to keep receiving", || {
        content.stats.bytes_out.load(Ordering::Relaxed) > sent + 50_000
    })
    .await;
    expect_success("publisher", publisher).await;
    expect_success("player", player).await;
    let packets = probe_packets(&out).await;
    assert!(packets.video.len() >= 60, "viewer kept playing");
    packets.assert_monotonic();
    assert_decodes_cleanly(&out).await;
    // Every hostile connection counts as an error; none took the node down.
    assert!(node.context.metrics.rtmp_errors.load(Ordering::Relaxed) >= 5);
    node.shutdown().await;
}

/// MP3 audio (FLV sound format 2) is refused with a clear reason; the name
/// is free again at once and the node serves other publishers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsupported_audio_codec_is_refused() {
    require_tools!();
    if !has_encoder("libmp3lame").await {
        println!("skipping: this ffmpeg has no libmp3lame encoder");
        return;
    }
    let _serial = serial().await;
    let node = start_node(Duration::from_secs(5)).await;
    let output = finish(publish(&node, "live/mp3", 3, "libmp3lame")).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "MP3 publish must fail");
    assert!(
        stderr.contains("unsupported audio codec: sound format 2 (MP3)"),
        "the client sees why: {stderr}"
    );
    assert!(node.context.registry.get("live/mp3").is_none());
    assert_eq!(
        node.context.metrics.publish_refused.load(Ordering::Relaxed),
        1
    );

    expect_success("AAC publisher", publish(&node, "live/aac", 1, "aac")).await;
    let content = node.context.registry.get("live/aac").expect("AAC stream");
    assert!(content.stats.frames_in.load(Ordering::Relaxed) > 30);
    node.shutdown().await;
}

/// The publisher's ffmpeg stops and a new one takes the name within the
/// reconnect timeout: the viewer stays connected and gets both runs, with
/// continuous timestamps.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewer_survives_publisher_reconnect() {
    require_tools!();
    let _serial = serial().await;
    let node = start_node(Duration::from_secs(4)).await;
    let first = publish(&node, "live/again", 3, "aac");
    let content = wait_for_stream(&node, "live/again").await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("play.flv");
    let player = play(&node, "live/again", &out);
    wait_until("the viewer to join", || {
        content.stats.viewers(Protocol::Rtmp) == 1
    })
    .await;
    expect_success("first publisher", first).await;
    wait_until("the first publisher to leave", || !content.is_publishing()).await;
    expect_success("second publisher", publish(&node, "live/again", 3, "aac")).await;
    assert_eq!(
        content.stats.publisher_reconnects.load(Ordering::Relaxed),
        1
    );
    expect_success("player", player).await;

    let packets = probe_packets(&out).await;
    let span = packets.video_span_ms();
    println!("viewer got {span} ms of video across the reconnect");
    // One run is 3 s; only both runs together are longer.
    assert!(span > 3_500, "the viewer got both runs: {span} ms");
    packets.assert_monotonic();
    assert_decodes_cleanly(&out).await;
    node.shutdown().await;
}

/// With explicit settings: a play of a name that is not live fails with
/// `StreamNotFound` after `play_wait`; a silent socket is dropped after the
/// handshake timeout; beyond `max_connections` a client is told why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_found_idle_and_over_the_limit() {
    require_tools!();
    let _serial = serial().await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let context = NodeContext::new(ContentLimits::default(), Duration::from_secs(1), 9);
    let settings = RtmpSettings {
        play_wait: Duration::from_millis(300),
        handshake_timeout: Duration::from_millis(500),
        ..RtmpSettings::default()
    };
    let stop = CancellationToken::new();
    let server = tokio::spawn(serve_with(
        listener,
        context.clone(),
        1,
        settings,
        stop.clone(),
    ));
    let url = format!("rtmp://{address}/live/nothing");

    let output = finish(player_to_null(&url)).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("is not live"), "client sees why: {stderr}");

    let mut idle = TcpStream::connect(address).await.unwrap();
    assert_closed_by_server(&mut idle).await;

    // Hold the only slot with a connection past its handshake.
    let held = client_handshake(address).await;
    let output = finish(player_to_null(&url)).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("limit"), "client sees why: {stderr}");
    drop(held);

    stop.cancel();
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("serve stops on shutdown")
        .unwrap();
    assert_eq!(context.metrics.rtmp_connections.load(Ordering::Relaxed), 0);
}

/// Reads until the server closes; fails if it does not within seconds.
async fn assert_closed_by_server(stream: &mut TcpStream) {
    let mut buf = vec![0u8; 8192];
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "server did not close the connection");
}

/// Processes, probes and raw-socket clients shared by the tests above.
mod support {
    use avrs_core::live::LiveContent;
    use avrs_node::{Node, NodeOptions};
    use rml_rtmp::handshake::{Handshake, HandshakeProcessResult, PeerType};
    use std::net::SocketAddr;
    use std::path::Path;
    use std::process::{Output, Stdio};
    use std::sync::Arc;
    use std::sync::atomic::Ordering;
    use std::time::{Duration, Instant};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;
    use tokio::process::{Child, Command};
    use tokio::sync::{Mutex, MutexGuard};

    /// The tests run real-time encoders on a small machine: one at a time.
    static SERIAL: Mutex<()> = Mutex::const_new(());

    pub async fn serial() -> MutexGuard<'static, ()> {
        SERIAL.lock().await
    }

    pub fn tools_present() -> bool {
        for tool in ["ffmpeg", "ffprobe"] {
            let found = std::process::Command::new(tool)
                .arg("-version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if !found {
                println!("skipping: {tool} is not installed");
                return false;
            }
        }
        true
    }

    pub async fn has_encoder(name: &str) -> bool {
        let out = Command::new("ffmpeg")
            .args(["-hide_banner", "-encoders"])
            .output()
            .await
            .expect("ffmpeg runs");
        String::from_utf8_lossy(&out.stdout).contains(name)
    }

    pub async fn start_node(reconnect_timeout: Duration) -> Node {
        let _ = tracing_subscriber::fmt()
            .with_test_writer()
            .with_ansi(false)
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| "avrs_node=info".into()),
            )
            .try_init();
        let mut options = NodeOptions::loopback_ephemeral();
        options.reconnect_timeout = reconnect_timeout;
        Node::start(options).await.expect("node starts")
    }

    fn url(node: &Node, name: &str) -> String {
        format!("rtmp://{}/{name}", node.rtmp_address)
    }

    fn ffmpeg(args: &[&str]) -> Child {
        Command::new("ffmpeg")
            .args(["-hide_banner", "-nostdin", "-v", "error"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("ffmpeg starts")
    }

    /// The publisher of the brief: 720p30 test picture, 440 Hz tone,
    /// `seconds` long, in real time.
    pub fn publish(node: &Node, name: &str, seconds: u32, audio_codec: &str) -> Child {
        let seconds = seconds.to_string();
        ffmpeg(&[
            "-re",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=1280x720:rate=30",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:sample_rate=44100",
            "-t",
            &seconds,
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-tune",
            "zerolatency",
            "-g",
            "30",
            "-c:a",
            audio_codec,
            "-f",
            "flv",
            &url(node, name),
        ])
    }

    /// A viewer copying the stream into an FLV file until the stream ends.
    pub fn play(node: &Node, name: &str, out: &Path) -> Child {
        let out = out.to_str().expect("utf-8 path");
        ffmpeg(&["-i", &url(node, name), "-c", "copy", "-f", "flv", out])
    }

    pub fn player_to_null(url: &str) -> Child {
        ffmpeg(&["-i", url, "-f", "null", "-"])
    }

    pub async fn finish(child: Child) -> Output {
        tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
            .await
            .expect("ffmpeg finishes in time")
            .expect("ffmpeg waited for")
    }

    pub async fn expect_success(what: &str, child: Child) {
        let output = finish(child).await;
        assert!(
            output.status.success(),
            "{what} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// Polls a condition every 20 ms, for at most 20 s: a bounded wait for
    /// something the test cannot be told about, never a fixed sleep.
    pub async fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !condition() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until `name` is live and has frames.
    pub async fn wait_for_stream(node: &Node, name: &str) -> Arc<LiveContent> {
        let mut found = None;
        wait_until(&format!("'{name}' to go live"), || {
            found = node
                .context
                .registry
                .get(name)
                .filter(|c| c.stats.frames_in.load(Ordering::Relaxed) > 0);
            found.is_some()
        })
        .await;
        found.expect("live")
    }

    /// Packet times (milliseconds, FLV's time base) per track.
    #[derive(Debug, Default)]
    pub struct Packets {
        pub video: Vec<(i64, i64)>,
        pub audio: Vec<(i64, i64)>,
    }

    impl Packets {
        /// Decode times only go forward, on each track.
        pub fn assert_monotonic(&self) {
            for (track, packets) in [("video", &self.video), ("audio", &self.audio)] {
                for pair in packets.windows(2) {
                    assert!(
                        pair[1].1 > pair[0].1,
                        "{track} dts not increasing: {:?} then {:?}",
                        pair[0],
                        pair[1]
                    );
                }
            }
        }

        pub fn video_span_ms(&self) -> i64 {
            let pts = self.video.iter().map(|p| p.0);
            pts.clone().max().unwrap_or(0) - pts.min().unwrap_or(0)
        }
    }

    pub async fn probe_packets(path: &Path) -> Packets {
        let out = Command::new("ffprobe")
            .args([
                "-v",
                "error",
                "-show_entries",
                "packet=codec_type,pts,dts",
                "-of",
                "json",
            ])
            .arg(path)
            .output()
            .await
            .expect("ffprobe runs");
        assert!(
            out.status.success(),
            "ffprobe: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("ffprobe json");
        let mut packets = Packets::default();
        for packet in json["packets"].as_array().expect("packets") {
            let time = |key: &str| packet[key].as_i64().expect("packet time");
            let entry = (time("pts"), time("dts"));
            match packet["codec_type"].as_str() {
                Some("video") => packets.video.push(entry),
                Some("audio") => packets.audio.push(entry),
                _ => {}
            }
        }
        packets
    }

    /// `ffmpeg -v error -i FILE -f null -` prints nothing.
    pub async fn assert_decodes_cleanly(path: &Path) {
        let out = Command::new("ffmpeg")
            .args(["-hide_banner", "-nostdin", "-v", "error", "-i"])
            .arg(path)
            .args(["-f", "null", "-"])
            .output()
            .await
            .expect("ffmpeg runs");
        let errors = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && errors.trim().is_empty(),
            "decode errors: {errors}"
        );
    }

    /// Deterministic noise (xorshift).
    pub fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect()
    }

    /// A client connection that has completed the RTMP handshake.
    pub async fn client_handshake(address: SocketAddr) -> TcpStream {
        let mut stream = TcpStream::connect(address).await.unwrap();
        let mut handshake = Handshake::new(PeerType::Client);
        let c0c1 = handshake.generate_outbound_p0_and_p1().unwrap();
        stream.write_all(&c0c1).await.unwrap();
        let mut buf = vec![0u8; 4096];
        loop {
            let n = stream.read(&mut buf).await.unwrap();
            assert!(n > 0, "server closed during the handshake");
            match handshake.process_bytes(&buf[..n]).unwrap() {
                HandshakeProcessResult::InProgress { response_bytes } => {
                    stream.write_all(&response_bytes).await.unwrap();
                }
                HandshakeProcessResult::Completed { response_bytes, .. } => {
                    stream.write_all(&response_bytes).await.unwrap();
                    return stream;
                }
            }
        }
    }

    /// A message in 128-byte chunks (the initial chunk size).
    fn chunks(csid: u8, type_id: u8, payload: &[u8]) -> Vec<u8> {
        let len = (payload.len() as u32).to_be_bytes();
        let mut out = vec![csid, 0, 0, 0, len[1], len[2], len[3], type_id, 0, 0, 0, 0];
        for (i, chunk) in payload.chunks(128).enumerate() {
            if i > 0 {
                out.push(0xC0 | csid);
            }
            out.extend_from_slice(chunk);
        }
        out
    }

    /// `connect` whose command object nests 40 objects deep.
    pub fn deep_amf_command() -> Vec<u8> {
        let mut payload = vec![0x02, 0, 7];
        payload.extend_from_slice(b"connect");
        payload.extend_from_slice(&[0x00, 0x3F, 0xF0, 0, 0, 0, 0, 0, 0]);
        for _ in 0..40 {
            payload.extend_from_slice(&[0x03, 0x00, 0x01, b'a']);
        }
        chunks(3, 20, &payload)
    }

    /// The first chunk of a video message, then an audio message on another
    /// chunk stream before the video message is complete.
    pub fn interleaved_chunks() -> Vec<u8> {
        let video = chunks(4, 9, &[0x17; 300]);
        let mut out = video[..12 + 128].to_vec();
        out.extend(chunks(5, 8, &[0xAF, 0x01, 0x21]));
        out
    }
}
