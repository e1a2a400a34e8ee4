//! ROUTE_FIND and ROUTE_CHECK answered from what a node sees of the relay
//! trees, not from the book: the gossip view (who holds a content, where
//! in its tree, how loaded) and the node's own [`RouteTable`]. Pure: the
//! driver hands in the view, the table and what is live here, and sends
//! the [`Reply`].

use super::{Actor, Reply, tags};
use crate::route::{HOP_COST, Requester, route_find};
use crate::table::{RouteCheck as TableCheck, RouteTable, Upstream};
use crate::view::ClusterView;
use avrs_auth::rbac::{Operation, allowed};
use avrs_proto::Hash32;
use avrs_proto::avrs::cluster::{
    MAX_ROUTE_CANDIDATES, ParentCandidate, RouteCheck, RouteCheckResponse, RouteFind,
    RouteFindResponse, RouteState, RouteUpstream,
};
use avrs_proto::avrs::{ClusterRequest, RetCode, RetCodePacket};

/// Candidates a ROUTE_FIND without ROUTE_LIMIT gets.
pub const DEFAULT_ROUTE_LIMIT: u8 = 4;

/// Where the answering node looks for holders of a content.
#[derive(Debug, Clone, Copy)]
pub enum Holders<'a> {
    /// In a cluster: the gossip view, this node's own state included.
    /// `max_depth`: the deepest a relay tree grows.
    Cluster {
        view: &'a ClusterView,
        max_depth: u8,
    },
    /// Outside a cluster: this node alone, `live` if the content is live
    /// here.
    Alone { me: Hash32, live: bool },
}

fn refuse(code: RetCode, tag: &str) -> Reply {
    Reply::Code(RetCodePacket::with_text(code, tag))
}

fn gate(actor: &Actor, op: Operation) -> Result<(), Reply> {
    match allowed(actor.roles, op) {
        true => Ok(()),
        false => Err(refuse(RetCode::MemberSecurityIssue, tags::ROLE_NOT_ALLOWED)),
    }
}

/// ROUTE_FIND from `actor`: the members that could feed it the content,
/// best first; CONTENT_NOT_FOUND `NO_HOLDER` when nobody (but the asker)
/// holds it attached, CONTENT_UNAVAILABLE `NO_ROUTE` when every holder is
/// full, too deep, loaded or excluded.
pub fn answer_route_find(actor: &Actor, request: &RouteFind, holders: Holders<'_>) -> Reply {
    if let Err(refusal) = gate(actor, Operation::RouteFind) {
        return refusal;
    }
    let limit = usize::from(request.limit.unwrap_or(DEFAULT_ROUTE_LIMIT)).min(MAX_ROUTE_CANDIDATES);
    let found = match holders {
        Holders::Cluster { view, max_depth } => {
            cluster_candidates(actor, request, view, max_depth, limit)
        }
        Holders::Alone { me, live } => alone_candidate(actor, request, me, live),
    };
    match found {
        Ok(candidates) => Reply::Packet(Box::new(ClusterRequest::RouteFindResponse(
            RouteFindResponse {
                id: request.id,
                content_id: request.content_id,
                candidates,
            },
        ))),
        Err(refusal) => refusal,
    }
}

fn cluster_candidates(
    actor: &Actor,
    request: &RouteFind,
    view: &ClusterView,
    max_depth: u8,
    limit: usize,
) -> Result<Vec<ParentCandidate>, Reply> {
    let region_of = |member: &Hash32| Some(view.get(member)?.state.as_ref()?.region);
    // An asker outside the view (a client, a token) is costed from here.
    let requester = Requester {
        member: actor.id,
        region: region_of(&actor.id)
            .or_else(|| region_of(&view.me()))
            .unwrap_or(0),
    };
    let content = request.content_id;
    let found = route_find(content, requester, view, &request.exclude, max_depth, limit);
    if found.is_empty() {
        let held = view
            .holders(content)
            .any(|(member, _, location)| *member != actor.id && location.attached);
        return Err(match held {
            true => refuse(RetCode::ContentUnavailable, tags::NO_ROUTE),
            false => refuse(RetCode::ContentNotFound, tags::NO_HOLDER),
        });
    }
    Ok(found
        .into_iter()
        .map(|candidate| ParentCandidate {
            member: candidate.parent,
            cost: candidate.cost,
            depth: candidate.depth,
            region: region_of(&candidate.parent),
        })
        .collect())
}

/// Outside a cluster the node itself is the only possible origin.
fn alone_candidate(
    actor: &Actor,
    request: &RouteFind,
    me: Hash32,
    live: bool,
) -> Result<Vec<ParentCandidate>, Reply> {
    if !live || actor.id == me {
        return Err(refuse(RetCode::ContentNotFound, tags::NO_HOLDER));
    }
    if request.exclude.contains(&me) {
        return Err(refuse(RetCode::ContentUnavailable, tags::NO_ROUTE));
    }
    Ok(vec![ParentCandidate {
        member: me,
        cost: HOP_COST,
        depth: 1,
        region: None,
    }])
}

/// ROUTE_CHECK from `actor`: whether this node feeds the member the
/// content, and where this node gets it from. `table` is this node's relay
/// trees (none outside a cluster); `published_here`: a publisher streams
/// the content to this node, which makes it the origin even before any
/// relay asked (the table learns of an origin at its first child).
pub fn answer_route_check(
    actor: &Actor,
    request: &RouteCheck,
    table: Option<&RouteTable>,
    published_here: bool,
) -> Reply {
    if let Err(refusal) = gate(actor, Operation::RouteCheck) {
        return refusal;
    }
    let (content, child) = (request.content_id, request.member);
    let known = table.and_then(|t| Some((t.route_check(content, child), t.upstream(content)?)));
    let (state, upstream) = match known {
        Some((check, upstream)) => (state_of(check), Some(upstream_of(upstream))),
        None if published_here => (RouteState::NotOurChild, Some(RouteUpstream::Origin)),
        None => (RouteState::Unavailable, None),
    };
    Reply::Packet(Box::new(ClusterRequest::RouteCheckResponse(
        RouteCheckResponse {
            id: request.id,
            content_id: content,
            member: child,
            state,
            upstream,
        },
    )))
}

fn state_of(check: TableCheck) -> RouteState {
    match check {
        TableCheck::Fed => RouteState::Fed,
        TableCheck::NotOurChild => RouteState::NotOurChild,
        TableCheck::Unavailable => RouteState::Unavailable,
    }
}

fn upstream_of(upstream: &Upstream) -> RouteUpstream {
    match upstream {
        Upstream::Origin => RouteUpstream::Origin,
        // A granted path is never empty nor deeper than a u8 (the table
        // caps it); anything else reads as not fed.
        Upstream::Relay { path } => match (path.last(), u8::try_from(path.len())) {
            (Some(parent), Ok(depth)) => RouteUpstream::Relay {
                parent: *parent,
                depth,
            },
            _ => RouteUpstream::Detached,
        },
        Upstream::Detached => RouteUpstream::Detached,
    }
}

#[cfg(test)]
#[path = "routes_tests.rs"]
mod tests;
