use super::*;
use avrs_proto::tsd::TsdBuilder;
use std::sync::OnceLock;

const CLUSTER_SIGN: u16 = 0xFFFF;
const SESSION_SIGN: u16 = 0x0001;

fn key(alg: Algorithm) -> &'static SigningKey {
    static ED: OnceLock<SigningKey> = OnceLock::new();
    static ML: OnceLock<SigningKey> = OnceLock::new();
    let cell = match alg {
        Algorithm::Ed25519 => &ED,
        Algorithm::MlDsa65 => &ML,
    };
    cell.get_or_init(|| SigningKey::from_seed(alg, &[alg.sign_type_code() as u8; 32]).unwrap())
}

fn other_key() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| SigningKey::from_seed(Algorithm::Ed25519, &[0xEE; 32]).unwrap())
}

/// A cluster CREATE-like packet: header, a GUUID, a title, a flags word.
fn unsigned_cluster_packet() -> Vec<u8> {
    let mut b = TsdBuilder::with_prefix(vec![0x01, 0, 0, 0, 0, 0, 0, 0]);
    b.put_guuid(0x0002, avrs_proto::Guuid::new(7, 9));
    b.put_str(0x0003, "Concert hall").unwrap();
    b.put_u32(0x0005, 0xA5A5_0001);
    b.finish()
}

fn incorrect_reason(result: Result<VerifiedSigner, SignCheckError>) -> SignIncorrect {
    match result {
        Err(SignCheckError::Incorrect { reason, .. }) => reason,
        other => panic!("expected SIGN_INCORRECT, got {other:?}"),
    }
}

#[test]
fn a_packet_signed_with_each_algorithm_verifies() {
    let unsigned = unsigned_cluster_packet();
    for alg in Algorithm::ALL {
        let signer = key(alg);
        let packet = sign_packet(&unsigned, CLUSTER_SIGN, signer).unwrap();
        assert_eq!(&packet[..unsigned.len()], &unsigned[..]);
        let verified = verify_packet(&packet, CLUSTER_SIGN, Some(&signer.id())).unwrap();
        assert_eq!(verified.id, signer.id());
        assert_eq!(verified.algorithm, alg);
        assert_eq!(verified.signed_len, unsigned.len());
        assert_eq!(&verified.public_key, signer.public_key());
        assert!(verify_packet(&packet, CLUSTER_SIGN, None).is_ok());
        assert!(verify_packet_with_key(&packet, CLUSTER_SIGN, signer.public_key()).is_ok());
    }
}

#[test]
fn the_sign_item_has_the_literal_layout() {
    let unsigned = vec![b'S', 0, 0, 0, 0, 0, 0, 0];
    let signer = key(Algorithm::Ed25519);
    let packet = sign_packet(&unsigned, SESSION_SIGN, signer).unwrap();
    assert_eq!(packet.len(), 8 + 6 + 14 + 32 + 64);
    assert_eq!(
        &packet[8..8 + 6 + 14],
        &[
            0x01, 0x00, 0x6E, 0x00, 0x00, 0x00, // TSD code 0x0001, size 110
            0x01, 0x0A, 0x00, 0x00, 0x01, 0x00, // type 0x0A01, SHA3-256, padding
            0x40, 0x00, 0x00, 0x00, 0x20, 0x00, 0x00, 0x00, // sign 64, pkey 32
        ]
    );
    assert_eq!(&packet[28..60], signer.public_key().as_bytes());
    let verified = verify_packet(&packet, SESSION_SIGN, None).unwrap();
    assert_eq!(verified.signed_len, 8);
}

