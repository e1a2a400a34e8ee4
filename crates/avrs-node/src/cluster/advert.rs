//! This node's gossiped state: roles, region, addresses, load and the live
//! contents it holds (origin or relay, with its parent). Published when it
//! changes, and at least every few heartbeats by the membership itself.

use super::{Cluster, ClusterOptions, SocketAddrs, content_key};
use crate::context::NodeContext;
use avrs_cluster::state::MAX_ADVERTISED_CONTENTS;
use avrs_cluster::{ClusterConfig, ClusterView, ContentLocation, Load, NodeState, ServiceAddrs};
use avrs_proto::Hash32;
use avrs_proto::avrs::Roles;
use std::net::IpAddr;
use std::time::Instant;

/// Load changes smaller than this (in connections) wait for the next
/// periodic refresh instead of causing a publication.
const LOAD_SLACK: u32 = 2;

pub(super) struct Advertiser {
    roles: Roles,
    region: u16,
    service: ServiceAddrs,
    max_connections: u32,
    config: ClusterConfig,
    last_publish: Option<Instant>,
}

impl Advertiser {
    pub(super) fn new(
        options: &ClusterOptions,
        ip: IpAddr,
        addrs: SocketAddrs,
        config: ClusterConfig,
    ) -> Self {
        let ip = match ip {
            IpAddr::V4(v4) => v4.to_ipv6_mapped(),
            IpAddr::V6(v6) => v6,
        };
        Self {
            roles: options.roles,
            region: options.region,
            service: ServiceAddrs {
                ip: ip.octets(),
                http: addrs.http.port(),
                quic: addrs.quic.port(),
                rtmp: addrs.rtmp.port(),
            },
            max_connections: addrs.max_connections,
            config,
            last_publish: None,
        }
    }

    /// The state to gossip now. `view` (with the cluster's relays and
    /// routes) gives the contents' places in their trees; without it only
    /// the fixed part is filled.
    pub(super) fn state(
        &self,
        context: &NodeContext,
        view: Option<(&ClusterView, &Cluster)>,
    ) -> NodeState {
        let mut state = NodeState::new(Hash32::default(), self.roles, self.region);
        state.service = self.service;
        let mut connections = 0u32;
        for content in context.registry.list() {
            connections = connections.saturating_add(content.stats.total_viewers());
            let Some((view, cluster)) = view else {
                continue;
            };
            let relays = &cluster.relays;
            if state.contents.len() >= MAX_ADVERTISED_CONTENTS || content.is_ended() {
                continue;
            }
            let key = content_key(content.name());
            // Granted children are exact; gossip covers the rest (a child
            // that pulls without a grant, from an older node).
            let children = cluster
                .routes
                .children(key)
                .unwrap_or(0)
                .max(children_of(view, key));
            let location = match relays.info(content.name()) {
                Some(relay) => ContentLocation {
                    content: key,
                    depth: relay.depth,
                    attached: relay.parent.is_some(),
                    children,
                    child_cap: self.config.relay_child_cap,
                    parent: relay.parent,
                },
                None if content.is_publishing() => ContentLocation {
                    content: key,
                    depth: 0,
                    attached: true,
                    children,
                    child_cap: self.config.origin_child_cap,
                    parent: None,
                },
                None => continue,
            };
            state.contents.push(location);
        }
        state.load = Load {
            connections,
            max_connections: self.max_connections,
            ..Load::default()
        };
        state
    }

    /// Publish when contents or roles change, or load moved noticeably;
    /// the membership refreshes an unchanged state on its own.
    pub(super) fn should_publish(
        &mut self,
        next: &NodeState,
        current: &NodeState,
        now: Instant,
    ) -> bool {
        let load_moved = next.load.connections.abs_diff(current.load.connections) > LOAD_SLACK
            || (next.load.connections == 0) != (current.load.connections == 0);
        let changed = next.contents != current.contents
            || next.roles != current.roles
            || next.service != current.service
            || load_moved;
        if changed {
            self.last_publish = Some(now);
        }
        changed
    }
}

/// Members that say they pull `key` from us, counted from gossip.
fn children_of(view: &ClusterView, key: avrs_proto::Guuid) -> u16 {
    let me = view.me();
    let count = view
        .holders(key)
        .filter(|(_, _, loc)| loc.parent == Some(me))
        .count();
    u16::try_from(count).unwrap_or(u16::MAX)
}
