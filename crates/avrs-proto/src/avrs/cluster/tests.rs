//! Cluster requests: literal layouts, round trips, every refusal.

use super::*;
use crate::avrs::flow::{FlowCodec, Flows};
use crate::avrs::labels;
use crate::avrs::roles::Roles;
use crate::avrs::{ControlBuilder, ControlPacket, Request};
use crate::error::ProtoError;
use crate::ids::{Guuid, Hash32};
use proptest::prelude::*;

const FAKE_SIGN: &[u8] = b"fake dap_sign_t";

pub(super) fn encode<R: Request<Kind = ClusterType>>(request: &R) -> Vec<u8> {
    request.to_packet().unwrap().finish()
}

pub(super) fn read<R: Request<Kind = ClusterType>>(bytes: &[u8]) -> Result<R> {
    R::from_packet(&ControlPacket::decode(bytes)?)
}

/// A packet of `kind` with exactly these items.
pub(super) fn raw(kind: ClusterType, items: &[(u16, &[u8])]) -> Vec<u8> {
    let mut b = ControlBuilder::new(kind);
    for (code, value) in items {
        b.args_mut().put(*code, value).unwrap();
    }
    b.finish()
}

fn id_bytes(net: u64) -> [u8; 16] {
    Guuid::new(net, 0).to_bytes()
}

/// Signed and unsigned forms both read back the same request, the SIGN
/// covers the unsigned bytes, and the dispatching enum agrees.
pub(super) fn assert_round_trip<R>(request: &R)
where
    R: Request<Kind = ClusterType> + PartialEq + std::fmt::Debug,
{
    let builder = request.to_packet().unwrap();
    let unsigned = builder.unsigned_bytes().to_vec();
    let signed = builder.finish_signed(FAKE_SIGN).unwrap();
    let packet = ControlPacket::<ClusterType>::decode(&signed).unwrap();
    assert_eq!(&R::from_packet(&packet).unwrap(), request);
    let sign = packet.require_sign().unwrap();
    assert_eq!(sign.signed_bytes, &unsigned[..]);
    assert_eq!(sign.value, FAKE_SIGN);
    assert_eq!(&read::<R>(&unsigned).unwrap(), request);
    let any = ClusterRequest::from_packet(&packet).unwrap();
    assert_eq!(any.kind(), R::KIND);
    assert_eq!(any.to_packet().unwrap().unsigned_bytes(), &unsigned[..]);
}

#[test]
fn create_has_its_literal_layout() {
    let create = Create {
        id: Some(Guuid::new(1, 2)),
        options: ClusterOptions {
            title: Some("T".into()),
            setup: Some(Setup::Lecture),
            encrypted: Some(true),
        },
    };
    let expected: Vec<u8> = [
        &[0x01, 0, 0, 0, 0, 0, 0, 0][..],
        &[0x01, 0x00, 16, 0, 0, 0],
        &[1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0],
        &[0x02, 0x00, 2, 0, 0, 0, b'T', 0],
        &[0x03, 0x00, 1, 0, 0, 0, 2],
        &[0x04, 0x00, 1, 0, 0, 0, 1],
    ]
    .concat();
    assert_eq!(encode(&create), expected);
    assert_eq!(read::<Create>(&expected).unwrap(), create);
    // Everything is optional in CREATE.
    assert_eq!(encode(&Create::default()), [1, 0, 0, 0, 0, 0, 0, 0]);
}

#[test]
fn member_request_add_has_its_literal_layout() {
    let request = MemberRequestAdd {
        id: Guuid::new(7, 0),
        addr: Some(MemberAddr {
            net_id: 1,
            node_addr: 2,
        }),
        role: Some(Roles::CLIENT),
        info: MemberInfo {
            name: Some("Ann".into()),
            avatar: Some(vec![0xFF, 0xD8]),
            ..MemberInfo::default()
        },
    };
    let expected: Vec<u8> = [
        &[0x10, 0, 0, 0, 0, 0, 0, 0][..],
        &[0x01, 0x00, 16, 0, 0, 0],
        &id_bytes(7),
        &[0x15, 0x00, 16, 0, 0, 0],
        &[1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0],
        &[0x14, 0x00, 2, 0, 0, 0, 0x01, 0x00],
        &[0x17, 0x00, 4, 0, 0, 0, b'A', b'n', b'n', 0],
        &[0x1B, 0x00, 2, 0, 0, 0, 0xFF, 0xD8],
    ]
    .concat();
    assert_eq!(encode(&request), expected);
    assert_eq!(read::<MemberRequestAdd>(&expected).unwrap(), request);
}