#[test]
fn changing_any_byte_before_the_sign_item_gives_sign_incorrect() {
    let unsigned = unsigned_cluster_packet();
    for alg in Algorithm::ALL {
        let packet = sign_packet(&unsigned, CLUSTER_SIGN, key(alg)).unwrap();
        for at in 0..unsigned.len() {
            for flip in [0x01, 0x80, 0xFF] {
                let mut tampered = packet.clone();
                tampered[at] ^= flip;
                let result = verify_packet(&tampered, CLUSTER_SIGN, None);
                let err = result.expect_err("a tampered packet must not verify");
                assert_eq!(
                    err.retcode(),
                    RetCode::SignIncorrect,
                    "{alg} byte {at} ^ {flip:#04x}: {err}"
                );
            }
        }
    }
}

#[test]
fn a_tampered_header_or_value_fails_verification_itself() {
    let unsigned = unsigned_cluster_packet();
    let packet = sign_packet(&unsigned, CLUSTER_SIGN, key(Algorithm::Ed25519)).unwrap();
    for at in [0, 7, unsigned.len() - 1] {
        let mut tampered = packet.clone();
        tampered[at] ^= 0x01;
        let err = verify_packet(&tampered, CLUSTER_SIGN, None).unwrap_err();
        assert_eq!(err.text_tag(), "PKT_SIGN_DOESNT_PASS_VERIFICATION");
    }
}

#[test]
fn a_size_that_swallows_the_sign_item_leaves_an_unsigned_packet() {
    // Rewriting one item's size so that it covers the SIGN item yields a
    // structurally valid packet with no SIGN item: it is refused as unsigned.
    let mut b = TsdBuilder::with_prefix(vec![0x01, 0, 0, 0, 0, 0, 0, 0]);
    b.put_u32(0x0005, 1);
    let packet = sign_packet(&b.finish(), CLUSTER_SIGN, key(Algorithm::Ed25519)).unwrap();
    let mut tampered = packet.clone();
    let swallowed = 4 + 6 + 110;
    tampered[8 + 2] = swallowed as u8;
    let err = verify_packet(&tampered, CLUSTER_SIGN, None).unwrap_err();
    assert_eq!(err.retcode(), RetCode::SignNotPresent);
}

#[test]
fn removing_the_sign_item_gives_sign_not_present() {
    let unsigned = unsigned_cluster_packet();
    let err = verify_packet(&unsigned, CLUSTER_SIGN, None).unwrap_err();
    assert!(matches!(err, SignCheckError::NotPresent));
    assert_eq!(err.retcode(), RetCode::SignNotPresent);
    assert_eq!(err.text_tag(), "SIGN_NOT_PRESENT");
    // A header alone has no SIGN item either.
    let err = verify_packet(&unsigned[..8], CLUSTER_SIGN, None).unwrap_err();
    assert!(matches!(err, SignCheckError::NotPresent));
}

#[test]
fn the_sign_code_is_the_callers() {
    let packet = sign_packet(
        &unsigned_cluster_packet(),
        SESSION_SIGN,
        key(Algorithm::Ed25519),
    )
    .unwrap();
    assert!(verify_packet(&packet, SESSION_SIGN, None).is_ok());
    // Read as a cluster packet, the session SIGN item is just an argument.
    let err = verify_packet(&packet, CLUSTER_SIGN, None).unwrap_err();
    assert!(matches!(err, SignCheckError::NotPresent));
}

#[test]
fn a_valid_signature_by_another_key_gives_sign_alien() {
    let signer = key(Algorithm::Ed25519);
    let expected = other_key();
    let packet = sign_packet(&unsigned_cluster_packet(), CLUSTER_SIGN, signer).unwrap();
    let err = verify_packet(&packet, CLUSTER_SIGN, Some(&expected.id())).unwrap_err();
    assert!(
        matches!(err, SignCheckError::Alien { signer: s, expected: e }
        if s == signer.id() && e == expected.id())
    );
    assert_eq!(err.retcode(), RetCode::SignAlien);
    assert_eq!(err.text_tag(), "SIGN_ALIEN");
    let err = verify_packet_with_key(&packet, CLUSTER_SIGN, expected.public_key()).unwrap_err();
    assert_eq!(err.retcode(), RetCode::SignAlien);
}

