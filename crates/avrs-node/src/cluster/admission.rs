//! Admission by certificate: a JOIN that carries a member certificate
//! issued by the host's key (or by the configured `ca_certificate_file`
//! authority), or by an operator whose certificate, next in the chain, one
//! of them issued; valid now, not revoked, for the very member asking and
//! for the roles it asks, is approved without an operator. Any other
//! certificate leaves the request waiting for `avrs cluster approve`, and
//! the reason is logged and audited.

use super::wire::JoinRequest;
use avrs_auth::revocation::CertLink;
use avrs_auth::{AuthError, Authorizer, CertError};
use avrs_crypto::PublicKey;

/// What a JOIN's certificate says about admitting it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Verdict {
    /// The certificate admits the member; the path it rests on, leaf
    /// first, kept so a later revocation of any of them removes it.
    Admits(Vec<CertLink>),
    /// The certificate does not; why.
    Refused(String),
}

/// The verdict on `join`'s certificate, or `None` when it carries none.
/// `host` is this host's key; `now` is unix seconds.
pub(super) fn check(
    authorizer: &Authorizer,
    join: &JoinRequest,
    host: &PublicKey,
    now: u64,
) -> Option<Verdict> {
    let bytes = join.certificate.as_deref()?;
    let joined = match authorizer.check_join_certificate(bytes, host, now) {
        Ok(joined) => joined,
        Err(AuthError::Certificate(CertError::WrongSigner(issuer))) => {
            return Some(Verdict::Refused(format!(
                "issued by {issuer}: not this host's key, the ca_certificate_file authority, \
                 or an operator they certified (its certificate next in the chain)"
            )));
        }
        Err(why) => return Some(Verdict::Refused(why.to_string())),
    };
    let cert = &joined.leaf;
    if cert.member_id() != join.member.key {
        return Some(Verdict::Refused(format!(
            "the certificate is for member {}",
            cert.member_id().to_hex()
        )));
    }
    if !cert.roles.contains(join.roles) {
        return Some(Verdict::Refused(format!(
            "the certificate grants roles {}, the request asks for {}",
            cert.roles, join.roles
        )));
    }
    Some(Verdict::Admits(joined.chain))
}

#[cfg(test)]
mod tests {
    use super::*;
    use avrs_auth::MemberCertificate;
    use avrs_cluster::{MemberId, PeerAddr};
    use avrs_crypto::{Algorithm, SigningKey};
    use avrs_proto::Hash32;
    use avrs_proto::avrs::Roles;
    use std::collections::BTreeMap;

    const NOW: u64 = 1_700_000_000;

    fn key(n: u8) -> SigningKey {
        SigningKey::from_seed(Algorithm::Ed25519, &[n; 32]).unwrap()
    }

    fn cert(issuer: &SigningKey, member: &SigningKey, roles: Roles, until: u64) -> Vec<u8> {
        MemberCertificate::issue(
            issuer,
            member.public_key(),
            roles,
            BTreeMap::new(),
            NOW - 10,
            until,
        )
        .unwrap()
        .to_bytes()
    }

    fn join(member: &SigningKey, certificate: Option<Vec<u8>>) -> JoinRequest {
        JoinRequest {
            cluster: Hash32::default(),
            unix_secs: NOW,
            roles: Roles::SERVER,
            member: MemberId::new(member.id(), PeerAddr::default()),
            key: member.public_key().clone(),
            certificate,
        }
    }

    fn refused(verdict: Option<Verdict>, needle: &str) {
        match verdict {
            Some(Verdict::Refused(why)) => assert!(why.contains(needle), "{why}"),
            other => panic!("refused for {needle}: {other:?}"),
        }
    }

    #[test]
    fn the_hosts_certificate_admits_its_member_and_nothing_else() {
        let (host, member) = (key(1), key(2));
        let auth = Authorizer::embedded(Vec::new(), None);
        let check = |join: &JoinRequest| super::check(&auth, join, host.public_key(), NOW);
        let good = cert(&host, &member, Roles::SERVER, NOW + 60);
        assert!(matches!(
            check(&join(&member, Some(good.clone()))),
            Some(Verdict::Admits(_))
        ));
        assert_eq!(check(&join(&member, None)), None);
        let expired = cert(&host, &member, Roles::SERVER, NOW);
        refused(check(&join(&member, Some(expired))), "expired");
        let stranger = cert(&key(9), &member, Roles::SERVER, NOW + 60);
        refused(check(&join(&member, Some(stranger))), "issued by");
        // Another member's certificate, presented by this one.
        let other = cert(&host, &key(3), Roles::SERVER, NOW + 60);
        refused(check(&join(&member, Some(other))), "is for member");
        // Roles beyond what the certificate grants.
        let client = cert(&host, &member, Roles::CLIENT, NOW + 60);
        refused(check(&join(&member, Some(client))), "grants roles");
        refused(
            check(&join(&member, Some(good[..40].to_vec()))),
            "malformed",
        );
    }

    /// A chain: the member's certificate, then that of the operator who
    /// issued it, which the host's key issued.
    #[test]
    fn an_operator_the_host_certified_admits_its_members() {
        let (host, operator, member) = (key(1), key(4), key(2));
        let auth = Authorizer::embedded(Vec::new(), None);
        let check = |join: &JoinRequest| super::check(&auth, join, host.public_key(), NOW);
        let leaf = cert(&operator, &member, Roles::SERVER, NOW + 60);
        let chain = |operator_roles: Roles, member_roles: Roles| {
            let leaf = cert(&operator, &member, member_roles, NOW + 60);
            [leaf, cert(&host, &operator, operator_roles, NOW + 60)].concat()
        };
        let good = chain(Roles::OPERATOR, Roles::SERVER);
        match check(&join(&member, Some(good.clone()))) {
            Some(Verdict::Admits(links)) => {
                let members: Vec<String> = links.iter().map(|l| l.member.clone()).collect();
                assert_eq!(members, [member.id().to_hex(), operator.id().to_hex()]);
            }
            other => panic!("admitted with the operator on its path: {other:?}"),
        }
        let by_server = chain(Roles::SERVER, Roles::SERVER);
        refused(check(&join(&member, Some(by_server))), "holds roles server");
        let escalated = chain(Roles::OPERATOR, Roles::SERVER | Roles::OPERATOR);
        refused(
            check(&join(&member, Some(escalated))),
            "may not certify roles operator",
        );
        // The operator's certificate left out: its issuer is unknown.
        refused(check(&join(&member, Some(leaf))), "issued by");
    }
}
