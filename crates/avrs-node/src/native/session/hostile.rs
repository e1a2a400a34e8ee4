//! The hostile-input table of the session layer (41 rows): each row is bytes a
//! client could send, the return code the server answers with, and whether
//! the connection is closed (before OPEN) or the session goes on (after).
//! After every row that leaves the session open, a valid CONTENT_ADD still
//! works: nothing a client sends wedges its own session, and other sessions
//! are separate `ServerSession`s (the e2e `native` tests show them playing
//! on through garbage). Token rows (expired, wrong role, forged…) are in
//! `avrs-auth/tests/hostile.rs`; tampered content frames in `verify` and
//! `avrs_crypto::frame` tests.

use super::*;
use avrs_crypto::{Algorithm, SigningKey, sign_packet};
use avrs_proto::avrs::cluster::ClusterArg;
use avrs_proto::avrs::quic::{self, arg};
use avrs_proto::avrs::session::{Close, ContentRemove};
use avrs_proto::avrs::{ContentFlags, ContentState};

const BINDING: [u8; 32] = [0x42; 32];

fn key() -> SigningKey {
    SigningKey::from_seed(Algorithm::Ed25519, &[9; 32]).unwrap()
}

fn alien() -> SigningKey {
    SigningKey::from_seed(Algorithm::Ed25519, &[7; 32]).unwrap()
}

fn sign(unsigned: &[u8], key: &SigningKey) -> Vec<u8> {
    sign_packet(unsigned, SESSION_SIGN_CODE, key).unwrap()
}

fn open_with(binding: [u8; 32], edit: impl FnOnce(&mut BoundOpen)) -> Vec<u8> {
    let mut open = BoundOpen::new(binding);
    edit(&mut open);
    open.to_packet().unwrap().finish()
}

fn signed_open() -> Vec<u8> {
    sign(&open_with(BINDING, |_| {}), &key())
}

/// A packet of `kind` with raw `(code, value)` items, unsigned.
fn packet(kind: SessionType, items: &[(u16, &[u8])]) -> Vec<u8> {
    let mut builder = avrs_proto::avrs::ControlBuilder::new(kind);
    for (code, value) in items {
        builder.args_mut().put(*code, value).unwrap();
    }
    builder.finish()
}

fn add(name: &str) -> Vec<u8> {
    ContentRequest::watch(name).to_packet().unwrap().finish()
}

/// What the server did with a row.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Reply(RetCode),
    Closed(RetCode, CloseCode),
}

fn outcome(step: Step) -> Outcome {
    match step {
        Step::Reply(reply) => Outcome::Reply(reply.code),
        Step::Refuse { reply, close } => Outcome::Closed(reply.code, close),
        other => panic!("expected a refusal or an error reply, got {other:?}"),
    }
}

fn fresh() -> ServerSession {
    ServerSession::new(BINDING)
}

fn opened() -> ServerSession {
    let mut session = fresh();
    assert!(matches!(
        session.handle(SubType::Session, &signed_open()),
        Step::Opened { .. }
    ));
    session
}

struct Row {
    what: &'static str,
    open_first: bool,
    subtype: SubType,
    bytes: Vec<u8>,
    expected: Outcome,
}

fn row(what: &'static str, open_first: bool, bytes: Vec<u8>, expected: Outcome) -> Row {
    Row {
        what,
        open_first,
        subtype: SubType::Session,
        bytes,
        expected,
    }
}

