//! VoD end to end with the real binary and real files made by ffmpeg:
//! offline import then HLS playback, resumable upload, refusal of bad
//! files, recording by rule, kill -9 mid-recording and mid-import, and
//! the same import + playback on an S3-protocol server (s3s-fs).

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;
use support::{Server, have, http_get, publish_ffmpeg, status_and_body, wait_until};

fn tools() -> bool {
    let ok = have("ffmpeg") && have("ffprobe");
    if !ok {
        eprintln!("skipped: ffmpeg/ffprobe not found");
    }
    ok
}

/// 720p30 H.264 (keyframe every 30 frames) + AAC, `seconds` long, as `name`
/// (the extension picks the container).
fn make_media(dir: &Path, name: &str, seconds: u32) -> PathBuf {
    let path = dir.join(name);
    let status = Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=1280x720:rate=30",
        ])
        .args(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100"])
        .args([
            "-t",
            &seconds.to_string(),
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-g",
            "30",
        ])
        .args(["-c:a", "aac"])
        .arg(&path)
        .status()
        .unwrap();
    assert!(status.success(), "ffmpeg made {name}");
    path
}

fn avrs(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_avrs"))
        .args(args)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The `id: ID` line of `avrs vod import`.
fn imported_id(output: &Output) -> String {
    let stdout = text(&output.stdout);
    assert!(
        output.status.success(),
        "import failed: {}{stdout}",
        text(&output.stderr)
    );
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("id: "))
        .expect("id line")
        .to_owned()
}

fn vod_list(http: SocketAddr) -> Vec<serde_json::Value> {
    let response = http_get(http, "/api/vod");
    let (status, body) = status_and_body(&response);
    assert_eq!(status, 200, "{response}");
    serde_json::from_str(body).unwrap()
}

/// ffmpeg decodes the HLS URL with no message at all, and ffprobe's
/// duration is returned.
fn decode_hls(http: SocketAddr, path: &str) -> f64 {
    let url = format!("http://{http}{path}");
    let decoded = Command::new("ffmpeg")
        .args(["-v", "error", "-i", &url, "-f", "null", "-"])
        .output()
        .unwrap();
    assert!(
        decoded.status.success() && decoded.stderr.is_empty(),
        "ffmpeg decode errors: {}",
        text(&decoded.stderr)
    );
    let probe = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "format=duration",
            "-of",
            "csv=p=0",
            &url,
        ])
        .output()
        .unwrap();
    text(&probe.stdout)
        .trim()
        .parse()
        .expect("ffprobe duration")
}

fn objects(data: &Path) -> Vec<String> {
    std::fs::read_dir(data.join("vod/objects"))
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

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

/// Sends a PATCH announcing the whole body, writes only `part`, and hangs
/// up: an interrupted upload.
fn interrupted_patch(http: SocketAddr, id: &str, offset: u64, total: usize, part: &[u8]) {
    let mut stream = TcpStream::connect(http).unwrap();
    write!(stream, "PATCH /api/vod/uploads/{id} HTTP/1.1\r\nHost: t\r\nUpload-Offset: {offset}\r\nContent-Length: {total}\r\n\r\n").unwrap();
    stream.write_all(part).unwrap();
    stream.flush().unwrap();
    stream.shutdown(std::net::Shutdown::Both).unwrap();
}

fn request(http: SocketAddr, head: &str) -> String {
    let mut stream = TcpStream::connect(http).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(stream, "{head}").unwrap();
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response
}

fn upload_offset(http: SocketAddr, id: &str) -> Option<u64> {
    let response = request(
        http,
        &format!("HEAD /api/vod/uploads/{id} HTTP/1.0\r\nHost: t\r\n\r\n"),
    );
    response
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("upload-offset: ")
                .map(str::to_owned)
        })
        .and_then(|v| v.trim().parse().ok())
}

#[test]
fn an_interrupted_upload_resumes_and_a_bad_one_is_refused() {
    if !tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = make_media(dir.path(), "in.flv", 5);
    let bytes = std::fs::read(&file).unwrap();
    let server = Server::start(&dir.path().join("data"));
    let url = format!("http://{}", server.http);
    let created = request(
        server.http,
        "POST /api/vod/uploads HTTP/1.0\r\nHost: t\r\nContent-Length: 0\r\n\r\n",
    );
    let (status, body) = status_and_body(&created);
    assert_eq!(status, 201, "{created}");
    let upload: serde_json::Value = serde_json::from_str(body).unwrap();
    let id = upload["id"].as_str().unwrap().to_owned();
    let half = bytes.len() / 2;
    interrupted_patch(server.http, &id, 0, bytes.len(), &bytes[..half]);
    assert!(
        wait_until(Duration::from_secs(10), || upload_offset(server.http, &id)
            == Some(half as u64)),
        "the server keeps what arrived before the interruption"
    );
    // A PATCH at the wrong offset is refused with the right one.
    let wrong = request(
        server.http,
        &format!(
            "PATCH /api/vod/uploads/{id} HTTP/1.0\r\nHost: t\r\nUpload-Offset: 0\r\nContent-Length: 1\r\n\r\nx"
        ),
    );
    assert_eq!(status_and_body(&wrong).0, 409, "{wrong}");
    assert!(
        wrong
            .to_ascii_lowercase()
            .contains(&format!("upload-offset: {half}")),
        "{wrong}"
    );
    let output = avrs(&[
        "vod",
        "import",
        file.to_str().unwrap(),
        "--server",
        &url,
        "--resume",
        &id,
        "--title",
        "resumed",
        "--chunk-size",
        "1000000",
    ]);
    let vod = imported_id(&output);
    let item = vod_list(server.http)
        .into_iter()
        .find(|i| i["id"] == vod.as_str())
        .expect("listed");
    assert_eq!(item["title"], "resumed");
    assert!((decode_hls(server.http, &format!("/vod/{vod}/index.m3u8")) - 5.0).abs() < 0.1);
    assert_eq!(
        upload_offset(server.http, &id),
        None,
        "the staged upload is gone"
    );

    // A truncated file through the server: refused with the reason, nothing listed.
    let truncated = dir.path().join("truncated.flv");
    std::fs::write(&truncated, &bytes[..bytes.len() / 3]).unwrap();
    let output = avrs(&[
        "vod",
        "import",
        truncated.to_str().unwrap(),
        "--server",
        &url,
    ]);
    assert!(!output.status.success());
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("422")
            && stderr.contains("cannot import this file")
            && stderr.contains("truncated"),
        "{stderr}"
    );
    assert_eq!(
        vod_list(server.http).len(),
        1,
        "the server keeps serving, nothing partial listed"
    );
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

