//! What the LL-HLS tests share: a node, a tiny HTTP/1.1 client, the FLV
//! fixture as frames, a publisher that waits for the packager, an LL-HLS
//! follower that checks every playlist version, and ffmpeg/ffprobe probes.
#![allow(dead_code)] // each test binary uses a different part

use avrs_core::live::{Publisher, TrackConfigs};
use avrs_media::MediaFrame;
use avrs_media::TrackKind;
use avrs_media::flv::{FlvDemuxer, TagMedia, tag_to_media};
use avrs_media::hls::{PlaylistReport, check_continuity, check_media_playlist};
use avrs_node::hls::HlsStream;
use avrs_node::{Node, NodeContext, NodeOptions};
use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::process::Command;

/// Upper bound of every wait in these tests.
pub const PATIENCE: Duration = Duration::from_secs(30);

pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_ansi(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "avrs_node=info".into()),
        )
        .try_init();
}

pub async fn start_node(reconnect_timeout: Duration) -> Node {
    init_tracing();
    let mut options = NodeOptions::loopback_ephemeral();
    options.reconnect_timeout = reconnect_timeout;
    Node::start(options).await.expect("node starts")
}

/// Polls `condition` every 5 ms for at most [`PATIENCE`].
pub async fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The HLS stream of `name` once the node packages it.
pub async fn wait_for_hls(context: &NodeContext, name: &str) -> Arc<HlsStream> {
    let mut found = None;
    wait_until(&format!("HLS stream {name}"), || {
        found = context.hls.get(name);
        found.is_some()
    })
    .await;
    found.expect("found")
}

// ---------------------------------------------------------------- HTTP

/// One HTTP response.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// `GET path` on a fresh connection (`Connection: close`), bounded.
pub async fn get(address: SocketAddr, path: impl AsRef<str>) -> Reply {
    let path = path.as_ref();
    let exchange = async {
        let mut stream = TcpStream::connect(address).await.expect("connect");
        let request =
            format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.expect("send");
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.expect("receive");
        raw
    };
    let raw = tokio::time::timeout(PATIENCE, exchange)
        .await
        .unwrap_or_else(|_| panic!("GET {path} timed out"));
    parse_reply(&raw).unwrap_or_else(|| panic!("malformed answer to GET {path}: {raw:?}"))
}

fn parse_reply(raw: &[u8]) -> Option<Reply> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .map(|line| {
            let (name, value) = line.split_once(':')?;
            Some((name.trim().to_owned(), value.trim().to_owned()))
        })
        .collect::<Option<_>>()?;
    let mut reply = Reply {
        status,
        headers,
        body: Vec::new(),
    };
    let rest = &raw[end + 4..];
    reply.body = if reply
        .header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    {
        dechunk(rest)?
    } else {
        let length: usize = reply.header("content-length")?.parse().ok()?;
        (rest.len() == length).then(|| rest.to_vec())?
    };
    Some(reply)
}

fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n")?;
        let size = std::str::from_utf8(&data[..line_end]).ok()?;
        let size = usize::from_str_radix(size.split(';').next()?.trim(), 16).ok()?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Some(body);
        }
        body.extend_from_slice(data.get(..size)?);
        data = data.get(size + 2..)?;
    }
}

// ------------------------------------------------------------- frames

const FIXTURE: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../avrs-media/tests/data/testsrc2-720p30-aac.flv"
));

/// The fixture (1 s of 720p30 H.264 with B-frames, keyframes every 15, and
/// AAC) as configurations and frames, from its first keyframe on.
pub fn fixture() -> (TrackConfigs, Vec<MediaFrame>) {
    let mut demuxer = FlvDemuxer::default();
    demuxer.push(FIXTURE);
    let (mut configs, mut frames) = (TrackConfigs::default(), Vec::new());
    while let Some(tag) = demuxer.next_tag().expect("fixture demuxes") {
        match tag_to_media(&tag).expect("fixture converts") {
            TagMedia::VideoConfig(v) => configs.video = Some(v),
            TagMedia::AudioConfig(a) => configs.audio = Some(a),
            TagMedia::Frame(f) => frames.push(f),
            _ => {}
        }
    }
    let first_key = frames
        .iter()
        .position(|f| f.track == TrackKind::Video && f.keyframe)
        .expect("a keyframe");
    frames.drain(..first_key);
    (configs, frames)
}

