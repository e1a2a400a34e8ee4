//! A minimal browser player for VoD contents: `/vod/ID/player` plays
//! `/vod/ID/index.m3u8` natively (Safari) or with hls.js (vendored under
//! `assets/hls.js`, Apache-2.0, served at `/vod/hls.min.js`). Its status
//! line says how far playback went or which error stopped it; the browser
//! check (`crates/avrs/tests/vod_browser.rs`) reads it.

use super::parse_id;
use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};

/// hls.js 1.6.15, unmodified (see `assets/hls.js/README.md`).
const HLS_JS: &str = include_str!("../../../../../assets/hls.js/hls.min.js");

/// The page; `{ID}` is replaced by a parsed (hex) id, nothing else of the
/// request reaches it.
const PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>avrs VoD {ID}</title>
<style>body{font-family:sans-serif;margin:1em}video{width:100%;max-width:960px;background:#000}</style>
</head>
<body>
<video id="video" controls autoplay muted playsinline></video>
<p id="status">loading</p>
<script src="/vod/hls.min.js"></script>
<script>
"use strict";
const source = "/vod/{ID}/index.m3u8";
const video = document.getElementById("video");
const status = document.getElementById("status");
let failed = null;
function fail(what) {
  failed = what;
  status.textContent = "error: " + what;
}
video.addEventListener("error", () => fail("video element: " + (video.error ? video.error.message || video.error.code : "?")));
video.addEventListener("timeupdate", () => {
  if (failed === null) {
    status.textContent = "playing " + video.currentTime.toFixed(1) + " s of " + video.duration.toFixed(1) + " s";
  }
});
video.addEventListener("ended", () => { if (failed === null) status.textContent = "ended at " + video.currentTime.toFixed(1) + " s"; });
if (window.Hls && Hls.isSupported()) {
  const hls = new Hls();
  // Any error counts, fatal or not: the check wants none at all.
  hls.on(Hls.Events.ERROR, (_, data) => fail("hls.js " + data.type + " " + data.details + (data.fatal ? " (fatal)" : "")));
  hls.loadSource(source);
  hls.attachMedia(video);
} else if (video.canPlayType("application/vnd.apple.mpegurl")) {
  video.src = source;
} else {
  fail("this browser plays neither HLS nor Media Source Extensions");
}
video.play().catch((e) => fail("play: " + e.message));
</script>
</body>
</html>
"#;

/// `GET /vod/hls.min.js`.
pub(super) async fn hls_js() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        HLS_JS,
    )
        .into_response()
}

/// `GET /vod/ID/player`: the page (the content itself is checked when the
/// page asks for its playlist).
pub(super) async fn page(Path(id): Path<String>) -> Response {
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(r) => return r,
    };
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        PAGE.replace("{ID}", &id.to_string()),
    )
        .into_response()
}
