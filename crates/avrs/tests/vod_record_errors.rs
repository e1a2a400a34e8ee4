//! A full disk during a recording, end to end: the object store is a 16 MiB
//! tmpfs (needs root and `mount`; skipped with the reason otherwise) that a
//! filler file fills mid-recording. The recording stops with an error
//! naming the cause (in `GET /api/record`), what was written before stays a
//! playable VoD, live viewers keep playing, and once the filler is removed
//! the next recording works.

mod support;
mod vod_common;

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use support::{http_get, publish_ffmpeg, status_and_body, wait_until};
use vod_common::*;

/// A tmpfs mounted for the test; unmounted on drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(path: &Path) -> Result<Self, String> {
        std::fs::create_dir_all(path).map_err(|e| e.to_string())?;
        let output = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=16m", "tmpfs"])
            .arg(path)
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !output.status.success() {
            return Err(text(&output.stderr).trim().to_owned());
        }
        Ok(Self(path.to_owned()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// Writes `path` until the file system has no room left.
fn fill(path: &Path) {
    let mut file = std::fs::File::create(path).unwrap();
    let chunk = vec![0u8; 64 * 1024];
    while file.write_all(&chunk).is_ok() {}
    // Less than a chunk is left: fill that too, in small writes.
    while file.write_all(&chunk[..512]).is_ok() {}
}

fn recordings(http: SocketAddr) -> Vec<serde_json::Value> {
    let response = http_get(http, "/api/record");
    serde_json::from_str(status_and_body(&response).1).unwrap_or_default()
}

/// The running recording's DVR playlist has `segments` segments.
fn recording_has(http: SocketAddr, segments: usize) -> Option<String> {
    let running = recordings(http);
    let entry = running.iter().find(|r| r["state"] == "recording")?;
    let dvr = http_get(http, entry["dvr"].as_str()?);
    (dvr.matches("#EXTINF").count() >= segments).then(|| entry["id"].as_str().unwrap().to_owned())
}

/// ffmpeg reads two seconds of the live stream over HTTP-FLV.
fn live_plays(http: SocketAddr, name: &str) -> bool {
    Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(format!("http://{http}/live/{name}.flv"))
        .args(["-t", "2", "-f", "null", "-"])
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn a_full_disk_stops_the_recording_keeps_what_was_written_and_live_plays_on() {
    if !tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let objects = dir.path().join("objects");
    let tmpfs = match Tmpfs::mount(&objects) {
        Ok(tmpfs) => tmpfs,
        Err(reason) => {
            eprintln!("skipped: cannot mount a tmpfs (needs root): {reason}");
            return;
        }
    };
    let config = dir.path().join("avrs.ini");
    std::fs::write(
        &config,
        format!(
            "[auth]\npublish = loopback-or-token\n\n[vod]\nsegment_target = 1s\nlocal_path = {}\n\n\
             [record.rec]\npattern = live/rec*\ndvr_window = 1h\n",
            objects.display()
        ),
    )
    .unwrap();
    let server = start_with_config(&dir.path().join("data"), &config);
    let http = server.http;
    let mut publisher = publish_ffmpeg(server.rtmp, "rec-full", 60);
    let mut first = None;
    assert!(
        wait_until(Duration::from_secs(30), || {
            first = recording_has(http, 2);
            first.is_some()
        }),
        "two segments recorded"
    );
    let first = first.unwrap();

    let filler = objects.join("filler");
    fill(&filler);
    let mut failed = serde_json::Value::Null;
    assert!(
        wait_until(Duration::from_secs(30), || {
            // Failed, and done: what was written is listed.
            let list = recordings(http);
            let running = list.iter().any(|r| r["state"] == "recording");
            match list.iter().find(|r| r["state"] == "failed") {
                Some(entry) if !running => {
                    failed = entry.clone();
                    true
                }
                _ => false,
            }
        }),
        "the recording stops: {:?}",
        recordings(http)
    );
    assert_eq!(failed["id"], first.as_str());
    let error = failed["error"].as_str().unwrap();
    assert!(
        error.contains("object store") && error.contains("seg"),
        "the error names the store and object: {error}"
    );
    assert!(
        error.contains("No space left on device"),
        "the error names the cause: {error}"
    );
    assert!(live_plays(http, "rec-full"), "live viewers keep playing");

    // What was written before is a listed, playable content.
    let items = vod_list(http);
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0]["id"], first.as_str());
    assert_eq!(items[0]["partial"], true);
    let seconds = items[0]["duration"].as_f64().unwrap();
    assert!(seconds >= 1.5, "{seconds}");
    let played = decode_hls(http, items[0]["hls"].as_str().unwrap());
    assert!((played - seconds).abs() <= 1.0, "{played} vs {seconds}");

    // Space is back: recording the same stream again works.
    std::fs::remove_file(&filler).unwrap();
    let started = request(
        http,
        "POST /api/record/live/rec-full HTTP/1.0\r\nHost: t\r\nContent-Length: 0\r\n\r\n",
    );
    assert_eq!(status_and_body(&started).0, 201, "{started}");
    let mut second = None;
    assert!(
        wait_until(Duration::from_secs(30), || {
            second = recording_has(http, 2);
            second.is_some()
        }),
        "the next recording stores segments"
    );
    assert!(
        recordings(http).iter().all(|r| r["state"] != "failed"),
        "the failure is cleared by the new recording"
    );
    let _ = publisher.kill();
    let _ = publisher.wait();
    let second = second.unwrap();
    let mut items = Vec::new();
    assert!(
        wait_until(Duration::from_secs(30), || {
            items = vod_list(http);
            items.iter().any(|i| i["id"] == second.as_str())
        }),
        "the second recording is listed once the stream ends"
    );
    let item = items.iter().find(|i| i["id"] == second.as_str()).unwrap();
    assert_eq!(item["partial"], false);
    decode_hls(http, item["hls"].as_str().unwrap());
    drop(server);
    drop(tmpfs);
}
