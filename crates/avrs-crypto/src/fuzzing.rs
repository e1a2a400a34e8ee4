//! The bodies of the cargo-fuzz targets (`fuzz/fuzz_targets/*.rs`), kept
//! here so unit tests run exactly the code the fuzzer runs. Each takes
//! arbitrary bytes, must never panic, and asserts the invariants that hold
//! whenever decoding succeeds.

use crate::envelope::SignEnvelope;
use crate::keyfile;
use crate::packet::{verify_packet, verify_packet_with_key};
use crate::{Algorithm, SigningKey};

/// `dap_sign_t` decoding: whatever decodes re-encodes to the same bytes,
/// and verifying the rest of the input as data never panics.
pub fn sign_envelope(data: &[u8]) {
    if let Ok((envelope, used)) = SignEnvelope::parse_prefix(data) {
        assert_eq!(envelope.to_vec(), &data[..used]);
        assert_eq!(envelope.encoded_len(), used);
        let verified = envelope.verify(&data[used..]);
        if let Ok(key) = verified {
            assert_eq!(key.id(), envelope.signer_id());
        }
    }
}

/// The signed-packet check with both SIGN codes, with and without a known
/// key: never panics, and a pass names a consistent signer.
pub fn signed_packet(data: &[u8]) {
    let known = SigningKey::from_seed(Algorithm::Ed25519, &[1; 32]).expect("fixed seed");
    for code in [0xFFFF, 0x0001] {
        for result in [
            verify_packet(data, code, None),
            verify_packet(data, code, Some(&known.id())),
            verify_packet_with_key(data, code, known.public_key()),
        ] {
            match result {
                Ok(signer) => {
                    assert!(signer.signed_len <= data.len());
                    assert_eq!(signer.id, signer.public_key.id());
                }
                Err(err) => {
                    let _ = (err.retcode(), err.text_tag(), err.to_string());
                }
            }
        }
    }
}

/// Key file decoding: whatever decodes re-encodes to a file that decodes
/// to the same key.
pub fn key_file(data: &[u8]) {
    if let Ok(key) = keyfile::decode(data) {
        let text = keyfile::encode(&key);
        let again = keyfile::decode(text.as_bytes()).expect("a re-encoded key file decodes");
        assert_eq!(again.public_key(), key.public_key());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::sign_packet;
    use proptest::prelude::*;

    #[test]
    fn targets_accept_valid_inputs() {
        let key = SigningKey::generate(Algorithm::Ed25519).unwrap();
        let envelope = crate::envelope::sign(&key, b"data").unwrap();
        sign_envelope(&[envelope.as_slice(), b"data"].concat());
        let packet = sign_packet(&[b'C', 0, 0, 0, 0, 0, 0, 0], 0xFFFF, &key).unwrap();
        signed_packet(&packet);
        key_file(keyfile::encode(&key).as_bytes());
    }

    proptest! {
        #[test]
        fn targets_never_panic_on_arbitrary_bytes(
            data in proptest::collection::vec(any::<u8>(), 0..512)
        ) {
            sign_envelope(&data);
            signed_packet(&data);
            key_file(&data);
        }

        #[test]
        fn targets_never_panic_on_near_valid_envelopes(
            sign_type in prop_oneof![Just(0x0A01u32), Just(0x0A02), any::<u32>()],
            hash in any::<u8>(),
            sig_len in prop_oneof![Just(64u32), Just(3309), 0u32..4000],
            key_len in prop_oneof![Just(32u32), Just(1952), 0u32..2500],
            tail in proptest::collection::vec(any::<u8>(), 0..5400),
        ) {
            let mut data = sign_type.to_le_bytes().to_vec();
            data.extend_from_slice(&[hash, 0]);
            data.extend_from_slice(&sig_len.to_le_bytes());
            data.extend_from_slice(&key_len.to_le_bytes());
            data.extend_from_slice(&tail);
            sign_envelope(&data);
        }
    }
}
