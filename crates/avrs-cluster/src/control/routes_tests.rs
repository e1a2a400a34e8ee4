//! ROUTE_FIND and ROUTE_CHECK answers: in a cluster (view, table), alone,
//! and refused; the book leaves them to the driver.

use super::*;
use crate::control::ClusterBook;
use crate::identity::{MemberId, PeerAddr};
use crate::state::{ContentLocation, NodeState};
use crate::table::RouteGrant;
use crate::view::Liveness;
use avrs_proto::Guuid;
use avrs_proto::avrs::Roles;

const CONTENT: Guuid = Guuid::new(7, 7);
const ME: Hash32 = Hash32([0xEE; 32]);

fn id(n: u8) -> Hash32 {
    Hash32([n; 32])
}

fn client(n: u8) -> Actor {
    Actor {
        id: id(n),
        roles: Roles::CLIENT,
    }
}

/// A live member in `region`, holding CONTENT at `depth` when given.
fn member(view: &mut ClusterView, key: Hash32, region: u16, depth: Option<u8>) {
    view.member_up(MemberId::new(key, PeerAddr::default()));
    let mut state = NodeState::new(key, Roles::SERVER, region);
    state.load.max_connections = 100;
    if let Some(depth) = depth {
        state.contents.push(ContentLocation {
            content: CONTENT,
            depth,
            attached: true,
            children: 0,
            child_cap: 4,
            parent: None,
        });
    }
    view.upsert_state(state);
}

fn find(exclude: Vec<Hash32>, limit: Option<u8>) -> RouteFind {
    RouteFind {
        id: Some(Guuid::new(1, 1)),
        content_id: CONTENT,
        limit,
        exclude,
    }
}

