//! Cluster control: arbitrary bytes as a `'C'` packet, decoded, typed and
//! answered by a small cluster book as an actor the first two bytes pick
//! (its id and roles); or, when the first byte says so, read as a book
//! file. ROUTE_FIND / ROUTE_CHECK are also answered as a node does, from a
//! small view and relay table, and alone. Nothing may panic; a refusal or a
//! read-only answer leaves the book as it was; what the book holds
//! survives its file; every typed answer encodes.
#![no_main]

use avrs_cluster::control::{
    Actor, ClusterBook, Holders, Reply, answer_route_check, answer_route_find,
};
use avrs_cluster::{ClusterView, ContentLocation, MemberId, NodeState, PeerAddr, RouteTable};
use avrs_proto::avrs::cluster::{
    ClusterOptions, ContentAdd, Create, MemberApprove, MemberInfo, MemberRequestAdd,
};
use avrs_proto::avrs::{ClusterRequest, ClusterType, ControlPacket, Flows, RetCode, Roles};
use avrs_proto::{Guuid, Hash32};
use libfuzzer_sys::fuzz_target;

const CLUSTER: Guuid = Guuid::new(1, 1);

fn actor(id: u8, roles: u16) -> Actor {
    Actor {
        id: Hash32([id; 32]),
        roles: Roles::from_bits_truncate(roles),
    }
}

/// A cluster owned by actor 1, with a member (2), a waiting request (3)
/// and a content; the deployment's cluster owned by actor 4.
fn small_book() -> ClusterBook {
    let mut book = ClusterBook::default();
    let owner = actor(1, Roles::HOST.bits());
    let create = ClusterRequest::Create(Create {
        id: Some(CLUSTER),
        options: ClusterOptions::default(),
    });
    book.handle(&owner, create, Guuid::default);
    for n in [2, 3] {
        let add = ClusterRequest::MemberRequestAdd(MemberRequestAdd {
            id: CLUSTER,
            addr: None,
            role: Some(Roles::SERVER),
            info: MemberInfo::default(),
        });
        book.handle(&actor(n, Roles::CLIENT.bits()), add, Guuid::default);
    }
    let approve = ClusterRequest::MemberApprove(MemberApprove {
        id: CLUSTER,
        member: Hash32([2; 32]),
    });
    book.handle(&owner, approve, Guuid::default);
    let content = ClusterRequest::ContentAdd(ContentAdd {
        id: CLUSTER,
        content_id: Guuid::new(2, 2),
        title: None,
        flows: Flows::new("va").expect("flows"),
        codecs: Vec::new(),
    });
    book.handle(&owner, content, Guuid::default);
    book.ensure_pinned(Guuid::new(3, 3), Hash32([4; 32]), "deployment");
    book
}

/// A view where actor 1 is the origin of content (2, 2) and actor 2 a relay
/// below it; actor 2's table, feeding actor 3.
fn small_trees() -> (ClusterView, RouteTable) {
    let content = Guuid::new(2, 2);
    let mut view = ClusterView::new(Hash32([2; 32]));
    for (n, depth) in [(1u8, 0u8), (2, 1)] {
        let key = Hash32([n; 32]);
        view.member_up(MemberId::new(key, PeerAddr::default()));
        let mut state = NodeState::new(key, Roles::SERVER, u16::from(n));
        state.contents.push(ContentLocation {
            content,
            depth,
            attached: true,
            children: 0,
            child_cap: 4,
            parent: None,
        });
        view.upsert_state(state);
    }
    let mut table = RouteTable::new(Hash32([2; 32]), 4, 8, 16);
    table.want(content);
    let grant = avrs_cluster::RouteGrant {
        content,
        path: vec![Hash32([1; 32])],
    };
    table.complete_attach(grant).expect("a fresh grant");
    table.accept_child(content, Hash32([3; 32])).expect("room");
    (view, table)
}

/// ROUTE_FIND / ROUTE_CHECK as a node in a cluster and a node alone
/// answer them: a code, or a typed answer that encodes.
fn answer_routes(who: &Actor, request: &ClusterRequest) {
    let (view, table) = small_trees();
    let replies = match request {
        ClusterRequest::RouteFind(find) => [
            answer_route_find(
                who,
                find,
                Holders::Cluster {
                    view: &view,
                    max_depth: 16,
                },
            ),
            answer_route_find(
                who,
                find,
                Holders::Alone {
                    me: Hash32([5; 32]),
                    live: true,
                },
            ),
        ],
        ClusterRequest::RouteCheck(check) => [
            answer_route_check(who, check, Some(&table), false),
            answer_route_check(who, check, None, true),
        ],
        _ => return,
    };
    for reply in replies {
        if let Reply::Packet(packet) = &reply {
            packet.to_packet().expect("a typed route answer encodes");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode == 0xFF {
        if let Ok(book) = ClusterBook::from_json(rest) {
            let again = ClusterBook::from_json(&book.to_json()).expect("its own file reads");
            assert_eq!(again, book);
        }
        return;
    }
    let Some((&roles, packet)) = rest.split_first() else {
        return;
    };
    let who = actor(mode % 6, u16::from(roles) | (u16::from(roles & 0x03) << 8));
    let Ok(packet) = ControlPacket::<ClusterType>::decode(packet) else {
        return;
    };
    let Ok(request) = ClusterRequest::from_packet(&packet) else {
        return;
    };
    answer_routes(&who, &request);
    let mut book = small_book();
    let before = book.clone();
    let handled = book.handle(&who, request, || Guuid::new(9, 9));
    if !handled.changed {
        assert_eq!(book, before, "an answer that changes nothing");
    }
    if handled.reply.code() != RetCode::Success {
        assert_eq!(book, before, "a refusal changes nothing");
    }
    if let Reply::Packet(packet) = &handled.reply {
        packet.to_packet().expect("a typed answer encodes");
    }
    let again = ClusterBook::from_json(&book.to_json()).expect("its own file reads");
    assert_eq!(again, book);
});
