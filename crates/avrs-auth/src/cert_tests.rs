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
    assert_eq!(checked.leaf.member_id(), member.id());
    assert_eq!(checked.chain, vec![cert.link()]);
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

// Chains: a leaf issued by an operator whose certificate the authority
// signed.

fn ed(seed: u8) -> SigningKey {
    key(Algorithm::Ed25519, seed)
}

fn issue(issuer: &SigningKey, subject: &SigningKey, roles: Roles, until: u64) -> MemberCertificate {
    MemberCertificate::issue(
        issuer,
        subject.public_key(),
        roles,
        BTreeMap::new(),
        NOW - 10,
        until,
    )
    .unwrap()
}

/// The authority (seed 1), an operator (seed 2) it certified with
/// `operator_roles`, and a member (seed 3) the operator certified with
/// `member_roles`: `[leaf, operator's]`.
pub(crate) fn operator_chain(
    operator_roles: Roles,
    member_roles: Roles,
) -> (SigningKey, CertificateChain) {
    let (ca, operator, member) = (ed(1), ed(2), ed(3));
    let operator_cert = issue(&ca, &operator, operator_roles, NOW + 7200);
    let leaf = issue(&operator, &member, member_roles, NOW + 3600);
    (
        ca,
        CertificateChain::new(vec![leaf, operator_cert]).unwrap(),
    )
}

fn revoked(kind: RevokedKind, value: &str) -> Revocations {
    let mut list = Revocations::default();
    list.insert(kind, value).unwrap();
    list
}

fn issuer_reason(result: Result<Vec<&MemberCertificate>, CertError>) -> CertError {
    match result {
        Err(CertError::Issuer { reason, .. }) => *reason,
        other => panic!("expected the issuer's certificate refused: {other:?}"),
    }
}

/// An authority with `ca_certificate_file` set (its self-signed
/// certificate, valid at the real time `load` checks it).
pub(crate) fn authorizer_with_ca(ca: &SigningKey, dir: &std::path::Path) -> crate::Authorizer {
    let root = MemberCertificate::issue(
        ca,
        ca.public_key(),
        Roles::HOST,
        BTreeMap::new(),
        NOW - 10,
        4_000_000_000,
    )
    .unwrap();
    let path = dir.join("ca.crt");
    std::fs::write(&path, root.to_armor()).unwrap();
    let config = avrs_config::Config {
        data_dir: dir.to_owned(),
        ca_certificate_file: Some(path),
        ..Default::default()
    };
    let mut auth = crate::AuthConfig::from_config(&config, true).unwrap();
    auth.audit_log = None;
    crate::Authorizer::load(&auth, None).unwrap()
}

#[test]
fn an_operator_certified_by_the_authority_may_issue() {
    for alg in Algorithm::ALL {
        let (ca, operator, member) = (key(alg, 1), key(alg, 2), key(alg, 3));
        let root = issue(&ca, &ca, Roles::HOST, NOW + 7200);
        let operator_cert = issue(&ca, &operator, Roles::OPERATOR, NOW + 7200);
        let leaf = issue(&operator, &member, Roles::SERVER, NOW + 3600);
        // With and without the authority's own certificate at the end.
        for certs in [
            vec![leaf.clone(), operator_cert.clone()],
            vec![leaf.clone(), operator_cert.clone(), root.clone()],
        ] {
            let chain = CertificateChain::new(certs).unwrap();
            let bytes = chain.to_bytes();
            assert!(bytes.len() <= MAX_CHAIN_BYTES, "{alg:?}: {}", bytes.len());
            assert_eq!(CertificateChain::from_bytes(&bytes).unwrap(), chain);
            assert_eq!(CertificateChain::parse(&bytes).unwrap(), chain);
            let armor = chain.to_armor();
            assert_eq!(armor.matches(BEGIN).count(), chain.certificates().len());
            assert_eq!(CertificateChain::parse(armor.as_bytes()).unwrap(), chain);
            let path = chain
                .verify(ca.public_key(), &Revocations::default(), NOW)
                .unwrap();
            assert_eq!(path, vec![&leaf, &operator_cert]);
            let joined = crate::Authorizer::embedded(Vec::new(), None)
                .check_join_certificate(&bytes, ca.public_key(), NOW)
                .unwrap();
            assert_eq!(joined.leaf, leaf);
        }
    }
    // A lone certificate is a chain of one, checked as before.
    let ca = ed(1);
    let direct = CertificateChain::new(vec![member_cert(&ca, &ed(3))]).unwrap();
    assert_eq!(
        direct
            .verify(ca.public_key(), &Revocations::default(), NOW)
            .unwrap()
            .len(),
        1
    );
    // A certificate of the host role may issue too.
    let (ca, by_host) = operator_chain(Roles::HOST, Roles::SERVER);
    by_host
        .verify(ca.public_key(), &Revocations::default(), NOW)
        .unwrap();
}