fn found(reply: Reply) -> RouteFindResponse {
    match reply {
        Reply::Packet(packet) => match *packet {
            ClusterRequest::RouteFindResponse(response) => response,
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
}

fn checked(reply: Reply) -> RouteCheckResponse {
    match reply {
        Reply::Packet(packet) => match *packet {
            ClusterRequest::RouteCheckResponse(response) => response,
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
}

fn code(reply: &Reply) -> (RetCode, String) {
    match reply {
        Reply::Code(packet) => (packet.code, packet.text.clone()),
        Reply::Packet(packet) => panic!("a code expected, got {packet:?}"),
    }
}

/// This node (region 1, holding nothing), the origin (1, region 1), a
/// relay below it (2, region 2), a member without the content (3).
fn view() -> ClusterView {
    let mut view = ClusterView::new(ME);
    member(&mut view, ME, 1, None);
    member(&mut view, id(1), 1, Some(0));
    member(&mut view, id(2), 2, Some(1));
    member(&mut view, id(3), 1, None);
    view
}

fn in_cluster(view: &ClusterView) -> Holders<'_> {
    Holders::Cluster {
        view,
        max_depth: 16,
    }
}

#[test]
fn route_find_names_the_holders_best_first_with_their_regions() {
    let view = view();
    let response = found(answer_route_find(
        &client(9),
        &find(vec![], None),
        in_cluster(&view),
    ));
    assert_eq!(response.id, Some(Guuid::new(1, 1)));
    assert_eq!(response.content_id, CONTENT);
    let members: Vec<Hash32> = response.candidates.iter().map(|c| c.member).collect();
    // An asker outside the view is costed from this node's region: the
    // origin is a hop nearer and in that region.
    assert_eq!(members, [id(1), id(2)]);
    let origin = response.candidates[0];
    assert_eq!((origin.depth, origin.region), (1, Some(1)));
    let relay = response.candidates[1];
    assert_eq!((relay.depth, relay.region), (2, Some(2)));
    assert!(origin.cost <= relay.cost);
    // What the node answers it can send.
    let reply = ClusterRequest::RouteFindResponse(response);
    assert!(reply.to_packet().is_ok());
}

#[test]
fn route_find_costs_a_member_from_its_own_region_and_never_names_the_asker() {
    let mut view = view();
    // Another relay at depth 1, of region 2: asking for itself, it is
    // costed from region 2, where the relay of its region beats the origin
    // of region 1, and it is never named.
    member(&mut view, id(4), 2, Some(1));
    let asker = Actor {
        id: id(4),
        roles: Roles::SERVER,
    };
    let response = found(answer_route_find(
        &asker,
        &find(vec![], None),
        in_cluster(&view),
    ));
    let members: Vec<Hash32> = response.candidates.iter().map(|c| c.member).collect();
    assert_eq!(members, [id(2), id(1)]);
}

#[test]
fn route_find_honours_limit_and_exclusions_and_says_why_it_found_none() {
    let view = view();
    let limited = found(answer_route_find(
        &client(9),
        &find(vec![], Some(1)),
        in_cluster(&view),
    ));
    assert_eq!(limited.candidates.len(), 1);
    let skipping = found(answer_route_find(
        &client(9),
        &find(vec![id(1)], None),
        in_cluster(&view),
    ));
    assert_eq!(skipping.candidates[0].member, id(2));
    let all_excluded = answer_route_find(
        &client(9),
        &find(vec![id(1), id(2)], None),
        in_cluster(&view),
    );
    assert_eq!(
        code(&all_excluded),
        (RetCode::ContentUnavailable, "NO_ROUTE".into())
    );
    let mut nobody = find(vec![], None);
    nobody.content_id = Guuid::new(8, 8);
    assert_eq!(
        code(&answer_route_find(&client(9), &nobody, in_cluster(&view))),
        (RetCode::ContentNotFound, "NO_HOLDER".into())
    );
    // A holder that is down holds nothing.
    let mut view = view;
    view.set_liveness(id(1), Liveness::Suspect);
    view.set_liveness(id(2), Liveness::Suspect);
    assert_eq!(
        code(&answer_route_find(
            &client(9),
            &find(vec![], None),
            in_cluster(&view)
        )),
        (RetCode::ContentNotFound, "NO_HOLDER".into())
    );
}

#[test]
fn alone_the_node_names_itself_only_for_a_live_content() {
    let alone = |live| Holders::Alone { me: ME, live };
    let response = found(answer_route_find(
        &client(9),
        &find(vec![], None),
        alone(true),
    ));
    assert_eq!(response.candidates.len(), 1);
    let me = response.candidates[0];
    assert_eq!((me.member, me.depth, me.region), (ME, 1, None));
    assert_eq!(
        code(&answer_route_find(
            &client(9),
            &find(vec![], None),
            alone(false)
        )),
        (RetCode::ContentNotFound, "NO_HOLDER".into())
    );
    assert_eq!(
        code(&answer_route_find(
            &client(9),
            &find(vec![ME], None),
            alone(true)
        )),
        (RetCode::ContentUnavailable, "NO_ROUTE".into())
    );
}

fn check(child: Hash32) -> RouteCheck {
    RouteCheck {
        id: None,
        content_id: CONTENT,
        member: child,
    }
}

#[test]
fn route_check_at_the_origin_tells_its_children_from_others() {
    let mut table = RouteTable::new(ME, 4, 8, 16);
    table.publish_origin(CONTENT);
    table.accept_child(CONTENT, id(2)).unwrap();
    let fed = checked(answer_route_check(
        &client(9),
        &check(id(2)),
        Some(&table),
        true,
    ));
    assert_eq!(fed.state, RouteState::Fed);
    assert_eq!(fed.upstream, Some(RouteUpstream::Origin));
    assert_eq!((fed.member, fed.content_id), (id(2), CONTENT));
    let other = checked(answer_route_check(
        &client(9),
        &check(id(3)),
        Some(&table),
        true,
    ));
    assert_eq!(other.state, RouteState::NotOurChild);
    assert!(
        ClusterRequest::RouteCheckResponse(other)
            .to_packet()
            .is_ok()
    );
}

#[test]
fn route_check_at_a_relay_names_its_parent_and_depth() {
    let mut table = RouteTable::new(ME, 4, 8, 16);
    table.want(CONTENT);
    let path = vec![id(1), id(5)];
    table
        .complete_attach(RouteGrant {
            content: CONTENT,
            path,
        })
        .unwrap();
    table.accept_child(CONTENT, id(3)).unwrap();
    let fed = checked(answer_route_check(
        &client(9),
        &check(id(3)),
        Some(&table),
        false,
    ));
    assert_eq!(fed.state, RouteState::Fed);
    assert_eq!(
        fed.upstream,
        Some(RouteUpstream::Relay {
            parent: id(5),
            depth: 2
        })
    );
    // Detached: nothing to feed from.
    table.parent_lost(CONTENT);
    let lost = checked(answer_route_check(
        &client(9),
        &check(id(3)),
        Some(&table),
        false,
    ));
    assert_eq!(lost.state, RouteState::Unavailable);
    assert_eq!(lost.upstream, Some(RouteUpstream::Detached));
}

#[test]
fn route_check_knows_an_origin_before_its_first_child_and_alone() {
    let table = RouteTable::new(ME, 4, 8, 16);
    for table in [Some(&table), None] {
        let origin = checked(answer_route_check(&client(9), &check(id(2)), table, true));
        assert_eq!(
            (origin.state, origin.upstream),
            (RouteState::NotOurChild, Some(RouteUpstream::Origin))
        );
        let nothing = checked(answer_route_check(&client(9), &check(id(2)), table, false));
        assert_eq!(
            (nothing.state, nothing.upstream),
            (RouteState::Unavailable, None)
        );
    }
}

#[test]
fn an_actor_without_a_role_the_table_allows_is_refused() {
    let nobody = Actor {
        id: id(9),
        roles: Roles::empty(),
    };
    let view = view();
    let refused = (RetCode::MemberSecurityIssue, "ROLE_NOT_ALLOWED".to_owned());
    let reply = answer_route_find(&nobody, &find(vec![], None), in_cluster(&view));
    assert_eq!(code(&reply), refused);
    let reply = answer_route_check(&nobody, &check(id(2)), None, true);
    assert_eq!(code(&reply), refused);
}

#[test]
fn the_book_leaves_route_requests_to_the_driver_and_refuses_their_answers() {
    let mut book = ClusterBook::default();
    let owner = Actor {
        id: id(1),
        roles: Roles::HOST,
    };
    let response = RouteCheckResponse {
        id: None,
        content_id: CONTENT,
        member: id(2),
        state: RouteState::Fed,
        upstream: None,
    };
    let found = RouteFindResponse {
        id: None,
        content_id: CONTENT,
        candidates: vec![],
    };
    for (request, tag) in [
        (
            ClusterRequest::RouteFind(find(vec![], None)),
            "ROUTE_REQUEST_NOT_HERE",
        ),
        (
            ClusterRequest::RouteCheck(check(id(2))),
            "ROUTE_REQUEST_NOT_HERE",
        ),
        (ClusterRequest::RouteFindResponse(found), "NOT_A_REQUEST"),
        (
            ClusterRequest::RouteCheckResponse(response),
            "NOT_A_REQUEST",
        ),
    ] {
        let handled = book.handle(&owner, request, || panic!("no fresh id"));
        assert!(!handled.changed);
        assert_eq!(
            code(&handled.reply),
            (RetCode::ClusterWrongRequest, tag.to_owned())
        );
    }
    assert_eq!(book, ClusterBook::default());
}
