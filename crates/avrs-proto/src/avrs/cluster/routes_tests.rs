//! ROUTE_FIND / ROUTE_CHECK and their responses: literal layouts, round
//! trips, and every refusal (short, oversized, undefined, repeated).

use super::tests::{assert_round_trip, encode, guuid, hash, raw, read};
use super::*;
use crate::avrs::{Request, labels};
use crate::error::ProtoError;
use crate::ids::{Guuid, Hash32};
use proptest::prelude::*;

const CONTENT: Guuid = Guuid::new(5, 6);

/// Why `bytes` do not read as an `R`.
fn refusal<R: Request<Kind = ClusterType> + std::fmt::Debug>(bytes: &[u8]) -> ProtoError {
    read::<R>(bytes).unwrap_err()
}

fn candidate(n: u8, cost: u32) -> ParentCandidate {
    ParentCandidate {
        member: Hash32([n; 32]),
        cost,
        depth: 1,
        region: Some(7),
    }
}

#[test]
fn route_find_has_its_literal_layout() {
    let find = RouteFind {
        id: None,
        content_id: CONTENT,
        limit: Some(3),
        exclude: vec![Hash32([0xAB; 32])],
    };
    let expected: Vec<u8> = [
        &[0x42, 0, 0, 0, 0, 0, 0, 0][..],
        &[0x30, 0x00, 16, 0, 0, 0],
        &CONTENT.to_bytes(),
        &[0x50, 0x00, 1, 0, 0, 0, 3],
        &[0x13, 0x00, 32, 0, 0, 0],
        &[0xAB; 32],
    ]
    .concat();
    assert_eq!(encode(&find), expected);
    assert_eq!(read::<RouteFind>(&expected).unwrap(), find);
}

#[test]
fn route_find_response_candidates_have_their_literal_layout() {
    let response = RouteFindResponse {
        id: Some(Guuid::new(1, 0)),
        content_id: CONTENT,
        candidates: vec![
            candidate(1, 100),
            ParentCandidate {
                region: None,
                ..candidate(2, 0x0102_0304)
            },
        ],
    };
    let first: Vec<u8> = [&[1u8; 32][..], &[100, 0, 0, 0], &[1, 1, 7, 0]].concat();
    let second: Vec<u8> = [&[2u8; 32][..], &[4, 3, 2, 1], &[1, 0, 0, 0]].concat();
    let expected: Vec<u8> = [
        &[0x44, 0, 0, 0, 0, 0, 0, 0][..],
        &[0x01, 0x00, 16, 0, 0, 0],
        &Guuid::new(1, 0).to_bytes(),
        &[0x30, 0x00, 16, 0, 0, 0],
        &CONTENT.to_bytes(),
        &[0x51, 0x00, 40, 0, 0, 0],
        &first,
        &[0x51, 0x00, 40, 0, 0, 0],
        &second,
    ]
    .concat();
    assert_eq!(encode(&response), expected);
    assert_eq!(read::<RouteFindResponse>(&expected).unwrap(), response);
}

#[test]
fn route_check_and_its_response_have_their_literal_layout() {
    let check = RouteCheck {
        id: None,
        content_id: CONTENT,
        member: Hash32([9; 32]),
    };
    let target: Vec<u8> = [
        &[0x30, 0x00, 16, 0, 0, 0][..],
        &CONTENT.to_bytes(),
        &[0x13, 0x00, 32, 0, 0, 0],
        &[9; 32],
    ]
    .concat();
    let header = |t: u8| [t, 0, 0, 0, 0, 0, 0, 0];
    assert_eq!(encode(&check), [&header(0x43)[..], &target].concat());
    let response = RouteCheckResponse {
        id: None,
        content_id: CONTENT,
        member: Hash32([9; 32]),
        state: RouteState::Fed,
        upstream: Some(RouteUpstream::Relay {
            parent: Hash32([4; 32]),
            depth: 2,
        }),
    };
    let expected: Vec<u8> = [
        &header(0x45)[..],
        &target,
        &[0x52, 0x00, 1, 0, 0, 0, 1],
        &[0x53, 0x00, 34, 0, 0, 0, 2, 2],
        &[4; 32],
    ]
    .concat();
    assert_eq!(encode(&response), expected);
    assert_eq!(read::<RouteCheckResponse>(&expected).unwrap(), response);
    let origin = RouteUpstream::Origin.to_bytes().unwrap();
    assert_eq!(origin, [&[1u8][..], &[0; 33]].concat()[..]);
    let detached = RouteUpstream::Detached.to_bytes().unwrap();
    assert_eq!(detached[0], 3);
}

