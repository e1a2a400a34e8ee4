//! ROUTE_FIND / ROUTE_CHECK end to end, through the `avrs cluster` CLI
//! against real `avrs serve` processes on loopback: a host, an origin
//! server (`avrs publish --synthetic` streams to it, so no ffmpeg is
//! needed) and a relay server (an HTTP-FLV viewer pulls the stream through
//! it, the relay's ROUTE_ADD granted by the origin). Every node verifies
//! tokens of one key.
//!
//! - `route-find` on the host names the origin first, one hop away; a
//!   content nobody holds is CONTENT_NOT_FOUND;
//! - `route-check` on the origin: the relay is fed, the host is not its
//!   child; on the relay: fed by the origin, at depth 1;
//! - `balance` (BALANCE_REQUEST) chooses one of the two servers, the other
//!   when one is excluded, and none when both are.
//!
//! Its own test binary, so it never runs beside the five-node
//! `cluster_routes` test.

mod cluster_support;
mod support;

use cluster_support::*;
use serde_json::Value;
use std::process::{Command, Stdio};
use std::time::Duration;
use support::wait_until;

/// `avrs cluster ARGS --api NODE --token TOKEN`: the node's JSON answer,
/// or the failure's message.
fn cluster(node: &ClusterNode, args: &[&str], token: &str) -> Result<Value, String> {
    let api = node.http.to_string();
    let mut all = vec!["cluster"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--api", &api, "--token", token]);
    let output = avrs(&all);
    match output.status.success() {
        true => Ok(serde_json::from_str(&ok(&output)).expect("the CLI prints the node's JSON")),
        false => Err(String::from_utf8_lossy(&output.stderr).into_owned()),
    }
}

fn children(node: &ClusterNode) -> String {
    get(node.http, "/api/cluster/routes")
}

#[test]
fn the_cli_finds_the_origin_and_checks_who_it_feeds() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("token.key");
    let key_text = key.to_str().unwrap();
    ok(&avrs(&["keygen", "--alg", "ed25519", "--out", key_text]));
    let line = format!("token_ed25519_key_file = {key_text}");
    let (host, nodes) = start_cluster(dir.path(), &["host", "origin", "relay"], |_, config| {
        add_to_section(config, "auth", &line)
    });
    let (origin, relay) = (&nodes[0], &nodes[1]);
    let token = token(&dir.path().join("host").join("avrs.ini"), "viewer", "ann");

    let _publisher = Reaped(
        Command::new(env!("CARGO_BIN_EXE_avrs"))
            .args(["publish", "--synthetic", "--duration", "60"])
            .arg(format!("rtmp://{}/live/cam", origin.rtmp))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start avrs publish"),
    );
    let holds = |node: &ClusterNode| {
        alive_members(node)
            .iter()
            .any(|(id, contents)| *id == origin.id && *contents > 0)
    };
    assert!(
        wait_until(Duration::from_secs(15), || holds(&host) && holds(relay)),
        "the host and the relay learn that the origin holds the stream: {}",
        members(&host)
    );
    let viewer = FlvViewer::start(relay.http, "/live/cam.flv");
    assert!(
        wait_until(Duration::from_secs(15), || children(origin)
            .contains(&relay.id)),
        "the origin grants the relay a feed: {}",
        children(origin)
    );
    assert!(
        wait_until(Duration::from_secs(10), || viewer.frames() > 0),
        "the relay's viewer plays"
    );

    let found = cluster(&host, &["route-find", "live/cam"], &token).unwrap();
    assert_eq!(found["code"], "SUCCESS", "{found}");
    assert_eq!(found["text"], "ROUTE_FIND_RESPONSE");
    let best = &found["candidates"][0];
    assert_eq!(best["member"], origin.id.as_str(), "{found}");
    assert_eq!(best["depth"], 1, "{found}");
    let missing = cluster(&host, &["route-find", "live/nobody"], &token).unwrap_err();
    assert!(missing.contains("CONTENT_NOT_FOUND NO_HOLDER"), "{missing}");

    let fed = cluster(origin, &["route-check", "live/cam", &relay.id], &token).unwrap();
    assert_eq!(fed["state"], "fed", "{fed}");
    assert_eq!(fed["upstream"]["kind"], "origin", "{fed}");
    let stranger = cluster(origin, &["route-check", "live/cam", &host.id], &token).unwrap();
    assert_eq!(stranger["state"], "not_our_child", "{stranger}");
    let at_relay = cluster(relay, &["route-check", "live/cam", &host.id], &token).unwrap();
    assert_eq!(at_relay["state"], "not_our_child", "{at_relay}");
    assert_eq!(at_relay["upstream"]["kind"], "relay", "{at_relay}");
    assert_eq!(at_relay["upstream"]["parent"], origin.id.as_str());
    assert_eq!(at_relay["upstream"]["depth"], 1);

    let chosen = cluster(&host, &["balance", "live/cam"], &token).unwrap();
    assert_eq!(chosen["text"], "BALANCE_RESPONSE", "{chosen}");
    let servers = [origin.id.as_str(), relay.id.as_str()];
    assert!(
        servers.contains(&chosen["member"].as_str().unwrap_or_default()),
        "{chosen}"
    );
    let other = cluster(
        &host,
        &["balance", "live/cam", "--exclude", &origin.id],
        &token,
    )
    .unwrap();
    assert_eq!(other["member"], relay.id.as_str(), "{other}");
    assert_eq!(other["quic"], relay.quic.port(), "{other}");
    let excluded = [
        "balance",
        "live/cam",
        "--exclude",
        &origin.id,
        "--exclude",
        &relay.id,
    ];
    let none = cluster(&host, &excluded, &token).unwrap_err();
    assert!(
        none.contains("MEMBER_NOT_FOUND NO_SERVER_AVAILABLE"),
        "{none}"
    );
}
