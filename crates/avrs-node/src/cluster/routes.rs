//! ROUTE_ADD / ROUTE_DEL on real nodes. Each node keeps its place in every
//! content's relay tree in a [`RouteTable`] (`avrs_cluster::table`, loop-free
//! by construction). A relay asks its parent for a content over a native
//! session signed with its member key, with RELAY in the CONTENT_ADD: that
//! is its ROUTE_ADD. The parent grants it, answering with the path (origin
//! first, itself last) the relay records, or refuses it (full, a loop, too
//! deep, not attached, not a live member). A node that loses its parent
//! detaches and closes its children's relay sessions with ROUTE_DEL (close
//! code 0x9): they re-route on their own, so a node that re-attaches never
//! has descendants (the table's rule 3).

use super::lock;
use avrs_cluster::{ClusterConfig, ClusterError, RouteGrant, RouteTable, Upstream};
use avrs_proto::{Guuid, Hash32};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;

/// One content's place in its relay tree, as this node holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteView {
    /// The content's cluster-wide id ([`super::content_key`]).
    pub content: Guuid,
    /// `origin`, `relay` or `detached`.
    pub upstream: &'static str,
    pub depth: Option<u8>,
    /// A relay's path, origin first, its parent last.
    pub path: Vec<Hash32>,
    pub children: Vec<Hash32>,
}

/// This node's relay trees and the sessions of its children.
#[derive(Debug)]
pub struct Routes {
    table: Mutex<RouteTable>,
    /// Each child's relay session (numbered), cancelled by ROUTE_DEL.
    sessions: Mutex<HashMap<(Guuid, Hash32), (u64, CancellationToken)>>,
    next: AtomicU64,
}

/// A granted child, for as long as its relay session lasts.
#[derive(Debug)]
pub struct ChildRoute {
    routes: Arc<Routes>,
    content: Guuid,
    child: Hash32,
    number: u64,
    /// Origin first, this node last: the child's path.
    pub path: Vec<Hash32>,
}

impl Drop for ChildRoute {
    fn drop(&mut self) {
        let key = (self.content, self.child);
        let mut sessions = lock(&self.routes.sessions);
        // A newer session of the same child replaced this one: keep it.
        if sessions.get(&key).is_some_and(|(n, _)| *n == self.number) {
            sessions.remove(&key);
            lock(&self.routes.table).remove_child(self.content, self.child);
        }
    }
}

impl Routes {
    pub fn new(me: Hash32, config: &ClusterConfig) -> Self {
        Self {
            table: Mutex::new(RouteTable::new(
                me,
                config.origin_child_cap,
                config.relay_child_cap,
                config.max_relay_depth,
            )),
            sessions: Mutex::default(),
            next: AtomicU64::new(0),
        }
    }

    /// ROUTE_ADD at the parent: `child` (a live member) asks for `content`,
    /// published here when `is_origin`. `session` is cancelled to ROUTE_DEL
    /// the child. A child asking again replaces its earlier session.
    pub fn add_child(
        self: &Arc<Self>,
        content: Guuid,
        child: Hash32,
        is_origin: bool,
        session: CancellationToken,
    ) -> Result<ChildRoute, ClusterError> {
        let grant = {
            let mut table = lock(&self.table);
            if is_origin && table.upstream(content) != Some(&Upstream::Origin) {
                table.publish_origin(content);
            }
            table.accept_child(content, child)?
        };
        let number = self.next.fetch_add(1, Ordering::Relaxed);
        let earlier = lock(&self.sessions).insert((content, child), (number, session));
        if let Some((_, earlier)) = earlier {
            earlier.cancel();
        }
        Ok(ChildRoute {
            routes: self.clone(),
            content,
            child,
            number,
            path: grant.path,
        })
    }

    /// A relay starts for `content`: detached until a grant arrives.
    pub fn want(&self, content: Guuid) {
        lock(&self.table).want(content);
    }

    /// The parent's grant arrived: its path (origin first, parent last).
    /// Refused when it names this node (a loop) or is too deep.
    pub fn attached(&self, content: Guuid, path: Vec<Hash32>) -> Result<u8, ClusterError> {
        let mut table = lock(&self.table);
        table.want(content);
        table.complete_attach(RouteGrant { content, path })
    }

    /// The parent is gone or refused: detached, and every child is sent
    /// ROUTE_DEL.
    pub fn parent_lost(&self, content: Guuid) {
        let children = lock(&self.table).parent_lost(content);
        self.route_del(content, &children);
    }

    /// The relay stopped: the content is forgotten and its children are
    /// sent ROUTE_DEL.
    pub fn dropped(&self, content: Guuid) {
        let children = lock(&self.table).drop_content(content);
        self.route_del(content, &children);
    }

    /// A member is down: it is no child of ours any more, and where it was
    /// our parent we are detached (our children re-route).
    pub fn member_down(&self, member: Hash32) {
        let orphaned = lock(&self.table).member_down(member);
        for (content, children) in orphaned {
            self.route_del(content, &children);
        }
        lock(&self.sessions).retain(|(_, child), _| *child != member);
    }

    /// Forgets origin contents no longer published here (`live` says which
    /// still are), with their children.
    pub fn prune_origins(&self, live: impl Fn(Guuid) -> bool) {
        let gone: Vec<Guuid> = {
            let table = lock(&self.table);
            table
                .locations()
                .into_iter()
                .filter(|l| l.depth == 0 && l.attached && !live(l.content))
                .map(|l| l.content)
                .collect()
        };
        for content in gone {
            self.dropped(content);
        }
    }

