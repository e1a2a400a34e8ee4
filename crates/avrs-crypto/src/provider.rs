//! The one place that calls the crypto library (aws-lc-rs).
//!
//! Everything algorithm-specific is a `match` on [`Algorithm`] here; a new
//! algorithm is a new variant plus its arms in this file.

use crate::algorithm::{Algorithm, SEED_LEN};
use crate::error::{CryptoError, Result};
use aws_lc_rs::digest;
use aws_lc_rs::signature::{
    ED25519, Ed25519KeyPair, KeyPair as _, ML_DSA_65, ML_DSA_65_SIGNING, ParsedPublicKey,
    PqdsaKeyPair,
};
use zeroize::Zeroizing;

/// SHA3-256 of `data`.
pub(crate) fn sha3_256(data: &[u8]) -> [u8; 32] {
    let digest = digest::digest(&digest::SHA3_256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

/// SHA-256 of `data` (hardware-accelerated where the CPU has it: frame
/// digests hash every media byte).
pub(crate) fn sha256(data: &[u8]) -> [u8; 32] {
    let digest = digest::digest(&digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

/// A fresh secret seed from the system RNG.
pub(crate) fn random_seed() -> Result<Zeroizing<[u8; SEED_LEN]>> {
    let mut seed = Zeroizing::new([0u8; SEED_LEN]);
    aws_lc_rs::rand::fill(seed.as_mut())
        .map_err(|_| CryptoError::Backend("the system random generator failed"))?;
    Ok(seed)
}

/// `N` bytes from the system RNG, for secrets other than keys (stream keys,
/// nonces).
pub fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut out = [0u8; N];
    aws_lc_rs::rand::fill(&mut out)
        .map_err(|_| CryptoError::Backend("the system random generator failed"))?;
    Ok(out)
}

/// A key pair held by the library. The library frees its key memory with
/// `OPENSSL_free`, which clears it.
pub(crate) enum KeyPair {
    Ed25519(Ed25519KeyPair),
    MlDsa65(PqdsaKeyPair),
}

impl KeyPair {
    /// Derives the key pair of `seed` (RFC 8032 private key; FIPS 204 ξ).
    pub(crate) fn from_seed(algorithm: Algorithm, seed: &[u8; SEED_LEN]) -> Result<Self> {
        let rejected = |_| CryptoError::Backend("the library rejected the seed");
        Ok(match algorithm {
            Algorithm::Ed25519 => {
                KeyPair::Ed25519(Ed25519KeyPair::from_seed_unchecked(seed).map_err(rejected)?)
            }
            Algorithm::MlDsa65 => KeyPair::MlDsa65(
                PqdsaKeyPair::from_seed(&ML_DSA_65_SIGNING, seed).map_err(rejected)?,
            ),
        })
    }

    /// The raw public key bytes.
    pub(crate) fn public_key_bytes(&self) -> &[u8] {
        match self {
            KeyPair::Ed25519(pair) => pair.public_key().as_ref(),
            KeyPair::MlDsa65(pair) => pair.public_key().as_ref(),
        }
    }

    /// Appends the signature of `msg` to `out`.
    pub(crate) fn sign_append(&self, msg: &[u8], out: &mut Vec<u8>) -> Result<()> {
        let failed = |_| CryptoError::Backend("signing failed");
        match self {
            KeyPair::Ed25519(pair) => {
                let sig = pair.try_sign(msg).map_err(failed)?;
                out.extend_from_slice(sig.as_ref());
            }
            KeyPair::MlDsa65(pair) => {
                let start = out.len();
                out.resize(start + Algorithm::MlDsa65.signature_len(), 0);
                let written = pair.sign(msg, &mut out[start..]).map_err(failed)?;
                out.truncate(start + written);
            }
        }
        Ok(())
    }
}

/// Parses raw public key bytes once, for fast repeated verification. The
/// caller has checked the size.
pub(crate) fn parse_public_key(algorithm: Algorithm, bytes: &[u8]) -> Result<ParsedPublicKey> {
    let verification: &'static dyn aws_lc_rs::signature::VerificationAlgorithm = match algorithm {
        Algorithm::Ed25519 => &ED25519,
        Algorithm::MlDsa65 => &ML_DSA_65,
    };
    ParsedPublicKey::new(verification, bytes).map_err(|_| CryptoError::InvalidPublicKey(algorithm))
}

/// Verifies a raw signature of `msg`.
pub(crate) fn verify(key: &ParsedPublicKey, msg: &[u8], signature: &[u8]) -> Result<()> {
    key.verify_sig(msg, signature)
        .map_err(|_| CryptoError::BadSignature)
}
