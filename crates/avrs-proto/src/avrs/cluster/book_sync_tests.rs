//! BOOK_SYNC / BOOK_SYNC_RESPONSE: literal layout, round trips, and every
//! refusal of a packet cut short, oversized or inconsistent.

use super::*;
use crate::avrs::{ClusterRequest, ControlBuilder, ControlPacket};

const NONCE_BYTES: [u8; 16] = [7; 16];

fn stamp() -> BookStamp {
    BookStamp {
        revision: 0x0102_0304_0506_0708,
        digest: Hash32([0xAB; 32]),
    }
}

fn read<R: Request<Kind = ClusterType>>(bytes: &[u8]) -> Result<R> {
    R::from_packet(&ControlPacket::decode(bytes)?)
}

/// An argument and its value.
type Item<'a> = (ClusterArg, &'a [u8]);

fn raw(kind: ClusterType, items: &[Item]) -> Vec<u8> {
    let mut b = ControlBuilder::new(kind);
    for (arg, value) in items {
        b.args_mut().put(arg.code(), value).unwrap();
    }
    b.finish()
}

fn response(chunk: Option<BookChunk>) -> BookSyncResponse {
    BookSyncResponse {
        nonce: NONCE_BYTES,
        stamp: stamp(),
        size: 100,
        chunk,
    }
}

#[test]
fn book_sync_has_its_literal_layout() {
    let request = BookSync {
        nonce: NONCE_BYTES,
        have: Some(stamp()),
        offset: 0x10,
    };
    let expected: Vec<u8> = [
        &[0x50, 0, 0, 0, 0, 0, 0, 0][..],
        &[0x60, 0x00, 16, 0, 0, 0],
        &NONCE_BYTES,
        &[0x61, 0x00, 8, 0, 0, 0, 8, 7, 6, 5, 4, 3, 2, 1],
        &[0x62, 0x00, 32, 0, 0, 0],
        &[0xAB; 32],
        &[0x64, 0x00, 4, 0, 0, 0, 0x10, 0, 0, 0],
    ]
    .concat();
    let bytes = request.to_packet().unwrap().finish();
    assert_eq!(bytes, expected);
    assert_eq!(read::<BookSync>(&bytes).unwrap(), request);
    // A first pull: only the nonce.
    let first = BookSync {
        nonce: NONCE_BYTES,
        have: None,
        offset: 0,
    };
    let bytes = first.to_packet().unwrap().finish();
    assert_eq!(bytes.len(), 8 + 6 + 16);
    assert_eq!(read::<BookSync>(&bytes).unwrap(), first);
}

#[test]
fn responses_round_trip_with_and_without_a_chunk() {
    for chunk in [
        None,
        Some(BookChunk {
            offset: 90,
            bytes: vec![b'x'; 10],
        }),
        Some(BookChunk {
            offset: 0,
            bytes: vec![b'{'; 100],
        }),
    ] {
        let reply = response(chunk);
        let signed = reply
            .to_packet()
            .unwrap()
            .finish_signed(b"fake sign")
            .unwrap();
        let packet = ControlPacket::<ClusterType>::decode(&signed).unwrap();
        assert_eq!(
            ClusterRequest::from_packet(&packet).unwrap(),
            ClusterRequest::BookSyncResponse(reply.clone())
        );
    }
    let full = BookSyncResponse {
        size: MAX_BOOK_SIZE,
        chunk: Some(BookChunk {
            offset: MAX_BOOK_SIZE - MAX_BOOK_CHUNK as u32,
            bytes: vec![0; MAX_BOOK_CHUNK],
        }),
        ..response(None)
    };
    let bytes = full.to_packet().unwrap().finish();
    assert!(
        bytes.len() < 50 * 1024,
        "fits a control message with a SIGN"
    );
    assert_eq!(read::<BookSyncResponse>(&bytes).unwrap(), full);
}

