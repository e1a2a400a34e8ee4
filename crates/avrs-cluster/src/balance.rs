//! BALANCE_REQUEST: which server a client should use, and when the cluster
//! needs more servers.

use crate::view::ClusterView;
use avrs_proto::avrs::Roles;
use avrs_proto::{Guuid, Hash32};
use std::collections::BTreeMap;
use std::time::Duration;

/// Score added for a server outside the client's region (permille of load).
pub const REGION_PENALTY: u32 = 300;
/// Score taken off a server that already carries the content attached: the
/// client starts at once and no new relay copy is needed.
pub const CONTENT_BONUS: u32 = 100;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BalanceRequest {
    pub client_region: u16,
    pub content: Option<Guuid>,
    /// Servers the client could not reach (failover retries).
    pub exclude: Vec<Hash32>,
}

/// The balancer's signal that the cluster should grow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AutoScale {
    pub average_load_permille: u32,
    pub servers: usize,
}

/// A balancer: the view plus what it has handed out since each server last
/// reported, so a burst of clients is spread before gossip catches up.
#[derive(Debug, Clone, Default)]
pub struct Balancer {
    /// server -> (state version the count started at, clients sent since).
    handed_out: BTreeMap<Hash32, (u64, u32)>,
    threshold_permille: u32,
    cooldown: Duration,
    last_signal: Option<Duration>,
}

impl Balancer {
    pub fn new(threshold_permille: u32, cooldown: Duration) -> Self {
        Self {
            handed_out: BTreeMap::new(),
            threshold_permille,
            cooldown,
            last_signal: None,
        }
    }

    /// The best live SERVER for the client, or None if every one is full,
    /// down or excluded. A server that joined a moment ago is a candidate
    /// as soon as its state arrives.
    pub fn choose_server(
        &mut self,
        request: &BalanceRequest,
        view: &ClusterView,
    ) -> Option<Hash32> {
        let mut best: Option<(u32, Hash32)> = None;
        for (key, info) in view.members() {
            let Some(state) = info.state.as_ref() else {
                continue;
            };
            if !info.is_alive()
                || !state.roles.contains(Roles::SERVER)
                || request.exclude.contains(key)
            {
                continue;
            }
            let mut load = state.load;
            if let Some((version, extra)) = self.handed_out.get(key)
                && *version == state.version
            {
                load.connections = load.connections.saturating_add(*extra);
            }
            let score = load.score_permille();
            if score >= 1000 {
                continue;
            }
            let mut total = score + 1000;
            if state.region != request.client_region {
                total += REGION_PENALTY;
            }
            if request
                .content
                .and_then(|c| state.location(c))
                .is_some_and(|l| l.attached)
            {
                total -= CONTENT_BONUS;
            }
            if best.is_none_or(|(s, k)| (total, *key) < (s, k)) {
                best = Some((total, *key));
            }
        }
        let (_, chosen) = best?;
        let version = view
            .get(&chosen)
            .and_then(|i| i.state.as_ref())
            .map_or(0, |s| s.version);
        let entry = self.handed_out.entry(chosen).or_insert((version, 0));
        if entry.0 != version {
            *entry = (version, 0);
        }
        entry.1 += 1;
        Some(chosen)
    }