#[test]
fn only_an_operator_or_host_may_issue() {
    for roles in [
        Roles::SERVER,
        Roles::BALANCER,
        Roles::CLIENT,
        Roles::empty(),
    ] {
        let (ca, chain) = operator_chain(roles, Roles::SERVER);
        let refused = chain.verify(ca.public_key(), &Revocations::default(), NOW);
        let Err(CertError::IssuerNotAllowed {
            issuer,
            roles: named,
        }) = &refused
        else {
            panic!("{roles}: {refused:?}");
        };
        assert_eq!(*issuer, ed(2).id().to_hex());
        assert_eq!(*named, roles.to_string());
        let message = refused.unwrap_err().to_string();
        assert!(
            message.contains(&format!("holds roles {roles}")) && message.contains("operator"),
            "{message}"
        );
    }
}

#[test]
fn an_operator_may_not_certify_operator_or_host() {
    for (roles, named) in [
        (Roles::OPERATOR, "operator"),
        (Roles::HOST, "host"),
        (Roles::SERVER | Roles::OPERATOR, "operator"),
        (Roles::ALL, "host,operator"),
    ] {
        for issuer_roles in [Roles::OPERATOR, Roles::HOST] {
            let (ca, chain) = operator_chain(issuer_roles, roles);
            let refused = chain.verify(ca.public_key(), &Revocations::default(), NOW);
            assert_eq!(
                refused,
                Err(CertError::RoleEscalation {
                    issuer: ed(2).id().to_hex(),
                    roles: named.into()
                }),
                "{roles} by {issuer_roles}"
            );
        }
    }
    // The authority itself still certifies them.
    let ca = ed(1);
    let operator = CertificateChain::new(vec![issue(&ca, &ed(2), Roles::OPERATOR, NOW + 60)]);
    operator
        .unwrap()
        .verify(ca.public_key(), &Revocations::default(), NOW)
        .unwrap();
}

#[test]
fn revoking_the_operator_refuses_every_leaf_it_issued() {
    let (ca, chain) = operator_chain(Roles::OPERATOR, Roles::SERVER);
    let operator = &chain.certificates()[1];
    let by_serial = revoked(RevokedKind::Serial, &operator.serial_hex());
    assert_eq!(
        issuer_reason(chain.verify(ca.public_key(), &by_serial, NOW)),
        CertError::Revoked(operator.serial_hex())
    );
    let by_member = revoked(RevokedKind::Sub, &operator.member_id().to_hex());
    assert_eq!(
        issuer_reason(chain.verify(ca.public_key(), &by_member, NOW)),
        CertError::MemberRevoked(operator.member_id().to_hex())
    );
    // The leaf's own serial and member id still count.
    let leaf = chain.leaf();
    for list in [
        revoked(RevokedKind::Serial, &leaf.serial_hex()),
        revoked(RevokedKind::Sub, &leaf.member_id().to_hex()),
    ] {
        let refused = chain.verify(ca.public_key(), &list, NOW);
        assert!(
            matches!(
                refused,
                Err(CertError::Revoked(_) | CertError::MemberRevoked(_))
            ),
            "{refused:?}"
        );
    }
    // And the host's revocation list refuses it at join.
    let authorizer = crate::Authorizer::embedded(Vec::new(), None);
    authorizer
        .revocations
        .write()
        .unwrap()
        .insert(RevokedKind::Sub, &operator.member_id().to_hex())
        .unwrap();
    let refused = authorizer.check_join_certificate(&chain.to_bytes(), ca.public_key(), NOW);
    assert!(
        matches!(
            refused,
            Err(AuthError::Certificate(CertError::Issuer { .. }))
        ),
        "{refused:?}"
    );
}

