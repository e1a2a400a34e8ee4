//! A native VoD session on a real ffmpeg-made file imported into the
//! library: the start lands within one group of pictures of the position
//! asked, seek does the same, pause stops frames and resume continues.

use avrs_node::native::client::{ClientOptions, Session, Watch};
use avrs_node::{Node, NodeOptions};
use avrs_proto::avrs::ContentState;
use avrs_vod::{ImportMeta, Library, VodConfig};
use std::process::Command;
use std::time::Duration;

const SECOND: i64 = 90_000;
/// `-g 30` at 30 frames per second.
const GOP: i64 = SECOND;

fn have_ffmpeg() -> bool {
    Command::new("ffmpeg").arg("-version").output().is_ok()
}

/// An 8 s H.264 + AAC MP4, a keyframe every second.
fn make_file(dir: &std::path::Path) -> Vec<u8> {
    let path = dir.join("in.mp4");
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg("testsrc=size=320x240:rate=30:duration=8")
        .args(["-f", "lavfi", "-i", "sine=frequency=440:duration=8"])
        .args(["-c:v", "libx264", "-g", "30", "-keyint_min", "30"])
        .args(["-sc_threshold", "0", "-pix_fmt", "yuv420p", "-c:a", "aac"])
        .arg(&path)
        .status()
        .expect("run ffmpeg");
    assert!(status.success());
    std::fs::read(path).unwrap()
}

async fn node_with_vod(dir: &std::path::Path) -> (Node, String) {
    let (library, _) = Library::open(dir, VodConfig::default(), 1).await.unwrap();
    let item = library
        .import_bytes(&make_file(dir), ImportMeta::default(), &mut |_| {})
        .await
        .unwrap();
    let options = NodeOptions {
        vod: Some(library),
        ..NodeOptions::loopback_ephemeral()
    };
    let node = Node::start(options).await.unwrap();
    (node, format!("vod/{}", item.id))
}

async fn next(watch: &mut Watch) -> avrs_node::native::client::PlayedFrame {
    tokio::time::timeout(Duration::from_secs(10), watch.next_frame())
        .await
        .expect("a frame within 10 s")
        .expect("no error")
        .expect("not the end")
}

fn assert_within_one_gop(frame: &avrs_node::native::client::PlayedFrame, position: i64) {
    assert!(frame.media.keyframe, "starts at a keyframe: {frame:?}");
    assert!(
        frame.media.pts <= position && frame.media.pts > position - GOP,
        "keyframe at {} for position {position}",
        frame.media.pts
    );
}