/// `seconds` of media: the fixture repeated, one second apart. Audio past
/// the second is left out so each track's times keep increasing.
pub fn looped_fixture(seconds: i64) -> (TrackConfigs, Vec<MediaFrame>) {
    let (configs, frames) = fixture();
    let second = 90_000;
    let frames = (0..seconds)
        .flat_map(|n| {
            frames.iter().filter(|f| f.dts < second).map(move |f| {
                let mut f = f.clone();
                f.dts += n * second;
                f.pts += n * second;
                f
            })
        })
        .collect();
    (configs, frames)
}

pub fn count(frames: &[MediaFrame], track: TrackKind) -> usize {
    frames.iter().filter(|f| f.track == track).count()
}

/// Publishes frames straight into the registry (no RTMP), each once the
/// packager has handled the previous one, so it never lags (a reader more
/// than a group behind is skipped ahead).
pub struct DirectPublisher {
    pub publisher: Publisher,
    pub stream: Arc<HlsStream>,
    sent: u64,
}

impl DirectPublisher {
    pub async fn start(context: &NodeContext, name: &str, configs: TrackConfigs) -> Self {
        let publisher = context
            .registry
            .publish(name, std::time::Instant::now())
            .expect("publish");
        publisher.set_configs(configs);
        let stream = wait_for_hls(context, name).await;
        Self {
            publisher,
            stream,
            sent: 0,
        }
    }

    /// Pushes `frames` as fast as the packager takes them: a group of
    /// pictures at a time, waiting for the packager before each keyframe.
    pub async fn push(&mut self, frames: &[MediaFrame]) {
        for frame in frames {
            if frame.track == TrackKind::Video && frame.keyframe {
                self.wait_packaged().await;
            }
            self.send(frame);
        }
        self.wait_packaged().await;
    }

    /// Pushes `frames` in real time (by decode time, from the first).
    pub async fn push_real_time(&mut self, frames: &[MediaFrame]) {
        let Some(first) = frames.first() else { return };
        let start = tokio::time::Instant::now();
        for frame in frames {
            let due = Duration::from_micros(((frame.dts - first.dts) * 100 / 9) as u64);
            tokio::time::sleep_until(start + due).await;
            if frame.track == TrackKind::Video && frame.keyframe {
                self.wait_packaged().await;
            }
            self.send(frame);
        }
        self.wait_packaged().await;
    }

    fn send(&mut self, frame: &MediaFrame) {
        self.publisher
            .push(frame.clone(), std::time::Instant::now())
            .expect("frame accepted");
        self.sent += 1;
    }

    /// Waits until the packager has handled every frame sent; what they
    /// made is then in the stream's snapshot.
    pub async fn wait_packaged(&self) {
        let (stream, sent) = (&self.stream, self.sent);
        wait_until("the packager to take the frames", || {
            stream.frames_read() >= sent
        })
        .await;
    }

    /// The publisher leaves for good: the stream ends.
    pub fn finish(self) {
        self.publisher.finish();
    }
}

// ---------------------------------------------------------- playlists

pub fn playlist_path(name: &str) -> String {
    format!("/{name}/index.m3u8")
}

/// Checks one playlist answer and its continuity with the previous one.
pub fn check_version(reply: &Reply, prev: Option<&PlaylistReport>) -> PlaylistReport {
    assert_eq!(reply.status, 200, "playlist: {}", reply.text());
    assert_eq!(
        reply.header("content-type"),
        Some("application/vnd.apple.mpegurl")
    );
    let text = reply.text();
    let report = check_media_playlist(&text)
        .unwrap_or_else(|v| panic!("playlist breaks the rules: {v:#?}\n{text}"));
    if let Some(prev) = prev {
        check_continuity(prev, &report)
            .unwrap_or_else(|v| panic!("playlist does not continue: {v:#?}\n{text}"));
    }
    report
}

/// What following a live stream saw.
#[derive(Debug, Default)]
pub struct Followed {
    pub versions: usize,
    pub parts_fetched: usize,
    /// Longest time a blocking reload was held.
    pub longest_wait: Duration,
    /// Longest distance between the publisher's clock (from `origin`) and
    /// the live edge (the end of the newest listed media), taken as each
    /// live update arrives, before it counts: the edge at its oldest.
    pub worst_edge_lag: Duration,
    pub last: Option<PlaylistReport>,
}

