//! Fixed-size identifiers: the 16-byte GUUID and the 32-byte SHA3-256 hash
//! that names members, sessions and keys.

use crate::error::{ProtoError, Result};
use std::fmt;

/// `dap_guuid_t`: `{net_id u64, srv_id u64}`, little-endian, 16 bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Guuid {
    pub net_id: u64,
    pub srv_id: u64,
}

impl Guuid {
    /// Encoded size in bytes.
    pub const SIZE: usize = 16;

    pub const fn new(net_id: u64, srv_id: u64) -> Self {
        Self { net_id, srv_id }
    }

    /// The wire form: `net_id` then `srv_id`, each little-endian.
    pub fn to_bytes(self) -> [u8; 16] {
        let mut out = [0u8; 16];
        out[..8].copy_from_slice(&self.net_id.to_le_bytes());
        out[8..].copy_from_slice(&self.srv_id.to_le_bytes());
        out
    }

    /// Reads exactly 16 bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self> {
        let arr: [u8; 16] = bytes.try_into().map_err(|_| ProtoError::WrongSize {
            what: "GUUID",
            expected: Self::SIZE,
            actual: bytes.len(),
        })?;
        Ok(Self::from_bytes(arr))
    }

    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        let (net, srv) = bytes.split_at(8);
        Self {
            net_id: u64::from_le_bytes(net.try_into().expect("split at 8")),
            srv_id: u64::from_le_bytes(srv.try_into().expect("split at 8")),
        }
    }
}

impl fmt::Display for Guuid {
    /// Printed as `NET_ID-SRV_ID` in upper-case hex, 16 digits each.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016X}-{:016X}", self.net_id, self.srv_id)
    }
}

impl fmt::Debug for Guuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Guuid({self})")
    }
}

impl std::str::FromStr for Guuid {
    type Err = ProtoError;

    fn from_str(s: &str) -> Result<Self> {
        let bad = ProtoError::Malformed {
            what: "GUUID text",
            reason: "expected 16 hex digits, '-', 16 hex digits",
        };
        let (net, srv) = s.split_once('-').ok_or(bad.clone())?;
        if net.len() != 16 || srv.len() != 16 {
            return Err(bad);
        }
        let net_id = u64::from_str_radix(net, 16).map_err(|_| bad.clone())?;
        let srv_id = u64::from_str_radix(srv, 16).map_err(|_| bad)?;
        Ok(Self { net_id, srv_id })
    }
}

/// A 32-byte SHA3-256 digest (`dap_hash_fast_t`). Member ids, session ids and
/// key identities are all of this type.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Hash32(pub [u8; 32]);

impl Hash32 {
    /// Encoded size in bytes.
    pub const SIZE: usize = 32;

    /// Reads exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self> {
        let arr: [u8; 32] = bytes.try_into().map_err(|_| ProtoError::WrongSize {
            what: "hash",
            expected: Self::SIZE,
            actual: bytes.len(),
        })?;
        Ok(Self(arr))
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lower-case hex, 64 digits.
    pub fn to_hex(&self) -> String {
        use fmt::Write;
        self.0.iter().fold(String::with_capacity(64), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
    }

    /// Parses 64 hex digits (either case).
    pub fn from_hex(text: &str) -> Result<Self> {
        let bad = ProtoError::Malformed {
            what: "hash text",
            reason: "expected 64 hex digits",
        };
        if text.len() != 64 || !text.is_ascii() {
            return Err(bad);
        }
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).map_err(|_| bad.clone())?;
        }
        Ok(Self(out))
    }
}

impl fmt::Display for Hash32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Hash32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash32({})", self.to_hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guuid_is_16_bytes_net_then_srv_little_endian() {
        let g = Guuid::new(0x0102_0304_0506_0708, 0x1112_1314_1516_1718);
        assert_eq!(
            g.to_bytes(),
            [
                0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, //
                0x18, 0x17, 0x16, 0x15, 0x14, 0x13, 0x12, 0x11,
            ]
        );
        assert_eq!(Guuid::SIZE, 16);
        assert_eq!(Guuid::from_slice(&g.to_bytes()).unwrap(), g);
    }

    #[test]
    fn guuid_rejects_wrong_sizes() {
        assert!(matches!(
            Guuid::from_slice(&[0; 15]),
            Err(ProtoError::WrongSize {
                expected: 16,
                actual: 15,
                ..
            })
        ));
        assert!(Guuid::from_slice(&[0; 17]).is_err());
    }

    #[test]
    fn guuid_text_round_trips() {
        let g = Guuid::new(1, u64::MAX);
        let text = g.to_string();
        assert_eq!(text, "0000000000000001-FFFFFFFFFFFFFFFF");
        assert_eq!(text.parse::<Guuid>().unwrap(), g);
        assert!("12-34".parse::<Guuid>().is_err());
        assert!(
            "000000000000000G-0000000000000000"
                .parse::<Guuid>()
                .is_err()
        );
    }

    #[test]
    fn hash_hex_round_trips_and_rejects_bad_text() {
        let h = Hash32([0xAB; 32]);
        assert_eq!(Hash32::from_hex(&h.to_hex()).unwrap(), h);
        assert!(Hash32::from_hex("ab").is_err());
        assert!(Hash32::from_hex(&"zz".repeat(32)).is_err());
        assert!(Hash32::from_slice(&[0; 31]).is_err());
    }
}
