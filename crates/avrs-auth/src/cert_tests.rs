use super::*;
use crate::AuthError;

const NOW: u64 = 1_700_000_000;

fn key(alg: Algorithm, seed: u8) -> SigningKey {
    SigningKey::from_seed(alg, &[seed; 32]).unwrap()
}

fn member_cert(ca: &SigningKey, member: &SigningKey) -> MemberCertificate {
    let attrs = BTreeMap::from([("region".to_owned(), "eu".to_owned())]);
    MemberCertificate::issue(
        ca,
        member.public_key(),
        Roles::SERVER,
        attrs,
        NOW - 10,
        NOW + 3600,
    )
    .unwrap()
}

#[test]
fn certificates_round_trip_and_verify_for_both_algorithms() {
    for alg in Algorithm::ALL {
        let ca = key(alg, 1);
        let member = key(Algorithm::Ed25519, 2);
        let cert = member_cert(&ca, &member);
        let back = MemberCertificate::from_armor(cert.to_armor().as_bytes()).unwrap();
        assert_eq!(back, cert);
        assert_eq!(back.member_id(), member.id());
        assert_eq!(back.attrs["region"], "eu");
        back.verify(ca.public_key(), &Revocations::default(), NOW)
            .unwrap();
    }
}

#[test]
fn each_refusal_has_its_own_error() {
    let ca = key(Algorithm::Ed25519, 1);
    let cert = member_cert(&ca, &key(Algorithm::Ed25519, 2));
    let none = Revocations::default();
    assert_eq!(
        cert.verify(ca.public_key(), &none, NOW + 3600),
        Err(CertError::Expired(NOW + 3600))
    );
    assert_eq!(
        cert.verify(ca.public_key(), &none, NOW - 11),
        Err(CertError::NotYetValid(NOW - 10))
    );
    let mut revoked = Revocations::default();
    revoked
        .insert(RevokedKind::Serial, &cert.serial_hex())
        .unwrap();
    assert!(matches!(
        cert.verify(ca.public_key(), &revoked, NOW),
        Err(CertError::Revoked(_))
    ));
    let other = key(Algorithm::Ed25519, 9);
    assert!(matches!(
        cert.verify(other.public_key(), &none, NOW),
        Err(CertError::WrongSigner(_))
    ));
}

#[test]
fn a_changed_byte_is_caught() {
    let ca = key(Algorithm::Ed25519, 1);
    let bytes = member_cert(&ca, &key(Algorithm::Ed25519, 2)).to_bytes();
    for at in 0..bytes.len() {
        let mut tampered = bytes.clone();
        tampered[at] ^= 0x01;
        let ok = MemberCertificate::from_bytes(&tampered)
            .map(|c| c.verify(ca.public_key(), &Revocations::default(), NOW))
            .is_ok_and(|r| r.is_ok());
        assert!(!ok, "byte {at} changed and still verifies");
    }
}

#[test]
fn truncated_and_oversized_input_is_malformed() {
    let ca = key(Algorithm::Ed25519, 1);
    let bytes = member_cert(&ca, &key(Algorithm::Ed25519, 2)).to_bytes();
    for len in 0..bytes.len() {
        assert!(matches!(
            MemberCertificate::from_bytes(&bytes[..len]),
            Err(CertError::Malformed(_))
        ));
    }
    let mut long = bytes.clone();
    long.push(0);
    assert!(MemberCertificate::from_bytes(&long).is_err());
    assert!(MemberCertificate::from_bytes(&vec![0; MAX_BYTES + 1]).is_err());
    assert!(
        MemberCertificate::from_armor(
            b"-----BEGIN AVRS CERTIFICATE-----\n!!\n-----END AVRS CERTIFICATE-----"
        )
        .is_err()
    );
}

#[test]
fn the_authority_certificate_is_self_signed() {
    let ca = key(Algorithm::MlDsa65, 1);
    let root = MemberCertificate::issue(
        &ca,
        ca.public_key(),
        Roles::HOST,
        BTreeMap::new(),
        NOW - 1,
        NOW + 100,
    )
    .unwrap();
    assert_eq!(root.authority_key(NOW).unwrap(), *ca.public_key());
    let member = member_cert(&ca, &key(Algorithm::Ed25519, 3));
    assert!(member.authority_key(NOW).is_err(), "not self-signed");
    assert!(matches!(
        root.authority_key(NOW + 100),
        Err(CertError::Expired(_))
    ));
}

/// Joining a cluster: the host's own key is an issuer; without a
/// configured authority no other key is; revocation by serial or member id.
#[test]
fn join_certificates_are_checked_against_the_host_and_revocations() {
    let host = key(Algorithm::Ed25519, 1);
    let member = key(Algorithm::Ed25519, 2);
    let authorizer = crate::Authorizer::embedded(Vec::new(), None);
    let cert = member_cert(&host, &member);
    let bytes = cert.to_bytes();
    let checked = authorizer
        .check_join_certificate(&bytes, host.public_key(), NOW)
        .unwrap();
    assert_eq!(checked.member_id(), member.id());
    let expired = authorizer.check_join_certificate(&bytes, host.public_key(), NOW + 3600);
    assert!(matches!(
        expired,
        Err(AuthError::Certificate(CertError::Expired(_)))
    ));
    let stranger = member_cert(&key(Algorithm::Ed25519, 7), &member).to_bytes();
    let refused = authorizer.check_join_certificate(&stranger, host.public_key(), NOW);
    assert!(matches!(
        refused,
        Err(AuthError::Certificate(CertError::WrongSigner(_)))
    ));
    assert!(
        authorizer
            .check_join_certificate(&bytes[1..], host.public_key(), NOW)
            .is_err()
    );
    for (kind, value) in [
        (RevokedKind::Serial, cert.serial_hex()),
        (RevokedKind::Sub, member.id().to_hex()),
    ] {
        let authorizer = crate::Authorizer::embedded(Vec::new(), None);
        authorizer
            .revocations
            .write()
            .unwrap()
            .insert(kind, &value)
            .unwrap();
        let refused = authorizer.check_join_certificate(&bytes, host.public_key(), NOW);
        assert!(refused.is_err(), "{kind:?} revoked: {refused:?}");
    }
}
