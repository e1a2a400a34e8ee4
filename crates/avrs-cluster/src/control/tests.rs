//! Every request type: its success, its refusals, the owner rules, role
//! escalation, the bounds, and the book's file.

use super::*;
use avrs_proto::avrs::cluster::{
    Change, ClusterOptions, ContentAdd, ContentDel, ContentListRequest, ContentListResponse,
    ContentUpdate, Create, Destroy, Info, ListRequest, ListResponse, MemberApprove, MemberInfo,
    MemberRemove, MemberRequestAdd, MemberRequestDel, RoleAssign, Setup,
};
use avrs_proto::avrs::{ClusterType, FlowCodec, Flows};

const OWNER: Hash32 = Hash32([1; 32]);
const CLUSTER: Guuid = Guuid::new(7, 7);
const CONTENT: Guuid = Guuid::new(9, 9);

fn actor(n: u8, roles: Roles) -> Actor {
    Actor {
        id: Hash32([n; 32]),
        roles,
    }
}

fn owner() -> Actor {
    Actor {
        id: OWNER,
        roles: Roles::HOST,
    }
}

fn packet(request: ClusterRequest) -> Reply {
    Reply::Packet(Box::new(request))
}

fn no_id() -> Guuid {
    panic!("no fresh id expected")
}

/// The code and text of a reply (SUCCESS and the type for a packet).
fn outcome(handled: &Handled) -> (RetCode, String) {
    match &handled.reply {
        Reply::Code(packet) => (packet.code, packet.text.clone()),
        Reply::Packet(packet) => (RetCode::Success, packet.kind().name().to_owned()),
    }
}

fn ask(book: &mut ClusterBook, who: &Actor, request: ClusterRequest) -> (RetCode, String) {
    outcome(&book.handle(who, request, no_id))
}

fn expect(book: &mut ClusterBook, who: &Actor, request: ClusterRequest, code: RetCode, tag: &str) {
    let before = book.clone();
    let got = ask(book, who, request.clone());
    assert_eq!(got, (code, tag.to_owned()), "{request:?} by {who:?}");
    if code != RetCode::Success {
        assert_eq!(*book, before, "a refusal changes nothing");
    }
}

/// A book with CLUSTER, owned by OWNER.
fn book() -> ClusterBook {
    let mut book = ClusterBook::default();
    let create = Create {
        id: Some(CLUSTER),
        options: ClusterOptions {
            title: Some("Lecture".into()),
            setup: Some(Setup::Lecture),
            encrypted: None,
        },
    };
    let handled = book.handle(&owner(), ClusterRequest::Create(create), no_id);
    assert!(handled.changed);
    book
}

fn request_add(id: Guuid, role: Option<Roles>) -> ClusterRequest {
    ClusterRequest::MemberRequestAdd(MemberRequestAdd {
        id,
        addr: None,
        role,
        info: MemberInfo {
            display_name: Some("Ann".into()),
            avatar: Some(vec![1; 10]),
            ..MemberInfo::default()
        },
    })
}

fn approve(member: &Actor) -> ClusterRequest {
    ClusterRequest::MemberApprove(MemberApprove {
        id: CLUSTER,
        member: member.id,
    })
}

fn remove(member: &Actor) -> ClusterRequest {
    ClusterRequest::MemberRemove(MemberRemove {
        id: CLUSTER,
        member: member.id,
    })
}

fn content_add(id: Guuid) -> ClusterRequest {
    ClusterRequest::ContentAdd(ContentAdd {
        id: CLUSTER,
        content_id: id,
        title: Some("cam".into()),
        flows: Flows::new("va").unwrap(),
        codecs: vec![FlowCodec::new(0, "avc1.64001F")],
    })
}

/// `who` asks to join with `roles` and the owner approves.
fn join(book: &mut ClusterBook, who: &Actor, roles: Roles) {
    expect(
        book,
        who,
        request_add(CLUSTER, Some(roles)),
        RetCode::Success,
        "REQUEST_PENDING",
    );
    expect(book, &owner(), approve(who), RetCode::Success, "APPROVED");
}

