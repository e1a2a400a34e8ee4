//! Native AVRS over QUIC against a real node: a viewer gets every frame of
//! both tracks in order; garbage of every kind is refused and closes only
//! its own connection while another viewer keeps playing; a viewer that
//! stalls has old groups dropped and never holds back another.

use avrs_core::live::{Publisher, TrackConfigs};
use avrs_crypto::{Algorithm, SigningKey};

use avrs_media::{MediaFrame, TrackKind};
use avrs_node::native::client::{self, ClientOptions, PlayedFrame, Session};
use avrs_node::native::wire::{ControlWriter, spawn_control_reader};
use avrs_node::{Node, NodeOptions};
use avrs_proto::avrs::quic::{CloseCode, ContentRequest};
use avrs_proto::avrs::{RetCode, RetCodePacket, SubType};
use bytes::Bytes;
use std::future::Future;
use std::time::{Duration, Instant};

mod native_support;
use native_support::fixture;

/// Pushes `frames` at `speed` times real time, then ends the content.
fn publish_paced(publisher: Publisher, frames: Vec<MediaFrame>, speed: f64) {
    tokio::spawn(async move {
        let start = tokio::time::Instant::now();
        let first = frames.first().map_or(0, |f| f.dts);
        for frame in frames {
            let at = Duration::from_secs_f64((frame.dts - first) as f64 / 90_000.0 / speed);
            tokio::time::sleep_until(start + at).await;
            publisher.push(frame, Instant::now()).unwrap();
        }
        publisher.finish();
    });
}

async fn bounded<T>(what: &str, limit: Duration, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(limit, future)
        .await
        .unwrap_or_else(|_| panic!("{what}: not done within {limit:?}"))
}