/// A config file recording `live/rec*` with 1 s segments.
fn record_config(dir: &Path) -> PathBuf {
    let path = dir.join("avrs.ini");
    std::fs::write(&path, "[auth]\npublish = loopback-or-token\n\n[vod]\nsegment_target = 1s\n\n[record.rec]\npattern = live/rec*\ndvr_window = 1h\n").unwrap();
    path
}

/// `support::Server::start` with `--config FILE` (same flags otherwise).
fn start_with_config(data: &Path, config: &Path) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_avrs"))
        .args(["serve", "--rtmp", "127.0.0.1:0", "--http", "127.0.0.1:0"])
        .args([
            "--quic",
            "127.0.0.1:0",
            "--reconnect-timeout",
            "1s",
            "--config",
        ])
        .arg(config)
        .arg("--data-dir")
        .arg(data)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start avrs serve");
    let mut lines = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok);
    let listening = lines
        .by_ref()
        .find(|l| l.starts_with("avrs listening:"))
        .expect("listening line");
    let words: Vec<&str> = listening.split_whitespace().collect();
    let (rtmp, http, quic) = (
        words[3].parse().unwrap(),
        words[5].parse().unwrap(),
        words[7].parse().unwrap(),
    );
    std::thread::spawn(move || lines.for_each(drop));
    Server {
        child,
        rtmp,
        http,
        quic,
    }
}

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

/// `s3s-fs` on an ephemeral port, killed on drop.
struct S3 {
    child: std::process::Child,
    endpoint: String,
}

impl Drop for S3 {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_s3(root: &Path) -> Option<S3> {
    let spawned = Command::new("s3s-fs")
        .args([
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--access-key",
            "AKTEST",
            "--secret-key",
            "SKTEST",
        ])
        .arg(root)
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn();
    let Ok(mut child) = spawned else {
        eprintln!(
            "skipped: s3s-fs not found (cargo install s3s-fs@0.14.1 --locked --features binary)"
        );
        return None;
    };
    let lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut endpoint = None;
    let mut lines = lines.map_while(Result::ok);
    for line in lines.by_ref() {
        if let Some(at) = line.find("http://") {
            endpoint = Some(line[at..].trim().to_owned());
            break;
        }
    }
    std::thread::spawn(move || lines.for_each(drop));
    Some(S3 {
        child,
        endpoint: endpoint.expect("s3s-fs prints its address"),
    })
}

#[test]
fn import_and_playback_on_an_s3_protocol_store() {
    if !tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("s3");
    std::fs::create_dir_all(root.join("media")).unwrap();
    let Some(s3) = start_s3(&root) else { return };
    std::fs::write(dir.path().join("secret"), "SKTEST\n").unwrap();
    let config = dir.path().join("avrs.ini");
    std::fs::write(
        &config,
        format!(
            "[vod]\nstore = s3\ns3_endpoint = {}\ns3_bucket = media\ns3_access_key = AKTEST\n\
         s3_secret_key_file = secret\ns3_allow_http = yes\n",
            s3.endpoint
        ),
    )
    .unwrap();
    let data = dir.path().join("data");
    let file = make_media(dir.path(), "in.flv", 5);
    let output = avrs(&[
        "vod",
        "import",
        file.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
    ]);
    let id = imported_id(&output);
    assert!(
        root.join("media").join(&id).join("seg0.m4s").exists(),
        "segments are in the bucket"
    );
    assert!(objects(&data).is_empty(), "nothing in the local store");
    let server = start_with_config(&data, &config);
    assert_eq!(vod_list(server.http).len(), 1);
    let seconds = decode_hls(server.http, &format!("/vod/{id}/index.m3u8"));
    assert!((seconds - 5.0).abs() < 0.1, "{seconds}");
    let deleted = avrs(&[
        "vod",
        "delete",
        &id,
        "--server",
        &format!("http://{}", server.http),
    ]);
    assert!(deleted.status.success(), "{}", text(&deleted.stderr));
    assert!(!root.join("media").join(&id).join("seg0.m4s").exists());
}
