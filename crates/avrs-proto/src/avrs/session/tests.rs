//! Session requests: literal layouts, round trips, every refusal.

use super::*;
use crate::avrs::{ControlBuilder, ControlPacket, Request};
use proptest::prelude::*;

const FAKE_SIGN: &[u8] = b"fake dap_sign_t";

fn read<R: Request<Kind = SessionType>>(bytes: &[u8]) -> Result<R> {
    R::from_packet(&ControlPacket::decode(bytes)?)
}

fn raw(kind: SessionType, items: &[(u16, &[u8])]) -> Vec<u8> {
    let mut b = ControlBuilder::new(kind);
    for (code, value) in items {
        b.args_mut().put(*code, value).unwrap();
    }
    b.finish()
}

fn signed<R: Request<Kind = SessionType>>(request: &R) -> Vec<u8> {
    request
        .to_packet()
        .unwrap()
        .finish_signed(FAKE_SIGN)
        .unwrap()
}

fn assert_round_trip<R>(request: &R)
where
    R: Request<Kind = SessionType> + PartialEq + std::fmt::Debug,
{
    let builder = request.to_packet().unwrap();
    let unsigned = builder.unsigned_bytes().to_vec();
    let bytes = builder.finish_signed(FAKE_SIGN).unwrap();
    let packet = ControlPacket::<SessionType>::decode(&bytes).unwrap();
    assert_eq!(&R::from_packet(&packet).unwrap(), request);
    assert_eq!(packet.require_sign().unwrap().signed_bytes, &unsigned[..]);
    let any = SessionRequest::from_packet(&packet).unwrap();
    assert_eq!(any.kind(), R::KIND);
    assert_eq!(any.to_packet().unwrap().unsigned_bytes(), &unsigned[..]);
}

#[test]
fn open_is_a_bare_header_and_a_sign() {
    let bytes = signed(&Open);
    let expected: Vec<u8> = [
        &[0x01, 0, 0, 0, 0, 0, 0, 0][..],
        &[0x01, 0x00, 15, 0, 0, 0],
        FAKE_SIGN,
    ]
    .concat();
    assert_eq!(bytes, expected);
    assert_eq!(read::<Open>(&bytes), Ok(Open));
    // Unsigned OPEN is refused: it would open a session with no identity.
    assert_eq!(
        read::<Open>(&[1, 0, 0, 0, 0, 0, 0, 0]),
        Err(ProtoError::Missing { what: labels::SIGN })
    );
    assert!(read::<Open>(&raw(SessionType::Close, &[])).is_err());
}

#[test]
fn content_add_has_its_literal_layout() {
    let add = ContentAdd {
        cluster: Guuid::new(1, 0),
        content: Guuid::new(2, 0),
        flags: ContentFlags::STREAMING_IN,
    };
    let expected: Vec<u8> = [
        &[0x10, 0, 0, 0, 0, 0, 0, 0][..],
        &[0x10, 0x00, 16, 0, 0, 0],
        &Guuid::new(1, 0).to_bytes(),
        &[0x20, 0x00, 16, 0, 0, 0],
        &Guuid::new(2, 0).to_bytes(),
        &[0x22, 0x00, 4, 0, 0, 0, 0x02, 0, 0, 0],
    ]
    .concat();
    assert_eq!(add.to_packet().unwrap().finish(), expected);
    assert_eq!(read::<ContentAdd>(&expected), Ok(add));
}

#[test]
fn content_remove_and_close_have_their_literal_layout() {
    let remove = ContentRemove {
        content_id: 0x0102_0304,
    };
    let bytes = remove.to_packet().unwrap().finish();
    assert_eq!(
        bytes,
        [
            0x11, 0, 0, 0, 0, 0, 0, 0, 0x21, 0x00, 4, 0, 0, 0, 0x04, 0x03, 0x02, 0x01
        ]
    );
    assert_eq!(read::<ContentRemove>(&bytes), Ok(remove));
    assert_eq!(
        Close.to_packet().unwrap().finish(),
        [3, 0, 0, 0, 0, 0, 0, 0]
    );
    assert_eq!(read::<Close>(&[3, 0, 0, 0, 0, 0, 0, 0]), Ok(Close));
}