async fn wait_for_frames(node: &Node, name: &str) {
    bounded("the content gets frames", Duration::from_secs(5), async {
        loop {
            let frames = node.context.registry.get(name).map_or(0, |c| {
                c.stats.frames_in.load(std::sync::atomic::Ordering::Relaxed)
            });
            if frames > 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
}

/// A node with `name` being published (at twice real time) from a fixture
/// of `seconds`, frames already flowing.
async fn node_publishing(name: &str, seconds: i64) -> (Node, TrackConfigs, Vec<MediaFrame>) {
    let node = Node::start(NodeOptions::loopback_ephemeral())
        .await
        .unwrap();
    let (configs, frames) = fixture(seconds);
    let publisher = node.context.registry.publish(name, Instant::now()).unwrap();
    publisher.set_configs(configs.clone());
    publish_paced(publisher, frames.clone(), 2.0);
    wait_for_frames(&node, name).await;
    (node, configs, frames)
}

async fn watch(node: &Node, name: &str) -> client::Watch {
    let session = Session::connect(node.quic_address, ClientOptions::default())
        .await
        .expect("session opens");
    session.watch(name).await.expect("content added")
}

/// Every frame until the content ends.
async fn collect(mut watch: client::Watch) -> (Vec<PlayedFrame>, client::Watch) {
    let mut frames = Vec::new();
    while let Some(frame) = watch.next_frame().await.expect("frames") {
        frames.push(frame);
    }
    (frames, watch)
}

/// The viewer got every frame from where it joined to the end, unchanged,
/// in order, with the publisher's configuration.
fn assert_complete(played: &[PlayedFrame], sent: &[MediaFrame], configs: &TrackConfigs) {
    assert!(!played.is_empty(), "frames were played");
    let first = played[0].seq as usize;
    assert!(sent[first].track == TrackKind::Video && sent[first].keyframe);
    assert_eq!(played.len(), sent.len() - first, "no frame missing");
    for (frame, expected_seq) in played.iter().zip(first..) {
        assert_eq!(frame.seq as usize, expected_seq);
        assert_eq!(frame.media, sent[expected_seq], "frame {expected_seq}");
        assert!(!frame.after_gap && !frame.discontinuity);
        assert_eq!(*frame.configs, *configs);
    }
    for track in [TrackKind::Video, TrackKind::Audio] {
        let dts: Vec<i64> = played
            .iter()
            .filter(|f| f.media.track == track)
            .map(|f| f.media.dts)
            .collect();
        assert!(dts.len() > 10, "{track:?} frames played");
        assert!(
            dts.windows(2).all(|w| w[0] < w[1]),
            "{track:?} dts monotonic"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_gets_every_frame_of_both_tracks_in_order() {
    let (node, configs, frames) = node_publishing("live/fx", 3).await;

    let joined = Instant::now();
    let mut viewer = watch(&node, "live/fx").await;
    assert_eq!(viewer.content_id(), 1);
    let first = viewer.next_frame().await.unwrap().expect("a first frame");
    eprintln!("time to first frame: {:?}", joined.elapsed());
    let sessions = &node.context.metrics.native_connections;
    assert_eq!(sessions.load(std::sync::atomic::Ordering::Relaxed), 1);
    assert_eq!(
        node.context
            .registry
            .get("live/fx")
            .unwrap()
            .stats
            .viewers(avrs_core::live::Protocol::Native),
        1
    );
    let info = viewer
        .info
        .clone()
        .expect("CONTENT_UPDATE before the reply");
    assert_eq!(info.flows.as_str(), "va");
    assert_eq!(info.tracks.len(), 2);
    let (mut played, viewer) =
        bounded("the stream plays", Duration::from_secs(20), collect(viewer)).await;
    played.insert(0, first);
    assert_complete(&played, &frames, &configs);
    assert_eq!(viewer.stats().groups_cut, 0);
    // Every frame came signed by the node and verified.
    let origin = info.origin.expect("CONTENT_ORIGIN announced");
    assert_eq!(
        origin.public_key,
        node.context.content_key.public_key().as_bytes()
    );
    let checks = viewer.check_stats();
    assert_eq!(checks.verified, played.len() as u64);
    assert_eq!((checks.corrupted, checks.unchecked), (0, 0));
    viewer.close().await;
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_pinned_to_another_signer_refuses_the_content() {
    let (node, _, _) = node_publishing("live/pin", 2).await;

    let node_id = node.context.content_key.id().0;
    let trusting = ClientOptions {
        trusted_signers: vec![node_id],
        ..ClientOptions::default()
    };
    let session = Session::connect(node.quic_address, trusting).await.unwrap();
    let mut viewer = session.watch("live/pin").await.unwrap();
    assert!(
        viewer.next_frame().await.unwrap().is_some(),
        "the pinned signer plays"
    );
    assert!(viewer.check_stats().verified >= 1);
    viewer.close().await;

    let stranger = ClientOptions {
        trusted_signers: vec![[0x42; 32]],
        ..ClientOptions::default()
    };
    let session = Session::connect(node.quic_address, stranger).await.unwrap();
    let mut viewer = session.watch("live/pin").await.unwrap();
    let error = viewer.next_frame().await.unwrap_err();
    assert!(error.to_string().contains("SIGN_ALIEN"), "{error}");
    viewer.close().await;
    node.shutdown().await;
}

/// A raw control stream, for sending what a real client never would.
struct Raw {
    _endpoint: quinn::Endpoint,
    conn: quinn::Connection,
    control: ControlWriter,
    replies: tokio::sync::mpsc::Receiver<
        Result<avrs_node::native::wire::Message, avrs_node::native::wire::ReadError>,
    >,
}

impl Raw {
    async fn connect(node: &Node) -> Self {
        let (endpoint, conn) = client::dial(node.quic_address, &ClientOptions::default())
            .await
            .unwrap();
        let (send, recv) = conn.open_bi().await.unwrap();
        Self {
            _endpoint: endpoint,
            conn,
            control: ControlWriter::new(send),
            replies: spawn_control_reader(recv),
        }
    }

    async fn reply(&mut self) -> RetCodePacket {
        let message = bounded("a reply", Duration::from_secs(5), self.replies.recv())
            .await
            .expect("a reply before the end")
            .expect("a readable reply");
        assert_eq!(message.subtype, SubType::RetCode);
        RetCodePacket::decode(&message.data).unwrap()
    }

    /// The application close code the server closed with.
    async fn closed_with(&self) -> u32 {
        let reason = bounded("the close", Duration::from_secs(5), self.conn.closed()).await;
        match reason {
            quinn::ConnectionError::ApplicationClosed(close) => {
                close.error_code.into_inner() as u32
            }
            other => panic!("expected an application close, got {other}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_is_refused_and_a_watched_stream_keeps_playing() {
    let node = Node::start(NodeOptions::loopback_ephemeral())
        .await
        .unwrap();
    let (configs, frames) = fixture(4);
    let publisher = node
        .context
        .registry
        .publish("live/g", Instant::now())
        .unwrap();
    publisher.set_configs(configs.clone());
    publish_paced(publisher, frames.clone(), 1.5);
    wait_for_frames(&node, "live/g").await;
    let watched = tokio::spawn(collect(watch(&node, "live/g").await));

    // Not QUIC at all.
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    for size in [1, 40, 1200, 1500] {
        udp.send_to(&vec![0xA5; size], node.quic_address).unwrap();
    }

    // QUIC with another application protocol: the handshake fails.
    let h3 = ClientOptions {
        alpn: b"h3".to_vec(),
        ..ClientOptions::default()
    };
    let wrong = client::dial(node.quic_address, &h3).await;
    assert!(wrong.is_err(), "wrong ALPN refused");

    // Random bytes on the control stream: a reply, then the close.
    let mut raw = Raw::connect(&node).await;
    raw.control
        .write_raw(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    assert_eq!(raw.reply().await.code, RetCode::ArgIncorrect);
    assert_eq!(raw.closed_with().await, CloseCode::ProtocolViolation.code());

    // An unsigned OPEN.
    let mut raw = Raw::connect(&node).await;
    let unsigned = avrs_proto::avrs::quic::BoundOpen::new(client::binding(&raw.conn).unwrap())
        .to_packet()
        .unwrap()
        .finish();
    raw.control
        .write(SubType::Session, &unsigned)
        .await
        .unwrap();
    assert_eq!(raw.reply().await.code, RetCode::SignNotPresent);
    assert_eq!(raw.closed_with().await, CloseCode::SessionRefused.code());

    // A valid OPEN replayed on another connection.
    let key = SigningKey::generate(Algorithm::Ed25519).unwrap();
    let mut first = Raw::connect(&node).await;
    let open = client::open_request(&key, client::binding(&first.conn).unwrap(), None).unwrap();
    first.control.write(SubType::Session, &open).await.unwrap();
    assert_eq!(
        first.reply().await.code,
        RetCode::Success,
        "the original opens"
    );
    let mut replay = Raw::connect(&node).await;
    replay.control.write(SubType::Session, &open).await.unwrap();
    let refused = replay.reply().await;
    assert_eq!(
        (refused.code, refused.text.as_str()),
        (RetCode::SignIncorrect, "SESSION_BINDING_MISMATCH")
    );
    assert_eq!(replay.closed_with().await, CloseCode::SessionRefused.code());

    // A content that is not there: an answer, and the session goes on.
    let missing = ContentRequest::watch("live/none")
        .to_packet()
        .unwrap()
        .finish();
    first
        .control
        .write(SubType::Session, &missing)
        .await
        .unwrap();
    let reply = first.reply().await;
    assert_eq!(reply.code, RetCode::ContentNotFound);
    assert_eq!(reply.text, "CONTENT_NOT_FOUND live/none");
    let add = ContentRequest::watch("live/g")
        .to_packet()
        .unwrap()
        .finish();
    first.control.write(SubType::Session, &add).await.unwrap();
    // CONTENT_UPDATE, then SUCCESS with the lowest free content id (the
    // failed CONTENT_ADD held none).
    let info = bounded("info", Duration::from_secs(5), first.replies.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(info.subtype, SubType::Session);
    assert_eq!(
        first.reply().await,
        RetCodePacket::with_text(RetCode::Success, "1")
    );

    // Through all of it, the watched stream played on, complete.
    let (played, viewer) = bounded("the watched stream ends", Duration::from_secs(20), watched)
        .await
        .unwrap();
    assert_complete(&played, &frames, &configs);
    viewer.close().await;
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_stream_is_a_clear_error() {
    let node = Node::start(NodeOptions::loopback_ephemeral())
        .await
        .unwrap();
    let session = Session::connect(node.quic_address, ClientOptions::default())
        .await
        .unwrap();
    let err = session.watch("live/nothing").await.unwrap_err().to_string();
    assert!(err.contains("CONTENT_NOT_FOUND"), "{err}");

    // A post-quantum session key (a 5.3 KB signature in the OPEN).
    let key = SigningKey::generate(Algorithm::MlDsa65).unwrap();
    let id = key.id();
    let options = ClientOptions {
        key: Some(key),
        ..ClientOptions::default()
    };
    let mut session = Session::connect(node.quic_address, options).await.unwrap();
    session.opened().await.expect("ML-DSA-65 OPEN accepted");
    assert_eq!(session.id, id);
    let err = session.watch("live/nothing").await.unwrap_err().to_string();
    assert!(err.contains("CONTENT_NOT_FOUND"), "{err}");
    assert!(err.contains("live/nothing"), "{err}");
    node.shutdown().await;

    // Nobody listening: a timeout that says what to check.
    let options = ClientOptions {
        connect_timeout: Duration::from_millis(300),
        ..ClientOptions::default()
    };
    let closed = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let address = closed.local_addr().unwrap();
    let err = Session::connect(address, options)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("no answer"), "{err}");
}

/// `count` video frames of `size` bytes, 30 fps, a keyframe every 30.
fn big_frames(count: usize, size: usize) -> Vec<MediaFrame> {
    (0..count)
        .map(|i| {
            let dts = i as i64 * 3000;
            MediaFrame {
                track: TrackKind::Video,
                dts,
                pts: dts,
                keyframe: i % 30 == 0,
                data: Bytes::from(vec![i as u8; size]),
            }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_viewer_loses_old_groups_and_holds_back_nobody() {
    let node = Node::start(NodeOptions::loopback_ephemeral())
        .await
        .unwrap();
    let (configs, _) = fixture(1);
    let frames = big_frames(600, 32 * 1024);
    let publisher = node
        .context
        .registry
        .publish("live/big", Instant::now())
        .unwrap();
    publisher.set_configs(configs.clone());
    let started = Instant::now();
    // 20 s of media at 4x (5 s): about 4 MB/s.
    publish_paced(publisher, frames.clone(), 4.0);
    wait_for_frames(&node, "live/big").await;

    let prompt = tokio::spawn(collect(watch(&node, "live/big").await));
    let small_window = ClientOptions {
        receive_window: 64 * 1024,
        ..ClientOptions::default()
    };
    let stalled = Session::connect(node.quic_address, small_window)
        .await
        .unwrap()
        .watch("live/big")
        .await
        .unwrap();
    // Reads nothing for a while: its window fills, the server cannot send.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (late, stalled) = bounded(
        "the stalled viewer ends",
        Duration::from_secs(20),
        collect(stalled),
    )
    .await;
    let (played, prompt) = bounded("the prompt viewer ends", Duration::from_secs(20), prompt)
        .await
        .unwrap();
    let published_in = started.elapsed();

    // The prompt viewer: every frame, as if nobody else were there.
    let first = played[0].seq as usize;
    assert_eq!(played.len(), frames.len() - first, "prompt viewer complete");
    assert!(played.iter().all(|f| !f.after_gap));
    assert!(
        played
            .iter()
            .zip(first..)
            .all(|(f, i)| f.media == frames[i])
    );
    assert_eq!(prompt.stats().groups_cut, 0);

    // The stalled one: groups dropped, the rest in order, up to the end.
    let skipped = frames.len() - late[0].seq as usize - late.len();
    assert!(
        skipped > 0 && late.iter().any(|f| f.after_gap),
        "old groups were dropped: {skipped} frames skipped, {:?}",
        stalled.stats()
    );
    assert!(late.windows(2).all(|w| w[0].seq < w[1].seq), "in order");
    for frame in late.iter().filter(|f| f.after_gap) {
        assert!(
            frame.media.keyframe,
            "a dropped group resumes at a keyframe"
        );
    }
    assert_eq!(
        late.last().unwrap().seq as usize,
        frames.len() - 1,
        "caught up to the end"
    );
    // The publisher kept its pace (5 s of pushing) whatever the viewers did.
    assert!(published_in < Duration::from_secs(8), "{published_in:?}");
    prompt.close().await;
    stalled.close().await;
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publisher_reconnect_reaches_the_viewer_with_its_new_configuration() {
    let node = Node::start(NodeOptions::loopback_ephemeral())
        .await
        .unwrap();
    let (configs, frames) = fixture(2);
    let publisher = node
        .context
        .registry
        .publish("live/re", Instant::now())
        .unwrap();
    publisher.set_configs(configs.clone());
    publisher.push(frames[0].clone(), Instant::now()).unwrap();
    let viewer = tokio::spawn(collect(watch(&node, "live/re").await));
    for frame in &frames[1..] {
        publisher.push(frame.clone(), Instant::now()).unwrap();
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    // The publisher drops out and comes back with another audio setup.
    drop(publisher);
    let mut changed = configs.clone();
    changed.audio = Some(avrs_media::codec::audio_config_from_parts(2, 48_000, 2).unwrap());
    let publisher = node
        .context
        .registry
        .publish("live/re", Instant::now())
        .unwrap();
    publisher.set_configs(changed.clone());
    for frame in &frames {
        publisher.push(frame.clone(), Instant::now()).unwrap();
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    publisher.finish();

    let (played, viewer) = bounded("the stream ends", Duration::from_secs(20), viewer)
        .await
        .unwrap();
    assert_eq!(played.len(), 2 * frames.len(), "both runs, every frame");
    assert!(played.windows(2).all(|w| w[0].seq + 1 == w[1].seq));
    let cut = played
        .iter()
        .position(|f| f.discontinuity)
        .expect("the reconnect is flagged");
    assert_eq!(cut, frames.len());
    assert!(played[..cut].iter().all(|f| *f.configs == configs));
    assert!(played[cut..].iter().all(|f| *f.configs == changed));
    let video_dts: Vec<i64> = played
        .iter()
        .filter(|f| f.media.track == TrackKind::Video)
        .map(|f| f.media.dts)
        .collect();
    assert!(video_dts.windows(2).all(|w| w[0] < w[1]), "times go on");
    viewer.close().await;
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_limit_are_refused_until_one_leaves() {
    let options = NodeOptions {
        max_connections: 1,
        ..NodeOptions::loopback_ephemeral()
    };
    let node = Node::start(options).await.unwrap();
    let mut first = Session::connect(node.quic_address, ClientOptions::default())
        .await
        .unwrap();
    first.opened().await.unwrap();
    let refused = Session::connect(node.quic_address, ClientOptions::default()).await;
    assert!(refused.is_err(), "a second connection is over the limit");
    drop(first);
    // The server frees the slot once it sees the first connection close.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut third = loop {
        match Session::connect(node.quic_address, ClientOptions::default()).await {
            Ok(session) => break session,
            Err(err) if Instant::now() < deadline => {
                eprintln!("not yet: {err:#}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(err) => panic!("the slot never came back: {err:#}"),
        }
    };
    third.opened().await.unwrap();
    node.shutdown().await;
}
