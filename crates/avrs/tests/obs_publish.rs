//! Real OBS Studio publishing to `avrs serve`. OBS (29, Debian bookworm's)
//! runs headless under `xvfb-run -a` with Mesa's software OpenGL and its own
//! HOME, and streams what a user would set up: Simple output mode, x264
//! 1500 kb/s with a keyframe every 2 s (x264 option `keyint=60`), AAC
//! 128 kb/s, 1280x720 at 30 fps, service *Custom* with server
//! `rtmp://127.0.0.1:PORT/live` and stream key `obs`. The scene loops a test
//! clip made by ffmpeg (picture and a 440 Hz tone). Once the stream is live
//! in /api/streams (codecs, size), ffmpeg records 5 s of its HTTP-FLV, which
//! must decode cleanly as H.264 1280x720 + AAC 48 kHz stereo, not silent,
//! with monotonic timestamps, about 150 video frames and keyframes ≤ 2 s
//! apart. Then OBS is stopped (SIGTERM) and the stream must end.
//!
//! OBS drops frames it gets no CPU time for: it needs about 0.8 of a core
//! for the ~10 s the test takes; without it (a machine saturated by other
//! work) the frame checks fail and say so. Skipped with the reason when
//! obs, xvfb-run or ffmpeg is missing (scripts/test-all installs them).

mod support;

use serde_json::{Value, json};
use std::fs;
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use support::{Reaped, Server, have, probe, status_and_body, wait_until, wait_with_deadline};

/// The stream key OBS publishes with: the stream is `live/obs`.
const NAME: &str = "obs";
/// How long the viewer records, seconds.
const VIEW_SECONDS: u32 = 5;