#[test]
fn required_items_must_be_present() {
    let content = (ClusterArg::ContentId.code(), &CONTENT.to_bytes()[..]);
    let member = (ClusterArg::Member.code(), &[9u8; 32][..]);
    let state = (ClusterArg::RouteState.code(), &[1u8][..]);
    let missing = |what| ProtoError::Missing { what };
    assert_eq!(
        refusal::<RouteFind>(&raw(ClusterType::RouteFind, &[])),
        missing(labels::CONTENT_ID)
    );
    assert_eq!(
        refusal::<RouteFindResponse>(&raw(ClusterType::RouteFindResponse, &[])),
        missing(labels::CONTENT_ID)
    );
    assert_eq!(
        refusal::<RouteCheck>(&raw(ClusterType::RouteCheck, &[content])),
        missing(labels::MEMBER)
    );
    assert_eq!(
        refusal::<RouteCheck>(&raw(ClusterType::RouteCheck, &[member])),
        missing(labels::CONTENT_ID)
    );
    assert_eq!(
        refusal::<RouteCheckResponse>(&raw(ClusterType::RouteCheckResponse, &[content, member])),
        missing(labels::ROUTE_STATE)
    );
    let bare = raw(ClusterType::RouteCheckResponse, &[content, member, state]);
    let read_back = read::<RouteCheckResponse>(&bare).unwrap();
    assert_eq!(
        (read_back.state, read_back.upstream),
        (RouteState::Fed, None)
    );
}

#[test]
fn short_and_long_values_are_refused() {
    let content = (ClusterArg::ContentId.code(), &CONTENT.to_bytes()[..]);
    let member = (ClusterArg::Member.code(), &[9u8; 32][..]);
    let state = (ClusterArg::RouteState.code(), &[1u8][..]);
    let wrong_size = |what, expected, actual| ProtoError::WrongSize {
        what,
        expected,
        actual,
    };
    for size in [0, 39, 41] {
        let value = vec![0u8; size];
        let item = (ClusterArg::RouteCandidate.code(), &value[..]);
        let bytes = raw(ClusterType::RouteFindResponse, &[content, item]);
        assert_eq!(
            refusal::<RouteFindResponse>(&bytes),
            wrong_size(labels::ROUTE_CANDIDATE, 40, size)
        );
    }
    for size in [0, 33, 35] {
        let value = vec![0u8; size];
        let item = (ClusterArg::RouteUpstream.code(), &value[..]);
        let bytes = raw(
            ClusterType::RouteCheckResponse,
            &[content, member, state, item],
        );
        assert_eq!(
            refusal::<RouteCheckResponse>(&bytes),
            wrong_size(labels::ROUTE_UPSTREAM, 34, size)
        );
    }
    let limit = (ClusterArg::RouteLimit.code(), &[1u8, 0][..]);
    let bytes = raw(ClusterType::RouteFind, &[content, limit]);
    assert!(matches!(
        read::<RouteFind>(&bytes),
        Err(ProtoError::WrongSize {
            what: labels::ROUTE_LIMIT,
            ..
        })
    ));
    let short_member = (ClusterArg::Member.code(), &[9u8; 31][..]);
    let bytes = raw(ClusterType::RouteCheck, &[content, short_member]);
    assert!(matches!(
        read::<RouteCheck>(&bytes),
        Err(ProtoError::WrongSize {
            what: labels::MEMBER,
            ..
        })
    ));
}

