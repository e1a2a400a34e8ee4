//! BALANCE_REQUEST: which server a client should use, and when the cluster
//! needs more servers.

use crate::state::{Load, NodeState};
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

/// Capacity assumed for a server that reports none (`max_connections` 0,
/// e.g. a state published before its load) when no live server reports one.
pub const FALLBACK_CAPACITY: u32 = 1000;
/// Hand-outs are kept on top of a server's report until a newer report
/// arrives at least this long after the first of them: time for the clients
/// to connect and for a report that counts them to reach us. A report that
/// already counts them all ends the wait sooner.
pub const HAND_OUT_HOLD: Duration = Duration::from_secs(5);

/// Clients sent to one server that its reports may not show yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct HandedOut {
    /// The server's reported connections when the first was sent.
    base: u32,
    /// Clients sent since.
    count: u32,
    /// The server's state version when the first was sent.
    version: u64,
    /// Balancer time of the first (the last [`Balancer::tick`]).
    since: Duration,
}

impl HandedOut {
    fn expected(&self) -> u32 {
        self.base.saturating_add(self.count)
    }

    /// Whether `state` supersedes these hand-outs: it counts at least as
    /// many connections, or it is a newer report arriving long enough after
    /// them that it should. An old report arriving late (a new version, but
    /// measured before the clients connected) does not.
    fn settled_by(&self, state: &NodeState, now: Duration) -> bool {
        state.load.connections >= self.expected()
            || (state.version > self.version && now.saturating_sub(self.since) >= HAND_OUT_HOLD)
    }
}

/// A balancer: the view plus what it has handed out that the servers'
/// reports may not show yet, so a burst of clients is spread before gossip
/// catches up.
#[derive(Debug, Clone, Default)]
pub struct Balancer {
    handed_out: BTreeMap<Hash32, HandedOut>,
    /// Time of the last [`Balancer::tick`].
    now: Duration,
    threshold_permille: u32,
    cooldown: Duration,
    last_signal: Option<Duration>,
}

impl Balancer {
    pub fn new(threshold_permille: u32, cooldown: Duration) -> Self {
        Self {
            threshold_permille,
            cooldown,
            ..Self::default()
        }
    }

    /// Advances the balancer's clock (hand-outs age by it) and forgets
    /// the hand-outs that reports have settled, or whose server is gone.
    /// [`Balancer::check_autoscale`] calls it; drivers call that once a
    /// heartbeat.
    pub fn tick(&mut self, view: &ClusterView, now: Duration) {
        self.now = self.now.max(now);
        let now = self.now;
        self.handed_out.retain(|key, h| {
            view.get(key)
                .filter(|i| i.is_alive())
                .and_then(|i| i.state.as_ref())
                .is_some_and(|state| !h.settled_by(state, now))
        });
    }

