//! Content and upload ids: a GUUID written as 32 lower-case hex digits.
//! Text from a URL or a command line becomes an id only through
//! [`VodId::parse`], so an id joined into an object path can never hold a
//! `/`, `..` or anything but hex.

use crate::error::{Result, VodError};
use avrs_proto::Guuid;
use std::fmt;

/// The id of a VoD content (also of a recording while it runs).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VodId(Guuid);

impl VodId {
    /// A new id: `net_id` names the node, the rest is random.
    pub fn new(net_id: u64) -> Self {
        Self(Guuid::new(net_id, random_u64()))
    }

    pub fn guuid(self) -> Guuid {
        self.0
    }

    /// Strict: exactly 32 lower-case hex digits.
    pub fn parse(text: &str) -> Result<Self> {
        parse_hex32(text)
            .map(|(net, srv)| Self(Guuid::new(net, srv)))
            .ok_or_else(|| VodError::BadId {
                what: "content id",
                text: text.chars().take(80).collect(),
            })
    }
}

impl fmt::Display for VodId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}{:016x}", self.0.net_id, self.0.srv_id)
    }
}

impl fmt::Debug for VodId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VodId({self})")
    }
}

impl serde::Serialize for VodId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for VodId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        VodId::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// A random 32-hex-digit token (upload ids).
pub fn random_token() -> String {
    format!("{:016x}{:016x}", random_u64(), random_u64())
}

/// Checks that `text` is a token as [`random_token`] makes them.
pub fn check_token(what: &'static str, text: &str) -> Result<()> {
    match parse_hex32(text) {
        Some(_) => Ok(()),
        None => Err(VodError::BadId {
            what,
            text: text.chars().take(80).collect(),
        }),
    }
}

fn parse_hex32(text: &str) -> Option<(u64, u64)> {
    let lower_hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
    if text.len() != 32 || !text.bytes().all(lower_hex) {
        return None;
    }
    let net = u64::from_str_radix(&text[..16], 16).ok()?;
    let srv = u64::from_str_radix(&text[16..], 16).ok()?;
    Some((net, srv))
}

fn random_u64() -> u64 {
    let mut bytes = [0u8; 8];
    // The OS generator; should it ever fail, time and a counter still give
    // ids that differ (they are names, not secrets).
    if getrandom::fill(&mut bytes).is_err() {
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        return now ^ COUNTER.fetch_add(1, Ordering::Relaxed).rotate_left(40);
    }
    u64::from_le_bytes(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_refuse_anything_but_hex() {
        let id = VodId::new(7);
        assert_eq!(VodId::parse(&id.to_string()).unwrap(), id);
        for bad in [
            "",
            "../etc/passwd",
            &"A".repeat(32),
            &"0".repeat(31),
            &"0".repeat(33),
            "0000000000000000/000000000000000",
        ] {
            assert!(VodId::parse(bad).is_err(), "{bad}");
        }
        assert!(check_token("upload id", &random_token()).is_ok());
        assert!(check_token("upload id", "x").is_err());
    }
}
