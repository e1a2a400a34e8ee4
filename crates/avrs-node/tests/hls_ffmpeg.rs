//! LL-HLS end to end with real tools: a stream is published (by ffmpeg over
//! RTMP, or frames straight into the registry), followed live like an
//! LL-HLS player (blocking reloads, every playlist version checked against
//! the HLS rules and the previous version, every part fetched), then read
//! by ffmpeg/ffprobe as plain HLS once ended: no decode error, both tracks,
//! monotonic timestamps, the published frame counts.
//!
//! Skipped (with a printed reason) only when ffmpeg or ffprobe is missing.

mod hls_support;

use avrs_media::TrackKind;
use hls_support::*;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};
use tokio::sync::Mutex;

/// Real-time encoders on a small machine: one test at a time.
static SERIAL: Mutex<()> = Mutex::const_new(());

/// Checks what a player gets from the ended stream at `url`.
async fn assert_plays(url: &str, video_frames: usize, audio_frames: usize, audio_slack: usize) {
    assert_decodes_cleanly(url).await;
    let packets = probe_packets(url).await;
    println!(
        "ffprobe: {} video, {} audio packets (published {video_frames} + {audio_frames})",
        packets.video.len(),
        packets.audio.len()
    );
    assert!(
        packets.video.len().abs_diff(video_frames) <= 2,
        "video frames: {} of {video_frames}",
        packets.video.len()
    );
    assert!(
        packets.audio.len().abs_diff(audio_frames) <= audio_slack,
        "audio frames: {} of {audio_frames}",
        packets.audio.len()
    );
    packets.assert_monotonic();
}

/// ffmpeg publishes 6 s of 720p30 H.264 + AAC over RTMP in real time.
fn ffmpeg_publish(rtmp: std::net::SocketAddr, name: &str, seconds: u32) -> Child {
    Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-v", "error", "-re"])
        .args(["-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30"])
        .args(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100"])
        .args(["-t", &seconds.to_string()])
        .args(["-c:v", "libx264", "-preset", "ultrafast"])
        .args(["-tune", "zerolatency", "-g", "30"])
        .args(["-c:a", "aac", "-f", "flv"])
        .arg(format!("rtmp://{rtmp}/{name}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("ffmpeg starts")
}

/// The brief's publisher over RTMP; an LL-HLS follower from the first
/// segment to ENDLIST (which comes a reconnect timeout after ffmpeg
/// leaves); then ffmpeg and ffprobe read the ended playlist.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtmp_publish_plays_as_ll_hls() {
    if !tools_present() {
        return;
    }
    let _serial = SERIAL.lock().await;
    let node = start_node(Duration::from_secs(1)).await;
    let name = "live/rtmp";
    let publisher = ffmpeg_publish(node.rtmp_address, name, 6);
    let stream = wait_for_hls(&node.context, name).await;
    // The content starts when ffmpeg publishes, just before its first
    // frame: a fair origin for the publisher's clock.
    let origin = Instant::now();
    let followed = follow(node.http_address, name, origin).await;

    let output = tokio::time::timeout(PATIENCE, publisher.wait_with_output())
        .await
        .expect("publisher finishes")
        .expect("publisher waited for");
    assert!(
        output.status.success(),
        "publisher: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    report_follow(&followed);
    let last = followed.last.as_ref().expect("followed");
    assert!(last.ended);
    assert!((last.duration() - 6.0).abs() < 0.25, "{}", last.duration());
    assert!(followed.worst_edge_lag < Duration::from_secs(2));

    let content = stream.content();
    let frames_in = content
        .stats
        .frames_in
        .load(std::sync::atomic::Ordering::Relaxed) as usize;
    let url = format!("http://{}/{name}/index.m3u8", node.http_address);
    // 6 s at 30 fps; AAC at 44.1 kHz is 258.4 frames in 6 s, and the
    // encoder adds its priming frame.
    assert_plays(&url, 180, frames_in - 180, 3).await;
    node.shutdown().await;
}

/// The same checks without RTMP: the fixture (B-frames, so pts != dts)
/// pushed into the registry in real time; ffmpeg also records the stream
/// while it is live, as a plain HLS player.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_publish_plays_as_ll_hls() {
    if !tools_present() {
        return;
    }
    let _serial = SERIAL.lock().await;
    let node = start_node(Duration::from_secs(1)).await;
    let name = "live/direct";
    let (configs, frames) = looped_fixture(6);
    let mut publisher = DirectPublisher::start(&node.context, name, configs).await;
    let address = node.http_address;
    let origin = Instant::now();
    let follower = tokio::spawn(async move { follow(address, name, origin).await });
    // A plain HLS player recording while live, from the first segment on.
    let url = format!("http://{address}/{name}/index.m3u8");
    let dir = tempfile::tempdir().unwrap();
    let recording = dir.path().join("live.mp4");
    let recorder = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-v", "error", "-i", &url])
        .args(["-c", "copy", "-f", "mp4"])
        .arg(&recording)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("ffmpeg starts");
    publisher.push_real_time(&frames).await;
    publisher.finish();
    let followed = follower.await.expect("follower");
    let recorded = tokio::time::timeout(PATIENCE, recorder.wait_with_output())
        .await
        .expect("recorder stops at ENDLIST")
        .expect("recorder waited for");
    let errors = String::from_utf8_lossy(&recorded.stderr);
    assert!(
        recorded.status.success() && errors.trim().is_empty(),
        "live recording: {errors}"
    );
    report_follow(&followed);
    let last = followed.last.as_ref().expect("followed");
    assert!(last.ended);
    assert!(followed.worst_edge_lag < Duration::from_secs(1));

    let video = count(&frames, TrackKind::Video);
    let audio = count(&frames, TrackKind::Audio);
    assert_plays(&url, video, audio, 1).await;
    let recording = recording.to_str().expect("utf-8 path");
    assert_plays(recording, video, audio, 1).await;
    node.shutdown().await;
}

fn report_follow(followed: &Followed) {
    println!(
        "followed {} playlist versions, fetched {} parts; longest blocking reload {:?}; \
         worst live-edge lag {:?}",
        followed.versions, followed.parts_fetched, followed.longest_wait, followed.worst_edge_lag
    );
}
