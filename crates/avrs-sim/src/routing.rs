//! Servers pulling the content through the relay tree: ROUTE_FIND on the
//! server's own (gossiped, possibly stale) view, ROUTE_ADD to the chosen
//! parent, grants, refusals with alternatives, ROUTE_DEL, stalls.

use crate::world::{CONTENT, Ev, World};
use avrs_cluster::{ClusterError, Requester, route_find};
use avrs_proto::Hash32;

/// How long to wait before asking again when no parent is known.
const RETRY_US: u64 = 200_000;

impl World {
    /// Starts or continues the server's pull of the content.
    pub(crate) fn ensure_pulling(&mut self, node: u32) {
        let n = &mut self.nodes[node as usize];
        n.routes.want(CONTENT);
        if !n.routes.is_attached(CONTENT) {
            self.try_attach(node);
        }
    }

    pub(crate) fn try_attach(&mut self, node: u32) {
        let n = &mut self.nodes[node as usize];
        if !n.alive || n.pull.pending.is_some() || n.routes.is_attached(CONTENT) {
            return;
        }
        // A refusal's alternatives first (the full parent's children), then
        // the best by cost in our view.
        let mut parent = None;
        while let Some(alt) = n.pull.alternatives.pop() {
            if alt != n.key && !n.pull.tried.contains(&alt) {
                parent = Some(alt);
                break;
            }
        }
        if parent.is_none() {
            let requester = Requester {
                member: n.key,
                region: n.region,
            };
            let max_depth = self.cfg.cluster.max_relay_depth;
            parent = route_find(
                CONTENT,
                requester,
                n.membership.view(),
                &n.pull.tried,
                max_depth,
                1,
            )
            .first()
            .map(|c| c.parent);
        }
        let Some(parent) = parent else {
            // Nothing known: forget refusals (caps free up) and look again.
            n.pull.tried.clear();
            if !n.pull.retry_scheduled {
                n.pull.retry_scheduled = true;
                self.at(RETRY_US, Ev::RetryRoute { node });
            }
            return;
        };
        let Some(&p) = self.index.get(&parent) else {
            return;
        };
        self.nodes[node as usize].pull.pending = Some(parent);
        let one_way = self.node_latency(node, p);
        self.at(
            one_way,
            Ev::RouteAdd {
                parent: p,
                child: node,
            },
        );
        let wait = 2 * one_way + crate::world::us(self.cfg.request_timeout);
        self.at(wait, Ev::AttachTimeout { node, parent });
    }

    pub(crate) fn route_add(&mut self, parent: u32, child: u32) {
        let child_key = self.nodes[child as usize].key;
        let p = &mut self.nodes[parent as usize];
        if !p.alive {
            return; // the child's timeout fires
        }
        let one_way = self.node_latency(parent, child);
        match self.nodes[parent as usize]
            .routes
            .accept_child(CONTENT, child_key)
        {
            Ok(grant) => {
                self.at(
                    one_way,
                    Ev::RouteGrant {
                        child,
                        parent,
                        grant,
                    },
                );
                self.m.origin_children_max = self.m.origin_children_max.max(
                    self.nodes[self.origin as usize]
                        .routes
                        .children(CONTENT)
                        .count(),
                );
            }
            Err(error) => {
                let alternatives = match error {
                    ClusterError::RelayFull { .. } => {
                        let mut kids: Vec<Hash32> = self.nodes[parent as usize]
                            .routes
                            .children(CONTENT)
                            .copied()
                            .collect();
                        // Deterministic shuffle so requesters spread over them.
                        let shift = (self.rng.below(kids.len().max(1) as u64)) as usize;
                        kids.rotate_left(shift);
                        kids
                    }
                    _ => Vec::new(),
                };
                self.at(
                    one_way,
                    Ev::RouteRefuse {
                        child,
                        parent,
                        alternatives,
                    },
                );
            }
        }
    }

    pub(crate) fn route_grant(&mut self, child: u32, parent: u32, grant: avrs_cluster::RouteGrant) {
        let n = &mut self.nodes[child as usize];
        if !n.alive {
            return; // the parent drops us when it sees us down
        }
        let parent_key = self.nodes[parent as usize].key;
        let n = &mut self.nodes[child as usize];
        match n.routes.complete_attach(grant) {
            Ok(_) => {
                n.pull.pending = None;
                n.pull.tried.clear();
                n.pull.alternatives.clear();
                if let Some(since) = n.pull.lost_since.take() {
                    self.m.reroutes_us.push(self.now - since);
                }
                let waiting = std::mem::take(&mut self.nodes[child as usize].waiting);
                for v in waiting {
                    let delay = self.viewer_latency(v, child);
                    self.at(delay, Ev::ViewerReady { v, server: child });
                }
                self.publish_state(child);
            }
            Err(_) if n.routes.parent(CONTENT) != Some(parent_key) => {
                // A late grant after we attached elsewhere: give the slot back.
                let one_way = self.node_latency(child, parent);
                self.at(
                    one_way,
                    Ev::RouteDel {
                        to: parent,
                        from: child,
                    },
                );
            }
            Err(_) => {}
        }
    }

    pub(crate) fn route_refuse(&mut self, child: u32, parent: u32, alternatives: Vec<Hash32>) {
        let parent_key = self.nodes[parent as usize].key;
        let n = &mut self.nodes[child as usize];
        if !n.alive || n.pull.pending != Some(parent_key) {
            return;
        }
        n.pull.pending = None;
        n.pull.tried.push(parent_key);
        n.pull.alternatives.extend(alternatives);
        self.try_attach(child);
    }

    pub(crate) fn attach_timeout(&mut self, node: u32, parent: Hash32) {
        let n = &mut self.nodes[node as usize];
        if n.pull.pending == Some(parent) {
            n.pull.pending = None;
            n.pull.tried.push(parent);
            self.try_attach(node);
        }
    }

    /// ROUTE_DEL: from a child (it left) or from our parent (it lost its feed).
    pub(crate) fn route_del(&mut self, to: u32, from: u32) {
        if !self.nodes[to as usize].alive {
            return;
        }
        let from_key = self.nodes[from as usize].key;
        let n = &mut self.nodes[to as usize];
        if n.routes.remove_child(CONTENT, from_key) {
            return;
        }
        if let Some(orphans) = n.routes.parent_del(CONTENT, from_key) {
            self.feed_lost(to, orphans);
        }
    }

    /// The feed to the parent stopped (it died): detach and re-route.
    pub(crate) fn parent_stall(&mut self, node: u32, parent: Hash32) {
        let n = &mut self.nodes[node as usize];
        if !n.alive || n.routes.parent(CONTENT) != Some(parent) {
            return;
        }
        let orphans = n.routes.parent_lost(CONTENT);
        n.pull.tried.push(parent);
        self.feed_lost(node, orphans);
    }

    /// We are detached: tell our children (they detach too) and re-route.
    pub(crate) fn feed_lost(&mut self, node: u32, orphans: Vec<Hash32>) {
        let since = self.m.kill_time.unwrap_or(self.now);
        self.nodes[node as usize]
            .pull
            .lost_since
            .get_or_insert(since);
        for orphan in orphans {
            if let Some(&o) = self.index.get(&orphan) {
                let one_way = self.node_latency(node, o);
                self.at(one_way, Ev::RouteDel { to: o, from: node });
            }
        }
        self.publish_state(node);
        self.try_attach(node);
    }
}
