//! A cluster of separate `avrs serve` processes on loopback: 1 host, 1
//! balancer, 3 servers, admitted by the host's members file. ffmpeg
//! publishes to server 1; two HTTP-FLV viewers go through the balancer to
//! servers 2 and 3, which relay the stream from server 1. One of them is
//! killed with SIGKILL mid-stream: its viewer asks the balancer again and
//! must play again within 2 s. The killed node is restarted and rejoins.
//! Native (`avrs play --trust ORIGIN`) and RTMP (ffmpeg) viewers of servers
//! that do not hold the stream start a relay there and verify the origin.

mod cluster_support;
mod support;

use cluster_support::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::{have, publish_ffmpeg, wait_until};

/// A native viewer of a relaying server, trusting only the origin's key,
/// verifies every frame (the relay forwards the origin's signatures); one
/// trusting only the relay's key is refused (the relay signs nothing it
/// did not ingest).
fn relayed_frames_carry_the_origin_signature(relay: &ClusterNode, origin: &str, dir: &Path) {
    let play = |trust: &str, out: &Path| {
        support::avrs_play(dir)
            .arg(format!("avrs://{}/live/cam", relay.quic))
            .args(["--trust", trust, "--duration", "2", "--out"])
            .arg(out)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let out = dir.join("relayed.flv");
    let played = play(origin, &out);
    let stderr = String::from_utf8_lossy(&played.stderr);
    assert!(played.status.success(), "avrs play on the relay: {stderr}");
    let verified: u64 = stderr
        .split("frames verified ")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("a verification count: {stderr}"));
    assert!(verified >= 60, "{verified} frames verified: {stderr}");
    assert!(stderr.contains("dropped as corrupted 0"), "{stderr}");
    eprintln!("native viewer of a relay: {verified} frames verified against the origin");

    let refused = play(&relay.id, &dir.join("refused.flv"));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success(),
        "the relay's own key signs nothing"
    );
    assert!(stderr.contains("SIGN_ALIEN"), "{stderr}");
}

/// `avrs play --balance` on the balancer (never the origin): when its
/// server is SIGKILLed it resumes on another within 2 s, and the capture
/// decodes.
fn native_viewer_fails_over(
    balancer: &ClusterNode,
    servers: &mut [ClusterNode; 3],
    origin: &str,
    dir: &Path,
) {
    let out = dir.join("native-balanced.flv");
    let mut play = support::avrs_play(dir)
        .arg(format!("avrs://{}/live/cam", balancer.quic))
        .args(["--balance", "--avoid", origin, "--trust", origin, "--out"])
        .arg(&out)
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Every stderr line with when it came.
    let lines = Arc::new(Mutex::new(Vec::<(Instant, String)>::new()));
    let reader = BufReader::new(play.stderr.take().unwrap());
    let sink = lines.clone();
    std::thread::spawn(move || {
        for line in reader.lines().map_while(Result::ok) {
            sink.lock().unwrap().push((Instant::now(), line));
        }
    });
    let find = |needle: &str| {
        lines
            .lock()
            .unwrap()
            .iter()
            .find(|(_, l)| l.contains(needle))
            .cloned()
    };
    assert!(
        wait_until(Duration::from_secs(10), || find("watching live/cam")
            .is_some()),
        "avrs play --balance starts: {:?}",
        lines.lock().unwrap()
    );
    let (_, watching) = find("watching live/cam").unwrap();
    let on = servers
        .iter()
        .position(|s| watching.contains(&s.id[..16]))
        .unwrap_or_else(|| panic!("a server named in {watching}"));
    assert_ne!(servers[on].id, origin, "the origin was avoided");
    assert!(
        wait_until(Duration::from_secs(10), || std::fs::metadata(&out)
            .is_ok_and(|m| m.len() > 16 * 1024)),
        "the native player writes the stream"
    );
    servers[on].child.kill().unwrap();
    let killed_at = Instant::now();
    let _ = servers[on].child.wait();
    assert!(
        wait_until(Duration::from_secs(10), || find("resumed on").is_some()),
        "the native player resumes: {:?}",
        lines.lock().unwrap()
    );
    let (resumed_at, resumed) = find("resumed on").unwrap();
    let gap = resumed_at.duration_since(killed_at);
    eprintln!("native player: killed server → resumed in {gap:?} ({resumed})");
    assert!(gap < Duration::from_secs(2), "resumed within 2 s: {gap:?}");
    assert!(
        !resumed.contains(&servers[on].id[..16]),
        "on another server"
    );
    let size = std::fs::metadata(&out).unwrap().len();
    assert!(
        wait_until(Duration::from_secs(10), || std::fs::metadata(&out)
            .is_ok_and(|m| m.len() > size + 16 * 1024)),
        "the capture goes on after the failover"
    );
    let _ = play.kill();
    let _ = play.wait();
    if have("ffprobe") {
        let probe = Command::new("ffprobe")
            .args(["-v", "error", "-count_frames", "-select_streams", "v:0"])
            .args(["-show_entries", "stream=codec_name,nb_read_frames"])
            .args(["-of", "csv=p=0"])
            .arg(&out)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&probe.stdout);
        assert!(text.starts_with("h264,"), "the capture decodes: {text}");
    }
}

