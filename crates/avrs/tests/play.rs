//! `avrs play` end to end: the real `avrs serve`, ffmpeg publishing over
//! RTMP, `avrs play` over native AVRS (QUIC) writing FLV, MPEG-TS and FLV on
//! stdout, and ffmpeg/ffprobe checking what it wrote; the server's
//! certificate pinned at first contact and checked after.

mod support;

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};
use support::{Server, avrs_play, have, http_get, publish_ffmpeg as publish, wait_until};

/// `avrs play` of `live/NAME` on `server`, its known-hosts file in `dir`.
fn play(server: &Server, dir: &Path, name: &str, out: &str, extra: &[&str]) -> Command {
    let mut command = avrs_play(dir);
    command
        .arg(format!("avrs://{}/live/{name}", server.quic))
        .args(["--out", out])
        .args(extra)
        .stdin(Stdio::null());
    command
}

/// Waits for a child with a deadline, killing it past that.
fn finish(mut child: Child, limit: Duration, what: &str) -> Output {
    let deadline = Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{what} did not end within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

#[derive(Debug, Default)]
struct Probe {
    codecs: Vec<String>,
    video_pts: Vec<f64>,
    audio_pts: Vec<f64>,
}

/// What ffmpeg says decoding `file` (nothing when clean), and ffprobe's view.
fn probe(file: &Path) -> (String, Probe) {
    let decode = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(file)
        .args(["-f", "null", "-"])
        .output()
        .unwrap();
    let errors = String::from_utf8_lossy(&decode.stderr).into_owned();
    let streams = Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "stream=codec_name"])
        .args(["-of", "csv=p=0"])
        .arg(file)
        .output()
        .unwrap();
    let frames = Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "frame=media_type,pts_time"])
        .args(["-of", "csv=p=0"])
        .arg(file)
        .output()
        .unwrap();
    let mut result = Probe {
        codecs: String::from_utf8_lossy(&streams.stdout)
            .lines()
            .map(|l| l.trim_end_matches(',').to_owned())
            .collect(),
        ..Probe::default()
    };
    for line in String::from_utf8_lossy(&frames.stdout).lines() {
        let mut fields = line.split(',');
        let (kind, pts) = (fields.next(), fields.next().and_then(|p| p.parse().ok()));
        match (kind, pts) {
            (Some("video"), Some(pts)) => result.video_pts.push(pts),
            (Some("audio"), Some(pts)) => result.audio_pts.push(pts),
            _ => {}
        }
    }
    (errors, result)
}

/// A clean recording of both tracks with no frame missing: video frames
/// 1/30 s apart from the first to the last (a lost frame or group shows as
/// a hole), audio spanning the same time.
fn assert_clean(file: &Path, min_seconds: f64, max_seconds: f64) {
    let (errors, probe) = probe(file);
    let name = file.display();
    assert_eq!(errors, "", "{name} decodes without errors");
    assert!(
        probe.codecs.contains(&"h264".to_owned()),
        "{name}: {probe:?}"
    );
    assert!(
        probe.codecs.contains(&"aac".to_owned()),
        "{name}: {probe:?}"
    );
    let mut video = probe.video_pts.clone();
    video.sort_by(f64::total_cmp);
    let (first, last) = (video[0], video[video.len() - 1]);
    let span = last - first;
    assert!(
        (min_seconds..=max_seconds).contains(&span),
        "{name}: {span} s of video, frames {}",
        video.len()
    );
    let expected = (span * 30.0).round() as usize + 1;
    assert!(
        video.len().abs_diff(expected) <= 1,
        "{name}: {} video frames over {span} s, expected {expected}",
        video.len()
    );
    assert!(
        video.windows(2).all(|w| w[1] - w[0] < 0.05),
        "{name}: no hole in the video"
    );
    let audio = &probe.audio_pts;
    assert!(
        audio.windows(2).all(|w| w[0] < w[1]),
        "{name}: monotonic audio pts"
    );
    let audio_span = audio[audio.len() - 1] - audio[0];
    assert!(
        (audio_span - span).abs() < 0.5,
        "{name}: audio {audio_span} s, video {span} s"
    );
}