#[test]
fn role_assign_and_member_targets_have_their_literal_layout() {
    let member = Hash32([0xAB; 32]);
    let assign = RoleAssign {
        id: Guuid::new(7, 0),
        member,
        role: Roles::HOST | Roles::SERVER,
    };
    let target: Vec<u8> = [
        &[0x01, 0x00, 16, 0, 0, 0][..],
        &id_bytes(7),
        &[0x13, 0x00, 32, 0, 0, 0],
        &[0xAB; 32],
    ]
    .concat();
    let header = |t: u8| [t, 0, 0, 0, 0, 0, 0, 0];
    let role = [0x14, 0x00, 2, 0, 0, 0, 0x02, 0x01];
    assert_eq!(
        encode(&assign),
        [&header(0x14)[..], &target, &role].concat()
    );
    let approve = MemberApprove {
        id: Guuid::new(7, 0),
        member,
    };
    assert_eq!(encode(&approve), [&header(0x12)[..], &target].concat());
    let remove = MemberRemove {
        id: Guuid::new(7, 0),
        member,
    };
    assert_eq!(encode(&remove), [&header(0x13)[..], &target].concat());
}

#[test]
fn content_add_has_its_literal_layout() {
    let add = ContentAdd {
        id: Guuid::new(1, 0),
        content_id: Guuid::new(2, 0),
        title: None,
        flows: Flows::new("av").unwrap(),
        codecs: vec![FlowCodec::new(1, "h264")],
    };
    let expected: Vec<u8> = [
        &[0x20, 0, 0, 0, 0, 0, 0, 0][..],
        &[0x01, 0x00, 16, 0, 0, 0],
        &id_bytes(1),
        &[0x30, 0x00, 16, 0, 0, 0],
        &id_bytes(2),
        &[0x33, 0x00, 3, 0, 0, 0, b'a', b'v', 0],
        &[0x34, 0x00, 6, 0, 0, 0, 1, b'h', b'2', b'6', b'4', 0],
    ]
    .concat();
    assert_eq!(encode(&add), expected);
    assert_eq!(read::<ContentAdd>(&expected).unwrap(), add);
}

