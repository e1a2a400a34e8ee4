//! Recording end to end: a live stream recorded by rule becomes a VoD of
//! the same duration; kill -9 mid-recording keeps a playable partial one.

mod support;
mod vod_common;

use std::time::Duration;
use support::{http_get, publish_ffmpeg, status_and_body, wait_until};
use vod_common::*;

#[test]
fn a_recorded_live_stream_becomes_a_vod_of_the_same_duration() {
    if !tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let config = record_config(dir.path());
    let server = start_with_config(&dir.path().join("data"), &config);
    let mut publisher = publish_ffmpeg(server.rtmp, "rec1", 6);
    assert!(publisher.wait().unwrap().success());
    let mut items = Vec::new();
    assert!(
        wait_until(Duration::from_secs(20), || {
            items = vod_list(server.http);
            !items.is_empty()
        }),
        "the recording is listed after the stream ends"
    );
    let item = &items[0];
    assert_eq!(item["name"], "live/rec1");
    assert_eq!(item["partial"], false);
    let seconds = item["duration"].as_f64().unwrap();
    assert!(
        (seconds - 6.0).abs() <= 1.0,
        "recorded {seconds} s of a 6 s publish"
    );
    let played = decode_hls(server.http, item["hls"].as_str().unwrap());
    assert!((played - seconds).abs() <= 1.0, "{played} vs {seconds}");
}

#[test]
fn kill_9_mid_recording_keeps_a_playable_partial_recording() {
    if !tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = record_config(dir.path());
    let mut server = start_with_config(&data, &config);
    let mut publisher = publish_ffmpeg(server.rtmp, "rec-crash", 30);
    let mut dvr = String::new();
    assert!(
        wait_until(Duration::from_secs(30), || {
            let response = http_get(server.http, "/api/record");
            let list: Vec<serde_json::Value> =
                serde_json::from_str(status_and_body(&response).1).unwrap_or_default();
            let Some(path) = list.first().and_then(|r| r["dvr"].as_str()) else {
                return false;
            };
            dvr = http_get(server.http, path);
            dvr.matches("#EXTINF").count() >= 3
        }),
        "three segments recorded: {dvr}"
    );
    server.child.kill().unwrap(); // SIGKILL
    server.child.wait().unwrap();
    let _ = publisher.kill();
    let _ = publisher.wait();
    let server = start_with_config(&data, &config);
    let items = vod_list(server.http);
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0]["partial"], true);
    let seconds = items[0]["duration"].as_f64().unwrap();
    assert!(seconds >= 2.5, "{seconds}");
    let played = decode_hls(server.http, items[0]["hls"].as_str().unwrap());
    assert!((played - seconds).abs() <= 1.0, "{played} vs {seconds}");
}