#[test]
fn play_writes_flv_ts_and_stdout_that_ffmpeg_reads() {
    if !have("ffmpeg") || !have("ffprobe") {
        eprintln!("SKIP: ffmpeg/ffprobe not installed (scripts/test-all installs them)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let mut publisher = publish(server.rtmp, "p", 6);
    let live = wait_until(Duration::from_secs(15), || {
        http_get(server.http, "/api/streams").contains("\"live/p\"")
    });
    assert!(live, "the stream is live");

    let flv = dir.path().join("out.flv");
    let ts = dir.path().join("out.ts");
    let short = dir.path().join("short.flv");
    let to_flv = play(&server, dir.path(), "p", flv.to_str().unwrap(), &[])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let to_ts = play(&server, dir.path(), "p", ts.to_str().unwrap(), &[])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let two_seconds = play(
        &server,
        dir.path(),
        "p",
        short.to_str().unwrap(),
        &["--duration", "2"],
    )
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let mut to_stdout = play(&server, dir.path(), "p", "-", &[])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let piped = Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "stream=codec_name"])
        .args(["-of", "csv=p=0", "-"])
        .stdin(to_stdout.stdout.take().unwrap())
        .output()
        .unwrap();

    assert!(
        publisher.wait().unwrap().success(),
        "publisher ran to the end"
    );
    let limit = Duration::from_secs(20);
    for (child, what) in [
        (to_flv, "play to FLV"),
        (to_ts, "play to TS"),
        (two_seconds, "play --duration 2"),
        (to_stdout, "play to stdout"),
    ] {
        let output = finish(child, limit, what);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{what}: {stderr}");
        // Every frame came signed by the node and verified.
        assert!(
            stderr.contains("dropped as corrupted 0, unsigned 0")
                && !stderr.contains("frames verified 0,"),
            "{what}: {stderr}"
        );
    }
    let codecs = String::from_utf8_lossy(&piped.stdout);
    assert!(
        codecs.contains("h264") && codecs.contains("aac"),
        "ffprobe on the pipe: {codecs} {}",
        String::from_utf8_lossy(&piped.stderr)
    );
    // Joined at most a few seconds into a 6 s publish (often at its first
    // keyframe), played to the end.
    assert_clean(&flv, 2.5, 6.0);
    assert_clean(&ts, 2.5, 6.0);
    // 2 s of media, stopped before the frame at 2 s.
    assert_clean(&short, 1.9, 2.0);
}

