//! What a simulated node does over time: publishing its state when it
//! changes, the periodic tick, and the scenario's kill.

use crate::rng::SimRng;
use crate::world::{CONTENT, Ev, World, us};
use avrs_cluster::NodeState;
use avrs_proto::Hash32;
use std::time::Duration;

/// Mixed into the seed for the kill's own random stream.
const KILL_STREAM: u64 = 0x6b69_6c6c;

/// Load changes below this share of capacity (permille) wait for the
/// periodic refresh instead of making a new state version.
const LOAD_SLACK_PERMILLE: u32 = 50;

/// A state is worth a new version when its contents or roles changed, or
/// its load moved by more than [`LOAD_SLACK_PERMILLE`].
pub(crate) fn worth_publishing(current: &NodeState, next: &NodeState) -> bool {
    let moved = current
        .load
        .score_permille()
        .abs_diff(next.load.score_permille())
        > LOAD_SLACK_PERMILLE;
    next.contents != current.contents || next.roles != current.roles || moved
}

impl World {
    /// Publishes the node's load and contents.
    pub(crate) fn publish_state(&mut self, node: u32) {
        let n = &mut self.nodes[node as usize];
        let mut state = n.membership.own_state().clone();
        let children: usize = n.routes.children(CONTENT).count();
        state.load.connections = n.viewers;
        state.load.max_connections = self.cfg.max_connections;
        state.load.egress_kbps = (n.viewers + children as u32) * self.cfg.bitrate_kbps;
        state.load.max_egress_kbps = self.cfg.max_connections * self.cfg.bitrate_kbps;
        state.load.cpu_permille = (u64::from(n.viewers) * 900
            / u64::from(self.cfg.max_connections.max(1)))
        .min(1000) as u16;
        state.contents = n.routes.locations();
        // Only news is spread: the membership refreshes an unchanged state
        // on its own every few heartbeats.
        if !worth_publishing(n.membership.own_state(), &state) {
            return;
        }
        let _ = n.membership.publish(state, Duration::from_micros(self.now));
        self.after_node(node);
    }

    pub(crate) fn state_tick(&mut self, node: u32) {
        if !self.nodes[node as usize].alive {
            return;
        }
        self.publish_state(node);
        let now = Duration::from_micros(self.now);
        let n = &mut self.nodes[node as usize];
        if let Some(b) = n.balancer.as_mut()
            && b.check_autoscale(n.membership.view(), now).is_some()
        {
            self.m.autoscale_signals += 1;
        }
        let every = us(self.cfg.cluster.heartbeat_interval);
        self.at(every, Ev::StateTick { node });
    }

    pub(crate) fn kill(&mut self) {
        self.m.kill_time = Some(self.now);
        let mut candidates: Vec<u32> = (2..self.nodes.len() as u32).collect();
        let mut killed = Vec::new();
        // The victims depend on the seed alone, not on what the run drew
        // before: builds compared on a seed lose the same servers.
        let mut pick = SimRng::new(self.cfg.seed ^ KILL_STREAM);
        for _ in 0..self.cfg.kill.min(candidates.len()) {
            let i = pick.below(candidates.len() as u64) as usize;
            killed.push(candidates.swap_remove(i));
        }
        if self.cfg.kill_host {
            killed.push(0);
        }
        self.m.killed = killed.len();
        for &k in &killed {
            self.nodes[k as usize].alive = false;
        }
        let stall = us(self.cfg.stall_timeout);
        for &k in &killed {
            let children: Vec<Hash32> = self.nodes[k as usize]
                .routes
                .children(CONTENT)
                .copied()
                .collect();
            let dead = self.nodes[k as usize].key;
            for child in children {
                if let Some(&c) = self.index.get(&child) {
                    self.at(
                        stall,
                        Ev::ParentStall {
                            node: c,
                            parent: dead,
                        },
                    );
                }
            }
        }
        for v in 0..self.viewers.len() as u32 {
            if let Some(server) = self.viewers[v as usize].server()
                && !self.nodes[server as usize].alive
            {
                let jitter = self.rng.below(50_000);
                self.at(stall + jitter, Ev::ViewerStall { v, server });
            }
        }
    }
}