fn before_open_rows() -> Vec<Row> {
    use Outcome::Closed;
    let refused = CloseCode::SessionRefused;
    let mut truncated_sign = signed_open();
    truncated_sign.truncate(truncated_sign.len() - 10);
    let mut tampered = signed_open();
    tampered[20] ^= 1;
    let mut corrupt_signature = signed_open();
    let last = corrupt_signature.len() - 1;
    corrupt_signature[last] ^= 0x40;
    // The SIGN item is what signing appended; a second, identical one
    // after it.
    let signed = signed_open();
    let sign_item_len = signed.len() - open_with(BINDING, |_| {}).len();
    let mut two_signs = signed.clone();
    two_signs.extend_from_slice(&signed[signed.len() - sign_item_len..]);
    let mut overrun = open_with(BINDING, |_| {});
    overrun[10..14].copy_from_slice(&u32::MAX.to_le_bytes());
    vec![
        row(
            "empty message",
            false,
            vec![],
            Closed(RetCode::ArgIncorrect, refused),
        ),
        row(
            "header cut short",
            false,
            vec![1, 0, 0],
            Closed(RetCode::ArgIncorrect, refused),
        ),
        row(
            "unsigned OPEN",
            false,
            open_with(BINDING, |_| {}),
            Closed(RetCode::SignNotPresent, refused),
        ),
        row(
            "OPEN altered under its signature",
            false,
            tampered,
            Closed(RetCode::SignIncorrect, refused),
        ),
        row(
            "OPEN with a corrupted signature",
            false,
            corrupt_signature,
            Closed(RetCode::SignIncorrect, refused),
        ),
        row(
            "OPEN with SIGN cut short (its item runs past the end: malformed TSD)",
            false,
            truncated_sign,
            Closed(RetCode::ArgIncorrect, refused),
        ),
        row(
            "OPEN with SIGN duplicated",
            false,
            two_signs,
            Closed(RetCode::SignIncorrect, refused),
        ),
        row(
            "OPEN replayed from another connection",
            false,
            sign(&open_with([1; 32], |_| {}), &key()),
            Closed(RetCode::SignIncorrect, refused),
        ),
        row(
            "OPEN item length past the end",
            false,
            overrun,
            Closed(RetCode::ArgIncorrect, refused),
        ),
        row(
            "OPEN with an oversized token",
            false,
            sign(
                &packet(
                    SessionType::Open,
                    &[
                        (arg::CONNECTION_BINDING, &BINDING),
                        (arg::ACCESS_TOKEN, &[b'a'; 9000]),
                    ],
                ),
                &key(),
            ),
            Closed(RetCode::ArgIncorrect, refused),
        ),
        row(
            "OPEN with a binding of the wrong size",
            false,
            sign(
                &packet(SessionType::Open, &[(arg::CONNECTION_BINDING, &[0x42; 31])]),
                &key(),
            ),
            Closed(RetCode::ArgIncorrect, refused),
        ),
        row(
            "OPEN with two bindings",
            false,
            sign(
                &packet(
                    SessionType::Open,
                    &[
                        (arg::CONNECTION_BINDING, &BINDING),
                        (arg::CONNECTION_BINDING, &BINDING),
                    ],
                ),
                &key(),
            ),
            Closed(RetCode::ArgIncorrect, refused),
        ),
        row(
            "OPEN with a foreign argument",
            false,
            sign(
                &packet(
                    SessionType::Open,
                    &[
                        (arg::CONNECTION_BINDING, &BINDING),
                        (arg::CONTENT_NAME, b"x\0"),
                    ],
                ),
                &key(),
            ),
            Closed(RetCode::ArgIncorrect, refused),
        ),
        row(
            "CONTENT_ADD before OPEN",
            false,
            add("live/a"),
            Closed(RetCode::SessionNotOpened, refused),
        ),
        row(
            "CLOSE before OPEN",
            false,
            Close.to_packet().unwrap().finish(),
            Closed(RetCode::SessionNotOpened, refused),
        ),
        row(
            "UPDATE before OPEN",
            false,
            packet(SessionType::Update, &[]),
            Closed(RetCode::SessionNotOpened, refused),
        ),
        row(
            "unknown session type before OPEN",
            false,
            vec![0x7F, 0, 0, 0, 0, 0, 0, 0],
            Closed(RetCode::SessionWrongRequest, refused),
        ),
    ]
}

