//! The browser check: a VoD imported from an ffmpeg-made MP4 plays in
//! headless Chromium through the node's player page (`/vod/ID/player`,
//! hls.js from `/vod/hls.min.js`): playback passes 2 s and no error (from
//! hls.js, fatal or not, or from the video element) fires. Skipped with the
//! reason when Chromium is not installed (`apt-get install chromium`).
//! Safari cannot run here; see docs/vod.md.

mod support;
mod vod_common;

use std::time::Duration;
use support::{Server, http_get, status_and_body, wait_until};
use vod_common::cdp::Browser;
use vod_common::*;

#[test]
fn a_vod_plays_in_chromium_with_hls_js() {
    if !tools() {
        return;
    }
    let Some(chromium) = Browser::find() else {
        eprintln!("skipped: chromium not found (apt-get install chromium)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = make_media(dir.path(), "in.mp4", 6);
    let output = avrs(&[
        "vod",
        "import",
        file.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
    ]);
    let id = imported_id(&output);
    let server = Server::start(&data);
    let script = http_get(server.http, "/vod/hls.min.js");
    assert_eq!(status_and_body(&script).0, 200);
    let player = format!("/vod/{id}/player");
    let page = http_get(server.http, &player);
    assert!(page.contains(&format!("/vod/{id}/index.m3u8")), "{page}");
    assert_eq!(
        status_and_body(&http_get(server.http, "/vod/..%2F/player")).0,
        400
    );

    let url = format!("http://{}{player}", server.http);
    let mut browser = Browser::open(chromium, &url, &dir.path().join("profile"));
    let probe = "JSON.stringify({status: document.getElementById('status').textContent, \
                 time: document.getElementById('video').currentTime, \
                 hls: typeof Hls !== 'undefined' && Hls.isSupported()})";
    let mut state = serde_json::Value::Null;
    let finished = wait_until(Duration::from_secs(60), || {
        let text = browser.evaluate(probe);
        state = serde_json::from_str(text.as_str().unwrap_or("null")).unwrap_or_default();
        let status = state["status"].as_str().unwrap_or("");
        status.starts_with("error") || state["time"].as_f64().unwrap_or(0.0) > 2.0
    });
    assert!(finished, "playback never passed 2 s: {state}");
    assert_eq!(state["hls"], true, "hls.js drives the playback: {state}");
    let status = state["status"].as_str().unwrap();
    assert!(!status.starts_with("error"), "{state}");
    // Errors after the 2 s mark count too: look once more.
    let later = browser.evaluate("document.getElementById('status').textContent");
    assert!(
        !later.as_str().unwrap_or("").starts_with("error"),
        "{later}"
    );
}
