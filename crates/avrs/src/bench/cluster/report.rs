//! What `avrs bench cluster` reports, as a table for people or as JSON
//! for scripts; times are milliseconds.

use super::super::report::Summary;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;

#[derive(Debug, Serialize)]
pub struct ClusterReport {
    /// How the cluster was built and how the figures were taken.
    pub setup: Setup,
    /// One row per number of edges, in growing order.
    pub egress: Vec<EgressRow>,
    /// `None` with `--failover-rounds 0`.
    pub failover: Option<FailoverReport>,
}

#[derive(Debug, Serialize)]
pub struct Setup {
    pub hosts: usize,
    pub balancers: usize,
    /// Servers at the end: the origin and the edges.
    pub servers: usize,
    pub heartbeat_ms: u64,
    /// The nodes' defaults, which the bench does not change.
    pub origin_child_cap: u16,
    pub relay_child_cap: u16,
    pub stream: String,
    pub bitrate_class: String,
    pub viewers_per_edge: usize,
    /// `grown`: one cluster, servers added between rows.
    pub cluster: String,
}

#[derive(Debug, Default, Serialize)]
pub struct EgressRow {
    pub edges: usize,
    /// Edges added for this row (their viewers started together).
    pub new_edges: usize,
    /// Edges whose every viewer played.
    pub edges_playing: usize,
    /// From the new edges' viewers' start to the last one's first video
    /// frame; `None` when one did not play.
    pub attach_ms: Option<f64>,
    /// Relays the origin feeds (its route's children) once all played.
    pub origin_egress_copies: usize,
    /// The most seen at any look while the edges attached.
    pub origin_egress_peak: usize,
    /// Native sessions of the stream at the origin (`/api/streams`).
    pub origin_native_sessions: Option<u64>,
    /// Deepest relay (origin = 0).
    pub max_depth: Option<u8>,
    pub edges_by_depth: BTreeMap<u8, usize>,
    /// Edges with no relay route (detached or none).
    pub edges_not_relaying: usize,
}

#[derive(Debug, Serialize)]
pub struct FailoverReport {
    pub viewers_per_round: usize,
    /// A viewer not playing a new frame this long after the kill counts
    /// as not resumed.
    pub limit_ms: f64,
    pub rounds: Vec<FailoverRound>,
    /// Viewers on the killed edges, all rounds.
    pub measured: usize,
    pub resumed: usize,
    pub not_resumed: usize,
    /// Kill → the viewer takes its server as lost, all rounds.
    pub detect_ms: Option<Summary>,
    /// Kill → a session started at the next server, all rounds.
    pub rewatch_ms: Option<Summary>,
    /// Kill → first new video frame from another server, all rounds.
    pub failover_ms: Option<Summary>,
}

#[derive(Debug, Serialize)]
pub struct FailoverRound {
    pub victim: String,
    pub victim_id: String,
    pub victim_depth: Option<u8>,
    /// Edges the victim fed (they re-route).
    pub victim_children: usize,
    pub viewers: usize,
    /// Viewers the balancer put on the victim (the ones measured).
    pub on_victim: usize,
    /// Viewers that had not played when the victim was killed (the rest
    /// of `viewers` minus `on_victim` had lost their server already).
    pub not_playing: usize,
    pub resumed: usize,
    pub not_resumed: usize,
    /// Viewers that took a second server as lost too (silent for 1 s).
    pub lost_again: usize,
    pub detect_ms: Option<Summary>,
    /// Kill → a session started at the next server.
    pub rewatch_ms: Option<Summary>,
    pub failover_ms: Option<Summary>,
    /// Where they resumed: server label → viewers.
    pub resumed_on: BTreeMap<String, usize>,
    pub errors: BTreeMap<String, usize>,
    /// Restart of the victim → its edge viewers play again.
    pub back_ms: Option<f64>,
}

fn opt<T: std::fmt::Display>(value: Option<T>) -> String {
    value.map_or_else(|| "-".into(), |v| v.to_string())
}

fn summary(s: Option<&Summary>) -> String {
    s.map_or_else(
        || "-".into(),
        |s| {
            format!(
                "p50 {:.0}  p99 {:.0}  max {:.0}  ({})",
                s.p50, s.p99, s.max, s.count
            )
        },
    )
}

impl ClusterReport {
    /// The report as aligned lines for a terminal.
    pub fn to_table(&self) -> String {
        let mut t = String::new();
        let s = &self.setup;
        let _ = writeln!(
            t,
            "cluster: {} host, {} balancer, {} servers (origin + {} edges) on loopback, one process each; \
             {} cluster, heartbeat {} ms",
            s.hosts,
            s.balancers,
            s.servers,
            s.servers.saturating_sub(1),
            s.cluster,
            s.heartbeat_ms
        );
        let _ = writeln!(
            t,
            "relay caps (node defaults): origin_child_cap {}, relay_child_cap {}",
            s.origin_child_cap, s.relay_child_cap
        );
        let _ = writeln!(
            t,
            "stream: {} (synthetic, {} bit rate) published at the origin; {} native viewers per edge\n",
            s.stream, s.bitrate_class, s.viewers_per_edge
        );
        self.egress_table(&mut t);
        if let Some(failover) = &self.failover {
            failover.table(&mut t);
        }
        t
    }