/// ffmpeg plays `live/cam` over RTMP from a server that does not hold it:
/// the server relays it and serves it.
fn rtmp_viewer_of_a_non_holder_plays(server: &ClusterNode) {
    let played = Command::new("ffmpeg")
        .args(["-v", "error", "-rw_timeout", "10000000", "-i"])
        .arg(format!("rtmp://{}/live/cam", server.rtmp))
        .args(["-t", "1", "-map", "0:v", "-f", "framemd5", "-"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&played.stdout);
    let frames = stdout.lines().filter(|l| !l.starts_with('#')).count();
    assert!(
        played.status.success() && frames >= 20,
        "{frames} frames over RTMP from a relaying server: {}",
        String::from_utf8_lossy(&played.stderr)
    );
}

/// What a viewer saw: each video tag's arrival and the server it came from.
#[derive(Default)]
struct Seen {
    video: Vec<(Instant, String)>,
    /// The first connection's bytes (for ffprobe), capped.
    first_bytes: Vec<u8>,
}

/// An HTTP-FLV viewer that always enters through the balancer, and when
/// its server goes away asks again, excluding that server.
fn viewer(
    balancer: SocketAddr,
    exclude: Vec<String>,
    seen: Arc<Mutex<Seen>>,
    stop: Arc<AtomicBool>,
) {
    let mut lost: Option<String> = None;
    while !stop.load(Ordering::Relaxed) {
        let mut excluded = exclude.clone();
        excluded.extend(lost.clone());
        let path = format!("/live/cam.flv?exclude={}", excluded.join(","));
        let answer = get(balancer, &path);
        let header = |name: &str| {
            answer.lines().find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
            })
        };
        let (Some(location), Some(server)) = (header("location"), header("x-avrs-server")) else {
            // No server left once the lost one is skipped: try them all
            // again, as a player would.
            lost = None;
            std::thread::sleep(Duration::from_millis(50));
            continue;
        };
        let rest = location.strip_prefix("http://").unwrap();
        let (addr, path) = rest.split_at(rest.find('/').unwrap());
        match read_flv(addr.parse().unwrap(), path, &server, &seen, &stop) {
            // The server that just failed is skipped next time (only it: a
            // real player does not remember every server it ever lost).
            Ended::Lost => lost = Some(server),
            // Alive but not serving the stream yet (a node that just
            // (re)joined has not heard where it lives): ask again shortly,
            // as a player retrying would.
            Ended::Refused => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

/// How one HTTP-FLV response ended.
enum Ended {
    /// Not a 200: the server is up but does not serve the stream (yet).
    Refused,
    /// Could not connect, or the stream broke or ended.
    Lost,
}

/// Reads one HTTP-FLV response until it ends, counting video tags.
fn read_flv(
    addr: SocketAddr,
    path: &str,
    server: &str,
    seen: &Mutex<Seen>,
    stop: &AtomicBool,
) -> Ended {
    let Ok(mut stream) = TcpStream::connect(addr) else {
        eprintln!("viewer: {server:.8} refused the connection");
        return Ended::Lost;
    };
    // Longer than a node waits for a relay to start before it answers
    // (`WAIT_FOR_RELAY`, 2 s), as a player's would be.
    stream
        .set_read_timeout(Some(Duration::from_secs(3)))
        .unwrap();
    let _ = write!(stream, "GET {path} HTTP/1.0\r\nHost: t\r\n\r\n");
    let mut buf = Vec::new();
    let mut chunk = [0u8; 65536];
    let mut body_at = None;
    let mut offset = 0;
    while !stop.load(Ordering::Relaxed) {
        let n = match stream.read(&mut chunk) {
            Ok(0) => {
                eprintln!("viewer: {server:.8} ended the response");
                return Ended::Lost;
            }
            Err(err) => {
                eprintln!("viewer: {server:.8} read failed: {err}");
                return Ended::Lost;
            }
            Ok(n) => n,
        };
        buf.extend_from_slice(&chunk[..n]);
        if body_at.is_none() {
            let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                continue;
            };
            if !buf.starts_with(b"HTTP/1.1 200") && !buf.starts_with(b"HTTP/1.0 200") {
                let status = String::from_utf8_lossy(&buf[..end.min(40)]).into_owned();
                eprintln!("viewer: {server:.8} answered {status}");
                return Ended::Refused;
            }
            body_at = Some(end + 4);
            offset = end + 4 + 13; // FLV header and the first previous-tag-size
        }
        let mut guard = seen.lock().unwrap();
        if guard.first_bytes.len() < 4 << 20 && guard.video.iter().all(|(_, s)| s == server) {
            let start = body_at.unwrap().max(buf.len() - n);
            guard.first_bytes.extend_from_slice(&buf[start..]);
        }
        while buf.len() >= offset + 11 {
            let size =
                u32::from_be_bytes([0, buf[offset + 1], buf[offset + 2], buf[offset + 3]]) as usize;
            if buf.len() < offset + 11 + size + 4 {
                break;
            }
            if buf[offset] == 9 {
                guard.video.push((Instant::now(), server.to_owned()));
            }
            offset += 11 + size + 4;
        }
    }
    // Stopped by the test.
    Ended::Lost
}

#[test]
fn cluster_relays_balances_and_fails_over() {
    if !have("ffmpeg") {
        eprintln!("skipped: ffmpeg is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let names = ["host", "balancer", "s1", "s2", "s3"];
    let ids: Vec<String> = names
        .iter()
        .map(|n| make_key(&dir.path().join(n)))
        .collect();
    // The host approves every other node ahead of time.
    std::fs::write(dir.path().join("host/members.txt"), ids[1..].join("\n")).unwrap();
    let host = start(&write_config(&dir.path().join("host"), "host", None));
    assert_eq!(host.id, ids[0]);
    let member = |i: usize, role: &str| {
        start(&write_config(
            &dir.path().join(names[i]),
            role,
            Some((&host.gossip, &host.id)),
        ))
    };
    let balancer = member(1, "balancer");
    let mut servers = [
        member(2, "server"),
        member(3, "server"),
        member(4, "server"),
    ];
    let joined = Instant::now();
    assert!(
        wait_until(Duration::from_secs(15), || alive_members(&balancer).len()
            == 5),
        "all five members alive in the balancer's view: {}",
        members(&balancer)
    );
    eprintln!("cluster of 5 converged in {:?}", joined.elapsed());

    let mut ffmpeg = publish_ffmpeg(servers[0].rtmp, "cam", 60);
    let origin = servers[0].id.clone();
    assert!(
        wait_until(Duration::from_secs(15), || alive_members(&balancer)
            .iter()
            .any(|(id, contents)| *id == origin && *contents > 0)),
        "the balancer learns server 1 holds the stream: {}",
        members(&balancer)
    );

    // Native and RTMP viewers of a server that does not hold the stream
    // start a relay there, as HTTP viewers do (once that server has heard
    // where the stream is).
    for server in &servers[1..] {
        assert!(
            wait_until(Duration::from_secs(15), || alive_members(server)
                .iter()
                .any(|(id, contents)| *id == origin && *contents > 0)),
            "server {} learns server 1 holds the stream",
            server.id
        );
    }
    relayed_frames_carry_the_origin_signature(&servers[1], &origin, dir.path());
    rtmp_viewer_of_a_non_holder_plays(&servers[2]);

    // Viewer A goes to whichever of servers 2 and 3 the balancer picks;
    // viewer B to the other. Server 1 (the ingest) is excluded for both.
    let stop = Arc::new(AtomicBool::new(false));
    let seen_a = Arc::new(Mutex::new(Seen::default()));
    let seen_b = Arc::new(Mutex::new(Seen::default()));
    let balancer_http = balancer.http;
    let spawn_viewer = |exclude: Vec<String>, seen: &Arc<Mutex<Seen>>| {
        let (seen, stop) = (seen.clone(), stop.clone());
        std::thread::spawn(move || viewer(balancer_http, exclude, seen, stop))
    };
    let a = spawn_viewer(vec![origin.clone()], &seen_a);
    let started = Instant::now();
    assert!(
        wait_until(Duration::from_secs(10), || seen_a
            .lock()
            .unwrap()
            .video
            .len()
            >= 30),
        "viewer A plays through the balancer and a relay"
    );
    eprintln!("viewer A: first 30 video frames in {:?}", started.elapsed());
    let server_a = seen_a.lock().unwrap().video[0].1.clone();
    assert_ne!(server_a, origin);
    let b = spawn_viewer(vec![origin.clone(), server_a.clone()], &seen_b);
    assert!(
        wait_until(Duration::from_secs(10), || seen_b
            .lock()
            .unwrap()
            .video
            .len()
            >= 30),
        "viewer B plays through the balancer and the other relay"
    );
    let server_b = seen_b.lock().unwrap().video[0].1.clone();
    assert!(server_b != origin && server_b != server_a);

    if have("ffprobe") {
        let capture = dir.path().join("a.flv");
        std::fs::write(&capture, &seen_a.lock().unwrap().first_bytes).unwrap();
        let probe = Command::new("ffprobe")
            .args(["-v", "error", "-count_frames", "-select_streams", "v:0"])
            .args([
                "-show_entries",
                "stream=codec_name,nb_read_frames",
                "-of",
                "csv=p=0",
            ])
            .arg(&capture)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&probe.stdout);
        eprintln!("ffprobe of viewer A's relayed capture: {}", text.trim());
        assert!(text.starts_with("h264,"), "decodable H.264: {text}");
    }

    // SIGKILL viewer A's server mid-stream.
    let killed = servers.iter().position(|s| s.id == server_a).unwrap();
    let before = seen_a.lock().unwrap().video.len();
    servers[killed].child.kill().unwrap();
    let kill_at = Instant::now();
    let _ = servers[killed].child.wait();
    assert!(
        wait_until(Duration::from_secs(5), || seen_a
            .lock()
            .unwrap()
            .video
            .len()
            > before
            && seen_a.lock().unwrap().video.last().unwrap().1 != server_a),
        "viewer A plays again from another server"
    );
    let (resumed_at, resumed_on) = {
        let seen = seen_a.lock().unwrap();
        seen.video
            .iter()
            .find(|(_, s)| *s != server_a)
            .cloned()
            .unwrap()
    };
    let gap = resumed_at.duration_since(kill_at);
    eprintln!("viewer A: killed server → first video frame from the next one: {gap:?}");
    assert!(gap < Duration::from_secs(2), "resumed within 2 s: {gap:?}");
    assert_ne!(resumed_on, origin);

    // The failure detector declares it down (the viewer did not wait for it).
    assert!(
        wait_until(Duration::from_secs(10), || !alive_members(&balancer)
            .iter()
            .any(|(id, _)| *id == server_a)),
        "the balancer sees the killed server down"
    );
    eprintln!(
        "killed server seen down by the balancer after {:?}",
        kill_at.elapsed()
    );

    // The killed node comes back with the same key and rejoins.
    let restarted = start(&dir.path().join(names[2 + killed]).join("avrs.ini"));
    assert_eq!(restarted.id, server_a);
    let back = Instant::now();
    assert!(
        wait_until(Duration::from_secs(15), || alive_members(&balancer)
            .iter()
            .any(|(id, _)| *id == server_a)),
        "the restarted server is alive again in the balancer's view: {}",
        members(&balancer)
    );
    eprintln!("restarted server rejoined in {:?}", back.elapsed());
    servers[killed] = restarted;
    // And serves again: a viewer sent to it (the others excluded) plays
    // through a fresh relay.
    let seen_c = Arc::new(Mutex::new(Seen::default()));
    let c = spawn_viewer(vec![origin.clone(), server_b.clone()], &seen_c);
    assert!(
        wait_until(Duration::from_secs(10), || seen_c
            .lock()
            .unwrap()
            .video
            .len()
            >= 30),
        "a viewer plays on the restarted server"
    );
    assert_eq!(seen_c.lock().unwrap().video[0].1, server_a);

    // A native player through the balancer (BALANCE_REQUEST), its server
    // SIGKILLed: it asks again and resumes on the other relay within 2 s.
    native_viewer_fails_over(&balancer, &mut servers, &origin, dir.path());

    stop.store(true, Ordering::Relaxed);
    let _ = ffmpeg.kill();
    let _ = ffmpeg.wait();
    a.join().unwrap();
    b.join().unwrap();
    c.join().unwrap();
    drop(host);
}