/// Media listed so far, seconds: every segment ever seen plus the open
/// parts (segments that left the window still count).
#[derive(Debug, Default)]
struct Published {
    segments: std::collections::BTreeMap<u64, f64>,
}

impl Published {
    fn seconds(&mut self, report: &PlaylistReport) -> f64 {
        for segment in &report.segments {
            self.segments.insert(segment.msn, segment.duration);
        }
        let open: f64 = report.open_parts.iter().map(|p| p.duration).sum();
        self.segments.values().sum::<f64>() + open
    }
}

/// Follows `name` like an LL-HLS player until EXT-X-ENDLIST: blocking
/// reloads for the part after the last listed one, every version checked
/// against the rules and the previous version, every new part fetched.
/// `origin` is when the publisher's first frame was due: the live edge lag
/// is the time since then minus the media listed.
pub async fn follow(address: SocketAddr, name: &str, origin: Instant) -> Followed {
    let base = format!("/{name}");
    let mut followed = Followed::default();
    let mut published = Published::default();
    let first = get(address, &playlist_path(name)).await;
    let mut report = check_version(&first, None);
    let mut fetched_up_to = None::<String>;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        followed.versions += 1;
        let listed = Duration::from_secs_f64(published.seconds(&report));
        for part in report.parts() {
            if fetched_up_to
                .as_deref()
                .is_some_and(|f| part_number(&part.uri) <= part_number(f))
            {
                continue;
            }
            let reply = get(address, &format!("{base}/{}", part.uri)).await;
            assert_eq!(reply.status, 200, "{}: {}", part.uri, reply.text());
            assert_eq!(reply.header("content-type"), Some("video/mp4"));
            assert!(!reply.body.is_empty());
            followed.parts_fetched += 1;
            fetched_up_to = Some(part.uri.clone());
        }
        if report.ended {
            break;
        }
        assert!(Instant::now() < deadline, "the stream never ended");
        let (msn, part) = match report.last_part() {
            Some((msn, index)) => (msn, index + 1),
            None => (report.open_msn(), 0),
        };
        let asked = Instant::now();
        let reply = get(
            address,
            &format!("{}?_HLS_msn={msn}&_HLS_part={part}", playlist_path(name)),
        )
        .await;
        followed.longest_wait = followed.longest_wait.max(asked.elapsed());
        let next = check_version(&reply, Some(&report));
        if !next.ended {
            // Just before this update, the newest media was the previous
            // version's: the oldest the live edge gets.
            let lag = origin.elapsed().saturating_sub(listed);
            followed.worst_edge_lag = followed.worst_edge_lag.max(lag);
        }
        assert!(
            next.ended || next.last_part() >= Some((msn, part)) || next.last_msn() >= Some(msn),
            "blocking reload answered before ({msn}, {part}) existed"
        );
        report = next;
    }
    followed.last = Some(report);
    followed
}

fn part_number(uri: &str) -> u64 {
    uri.trim_start_matches("part")
        .trim_end_matches(".m4s")
        .parse()
        .expect("part{n}.m4s")
}

// ------------------------------------------------------------- tools

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

/// Packet times (in the stream's time base) per track, in file order.
#[derive(Debug, Default)]
pub struct Packets {
    pub video: Vec<(i64, i64)>,
    pub audio: Vec<(i64, i64)>,
}

impl Packets {
    /// Decode times only go forward on each track.
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
}

/// ffprobe's packets of `url`.
pub async fn probe_packets(url: &str) -> Packets {
    let out = tokio::time::timeout(
        PATIENCE,
        Command::new("ffprobe")
            .args(["-v", "error", "-show_entries", "packet=codec_type,pts,dts"])
            .args(["-of", "json", url])
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("ffprobe finishes")
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

/// `ffmpeg -v error -i URL -f null -` succeeds and prints nothing.
pub async fn assert_decodes_cleanly(url: &str) {
    let out = tokio::time::timeout(
        PATIENCE,
        Command::new("ffmpeg")
            .args(["-hide_banner", "-nostdin", "-v", "error", "-i", url])
            .args(["-f", "null", "-"])
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("ffmpeg finishes")
    .expect("ffmpeg runs");
    let errors = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && errors.trim().is_empty(),
        "decode errors: {errors}"
    );
}
