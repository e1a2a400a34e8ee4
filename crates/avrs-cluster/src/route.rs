//! ROUTE_FIND: choosing where a node pulls a content from.
//!
//! Candidates are live members that hold the content *attached* (with a
//! live path to the origin) and have room for a child. Cost, lower first:
//! hops (the child's depth), region distance and load, plus a small
//! per-pair spread so many nodes asking at once do not all pick the same
//! parent from the same stale view.

use crate::error::{ClusterError, Result};
use crate::state::{ContentLocation, NodeState};
use crate::view::ClusterView;
use avrs_proto::{Guuid, Hash32};

/// Weights of the route cost. A hop costs [`HOP_COST`]; leaving the
/// region costs as much as [`REGION_COST`] / [`HOP_COST`] hops.
pub const HOP_COST: u32 = 100;
pub const REGION_COST: u32 = 250;
/// Load adds up to this much at 100 % (so a full relay looks a hop deeper).
pub const LOAD_COST: u32 = 100;
const SPREAD: u32 = 40;

/// Who asks for a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Requester {
    pub member: Hash32,
    pub region: u16,
}

/// One possible parent, as ROUTE_FIND answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteCandidate {
    pub parent: Hash32,
    /// Depth the requester would have under this parent.
    pub depth: u8,
    pub cost: u32,
}

/// Cost of hanging `requester` under `holder`.
pub fn route_cost(requester: Requester, holder: &NodeState, location: &ContentLocation) -> u32 {
    let hops = u32::from(location.depth) + 1;
    let region = if holder.region == requester.region {
        0
    } else {
        REGION_COST
    };
    let load = holder.load.score_permille().min(1000) * LOAD_COST / 1000;
    hops * HOP_COST + region + load + spread(requester.member, holder.member)
}

/// A fixed pseudo-random number per (requester, holder) pair.
fn spread(a: Hash32, b: Hash32) -> u32 {
    let mut x: u32 = 0x811c_9dc5;
    for byte in a.0[..8].iter().chain(&b.0[..8]) {
        x = (x ^ u32::from(*byte)).wrapping_mul(0x0100_0193);
    }
    x % SPREAD
}

/// ROUTE_FIND: up to `limit` candidates, best first. `exclude` holds
/// members already tried (refused or silent).
pub fn route_find(
    content: Guuid,
    requester: Requester,
    view: &ClusterView,
    exclude: &[Hash32],
    max_depth: u8,
    limit: usize,
) -> Vec<RouteCandidate> {
    let mut found: Vec<RouteCandidate> = view
        .holders(content)
        .filter(|(key, state, loc)| {
            **key != requester.member
                && !exclude.contains(key)
                && loc.attached
                && loc.children < loc.child_cap
                && loc.depth < max_depth
                && state.load.score_permille() < 1000
        })
        .map(|(key, state, loc)| RouteCandidate {
            parent: *key,
            depth: loc.depth + 1,
            cost: route_cost(requester, state, loc),
        })
        .collect();
    found.sort_by_key(|c| (c.cost, c.parent));
    found.truncate(limit);
    found
}

/// The best parent, or [`ClusterError::NoRoute`].
pub fn plan_route(
    content: Guuid,
    requester: Requester,
    view: &ClusterView,
    exclude: &[Hash32],
    max_depth: u8,
) -> Result<RouteCandidate> {
    route_find(content, requester, view, exclude, max_depth, 1)
        .into_iter()
        .next()
        .ok_or(ClusterError::NoRoute)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::{MemberId, PeerAddr};
    use crate::view::Liveness;
    use avrs_proto::avrs::Roles;

    const C: Guuid = Guuid::new(7, 7);

    fn holder(view: &mut ClusterView, n: u8, region: u16, depth: u8, children: u16, load: u32) {
        let key = Hash32([n; 32]);
        view.member_up(MemberId::new(key, PeerAddr::default()));
        let mut s = NodeState::new(key, Roles::SERVER, region);
        s.load.connections = load;
        s.load.max_connections = 1000;
        s.contents.push(ContentLocation {
            content: C,
            depth,
            attached: true,
            children,
            child_cap: 8,
            parent: None,
        });
        view.upsert_state(s);
    }

    fn me() -> Requester {
        Requester {
            member: Hash32([0; 32]),
            region: 1,
        }
    }

    #[test]
    fn cost_orders_hops_then_region_then_load() {
        let mut v = ClusterView::new(me().member);
        holder(&mut v, 1, 1, 2, 0, 0); // same region, deeper
        holder(&mut v, 2, 2, 0, 0, 0); // other region, origin
        holder(&mut v, 3, 1, 1, 0, 900); // same region, loaded
        holder(&mut v, 4, 1, 1, 0, 0); // same region, idle
        let order: Vec<u8> = route_find(C, me(), &v, &[], 16, 10)
            .iter()
            .map(|c| c.parent.0[0])
            .collect();
        assert_eq!(order, vec![4, 3, 1, 2]);
    }

    #[test]
    fn full_detached_dead_and_excluded_holders_are_skipped() {
        let mut v = ClusterView::new(me().member);
        holder(&mut v, 1, 1, 0, 8, 0); // full
        holder(&mut v, 2, 1, 0, 0, 1000); // overloaded
        holder(&mut v, 3, 1, 0, 0, 0); // dead
        v.set_liveness(Hash32([3; 32]), Liveness::Suspect);
        holder(&mut v, 4, 1, 0, 0, 0); // excluded
        holder(&mut v, 5, 1, 16, 0, 0); // at max depth
        assert_eq!(
            plan_route(C, me(), &v, &[Hash32([4; 32])], 16),
            Err(ClusterError::NoRoute)
        );
        holder(&mut v, 6, 1, 3, 0, 0);
        let best = plan_route(C, me(), &v, &[Hash32([4; 32])], 16).unwrap();
        assert_eq!((best.parent, best.depth), (Hash32([6; 32]), 4));
    }

    #[test]
    fn never_routes_to_itself() {
        let mut v = ClusterView::new(me().member);
        holder(&mut v, 0, 1, 0, 0, 0);
        assert!(plan_route(C, me(), &v, &[], 16).is_err());
    }
}
