//! Public and private keys.
//!
//! A key's identity is the SHA3-256 of its serialized public key, which for
//! avrs' algorithms is the raw key: 32 bytes (Ed25519) or 1952 (ML-DSA-65).

use crate::algorithm::{Algorithm, SEED_LEN};
use crate::error::{CryptoError, Result};
use crate::identity::{NodeAddr, sha3_256};
use crate::provider::{self, KeyPair};
use avrs_proto::Hash32;
use aws_lc_rs::signature::ParsedPublicKey;
use std::fmt;
use zeroize::Zeroizing;

/// A public key, parsed once for fast verification, with its identity.
#[derive(Clone)]
pub struct PublicKey {
    algorithm: Algorithm,
    id: Hash32,
    parsed: ParsedPublicKey,
}

impl PublicKey {
    /// Reads the raw public key of `algorithm`; the size must be exact.
    pub fn from_bytes(algorithm: Algorithm, bytes: &[u8]) -> Result<Self> {
        if bytes.len() != algorithm.public_key_len() {
            return Err(CryptoError::WrongSize {
                algorithm,
                what: "public key",
                expected: algorithm.public_key_len(),
                actual: bytes.len(),
            });
        }
        let parsed = provider::parse_public_key(algorithm, bytes)?;
        Ok(Self {
            algorithm,
            id: sha3_256(bytes),
            parsed,
        })
    }

    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The raw key bytes (the `dap_sign_t` pkey field).
    pub fn as_bytes(&self) -> &[u8] {
        self.parsed.as_ref()
    }

    /// SHA3-256 of the key bytes: member id, session id, key id.
    pub fn id(&self) -> Hash32 {
        self.id
    }

    /// The DAP node address of this key.
    pub fn node_addr(&self) -> NodeAddr {
        NodeAddr::from_key_hash(&self.id)
    }

    /// Lower-case hex of the key bytes.
    pub fn to_hex(&self) -> String {
        hex::encode(self.as_bytes())
    }

    /// Verifies a raw signature of `msg` (no envelope, no pre-hash).
    pub fn verify_raw(&self, msg: &[u8], signature: &[u8]) -> Result<()> {
        if signature.len() != self.algorithm.signature_len() {
            return Err(CryptoError::BadSignature);
        }
        provider::verify(&self.parsed, msg, signature)
    }
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.algorithm == other.algorithm && self.as_bytes() == other.as_bytes()
    }
}

impl Eq for PublicKey {}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey")
            .field("algorithm", &self.algorithm)
            .field("id", &self.id)
            .finish()
    }
}

/// A private key. The seed it was derived from is wiped on drop; its
/// `Debug` shows only the algorithm and the id. Not `Clone`: share it
/// behind an `Arc` instead of copying the secret.
pub struct SigningKey {
    seed: Zeroizing<[u8; SEED_LEN]>,
    pair: KeyPair,
    public: PublicKey,
}

impl SigningKey {
    /// A new random key.
    pub fn generate(algorithm: Algorithm) -> Result<Self> {
        let seed = provider::random_seed()?;
        Self::from_seed(algorithm, seed.as_ref())
    }

    /// The key derived from a 32-byte seed (RFC 8032 private key for Ed25519,
    /// FIPS 204 ξ for ML-DSA-65). The same seed always gives the same key.
    pub fn from_seed(algorithm: Algorithm, seed: &[u8]) -> Result<Self> {
        let seed: Zeroizing<[u8; SEED_LEN]> =
            Zeroizing::new(seed.try_into().map_err(|_| CryptoError::WrongSize {
                algorithm,
                what: "seed",
                expected: SEED_LEN,
                actual: seed.len(),
            })?);
        let pair = KeyPair::from_seed(algorithm, &seed)?;
        let public = PublicKey::from_bytes(algorithm, pair.public_key_bytes())?;
        Ok(Self { seed, pair, public })
    }

    pub fn algorithm(&self) -> Algorithm {
        self.public.algorithm
    }

    /// A second handle on the same key (for a client that reconnects as
    /// the same session). Deliberately not `Clone`: copies of a private
    /// key should be visible in the code.
    pub fn duplicate(&self) -> Result<Self> {
        Self::from_seed(self.algorithm(), self.seed.as_ref())
    }

    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// The identity of this key (SHA3-256 of the public key).
    pub fn id(&self) -> Hash32 {
        self.public.id
    }