#[test]
fn create_makes_the_signer_owner_and_answers_info() {
    let mut book = ClusterBook::default();
    let handled = book.handle(&owner(), ClusterRequest::Create(Create::default()), || {
        CLUSTER
    });
    let info = Info {
        id: CLUSTER,
        options: ClusterOptions {
            encrypted: Some(false),
            ..ClusterOptions::default()
        },
    };
    assert_eq!(handled.reply, packet(ClusterRequest::Info(info)));
    assert!(handled.changed);
    let record = book.get(&CLUSTER).unwrap();
    assert_eq!(record.owner, OWNER);
    assert_eq!(record.members[&OWNER].roles, Roles::HOST);
    // The same ID again, a zero ID, a fresh id that is taken.
    let again = Create {
        id: Some(CLUSTER),
        options: ClusterOptions::default(),
    };
    let taken = ClusterRequest::Create(again);
    expect(
        &mut book,
        &owner(),
        taken,
        RetCode::ClusterWrongRequest,
        "CLUSTER_EXISTS",
    );
    let zero = ClusterRequest::Create(Create {
        id: Some(Guuid::default()),
        options: ClusterOptions::default(),
    });
    expect(&mut book, &owner(), zero, RetCode::ArgIncorrect, "ZERO_ID");
    let fresh = book.handle(&owner(), ClusterRequest::Create(Create::default()), || {
        CLUSTER
    });
    assert_eq!(outcome(&fresh), (RetCode::Error, "NO_FRESH_ID".into()));
    // Only hosts create.
    for roles in [
        Roles::OPERATOR,
        Roles::SERVER,
        Roles::CLIENT,
        Roles::BALANCER,
    ] {
        let create = ClusterRequest::Create(Create::default());
        let who = actor(2, roles);
        expect(
            &mut book,
            &who,
            create,
            RetCode::MemberSecurityIssue,
            "ROLE_NOT_ALLOWED",
        );
    }
}

#[test]
fn destroy_and_change_are_the_owners() {
    let mut book = book();
    let host = actor(2, Roles::HOST);
    let operator = actor(3, Roles::OPERATOR);
    let destroy = ClusterRequest::Destroy(Destroy { id: CLUSTER });
    let change = ClusterRequest::Change(Change {
        id: CLUSTER,
        options: ClusterOptions {
            title: Some("Panel".into()),
            ..ClusterOptions::default()
        },
    });
    for request in [destroy.clone(), change.clone()] {
        let security = RetCode::MemberSecurityIssue;
        expect(
            &mut book,
            &operator,
            request.clone(),
            security,
            "ROLE_NOT_ALLOWED",
        );
        expect(&mut book, &host, request.clone(), security, "NOT_OWNER");
    }
    // The owner, whatever its own role now.
    let owner_as_client = Actor {
        id: OWNER,
        roles: Roles::CLIENT,
    };
    expect(
        &mut book,
        &owner_as_client,
        change,
        RetCode::Success,
        "CHANGED",
    );
    let record = book.get(&CLUSTER).unwrap();
    assert_eq!(record.options.title.as_deref(), Some("Panel"));
    assert_eq!(record.options.setup, Some(Setup::Lecture), "kept");
    expect(
        &mut book,
        &owner_as_client,
        destroy.clone(),
        RetCode::Success,
        "DESTROYED",
    );
    assert!(book.is_empty());
    expect(
        &mut book,
        &owner(),
        destroy,
        RetCode::ClusterNotFound,
        "NO_SUCH_CLUSTER",
    );
}

#[test]
fn info_and_list_show_what_the_actor_may_see() {
    let mut book = book();
    let member = actor(2, Roles::CLIENT);
    let stranger = actor(3, Roles::SERVER);
    let operator = actor(4, Roles::OPERATOR);
    join(&mut book, &member, Roles::CLIENT);
    let info = ClusterRequest::Info(Info {
        id: CLUSTER,
        options: ClusterOptions::default(),
    });
    for who in [owner(), member, operator] {
        let handled = book.handle(&who, info.clone(), no_id);
        let Reply::Packet(packet) = handled.reply else {
            panic!("{handled:?}");
        };
        let ClusterRequest::Info(got) = *packet else {
            panic!("{packet:?}");
        };
        assert_eq!(got.options.title.as_deref(), Some("Lecture"));
        assert!(!handled.changed);
    }
    expect(
        &mut book,
        &stranger,
        info,
        RetCode::MemberSecurityIssue,
        "NOT_A_MEMBER",
    );
    let unknown = ClusterRequest::Info(Info {
        id: Guuid::new(1, 2),
        options: ClusterOptions::default(),
    });
    expect(
        &mut book,
        &owner(),
        unknown,
        RetCode::ClusterNotFound,
        "NO_SUCH_CLUSTER",
    );
    let list = |book: &mut ClusterBook, who: &Actor| {
        book.handle(who, ClusterRequest::ListRequest(ListRequest), no_id)
            .reply
    };
    let seen = packet(ClusterRequest::ListResponse(ListResponse {
        ids: vec![CLUSTER],
    }));
    assert_eq!(list(&mut book, &member), seen);
    assert_eq!(list(&mut book, &operator), seen);
    let none = packet(ClusterRequest::ListResponse(ListResponse { ids: vec![] }));
    assert_eq!(list(&mut book, &stranger), none);
}