    fn egress_table(&self, t: &mut String) {
        let _ = writeln!(
            t,
            "{:>5} {:>6} {:>8} {:>8} {:>9} {:>9} {:>11} {:>10}  edges by depth",
            "edges", "origin", "(peak)", "sessions", "max depth", "attach", "playing", "no route"
        );
        for row in &self.egress {
            let depths: Vec<String> = row
                .edges_by_depth
                .iter()
                .map(|(d, n)| format!("{d}:{n}"))
                .collect();
            let _ = writeln!(
                t,
                "{:>5} {:>6} {:>8} {:>8} {:>9} {:>9} {:>11} {:>10}  {}",
                row.edges,
                row.origin_egress_copies,
                format!("({})", row.origin_egress_peak),
                opt(row.origin_native_sessions),
                opt(row.max_depth),
                row.attach_ms.map_or("-".into(), |ms| format!("{ms:.0} ms")),
                format!("{}/{}", row.edges_playing, row.edges),
                row.edges_not_relaying,
                depths.join(" ")
            );
        }
        let _ = writeln!(
            t,
            "(origin: relays the origin feeds = its egress copies; sessions: native sessions at the origin)"
        );
    }
}

impl FailoverReport {
    fn table(&self, t: &mut String) {
        let _ = writeln!(
            t,
            "\nfailover: {} viewers per round through the balancer, pinned to one edge, which is SIGKILLed",
            self.viewers_per_round
        );
        for (i, r) in self.rounds.iter().enumerate() {
            let _ = writeln!(
                t,
                "round {}: killed {} (depth {}, feeding {} edges): {}/{} resumed \
                 ({} of {} viewers had not played); back after {}",
                i + 1,
                r.victim,
                opt(r.victim_depth),
                r.victim_children,
                r.resumed,
                r.on_victim,
                r.not_playing,
                r.viewers,
                r.back_ms.map_or("-".into(), |ms| format!("{ms:.0} ms"))
            );
            let _ = writeln!(t, "  detection (ms) {}", summary(r.detect_ms.as_ref()));
            let _ = writeln!(t, "  new session    {}", summary(r.rewatch_ms.as_ref()));
            let _ = writeln!(t, "  failover (ms)  {}", summary(r.failover_ms.as_ref()));
            if r.lost_again > 0 {
                let _ = writeln!(
                    t,
                    "  lost again     {} (the next server was silent too)",
                    r.lost_again
                );
            }
            let on: Vec<String> = r
                .resumed_on
                .iter()
                .map(|(s, n)| format!("{s} {n}"))
                .collect();
            let _ = writeln!(t, "  resumed on     {}", on.join(", "));
            for (error, n) in &r.errors {
                let _ = writeln!(t, "  error          {n} × {error}");
            }
        }
        let _ = writeln!(
            t,
            "all rounds: {}/{} resumed, {} not within {:.0} s",
            self.resumed,
            self.measured,
            self.not_resumed,
            self.limit_ms / 1000.0
        );
        let _ = writeln!(t, "  detection (ms) {}", summary(self.detect_ms.as_ref()));
        let _ = writeln!(t, "  new session    {}", summary(self.rewatch_ms.as_ref()));
        let _ = writeln!(t, "  failover (ms)  {}", summary(self.failover_ms.as_ref()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(p50: f64, p99: f64) -> Option<Summary> {
        Some(Summary {
            count: 2,
            p50,
            p99,
            max: p99,
        })
    }

    #[test]
    fn the_table_and_the_json_name_every_figure() {
        let row = EgressRow {
            edges: 8,
            new_edges: 4,
            edges_playing: 8,
            attach_ms: Some(161.0),
            origin_egress_copies: 4,
            origin_egress_peak: 4,
            origin_native_sessions: Some(4),
            max_depth: Some(2),
            edges_by_depth: BTreeMap::from([(1, 4), (2, 4)]),
            edges_not_relaying: 0,
        };
        let round = FailoverRound {
            victim: "edge1".into(),
            victim_id: "ab".into(),
            victim_depth: Some(1),
            victim_children: 2,
            viewers: 2,
            on_victim: 2,
            not_playing: 0,
            resumed: 2,
            not_resumed: 0,
            lost_again: 0,
            detect_ms: ms(1000.0, 1010.0),
            rewatch_ms: ms(1100.0, 1120.0),
            failover_ms: ms(1120.0, 1130.0),
            resumed_on: BTreeMap::from([("edge2".into(), 2)]),
            errors: BTreeMap::new(),
            back_ms: Some(540.0),
        };
        let report = ClusterReport {
            setup: Setup {
                hosts: 1,
                balancers: 1,
                servers: 9,
                heartbeat_ms: 200,
                origin_child_cap: 4,
                relay_child_cap: 8,
                stream: "live/bench".into(),
                bitrate_class: "low".into(),
                viewers_per_edge: 5,
                cluster: "grown".into(),
            },
            egress: vec![row],
            failover: Some(FailoverReport {
                viewers_per_round: 2,
                limit_ms: 10_000.0,
                rounds: vec![round],
                measured: 2,
                resumed: 2,
                not_resumed: 0,
                detect_ms: ms(1000.0, 1010.0),
                rewatch_ms: ms(1100.0, 1120.0),
                failover_ms: ms(1120.0, 1130.0),
            }),
        };
        let table = report.to_table();
        assert!(
            table.contains("origin_child_cap 4, relay_child_cap 8"),
            "{table}"
        );
        assert!(
            table.contains("161 ms") && table.contains("1:4 2:4"),
            "{table}"
        );
        assert!(table.contains("killed edge1 (depth 1, feeding 2 edges): 2/2 resumed"));
        assert!(table.contains("p50 1120  p99 1130"), "{table}");
        assert!(table.contains("2/2 resumed, 0 not within 10 s"), "{table}");
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["egress"][0]["origin_egress_copies"], 4);
        assert_eq!(json["egress"][0]["edges_by_depth"]["2"], 4);
        assert_eq!(json["failover"]["failover_ms"]["p99"], 1130.0);
        assert_eq!(json["failover"]["rounds"][0]["resumed_on"]["edge2"], 2);
    }
}
