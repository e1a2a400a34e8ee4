//! What the VoD end-to-end tests share: ffmpeg-made media, the `avrs`
//! binary, the library as the node lists it, HLS decoding by ffmpeg, and a
//! node started with a config file.

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

pub mod cdp;

use crate::support::{Server, have, http_get, status_and_body};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

pub fn tools() -> bool {
    let ok = have("ffmpeg") && have("ffprobe");
    if !ok {
        eprintln!("skipped: ffmpeg/ffprobe not found");
    }
    ok
}

/// 720p30 H.264 (keyframe every 30 frames) + AAC, `seconds` long, as `name`
/// (the extension picks the container).
pub fn make_media(dir: &Path, name: &str, seconds: u32) -> PathBuf {
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

pub fn avrs(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_avrs"))
        .args(args)
        .output()
        .unwrap()
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The `id: ID` line of `avrs vod import`.
pub fn imported_id(output: &Output) -> String {
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

pub fn vod_list(http: SocketAddr) -> Vec<serde_json::Value> {
    let response = http_get(http, "/api/vod");
    let (status, body) = status_and_body(&response);
    assert_eq!(status, 200, "{response}");
    serde_json::from_str(body).unwrap()
}

/// ffmpeg decodes the HLS URL with no message at all, and ffprobe's
/// duration is returned.
pub fn decode_hls(http: SocketAddr, path: &str) -> f64 {
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

pub fn objects(data: &Path) -> Vec<String> {
    std::fs::read_dir(data.join("vod/objects"))
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

pub fn request(http: SocketAddr, head: &str) -> String {
    let mut stream = TcpStream::connect(http).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(stream, "{head}").unwrap();
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response
}

/// A config file recording `live/rec*` with 1 s segments.
pub fn record_config(dir: &Path) -> PathBuf {
    let path = dir.join("avrs.ini");
    std::fs::write(&path, "[auth]\npublish = loopback-or-token\n\n[vod]\nsegment_target = 1s\n\n[record.rec]\npattern = live/rec*\ndvr_window = 1h\n").unwrap();
    path
}

/// `support::Server::start` with `--config FILE` (same flags otherwise).
pub fn start_with_config(data: &Path, config: &Path) -> Server {
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
    let certificate = lines
        .by_ref()
        .find_map(|l| l.strip_prefix("native certificate ").map(str::to_owned))
        .expect("native certificate line");
    std::thread::spawn(move || lines.for_each(drop));
    Server {
        child,
        rtmp,
        http,
        quic,
        certificate,
    }
}