#[test]
fn joining_waits_for_an_approver() {
    let mut book = book();
    let ann = actor(2, Roles::CLIENT);
    let add = request_add(CLUSTER, None);
    expect(
        &mut book,
        &ann,
        add.clone(),
        RetCode::Success,
        "REQUEST_PENDING",
    );
    let request = &book.get(&CLUSTER).unwrap().requests[&ann.id];
    assert_eq!(request.roles, Roles::CLIENT, "no wish: a client");
    assert_eq!(request.info.display_name.as_deref(), Some("Ann"));
    assert_eq!(request.info.avatar, None, "avatars are not kept");
    // Asking again only refreshes the request.
    expect(
        &mut book,
        &ann,
        add.clone(),
        RetCode::Success,
        "REQUEST_PENDING",
    );
    // A server may not approve; an operator may.
    let server = actor(3, Roles::SERVER);
    expect(
        &mut book,
        &server,
        approve(&ann),
        RetCode::MemberSecurityIssue,
        "ROLE_NOT_ALLOWED",
    );
    let operator = actor(4, Roles::OPERATOR);
    let handled = book.handle(&operator, approve(&ann), no_id);
    assert_eq!(outcome(&handled), (RetCode::Success, "APPROVED".into()));
    let approved = Effect::Approved {
        cluster: CLUSTER,
        member: ann.id,
        roles: Roles::CLIENT,
    };
    assert_eq!(handled.effect, Some(approved));
    let record = book.get(&CLUSTER).unwrap();
    assert_eq!(
        record.members[&ann.id].info.display_name.as_deref(),
        Some("Ann")
    );
    assert!(record.requests.is_empty());
    expect(
        &mut book,
        &ann,
        add,
        RetCode::ClusterWrongRequest,
        "ALREADY_A_MEMBER",
    );
    expect(
        &mut book,
        &operator,
        approve(&ann),
        RetCode::ClusterWrongRequest,
        "ALREADY_A_MEMBER",
    );
    let nobody = actor(9, Roles::CLIENT);
    expect(
        &mut book,
        &operator,
        approve(&nobody),
        RetCode::MemberNotFound,
        "NO_SUCH_REQUEST",
    );
    let elsewhere = request_add(Guuid::new(5, 5), None);
    expect(
        &mut book,
        &ann,
        elsewhere,
        RetCode::ClusterNotFound,
        "NO_SUCH_CLUSTER",
    );
}

#[test]
fn an_operator_may_not_grant_or_take_away_elevated_roles() {
    let mut book = book();
    let operator = actor(4, Roles::OPERATOR);
    for wish in [
        Roles::HOST,
        Roles::OPERATOR,
        Roles::ALL,
        Roles::SERVER | Roles::HOST,
    ] {
        let mut book = book.clone();
        let who = actor(2, Roles::CLIENT);
        expect(
            &mut book,
            &who,
            request_add(CLUSTER, Some(wish)),
            RetCode::Success,
            "REQUEST_PENDING",
        );
        let security = RetCode::MemberSecurityIssue;
        expect(
            &mut book,
            &operator,
            approve(&who),
            security,
            "ROLE_ESCALATION",
        );
        // A host (not the owner) may.
        let host = actor(5, Roles::HOST);
        expect(
            &mut book,
            &host,
            approve(&who),
            RetCode::Success,
            "APPROVED",
        );
        expect(
            &mut book,
            &operator,
            remove(&who),
            security,
            "ROLE_ESCALATION",
        );
        expect(&mut book, &host, remove(&who), RetCode::Success, "REMOVED");
    }
    let server = actor(2, Roles::CLIENT);
    let wish = Some(Roles::SERVER);
    expect(
        &mut book,
        &server,
        request_add(CLUSTER, wish),
        RetCode::Success,
        "REQUEST_PENDING",
    );
    expect(
        &mut book,
        &operator,
        approve(&server),
        RetCode::Success,
        "APPROVED",
    );
    expect(
        &mut book,
        &operator,
        remove(&server),
        RetCode::Success,
        "REMOVED",
    );
}

