//! The run's figures, as text or JSON.

use crate::config::AuthKind;
use crate::measure::DepthStats;
use crate::world::{CONTENT, World};
use std::fmt;

/// A distribution of durations, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct Dist {
    pub count: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Dist {
    fn of(mut samples_us: Vec<u64>) -> Self {
        samples_us.sort_unstable();
        let pick = |q: f64| -> f64 {
            if samples_us.is_empty() {
                return 0.0;
            }
            let i = ((samples_us.len() as f64 * q).ceil() as usize).clamp(1, samples_us.len()) - 1;
            samples_us[i] as f64 / 1000.0
        };
        Self {
            count: samples_us.len(),
            p50_ms: pick(0.50),
            p99_ms: pick(0.99),
            max_ms: pick(1.0),
        }
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    pub servers: usize,
    pub viewers: usize,
    pub regions: u16,
    pub killed: usize,
    pub seed: u64,
    pub auth: AuthKind,
    pub loss_permille: u32,
    /// From start until every node sees every other alive.
    pub join_convergence_s: Option<f64>,
    /// From the kill until every live node agrees on membership.
    pub kill_convergence_s: Option<f64>,
    /// Most children the origin ever fed at once (its egress copies).
    pub origin_egress_copies_max: usize,
    pub depth_before_kill: DepthStats,
    pub depth_at_end: DepthStats,
    /// Viewers of killed servers, from the death to watching elsewhere.
    pub viewer_failover: Dist,
    /// Relays cut off by the kill, from the death to re-attached.
    pub relay_reroute: Dist,
    pub viewers_watching_at_end: usize,
    /// Viewers not watching at the end (waiting, asking, or never placed).
    pub viewers_unserved_at_end: usize,
    /// Most viewers one live server carries at the end, against its
    /// `max_connections`.
    pub viewers_max_per_server: u32,
    pub max_connections: u32,
    /// Live servers carrying at least one viewer at the end.
    pub servers_with_viewers: usize,
    pub relays_detached_at_end: usize,
    pub loop_samples: u64,
    pub gossip_datagrams: u64,
    pub gossip_dropped: u64,
    pub gossip_bytes: u64,
    pub auth_refused: u64,
    pub autoscale_signals: u64,
    pub events: u64,
}

impl Report {
    pub(crate) fn build(w: &World) -> Self {
        let secs = |us: u64| us as f64 / 1e6;
        let live = w.nodes.iter().filter(|n| n.alive);
        let watching = w.viewers.iter().filter(|v| v.watching()).count();
        let loads = w.nodes.iter().filter(|n| n.alive).map(|n| n.viewers);
        Self {
            servers: w.cfg.servers,
            viewers: w.cfg.viewers,
            regions: w.cfg.regions,
            killed: w.m.killed,
            seed: w.cfg.seed,
            auth: w.cfg.auth,
            loss_permille: w.cfg.loss_permille,
            join_convergence_s: w.m.join_converged_at.map(secs),
            kill_convergence_s: w.m.kill_converged_at.map(secs),
            origin_egress_copies_max: w.m.origin_children_max,
            depth_before_kill: w.m.depth_before_kill.unwrap_or_default(),
            depth_at_end: w.depth_stats(),
            viewer_failover: Dist::of(w.m.failovers_us.clone()),
            relay_reroute: Dist::of(w.m.reroutes_us.clone()),
            viewers_watching_at_end: watching,
            viewers_unserved_at_end: w.viewers.len() - watching,
            viewers_max_per_server: loads.clone().max().unwrap_or(0),
            max_connections: w.cfg.max_connections,
            servers_with_viewers: loads.filter(|v| *v > 0).count(),
            relays_detached_at_end: live
                .filter(|n| n.routes.upstream(CONTENT).is_some() && !n.routes.is_attached(CONTENT))
                .count(),
            loop_samples: w.m.loop_samples,
            gossip_datagrams: w.m.gossip_datagrams,
            gossip_dropped: w.m.gossip_dropped,
            gossip_bytes: w.m.gossip_bytes,
            auth_refused: w
                .nodes
                .iter()
                .map(|n| n.membership.stats().refused_auth)
                .sum(),
            autoscale_signals: w.m.autoscale_signals,
            events: w.queue.processed,
        }
    }
}

fn opt(v: Option<f64>) -> String {
    v.map_or_else(|| "not reached".to_string(), |s| format!("{s:.2} s"))
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "avrs-sim: {} servers + host, {} viewers, {} regions, {} killed, seed {}, auth {:?}, loss {}‰",
            self.servers,
            self.viewers,
            self.regions,
            self.killed,
            self.seed,
            self.auth,
            self.loss_permille
        )?;
        writeln!(
            f,
            "membership convergence: join {}, after kill {}",
            opt(self.join_convergence_s),
            opt(self.kill_convergence_s)
        )?;
        writeln!(
            f,
            "origin egress copies (max): {}",
            self.origin_egress_copies_max
        )?;
        for (name, d) in [
            ("before kill", self.depth_before_kill),
            ("at end", self.depth_at_end),
        ] {
            writeln!(
                f,
                "relay depth {name}: max {}, avg {:.2} over {} relays",
                d.max, d.avg, d.relays
            )?;
        }
        for (name, d) in [
            ("viewer failover", self.viewer_failover),
            ("relay re-route", self.relay_reroute),
        ] {
            writeln!(
                f,
                "{name}: {} samples, p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
                d.count, d.p50_ms, d.p99_ms, d.max_ms
            )?;
        }
        writeln!(
            f,
            "viewers watching at end: {} / {} ({} unserved); relays still detached: {}; samples with a loop: {}",
            self.viewers_watching_at_end,
            self.viewers,
            self.viewers_unserved_at_end,
            self.relays_detached_at_end,
            self.loop_samples
        )?;
        writeln!(
            f,
            "viewers per server at end: max {} (capacity {}), {} servers with viewers",
            self.viewers_max_per_server, self.max_connections, self.servers_with_viewers
        )?;
        writeln!(
            f,
            "gossip: {} datagrams ({} lost), {:.1} MB, {} refused by auth; autoscale signals {}; {} events",
            self.gossip_datagrams,
            self.gossip_dropped,
            self.gossip_bytes as f64 / 1e6,
            self.auth_refused,
            self.autoscale_signals,
            self.events
        )
    }
}
