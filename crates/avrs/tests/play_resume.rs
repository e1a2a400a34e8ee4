//! `avrs play` resumes its session: the real `avrs serve` is stopped
//! (SIGSTOP) while ffmpeg publishes and `avrs play` watches; the player
//! finds the server silent, gives the connection up and reconnects; once
//! the server runs again (SIGCONT) the session is resumed with its slot,
//! and the output goes on with no frame written twice, which ffmpeg reads.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use support::{Server, have, http_get, publish_ffmpeg, wait_until, wait_with_deadline};

/// Waits for a line containing `text` among `lines`, keeping all read.
fn wait_for_line(
    lines: &mpsc::Receiver<String>,
    seen: &mut Vec<String>,
    text: &str,
    limit: Duration,
) -> bool {
    let deadline = Instant::now() + limit;
    while !seen.iter().any(|l| l.contains(text)) {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => seen.push(line),
            Err(_) => return false,
        }
    }
    true
}

fn signal(pid: u32, which: &str) {
    let status = Command::new("kill")
        .args([which, &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill {which} {pid}");
}

/// Video presentation times ffprobe reads in `file`.
fn video_pts(file: &std::path::Path) -> Vec<f64> {
    let frames = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v"])
        .args(["-show_entries", "frame=pts_time", "-of", "csv=p=0"])
        .arg(file)
        .output()
        .unwrap();
    String::from_utf8_lossy(&frames.stdout)
        .lines()
        .filter_map(|l| l.trim().trim_end_matches(',').parse().ok())
        .collect()
}

#[test]
fn play_resumes_its_session_after_the_server_stalls() {
    if !have("ffmpeg") || !have("ffprobe") {
        eprintln!("SKIP: ffmpeg/ffprobe not installed (scripts/test-all installs them)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(&dir.path().join("data"), "20s");
    let mut publisher = publish_ffmpeg(server.rtmp, "r", 20);
    let live = wait_until(Duration::from_secs(15), || {
        http_get(server.http, "/api/streams").contains("\"live/r\"")
    });
    assert!(live, "the stream is live");

    let out = dir.path().join("out.flv");
    let mut player = support::avrs_play(dir.path())
        .arg(format!("avrs://{}/live/r", server.quic))
        .arg("--out")
        .arg(&out)
        .args(["--duration", "8"])
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, lines) = mpsc::channel();
    let stderr = BufReader::new(player.stderr.take().unwrap());
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut seen = Vec::new();
    assert!(
        wait_for_line(&lines, &mut seen, "watching", Duration::from_secs(10)),
        "{seen:?}"
    );
    let playing = wait_until(Duration::from_secs(10), || {
        std::fs::metadata(&out).is_ok_and(|m| m.len() > 200_000)
    });
    assert!(playing, "frames are written before the stall");

    signal(server.pid(), "-STOP");
    let lost = wait_for_line(
        &lines,
        &mut seen,
        "connection lost",
        Duration::from_secs(20),
    );
    signal(server.pid(), "-CONT");
    assert!(lost, "the player notices the silent server: {seen:?}");
    let resumed = wait_for_line(
        &lines,
        &mut seen,
        "session resumed",
        Duration::from_secs(20),
    );
    assert!(resumed, "the session is resumed: {seen:?}");

    let status = wait_with_deadline(&mut player, Duration::from_secs(30)).expect("play ends");
    while let Ok(line) = lines.recv_timeout(Duration::from_secs(1)) {
        seen.push(line);
    }
    assert!(status.success(), "{seen:?}");
    assert!(
        seen.iter()
            .any(|l| l.contains("dropped as corrupted 0, unsigned 0")),
        "{seen:?}"
    );
    let _ = publisher.kill();
    let _ = publisher.wait();

    // ffmpeg decodes it; no frame twice (times only grow), video on both
    // sides of the stall, 8 s of media in all.
    let decode = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(&out)
        .args(["-f", "null", "-"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&decode.stderr), "", "clean decode");
    let video = video_pts(&out);
    assert!(video.len() > 100, "{} video frames", video.len());
    assert!(video.windows(2).all(|w| w[0] < w[1]), "no frame twice");
    let span = video[video.len() - 1] - video[0];
    assert!((7.0..=8.0).contains(&span), "{span} s of video");
}
