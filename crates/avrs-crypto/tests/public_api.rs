//! The crate as another crate uses it: only public items, end to end.

use avrs_crypto::{
    Algorithm, CryptoError, NodeAddr, SignCheckError, SigningKey, keyfile, sign_packet,
    verify_packet,
};
use avrs_proto::avrs::RetCode;
use avrs_proto::tsd::TsdBuilder;

const SESSION_SIGN: u16 = 0x0001;

#[test]
fn a_key_saved_to_disk_signs_packets_that_verify_as_its_id() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("member.key");
    let key = SigningKey::generate(Algorithm::MlDsa65).unwrap();
    keyfile::save(&path, &key, false).unwrap();
    let loaded = keyfile::load(&path).unwrap();
    assert_eq!(loaded.id(), key.id());

    let mut args = TsdBuilder::with_prefix(vec![b'S', 0, 0, 0, 0, 0, 0, 0]);
    args.put_u32(0x0002, 42);
    let packet = sign_packet(&args.finish(), SESSION_SIGN, &loaded).unwrap();
    let signer = verify_packet(&packet, SESSION_SIGN, Some(&key.id())).unwrap();
    assert_eq!(signer.id, key.id());
    assert_eq!(signer.algorithm, Algorithm::MlDsa65);
    assert_eq!(
        NodeAddr::from_key_hash(&signer.id),
        key.public_key().node_addr()
    );
}

#[test]
fn sign_check_failures_become_return_codes_and_crate_errors() {
    let unsigned = vec![b'S', 0, 0, 0, 0, 0, 0, 0];
    let err = verify_packet(&unsigned, SESSION_SIGN, None).unwrap_err();
    assert_eq!(err.retcode(), RetCode::SignNotPresent);
    let wrapped: CryptoError = err.into();
    assert!(matches!(
        wrapped,
        CryptoError::SignCheck(SignCheckError::NotPresent)
    ));
}