#[test]
fn an_invalid_signature_by_another_key_is_incorrect_not_alien() {
    let packet = sign_packet(&unsigned_cluster_packet(), CLUSTER_SIGN, other_key()).unwrap();
    let mut tampered = packet.clone();
    tampered[0] ^= 1;
    let known = key(Algorithm::Ed25519);
    let err = verify_packet(&tampered, CLUSTER_SIGN, Some(&known.id())).unwrap_err();
    assert_eq!(err.retcode(), RetCode::SignIncorrect);
    let err = verify_packet_with_key(&tampered, CLUSTER_SIGN, known.public_key()).unwrap_err();
    assert_eq!(err.retcode(), RetCode::SignIncorrect);
}

#[test]
fn sign_not_last_is_sign_incorrect() {
    let mut packet = sign_packet(
        &unsigned_cluster_packet(),
        CLUSTER_SIGN,
        key(Algorithm::Ed25519),
    )
    .unwrap();
    packet.extend_from_slice(&[0x09, 0x00, 0x01, 0x00, 0x00, 0x00, 0x42]);
    let reason = incorrect_reason(verify_packet(&packet, CLUSTER_SIGN, None));
    assert_eq!(reason, SignIncorrect::ArgSignCorrupted);
    assert_eq!(reason.text_tag(), "PKT_ARG_SIGN_CORRUPTED");
    // Bytes after SIGN that are not even an item are refused the same way.
    let mut packet = sign_packet(
        &unsigned_cluster_packet(),
        CLUSTER_SIGN,
        key(Algorithm::Ed25519),
    )
    .unwrap();
    packet.push(0);
    assert_eq!(
        incorrect_reason(verify_packet(&packet, CLUSTER_SIGN, None)),
        SignIncorrect::ArgSignCorrupted
    );
}

/// Replaces the SIGN item of `packet` (at args offset `offset`) by one whose
/// value is `value`.
fn with_sign_value(packet: &[u8], signed_len: usize, value: &[u8]) -> Vec<u8> {
    let mut b = TsdBuilder::with_prefix(packet[..signed_len].to_vec());
    b.put(CLUSTER_SIGN, value).unwrap();
    b.finish()
}

#[test]
fn a_truncated_envelope_is_sign_incorrect_tsd_too_small() {
    let unsigned = unsigned_cluster_packet();
    for alg in Algorithm::ALL {
        let packet = sign_packet(&unsigned, CLUSTER_SIGN, key(alg)).unwrap();
        let envelope = &packet[unsigned.len() + 6..];
        for cut in [1, 13, 14, envelope.len() - 1] {
            let short = with_sign_value(&packet, unsigned.len(), &envelope[..cut]);
            let result = verify_packet(&short, CLUSTER_SIGN, None);
            assert_eq!(
                incorrect_reason(result),
                SignIncorrect::TsdTooSmall,
                "{alg} {cut}"
            );
        }
    }
}

#[test]
fn a_packet_cut_inside_an_item_is_tsd_too_small() {
    let packet = sign_packet(
        &unsigned_cluster_packet(),
        CLUSTER_SIGN,
        key(Algorithm::Ed25519),
    )
    .unwrap();
    let cut = &packet[..packet.len() - 1];
    assert_eq!(
        incorrect_reason(verify_packet(cut, CLUSTER_SIGN, None)),
        SignIncorrect::TsdTooSmall
    );
    assert_eq!(
        incorrect_reason(verify_packet(&packet[..5], CLUSTER_SIGN, None)),
        SignIncorrect::TsdTooSmall
    );
}

