//! A publisher moves to another server: host + servers A, B, C as separate
//! `avrs serve` processes on loopback. ffmpeg publishes to A; HTTP-FLV
//! viewers of B and C play through their servers' relays. A is SIGKILLed
//! mid-stream (its publisher with it) and a new publisher of the same name
//! starts on B: it takes the content over from B's relay, and C's relay
//! finds B as the new holder. Neither viewer's response ends (a
//! discontinuity, not an error) and frames flow again to both.

mod cluster_support;
mod support;

use cluster_support::*;
use std::time::{Duration, Instant};
use support::{have, publish_ffmpeg, wait_until};

#[test]
fn a_publisher_that_moves_server_keeps_the_relays_viewers() {
    if !have("ffmpeg") {
        eprintln!("skipped: ffmpeg is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (_host, mut nodes) = start_cluster(dir.path(), &["host", "a", "b", "c"], |_, _| {});
    let ids: Vec<String> = nodes.iter().map(|n| n.id.clone()).collect();
    assert!(
        wait_until(Duration::from_secs(15), || alive_members(&nodes[2]).len()
            == 4),
        "all members alive: {}",
        members(&nodes[2])
    );
    let mut first = publish_ffmpeg(nodes[0].rtmp, "cam", 60);
    let holds = |node: &ClusterNode, holder: &str| {
        alive_members(node)
            .iter()
            .any(|(id, contents)| id == holder && *contents > 0)
    };
    assert!(
        wait_until(Duration::from_secs(15), || holds(&nodes[2], &ids[0])),
        "C learns that A holds the stream"
    );
    let on_b = FlvViewer::start(nodes[1].http, "/live/cam.flv");
    let viewer = FlvViewer::start(nodes[2].http, "/live/cam.flv");
    assert!(
        wait_until(Duration::from_secs(15), || viewer.frames() >= 30
            && on_b.frames() >= 30),
        "the viewers of B and C play through relays: {} and {} frames",
        on_b.frames(),
        viewer.frames()
    );

    // A dies with its publisher; the publisher comes back on B.
    let a = nodes.remove(0);
    drop(a);
    let _ = first.kill();
    let _ = first.wait();
    let moved = Instant::now();
    let mut second = publish_ffmpeg(nodes[0].rtmp, "cam", 60);

    assert!(
        wait_until(Duration::from_secs(20), || viewer.frames_after(moved) >= 60
            && on_b.frames_after(moved) >= 60),
        "frames flow again from B: {} at B and {} at C since the move, routes of C: {}",
        on_b.frames_after(moved),
        viewer.frames_after(moved),
        get(nodes[1].http, "/api/cluster/routes")
    );
    let resumed = moved.elapsed();
    for (server, watcher) in [("B", &on_b), ("C", &viewer)] {
        assert_eq!(
            watcher.responses(),
            1,
            "the response of {server}'s viewer never ended: the move is a discontinuity"
        );
    }
    // B's publisher took over from B's relay; C took the new origin as its
    // publisher coming back: one discontinuity each.
    for node in &nodes {
        let streams = get(node.http, "/api/streams");
        assert!(
            streams.contains("\"publisher_reconnects\":1"),
            "one discontinuity: {streams}"
        );
    }
    let routes = get(nodes[1].http, "/api/cluster/routes");
    assert!(routes.contains(&ids[1]), "C now pulls from B: {routes}");
    eprintln!("publisher moved: 60 frames at B's and C's viewers {resumed:?} after A died");
    let _ = second.kill();
    let _ = second.wait();
}