#[test]
fn content_add_wants_the_cluster_first() {
    let cluster = Guuid::new(1, 0).to_bytes();
    let content = Guuid::new(2, 0).to_bytes();
    let flags = 1u32.to_le_bytes();
    let swapped = raw(
        SessionType::ContentAdd,
        &[(0x20, &content), (0x10, &cluster), (0x22, &flags)],
    );
    assert!(matches!(
        read::<ContentAdd>(&swapped),
        Err(ProtoError::Malformed {
            what: labels::SESSION_CLUSTER,
            ..
        })
    ));
    let ok = raw(
        SessionType::ContentAdd,
        &[(0x10, &cluster), (0x22, &flags), (0x20, &content)],
    );
    assert!(
        read::<ContentAdd>(&ok).is_ok(),
        "only the cluster's place is fixed"
    );
}

#[test]
fn content_add_refusals() {
    let cluster = Guuid::new(1, 0).to_bytes();
    let content = Guuid::new(2, 0).to_bytes();
    let one = 1u32.to_le_bytes();
    let kind = SessionType::ContentAdd;
    let cases: Vec<(Vec<u8>, ProtoError)> = vec![
        (
            raw(kind, &[]),
            ProtoError::Missing {
                what: labels::SESSION_CLUSTER,
            },
        ),
        (
            raw(kind, &[(0x10, &cluster), (0x22, &one)]),
            ProtoError::Missing {
                what: labels::SESSION_CONTENT,
            },
        ),
        (
            raw(kind, &[(0x10, &cluster), (0x20, &content)]),
            ProtoError::Missing {
                what: labels::SESSION_CONTENT_FLAGS,
            },
        ),
        (
            raw(kind, &[(0x10, &cluster), (0x10, &cluster)]),
            ProtoError::Duplicate {
                what: labels::SESSION_CLUSTER,
            },
        ),
        (
            raw(
                kind,
                &[(0x10, &cluster), (0x20, &content), (0x20, &content)],
            ),
            ProtoError::Duplicate {
                what: labels::SESSION_CONTENT,
            },
        ),
        (
            raw(kind, &[(0x10, &cluster), (0x22, &one), (0x22, &one)]),
            ProtoError::Duplicate {
                what: labels::SESSION_CONTENT_FLAGS,
            },
        ),
        (
            raw(kind, &[(0x10, &cluster), (0x22, &4u32.to_le_bytes())]),
            ProtoError::UnknownValue {
                what: labels::SESSION_CONTENT_FLAGS,
                value: 4,
            },
        ),
        (
            raw(kind, &[(0x10, &cluster), (0x22, &[1, 0])]),
            ProtoError::WrongSize {
                what: labels::SESSION_CONTENT_FLAGS,
                expected: 4,
                actual: 2,
            },
        ),
        (
            raw(kind, &[(0x10, &cluster[..8])]),
            ProtoError::WrongSize {
                what: labels::SESSION_CLUSTER,
                expected: 16,
                actual: 8,
            },
        ),
        (
            raw(kind, &[(0x10, &cluster), (0x20, &[0; 17])]),
            ProtoError::WrongSize {
                what: labels::SESSION_CONTENT,
                expected: 16,
                actual: 17,
            },
        ),
        (
            raw(kind, &[(0x10, &cluster), (0x11, &[])]),
            ProtoError::UnknownValue {
                what: labels::ARG_NOT_ALLOWED,
                value: 0x11,
            },
        ),
        (
            raw(kind, &[(0x10, &cluster), (0x30, &[])]),
            ProtoError::UnknownValue {
                what: labels::SESSION_ARG,
                value: 0x30,
            },
        ),
    ];
    for (bytes, err) in cases {
        assert_eq!(read::<ContentAdd>(&bytes), Err(err));
    }
    let bad_flags = ContentAdd {
        cluster: Guuid::default(),
        content: Guuid::default(),
        flags: ContentFlags::from_bits_retain(8),
    };
    assert!(bad_flags.to_packet().is_err());
}