    /// The raw signature of `msg` (no envelope, no pre-hash).
    pub fn sign_raw(&self, msg: &[u8]) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(self.algorithm().signature_len());
        self.sign_append(msg, &mut out)?;
        Ok(out)
    }

    /// Appends the raw signature of `msg` to `out`.
    pub(crate) fn sign_append(&self, msg: &[u8], out: &mut Vec<u8>) -> Result<()> {
        self.pair.sign_append(msg, out)
    }

    /// The secret seed, for the key file writer only.
    pub(crate) fn seed(&self) -> &[u8; SEED_LEN] {
        &self.seed
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("algorithm", &self.algorithm())
            .field("id", &self.id())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ed25519_seed_gives_the_rfc_8032_public_key() {
        // RFC 8032 §7.1, test 1.
        let seed = hex::decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
            .unwrap();
        let key = SigningKey::from_seed(Algorithm::Ed25519, &seed).unwrap();
        assert_eq!(
            key.public_key().to_hex(),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
        );
        let sig = key.sign_raw(b"").unwrap();
        assert_eq!(
            hex::encode(&sig),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155\
             5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
        );
        assert_eq!(key.id(), sha3_256(key.public_key().as_bytes()));
    }

    #[test]
    fn a_duplicate_is_the_same_key() {
        for algorithm in [Algorithm::Ed25519, Algorithm::MlDsa65] {
            let key = SigningKey::generate(algorithm).unwrap();
            let copy = key.duplicate().unwrap();
            assert_eq!(copy.id(), key.id());
            let sig = copy.sign_raw(b"msg").unwrap();
            key.public_key().verify_raw(b"msg", &sig).unwrap();
        }
    }

    #[test]
    fn ml_dsa_65_seed_is_deterministic_and_sizes_are_right() {
        let a = SigningKey::from_seed(Algorithm::MlDsa65, &[7; 32]).unwrap();
        let b = SigningKey::from_seed(Algorithm::MlDsa65, &[7; 32]).unwrap();
        let c = SigningKey::from_seed(Algorithm::MlDsa65, &[8; 32]).unwrap();
        assert_eq!(a.public_key(), b.public_key());
        assert_ne!(a.public_key(), c.public_key());
        assert_eq!(a.public_key().as_bytes().len(), 1952);
        let sig = a.sign_raw(b"msg").unwrap();
        assert_eq!(sig.len(), 3309);
        a.public_key().verify_raw(b"msg", &sig).unwrap();
        assert!(c.public_key().verify_raw(b"msg", &sig).is_err());
    }

    #[test]
    fn raw_signatures_verify_only_for_their_message_and_size() {
        for alg in Algorithm::ALL {
            let key = SigningKey::generate(alg).unwrap();
            let sig = key.sign_raw(b"hello").unwrap();
            assert_eq!(sig.len(), alg.signature_len());
            key.public_key().verify_raw(b"hello", &sig).unwrap();
            assert!(matches!(
                key.public_key().verify_raw(b"hellO", &sig),
                Err(CryptoError::BadSignature)
            ));
            assert!(key.public_key().verify_raw(b"hello", &sig[1..]).is_err());
        }
    }

    #[test]
    fn wrong_sizes_are_refused_with_their_numbers() {
        let err = SigningKey::from_seed(Algorithm::Ed25519, &[0; 31]).unwrap_err();
        assert!(matches!(
            err,
            CryptoError::WrongSize {
                what: "seed",
                expected: 32,
                actual: 31,
                ..
            }
        ));
        let err = PublicKey::from_bytes(Algorithm::MlDsa65, &[0; 32]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "ml-dsa-65 public key has 32 byte(s), expected 1952"
        );
    }

    #[test]
    fn keys_can_be_shared_across_threads() {
        fn shareable<T: Send + Sync + 'static>() {}
        shareable::<SigningKey>();
        shareable::<PublicKey>();
    }

    #[test]
    fn debug_never_shows_the_seed() {
        let key = SigningKey::from_seed(Algorithm::Ed25519, &[0xAB; 32]).unwrap();
        let text = format!("{key:?}");
        assert!(
            text.contains("ed25519") || text.contains("Ed25519"),
            "{text}"
        );
        assert!(!text.to_lowercase().contains("abababab"), "{text}");
        assert!(text.contains(&key.id().to_hex()), "{text}");
    }
}
