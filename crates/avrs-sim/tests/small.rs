//! The simulation at test size: targets of the cluster issue, real Ed25519
//! signatures on every gossip datagram, and determinism.

use avrs_sim::{AuthKind, SimConfig, run};

fn small(seed: u64, auth: AuthKind) -> SimConfig {
    let mut c = SimConfig::sized(20, 2000, 2, 3, seed);
    c.auth = auth;
    c
}

#[test]
fn small_cluster_meets_the_targets_with_signed_gossip() {
    let r = run(small(1, AuthKind::Signed));
    assert!(r.origin_egress_copies_max <= 4, "{r}");
    assert_eq!(r.loop_samples, 0, "{r}");
    assert_eq!(r.auth_refused, 0, "{r}");
    assert!(r.join_convergence_s.is_some(), "{r}");
    assert!(r.kill_convergence_s.is_some(), "{r}");
    assert_eq!(r.viewers_watching_at_end, r.viewers, "{r}");
    assert_eq!(r.viewers_unserved_at_end, 0, "{r}");
    assert!(r.viewers_max_per_server <= r.max_connections, "{r}");
    assert_eq!(r.relays_detached_at_end, 0, "{r}");
    assert!(r.viewer_failover.count > 0, "{r}");
    assert!(r.viewer_failover.p99_ms < 2000.0, "{r}");
    assert!(r.relay_reroute.p99_ms < 2000.0, "{r}");
}

#[test]
fn a_burst_is_spread_within_capacity() {
    // 2,000 viewers from 1.2 s (after the publish) to 3.2 s on servers of
    // 200: at least 10 of the 20 are needed, before most load reports have
    // spread. Servers whose first state carried no capacity used to take
    // every viewer.
    for seed in 1..=3 {
        let mut c = small(seed, AuthKind::Trusted);
        c.max_connections = 200;
        c.viewers_from = std::time::Duration::from_millis(1200);
        c.viewers_over = std::time::Duration::from_secs(2);
        let r = run(c);
        assert_eq!(r.viewers_unserved_at_end, 0, "{r}");
        assert!(r.viewers_max_per_server <= r.max_connections, "{r}");
        assert!(r.origin_egress_copies_max > 0, "{r}");
    }
}

#[test]
fn same_seed_same_report() {
    let a = run(small(7, AuthKind::Trusted));
    let b = run(small(7, AuthKind::Trusted));
    assert_eq!(
        serde_json::to_string(&a).unwrap(),
        serde_json::to_string(&b).unwrap()
    );
    let c = run(small(8, AuthKind::Trusted));
    assert_ne!(
        serde_json::to_string(&a).unwrap(),
        serde_json::to_string(&c).unwrap()
    );
}

#[test]
fn servers_keep_serving_without_the_host() {
    let mut c = small(3, AuthKind::Trusted);
    c.kill_host = true;
    let r = run(c);
    assert_eq!(r.killed, 4, "{r}");
    assert_eq!(r.viewers_watching_at_end, r.viewers, "{r}");
    assert!(r.viewer_failover.p99_ms < 2000.0, "{r}");
    assert_eq!(r.loop_samples, 0, "{r}");
}

#[test]
fn membership_converges_when_announces_are_lost() {
    // At 5 % loss some server's only announce (to the host) is lost at
    // start: it must announce again on its own, or it stays alone and
    // missing from every view (what kept 200 servers from converging at
    // 1 % loss). Seed 2 loses one before the first heartbeat.
    let mut c = small(2, AuthKind::Trusted);
    c.loss_permille = 50;
    let r = run(c);
    let join = r.join_convergence_s.unwrap_or(f64::INFINITY);
    let kill = r.kill_convergence_s.unwrap_or(f64::INFINITY);
    assert!(join < 5.0, "{r}");
    assert!(kill < 12.0, "{r}");
    assert_eq!(r.viewers_watching_at_end, r.viewers, "{r}");
}
