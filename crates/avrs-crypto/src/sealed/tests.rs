use super::*;
use crate::{Algorithm, FrameVerifier, SigningKey, sign_frame};
use avrs_proto::Guuid;
use avrs_proto::avrs::quic::{ContentOrigin, FrameFlags, FrameHeader};

fn place() -> FramePlace {
    FramePlace {
        content: Guuid::new(3, 4),
        seq: 77,
        flow: 0,
        header: FrameHeader {
            flags: FrameFlags::KEYFRAME,
            dts: 1000,
            pts: 4000,
        },
    }
}

const FRAME: &[u8] = b"\x00\x00\x00\x05\x65\x88\x84\x00\x10 secret picture";

#[test]
fn a_sealed_frame_opens_with_its_key_and_hides_the_bytes() {
    let key = ContentKey::generate(1).unwrap();
    let sealed = key.seal(&place(), FRAME).unwrap();
    assert_eq!(sealed.len(), FRAME.len() + SEAL_OVERHEAD);
    assert!(
        !sealed.windows(8).any(|w| FRAME.windows(8).any(|f| f == w)),
        "no 8-byte run of the clear frame appears in the sealed bytes"
    );
    assert_eq!(key.open(&place(), &sealed).unwrap(), FRAME);
    let same = ContentKey::from_bytes(1, key.secret_bytes()).unwrap();
    assert_eq!(same.open(&place(), &sealed).unwrap(), FRAME);
}

#[test]
fn any_change_or_another_key_fails_to_open() {
    let key = ContentKey::generate(1).unwrap();
    let sealed = key.seal(&place(), FRAME).unwrap();
    for at in 0..sealed.len() {
        let mut bad = sealed.clone();
        bad[at] ^= 0x01;
        assert_eq!(
            key.open(&place(), &bad),
            Err(OpenError::Forged { seq: 77 }),
            "byte {at}"
        );
    }
    let mut moved = place();
    moved.seq = 78;
    assert!(key.open(&moved, &sealed).is_err(), "another position");
    let mut other = place();
    other.content = Guuid::new(3, 5);
    assert!(key.open(&other, &sealed).is_err(), "another content");
    let mut later = place();
    later.header.pts += 1;
    assert!(key.open(&later, &sealed).is_err(), "other times");
    let rotated = ContentKey::from_bytes(2, key.secret_bytes()).unwrap();
    assert!(rotated.open(&place(), &sealed).is_err(), "another epoch");
    let stranger = ContentKey::generate(1).unwrap();
    assert!(stranger.open(&place(), &sealed).is_err(), "another key");
    assert_eq!(
        key.open(&place(), &sealed[..10]),
        Err(OpenError::Truncated { seq: 77 })
    );
    assert!(ContentKey::from_bytes(1, &[0; 31]).is_err());
}

#[test]
fn a_relay_verifies_the_signature_of_a_sealed_frame_without_the_key() {
    // Encrypt-then-sign: the signature covers the ciphertext, so a relay
    // checks integrity with the public key alone and never sees clear bytes.
    let node = SigningKey::generate(Algorithm::Ed25519).unwrap();
    let key = ContentKey::generate(9).unwrap();
    let sealed = key.seal(&place(), FRAME).unwrap();
    let signature = sign_frame(&node, &place(), &sealed).unwrap();
    let origin = ContentOrigin {
        content: place().content,
        algorithm: node.algorithm().sign_type_code() as u16,
        public_key: node.public_key().as_bytes().to_vec(),
    };
    let relay = FrameVerifier::new(&origin, &[]).unwrap();
    let p = place();
    assert!(
        relay
            .check(p.seq, p.flow, p.header, Some(&signature), &sealed)
            .is_ok()
    );
    let mut tampered = sealed.clone();
    tampered[0] ^= 1;
    assert!(
        relay
            .check(p.seq, p.flow, p.header, Some(&signature), &tampered)
            .is_err()
    );
}

#[test]
fn debug_never_shows_the_key() {
    let key = ContentKey::generate(5).unwrap();
    let text = format!("{key:?}");
    assert!(text.contains("epoch: 5"));
    assert!(!text.contains(&hex::encode(key.secret_bytes())));
}
