use super::*;
use proptest::prelude::*;

fn ed25519_key() -> SigningKey {
    SigningKey::from_seed(Algorithm::Ed25519, &[0x11; 32]).unwrap()
}

/// Header, key and signature of an Ed25519 envelope as literal bytes.
fn ed25519_wire(hash_byte: u8, key: &[u8], sig: &[u8]) -> Vec<u8> {
    let mut wire = vec![
        0x01, 0x0A, 0x00, 0x00, // type 0x0A01
        hash_byte, 0x00, // hash_type, padding
        0x40, 0x00, 0x00, 0x00, // sign_size 64
    ];
    wire.extend_from_slice(&(key.len() as u32).to_le_bytes());
    wire.extend_from_slice(key);
    wire.extend_from_slice(sig);
    wire
}

#[test]
fn header_is_14_literal_bytes() {
    let sig = [0x5A; 64];
    let key = [0xC3; 32];
    let envelope = SignEnvelope::new(
        Algorithm::Ed25519,
        HashType::Sha3_256,
        KeyField::PublicKey(&key),
        &sig,
    )
    .unwrap();
    let bytes = envelope.to_vec();
    assert_eq!(HEADER_SIZE, 14);
    assert_eq!(
        &bytes[..14],
        &[
            0x01, 0x0A, 0x00, 0x00, 0x01, 0x00, 0x40, 0x00, 0x00, 0x00, 0x20, 0x00, 0x00, 0x00
        ]
    );
    assert_eq!(bytes, ed25519_wire(0x01, &key, &sig));
    assert_eq!(bytes.len(), 14 + 32 + 64);

    let ml = [0u8; 1952];
    let ml_sig = [0u8; 3309];
    let envelope = SignEnvelope::new(
        Algorithm::MlDsa65,
        HashType::None,
        KeyField::PublicKey(&ml),
        &ml_sig,
    )
    .unwrap();
    assert_eq!(
        &envelope.to_vec()[..14],
        // type 0x0A02, hash none, sign_size 3309 = 0x0CED, pkey 1952 = 0x07A0
        &[
            0x02, 0x0A, 0x00, 0x00, 0x00, 0x00, 0xED, 0x0C, 0x00, 0x00, 0xA0, 0x07, 0x00, 0x00
        ]
    );
}

#[test]
fn key_hash_form_sets_bit_7_and_carries_32_bytes() {
    let hash = Hash32([0x77; 32]);
    let sig = [0x01; 64];
    let envelope = SignEnvelope::new(
        Algorithm::Ed25519,
        HashType::Sha3_256,
        KeyField::KeyHash(hash),
        &sig,
    )
    .unwrap();
    let bytes = envelope.to_vec();
    assert_eq!(bytes, ed25519_wire(0x81, &[0x77; 32], &sig));
    let decoded = SignEnvelope::parse(&bytes).unwrap();
    assert_eq!(decoded.key(), KeyField::KeyHash(hash));
    assert_eq!(decoded.signer_id(), hash);
}

#[test]
fn sign_then_verify_with_each_algorithm_and_hash_type() {
    for alg in Algorithm::ALL {
        let key = SigningKey::generate(alg).unwrap();
        for hash_type in [HashType::Sha3_256, HashType::None] {
            let options = SignOptions {
                hash_type,
                key_hash_only: false,
            };
            let mut bytes = Vec::new();
            sign_into(&key, b"payload", options, &mut bytes).unwrap();
            assert_eq!(bytes.len(), envelope_len(&key, options));
            let envelope = SignEnvelope::parse(&bytes).unwrap();
            assert_eq!(envelope.algorithm(), alg);
            assert_eq!(envelope.hash_type(), hash_type);
            assert_eq!(&envelope.verify(b"payload").unwrap(), key.public_key());
            envelope
                .verify_with_key(b"payload", key.public_key())
                .unwrap();
            assert!(matches!(
                envelope.verify(b"payloaD"),
                Err(CryptoError::BadSignature)
            ));
        }
    }
}

#[test]
fn default_signs_the_sha3_of_the_data() {
    let key = ed25519_key();
    let bytes = sign(&key, b"data").unwrap();
    assert_eq!(bytes[4], 0x01, "hash_type SHA3-256 by default");
    let envelope = SignEnvelope::parse(&bytes).unwrap();
    // The raw signature is over SHA3-256(data), not over the data.
    key.public_key()
        .verify_raw(sha3_256(b"data").as_bytes(), envelope.signature())
        .unwrap();
    assert!(
        key.public_key()
            .verify_raw(b"data", envelope.signature())
            .is_err()
    );
}