#[test]
fn the_operator_certificate_must_be_valid_now() {
    let (ca, operator, member) = (ed(1), ed(2), ed(3));
    let leaf = issue(&operator, &member, Roles::SERVER, NOW + 3600);
    let none = Revocations::default();
    let short = issue(&ca, &operator, Roles::OPERATOR, NOW + 60);
    let chain = CertificateChain::new(vec![leaf.clone(), short]).unwrap();
    chain.verify(ca.public_key(), &none, NOW).unwrap();
    assert_eq!(
        issuer_reason(chain.verify(ca.public_key(), &none, NOW + 60)),
        CertError::Expired(NOW + 60),
        "the leaf is valid until NOW + 3600, its issuer is not"
    );
    let later = MemberCertificate::issue(
        &ca,
        operator.public_key(),
        Roles::OPERATOR,
        BTreeMap::new(),
        NOW + 5,
        NOW + 7200,
    )
    .unwrap();
    let chain = CertificateChain::new(vec![leaf, later]).unwrap();
    assert_eq!(
        issuer_reason(chain.verify(ca.public_key(), &none, NOW)),
        CertError::NotYetValid(NOW + 5)
    );
}

#[test]
fn a_leaf_whose_issuer_is_not_in_the_chain_is_refused() {
    let (ca, operator, member) = (ed(1), ed(2), ed(3));
    let none = Revocations::default();
    let leaf = issue(&operator, &member, Roles::SERVER, NOW + 3600);
    let alone = CertificateChain::new(vec![leaf.clone()]).unwrap();
    assert_eq!(
        alone.verify(ca.public_key(), &none, NOW),
        Err(CertError::WrongSigner(operator.id().to_hex()))
    );
    // Another operator's certificate does not stand in for the issuer's.
    let other = issue(&ca, &ed(4), Roles::OPERATOR, NOW + 3600);
    let wrong = CertificateChain::new(vec![leaf.clone(), other]).unwrap();
    assert_eq!(
        wrong.verify(ca.public_key(), &none, NOW),
        Err(CertError::WrongSigner(operator.id().to_hex()))
    );
    // The operator's certificate signed by someone else.
    let stranger = ed(9);
    let unknown = issue(&stranger, &operator, Roles::OPERATOR, NOW + 3600);
    let chain = CertificateChain::new(vec![leaf.clone(), unknown]).unwrap();
    assert_eq!(
        issuer_reason(chain.verify(ca.public_key(), &none, NOW)),
        CertError::WrongSigner(stranger.id().to_hex())
    );
    // A self-signed leaf that is not the authority.
    let selfish = CertificateChain::new(vec![issue(&member, &member, Roles::SERVER, NOW + 60)]);
    assert_eq!(
        selfish.unwrap().verify(ca.public_key(), &none, NOW),
        Err(CertError::WrongSigner(member.id().to_hex()))
    );
    // The operator's certificate, with a forged signature: the operator
    // key claims the authority as issuer but signed it itself.
    let forged = MemberCertificate::issue(
        &operator,
        operator.public_key(),
        Roles::OPERATOR,
        BTreeMap::new(),
        NOW - 10,
        NOW + 60,
    )
    .unwrap();
    let mut bytes = forged.to_bytes();
    let at = 8 + 16 + 4 + 4 + 32 + 2 + 8 + 8;
    bytes[at..at + 32].copy_from_slice(ca.id().as_bytes());
    let forged = MemberCertificate::from_bytes(&bytes).unwrap();
    let chain = CertificateChain::new(vec![leaf, forged]).unwrap();
    assert!(matches!(
        issuer_reason(chain.verify(ca.public_key(), &none, NOW)),
        CertError::BadSignature | CertError::WrongSigner(_)
    ));
}

