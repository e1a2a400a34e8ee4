//! Scenario settings.

use avrs_cluster::ClusterConfig;
use std::time::Duration;

/// How gossip datagrams are sealed in the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum AuthKind {
    /// Real Ed25519 signatures, verified on every datagram.
    Signed,
    /// The sender's id only (membership check, no signature): for full size.
    Trusted,
}

#[derive(Debug, Clone)]
pub struct SimConfig {
    pub servers: usize,
    pub viewers: usize,
    pub regions: u16,
    /// Servers killed at `kill_at` (never the origin).
    pub kill: usize,
    /// Kill the host (the first balancer) too.
    pub kill_host: bool,
    pub seed: u64,
    pub auth: AuthKind,
    /// Gossip datagram loss, per mille.
    pub loss_permille: u32,
    pub cluster: ClusterConfig,
    /// Viewers arrive uniformly in `[viewers_from, viewers_from + viewers_over)`.
    pub viewers_from: Duration,
    pub viewers_over: Duration,
    pub kill_at: Duration,
    /// Simulated time after the kill.
    pub run_after_kill: Duration,
    pub max_connections: u32,
    pub bitrate_kbps: u32,
    /// A reader that gets nothing for this long takes its upstream for dead.
    pub stall_timeout: Duration,
    /// Waiting longer than this for an answer means "try another".
    pub request_timeout: Duration,
}

impl SimConfig {
    /// The scenario at a given size; everything else at its default.
    pub fn sized(servers: usize, viewers: usize, regions: u16, kill: usize, seed: u64) -> Self {
        Self {
            servers,
            viewers,
            regions: regions.max(1),
            kill,
            kill_host: false,
            seed,
            auth: AuthKind::Trusted,
            loss_permille: 10,
            cluster: ClusterConfig {
                relay_child_cap: 8,
                ..ClusterConfig::default()
            },
            viewers_from: Duration::from_secs(6),
            viewers_over: Duration::from_secs(10),
            kill_at: Duration::from_secs(30),
            run_after_kill: Duration::from_secs(20),
            max_connections: 2000,
            bitrate_kbps: 2500,
            stall_timeout: Duration::from_millis(500),
            request_timeout: Duration::from_millis(300),
        }
    }
}

/// One-way latency between regions: 5 ms inside a region, 40 ms plus 30 ms
/// per step around a ring of regions otherwise.
pub fn latency_us(a: u16, b: u16, regions: u16) -> u64 {
    if a == b {
        return 5_000;
    }
    let d = a.abs_diff(b);
    let ring = d.min(regions.saturating_sub(d));
    40_000 + 30_000 * u64::from(ring.max(1) - 1)
}
