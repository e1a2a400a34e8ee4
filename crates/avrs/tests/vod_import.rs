//! VoD import end to end with the real binary and files made by ffmpeg:
//! offline import of each container then HLS playback by the node,
//! refusal of bad files, kill -9 mid-import.

mod support;
mod vod_common;

use std::process::{Command, Stdio};
use std::time::Duration;
use support::{Server, http_get, status_and_body, wait_until};
use vod_common::*;

#[test]
fn offline_import_then_the_node_lists_and_plays_it() {
    if !tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data_arg = data.to_str().unwrap();
    let mut ids = Vec::new();
    for name in ["in.mp4", "in.flv", "in.mkv", "in.ts", "in.webm"] {
        let file = if name == "in.webm" {
            // WebM cannot hold H.264: it must be refused, naming the codec.
            let path = dir.path().join(name);
            let made = Command::new("ffmpeg")
                .args([
                    "-v",
                    "error",
                    "-f",
                    "lavfi",
                    "-i",
                    "testsrc2=size=320x240:rate=30",
                    "-t",
                    "1",
                    "-c:v",
                    "libvpx",
                ])
                .arg(&path)
                .status();
            if !made.is_ok_and(|s| s.success()) {
                continue;
            }
            let output = avrs(&[
                "vod",
                "import",
                path.to_str().unwrap(),
                "--data-dir",
                data_arg,
            ]);
            assert!(!output.status.success());
            assert!(
                text(&output.stderr).contains("cannot import this file"),
                "{}",
                text(&output.stderr)
            );
            continue;
        } else {
            make_media(dir.path(), name, 5)
        };
        let output = avrs(&[
            "vod",
            "import",
            file.to_str().unwrap(),
            "--data-dir",
            data_arg,
            "--title",
            name,
        ]);
        if text(&output.stderr).contains("not implemented yet") {
            eprintln!("{name}: skipped, its demuxer is not there yet");
            continue;
        }
        let id = imported_id(&output);
        let stdout = text(&output.stdout);
        assert!(stdout.contains("× real time"), "{stdout}");
        ids.push((name, id));
    }
    assert!(ids.len() >= 2, "at least FLV and MP4 import: {ids:?}");
    let server = Server::start(&data);
    // The node holds the library now: an offline import is refused clearly.
    let file = dir.path().join("in.flv");
    let refused = avrs(&[
        "vod",
        "import",
        file.to_str().unwrap(),
        "--data-dir",
        data_arg,
    ]);
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("--server"),
        "{}",
        text(&refused.stderr)
    );
    let listed = vod_list(server.http);
    assert_eq!(listed.len(), ids.len());
    for (name, id) in &ids {
        let item = listed
            .iter()
            .find(|i| i["id"] == id.as_str())
            .expect("listed");
        assert_eq!(item["title"], *name);
        assert_eq!(item["hls"], format!("/vod/{id}/index.m3u8"));
        let seconds = decode_hls(server.http, &format!("/vod/{id}/index.m3u8"));
        // Within one segment (the 4 s target) of the 5 s source; in
        // practice within a frame.
        assert!((seconds - 5.0).abs() < 0.1, "{name}: {seconds} s");
        let master = http_get(server.http, &format!("/vod/{id}/master.m3u8"));
        assert!(master.contains("RESOLUTION=1280x720"), "{master}");
    }
    let response = http_get(server.http, "/vod/not-an-id/index.m3u8");
    assert_eq!(status_and_body(&response).0, 400);
}

#[test]
fn a_corrupt_file_is_refused_offline_and_nothing_is_stored() {
    if !tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let garbage = dir.path().join("garbage.mp4");
    std::fs::write(&garbage, vec![0x5a; 100_000]).unwrap();
    let file = make_media(dir.path(), "in.flv", 2);
    let mut bytes = std::fs::read(&file).unwrap();
    bytes.truncate(bytes.len() / 2);
    let truncated = dir.path().join("truncated.flv");
    std::fs::write(&truncated, bytes).unwrap();
    for (path, reason) in [(&garbage, "unknown first bytes"), (&truncated, "truncated")] {
        let output = avrs(&[
            "vod",
            "import",
            path.to_str().unwrap(),
            "--data-dir",
            data.to_str().unwrap(),
        ]);
        assert!(!output.status.success());
        let stderr = text(&output.stderr);
        assert!(
            stderr.contains("cannot import this file") && stderr.contains(reason),
            "{stderr}"
        );
    }
    let listed = avrs(&["vod", "list", "--data-dir", data.to_str().unwrap()]);
    assert!(
        listed.status.success() && listed.stdout.is_empty(),
        "{}",
        text(&listed.stdout)
    );
    assert!(objects(&data).is_empty(), "{:?}", objects(&data));
}

#[test]
fn kill_9_mid_import_leaves_no_content() {
    if !tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("avrs.ini");
    std::fs::write(&config, "[vod]\nsegment_target = 1s\n").unwrap();
    let file = make_media(dir.path(), "long.flv", 40);
    let mut import = Command::new(env!("CARGO_BIN_EXE_avrs"))
        .args([
            "vod",
            "import",
            file.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
        ])
        .args(["--data-dir", data.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill once some segments are stored, well before the 40th.
    let some_stored = || {
        objects(&data)
            .iter()
            .any(|id| data.join("vod/objects").join(id).join("seg2.m4s").exists())
    };
    assert!(wait_until(Duration::from_secs(60), some_stored));
    import.kill().unwrap();
    let status = import.wait().unwrap();
    assert!(status.code().is_none(), "killed, not finished: {status:?}");
    assert!(!objects(&data).is_empty(), "the killed import left objects");
    let listed = avrs(&["vod", "list", "--data-dir", data.to_str().unwrap()]);
    assert!(
        listed.status.success() && listed.stdout.is_empty(),
        "{}",
        text(&listed.stdout)
    );
    assert!(
        objects(&data).is_empty(),
        "the next open removed the orphans: {:?}",
        objects(&data)
    );
}