#[test]
fn content_remove_refusals() {
    let kind = SessionType::ContentRemove;
    let id = 5u32.to_le_bytes();
    let cases: Vec<(Vec<u8>, ProtoError)> = vec![
        (
            raw(kind, &[]),
            ProtoError::Missing {
                what: labels::SESSION_CONTENT_ID,
            },
        ),
        (
            raw(kind, &[(0x21, &id), (0x21, &id)]),
            ProtoError::Duplicate {
                what: labels::SESSION_CONTENT_ID,
            },
        ),
        (
            raw(kind, &[(0x21, &[5, 0, 0])]),
            ProtoError::WrongSize {
                what: labels::SESSION_CONTENT_ID,
                expected: 4,
                actual: 3,
            },
        ),
        (
            raw(kind, &[(0x21, &id), (0x20, &[0; 16])]),
            ProtoError::UnknownValue {
                what: labels::ARG_NOT_ALLOWED,
                value: 0x20,
            },
        ),
    ];
    for (bytes, err) in cases {
        assert_eq!(read::<ContentRemove>(&bytes), Err(err));
    }
}

#[test]
fn open_and_close_take_no_arguments() {
    let mut b = ControlBuilder::new(SessionType::Open);
    b.args_mut().put_u32(0x21, 1);
    let bytes = b.finish_signed(FAKE_SIGN).unwrap();
    assert_eq!(
        read::<Open>(&bytes),
        Err(ProtoError::UnknownValue {
            what: labels::ARG_NOT_ALLOWED,
            value: 0x21
        })
    );
    assert!(read::<Close>(&raw(SessionType::Close, &[(0x10, &[0; 16])])).is_err());
}

#[test]
fn an_item_after_the_session_sign_is_refused() {
    let mut bytes = signed(&Close);
    bytes.extend_from_slice(&[0x21, 0x00, 4, 0, 0, 0, 1, 0, 0, 0]);
    assert!(matches!(
        read::<Close>(&bytes),
        Err(ProtoError::Malformed {
            what: labels::SIGN,
            ..
        })
    ));
}

#[test]
fn types_without_a_typed_form_decode_as_other() {
    for kind in [
        SessionType::Update,
        SessionType::ContentUpdate,
        SessionType::ClusterAdd,
        SessionType::ClusterDel,
        SessionType::ClusterUpdate,
    ] {
        let bytes = raw(kind, &[(0x11, b"x")]);
        let packet = ControlPacket::<SessionType>::decode(&bytes).unwrap();
        assert_eq!(
            SessionRequest::from_packet(&packet),
            Ok(SessionRequest::Other(kind))
        );
    }
}

fn guuid() -> impl Strategy<Value = Guuid> {
    any::<(u64, u64)>().prop_map(|(a, b)| Guuid::new(a, b))
}

proptest! {
    #[test]
    fn session_requests_round_trip(
        cluster in guuid(),
        content in guuid(),
        flags in 0u32..4,
        content_id in any::<u32>(),
    ) {
        let flags = ContentFlags::from_wire(flags).unwrap();
        assert_round_trip(&ContentAdd { cluster, content, flags });
        assert_round_trip(&ContentRemove { content_id });
        assert_round_trip(&Open);
        assert_round_trip(&Close);
    }

    #[test]
    fn arbitrary_arguments_never_panic(
        kind in proptest::sample::select(SessionType::ALL),
        items in proptest::collection::vec(
            (proptest::sample::select(SessionArg::ALL), proptest::collection::vec(any::<u8>(), 0..20)),
            0..6,
        ),
    ) {
        let mut b = ControlBuilder::new(kind);
        for (arg, value) in &items {
            b.args_mut().put(arg.code(), value).unwrap();
        }
        let bytes = b.finish();
        if let Ok(packet) = ControlPacket::<SessionType>::decode(&bytes)
            && let Ok(request) = SessionRequest::from_packet(&packet)
        {
            let again = request.to_packet().unwrap();
            let again = match request {
                SessionRequest::Open(_) => again.finish_signed(FAKE_SIGN).unwrap(),
                _ => again.finish(),
            };
            let packet = ControlPacket::<SessionType>::decode(&again).unwrap();
            prop_assert_eq!(SessionRequest::from_packet(&packet).unwrap(), request);
        }
    }
}
