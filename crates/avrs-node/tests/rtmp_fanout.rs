//! RTMP play fan-out with in-process viewers (rml_rtmp's client session, a
//! second RTMP implementation reading our chunks) and a synthetic publisher
//! pushing straight into the registry: a viewer that keeps up gets every
//! frame, a slow one skips whole groups, a stalled one is closed, and none
//! of them holds back another. No external tools needed.

use avrs_core::live::{ContentLimits, Protocol, TrackConfigs};
use avrs_media::{MediaFrame, TrackKind, VideoConfig};
use avrs_node::NodeContext;
use avrs_node::rtmp::{RtmpSettings, serve_with};
use bytes::Bytes;
use rml_rtmp::handshake::{Handshake, HandshakeProcessResult, PeerType};
use rml_rtmp::sessions::{
    ClientSession, ClientSessionConfig, ClientSessionEvent, ClientSessionResult,
};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio_util::sync::CancellationToken;

const FRAMES: u32 = 400;
const FRAME_BYTES: usize = 16 * 1024;
/// Keyframe interval in frames.
const GROUP: u32 = 30;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prompt_slow_and_stalled_viewers() {
    // The default write merging, although the stream runs six times faster
    // than real time and a group (150 ms) is shorter than the merge window:
    // the wait ends when a group starts, so the prompt viewer never falls
    // a group behind.
    let settings = RtmpSettings {
        write_stall_timeout: Duration::from_secs(2),
        ..RtmpSettings::default()
    };
    let Setup {
        address,
        context,
        publisher,
        stop,
        server,
    } = setup(settings).await;
    let content = publisher.content().clone();

    let prompt = Viewer::connect(address, None).await;
    let slow = Viewer::connect(address, Some(16 * 1024)).await;
    let stalled = Viewer::connect(address, Some(4096)).await;
    wait_until("three viewers", || {
        content.stats.viewers(Protocol::Rtmp) == 3
    })
    .await;
    let prompt = tokio::spawn(prompt.collect(Duration::ZERO));
    // Reads at most 16 KB per 20 ms: a quarter of the stream's rate.
    let slow = tokio::spawn(slow.collect(Duration::from_millis(20)));

    // A 30 fps stream pushed six times faster than real time.
    for i in 0..FRAMES {
        let dts = i64::from(i) * 3000;
        let frame = MediaFrame {
            track: TrackKind::Video,
            dts,
            pts: dts,
            keyframe: i.is_multiple_of(GROUP),
            data: Bytes::from(vec![i as u8; FRAME_BYTES]),
        };
        publisher.push(frame, Instant::now()).unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    publisher.finish();

    let prompt = tokio::time::timeout(Duration::from_secs(20), prompt)
        .await
        .expect("prompt viewer ends with the stream")
        .unwrap();
    let expected: Vec<u32> = (0..FRAMES).map(|i| i * 100 / 3).collect();
    let got: Vec<u32> = prompt.iter().map(|f| f.timestamp).collect();
    assert_eq!(got, expected, "the prompt viewer got every frame in order");
    for (i, frame) in prompt.iter().enumerate() {
        assert_eq!(frame.len, FRAME_BYTES + 5);
        assert_eq!(frame.keyframe, (i as u32).is_multiple_of(GROUP));
    }

    let slow = tokio::time::timeout(Duration::from_secs(30), slow)
        .await
        .expect("slow viewer ends with the stream")
        .unwrap();
    println!(
        "slow viewer got {} of {FRAMES} frames; {} frames skipped in all",
        slow.len(),
        content.stats.frames_dropped.load(Ordering::Relaxed)
    );
    assert!(slow.len() < prompt.len(), "the slow viewer skipped frames");
    for pair in slow.windows(2) {
        assert!(pair[1].timestamp > pair[0].timestamp);
        if pair[1].timestamp - pair[0].timestamp > 34 {
            assert!(pair[1].keyframe, "a skip lands on a keyframe: {pair:?}");
        }
    }
    assert!(content.stats.frames_dropped.load(Ordering::Relaxed) > 0);

    // The stalled viewer never read: the server gave up on it.
    wait_until("the stalled viewer to be closed", || {
        content.stats.viewers(Protocol::Rtmp) == 0
    })
    .await;
    drop(stalled);
    stop.cancel();
    server.await.unwrap();
    assert_eq!(context.metrics.rtmp_connections.load(Ordering::Relaxed), 0);
}

/// An RTMP listener with `settings` over a fresh context, and a publisher
/// of `live/syn` pushing straight into the registry.
struct Setup {
    address: SocketAddr,
    context: std::sync::Arc<NodeContext>,
    publisher: avrs_core::live::Publisher,
    stop: CancellationToken,
    server: tokio::task::JoinHandle<()>,
}

async fn setup(settings: RtmpSettings) -> Setup {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let context = NodeContext::new(ContentLimits::default(), Duration::from_secs(1), 3);
    let stop = CancellationToken::new();
    let server = tokio::spawn(serve_with(
        listener,
        context.clone(),
        100,
        settings,
        stop.clone(),
    ));
    let publisher = context
        .registry
        .publish("live/syn", Instant::now())
        .unwrap();
    publisher.set_configs(TrackConfigs {
        video: Some(fake_video_config()),
        audio: None,
    });
    Setup {
        address,
        context,
        publisher,
        stop,
        server,
    }
}

fn fake_video_config() -> VideoConfig {
    VideoConfig {
        avcc: Bytes::from_static(&[1, 0x64, 0, 0x1F, 0xFF, 0xE0, 0]),
        codec: "avc1.64001F".into(),
        width: 1280,
        height: 720,
        nal_length_size: 4,
    }
}

async fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[derive(Debug)]
struct Received {
    timestamp: u32,
    len: usize,
    keyframe: bool,
}

/// An RTMP player made of rml_rtmp's client session.
struct Viewer {
    stream: TcpStream,
    session: ClientSession,
}

impl Viewer {
    /// Connects to `live`, plays `syn`, and returns once playback started.
    /// `receive_buffer` shrinks the socket's receive buffer so that a
    /// viewer that does not read pushes back on the server quickly.
    async fn connect(address: SocketAddr, receive_buffer: Option<u32>) -> Self {
        let socket = TcpSocket::new_v4().unwrap();
        if let Some(size) = receive_buffer {
            socket.set_recv_buffer_size(size).unwrap();
        }
        let mut stream = socket.connect(address).await.unwrap();
        let leftover = handshake(&mut stream).await;
        let (session, _) = ClientSession::new(ClientSessionConfig::new()).unwrap();
        let mut viewer = Self { stream, session };
        viewer.feed(&leftover).await;
        let request = viewer.session.request_connection("live".into()).unwrap();
        viewer.send(request).await;
        viewer
            .until(|e| matches!(e, ClientSessionEvent::ConnectionRequestAccepted))
            .await;
        let request = viewer.session.request_playback("syn".into()).unwrap();
        viewer.send(request).await;
        viewer
            .until(|e| matches!(e, ClientSessionEvent::PlaybackRequestAccepted))
            .await;
        viewer
    }

    async fn send(&mut self, result: ClientSessionResult) {
        if let ClientSessionResult::OutboundResponse(packet) = result {
            self.stream.write_all(&packet.bytes).await.unwrap();
        }
    }

    /// Feeds bytes to the session, answers what it asks, returns events.
    async fn feed(&mut self, bytes: &[u8]) -> Vec<ClientSessionEvent> {
        let mut events = Vec::new();
        for result in self.session.handle_input(bytes).unwrap() {
            match result {
                ClientSessionResult::RaisedEvent(event) => events.push(event),
                other => self.send(other).await,
            }
        }
        events
    }

    async fn until(&mut self, wanted: impl Fn(&ClientSessionEvent) -> bool) {
        let mut buf = vec![0u8; 4096];
        loop {
            let n = self.stream.read(&mut buf).await.unwrap();
            assert!(n > 0, "server closed before the expected event");
            if self.feed(&buf[..n]).await.iter().any(&wanted) {
                return;
            }
        }
    }

    /// Reads video until the server closes, pausing `pause` between reads.
    async fn collect(mut self, pause: Duration) -> Vec<Received> {
        let mut buf = vec![0u8; 16 * 1024];
        let mut frames = Vec::new();
        loop {
            if !pause.is_zero() {
                tokio::time::sleep(pause).await;
            }
            let n = match self.stream.read(&mut buf).await {
                Ok(0) | Err(_) => return frames,
                Ok(n) => n,
            };
            for event in self.feed(&buf[..n]).await {
                if let ClientSessionEvent::VideoDataReceived { timestamp, data } = event {
                    // Sequence headers (AVCPacketType 0) are not frames.
                    if data.get(1) == Some(&1) {
                        frames.push(Received {
                            timestamp: timestamp.value,
                            len: data.len(),
                            keyframe: data[0] == 0x17,
                        });
                    }
                }
            }
        }
    }
}

/// The client side of the handshake; returns what followed it.
async fn handshake(stream: &mut TcpStream) -> Vec<u8> {
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
            HandshakeProcessResult::Completed {
                response_bytes,
                remaining_bytes,
            } => {
                stream.write_all(&response_bytes).await.unwrap();
                return remaining_bytes;
            }
        }
    }
}