#[test]
fn lists_repeat_their_item() {
    let list = ListResponse {
        ids: vec![Guuid::new(1, 0), Guuid::new(2, 0)],
    };
    let expected: Vec<u8> = [
        &[0x06, 0, 0, 0, 0, 0, 0, 0][..],
        &[0x01, 0x00, 16, 0, 0, 0],
        &id_bytes(1),
        &[0x01, 0x00, 16, 0, 0, 0],
        &id_bytes(2),
    ]
    .concat();
    assert_eq!(encode(&list), expected);
    assert_eq!(read::<ListResponse>(&expected).unwrap(), list);
    assert_eq!(encode(&ListRequest), [0x05, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(
        read::<ListResponse>(&[6, 0, 0, 0, 0, 0, 0, 0]).unwrap().ids,
        []
    );

    let contents = ContentListResponse {
        id: Guuid::new(1, 0),
        contents: vec![Guuid::new(3, 0)],
    };
    let expected: Vec<u8> = [
        &[0x24, 0, 0, 0, 0, 0, 0, 0][..],
        &[0x01, 0x00, 16, 0, 0, 0],
        &id_bytes(1),
        &[0x30, 0x00, 16, 0, 0, 0],
        &id_bytes(3),
    ]
    .concat();
    assert_eq!(encode(&contents), expected);
    assert_eq!(read::<ContentListResponse>(&expected).unwrap(), contents);
}

#[test]
fn required_items_must_be_present() {
    use ClusterType as T;
    let id = id_bytes(1);
    let missing = |what| Err::<(), _>(ProtoError::Missing { what });
    let cases: Vec<(Result<()>, Result<()>)> = vec![
        (
            read::<Destroy>(&raw(T::Destroy, &[])).map(drop),
            missing(labels::CLUSTER_ID),
        ),
        (
            read::<Info>(&raw(T::Info, &[])).map(drop),
            missing(labels::CLUSTER_ID),
        ),
        (
            read::<Change>(&raw(T::Change, &[(2, b"t\0")])).map(drop),
            missing(labels::CLUSTER_ID),
        ),
        (
            read::<Change>(&raw(T::Change, &[(1, &id)])).map(drop),
            missing(labels::CLUSTER_CHANGE),
        ),
        (
            read::<MemberApprove>(&raw(T::MemberRequestApprove, &[(1, &id)])).map(drop),
            missing(labels::MEMBER),
        ),
        (
            read::<RoleAssign>(&raw(T::MemberRoleAssign, &[(1, &id), (0x13, &[0; 32])])).map(drop),
            missing(labels::MEMBER_ROLE),
        ),
        (
            read::<ContentAdd>(&raw(T::ContentAdd, &[(1, &id), (0x30, &id)])).map(drop),
            missing(labels::CONTENT_FLOWS),
        ),
        (
            read::<ContentAdd>(&raw(T::ContentAdd, &[(1, &id), (0x33, b"a\0")])).map(drop),
            missing(labels::CONTENT_ID),
        ),
        (
            read::<ContentDel>(&raw(T::ContentDel, &[(1, &id)])).map(drop),
            missing(labels::CONTENT_ID),
        ),
        (
            read::<ContentListResponse>(&raw(T::ContentListResponse, &[])).map(drop),
            missing(labels::CLUSTER_ID),
        ),
        (
            read::<MemberRequestAdd>(&raw(T::MemberRequestAdd, &[(0x17, b"a\0")])).map(drop),
            missing(labels::CLUSTER_ID),
        ),
    ];
    for (got, want) in cases {
        assert_eq!(got, want);
    }
    assert!(
        encode_err(&Change {
            id: Guuid::new(1, 0),
            options: ClusterOptions::default()
        }) == ProtoError::Missing {
            what: labels::CLUSTER_CHANGE
        }
    );
}

fn encode_err<R: Request<Kind = ClusterType>>(request: &R) -> ProtoError {
    request.to_packet().unwrap_err()
}

#[test]
fn single_items_may_not_repeat() {
    use ClusterType as T;
    let id = id_bytes(1);
    let dup = |what| Err::<(), _>(ProtoError::Duplicate { what });
    let cases: Vec<(Result<()>, Result<()>)> = vec![
        (
            read::<Destroy>(&raw(T::Destroy, &[(1, &id), (1, &id)])).map(drop),
            dup(labels::CLUSTER_ID),
        ),
        (
            read::<Create>(&raw(T::Create, &[(3, &[1]), (3, &[1])])).map(drop),
            dup(labels::CLUSTER_SETUP),
        ),
        (
            read::<Create>(&raw(T::Create, &[(2, b"a\0"), (2, b"b\0")])).map(drop),
            dup(labels::CLUSTER_TITLE),
        ),
        (
            read::<Create>(&raw(T::Create, &[(4, &[0]), (4, &[1])])).map(drop),
            dup(labels::ENCRYPTED),
        ),
        (
            read::<MemberRequestAdd>(&raw(
                T::MemberRequestAdd,
                &[(1, &id), (0x16, b"a\0"), (0x16, b"a\0")],
            ))
            .map(drop),
            dup(labels::MEMBER_INFO),
        ),
        (
            read::<MemberRequestAdd>(&raw(
                T::MemberRequestAdd,
                &[(1, &id), (0x1B, &[]), (0x1B, &[])],
            ))
            .map(drop),
            dup(labels::AVATAR),
        ),
        (
            read::<MemberRequestAdd>(&raw(
                T::MemberRequestAdd,
                &[(1, &id), (0x15, &[0; 16]), (0x15, &[0; 16])],
            ))
            .map(drop),
            dup(labels::MEMBER_ADDR),
        ),
        (
            read::<MemberRemove>(&raw(
                T::MemberRemove,
                &[(1, &id), (0x13, &[0; 32]), (0x13, &[0; 32])],
            ))
            .map(drop),
            dup(labels::MEMBER),
        ),
        (
            read::<ContentAdd>(&raw(
                T::ContentAdd,
                &[(1, &id), (0x30, &id), (0x33, b"a\0"), (0x33, b"b\0")],
            ))
            .map(drop),
            dup(labels::CONTENT_FLOWS),
        ),
        (
            read::<ContentAdd>(&raw(
                T::ContentAdd,
                &[
                    (1, &id),
                    (0x30, &id),
                    (0x33, b"a\0"),
                    (0x34, b"\0x\0"),
                    (0x34, b"\0y\0"),
                ],
            ))
            .map(drop),
            dup(labels::FLOW_CODEC),
        ),
    ];
    for (got, want) in cases {
        assert_eq!(got, want);
    }
}

#[test]
fn sizes_must_be_exact() {
    use ClusterType as T;
    let wrong = |bytes: Vec<u8>, kind: fn(&[u8]) -> Result<()>, what| {
        assert!(
            matches!(kind(&bytes), Err(ProtoError::WrongSize { what: w, .. }) if w == what),
            "{what}: {:?}",
            kind(&bytes)
        );
    };
    wrong(
        raw(T::Destroy, &[(1, &[0; 15])]),
        |b| read::<Destroy>(b).map(drop),
        labels::CLUSTER_ID,
    );
    wrong(
        raw(T::Destroy, &[(1, &[0; 17])]),
        |b| read::<Destroy>(b).map(drop),
        labels::CLUSTER_ID,
    );
    wrong(
        raw(T::Create, &[(3, &[1, 0])]),
        |b| read::<Create>(b).map(drop),
        labels::CLUSTER_SETUP,
    );
    wrong(
        raw(T::Create, &[(4, &[])]),
        |b| read::<Create>(b).map(drop),
        labels::ENCRYPTED,
    );
    let id = id_bytes(1);
    wrong(
        raw(T::MemberRemove, &[(1, &id), (0x13, &[0; 31])]),
        |b| read::<MemberRemove>(b).map(drop),
        labels::MEMBER,
    );
    wrong(
        raw(
            T::MemberRoleAssign,
            &[(1, &id), (0x13, &[0; 32]), (0x14, &[2])],
        ),
        |b| read::<RoleAssign>(b).map(drop),
        labels::MEMBER_ROLE,
    );
    wrong(
        raw(T::MemberRequestAdd, &[(1, &id), (0x15, &[0; 8])]),
        |b| read::<MemberRequestAdd>(b).map(drop),
        labels::MEMBER_ADDR,
    );
    wrong(
        raw(T::ContentDel, &[(1, &id), (0x30, &[0; 4])]),
        |b| read::<ContentDel>(b).map(drop),
        labels::CONTENT_ID,
    );
    wrong(
        raw(T::ListResponse, &[(1, &id), (1, &[0; 3])]),
        |b| read::<ListResponse>(b).map(drop),
        labels::CLUSTER_ID,
    );
}

#[test]
fn values_must_be_defined() {
    use ClusterType as T;
    let id = id_bytes(1);
    assert_eq!(
        read::<Create>(&raw(T::Create, &[(3, &[5])])),
        Err(ProtoError::UnknownValue {
            what: labels::CLUSTER_SETUP,
            value: 5
        })
    );
    assert_eq!(
        read::<Create>(&raw(T::Create, &[(4, &[2])])),
        Err(ProtoError::UnknownValue {
            what: labels::ENCRYPTED,
            value: 2
        })
    );
    assert_eq!(
        read::<RoleAssign>(&raw(
            T::MemberRoleAssign,
            &[(1, &id), (0x13, &[0; 32]), (0x14, &[0x08, 0])]
        )),
        Err(ProtoError::UnknownValue {
            what: labels::ROLE_MASK,
            value: 8
        })
    );
    let bad_role = RoleAssign {
        id: Guuid::new(1, 0),
        member: Hash32::default(),
        role: Roles::from_bits_retain(0x0008),
    };
    assert!(matches!(
        encode_err(&bad_role),
        ProtoError::UnknownValue {
            what: labels::ROLE_MASK,
            ..
        }
    ));
    let all = RoleAssign {
        role: Roles::ALL,
        ..bad_role
    };
    assert_round_trip(&all);
}

#[test]
fn unknown_and_foreign_arguments_are_refused() {
    use ClusterType as T;
    let id = id_bytes(1);
    assert_eq!(
        read::<Destroy>(&raw(T::Destroy, &[(1, &id), (0x0005, &[])])),
        Err(ProtoError::UnknownValue {
            what: labels::CLUSTER_ARG,
            value: 5
        })
    );
    // TITLE is a cluster argument, but not one DESTROY takes.
    assert_eq!(
        read::<Destroy>(&raw(T::Destroy, &[(1, &id), (2, b"t\0")])),
        Err(ProtoError::UnknownValue {
            what: labels::ARG_NOT_ALLOWED,
            value: 2
        })
    );
    assert_eq!(
        read::<ListRequest>(&raw(T::ListRequest, &[(1, &id)])),
        Err(ProtoError::UnknownValue {
            what: labels::ARG_NOT_ALLOWED,
            value: 1
        })
    );
    // Defined but unspecified arguments are taken by no request.
    assert!(read::<Create>(&raw(T::Create, &[(0x0010, &[1])])).is_err());
    // SIGN given to read_args directly is foreign too.
    let signed = ControlBuilder::new(T::Destroy).finish_signed(&[1]).unwrap();
    let packet = ControlPacket::<ClusterType>::decode(&signed).unwrap();
    assert!(Destroy::read_args(packet.items().items()).is_err());
}

#[test]
fn an_item_after_sign_is_refused_before_meaning() {
    let mut bytes = encode(&Destroy {
        id: Guuid::new(1, 0),
    });
    bytes.extend_from_slice(&[0xFF, 0xFF, 1, 0, 0, 0, 0]);
    bytes.extend_from_slice(&[0x01, 0x00, 16, 0, 0, 0]);
    bytes.extend_from_slice(&id_bytes(2));
    assert!(matches!(
        read::<Destroy>(&bytes),
        Err(ProtoError::Malformed {
            what: labels::SIGN,
            ..
        })
    ));
}

#[test]
fn strings_are_capped() {
    use ClusterType as T;
    let id = id_bytes(1);
    let name64 = [vec![b'n'; 64], vec![0]].concat();
    let name63 = [vec![b'n'; 63], vec![0]].concat();
    assert_eq!(
        read::<MemberRequestAdd>(&raw(T::MemberRequestAdd, &[(1, &id), (0x1D, &name64)])),
        Err(ProtoError::TooLarge {
            what: labels::MEMBER_INFO,
            size: 64,
            max: 63
        })
    );
    let ok = read::<MemberRequestAdd>(&raw(T::MemberRequestAdd, &[(1, &id), (0x1D, &name63)]));
    assert_eq!(ok.unwrap().info.title.unwrap().len(), 63);
    assert!(matches!(
        read::<MemberRequestAdd>(&raw(T::MemberRequestAdd, &[(1, &id), (0x16, b"no nul")])),
        Err(ProtoError::BadString {
            what: labels::MEMBER_INFO,
            ..
        })
    ));
    let mut request = MemberRequestAdd {
        id: Guuid::new(1, 0),
        addr: None,
        role: None,
        info: MemberInfo {
            surname: Some("s".repeat(64)),
            ..MemberInfo::default()
        },
    };
    assert!(matches!(
        encode_err(&request),
        ProtoError::TooLarge {
            what: labels::MEMBER_INFO,
            ..
        }
    ));
    request.info.surname = None;
    request.info.avatar = Some(vec![0; MAX_AVATAR + 1]);
    assert!(matches!(
        encode_err(&request),
        ProtoError::TooLarge {
            what: labels::AVATAR,
            ..
        }
    ));
    let avatar = vec![0; MAX_AVATAR + 1];
    assert_eq!(
        read::<MemberRequestAdd>(&raw(T::MemberRequestAdd, &[(1, &id), (0x1B, &avatar)])),
        Err(ProtoError::TooLarge {
            what: labels::AVATAR,
            size: MAX_AVATAR + 1,
            max: MAX_AVATAR
        })
    );
    request.info.avatar = Some(vec![0; MAX_AVATAR]);
    assert_round_trip(&request);

    let title = [vec![b't'; MAX_TITLE + 1], vec![0]].concat();
    assert!(matches!(
        read::<Create>(&raw(T::Create, &[(2, &title)])),
        Err(ProtoError::TooLarge {
            what: labels::CLUSTER_TITLE,
            ..
        })
    ));
    assert!(matches!(
        read::<ContentAdd>(&raw(
            T::ContentAdd,
            &[(1, &id), (0x30, &id), (0x31, &title), (0x33, b"a\0")]
        )),
        Err(ProtoError::TooLarge {
            what: labels::CONTENT_TITLE,
            ..
        })
    ));
}

#[test]
fn content_add_checks_flows_and_codecs() {
    use ClusterType as T;
    let id = id_bytes(1);
    let base = |extra: &[(u16, &[u8])]| {
        let mut items: Vec<(u16, &[u8])> = vec![(1, &id), (0x30, &id)];
        items.extend_from_slice(extra);
        read::<ContentAdd>(&raw(T::ContentAdd, &items))
    };
    assert_eq!(
        base(&[(0x33, b"av\0"), (0x34, b"\x02opus\0")]),
        Err(ProtoError::UnknownValue {
            what: labels::FLOW_ID,
            value: 2
        })
    );
    // A codec before the flows is fine; it is checked once all are read.
    assert!(base(&[(0x34, b"\x01opus\0"), (0x33, b"av\0")]).is_ok());
    for flows in [&b"aa\0"[..], b"\0", b"a b\0"] {
        assert!(matches!(
            base(&[(0x33, flows)]),
            Err(ProtoError::Malformed {
                what: labels::CONTENT_FLOWS,
                ..
            })
        ));
    }
    assert!(matches!(
        base(&[(0x33, b"av")]),
        Err(ProtoError::BadString {
            what: labels::CONTENT_FLOWS,
            ..
        })
    ));
    assert!(matches!(
        base(&[(0x33, b"av\0"), (0x34, b"\x00\0")]),
        Err(ProtoError::Malformed {
            what: labels::FLOW_CODEC,
            ..
        })
    ));
    let add = ContentAdd {
        id: Guuid::new(1, 0),
        content_id: Guuid::new(2, 0),
        title: None,
        flows: Flows::new("a").unwrap(),
        codecs: vec![FlowCodec::new(1, "x")],
    };
    assert!(matches!(
        encode_err(&add),
        ProtoError::UnknownValue {
            what: labels::FLOW_ID,
            value: 1
        }
    ));
}

#[test]
fn content_update_needs_a_change_and_checks_its_codecs() {
    let (id, content_id) = (Guuid::new(1, 0), Guuid::new(2, 0));
    let title_only = ContentUpdate {
        id,
        content_id,
        title: Some("new".into()),
        flows: None,
        codecs: vec![],
    };
    assert_round_trip(&title_only);
    let codecs_only = ContentUpdate {
        title: None,
        codecs: vec![FlowCodec::new(5, "opus")],
        ..title_only.clone()
    };
    assert_round_trip(&codecs_only);
    let both = ContentUpdate {
        flows: Some(Flows::new("va").unwrap()),
        codecs: vec![FlowCodec::new(1, "mp4a.40.2")],
        ..title_only.clone()
    };
    assert_round_trip(&both);
    let nothing = ContentUpdate {
        title: None,
        ..title_only.clone()
    };
    assert_eq!(
        encode_err(&nothing),
        ProtoError::Missing {
            what: labels::CLUSTER_CHANGE
        }
    );
    let id_bytes = id.to_bytes();
    let content_bytes = content_id.to_bytes();
    let bare = raw(
        ClusterType::ContentUpdate,
        &[(1, &id_bytes), (0x30, &content_bytes)],
    );
    assert!(read::<ContentUpdate>(&bare).is_err());
    let twice = ContentUpdate {
        codecs: vec![FlowCodec::new(0, "a"), FlowCodec::new(0, "b")],
        ..codecs_only.clone()
    };
    assert!(matches!(
        encode_err(&twice),
        ProtoError::Duplicate {
            what: labels::FLOW_CODEC
        }
    ));
    let outside = ContentUpdate {
        codecs: vec![FlowCodec::new(2, "x")],
        ..both
    };
    assert!(matches!(
        encode_err(&outside),
        ProtoError::UnknownValue {
            what: labels::FLOW_ID,
            ..
        }
    ));
}

#[test]
fn a_request_refuses_a_packet_of_another_type() {
    let bytes = encode(&Destroy {
        id: Guuid::new(1, 0),
    });
    assert!(matches!(
        read::<ContentListRequest>(&bytes),
        Err(ProtoError::Malformed {
            what: labels::REQUEST_TYPE,
            ..
        })
    ));
}

#[test]
fn types_without_a_typed_form_decode_as_other() {
    for kind in [ClusterType::RouteAdd, ClusterType::RouteDel] {
        let bytes = raw(kind, &[(0x7777, b"anything")]);
        let packet = ControlPacket::<ClusterType>::decode(&bytes).unwrap();
        let request = ClusterRequest::from_packet(&packet).unwrap();
        assert_eq!(request, ClusterRequest::Other(kind));
        assert_eq!(request.kind(), kind);
        assert_eq!(request.to_packet().unwrap().finish(), raw(kind, &[]));
    }
}

#[test]
fn balance_requests_and_responses_round_trip_and_refuse_bad_input() {
    let request = BalanceRequest {
        id: None,
        content_id: Some(Guuid::new(1, 2)),
        exclude: vec![Hash32([7; 32]), Hash32([8; 32])],
    };
    let bytes = request.to_packet().unwrap().finish();
    assert_eq!(read::<BalanceRequest>(&bytes).unwrap(), request);
    assert_eq!(
        read::<BalanceRequest>(&BalanceRequest::default().to_packet().unwrap().finish()).unwrap(),
        BalanceRequest::default(),
        "every argument is optional"
    );
    let too_many = BalanceRequest {
        exclude: vec![Hash32([1; 32]); MAX_EXCLUDED + 1],
        ..BalanceRequest::default()
    };
    assert!(too_many.to_packet().is_err());
    let items: Vec<(u16, &[u8])> = (0..=MAX_EXCLUDED)
        .map(|_| (ClusterArg::Member.code(), &[1u8; 32][..]))
        .collect();
    let bytes = raw(ClusterType::BalanceRequest, &items);
    assert!(matches!(
        read::<BalanceRequest>(&bytes),
        Err(ProtoError::TooLarge { .. })
    ));

    let response = BalanceResponse {
        id: Some(Guuid::new(3, 4)),
        member: Hash32([9; 32]),
        service: ServiceAddr {
            ip: std::net::Ipv4Addr::LOCALHOST.to_ipv6_mapped(),
            http: 8080,
            quic: 4433,
            rtmp: 0,
        },
    };
    let bytes = response.to_packet().unwrap().finish();
    assert_eq!(read::<BalanceResponse>(&bytes).unwrap(), response);
    assert_eq!(
        response.service.socket(response.service.quic),
        Some("127.0.0.1:4433".parse().unwrap())
    );
    assert_eq!(response.service.socket(response.service.rtmp), None);
    // A short SERVICE_ADDR, or no MEMBER, is refused.
    let short = raw(
        ClusterType::BalanceResponse,
        &[
            (ClusterArg::Member.code(), &[9u8; 32][..]),
            (ClusterArg::ServiceAddr.code(), &[0u8; 21][..]),
        ],
    );
    assert!(read::<BalanceResponse>(&short).is_err());
    let anonymous = raw(
        ClusterType::BalanceResponse,
        &[(ClusterArg::ServiceAddr.code(), &[0u8; 22][..])],
    );
    assert!(read::<BalanceResponse>(&anonymous).is_err());
}

pub(super) fn guuid() -> impl Strategy<Value = Guuid> {
    any::<(u64, u64)>().prop_map(|(a, b)| Guuid::new(a, b))
}

pub(super) fn hash() -> impl Strategy<Value = Hash32> {
    any::<[u8; 32]>().prop_map(Hash32)
}

/// Up to 15 chars of at most 4 bytes: never over the 63-byte cap.
fn info_text() -> impl Strategy<Value = Option<String>> {
    proptest::option::of("[^\u{0}]{0,15}")
}

fn options() -> impl Strategy<Value = ClusterOptions> {
    (
        proptest::option::of("[^\u{0}]{0,60}"),
        proptest::option::of(proptest::sample::select(Setup::ALL)),
        proptest::option::of(any::<bool>()),
    )
        .prop_map(|(title, setup, encrypted)| ClusterOptions {
            title,
            setup,
            encrypted,
        })
}

fn roles() -> impl Strategy<Value = Roles> {
    any::<u16>().prop_map(|m| {
        if m == 0xFFFF {
            Roles::ALL
        } else {
            Roles::from_bits_truncate(m)
        }
    })
}

fn member_info() -> impl Strategy<Value = MemberInfo> {
    (
        (info_text(), info_text(), info_text(), info_text()),
        (info_text(), info_text(), info_text()),
        proptest::option::of(proptest::collection::vec(any::<u8>(), 0..64)),
    )
        .prop_map(|((d, n, s2, s), (p, st, t), avatar)| MemberInfo {
            display_name: d,
            name: n,
            second_name: s2,
            surname: s,
            patronim: p,
            status: st,
            title: t,
            avatar,
        })
}

/// Distinct printable characters, and codecs on a subset of their flows.
fn flows_and_codecs() -> impl Strategy<Value = (Flows, Vec<FlowCodec>)> {
    let names: Vec<char> = ('!'..='~').collect();
    proptest::sample::subsequence(names, 1..12)
        .prop_shuffle()
        .prop_flat_map(|names| {
            let count = names.len() as u8;
            let flows = Flows::new(names.into_iter().collect::<String>()).unwrap();
            let ids = proptest::sample::subsequence(
                (0..count).collect::<Vec<_>>(),
                0..=usize::from(count),
            );
            (
                Just(flows),
                ids.prop_shuffle(),
                proptest::collection::vec("[a-z0-9/ ,=.]{1,40}", 12),
            )
        })
        .prop_map(|(flows, ids, texts)| {
            let codecs = ids
                .into_iter()
                .zip(texts)
                .map(|(id, text)| FlowCodec::new(id, text))
                .collect();
            (flows, codecs)
        })
}

proptest! {
    #[test]
    fn create_round_trips(id in proptest::option::of(guuid()), options in options()) {
        assert_round_trip(&Create { id, options });
    }

    #[test]
    fn change_round_trips(id in guuid(), options in options()) {
        prop_assume!(!options.is_empty());
        assert_round_trip(&Change { id, options });
    }

    #[test]
    fn info_and_destroy_round_trip(id in guuid(), options in options()) {
        assert_round_trip(&Info { id, options });
        assert_round_trip(&Destroy { id });
        assert_round_trip(&MemberRequestDel { id });
        assert_round_trip(&ContentListRequest { id });
        assert_round_trip(&ListRequest);
    }

    #[test]
    fn lists_round_trip(
        id in guuid(),
        ids in proptest::collection::vec(guuid(), 0..40),
    ) {
        assert_round_trip(&ListResponse { ids: ids.clone() });
        assert_round_trip(&ContentListResponse { id, contents: ids });
    }

    #[test]
    fn member_requests_round_trip(
        id in guuid(),
        addr in proptest::option::of(any::<(u64, u64)>()),
        role in proptest::option::of(roles()),
        info in member_info(),
        member in hash(),
        assigned in roles(),
    ) {
        let addr = addr.map(|(net_id, node_addr)| MemberAddr { net_id, node_addr });
        assert_round_trip(&MemberRequestAdd { id, addr, role, info });
        assert_round_trip(&MemberApprove { id, member });
        assert_round_trip(&MemberRemove { id, member });
        assert_round_trip(&RoleAssign { id, member, role: assigned });
    }

    #[test]
    fn content_requests_round_trip(
        id in guuid(),
        content_id in guuid(),
        title in proptest::option::of("[^\u{0}]{0,60}"),
        (flows, codecs) in flows_and_codecs(),
    ) {
        let update = ContentUpdate {
            id,
            content_id,
            title: title.clone().or(Some(String::new())),
            flows: Some(flows.clone()),
            codecs: codecs.clone(),
        };
        assert_round_trip(&update);
        assert_round_trip(&ContentAdd { id, content_id, title, flows, codecs });
        assert_round_trip(&ContentDel { id, content_id });
    }

    #[test]
    fn arbitrary_arguments_never_panic(
        kind in proptest::sample::select(ClusterType::ALL),
        items in proptest::collection::vec(
            (proptest::sample::select(ClusterArg::ALL), proptest::collection::vec(any::<u8>(), 0..40)),
            0..8,
        ),
    ) {
        let mut b = ControlBuilder::new(kind);
        for (arg, value) in &items {
            b.args_mut().put(arg.code(), value).unwrap();
        }
        let bytes = b.finish();
        if let Ok(packet) = ControlPacket::<ClusterType>::decode(&bytes)
            && let Ok(request) = ClusterRequest::from_packet(&packet)
        {
            // What was accepted re-encodes to something that reads the same.
            let again = request.to_packet().unwrap().finish();
            let packet = ControlPacket::<ClusterType>::decode(&again).unwrap();
            prop_assert_eq!(ClusterRequest::from_packet(&packet).unwrap(), request);
        }
    }
}