    /// The best live SERVER for the client, or None if every one is full,
    /// down or excluded. A server that joined a moment ago is a candidate
    /// as soon as its state arrives.
    pub fn choose_server(
        &mut self,
        request: &BalanceRequest,
        view: &ClusterView,
    ) -> Option<Hash32> {
        let assumed = assumed_capacity(view);
        let balancers = live_balancers(view);
        let mut best: Option<(u32, Hash32, u32)> = None;
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
            let capacity = usable_capacity(state, assumed);
            if self.share_used(key, state, capacity, balancers) {
                continue;
            }
            let connections = self.projected_connections(key, state);
            let score = projected_score(&state.load, connections, capacity);
            if score >= 1000 {
                continue;
            }
            let total = total_score(score, request, state);
            if best.is_none_or(|(s, k, _)| (total, *key) < (s, k)) {
                best = Some((total, *key, connections));
            }
        }
        let (_, chosen, connections) = best?;
        let state = view.get(&chosen).and_then(|i| i.state.as_ref())?;
        self.record_hand_out(chosen, state, connections);
        Some(chosen)
    }

    /// The server's reported connections plus what we sent it that no
    /// report has settled yet.
    fn projected_connections(&self, key: &Hash32, state: &NodeState) -> u32 {
        match self.handed_out.get(key) {
            Some(h) if !h.settled_by(state, self.now) => h.expected().max(state.load.connections),
            _ => state.load.connections,
        }
    }

    /// Whether we already sent `key` our share of the room its report left:
    /// every balancer sees the same stale report, so each may fill only
    /// its part of it until a report settles what we sent.
    fn share_used(&self, key: &Hash32, state: &NodeState, capacity: u32, balancers: u32) -> bool {
        self.handed_out.get(key).is_some_and(|h| {
            let room = capacity.saturating_sub(h.base);
            !h.settled_by(state, self.now) && h.count >= room.div_ceil(balancers).max(1)
        })
    }

    /// Counts one more client sent to `key`, which we project at
    /// `connections` before it.
    fn record_hand_out(&mut self, key: Hash32, state: &NodeState, connections: u32) {
        let now = self.now;
        let fresh = HandedOut {
            base: state.load.connections,
            count: 0,
            version: state.version,
            since: now,
        };
        let entry = self.handed_out.entry(key).or_insert(fresh);
        if entry.settled_by(state, now) {
            *entry = fresh;
        }
        // Keep what the report does not show, on top of it.
        entry.count = connections.saturating_sub(entry.base).saturating_add(1);
    }

    /// Emits [`AutoScale`] when live servers' average load passes the
    /// threshold, at most once per cooldown. Also the balancer's
    /// [`Balancer::tick`]: call it once a heartbeat.
    pub fn check_autoscale(&mut self, view: &ClusterView, now: Duration) -> Option<AutoScale> {
        self.tick(view, now);
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

/// The smallest capacity a live server reports: what a server that reports
/// none is assumed to take, so hand-outs still fill it (0 would score it
/// empty however many clients it gets).
fn assumed_capacity(view: &ClusterView) -> u32 {
    view.members()
        .filter(|(_, i)| i.is_alive())
        .filter_map(|(_, i)| i.state.as_ref())
        .filter(|s| s.roles.contains(Roles::SERVER))
        .map(|s| s.load.max_connections)
        .filter(|c| *c > 0)
        .min()
        .unwrap_or(FALLBACK_CAPACITY)
}

/// Live members with the BALANCER role, at least 1 (us).
fn live_balancers(view: &ClusterView) -> u32 {
    let count = view
        .members()
        .filter(|(_, i)| i.is_alive())
        .filter_map(|(_, i)| i.state.as_ref())
        .filter(|s| s.roles.contains(Roles::BALANCER))
        .count();
    u32::try_from(count).unwrap_or(u32::MAX).max(1)
}

/// The connections a server can take from the balancer: its capacity (or
/// `assumed`, if it reports none) less a slot for each relay child it could
/// still take (at most a quarter of it). Filling those too would make it
/// full for the relay tree (which needs a parent below full load), and a
/// full origin stops every relay.
fn usable_capacity(state: &NodeState, assumed: u32) -> u32 {
    let capacity = match state.load.max_connections {
        0 => assumed,
        c => c,
    };
    let reserved: u32 = state
        .contents
        .iter()
        .filter(|c| c.attached)
        .map(|c| u32::from(c.child_cap.saturating_sub(c.children)))
        .sum();
    // At most a quarter: a small server still takes viewers.
    capacity.saturating_sub(reserved.min(capacity / 4)).max(1)
}

/// Load in permille with `connections` projected against `capacity`: the
/// tightest of that and the reported egress and CPU.
fn projected_score(load: &Load, connections: u32, capacity: u32) -> u32 {
    let share = u64::from(connections) * 1000 / u64::from(capacity.max(1));
    let reported = Load {
        connections: 0,
        ..*load
    };
    u32::try_from(share)
        .unwrap_or(u32::MAX)
        .max(reported.score_permille())
}

/// A server's place in the ranking: 1000 + its load, plus the region
/// penalty, less the bonus for holding the content attached.
fn total_score(score: u32, request: &BalanceRequest, state: &NodeState) -> u32 {
    let mut total = score + 1000;
    if state.region != request.client_region {
        total += REGION_PENALTY;
    }
    let attached = request
        .content
        .and_then(|c| state.location(c))
        .is_some_and(|l| l.attached);
    if attached {
        total -= CONTENT_BONUS;
    }
    total
}

#[cfg(test)]
#[path = "balance_tests.rs"]
mod balance_tests;

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