#[test]
fn truncated_items_are_refused() {
    use ClusterArg as A;
    let cases: &[(&[Item], &str)] = &[
        (&[(A::BookNonce, &[1; 15])], NONCE),
        (
            &[(A::BookNonce, &NONCE_BYTES), (A::BookRevision, &[1; 7])],
            REVISION,
        ),
        (
            &[(A::BookNonce, &NONCE_BYTES), (A::BookOffset, &[1; 3])],
            OFFSET,
        ),
        (
            &[
                (A::BookNonce, &NONCE_BYTES),
                (A::BookRevision, &[1; 8]),
                (A::BookDigest, &[1; 31]),
            ],
            DIGEST,
        ),
    ];
    for (items, what) in cases {
        let err = read::<BookSync>(&raw(ClusterType::BookSync, items)).unwrap_err();
        assert!(
            matches!(err, ProtoError::WrongSize { what: w, .. } if w == *what),
            "{err:?}"
        );
    }
    // Half a stamp, or no nonce.
    let half = raw(
        ClusterType::BookSync,
        &[(A::BookNonce, &NONCE_BYTES), (A::BookRevision, &[1; 8])],
    );
    assert_eq!(
        read::<BookSync>(&half),
        Err(ProtoError::Missing { what: DIGEST })
    );
    let no_nonce = raw(ClusterType::BookSync, &[]);
    assert_eq!(
        read::<BookSync>(&no_nonce),
        Err(ProtoError::Missing { what: NONCE })
    );
    // A response without its size, or a chunk without its offset.
    let mut bytes = response(None).to_packet().unwrap().finish();
    let size_item = 6 + 4;
    bytes.truncate(bytes.len() - size_item);
    assert_eq!(
        read::<BookSyncResponse>(&bytes),
        Err(ProtoError::Missing { what: SIZE })
    );
    let mut b = response(None).to_packet().unwrap();
    b.args_mut().put(A::BookChunk.code(), b"x").unwrap();
    assert_eq!(
        read::<BookSyncResponse>(&b.finish()),
        Err(ProtoError::Missing { what: OFFSET })
    );
}

#[test]
fn oversized_and_inconsistent_values_are_refused() {
    let over = (MAX_BOOK_SIZE + 1).to_le_bytes();
    let mut b = ControlBuilder::new(ClusterType::BookSyncResponse);
    let args = b.args_mut();
    args.put(ClusterArg::BookNonce.code(), &NONCE_BYTES)
        .unwrap();
    args.put_u64(ClusterArg::BookRevision.code(), 1);
    args.put_hash(ClusterArg::BookDigest.code(), &Hash32::default());
    args.put(ClusterArg::BookSize.code(), &over).unwrap();
    let err = read::<BookSyncResponse>(&b.finish()).unwrap_err();
    assert!(
        matches!(err, ProtoError::TooLarge { what: SIZE, .. }),
        "{err:?}"
    );

    let big = vec![0; MAX_BOOK_CHUNK + 1];
    let mut b = response(None).to_packet().unwrap();
    b.args_mut().put_u32(ClusterArg::BookOffset.code(), 0);
    b.args_mut()
        .put(ClusterArg::BookChunk.code(), &big)
        .unwrap();
    let err = read::<BookSyncResponse>(&b.finish()).unwrap_err();
    assert!(
        matches!(err, ProtoError::TooLarge { what: CHUNK, .. }),
        "{err:?}"
    );

    for (offset, len) in [(95, 10), (0, 0), (u32::MAX, 1)] {
        let reply = response(Some(BookChunk {
            offset,
            bytes: vec![1; len],
        }));
        assert!(
            reply.to_packet().is_err(),
            "we never send it: {offset} {len}"
        );
        let mut b = response(None).to_packet().unwrap();
        b.args_mut().put_u32(ClusterArg::BookOffset.code(), offset);
        b.args_mut()
            .put(ClusterArg::BookChunk.code(), &vec![1; len])
            .unwrap();
        let err = read::<BookSyncResponse>(&b.finish()).unwrap_err();
        assert!(
            matches!(err, ProtoError::Malformed { what: CHUNK, .. }),
            "{err:?}"
        );
    }

    let far = BookSync {
        nonce: NONCE_BYTES,
        have: None,
        offset: MAX_BOOK_SIZE,
    };
    assert!(far.to_packet().is_err());
    let bytes = raw(
        ClusterType::BookSync,
        &[
            (ClusterArg::BookNonce, &NONCE_BYTES),
            (ClusterArg::BookOffset, &MAX_BOOK_SIZE.to_le_bytes()),
        ],
    );
    let err = read::<BookSync>(&bytes).unwrap_err();
    assert!(
        matches!(err, ProtoError::TooLarge { what: OFFSET, .. }),
        "{err:?}"
    );
}

#[test]
fn arguments_of_the_other_packet_or_twice_are_refused() {
    let with = |arg: ClusterArg, value: &[u8]| {
        let mut b = BookSync {
            nonce: NONCE_BYTES,
            have: None,
            offset: 0,
        }
        .to_packet()
        .unwrap();
        b.args_mut().put(arg.code(), value).unwrap();
        read::<BookSync>(&b.finish()).unwrap_err()
    };
    for arg in [ClusterArg::BookSize, ClusterArg::BookChunk, ClusterArg::Id] {
        let err = with(arg, &[0; 4]);
        assert!(
            matches!(err, ProtoError::UnknownValue { value, .. } if value == u32::from(arg.code())),
            "{err:?}"
        );
    }
    assert_eq!(
        with(ClusterArg::BookNonce, &NONCE_BYTES),
        ProtoError::Duplicate { what: NONCE }
    );
}
