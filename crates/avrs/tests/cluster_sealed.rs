//! An ENCRYPTED content through a relay, with real processes: host and
//! origin with `[auth] encrypt = live/*`, a relay server without it. ffmpeg publishes to
//! the origin; `avrs play` on the relay server plays it: the relay forwards
//! the origin's sealed frames without a key (it never asks for one and is
//! never given one), the player gets the key from the origin on a key-only
//! session, opens every frame, and ffmpeg decodes what it wrote. Outputs in
//! clear refuse the content on the relay too.

mod cluster_support;
mod support;

use cluster_support::*;
use std::process::{Command, Stdio};
use std::time::Duration;
use support::{have, publish_ffmpeg, wait_until};

#[test]
fn a_relay_forwards_an_encrypted_content_it_cannot_read() {
    if !have("ffmpeg") || !have("ffprobe") {
        eprintln!("skipped: ffmpeg is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // The relay is not told the content is ENCRYPTED: the frames say so.
    let names = ["host", "origin", "relay"];
    let (_host, nodes) = start_cluster(dir.path(), &names, |i, config| {
        if names[i] != "relay" {
            add_to_section(config, "auth", "encrypt = live/*")
        }
    });
    let (origin, relay) = (&nodes[0], &nodes[1]);
    assert!(
        wait_until(Duration::from_secs(15), || alive_members(relay).len() == 3),
        "all members alive: {}",
        members(relay)
    );
    let mut ffmpeg = publish_ffmpeg(origin.rtmp, "cam", 30);
    assert!(
        wait_until(Duration::from_secs(15), || alive_members(relay)
            .iter()
            .any(|(id, contents)| *id == origin.id && *contents > 0)),
        "the relay server learns the origin holds the stream"
    );

    let out = dir.path().join("played.flv");
    let played = support::avrs_play(dir.path())
        .arg(format!("avrs://{}/live/cam", relay.quic))
        .arg("--out")
        .arg(&out)
        .args(["--duration", "3", "--trust", &origin_signer(origin)])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&played.stderr);
    assert!(played.status.success(), "avrs play on the relay: {stderr}");
    assert!(
        stderr.contains("dropped as corrupted 0, unsigned 0"),
        "{stderr}"
    );
    let routes = get(relay.http, "/api/cluster/routes");
    assert!(
        routes.contains("\"relay\""),
        "played through a relay: {routes}"
    );

    // What it wrote is the clear stream: ffmpeg decodes it.
    let decode = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(&out)
        .args(["-f", "null", "-"])
        .output()
        .unwrap();
    assert!(decode.status.success());
    assert_eq!(String::from_utf8_lossy(&decode.stderr), "", "clean decode");
    let frames = Command::new("ffprobe")
        .args(["-v", "error", "-count_frames", "-select_streams", "v"])
        .args(["-show_entries", "stream=nb_read_frames", "-of", "csv=p=0"])
        .arg(&out)
        .output()
        .unwrap();
    let count: u32 = String::from_utf8_lossy(&frames.stdout)
        .trim()
        .parse()
        .unwrap_or(0);
    assert!(count >= 60, "video frames decoded: {count}");

    // The relay serves it to nobody in clear, though its own config does
    // not name it ENCRYPTED: its frames arrive sealed.
    for path in ["/live/cam.flv", "/live/cam/index.m3u8"] {
        let answer = get(relay.http, path);
        assert!(answer.starts_with("HTTP/1.0 403"), "{path}: {answer}");
        assert!(answer.contains("ENCRYPTED content"), "{path}: {answer}");
    }
    let rtmp = Command::new("ffprobe")
        .args(["-v", "error", "-rw_timeout", "5000000"])
        .arg(format!("rtmp://{}/live/cam", relay.rtmp))
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&rtmp.stderr);
    assert!(!rtmp.status.success(), "RTMP play on the relay refused");
    assert!(said.contains("ENCRYPTED content"), "ffprobe: {said}");
    let _ = ffmpeg.kill();
    let _ = ffmpeg.wait();
}

/// The origin node's content signer id (its node key's id): frames must be
/// signed by it, not by the relay.
fn origin_signer(origin: &ClusterNode) -> String {
    origin.id.clone()
}
