//! A few members on a perfect in-memory network with virtual time.

use crate::*;
use avrs_crypto::{Algorithm, SigningKey};
use avrs_proto::Hash32;
use avrs_proto::avrs::Roles;
use std::time::Duration;

struct Net {
    nodes: Vec<Membership>,
    alive: Vec<bool>,
    now: Duration,
}

fn key(n: u8) -> SigningKey {
    SigningKey::from_seed(Algorithm::Ed25519, &[n + 1; 32]).unwrap()
}

fn member(k: &SigningKey) -> MemberId {
    MemberId::new(k.id(), PeerAddr::default())
}

impl Net {
    fn new(count: u8, approved: u8) -> Self {
        let keys: Vec<SigningKey> = (0..count).map(key).collect();
        let nodes = (0..count)
            .map(|i| {
                let k = key(i);
                let mut auth = GossipAuth::new(AuthMode::Signed(key(i)));
                for other in keys.iter().take(usize::from(approved)) {
                    auth.approve(other.public_key().clone());
                }
                let state = NodeState::new(k.id(), Roles::SERVER, 0);
                let seed = u64::from(k.id().0[0]);
                Membership::new(member(&k), state, ClusterConfig::default(), auth, seed, 8).unwrap()
            })
            .collect();
        Self {
            nodes,
            alive: vec![true; usize::from(count)],
            now: Duration::ZERO,
        }
    }

    fn index(&self, key: &Hash32) -> Option<usize> {
        self.nodes.iter().position(|n| n.id().key == *key)
    }

    /// Delivers every datagram at once, then steps time by 10 ms.
    fn run_for(&mut self, span: Duration) {
        let end = self.now + span;
        while self.now < end {
            loop {
                let mut moved = false;
                for i in 0..self.nodes.len() {
                    while let Some(t) = self.nodes[i].poll_transmit() {
                        moved = true;
                        if let Some(j) = self.index(&t.to.key)
                            && self.alive[i]
                            && self.alive[j]
                        {
                            let _ = self.nodes[j].handle_datagram(&t.datagram, self.now);
                        }
                    }
                }
                if !moved {
                    break;
                }
            }
            self.now += Duration::from_millis(10);
            for (i, node) in self.nodes.iter_mut().enumerate() {
                if self.alive[i] {
                    node.handle_timeout(self.now);
                }
            }
        }
    }

    fn join_all(&mut self) {
        let seed = *self.nodes[0].id();
        for i in 1..self.nodes.len() {
            self.nodes[i].join(&[seed], self.now).unwrap();
        }
    }
}

#[test]
fn members_find_each_other_and_share_state() {
    let mut net = Net::new(5, 5);
    net.join_all();
    net.run_for(Duration::from_secs(5));
    for node in &net.nodes {
        assert_eq!(node.active_members(), 4);
    }
    let mut state = net.nodes[3].own_state().clone();
    state.region = 7;
    let now = net.now;
    net.nodes[3].publish(state, now).unwrap();
    net.run_for(Duration::from_secs(3));
    let key3 = net.nodes[3].id().key;
    for node in &net.nodes {
        let region = node
            .view()
            .get(&key3)
            .and_then(|i| i.state.as_ref())
            .map(|s| s.region);
        assert_eq!(region, Some(7));
    }
}

#[test]
fn a_dead_member_is_declared_down() {
    let mut net = Net::new(4, 4);
    net.join_all();
    net.run_for(Duration::from_secs(3));
    net.alive[2] = false;
    let dead = net.nodes[2].id().key;
    net.run_for(Duration::from_secs(10));
    for (i, node) in net.nodes.iter().enumerate() {
        if i != 2 {
            assert!(!node.view().is_alive(&dead), "node {i} still sees it");
        }
    }
}

#[test]
fn a_removed_member_is_forgotten_and_refused() {
    let mut net = Net::new(3, 3);
    net.join_all();
    net.run_for(Duration::from_secs(3));
    let gone = net.nodes[2].id().key;
    let now = net.now;
    assert!(net.nodes[0].remove(&gone, now));
    assert!(
        net.nodes[0].view().get(&gone).is_none(),
        "forgotten at once"
    );
    // It keeps talking: refused, and never back in the view.
    net.run_for(Duration::from_secs(5));
    assert!(net.nodes[0].view().get(&gone).is_none());
    assert!(net.nodes[0].stats().refused_auth > 0);
    assert!(!net.nodes[0].remove(&gone, net.now), "no longer known");
}