fn after_open_rows() -> Vec<Row> {
    use Outcome::Reply;
    let own = |bytes: &[u8]| sign(bytes, &key());
    let mut corrupt = own(&add("live/a"));
    let last = corrupt.len() - 1;
    corrupt[last] ^= 0x01;
    let long_name = format!("live/{}", "n".repeat(300));
    vec![
        row(
            "a second OPEN",
            true,
            signed_open(),
            Reply(RetCode::SessionAlreadyOpened),
        ),
        row(
            "request signed by another key",
            true,
            sign(&add("live/a"), &alien()),
            Reply(RetCode::SignAlien),
        ),
        row(
            "request with a corrupted signature",
            true,
            corrupt,
            Reply(RetCode::SignIncorrect),
        ),
        row(
            "content name not terminated",
            true,
            packet(
                SessionType::ContentAdd,
                &[(arg::CONTENT_NAME, b"live/a"), (0x0022, &[1, 0, 0, 0])],
            ),
            Reply(RetCode::ArgIncorrect),
        ),
        row(
            "content name over 255 bytes",
            true,
            packet(
                SessionType::ContentAdd,
                &[
                    (arg::CONTENT_NAME, format!("{long_name}\0").as_bytes()),
                    (0x0022, &[1, 0, 0, 0]),
                ],
            ),
            Reply(RetCode::ArgIncorrect),
        ),
        row(
            "content name given twice",
            true,
            packet(
                SessionType::ContentAdd,
                &[(arg::CONTENT_NAME, b"a\0"), (arg::CONTENT_NAME, b"b\0")],
            ),
            Reply(RetCode::ArgIncorrect),
        ),
        row(
            "CONTENT_ADD without STREAMING_OUT",
            true,
            ContentRequest {
                flags: ContentFlags::empty(),
                ..ContentRequest::watch("live/a")
            }
            .to_packet()
            .unwrap()
            .finish(),
            Reply(RetCode::ContentUnavailable),
        ),
        row(
            "start position of the wrong size",
            true,
            packet(
                SessionType::ContentAdd,
                &[
                    (arg::CONTENT_NAME, b"vod/1\0"),
                    (0x0022, &[2, 0, 0, 0]),
                    (arg::START_POSITION, &[1, 2, 3]),
                ],
            ),
            Reply(RetCode::ArgIncorrect),
        ),
        row(
            "RELAY flag with a value other than 1",
            true,
            packet(
                SessionType::ContentAdd,
                &[
                    (arg::CONTENT_NAME, b"live/a\0"),
                    (0x0022, &[1, 0, 0, 0]),
                    (arg::RELAY, &[2]),
                ],
            ),
            Reply(RetCode::ArgIncorrect),
        ),
        row(
            "KEY_ONLY given twice",
            true,
            packet(
                SessionType::ContentAdd,
                &[
                    (arg::CONTENT_NAME, b"live/a\0"),
                    (0x0022, &[1, 0, 0, 0]),
                    (arg::KEY_ONLY, &[1]),
                    (arg::KEY_ONLY, &[1]),
                ],
            ),
            Reply(RetCode::ArgIncorrect),
        ),
        row(
            "quality of an unknown kind",
            true,
            packet(
                SessionType::ContentAdd,
                &[
                    (arg::CONTENT_NAME, b"vod/1\0"),
                    (0x0022, &[2, 0, 0, 0]),
                    (arg::QUALITY, &[9, 0, 0, 0, 0]),
                ],
            ),
            Reply(RetCode::ArgIncorrect),
        ),
        row(
            "CONTENT_REMOVE of a slot it never had",
            true,
            ContentRemove { content_id: 5 }
                .to_packet()
                .unwrap()
                .finish(),
            Reply(RetCode::SessionContentIdWrong),
        ),
        row(
            "CONTENT_REMOVE with a short id (a content-id error, as retcode_for maps it)",
            true,
            packet(SessionType::ContentRemove, &[(0x0021, &[1, 0])]),
            Reply(RetCode::SessionContentIdWrong),
        ),
        row(
            "CONTENT_UPDATE for another's slot",
            true,
            quic::ContentControl {
                content_id: 77,
                state: Some(ContentState::Paused),
                seek: None,
            }
            .to_packet()
            .unwrap()
            .finish(),
            Reply(RetCode::SessionContentIdWrong),
        ),
        row(
            "CONTENT_UPDATE with an undefined state",
            true,
            packet(
                SessionType::ContentUpdate,
                &[(0x0021, &[1, 0, 0, 0]), (arg::CONTENT_STATE, &[9])],
            ),
            Reply(RetCode::ArgIncorrect),
        ),
        row(
            "CLOSE with arguments",
            true,
            packet(SessionType::Close, &[(0x0021, &[1, 0, 0, 0])]),
            Reply(RetCode::ArgIncorrect),
        ),
        row(
            "UPDATE with arguments",
            true,
            packet(SessionType::Update, &[(0x0021, &[1, 0, 0, 0])]),
            Reply(RetCode::ArgIncorrect),
        ),
        row(
            "unknown session type",
            true,
            vec![0x7F, 0, 0, 0, 0, 0, 0, 0],
            Reply(RetCode::SessionWrongRequest),
        ),
        row(
            "header cut short",
            true,
            vec![0x10, 0, 0],
            Reply(RetCode::ArgIncorrect),
        ),
        row(
            "item length past the end",
            true,
            {
                let mut b = add("live/a");
                b[10..14].copy_from_slice(&u32::MAX.to_le_bytes());
                b
            },
            Reply(RetCode::ArgIncorrect),
        ),
        row(
            "non-zero header padding",
            true,
            {
                let mut b = add("live/a");
                b[5] = 1;
                b
            },
            Reply(RetCode::ArgIncorrect),
        ),
        Row {
            what: "a content packet on the control stream",
            open_first: true,
            subtype: SubType::Content,
            bytes: vec![0; 28],
            expected: Reply(RetCode::ContentUnavailable),
        },
        Row {
            what: "a cluster packet of an unknown type on a native session",
            open_first: true,
            subtype: SubType::Cluster,
            bytes: vec![0x07, 0, 0, 0, 0, 0, 0, 0],
            expected: Reply(RetCode::ClusterWrongRequest),
        },
        Row {
            what: "a BALANCE_REQUEST excluding a member id of 31 bytes",
            open_first: true,
            subtype: SubType::Cluster,
            bytes: balance_request(&[(ClusterArg::Member.code(), &[1u8; 31][..])]),
            expected: Reply(RetCode::ArgIncorrect),
        },
        Row {
            what: "a BALANCE_REQUEST excluding more than 16 members",
            open_first: true,
            subtype: SubType::Cluster,
            bytes: balance_request(&[(ClusterArg::Member.code(), &[1u8; 32][..]); 17]),
            expected: Reply(RetCode::ArgIncorrect),
        },
        Row {
            what: "a BALANCE_REQUEST with an argument it does not take (TITLE)",
            open_first: true,
            subtype: SubType::Cluster,
            bytes: balance_request(&[(ClusterArg::Title.code(), &b"x\0"[..])]),
            expected: Reply(RetCode::ArgIncorrect),
        },
    ]
}

