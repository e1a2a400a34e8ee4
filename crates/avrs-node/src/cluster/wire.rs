//! What travels on the gossip socket besides foca's datagrams: a join
//! request signed by the joining member, and the host's signed roster of
//! approved members (their keys, so every member can check every other's
//! gossip). One kind byte first; every length checked before use.
//!
//! ```text
//! datagram = kind u8 · body
//!   1 GOSSIP  body = avrs_cluster sealed datagram
//!   2 JOIN    body = signed(cluster u8[32] · unix_secs u64 · roles u16 · member MemberId
//!                             [· cert_len u16 · cert])   cert: a member certificate
//!                             or chain (leaf first), binary, at most 48 KiB; absent = none
//!   3 ROSTER  body = signed(cluster u8[32] · unix_secs u64 · count u16 · count × entry)
//!             entry = algorithm u32 · key_len u16 · key · member MemberId
//! signed(p) = p_len u16 · p · dap_sign_t (SHA3-256, key embedded)
//! ```

use avrs_cluster::MemberId;
use avrs_crypto::{Algorithm, PublicKey, SignEnvelope, SigningKey};
use avrs_proto::Hash32;
use avrs_proto::avrs::Roles;
use bytes::{Buf, BufMut};

pub const KIND_GOSSIP: u8 = 1;
pub const KIND_JOIN: u8 = 2;
pub const KIND_ROSTER: u8 = 3;
/// Most members one roster datagram names (bounds allocation).
pub const MAX_ROSTER: usize = 256;
/// Largest public key accepted (ML-DSA-65 keys are 1,952 bytes).
const MAX_KEY_LEN: usize = 4096;
/// Largest member certificate chain a JOIN carries (an ML-DSA-65
/// certificate is ~7 KiB; a chain holds at most three). With the fixed
/// part and the signature the datagram stays under UDP's 65,507 bytes.
pub const MAX_CERT_LEN: usize = avrs_auth::cert::MAX_CHAIN_BYTES;
/// A JOIN's fixed part: cluster, time, roles, member.
const JOIN_FIXED_LEN: usize = 32 + 8 + 2 + MemberId::ENCODED_LEN;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("malformed {0}")]
    Malformed(&'static str),
    #[error("bad signature on a {0}")]
    BadSignature(&'static str),
    #[error("{0} is for another cluster")]
    OtherCluster(&'static str),
}

/// A member asking the host to let it in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinRequest {
    pub cluster: Hash32,
    pub unix_secs: u64,
    pub roles: Roles,
    pub member: MemberId,
    /// The key that signed the request; its id must be `member.key`.
    pub key: PublicKey,
    /// A member certificate or chain (binary form) the host may admit it by.
    pub certificate: Option<Vec<u8>>,
}

/// One approved member as the roster names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterEntry {
    pub key: PublicKey,
    pub member: MemberId,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Roster {
    pub cluster: Hash32,
    pub unix_secs: u64,
    pub entries: Vec<RosterEntry>,
    /// The host key that signed it.
    pub signer: PublicKey,
}

fn signed(kind: u8, payload: &[u8], key: &SigningKey) -> anyhow::Result<Vec<u8>> {
    let len = u16::try_from(payload.len())?;
    let mut out = vec![kind];
    out.put_u16(len);
    out.extend_from_slice(payload);
    out.extend_from_slice(&avrs_crypto::envelope::sign(key, payload)?);
    Ok(out)
}

/// The payload of a signed body and the key that signed it.
fn open(body: &[u8], what: &'static str) -> Result<(Vec<u8>, PublicKey), WireError> {
    let (len, rest) = body
        .split_first_chunk::<2>()
        .ok_or(WireError::Malformed(what))?;
    let (payload, seal) = rest
        .split_at_checked(usize::from(u16::from_be_bytes(*len)))
        .ok_or(WireError::Malformed(what))?;
    let envelope = SignEnvelope::parse(seal).map_err(|_| WireError::Malformed(what))?;
    let key = envelope
        .verify(payload)
        .map_err(|_| WireError::BadSignature(what))?;
    Ok((payload.to_vec(), key))
}

pub fn encode_join(join: &JoinRequest, key: &SigningKey) -> anyhow::Result<Vec<u8>> {
    let mut p = Vec::with_capacity(JOIN_FIXED_LEN);
    p.put_slice(join.cluster.as_bytes());
    p.put_u64(join.unix_secs);
    p.put_u16(join.roles.mask());
    join.member.encode(&mut p);
    if let Some(cert) = &join.certificate {
        anyhow::ensure!(cert.len() <= MAX_CERT_LEN, "member certificate too large");
        p.put_u16(u16::try_from(cert.len())?);
        p.put_slice(cert);
    }
    signed(KIND_JOIN, &p, key)
}

/// Checks a JOIN body (after the kind byte): signature, and that the signer
/// is the member it names.
pub fn decode_join(body: &[u8]) -> Result<JoinRequest, WireError> {
    const WHAT: &str = "join request";
    let (payload, key) = open(body, WHAT)?;
    let (fixed, rest) = payload
        .split_at_checked(JOIN_FIXED_LEN)
        .ok_or(WireError::Malformed(WHAT))?;
    let mut p = fixed;
    let cluster = Hash32::from_slice(&p[..32]).map_err(|_| WireError::Malformed(WHAT))?;
    p.advance(32);
    let unix_secs = p.get_u64();
    let roles = Roles::from_mask(p.get_u16()).map_err(|_| WireError::Malformed(WHAT))?;
    let member = MemberId::decode(p).map_err(|_| WireError::Malformed(WHAT))?;
    if member.key != key.id() {
        return Err(WireError::BadSignature(WHAT));
    }
    Ok(JoinRequest {
        cluster,
        unix_secs,
        roles,
        member,
        key,
        certificate: join_certificate(rest)?,
    })
}

/// The optional certificate after a JOIN's fixed part: nothing, or a
/// length and exactly that many bytes.
fn join_certificate(rest: &[u8]) -> Result<Option<Vec<u8>>, WireError> {
    const WHAT: &str = "join request's certificate";
    if rest.is_empty() {
        return Ok(None);
    }
    let (len, cert) = rest
        .split_first_chunk::<2>()
        .ok_or(WireError::Malformed(WHAT))?;
    let len = usize::from(u16::from_be_bytes(*len));
    if len == 0 || len > MAX_CERT_LEN || cert.len() != len {
        return Err(WireError::Malformed(WHAT));
    }
    Ok(Some(cert.to_vec()))
}

pub fn encode_roster(
    cluster: Hash32,
    unix_secs: u64,
    entries: &[RosterEntry],
    key: &SigningKey,
) -> anyhow::Result<Vec<u8>> {
    anyhow::ensure!(entries.len() <= MAX_ROSTER, "roster too long");
    let mut p = Vec::new();
    p.put_slice(cluster.as_bytes());
    p.put_u64(unix_secs);
    p.put_u16(entries.len() as u16);
    for entry in entries {
        p.put_u32(entry.key.algorithm().sign_type_code());
        p.put_u16(u16::try_from(entry.key.as_bytes().len())?);
        p.put_slice(entry.key.as_bytes());
        entry.member.encode(&mut p);
    }
    signed(KIND_ROSTER, &p, key)
}

/// Checks a ROSTER body (after the kind byte). Whether its signer is the
/// host is the caller's check.
pub fn decode_roster(body: &[u8]) -> Result<Roster, WireError> {
    const WHAT: &str = "roster";
    let bad = || WireError::Malformed(WHAT);
    let (payload, signer) = open(body, WHAT)?;
    let mut p = &payload[..];
    if p.len() < 32 + 8 + 2 {
        return Err(bad());
    }
    let cluster = Hash32::from_slice(&p[..32]).map_err(|_| bad())?;
    p.advance(32);
    let unix_secs = p.get_u64();
    let count = usize::from(p.get_u16());
    if count > MAX_ROSTER {
        return Err(bad());
    }
    let mut entries = Vec::with_capacity(count);
    for _ in 0..count {
        if p.remaining() < 6 {
            return Err(bad());
        }
        let algorithm = Algorithm::from_sign_type_code(p.get_u32()).map_err(|_| bad())?;
        let key_len = usize::from(p.get_u16());
        if key_len > MAX_KEY_LEN || p.remaining() < key_len + MemberId::ENCODED_LEN {
            return Err(bad());
        }
        let key = PublicKey::from_bytes(algorithm, &p[..key_len]).map_err(|_| bad())?;
        p.advance(key_len);
        let member = MemberId::decode(&mut p).map_err(|_| bad())?;
        if member.key != key.id() {
            return Err(bad());
        }
        entries.push(RosterEntry { key, member });
    }
    if p.has_remaining() {
        return Err(bad());
    }
    Ok(Roster {
        cluster,
        unix_secs,
        entries,
        signer,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use avrs_cluster::PeerAddr;

    fn key(n: u8) -> SigningKey {
        SigningKey::from_seed(Algorithm::Ed25519, &[n; 32]).unwrap()
    }

    fn member(k: &SigningKey) -> MemberId {
        MemberId::new(
            k.id(),
            PeerAddr {
                ip: [1; 16],
                port: 7,
            },
        )
    }

    #[test]
    fn join_round_trip_and_forgery() {
        let k = key(1);
        let join = JoinRequest {
            cluster: Hash32([9; 32]),
            unix_secs: 5,
            roles: Roles::SERVER,
            member: member(&k),
            key: k.public_key().clone(),
            certificate: None,
        };
        let bytes = encode_join(&join, &k).unwrap();
        assert_eq!(bytes[0], KIND_JOIN);
        assert_eq!(decode_join(&bytes[1..]).unwrap(), join);
        // Signed by another key than the member it names.
        let forged = encode_join(&join, &key(2)).unwrap();
        assert!(decode_join(&forged[1..]).is_err());
        let mut tampered = bytes.clone();
        tampered[10] ^= 1;
        assert!(decode_join(&tampered[1..]).is_err());
        for cut in 0..bytes.len() {
            let _ = decode_join(&bytes[1..cut.max(1)]);
        }
    }

    #[test]
    fn join_carries_a_certificate_within_bounds() {
        let k = key(1);
        let mut join = JoinRequest {
            cluster: Hash32([9; 32]),
            unix_secs: 5,
            roles: Roles::SERVER,
            member: member(&k),
            key: k.public_key().clone(),
            certificate: Some(vec![7; 300]),
        };
        let bytes = encode_join(&join, &k).unwrap();
        assert_eq!(decode_join(&bytes[1..]).unwrap(), join);
        join.certificate = Some(vec![7; MAX_CERT_LEN + 1]);
        assert!(encode_join(&join, &k).is_err());
        // A length that does not match what follows, or an empty one.
        for tail in [&[0u8, 5, 1, 2][..], &[0, 0], &[1]] {
            let mut p = bytes[3..3 + JOIN_FIXED_LEN].to_vec();
            p.extend_from_slice(tail);
            let forged = signed(KIND_JOIN, &p, &k).unwrap();
            assert!(decode_join(&forged[1..]).is_err(), "{tail:?}");
        }
    }

    /// The largest chain, signed by the largest key, still fits one UDP
    /// datagram (IPv4: 65,507 bytes of payload).
    #[test]
    fn the_largest_join_fits_a_datagram() {
        let k = SigningKey::from_seed(Algorithm::MlDsa65, &[1; 32]).unwrap();
        let join = JoinRequest {
            cluster: Hash32([9; 32]),
            unix_secs: 5,
            roles: Roles::SERVER,
            member: member(&k),
            key: k.public_key().clone(),
            certificate: Some(vec![7; MAX_CERT_LEN]),
        };
        let bytes = encode_join(&join, &k).unwrap();
        assert!(bytes.len() <= 65_507, "{}", bytes.len());
        assert_eq!(decode_join(&bytes[1..]).unwrap(), join);
    }

    #[test]
    fn roster_round_trip_and_truncation() {
        let host = key(3);
        let entries: Vec<RosterEntry> = (4..7)
            .map(|n| {
                let k = key(n);
                RosterEntry {
                    key: k.public_key().clone(),
                    member: member(&k),
                }
            })
            .collect();
        let bytes = encode_roster(Hash32([1; 32]), 9, &entries, &host).unwrap();
        let roster = decode_roster(&bytes[1..]).unwrap();
        assert_eq!(roster.entries, entries);
        assert_eq!(roster.signer.id(), host.id());
        for cut in 1..bytes.len() {
            assert!(decode_roster(&bytes[1..cut]).is_err());
        }
    }
}
