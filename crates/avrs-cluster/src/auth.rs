//! The envelope around every gossip datagram, and the check that only
//! approved members' datagrams reach the membership library.
//!
//! Layout: `payload_len u16 (BE) · payload · seal`. In [`AuthMode::Signed`]
//! the seal is a `dap_sign_t` (Ed25519 or ML-DSA-65, SHA3-256 pre-hash) that
//! names the signer by key hash only; receivers hold approved members' keys.
//! In [`AuthMode::Trusted`] the seal is the sender's 32-byte key hash and
//! nothing is verified: for simulations at full size, never for a network.

use crate::error::{ClusterError, Result};
use avrs_crypto::envelope::{SignEnvelope, envelope_len, sign_into};
use avrs_crypto::{PublicKey, SignOptions, SigningKey};
use avrs_proto::Hash32;
use std::collections::BTreeMap;

/// How datagrams are sealed and opened.
#[derive(Debug)]
pub enum AuthMode {
    /// Real signatures with the node's member key.
    Signed(SigningKey),
    /// The sender's key hash, unverified (simulation at scale only).
    Trusted(Hash32),
}

/// A datagram whose sender passed the check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Opened<'a> {
    pub sender: Hash32,
    pub payload: &'a [u8],
}

/// The approved-members set and this node's way of sealing.
#[derive(Debug)]
pub struct GossipAuth {
    mode: AuthMode,
    /// Approved members; a key is present once known (signed mode needs it).
    approved: BTreeMap<Hash32, Option<PublicKey>>,
}

impl GossipAuth {
    pub fn new(mode: AuthMode) -> Self {
        Self {
            mode,
            approved: BTreeMap::new(),
        }
    }

    /// This node's member id.
    pub fn me(&self) -> Hash32 {
        match &self.mode {
            AuthMode::Signed(key) => key.id(),
            AuthMode::Trusted(me) => *me,
        }
    }

    /// Admits a member with its key (after MEMBER_REQUEST_APPROVE).
    pub fn approve(&mut self, key: PublicKey) {
        self.approved.insert(key.id(), Some(key));
    }

    /// Admits a member by id only; enough in trusted mode.
    pub fn approve_id(&mut self, id: Hash32) {
        self.approved.entry(id).or_insert(None);
    }

    /// MEMBER_REMOVE: its datagrams are refused from now on.
    pub fn revoke(&mut self, id: &Hash32) {
        self.approved.remove(id);
    }

    /// Every approved member id.
    pub fn approved_ids(&self) -> impl Iterator<Item = &Hash32> {
        self.approved.keys()
    }

    pub fn is_approved(&self, id: &Hash32) -> bool {
        self.approved.contains_key(id)
    }

    /// Bytes the seal adds to a payload.
    pub fn overhead(&self) -> usize {
        2 + match &self.mode {
            AuthMode::Signed(key) => envelope_len(key, seal_options()),
            AuthMode::Trusted(_) => Hash32::SIZE,
        }
    }

    /// Wraps `payload` into a datagram.
    pub fn seal(&self, payload: &[u8]) -> Result<Vec<u8>> {
        let len = u16::try_from(payload.len()).map_err(|_| ClusterError::TooLarge {
            what: "gossip payload",
            max: usize::from(u16::MAX),
            actual: payload.len(),
        })?;
        let mut out = Vec::with_capacity(payload.len() + self.overhead());
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(payload);
        match &self.mode {
            AuthMode::Signed(key) => {
                let mut seal = Vec::with_capacity(envelope_len(key, seal_options()));
                sign_into(key, &out, seal_options(), &mut seal)
                    .map_err(|e| ClusterError::Crypto(e.to_string()))?;
                out.extend_from_slice(&seal);
            }
            AuthMode::Trusted(me) => out.extend_from_slice(me.as_bytes()),
        }
        Ok(out)
    }