#[test]
fn a_malformed_envelope_is_arg_sign_corrupted() {
    let unsigned = unsigned_cluster_packet();
    let packet = sign_packet(&unsigned, CLUSTER_SIGN, key(Algorithm::Ed25519)).unwrap();
    let mut envelope = packet[unsigned.len() + 6..].to_vec();
    envelope[..4].copy_from_slice(&0x0102u32.to_le_bytes()); // DAP Dilithium
    let bad = with_sign_value(&packet, unsigned.len(), &envelope);
    let err = verify_packet(&bad, CLUSTER_SIGN, None).unwrap_err();
    assert_eq!(err.text_tag(), "PKT_ARG_SIGN_CORRUPTED");
    assert!(
        err.to_string()
            .contains("unsupported signature type 0x0102"),
        "{err}"
    );
}

#[test]
fn a_key_hash_envelope_needs_the_known_key() {
    let unsigned = unsigned_cluster_packet();
    let signer = key(Algorithm::Ed25519);
    let options = SignOptions {
        key_hash_only: true,
        ..SignOptions::default()
    };
    let mut value = Vec::new();
    envelope::sign_into(signer, &unsigned, options, &mut value).unwrap();
    let packet = with_sign_value(&unsigned, unsigned.len(), &value);
    let verified = verify_packet_with_key(&packet, CLUSTER_SIGN, signer.public_key()).unwrap();
    assert_eq!(verified.id, signer.id());
    assert_eq!(
        incorrect_reason(verify_packet(&packet, CLUSTER_SIGN, None)),
        SignIncorrect::ArgSignCorrupted
    );
    let err = verify_packet_with_key(&packet, CLUSTER_SIGN, other_key().public_key()).unwrap_err();
    assert_eq!(err.retcode(), RetCode::SignIncorrect);
}

#[test]
fn sign_packet_refuses_bad_input() {
    let signer = key(Algorithm::Ed25519);
    assert!(matches!(
        sign_packet(&[0; 7], CLUSTER_SIGN, signer),
        Err(CryptoError::PacketTooShort(7))
    ));
    let mut broken = unsigned_cluster_packet();
    broken.pop();
    assert!(matches!(
        sign_packet(&broken, CLUSTER_SIGN, signer),
        Err(CryptoError::PacketStructure(_))
    ));
    let signed = sign_packet(&unsigned_cluster_packet(), CLUSTER_SIGN, signer).unwrap();
    assert!(matches!(
        sign_packet(&signed, CLUSTER_SIGN, signer),
        Err(CryptoError::AlreadySigned { .. })
    ));
}

#[test]
fn sign_check_errors_convert_into_the_crate_error() {
    let err: CryptoError = SignCheckError::NotPresent.into();
    assert_eq!(
        err.to_string(),
        "SIGN_NOT_PRESENT: the packet has no SIGN item"
    );
}

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn random_packets_sign_and_verify(
            sub_type in any::<u8>(),
            items in proptest::collection::vec(
                (0u16..0xFFFE, proptest::collection::vec(any::<u8>(), 0..64)), 0..12),
        ) {
            let mut b = TsdBuilder::with_prefix(vec![sub_type, 0, 0, 0, 0, 0, 0, 0]);
            for (code, value) in &items {
                b.put(*code, value).unwrap();
            }
            let unsigned = b.finish();
            let signer = key(Algorithm::Ed25519);
            let packet = sign_packet(&unsigned, CLUSTER_SIGN, signer).unwrap();
            let verified = verify_packet(&packet, CLUSTER_SIGN, Some(&signer.id())).unwrap();
            prop_assert_eq!(verified.signed_len, unsigned.len());
        }

        #[test]
        fn any_single_bit_flip_before_sign_is_refused(bit in 0usize..(8 + 22 + 19 + 10) * 8) {
            let unsigned = unsigned_cluster_packet();
            prop_assume!(bit / 8 < unsigned.len());
            let mut packet = sign_packet(&unsigned, CLUSTER_SIGN, key(Algorithm::Ed25519)).unwrap();
            packet[bit / 8] ^= 1 << (bit % 8);
            prop_assert!(verify_packet(&packet, CLUSTER_SIGN, None).is_err());
        }
    }
}