#[test]
fn play_explains_what_went_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let out = dir.path().join("none.flv");
    // With a post-quantum session key from a key file: the OPEN passes, the
    // content is what is missing.
    let key = dir.path().join("viewer.key");
    let keygen = Command::new(env!("CARGO_BIN_EXE_avrs"))
        .args(["keygen", "--alg", "ml-dsa-65", "--out"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(keygen.status.success());
    let missing = play(
        &server,
        dir.path(),
        "none",
        out.to_str().unwrap(),
        &["--key"],
    )
    .arg(&key)
    .output()
    .unwrap();
    assert!(!missing.status.success());
    let text = String::from_utf8_lossy(&missing.stderr);
    assert!(text.contains("CONTENT_NOT_FOUND"), "{text}");
    assert!(text.contains("live/none"), "{text}");

    // Nothing listens on this UDP port.
    let idle = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let output = avrs_play(dir.path())
        .arg(format!("avrs://{}/live/x", idle.local_addr().unwrap()))
        .args(["--out", out.to_str().unwrap(), "--connect-timeout", "0.5"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let text = String::from_utf8_lossy(&output.stderr);
    assert!(text.contains("no answer"), "{text}");

    let bad = avrs_play(dir.path())
        .args(["http://x/live/y", "--out", "-"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("avrs://HOST:PORT/live/NAME"));
}

/// The server's QUIC certificate, as `avrs serve` printed it, is pinned at
/// first contact in the default known-hosts file
/// (`$HOME/.config/avrs/known_hosts`), then checked: playing again works
/// with the pin, and so does `--pin` with the printed fingerprint.
#[test]
fn play_pins_the_certificate_at_first_contact_then_plays_with_the_pin() {
    if !have("ffmpeg") {
        eprintln!("SKIP: ffmpeg not installed (scripts/test-all installs it)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let mut publisher = publish(server.rtmp, "pin", 30);
    let live = wait_until(Duration::from_secs(15), || {
        http_get(server.http, "/api/streams").contains("\"live/pin\"")
    });
    assert!(live, "the stream is live");
    let authority = server.quic.to_string();
    let plays = |command: &mut Command, out: &Path| {
        let output = command
            .arg(format!("avrs://{authority}/live/pin"))
            .args(["--duration", "1", "--out"])
            .arg(out)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(output.status.success(), "{stderr}");
        assert!(stderr.contains("dropped as corrupted 0"), "{stderr}");
        let size = std::fs::metadata(out).unwrap().len();
        assert!(size > 1_000, "{size} bytes played: {stderr}");
        stderr
    };

    let home = dir.path().join("home");
    let known = home.join(".config/avrs/known_hosts");
    let mut first = Command::new(env!("CARGO_BIN_EXE_avrs"));
    first
        .arg("play")
        .env_remove("AVRS_KNOWN_HOSTS")
        .env_remove("XDG_CONFIG_HOME")
        .env("HOME", &home);
    let stderr = plays(&mut first, &dir.path().join("first.flv"));
    let told = format!(
        "avrs play: first contact with {authority}; pinned certificate {} in {}",
        server.certificate,
        known.display()
    );
    assert!(stderr.contains(&told), "{stderr}");
    let pinned = std::fs::read_to_string(&known).unwrap();
    let line = format!("{authority} {}\n", server.certificate);
    assert!(pinned.ends_with(&line), "{pinned}");
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(&known).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);

    let mut again = avrs_play(dir.path());
    again.arg("--known-hosts").arg(&known);
    let stderr = plays(&mut again, &dir.path().join("again.flv"));
    assert!(!stderr.contains("first contact"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&known).unwrap(), pinned);

    let mut pinned_by_flag = avrs_play(dir.path());
    pinned_by_flag.args(["--pin", &server.certificate]);
    let stderr = plays(&mut pinned_by_flag, &dir.path().join("pin.flv"));
    assert!(!stderr.contains("first contact"), "{stderr}");
    assert!(
        !dir.path().join("known_hosts").exists(),
        "--pin keeps no file"
    );

    let _ = publisher.kill();
    let _ = publisher.wait();
}

/// A pin that no longer matches (the server's certificate changed, or
/// someone else answers) stops `avrs play` before it writes anything, with
/// both fingerprints and how to fix it; the file is left as it was.
#[test]
fn a_changed_certificate_is_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let authority = server.quic.to_string();
    let url = format!("avrs://{authority}/live/cam");
    let known = dir.path().join("known_hosts");
    let wrong = format!("sha256:{}", "00".repeat(32));
    let text = format!("# pinned by hand\nother.example:4433 not-a-pin\n{authority} {wrong}\n");
    std::fs::write(&known, &text).unwrap();
    let out = dir.path().join("refused.flv");
    let run = |extra: &[&str]| {
        let output = avrs_play(dir.path())
            .arg(&url)
            .args(extra)
            .arg("--out")
            .arg(&out)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        (output.status.success(), stderr)
    };

    let (ok, stderr) = run(&[]);
    assert!(!ok, "{stderr}");
    for shown in [
        format!("the certificate of {authority} changed"),
        format!("line 3 pins {wrong}"),
        format!("the server presented {}", server.certificate),
        format!("remove line 3 from {}", known.display()),
        "--ca FILE".to_owned(),
        // A bad line about another server is told about, not fatal.
        format!("{} line 2: ", known.display()),
    ] {
        assert!(stderr.contains(&shown), "{shown:?} in {stderr}");
    }
    assert!(!out.exists(), "nothing written");
    assert_eq!(std::fs::read_to_string(&known).unwrap(), text);

    let (ok, stderr) = run(&["--pin", &wrong]);
    assert!(!ok, "{stderr}");
    let said = format!("is {}, not the pinned {wrong}", server.certificate);
    assert!(stderr.contains(&said), "{stderr}");
    assert!(!out.exists(), "nothing written");

    // Unchecked: the handshake passes, and the missing content is what
    // stops it.
    let (ok, stderr) = run(&["--insecure"]);
    assert!(!ok && stderr.contains("CONTENT_NOT_FOUND"), "{stderr}");

    let (ok, stderr) = run(&["--pin", "sha256:12"]);
    assert!(!ok && stderr.contains("64 hex digits"), "{stderr}");
    let (ok, stderr) = run(&["--insecure", "--pin", &server.certificate]);
    assert!(!ok && stderr.contains("cannot be used with"), "{stderr}");
}

/// The self-signed certificate is kept in the data directory: a restart
/// presents the same one (pins hold), another data directory another one.
#[test]
fn serve_keeps_its_native_certificate_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let first = Server::start(&data);
    let certificate = first.certificate.clone();
    assert!(certificate.starts_with("sha256:"), "{certificate}");
    assert_eq!(certificate.len(), "sha256:".len() + 64, "{certificate}");
    // Killed (and waited for) as a crash would: the certificate was kept
    // before the node said it was listening.
    drop(first);
    let again = Server::start(&data);
    assert_eq!(again.certificate, certificate);
    let other = Server::start(&dir.path().join("other"));
    assert_ne!(other.certificate, certificate);
    use std::os::unix::fs::PermissionsExt as _;
    for file in ["cert.der", "key.der"] {
        let path = data.join("native-tls").join(file);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{}", path.display());
    }
}
