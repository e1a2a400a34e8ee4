//! The signature algorithms avrs speaks and their `dap_sign_t` type codes.
//!
//! DAP's own codes (Dilithium 0x0102 and the rest) name byte formats that
//! differ from ours, so avrs never reuses them: its algorithms live in the
//! range 0x0A00–0x0AFF, and any other code is refused as unsupported.

use crate::error::{CryptoError, Result};
use std::fmt;
use std::ops::RangeInclusive;
use std::str::FromStr;

/// Every `dap_sign_t` type code DAP defines (spec §3.2), null included.
pub const DAP_SIGN_TYPES: [u32; 15] = [
    0x0000, 0x0001, 0x0003, 0x0101, 0x0102, 0x0103, 0x0104, 0x0105, 0x0106, 0x0EFF, 0x0F00, 0x0F01,
    0x1102, 0x1103, 0x1104,
];

/// The type codes avrs reserves for its algorithms.
pub const AVRS_SIGN_TYPE_RANGE: RangeInclusive<u32> = 0x0A00..=0x0AFF;

/// Length of the secret seed every avrs algorithm derives its key pair from.
pub const SEED_LEN: usize = 32;

/// A signature algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algorithm {
    /// Ed25519 (RFC 8032): small and fast, for media and frequent packets.
    Ed25519,
    /// ML-DSA-65 (FIPS 204): post-quantum, for identities and control.
    MlDsa65,
}

impl Algorithm {
    /// Every supported algorithm.
    pub const ALL: [Algorithm; 2] = [Algorithm::Ed25519, Algorithm::MlDsa65];

    /// The `type` field of a `dap_sign_t` made with this algorithm.
    pub const fn sign_type_code(self) -> u32 {
        match self {
            Algorithm::Ed25519 => 0x0A01,
            Algorithm::MlDsa65 => 0x0A02,
        }
    }

    /// Looks a `dap_sign_t` type code up. DAP's own codes are refused too:
    /// their key and signature bytes are not ours.
    pub fn from_sign_type_code(code: u32) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|alg| alg.sign_type_code() == code)
            .ok_or(CryptoError::UnsupportedSignType(code))
    }

    /// The name used on the command line and in files.
    pub const fn name(self) -> &'static str {
        match self {
            Algorithm::Ed25519 => "ed25519",
            Algorithm::MlDsa65 => "ml-dsa-65",
        }
    }

    /// Size of the serialized public key (the raw key for both algorithms).
    pub const fn public_key_len(self) -> usize {
        match self {
            Algorithm::Ed25519 => 32,
            Algorithm::MlDsa65 => 1952,
        }
    }

    /// Size of one signature.
    pub const fn signature_len(self) -> usize {
        match self {
            Algorithm::Ed25519 => 64,
            Algorithm::MlDsa65 => 3309,
        }
    }

    /// Size of the secret seed (RFC 8032 private key; FIPS 204 ξ).
    pub const fn seed_len(self) -> usize {
        SEED_LEN
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Algorithm {
    type Err = CryptoError;

    /// Accepts the names of [`Algorithm::name`], in any case.
    fn from_str(text: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|alg| alg.name().eq_ignore_ascii_case(text))
            .ok_or_else(|| CryptoError::UnknownAlgorithmName(text.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_codes_are_pinned() {
        assert_eq!(Algorithm::Ed25519.sign_type_code(), 0x0A01);
        assert_eq!(Algorithm::MlDsa65.sign_type_code(), 0x0A02);
    }

    #[test]
    fn avrs_codes_never_collide_with_dap_codes() {
        let dap = DAP_SIGN_TYPES;
        for alg in Algorithm::ALL {
            let code = alg.sign_type_code();
            assert!(!dap.contains(&code), "{alg} reuses DAP code 0x{code:04X}");
            assert!(
                AVRS_SIGN_TYPE_RANGE.contains(&code),
                "{alg} outside the avrs range"
            );
        }
        for code in dap {
            assert!(
                !AVRS_SIGN_TYPE_RANGE.contains(&code),
                "DAP 0x{code:04X} in avrs range"
            );
        }
    }

    #[test]
    fn codes_round_trip_and_dap_codes_are_refused() {
        for alg in Algorithm::ALL {
            assert_eq!(
                Algorithm::from_sign_type_code(alg.sign_type_code()).unwrap(),
                alg
            );
        }
        // Dilithium, DAP's certificate default, is a different format.
        let err = Algorithm::from_sign_type_code(0x0102).unwrap_err();
        assert!(matches!(err, CryptoError::UnsupportedSignType(0x0102)));
        assert_eq!(err.to_string(), "unsupported signature type 0x0102");
        assert!(Algorithm::from_sign_type_code(0).is_err());
        assert!(Algorithm::from_sign_type_code(0x0A03).is_err());
    }

    #[test]
    fn sizes_are_those_of_the_standards() {
        assert_eq!(Algorithm::Ed25519.public_key_len(), 32);
        assert_eq!(Algorithm::Ed25519.signature_len(), 64);
        assert_eq!(Algorithm::MlDsa65.public_key_len(), 1952);
        assert_eq!(Algorithm::MlDsa65.signature_len(), 3309);
        assert!(Algorithm::ALL.iter().all(|a| a.seed_len() == 32));
    }

    #[test]
    fn names_parse_in_any_case_and_unknown_names_are_refused() {
        assert_eq!("ed25519".parse::<Algorithm>().unwrap(), Algorithm::Ed25519);
        assert_eq!(
            "ML-DSA-65".parse::<Algorithm>().unwrap(),
            Algorithm::MlDsa65
        );
        assert_eq!(Algorithm::MlDsa65.to_string(), "ml-dsa-65");
        let err = "rsa".parse::<Algorithm>().unwrap_err();
        assert!(err.to_string().contains("\"rsa\""), "{err}");
    }
}
