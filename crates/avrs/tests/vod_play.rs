//! `avrs play` of a VoD over native AVRS, end to end: a file made by ffmpeg
//! is imported, the real `avrs serve` streams it from `--start`, and
//! ffmpeg/ffprobe check what `avrs play` wrote.

mod support;
mod vod_common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;
use support::{Server, wait_with_deadline};
use vod_common::*;

/// Video frame presentation times ffprobe reads in `file`, sorted.
fn video_pts(file: &Path) -> Vec<f64> {
    let frames = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v"])
        .args(["-show_entries", "frame=pts_time", "-of", "csv=p=0"])
        .arg(file)
        .output()
        .unwrap();
    let mut pts: Vec<f64> = text(&frames.stdout)
        .lines()
        .filter_map(|l| l.trim_end_matches(',').parse().ok())
        .collect();
    pts.sort_by(f64::total_cmp);
    pts
}

#[test]
fn play_from_a_start_position_writes_the_rest_of_the_vod() {
    if !tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // 10 s, a keyframe every second.
    let source = make_media(dir.path(), "in.mp4", 10);
    let id = imported_id(&avrs(&[
        "vod",
        "import",
        source.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
    ]));
    let server = Server::start(&data);

    let out = dir.path().join("from4.flv");
    let mut play = support::avrs_play(dir.path())
        .arg(format!("avrs://{}/vod/{id}", server.quic))
        .args(["--start", "4", "--out"])
        .arg(&out)
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The VoD is paced at real time (1 s ahead): ~5 s, then it ends.
    let status = wait_with_deadline(&mut play, Duration::from_secs(60));
    let stderr = {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut play.stderr.take().unwrap(), &mut s).unwrap();
        s
    };
    assert!(
        status.is_some_and(|s| s.success()),
        "avrs play ends with the VoD: {status:?} {stderr}"
    );
    assert!(stderr.contains("dropped as corrupted 0"), "{stderr}");

    // ffmpeg decodes it without a word.
    let decoded = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(&out)
        .args(["-f", "null", "-"])
        .output()
        .unwrap();
    assert!(
        decoded.status.success() && decoded.stderr.is_empty(),
        "{}",
        text(&decoded.stderr)
    );
    // From the keyframe at 4 s to the end: 6 s of video, no frame missing.
    let pts = video_pts(&out);
    let span = pts[pts.len() - 1] - pts[0];
    assert!((5.5..=6.1).contains(&span), "{span} s of video");
    assert!(
        pts.len().abs_diff(180) <= 1,
        "{} video frames, expected 180",
        pts.len()
    );
    assert!(pts.windows(2).all(|w| w[1] - w[0] < 0.05), "no hole");
    server.terminate();
}