/// A session on the test VoD, started at `start` seconds.
async fn watching(start: i64) -> Option<(Node, Watch, tempfile::TempDir)> {
    if !have_ffmpeg() {
        eprintln!("skipped: ffmpeg not installed");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let (node, name) = node_with_vod(dir.path()).await;
    let session = Session::connect(node.quic_address, ClientOptions::default())
        .await
        .unwrap();
    let watch = session
        .watch_vod(&name, (start * SECOND) as u64, None)
        .await
        .unwrap();
    Some((node, watch, dir))
}

/// Seek to 1.0 s while the first second from 3.0 s is still being sent
/// ahead: several group streams open at once, and the client must not
/// start on a later group whose first bytes beat the first post-seek one
/// (`groups::Pacing::Vod`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vod_session_seeks_within_one_group() {
    let Some((node, mut watch, _dir)) = watching(3).await else {
        return;
    };
    let first = next(&mut watch).await;
    assert_within_one_gop(&first, 3 * SECOND);
    // Seek to 1.0 s: the first frame after the jump is a keyframe there.
    watch.control(None, Some(SECOND as u64)).await.unwrap();
    let seeked = loop {
        let frame = next(&mut watch).await;
        if frame.discontinuity {
            break frame;
        }
    };
    assert!(seeked.after_gap, "a seek is a gap in positions");
    assert_within_one_gop(&seeked, SECOND);
    watch.close().await;
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vod_session_starts_within_one_group_pauses_and_resumes() {
    let Some((node, mut watch, _dir)) = watching(3).await else {
        return;
    };
    assert_eq!(watch.rendition, Some(0), "the one rendition is chosen");

    // Start at 3.0 s: within one group of pictures.
    let seeked = next(&mut watch).await;
    assert_within_one_gop(&seeked, 3 * SECOND);

    // Pause: what was sent ahead still arrives, then nothing.
    watch
        .control(Some(ContentState::Paused), None)
        .await
        .unwrap();
    let mut last_dts = seeked.media.dts;
    // Until 2.5 s pass without a frame (while playing, one comes every
    // 33 ms; a paused VoD that kept going would run to its end and fail).
    while let Ok(frame) =
        tokio::time::timeout(Duration::from_millis(2500), watch.next_frame()).await
    {
        last_dts = frame.unwrap().unwrap().media.dts;
    }
    assert!(
        last_dts < seeked.media.dts + 4 * SECOND,
        "frames stopped while paused (last at {last_dts})"
    );
    // Resume: frames continue from there.
    watch
        .control(Some(ContentState::Playing), None)
        .await
        .unwrap();
    let resumed = next(&mut watch).await;
    assert!(resumed.media.dts > last_dts - SECOND, "{resumed:?}");
    watch.close().await;
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vod_plays_to_its_end_and_unknown_ids_are_not_found() {
    if !have_ffmpeg() {
        eprintln!("skipped: ffmpeg not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (node, name) = node_with_vod(dir.path()).await;
    let session = Session::connect(node.quic_address, ClientOptions::default())
        .await
        .unwrap();
    // From 6.5 s: a GOP or two, then the end (CONTENT_REMOVE).
    let mut watch = session
        .watch_vod(&name, 13 * SECOND as u64 / 2, None)
        .await
        .unwrap();
    let first = next(&mut watch).await;
    assert_within_one_gop(&first, 13 * SECOND / 2);
    let mut frames = 1;
    while let Some(frame) = tokio::time::timeout(Duration::from_secs(10), watch.next_frame())
        .await
        .expect("the end within 10 s")
        .unwrap()
    {
        assert!(frame.media.dts >= first.media.dts);
        frames += 1;
    }
    assert!(frames > 30, "{frames} frames");
    watch.close().await;

    let session = Session::connect(node.quic_address, ClientOptions::default())
        .await
        .unwrap();
    let err = session
        .watch_vod("vod/00000000000000000000000000000000", 0, None)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("CONTENT_NOT_FOUND"), "{err}");
    node.shutdown().await;
}

/// A VoD slot resumed after a lost connection goes on from about where it
/// had got to (the group before the newest one sent, as frames go out up
/// to a second ahead), not from its start, and plays to the end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resumed_vod_session_goes_on_from_where_it_was() {
    if !have_ffmpeg() {
        eprintln!("skipped: ffmpeg not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (node, name) = node_with_vod(dir.path()).await;
    let key = avrs_crypto::SigningKey::generate(avrs_crypto::Algorithm::Ed25519).unwrap();
    let options = || ClientOptions {
        key: Some(key.duplicate().unwrap()),
        ..ClientOptions::default()
    };
    let session = Session::connect(node.quic_address, options())
        .await
        .unwrap();
    let mut watch = session.watch_vod(&name, 0, None).await.unwrap();
    let mut played = 0;
    while played < 3 * SECOND {
        played = played.max(next(&mut watch).await.media.pts);
    }
    // The network goes away; the node keeps the session.
    watch.connection().close(0x99u32.into(), b"network gone");
    let parked = tokio::time::timeout(Duration::from_secs(10), async {
        while !node
            .context
            .native_sessions
            .list()
            .iter()
            .any(|s| s.state == avrs_node::native::sessions::SessionState::Parked)
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });
    parked.await.expect("the session is parked");
    let how = watch.reconnect(node.quic_address, options()).await.unwrap();
    assert_eq!(how, avrs_node::native::client::Reconnected::Resumed);
    let resumed = next(&mut watch).await;
    assert!(resumed.media.keyframe, "{resumed:?}");
    assert!(
        resumed.media.pts <= played && resumed.media.pts >= played - 2 * GOP,
        "resumed at {} after playing to {played}",
        resumed.media.pts
    );
    let mut last = resumed.media.pts;
    while let Some(frame) = tokio::time::timeout(Duration::from_secs(10), watch.next_frame())
        .await
        .expect("frames go on")
        .unwrap()
    {
        last = last.max(frame.media.pts);
    }
    assert!(last >= 7 * SECOND, "played to the end: {last}");
}
