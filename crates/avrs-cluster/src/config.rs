//! Cluster settings and how they map onto foca's SWIM parameters.

use std::num::{NonZeroU8, NonZeroUsize};
use std::time::Duration;

/// Settings of the cluster core. `heartbeat_interval` and
/// `reconnect_timeout` are the `[avrs]` INI keys of the same names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterConfig {
    /// SWIM probe period: each node pings one random member this often.
    pub heartbeat_interval: Duration,
    /// How long a down member's state (contents, load) is kept before it is
    /// forgotten, so a node back within it resumes where it was.
    pub reconnect_timeout: Duration,
    /// Datagram size the transport carries (seal included).
    pub max_datagram: usize,
    /// Children the origin feeds directly: bounds origin egress copies.
    pub origin_child_cap: u16,
    /// Children a relay feeds.
    pub relay_child_cap: u16,
    /// Deepest relay allowed (origin = 0).
    pub max_relay_depth: u8,
    /// Average server load (permille) above which the balancer signals
    /// that more servers are needed.
    pub autoscale_threshold_permille: u32,
    /// Extra gossip rounds between probes, to spread load changes quickly.
    pub gossip_every: Duration,
    pub gossip_fanout: usize,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        Self {
            heartbeat_interval: Duration::from_secs(1),
            reconnect_timeout: Duration::from_secs(10),
            max_datagram: 1400,
            origin_child_cap: 4,
            relay_child_cap: 8,
            max_relay_depth: 16,
            autoscale_threshold_permille: 800,
            gossip_every: Duration::from_millis(200),
            gossip_fanout: 3,
        }
    }
}

impl ClusterConfig {
    /// foca's configuration. `seal_overhead` is what the envelope adds to
    /// each datagram; `expected_members` sizes retransmissions.
    pub fn foca_config(&self, seal_overhead: usize, expected_members: usize) -> foca::Config {
        let probe_period = self.heartbeat_interval.max(Duration::from_millis(30));
        // Retransmit each update about log2(n) * 2 times: enough for an
        // epidemic to reach everyone (each send reaches a random member),
        // while log2(n) * 4 (memberlist's rule) filled every datagram with
        // state items at 200 nodes and starved membership updates.
        let log2 = usize::BITS - expected_members.max(2).leading_zeros();
        let max_transmissions = u8::try_from((log2 * 2).clamp(6, 20)).unwrap_or(20);
        let payload = self
            .max_datagram
            .saturating_sub(seal_overhead)
            .clamp(256, usize::from(u16::MAX));
        foca::Config {
            probe_period,
            probe_rtt: probe_period / 3,
            num_indirect_probes: NonZeroUsize::MIN.saturating_add(2),
            max_transmissions: NonZeroU8::new(max_transmissions).unwrap_or(NonZeroU8::MIN),
            // A member silent for three heartbeats after suspicion is down.
            suspect_to_down_after: probe_period * 3,
            // Forgetting identities early would let a stale one rejoin; the
            // renewing identity makes this safe to keep long.
            remove_down_after: Some(Duration::from_secs(3600).max(self.reconnect_timeout)),
            max_packet_size: NonZeroUsize::new(payload).unwrap_or(NonZeroUsize::MIN),
            notify_down_members: true,
            periodic_announce: Some(foca::PeriodicParams {
                frequency: probe_period * 10,
                num_members: NonZeroUsize::MIN,
            }),
            // After a partition heals, each side holds the other as down
            // and ignores it until an announce crosses (the reply is a
            // TurnUndead, and the down side renews its identity): this is
            // how fast a healed partition is whole again (was 30 periods,
            // one member: 2–13 s with a 200 ms heartbeat).
            periodic_announce_to_down_members: Some(foca::PeriodicParams {
                frequency: probe_period * 5,
                num_members: NonZeroUsize::new(3).unwrap_or(NonZeroUsize::MIN),
            }),
            periodic_gossip: Some(foca::PeriodicParams {
                frequency: self.gossip_every.max(Duration::from_millis(10)),
                num_members: NonZeroUsize::new(self.gossip_fanout).unwrap_or(NonZeroUsize::MIN),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heartbeat_is_the_probe_period() {
        let c = ClusterConfig {
            heartbeat_interval: Duration::from_millis(500),
            ..ClusterConfig::default()
        };
        let f = c.foca_config(110, 200);
        assert_eq!(f.probe_period, Duration::from_millis(500));
        assert!(f.probe_rtt < f.probe_period);
        assert_eq!(f.max_packet_size.get(), 1400 - 110);
        assert_eq!(f.max_transmissions.get(), 16);
    }
}