#[test]
fn leaving_removing_and_the_owner() {
    let mut book = book();
    let ann = actor(2, Roles::CLIENT);
    let bob = actor(3, Roles::CLIENT);
    join(&mut book, &ann, Roles::CLIENT);
    let del = ClusterRequest::MemberRequestDel(MemberRequestDel { id: CLUSTER });
    let handled = book.handle(&ann, del.clone(), no_id);
    assert_eq!(outcome(&handled), (RetCode::Success, "LEFT".into()));
    let gone = Effect::Removed {
        cluster: CLUSTER,
        member: ann.id,
    };
    assert_eq!(handled.effect, Some(gone));
    expect(
        &mut book,
        &ann,
        del.clone(),
        RetCode::MemberNotFound,
        "NOT_A_MEMBER",
    );
    expect(
        &mut book,
        &bob,
        request_add(CLUSTER, None),
        RetCode::Success,
        "REQUEST_PENDING",
    );
    expect(
        &mut book,
        &bob,
        del.clone(),
        RetCode::Success,
        "REQUEST_WITHDRAWN",
    );
    expect(
        &mut book,
        &owner(),
        del,
        RetCode::ClusterWrongRequest,
        "OWNER_CANNOT_LEAVE",
    );
    // MEMBER_REMOVE: a member, a request (rejected), not the owner.
    join(&mut book, &ann, Roles::CLIENT);
    expect(
        &mut book,
        &bob,
        request_add(CLUSTER, None),
        RetCode::Success,
        "REQUEST_PENDING",
    );
    let operator = actor(4, Roles::OPERATOR);
    expect(
        &mut book,
        &operator,
        remove(&bob),
        RetCode::Success,
        "REQUEST_REJECTED",
    );
    expect(
        &mut book,
        &operator,
        remove(&ann),
        RetCode::Success,
        "REMOVED",
    );
    expect(
        &mut book,
        &operator,
        remove(&ann),
        RetCode::MemberNotFound,
        "NOT_A_MEMBER",
    );
    let the_owner = Actor {
        id: OWNER,
        roles: Roles::CLIENT,
    };
    let wrong = RetCode::ClusterWrongRequest;
    expect(
        &mut book,
        &operator,
        remove(&the_owner),
        wrong,
        "OWNER_CANNOT_BE_REMOVED",
    );
    let client = actor(5, Roles::CLIENT);
    let security = RetCode::MemberSecurityIssue;
    expect(
        &mut book,
        &client,
        remove(&operator),
        security,
        "ROLE_NOT_ALLOWED",
    );
}

#[test]
fn roles_are_assigned_by_the_owner_or_a_host_and_count_in_their_cluster() {
    let mut book = book();
    let ann = actor(2, Roles::CLIENT);
    join(&mut book, &ann, Roles::CLIENT);
    let assign = |member: &Actor, role: Roles| {
        ClusterRequest::RoleAssign(RoleAssign {
            id: CLUSTER,
            member: member.id,
            role,
        })
    };
    let security = RetCode::MemberSecurityIssue;
    let operator = actor(4, Roles::OPERATOR);
    let server = actor(6, Roles::SERVER);
    expect(
        &mut book,
        &operator,
        assign(&ann, Roles::SERVER),
        security,
        "ROLE_NOT_ALLOWED",
    );
    expect(
        &mut book,
        &ann,
        content_add(CONTENT),
        security,
        "ROLE_NOT_ALLOWED",
    );
    let handled = book.handle(&owner(), assign(&ann, Roles::SERVER), no_id);
    assert_eq!(
        outcome(&handled),
        (RetCode::Success, "ROLES_ASSIGNED".into())
    );
    assert!(matches!(
        handled.effect,
        Some(Effect::RolesAssigned {
            roles: Roles::SERVER,
            ..
        })
    ));
    // A server in this cluster may add its content now.
    expect(
        &mut book,
        &ann,
        content_add(CONTENT),
        RetCode::Success,
        "CONTENT_ADDED",
    );
    let host = actor(5, Roles::HOST);
    expect(
        &mut book,
        &host,
        assign(&ann, Roles::CLIENT),
        RetCode::Success,
        "ROLES_ASSIGNED",
    );
    expect(
        &mut book,
        &host,
        assign(&server, Roles::CLIENT),
        RetCode::MemberNotFound,
        "NOT_A_MEMBER",
    );
}