    /// The origin member of a content relayed here (its path's first).
    pub fn origin_of(&self, content: Guuid) -> Option<Hash32> {
        match lock(&self.table).upstream(content)? {
            Upstream::Relay { path } => path.first().copied(),
            _ => None,
        }
    }

    /// How many children this node feeds `content` to, if it carries it.
    pub fn children(&self, content: Guuid) -> Option<u16> {
        let table = lock(&self.table);
        table.upstream(content)?;
        Some(u16::try_from(table.children(content).count()).unwrap_or(u16::MAX))
    }

    /// A read of the relay trees (ROUTE_CHECK).
    pub fn read<T>(&self, read: impl FnOnce(&RouteTable) -> T) -> T {
        read(&lock(&self.table))
    }

    /// Every content this node carries: where it comes from and whom it
    /// feeds (`GET /api/cluster/routes`).
    pub fn snapshot(&self) -> Vec<RouteView> {
        let table = lock(&self.table);
        table
            .locations()
            .into_iter()
            .map(|location| {
                let content = location.content;
                let (upstream, path) = match table.upstream(content) {
                    Some(Upstream::Origin) => ("origin", Vec::new()),
                    Some(Upstream::Relay { path }) => ("relay", path.clone()),
                    _ => ("detached", Vec::new()),
                };
                RouteView {
                    content,
                    upstream,
                    depth: table.depth(content),
                    path,
                    children: table.children(content).copied().collect(),
                }
            })
            .collect()
    }

    fn route_del(&self, content: Guuid, children: &[Hash32]) {
        let mut sessions = lock(&self.sessions);
        for child in children {
            if let Some((_, session)) = sessions.remove(&(content, *child)) {
                tracing::info!(child = %child.to_hex(), "cluster: ROUTE_DEL, the child re-routes");
                session.cancel();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> Hash32 {
        Hash32([n; 32])
    }

    const C: Guuid = Guuid::new(7, 7);

    fn routes(me: u8, origin_cap: u16) -> Arc<Routes> {
        let config = ClusterConfig {
            origin_child_cap: origin_cap,
            relay_child_cap: 2,
            ..ClusterConfig::default()
        };
        Arc::new(Routes::new(id(me), &config))
    }

    #[test]
    fn the_origin_grants_up_to_its_cap_and_a_gone_child_frees_its_place() {
        let origin = routes(1, 1);
        let first = origin
            .add_child(C, id(2), true, CancellationToken::new())
            .unwrap();
        assert_eq!(first.path, [id(1)]);
        let full = origin.add_child(C, id(3), true, CancellationToken::new());
        assert!(
            matches!(full, Err(ClusterError::RelayFull { .. })),
            "{full:?}"
        );
        drop(first);
        assert_eq!(origin.children(C), Some(0));
        assert!(
            origin
                .add_child(C, id(3), true, CancellationToken::new())
                .is_ok()
        );
    }

    #[test]
    fn a_relay_grants_only_once_attached_and_never_to_its_ancestors() {
        let relay = routes(2, 4);
        relay.want(C);
        let early = relay.add_child(C, id(3), false, CancellationToken::new());
        assert!(matches!(early, Err(ClusterError::NotAttached)), "{early:?}");
        assert_eq!(relay.attached(C, vec![id(1)]).unwrap(), 1);
        let grant = relay
            .add_child(C, id(3), false, CancellationToken::new())
            .unwrap();
        assert_eq!(grant.path, [id(1), id(2)]);
        let ancestor = relay.add_child(C, id(1), false, CancellationToken::new());
        assert!(
            matches!(ancestor, Err(ClusterError::RouteLoop(_))),
            "{ancestor:?}"
        );
        // A grant that names this node is a loop.
        let other = routes(5, 4);
        assert!(other.attached(C, vec![id(1), id(5)]).is_err());
    }

    #[test]
    fn losing_the_parent_sends_route_del_to_every_child() {
        let relay = routes(2, 4);
        relay.attached(C, vec![id(1)]).unwrap();
        let (a, b) = (CancellationToken::new(), CancellationToken::new());
        let _ga = relay.add_child(C, id(3), false, a.clone()).unwrap();
        let _gb = relay.add_child(C, id(4), false, b.clone()).unwrap();
        relay.parent_lost(C);
        assert!(a.is_cancelled() && b.is_cancelled());
        assert_eq!(relay.children(C), Some(0));
        assert_eq!(relay.snapshot()[0].upstream, "detached");
        // Attached again, it grants again.
        relay.attached(C, vec![id(1)]).unwrap();
        assert!(
            relay
                .add_child(C, id(3), false, CancellationToken::new())
                .is_ok()
        );
    }

    #[test]
    fn a_child_asking_again_replaces_its_earlier_session() {
        let origin = routes(1, 4);
        let old = CancellationToken::new();
        let first = origin.add_child(C, id(2), true, old.clone()).unwrap();
        let second = origin
            .add_child(C, id(2), true, CancellationToken::new())
            .unwrap();
        assert!(old.is_cancelled(), "the earlier session is closed");
        drop(first);
        assert_eq!(origin.children(C), Some(1), "the newer grant stays");
        drop(second);
        assert_eq!(origin.children(C), Some(0));
    }

    #[test]
    fn a_member_down_is_dropped_and_ended_origins_are_pruned() {
        let origin = routes(1, 4);
        let _g = origin
            .add_child(C, id(2), true, CancellationToken::new())
            .unwrap();
        origin.member_down(id(2));
        assert_eq!(origin.children(C), Some(0));
        let child = CancellationToken::new();
        let _g2 = origin.add_child(C, id(3), true, child.clone()).unwrap();
        origin.prune_origins(|_| false);
        assert!(child.is_cancelled());
        assert!(origin.snapshot().is_empty());
    }
}