/// Rough cost of RTMP fan-out, for comparing with DESIGN §6 (not a test:
/// run it alone, in release, on a quiet machine):
/// `cargo test --release -p avrs-node --test rtmp_fanout -- --ignored --nocapture fanout_cost`.
/// `AVRS_VIEWERS` viewers (default 500) of a 680 kbit/s stream (30 fps
/// video, ~43 fps audio) for 10 s; prints viewer-seconds per CPU-second of
/// the whole process, which includes the viewers' own reading (so the
/// server alone does better than printed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark; run explicitly"]
async fn fanout_cost() {
    let viewers: usize = std::env::var("AVRS_VIEWERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500);
    let seconds = 10u32;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let context = NodeContext::new(ContentLimits::default(), Duration::from_secs(1), 4);
    let stop = CancellationToken::new();
    let server = tokio::spawn(serve_with(
        listener,
        context.clone(),
        viewers + 10,
        RtmpSettings::default(),
        stop.clone(),
    ));
    let publisher = context
        .registry
        .publish("live/syn", Instant::now())
        .unwrap();
    publisher.set_configs(TrackConfigs {
        video: Some(fake_video_config()),
        audio: None,
    });
    let content = publisher.content().clone();
    let mut readers = Vec::new();
    for _ in 0..viewers {
        let mut viewer = Viewer::connect(address, None).await;
        readers.push(tokio::spawn(async move {
            let mut buf = vec![0u8; 64 * 1024];
            let mut total = 0usize;
            while let Ok(n) = viewer.stream.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                total += n;
            }
            total
        }));
    }
    let cpu_before = process_cpu_seconds();
    let wall = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_micros(33_333));
    for i in 0..(30 * seconds) {
        tick.tick().await;
        let dts = i64::from(i) * 3000;
        let video = MediaFrame {
            track: TrackKind::Video,
            dts,
            pts: dts,
            keyframe: i.is_multiple_of(60),
            data: Bytes::from(vec![0u8; 2300]),
        };
        publisher.push(video, Instant::now()).unwrap();
        for _ in 0..(1 + i % 2) {
            let audio = MediaFrame {
                track: TrackKind::Audio,
                dts,
                pts: dts,
                keyframe: true,
                data: Bytes::from(vec![0u8; 370]),
            };
            publisher.push(audio, Instant::now()).unwrap();
        }
    }
    let cpu = process_cpu_seconds() - cpu_before;
    let elapsed = wall.elapsed().as_secs_f64();
    publisher.finish();
    let mut bytes = 0;
    for reader in readers {
        bytes += reader.await.unwrap();
    }
    println!(
        "{viewers} viewers, {elapsed:.1} s: {cpu:.2} CPU-s, {:.0} viewer-seconds per CPU-second \
         (process total), {} MB sent, {} frames skipped",
        viewers as f64 * elapsed / cpu,
        bytes / 1_000_000,
        content.stats.frames_dropped.load(Ordering::Relaxed)
    );
    stop.cancel();
    server.await.unwrap();
}