#[test]
fn contents_are_added_listed_and_removed() {
    let mut book = book();
    let server = actor(2, Roles::SERVER);
    let client = actor(3, Roles::CLIENT);
    let operator = actor(4, Roles::OPERATOR);
    let security = RetCode::MemberSecurityIssue;
    expect(
        &mut book,
        &client,
        content_add(CONTENT),
        security,
        "ROLE_NOT_ALLOWED",
    );
    expect(
        &mut book,
        &operator,
        content_add(CONTENT),
        security,
        "ROLE_NOT_ALLOWED",
    );
    expect(
        &mut book,
        &server,
        content_add(CONTENT),
        RetCode::Success,
        "CONTENT_ADDED",
    );
    let again = content_add(CONTENT);
    expect(
        &mut book,
        &server,
        again,
        RetCode::ClusterWrongRequest,
        "CONTENT_EXISTS",
    );
    let stored = &book.get(&CLUSTER).unwrap().contents[&CONTENT];
    assert_eq!(stored.flows.as_str(), "va");
    assert_eq!(stored.codecs, vec![FlowCodec::new(0, "avc1.64001F")]);
    let list = ClusterRequest::ContentListRequest(ContentListRequest { id: CLUSTER });
    let listed = packet(ClusterRequest::ContentListResponse(ContentListResponse {
        id: CLUSTER,
        contents: vec![CONTENT],
    }));
    assert_eq!(book.handle(&owner(), list.clone(), no_id).reply, listed);
    expect(&mut book, &client, list.clone(), security, "NOT_A_MEMBER");
    join(&mut book, &client, Roles::CLIENT);
    assert_eq!(book.handle(&client, list, no_id).reply, listed);
    let del = ClusterRequest::ContentDel(ContentDel {
        id: CLUSTER,
        content_id: CONTENT,
    });
    expect(
        &mut book,
        &client,
        del.clone(),
        security,
        "ROLE_NOT_ALLOWED",
    );
    expect(
        &mut book,
        &operator,
        del.clone(),
        RetCode::Success,
        "CONTENT_REMOVED",
    );
    expect(
        &mut book,
        &operator,
        del,
        RetCode::ContentNotFound,
        "NO_SUCH_CONTENT",
    );
    // A client who is no server anywhere, holding the server role in
    // another cluster only, cannot write here.
    let mut other = book.clone();
    let elsewhere = Guuid::new(8, 8);
    let create = ClusterRequest::Create(Create {
        id: Some(elsewhere),
        options: ClusterOptions::default(),
    });
    assert_eq!(ask(&mut other, &owner(), create).0, RetCode::Success);
    let mut add = content_add(CONTENT);
    if let ClusterRequest::ContentAdd(add) = &mut add {
        add.id = elsewhere;
    }
    expect(&mut other, &client, add, security, "ROLE_NOT_ALLOWED");
}