#[test]
fn key_hash_envelopes_verify_only_with_the_named_key() {
    let key = ed25519_key();
    let other = SigningKey::from_seed(Algorithm::Ed25519, &[0x22; 32]).unwrap();
    let options = SignOptions {
        hash_type: HashType::Sha3_256,
        key_hash_only: true,
    };
    let mut bytes = Vec::new();
    sign_into(&key, b"data", options, &mut bytes).unwrap();
    assert_eq!(bytes.len(), 14 + 32 + 64);
    let envelope = SignEnvelope::parse(&bytes).unwrap();
    assert!(matches!(
        envelope.verify(b"data"),
        Err(CryptoError::KeyNotEmbedded)
    ));
    envelope.verify_with_key(b"data", key.public_key()).unwrap();
    assert!(matches!(
        envelope.verify_with_key(b"data", other.public_key()),
        Err(CryptoError::SignerMismatch { .. })
    ));
    assert!(matches!(
        envelope.verify_with_key(b"datA", key.public_key()),
        Err(CryptoError::BadSignature)
    ));
}

#[test]
fn embedded_key_must_be_the_given_key() {
    let key = ed25519_key();
    let other = SigningKey::from_seed(Algorithm::Ed25519, &[0x22; 32]).unwrap();
    let bytes = sign(&key, b"data").unwrap();
    let envelope = SignEnvelope::parse(&bytes).unwrap();
    let err = envelope
        .verify_with_key(b"data", other.public_key())
        .unwrap_err();
    assert!(matches!(err, CryptoError::SignerMismatch { named, given }
        if named == key.id() && given == other.id()));
}

/// Decodes `bytes` and returns the error, which must be a malformed one.
fn malformed(bytes: &[u8]) -> CryptoError {
    let err = SignEnvelope::parse(bytes).unwrap_err();
    assert!(err.is_malformed_envelope(), "{err}");
    err
}

#[test]
fn truncation_is_reported_with_sizes() {
    let valid = ed25519_wire(0x01, &[1; 32], &[2; 64]);
    assert!(matches!(
        malformed(&valid[..13]),
        CryptoError::EnvelopeTruncated { need: 14, have: 13 }
    ));
    assert!(matches!(
        malformed(&valid[..valid.len() - 1]),
        CryptoError::EnvelopeTruncated {
            need: 110,
            have: 109
        }
    ));
    assert!(matches!(
        malformed(&[]),
        CryptoError::EnvelopeTruncated { need: 14, have: 0 }
    ));
}

#[test]
fn sanity_checks_come_before_the_algorithm() {
    let mut null_type = ed25519_wire(0x01, &[1; 32], &[2; 64]);
    null_type[..4].fill(0);
    assert!(matches!(
        malformed(&null_type),
        CryptoError::MalformedEnvelope("null signature type")
    ));

    let mut zero_sig = ed25519_wire(0x01, &[1; 32], &[]);
    zero_sig[6..10].fill(0);
    assert!(matches!(
        malformed(&zero_sig),
        CryptoError::MalformedEnvelope("zero key or signature size")
    ));
    let zero_key = ed25519_wire(0x01, &[], &[2; 64]);
    assert!(matches!(
        malformed(&zero_key),
        CryptoError::MalformedEnvelope("zero key or signature size")
    ));

    // Sizes far larger than the buffer are refused before anything is read.
    let mut huge = ed25519_wire(0x01, &[1; 32], &[2; 64]);
    huge[6..10].copy_from_slice(&u32::MAX.to_le_bytes());
    huge[10..14].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(
        malformed(&huge),
        CryptoError::EnvelopeTruncated { have: 110, .. }
    ));

    let mut padding = ed25519_wire(0x01, &[1; 32], &[2; 64]);
    padding[5] = 1;
    assert!(matches!(
        malformed(&padding),
        CryptoError::MalformedEnvelope("non-zero padding byte")
    ));
}

#[test]
fn unknown_types_hash_types_and_wrong_sizes_are_refused() {
    let mut dilithium = ed25519_wire(0x01, &[1; 32], &[2; 64]);
    dilithium[..4].copy_from_slice(&0x0102u32.to_le_bytes());
    let err = malformed(&dilithium);
    assert_eq!(err.to_string(), "unsupported signature type 0x0102");

    for hash in [0x02, 0x0E, 0x0F, 0x82] {
        let bytes = ed25519_wire(hash, &[1; 32], &[2; 64]);
        assert!(
            matches!(malformed(&bytes), CryptoError::UnsupportedHashType(h) if h == hash & 0x7F)
        );
    }

    let short_key = ed25519_wire(0x01, &[1; 31], &[2; 64]);
    assert!(matches!(
        malformed(&short_key),
        CryptoError::WrongSize {
            what: "public key",
            expected: 32,
            actual: 31,
            ..
        }
    ));
    let short_hash = ed25519_wire(0x81, &[1; 31], &[2; 64]);
    assert!(matches!(
        malformed(&short_hash),
        CryptoError::WrongSize {
            what: "key hash",
            ..
        }
    ));
    let mut long_sig = ed25519_wire(0x01, &[1; 32], &[2; 65]);
    long_sig[6..10].copy_from_slice(&65u32.to_le_bytes());
    assert!(matches!(
        malformed(&long_sig),
        CryptoError::WrongSize {
            what: "signature",
            expected: 64,
            actual: 65,
            ..
        }
    ));
}