/// User + system CPU time of this process, from /proc (Linux).
fn process_cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may contain spaces).
    let rest = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime: fields 14 and 15 of the line, 11 and 12 after the name
    // (0-based); clock ticks of 1/100 s.
    (ticks(11) + ticks(12)) / 100.0
}

/// With a write-merging window a viewer still gets every frame, in order,
/// even when the window (400 ms) is longer than a group (30 frames 5 ms
/// apart): the merge wait ends where a group starts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_coalescing_window_loses_nothing() {
    let settings = RtmpSettings {
        write_coalesce: Duration::from_millis(400),
        ..RtmpSettings::default()
    };
    let Setup {
        address,
        context: _context,
        publisher,
        stop,
        server,
    } = setup(settings).await;
    let viewer = Viewer::connect(address, None).await;
    let content = publisher.content().clone();
    wait_until("the viewer", || content.stats.viewers(Protocol::Rtmp) == 1).await;
    let viewer = tokio::spawn(viewer.collect(Duration::ZERO));
    const COUNT: u32 = 90;
    for i in 0..COUNT {
        let dts = i64::from(i) * 3000;
        let frame = MediaFrame {
            track: TrackKind::Video,
            dts,
            pts: dts,
            keyframe: i.is_multiple_of(GROUP),
            data: Bytes::from(vec![i as u8; 1000]),
        };
        publisher.push(frame, Instant::now()).unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    publisher.finish();
    let got = tokio::time::timeout(Duration::from_secs(20), viewer)
        .await
        .expect("the viewer ends with the stream")
        .unwrap();
    let stamps: Vec<u32> = got.iter().map(|f| f.timestamp).collect();
    let expected: Vec<u32> = (0..COUNT).map(|i| i * 100 / 3).collect();
    assert_eq!(stamps, expected);
    stop.cancel();
    server.await.unwrap();
}