#[test]
fn lists_and_limits_are_bounded_both_ways() {
    let content = (ClusterArg::ContentId.code(), &CONTENT.to_bytes()[..]);
    // Exclusions: at most MAX_EXCLUDED.
    let find = RouteFind {
        id: None,
        content_id: CONTENT,
        limit: None,
        exclude: vec![Hash32([1; 32]); MAX_EXCLUDED + 1],
    };
    let too_many_members = ProtoError::TooMany {
        what: labels::MEMBER,
        max: MAX_EXCLUDED,
    };
    assert_eq!(find.to_packet().unwrap_err(), too_many_members);
    let mut items = vec![content];
    items.extend((0..=MAX_EXCLUDED).map(|_| (ClusterArg::Member.code(), &[1u8; 32][..])));
    let bytes = raw(ClusterType::RouteFind, &items);
    assert_eq!(read::<RouteFind>(&bytes), Err(too_many_members));
    // Limits: 1 to MAX_ROUTE_CANDIDATES.
    for (limit, ok) in [
        (0u8, false),
        (1, true),
        (16, true),
        (17, false),
        (255, false),
    ] {
        let find = RouteFind {
            limit: Some(limit),
            exclude: Vec::new(),
            ..find.clone()
        };
        assert_eq!(find.to_packet().is_ok(), ok, "limit {limit}");
        let value = [limit];
        let bytes = raw(
            ClusterType::RouteFind,
            &[content, (ClusterArg::RouteLimit.code(), &value[..])],
        );
        let got = read::<RouteFind>(&bytes);
        assert_eq!(got.is_ok(), ok, "limit {limit}: {got:?}");
        if let Err(err) = got {
            assert_eq!(labels::label_of(&err), Some(labels::ROUTE_LIMIT));
        }
    }
    // Candidates: at most MAX_ROUTE_CANDIDATES.
    let many: Vec<ParentCandidate> = (0..=MAX_ROUTE_CANDIDATES as u8)
        .map(|n| candidate(n, 100))
        .collect();
    let response = RouteFindResponse {
        id: None,
        content_id: CONTENT,
        candidates: many.clone(),
    };
    let too_many_candidates = ProtoError::TooMany {
        what: labels::ROUTE_CANDIDATE,
        max: MAX_ROUTE_CANDIDATES,
    };
    assert_eq!(response.to_packet().unwrap_err(), too_many_candidates);
    let values: Vec<[u8; 40]> = many.iter().map(|c| c.to_bytes()).collect();
    let mut items = vec![content];
    items.extend(
        values
            .iter()
            .map(|v| (ClusterArg::RouteCandidate.code(), &v[..])),
    );
    let bytes = raw(ClusterType::RouteFindResponse, &items);
    assert_eq!(read::<RouteFindResponse>(&bytes), Err(too_many_candidates));
}

#[test]
fn candidates_are_distinct_and_best_first() {
    let response = |candidates| RouteFindResponse {
        id: None,
        content_id: CONTENT,
        candidates,
    };
    let twice = response(vec![candidate(1, 100), candidate(1, 200)]);
    assert_eq!(
        twice.to_packet().unwrap_err(),
        ProtoError::Duplicate {
            what: labels::ROUTE_CANDIDATE
        }
    );
    let worse_first = response(vec![candidate(1, 200), candidate(2, 100)]);
    assert!(matches!(
        worse_first.to_packet().unwrap_err(),
        ProtoError::Malformed {
            what: labels::ROUTE_CANDIDATE,
            ..
        }
    ));
    // The same refusals when read.
    let content = (ClusterArg::ContentId.code(), &CONTENT.to_bytes()[..]);
    for pair in [twice.candidates, worse_first.candidates] {
        let (a, b) = (pair[0].to_bytes(), pair[1].to_bytes());
        let code = ClusterArg::RouteCandidate.code();
        let bytes = raw(
            ClusterType::RouteFindResponse,
            &[content, (code, &a[..]), (code, &b[..])],
        );
        assert!(read::<RouteFindResponse>(&bytes).is_err());
    }
    // Equal costs in any order, and an empty answer, are fine.
    assert_round_trip(&response(vec![candidate(2, 100), candidate(1, 100)]));
    assert_round_trip(&response(Vec::new()));
}

#[test]
fn undefined_values_are_refused() {
    let malformed = |bytes: &[u8], what| {
        let err = ParentCandidate::from_slice(bytes)
            .map(|_| ())
            .or_else(|_| RouteUpstream::from_slice(bytes).map(|_| ()))
            .unwrap_err();
        assert_eq!(labels::label_of(&err), Some(what), "{err}");
    };
    // A region flag of 2; a region without its flag.
    let mut value = candidate(1, 1).to_bytes();
    value[37] = 2;
    assert!(ParentCandidate::from_slice(&value).is_err());
    value[37] = 0;
    assert!(ParentCandidate::from_slice(&value).is_err());
    value[38..].copy_from_slice(&[0, 0]);
    assert_eq!(ParentCandidate::from_slice(&value).unwrap().region, None);
    // Upstream kinds 0 and 4; depth or parent on an origin or a detached
    // node; a relay at depth 0.
    let mut upstream = [0u8; 34];
    for kind in [0u8, 4, 0xFF] {
        upstream[0] = kind;
        assert_eq!(
            RouteUpstream::from_slice(&upstream),
            Err(ProtoError::UnknownValue {
                what: labels::ROUTE_UPSTREAM,
                value: u32::from(kind)
            })
        );
    }
    for kind in [1u8, 3] {
        upstream = [0; 34];
        upstream[0] = kind;
        upstream[1] = 1;
        malformed(&upstream, labels::ROUTE_UPSTREAM);
        upstream[1] = 0;
        upstream[33] = 1;
        malformed(&upstream, labels::ROUTE_UPSTREAM);
    }
    upstream = [2; 34];
    upstream[1] = 0;
    malformed(&upstream, labels::ROUTE_UPSTREAM);
    let zero_relay = RouteUpstream::Relay {
        parent: Hash32([2; 32]),
        depth: 0,
    };
    assert!(zero_relay.to_bytes().is_err());
    // ROUTE_STATE 0 and 4.
    let content = (ClusterArg::ContentId.code(), &CONTENT.to_bytes()[..]);
    let member = (ClusterArg::Member.code(), &[9u8; 32][..]);
    for state in [0u8, 4] {
        let value = [state];
        let bytes = raw(
            ClusterType::RouteCheckResponse,
            &[content, member, (ClusterArg::RouteState.code(), &value[..])],
        );
        assert_eq!(
            read::<RouteCheckResponse>(&bytes),
            Err(ProtoError::UnknownValue {
                what: labels::ROUTE_STATE,
                value: u32::from(state)
            })
        );
    }
}