#[test]
fn one_operator_level_at_most() {
    let (ca, first, second, member) = (ed(1), ed(2), ed(4), ed(3));
    let leaf = issue(&second, &member, Roles::SERVER, NOW + 3600);
    let second_cert = issue(&first, &second, Roles::OPERATOR, NOW + 3600);
    let first_cert = issue(&ca, &first, Roles::OPERATOR, NOW + 3600);
    let chain = CertificateChain::new(vec![leaf, second_cert, first_cert]).unwrap();
    assert_eq!(
        chain.verify(ca.public_key(), &Revocations::default(), NOW),
        Err(CertError::ChainTooDeep(second.id().to_hex()))
    );
}

#[test]
fn chains_are_bounded() {
    let (ca, chain) = operator_chain(Roles::OPERATOR, Roles::SERVER);
    let mut certs = chain.certificates().to_vec();
    certs.push(issue(&ca, &ca, Roles::HOST, NOW + 60));
    certs.push(issue(&ca, &ed(5), Roles::SERVER, NOW + 60));
    assert_eq!(
        CertificateChain::new(certs.clone()),
        Err(CertError::ChainTooLong)
    );
    let bytes: Vec<u8> = certs.iter().flat_map(|c| c.to_bytes()).collect();
    assert_eq!(
        CertificateChain::from_bytes(&bytes),
        Err(CertError::ChainTooLong)
    );
    let armor: String = certs.iter().map(|c| c.to_armor()).collect();
    assert_eq!(
        CertificateChain::from_armor(armor.as_bytes()),
        Err(CertError::ChainTooLong)
    );
    // Reading stops at the fourth block.
    assert_eq!(
        CertificateChain::from_armor(armor.repeat(20).as_bytes()),
        Err(CertError::ChainTooLong)
    );
    assert!(matches!(
        CertificateChain::from_bytes(&vec![0; MAX_CHAIN_BYTES + 1]),
        Err(CertError::Malformed(_))
    ));
    assert!(matches!(
        CertificateChain::from_bytes(&[]),
        Err(CertError::Malformed(_))
    ));
    // A single-certificate reader refuses a chain.
    assert!(MemberCertificate::from_armor(chain.to_armor().as_bytes()).is_err());
    assert!(MemberCertificate::from_bytes(&chain.to_bytes()).is_err());
}

#[test]
fn garbage_after_a_certificate_is_malformed() {
    let (_, chain) = operator_chain(Roles::OPERATOR, Roles::SERVER);
    let leaf = chain.leaf().to_bytes();
    for tail in [&[0u8][..], b"AVRSCRT1", &[0xAA; 64]] {
        let refused = CertificateChain::from_bytes(&[&leaf[..], tail].concat());
        let Err(CertError::Malformed(why)) = &refused else {
            panic!("{refused:?}");
        };
        assert!(why.starts_with("certificate 2 of the chain"), "{why}");
    }
    // Every cut of a two-certificate chain: the leaf alone, or refused.
    let bytes = chain.to_bytes();
    for len in 0..bytes.len() {
        let cut = CertificateChain::from_bytes(&bytes[..len]);
        assert_eq!(cut.is_ok(), len == leaf.len(), "cut at {len}: {cut:?}");
    }
    let armor = chain.to_armor();
    for junk in ["junk\n", "-----BEGIN AVRS CERTIFICATE-----\n"] {
        let text = format!("{armor}{junk}");
        assert!(
            matches!(
                CertificateChain::from_armor(text.as_bytes()),
                Err(CertError::Malformed(_))
            ),
            "{junk:?}"
        );
    }
}