#[test]
fn parse_wants_the_exact_length_and_parse_prefix_reports_it() {
    let mut bytes = ed25519_wire(0x01, &[1; 32], &[2; 64]);
    bytes.push(0);
    assert!(matches!(
        malformed(&bytes),
        CryptoError::EnvelopeTrailingBytes(1)
    ));
    let (_, used) = SignEnvelope::parse_prefix(&bytes).unwrap();
    assert_eq!(used, 110);
}

#[test]
fn a_bad_signature_is_not_malformed() {
    let key = ed25519_key();
    let mut bytes = sign(&key, b"data").unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    let err = SignEnvelope::parse(&bytes)
        .unwrap()
        .verify(b"data")
        .unwrap_err();
    assert!(matches!(err, CryptoError::BadSignature));
    assert!(!err.is_malformed_envelope());
}

#[test]
fn new_checks_sizes() {
    assert!(
        SignEnvelope::new(
            Algorithm::Ed25519,
            HashType::None,
            KeyField::PublicKey(&[0; 32]),
            &[0; 63]
        )
        .is_err()
    );
    assert!(
        SignEnvelope::new(
            Algorithm::MlDsa65,
            HashType::None,
            KeyField::PublicKey(&[0; 32]),
            &[0; 3309]
        )
        .is_err()
    );
}

fn any_algorithm() -> impl Strategy<Value = Algorithm> {
    prop_oneof![Just(Algorithm::Ed25519), Just(Algorithm::MlDsa65)]
}

proptest! {
    #[test]
    fn encode_then_decode_round_trips(
        alg in any_algorithm(),
        hash_none in any::<bool>(),
        key_hash in proptest::option::of(any::<[u8; 32]>()),
        fill in any::<u8>(),
    ) {
        let key_bytes = vec![fill; alg.public_key_len()];
        let sig = vec![fill ^ 0x5A; alg.signature_len()];
        let key = match key_hash {
            Some(h) => KeyField::KeyHash(Hash32(h)),
            None => KeyField::PublicKey(&key_bytes),
        };
        let hash_type = if hash_none { HashType::None } else { HashType::Sha3_256 };
        let envelope = SignEnvelope::new(alg, hash_type, key, &sig).unwrap();
        let bytes = envelope.to_vec();
        prop_assert_eq!(bytes.len(), envelope.encoded_len());
        prop_assert_eq!(SignEnvelope::parse(&bytes).unwrap(), envelope);
    }

    #[test]
    fn random_messages_sign_and_verify(
        msg in proptest::collection::vec(any::<u8>(), 0..1500),
    ) {
        let key = ed25519_key();
        let bytes = sign(&key, &msg).unwrap();
        let envelope = SignEnvelope::parse(&bytes).unwrap();
        prop_assert_eq!(&envelope.verify(&msg).unwrap(), key.public_key());
    }

    #[test]
    fn any_single_bit_flip_in_the_signature_fails(bit in 0usize..64 * 8) {
        let key = ed25519_key();
        let mut bytes = sign(&key, b"message").unwrap();
        let sig_start = HEADER_SIZE + 32;
        bytes[sig_start + bit / 8] ^= 1 << (bit % 8);
        let envelope = SignEnvelope::parse(&bytes).unwrap();
        prop_assert!(matches!(envelope.verify(b"message"), Err(CryptoError::BadSignature)));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        if let Ok((envelope, used)) = SignEnvelope::parse_prefix(&bytes) {
            prop_assert_eq!(envelope.to_vec(), &bytes[..used]);
        }
    }
}

/// The ML-DSA-65 counterparts of the property tests, with fewer cases: a
/// signature there costs about 100 times an Ed25519 one in debug builds.
mod ml_dsa {
    use super::*;

    fn key() -> &'static SigningKey {
        static KEY: std::sync::OnceLock<SigningKey> = std::sync::OnceLock::new();
        KEY.get_or_init(|| SigningKey::from_seed(Algorithm::MlDsa65, &[0x33; 32]).unwrap())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        #[test]
        fn random_messages_sign_and_verify(
            msg in proptest::collection::vec(any::<u8>(), 0..1500),
        ) {
            let bytes = sign(key(), &msg).unwrap();
            let envelope = SignEnvelope::parse(&bytes).unwrap();
            prop_assert_eq!(&envelope.verify(&msg).unwrap(), key().public_key());
        }

        #[test]
        fn any_single_bit_flip_in_the_signature_fails(bit in 0usize..3309 * 8) {
            let mut bytes = sign(key(), b"message").unwrap();
            let sig_start = HEADER_SIZE + 1952;
            bytes[sig_start + bit / 8] ^= 1 << (bit % 8);
            let envelope = SignEnvelope::parse(&bytes).unwrap();
            prop_assert!(matches!(envelope.verify(b"message"), Err(CryptoError::BadSignature)));
        }
    }
}