#[test]
fn an_unapproved_node_never_joins() {
    // Only the first three are approved; the fourth signs validly but is
    // not in anyone's set.
    let mut net = Net::new(4, 3);
    net.join_all();
    net.run_for(Duration::from_secs(5));
    let outsider = net.nodes[3].id().key;
    for node in &net.nodes[..3] {
        assert_eq!(node.active_members(), 2);
        assert!(node.view().get(&outsider).is_none());
        if node.id().key == net.nodes[0].id().key {
            assert!(node.stats().refused_auth > 0);
        }
    }
}

/// A driver that only calls `handle_timeout` when `poll_timeout` says so,
/// as the node's driver and the simulation do. `lose` picks datagrams the
/// network drops: (sender, receiver, nth datagram on the network).
fn run_by_poll_timeout(
    net: &mut Net,
    span: Duration,
    mut lose: impl FnMut(usize, usize, usize) -> bool,
) {
    let end = net.now + span;
    let mut sent = 0;
    loop {
        loop {
            let mut moved = false;
            for i in 0..net.nodes.len() {
                while let Some(t) = net.nodes[i].poll_transmit() {
                    moved = true;
                    sent += 1;
                    if let Some(j) = net.index(&t.to.key)
                        && net.alive[i]
                        && net.alive[j]
                        && !lose(i, j, sent)
                    {
                        let _ = net.nodes[j].handle_datagram(&t.datagram, net.now);
                    }
                }
            }
            if !moved {
                break;
            }
        }
        let next = (0..net.nodes.len())
            .filter(|&i| net.alive[i])
            .filter_map(|i| net.nodes[i].poll_timeout())
            .min();
        let Some(next) = next.filter(|&t| t <= end) else {
            net.now = end;
            return;
        };
        net.now = net.now.max(next);
        for (i, node) in net.nodes.iter_mut().enumerate() {
            if net.alive[i] && node.poll_timeout().is_some_and(|t| t <= net.now) {
                node.handle_timeout(net.now);
            }
        }
    }
}

#[test]
fn a_lost_announce_is_retried_at_poll_timeout() {
    // Node 3's announce to the seed is lost. foca schedules no timer before
    // it is connected, so the retry must come from `poll_timeout`: without
    // it node 3 stays alone and nobody ever learns of it.
    let mut net = Net::new(4, 4);
    net.join_all();
    let mut dropped = false;
    run_by_poll_timeout(&mut net, Duration::from_secs(5), |from, to, _| {
        let lose = !dropped && from == 3 && to == 0;
        dropped |= lose;
        lose
    });
    assert!(dropped);
    for (i, node) in net.nodes.iter().enumerate() {
        assert_eq!(node.active_members(), 3, "node {i}");
    }
}

#[test]
fn a_joined_member_does_not_announce_again() {
    let mut net = Net::new(3, 3);
    net.join_all();
    run_by_poll_timeout(&mut net, Duration::from_secs(2), |_, _, _| false);
    // Connected: the next wake-up is foca's own timer, not a join retry.
    for node in &net.nodes {
        assert_eq!(node.active_members(), 2);
        assert!(node.rejoin_due().is_none());
    }
}

#[test]
fn a_member_that_joins_late_learns_the_states_at_once() {
    // Nodes 0 and 1 settle; node 0's state changes and spreads; node 2
    // joins long after that broadcast stopped but before the periodic
    // refresh (10 heartbeats of 1 s): seeing it come up, node 0 publishes
    // again, so node 2 knows node 0's state within a few heartbeats.
    let mut net = Net::new(3, 3);
    let seed = *net.nodes[0].id();
    let now = net.now;
    net.nodes[1].join(&[seed], now).unwrap();
    run_by_poll_timeout(&mut net, Duration::from_secs(1), |_, _, _| false);
    let mut state = net.nodes[0].own_state().clone();
    state.region = 7;
    let now = net.now;
    net.nodes[0].publish(state, now).unwrap();
    run_by_poll_timeout(&mut net, Duration::from_secs(4), |_, _, _| false);
    let key0 = net.nodes[0].id().key;
    let region_seen = |node: &Membership| {
        node.view()
            .get(&key0)
            .and_then(|i| i.state.as_ref())
            .map(|s| s.region)
    };
    assert_eq!(region_seen(&net.nodes[1]), Some(7));

    let now = net.now;
    net.nodes[2].join(&[seed], now).unwrap();
    run_by_poll_timeout(&mut net, Duration::from_secs(3), |_, _, _| false);
    assert_eq!(net.nodes[2].active_members(), 2);
    assert_eq!(region_seen(&net.nodes[2]), Some(7), "node 2 learnt it");
}
