//! Identities: SHA3-256 key hashes and the DAP node address derived from one.

use crate::provider;
use avrs_proto::{Hash32, ProtoError};
use std::fmt;
use std::str::FromStr;

/// SHA3-256 of `data` (`dap_hash_fast`).
pub fn sha3_256(data: &[u8]) -> Hash32 {
    Hash32(provider::sha3_256(data))
}

/// A DAP node address (spec §3.3): four u16 words taken from a key hash `h`,
/// `w3 = h[0..2]`, `w2 = h[2..4]`, `w1 = h[28..30]`, `w0 = h[30..32]`.
///
/// DAP stores the address as a union of a `u64` and four `u16` words
/// (`word0` lowest) read from the hash on little-endian x86, so each word is
/// its two hash bytes read little-endian, and the `u64` is
/// `w3 << 48 | w2 << 32 | w1 << 16 | w0`. It prints as `W3::W2::W1::W0` in
/// upper-case hex, four digits each.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct NodeAddr(pub u64);

impl NodeAddr {
    /// The address of the key whose SHA3-256 hash is `hash`.
    pub fn from_key_hash(hash: &Hash32) -> Self {
        let h = hash.as_bytes();
        let word = |at: usize| u16::from_le_bytes([h[at], h[at + 1]]);
        Self::from_words([word(0), word(2), word(28), word(30)])
    }

    /// Builds the address from `[w3, w2, w1, w0]`.
    pub fn from_words(words: [u16; 4]) -> Self {
        let [w3, w2, w1, w0] = words.map(u64::from);
        Self(w3 << 48 | w2 << 32 | w1 << 16 | w0)
    }

    /// `[w3, w2, w1, w0]`, most significant first, as printed.
    pub fn words(self) -> [u16; 4] {
        // Each shift leaves a 16-bit value, so the casts keep every bit.
        [48, 32, 16, 0].map(|shift| (self.0 >> shift) as u16)
    }
}

impl fmt::Display for NodeAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [w3, w2, w1, w0] = self.words();
        write!(f, "{w3:04X}::{w2:04X}::{w1:04X}::{w0:04X}")
    }
}

impl fmt::Debug for NodeAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NodeAddr({self})")
    }
}

impl FromStr for NodeAddr {
    type Err = ProtoError;

    /// Parses `XXXX::XXXX::XXXX::XXXX` (four hex digits per word, any case).
    fn from_str(text: &str) -> Result<Self, ProtoError> {
        let bad = ProtoError::Malformed {
            what: "node address text",
            reason: "expected XXXX::XXXX::XXXX::XXXX in hex",
        };
        let mut words = [0u16; 4];
        let mut parts = text.split("::");
        for word in &mut words {
            let part = parts.next().ok_or(bad.clone())?;
            if part.len() != 4 || !part.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(bad);
            }
            *word = u16::from_str_radix(part, 16).map_err(|_| bad.clone())?;
        }
        if parts.next().is_some() {
            return Err(bad);
        }
        Ok(Self::from_words(words))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha3_256_matches_the_fips_202_vectors() {
        assert_eq!(
            sha3_256(b"").to_hex(),
            "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a"
        );
        assert_eq!(
            sha3_256(b"abc").to_hex(),
            "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532"
        );
    }

    #[test]
    fn node_address_words_are_little_endian_pairs_of_the_hash() {
        let mut bytes = [0u8; 32];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = i as u8;
        }
        let addr = NodeAddr::from_key_hash(&Hash32(bytes));
        assert_eq!(addr.words(), [0x0100, 0x0302, 0x1D1C, 0x1F1E]);
        assert_eq!(addr.0, 0x0100_0302_1D1C_1F1E);
        assert_eq!(addr.to_string(), "0100::0302::1D1C::1F1E");
    }

    #[test]
    fn node_address_ignores_the_middle_of_the_hash() {
        let mut a = [0xAAu8; 32];
        let b = a;
        a[4..28].fill(0x55);
        assert_eq!(
            NodeAddr::from_key_hash(&Hash32(a)),
            NodeAddr::from_key_hash(&Hash32(b))
        );
    }

    #[test]
    fn node_address_text_round_trips_and_rejects_bad_text() {
        let addr = NodeAddr(0xABCD_0001_FFFF_1234);
        assert_eq!(addr.to_string(), "ABCD::0001::FFFF::1234");
        assert_eq!("abcd::0001::ffff::1234".parse::<NodeAddr>().unwrap(), addr);
        for bad in [
            "",
            "ABCD::0001::FFFF",
            "ABCD::0001::FFFF::1234::0000",
            "ABC::0001::FFFF::1234",
            "+BCD::0001::FFFF::1234",
            "ABCD:0001::FFFF::12345",
        ] {
            assert!(bad.parse::<NodeAddr>().is_err(), "{bad:?}");
        }
    }
}
