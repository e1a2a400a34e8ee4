//! The session state machines, both sides, with real signatures.

use super::*;
use avrs_crypto::{Algorithm, SigningKey, sign_packet};
use avrs_proto::avrs::quic::{self, FIRST_CONTENT_ID};
use avrs_proto::avrs::session::{Close, Open};

const BINDING: [u8; 32] = [0x42; 32];

fn key() -> SigningKey {
    SigningKey::from_seed(Algorithm::Ed25519, &[9; 32]).unwrap()
}

fn signed_open(binding: [u8; 32]) -> Vec<u8> {
    let unsigned = BoundOpen::new(binding).to_packet().unwrap().finish();
    sign_packet(&unsigned, SESSION_SIGN_CODE, &key()).unwrap()
}

fn opened() -> ServerSession {
    let mut session = ServerSession::new(BINDING);
    let step = session.handle(SubType::Session, &signed_open(BINDING));
    assert!(matches!(step, Step::Opened { .. }), "{step:?}");
    session
}

fn refused_with(step: Step) -> (RetCode, String, CloseCode) {
    match step {
        Step::Refuse { reply, close } => (reply.code, reply.text, close),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn a_signed_bound_open_opens_the_session_under_the_key_id() {
    let mut session = ServerSession::new(BINDING);
    assert_eq!(session.id(), None);
    let step = session.handle(SubType::Session, &signed_open(BINDING));
    assert_eq!(
        step,
        Step::Opened {
            id: key().id(),
            reply: RetCodePacket::new(RetCode::Success),
            resume: false,
        }
    );
    assert_eq!(session.id(), Some(key().id()));
    // A second OPEN on the same connection.
    assert_eq!(
        session.handle(SubType::Session, &signed_open(BINDING)),
        Step::Reply(RetCodePacket::new(RetCode::SessionAlreadyOpened))
    );
}

#[test]
fn an_open_from_another_connection_is_refused() {
    let mut session = ServerSession::new(BINDING);
    let (code, text, close) = refused_with(session.handle(SubType::Session, &signed_open([1; 32])));
    assert_eq!(
        (code, text.as_str(), close),
        (
            RetCode::SignIncorrect,
            BINDING_MISMATCH,
            CloseCode::SessionRefused
        )
    );
    assert_eq!(session.id(), None);
}

#[test]
fn unsigned_tampered_and_unbound_opens_are_refused() {
    let unsigned = BoundOpen::new(BINDING).to_packet().unwrap().finish();
    let (code, ..) = refused_with(ServerSession::new(BINDING).handle(SubType::Session, &unsigned));
    assert_eq!(code, RetCode::SignNotPresent);

    let mut tampered = signed_open(BINDING);
    tampered[20] ^= 1; // inside the binding value
    let (code, text, _) =
        refused_with(ServerSession::new(BINDING).handle(SubType::Session, &tampered));
    assert_eq!(
        (code, text.as_str()),
        (RetCode::SignIncorrect, "PKT_SIGN_DOESNT_PASS_VERIFICATION")
    );

    // The reference OPEN (no binding), properly signed: not bound, refused.
    let plain = sign_packet(
        &Open.to_packet().unwrap().finish(),
        SESSION_SIGN_CODE,
        &key(),
    )
    .unwrap();
    let (code, ..) = refused_with(ServerSession::new(BINDING).handle(SubType::Session, &plain));
    assert_eq!(code, RetCode::ArgIncorrect);

    let (code, ..) =
        refused_with(ServerSession::new(BINDING).handle(SubType::Session, b"random bytes"));
    assert_eq!(
        code,
        RetCode::SessionWrongRequest,
        "type byte 'r' is unknown"
    );
    let (code, ..) = refused_with(ServerSession::new(BINDING).handle(SubType::Session, &[1, 0]));
    assert_eq!(code, RetCode::ArgIncorrect, "short header");
}

#[test]
fn nothing_but_open_before_the_session_is_open() {
    let close = Close.to_packet().unwrap().finish();
    let (code, _, close_code) =
        refused_with(ServerSession::new(BINDING).handle(SubType::Session, &close));
    assert_eq!(
        (code, close_code),
        (RetCode::SessionNotOpened, CloseCode::SessionRefused)
    );
    let (code, ..) = refused_with(ServerSession::new(BINDING).handle(SubType::Cluster, &[1; 8]));
    assert_eq!(code, RetCode::SessionNotOpened);
    assert_eq!(
        ServerSession::new(BINDING).handle(SubType::RetCode, &[0; 8]),
        Step::Ignore
    );
}

#[test]
fn content_add_hands_out_the_lowest_free_id_and_remove_frees_it() {
    let mut session = opened();
    let add = ContentRequest::watch("live/a")
        .to_packet()
        .unwrap()
        .finish();
    assert_eq!(
        session.handle(SubType::Session, &add),
        Step::Watch {
            content_id: FIRST_CONTENT_ID,
            request: ContentRequest::watch("live/a"),
        }
    );
    assert!(matches!(
        session.handle(SubType::Session, &add),
        Step::Watch { content_id: 2, .. }
    ));
    let remove = |id| {
        ContentRemove { content_id: id }
            .to_packet()
            .unwrap()
            .finish()
    };
    assert!(matches!(
        session.handle(SubType::Session, &remove(1)),
        Step::Unwatch { content_id: 1, .. }
    ));
    assert_eq!(
        session.handle(SubType::Session, &remove(1)),
        Step::Reply(RetCodePacket::new(RetCode::SessionContentIdWrong)),
        "already removed"
    );
    session.watch_failed(2);
    assert_eq!(
        session.handle(SubType::Session, &remove(2)),
        Step::Reply(RetCodePacket::new(RetCode::SessionContentIdWrong))
    );
    assert!(
        matches!(
            session.handle(SubType::Session, &add),
            Step::Watch { content_id: 1, .. }
        ),
        "the lowest id confirmed free is reused"
    );
    assert!(matches!(
        session.handle(SubType::Session, &add),
        Step::Watch { content_id: 2, .. }
    ));
}

#[test]
fn bad_requests_after_open_get_a_reply_and_the_session_goes_on() {
    let mut session = opened();
    let nothing = ContentRequest {
        flags: avrs_proto::avrs::ContentFlags::empty(),
        ..ContentRequest::watch("live/a")
    };
    let step = session.handle(SubType::Session, &nothing.to_packet().unwrap().finish());
    assert!(
        matches!(&step, Step::Reply(r) if r.code == RetCode::ContentUnavailable),
        "{step:?}"
    );
    let step = session.handle(SubType::Session, b"\x10\0\0\0\0\0\0\0\x02\x01\x01\0\0\0x");
    assert!(
        matches!(&step, Step::Reply(r) if r.code == RetCode::ArgIncorrect),
        "unterminated name: {step:?}"
    );
    let cluster = [SessionType::ClusterAdd.code(), 0, 0, 0, 0, 0, 0, 0];
    assert_eq!(
        session.handle(SubType::Session, &cluster),
        Step::Cluster {
            kind: SessionType::ClusterAdd
        }
    );
    let keepalive = [SessionType::Update.code(), 0, 0, 0, 0, 0, 0, 0];
    assert_eq!(
        session.handle(SubType::Session, &keepalive),
        Step::Reply(RetCodePacket::new(RetCode::Success))
    );
    let unknown_slot = avrs_proto::avrs::quic::ContentControl {
        content_id: 9,
        state: Some(avrs_proto::avrs::ContentState::Paused),
        seek: None,
    };
    assert_eq!(
        session.handle(
            SubType::Session,
            &unknown_slot.to_packet().unwrap().finish()
        ),
        Step::Reply(RetCodePacket::new(RetCode::SessionContentIdWrong))
    );
    // A request signed by someone else than the session's key.
    let other = SigningKey::from_seed(Algorithm::Ed25519, &[1; 32]).unwrap();
    let add = ContentRequest::watch("live/a")
        .to_packet()
        .unwrap()
        .finish();
    let alien = sign_packet(&add, SESSION_SIGN_CODE, &other).unwrap();
    let step = session.handle(SubType::Session, &alien);
    assert!(
        matches!(&step, Step::Reply(r) if r.code == RetCode::SignAlien),
        "{step:?}"
    );
    let own = sign_packet(&add, SESSION_SIGN_CODE, &key()).unwrap();
    assert!(matches!(
        session.handle(SubType::Session, &own),
        Step::Watch { .. }
    ));
    assert_eq!(
        session.handle(SubType::Session, &Close.to_packet().unwrap().finish()),
        Step::Close {
            reply: RetCodePacket::new(RetCode::Success)
        }
    );
}

#[test]
fn framing_errors_close_with_protocol_violation() {
    let session = ServerSession::new(BINDING);
    let err = ProtoError::Missing { what: "x" };
    let (code, _, close) = refused_with(session.framing_error(&err));
    assert_eq!(
        (code, close),
        (RetCode::ArgIncorrect, CloseCode::ProtocolViolation)
    );
}

#[test]
fn client_matches_replies_to_requests_in_order() {
    let mut client = ClientSession::default();
    client.sent(SessionType::Open);
    client.sent(SessionType::ContentAdd);
    let ok = RetCodePacket::new(RetCode::Success).encode().unwrap();
    assert_eq!(
        client.handle(SubType::RetCode, &ok),
        Ok(ClientEvent::Opened)
    );
    let info = quic::ContentInfo {
        content_id: 1,
        flows: avrs_proto::avrs::Flows::new("va").unwrap(),
        tracks: vec![],
        origin: None,
        key: None,
    };
    assert_eq!(
        client.handle(SubType::Session, &info.encode().unwrap()),
        Ok(ClientEvent::Info(info))
    );
    let added = content_added(7).encode().unwrap();
    assert_eq!(
        client.handle(SubType::RetCode, &added),
        Ok(ClientEvent::Watching {
            content_id: 7,
            rendition: None,
            route: None,
            key_from: None,
        })
    );
    // A relay's grant names its path; a malformed one is an error.
    let a = avrs_proto::Hash32([0xaa; 32]);
    let b = avrs_proto::Hash32([0xbb; 32]);
    let granted = RetCodePacket::with_text(
        RetCode::Success,
        format!("3 route={},{}", a.to_hex(), b.to_hex()),
    );
    client.sent(SessionType::ContentAdd);
    assert_eq!(
        client.handle(SubType::RetCode, &granted.encode().unwrap()),
        Ok(ClientEvent::Watching {
            content_id: 3,
            rendition: None,
            route: Some(vec![a, b]),
            key_from: None,
        })
    );
    // A content sealed by its origin: where to get the key.
    let keyed = RetCodePacket::with_text(RetCode::Success, "4 key_from=127.0.0.1:4433");
    client.sent(SessionType::ContentAdd);
    assert_eq!(
        client.handle(SubType::RetCode, &keyed.encode().unwrap()),
        Ok(ClientEvent::Watching {
            content_id: 4,
            rendition: None,
            route: None,
            key_from: Some("127.0.0.1:4433".parse().unwrap()),
        })
    );
    client.sent(SessionType::ContentAdd);
    let bad = RetCodePacket::with_text(RetCode::Success, "3 route=zz");
    assert!(
        client
            .handle(SubType::RetCode, &bad.encode().unwrap())
            .is_err()
    );
    assert_eq!(
        client.handle(SubType::Session, &ended_notice(7)),
        Ok(ClientEvent::Ended { content_id: 7 })
    );
    assert!(
        client.handle(SubType::RetCode, &ok).is_err(),
        "no request pending"
    );
}

#[test]
fn client_reports_refusals_with_the_request_name() {
    let mut client = ClientSession::default();
    client.sent(SessionType::ContentAdd);
    let missing = content_not_found(&ContentTarget::Name("live/x".into()));
    assert_eq!(missing.text, "CONTENT_NOT_FOUND live/x");
    assert_eq!(
        client.handle(SubType::RetCode, &missing.encode().unwrap()),
        Ok(ClientEvent::Refused {
            request: "CONTENT_ADD",
            reply: missing
        })
    );
}

#[test]
fn cluster_packets_go_to_the_balancer_or_to_cluster_control() {
    use avrs_proto::avrs::Request as _;
    use avrs_proto::avrs::cluster::{BalanceRequest, CLUSTER_SIGN_CODE, Create};
    let mut session = opened();
    let request = BalanceRequest {
        id: None,
        content_id: Some(avrs_proto::Guuid::new(1, 1)),
        exclude: vec![Hash32([3; 32])],
    };
    let bytes = request.to_packet().unwrap().finish();
    assert_eq!(
        session.handle(SubType::Cluster, &bytes),
        Step::Balance { request }
    );
    let create = Create::default().to_packet().unwrap().finish();
    assert_eq!(
        session.handle(SubType::Cluster, &create),
        Step::ClusterControl {
            request: ClusterRequest::Create(Create::default())
        }
    );
    // Signed by the session's key: the same; by another key: refused.
    let own = sign_packet(&create, CLUSTER_SIGN_CODE, &key()).unwrap();
    let step = session.handle(SubType::Cluster, &own);
    assert!(matches!(step, Step::ClusterControl { .. }), "{step:?}");
    let other = SigningKey::from_seed(Algorithm::Ed25519, &[7; 32]).unwrap();
    let alien = sign_packet(&create, CLUSTER_SIGN_CODE, &other).unwrap();
    let step = session.handle(SubType::Cluster, &alien);
    assert!(
        matches!(&step, Step::Reply(r) if r.code == RetCode::SignAlien),
        "{step:?}"
    );
    // An unknown type: the decoder's code.
    let step = session.handle(SubType::Cluster, &[0x07, 0, 0, 0, 0, 0, 0, 0]);
    assert!(
        matches!(&step, Step::Reply(r) if r.code == RetCode::ClusterWrongRequest),
        "{step:?}"
    );
}

#[test]
fn client_takes_a_book_sync_response_only_for_its_book_sync() {
    use avrs_proto::avrs::Request as _;
    use avrs_proto::avrs::cluster::{BookStamp, BookSyncResponse};
    let response = BookSyncResponse {
        nonce: [1; 16],
        stamp: BookStamp {
            revision: 1,
            digest: Hash32([2; 32]),
        },
        size: 10,
        chunk: None,
    };
    let bytes = response.to_packet().unwrap().finish();
    let mut client = ClientSession::default();
    assert!(client.handle(SubType::Cluster, &bytes).is_err(), "unasked");
    client.sent_book_sync();
    assert_eq!(
        client.handle(SubType::Cluster, &bytes),
        Ok(ClientEvent::BookSynced(bytes.clone()))
    );
    client.sent_book_sync();
    let refusal = RetCodePacket::with_text(RetCode::MemberSecurityIssue, "NOT_AN_OPERATOR");
    assert_eq!(
        client.handle(SubType::RetCode, &refusal.encode().unwrap()),
        Ok(ClientEvent::Refused {
            request: "BOOK_SYNC",
            reply: refusal
        })
    );
}