#[test]
fn contents_are_updated_by_their_writers() {
    let mut book = book();
    let server = actor(2, Roles::SERVER);
    let client = actor(3, Roles::CLIENT);
    expect(
        &mut book,
        &server,
        content_add(CONTENT),
        RetCode::Success,
        "CONTENT_ADDED",
    );
    let update = |title: Option<&str>, flows: Option<&str>, codecs: Vec<FlowCodec>| {
        ClusterRequest::ContentUpdate(ContentUpdate {
            id: CLUSTER,
            content_id: CONTENT,
            title: title.map(str::to_owned),
            flows: flows.map(|f| Flows::new(f).unwrap()),
            codecs,
        })
    };
    let security = RetCode::MemberSecurityIssue;
    let title = update(Some("Stage"), None, vec![]);
    expect(
        &mut book,
        &client,
        title.clone(),
        security,
        "ROLE_NOT_ALLOWED",
    );
    expect(
        &mut book,
        &server,
        title,
        RetCode::Success,
        "CONTENT_UPDATED",
    );
    let stored = |book: &ClusterBook| book.get(&CLUSTER).unwrap().contents[&CONTENT].clone();
    assert_eq!(stored(&book).title.as_deref(), Some("Stage"));
    assert_eq!(stored(&book).codecs.len(), 1, "kept");
    // New codecs for the flows it has; one for a flow it lacks is refused.
    let audio = update(None, None, vec![FlowCodec::new(1, "mp4a.40.2")]);
    expect(
        &mut book,
        &server,
        audio,
        RetCode::Success,
        "CONTENT_UPDATED",
    );
    assert_eq!(stored(&book).codecs, vec![FlowCodec::new(1, "mp4a.40.2")]);
    let stray = update(None, None, vec![FlowCodec::new(5, "opus")]);
    expect(
        &mut book,
        &server,
        stray,
        RetCode::ContentFlowWrongId,
        "NO_SUCH_FLOW",
    );
    // New flows bring their own codecs.
    let video = update(None, Some("v"), vec![FlowCodec::new(0, "hvc1")]);
    expect(
        &mut book,
        &server,
        video,
        RetCode::Success,
        "CONTENT_UPDATED",
    );
    assert_eq!(stored(&book).flows.as_str(), "v");
    let mut gone = update(Some("x"), None, vec![]);
    if let ClusterRequest::ContentUpdate(u) = &mut gone {
        u.content_id = Guuid::new(1, 1);
    }
    expect(
        &mut book,
        &server,
        gone,
        RetCode::ContentNotFound,
        "NO_SUCH_CONTENT",
    );
}

#[test]
fn packets_a_node_only_sends_and_untyped_ones_are_refused() {
    let mut book = book();
    let wrong = RetCode::ClusterWrongRequest;
    let replies = [
        ClusterRequest::ListResponse(ListResponse::default()),
        ClusterRequest::ContentListResponse(ContentListResponse {
            id: CLUSTER,
            contents: vec![],
        }),
    ];
    for reply in replies {
        expect(&mut book, &owner(), reply, wrong, "NOT_A_REQUEST");
    }
    let balance = ClusterRequest::BalanceRequest(Default::default());
    expect(
        &mut book,
        &owner(),
        balance,
        wrong,
        "BALANCE_REQUEST_NOT_HERE",
    );
    for (kind, tag) in [
        (ClusterType::ContentUpdate, "NOT_SUPPORTED"),
        (ClusterType::RouteAdd, "ROUTE_BY_RELAY_SESSION"),
        (ClusterType::RouteDel, "ROUTE_BY_RELAY_SESSION"),
    ] {
        expect(&mut book, &owner(), ClusterRequest::Other(kind), wrong, tag);
    }
}

#[test]
fn bounds_hold() {
    let mut book = ClusterBook::default();
    let mut next = 1u64;
    for _ in 0..MAX_CLUSTERS {
        let handled = book.handle(&owner(), ClusterRequest::Create(Create::default()), || {
            next += 1;
            Guuid::new(next, 0)
        });
        assert_eq!(handled.reply.code(), RetCode::Success);
    }
    let full = book.handle(&owner(), ClusterRequest::Create(Create::default()), || {
        Guuid::new(u64::MAX, 0)
    });
    assert_eq!(outcome(&full), (RetCode::Error, "TOO_MANY_CLUSTERS".into()));
    // The deployment's cluster comes on top.
    assert!(book.ensure_pinned(Guuid::new(0, 1), OWNER, "e2e"));
    assert_eq!(book.len(), MAX_CLUSTERS + 1);

    let mut book = self::book();
    for n in 0..MAX_REQUESTS {
        let who = Actor {
            id: Hash32::from_slice(&[&(n as u32).to_le_bytes()[..], &[0xAA; 28]].concat()).unwrap(),
            roles: Roles::CLIENT,
        };
        assert_eq!(
            ask(&mut book, &who, request_add(CLUSTER, None)).0,
            RetCode::Success
        );
    }
    let late = actor(0xBB, Roles::CLIENT);
    expect(
        &mut book,
        &late,
        request_add(CLUSTER, None),
        RetCode::Error,
        "TOO_MANY_REQUESTS",
    );

    let mut book = self::book();
    let server = actor(2, Roles::SERVER);
    for n in 0..MAX_CONTENTS as u64 {
        assert_eq!(
            ask(&mut book, &server, content_add(Guuid::new(n, 1))).0,
            RetCode::Success
        );
    }
    let one_more = content_add(Guuid::new(u64::MAX, 1));
    expect(
        &mut book,
        &server,
        one_more,
        RetCode::Error,
        "TOO_MANY_CONTENTS",
    );
}