#[test]
fn a_chain_listing_a_key_twice_is_refused() {
    let (ca, chain) = operator_chain(Roles::OPERATOR, Roles::SERVER);
    let [leaf, operator] = chain.certificates() else {
        panic!("two certificates");
    };
    for certs in [
        vec![leaf.clone(), leaf.clone()],
        vec![leaf.clone(), operator.clone(), leaf.clone()],
        vec![leaf.clone(), operator.clone(), operator.clone()],
    ] {
        let bytes: Vec<u8> = certs.iter().flat_map(|c| c.to_bytes()).collect();
        let refused = CertificateChain::from_bytes(&bytes);
        assert!(
            matches!(&refused, Err(CertError::Malformed(why)) if why.contains("two certificates")),
            "{refused:?}"
        );
    }
    // A certificate beside the path (other than the authority's own).
    let direct = member_cert(&ca, &ed(3));
    let beside = CertificateChain::new(vec![direct, operator.clone()]).unwrap();
    let refused = beside.verify(ca.public_key(), &Revocations::default(), NOW);
    assert!(
        matches!(&refused, Err(CertError::Malformed(why)) if why.contains("not on the way")),
        "{refused:?}"
    );
}

/// `check_certificate` against `ca_certificate_file`, and a join whose
/// chain leads to that authority rather than to the host's key.
#[test]
fn the_configured_authority_accepts_operator_chains() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, chain) = operator_chain(Roles::OPERATOR, Roles::SERVER);
    let authorizer = authorizer_with_ca(&ca, dir.path());
    let op = crate::Operation::MemberRequestAdd;
    let grant = authorizer
        .check_certificate(chain.to_armor().as_bytes(), op, NOW)
        .unwrap();
    assert_eq!(grant.subject, chain.leaf().member_id().to_hex());
    assert_eq!(grant.expires, Some(NOW + 3600));
    let links: Vec<_> = chain.certificates().iter().map(|c| c.link()).collect();
    assert_eq!(
        grant.chain, links,
        "the grant keeps the leaf and its issuer"
    );
    // The grant ends with the operator's certificate when that ends first.
    let (operator, member) = (ed(2), ed(3));
    let short = CertificateChain::new(vec![
        issue(&operator, &member, Roles::SERVER, NOW + 3600),
        issue(&ca, &operator, Roles::OPERATOR, NOW + 600),
    ])
    .unwrap();
    let grant = authorizer
        .check_certificate(&short.to_bytes(), op, NOW)
        .unwrap();
    assert_eq!(grant.expires, Some(NOW + 600));
    let host = ed(8);
    let joined = authorizer
        .check_join_certificate(&chain.to_bytes(), host.public_key(), NOW)
        .unwrap();
    assert_eq!(&joined.leaf, chain.leaf());
    let path: Vec<_> = chain.certificates().iter().map(|c| c.link()).collect();
    assert_eq!(joined.chain, path, "the leaf, then the operator's");
    let (_, server_issued) = operator_chain(Roles::SERVER, Roles::SERVER);
    let refused = authorizer.check_certificate(&server_issued.to_bytes(), op, NOW);
    assert!(
        matches!(
            refused,
            Err(AuthError::Certificate(CertError::IssuerNotAllowed { .. }))
        ),
        "{refused:?}"
    );
    // Neither the host nor the authority: the walk's answer.
    let (_, elsewhere) = {
        let (stranger, operator, member) = (ed(7), ed(2), ed(3));
        let op_cert = issue(&stranger, &operator, Roles::OPERATOR, NOW + 60);
        let leaf = issue(&operator, &member, Roles::SERVER, NOW + 60);
        (
            stranger,
            CertificateChain::new(vec![leaf, op_cert]).unwrap(),
        )
    };
    let refused = authorizer.check_join_certificate(&elsewhere.to_bytes(), host.public_key(), NOW);
    assert!(
        matches!(
            &refused,
            Err(AuthError::Certificate(CertError::Issuer { reason, .. }))
                if matches!(**reason, CertError::WrongSigner(_))
        ),
        "{refused:?}"
    );
}
