//! ROUTE_ADD with real processes: a host and four servers on loopback; the
//! origin server feeds at most one relay (`origin_child_cap = 1`). ffmpeg
//! publishes to the origin and a native viewer plays on each of the three
//! other servers: exactly one of them is granted a feed by the origin, the
//! other two are refused there and attach below a relay (depth 2). Every
//! viewer plays, and `GET /api/cluster/routes` on each node shows the tree
//! (granted paths, children), with no member its own ancestor.

mod cluster_support;
mod support;

use cluster_support::*;
use std::process::Stdio;
use std::time::{Duration, Instant};
use support::{have, publish_ffmpeg, wait_until};

fn routes(node: &ClusterNode) -> Vec<serde_json::Value> {
    let response = get(node.http, "/api/cluster/routes");
    let body = response.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    let value: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    value["routes"].as_array().cloned().unwrap_or_default()
}

/// The node's relay route for the one content: (depth, path).
fn relay_route(node: &ClusterNode) -> Option<(u64, Vec<String>)> {
    let route = routes(node)
        .into_iter()
        .find(|r| r["upstream"] == "relay")?;
    let path = route["path"]
        .as_array()?
        .iter()
        .filter_map(|p| p.as_str().map(str::to_owned))
        .collect();
    Some((route["depth"].as_u64()?, path))
}

fn children(node: &ClusterNode) -> Vec<String> {
    routes(node)
        .first()
        .and_then(|r| r["children"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|c| c.as_str().map(str::to_owned))
        .collect()
}

#[test]
fn the_origin_feeds_at_most_its_cap_and_the_rest_attach_below() {
    if !have("ffmpeg") {
        eprintln!("skipped: ffmpeg is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let names = ["host", "origin", "r1", "r2", "r3"];
    let (_host, nodes) = start_cluster(dir.path(), &names, |i, config| {
        if i > 0 {
            add_to_section(config, "cluster", "origin_child_cap = 1");
        }
    });
    assert!(
        wait_until(Duration::from_secs(15), || alive_members(&nodes[3]).len()
            == 5),
        "all five members alive: {}",
        members(&nodes[3])
    );
    let origin = &nodes[0];
    let mut ffmpeg = publish_ffmpeg(origin.rtmp, "cam", 40);
    assert!(
        wait_until(Duration::from_secs(15), || nodes[1..].iter().all(|n| {
            alive_members(n)
                .iter()
                .any(|(id, contents)| *id == origin.id && *contents > 0)
        })),
        "every server learns the origin holds the stream"
    );

    // A native viewer on each of the three other servers, all at once.
    let started = Instant::now();
    let players: Vec<_> = nodes[1..]
        .iter()
        .map(|node| {
            support::avrs_play(dir.path())
                .arg(format!("avrs://{}/live/cam", node.quic))
                .args(["--out", "/dev/null", "--duration", "4"])
                .stdin(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let attached = wait_until(Duration::from_secs(20), || {
        nodes[1..].iter().all(|n| relay_route(n).is_some())
    });
    assert!(attached, "every relay is granted a feed");
    eprintln!("three relays attached in {:?}", started.elapsed());
    let relays: Vec<(u64, Vec<String>)> =
        nodes[1..].iter().map(|n| relay_route(n).unwrap()).collect();
    let direct = relays.iter().filter(|(depth, _)| *depth == 1).count();
    assert_eq!(direct, 1, "the origin feeds one relay: {relays:?}");
    for ((depth, path), node) in relays.iter().zip(&nodes[1..]) {
        assert_eq!(path.len() as u64, *depth, "{path:?}");
        assert_eq!(path[0], origin.id, "every path starts at the origin");
        assert!(!path.contains(&node.id), "no node is its own ancestor");
    }
    assert_eq!(children(origin).len(), 1, "{:?}", routes(origin));
    for player in players {
        let out = player.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "avrs play: {stderr}");
        assert!(stderr.contains("dropped as corrupted 0"), "{stderr}");
    }
    let _ = ffmpeg.kill();
    let _ = ffmpeg.wait();
}