#[test]
fn single_items_may_not_repeat_and_foreign_ones_are_refused() {
    let content = (ClusterArg::ContentId.code(), &CONTENT.to_bytes()[..]);
    let member = (ClusterArg::Member.code(), &[9u8; 32][..]);
    let limit = (ClusterArg::RouteLimit.code(), &[2u8][..]);
    let state = (ClusterArg::RouteState.code(), &[2u8][..]);
    let duplicate = |what| ProtoError::Duplicate { what };
    let bytes = raw(ClusterType::RouteFind, &[content, limit, limit]);
    assert_eq!(refusal::<RouteFind>(&bytes), duplicate(labels::ROUTE_LIMIT));
    let bytes = raw(ClusterType::RouteFind, &[content, content]);
    assert_eq!(refusal::<RouteFind>(&bytes), duplicate(labels::CONTENT_ID));
    let bytes = raw(ClusterType::RouteCheck, &[content, member, member]);
    assert_eq!(refusal::<RouteCheck>(&bytes), duplicate(labels::MEMBER));
    let bytes = raw(
        ClusterType::RouteCheckResponse,
        &[content, member, state, state],
    );
    assert_eq!(
        refusal::<RouteCheckResponse>(&bytes),
        duplicate(labels::ROUTE_STATE)
    );
    let not_allowed = |code: u16| ProtoError::UnknownValue {
        what: labels::ARG_NOT_ALLOWED,
        value: u32::from(code),
    };
    let bytes = raw(ClusterType::RouteCheck, &[content, member, limit]);
    assert_eq!(refusal::<RouteCheck>(&bytes), not_allowed(limit.0));
    let bytes = raw(ClusterType::RouteFind, &[content, state]);
    assert_eq!(refusal::<RouteFind>(&bytes), not_allowed(state.0));
}

fn parent_candidate() -> impl Strategy<Value = ParentCandidate> {
    (hash(), any::<u32>(), any::<u8>(), any::<Option<u16>>()).prop_map(
        |(member, cost, depth, region)| ParentCandidate {
            member,
            cost,
            depth,
            region,
        },
    )
}

fn upstream() -> impl Strategy<Value = Option<RouteUpstream>> {
    prop_oneof![
        Just(None),
        Just(Some(RouteUpstream::Origin)),
        Just(Some(RouteUpstream::Detached)),
        (hash(), 1..=u8::MAX)
            .prop_map(|(parent, depth)| Some(RouteUpstream::Relay { parent, depth })),
    ]
}

proptest! {
    #[test]
    fn route_requests_round_trip(
        id in proptest::option::of(guuid()),
        content_id in guuid(),
        limit in proptest::option::of(1..=MAX_ROUTE_CANDIDATES as u8),
        exclude in proptest::collection::vec(hash(), 0..=MAX_EXCLUDED),
        member in hash(),
        state in proptest::sample::select(RouteState::ALL),
        upstream in upstream(),
    ) {
        assert_round_trip(&RouteFind { id, content_id, limit, exclude });
        assert_round_trip(&RouteCheck { id, content_id, member });
        assert_round_trip(&RouteCheckResponse { id, content_id, member, state, upstream });
    }

    #[test]
    fn route_find_responses_round_trip(
        id in proptest::option::of(guuid()),
        content_id in guuid(),
        candidates in proptest::collection::vec(parent_candidate(), 0..=MAX_ROUTE_CANDIDATES),
    ) {
        let mut candidates = candidates;
        candidates.sort_by_key(|c| c.cost);
        let mut seen = std::collections::HashSet::new();
        candidates.retain(|c| seen.insert(c.member));
        assert_round_trip(&RouteFindResponse { id, content_id, candidates });
    }
}