/// True when `tool ARG` runs and succeeds.
fn runs(tool: &str, arg: &str) -> bool {
    Command::new(tool)
        .arg(arg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// `live/obs` as /api/streams lists it (null when it is not listed).
fn api_stream(http: SocketAddr) -> Value {
    let response = support::http_get(http, "/api/streams");
    let (status, body) = status_and_body(&response);
    assert_eq!(status, 200, "{response}");
    let list: Value = serde_json::from_str(body).expect("/api/streams is JSON");
    let name = format!("live/{NAME}");
    list.as_array()
        .and_then(|streams| streams.iter().find(|s| s["name"] == name.as_str()))
        .cloned()
        .unwrap_or(Value::Null)
}

/// The audio's mean volume in dB (ffmpeg's volumedetect; silence is -91).
fn mean_volume(file: &Path) -> f64 {
    let output = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostats", "-i"])
        .arg(file)
        .args(["-vn", "-af", "volumedetect", "-f", "null", "-"])
        .output()
        .expect("run ffmpeg");
    let log = String::from_utf8_lossy(&output.stderr);
    log.lines()
        .find_map(|l| {
            l.split_once("mean_volume: ")?
                .1
                .strip_suffix(" dB")?
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("volumedetect output:\n{log}"))
}

/// A 10 s, 640x360 30 fps H.264 + 48 kHz AAC test clip for OBS to loop.
/// The scene shows it unscaled in the middle of the 1280x720 canvas: OBS
/// decodes and renders in software here, and a full-canvas clip (decoded
/// or scaled) costs it about half a core more, which a busy machine lacks.
fn make_clip(dir: &Path) -> PathBuf {
    let clip = dir.join("clip.mp4");
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-f", "lavfi"])
        .args(["-i", "testsrc2=size=640x360:rate=30"])
        .args(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"])
        .args(["-t", "10", "-c:v", "libx264", "-preset", "ultrafast"])
        .args(["-g", "30", "-pix_fmt", "yuv420p", "-c:a", "aac", "-y"])
        .arg(&clip)
        .stdin(Stdio::null())
        .status()
        .expect("run ffmpeg");
    assert!(status.success(), "ffmpeg makes the test clip");
    clip
}

/// Writes OBS's configuration under `config` (its XDG_CONFIG_HOME): global
/// settings that skip the first-run wizard and keep obs-websocket off, the
/// profile `avrs` (output, encoders, video, the custom RTMP service) and
/// the scene collection `avrs` (one scene looping `clip`).
fn write_obs_config(config: &Path, rtmp: SocketAddr, clip: &Path) {
    let obs = config.join("obs-studio");
    let profile = obs.join("basic/profiles/avrs");
    let scenes = obs.join("basic/scenes");
    fs::create_dir_all(&profile).unwrap();
    fs::create_dir_all(&scenes).unwrap();
    // FirstRun plus any LastVersion (here 29.0.2) skip the auto-configuration
    // wizard OBS offers on a new configuration.
    let global = "[General]\nFirstRun=true\nLastVersion=486539266\n\
                  EnableAutoUpdates=false\nConfirmOnExit=false\n\
                  WarnBeforeStartingStream=false\nWarnBeforeStoppingStream=false\n\n\
                  [Basic]\nProfile=avrs\nProfileDir=avrs\n\
                  SceneCollection=avrs\nSceneCollectionFile=avrs\n\n\
                  [BasicWindow]\nPreviewEnabled=false\nSysTrayEnabled=false\n\n\
                  [OBSWebSocket]\nFirstLoad=false\nServerEnabled=false\n";
    fs::write(obs.join("global.ini"), global).unwrap();
    // Simple mode leaves x264 at its default keyframe interval (250 frames,
    // 8.3 s at 30 fps): keyint=60 makes it 2 s.
    let basic = "[General]\nName=avrs\n\n\
                 [Output]\nMode=Simple\n\n\
                 [SimpleOutput]\nStreamEncoder=x264\nVBitrate=1500\nABitrate=128\n\
                 Preset=veryfast\nUseAdvanced=true\nx264Settings=keyint=60\n\n\
                 [Video]\nBaseCX=1280\nBaseCY=720\nOutputCX=1280\nOutputCY=720\n\
                 FPSType=1\nFPSInt=30\n\n\
                 [Audio]\nSampleRate=48000\nChannelSetup=Stereo\n";
    fs::write(profile.join("basic.ini"), basic).unwrap();
    let service = json!({
        "type": "rtmp_custom",
        "settings": {
            "server": format!("rtmp://{rtmp}/live"),
            "key": NAME,
            "use_auth": false,
        },
    });
    fs::write(profile.join("service.json"), service.to_string()).unwrap();
    let item = json!({
        "name": "Clip", "id": 1, "visible": true, "locked": false, "rot": 0.0,
        "pos": {"x": 320.0, "y": 180.0}, "scale": {"x": 1.0, "y": 1.0}, "align": 5,
        "bounds_type": 0, "bounds_align": 0, "bounds": {"x": 0.0, "y": 0.0},
    });
    let collection = json!({
        "name": "avrs",
        "current_scene": "Scene",
        "current_program_scene": "Scene",
        "scene_order": [{"name": "Scene"}],
        "sources": [
            {
                "id": "scene", "versioned_id": "scene", "name": "Scene",
                "settings": {"id_counter": 1, "custom_size": false, "items": [item]},
            },
            {
                "id": "ffmpeg_source", "versioned_id": "ffmpeg_source", "name": "Clip",
                "mixers": 255, "volume": 1.0, "muted": false,
                "settings": {
                    "is_local_file": true, "local_file": clip, "looping": true,
                    "restart_on_activate": false, "hw_decode": false,
                },
            },
        ],
        "transitions": [],
        "current_transition": "Fade",
        "transition_duration": 300,
    });
    fs::write(scenes.join("avrs.json"), collection.to_string()).unwrap();
}

/// OBS streaming under `xvfb-run -a`. xvfb-run, Xvfb and OBS share a
/// process group of their own, killed on drop whatever happens.
struct Obs {
    xvfb_run: Child,
    /// OBS's output (the same text as its log file).
    log: PathBuf,
    stopped: bool,
}

impl Obs {
    /// Starts OBS with everything it writes (configuration, logs, caches,
    /// runtime files, xvfb-run's X authority) under `dir`.
    fn start(dir: &Path, rtmp: SocketAddr, clip: &Path) -> Obs {
        let home = dir.join("obs-home");
        let config = home.join(".config");
        write_obs_config(&config, rtmp, clip);
        let runtime = home.join("runtime");
        fs::create_dir_all(&runtime).unwrap();
        fs::set_permissions(&runtime, fs::Permissions::from_mode(0o700)).unwrap();
        let log = dir.join("obs.log");
        let output = fs::File::create(&log).unwrap();
        let xvfb_run = Command::new("xvfb-run")
            .arg("-a")
            .args(["obs", "--startstreaming", "--profile", "avrs"])
            .args(["--collection", "avrs", "--multi"])
            .env("HOME", &home)
            .env("XDG_CONFIG_HOME", &config)
            .env("XDG_CACHE_HOME", home.join(".cache"))
            .env("XDG_DATA_HOME", home.join(".local/share"))
            .env("XDG_STATE_HOME", home.join(".local/state"))
            .env("XDG_RUNTIME_DIR", &runtime)
            .env("TMPDIR", &home)
            .env("LIBGL_ALWAYS_SOFTWARE", "1")
            .env("QT_QPA_PLATFORM", "xcb")
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY")
            .env_remove("XAUTHORITY")
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            .stdin(Stdio::null())
            .stdout(output.try_clone().unwrap())
            .stderr(output)
            .process_group(0)
            .spawn()
            .expect("start xvfb-run obs");
        Obs {
            xvfb_run,
            log,
            stopped: false,
        }
    }

    /// Panics with OBS's output if it has exited.
    fn assert_running(&mut self) {
        if let Some(status) = self.xvfb_run.try_wait().unwrap() {
            panic!("OBS exited ({status}):\n{}", self.output());
        }
    }

    fn output(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// OBS's process id: xvfb-run's child named `obs`.
    fn obs_pid(&self) -> Option<u32> {
        let pid = self.xvfb_run.id();
        let children = fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).ok()?;
        children
            .split_whitespace()
            .filter_map(|c| c.parse().ok())
            .find(|c| {
                fs::read_to_string(format!("/proc/{c}/comm")).is_ok_and(|n| n.trim() == "obs")
            })
    }

    /// Sends OBS SIGTERM (OBS 29 has no handler for it: it ends at once,
    /// like a crash, without a closing log); xvfb-run then stops Xvfb and
    /// exits. Fails the test unless the whole group is gone within 20 s.
    fn stop(mut self) {
        let pid = self.obs_pid().expect("OBS is running");
        signal("-TERM", &pid.to_string());
        self.stopped = self.group_ends(Duration::from_secs(20));
        assert!(self.stopped, "OBS, Xvfb and xvfb-run end after SIGTERM");
    }

    /// Reaps xvfb-run and waits until no process is left in its group.
    fn group_ends(&mut self, limit: Duration) -> bool {
        let group = format!("-{}", self.xvfb_run.id());
        wait_until(limit, || {
            let _ = self.xvfb_run.try_wait();
            !signal("-0", &group)
        })
    }
}

impl Drop for Obs {
    /// SIGTERM to the group (so Xvfb removes its lock file), SIGKILL to
    /// whatever is left after 5 s.
    fn drop(&mut self) {
        if !self.stopped {
            let group = format!("-{}", self.xvfb_run.id());
            signal("-TERM", &group);
            if !self.group_ends(Duration::from_secs(5)) {
                signal("-KILL", &group);
                let _ = self.xvfb_run.wait();
            }
        }
    }
}

/// `kill SIGNAL -- TARGET` (a process, or `-PGID` for a process group):
/// whether a process got it.
fn signal(signal: &str, target: &str) -> bool {
    Command::new("kill")
        .args([signal, "--", target])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn obs_studio_publishes_over_rtmp_and_the_stream_plays_over_http_flv() {
    if !have("ffmpeg") || !have("ffprobe") {
        eprintln!("SKIP: ffmpeg/ffprobe not installed (scripts/test-all installs them)");
        return;
    }
    if !runs("obs", "--version") || !runs("xvfb-run", "--help") {
        eprintln!("SKIP: obs or xvfb-run not installed (scripts/test-all installs them)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let clip = make_clip(dir.path());
    let mut obs = Obs::start(dir.path(), server.rtmp, &clip);

    // OBS starts (a few seconds), connects and sends both tracks' headers.
    let mut stream = Value::Null;
    let live = wait_until(Duration::from_secs(60), || {
        obs.assert_running();
        stream = api_stream(server.http);
        stream["publishing"] == true && stream["audio_codec"].is_string()
    });
    assert!(live, "OBS's stream goes live: {stream}\n{}", obs.output());
    assert!(
        obs.output().contains("Connection to rtmp://"),
        "{}",
        obs.output()
    );

    let out = dir.path().join("viewer.flv");
    let mut viewer = Reaped(
        Command::new("ffmpeg")
            .args(["-v", "error", "-i"])
            .arg(format!("http://{}/live/{NAME}.flv", server.http))
            .args(["-t", &VIEW_SECONDS.to_string()])
            .args(["-c", "copy", "-f", "flv", "-y"])
            .arg(&out)
            .stdin(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start ffmpeg viewer"),
    );
    let watched = wait_until(Duration::from_secs(10), || {
        stream = api_stream(server.http);
        stream["viewers"]["http_flv"] == 1
    });
    assert!(watched, "the HTTP-FLV viewer is counted: {stream}");
    assert_eq!(stream["publishing"], true);
    assert_eq!(
        (stream["width"].as_u64(), stream["height"].as_u64()),
        (Some(1280), Some(720))
    );
    let video_codec = stream["video_codec"].as_str().unwrap();
    assert!(video_codec.starts_with("avc1."), "{stream}");
    assert_eq!(stream["audio_codec"], "mp4a.40.2", "AAC LC: {stream}");
    assert_eq!(stream["frames_dropped"], 0, "{stream}");
    assert_eq!(stream["publisher_reconnects"], 0, "{stream}");

    let finished = wait_with_deadline(&mut viewer.0, Duration::from_secs(30));
    let mut errors = String::new();
    std::io::Read::read_to_string(viewer.0.stderr.as_mut().unwrap(), &mut errors).unwrap();
    assert!(
        finished.is_some_and(|s| s.success()),
        "viewer: {finished:?} {errors}"
    );
    obs.assert_running();
    let stream = api_stream(server.http);

    let probe = probe(&out);
    assert_eq!(probe.errors, "", "the HTTP-FLV recording decodes cleanly");
    let kinds: Vec<&Value> = probe.streams.iter().map(|s| &s["codec_type"]).collect();
    assert_eq!(kinds, ["video", "audio"], "{:?}", probe.streams);
    let (video, audio) = (&probe.streams[0], &probe.streams[1]);
    assert_eq!(video["codec_name"], "h264", "{video}");
    assert_eq!(
        (video["width"].as_u64(), video["height"].as_u64()),
        (Some(1280), Some(720))
    );
    assert_eq!(audio["codec_name"], "aac", "{audio}");
    assert_eq!(audio["sample_rate"], "48000", "{audio}");
    assert_eq!(audio["channels"], 2, "{audio}");
    let (pts, audio_pts) = (&probe.video_pts, &probe.audio_pts);
    assert!(pts.windows(2).all(|w| w[0] < w[1]), "monotonic video pts");
    assert!(
        audio_pts.windows(2).all(|w| w[0] < w[1]),
        "monotonic audio pts"
    );
    // The clip's 440 Hz tone came through OBS's mixer (about -21 dB).
    let volume = mean_volume(&out);
    assert!(volume > -30.0, "audio mean volume {volume} dB: silent?");

    // OBS keeps to the clock: frames it has no CPU time for are dropped, so
    // these figures also need OBS to get its share of the machine.
    let bitrate = stream["bitrate"].as_f64().unwrap();
    let (frames, audio_frames) = (pts.len() as f64, audio_pts.len() as f64);
    let keys = &probe.keyframe_pts;
    let figures = format!(
        "{frames} video frames, {audio_frames} audio frames in {VIEW_SECONDS} s, \
         keyframes at {keys:?}, {bitrate} b/s (if OBS lacked CPU time, these fall short)"
    );
    eprintln!("viewer: {figures}");
    // 5 s at 30 fps; the copy may stop a frame or two short where B-frames
    // reorder.
    let expected = f64::from(VIEW_SECONDS * 30);
    assert!(
        (expected * 0.9..=expected + 3.0).contains(&frames),
        "{figures}"
    );
    let slots = (pts[pts.len() - 1] - pts[0]) * 30.0 + 1.0;
    assert!(frames >= slots * 0.95, "{slots:.0} frame slots: {figures}");
    // AAC: 1024 samples per frame at 48 kHz, 46.9 frames a second.
    let audio_expected = f64::from(VIEW_SECONDS) * 48000.0 / 1024.0;
    assert!(
        (audio_expected * 0.9..=audio_expected * 1.1).contains(&audio_frames),
        "{figures}"
    );
    assert!(keys.len() >= 2, "{figures}");
    assert!(
        keys.windows(2).all(|w| w[1] - w[0] <= 2.05),
        "keyframes at most 2 s apart: {figures}"
    );
    // 1500 kb/s video + 128 kb/s audio, as /api/streams measured it.
    assert!((800e3..3e6).contains(&bitrate), "{stream}");

    // OBS stops; the stream ends once the reconnect timeout (1 s) passes.
    obs.stop();
    let ended = wait_until(Duration::from_secs(15), || {
        api_stream(server.http).is_null()
    });
    assert!(ended, "the stream ends after OBS leaves");

    let status = server.terminate();
    assert!(status.success(), "clean exit on SIGTERM: {status:?}");
}
