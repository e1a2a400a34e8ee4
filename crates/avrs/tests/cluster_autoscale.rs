//! The auto-scaling signal with separate `avrs serve` processes on
//! loopback: host, a balancer with `autoscale_threshold = 10%` and an
//! `autoscale_command`, and one server with room for 4 connections. One
//! viewer puts the server at 25 %: the balancer runs the command, whose
//! environment carries the figures. A second server then joins (as the
//! command would have started it) and the balancer sends the next client
//! to it as soon as it is alive.

mod cluster_support;
mod support;

use cluster_support::*;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};
use support::{have, publish_ffmpeg, wait_until};

/// An HTTP-FLV viewer that reads until the test ends (the process exits).
fn hold_viewer(http: SocketAddr, path: &str) {
    let mut stream = TcpStream::connect(http).unwrap();
    write!(stream, "GET {path} HTTP/1.0\r\nHost: t\r\n\r\n").unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 65536];
        while matches!(stream.read(&mut buf), Ok(n) if n > 0) {}
    });
}

/// `KEY=VALUE` lines of the file the command wrote.
fn env_value(text: &str, key: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")))
        .and_then(|v| v.trim().parse().ok())
}

fn balanced_to(balancer: &ClusterNode) -> Option<String> {
    let answer = get(balancer.http, "/api/balance?content=live/cam");
    let body = answer.split_once("\r\n\r\n")?.1;
    let json: serde_json::Value = serde_json::from_str(body).ok()?;
    json["server"].as_str().map(str::to_owned)
}

fn server_config(dir: &Path, host: &ClusterNode) -> std::path::PathBuf {
    let config = write_config(dir, "server", Some((&host.gossip, &host.id)));
    add_to_section(&config, "avrs", "max_connections = 4");
    config
}

#[test]
fn a_busy_cluster_runs_the_autoscale_command_and_uses_the_new_server() {
    if !have("ffmpeg") {
        eprintln!("skipped: ffmpeg is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let names = ["host", "balancer", "s1", "s2"];
    let ids: Vec<String> = names
        .iter()
        .map(|n| make_key(&dir.path().join(n)))
        .collect();
    std::fs::write(dir.path().join("host/members.txt"), ids[1..].join("\n")).unwrap();
    let host = start(&write_config(&dir.path().join("host"), "host", None));
    let signal_file = dir.path().join("autoscale.env");
    let balancer_config = write_config(
        &dir.path().join("balancer"),
        "balancer",
        Some((&host.gossip, &host.id)),
    );
    // Written whole, then renamed: the test never reads half a file.
    let command = format!(
        "autoscale_command = env | grep ^AVRS_ > {0}.tmp && mv {0}.tmp {0}",
        signal_file.display()
    );
    add_to_section(&balancer_config, "cluster", &command);
    add_to_section(&balancer_config, "cluster", "autoscale_threshold = 10%");
    let balancer = start(&balancer_config);
    let s1 = start(&server_config(&dir.path().join("s1"), &host));
    assert!(
        wait_until(Duration::from_secs(15), || alive_members(&balancer).len()
            == 3),
        "host, balancer and server alive in the balancer's view: {}",
        members(&balancer)
    );
    assert!(!signal_file.exists(), "no signal while the server is idle");

    let mut ffmpeg = publish_ffmpeg(s1.rtmp, "cam", 60);
    assert!(
        wait_until(Duration::from_secs(15), || alive_members(&balancer)
            .iter()
            .any(|(id, contents)| *id == s1.id && *contents > 0)),
        "the balancer learns the server holds the stream"
    );
    hold_viewer(s1.http, "/live/cam.flv");
    let loaded = Instant::now();
    assert!(
        wait_until(Duration::from_secs(10), || signal_file.exists()),
        "the balancer runs the autoscale_command: {}",
        members(&balancer)
    );
    eprintln!(
        "autoscale command ran {:?} after the viewer came",
        loaded.elapsed()
    );
    let env = std::fs::read_to_string(&signal_file).unwrap();
    let load = env_value(&env, "AVRS_AUTOSCALE_LOAD_PERMILLE").expect("the load figure");
    assert!((101..=1000).contains(&load), "load {load}‰: {env}");
    assert_eq!(
        env_value(&env, "AVRS_AUTOSCALE_THRESHOLD_PERMILLE"),
        Some(100),
        "{env}"
    );
    assert_eq!(env_value(&env, "AVRS_AUTOSCALE_SERVERS"), Some(1), "{env}");
    assert!(
        env.contains(&format!("AVRS_MEMBER_ID={}", balancer.id)),
        "{env}"
    );

    // The server the signal asked for joins: the next client goes to it.
    assert_eq!(balanced_to(&balancer).as_deref(), Some(s1.id.as_str()));
    let s2 = start(&server_config(&dir.path().join("s2"), &host));
    let joined = Instant::now();
    assert!(
        wait_until(Duration::from_secs(15), || balanced_to(&balancer)
            .as_deref()
            == Some(s2.id.as_str())),
        "the balancer sends clients to the new server: {}",
        members(&balancer)
    );
    eprintln!(
        "new server chosen by the balancer {:?} after it started",
        joined.elapsed()
    );
    let redirect = get(balancer.http, "/live/cam.flv");
    assert!(
        redirect.contains(&format!("http://{}/live/cam.flv", s2.http)),
        "the balancer redirects a viewer to the new server: {redirect}"
    );
    let _ = ffmpeg.kill();
    let _ = ffmpeg.wait();
    drop((s2, s1, balancer, host));
}
