//! What the end-to-end tests of the `avrs` binary share: a real `avrs serve`
//! on ephemeral loopback ports, a tiny HTTP client, bounded waits, an
//! ffmpeg publisher, and ffmpeg/ffprobe's view of what a viewer recorded.

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// True when `tool -version` runs (ffmpeg, ffprobe).
pub fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("-version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A running `avrs serve` on ephemeral loopback ports; killed on drop.
pub struct Server {
    pub child: Child,
    pub rtmp: SocketAddr,
    pub http: SocketAddr,
    pub quic: SocketAddr,
    /// The QUIC certificate's fingerprint as printed: `sha256:HEX`.
    pub certificate: String,
}

impl Server {
    /// Starts the node with its data in `data_dir`. Viewers see the end of a
    /// stream 1 s after its publisher leaves (the default is 60 s).
    pub fn start(data_dir: &Path) -> Self {
        Self::start_with(data_dir, "1s")
    }

    /// [`Server::start`] with another `--reconnect-timeout` (how long a
    /// content outlives its publisher and a lost native session is kept).
    pub fn start_with(data_dir: &Path, reconnect_timeout: &str) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_avrs"))
            .args(["serve", "--rtmp", "127.0.0.1:0", "--http", "127.0.0.1:0"])
            .args([
                "--quic",
                "127.0.0.1:0",
                "--reconnect-timeout",
                reconnect_timeout,
            ])
            .arg("--data-dir")
            .arg(data_dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start avrs serve");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let listening = lines
            .by_ref()
            .map(|l| l.unwrap())
            .find(|l| l.starts_with("avrs listening:"))
            .expect("avrs serve prints its listening line");
        // "avrs listening: rtmp ADDR http ADDR quic ADDR"
        let words: Vec<&str> = listening.split_whitespace().collect();
        assert_eq!(
            (words[2], words[4], words[6]),
            ("rtmp", "http", "quic"),
            "{listening}"
        );
        let (rtmp, http, quic) = (
            words[3].parse().unwrap(),
            words[5].parse().unwrap(),
            words[7].parse().unwrap(),
        );
        let certificate = lines
            .by_ref()
            .map(|l| l.unwrap())
            .find_map(|l| l.strip_prefix("native certificate ").map(str::to_owned))
            .expect("avrs serve prints its native certificate's fingerprint");
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Server {
            child,
            rtmp,
            http,
            quic,
            certificate,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM and waits (10 s at most) for the exit status.
    pub fn terminate(mut self) -> ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        wait_with_deadline(&mut self.child, Duration::from_secs(10)).expect("exits after SIGTERM")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A child killed when the test ends, whatever happens.
pub struct Reaped(pub Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `avrs play` with its known-hosts file (`AVRS_KNOWN_HOSTS`) in `dir`, a
/// test's own temporary directory: the default trust (pin at first
/// contact) is exercised, and the user's own file is never touched (test
/// servers reuse ports with new certificates).
pub fn avrs_play(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_avrs"));
    command
        .arg("play")
        .env("AVRS_KNOWN_HOSTS", dir.join("known_hosts"));
    command
}

/// The child's exit status, or `None` if it is still running after `limit`.
pub fn wait_with_deadline(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A minimal HTTP/1.0 GET: the whole response, headers included.
pub fn http_get(address: SocketAddr, path: &str) -> String {
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(stream, "GET {path} HTTP/1.0\r\nHost: test\r\n\r\n").unwrap();
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response
}

/// The status code and body of a response from [`http_get`].
pub fn status_and_body(response: &str) -> (u16, &str) {
    let status = response
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    (status, body)
}

/// Polls `check` every 20 ms until it holds or `limit` passes.
pub fn wait_until(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// ffmpeg publishing `seconds` of 720p30 H.264 + AAC test signal to
/// `rtmp://RTMP/live/NAME` at real-time pace.
pub fn publish_ffmpeg(rtmp: SocketAddr, name: &str, seconds: u32) -> Child {
    Command::new("ffmpeg")
        .args(["-v", "error", "-re"])
        .args(["-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30"])
        .args(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100"])
        .args(["-t", &seconds.to_string()])
        .args(["-c:v", "libx264", "-preset", "ultrafast"])
        .args(["-tune", "zerolatency", "-g", "30"])
        .args(["-c:a", "aac", "-f", "flv"])
        .arg(format!("rtmp://{rtmp}/live/{name}"))
        .stdin(Stdio::null())
        .spawn()
        .expect("start ffmpeg publisher")
}

/// What ffmpeg and ffprobe make of a media file.
#[derive(Debug, Default)]
pub struct Probe {
    /// ffmpeg's errors decoding the whole file (empty when it is clean).
    pub errors: String,
    /// ffprobe's streams: `codec_type`, `codec_name`, `profile`, and
    /// `width`/`height` or `sample_rate`/`channels`.
    pub streams: Vec<serde_json::Value>,
    /// Presentation times, in seconds, of the decoded frames.
    pub video_pts: Vec<f64>,
    pub audio_pts: Vec<f64>,
    /// Presentation times of the video keyframes.
    pub keyframe_pts: Vec<f64>,
}

/// Decodes `file` fully with ffmpeg and lists its streams and frames with
/// ffprobe.
pub fn probe(file: &Path) -> Probe {
    let decode = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(file)
        .args(["-f", "null", "-"])
        .output()
        .expect("run ffmpeg");
    let entries = "stream=codec_type,codec_name,profile,width,height,sample_rate,channels\
                   :frame=media_type,pts_time,key_frame";
    let listing = Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", entries, "-of", "json"])
        .arg(file)
        .output()
        .expect("run ffprobe");
    let listing: serde_json::Value =
        serde_json::from_slice(&listing.stdout).expect("ffprobe writes JSON");
    let mut result = Probe {
        errors: String::from_utf8_lossy(&decode.stderr).into_owned(),
        streams: listing["streams"].as_array().cloned().unwrap_or_default(),
        ..Probe::default()
    };
    for frame in listing["frames"].as_array().into_iter().flatten() {
        let Some(pts) = frame["pts_time"].as_str().and_then(|t| t.parse().ok()) else {
            continue;
        };
        match frame["media_type"].as_str() {
            Some("video") => {
                result.video_pts.push(pts);
                if frame["key_frame"] == 1 {
                    result.keyframe_pts.push(pts);
                }
            }
            Some("audio") => result.audio_pts.push(pts),
            _ => {}
        }
    }
    result
}