    /// Checks a datagram and returns its payload. Refuses anything cut
    /// short, any sender outside the approved set and any bad signature.
    pub fn open<'a>(&self, datagram: &'a [u8]) -> Result<Opened<'a>> {
        let (len, _) = datagram
            .split_first_chunk::<2>()
            .ok_or(ClusterError::Malformed("gossip datagram"))?;
        let end = 2 + usize::from(u16::from_be_bytes(*len));
        let (signed, seal) = datagram
            .split_at_checked(end)
            .ok_or(ClusterError::Malformed("gossip datagram"))?;
        let payload = &signed[2..];
        match &self.mode {
            AuthMode::Trusted(_) => {
                let sender =
                    Hash32::from_slice(seal).map_err(|_| ClusterError::Malformed("gossip seal"))?;
                if !self.is_approved(&sender) {
                    return Err(ClusterError::NotApproved(sender));
                }
                Ok(Opened { sender, payload })
            }
            AuthMode::Signed(_) => {
                let envelope = SignEnvelope::parse(seal)
                    .map_err(|_| ClusterError::Malformed("gossip seal"))?;
                let sender = envelope.signer_id();
                let Some(Some(key)) = self.approved.get(&sender) else {
                    return Err(ClusterError::NotApproved(sender));
                };
                envelope
                    .verify_with_key(signed, key)
                    .map_err(|_| ClusterError::BadSignature(sender))?;
                Ok(Opened { sender, payload })
            }
        }
    }
}

fn seal_options() -> SignOptions {
    SignOptions {
        key_hash_only: true,
        ..SignOptions::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use avrs_crypto::Algorithm;

    fn key(n: u8) -> SigningKey {
        SigningKey::from_seed(Algorithm::Ed25519, &[n; 32]).unwrap()
    }

    fn signed_pair() -> (GossipAuth, GossipAuth) {
        let (a, b) = (key(1), key(2));
        let (pa, pb) = (a.public_key().clone(), b.public_key().clone());
        let mut alice = GossipAuth::new(AuthMode::Signed(a));
        let mut bob = GossipAuth::new(AuthMode::Signed(b));
        alice.approve(pb);
        bob.approve(pa);
        (alice, bob)
    }

    #[test]
    fn approved_signed_datagram_opens() {
        let (alice, bob) = signed_pair();
        let datagram = alice.seal(b"ping").unwrap();
        assert_eq!(datagram.len(), 4 + alice.overhead());
        let opened = bob.open(&datagram).unwrap();
        assert_eq!(opened.payload, b"ping");
        assert_eq!(opened.sender, alice.me());
    }

    #[test]
    fn unknown_sender_is_refused() {
        let (_, bob) = signed_pair();
        let mallory = GossipAuth::new(AuthMode::Signed(key(9)));
        let datagram = mallory.seal(b"ping").unwrap();
        assert_eq!(
            bob.open(&datagram),
            Err(ClusterError::NotApproved(mallory.me()))
        );
    }

    #[test]
    fn revoked_member_is_refused() {
        let (alice, mut bob) = signed_pair();
        let datagram = alice.seal(b"ping").unwrap();
        bob.revoke(&alice.me());
        assert!(matches!(
            bob.open(&datagram),
            Err(ClusterError::NotApproved(_))
        ));
    }

    #[test]
    fn tampered_datagram_is_refused() {
        let (alice, bob) = signed_pair();
        let mut datagram = alice.seal(b"ping").unwrap();
        datagram[3] ^= 1;
        assert_eq!(
            bob.open(&datagram),
            Err(ClusterError::BadSignature(alice.me()))
        );
    }

    #[test]
    fn alien_signer_claiming_a_member_is_refused() {
        // Mallory signs with her own key but names Alice's key hash: the
        // signature does not verify under Alice's key.
        let (alice, bob) = signed_pair();
        let genuine = alice.seal(b"ping").unwrap();
        let forged_seal = {
            let mallory = GossipAuth::new(AuthMode::Signed(key(9)));
            let d = mallory.seal(b"ping").unwrap();
            d[6..].to_vec()
        };
        let mut forged = genuine[..6].to_vec();
        forged.extend_from_slice(&forged_seal);
        // Rewrite the named key hash to Alice's.
        let hash_at = 6 + 14;
        forged[hash_at..hash_at + 32].copy_from_slice(alice.me().as_bytes());
        assert!(bob.open(&forged).is_err());
    }

    #[test]
    fn truncated_datagrams_never_panic() {
        let (alice, bob) = signed_pair();
        let datagram = alice.seal(b"ping").unwrap();
        for cut in 0..datagram.len() {
            assert!(bob.open(&datagram[..cut]).is_err());
        }
    }

    #[test]
    fn trusted_mode_checks_membership_only() {
        let mut a = GossipAuth::new(AuthMode::Trusted(Hash32([1; 32])));
        let b = GossipAuth::new(AuthMode::Trusted(Hash32([2; 32])));
        let datagram = b.seal(b"x").unwrap();
        assert!(matches!(
            a.open(&datagram),
            Err(ClusterError::NotApproved(_))
        ));
        a.approve_id(b.me());
        assert_eq!(a.open(&datagram).unwrap().payload, b"x");
    }
}
