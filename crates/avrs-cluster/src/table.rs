//! One node's relay trees (ROUTE_ADD / ROUTE_DEL / ROUTE_CHECK).
//!
//! Loops are impossible by construction, because of three rules:
//! 1. Only an *attached* node grants a child (the origin, or a relay whose
//!    own grant arrived); an attached node's recorded path (origin first,
//!    itself last) contains every ancestor it really has.
//! 2. A parent refuses a child found in its path; a child refuses a grant
//!    whose path contains itself.
//! 3. A node that loses its parent drops all its children at once (they
//!    get ROUTE_DEL and re-attach on their own), so a node that attaches
//!    never has descendants: the new edge changes no other node's
//!    ancestors, and rule 1 keeps holding.
//!
//! A new edge `parent -> child` closes a cycle only if the child is already
//! an ancestor of the parent, which rules 1 and 2 refuse. Depth is the path
//! length and is capped, so a path never grows without bound either.

use crate::error::{ClusterError, Result};
use crate::state::ContentLocation;
use avrs_proto::{Guuid, Hash32};
use std::collections::{BTreeMap, BTreeSet};

/// Where a node gets a content from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Upstream {
    /// The content is published here.
    Origin,
    /// Fed by `path.last()`; `path` runs origin first, parent last.
    Relay { path: Vec<Hash32> },
    /// Wanted but not (or no longer) fed; grants nothing.
    Detached,
}

/// A parent's answer to ROUTE_ADD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteGrant {
    pub content: Guuid,
    /// Origin first, the granting parent last. Its length is the child's depth.
    pub path: Vec<Hash32>,
}

/// ROUTE_CHECK answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteCheck {
    /// `child` is fed by us on an attached path.
    Fed,
    /// We hold the content but do not feed `child`.
    NotOurChild,
    /// We hold nothing attached for the content.
    Unavailable,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct ContentRoute {
    upstream: Upstream,
    children: BTreeSet<Hash32>,
}

#[derive(Debug, Clone)]
pub struct RouteTable {
    me: Hash32,
    origin_child_cap: u16,
    relay_child_cap: u16,
    max_depth: u8,
    routes: BTreeMap<Guuid, ContentRoute>,
}

impl RouteTable {
    pub fn new(me: Hash32, origin_child_cap: u16, relay_child_cap: u16, max_depth: u8) -> Self {
        Self {
            me,
            origin_child_cap,
            relay_child_cap,
            max_depth,
            routes: BTreeMap::new(),
        }
    }

    /// A publisher started the content here.
    pub fn publish_origin(&mut self, content: Guuid) {
        self.routes.insert(
            content,
            ContentRoute {
                upstream: Upstream::Origin,
                children: BTreeSet::new(),
            },
        );
    }

    /// We want the content (a viewer asked); until a grant arrives we are
    /// detached. Returns false if we already have or want it.
    pub fn want(&mut self, content: Guuid) -> bool {
        if self.routes.contains_key(&content) {
            return false;
        }
        self.routes.insert(
            content,
            ContentRoute {
                upstream: Upstream::Detached,
                children: BTreeSet::new(),
            },
        );
        true
    }

    pub fn upstream(&self, content: Guuid) -> Option<&Upstream> {
        self.routes.get(&content).map(|r| &r.upstream)
    }

    pub fn parent(&self, content: Guuid) -> Option<Hash32> {
        match self.upstream(content)? {
            Upstream::Relay { path } => path.last().copied(),
            _ => None,
        }
    }

    pub fn is_attached(&self, content: Guuid) -> bool {
        matches!(
            self.upstream(content),
            Some(Upstream::Origin | Upstream::Relay { .. })
        )
    }

    /// 0 at the origin, the path length at a relay.
    pub fn depth(&self, content: Guuid) -> Option<u8> {
        match self.upstream(content)? {
            Upstream::Origin => Some(0),
            Upstream::Relay { path } => u8::try_from(path.len()).ok(),
            Upstream::Detached => None,
        }
    }

    pub fn children(&self, content: Guuid) -> impl Iterator<Item = &Hash32> {
        self.routes
            .get(&content)
            .into_iter()
            .flat_map(|r| r.children.iter())
    }

    fn cap(&self, upstream: &Upstream) -> u16 {
        match upstream {
            Upstream::Origin => self.origin_child_cap,
            _ => self.relay_child_cap,
        }
    }