#[test]
fn the_deployment_cluster_mirrors_the_roster_and_stays() {
    let mut book = ClusterBook::default();
    let id = Guuid::new(0xD, 0xD);
    assert!(book.ensure_pinned(id, OWNER, "e2e"));
    assert!(!book.ensure_pinned(id, OWNER, "e2e"));
    let (a, b) = (Hash32([2; 32]), Hash32([3; 32]));
    assert!(book.sync_roster(id, [(a, Roles::SERVER)], [(b, Roles::OPERATOR)]));
    assert!(!book.sync_roster(id, [(a, Roles::SERVER)], [(b, Roles::OPERATOR)]));
    let record = book.get(&id).unwrap();
    assert_eq!(record.members.len(), 2, "the owner and a");
    assert_eq!(record.requests[&b].roles, Roles::OPERATOR);
    let destroy = ClusterRequest::Destroy(Destroy { id });
    expect(
        &mut book,
        &owner(),
        destroy.clone(),
        RetCode::ClusterWrongRequest,
        "DEPLOYMENT_CLUSTER",
    );
    let join = request_add(id, None);
    let wrong = RetCode::ClusterWrongRequest;
    expect(
        &mut book,
        &actor(5, Roles::SERVER),
        join,
        wrong,
        "DEPLOYMENT_CLUSTER",
    );
    // The roster's removal of a reaches the book.
    assert!(book.sync_roster(id, [], []));
    assert_eq!(book.get(&id).unwrap().members.len(), 1);
    // Another cluster_id: the old deployment is an ordinary cluster.
    assert!(book.ensure_pinned(Guuid::new(0xE, 0xE), OWNER, "renamed"));
    expect(&mut book, &owner(), destroy, RetCode::Success, "DESTROYED");
}

#[test]
fn the_book_survives_its_file() {
    let mut book = book();
    let ann = actor(2, Roles::CLIENT);
    join(&mut book, &ann, Roles::SERVER | Roles::CLIENT);
    let bob = actor(3, Roles::CLIENT);
    expect(
        &mut book,
        &bob,
        request_add(CLUSTER, Some(Roles::OPERATOR)),
        RetCode::Success,
        "REQUEST_PENDING",
    );
    expect(
        &mut book,
        &ann,
        content_add(CONTENT),
        RetCode::Success,
        "CONTENT_ADDED",
    );
    assert!(book.ensure_pinned(Guuid::new(0xD, 0xD), OWNER, "deployment"));
    let json = book.to_json();
    let back = ClusterBook::from_json(&json).unwrap();
    assert_eq!(back, book);
    assert_eq!(
        ClusterBook::from_json(b"{\"version\":1,\"clusters\":[]}").unwrap(),
        ClusterBook::default()
    );
}

#[test]
fn a_corrupt_file_is_refused_whole() {
    let book = book();
    let good = String::from_utf8(book.to_json()).unwrap();
    let owner_hex = OWNER.to_hex();
    let bad = [
        good[..good.len() / 2].to_owned(),
        good.replace("\"version\": 1", "\"version\": 2"),
        good.replace(&owner_hex, "not-hex"),
        good.replace("\"LECTURE\"", "\"SEMINAR\""),
        good.replace("\"host\"", "\"king\""),
        good.replace("\"encrypted\": false", "\"encrypted\": false, \"extra\": 1"),
        good.replace("\"Lecture\"", &format!("\"{}\"", "x".repeat(256))),
        good.replace(
            "0000000000000007-0000000000000007",
            "0000000000000000-0000000000000000",
        ),
        String::new(),
    ];
    for text in bad {
        let err = ClusterBook::from_json(text.as_bytes()).unwrap_err();
        assert!(
            matches!(err, crate::ClusterError::BookCorrupt(_)),
            "{text}: {err}"
        );
    }
}

/// Inputs the fuzz target found; kept so they stay answered.
#[test]
fn hostile_requests_never_panic() {
    let mut book = book();
    for &kind in ClusterType::ALL.iter() {
        let who = actor(2, Roles::ALL);
        let _ = book.handle(&who, ClusterRequest::Other(kind), || Guuid::new(3, 3));
    }
}