/// A BALANCE_REQUEST with raw `(code, value)` items.
fn balance_request(items: &[(u16, &[u8])]) -> Vec<u8> {
    let mut builder = avrs_proto::avrs::ControlBuilder::new(ClusterType::BalanceRequest);
    for (code, value) in items {
        builder.args_mut().put(*code, value).unwrap();
    }
    builder.finish()
}

#[test]
fn every_hostile_input_gets_its_code_and_nothing_wedges() {
    let rows: Vec<Row> = before_open_rows()
        .into_iter()
        .chain(after_open_rows())
        .collect();
    assert!(rows.len() >= 38, "{} rows", rows.len());
    let mut failures = Vec::new();
    for row in rows {
        let mut session = if row.open_first { opened() } else { fresh() };
        let got = outcome(session.handle(row.subtype, &row.bytes));
        if got != row.expected {
            failures.push(format!(
                "{}: expected {:?}, got {:?}",
                row.what, row.expected, got
            ));
            continue;
        }
        if row.open_first {
            // The session goes on: a valid request still works.
            let step = session.handle(SubType::Session, &add("live/ok"));
            if !matches!(step, Step::Watch { .. }) {
                failures.push(format!("{}: the session did not go on: {step:?}", row.what));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_client_cannot_exhaust_more_than_its_own_slots() {
    let mut session = opened();
    for _ in 0..MAX_SLOTS {
        assert!(matches!(
            session.handle(SubType::Session, &add("live/a")),
            Step::Watch { .. }
        ));
    }
    let step = session.handle(SubType::Session, &add("live/a"));
    assert_eq!(
        step,
        Step::Reply(RetCodePacket::with_text(
            RetCode::ContentUnavailable,
            "TOO_MANY_CONTENTS"
        ))
    );
    // Another session is untouched by this one's exhaustion.
    assert!(matches!(
        opened().handle(SubType::Session, &add("live/a")),
        Step::Watch { .. }
    ));
}
