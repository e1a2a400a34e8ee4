//! What the run measures, sampled every 100 ms of virtual time.

use crate::world::{CONTENT, Ev, World};

const SAMPLE_US: u64 = 100_000;

#[derive(Debug, Default)]
pub(crate) struct Measures {
    pub gossip_datagrams: u64,
    pub gossip_bytes: u64,
    pub gossip_dropped: u64,
    pub autoscale_signals: u64,
    pub kill_time: Option<u64>,
    pub killed: usize,
    pub origin_children_max: usize,
    pub reroutes_us: Vec<u64>,
    pub failovers_us: Vec<u64>,
    pub join_converged_at: Option<u64>,
    pub kill_converged_at: Option<u64>,
    pub loop_samples: u64,
    pub depth_before_kill: Option<DepthStats>,
}

#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct DepthStats {
    pub relays: usize,
    pub max: u8,
    pub avg: f64,
}

impl World {
    pub(crate) fn sample(&mut self) {
        if self.has_loop() {
            self.m.loop_samples += 1;
        }
        let origin_children = self.nodes[self.origin as usize]
            .routes
            .children(CONTENT)
            .count();
        self.m.origin_children_max = self.m.origin_children_max.max(origin_children);
        if self.m.join_converged_at.is_none() && self.converged() {
            self.m.join_converged_at = Some(self.now);
        }
        if let Some(kill) = self.m.kill_time
            && self.m.kill_converged_at.is_none()
            && self.converged()
        {
            self.m.kill_converged_at = Some(self.now - kill);
        }
        if self.m.kill_time.is_none() && self.now + SAMPLE_US >= crate::world::us(self.cfg.kill_at)
        {
            self.m.depth_before_kill = Some(self.depth_stats());
        }
        self.at(SAMPLE_US, Ev::Sample);
    }

    /// Every live node counts exactly the live nodes as members.
    fn converged(&self) -> bool {
        self.nodes.iter().filter(|n| n.alive).all(|n| {
            let view = n.membership.view();
            self.nodes
                .iter()
                .all(|other| view.is_active(&other.key) == other.alive)
        })
    }

    /// A cycle in the parent -> child feed edges of live nodes.
    fn has_loop(&self) -> bool {
        let mut colour = vec![0u8; self.nodes.len()];
        for start in 0..self.nodes.len() {
            if colour[start] != 0 {
                continue;
            }
            // Iterative depth-first search: (node, next child index).
            let mut stack = vec![(start, 0usize)];
            colour[start] = 1;
            while let Some(&mut (n, ref mut next)) = stack.last_mut() {
                let children: Vec<u32> = self.nodes[n]
                    .routes
                    .children(CONTENT)
                    .filter_map(|k| self.index.get(k).copied())
                    .collect();
                if let Some(&c) = children.get(*next) {
                    *next += 1;
                    let c = c as usize;
                    if !self.nodes[c].alive {
                        continue;
                    }
                    match colour[c] {
                        0 => {
                            colour[c] = 1;
                            stack.push((c, 0));
                        }
                        1 => return true,
                        _ => {}
                    }
                } else {
                    colour[n] = 2;
                    stack.pop();
                }
            }
        }
        false
    }

    pub(crate) fn depth_stats(&self) -> DepthStats {
        let depths: Vec<u8> = self
            .nodes
            .iter()
            .filter(|n| n.alive)
            .filter_map(|n| n.routes.depth(CONTENT))
            .filter(|d| *d > 0)
            .collect();
        DepthStats {
            relays: depths.len(),
            max: depths.iter().copied().max().unwrap_or(0),
            avg: if depths.is_empty() {
                0.0
            } else {
                depths.iter().map(|d| f64::from(*d)).sum::<f64>() / depths.len() as f64
            },
        }
    }
}