    /// ROUTE_ADD at the parent: grant `child` a feed, or say why not.
    pub fn accept_child(&mut self, content: Guuid, child: Hash32) -> Result<RouteGrant> {
        let cap = self.routes.get(&content).map(|r| self.cap(&r.upstream));
        let route = self
            .routes
            .get_mut(&content)
            .ok_or(ClusterError::NotAttached)?;
        let mut path = match &route.upstream {
            Upstream::Origin => Vec::new(),
            Upstream::Relay { path } => path.clone(),
            Upstream::Detached => return Err(ClusterError::NotAttached),
        };
        path.push(self.me);
        if path.contains(&child) {
            return Err(ClusterError::RouteLoop(child));
        }
        if path.len() > usize::from(self.max_depth) {
            return Err(ClusterError::TooDeep(path.len()));
        }
        if !route.children.contains(&child) && route.children.len() >= usize::from(cap.unwrap_or(0))
        {
            return Err(ClusterError::RelayFull {
                children: route.children.len(),
            });
        }
        route.children.insert(child);
        Ok(RouteGrant { content, path })
    }

    /// The grant arrived at the child. Refused if it names us (a loop), is
    /// too deep, or we no longer wait for one.
    pub fn complete_attach(&mut self, grant: RouteGrant) -> Result<u8> {
        if grant.path.contains(&self.me) {
            return Err(ClusterError::RouteLoop(self.me));
        }
        if grant.path.is_empty() || grant.path.len() > usize::from(self.max_depth) {
            return Err(ClusterError::TooDeep(grant.path.len()));
        }
        let route = self
            .routes
            .get_mut(&grant.content)
            .ok_or(ClusterError::NotAttached)?;
        if route.upstream != Upstream::Detached || !route.children.is_empty() {
            return Err(ClusterError::NotAttached);
        }
        let depth = grant.path.len() as u8;
        route.upstream = Upstream::Relay { path: grant.path };
        Ok(depth)
    }

    /// ROUTE_DEL from a child, or the child died.
    pub fn remove_child(&mut self, content: Guuid, child: Hash32) -> bool {
        self.routes
            .get_mut(&content)
            .is_some_and(|r| r.children.remove(&child))
    }

    /// Our parent died, refused us, or sent ROUTE_DEL: we are detached and
    /// drop every child (rule 3). Returns the children to send ROUTE_DEL.
    pub fn parent_lost(&mut self, content: Guuid) -> Vec<Hash32> {
        let Some(route) = self.routes.get_mut(&content) else {
            return Vec::new();
        };
        if route.upstream == Upstream::Origin {
            return Vec::new();
        }
        route.upstream = Upstream::Detached;
        std::mem::take(&mut route.children).into_iter().collect()
    }

    /// ROUTE_DEL from `from`: acted on only if `from` is our parent now (a
    /// late DEL from an earlier parent must not cut the new feed).
    pub fn parent_del(&mut self, content: Guuid, from: Hash32) -> Option<Vec<Hash32>> {
        (self.parent(content) == Some(from)).then(|| self.parent_lost(content))
    }

    /// Stops carrying the content (no viewers, no children, or unpublished).
    pub fn drop_content(&mut self, content: Guuid) -> Vec<Hash32> {
        self.routes
            .remove(&content)
            .map(|r| r.children.into_iter().collect())
            .unwrap_or_default()
    }

    /// A member is gone: drop it as a child everywhere; returns the contents
    /// for which it was our parent, with the children now orphaned.
    pub fn member_down(&mut self, member: Hash32) -> Vec<(Guuid, Vec<Hash32>)> {
        let mut lost_parent = Vec::new();
        for (content, route) in &mut self.routes {
            route.children.remove(&member);
            if matches!(&route.upstream, Upstream::Relay { path } if path.last() == Some(&member)) {
                lost_parent.push(*content);
            }
        }
        lost_parent
            .into_iter()
            .map(|c| (c, self.parent_lost(c)))
            .collect()
    }

    /// ROUTE_CHECK: do we feed `child` with `content`?
    pub fn route_check(&self, content: Guuid, child: Hash32) -> RouteCheck {
        match self.routes.get(&content) {
            Some(r) if r.upstream != Upstream::Detached => {
                if r.children.contains(&child) {
                    RouteCheck::Fed
                } else {
                    RouteCheck::NotOurChild
                }
            }
            _ => RouteCheck::Unavailable,
        }
    }

    /// What we gossip about our contents.
    pub fn locations(&self) -> Vec<ContentLocation> {
        self.routes
            .iter()
            .map(|(content, r)| ContentLocation {
                content: *content,
                depth: self.depth(*content).unwrap_or(u8::MAX),
                attached: r.upstream != Upstream::Detached,
                children: u16::try_from(r.children.len()).unwrap_or(u16::MAX),
                child_cap: self.cap(&r.upstream),
                parent: match &r.upstream {
                    Upstream::Relay { path } => path.last().copied(),
                    _ => None,
                },
            })
            .collect()
    }
}

#[cfg(test)]
#[path = "table_tests.rs"]
mod tests;
