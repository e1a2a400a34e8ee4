//! A publisher that sends a malformed FLV tag is cut off, alone: a viewer of
//! another stream on the same node keeps receiving, and the node still
//! accepts new publishers. No external tools needed (rml_rtmp's client).

use avrs_core::live::TrackConfigs;
use avrs_media::{MediaFrame, TrackKind, VideoConfig};
use avrs_node::{Node, NodeOptions};
use bytes::Bytes;
use rml_rtmp::handshake::{Handshake, HandshakeProcessResult, PeerType};
use rml_rtmp::sessions::{
    ClientSession, ClientSessionConfig, ClientSessionEvent, ClientSessionResult, PublishRequestType,
};
use rml_rtmp::time::RtmpTimestamp;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One RTMP client connection driven by rml_rtmp's client session.
struct Client {
    stream: TcpStream,
    session: ClientSession,
    /// Events read but not yet looked at (they arrive in batches).
    pending: std::collections::VecDeque<ClientSessionEvent>,
}

impl Client {
    async fn connect(address: SocketAddr) -> Self {
        let mut stream = TcpStream::connect(address).await.unwrap();
        let leftover = handshake(&mut stream).await;
        let (session, _) = ClientSession::new(ClientSessionConfig::new()).unwrap();
        let mut client = Self {
            stream,
            session,
            pending: Default::default(),
        };
        let events = client.feed(&leftover).await.unwrap();
        client.pending.extend(events);
        let request = client.session.request_connection("live".into()).unwrap();
        client.send(request).await;
        client
            .until(|e| matches!(e, ClientSessionEvent::ConnectionRequestAccepted))
            .await
            .expect("connect accepted");
        client
    }

    async fn publish(address: SocketAddr, name: &str) -> Self {
        let mut client = Self::connect(address).await;
        let request = client
            .session
            .request_publishing(name.into(), PublishRequestType::Live)
            .unwrap();
        client.send(request).await;
        client
            .until(|e| matches!(e, ClientSessionEvent::PublishRequestAccepted))
            .await
            .expect("publish accepted");
        client
    }

    async fn play(address: SocketAddr, name: &str) -> Self {
        let mut client = Self::connect(address).await;
        let request = client.session.request_playback(name.into()).unwrap();
        client.send(request).await;
        client
            .until(|e| matches!(e, ClientSessionEvent::PlaybackRequestAccepted))
            .await
            .expect("playback accepted");
        client
    }

    async fn send(&mut self, result: ClientSessionResult) {
        if let ClientSessionResult::OutboundResponse(packet) = result {
            // The server may already have closed: that is what some tests expect.
            let _ = self.stream.write_all(&packet.bytes).await;
        }
    }

    async fn feed(&mut self, bytes: &[u8]) -> Option<Vec<ClientSessionEvent>> {
        let mut events = Vec::new();
        for result in self.session.handle_input(bytes).ok()? {
            match result {
                ClientSessionResult::RaisedEvent(event) => events.push(event),
                other => self.send(other).await,
            }
        }
        Some(events)
    }

    /// Reads until an event matches (`Some(())`) or the server closes (`None`).
    async fn until(&mut self, wanted: impl Fn(&ClientSessionEvent) -> bool) -> Option<()> {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            while let Some(event) = self.pending.pop_front() {
                if wanted(&event) {
                    return Some(());
                }
            }
            let n = tokio::time::timeout(Duration::from_secs(10), self.stream.read(&mut buf))
                .await
                .expect("the server answers within 10 s")
                .ok()?;
            if n == 0 {
                return None;
            }
            let events = self.feed(&buf[..n]).await?;
            self.pending.extend(events);
        }
    }

    async fn video_frame(&mut self) -> Option<()> {
        self.until(|e| {
            matches!(e, ClientSessionEvent::VideoDataReceived { data, .. } if data.get(1) == Some(&1))
        })
        .await
    }

    async fn send_video(&mut self, payload: &'static [u8]) {
        let packet = self
            .session
            .publish_video_data(Bytes::from_static(payload), RtmpTimestamp::new(0), false)
            .unwrap();
        self.send(packet).await;
    }
}

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

fn video(n: i64, keyframe: bool) -> MediaFrame {
    MediaFrame {
        track: TrackKind::Video,
        dts: n * 3000,
        pts: n * 3000,
        keyframe,
        // One small AVCC NAL unit: length 2, then two bytes.
        data: Bytes::from_static(&[0, 0, 0, 2, 0x65, 0x88]),
    }
}

fn video_configs() -> TrackConfigs {
    TrackConfigs {
        video: Some(VideoConfig {
            avcc: Bytes::from_static(&[1, 0x42, 0, 0x1E, 0xFF, 0xE0, 0]),
            codec: "avc1.42001E".into(),
            width: 640,
            height: 360,
            nal_length_size: 4,
        }),
        audio: None,
    }
}

/// Malformed video tag payloads a publisher might send.
const MALFORMED: [(&str, &[u8]); 3] = [
    (
        "AVC sequence header that is not a configuration record",
        &[0x17, 0x00, 0, 0, 0, 0xFF, 0xFF],
    ),
    ("video tag cut inside its header", &[0x17]),
    (
        "AVC frame before any sequence header, cut short",
        &[0x27, 0x01, 0, 0],
    ),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_flv_tag_closes_only_its_publisher() {
    let node = Node::start(NodeOptions::loopback_ephemeral())
        .await
        .unwrap();
    let rtmp = node.rtmp_address;

    // A stream being watched over RTMP, fed straight into the registry.
    let good = node
        .context
        .registry
        .publish("live/good", Instant::now())
        .unwrap();
    good.set_configs(video_configs());
    good.push(video(0, true), Instant::now()).unwrap();
    let mut viewer = Client::play(rtmp, "good").await;
    assert!(viewer.video_frame().await.is_some(), "the viewer plays");

    for (n, (what, payload)) in MALFORMED.into_iter().enumerate() {
        let name = format!("bad{n}");
        let mut bad = Client::publish(rtmp, &name).await;
        bad.send_video(payload).await;
        // The server closes that publisher (no event matches; EOF ends it).
        let closed = bad.until(|_| false).await.is_none();
        assert!(closed, "{what}: the publisher is disconnected");

        // The viewer of the other stream is untouched.
        good.push(video(n as i64 + 1, true), Instant::now())
            .unwrap();
        assert!(
            viewer.video_frame().await.is_some(),
            "{what}: the other stream keeps playing"
        );
    }

    // The node still takes publishers.
    let _fine = Client::publish(rtmp, "fine").await;
    // Each one is counted: as a protocol error, or as a refused publish.
    let metrics = &node.context.metrics;
    let counted = metrics.rtmp_errors.load(Ordering::Relaxed)
        + metrics.publish_refused.load(Ordering::Relaxed);
    assert!(
        counted >= 3,
        "each malformed publisher is counted: {counted}"
    );
    node.shutdown().await;
}