    /// Emits [`AutoScale`] when live servers' average load passes the
    /// threshold, at most once per cooldown.
    pub fn check_autoscale(&mut self, view: &ClusterView, now: Duration) -> Option<AutoScale> {
        let loads: Vec<u32> = view
            .members()
            .filter(|(_, i)| i.is_alive())
            .filter_map(|(_, i)| i.state.as_ref())
            .filter(|s| s.roles.contains(Roles::SERVER))
            .map(|s| s.load.score_permille().min(1000))
            .collect();
        if loads.is_empty() {
            return None;
        }
        let average = loads.iter().sum::<u32>() / loads.len() as u32;
        let cooled = self
            .last_signal
            .is_none_or(|at| now.saturating_sub(at) >= self.cooldown);
        if average > self.threshold_permille && cooled {
            self.last_signal = Some(now);
            return Some(AutoScale {
                average_load_permille: average,
                servers: loads.len(),
            });
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::{MemberId, PeerAddr};
    use crate::state::{ContentLocation, NodeState};
    use crate::view::Liveness;

    fn server(view: &mut ClusterView, n: u8, region: u16, connections: u32) {
        let key = Hash32([n; 32]);
        view.member_up(MemberId::new(key, PeerAddr::default()));
        let mut s = NodeState::new(key, Roles::SERVER, region);
        // A newer version than any earlier call, so the view takes it.
        s.version = view
            .get(&key)
            .and_then(|i| i.state.as_ref())
            .map_or(1, |old| old.version + 1);
        s.load.connections = connections;
        s.load.max_connections = 100;
        view.upsert_state(s);
    }

    fn req(region: u16) -> BalanceRequest {
        BalanceRequest {
            client_region: region,
            content: None,
            exclude: Vec::new(),
        }
    }

    #[test]
    fn prefers_low_load_in_region() {
        let mut v = ClusterView::new(Hash32([0; 32]));
        server(&mut v, 1, 0, 50);
        server(&mut v, 2, 0, 20);
        server(&mut v, 3, 1, 0);
        let mut b = Balancer::new(800, Duration::from_secs(60));
        assert_eq!(b.choose_server(&req(0), &v), Some(Hash32([2; 32])));
        // Another region wins only when the local ones are much busier
        // (50 % more load than the region penalty of 30 %).
        server(&mut v, 2, 0, 99);
        let mut b = Balancer::new(800, Duration::from_secs(60));
        assert_eq!(b.choose_server(&req(0), &v), Some(Hash32([3; 32])));
        server(&mut v, 1, 0, 10);
        assert_eq!(b.choose_server(&req(0), &v), Some(Hash32([1; 32])));
        assert_eq!(b.choose_server(&req(1), &v), Some(Hash32([3; 32])));
    }

    #[test]
    fn spreads_a_burst_and_skips_excluded_down_and_full() {
        let mut v = ClusterView::new(Hash32([0; 32]));
        server(&mut v, 1, 0, 0);
        server(&mut v, 2, 0, 0);
        let mut b = Balancer::new(800, Duration::from_secs(60));
        let picks: Vec<u8> = (0..6)
            .map(|_| b.choose_server(&req(0), &v).unwrap().0[0])
            .collect();
        assert_eq!(picks.iter().filter(|&&p| p == 1).count(), 3);
        let mut r = req(0);
        r.exclude.push(Hash32([1; 32]));
        assert_eq!(b.choose_server(&r, &v), Some(Hash32([2; 32])));
        v.set_liveness(
            Hash32([2; 32]),
            Liveness::Down {
                since: Duration::ZERO,
            },
        );
        assert_eq!(b.choose_server(&r, &v), None);
        server(&mut v, 3, 0, 100);
        assert_eq!(b.choose_server(&r, &v), None);
        // A newly joined server is used at once.
        server(&mut v, 4, 1, 0);
        assert_eq!(b.choose_server(&r, &v), Some(Hash32([4; 32])));
    }

    #[test]
    fn content_holder_is_preferred_at_equal_load() {
        let mut v = ClusterView::new(Hash32([0; 32]));
        server(&mut v, 1, 0, 10);
        let key = Hash32([2; 32]);
        view_with_content(&mut v, key);
        let mut r = req(0);
        r.content = Some(Guuid::new(5, 5));
        let mut b = Balancer::new(800, Duration::from_secs(60));
        assert_eq!(b.choose_server(&r, &v), Some(key));
    }

    fn view_with_content(v: &mut ClusterView, key: Hash32) {
        v.member_up(MemberId::new(key, PeerAddr::default()));
        let mut s = NodeState::new(key, Roles::SERVER, 0);
        s.version = 1;
        s.load.connections = 10;
        s.load.max_connections = 100;
        s.contents.push(ContentLocation {
            content: Guuid::new(5, 5),
            depth: 1,
            attached: true,
            children: 0,
            child_cap: 8,
            parent: None,
        });
        v.upsert_state(s);
    }

    #[test]
    fn autoscale_fires_above_threshold_with_cooldown() {
        let mut v = ClusterView::new(Hash32([0; 32]));
        server(&mut v, 1, 0, 70);
        server(&mut v, 2, 0, 80);
        let mut b = Balancer::new(800, Duration::from_secs(60));
        assert_eq!(b.check_autoscale(&v, Duration::ZERO), None);
        server(&mut v, 2, 0, 95);
        let signal = b.check_autoscale(&v, Duration::from_secs(1)).unwrap();
        assert_eq!(signal.average_load_permille, 825);
        assert_eq!(b.check_autoscale(&v, Duration::from_secs(30)), None);
        assert!(b.check_autoscale(&v, Duration::from_secs(61)).is_some());
    }
}
