use super::*;
use avrs_proto::avrs::quic::FrameFlags;

fn place() -> FramePlace {
    FramePlace {
        content: Guuid::new(7, 9),
        seq: 42,
        flow: 0,
        header: FrameHeader {
            flags: FrameFlags::KEYFRAME,
            dts: 9000,
            pts: 12000,
        },
    }
}

fn origin(key: &SigningKey) -> ContentOrigin {
    ContentOrigin {
        content: Guuid::new(7, 9),
        algorithm: key.algorithm().sign_type_code() as u16,
        public_key: key.public_key().as_bytes().to_vec(),
    }
}

fn check(verifier: &FrameVerifier, p: &FramePlace, sig: Option<&[u8]>, frame: &[u8]) -> bool {
    verifier.check(p.seq, p.flow, p.header, sig, frame).is_ok()
}

#[test]
fn a_signed_frame_verifies_with_either_algorithm() {
    for algorithm in Algorithm::ALL {
        let key = SigningKey::generate(algorithm).unwrap();
        let frame = b"\x00\x00\x00\x02\x65\x88 picture bytes";
        let signature = sign_frame(&key, &place(), frame).unwrap();
        assert_eq!(signature.len(), algorithm.signature_len());
        let verifier = FrameVerifier::new(&origin(&key), &[]).unwrap();
        assert!(check(&verifier, &place(), Some(&signature), frame));
        // The SIGNED transport bit is not part of what is signed.
        let mut travelled = place();
        travelled.header.flags |= FrameFlags::SIGNED;
        assert!(check(&verifier, &travelled, Some(&signature), frame));
    }
}

#[test]
fn any_altered_byte_or_field_is_detected() {
    let key = SigningKey::generate(Algorithm::Ed25519).unwrap();
    let frame = vec![0x5Au8; 300];
    let signature = sign_frame(&key, &place(), &frame).unwrap();
    let verifier = FrameVerifier::new(&origin(&key), &[]).unwrap();
    for at in 0..frame.len() {
        let mut altered = frame.clone();
        altered[at] ^= 0x01;
        let error = verifier
            .check(42, 0, place().header, Some(&signature), &altered)
            .unwrap_err();
        assert_eq!(error, FrameCheckError::BadSignature { seq: 42 });
        assert_eq!(error.retcode(), RetCode::ContentCorrupted);
    }
    for at in 0..signature.len() {
        let mut bad = signature.clone();
        bad[at] ^= 0x80;
        assert!(
            !check(&verifier, &place(), Some(&bad), &frame),
            "sig byte {at}"
        );
    }
    let mut moved = place();
    moved.seq += 1;
    assert!(
        !check(&verifier, &moved, Some(&signature), &frame),
        "replayed at another position"
    );
    let mut other_flow = place();
    other_flow.flow = 1;
    assert!(!check(&verifier, &other_flow, Some(&signature), &frame));
    let mut not_key = place();
    not_key.header.flags = FrameFlags::empty();
    assert!(!check(&verifier, &not_key, Some(&signature), &frame));
    let mut later = place();
    later.header.pts += 1;
    assert!(!check(&verifier, &later, Some(&signature), &frame));
    assert!(
        !check(&verifier, &place(), Some(&signature), &frame[1..]),
        "cut"
    );
    assert_eq!(
        verifier.check(42, 0, place().header, None, &frame),
        Err(FrameCheckError::Unsigned { seq: 42 })
    );
}

#[test]
fn a_frame_of_another_content_or_signer_is_refused() {
    let key = SigningKey::generate(Algorithm::Ed25519).unwrap();
    let forger = SigningKey::generate(Algorithm::Ed25519).unwrap();
    let frame = b"abc";
    let verifier = FrameVerifier::new(&origin(&key), &[]).unwrap();
    let forged = sign_frame(&forger, &place(), frame).unwrap();
    assert!(!check(&verifier, &place(), Some(&forged), frame));
    let mut elsewhere = place();
    elsewhere.content = Guuid::new(7, 10);
    let from_other_content = sign_frame(&key, &elsewhere, frame).unwrap();
    assert!(!check(
        &verifier,
        &place(),
        Some(&from_other_content),
        frame
    ));
}

#[test]
fn origins_are_checked_against_the_trusted_ids() {
    let key = SigningKey::generate(Algorithm::Ed25519).unwrap();
    let other = SigningKey::generate(Algorithm::Ed25519).unwrap();
    assert!(FrameVerifier::new(&origin(&key), &[key.id().0]).is_ok());
    let error = FrameVerifier::new(&origin(&key), &[other.id().0]).unwrap_err();
    assert_eq!(error.retcode(), RetCode::SignAlien);
    let mut broken = origin(&key);
    broken.public_key.pop();
    assert_eq!(
        FrameVerifier::new(&broken, &[]).unwrap_err().retcode(),
        RetCode::SignIncorrect
    );
    broken = origin(&key);
    broken.algorithm = 0x0102;
    assert!(
        FrameVerifier::new(&broken, &[]).is_err(),
        "DAP's Dilithium code"
    );
}
