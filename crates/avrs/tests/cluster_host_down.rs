//! The host is down, the cluster goes on: host + two servers (server B
//! also balances) as separate `avrs serve` processes on loopback. ffmpeg
//! publishes to server A; an HTTP-FLV viewer of server B plays through a
//! relay. The host is SIGKILLed: the viewer keeps getting frames for many
//! heartbeats, a new viewer still starts on B and B still balances. The
//! host restarts from the same data directory (and gossip address) and
//! sees both servers alive again.

mod cluster_support;
mod support;

use cluster_support::*;
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};
use support::{have, publish_ffmpeg, wait_until};

/// `heartbeat_interval` of the cluster_support configs.
const HEARTBEAT: Duration = Duration::from_millis(200);

/// Every one of `ids` is alive with a state in `node`'s view.
fn sees(node: &ClusterNode, ids: &[&str]) -> bool {
    let alive = alive_members(node);
    ids.iter().all(|id| alive.iter().any(|(a, _)| a == id))
}

fn holds_stream(node: &ClusterNode, origin: &str) -> bool {
    alive_members(node)
        .iter()
        .any(|(id, contents)| id == origin && *contents > 0)
}

/// Rewrites the host's `gossip_address = IP:0` to the port it bound, so a
/// restarted host is where the members' `host_address` says.
fn pin_gossip_port(config: &Path, gossip: SocketAddr) {
    let text = std::fs::read_to_string(config).unwrap();
    let pinned = text.replace(
        &format!("gossip_address = {}:0", gossip.ip()),
        &format!("gossip_address = {gossip}"),
    );
    assert_ne!(text, pinned, "the host's config names its gossip address");
    std::fs::write(config, pinned).unwrap();
}

#[test]
fn servers_keep_serving_while_the_host_is_down() {
    if !have("ffmpeg") {
        eprintln!("skipped: ffmpeg is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let names = ["host", "a", "b"];
    let ids: Vec<String> = names
        .iter()
        .map(|n| make_key(&dir.path().join(n)))
        .collect();
    std::fs::write(dir.path().join("host/members.txt"), ids[1..].join("\n")).unwrap();
    let host_config = write_config(&dir.path().join("host"), "host", None);
    let host = start(&host_config);
    pin_gossip_port(&host_config, host.gossip);
    let member = |i: usize, role: &str| {
        start(&write_config(
            &dir.path().join(names[i]),
            role,
            Some((&host.gossip, &host.id)),
        ))
    };
    let a = member(1, "server");
    let b = member(2, "server,balancer");
    let everyone = [ids[0].as_str(), ids[1].as_str(), ids[2].as_str()];
    assert!(
        wait_until(Duration::from_secs(15), || sees(&a, &everyone)
            && sees(&b, &everyone)),
        "the three members alive in A's and B's views: {}",
        members(&b)
    );

    let mut ffmpeg = publish_ffmpeg(a.rtmp, "cam", 120);
    assert!(
        wait_until(Duration::from_secs(15), || holds_stream(&b, &a.id)),
        "B learns that A holds the stream: {}",
        members(&b)
    );
    let first = FlvViewer::start(b.http, "/live/cam.flv");
    assert!(
        wait_until(Duration::from_secs(10), || first.frames() >= 30),
        "a viewer of B plays A's stream through a relay"
    );

    let mut host = host;
    host.child.kill().unwrap();
    let killed = Instant::now();
    let _ = host.child.wait();
    let at_kill = first.frames();
    assert!(
        wait_until(Duration::from_secs(10), || !sees(&b, &[&ids[0]])
            && !sees(&a, &[&ids[0]])),
        "A and B see the host down: {}",
        members(&b)
    );
    eprintln!(
        "host seen down by both servers {:?} after the kill",
        killed.elapsed()
    );
    // Ten heartbeats after the kill, and after both noticed, the viewer is
    // still being fed (30 fps: a stall of 1 s would show).
    let until = killed + HEARTBEAT * 10;
    std::thread::sleep(until.saturating_duration_since(Instant::now()));
    assert!(
        wait_until(Duration::from_secs(5), || first.frames() >= at_kill + 60),
        "the viewer keeps receiving frames with the host down ({} → {})",
        at_kill,
        first.frames()
    );
    let gap = first.last().map(|t| t.elapsed());
    assert!(
        gap.is_some_and(|g| g < Duration::from_millis(500)),
        "frames still arriving: last {gap:?} ago"
    );
    assert!(
        sees(&a, &[&ids[1], &ids[2]]) && sees(&b, &[&ids[1], &ids[2]]),
        "the servers keep each other alive without the host: {}",
        members(&b)
    );

    // A new viewer still starts on B, and B still balances.
    let second = FlvViewer::start(b.http, "/live/cam.flv");
    assert!(
        wait_until(Duration::from_secs(10), || second.frames() >= 30),
        "a new viewer starts on B with the host down"
    );
    let balance = get(b.http, "/api/balance?content=live/cam");
    assert!(
        balance.starts_with("HTTP/1.0 200") && balance.contains("\"server\""),
        "B balances with the host down: {balance}"
    );

    // The host comes back from the same data directory and catches up.
    let host = start(&host_config);
    assert_eq!(host.id, ids[0]);
    assert_eq!(host.gossip, pin_check(&host_config));
    let back = Instant::now();
    assert!(
        wait_until(Duration::from_secs(15), || sees(&host, &[&ids[1], &ids[2]])),
        "the restarted host sees both servers alive: {}",
        members(&host)
    );
    eprintln!(
        "restarted host sees both servers after {:?}",
        back.elapsed()
    );
    assert!(
        wait_until(Duration::from_secs(15), || sees(&a, &everyone)
            && sees(&b, &everyone)),
        "both servers see the host alive again: {}",
        members(&b)
    );
    let before = first.frames();
    assert!(
        wait_until(Duration::from_secs(5), || first.frames() >= before + 30),
        "the first viewer is still playing"
    );
    drop((first, second));
    let _ = ffmpeg.kill();
    let _ = ffmpeg.wait();
}

/// The gossip address the host's config pins.
fn pin_check(config: &Path) -> SocketAddr {
    let text = std::fs::read_to_string(config).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("gossip_address = "))
        .and_then(|a| a.trim().parse().ok())
        .expect("a pinned gossip address")
}
